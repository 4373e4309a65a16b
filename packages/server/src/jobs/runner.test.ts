import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { forEachDialect } from '../store/test-dialects.js';
import { withTransaction } from '../store/transaction.js';
import { isJobError, JobError, JobHandlerError } from './errors.js';
import {
  createJobRunner,
  describeFailure,
  type JobHandlers,
  type JobRunner,
  type JobRunnerEvent,
  type JobRunnerOptions,
} from './runner.js';

async function waitUntil(cond: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const start = Date.now();
  while (!(await cond())) {
    if (Date.now() - start > ms) throw new Error(`condition not met within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

describe('describeFailure', () => {
  it('says what and where, from JobHandlerError or the stack', () => {
    const f = describeFailure(
      new JobHandlerError('table orders has no column phone', { where: 'connector orders' }),
      'permanent',
      2,
      'w1',
      5,
    );
    expect(f).toEqual({
      kind: 'permanent',
      message: 'table orders has no column phone',
      where: 'connector orders',
      name: 'JobHandlerError',
      code: null,
      attempt: 2,
      worker: 'w1',
      at: 5,
    });
    const e = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    const g = describeFailure(e, 'error', 1, 'w1', 5);
    expect(g.code).toBe('ECONNREFUSED');
    expect(g.where).toMatch(/runner\.test\.ts:\d+/);
    expect(describeFailure('plain string', 'error', 1, 'w1', 5).message).toBe('plain string');
    expect(describeFailure({ secret: '13812345678' }, 'error', 1, 'w1', 5).message).toBe('a non-Error value was thrown');
    const noStack = new Error('');
    noStack.stack = undefined;
    expect(describeFailure(noStack, 'error', 1, 'w9', 5)).toMatchObject({ message: 'Error', where: 'worker w9' });
  });
});

forEachDialect(
  'job runner',
  (ctx) => {
    const runners: JobRunner[] = [];
    const make = (handlers: JobHandlers, extra: Partial<JobRunnerOptions> = {}) => {
      const runner = createJobRunner({
        database: ctx.database,
        handlers,
        workerId: `test-${runners.length}-${Math.random().toString(36).slice(2, 8)}`,
        pollIntervalMs: 60_000,
        backoff: { baseMs: 0, maxMs: 0 },
        ...extra,
      });
      runners.push(runner);
      return runner;
    };
    const effects = async (jobId: string) =>
      (
        await sql<{
          attempt: number;
          worker: string;
        }>`select attempt, worker from job_effects where job_id = ${jobId} order by attempt`.execute(ctx.db)
      ).rows;
    afterEach(async () => {
      for (const r of runners.splice(0)) await r.stop({ graceMs: 0 });
    });
    const setUp = () =>
      sql`create table job_effects (job_id text not null, attempt integer not null, worker text not null)`.execute(ctx.db);

    it('starts a job as soon as it is enqueued, without waiting for a poll', async () => {
      const runner = make({ 'test.echo': async (c) => ({ echoed: c.job.payload }) });
      await runner.start();
      await sleep(100);
      const t0 = Date.now();
      const { job } = await withTransaction(ctx.db, (trx) => runner.queue.enqueue(trx, { kind: 'test.echo', payload: { n: 7 } }));
      await waitUntil(async () => (await runner.queue.get(job.id))?.state === 'succeeded');
      expect(Date.now() - t0).toBeLessThan(2000);
      expect((await runner.queue.get(job.id))?.result).toEqual({ echoed: { n: 7 } });
      await runner.stop();
      expect(runner.stats()).toMatchObject({ claimed: 1, succeeded: 1, running: 0 });
    });

    it('retries with backoff, waking at the retry time by itself, and records what failed where', async () => {
      const events: JobRunnerEvent[] = [];
      const runner = make(
        {
          'test.flaky': {
            run: async (c) => {
              if (c.attempt < 3)
                throw new JobHandlerError(`connector orders unreachable (attempt ${c.attempt})`, { where: 'connector orders' });
              return 'ok';
            },
            backoff: { baseMs: 150, factor: 2, jitter: 0 },
          },
        },
        { onEvent: (e) => events.push(e) },
      );
      await runner.start();
      const { job } = await runner.queue.enqueue(ctx.db, { kind: 'test.flaky', maxAttempts: 5 });
      await waitUntil(async () => (await runner.queue.get(job.id))?.state === 'succeeded');
      const failed = events.filter((e) => e.type === 'failed');
      expect(failed.map((e) => (e.type === 'failed' ? [e.attempt, e.outcome, e.failure.where] : []))).toEqual([
        [1, 'retry', 'connector orders'],
        [2, 'retry', 'connector orders'],
      ]);
      const times = failed.map((e) => (e.type === 'failed' ? (e.runAt ?? 0) - e.failure.at : 0));
      // runAt is computed a moment after the failure record (real clock): 150 then 300 ms later, plus that moment.
      expect(times[0]).toBeGreaterThanOrEqual(150);
      expect(times[0]).toBeLessThan(250);
      expect(times[1]).toBeGreaterThanOrEqual(300);
      expect(times[1]).toBeLessThan(400);
      const done = await runner.queue.get(job.id);
      expect(done).toMatchObject({
        attempts: 3,
        result: 'ok',
        lastError: { message: 'connector orders unreachable (attempt 2)', attempt: 2 },
      });
      await runner.stop();
    });

    it('makes a job dead after its attempts, or at once on a permanent error', async () => {
      const runner = make({
        'test.broken': async () => {
          throw new Error('always broken');
        },
        'test.permanent': async () => {
          throw new JobHandlerError('table orders has no column phone', { where: 'table orders', retryable: false });
        },
      });
      const a = (await runner.queue.enqueue(ctx.db, { kind: 'test.broken', maxAttempts: 3 })).job;
      const b = (await runner.queue.enqueue(ctx.db, { kind: 'test.permanent', maxAttempts: 3 })).job;
      expect(await runner.runDue()).toBe(4);
      const deadA = await runner.queue.get(a.id);
      expect(deadA).toMatchObject({ state: 'dead', attempts: 3, lastError: { kind: 'error', message: 'always broken', attempt: 3 } });
      expect(deadA?.lastError?.where).toMatch(/runner\.test\.ts/);
      expect(await runner.queue.get(b.id)).toMatchObject({
        state: 'dead',
        attempts: 1,
        lastError: { kind: 'permanent', where: 'table orders', name: 'JobHandlerError' },
      });
      expect(runner.stats()).toMatchObject({ dead: 2, retried: 2 });
      expect((await runner.queue.list({ state: 'dead' })).jobs.map((j) => j.id).sort()).toEqual([a.id, b.id].sort());
    });

    it('aborts an attempt that runs past its timeout, counts it failed, and keeps a late handler from committing', async () => {
      await setUp();
      let lateError: unknown;
      let releaseLate: () => void = () => {};
      const late = new Promise<void>((r) => {
        releaseLate = r;
      });
      let lateDone = false;
      let politeReason: unknown;
      const events: JobRunnerEvent[] = [];
      const runner = make(
        {
          'test.slow': async (c) => {
            if (c.attempt === 1) {
              // Ignores the signal: abandoned; its late commit must fail.
              await late;
              try {
                await c.complete(async (trx) => {
                  await sql`insert into job_effects (job_id, attempt, worker) values (${c.job.id}, ${c.attempt}, ${c.workerId})`.execute(
                    trx,
                  );
                });
              } catch (err) {
                lateError = err;
              }
              lateDone = true;
              return;
            }
            return c.complete(async (trx) => {
              await sql`insert into job_effects (job_id, attempt, worker) values (${c.job.id}, ${c.attempt}, ${c.workerId})`.execute(trx);
              return 'second time lucky';
            });
          },
          'test.polite': async (c) => {
            await new Promise<void>((_, reject) => {
              c.signal.addEventListener('abort', () => {
                politeReason = c.signal.reason;
                reject(c.signal.reason);
              });
            });
          },
        },
        { onEvent: (e) => events.push(e) },
      );
      const { job } = await runner.queue.enqueue(ctx.db, { kind: 'test.slow', timeoutMs: 200, maxAttempts: 2 });
      const polite = (await runner.queue.enqueue(ctx.db, { kind: 'test.polite', timeoutMs: 100, maxAttempts: 1 })).job;
      const t0 = Date.now();
      await runner.runDue();
      expect(Date.now() - t0).toBeLessThan(5000);
      const done = await runner.queue.get(job.id);
      expect(done).toMatchObject({
        state: 'succeeded',
        attempts: 2,
        result: 'second time lucky',
        lastError: { kind: 'timeout', attempt: 1 },
      });
      expect(done?.lastError?.message).toMatch(/ran longer than its timeout of 200 ms/);
      expect(runner.stats().abandoned).toBe(1);
      releaseLate();
      await waitUntil(() => lateDone);
      expect(isJobError(lateError, 'timed_out')).toBe(true);
      expect(runner.stats().abandoned).toBe(0);
      expect(await effects(job.id)).toEqual([{ attempt: 2, worker: runner.workerId }]);
      expect(isJobError(politeReason, 'timed_out')).toBe(true);
      expect(await runner.queue.get(polite.id)).toMatchObject({ state: 'dead', lastError: { kind: 'timeout', name: 'JobTimeout' } });
      expect(events.filter((e) => e.type === 'failed' && e.failure.kind === 'timeout')).toHaveLength(2);
    });

    it('renews the lease while a long handler runs, so no other worker takes the job', async () => {
      const runner = make(
        {
          'test.long': async () => {
            await sleep(900);
            return 'done';
          },
        },
        { leaseMs: 300, heartbeatMs: 100 },
      );
      const { job } = await runner.queue.enqueue(ctx.db, { kind: 'test.long' });
      const run = runner.runDue();
      await sleep(600);
      expect(await runner.queue.claim('intruder', { kinds: ['test.long'], leaseMs: 1000 })).toEqual([]);
      expect((await runner.queue.get(job.id))?.lockedUntil).toBeGreaterThan(Date.now());
      await run;
      expect(await runner.queue.get(job.id)).toMatchObject({ state: 'succeeded', attempts: 1 });
    });

    it('aborts a handler whose job staff cancelled, and keeps its effects out', async () => {
      await setUp();
      let outcome: unknown;
      const runner = make(
        {
          'test.cancelled': async (c) => {
            await new Promise((r) => c.signal.addEventListener('abort', r));
            try {
              await c.complete(async (trx) => {
                await sql`insert into job_effects (job_id, attempt, worker) values (${c.job.id}, 1, 'x')`.execute(trx);
              });
            } catch (err) {
              outcome = err;
              throw err;
            }
          },
        },
        { leaseMs: 3000, heartbeatMs: 50 },
      );
      const { job } = await runner.queue.enqueue(ctx.db, { kind: 'test.cancelled' });
      const run = runner.runDue();
      await waitUntil(async () => (await runner.queue.get(job.id))?.state === 'running');
      await runner.queue.cancel(job.id, 'duplicate request');
      await run;
      await waitUntil(() => outcome !== undefined);
      expect(isJobError(outcome, 'lease_lost')).toBe(true);
      expect(runner.stats()).toMatchObject({ lost: 1, succeeded: 0, dead: 0, retried: 0 });
      expect((await runner.queue.get(job.id))?.state).toBe('cancelled');
      expect(await effects(job.id)).toEqual([]);
    });

    it('runs erasure only after access collection succeeded', async () => {
      const log: string[] = [];
      const runner = make({
        'test.collect': async (c) => {
          log.push(`collect:start:${String((c.job.payload as { table: string }).table)}`);
          await sleep(50);
          log.push(`collect:end:${String((c.job.payload as { table: string }).table)}`);
        },
        'test.erase': async () => {
          log.push('erase');
        },
      });
      await runner.start();
      const erase = await withTransaction(ctx.db, async (trx) => {
        const a = await runner.queue.enqueue(trx, { kind: 'test.collect', payload: { table: 'orders' }, groupId: 'req_9' });
        const b = await runner.queue.enqueue(trx, { kind: 'test.collect', payload: { table: 'logs' }, groupId: 'req_9' });
        return runner.queue.enqueue(trx, { kind: 'test.erase', groupId: 'req_9', after: [a.job.id, b.job.id] });
      });
      expect(erase.job.state).toBe('waiting');
      await waitUntil(async () => (await runner.queue.group('req_9')).finished);
      expect(log).toHaveLength(5);
      expect(log[4]).toBe('erase');
      await runner.stop();
    });

    it('stops gracefully: finishes what it can within the grace period and hands the rest back', async () => {
      let stuckReason: unknown;
      const runner = make({
        'test.quick': async () => {
          await sleep(150);
          return 'finished';
        },
        'test.stuck': async (c) => {
          await new Promise((r) => c.signal.addEventListener('abort', r));
          stuckReason = c.signal.reason;
          throw c.signal.reason;
        },
      });
      await runner.start();
      const quick = (await runner.queue.enqueue(ctx.db, { kind: 'test.quick' })).job;
      const stuck = (await runner.queue.enqueue(ctx.db, { kind: 'test.stuck' })).job;
      await waitUntil(() => runner.stats().running === 2);
      const stopping = runner.stop({ graceMs: 500 });
      expect(runner.stop()).toBe(stopping);
      await stopping;
      expect(await runner.queue.get(quick.id)).toMatchObject({ state: 'succeeded', result: 'finished' });
      expect(await runner.queue.get(stuck.id)).toMatchObject({ state: 'queued', attempts: 0, lockedUntil: null });
      expect(isJobError(stuckReason, 'shutting_down')).toBe(true);
      expect(runner.stats()).toMatchObject({ released: 1, succeeded: 1, running: 0 });
      // Stopped: nothing more is claimed.
      await runner.queue.enqueue(ctx.db, { kind: 'test.quick' });
      await sleep(100);
      expect(runner.stats().claimed).toBe(2);
      await expect(runner.start()).rejects.toSatisfy((e: unknown) => isJobError(e, 'invalid_state'));
      await expect(runner.runDue()).rejects.toSatisfy((e: unknown) => isJobError(e, 'invalid_state'));
    });

    it('leaves kinds it has no handler for, and refuses results that are not JSON', async () => {
      const runner = make({ 'test.bigint': async () => ({ n: 1n }) });
      const other = (await runner.queue.enqueue(ctx.db, { kind: 'test.someone-else' })).job;
      const big = (await runner.queue.enqueue(ctx.db, { kind: 'test.bigint' })).job;
      expect(await runner.runDue()).toBe(1);
      expect((await runner.queue.get(other.id))?.state).toBe('queued');
      expect(await runner.queue.get(big.id)).toMatchObject({ state: 'dead', lastError: { kind: 'invalid_result' } });
      expect((await runner.queue.get(big.id))?.lastError?.message).toMatch(/result: is not JSON-serialisable/);
    });

    it('refuses bad options, naming them', () => {
      const ok = async () => null;
      expect(() => createJobRunner({ database: ctx.database, handlers: {} })).toThrow(/handlers: at least one handler/);
      expect(() => createJobRunner({ database: ctx.database, handlers: { 'Bad Kind': ok } })).toThrow(
        /handlers\.Bad Kind: kind must match/,
      );
      expect(() => createJobRunner({ database: ctx.database, handlers: { 'test.x': {} as never } })).toThrow(
        /handlers\.test\.x: must be a function/,
      );
      expect(() => createJobRunner({ database: ctx.database, handlers: { 'test.x': ok }, leaseMs: 100, heartbeatMs: 100 })).toThrow(
        /heartbeatMs: must be shorter than leaseMs/,
      );
      expect(() => createJobRunner({ database: ctx.database, handlers: { 'test.x': ok }, concurrency: 0 })).toThrow(/concurrency/);
      expect(() => createJobRunner({ database: ctx.database, handlers: { 'test.x': ok }, pollIntervalMs: 1.5 })).toThrow(/pollIntervalMs/);
      expect(() => createJobRunner({ database: ctx.database, handlers: { 'test.x': ok }, workerId: '' })).toThrow(/workerId/);
      expect(() => createJobRunner({ database: ctx.database, handlers: { 'test.x': { run: ok, backoff: { factor: 0 } } } })).toThrow(
        /handlers\.test\.x\.backoff\.factor/,
      );
      expect(new JobError('invalid_argument', 'a', 'b', { path: 'p' }).path).toBe('p');
    });
  },
  { perTest: true },
);
