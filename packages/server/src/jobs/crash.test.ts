/**
 * Workers as real processes: killed with SIGKILL in the middle of a job (before and inside the
 * completion transaction), stopped with SIGTERM, and two processes draining one queue.
 */
import { sql } from 'kysely';
import { expect, it } from 'vitest';
import { collect, SERVER_SRC, spawnTs, waitForLine } from '../store/test-child.js';
import { forEachDialect } from '../store/test-dialects.js';
import { createJobQueue } from './queue.js';
import { createJobRunner } from './runner.js';

/** A worker process: its handlers are `HANDLERS` (source), its runner options `OPTIONS` (source). */
function workerSource(handlers: string, body: string): string {
  return `
    import { sql } from 'kysely';
    import { createDatabase } from '${SERVER_SRC}/store/index.ts';
    import { createJobRunner, stopOnSignals } from '${SERVER_SRC}/jobs/index.ts';
    const database = await createDatabase(JSON.parse(process.argv[2]));
    const say = (line) => process.stdout.write(line + '\\n');
    // Returns nothing: what a complete() callback returns becomes the job's result (JSON).
    const effect = async (trx, c) => {
      await sql\`insert into job_effects (job_id, attempt, worker) values (\${c.job.id}, \${c.attempt}, \${c.workerId})\`.execute(trx);
    };
    const handlers = ${handlers};
    ${body}
  `;
}

