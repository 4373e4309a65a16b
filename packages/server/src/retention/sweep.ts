/**
 * `planSweep` and `runSweep`: one retention sweep of one app (PIPL 47, GB/T 35273 6.1). The vault
 * part removes fields whose retention ended or whose consent-based purposes lost their consent with no
 * other purpose covering the category (rules.ts, vault.ts); the datasets part asks the connectors to
 * erase legally held rows of erased subjects whose hold ended (datasets.ts). A run stores its report
 * (`retention_reports`) and records a `retention.sweep` audit event with the counts per category,
 * purpose and action, in one transaction; a dry run (`planSweep`) changes and stores nothing.
 */
import type { JsonValue } from '../audit/types.js';
import { base32 } from '../crypto/encoding.js';
import { systemRandom } from '../crypto/random.js';
import { PipaError } from '../errors.js';
import type { AppPolicy, ServiceContext } from '../service/context.js';
import { withTransaction } from '../store/transaction.js';
import { sweepDatasets } from './datasets.js';
import { compileRetention, type RetentionModel } from './rules.js';
import type { RetentionError, RetentionRemoval, RetentionReport, RunSweepOptions, SweepOptions } from './types.js';
import { sweepVault, type VaultRemoval } from './vault.js';

export const DEFAULT_BATCH_SIZE = 200;
export const DEFAULT_MAX_DATASET_SUBJECTS = 1000;
export const DEFAULT_MAX_HELD_ROWS = 5000;
export const DEFAULT_MISSING_CONSENT_GRACE_MS = 86_400_000;

const models = new WeakMap<AppPolicy, RetentionModel>();

/** The retention model of the app's policy in force (cached per published version). */
export function retentionModelOf(policy: AppPolicy): RetentionModel {
  let m = models.get(policy);
  if (m === undefined) {
    m = compileRetention(policy.appId, policy.version, policy.declaration);
    models.set(policy, m);
  }
  return m;
}

/** `rsw_` + 26 base32 characters (128 random bits). */
export function newSweepId(): string {
  return `rsw_${base32(systemRandom(16))}`;
}

function intOption(name: string, value: number | undefined, fallback: number, min: number, max: number): number {
  const v = value ?? fallback;
  if (!Number.isInteger(v) || v < min || v > max) {
    throw new PipaError('validation_failed', `${name} must be an integer from ${min} to ${max}`, [
      { path: name, message: `须为 ${min} 到 ${max} 之间的整数 / must be an integer from ${min} to ${max}` },
    ]);
  }
  return v;
}

function summarise(removals: readonly VaultRemoval[]): RetentionRemoval[] {
  const groups = new Map<string, { r: VaultRemoval; persons: Set<string>; fields: number }>();
  for (const r of removals) {
    const key = [r.category, r.purpose ?? '', r.action, r.reason, r.rule ?? ''].join('\u0000');
    const g = groups.get(key);
    if (g === undefined) groups.set(key, { r, persons: new Set([r.person]), fields: 1 });
    else {
      g.persons.add(r.person);
      g.fields++;
    }
  }
  return [...groups.values()]
    .map(({ r, persons, fields }) => ({
      category: r.category,
      purpose: r.purpose,
      action: r.action,
      reason: r.reason,
      rule: r.rule,
      subjects: persons.size,
      fields,
    }))
    .sort(
      (a, b) =>
        a.category.localeCompare(b.category) ||
        (a.purpose ?? '').localeCompare(b.purpose ?? '') ||
        a.action.localeCompare(b.action) ||
        a.reason.localeCompare(b.reason),
    );
}

/** What a sweep would remove now, without changing or storing anything. */
export function planSweep(ctx: ServiceContext, appId: string, options: SweepOptions = {}): Promise<RetentionReport> {
  return runSweep(ctx, appId, { ...options, dryRun: true });
}

