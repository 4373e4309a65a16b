/**
 * HTTP routes of retention sweeps (staff, API keys):
 * - `POST /v1/apps/{app}/retention/sweep` (scope `rights:write` or `admin`): a sweep now; a dry run
 *   unless the body says `{"dryRun": false}`. Answers the report.
 * - `GET /v1/apps/{app}/retention/reports` (scope `rights:read`, `rights:write`, `audit:read`): stored
 *   reports, newest first, paged.
 * - `GET /v1/apps/{app}/retention/reports/{id}`: one stored report.
 */
import { z } from 'zod';
import { actorOf, assertAppAccess } from '../auth/access.js';
import { type AnyRoute, defineRoute } from '../http/route.js';
import { APP_ID } from '../policies/routes.js';
import type { ServiceContext } from '../service/context.js';
import { createRetentionService, MAX_REPORT_PAGE, type RetentionService } from './service.js';
import { DATASET_LIMIT_CODES, REMOVAL_REASONS, RETENTION_ACTIONS, SWEEP_TRIGGERS } from './types.js';

const Millis = z.number().int().meta({ description: 'ms since the epoch' });
const Text = z.string();

const Removal = z.object({
  category: z.string(),
  purpose: z.string().nullable(),
  action: z.enum(RETENTION_ACTIONS),
  reason: z.enum(REMOVAL_REASONS),
  rule: z.string().nullable().meta({ description: 'JSON path of the retention rule that ended' }),
  subjects: z.number().int(),
  fields: z.number().int(),
});

const LegalHold = z.object({
  basis: z.union([z.string(), z.object({ zh: z.string(), en: z.string().optional() })]),
  period: z.string(),
  firstUntil: z.string(),
  until: z.string(),
});

const TableSweep = z.object({
  table: z.string(),
  actions: z.array(
    z.object({
      strategy: z.string(),
      columns: z.array(z.string()).readonly(),
      rows: z.number().int(),
      legalHold: LegalHold.optional(),
      reason: z.literal('row-held').optional(),
    }),
  ),
  rowsDeleted: z.number().int(),
  rowsHeld: z.number().int(),
  heldUntil: z.string().nullable(),
});

const Limit = z.object({
  code: z.enum(DATASET_LIMIT_CODES),
  table: z.string().nullable(),
  key: z.string().optional(),
  categories: z.array(z.string()).optional(),
  message: Text,
  messageZh: Text,
});

const DatasetSweep = z.object({
  dataset: z.string(),
  engine: z.string(),
  swept: z.array(z.string()),
  subjects: z.number().int(),
  remaining: z.number().int(),
  tables: z.array(TableSweep),
  limits: z.array(Limit),
  held: z
    .object({
      due: z.number().int(),
      removed: z.number().int(),
      missing: z.number().int(),
      kept: z.number().int(),
      remaining: z.number().int(),
      tables: z.array(z.object({ table: z.string(), removed: z.number().int(), missing: z.number().int(), kept: z.number().int() })),
    })
    .optional()
    .meta({
      description:
        'rows of the hold manifest whose legal hold ended: expired by primary key, removed from the manifest (absent in reports stored before the manifest)',
    }),
});

const ErrorEntry = z.object({
  where: z.string(),
  code: z.string(),
  message: Text,
  messageZh: Text.optional(),
  subjects: z.array(z.string()).optional(),
  retryable: z.boolean().optional(),
});

export const RetentionReportSchema = z.object({
  id: z.string().nullable().meta({ description: 'rsw_… once stored; null for a dry run (not stored)' }),
  app: z.string(),
  at: Millis,
  finishedAt: Millis,
  dryRun: z.boolean(),
  trigger: z.enum(SWEEP_TRIGGERS),
  actor: z.string(),
  policyVersion: z.string(),
  scanned: z.object({ subjects: z.number().int(), fields: z.number().int() }),
  deferred: z.number().int().meta({ description: 'Persons skipped because a rights request of theirs is open' }),
  removed: z.array(Removal),
  totals: z.object({ fields: z.number().int(), subjects: z.number().int(), datasetRows: z.number().int() }),
  unevaluated: z.array(
    z.object({
      purpose: z.string(),
      rule: z.string(),
      trigger: z.string(),
      categories: z.array(z.string()),
      message: Text,
      messageZh: Text,
    }),
  ),
  datasets: z.array(DatasetSweep),
  errors: z.array(ErrorEntry),
});

const Summary = z.object({
  id: z.string(),
  app: z.string(),
  at: Millis,
  finishedAt: Millis,
  trigger: z.string(),
  actor: z.string(),
  policyVersion: z.string(),
  removedFields: z.number().int(),
  removedSubjects: z.number().int(),
  datasetRows: z.number().int(),
  errors: z.number().int(),
});

const AppParams = z.object({ app: APP_ID });
const REPORT_ID = z.string().regex(/^rsw_[a-z2-7]{10,52}$/, 'must be a report id (rsw_…)');

export function retentionRoutes(ctx: ServiceContext, services: { retention?: RetentionService } = {}): AnyRoute[] {
  const retention = services.retention ?? createRetentionService(ctx);
  return [
    defineRoute({
      method: 'POST',
      url: '/v1/apps/:app/retention/sweep',
      operationId: 'sweepRetention',
      summary: 'Delete or anonymise what the declaration no longer allows to keep (PIPL 47); a dry run unless dryRun is false',
      description:
        'Vault fields whose retention ended, or whose consent-based purposes lost their consent with no other purpose covering the ' +
        'category, are removed; legally held rows of erased subjects whose hold ended are erased through the dataset connectors. ' +
        'A run (dryRun false) is stored and audited (retention.sweep); a dry run changes and stores nothing.',
      tags: ['retention'],
      auth: 'api-key',
      scopes: ['rights:write'],
      params: AppParams,
      body: z.strictObject({ dryRun: z.boolean().optional().meta({ description: 'Default true' }) }).optional(),
      response: RetentionReportSchema,
      rateLimit: { bucket: 'retention-sweep', perMinute: 6 },
      handler: async ({ params, body, principal, requestId }) => {
        assertAppAccess(principal, params.app);
        const dryRun = body?.dryRun ?? true;
        return retention.run(params.app, { dryRun, trigger: 'api', actor: actorOf(principal), requestId });
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/apps/:app/retention/reports',
      operationId: 'listRetentionReports',
      summary: 'Stored retention sweep reports, newest first',
      tags: ['retention'],
      auth: 'api-key',
      scopes: ['rights:read', 'rights:write', 'audit:read'],
      params: AppParams,
      query: z.strictObject({
        before: z.string().max(100).optional().meta({ description: 'next of the previous page' }),
        limit: z.coerce.number().int().min(1).max(MAX_REPORT_PAGE).optional(),
      }),
      response: z.object({ reports: z.array(Summary), next: z.string().nullable() }),
      handler: async ({ params, query, principal }) => {
        assertAppAccess(principal, params.app);
        return retention.reports(params.app, {
          ...(query.before !== undefined ? { before: query.before } : {}),
          ...(query.limit !== undefined ? { limit: query.limit } : {}),
        });
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/apps/:app/retention/reports/:id',
      operationId: 'getRetentionReport',
      summary: 'One stored retention sweep report',
      tags: ['retention'],
      auth: 'api-key',
      scopes: ['rights:read', 'rights:write', 'audit:read'],
      params: z.object({ app: APP_ID, id: REPORT_ID }),
      response: RetentionReportSchema,
      handler: async ({ params, principal }) => {
        assertAppAccess(principal, params.app);
        return retention.report(params.app, params.id);
      },
    }),
  ];
}
