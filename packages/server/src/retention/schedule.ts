/**
 * Scheduled sweeps: a durable job of kind `retention.sweep` per app, at fixed slots (daily at 03:00
 * China time by default). The job queue has no recurring jobs, so each sweep job enqueues the next
 * slot's job FIRST (before it sweeps, so that a failing sweep never breaks the chain), and the
 * dedupe key `retention.sweep:<app>:<slot>` makes every node, restart and retry agree on one job per
 * app and slot. `startRetentionScheduler` enqueues the next slot for every app at start and for apps
 * published later.
 */
import { z } from 'zod';
import { JobHandlerError } from '../jobs/errors.js';
import type { JobQueue } from '../jobs/queue.js';
import type { JobContext, JobHandlerDefinition } from '../jobs/runner.js';
import type { EnqueueResult } from '../jobs/types.js';
import type { ServiceContext } from '../service/context.js';
import { runSweep } from './sweep.js';
import type { RetentionDeps, SweepOptions } from './types.js';

export const RETENTION_JOB_KIND = 'retention.sweep';
export const RETENTION_JOB_ACTOR = `job:${RETENTION_JOB_KIND}`;

const HOUR_MS = 3_600_000;
export const DAY_MS = 24 * HOUR_MS;
/** 03:00 in Asia/Shanghai (UTC+8) is 19:00 UTC. */
export const DEFAULT_SWEEP_OFFSET_MS = 19 * HOUR_MS;

export interface RetentionScheduleConfig {
  /** Time between sweeps (ms, 1 minute to 31 days). Default one day. */
  everyMs?: number;
  /** Slots are `offsetMs + k × everyMs` since the epoch (UTC). Default 19:00 UTC = 03:00 China time. */
  offsetMs?: number;
  /** Scheduled sweeps on (default true). */
  enabled?: boolean;
}

export interface RetentionScheduleOptions extends RetentionScheduleConfig, RetentionDeps {
  /** Per app: overrides of the defaults above. */
  apps?: Readonly<Record<string, RetentionScheduleConfig>>;
  /** One attempt of a sweep job may take this long (ms). Default 2 hours. */
  timeoutMs?: number;
  /** Sweep options passed through (batch size, grace …). */
  sweep?: Pick<SweepOptions, 'batchSize' | 'maxDatasetSubjects' | 'maxHeldRows' | 'missingConsentGraceMs' | 'onError'>;
}

const MIN_EVERY = 60_000;
const MAX_EVERY = 31 * DAY_MS;

function configFor(options: RetentionScheduleOptions, appId: string): Required<RetentionScheduleConfig> {
  const own = options.apps?.[appId] ?? {};
  const everyMs = own.everyMs ?? options.everyMs ?? DAY_MS;
  const offsetMs = own.offsetMs ?? options.offsetMs ?? DEFAULT_SWEEP_OFFSET_MS;
  const enabled = own.enabled ?? options.enabled ?? true;
  if (!Number.isInteger(everyMs) || everyMs < MIN_EVERY || everyMs > MAX_EVERY) {
    throw new RangeError(`retention schedule of app ${appId}: everyMs must be an integer from ${MIN_EVERY} to ${MAX_EVERY}`);
  }
  if (!Number.isInteger(offsetMs) || offsetMs < 0)
    throw new RangeError(`retention schedule of app ${appId}: offsetMs must be a non-negative integer`);
  return { everyMs, offsetMs: offsetMs % everyMs, enabled };
}

/** The first slot strictly after `t`. */
export function nextSweepSlot(t: number, everyMs: number, offsetMs: number): number {
  const k = Math.floor((t - offsetMs) / everyMs) + 1;
  return offsetMs + k * everyMs;
}

const Payload = z.strictObject({ app: z.string().min(1).max(200) });

/** Enqueue the app's sweep job at the first slot after `after` (idempotent). Null when scheduling is disabled for the app. */
export async function scheduleRetentionSweep(
  ctx: ServiceContext,
  queue: JobQueue,
  appId: string,
  options: RetentionScheduleOptions = {},
  after: number = ctx.clock(),
): Promise<EnqueueResult | null> {
  const cfg = configFor(options, appId);
  if (!cfg.enabled) return null;
  const runAt = nextSweepSlot(after, cfg.everyMs, cfg.offsetMs);
  return queue.enqueue(ctx.db, {
    kind: RETENTION_JOB_KIND,
    payload: { app: appId },
    runAt,
    dedupeKey: `${RETENTION_JOB_KIND}:${appId}:${runAt}`,
    timeoutMs: options.timeoutMs ?? 2 * HOUR_MS,
    maxAttempts: 3,
  });
}

/** The handler of `retention.sweep` jobs, for `createJobRunner({ handlers: { ...retentionJobHandlers(ctx, queue) } })`. */
export function retentionJobHandlers(
  ctx: ServiceContext,
  queue: JobQueue,
  options: RetentionScheduleOptions = {},
): Record<typeof RETENTION_JOB_KIND, JobHandlerDefinition> {
  return {
    [RETENTION_JOB_KIND]: {
      run: async (job: JobContext) => {
        const parsed = Payload.safeParse(job.job.payload);
        if (!parsed.success) {
          throw new JobHandlerError('retention.sweep payload must be { app }', { where: `job ${job.job.id}`, retryable: false });
        }
        const appId = parsed.data.app;
        if (ctx.policies.get(appId) === undefined) return { skipped: 'unknown-app', app: appId };
        if (!configFor(options, appId).enabled) return { skipped: 'disabled', app: appId };
        // The chain first: a sweep that fails (or dies) must not stop the next one.
        await scheduleRetentionSweep(ctx, queue, appId, options, Math.max(job.job.runAt, ctx.clock()));
        const report = await runSweep(ctx, appId, {
          ...(options.connectors !== undefined ? { connectors: options.connectors } : {}),
          ...(options.env !== undefined ? { env: options.env } : {}),
          ...options.sweep,
          dryRun: false,
          trigger: 'schedule',
          actor: RETENTION_JOB_ACTOR,
          signal: job.signal,
        });
        if (job.signal.aborted) throw job.signal.reason instanceof Error ? job.signal.reason : new Error('aborted');
        return {
          report: report.id,
          app: appId,
          removedFields: report.totals.fields,
          removedSubjects: report.totals.subjects,
          datasetRows: report.totals.datasetRows,
          errors: report.errors.length,
        };
      },
    },
  };
}

/**
 * Enqueue the next sweep of every app now, and of every app whose policy is published later.
 * Returns a function that stops listening for publications. Errors go to `onError` (never thrown later).
 */
export async function startRetentionScheduler(
  ctx: ServiceContext,
  queue: JobQueue,
  options: RetentionScheduleOptions & { onError?: (err: unknown, appId: string) => void } = {},
): Promise<() => void> {
  for (const policy of ctx.policies.list()) await scheduleRetentionSweep(ctx, queue, policy.appId, options);
  return ctx.policies.onChange((policy) => {
    scheduleRetentionSweep(ctx, queue, policy.appId, options).catch((err: unknown) => options.onError?.(err, policy.appId));
  });
}
