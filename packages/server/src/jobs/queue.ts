/**
 * The durable job queue: every operation on the `jobs` table, on SQLite and PostgreSQL alike.
 * The runner (runner.ts) is built on it; staff tools (list, retry, cancel) use it directly.
 *
 * ```ts
 * const queue = createJobQueue({ database });
 * await withTransaction(database.db, async (trx) => {
 *   const request = await requests.create(trx, ...);
 *   const { job: access } = await queue.enqueue(trx, { kind: 'rights.collect', payload: { requestId }, groupId: requestId,
 *     dedupeKey: `${requestId}:collect` });
 *   await queue.enqueue(trx, { kind: 'rights.erase', payload: { requestId }, groupId: requestId, after: [access.id],
 *     dedupeKey: `${requestId}:erase` });
 * }); // the request and its jobs commit together; workers are woken after the commit
 * ```
 *
 * Claiming: PostgreSQL selects due rows `FOR UPDATE SKIP LOCKED`, so any number of workers on any
 * number of nodes claim different jobs without waiting for each other. SQLite has one writer: the
 * claim is one `BEGIN IMMEDIATE` transaction, which no other connection can interleave with.
 *
 * Fencing: a claim increments `attempts` and writes `locked_by`; every later write of that attempt
 * (heartbeat, complete, fail, release) matches `(id, state = 'running', locked_by, attempts)`. A
 * worker that lost its lease (it stalled, another worker took the job after the lease expired, or
 * staff cancelled it) therefore changes nothing, and `completeWith` rolls the handler's writes back.
 */
import { randomBytes } from 'node:crypto';
import { type ExpressionBuilder, type Kysely, type Selectable, sql, type Transaction } from 'kysely';
import { type Capabilities, forUpdate } from '../store/capabilities.js';
import type { Database } from '../store/database.js';
import type { JobsTable, Schema } from '../store/schema.js';
import { withTransaction } from '../store/transaction.js';
import { type BackoffOptions, backoffDelay, type ResolvedBackoff, resolveBackoff } from './backoff.js';
import { JobError } from './errors.js';
import {
  type ClaimedJob,
  type EnqueueResult,
  type EnqueueSpec,
  JOB_STATES,
  JOBS_CHANNEL,
  type Job,
  type JobClock,
  type JobFailure,
  type JobLease,
  type JobState,
  systemJobClock,
} from './types.js';

export const JOB_LIMITS = Object.freeze({
  kindPattern: /^[a-z][a-z0-9_.:-]{0,99}$/,
  payloadBytes: 65_536,
  resultBytes: 65_536,
  minPriority: -1000,
  maxPriority: 1000,
  maxAttempts: 100,
  maxTimeoutMs: 86_400_000,
  keyLength: 200,
  maxAfter: 1000,
  messageLength: 2000,
  whereLength: 500,
  /** Expired leases recovered per claim. */
  recoverBatch: 100,
  maxListLimit: 500,
});

export interface JobQueueOptions {
  database: Pick<Database, 'db' | 'caps' | 'notify'>;
  clock?: JobClock;
  /** Returns a number in [0, 1) (backoff jitter). Default `Math.random`. */
  random?: () => number;
  /** New job ids. Default `job_` + 20 hex characters from the CSPRNG. */
  newId?: () => string;
  /** Defaults for `enqueue`. */
  defaults?: { maxAttempts?: number; timeoutMs?: number; priority?: number };
  /** Retry delays (the runner may override them per kind). */
  backoff?: BackoffOptions;
}

export interface ClaimOptions {
  /** Only these kinds (the runner passes the kinds it has handlers for). Default: any kind. */
  kinds?: readonly string[];
  /** At most this many jobs. Default 1. */
  limit?: number;
  /** The lease: another worker may take the job if it is not renewed within this many ms. */
  leaseMs: number;
}

export interface FailOptions {
  /** Retrying cannot help: the job becomes `dead` now. */
  permanent?: boolean;
  /** Override the queue's retry delays (per kind). */
  backoff?: ResolvedBackoff;
}

/** What `fail` did: the job will be retried at `runAt`, is dead, or was not ours any more. */
export type FailOutcome = { outcome: 'retry'; runAt: number } | { outcome: 'dead' } | { outcome: 'lost' };

