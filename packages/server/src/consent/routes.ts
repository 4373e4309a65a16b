/**
 * HTTP routes of the consent ledger, under `/v1/apps/{app}/subjects/{subject}/consents`:
 * - `POST …/consents` records grants, withdrawals or refusals (API key, `consent:write`);
 * - `POST …/consents/withdraw` withdraws in one call: everything, or given purposes / recipients (API
 *   key with `consent:write`, or the person through a subject token: method `user`);
 * - `GET …/consents` the current state, `GET …/consents/history` the events newest first (API key with
 *   `consent:read`, or the person through a subject token).
 * A subject token reaches its own subject only; an app-bound key its own app only.
 *
 * Responses never carry the guardian's name (only the relation and the evidence hash) nor the identity
 * card number a request may carry (it only yields the date of birth; ledger.ts).
 */
import { z } from 'zod';
import { actorOf, assertAppAccess, assertSubjectAccess } from '../auth/access.js';
import { PipaError } from '../errors.js';
import { type AnyRoute, defineRoute, type Principal } from '../http/route.js';
import { APP_ID } from '../policies/routes.js';
import type { ServiceContext } from '../service/context.js';
import { inRequest, SUBJECT_ID } from '../subjects/routes.js';
import { type ConsentLedger, type LedgerEvent, MAX_CONSENT_ITEMS } from './ledger.js';
import { CONSENT_ACTIONS, CONSENT_METHODS } from './types.js';

const ID = z.string().min(1).max(200);
const HASH = z
  .string()
  .regex(/^(?:[a-z0-9-]{2,16}:)?[0-9a-f]{64,128}$/, 'must be a lower-case hex digest, optionally prefixed by the algorithm (sha256:…)');

const SubjectParams = z.object({ app: APP_ID, subject: SUBJECT_ID });

const RecordBody = z.strictObject({
  action: z.enum(CONSENT_ACTIONS),
  consents: z
    .array(z.strictObject({ purpose: ID, recipient: ID.optional() }))
    .min(1)
    .max(MAX_CONSENT_ITEMS)
    .meta({ description: 'The purposes (and recipients: provision of the purpose’s data to them) the person answered for' }),
  separate: z.boolean().optional().meta({ description: 'Given separately (单独同意); default false' }),
  method: z.enum(CONSENT_METHODS),
  guardian: z
    .strictObject({ name: ID.optional(), relation: ID.optional(), evidenceHash: HASH.optional() })
    .optional()
    .meta({ description: 'Required (all three) for a grant by a minor’s guardian; method guardian' }),
  policyVersion: ID.meta({ description: 'The policy version the person saw; a grant must name the current version' }),
  evidenceHash: HASH.optional(),
  idNumber: z
    .string()
    .min(1)
    .max(40)
    .optional()
    .meta({ description: 'Resident identity card number: only read for the date of birth (minors rule); never stored or returned' }),
});

const WithdrawBody = z.strictObject({
  purposes: z.array(ID).min(1).max(MAX_CONSENT_ITEMS).optional(),
  recipients: z.array(ID).min(1).max(MAX_CONSENT_ITEMS).optional(),
  method: z.enum(CONSENT_METHODS).optional().meta({ description: 'API keys only (default api); a subject token records user' }),
  policyVersion: ID.optional(),
  evidenceHash: HASH.optional(),
});

const Event = z.object({
  id: z.string(),
  seq: z.number(),
  subject: z.string(),
  purpose: z.string(),
  recipient: z.string().optional(),
  action: z.enum(CONSENT_ACTIONS),
  separate: z.boolean(),
  method: z.enum(CONSENT_METHODS),
  guardian: z.object({ relation: z.string().optional(), evidenceHash: z.string().optional() }).optional(),
  policyVersion: z.string(),
  evidenceHash: z.string().optional(),
  at: z.number(),
  hash: z.string(),
});

const eventOut = (e: LedgerEvent): z.input<typeof Event> => ({
  id: e.id,
  seq: e.seq,
  subject: e.subjectId,
  purpose: e.purpose,
  ...(e.recipient !== undefined ? { recipient: e.recipient } : {}),
  action: e.action,
  separate: e.separate,
  method: e.method,
  ...(e.guardian !== undefined
    ? {
        guardian: {
          ...(e.guardian.relation !== undefined ? { relation: e.guardian.relation } : {}),
          ...(e.guardian.evidenceHash !== undefined ? { evidenceHash: e.guardian.evidenceHash } : {}),
        },
      }
    : {}),
  policyVersion: e.policyVersion,
  ...(e.evidenceHash !== undefined ? { evidenceHash: e.evidenceHash } : {}),
  at: e.at,
  hash: e.hash,
});

const State = z.object({
  subject: z.string(),
  canonical: z.string().meta({ description: 'The account a device is linked to, else the subject' }),
  status: z.enum(['active', 'frozen', 'erased']),
  devices: z.array(z.string()),
  consents: z.array(
    z.object({
      purpose: z.string(),
      recipient: z.string().optional(),
      action: z.enum(CONSENT_ACTIONS),
      separate: z.boolean(),
      method: z.enum(CONSENT_METHODS),
      policyVersion: z.string(),
      at: z.number(),
      eventId: z.string(),
    }),
  ),
});

