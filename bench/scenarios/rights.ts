/**
 * Rights requests (issue 4, Figures), pipa's store on SQLite (the embedded default), the operator's
 * demo database (the 小票票 example's `datasets`: merchants, orders, login_logs) on SQLite too, the
 * real vault, connector, job runner and package:
 *
 *  - deletion: one deletion request, submitted with a subject token and run to completion (the three
 *    demo tables by their strategies with the legal hold, then the vault crypto-shredded), when each
 *    table holds 1,000,000 indexed rows, against the same with 10,000 rows measured in the same run:
 *    under 2 s, and within 1.5x of the small one (median of several subjects);
 *  - cancellations: 1,000 account cancellations queued at once, worked by one runner (concurrency 4)
 *    until none is left: every one completed, no task stuck (running, queued, waiting or dead); the
 *    throughput is the figure;
 *  - access export: a subject with 10,000 rows across the datasets (5,000 orders, 5,000 log-ins, the
 *    merchant row) plus vault fields: submit to a downloaded ZIP, under 5 s.
 *
 * `--quick`: 100,000 rows instead of 1,000,000 and 200 cancellations.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { createJobRunner, type JobRunner } from '../../packages/server/dist/jobs/index.js';
import { createRightsArea, type RightsArea } from '../../packages/server/dist/rights/index.js';
import { DEMO_ENV, XPP } from '../../packages/server/dist/rights/test-support.js';
import { openServiceContext, type ServiceContext } from '../../packages/server/dist/service/context.js';
import { loadExample, publishForTest } from '../../packages/server/dist/service/test-context.js';
import { createSubjectService, type SubjectService } from '../../packages/server/dist/subjects/index.js';
import { createVaultService, type VaultService } from '../../packages/server/dist/vault/index.js';
import { type Figure, median, round, type Scenario } from '../lib.js';

const MASTER_KEY = randomBytes(32).toString('base64');
const PERSON = { id: 'subject' };

const phoneOf = (i: number) => `139${String(i).padStart(8, '0')}`;

/** The demo tables with `rows` rows each (indexed where the connector looks), in a SQLite file. */
function createDemo(file: string, rows: number): void {
  const db = new BetterSqlite3(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = OFF');
  db.exec(`
    CREATE TABLE merchants (id integer PRIMARY KEY, phone varchar(32) NOT NULL, name varchar(64), id_card varchar(32), bank_account varchar(64), created_at timestamp);
    CREATE TABLE orders (id integer PRIMARY KEY, merchant_id integer NOT NULL, buyer_phone varchar(32), amount numeric(10,2), created_at timestamp);
    CREATE TABLE login_logs (id integer PRIMARY KEY, merchant_id integer NOT NULL, ip varchar(64), device_imei varchar(32), at timestamp);
  `);
  const m = db.prepare('INSERT INTO merchants VALUES (?, ?, ?, ?, ?, ?)');
  const o = db.prepare('INSERT INTO orders VALUES (?, ?, ?, ?, ?)');
  const l = db.prepare('INSERT INTO login_logs VALUES (?, ?, ?, ?, ?)');
  const fill = db.transaction((from: number, to: number) => {
    for (let i = from; i < to; i++) {
      m.run(i, phoneOf(i), '王小明', '110101199003077578', `6222${String(i).padStart(12, '0')}`, '2023-01-05 09:00:00');
      o.run(i, i, `137${String(i).padStart(8, '0')}`, 120.5, '2024-05-20 12:00:00');
      l.run(i, i, '123.45.67.89', '490154203237518', '2025-05-01 10:00:00');
    }
  });
  for (let i = 0; i < rows; i += 50_000) fill(i, Math.min(rows, i + 50_000));
  db.exec(`
    CREATE INDEX merchants_phone ON merchants (phone);
    CREATE INDEX orders_merchant ON orders (merchant_id);
    CREATE INDEX logs_merchant ON login_logs (merchant_id);
    ANALYZE;
  `);
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
}

interface Env {
  ctx: ServiceContext;
  /** A fresh runner (the scenario's `runner` may have been started and stopped). */
  newRunner(): JobRunner;
  subjects: SubjectService;
  vault: VaultService;
  area: RightsArea;
  runner: JobRunner;
  demoFile: string;
  dispose(): Promise<void>;
}

async function openEnv(rows: number, log: (l: string) => void): Promise<Env> {
  const dir = mkdtempSync(join(tmpdir(), 'pipa-bench-rights-'));
  const demoFile = join(dir, 'xpp.db');
  const t0 = performance.now();
  createDemo(demoFile, rows);
  log(`demo tables: 3 x ${rows.toLocaleString('en')} rows in ${round((performance.now() - t0) / 1000, 1)} s`);
  const ctx = await openServiceContext({ db: `sqlite:${join(dir, 'pipa.db')}`, dataDir: dir, env: { PIPA_MASTER_KEY: MASTER_KEY } });
  const declaration = structuredClone(loadExample('xiaopiaopiao'));
  const ds = declaration.datasets?.[0];
  if (ds === undefined) throw new Error('the example declares no dataset');
  ds.engine = 'sqlite';
  ds.connectionEnv = DEMO_ENV;
  await publishForTest(ctx, declaration);
  const subjects = createSubjectService(ctx);
  const vault = createVaultService(ctx, { subjects });
  const area = createRightsArea(ctx, { subjects, vault, env: { [DEMO_ENV]: `sqlite:${demoFile}` } });
  const runners: JobRunner[] = [];
  const newRunner = () => {
    const r = createJobRunner({ database: ctx.database, handlers: area.handlers, concurrency: 4, pollIntervalMs: 50 });
    runners.push(r);
    return r;
  };
  const runner = newRunner();
  return {
    ctx,
    newRunner,
    subjects,
    vault,
    area,
    runner,
    demoFile,
    async dispose() {
      for (const r of runners) await r.stop({ graceMs: 5000 });
      await vault.flush();
      await ctx.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function merchant(env: Env, i: number): Promise<string> {
  const s = await env.subjects.ensure(env.ctx.db, { appId: XPP, kind: 'account', externalId: String(i) });
  await env.vault.put(XPP, s.id, { 'contact.phone': phoneOf(i), 'basic.name': '王小明' }, { id: 'key_bench00000001' });
  return s.id;
}

/** Work due jobs in this process until the request is closed. */
async function runToEnd(env: Env, requestId: string, runner: JobRunner = env.runner): Promise<string> {
  for (let round = 0; round < 1000; round++) {
    const d = await env.area.service.find(requestId);
    if (d === undefined) throw new Error(`request ${requestId} vanished`);
    if (d.request.state !== 'in_progress') return d.request.state;
    if (d.request.waiting !== null && !d.request.waiting.retrying)
      throw new Error(`request ${requestId} waits: ${d.request.waiting.message}`);
    const ran = await runner.runDue();
    if (ran === 0) await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`request ${requestId} did not finish`);
}

/** Time (ms) of one deletion of merchant `i`, submit to completed. */
async function deletionMs(env: Env, i: number): Promise<number> {
  const subjectId = await merchant(env, i);
  await env.vault.flush();
  const t0 = performance.now();
  const r = await env.area.service.submit({ appId: XPP, subjectId, type: 'deletion', via: 'token', actor: PERSON });
  const state = await runToEnd(env, r.request.id);
  const ms = performance.now() - t0;
  if (state !== 'completed') throw new Error(`deletion ended ${state}`);
  return ms;
}

function merchantsLeft(env: Env): number {
  const db = new BetterSqlite3(env.demoFile, { readonly: true });
  try {
    return (db.prepare('SELECT count(*) AS n FROM merchants').get() as { n: number }).n;
  } finally {
    db.close();
  }
}

export const rightsScenario: Scenario = {
  name: 'rights',
  description: 'deletion across the vault + 3 tables (1M rows vs 10k), 1,000 cancellations at once, access export of 10,000 rows',
  async run({ quick, log }) {
    const big = quick ? 100_000 : 1_000_000;
    const small = 10_000;
    const cancellations = quick ? 200 : 1000;
    const figures: Figure[] = [];

    // ---------------------------------------------------------------- deletion: big vs small
    // Both stores open at once and measured in turns (small, big, small, big …) so that the machine's
    // noise falls on both alike; the first round of each warms the caches and is not counted.
    const runs = 9;
    const smallEnv = await openEnv(small, log);
    const bigEnv = await openEnv(big, log);
    let smallMs: number;
    let bigMs: number;
    try {
      const smallTimes: number[] = [];
      const bigTimes: number[] = [];
      for (let k = 0; k <= runs; k++) {
        const s = await deletionMs(smallEnv, Math.floor(((k + 1) * small) / (runs + 2)));
        const b = await deletionMs(bigEnv, Math.floor(((k + 1) * big) / (runs + 2)));
        if (k > 0) {
          smallTimes.push(s);
          bigTimes.push(b);
        }
      }
      if (merchantsLeft(smallEnv) !== small - runs - 1 || merchantsLeft(bigEnv) !== big - runs - 1) {
        throw new Error('a deletion did not remove exactly its merchant row');
      }
      smallMs = median(smallTimes);
      bigMs = median(bigTimes);
    } finally {
      await smallEnv.dispose();
      await bigEnv.dispose();
    }
    log(
      `deletion: ${round(bigMs)} ms with ${big.toLocaleString('en')} rows per table, ${round(smallMs)} ms with ${small.toLocaleString('en')}`,
    );
    figures.push({
      name: `deletion, vault + 3 tables of ${big.toLocaleString('en')} rows`,
      value: round(bigMs),
      unit: 'ms',
      target: '< 2000 ms',
      ok: bigMs < 2000,
    });
    const ratio = bigMs / smallMs;
    figures.push({
      name: `deletion ${big.toLocaleString('en')} rows / ${small.toLocaleString('en')} rows`,
      value: round(bigMs),
      unit: 'ms',
      baseline: round(smallMs),
      ratio: round(ratio, 3),
      target: 'ratio <= 1.5',
      ok: ratio <= 1.5,
    });

    // ---------------------------------------------------------------- cancellations at once
    const env = await openEnv(Math.max(small, cancellations + 10), log);
    try {
      const ids: string[] = [];
      for (let i = 0; i < cancellations; i++) ids.push(await merchant(env, i));
      await env.vault.flush();
      const t0 = performance.now();
      const requests: string[] = [];
      for (const subjectId of ids) {
        const r = await env.area.service.submit({
          appId: XPP,
          subjectId,
          type: 'account_cancellation',
          via: 'token',
          confirmIrreversible: true,
          actor: PERSON,
        });
        requests.push(r.request.id);
      }
      const queuedMs = performance.now() - t0;
      await env.runner.start();
      const deadline = Date.now() + 15 * 60_000;
      let done = 0;
      while (Date.now() < deadline) {
        const n = await env.ctx.db
          .selectFrom('rights_requests')
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .where('type', '=', 'account_cancellation')
          .where('state', '=', 'completed')
          .executeTakeFirstOrThrow();
        done = Number(n.n);
        if (done >= cancellations) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      const totalMs = performance.now() - t0;
      await env.runner.stop({ graceMs: 5000 });
      const stuck = await env.ctx.db
        .selectFrom('jobs')
        .select(['state'])
        .where('state', 'in', ['running', 'queued', 'waiting', 'dead'])
        .where('kind', '=', 'rights.task')
        .execute();
      const erased = await env.ctx.db.selectFrom('subjects').select('id').where('status', '=', 'erased').execute();
      const perSecond = (cancellations / totalMs) * 1000;
      log(
        `cancellations: ${cancellations} queued in ${round(queuedMs)} ms, ${done} completed in ${round(totalMs / 1000, 2)} s (${round(perSecond, 1)}/s), ${erased.length} subjects erased, ${stuck.length} tasks stuck`,
      );
      figures.push({
        name: `${cancellations} account cancellations queued at once: throughput`,
        value: round(perSecond, 1),
        unit: 'requests/s',
        target: `all ${cancellations} completed, 0 tasks stuck`,
        ok: done === cancellations && stuck.length === 0 && erased.length === cancellations,
      });

      // ------------------------------------------------------------ access export of 10,000 rows
      const i = cancellations + 5;
      const demo = new BetterSqlite3(env.demoFile);
      const addRows = demo.transaction(() => {
        const o = demo.prepare('INSERT INTO orders (id, merchant_id, buyer_phone, amount, created_at) VALUES (?, ?, ?, ?, ?)');
        const l = demo.prepare('INSERT INTO login_logs (id, merchant_id, ip, device_imei, at) VALUES (?, ?, ?, ?, ?)');
        for (let k = 1; k < 5000; k++) o.run(10_000_000 + k, i, `137${String(k).padStart(8, '0')}`, k / 10, '2024-05-20 12:00:00');
        for (let k = 1; k < 5000; k++) l.run(10_000_000 + k, i, `10.0.${k % 256}.${k % 200}`, '490154203237518', '2025-05-01 10:00:00');
      });
      addRows();
      demo.close();
      const subjectId = await merchant(env, i);
      await env.vault.put(
        XPP,
        subjectId,
        { 'identity.id-card': '11010519491231002X', 'finance.bank-account': '6222021234567890123' },
        { id: 'key_bench00000001' },
      );
      await env.vault.flush();
      const e0 = performance.now();
      const r = await env.area.service.submit({ appId: XPP, subjectId, type: 'copy', via: 'token', actor: PERSON });
      const state = await runToEnd(env, r.request.id, env.newRunner());
      const link = await env.area.service.createDownloadLink(XPP, r.request.id, PERSON);
      const file = await env.area.service.download(link.token, PERSON);
      const exportMs = performance.now() - e0;
      const d = await env.area.service.find(r.request.id);
      const collected = (d?.tasks ?? [])
        .filter((t) => t.kind === 'collect' && t.target.startsWith('dataset:'))
        .flatMap((t) => (t.result as { tables?: { rows: number }[] } | null)?.tables ?? [])
        .reduce((n, t) => n + t.rows, 0);
      log(`access export: ${state}, ${collected} dataset rows, ZIP ${round(file.body.length / 1024, 1)} KiB, ${round(exportMs)} ms`);
      figures.push({
        name: `access export of a subject with ${collected.toLocaleString('en')} dataset rows (submit to downloaded ZIP)`,
        value: round(exportMs),
        unit: 'ms',
        target: '< 5000 ms',
        ok: state === 'completed' && collected >= 10_000 && exportMs < 5000,
      });
    } finally {
      await env.dispose();
    }
    return figures;
  },
};