export interface ListJobsQuery {
  state?: JobState | readonly JobState[];
  kind?: string;
  groupId?: string;
  /** Default 50, at most 500. */
  limit?: number;
  /** Page cursor from the previous page's `next`. */
  cursor?: string;
}

export interface JobPage {
  /** Newest first. */
  jobs: Job[];
  /** Pass as `cursor` for the next (older) page; null when there is none. */
  next: string | null;
}

export type JobCounts = Record<JobState, number>;

export interface GroupStatus {
  groupId: string;
  counts: JobCounts;
  total: number;
  /** Every job succeeded or was cancelled. */
  finished: boolean;
  /** Jobs that need staff (dead), oldest first. */
  dead: Job[];
}

export interface JobQueue {
  readonly clock: JobClock;
  /** Add a job inside `db` (a transaction joins it; a root Kysely gets a transaction of its own). */
  enqueue(db: Kysely<Schema>, spec: EnqueueSpec): Promise<EnqueueResult>;
  /** Claim due jobs for `workerId` (recovering expired leases first). Highest priority, then oldest `runAt`. */
  claim(workerId: string, options: ClaimOptions): Promise<ClaimedJob[]>;
  /** Extend the lease; false when the worker no longer holds the job. */
  heartbeat(lease: JobLease, leaseMs: number): Promise<boolean>;
  /** Mark succeeded with `result`; false when the worker no longer holds the job. */
  complete(lease: JobLease, result?: unknown): Promise<boolean>;
  /**
   * Run `fn` and mark the job succeeded with what it returns, in ONE transaction: the effects commit
   * exactly when the completion does. Throws `JobError` `lease_lost` (and rolls `fn`'s writes back) when
   * the worker no longer holds the job.
   */
  completeWith<T>(lease: JobLease, fn: (trx: Transaction<Schema>) => Promise<T>): Promise<T>;
  /** Record a failed attempt: retry after backoff, or `dead` when attempts are used up or `permanent`. */
  fail(lease: JobLease, failure: JobFailure, options?: FailOptions): Promise<FailOutcome>;
  /** Hand a running job back without counting the attempt (graceful shutdown); false when not ours. */
  release(lease: JobLease): Promise<boolean>;
  /** Requeue (or kill) jobs whose lease expired: their worker died or lost the database. Returns how many. */
  recoverExpired(db?: Kysely<Schema>): Promise<number>;
  get(id: string): Promise<Job | undefined>;
  list(query?: ListJobsQuery): Promise<JobPage>;
  counts(filter?: { kind?: string; groupId?: string }): Promise<JobCounts>;
  group(groupId: string): Promise<GroupStatus>;
  /** The jobs `id` waits for, with their states. */
  dependencies(id: string): Promise<{ id: string; state: JobState }[]>;
  /** Staff: run a dead job again (attempts start over). */
  retry(id: string): Promise<Job>;
  /** Staff: cancel a job and, transitively, the jobs waiting for it. Returns the ids cancelled. */
  cancel(id: string, reason: string): Promise<string[]>;
  /** When the next job of these kinds is due or the next lease expires (null: nothing pending). */
  nextWakeAt(kinds?: readonly string[]): Promise<number | null>;
  /** Delete succeeded and cancelled jobs finished before `before` (their dedupe keys become free). Returns how many. */
  prune(before: number): Promise<number>;
}

type JobRow = Selectable<JobsTable>;

function bad(path: string, message: string, messageZh: string): JobError {
  return new JobError('invalid_argument', `${path}: ${message}`, `${path}：${messageZh}`, { path });
}

function intIn(path: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw bad(
      path,
      `must be an integer from ${min} to ${max} (got ${String(value)})`,
      `必须是 ${min} 到 ${max} 之间的整数（实际为 ${String(value)}）`,
    );
  }
  return value;
}

function keyIn(path: string, value: unknown): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > JOB_LIMITS.keyLength) {
    throw bad(path, `must be a string of 1 to ${JOB_LIMITS.keyLength} characters`, `必须是 1 到 ${JOB_LIMITS.keyLength} 个字符的字符串`);
  }
  return value;
}

