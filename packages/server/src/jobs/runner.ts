/**
 * The job runner: claims due jobs, runs their handlers with a lease, a heartbeat and a timeout,
 * records the outcome, and stops gracefully. Any number of runners (threads of one process, nodes
 * on one PostgreSQL) can serve one queue. Design and guarantees: docs/jobs.md.
 *
 * ```ts
 * const runner = createJobRunner({
 *   database,
 *   handlers: {
 *     'rights.erase-table': async (ctx) => {
 *       const { requestId, table } = erasePayload.parse(ctx.job.payload);  // validate: it crossed a process boundary
 *       const plan = await planErasure(table, requestId, { signal: ctx.signal });  // slow reads: honour the signal
 *       return ctx.complete(async (trx) => {                                 // effects + completion: one transaction
 *         await applyErasure(trx, plan);
 *         return { rows: plan.rows };                                        // stored as the job's result
 *       });
 *     },
 *   },
 * });
 * await runner.start();
 * stopOnSignals(runner, { then: () => database.close() });
 * ```
 *
 * Wake-up: the queue notifies `pipa_jobs` when a job becomes due (enqueue, dependency succeeded,
 * release, staff retry); the runner LISTENs (PostgreSQL: every node; SQLite: this process) and
 * claims at once. Besides, it sleeps until the next known due time (a retry's backoff, a lease that
 * expires) but never longer than `pollIntervalMs`, which covers notifications that were missed
 * (another process on SQLite, a dropped LISTEN connection).
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { performance } from 'node:perf_hooks';
import type { Transaction } from 'kysely';
import type { Database } from '../store/database.js';
import type { Schema } from '../store/schema.js';
import { type BackoffOptions, type ResolvedBackoff, resolveBackoff } from './backoff.js';
import { isJobError, JobError, JobHandlerError } from './errors.js';
import { createJobQueue, JOB_LIMITS, type JobQueue, toJsonText } from './queue.js';
import { type ClaimedJob, JOBS_CHANNEL, type Job, type JobClock, type JobFailure, type JobFailureKind, systemJobClock } from './types.js';

/** What a handler gets for one attempt. */
export interface JobContext {
  readonly job: Job;
  /** 1 for the first attempt. A handler may run again after a crash, a timeout or a lost lease: it must be idempotent. */
  readonly attempt: number;
  readonly workerId: string;
  /**
   * Aborted when the attempt times out, when the worker loses the job (lease expired, staff cancelled
   * it) or when the runner stops and hands the job back. `signal.reason` is a `JobError`
   * (`timed_out`, `lease_lost`, `shutting_down`). Pass it to fetch, connectors, long loops.
   */
  readonly signal: AbortSignal;
  /** Renew the lease now (the runner also does it every `heartbeatMs`). Throws `JobError` `lease_lost` when the job is no longer ours. */
  heartbeat(): Promise<void>;
  /**
   * Commit the handler's database effects and the job's completion in ONE transaction, and store what
   * `fn` returns as the job's result. If the job is no longer ours, `fn` does not run (or its writes roll
   * back) and this throws `JobError` `lease_lost`: a completed job's effects exist exactly once.
   * At most one call per attempt.
   */
  complete<T>(fn: (trx: Transaction<Schema>) => Promise<T>): Promise<T>;
}

/**
 * A handler: resolve to succeed (the value, if `complete` was not called, becomes the result),
 * throw to fail (retried with backoff; `JobHandlerError` with `retryable: false` fails for good).
 */
export type JobHandler = (ctx: JobContext) => Promise<unknown>;

export interface JobHandlerDefinition {
  run: JobHandler;
  /** Retry delays for this kind (a connector that is down: longer). */
  backoff?: BackoffOptions;
}

export type JobHandlers = Readonly<Record<string, JobHandler | JobHandlerDefinition>>;

export type JobRunnerEvent =
  | { type: 'claimed'; job: Job; attempt: number }
  | { type: 'succeeded'; job: Job; attempt: number; ms: number }
  | { type: 'failed'; job: Job; attempt: number; failure: JobFailure; outcome: 'retry' | 'dead' | 'lost'; runAt?: number }
  | { type: 'lost'; job: Job; attempt: number; reason: string }
  | { type: 'released'; job: Job; attempt: number }
  | { type: 'error'; message: string; context: string; jobId?: string };