async function until(cond: () => Promise<boolean>, ms = 20_000): Promise<void> {
  const start = Date.now();
  while (!(await cond())) {
    if (Date.now() - start > ms) throw new Error(`condition not met within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

forEachDialect(
  'job workers as processes',
  (ctx) => {
    const setUp = async () => {
      await sql`create table job_effects (job_id text not null, attempt integer not null, worker text not null)`.execute(ctx.db);
      await sql`create table job_runs (job_id text not null, attempt integer not null, worker text not null)`.execute(ctx.db);
    };
    const effects = async (jobId: string) =>
      (await sql<{ attempt: number; worker: string }>`select attempt, worker from job_effects where job_id = ${jobId}`.execute(ctx.db))
        .rows;

    for (const where of ['before', 'inside'] as const) {
      it(`completes a job exactly once after its worker was killed ${where} the completion transaction`, async () => {
        await setUp();
        const queue = createJobQueue({ database: ctx.database });
        const { job } = await queue.enqueue(ctx.db, { kind: 'rights.erase', payload: { requestId: 'req_kill' }, maxAttempts: 3 });
        const hang =
          where === 'before'
            ? `async (c) => { say('started ' + c.job.id + ' ' + c.workerId); await new Promise(() => {}); }`
            : `async (c) => c.complete(async (trx) => { await effect(trx, c); say('started ' + c.job.id + ' ' + c.workerId); await new Promise(() => {}); })`;
        const child = spawnTs(
          workerSource(
            `{ 'rights.erase': ${hang} }`,
            `const runner = createJobRunner({ database, handlers, leaseMs: 1000, heartbeatMs: 300, workerId: 'doomed-' + process.pid });
             await runner.start();
             setInterval(() => {}, 1000);`,
          ),
          [JSON.stringify(ctx.test.config)],
        );
        const exited = collect(child);
        const line = await waitForLine(child, /^started /);
        const doomed = line.split(' ')[2] ?? '';
        expect(line).toContain(job.id);
        child.kill('SIGKILL');
        const result = await exited;
        expect(result.signal).toBe('SIGKILL');

        // The killed worker's writes are gone (it never committed), its job is still "running" under it.
        expect(await effects(job.id)).toEqual([]);
        expect(await queue.get(job.id)).toMatchObject({ state: 'running', lockedBy: doomed, attempts: 1 });

        const runner = createJobRunner({
          database: ctx.database,
          workerId: 'rescuer',
          pollIntervalMs: 60_000,
          handlers: {
            'rights.erase': async (c) =>
              c.complete(async (trx) =>
                sql`insert into job_effects (job_id, attempt, worker) values (${c.job.id}, ${c.attempt}, 'rescuer')`
                  .execute(trx)
                  .then(() => ({ erased: true })),
              ),
          },
        });
        await runner.start();
        // Taken over once the dead worker's lease (1 s) ran out: the runner sleeps until then by itself.
        await until(async () => (await queue.get(job.id))?.state === 'succeeded');
        await runner.stop();
        const done = await queue.get(job.id);
        expect(done).toMatchObject({ attempts: 2, lockedBy: 'rescuer', result: { erased: true } });
        expect(done?.lastError).toMatchObject({ kind: 'lease_expired', attempt: 1, worker: doomed });
        expect(await effects(job.id)).toEqual([{ attempt: 2, worker: 'rescuer' }]);
      });
    }

    it('never runs one job in two worker processes at once', async () => {
      await setUp();
      const queue = createJobQueue({ database: ctx.database });
      const ids = new Set<string>();
      for (let i = 0; i < 30; i++) ids.add((await queue.enqueue(ctx.db, { kind: 'test.work', payload: { i } })).job.id);
      await sql`create table job_go (go integer not null)`.execute(ctx.db);
      const source = workerSource(
        `{ 'test.work': async (c) => {
            await sql\`insert into job_runs (job_id, attempt, worker) values (\${c.job.id}, \${c.attempt}, \${c.workerId})\`.execute(database.db);
            await new Promise((r) => setTimeout(r, 40));
            return c.complete((trx) => effect(trx, c));
          } }`,
        `const runner = createJobRunner({ database, handlers, concurrency: 3, workerId: 'proc-' + process.pid });
         say('ready');
         while ((await sql\`select count(*) as n from job_go\`.execute(database.db)).rows[0].n == 0) await new Promise((r) => setTimeout(r, 10));
         say('ran ' + await runner.runDue());
         await database.close();`,
      );
      const children = [0, 1].map(() => spawnTs(source, [JSON.stringify(ctx.test.config)]));
      const exits = children.map((c) => collect(c));
      await Promise.all(children.map((c) => waitForLine(c, /^ready$/)));
      await sql`insert into job_go (go) values (1)`.execute(ctx.db);
      const results = await Promise.all(exits);
      for (const r of results) expect(r.code, r.stderr).toBe(0);
      const ran = results.map((r) => Number(/ran (\d+)/.exec(r.stdout)?.[1] ?? 'NaN'));
      // Both took part, and between them ran every job once.
      expect(ran.every((n) => n > 0)).toBe(true);
      expect(ran.reduce((a, b) => a + b, 0)).toBe(30);
      const runs = (
        await sql<{ job_id: string; n: number | string }>`select job_id, count(*) as n from job_runs group by job_id`.execute(ctx.db)
      ).rows;
      expect(runs).toHaveLength(30);
      expect(runs.every((r) => Number(r.n) === 1)).toBe(true);
      const effectRows = (await sql<{ job_id: string }>`select job_id from job_effects`.execute(ctx.db)).rows;
      expect(effectRows.map((r) => r.job_id).sort()).toEqual([...ids].sort());
      expect((await queue.counts({ kind: 'test.work' })).succeeded).toBe(30);
    });

    it('on SIGTERM, finishes a running job within the grace period, or hands it back', async () => {
      await setUp();
      const queue = createJobQueue({ database: ctx.database });
      for (const [kind, expected] of [
        ['test.finishes', 'succeeded'],
        ['test.hangs', 'queued'],
      ] as const) {
        const { job } = await queue.enqueue(ctx.db, { kind });
        const child = spawnTs(
          workerSource(
            `{
              'test.finishes': async (c) => { say('started'); await new Promise((r) => setTimeout(r, 400)); return c.complete((trx) => effect(trx, c)); },
              'test.hangs': async (c) => { say('started'); await new Promise(() => {}); },
            }`,
            `const runner = createJobRunner({ database, handlers, workerId: 'term-' + process.pid });
             await runner.start();
             stopOnSignals(runner, { graceMs: 1500, then: async (signal) => { say('stopped on ' + signal); await database.close(); process.exit(0); } });`,
          ),
          [JSON.stringify(ctx.test.config)],
        );
        const exited = collect(child);
        await waitForLine(child, /^started$/);
        child.kill('SIGTERM');
        const r = await exited;
        expect(r.code, r.stderr).toBe(0);
        expect(r.stdout).toContain('stopped on SIGTERM');
        const after = await queue.get(job.id);
        expect(after?.state).toBe(expected);
        if (expected === 'succeeded') {
          expect(after?.attempts).toBe(1);
          expect(await effects(job.id)).toHaveLength(1);
        } else {
          // Handed back without spending an attempt; the next worker takes it at once.
          expect(after).toMatchObject({ attempts: 0, lockedUntil: null });
          expect(await effects(job.id)).toEqual([]);
        }
      }
    });
  },
  { perTest: true },
);