function checkKind(path: string, kind: unknown): string {
  if (typeof kind !== 'string' || !JOB_LIMITS.kindPattern.test(kind)) {
    throw bad(
      path,
      `must match ${JOB_LIMITS.kindPattern.source} (got ${JSON.stringify(kind)})`,
      `必须符合 ${JOB_LIMITS.kindPattern.source}（实际为 ${JSON.stringify(kind)}）`,
    );
  }
  return kind;
}

/** JSON text of a payload or result, or an error naming the path. */
export function toJsonText(path: string, value: unknown, maxBytes: number): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (err) {
    throw bad(path, `is not JSON-serialisable (${(err as Error).message})`, `无法序列化为 JSON（${(err as Error).message}）`);
  }
  if (text === undefined) throw bad(path, 'is not JSON-serialisable (a function or undefined)', '无法序列化为 JSON（函数或 undefined）');
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > maxBytes)
    throw bad(path, `is ${bytes} bytes of JSON, at most ${maxBytes} are allowed`, `JSON 为 ${bytes} 字节，最多 ${maxBytes} 字节`);
  return text;
}

function parseJson(text: string | null): unknown {
  return text === null ? null : (JSON.parse(text) as unknown);
}

function isJobState(value: string): value is JobState {
  return (JOB_STATES as readonly string[]).includes(value);
}

export function rowToJob(row: JobRow): Job {
  if (!isJobState(row.state))
    throw new JobError('invalid_state', `job ${row.id} has unknown state ${row.state}`, `任务 ${row.id} 的状态 ${row.state} 未知`);
  return {
    id: row.id,
    kind: row.kind,
    payload: parseJson(row.payload),
    state: row.state,
    priority: row.priority,
    attempts: row.attempts,
    maxAttempts: row.max_attempts,
    runAt: row.run_at,
    timeoutMs: row.timeout_ms,
    lockedBy: row.locked_by,
    lockedUntil: row.locked_until,
    lastError: parseJson(row.last_error) as JobFailure | null,
    result: parseJson(row.result),
    dedupeKey: row.dedupe_key,
    groupId: row.group_id,
    pendingDeps: row.pending_deps,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    finishedAt: row.finished_at,
  };
}