const bodyPath = (path: string): string => {
  if (path === 'app') return '$.params.app';
  if (path === '$.subject' || path === 'subject') return '$.params.subject';
  return path.startsWith('$.') ? `$.body.${path.slice(2)}` : path;
};

export function consentRoutes(_ctx: ServiceContext, services: { consent: ConsentLedger }): AnyRoute[] {
  const { consent } = services;
  const opts = (principal: Principal | null, requestId: string) => ({ actor: actorOf(principal), requestId });
  return [
    defineRoute({
      method: 'POST',
      url: '/v1/apps/:app/subjects/:subject/consents',
      operationId: 'recordConsent',
      summary: 'Record grants, withdrawals or refusals',
      description:
        'One event per listed purpose (and recipient), appended to the hash-chained ledger and audited. Purposes and recipients must be declared in the current policy (422 unknown_purpose / unknown_recipient with the path); a grant must be under the current policy version (412); a grant for a minor must come from a guardian; nothing is recorded for an erased subject, and no grant for a frozen one (409).',
      tags: ['consent'],
      auth: 'api-key',
      scopes: ['consent:write'],
      params: SubjectParams,
      body: RecordBody,
      status: 201,
      response: z.object({ events: z.array(Event) }),
      handler: async ({ params, body, principal, requestId }) => {
        assertAppAccess(principal, params.app);
        const events = await inRequest(
          () =>
            consent.record(
              params.app,
              {
                subject: params.subject,
                action: body.action,
                consents: body.consents,
                separate: body.separate,
                method: body.method,
                guardian: body.guardian,
                policyVersion: body.policyVersion,
                evidenceHash: body.evidenceHash,
                idNumber: body.idNumber,
              },
              opts(principal, requestId),
            ),
          bodyPath,
        );
        return { events: events.map(eventOut) };
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/v1/apps/:app/subjects/:subject/consents/withdraw',
      operationId: 'withdrawConsent',
      summary: 'Withdraw consent in one call',
      description:
        'Without purposes and recipients: everything currently granted. With purposes: those purposes and every recipient grant under them. With recipients: provision to them, for every purpose they are declared for (or only the given purposes). Returns the withdrawal events (none when nothing was granted). The person may call it with a subject token.',
      tags: ['consent'],
      auth: 'api-key-or-subject',
      scopes: ['consent:write'],
      params: SubjectParams,
      body: WithdrawBody,
      response: z.object({ events: z.array(Event) }),
      handler: async ({ params, body, principal, requestId }) => {
        assertSubjectAccess(principal, params.app, params.subject, ['consent:write']);
        let method = body.method;
        if (principal?.kind === 'subject') {
          if (method !== undefined && method !== 'user') {
            throw new PipaError('forbidden', 'a subject token withdraws as the person (method user)', [
              { path: '$.body.method', message: 'only user with a subject token' },
            ]);
          }
          method = 'user';
        }
        const events = await inRequest(
          () =>
            consent.withdraw(
              params.app,
              {
                subject: params.subject,
                purposes: body.purposes,
                recipients: body.recipients,
                method,
                policyVersion: body.policyVersion,
                evidenceHash: body.evidenceHash,
              },
              opts(principal, requestId),
            ),
          bodyPath,
        );
        return { events: events.map(eventOut) };
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/apps/:app/subjects/:subject/consents',
      operationId: 'getConsentState',
      summary: 'Current consent state',
      description: 'The latest grant, withdrawal or refusal per purpose and recipient, with the linked devices’ history included.',
      tags: ['consent'],
      auth: 'api-key-or-subject',
      scopes: ['consent:read'],
      params: SubjectParams,
      response: State,
      handler: async ({ params, principal }) => {
        assertSubjectAccess(principal, params.app, params.subject, ['consent:read']);
        return inRequest(() => consent.state(params.app, params.subject), bodyPath);
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/apps/:app/subjects/:subject/consents/history',
      operationId: 'getConsentHistory',
      summary: 'Consent history, newest first',
      tags: ['consent'],
      auth: 'api-key-or-subject',
      scopes: ['consent:read'],
      params: SubjectParams,
      query: z.strictObject({
        before: z.coerce.number().int().min(1).optional().meta({ description: 'nextBefore of the previous page' }),
        limit: z.coerce.number().int().min(1).max(500).optional(),
      }),
      response: z.object({ events: z.array(Event), nextBefore: z.number().nullable() }),
      handler: async ({ params, query, principal }) => {
        assertSubjectAccess(principal, params.app, params.subject, ['consent:read']);
        const page = await inRequest(
          () =>
            consent.history(params.app, params.subject, {
              ...(query.before !== undefined ? { before: query.before } : {}),
              ...(query.limit !== undefined ? { limit: query.limit } : {}),
            }),
          bodyPath,
        );
        return { events: page.events.map(eventOut), nextBefore: page.nextBefore };
      },
    }),
  ];
}
