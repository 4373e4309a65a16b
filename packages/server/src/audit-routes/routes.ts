/**
 * HTTP routes over the audit log: events in sequence order (export to a SIEM), chain verification,
 * signed checkpoints, and a subject's own access history ("who accessed my data, when, why"), which
 * the subject reaches with its token and an app's backend with audit:read.
 */
import { z } from 'zod';
import { isAuditError } from '../audit/errors.js';
import type { AuditEvent } from '../audit/types.js';
import { actorOf, appScopeOf, assertAppAccess, assertSubjectAccess } from '../auth/access.js';
import { PipaError } from '../errors.js';
import { type AnyRoute, defineRoute } from '../http/route.js';
import { APP_ID } from '../policies/routes.js';
import type { ServiceContext } from '../service/context.js';

const SUBJECT_ID = z.string().regex(/^sub_[A-Za-z0-9_-]{1,64}$/, 'must be a pipa subject id (sub_…)');
const SEQ = z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

const Event = z.object({
  seq: z.number(),
  at: z.number(),
  actor: z.string(),
  action: z.string(),
  appId: z.string().nullable(),
  subjectPseudonym: z.string().nullable(),
  categories: z.array(z.string()),
  purpose: z.string().nullable(),
  outcome: z.string(),
  count: z.number(),
  requestId: z.string().nullable(),
  details: z.unknown().nullable(),
  prevHash: z.string(),
  hash: z.string(),
});
const Checkpoint = z.object({
  seq: z.number(),
  hash: z.string(),
  at: z.number(),
  keyId: z.string(),
  publicKey: z.string(),
  signature: z.string(),
});
const VerifyResult = z.object({
  ok: z.boolean(),
  checked: z.number(),
  from: z.number(),
  to: z.number(),
  head: z.object({ seq: z.number(), hash: z.string() }),
  anchored: z.boolean(),
  checkpoints: z.number(),
  signedThrough: z.number().nullable(),
  firstBrokenSeq: z.number().optional(),
  reason: z.string().optional(),
  message: z.string().optional(),
});
const Accessor = z.object({
  type: z.enum(['api-key', 'subject', 'user', 'job', 'system']),
  id: z.string().nullable(),
  name: z.string().nullable().meta({ description: 'The API key name the operator gave (e.g. "order service"), when known.' }),
});
const AccessEntry = z.object({
  seq: z.number(),
  at: z.number(),
  who: Accessor,
  action: z.string(),
  categories: z.array(z.string()),
  purpose: z.string().nullable(),
  outcome: z.string(),
  count: z.number(),
  requestId: z.string().nullable(),
});

const event = (e: AuditEvent) => ({ ...e, details: e.details });

function accessorOf(actor: string, names: Map<string, string>): z.input<typeof Accessor> {
  if (actor.startsWith('key_')) return { type: 'api-key', id: actor, name: names.get(actor) ?? null };
  if (actor === 'subject') return { type: 'subject', id: null, name: null };
  if (actor.startsWith('user:')) return { type: 'user', id: actor.slice(5), name: null };
  if (actor.startsWith('job:')) return { type: 'job', id: actor.slice(4), name: null };
  return { type: 'system', id: actor === 'system' ? null : actor, name: null };
}