function fenced(eb: ExpressionBuilder<Schema, 'jobs'>, lease: JobLease) {
  return eb.and([
    eb('id', '=', lease.jobId),
    eb('state', '=', 'running'),
    eb('locked_by', '=', lease.workerId),
    eb('attempts', '=', lease.attempt),
  ]);
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

function failureText(failure: JobFailure): string {
  return JSON.stringify({
    ...failure,
    message: truncate(failure.message, JOB_LIMITS.messageLength),
    where: failure.where === null ? null : truncate(failure.where, JOB_LIMITS.whereLength),
  });
}

function emptyCounts(): JobCounts {
  return { waiting: 0, queued: 0, running: 0, succeeded: 0, dead: 0, cancelled: 0 };
}

function encodeCursor(job: Pick<Job, 'createdAt' | 'id'>): string {
  return `${job.createdAt}:${job.id}`;
}

function decodeCursor(cursor: string): { createdAt: number; id: string } {
  const colon = cursor.indexOf(':');
  const createdAt = Number(cursor.slice(0, colon));
  const id = cursor.slice(colon + 1);
  if (colon <= 0 || !Number.isSafeInteger(createdAt) || id.length === 0) {
    throw bad('query.cursor', 'is not a cursor returned by list()', '不是 list() 返回的游标');
  }
  return { createdAt, id };
}

export function createJobQueue(options: JobQueueOptions): JobQueue {
  const { database } = options;
  const root = database.db;
  const caps: Capabilities = database.caps;
  const clock = options.clock ?? systemJobClock;
  const random = options.random ?? Math.random;
  const newId = options.newId ?? (() => `job_${randomBytes(10).toString('hex')}`);
  const backoff = resolveBackoff(options.backoff);
  const defaultMaxAttempts = intIn('defaults.maxAttempts', options.defaults?.maxAttempts ?? 5, 1, JOB_LIMITS.maxAttempts);
  const defaultTimeoutMs = intIn('defaults.timeoutMs', options.defaults?.timeoutMs ?? 300_000, 1, JOB_LIMITS.maxTimeoutMs);
  const defaultPriority = intIn('defaults.priority', options.defaults?.priority ?? 0, JOB_LIMITS.minPriority, JOB_LIMITS.maxPriority);

  /** Kinds already announced per transaction: one notification per kind and commit is enough. */
  const announced = new WeakMap<object, Set<string>>();
  async function announce(trx: Kysely<Schema>, kind: string): Promise<void> {
    let kinds = announced.get(trx);
    if (kinds === undefined) {
      kinds = new Set();
      announced.set(trx, kinds);
    }
    if (kinds.has(kind)) return;
    kinds.add(kind);
    await database.notify(JOBS_CHANNEL, kind, trx);
  }

  async function getIn(db: Kysely<Schema>, id: string): Promise<Job | undefined> {
    const row = await db.selectFrom('jobs').selectAll().where('id', '=', id).executeTakeFirst();
    return row === undefined ? undefined : rowToJob(row);
  }

  async function mustGet(db: Kysely<Schema>, id: string): Promise<Job> {
    const job = await getIn(db, id);
    if (job === undefined) throw new JobError('unknown_job', `no job ${id}`, `没有任务 ${id}`);
    return job;
  }

  /** Mark `lease`'s job succeeded and release the jobs that waited only for it. */
  async function markSucceeded(trx: Transaction<Schema>, lease: JobLease, resultText: string): Promise<boolean> {
    const now = clock.now();
    const done = await trx
      .updateTable('jobs')
      .set({ state: 'succeeded', result: resultText, locked_until: null, finished_at: now, updated_at: now })
      .where((eb) => fenced(eb, lease))
      .executeTakeFirst();
    if (Number(done.numUpdatedRows) === 0) return false;
    // One statement: SET expressions see the row before the update, so `pending_deps <= 1` means "this was the last one".
    const released = await trx
      .updateTable('jobs')
      .set((eb) => ({
        pending_deps: eb('pending_deps', '-', 1),
        state: sql<string>`case when pending_deps <= 1 then 'queued' else state end`,
        updated_at: now,
      }))
      .where('state', '=', 'waiting')
      .where('id', 'in', trx.selectFrom('job_dependencies').select('job_id').where('depends_on', '=', lease.jobId))
      .returning(['kind', 'state'])
      .execute()
      .then((rows) => rows.filter((r) => r.state === 'queued'));
    for (const kind of new Set(released.map((r) => r.kind))) await announce(trx, kind);
    return true;
  }

  async function recoverIn(trx: Kysely<Schema>): Promise<number> {
    const now = clock.now();
    const expired = await forUpdate(
      trx
        .selectFrom('jobs')
        .select(['id', 'kind', 'attempts', 'max_attempts', 'locked_by', 'locked_until'])
        .where('state', '=', 'running')
        .where('locked_until', '<=', now)
        .orderBy('locked_until')
        .limit(JOB_LIMITS.recoverBatch),
      caps,
      { skipLocked: true },
    ).execute();
    for (const row of expired) {
      const dead = row.attempts >= row.max_attempts;
      const failure: JobFailure = {
        kind: 'lease_expired',
        message: `worker ${row.locked_by ?? '?'} stopped renewing its lease (it died, hung or lost the database) during attempt ${row.attempts} of ${row.max_attempts}`,
        where: `worker ${row.locked_by ?? '?'}`,
        name: 'LeaseExpired',
        code: null,
        attempt: row.attempts,
        worker: row.locked_by,
        at: now,
      };
      await trx
        .updateTable('jobs')
        .set(
          dead
            ? { state: 'dead', locked_until: null, last_error: failureText(failure), finished_at: now, updated_at: now }
            : { state: 'queued', locked_until: null, last_error: failureText(failure), run_at: now, updated_at: now },
        )
        .where('id', '=', row.id)
        .where('state', '=', 'running')
        .where('attempts', '=', row.attempts)
        .execute();
      if (!dead) await announce(trx, row.kind);
    }
    return expired.length;
  }

  async function cancelIn(trx: Transaction<Schema>, id: string, reason: string): Promise<string[]> {
    const now = clock.now();
    const cancelled: string[] = [];
    let frontier = [id];
    let cause = reason;
    while (frontier.length > 0) {
      const failure: JobFailure = {
        kind: 'permanent',
        message: cause,
        where: 'cancel',
        name: 'Cancelled',
        code: null,
        attempt: 0,
        worker: null,
        at: now,
      };
      const rows = await trx
        .updateTable('jobs')
        .set({ state: 'cancelled', locked_until: null, last_error: failureText(failure), finished_at: now, updated_at: now })
        .where('id', 'in', frontier)
        .where('state', 'in', ['waiting', 'queued', 'running', 'dead'])
        .returning('id')
        .execute();
      if (rows.length === 0) break;
      const ids = rows.map((r) => r.id);
      cancelled.push(...ids);
      const next = await trx
        .selectFrom('job_dependencies')
        .innerJoin('jobs', 'jobs.id', 'job_dependencies.job_id')
        .select('job_dependencies.job_id as id')
        .where('job_dependencies.depends_on', 'in', ids)
        .where('jobs.state', '=', 'waiting')
        .execute();
      cause = `a job it depends on was cancelled (${ids.join(', ')})`;
      frontier = [...new Set(next.map((n) => n.id))];
    }
    return cancelled;
  }

  async function countsIn(filter: { kind?: string; groupId?: string }): Promise<JobCounts> {
    let q = root.selectFrom('jobs').select((eb) => ['state', eb.fn.countAll<number | string>().as('n')]);
    if (filter.kind !== undefined) q = q.where('kind', '=', checkKind('filter.kind', filter.kind));
    if (filter.groupId !== undefined) q = q.where('group_id', '=', keyIn('filter.groupId', filter.groupId));
    const rows = await q.groupBy('state').execute();
    const counts = emptyCounts();
    for (const r of rows) if (isJobState(r.state)) counts[r.state] = Number(r.n);
    return counts;
  }

  return {
    clock,

    async enqueue(db, spec) {
      const kind = checkKind('spec.kind', spec.kind);
      const payload = toJsonText('spec.payload', spec.payload === undefined ? {} : spec.payload, JOB_LIMITS.payloadBytes);
      const priority = intIn('spec.priority', spec.priority ?? defaultPriority, JOB_LIMITS.minPriority, JOB_LIMITS.maxPriority);
      const maxAttempts = intIn('spec.maxAttempts', spec.maxAttempts ?? defaultMaxAttempts, 1, JOB_LIMITS.maxAttempts);
      const timeoutMs = intIn('spec.timeoutMs', spec.timeoutMs ?? defaultTimeoutMs, 1, JOB_LIMITS.maxTimeoutMs);
      if (spec.runAt !== undefined && spec.delayMs !== undefined) {
        throw bad('spec.runAt', 'give runAt or delayMs, not both', 'runAt 与 delayMs 只能给一个');
      }
      const dedupeKey = spec.dedupeKey === undefined ? null : keyIn('spec.dedupeKey', spec.dedupeKey);
      const groupId = spec.groupId === undefined ? null : keyIn('spec.groupId', spec.groupId);
      const after = spec.after ?? [];
      if (!Array.isArray(after) || after.length > JOB_LIMITS.maxAfter) {
        throw bad(
          'spec.after',
          `must be an array of at most ${JOB_LIMITS.maxAfter} job ids`,
          `必须是最多 ${JOB_LIMITS.maxAfter} 个任务 id 的数组`,
        );
      }
      for (const [i, id] of after.entries()) keyIn(`spec.after[${i}]`, id);
      const deps = [...new Set(after)];
      const delayMs = spec.delayMs === undefined ? 0 : intIn('spec.delayMs', spec.delayMs, 0, Number.MAX_SAFE_INTEGER);
      const runAtInput = spec.runAt === undefined ? undefined : intIn('spec.runAt', spec.runAt, 0, Number.MAX_SAFE_INTEGER);

      return withTransaction(db, async (trx) => {
        if (dedupeKey !== null) {
          const existing = await trx.selectFrom('jobs').selectAll().where('dedupe_key', '=', dedupeKey).executeTakeFirst();
          if (existing !== undefined) return { job: rowToJob(existing), created: false };
        }
        let pending = 0;
        if (deps.length > 0) {
          // Lock the dependencies (PostgreSQL) so none completes between this read and the insert of the
          // dependency rows: its completion then waits for this transaction and sees the new rows.
          const rows = await forUpdate(trx.selectFrom('jobs').select(['id', 'state']).where('id', 'in', deps), caps).execute();
          const states = new Map(rows.map((r) => [r.id, r.state]));
          deps.forEach((id) => {
            const state = states.get(id);
            const path = `spec.after[${after.indexOf(id)}]`;
            if (state === undefined) throw new JobError('unknown_job', `${path}: no job ${id}`, `${path}：没有任务 ${id}`, { path });
            if (state === 'cancelled') {
              throw new JobError(
                'invalid_state',
                `${path}: job ${id} was cancelled and will never succeed`,
                `${path}：任务 ${id} 已取消，永远不会成功`,
                {
                  path,
                },
              );
            }
            if (state !== 'succeeded') pending++;
          });
        }
        const now = clock.now();
        const id = newId();
        const inserted = await trx
          .insertInto('jobs')
          .values({
            id,
            kind,
            payload,
            state: pending > 0 ? 'waiting' : 'queued',
            priority,
            attempts: 0,
            max_attempts: maxAttempts,
            run_at: runAtInput ?? now + delayMs,
            locked_by: null,
            locked_until: null,
            last_error: null,
            dedupe_key: dedupeKey,
            created_at: now,
            updated_at: now,
            finished_at: null,
            timeout_ms: timeoutMs,
            result: null,
            group_id: groupId,
            pending_deps: pending,
          })
          .onConflict((oc) => oc.column('dedupe_key').doNothing())
          .returningAll()
          .executeTakeFirst();
        if (inserted === undefined) {
          // Another transaction inserted the same key after our look-up and committed first.
          const existing = await trx.selectFrom('jobs').selectAll().where('dedupe_key', '=', dedupeKey).executeTakeFirstOrThrow();
          return { job: rowToJob(existing), created: false };
        }
        if (deps.length > 0) {
          await trx
            .insertInto('job_dependencies')
            .values(deps.map((d) => ({ job_id: id, depends_on: d })))
            .execute();
        }
        if (pending === 0) await announce(trx, kind);
        return { job: rowToJob(inserted), created: true };
      });
    },

    async claim(workerId, claimOptions) {
      keyIn('workerId', workerId);
      const limit = intIn('options.limit', claimOptions.limit ?? 1, 1, 1000);
      const leaseMs = intIn('options.leaseMs', claimOptions.leaseMs, 1, JOB_LIMITS.maxTimeoutMs);
      const kinds = claimOptions.kinds;
      if (kinds !== undefined && kinds.length === 0) return [];
      return withTransaction(root, async (trx) => {
        await recoverIn(trx);
        const now = clock.now();
        let due = trx.selectFrom('jobs').select('id').where('state', '=', 'queued').where('run_at', '<=', now);
        if (kinds !== undefined) due = due.where('kind', 'in', kinds);
        const picked = await forUpdate(due.orderBy('priority', 'desc').orderBy('run_at').orderBy('id').limit(limit), caps, {
          skipLocked: true,
        }).execute();
        if (picked.length === 0) return [];
        const rows = await trx
          .updateTable('jobs')
          .set((eb) => ({
            state: 'running',
            locked_by: workerId,
            locked_until: now + leaseMs,
            attempts: eb('attempts', '+', 1),
            updated_at: now,
          }))
          .where(
            'id',
            'in',
            picked.map((p) => p.id),
          )
          .where('state', '=', 'queued')
          .returningAll()
          .execute();
        const order = new Map(picked.map((p, i) => [p.id, i]));
        rows.sort((a, b) => (order.get(a.id) ?? 0) - (order.get(b.id) ?? 0));
        return rows.map((row) => ({ job: rowToJob(row), lease: { jobId: row.id, workerId, attempt: row.attempts } }));
      });
    },

    async heartbeat(lease, leaseMs) {
      intIn('leaseMs', leaseMs, 1, JOB_LIMITS.maxTimeoutMs);
      const now = clock.now();
      const r = await root
        .updateTable('jobs')
        .set({ locked_until: now + leaseMs, updated_at: now })
        .where((eb) => fenced(eb, lease))
        .executeTakeFirst();
      return Number(r.numUpdatedRows) > 0;
    },

    async complete(lease, result) {
      const text = toJsonText('result', result === undefined ? null : result, JOB_LIMITS.resultBytes);
      return withTransaction(root, (trx) => markSucceeded(trx, lease, text));
    },

    async completeWith(lease, fn) {
      return withTransaction(root, async (trx) => {
        // Lock the job first (PostgreSQL row lock; SQLite holds the write lock already): from here to
        // the commit nobody can recover, cancel or release it, and if it is no longer ours we stop
        // before `fn` writes anything.
        const held = await forUpdate(
          trx
            .selectFrom('jobs')
            .select('id')
            .where((eb) => fenced(eb, lease)),
          caps,
        ).executeTakeFirst();
        if (held === undefined) throw leaseLost(lease);
        const value = await fn(trx);
        const text = toJsonText('result', value === undefined ? null : value, JOB_LIMITS.resultBytes);
        if (!(await markSucceeded(trx, lease, text))) throw leaseLost(lease);
        return value;
      });
    },

    async fail(lease, failure, failOptions = {}) {
      return withTransaction(root, async (trx): Promise<FailOutcome> => {
        const row = await forUpdate(
          trx
            .selectFrom('jobs')
            .select(['attempts', 'max_attempts'])
            .where((eb) => fenced(eb, lease)),
          caps,
        ).executeTakeFirst();
        if (row === undefined) return { outcome: 'lost' };
        const now = clock.now();
        const last_error = failureText(failure);
        if (failOptions.permanent === true || row.attempts >= row.max_attempts) {
          await trx
            .updateTable('jobs')
            .set({ state: 'dead', locked_until: null, last_error, finished_at: now, updated_at: now })
            .where((eb) => fenced(eb, lease))
            .execute();
          return { outcome: 'dead' };
        }
        const runAt = now + backoffDelay(row.attempts, failOptions.backoff ?? backoff, random);
        await trx
          .updateTable('jobs')
          .set({ state: 'queued', locked_until: null, last_error, run_at: runAt, updated_at: now })
          .where((eb) => fenced(eb, lease))
          .execute();
        return { outcome: 'retry', runAt };
      });
    },

    async release(lease) {
      return withTransaction(root, async (trx) => {
        const now = clock.now();
        const r = await trx
          .updateTable('jobs')
          .set((eb) => ({ state: 'queued', locked_until: null, attempts: eb('attempts', '-', 1), run_at: now, updated_at: now }))
          .where((eb) => fenced(eb, lease))
          .returning('kind')
          .executeTakeFirst();
        if (r === undefined) return false;
        await announce(trx, r.kind);
        return true;
      });
    },

    recoverExpired(db = root) {
      return withTransaction(db, (trx) => recoverIn(trx));
    },

    get(id) {
      return getIn(root, id);
    },

    async list(query = {}) {
      const limit = intIn('query.limit', query.limit ?? 50, 1, JOB_LIMITS.maxListLimit);
      let q = root.selectFrom('jobs').selectAll();
      if (query.state !== undefined) {
        const states = typeof query.state === 'string' ? [query.state] : [...query.state];
        states.forEach((s, i) => {
          if (!isJobState(s))
            throw bad(`query.state[${i}]`, `must be one of ${JOB_STATES.join(', ')}`, `必须是 ${JOB_STATES.join('、')} 之一`);
        });
        if (states.length === 0) return { jobs: [], next: null };
        q = q.where('state', 'in', states);
      }
      if (query.kind !== undefined) q = q.where('kind', '=', checkKind('query.kind', query.kind));
      if (query.groupId !== undefined) q = q.where('group_id', '=', keyIn('query.groupId', query.groupId));
      if (query.cursor !== undefined) {
        const c = decodeCursor(query.cursor);
        q = q.where((eb) => eb.or([eb('created_at', '<', c.createdAt), eb.and([eb('created_at', '=', c.createdAt), eb('id', '<', c.id)])]));
      }
      const rows = await q
        .orderBy('created_at', 'desc')
        .orderBy('id', 'desc')
        .limit(limit + 1)
        .execute();
      const jobs = rows.slice(0, limit).map(rowToJob);
      const last = jobs[jobs.length - 1];
      return { jobs, next: rows.length > limit && last !== undefined ? encodeCursor(last) : null };
    },

    counts(filter = {}) {
      return countsIn(filter);
    },

    async group(groupId) {
      keyIn('groupId', groupId);
      const counts = await countsIn({ groupId });
      const total = Object.values(counts).reduce((a, b) => a + b, 0);
      const deadRows = await root
        .selectFrom('jobs')
        .selectAll()
        .where('group_id', '=', groupId)
        .where('state', '=', 'dead')
        .orderBy('created_at')
        .orderBy('id')
        .limit(JOB_LIMITS.maxListLimit)
        .execute();
      return {
        groupId,
        counts,
        total,
        finished: total > 0 && counts.succeeded + counts.cancelled === total,
        dead: deadRows.map(rowToJob),
      };
    },

    async dependencies(id) {
      await mustGet(root, id);
      const rows = await root
        .selectFrom('job_dependencies')
        .innerJoin('jobs', 'jobs.id', 'job_dependencies.depends_on')
        .select(['jobs.id as id', 'jobs.state as state'])
        .where('job_dependencies.job_id', '=', id)
        .orderBy('jobs.id')
        .execute();
      return rows.map((r) => ({ id: r.id, state: isJobState(r.state) ? r.state : 'dead' }));
    },

    async retry(id) {
      return withTransaction(root, async (trx) => {
        const job = await mustGet(trx, id);
        if (job.state !== 'dead') {
          throw new JobError(
            'invalid_state',
            `job ${id} is ${job.state}; only a dead job can be retried`,
            `任务 ${id} 处于 ${job.state} 状态，只有 dead 任务可以重试`,
          );
        }
        const now = clock.now();
        await trx
          .updateTable('jobs')
          .set({ state: 'queued', attempts: 0, run_at: now, locked_until: null, finished_at: null, updated_at: now })
          .where('id', '=', id)
          .where('state', '=', 'dead')
          .execute();
        await announce(trx, job.kind);
        return mustGet(trx, id);
      });
    },

    async cancel(id, reason) {
      if (typeof reason !== 'string' || reason.trim().length === 0 || reason.length > JOB_LIMITS.messageLength) {
        throw bad(
          'reason',
          `must be a non-empty string of at most ${JOB_LIMITS.messageLength} characters`,
          `必须是非空字符串，最多 ${JOB_LIMITS.messageLength} 个字符`,
        );
      }
      return withTransaction(root, async (trx) => {
        const job = await mustGet(trx, id);
        if (job.state === 'succeeded' || job.state === 'cancelled') {
          throw new JobError('invalid_state', `job ${id} is already ${job.state}`, `任务 ${id} 已是 ${job.state} 状态`);
        }
        return cancelIn(trx, id, reason);
      });
    },

    async nextWakeAt(kinds) {
      if (kinds !== undefined && kinds.length === 0) return null;
      let due = root
        .selectFrom('jobs')
        .select((eb) => eb.fn.min('run_at').as('t'))
        .where('state', '=', 'queued');
      if (kinds !== undefined) due = due.where('kind', 'in', kinds);
      const lease = root
        .selectFrom('jobs')
        .select((eb) => eb.fn.min('locked_until').as('t'))
        .where('state', '=', 'running');
      const [a, b] = await Promise.all([due.executeTakeFirst(), lease.executeTakeFirst()]);
      const times = [a?.t, b?.t].filter((t): t is number => t !== null && t !== undefined).map(Number);
      return times.length === 0 ? null : Math.min(...times);
    },

    async prune(before) {
      intIn('before', before, 0, Number.MAX_SAFE_INTEGER);
      const r = await root
        .deleteFrom('jobs')
        .where('state', 'in', ['succeeded', 'cancelled'])
        .where('finished_at', '<', before)
        .executeTakeFirst();
      return Number(r.numDeletedRows);
    },
  };
}

function leaseLost(lease: JobLease): JobError {
  return new JobError(
    'lease_lost',
    `worker ${lease.workerId} no longer holds job ${lease.jobId} (attempt ${lease.attempt}): its lease expired or the job was cancelled`,
    `工作进程 ${lease.workerId} 已不再持有任务 ${lease.jobId}（第 ${lease.attempt} 次尝试）：租约已过期或任务已被取消`,
  );
}
