/**
 * HTTP routes of lawful-authority access to data kept under legal hold (docs/rights.md):
 * - `POST /v1/apps/{app}/subjects/{subject}/legal-hold/access` (scope `admin` only): read the held data
 *   of a cancelled or erased subject, with the authority, legal basis and reason; recorded and audited
 *   (`legal-hold.read`) before anything is read.
 * - `GET /v1/apps/{app}/legal-hold/accesses` (scope `audit:read`): who accessed whose held data, when,
 *   on which basis, newest first.
 */
import { z } from 'zod';
import { actorOf, assertAppAccess } from '../auth/access.js';
import { type AnyRoute, defineRoute } from '../http/route.js';
import { APP_ID } from '../policies/routes.js';
import type { ServiceContext } from '../service/context.js';
import { SUBJECT_ID } from '../subjects/routes.js';
import type { SubjectService } from '../subjects/service.js';
import {
  createLawfulAccessService,
  type LawfulAccessDeps,
  type LawfulAccessService,
  MAX_ACCESS_PAGE,
  MAX_AUTHORITY,
  MAX_LEGAL_BASIS,
  MAX_REASON,
  MAX_REFERENCE,
} from './service.js';

const Millis = z.number().int().meta({ description: 'ms since the epoch' });
const nonEmpty = (max: number) => z.string().trim().min(1).max(max);

const Access = z.object({
  id: z.string(),
  appId: z.string(),
  subjectId: z.string(),
  authority: z.string(),
  legalBasis: z.string(),
  reason: z.string(),
  reference: z.string().nullable(),
  actor: z.string(),
  at: Millis,
  outcome: z.enum(['attempted', 'disclosed', 'failed']).nullable().meta({
    description: 'attempted (recorded, being read), disclosed, failed (a dataset could not be read); null: recorded before outcomes were',
  }),
  result: z
    .record(z.string(), z.unknown())
    .nullable()
    .meta({ description: 'disclosed: row counts per dataset and table; failed: the error code, dataset and tables. Never a value' }),
});

const Cell = z.union([z.string(), z.number(), z.boolean(), z.null()]);

const HeldTable = z.object({
  table: z.string(),
  categories: z.record(z.string(), z.string()).meta({ description: 'held column -> category id' }),
  rows: z.array(z.record(z.string(), Cell)),
  legalHold: z.object({
    basis: z.union([z.string(), z.object({ zh: z.string(), en: z.string().optional() })]),
    period: z.string(),
  }),
});

const HeldDataset = z.object({
  dataset: z.string(),
  tables: z.array(HeldTable),
  unreached: z.array(z.object({ table: z.string(), key: z.string() })).meta({
    description: 'held tables that could not be read: found by phone, e-mail or external id only, with no rows in the hold manifest',
  }),
  expired: z
    .array(z.object({ table: z.string(), until: z.string(), rows: z.number().int() }))
    .meta({ description: 'holds that have ended (due for the retention sweep): these rows are not returned' }),
});

export interface LawfulAccessRouteOptions {
  service?: LawfulAccessService;
  env?: LawfulAccessDeps['env'];
}

export function lawfulAccessRoutes(
  ctx: ServiceContext,
  services: { subjects: SubjectService },
  options: LawfulAccessRouteOptions = {},
): AnyRoute[] {
  const service =
    options.service ??
    createLawfulAccessService(ctx, { subjects: services.subjects, ...(options.env !== undefined ? { env: options.env } : {}) });
  return [
    defineRoute({
      method: 'POST',
      url: '/v1/apps/:app/subjects/:subject/legal-hold/access',
      operationId: 'accessLegalHold',
      summary: 'A lawful authority reads the data kept under legal hold of a cancelled or erased subject',
      description:
        'Only for subjects whose account was cancelled or whose data was erased (403 otherwise: ordinary reads exist for them). ' +
        'The authority, the legal basis and the reason are required; the access is recorded and audited (legal-hold.read) before ' +
        'anything is read. Returns only what the erasure kept: the held tables and columns, found through the hold manifest ' +
        '(by primary key) or by the subject id; holds that have ended are left out and listed under expired. A dataset that ' +
        'cannot be read is 503 unavailable naming the dataset and tables; the access then stays recorded as failed.',
      tags: ['rights'],
      auth: 'api-key',
      scopes: ['admin'],
      params: z.object({ app: APP_ID, subject: SUBJECT_ID }),
      body: z.strictObject({
        authority: nonEmpty(MAX_AUTHORITY).meta({ description: 'The authority that asks' }),
        legalBasis: nonEmpty(MAX_LEGAL_BASIS).meta({ description: 'The legal provision the request rests on' }),
        reason: nonEmpty(MAX_REASON).meta({ description: 'Why the data is needed' }),
        reference: z.string().trim().max(MAX_REFERENCE).optional().meta({ description: "The authority's document number" }),
      }),
      response: z.object({ access: Access, datasets: z.array(HeldDataset) }),
      rateLimit: { bucket: 'legal-hold-access', perMinute: 30 },
      handler: async ({ params, body, principal, requestId }) => {
        assertAppAccess(principal, params.app);
        return service.request(params.app, params.subject, {
          authority: body.authority,
          legalBasis: body.legalBasis,
          reason: body.reason,
          reference: body.reference ?? null,
          actor: actorOf(principal),
          requestId,
        });
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/apps/:app/legal-hold/accesses',
      operationId: 'listLegalHoldAccesses',
      summary: 'Lawful-authority accesses to held data: who, whose, when, on which basis; newest first',
      tags: ['rights'],
      auth: 'api-key',
      scopes: ['audit:read'],
      params: z.object({ app: APP_ID }),
      query: z.strictObject({
        subject: SUBJECT_ID.optional(),
        before: z.coerce.number().int().min(0).optional().meta({ description: 'only accesses before this time (ms)' }),
        limit: z.coerce.number().int().min(1).max(MAX_ACCESS_PAGE).optional(),
      }),
      response: z.object({ accesses: z.array(Access) }),
      handler: async ({ params, query, principal }) => {
        assertAppAccess(principal, params.app);
        return service.list(params.app, {
          ...(query.subject !== undefined ? { subjectId: query.subject } : {}),
          ...(query.before !== undefined ? { before: query.before } : {}),
          ...(query.limit !== undefined ? { limit: query.limit } : {}),
        });
      },
    }),
  ];
}
