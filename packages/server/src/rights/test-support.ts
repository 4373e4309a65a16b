/**
 * Test helper (imported by tests only): a complete rights environment on a dialect block's database:
 * the service context with the example apps, subjects, vault, consent ledger, job queue and runner,
 * and the 小票票 demo tables (merchants, orders, login_logs) in SQLite, MariaDB or PostgreSQL, with the
 * example declaration's `datasets` pointed at them.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Declaration } from '@pipa/policy';
import BetterSqlite3 from 'better-sqlite3';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { createConsentLedger } from '../consent/ledger.js';
import { createJobQueue, type JobQueue } from '../jobs/queue.js';
import { createJobRunner, type JobRunner } from '../jobs/runner.js';
import type { ServiceContext, ServiceOptions } from '../service/context.js';
import { loadExample, openTestContext, publishForTest } from '../service/test-context.js';
import type { Database } from '../store/database.js';
import { createSubjectService, type SubjectService } from '../subjects/index.js';
import { createVaultService, type VaultService } from '../vault/index.js';
import { createRightsDeps } from './adapters.js';
import { chinaCalendar } from './calendar.js';
import { WEBHOOK_ALLOW_ENV } from './egress.js';
import type { RightsDeps } from './ports.js';
import { createRightsService, type RightsOptions, type RightsService } from './service.js';

export const XPP = 'xiaopiaopiao-merchant';
export const DEMO_ENV = 'XPP_DB_URL';
export const MYSQL_TEST_ENV = 'PIPA_TEST_MYSQL_URL';
export const DEFAULT_MYSQL_URL = 'mysql://root@127.0.0.1:3306/test';

export type DemoEngine = 'sqlite' | 'mysql' | 'postgres';

export interface DemoDatabase {
  readonly engine: DemoEngine;
  /** The value of the connection environment variable. */
  readonly url: string;
  /** The declared name of a demo table. */
  table(name: 'merchants' | 'orders' | 'login_logs'): string;
  exec(sql: string): Promise<void>;
  rows(sql: string): Promise<Record<string, string | null>[]>;
  dispose(): Promise<void>;
}

const str = (v: unknown): string | null => (v === null || v === undefined ? null : v instanceof Date ? v.toISOString() : String(v));
const normalise = (rows: Record<string, unknown>[]) => rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, str(v)])));