export function auditRoutes(ctx: ServiceContext): AnyRoute[] {
  return [
    defineRoute({
      method: 'GET',
      url: '/v1/audit/events',
      operationId: 'listAuditEvents',
      summary: 'Audit events in sequence order',
      description: 'Page with `after` (the last seq of the previous page). An app-bound key sees its app only.',
      tags: ['audit'],
      auth: 'api-key',
      scopes: ['audit:read'],
      query: z.object({
        after: SEQ.optional(),
        limit: z.coerce.number().int().min(1).max(1000).optional(),
        app: APP_ID.optional(),
        requestId: z.string().min(1).max(64).optional(),
      }),
      response: z.object({ events: z.array(Event), nextAfter: z.number().nullable() }),
      handler: async ({ query, principal }) => {
        if (query.app !== undefined) assertAppAccess(principal, query.app, '$.query.app');
        const app = appScopeOf(principal) ?? query.app;
        const limit = query.limit ?? 100;
        const events = await ctx.audit.events({
          ...(query.after !== undefined ? { after: query.after } : {}),
          limit,
          ...(app !== undefined ? { appId: app } : {}),
          ...(query.requestId !== undefined ? { requestId: query.requestId } : {}),
        });
        return { events: events.map(event), nextAfter: events.length === limit ? (events[events.length - 1]?.seq ?? null) : null };
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/v1/audit/verify',
      operationId: 'verifyAuditChain',
      summary: 'Recompute the audit hash chain and name the first broken sequence number',
      tags: ['audit'],
      auth: 'api-key',
      scopes: ['audit:read'],
      body: z.strictObject({ from: z.number().int().min(1).optional(), to: z.number().int().min(1).optional() }).optional(),
      response: VerifyResult,
      rateLimit: { bucket: 'audit-verify', perMinute: 12 },
      handler: async ({ body }) => {
        if (body?.from !== undefined && body.to !== undefined && body.from > body.to) {
          throw new PipaError('validation_failed', 'from must not be after to', [{ path: '$.body.from', message: 'must be <= to' }]);
        }
        try {
          return await ctx.audit.verify({
            ...(body?.from !== undefined ? { from: body.from } : {}),
            ...(body?.to !== undefined ? { to: body.to } : {}),
          });
        } catch (err) {
          // A range beyond the head is the caller's mistake (400), never a broken chain.
          if (isAuditError(err, 'invalid_argument') && err.argument !== undefined) {
            throw new PipaError('validation_failed', err.message, [{ path: `$.body.${err.argument.name}`, message: err.argument.problem }]);
          }
          throw err;
        }
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/audit/checkpoints',
      operationId: 'listAuditCheckpoints',
      summary: 'Signed checkpoints of the audit chain, newest first',
      tags: ['audit'],
      auth: 'api-key',
      scopes: ['audit:read'],
      query: z.object({ limit: z.coerce.number().int().min(1).max(1000).optional() }),
      response: z.object({ checkpoints: z.array(Checkpoint), signingKey: z.object({ keyId: z.string(), publicKey: z.string() }) }),
      handler: async ({ query }) => {
        const rows = await ctx.db
          .selectFrom('audit_checkpoints')
          .selectAll()
          .orderBy('seq', 'desc')
          .limit(query.limit ?? 100)
          .execute();
        return {
          checkpoints: rows.map((r) => ({
            seq: r.seq,
            hash: r.hash,
            at: r.at,
            keyId: r.key_id,
            publicKey: r.public_key,
            signature: r.signature,
          })),
          signingKey: { keyId: ctx.checkpointSigner.keyId, publicKey: ctx.checkpointSigner.publicKey },
        };
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/v1/audit/checkpoints',
      operationId: 'createAuditCheckpoint',
      summary: 'Sign a checkpoint of the current chain head (for an auditor to keep)',
      tags: ['audit'],
      auth: 'api-key',
      scopes: ['admin'],
      status: 201,
      response: z.object({ checkpoint: Checkpoint.nullable() }),
      handler: async ({ principal, requestId }) => {
        const cp = await ctx.audit.checkpoint();
        if (cp !== null) {
          await ctx.auditBatcher.record({ actor: actorOf(principal), action: 'audit.checkpoint', requestId, details: { seq: cp.seq } });
        }
        return { checkpoint: cp };
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/apps/:app/subjects/:subject/access-history',
      operationId: 'getAccessHistory',
      summary: "A subject's access history: who accessed the data, when, why",
      description:
        'Every audited event about the subject (reads, writes, decisions, consent changes, disclosures, rights steps), newest first. Reachable by the subject with its token, or by the app with audit:read. Page with `before`.',
      tags: ['audit', 'subjects'],
      auth: 'api-key-or-subject',
      scopes: ['audit:read'],
      params: z.object({ app: APP_ID, subject: SUBJECT_ID }),
      query: z.object({ before: SEQ.optional(), limit: z.coerce.number().int().min(1).max(500).optional() }),
      response: z.object({ subject: z.string(), events: z.array(AccessEntry), nextBefore: z.number().nullable() }),
      handler: async ({ params, query, principal }) => {
        assertSubjectAccess(principal, params.app, params.subject, ['audit:read']);
        const subject = await ctx.db
          .selectFrom('subjects')
          .select('id')
          .where('id', '=', params.subject)
          .where('app_id', '=', params.app)
          .executeTakeFirst();
        if (subject === undefined) {
          throw new PipaError('unknown_subject', `unknown subject ${params.subject}`, [
            { path: '$.params.subject', message: 'no such subject in this app' },
          ]);
        }
        const page = await ctx.audit.history({
          subject: params.subject,
          appId: params.app,
          ...(query.before !== undefined ? { before: query.before } : {}),
          ...(query.limit !== undefined ? { limit: query.limit } : {}),
        });
        const keyIds = [...new Set(page.events.map((e) => e.actor).filter((a) => a.startsWith('key_')))];
        const names = new Map<string, string>();
        if (keyIds.length > 0) {
          for (const k of await ctx.db.selectFrom('api_keys').select(['id', 'name']).where('id', 'in', keyIds).execute())
            names.set(k.id, k.name);
        }
        return {
          subject: params.subject,
          events: page.events.map((e) => ({
            seq: e.seq,
            at: e.at,
            who: accessorOf(e.actor, names),
            action: e.action,
            categories: e.categories,
            purpose: e.purpose,
            outcome: e.outcome,
            count: e.count,
            requestId: e.requestId,
          })),
          nextBefore: page.nextBefore,
        };
      },
    }),
  ];
}
