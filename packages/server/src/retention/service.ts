/**
 * The retention service: sweeps (dry run or for real) and the stored reports of an app.
 */
import { PipaError } from '../errors.js';
import type { ServiceContext } from '../service/context.js';
import { planSweep, runSweep } from './sweep.js';
import type { RetentionDeps, RetentionReport, RetentionReportSummary, RunSweepOptions, SweepOptions } from './types.js';

export interface ReportPage {
  reports: RetentionReportSummary[];
  /** Pass as `before` for the next (older) page; null when there is none. */
  next: string | null;
}

export interface RetentionService {
  plan(appId: string, options?: SweepOptions): Promise<RetentionReport>;
  run(appId: string, options?: RunSweepOptions): Promise<RetentionReport>;
  /** Stored reports, newest first. `before`: the `next` of the previous page. */
  reports(appId: string, page?: { before?: string; limit?: number }): Promise<ReportPage>;
  /** One stored report; PipaError `not_found` when the app has no report with this id. */
  report(appId: string, id: string): Promise<RetentionReport>;
}

export const MAX_REPORT_PAGE = 100;
const CURSOR = /^(\d{1,16})_(rsw_[a-z2-7]{10,52})$/;

export function createRetentionService(ctx: ServiceContext, deps: RetentionDeps = {}): RetentionService {
  return {
    plan: (appId, options = {}) => planSweep(ctx, appId, { ...deps, ...options }),
    run: (appId, options = {}) => runSweep(ctx, appId, { ...deps, ...options }),

    async reports(appId, page = {}) {
      ctx.policies.require(appId);
      const limit = page.limit ?? 20;
      if (!Number.isInteger(limit) || limit < 1 || limit > MAX_REPORT_PAGE) {
        throw new PipaError('validation_failed', `limit must be an integer from 1 to ${MAX_REPORT_PAGE}`, [
          { path: '$.query.limit', message: `must be an integer from 1 to ${MAX_REPORT_PAGE}` },
        ]);
      }
      let q = ctx.db
        .selectFrom('retention_reports')
        .select([
          'id',
          'app_id',
          'at',
          'finished_at',
          'trigger',
          'actor',
          'policy_version',
          'removed_fields',
          'removed_subjects',
          'dataset_rows',
          'errors',
        ])
        .where('app_id', '=', appId);
      if (page.before !== undefined) {
        const m = CURSOR.exec(page.before);
        if (m?.[1] === undefined || m[2] === undefined) {
          throw new PipaError('validation_failed', 'before must be the "next" value of a previous page', [
            { path: '$.query.before', message: 'must be the "next" value of a previous page' },
          ]);
        }
        const at = Number(m[1]);
        const id = m[2];
        q = q.where((eb) => eb.or([eb('at', '<', at), eb.and([eb('at', '=', at), eb('id', '<', id)])]));
      }
      const rows = await q
        .orderBy('at', 'desc')
        .orderBy('id', 'desc')
        .limit(limit + 1)
        .execute();
      const more = rows.length > limit;
      const reports = (more ? rows.slice(0, limit) : rows).map(
        (r): RetentionReportSummary => ({
          id: r.id,
          app: r.app_id,
          at: Number(r.at),
          finishedAt: Number(r.finished_at),
          trigger: r.trigger,
          actor: r.actor,
          policyVersion: r.policy_version,
          removedFields: Number(r.removed_fields),
          removedSubjects: Number(r.removed_subjects),
          datasetRows: Number(r.dataset_rows),
          errors: Number(r.errors),
        }),
      );
      const last = reports[reports.length - 1];
      return { reports, next: more && last !== undefined ? `${last.at}_${last.id}` : null };
    },

    async report(appId, id) {
      ctx.policies.require(appId);
      const row = await ctx.db
        .selectFrom('retention_reports')
        .select('report')
        .where('app_id', '=', appId)
        .where('id', '=', id)
        .executeTakeFirst();
      if (row === undefined) {
        throw new PipaError('not_found', `app ${appId} has no retention report ${id}`, [
          { path: '$.params.id', message: 'no such report' },
        ]);
      }
      return JSON.parse(row.report) as RetentionReport;
    },
  };
}