/** The demo tables: two merchants, their orders and log-in logs. `{merchants}` in SQL is replaced by the table name. */
export async function createDemoDatabase(engine: DemoEngine): Promise<DemoDatabase> {
  const prefix = `pr_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}_`;
  let db: Omit<DemoDatabase, 'table' | 'engine'>;
  let quote: (t: string) => string;
  let name: (t: string) => string;
  if (engine === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'pipa-demo-'));
    const file = join(dir, 'xpp.db');
    const raw = new BetterSqlite3(file);
    raw.pragma('journal_mode = WAL');
    name = (t) => t;
    quote = (t) => `"${t}"`;
    db = {
      url: `sqlite:${file}`,
      async exec(sql) {
        raw.exec(sql);
      },
      async rows(sql) {
        return normalise(raw.prepare(sql).all() as Record<string, unknown>[]);
      },
      async dispose() {
        raw.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } else if (engine === 'mysql') {
    const url = process.env[MYSQL_TEST_ENV] ?? DEFAULT_MYSQL_URL;
    const conn = await mysql.createConnection({ uri: url, dateStrings: true, multipleStatements: true });
    name = (t) => `${prefix}${t}`;
    quote = (t) => `\`${t}\``;
    db = {
      url,
      async exec(sql) {
        await conn.query(sql);
      },
      async rows(sql) {
        const [rows] = await conn.query(sql);
        return normalise(rows as Record<string, unknown>[]);
      },
      async dispose() {
        for (const t of ['login_logs', 'orders', 'merchants']) await conn.query(`DROP TABLE IF EXISTS \`${prefix}${t}\``);
        await conn.end();
      },
    };
  } else {
    const url = process.env.PIPA_TEST_POSTGRES_URL ?? '';
    const schema = `pr_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
    const client = new pg.Client({ connectionString: url, types: { getTypeParser: () => (v: string) => v } });
    await client.connect();
    await client.query(`CREATE SCHEMA "${schema}"`);
    name = (t) => `${schema}.${t}`;
    quote = (t) =>
      t
        .split('.')
        .map((p) => `"${p}"`)
        .join('.');
    db = {
      url,
      async exec(sql) {
        await client.query(sql);
      },
      async rows(sql) {
        return normalise((await client.query(sql)).rows);
      },
      async dispose() {
        await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
        await client.end();
      },
    };
  }
  const sub = (sql: string) => sql.replace(/\{(merchants|orders|login_logs)\}/g, (_, t: string) => quote(name(t)));
  const demo: DemoDatabase = {
    engine,
    url: db.url,
    table: (t) => name(t),
    exec: (sql) => db.exec(sub(sql)),
    rows: (sql) => db.rows(sub(sql)),
    dispose: () => db.dispose(),
  };
  const ts = engine === 'mysql' ? 'datetime' : 'timestamp';
  await demo.exec(
    `CREATE TABLE {merchants} (id integer PRIMARY KEY, phone varchar(32) NOT NULL, name varchar(64), id_card varchar(32), bank_account varchar(64), created_at ${ts})`,
  );
  await demo.exec(
    `CREATE TABLE {orders} (id integer PRIMARY KEY, merchant_id integer NOT NULL, buyer_phone varchar(32), amount numeric(10,2), created_at ${ts})`,
  );
  await demo.exec(
    `CREATE TABLE {login_logs} (id integer PRIMARY KEY, merchant_id integer NOT NULL, ip varchar(64), device_imei varchar(32), at ${ts})`,
  );
  const ident = (n: string) => (engine === 'mysql' ? `\`${n}\`` : `"${n}"`);
  await demo.exec(`CREATE INDEX ${ident(`${prefix}orders_m`)} ON {orders} (merchant_id)`);
  await demo.exec(`CREATE INDEX ${ident(`${prefix}logs_m`)} ON {login_logs} (merchant_id)`);
  await demo.exec(
    `INSERT INTO {merchants} (id, phone, name, id_card, bank_account, created_at) VALUES
       (1, '13812345678', '王小明', '110101199003077578', '6222021234567890123', '2023-01-05 09:00:00'),
       (2, '13987654321', '李四', '410102198501011234', '6222029876543210987', '2023-02-01 09:00:00')`,
  );
  await demo.exec(
    `INSERT INTO {orders} (id, merchant_id, buyer_phone, amount, created_at) VALUES
       (11, 1, '13700000001', 120.50, '2024-05-20 12:00:00'), (12, 1, '13700000002', 80.00, '2024-06-15 12:00:00'),
       (13, 2, '13700000003', 55.00, '2024-01-01 12:00:00')`,
  );
  await demo.exec(
    `INSERT INTO {login_logs} (id, merchant_id, ip, device_imei, at) VALUES
       (21, 1, '123.45.67.89', '490154203237518', '2025-05-01 10:00:00'), (22, 1, '123.45.67.90', '490154203237518', '2025-05-02 10:00:00'),
       (23, 2, '10.0.0.1', '356938035643809', '2025-05-03 10:00:00')`,
  );
  return demo;
}

/** The 小票票 example with its dataset pointed at `demo` (as a new published version). */
export function demoDeclaration(demo: DemoDatabase, change?: (d: Declaration) => void): Declaration {
  const d = structuredClone(loadExample('xiaopiaopiao'));
  const ds = d.datasets?.[0];
  if (ds === undefined) throw new Error('the example declares no dataset');
  ds.engine = demo.engine;
  ds.connectionEnv = DEMO_ENV;
  for (const t of ds.tables ?? []) {
    const base = t.name as 'merchants' | 'orders' | 'login_logs';
    t.name = demo.table(base);
    if ('via' in t.subject) t.subject.via = demo.table(t.subject.via as 'merchants');
  }
  change?.(d);
  return d;
}