export interface JobRunnerOptions {
  database: Pick<Database, 'db' | 'caps' | 'notify' | 'listen'>;
  handlers: JobHandlers;
  /** Default: a queue on `database` with this runner's clock, random and backoff. */
  queue?: JobQueue;
  /** Shown to staff as `locked_by`. Default `<host>:<pid>:<random>`. */
  workerId?: string;
  /** Jobs run at once by this runner. Default 4. */
  concurrency?: number;
  /** Lease per claim; renewed every `heartbeatMs`. A dead worker's jobs are taken over this long after its last renewal. Default 30 000. */
  leaseMs?: number;
  /** Default `leaseMs / 3`. */
  heartbeatMs?: number;
  /** Longest sleep between looks at the queue when no notification comes. Default 2000. */
  pollIntervalMs?: number;
  clock?: JobClock;
  random?: () => number;
  backoff?: BackoffOptions;
  /** Everything that happens (log it; never contains payloads). */
  onEvent?: (event: JobRunnerEvent) => void;
}

export interface JobRunnerStats {
  workerId: string;
  running: number;
  claimed: number;
  succeeded: number;
  retried: number;
  dead: number;
  timedOut: number;
  lost: number;
  released: number;
  /** Handlers still running after their attempt ended (timed out, lost or released and ignoring the signal). */
  abandoned: number;
  errors: number;
}

export interface JobRunner {
  readonly workerId: string;
  readonly queue: JobQueue;
  /** Listen for notifications and start claiming. */
  start(): Promise<void>;
  /**
   * Stop claiming, wait up to `graceMs` (default 30 000) for running jobs to finish, then abort the
   * rest and hand them back to the queue (the attempt does not count). Resolves when every outcome is
   * recorded. Idempotent.
   */
  stop(options?: { graceMs?: number }): Promise<void>;
  /** Without `start`: claim and run every due job until none is left; returns how many attempts ran (tests, CLI). */
  runDue(): Promise<number>;
  stats(): JobRunnerStats;
}

const MIN_WAKE_MS = 20;

function bad(path: string, message: string, messageZh: string): JobError {
  return new JobError('invalid_argument', `${path}: ${message}`, `${path}：${messageZh}`, { path });
}

function positive(path: string, value: number | undefined, fallback: number, max: number = JOB_LIMITS.maxTimeoutMs): number {
  const v = value ?? fallback;
  if (!Number.isInteger(v) || v < 1 || v > max) throw bad(path, `must be an integer from 1 to ${max}`, `必须是 1 到 ${max} 之间的整数`);
  return v;
}

/** The first stack frame outside node_modules and Node's internals (where the error was thrown), else the first one. */
function firstFrame(stack: string | undefined): string | null {
  if (stack === undefined) return null;
  const frames = stack
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.startsWith('at '))
    .map((l) => l.slice(3));
  return frames.find((f) => !f.includes('node_modules') && !f.includes('node:')) ?? frames[0] ?? null;
}

/** Turn whatever a handler threw into the failure record staff see. */
export function describeFailure(err: unknown, kind: JobFailureKind, attempt: number, worker: string, at: number): JobFailure {
  const e = err instanceof Error ? err : new Error(typeof err === 'string' ? err : 'a non-Error value was thrown');
  const code = (e as { code?: unknown }).code;
  const where = e instanceof JobHandlerError && e.where !== undefined ? e.where : (firstFrame(e.stack) ?? `worker ${worker}`);
  return {
    kind,
    message: e.message === '' ? e.name : e.message,
    where,
    name: e.name,
    code: typeof code === 'string' ? code : null,
    attempt,
    worker,
    at,
  };
}

interface Running {
  claimed: ClaimedJob;
  done: Promise<void>;
  /** Abort the handler and hand the job back (shutdown). */
  release(): void;
}

