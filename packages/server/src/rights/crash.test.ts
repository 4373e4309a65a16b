/**
 * Kill the worker mid-request: a child process runs the job runner, erases the demo tables and is
 * SIGKILLed before it records the task as done. Another worker takes the task over once the lease has
 * expired, runs it again (erasing what is already erased changes nothing) and the request completes
 * exactly once: one `completed` transition, one audit event, every task succeeded once; the rows held
 * under legal hold are in the hold manifest although the retry no longer finds them.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { TEST_MASTER_KEY } from '../service/test-context.js';
import { SERVER_SRC, spawnTs, waitForLine } from '../store/test-child.js';
import { forEachDialect } from '../store/test-dialects.js';
import { recordCategories } from '../vault/record.js';
import { DEMO_ENV, openRightsHarness, type RightsHarness, XPP } from './test-support.js';

const CHILD = `
import { openServiceContext } from '${SERVER_SRC}/service/context.ts';
import { createDatabase } from '${SERVER_SRC}/store/index.ts';
import { createSubjectService } from '${SERVER_SRC}/subjects/index.ts';
import { createVaultService } from '${SERVER_SRC}/vault/index.ts';
import { createConsentLedger } from '${SERVER_SRC}/consent/ledger.ts';
import { createJobQueue } from '${SERVER_SRC}/jobs/queue.ts';
import { createJobRunner } from '${SERVER_SRC}/jobs/runner.ts';
import { createConnector } from '${SERVER_SRC}/rights/connectors/index.ts';
import { createRightsDeps } from '${SERVER_SRC}/rights/adapters.ts';
import { createRightsService } from '${SERVER_SRC}/rights/service.ts';

const [config, dataDir, masterKey, demoUrl] = process.argv.slice(2);
const database = await createDatabase(JSON.parse(config));
const ctx = await openServiceContext({ database, dataDir, env: { PIPA_MASTER_KEY: masterKey }, migrate: false });
const subjects = createSubjectService(ctx);
const vault = createVaultService(ctx, { subjects });
const ledger = createConsentLedger(ctx, { subjects });
const queue = createJobQueue({ database: ctx.database });
const env = { ${DEMO_ENV}: demoUrl };
// The dataset erasure happens, then the worker stalls before the job is marked done: the kill lands there.
const connectors = (_app, dataset) => {
  const c = createConnector(dataset, { env });
  return {
    ...c,
    describe: () => c.describe(),
    check: () => c.check(),
    locate: (k) => c.locate(k),
    collect: (k) => c.collect(k),
    correct: (k, ch) => c.correct(k, ch),
    close: () => c.close(),
    async erase(keys, options) {
      if (options?.dryRun) return c.erase(keys, options);
      const report = await c.erase(keys, options);
      console.log('ERASED ' + report.tables.map((t) => t.table + ':' + t.rows).join(','));
      await new Promise((resolve) => setTimeout(resolve, 60_000));
      return report;
    },
  };
};
const deps = createRightsDeps(ctx, { vault, ledger, subjects, queue, env, connectors });
const rights = createRightsService(ctx, deps, { env });
const runner = createJobRunner({ database: ctx.database, handlers: rights.handlers, queue, leaseMs: 1500, heartbeatMs: 300, pollIntervalMs: 100 });
await runner.start();
console.log('READY');
`;

forEachDialect('rights: a worker killed mid-request', (dialect) => {
  let h: RightsHarness;
  let dataDir: string;
  beforeAll(async () => {
    h = await openRightsHarness(dialect.database);
    dataDir = mkdtempSync(join(tmpdir(), 'pipa-crash-'));
  });
  afterAll(async () => {
    await h.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('restarts and completes exactly once', async () => {
    const s = await h.subjects.ensure(h.ctx.db, { appId: XPP, kind: 'account', externalId: '1' });
    await h.vault.put(XPP, s.id, { 'contact.phone': '13812345678', 'basic.name': '王小明' }, { id: 'key_app000000001' });
    await h.vault.flush();
    const r = await h.rights.submit({ appId: XPP, subjectId: s.id, type: 'deletion', via: 'token', actor: { id: 'subject' } });

    const child = spawnTs(CHILD, [JSON.stringify(dialect.test.config), dataDir, TEST_MASTER_KEY, h.demo.url]);
    try {
      const line = await waitForLine(child, /^ERASED /, 60_000);
      expect(line).toContain(`${h.demo.table('merchants')}:1`);
    } finally {
      child.kill('SIGKILL');
      await new Promise((resolve) => child.once('exit', resolve));
    }
    // The external effect happened; pipa does not know yet.
    expect(await h.demo.rows('SELECT id FROM {merchants} ORDER BY id')).toEqual([{ id: '2' }]);
    const mid = await h.rights.get(XPP, r.request.id);
    expect(mid.request.state).toBe('in_progress');
    expect(mid.tasks.find((t) => t.target === 'dataset:xpp-demo')?.state).toBe('running');

    // The lease of the dead worker expires; this process's worker takes over.
    h.advance(10_000);
    await h.drain();
    const done = await h.rights.get(XPP, r.request.id);
    expect(done.request.state).toBe('completed');
    expect(done.transitions.filter((t) => t.to === 'completed')).toHaveLength(1);
    expect(done.tasks.every((t) => t.state === 'succeeded')).toBe(true);
    const erase = done.tasks.find((t) => t.target === 'dataset:xpp-demo');
    expect(erase?.attempts).toBe(2);
    // The second run found nothing left to erase.
    expect(
      ((erase?.result ?? { tables: [] }) as { tables: { table: string; rows: number }[] }).tables.find(
        (t) => t.table === h.demo.table('merchants'),
      )?.rows,
    ).toBe(0);
    const jobs = await h.ctx.db.selectFrom('jobs').select(['state']).where('group_id', '=', r.request.id).execute();
    expect(jobs.every((j) => j.state === 'succeeded')).toBe(true);
    const completed = (await h.ctx.audit.events({ appId: XPP, limit: 1000 })).filter(
      (e) => e.action === 'rights.completed' && (e.details as { request?: string } | null)?.request === r.request.id,
    );
    expect(completed).toHaveLength(1);
    expect(await recordCategories(h.ctx.db, s.id)).toHaveLength(0);
    // The held orders were recorded before the erasure ran: the retry, which no longer finds them through
    // the deleted merchant, does not lose them.
    const held = await h.ctx.db
      .selectFrom('legal_hold_rows')
      .select(['table_name', 'row_ref', 'held_until'])
      .where('request_id', '=', r.request.id)
      .orderBy('row_ref')
      .execute();
    const today = new Date().toISOString().slice(0, 10);
    expect(held).toEqual(
      [
        { table_name: h.demo.table('orders'), row_ref: '11', held_until: '2027-05-20' },
        { table_name: h.demo.table('orders'), row_ref: '12', held_until: '2027-06-15' },
      ].filter((x) => x.held_until > today),
    );
    expect((await h.ctx.audit.verify()).ok).toBe(true);
  }, 120_000);
});
