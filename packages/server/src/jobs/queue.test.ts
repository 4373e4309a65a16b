import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import type { ListenEvent } from '../store/database.js';
import { forEachDialect } from '../store/test-dialects.js';
import { withTransaction } from '../store/transaction.js';
import { backoffDelay, DEFAULT_BACKOFF, resolveBackoff } from './backoff.js';
import { isJobError, type JobErrorCode } from './errors.js';
import { createJobQueue, type JobQueue } from './queue.js';
import { JOBS_CHANNEL, type JobFailure, type JobLease } from './types.js';

const T0 = 1_750_000_000_000;

function fakeClock(start = T0) {
  let now = start;
  return {
    now: () => now,
    set: (t: number) => {
      now = t;
    },
    advance: (ms: number) => {
      now += ms;
    },
  };
}

function failure(message: string, attempt: number, where = 'test'): JobFailure {
  return { kind: 'error', message, where, name: 'Error', code: null, attempt, worker: 'w1', at: T0 };
}

async function rejects(promise: Promise<unknown>, code: JobErrorCode, pattern?: RegExp): Promise<void> {
  await expect(promise).rejects.toSatisfy(
    (err: unknown) => isJobError(err, code) && (pattern === undefined || pattern.test((err as Error).message)),
  );
}

describe('backoff', () => {
  it('grows exponentially, stays within the jitter band and the cap', () => {
    const b = resolveBackoff({ baseMs: 100, maxMs: 1000, factor: 2, jitter: 0.5 });
    expect(backoffDelay(1, b, () => 0.999999)).toBe(100);
    expect(backoffDelay(1, b, () => 0)).toBe(50);
    expect(backoffDelay(2, b, () => 0.999999)).toBe(200);
    expect(backoffDelay(3, b, () => 0.5)).toBe(300);
    expect(backoffDelay(10, b, () => 0.999999)).toBe(1000);
    expect(backoffDelay(5000, b, () => 0.999999)).toBe(1000);
    for (let i = 0; i < 200; i++) {
      const d = backoffDelay(4, b);
      expect(d).toBeGreaterThanOrEqual(400);
      expect(d).toBeLessThanOrEqual(800);
    }
    expect(backoffDelay(1, resolveBackoff({ jitter: 0 }), () => 0.3)).toBe(DEFAULT_BACKOFF.baseMs);
  });

  it('refuses nonsense settings, naming the field', () => {
    expect(() => resolveBackoff({ baseMs: -1 })).toThrow(/backoff\.baseMs/);
    expect(() => resolveBackoff({ baseMs: 10, maxMs: 5 })).toThrow(/backoff\.maxMs/);
    expect(() => resolveBackoff({ factor: 0.5 })).toThrow(/backoff\.factor/);
    expect(() => resolveBackoff({ jitter: 2 })).toThrow(/backoff\.jitter/);
    expect(() => resolveBackoff({ baseMs: Number.NaN })).toThrow(/backoff\.baseMs/);
  });
});