/** One sweep of `appId`. Unknown app: PipaError `unknown_app`. Failures of parts are in `errors`; the rest goes on. */
export async function runSweep(ctx: ServiceContext, appId: string, options: RunSweepOptions = {}): Promise<RetentionReport> {
  const policy = ctx.policies.require(appId);
  const model = retentionModelOf(policy);
  const now = options.now ?? ctx.clock();
  if (!Number.isSafeInteger(now) || now < 0) {
    throw new PipaError('validation_failed', 'now must be a time in ms since the epoch', [
      { path: 'now', message: 'must be a non-negative integer' },
    ]);
  }
  const dryRun = options.dryRun === true;
  const write = !dryRun;
  const batchSize = intOption('batchSize', options.batchSize, DEFAULT_BATCH_SIZE, 1, 5000);
  const maxSubjects = intOption('maxDatasetSubjects', options.maxDatasetSubjects, DEFAULT_MAX_DATASET_SUBJECTS, 1, 1_000_000);
  const maxHeldRows = intOption('maxHeldRows', options.maxHeldRows, DEFAULT_MAX_HELD_ROWS, 1, 10_000);
  const graceMs = intOption('missingConsentGraceMs', options.missingConsentGraceMs, DEFAULT_MISSING_CONSENT_GRACE_MS, 0, 366 * 86_400_000);
  const actor = options.actor ?? 'system';
  const trigger = options.trigger ?? 'api';
  const requestId = options.requestId ?? null;
  const sweepId = dryRun ? null : newSweepId();
  const signal = options.signal;

  const onError = options.onError;
  const vault = await sweepVault(ctx, { appId, model, now, graceMs, batchSize, write, actor, sweepId, requestId, signal, onError });
  const ds = vault.aborted
    ? { datasets: [], errors: [], aborted: true }
    : await sweepDatasets(
        ctx,
        { appId, declaration: policy.declaration, model, now, write, actor, sweepId, requestId, maxSubjects, maxHeldRows, signal, onError },
        options,
      );
  const errors: RetentionError[] = [...vault.errors, ...ds.errors];
  if (vault.aborted || ds.aborted) {
    const reason = signal?.reason instanceof Error ? signal.reason.message : 'stopped';
    errors.push({
      where: vault.aborted ? 'vault' : 'datasets',
      code: 'aborted',
      message: `the sweep was stopped (${reason}); the next sweep continues`,
      messageZh: '清理任务被中止；下一次清理继续',
    });
  }
  const removed = summarise(vault.removals);
  const datasetRows = ds.datasets.reduce((n, d) => n + d.tables.reduce((m, t) => m + t.rowsDeleted, 0), 0);
  const report: RetentionReport = {
    id: sweepId,
    app: appId,
    at: now,
    finishedAt: Math.max(now, ctx.clock()),
    dryRun,
    trigger,
    actor,
    policyVersion: policy.version,
    scanned: { subjects: vault.persons, fields: vault.fields },
    deferred: vault.deferred,
    removed,
    totals: { fields: vault.removals.length, subjects: new Set(vault.removals.map((r) => r.person)).size, datasetRows },
    unevaluated: [...model.unevaluated],
    datasets: ds.datasets,
    errors,
  };
  if (dryRun || sweepId === null) return report;

  await withTransaction(ctx.db, async (trx) => {
    await trx
      .insertInto('retention_reports')
      .values({
        id: sweepId,
        app_id: appId,
        at: report.at,
        finished_at: report.finishedAt,
        trigger,
        actor,
        policy_version: policy.version,
        removed_fields: report.totals.fields,
        removed_subjects: report.totals.subjects,
        dataset_rows: datasetRows,
        errors: errors.length,
        report: JSON.stringify(report),
      })
      .execute();
    const details: JsonValue = {
      sweep: sweepId,
      trigger,
      policyVersion: policy.version,
      at: report.at,
      scanned: { subjects: report.scanned.subjects, fields: report.scanned.fields },
      deferred: report.deferred,
      removed: removed.map((r) => ({
        category: r.category,
        purpose: r.purpose,
        action: r.action,
        reason: r.reason,
        subjects: r.subjects,
        fields: r.fields,
      })),
      datasets: ds.datasets.map((d) => ({
        dataset: d.dataset,
        subjects: d.subjects,
        rowsDeleted: d.tables.reduce((n, t) => n + t.rowsDeleted, 0),
        rowsHeld: d.tables.reduce((n, t) => n + t.rowsHeld, 0),
        heldRowsRemoved: d.held.removed,
        heldRowsKept: d.held.kept,
        limits: d.limits.map((l) => l.code),
      })),
      errors: errors.map((e) => ({ where: e.where, code: e.code })),
    };
    await ctx.audit.append(trx, {
      actor,
      action: 'retention.sweep',
      appId,
      categories: [...new Set(removed.map((r) => r.category))],
      outcome: errors.length > 0 ? 'failed' : 'ok',
      requestId,
      details,
    });
  });
  return report;
}
