/**
 * Scheduled sweeps through the durable job runner (both dialects): slots, the chain of jobs, idempotent
 * scheduling, apps published later, disabled apps, bad payloads.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createJobQueue, type JobQueue } from '../jobs/queue.js';
import { createJobRunner } from '../jobs/runner.js';
import type { ServiceContext } from '../service/context.js';
import { openTestContext, publishForTest } from '../service/test-context.js';
import { forEachDialect } from '../store/test-dialects.js';
import { createSubjectService } from '../subjects/index.js';
import { createVaultService } from '../vault/index.js';
import {
  DEFAULT_SWEEP_OFFSET_MS,
  nextSweepSlot,
  RETENTION_JOB_ACTOR,
  RETENTION_JOB_KIND,
  retentionJobHandlers,
  scheduleRetentionSweep,
  startRetentionScheduler,
} from './index.js';
import { RET_APP, RET_DB_ENV, RET_DB_SCHEMA, retentionDeclaration } from './test-fixtures.js';

const DAY = 86_400_000;

describe('nextSweepSlot', () => {
  it('gives the first slot strictly after a time (03:00 China time by default)', () => {
    const t = Date.UTC(2025, 2, 10, 18, 59);
    expect(new Date(nextSweepSlot(t, DAY, DEFAULT_SWEEP_OFFSET_MS)).toISOString()).toBe('2025-03-10T19:00:00.000Z');
    expect(new Date(nextSweepSlot(Date.UTC(2025, 2, 10, 19), DAY, DEFAULT_SWEEP_OFFSET_MS)).toISOString()).toBe('2025-03-11T19:00:00.000Z');
    expect(new Date(nextSweepSlot(Date.UTC(2025, 2, 10, 19, 0, 0, 1), 6 * 3_600_000, 0)).toISOString()).toBe('2025-03-11T00:00:00.000Z');
  });
});

forEachDialect('retention schedule', (dctx) => {
  let ctx: ServiceContext;
  let queue: JobQueue;
  let now = Date.UTC(2025, 2, 10, 12);
  let dir: string;
  let env: Record<string, string>;

  beforeAll(async () => {
    ctx = await openTestContext(dctx.database, { examples: ['xiaopiaopiao'], clock: () => now });
    await publishForTest(ctx, retentionDeclaration());
    queue = createJobQueue({ database: ctx.database, clock: { now: () => now } });
    dir = mkdtempSync(join(tmpdir(), 'pipa-retention-job-'));
    const file = join(dir, 'shop.db');
    const db = new Database(file);
    db.exec(RET_DB_SCHEMA);
    db.close();
    env = { [RET_DB_ENV]: file };
  });
  afterAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    await ctx.close();
  });

  const sweepJobs = async () =>
    (await queue.list({ kind: RETENTION_JOB_KIND, limit: 500 })).jobs
      .map((j) => ({ app: String((j.payload as { app?: unknown }).app ?? ''), runAt: j.runAt, state: j.state, result: j.result }))
      .sort((a, b) => a.runAt - b.runAt || a.app.localeCompare(b.app));

  it('schedules each app once per slot, whatever the number of calls', async () => {
    const first = await scheduleRetentionSweep(ctx, queue, RET_APP, {});
    const again = await scheduleRetentionSweep(ctx, queue, RET_APP, {});
    expect(first?.created).toBe(true);
    expect(again?.created).toBe(false);
    expect(again?.job.id).toBe(first?.job.id);
    expect(first?.job.runAt).toBe(Date.UTC(2025, 2, 10, 19));
    expect(first?.job.dedupeKey).toBe(`${RETENTION_JOB_KIND}:${RET_APP}:${Date.UTC(2025, 2, 10, 19)}`);
    expect(await scheduleRetentionSweep(ctx, queue, RET_APP, { apps: { [RET_APP]: { enabled: false } } })).toBeNull();
    await expect(scheduleRetentionSweep(ctx, queue, RET_APP, { everyMs: 1000 })).rejects.toThrow(/everyMs/);
    await expect(scheduleRetentionSweep(ctx, queue, RET_APP, { everyMs: 32 * DAY })).rejects.toThrow(/everyMs/);
    await expect(scheduleRetentionSweep(ctx, queue, RET_APP, { apps: { [RET_APP]: { offsetMs: -1 } } })).rejects.toThrow(/offsetMs/);
  });

  it('the scheduler covers every app, and apps published later', async () => {
    const stop = await startRetentionScheduler(ctx, queue, {});
    try {
      expect((await sweepJobs()).map((j) => j.app)).toEqual([RET_APP, 'xiaopiaopiao-merchant'].sort());
      const declaration = retentionDeclaration((d) => {
        d.app.id = 'retention-later';
      });
      await publishForTest(ctx, declaration);
      await new Promise((r) => setTimeout(r, 50));
      expect((await sweepJobs()).map((j) => j.app)).toContain('retention-later');
    } finally {
      stop();
    }
  });

  it('a due job sweeps, stores a scheduled report and chains the next slot first', async () => {
    const subjects = createSubjectService(ctx);
    const vault = createVaultService(ctx, { subjects });
    const s = (await subjects.ensure(ctx.db, { appId: RET_APP, kind: 'account' })).id;
    await vault.put(RET_APP, s, { 'basic.gender': '男' }, { id: 'key_w', scopes: new Set(['vault:write']) }); // no consent
    now = Date.UTC(2025, 2, 11, 19, 30); // the 10th's 19:00 slot is due, more than a day after the write
    const runner = createJobRunner({
      database: ctx.database,
      queue,
      clock: { now: () => now },
      handlers: retentionJobHandlers(ctx, queue, { env, apps: { 'retention-later': { enabled: false } } }),
    });
    expect(await runner.runDue()).toBe(3);
    const jobs = await sweepJobs();
    const done = jobs.filter((j) => j.state === 'succeeded');
    expect(done.map((j) => j.app).sort()).toEqual([RET_APP, 'retention-later', 'xiaopiaopiao-merchant'].sort());
    expect(done.find((j) => j.app === 'retention-later')?.result).toEqual({ skipped: 'disabled', app: 'retention-later' });
    const ours = done.find((j) => j.app === RET_APP)?.result as { report: string; removedFields: number; errors: number };
    expect(ours).toMatchObject({ removedFields: 1, errors: 0 });
    const report = await ctx.db.selectFrom('retention_reports').selectAll().where('id', '=', ours.report).executeTakeFirstOrThrow();
    expect(report).toMatchObject({ trigger: 'schedule', actor: RETENTION_JOB_ACTOR, app_id: RET_APP });
    // The next slot after the late run, once per app (the disabled one is not chained).
    const next = jobs.filter((j) => j.state === 'queued');
    expect(next.map((j) => [j.app, new Date(j.runAt).toISOString()])).toEqual([
      [RET_APP, '2025-03-12T19:00:00.000Z'],
      ['xiaopiaopiao-merchant', '2025-03-12T19:00:00.000Z'],
    ]);
    expect(await runner.runDue()).toBe(0);
  });

  it('a malformed payload fails for good with where and what', async () => {
    const r = await queue.enqueue(ctx.db, { kind: RETENTION_JOB_KIND, payload: { application: RET_APP } });
    const runner = createJobRunner({
      database: ctx.database,
      queue,
      clock: { now: () => now },
      handlers: retentionJobHandlers(ctx, queue, { env }),
    });
    await runner.runDue();
    const job = await queue.get(r.job.id);
    expect(job?.state).toBe('dead');
    expect(job?.lastError).toMatchObject({ message: 'retention.sweep payload must be { app }', where: `job ${r.job.id}` });
  });

  it('a job for an app that is no longer known succeeds without sweeping or chaining', async () => {
    const r = await queue.enqueue(ctx.db, { kind: RETENTION_JOB_KIND, payload: { app: 'gone-app' } });
    const runner = createJobRunner({
      database: ctx.database,
      queue,
      clock: { now: () => now },
      handlers: retentionJobHandlers(ctx, queue, { env }),
    });
    await runner.runDue();
    expect((await queue.get(r.job.id))?.result).toEqual({ skipped: 'unknown-app', app: 'gone-app' });
    expect((await sweepJobs()).filter((j) => j.app === 'gone-app')).toHaveLength(1);
  });
});