forEachDialect(
  'job queue',
  (ctx) => {
    const make = (clock = fakeClock(), extra: Partial<Parameters<typeof createJobQueue>[0]> = {}) =>
      createJobQueue({ database: ctx.database, clock, random: () => 0.5, backoff: { baseMs: 1000, maxMs: 60_000, jitter: 0.5 }, ...extra });

    it('enqueues inside the caller transaction, claims with a lease and completes with a result', async () => {
      const clock = fakeClock();
      const queue = make(clock);
      await expect(
        withTransaction(ctx.db, async (trx) => {
          await queue.enqueue(trx, { kind: 'test.rollback' });
          throw new Error('the caller fails');
        }),
      ).rejects.toThrow(/the caller fails/);
      expect((await queue.list()).jobs).toEqual([]);

      const { job, created } = await withTransaction(ctx.db, (trx) =>
        queue.enqueue(trx, { kind: 'test.echo', payload: { requestId: 'req_1' }, timeoutMs: 5000, maxAttempts: 2, groupId: 'req_1' }),
      );
      expect(created).toBe(true);
      expect(job).toMatchObject({
        kind: 'test.echo',
        state: 'queued',
        payload: { requestId: 'req_1' },
        attempts: 0,
        maxAttempts: 2,
        timeoutMs: 5000,
        runAt: T0,
        groupId: 'req_1',
        pendingDeps: 0,
      });
      expect(job.id).toMatch(/^job_[0-9a-f]{20}$/);

      const claimed = await queue.claim('w1', { leaseMs: 30_000 });
      expect(claimed).toHaveLength(1);
      expect(claimed[0]?.lease).toEqual({ jobId: job.id, workerId: 'w1', attempt: 1 });
      expect(claimed[0]?.job).toMatchObject({ state: 'running', attempts: 1, lockedBy: 'w1', lockedUntil: T0 + 30_000 });
      expect(await queue.claim('w2', { leaseMs: 30_000 })).toEqual([]);

      clock.advance(10_000);
      const lease = claimed[0]?.lease as JobLease;
      expect(await queue.heartbeat(lease, 30_000)).toBe(true);
      expect((await queue.get(job.id))?.lockedUntil).toBe(T0 + 40_000);

      clock.advance(1000);
      expect(await queue.complete(lease, { rows: 3 })).toBe(true);
      const done = await queue.get(job.id);
      expect(done).toMatchObject({ state: 'succeeded', result: { rows: 3 }, finishedAt: T0 + 11_000, lockedUntil: null, lockedBy: 'w1' });
      // Once done, the lease is worthless.
      expect(await queue.complete(lease, {})).toBe(false);
      expect(await queue.heartbeat(lease, 1000)).toBe(false);
      expect(await queue.fail(lease, failure('late', 1))).toEqual({ outcome: 'lost' });
      expect(await queue.release(lease)).toBe(false);
    });

    it('makes a double enqueue with the same key one job', async () => {
      const queue = make();
      const a = await queue.enqueue(ctx.db, { kind: 'test.dedupe', payload: { n: 1 }, dedupeKey: 'req_2:erase' });
      const b = await queue.enqueue(ctx.db, { kind: 'test.dedupe', payload: { n: 2 }, dedupeKey: 'req_2:erase' });
      expect(a.created).toBe(true);
      expect(b).toEqual({ job: a.job, created: false });
      const both = await withTransaction(ctx.db, async (trx) => [
        await queue.enqueue(trx, { kind: 'test.dedupe', dedupeKey: 'req_3:erase' }),
        await queue.enqueue(trx, { kind: 'test.dedupe', dedupeKey: 'req_3:erase' }),
      ]);
      expect(both.map((r) => r.created)).toEqual([true, false]);
      expect(both[1]?.job.id).toBe(both[0]?.job.id);
      // Still one job after it ran.
      const claimed = await queue.claim('w1', { kinds: ['test.dedupe'], leaseMs: 1000, limit: 10 });
      expect(claimed.map((c) => c.job.id).sort()).toEqual([a.job.id, both[0]?.job.id].sort());
      for (const c of claimed) await queue.complete(c.lease);
      const again = await queue.enqueue(ctx.db, { kind: 'test.dedupe', dedupeKey: 'req_2:erase' });
      expect(again.created).toBe(false);
      expect(again.job.state).toBe('succeeded');
      const rows = await ctx.db.selectFrom('jobs').select('id').where('dedupe_key', 'in', ['req_2:erase', 'req_3:erase']).execute();
      expect(rows).toHaveLength(2);
    });

    it('makes concurrent enqueues of one key from two connections one job', async () => {
      const other = await ctx.connect();
      const q1 = make();
      const q2 = createJobQueue({ database: other });
      if (ctx.caps.concurrentWriters) {
        const results = await Promise.all(
          Array.from({ length: 8 }, (_, i) =>
            (i % 2 === 0 ? q1 : q2).enqueue(i % 2 === 0 ? ctx.db : other.db, { kind: 'test.race', dedupeKey: 'race-1' }),
          ),
        );
        expect(results.filter((r) => r.created)).toHaveLength(1);
        expect(new Set(results.map((r) => r.job.id)).size).toBe(1);
      } else {
        // SQLite: one writer; the second connection sees the first's job.
        const a = await q1.enqueue(ctx.db, { kind: 'test.race', dedupeKey: 'race-1' });
        const b = await q2.enqueue(other.db, { kind: 'test.race', dedupeKey: 'race-1' });
        expect([a.created, b.created]).toEqual([true, false]);
        expect(b.job.id).toBe(a.job.id);
      }
    });

    it('claims the highest priority first, then the oldest, never before run_at, only the kinds asked for', async () => {
      const clock = fakeClock(T0 + 1_000_000);
      const queue = make(clock);
      const low = await queue.enqueue(ctx.db, { kind: 'test.order', priority: 0, runAt: T0 + 999_000 });
      const high = await queue.enqueue(ctx.db, { kind: 'test.order', priority: 5 });
      const older = await queue.enqueue(ctx.db, { kind: 'test.order', priority: 0, runAt: T0 + 998_000 });
      const later = await queue.enqueue(ctx.db, { kind: 'test.order', priority: 9, delayMs: 60_000 });
      const other = await queue.enqueue(ctx.db, { kind: 'test.other', priority: 100 });
      const claimed = await queue.claim('w1', { kinds: ['test.order'], limit: 10, leaseMs: 1000 });
      expect(claimed.map((c) => c.job.id)).toEqual([high.job.id, older.job.id, low.job.id]);
      expect(await queue.claim('w1', { kinds: [], leaseMs: 1000 })).toEqual([]);
      expect(await queue.nextWakeAt(['test.order'])).toBe(T0 + 1_000_000 + 1000); // the leases above
      for (const c of claimed) await queue.complete(c.lease);
      expect(await queue.nextWakeAt(['test.order'])).toBe(T0 + 1_060_000);
      expect(await queue.nextWakeAt(['test.nothing'])).toBe(null);
      clock.advance(60_000);
      const next = await queue.claim('w1', { kinds: ['test.order', 'test.other'], limit: 10, leaseMs: 1000 });
      expect(next.map((c) => c.job.id)).toEqual([other.job.id, later.job.id]);
      for (const c of next) await queue.complete(c.lease);
    });

    it('retries with exponential backoff, then marks the job dead for staff, who can retry it', async () => {
      const clock = fakeClock(T0 + 2_000_000);
      const queue = make(clock);
      const { job } = await queue.enqueue(ctx.db, { kind: 'test.flaky', maxAttempts: 3, groupId: 'req_flaky' });
      const delays: number[] = [];
      for (let attempt = 1; attempt <= 3; attempt++) {
        const [c] = await queue.claim('w1', { kinds: ['test.flaky'], leaseMs: 1000 });
        expect(c?.lease.attempt).toBe(attempt);
        const out = await queue.fail(c?.lease as JobLease, failure(`connector orders refused (${attempt})`, attempt, 'connector orders'));
        if (attempt < 3) {
          expect(out.outcome).toBe('retry');
          const runAt = out.outcome === 'retry' ? out.runAt : 0;
          delays.push(runAt - clock.now());
          // Not claimable before its time.
          clock.advance(runAt - clock.now() - 1);
          expect(await queue.claim('w1', { kinds: ['test.flaky'], leaseMs: 1000 })).toEqual([]);
          clock.advance(1);
        } else {
          expect(out).toEqual({ outcome: 'dead' });
        }
      }
      // random() = 0.5, jitter 0.5: 75 % of 1000 * 2^(n-1).
      expect(delays).toEqual([750, 1500]);
      const dead = await queue.get(job.id);
      expect(dead).toMatchObject({ state: 'dead', attempts: 3, finishedAt: clock.now() });
      expect(dead?.lastError).toMatchObject({
        kind: 'error',
        message: 'connector orders refused (3)',
        where: 'connector orders',
        attempt: 3,
      });
      expect((await queue.list({ state: 'dead' })).jobs.map((j) => j.id)).toContain(job.id);
      expect((await queue.counts({ kind: 'test.flaky' })).dead).toBe(1);
      const group = await queue.group('req_flaky');
      expect(group).toMatchObject({ total: 1, finished: false });
      expect(group.dead.map((j) => j.id)).toEqual([job.id]);

      const retried = await queue.retry(job.id);
      expect(retried).toMatchObject({ state: 'queued', attempts: 0, runAt: clock.now(), finishedAt: null });
      expect(retried.lastError?.message).toBe('connector orders refused (3)');
      await rejects(queue.retry(job.id), 'invalid_state', /only a dead job/);
      const [c] = await queue.claim('w1', { kinds: ['test.flaky'], leaseMs: 1000 });
      expect(c?.lease.attempt).toBe(1);
      await queue.complete(c?.lease as JobLease, 'ok');
      expect(await queue.group('req_flaky')).toMatchObject({ finished: true, dead: [] });
    });

    it('kills a job at once on a permanent failure', async () => {
      const queue = make();
      const { job } = await queue.enqueue(ctx.db, { kind: 'test.permanent', maxAttempts: 5 });
      const [c] = await queue.claim('w1', { kinds: ['test.permanent'], leaseMs: 1000 });
      expect(
        await queue.fail(
          c?.lease as JobLease,
          { ...failure('table orders has no column phone', 1), kind: 'permanent' },
          { permanent: true },
        ),
      ).toEqual({
        outcome: 'dead',
      });
      expect(await queue.get(job.id)).toMatchObject({ state: 'dead', attempts: 1 });
    });

    it('gives the job of a worker that stopped renewing its lease to another worker, and fences the old one out', async () => {
      const clock = fakeClock(T0 + 3_000_000);
      const queue = make(clock);
      await sql`create table job_effects (job_id text not null, worker text not null)`.execute(ctx.db);
      const { job } = await queue.enqueue(ctx.db, { kind: 'test.lease', maxAttempts: 3 });
      const [first] = await queue.claim('w1', { kinds: ['test.lease'], leaseMs: 5000 });
      const oldLease = first?.lease as JobLease;
      clock.advance(4999);
      expect(await queue.claim('w2', { kinds: ['test.lease'], leaseMs: 5000 })).toEqual([]);
      clock.advance(1);
      const [second] = await queue.claim('w2', { kinds: ['test.lease'], leaseMs: 5000 });
      expect(second?.lease).toEqual({ jobId: job.id, workerId: 'w2', attempt: 2 });
      expect(second?.job.lastError).toMatchObject({ kind: 'lease_expired', attempt: 1, worker: 'w1', where: 'worker w1' });

      expect(await queue.heartbeat(oldLease, 5000)).toBe(false);
      expect(await queue.complete(oldLease, 'stale')).toBe(false);
      await rejects(
        queue.completeWith(oldLease, async (trx) => {
          await trx
            .insertInto('job_effects' as never)
            .values({ job_id: job.id, worker: 'w1' } as never)
            .execute();
        }),
        'lease_lost',
        /w1 no longer holds/,
      );
      // Same worker id, new attempt: the attempt number fences too.
      expect(await queue.heartbeat({ ...oldLease, workerId: 'w2' }, 5000)).toBe(false);

      const value = await queue.completeWith(second?.lease as JobLease, async (trx) => {
        await trx
          .insertInto('job_effects' as never)
          .values({ job_id: job.id, worker: 'w2' } as never)
          .execute();
        return { effects: 1 };
      });
      expect(value).toEqual({ effects: 1 });
      const effects = await sql<{ worker: string }>`select worker from job_effects where job_id = ${job.id}`.execute(ctx.db);
      expect(effects.rows).toEqual([{ worker: 'w2' }]);
      expect(await queue.get(job.id)).toMatchObject({ state: 'succeeded', result: { effects: 1 }, attempts: 2 });
    });

    it('rolls the effects back when completeWith fails, and leaves the job running', async () => {
      const queue = make();
      await sql`create table job_effects (job_id text not null, worker text not null)`.execute(ctx.db);
      const { job } = await queue.enqueue(ctx.db, { kind: 'test.rollback-effects' });
      const [c] = await queue.claim('w1', { kinds: ['test.rollback-effects'], leaseMs: 5000 });
      await expect(
        queue.completeWith(c?.lease as JobLease, async (trx) => {
          await trx
            .insertInto('job_effects' as never)
            .values({ job_id: job.id, worker: 'w1' } as never)
            .execute();
          throw new Error('the handler fails half-way');
        }),
      ).rejects.toThrow(/half-way/);
      expect((await sql`select * from job_effects where job_id = ${job.id}`.execute(ctx.db)).rows).toEqual([]);
      expect((await queue.get(job.id))?.state).toBe('running');
      // A result that is not JSON is refused before the commit: no effects either.
      await rejects(
        queue.completeWith(c?.lease as JobLease, async (trx) => {
          await trx
            .insertInto('job_effects' as never)
            .values({ job_id: job.id, worker: 'w1' } as never)
            .execute();
          return { n: 1n };
        }),
        'invalid_argument',
        /result: is not JSON-serialisable/,
      );
      expect((await sql`select * from job_effects where job_id = ${job.id}`.execute(ctx.db)).rows).toEqual([]);
      expect(await queue.release(c?.lease as JobLease)).toBe(true);
      expect(await queue.get(job.id)).toMatchObject({ state: 'queued', attempts: 0, lockedUntil: null });
    });

    it('kills a job whose worker died on its last attempt', async () => {
      const clock = fakeClock(T0 + 4_000_000);
      const queue = make(clock);
      const { job } = await queue.enqueue(ctx.db, { kind: 'test.crashy', maxAttempts: 1 });
      await queue.claim('w1', { kinds: ['test.crashy'], leaseMs: 1000 });
      clock.advance(1000);
      expect(await queue.recoverExpired()).toBe(1);
      expect(await queue.get(job.id)).toMatchObject({ state: 'dead', lastError: { kind: 'lease_expired', attempt: 1 } });
      expect(await queue.recoverExpired()).toBe(0);
    });

    it('runs a job only after the jobs it depends on succeeded', async () => {
      const queue = make();
      const a = (await queue.enqueue(ctx.db, { kind: 'test.collect', groupId: 'req_dep' })).job;
      const b = (await queue.enqueue(ctx.db, { kind: 'test.erase', after: [a.id, a.id], groupId: 'req_dep' })).job;
      expect(b).toMatchObject({ state: 'waiting', pendingDeps: 1 });
      expect(await queue.dependencies(b.id)).toEqual([{ id: a.id, state: 'queued' }]);
      const first = await queue.claim('w1', { kinds: ['test.collect', 'test.erase'], limit: 10, leaseMs: 1000 });
      expect(first.map((c) => c.job.id)).toEqual([a.id]);

      const events: ListenEvent[] = [];
      const stop = await ctx.database.listen(JOBS_CHANNEL, (e) => events.push(e));
      await queue.complete(first[0]?.lease as JobLease, { rows: 2 });
      expect(await queue.get(b.id)).toMatchObject({ state: 'queued', pendingDeps: 0 });
      await waitUntil(() => events.some((e) => e.kind === 'notify' && e.payload === 'test.erase'));
      await stop();

      // A dependency that already succeeded does not count.
      const c = (await queue.enqueue(ctx.db, { kind: 'test.erase', after: [a.id, b.id], groupId: 'req_dep' })).job;
      expect(c).toMatchObject({ state: 'waiting', pendingDeps: 1 });
      const d = (await queue.enqueue(ctx.db, { kind: 'test.erase', after: [a.id] })).job;
      expect(d).toMatchObject({ state: 'queued', pendingDeps: 0 });
      const second = await queue.claim('w1', { kinds: ['test.erase'], limit: 10, leaseMs: 1000 });
      expect(second.map((x) => x.job.id).sort()).toEqual([b.id, d.id].sort());
      for (const x of second) await queue.complete(x.lease);
      expect((await queue.get(c.id))?.state).toBe('queued');
      expect((await queue.group('req_dep')).counts).toMatchObject({ succeeded: 2, queued: 1 });
    });

    it('keeps dependents waiting while a dependency is dead, and cancels them with it', async () => {
      const queue = make();
      const a = (await queue.enqueue(ctx.db, { kind: 'test.dead-dep', maxAttempts: 1 })).job;
      const b = (await queue.enqueue(ctx.db, { kind: 'test.after-dead', after: [a.id] })).job;
      const c = (await queue.enqueue(ctx.db, { kind: 'test.after-dead', after: [b.id] })).job;
      const [claimed] = await queue.claim('w1', { kinds: ['test.dead-dep'], leaseMs: 1000 });
      expect(await queue.fail(claimed?.lease as JobLease, failure('down', 1))).toEqual({ outcome: 'dead' });
      expect((await queue.get(b.id))?.state).toBe('waiting');
      expect(await queue.cancel(a.id, 'staff: the request was withdrawn')).toEqual([a.id, b.id, c.id]);
      const cancelled = await queue.get(c.id);
      expect(cancelled).toMatchObject({ state: 'cancelled', lastError: { message: `a job it depends on was cancelled (${b.id})` } });
      expect((await queue.get(a.id))?.lastError?.message).toBe('staff: the request was withdrawn');
      await rejects(queue.cancel(a.id, 'again'), 'invalid_state', /already cancelled/);
      await rejects(
        queue.enqueue(ctx.db, { kind: 'test.after-dead', after: [a.id] }),
        'invalid_state',
        /spec\.after\[0\]: job .* was cancelled/,
      );
    });

    it('fences a running job out when staff cancel it', async () => {
      const queue = make();
      const { job } = await queue.enqueue(ctx.db, { kind: 'test.cancel-running' });
      const [c] = await queue.claim('w1', { kinds: ['test.cancel-running'], leaseMs: 1000 });
      expect(await queue.cancel(job.id, 'duplicate request')).toEqual([job.id]);
      expect(await queue.heartbeat(c?.lease as JobLease, 1000)).toBe(false);
      await rejects(
        queue.completeWith(c?.lease as JobLease, async () => 1),
        'lease_lost',
      );
      expect((await queue.get(job.id))?.state).toBe('cancelled');
    });

    it('notifies workers after the commit only', async () => {
      const queue = make();
      const events: ListenEvent[] = [];
      const stop = await ctx.database.listen(JOBS_CHANNEL, (e) => events.push(e));
      await expect(
        withTransaction(ctx.db, async (trx) => {
          await queue.enqueue(trx, { kind: 'test.notify-rolled-back' });
          throw new Error('rollback');
        }),
      ).rejects.toThrow('rollback');
      await withTransaction(ctx.db, async (trx) => {
        await queue.enqueue(trx, { kind: 'test.notify' });
        await new Promise((r) => setTimeout(r, 50));
        expect(events).toEqual([]);
      });
      await waitUntil(() => events.length > 0);
      await new Promise((r) => setTimeout(r, 100));
      expect(events.map((e) => (e.kind === 'notify' ? e.payload : e.kind))).toEqual(['test.notify']);
      await stop();
    });

    it('lists newest first with a cursor, counts by state and prunes finished jobs', async () => {
      const clock = fakeClock(T0 + 5_000_000);
      const queue = make(clock);
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) {
        ids.push((await queue.enqueue(ctx.db, { kind: 'test.page', groupId: 'req_page' })).job.id);
        clock.advance(1);
      }
      const p1 = await queue.list({ groupId: 'req_page', limit: 2 });
      const p2 = await queue.list({ groupId: 'req_page', limit: 2, cursor: p1.next ?? '' });
      const p3 = await queue.list({ groupId: 'req_page', limit: 2, cursor: p2.next ?? '' });
      expect([...p1.jobs, ...p2.jobs, ...p3.jobs].map((j) => j.id)).toEqual([...ids].reverse());
      expect(p3.next).toBe(null);
      expect((await queue.list({ groupId: 'req_page', state: [] })).jobs).toEqual([]);
      const claimed = await queue.claim('w1', { kinds: ['test.page'], limit: 2, leaseMs: 1000 });
      for (const c of claimed) await queue.complete(c.lease);
      expect(await queue.counts({ groupId: 'req_page' })).toEqual({
        waiting: 0,
        queued: 3,
        running: 0,
        succeeded: 2,
        dead: 0,
        cancelled: 0,
      });
      expect(await queue.prune(clock.now())).toBe(0);
      clock.advance(1);
      expect(await queue.prune(clock.now())).toBeGreaterThanOrEqual(2);
      expect(await queue.counts({ groupId: 'req_page' })).toMatchObject({ queued: 3, succeeded: 0 });
    });

    it('refuses bad input, naming the field', async () => {
      const queue = make();
      const bad = (spec: Record<string, unknown>, path: RegExp) =>
        expect(queue.enqueue(ctx.db, { kind: 'test.bad', ...spec } as never)).rejects.toSatisfy(
          (err: unknown) => isJobError(err, 'invalid_argument') && path.test((err as Error).message),
        );
      await bad({ kind: 'Bad Kind' }, /^spec\.kind: must match/);
      await bad({ kind: '' }, /^spec\.kind/);
      await bad({ kind: 'x'.repeat(101) }, /^spec\.kind/);
      await bad({ payload: { n: 1n } }, /^spec\.payload: is not JSON-serialisable/);
      await bad({ payload: () => 1 }, /^spec\.payload: is not JSON-serialisable/);
      const cyclic: Record<string, unknown> = {};
      cyclic.self = cyclic;
      await bad({ payload: cyclic }, /^spec\.payload: is not JSON-serialisable/);
      await bad({ payload: 'x'.repeat(70_000) }, /^spec\.payload: is \d+ bytes of JSON, at most 65536/);
      await bad({ priority: 1.5 }, /^spec\.priority: must be an integer from -1000 to 1000/);
      await bad({ priority: 5000 }, /^spec\.priority/);
      await bad({ maxAttempts: 0 }, /^spec\.maxAttempts/);
      await bad({ maxAttempts: 101 }, /^spec\.maxAttempts/);
      await bad({ timeoutMs: 0 }, /^spec\.timeoutMs/);
      await bad({ timeoutMs: 86_400_001 }, /^spec\.timeoutMs/);
      await bad({ runAt: T0, delayMs: 5 }, /^spec\.runAt: give runAt or delayMs, not both/);
      await bad({ runAt: -1 }, /^spec\.runAt/);
      await bad({ runAt: Number.NaN }, /^spec\.runAt/);
      await bad({ delayMs: -5 }, /^spec\.delayMs/);
      await bad({ dedupeKey: '' }, /^spec\.dedupeKey/);
      await bad({ dedupeKey: 'k'.repeat(201) }, /^spec\.dedupeKey/);
      await bad({ groupId: 7 }, /^spec\.groupId/);
      await bad({ after: 'job_1' }, /^spec\.after: must be an array/);
      await bad({ after: Array.from({ length: 1001 }, (_, i) => `job_${i}`) }, /^spec\.after: must be an array of at most 1000/);
      await bad({ after: ['job_ok', ''] }, /^spec\.after\[1\]/);
      await rejects(
        queue.enqueue(ctx.db, { kind: 'test.bad', after: ['job_missing'] }),
        'unknown_job',
        /spec\.after\[0\]: no job job_missing/,
      );
      expect((await queue.list({ kind: 'test.bad' })).jobs).toEqual([]);

      await expect(queue.claim('', { leaseMs: 1000 })).rejects.toThrow(/workerId/);
      await expect(queue.claim('w1', { leaseMs: 0 })).rejects.toThrow(/options\.leaseMs/);
      await expect(queue.claim('w1', { leaseMs: 1000, limit: 0 })).rejects.toThrow(/options\.limit/);
      await expect(queue.list({ cursor: 'nonsense' })).rejects.toThrow(/query\.cursor: is not a cursor/);
      await expect(queue.list({ state: 'stuck' as never })).rejects.toThrow(/query\.state\[0\]: must be one of/);
      await expect(queue.list({ limit: 501 })).rejects.toThrow(/query\.limit/);
      await expect(queue.list({ kind: 'NOPE' })).rejects.toThrow(/query\.kind/);
      await rejects(queue.retry('job_missing'), 'unknown_job', /no job job_missing/);
      await rejects(queue.cancel('job_missing', 'why'), 'unknown_job');
      await expect(queue.cancel('job_missing', ' ')).rejects.toThrow(/reason: must be a non-empty string/);
      await rejects(queue.dependencies('job_missing'), 'unknown_job');
      await expect(queue.prune(-1)).rejects.toThrow(/before/);
      expect(() => createJobQueue({ database: ctx.database, defaults: { maxAttempts: 0 } })).toThrow(/defaults\.maxAttempts/);
      expect(() => createJobQueue({ database: ctx.database, backoff: { jitter: -1 } })).toThrow(/backoff\.jitter/);
    });

    it('lets two workers on two connections claim disjoint jobs', async () => {
      const other = await ctx.connect();
      const q1: JobQueue = make();
      const q2: JobQueue = createJobQueue({ database: other, clock: fakeClock() });
      const ids = new Set<string>();
      for (let i = 0; i < 40; i++) ids.add((await q1.enqueue(ctx.db, { kind: 'test.disjoint' })).job.id);
      const seen: string[] = [];
      const work = async (q: JobQueue, worker: string) => {
        for (;;) {
          const claimed = await q.claim(worker, { kinds: ['test.disjoint'], limit: 3, leaseMs: 60_000 });
          if (claimed.length === 0) return;
          for (const c of claimed) {
            seen.push(c.job.id);
            expect(await q.complete(c.lease)).toBe(true);
          }
        }
      };
      if (ctx.caps.concurrentWriters) {
        // PostgreSQL: truly concurrent claims (SKIP LOCKED).
        await Promise.all([work(q1, 'w1'), work(q2, 'w2'), work(q1, 'w3'), work(q2, 'w4')]);
      } else {
        // SQLite: two connections in one process cannot interleave write transactions (the busy wait
        // blocks the thread); they alternate here and run as two processes in runner.test.ts.
        await work(q1, 'w1');
        await work(q2, 'w2');
      }
      expect(seen.length).toBe(ids.size);
      expect(new Set(seen)).toEqual(ids);
    });
  },
  { perTest: true },
);

async function waitUntil(cond: () => boolean, ms = 5000): Promise<void> {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > ms) throw new Error(`condition not met within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