export function createJobRunner(options: JobRunnerOptions): JobRunner {
  const { database } = options;
  const clock = options.clock ?? systemJobClock;
  const random = options.random ?? Math.random;
  const queue =
    options.queue ?? createJobQueue({ database, clock, random, ...(options.backoff !== undefined ? { backoff: options.backoff } : {}) });
  const concurrency = positive('concurrency', options.concurrency, 4, 1000);
  const leaseMs = positive('leaseMs', options.leaseMs, 30_000);
  const heartbeatMs = positive('heartbeatMs', options.heartbeatMs, Math.max(1, Math.floor(leaseMs / 3)));
  if (heartbeatMs >= leaseMs) throw bad('heartbeatMs', 'must be shorter than leaseMs', '必须小于 leaseMs');
  const pollIntervalMs = positive('pollIntervalMs', options.pollIntervalMs, 2000);
  const workerId = options.workerId ?? `${hostname().slice(0, 100)}:${process.pid}:${randomBytes(3).toString('hex')}`;
  if (workerId.length === 0 || workerId.length > JOB_LIMITS.keyLength) {
    throw bad('workerId', `must be 1 to ${JOB_LIMITS.keyLength} characters`, `必须是 1 到 ${JOB_LIMITS.keyLength} 个字符`);
  }
  const onEvent = options.onEvent ?? (() => {});

  const handlers = new Map<string, { run: JobHandler; backoff: ResolvedBackoff | undefined }>();
  for (const [kind, def] of Object.entries(options.handlers)) {
    if (!JOB_LIMITS.kindPattern.test(kind))
      throw bad(
        `handlers.${kind}`,
        `kind must match ${JOB_LIMITS.kindPattern.source}`,
        `任务类型必须符合 ${JOB_LIMITS.kindPattern.source}`,
      );
    const run = typeof def === 'function' ? def : def.run;
    if (typeof run !== 'function') throw bad(`handlers.${kind}`, 'must be a function or { run: function }', '必须是函数或 { run: 函数 }');
    const backoff =
      typeof def === 'function' || def.backoff === undefined ? undefined : resolveBackoff(def.backoff, `handlers.${kind}.backoff`);
    handlers.set(kind, { run, backoff });
  }
  const kinds = [...handlers.keys()];
  if (kinds.length === 0) throw bad('handlers', 'at least one handler is needed', '至少需要一个处理函数');

  const running = new Map<string, Running>();
  const stats = { claimed: 0, succeeded: 0, retried: 0, dead: 0, timedOut: 0, lost: 0, released: 0, abandoned: 0, errors: 0 };
  let active = false;
  let stopping: Promise<void> | null = null;
  let unlisten: (() => Promise<void>) | null = null;
  let pollTimer: NodeJS.Timeout | null = null;
  let filling: Promise<void> | null = null;
  let fillAgain = false;

  const emit = (event: JobRunnerEvent): void => {
    if (event.type === 'error') stats.errors++;
    try {
      onEvent(event);
    } catch {
      // A logger's failure must not stop the runner.
    }
  };
  const emitError = (err: unknown, context: string, jobId?: string): void => {
    emit({ type: 'error', message: err instanceof Error ? err.message : String(err), context, ...(jobId !== undefined ? { jobId } : {}) });
  };

  function startJob(claimed: ClaimedJob): Running {
    const { job, lease } = claimed;
    const handler = handlers.get(job.kind);
    const controller = new AbortController();
    const t0 = performance.now();
    /** The outcome is decided (recorded or being recorded); later events change nothing. */
    let settled = false;
    let handlerSettled = false;
    let countedAbandoned = false;
    /** `ctx.complete` in flight: its transaction decides the outcome, so timeouts and shutdown wait for it. */
    let completion: Promise<unknown> | null = null;
    let completedInHandler = false;
    let heartbeating = false;
    let resolveDone: () => void = () => {};
    const done = new Promise<void>((r) => {
      resolveDone = r;
    });

    const finish = (record: () => Promise<void>): void => {
      if (settled) return;
      settled = true;
      clearInterval(heartbeatTimer);
      clearTimeout(timeoutTimer);
      if (!handlerSettled) {
        countedAbandoned = true;
        stats.abandoned++;
      }
      record()
        .catch((err: unknown) => emitError(err, 'recording the outcome (the lease will expire and another worker will retry)', job.id))
        .finally(() => {
          running.delete(job.id);
          resolveDone();
          kick();
        });
    };

    /** End the attempt from outside the handler (timeout, lost lease, shutdown), unless its own completion wins. */
    const preempt = (reason: JobError, record: () => Promise<void>): void => {
      if (settled) return;
      if (completion !== null) {
        void completion.then(
          () => {},
          () => {
            if (!completedInHandler) preempt(reason, record);
          },
        );
        return;
      }
      controller.abort(reason);
      finish(record);
    };

    const onHandlerSettled = (): void => {
      handlerSettled = true;
      if (countedAbandoned) {
        countedAbandoned = false;
        stats.abandoned--;
      }
    };

    const lostReason = 'the lease could not be renewed (it expired and another worker took the job, or the job was cancelled)';
    const onLost = (reason: string): void => {
      preempt(
        new JobError(
          'lease_lost',
          `job ${job.id} is no longer held by ${workerId}: ${reason}`,
          `任务 ${job.id} 已不再由 ${workerId} 持有：${reason}`,
        ),
        async () => {
          stats.lost++;
          emit({ type: 'lost', job, attempt: lease.attempt, reason });
        },
      );
    };

    const beat = async (): Promise<void> => {
      if (heartbeating || settled || completion !== null || completedInHandler) return;
      heartbeating = true;
      try {
        const held = await queue.heartbeat(lease, leaseMs);
        if (!held && completion === null && !completedInHandler) onLost(lostReason);
      } catch (err) {
        emitError(err, 'renewing the lease', job.id);
      } finally {
        heartbeating = false;
      }
    };
    const heartbeatTimer = setInterval(() => void beat(), heartbeatMs);

    const recordFailure = async (failure: JobFailure, permanent: boolean): Promise<void> => {
      const backoff = handler?.backoff;
      const out = await queue.fail(lease, failure, { permanent, ...(backoff !== undefined ? { backoff } : {}) });
      if (out.outcome === 'retry') stats.retried++;
      else if (out.outcome === 'dead') stats.dead++;
      else stats.lost++;
      emit({
        type: 'failed',
        job,
        attempt: lease.attempt,
        failure,
        outcome: out.outcome,
        ...(out.outcome === 'retry' ? { runAt: out.runAt } : {}),
      });
    };

    const timeoutTimer = setTimeout(() => {
      const message = `attempt ${lease.attempt} ran longer than its timeout of ${job.timeoutMs} ms and was abandoned`;
      preempt(
        new JobError(
          'timed_out',
          `job ${job.id}: ${message}`,
          `任务 ${job.id}：第 ${lease.attempt} 次尝试超过 ${job.timeoutMs} 毫秒的时限，已放弃`,
        ),
        async () => {
          stats.timedOut++;
          await recordFailure(
            {
              kind: 'timeout',
              message,
              where: `handler ${job.kind}`,
              name: 'JobTimeout',
              code: 'timed_out',
              attempt: lease.attempt,
              worker: workerId,
              at: clock.now(),
            },
            false,
          );
        },
      );
    }, job.timeoutMs);

    const ctx: JobContext = {
      job,
      attempt: lease.attempt,
      workerId,
      signal: controller.signal,
      async heartbeat() {
        if (controller.signal.aborted) throw controller.signal.reason;
        if (!(await queue.heartbeat(lease, leaseMs))) {
          onLost(lostReason);
          throw leaseLostError();
        }
      },
      async complete(fn) {
        if (controller.signal.aborted) throw controller.signal.reason;
        if (completion !== null || completedInHandler) {
          throw new JobError(
            'invalid_state',
            `job ${job.id}: complete() was already called in this attempt`,
            `任务 ${job.id}：本次尝试已调用过 complete()`,
          );
        }
        const pending = queue.completeWith(lease, fn);
        completion = pending;
        try {
          const value = await pending;
          completedInHandler = true;
          return value;
        } finally {
          completion = null;
        }
      },
    };

    const leaseLostError = (): JobError =>
      controller.signal.reason instanceof JobError
        ? controller.signal.reason
        : new JobError('lease_lost', `job ${job.id} is no longer held by ${workerId}`, `任务 ${job.id} 已不再由 ${workerId} 持有`);

    const entry: Running = {
      claimed,
      done,
      release() {
        preempt(new JobError('shutting_down', `job ${job.id}: the runner is stopping`, `任务 ${job.id}：任务执行器正在停止`), async () => {
          if (await queue.release(lease)) {
            stats.released++;
            emit({ type: 'released', job, attempt: lease.attempt });
          } else {
            stats.lost++;
            emit({ type: 'lost', job, attempt: lease.attempt, reason: 'not held any more when it was to be released' });
          }
        });
      },
    };
    running.set(job.id, entry);
    stats.claimed++;
    emit({ type: 'claimed', job, attempt: lease.attempt });

    const succeeded = (): void => {
      stats.succeeded++;
      emit({ type: 'succeeded', job, attempt: lease.attempt, ms: performance.now() - t0 });
    };

    Promise.resolve()
      .then(() => {
        if (handler === undefined) throw new JobHandlerError(`no handler for kind ${job.kind}`, { where: `worker ${workerId}` });
        return handler.run(ctx);
      })
      .then(
        (value) => {
          onHandlerSettled();
          finish(async () => {
            if (completedInHandler) return succeeded();
            let result: unknown;
            try {
              result = JSON.parse(toJsonText('result', value === undefined ? null : value, JOB_LIMITS.resultBytes));
            } catch (err) {
              await recordFailure(describeFailure(err, 'invalid_result', lease.attempt, workerId, clock.now()), true);
              return;
            }
            if (await queue.complete(lease, result)) succeeded();
            else {
              stats.lost++;
              emit({ type: 'lost', job, attempt: lease.attempt, reason: 'not held any more when it was to be completed' });
            }
          });
        },
        (err: unknown) => {
          onHandlerSettled();
          finish(async () => {
            if (completedInHandler) {
              emitError(err, 'the handler threw after complete() committed; the job stays succeeded', job.id);
              return succeeded();
            }
            if (isJobError(err, 'lease_lost')) {
              stats.lost++;
              emit({ type: 'lost', job, attempt: lease.attempt, reason: err.message });
              return;
            }
            const permanent = err instanceof JobHandlerError && !err.retryable;
            await recordFailure(describeFailure(err, permanent ? 'permanent' : 'error', lease.attempt, workerId, clock.now()), permanent);
          });
        },
      );
    return entry;
  }

  function kick(): void {
    if (!active) return;
    if (filling !== null) {
      fillAgain = true;
      return;
    }
    filling = fill().finally(() => {
      filling = null;
      if (fillAgain) {
        fillAgain = false;
        kick();
      }
    });
  }

  async function fill(): Promise<void> {
    if (pollTimer !== null) clearTimeout(pollTimer);
    pollTimer = null;
    let delay = pollIntervalMs;
    try {
      while (active && running.size < concurrency) {
        const want = concurrency - running.size;
        const claimed = await queue.claim(workerId, { kinds, limit: want, leaseMs });
        for (const c of claimed) {
          if (active) startJob(c);
          else await queue.release(c.lease);
        }
        if (claimed.length < want) break;
      }
      if (active && running.size < concurrency) {
        const next = await queue.nextWakeAt(kinds);
        if (next !== null) delay = Math.min(pollIntervalMs, Math.max(MIN_WAKE_MS, next - clock.now()));
      }
    } catch (err) {
      emitError(err, 'claiming jobs (retrying after the poll interval)');
    }
    if (active) pollTimer = setTimeout(kick, delay);
  }

  return {
    workerId,
    queue,

    async start() {
      if (active || stopping !== null) throw new JobError('invalid_state', 'the runner was already started', '任务执行器已启动');
      active = true;
      try {
        unlisten = await database.listen(JOBS_CHANNEL, () => kick());
      } catch (err) {
        emitError(err, 'listening for job notifications (polling only)');
      }
      kick();
    },

    stop(stopOptions = {}) {
      if (stopping !== null) return stopping;
      const graceMs = stopOptions.graceMs ?? 30_000;
      active = false;
      stopping = (async () => {
        if (pollTimer !== null) clearTimeout(pollTimer);
        pollTimer = null;
        if (unlisten !== null) await unlisten().catch((err: unknown) => emitError(err, 'unlistening'));
        if (filling !== null) await filling;
        const all = [...running.values()];
        if (all.length > 0) {
          let timer: NodeJS.Timeout | undefined;
          await Promise.race([
            Promise.all(all.map((r) => r.done)),
            new Promise<void>((r) => {
              timer = setTimeout(r, Math.max(0, graceMs));
            }),
          ]);
          clearTimeout(timer);
          for (const r of [...running.values()]) r.release();
          await Promise.all(all.map((r) => r.done));
        }
      })();
      return stopping;
    },

    async runDue() {
      if (active || stopping !== null)
        throw new JobError('invalid_state', 'runDue() is for a runner that was not started', 'runDue() 只能用于未启动的任务执行器');
      let attempts = 0;
      for (;;) {
        const claimed = await queue.claim(workerId, { kinds, limit: concurrency, leaseMs });
        if (claimed.length === 0) return attempts;
        attempts += claimed.length;
        await Promise.all(claimed.map((c) => startJob(c).done));
      }
    },

    stats() {
      return { workerId, running: running.size, ...stats };
    },
  };
}

export interface StopOnSignalsOptions {
  /** Default SIGTERM and SIGINT. */
  signals?: readonly NodeJS.Signals[];
  /** Passed to `stop`. */
  graceMs?: number;
  /** After the runner stopped: close the database, exit. Installing a handler means Node no longer exits by itself. */
  then: (signal: NodeJS.Signals) => void | Promise<void>;
}

/** Stop the runner gracefully on SIGTERM/SIGINT. Returns a function that removes the handlers. */
export function stopOnSignals(runner: JobRunner, options: StopOnSignalsOptions): () => void {
  const signals = options.signals ?? ['SIGTERM', 'SIGINT'];
  const handler = (signal: NodeJS.Signals): void => {
    remove();
    void runner
      .stop(options.graceMs !== undefined ? { graceMs: options.graceMs } : {})
      .then(() => options.then(signal))
      .catch(() => options.then(signal));
  };
  const remove = (): void => {
    for (const s of signals) process.off(s, handler);
  };
  for (const s of signals) process.once(s, handler);
  return remove;
}