export interface RightsHarness {
  ctx: ServiceContext;
  subjects: SubjectService;
  vault: VaultService;
  ledger: ReturnType<typeof createConsentLedger>;
  queue: JobQueue;
  deps: RightsDeps;
  rights: RightsService;
  /** Mutable: the connectors read it at each task. */
  env: Record<string, string | undefined>;
  demo: DemoDatabase;
  /** Moves the clock of everything forward. */
  advance(ms: number): void;
  runner(options?: { leaseMs?: number; concurrency?: number }): JobRunner;
  /** Run due jobs until none is left (and no retry falls within `settleMs`). */
  drain(options?: { rounds?: number }): Promise<number>;
  /**
   * The person cancels the account (subject token, irreversibility confirmed); its tasks run, then
   * again 15 minutes on (the retries). Returns the request id; the caller checks how it ended.
   */
  cancelAccount(subjectId: string): Promise<string>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  engine?: DemoEngine;
  rights?: RightsOptions;
  fetch?: typeof fetch;
  declaration?: (d: Declaration) => void;
  /** The master key provider (default: the fixed test key in the environment, which cannot rotate). */
  masterKey?: ServiceOptions['masterKey'];
}

export async function openRightsHarness(database: Database, options: HarnessOptions = {}): Promise<RightsHarness> {
  let offset = 0;
  const clock = () => Date.now() + offset;
  const ctx = await openTestContext(database, { clock, ...(options.masterKey !== undefined ? { masterKey: options.masterKey } : {}) });
  const demo = await createDemoDatabase(options.engine ?? 'sqlite');
  await publishForTest(ctx, demoDeclaration(demo, options.declaration), { version: `demo-${randomBytes(3).toString('hex')}` });
  const subjects = createSubjectService(ctx);
  const vault = createVaultService(ctx, { subjects });
  const ledger = createConsentLedger(ctx, { subjects });
  const queue = createJobQueue({ database: ctx.database, clock: { now: clock } });
  // The tests' webhook receivers listen on this machine, which webhooks may reach only when allowed.
  const env: Record<string, string | undefined> = { [DEMO_ENV]: demo.url, [WEBHOOK_ALLOW_ENV]: '127.0.0.0/8, ::1' };
  const deps = createRightsDeps(ctx, {
    vault,
    ledger,
    calendar: chinaCalendar(),
    subjects,
    queue,
    env,
    ...(options.fetch !== undefined ? { fetch: options.fetch } : {}),
  });
  const rights = createRightsService(ctx, deps, { env, ...options.rights });
  const runners: JobRunner[] = [];
  const runner = (o: { leaseMs?: number; concurrency?: number } = {}) => {
    const r = createJobRunner({
      database: ctx.database,
      handlers: rights.handlers,
      queue,
      clock: { now: clock },
      leaseMs: o.leaseMs ?? 30_000,
      concurrency: o.concurrency ?? 4,
    });
    runners.push(r);
    return r;
  };
  const main = runner();
  const harness: RightsHarness = {
    ctx,
    subjects,
    vault,
    ledger,
    queue,
    deps,
    rights,
    env,
    demo,
    advance(ms) {
      offset += ms;
    },
    runner,
    async drain(o = {}) {
      let total = 0;
      for (let i = 0; i < (o.rounds ?? 50); i++) {
        const n = await main.runDue();
        total += n;
        if (n === 0) break;
      }
      return total;
    },
    async cancelAccount(subjectId) {
      const r = await rights.submit({
        appId: XPP,
        subjectId,
        type: 'account_cancellation',
        via: 'token',
        confirmIrreversible: true,
        actor: { id: 'subject' },
      });
      await harness.drain();
      harness.advance(15 * 60_000);
      await harness.drain();
      return r.request.id;
    },
    async close() {
      for (const r of runners) await r.stop({ graceMs: 1000 });
      await vault.flush();
      await ctx.close();
      await demo.dispose();
    },
  };
  return harness;
}

/** A local HTTP endpoint recording what it receives; `respond` decides the status of each call. */
export interface Receiver {
  url: string;
  calls: { headers: IncomingMessage['headers']; body: string }[];
  respond: (n: number) => number;
  close(): Promise<void>;
}

export async function startReceiver(respond: (n: number) => number = () => 200): Promise<Receiver> {
  const calls: Receiver['calls'] = [];
  const state = { respond };
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => {
      body += c;
    });
    req.on('end', () => {
      calls.push({ headers: req.headers, body });
      res.statusCode = state.respond(calls.length);
      res.end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    calls,
    get respond() {
      return state.respond;
    },
    set respond(fn) {
      state.respond = fn;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
