/**
 * The SQL connectors against real databases: SQLite files in a temp dir always, PostgreSQL when
 * PIPA_TEST_POSTGRES_URL is set (own schema, dropped after), MariaDB/MySQL when PIPA_TEST_MYSQL_URL is
 * set (own uniquely named tables, dropped after). The same suite runs on each engine.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatasetDecl, type DatasetDecl as DatasetDeclType } from '@pipa/policy';
import Database from 'better-sqlite3';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Connector, ConnectorError, type ConnectorOptions, createConnector, type EraseReport, isConnectorError } from './index.js';

const PG_URL = process.env.PIPA_TEST_POSTGRES_URL ?? '';
const MYSQL_URL = process.env.PIPA_TEST_MYSQL_URL ?? '';
const NOW = new Date('2025-06-01T08:00:00Z');
const HASH_KEY = 'test-hash-key-0123456789abcdef';
const ENV_NAME = 'SHOP_DB_URL';

type Row = Record<string, string | null>;

interface Engine {
  readonly kind: 'sqlite' | 'postgres' | 'mysql';
  readonly engine: 'sqlite' | 'postgres' | 'mysql';
  /** The connection value put in the environment variable. */
  readonly url: string;
  /** Declared table name of a fixture table. */
  name(table: string): string;
  /** SQL with `{table}` replaced by the quoted, engine-specific table name. */
  exec(sql: string): Promise<void>;
  rows(sql: string): Promise<Row[]>;
  dispose(): Promise<void>;
}

const TABLES = ['merchants', 'orders', 'order_notes', 'login_logs', 'invoices', 'rb_parent', 'rb_child'];
const str = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));
const normalise = (rows: Record<string, unknown>[]): Row[] =>
  rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, str(v)])));

async function sqliteEngine(): Promise<Engine> {
  const dir = mkdtempSync(join(tmpdir(), 'pipa-conn-'));
  const file = join(dir, 'shop.db');
  const db = new Database(file);
  const sub = (sql: string) => sql.replace(/\{(\w+)\}/g, (_, t: string) => `"${t}"`);
  return {
    kind: 'sqlite',
    engine: 'sqlite',
    url: `sqlite:${file}`,
    name: (t) => t,
    async exec(sql) {
      db.exec(sub(sql));
    },
    async rows(sql) {
      return normalise(db.prepare(sub(sql)).all() as Record<string, unknown>[]);
    },
    async dispose() {
      db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function postgresEngine(): Promise<Engine> {
  const schema = `pipa_conn_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
  // Every value as the server's text, so that assertions compare strings.
  const client = new pg.Client({ connectionString: PG_URL, types: { getTypeParser: () => (v: string) => v } });
  await client.connect();
  await client.query(`CREATE SCHEMA "${schema}"`);
  const sub = (sql: string) => sql.replace(/\{(\w+)\}/g, (_, t: string) => `"${schema}"."${t}"`);
  return {
    kind: 'postgres',
    engine: 'postgres',
    url: PG_URL,
    name: (t) => `${schema}.${t}`,
    async exec(sql) {
      await client.query(sub(sql));
    },
    async rows(sql) {
      return normalise((await client.query(sub(sql))).rows);
    },
    async dispose() {
      await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await client.end();
    },
  };
}

async function mysqlEngine(): Promise<Engine> {
  const prefix = `pipa_c_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}_`;
  const conn = await mysql.createConnection({ uri: MYSQL_URL, dateStrings: true, supportBigNumbers: true, bigNumberStrings: true });
  const sub = (sql: string) => sql.replace(/\{(\w+)\}/g, (_, t: string) => `\`${prefix}${t}\``);
  return {
    kind: 'mysql',
    engine: 'mysql',
    url: MYSQL_URL,
    name: (t) => `${prefix}${t}`,
    async exec(sql) {
      await conn.query(sub(sql));
    },
    async rows(sql) {
      const [rows] = await conn.query(sub(sql));
      return normalise(rows as Record<string, unknown>[]);
    },
    async dispose() {
      await conn.query('SET FOREIGN_KEY_CHECKS = 0');
      for (const t of TABLES) await conn.query(`DROP TABLE IF EXISTS \`${prefix}${t}\``);
      await conn.query('SET FOREIGN_KEY_CHECKS = 1');
      await conn.end();
    },
  };
}

function ddl(kind: Engine['kind']): string[] {
  const birth = kind === 'sqlite' ? 'text' : 'date';
  const ts = kind === 'mysql' ? 'datetime' : 'timestamp';
  return [
    `CREATE TABLE {merchants} (id integer PRIMARY KEY, phone varchar(64) NOT NULL, name varchar(64), id_card varchar(32), bank_account varchar(64),
       birth_date ${birth}, address text, age integer, nickname varchar(64), ext_id varchar(64), internal_note text)`,
    `CREATE TABLE {orders} (id integer PRIMARY KEY, merchant_id integer NOT NULL, buyer_phone varchar(32), amount numeric(10,2), created_at date,
       FOREIGN KEY (merchant_id) REFERENCES {merchants} (id))`,
    `CREATE TABLE {order_notes} (id integer PRIMARY KEY, order_id integer NOT NULL, note text, FOREIGN KEY (order_id) REFERENCES {orders} (id))`,
    `CREATE TABLE {login_logs} (id integer PRIMARY KEY, merchant_ext varchar(64), ip varchar(64), device_imei varchar(32), at ${ts})`,
    `CREATE TABLE {invoices} (id integer PRIMARY KEY, merchant_id integer NOT NULL, title text, amount numeric(10,2), issued_on date,
       FOREIGN KEY (merchant_id) REFERENCES {merchants} (id))`,
    `CREATE TABLE {rb_parent} (id integer PRIMARY KEY, phone varchar(64) NOT NULL, CHECK (length(phone) = 11))`,
    `CREATE TABLE {rb_child} (id integer PRIMARY KEY, parent_id integer NOT NULL, note text, FOREIGN KEY (parent_id) REFERENCES {rb_parent} (id))`,
  ];
}

const DATA = [
  `INSERT INTO {merchants} (id, phone, name, id_card, bank_account, birth_date, address, age, nickname, ext_id, internal_note) VALUES
     (1, '13812345678', '王小明', '110101199003077578', '6222021234567890123', '1990-03-07', '河南省郑州市二七区瑞光创意工厂1号院3号楼', 34, '小明同学', 'ext-1', 'vip'),
     (2, '13987654321', '李四', '410102198501011234', '6222029876543210987', '1985-01-01', '辽宁省沈阳市和平区南京北街123号', 40, '李四', 'ext-2', 'none')`,
  `INSERT INTO {orders} (id, merchant_id, buyer_phone, amount, created_at) VALUES
     (11, 1, '13700000001', 120.50, '2024-05-20'), (12, 1, '13700000002', 80.00, '2020-01-15'), (13, 2, '13700000003', 55.00, '2024-01-01')`,
  `INSERT INTO {order_notes} (id, order_id, note) VALUES (101, 11, '请尽快发货'), (102, 12, '周末送达'), (103, 13, '无')`,
  `INSERT INTO {login_logs} (id, merchant_ext, ip, device_imei, at) VALUES
     (201, 'ext-1', '123.45.67.89', '490154203237518', '2025-05-01 10:00:00'),
     (202, 'ext-1', '123.45.67.90', '490154203237518', '2025-05-02 10:00:00'),
     (203, 'ext-2', '10.0.0.1', '356938035643809', '2025-05-03 10:00:00')`,
  `INSERT INTO {invoices} (id, merchant_id, title, amount, issued_on) VALUES (301, 1, '演出票', 120.50, '2024-05-21'), (302, 2, '演出票', 55.00, '2024-01-02')`,
  `INSERT INTO {rb_parent} (id, phone) VALUES (1, '13812345678'), (2, '13987654321')`,
  `INSERT INTO {rb_child} (id, parent_id, note) VALUES (1, 1, 'a'), (2, 1, 'b'), (3, 2, 'c')`,
];

const BASIS = {
  zh: '《电子商务法》第三十一条：交易信息保存不少于三年',
  en: 'E-Commerce Law art. 31: transaction records kept at least three years',
};
const TAX_BASIS = { zh: '《会计档案管理办法》：发票保存期限', en: 'Accounting Archives Measures: invoice retention' };

type TableInput = Record<string, unknown>;

function shopTables(n: (t: string) => string): TableInput[] {
  return [
    {
      name: n('merchants'),
      subject: { column: 'phone', key: 'phone' },
      fields: {
        phone: 'contact.phone',
        name: 'basic.name',
        id_card: 'identity.id-card',
        bank_account: 'finance.bank-account',
        birth_date: 'basic.birth-date',
        address: 'contact.address',
        age: 'basic.age',
        nickname: 'account.username',
      },
      erasure: {
        default: 'set-null',
        columns: {
          phone: 'hash',
          name: 'mask',
          id_card: 'mask',
          birth_date: 'generalise',
          address: 'generalise',
          age: 'generalise',
          nickname: 'keep',
        },
      },
      writable: ['name', 'address', 'bank_account'],
    },
    {
      name: n('orders'),
      subject: { via: n('merchants'), column: 'merchant_id', references: 'id' },
      fields: { buyer_phone: 'contact.phone', amount: 'finance.transactions', created_at: 'finance.transactions' },
      erasure: { default: 'delete-row', columns: { buyer_phone: 'set-null' } },
      legalRetention: { period: 'P3Y', basis: BASIS, columns: ['merchant_id', 'amount', 'created_at'], from: 'created_at' },
    },
    {
      name: n('order_notes'),
      subject: { via: n('orders'), column: 'order_id', references: 'id' },
      fields: { note: 'online.app-usage' },
      erasure: { default: 'delete-row' },
    },
    {
      name: n('login_logs'),
      subject: { column: 'merchant_ext', key: 'external-id' },
      fields: { ip: 'network.ip', device_imei: 'device.id.imei', at: 'online.access-logs' },
      erasure: { default: 'delete-row' },
    },
    {
      name: n('invoices'),
      subject: { via: n('merchants'), column: 'merchant_id', references: 'id' },
      fields: { title: 'finance.transactions', amount: 'finance.transactions' },
      erasure: { default: 'delete-row' },
      legalRetention: { period: 'P5Y', basis: TAX_BASIS, from: 'issued_on' },
    },
  ];
}

function dataset(e: Engine, tables: TableInput[]): DatasetDeclType {
  return DatasetDecl.parse({ id: 'shop', engine: e.engine, connectionEnv: ENV_NAME, tables });
}

const SUBJECT = { phone: '+86 138 1234 5678', 'external-id': 'ext-1' };

async function expectError(p: Promise<unknown>, code: string): Promise<ConnectorError> {
  try {
    await p;
  } catch (err) {
    if (!isConnectorError(err)) throw err;
    expect(err.code, `${err.code}: ${err.message}`).toBe(code);
    return err;
  }
  throw new Error(`expected a ConnectorError ${code}, got success`);
}

/** A TCP server that accepts connections and never answers (connect timeouts). */
async function silentServer(): Promise<{ port: number; close: () => Promise<void> }> {
  const sockets = new Set<import('node:net').Socket>();
  const server: Server = createServer((s) => {
    sockets.add(s);
    s.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address();
  const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
  return {
    port,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

// SQLite always; PostgreSQL and MariaDB when their URLs are set (.ci/run sets both).
const ENGINES: { name: string; make: () => Promise<Engine> }[] = [
  { name: 'sqlite', make: sqliteEngine },
  ...(PG_URL !== '' ? [{ name: 'postgres', make: postgresEngine }] : []),
  ...(MYSQL_URL !== '' ? [{ name: 'mariadb', make: mysqlEngine }] : []),
];

for (const target of ENGINES) {
  describe(`sql connector [${target.name}]`, () => {
    let e: Engine;
    const open: Connector[] = [];
    const connect = (tables?: TableInput[], options: ConnectorOptions = {}): Connector => {
      const c = createConnector(dataset(e, tables ?? shopTables(e.name)), { env: { [ENV_NAME]: e.url }, now: () => NOW, ...options });
      open.push(c);
      return c;
    };
    const snapshot = async () => {
      const out: Record<string, Row[]> = {};
      for (const t of TABLES) out[t] = await e.rows(`SELECT * FROM {${t}} ORDER BY id`);
      return out;
    };

    beforeAll(async () => {
      e = await target.make();
    });
    afterAll(async () => {
      for (const c of open) await c.close();
      await e?.dispose();
    });
    beforeEach(async () => {
      for (const t of [...TABLES].reverse()) await e.exec(`DROP TABLE IF EXISTS {${t}}`);
      for (const s of ddl(e.kind)) await e.exec(s);
      for (const s of DATA) await e.exec(s);
    });

    it('check() verifies every declared table and column', async () => {
      const c = connect();
      const r = await c.check();
      expect(r.dataset).toBe('shop');
      expect(r.tables.map((t) => t.table)).toEqual(['merchants', 'orders', 'order_notes', 'login_logs', 'invoices'].map(e.name));
      expect(r.tables[0]?.columns).toContain('internal_note');
    });

    it('describe() states the declaration without touching the database', () => {
      const d = connect().describe();
      expect(d.connectionEnv).toBe(ENV_NAME);
      const notes = d.tables.find((t) => t.name === e.name('order_notes'));
      expect(notes?.subject).toEqual({
        kind: 'via',
        via: e.name('orders'),
        column: 'order_id',
        references: 'id',
        path: [e.name('order_notes'), e.name('orders'), e.name('merchants')],
        key: 'phone',
      });
      const orders = d.tables.find((t) => t.name === e.name('orders'));
      expect(orders?.fields.find((f) => f.column === 'amount')).toMatchObject({ strategy: 'delete-row', held: true });
      expect(orders?.fields.find((f) => f.column === 'buyer_phone')).toMatchObject({ strategy: 'set-null', held: false });
      expect(JSON.stringify(d)).not.toContain(e.url);
    });

    it('locates the subject by the identifying column and through join paths', async () => {
      const c = connect();
      const r = await c.locate(SUBJECT);
      expect(r.found).toBe(true);
      expect(r.tables).toEqual([
        { table: e.name('merchants'), rows: 1 },
        { table: e.name('orders'), rows: 2 },
        { table: e.name('order_notes'), rows: 2 },
        { table: e.name('login_logs'), rows: 2 },
        { table: e.name('invoices'), rows: 1 },
      ]);
      // the 11-digit form and a list of keys work too
      const other = await c.locate({ phone: ['13900000000', '13987654321'], 'external-id': 'ext-2' });
      expect(other.tables.map((t) => t.rows)).toEqual([1, 1, 1, 1, 1]);
      const nobody = await c.locate({ phone: '13000000000', 'external-id': 'nobody' });
      expect(nobody.found).toBe(false);
    });

    it('reports tables the keys given cannot reach, and fails when none is reachable', async () => {
      const c = connect();
      const r = await c.locate({ phone: '13812345678' });
      expect(r.unreached).toEqual([{ table: e.name('login_logs'), key: 'external-id' }]);
      expect(r.tables.map((t) => t.table)).not.toContain(e.name('login_logs'));
      expect(r.tables.find((t) => t.table === e.name('order_notes'))?.rows).toBe(2);
      expect((await c.locate(SUBJECT)).unreached).toBeUndefined();
      const before = await snapshot();
      const report = await c.erase({ phone: '13812345678' }, { dryRun: true, hashKey: HASH_KEY });
      expect(report.unreached).toEqual([{ table: e.name('login_logs'), key: 'external-id' }]);
      expect(report.tables.map((t) => t.table)).toEqual(['merchants', 'orders', 'order_notes', 'invoices'].map(e.name));
      expect(await snapshot()).toEqual(before);

      const err = await expectError(c.locate({ 'subject-id': 'sub_1' }), 'subject_key_missing');
      expect(err.message).toContain('login_logs (external-id)');
      expect(err.message).toContain('merchants (phone)');
      expect(err.retryable).toBe(false);
      await expectError(c.locate({ phone: ' ' }), 'subject_key_missing');
      const corr = await expectError(
        c.correct({ 'external-id': 'ext-1' }, [{ table: e.name('merchants'), column: 'name', value: '王晓明' }]),
        'subject_key_missing',
      );
      expect(corr.table).toBe(e.name('merchants'));
      expect(await snapshot()).toEqual(before);
    });

    it('rejects malformed subjects', async () => {
      const c = connect();
      await expectError(c.locate({ phone: '13812345678', 'external-id': 'x', wechat: 'y' } as never), 'invalid_argument');
      await expectError(c.locate({ phone: 42, 'external-id': 'x' } as never), 'invalid_argument');
      await expectError(c.locate(null as never), 'invalid_argument');
      await expectError(c.locate(['13812345678'] as never), 'invalid_argument');
    });

    it('collect returns only declared columns, with their categories, of the subject only', async () => {
      const r = await connect().collect(SUBJECT);
      const merchants = r.tables[0];
      expect(merchants?.table).toBe(e.name('merchants'));
      expect(merchants?.categories).toMatchObject({ phone: 'contact.phone', id_card: 'identity.id-card' });
      expect(merchants?.rows).toHaveLength(1);
      const m = merchants?.rows[0] ?? {};
      expect(Object.keys(m).sort()).toEqual(['address', 'age', 'bank_account', 'birth_date', 'id_card', 'name', 'nickname', 'phone']);
      expect(m).toMatchObject({ phone: '13812345678', name: '王小明', id_card: '110101199003077578', birth_date: '1990-03-07' });
      expect(Number(m.age)).toBe(34);
      const orders = r.tables[1];
      expect(orders?.rows.map((o) => Object.keys(o).sort())).toEqual([
        ['amount', 'buyer_phone', 'created_at'],
        ['amount', 'buyer_phone', 'created_at'],
      ]);
      expect(orders?.rows.map((o) => o.buyer_phone)).toEqual(['13700000001', '13700000002']);
      expect(r.tables[2]?.rows).toEqual([{ note: '请尽快发货' }, { note: '周末送达' }]);
      expect(r.tables[3]?.rows.map((l) => l.ip)).toEqual(['123.45.67.89', '123.45.67.90']);
      expect(JSON.stringify(r)).not.toContain('李四');
      expect(JSON.stringify(r)).not.toContain('vip');
    });

    it('erases by every strategy in one transaction and reports what it touched without personal data', async () => {
      const report = await connect().erase(SUBJECT, { hashKey: HASH_KEY });
      expect(report).toEqual(expectedReport(e, false));
      const text = JSON.stringify(report);
      for (const pi of ['13812345678', '王小明', '110101199003077578', '6222021234567890123', '123.45.67.89', '瑞光'])
        expect(text).not.toContain(pi);

      const [m1, m2] = await e.rows('SELECT * FROM {merchants} ORDER BY id');
      const phoneHash = createHmac('sha256', HASH_KEY).update('contact.phone\u000013812345678').digest('hex');
      expect(m1).toMatchObject({
        phone: phoneHash,
        name: '王**',
        id_card: '1101**********7578',
        bank_account: null,
        birth_date: e.kind === 'sqlite' ? '1990' : '1990-01-01',
        address: '河南省郑州市二七区',
        age: '30',
        nickname: '小明同学',
        ext_id: 'ext-1',
        internal_note: 'vip',
      });
      expect(m2).toMatchObject({ phone: '13987654321', name: '李四', bank_account: '6222029876543210987' });

      // the order within the legal period keeps its held columns; the expired one is gone
      const orders = await e.rows('SELECT id, merchant_id, buyer_phone, amount, created_at FROM {orders} ORDER BY id');
      expect(orders.map((o) => o.id)).toEqual(['11', '13']);
      expect(orders[0]).toMatchObject({ merchant_id: '1', buyer_phone: null, created_at: '2024-05-20' });
      expect(Number(orders[0]?.amount)).toBe(120.5);
      expect(orders[1]?.buyer_phone).toBe('13700000003');
      expect((await e.rows('SELECT id FROM {order_notes} ORDER BY id')).map((r) => r.id)).toEqual(['103']);
      expect((await e.rows('SELECT id FROM {login_logs} ORDER BY id')).map((r) => r.id)).toEqual(['203']);
      // the whole invoice row is under legal hold
      const invoices = await e.rows('SELECT id, title FROM {invoices} ORDER BY id');
      expect(invoices).toEqual([
        { id: '301', title: '演出票' },
        { id: '302', title: '演出票' },
      ]);

      // erasing again finds what is left: held rows stay held
      const again = await connect().erase({ phone: phoneHash, 'external-id': 'ext-1' }, { hashKey: HASH_KEY });
      expect(again.tables.find((t) => t.table === e.name('login_logs'))?.rows).toBe(0);
    });

    it('a dry run returns the same report and changes nothing', async () => {
      const before = await snapshot();
      const dry = await connect().erase(SUBJECT, { dryRun: true, hashKey: HASH_KEY });
      expect(dry).toEqual(expectedReport(e, true));
      expect(await snapshot()).toEqual(before);
      const real = await connect().erase(SUBJECT, { hashKey: HASH_KEY });
      expect({ ...real, dryRun: true }).toEqual(dry);
      expect(await snapshot()).not.toEqual(before);
    });

    it('keeps held rows after the period from the declared column and deletes them once it is over', async () => {
      const later = new Date('2027-05-21T00:00:00Z');
      const report = await connect(undefined, { now: () => later }).erase(SUBJECT, { hashKey: HASH_KEY });
      const orders = report.tables.find((t) => t.table === e.name('orders'));
      expect(orders?.actions).toEqual([{ strategy: 'delete-row', columns: ['buyer_phone', 'amount', 'created_at'], rows: 2 }]);
      expect((await e.rows('SELECT id FROM {orders} ORDER BY id')).map((r) => r.id)).toEqual(['13']);
      const invoices = report.tables.find((t) => t.table === e.name('invoices'));
      expect(invoices?.actions[0]).toMatchObject({ strategy: 'legal-hold', legalHold: { until: '2029-05-21', period: 'P5Y' } });
    });

    it('reports the primary key and the end of the hold of every held row when asked, and only then', async () => {
      const plain = await connect().erase(SUBJECT, { dryRun: true, hashKey: HASH_KEY });
      expect(plain.tables.every((t) => !('heldRows' in t))).toBe(true);
      const dry = await connect().erase(SUBJECT, { dryRun: true, hashKey: HASH_KEY, heldRows: true });
      const held = Object.fromEntries(dry.tables.map((t) => [t.table, t.heldRows]));
      // order 11 (2024-05-20) is held for three years; order 12 (2020) is not held any more
      expect(held[e.name('orders')]).toEqual([{ key: 11, until: '2027-05-20' }]);
      expect(held[e.name('invoices')]).toEqual([{ key: 301, until: '2029-05-21' }]);
      expect(held[e.name('merchants')]).toEqual([]);
      const real = await connect().erase(SUBJECT, { hashKey: HASH_KEY, heldRows: true });
      expect(real.tables.map((t) => t.heldRows)).toEqual(dry.tables.map((t) => t.heldRows));
      expect(JSON.stringify(real)).not.toContain('13812345678');
    });

    it('reads held rows by primary key after the keys that found them are gone; unknown keys have no row', async () => {
      await connect().erase(SUBJECT, { hashKey: HASH_KEY });
      const c = connect();
      // the merchant's phone is hashed: the orders cannot be found through the person any more
      const byPerson = await c.collect({ phone: '13812345678' });
      expect(byPerson.tables.find((t) => t.table === e.name('orders'))?.rows).toEqual([]);
      const r = await c.collectRows([
        { table: e.name('orders'), keys: [11, 999] },
        { table: e.name('invoices'), keys: ['301'] },
      ]);
      const orders = r.tables.find((t) => t.table === e.name('orders'));
      expect(orders?.keys).toEqual([11]);
      expect(orders?.categories).toEqual({
        buyer_phone: 'contact.phone',
        amount: 'finance.transactions',
        created_at: 'finance.transactions',
      });
      expect(orders?.rows).toHaveLength(1);
      expect(orders?.rows[0]).toMatchObject({ buyer_phone: null, created_at: '2024-05-20' });
      expect(Number(orders?.rows[0]?.amount)).toBe(120.5);
      expect(r.tables.find((t) => t.table === e.name('invoices'))?.keys).toEqual([301]);
    });

    it('expires held rows by primary key once their hold ended, leaves the others held, counts only rows found', async () => {
      await connect().erase(SUBJECT, { hashKey: HASH_KEY });
      const rows = [
        { table: e.name('orders'), keys: [11, 999] },
        { table: e.name('invoices'), keys: [301] },
      ];
      // before the end of the hold nothing changes
      const early = await connect().eraseRows(rows, { heldRows: true });
      expect(early.tables.find((t) => t.table === e.name('orders'))).toMatchObject({
        rows: 1,
        actions: [{ strategy: 'legal-hold', columns: ['merchant_id', 'amount', 'created_at'], rows: 1 }],
        heldRows: [{ key: 11, until: '2027-05-20' }],
      });
      expect((await e.rows('SELECT id FROM {orders} ORDER BY id')).map((o) => o.id)).toEqual(['11', '13']);

      const later = new Date('2027-05-20T00:00:00Z');
      const dry = await connect(undefined, { now: () => later }).eraseRows(rows, { dryRun: true, heldRows: true });
      expect((await e.rows('SELECT id FROM {orders} ORDER BY id')).map((o) => o.id)).toEqual(['11', '13']);
      const report = await connect(undefined, { now: () => later }).eraseRows(rows, { heldRows: true });
      expect({ ...report, dryRun: true }).toEqual(dry);
      expect(report.tables.find((t) => t.table === e.name('orders'))).toEqual({
        table: e.name('orders'),
        rows: 1,
        actions: [{ strategy: 'delete-row', columns: ['buyer_phone', 'amount', 'created_at'], rows: 1 }],
        heldRows: [],
      });
      expect(report.tables.find((t) => t.table === e.name('invoices'))?.heldRows).toEqual([{ key: 301, until: '2029-05-21' }]);
      expect((await e.rows('SELECT id FROM {orders} ORDER BY id')).map((o) => o.id)).toEqual(['13']);
      expect((await e.rows('SELECT id FROM {invoices} ORDER BY id')).map((o) => o.id)).toEqual(['301', '302']);
      // again: nothing left to find
      const again = await connect(undefined, { now: () => later }).eraseRows(rows);
      expect(again.tables.find((t) => t.table === e.name('orders'))).toMatchObject({ rows: 0, actions: [] });
    });

    it('after the hold, applies the strategies of the held columns only: nothing is masked or hashed twice', async () => {
      const tables: TableInput[] = [
        {
          name: e.name('merchants'),
          subject: { column: 'phone', key: 'phone' },
          fields: { phone: 'contact.phone', name: 'basic.name', nickname: 'account.username' },
          erasure: { default: 'keep', columns: { phone: 'hash', name: 'mask', nickname: 'set-null' } },
          // held from the erasure (no `from`): the name and nickname stay for a year
          legalRetention: { period: 'P1Y', basis: BASIS, columns: ['name', 'nickname'] },
        },
      ];
      await connect(tables).erase(SUBJECT, { hashKey: HASH_KEY });
      const phoneHash = createHmac('sha256', HASH_KEY).update('contact.phone\u000013812345678').digest('hex');
      const after = await e.rows('SELECT phone, name, nickname FROM {merchants} WHERE id = 1');
      expect(after).toEqual([{ phone: phoneHash, name: '王小明', nickname: '小明同学' }]);
      const rows = [{ table: e.name('merchants'), keys: [1], heldSince: NOW }];
      // within the year: held, untouched
      const inside = await connect(tables, { now: () => new Date('2026-05-31T00:00:00Z') }).eraseRows(rows, {
        hashKey: HASH_KEY,
        heldRows: true,
      });
      expect(inside.tables[0]?.heldRows).toEqual([{ key: 1, until: '2026-06-01' }]);
      expect(await e.rows('SELECT phone, name, nickname FROM {merchants} WHERE id = 1')).toEqual(after);
      // after it: the held name is masked and the nickname set null; the phone, hashed at the erasure, is not hashed again
      const done = await connect(tables, { now: () => new Date('2026-06-01T00:00:00Z') }).eraseRows(rows, { hashKey: HASH_KEY });
      expect(done.tables[0]?.actions).toEqual([
        { strategy: 'set-null', columns: ['nickname'], rows: 1 },
        { strategy: 'mask', columns: ['name'], rows: 1 },
      ]);
      expect(await e.rows('SELECT phone, name, nickname FROM {merchants} WHERE id = 1')).toEqual([
        { phone: phoneHash, name: '王**', nickname: null },
      ]);
      // a held column hashed after the hold needs the key; here none is
      await connect(tables).eraseRows(rows);
      const heldPhone = [{ ...tables[0], legalRetention: { period: 'P1Y', basis: BASIS, columns: ['phone'] } }];
      await expectError(connect(heldPhone).eraseRows(rows), 'invalid_argument');
    });

    it('refuses bad selections by primary key before touching anything', async () => {
      const before = await snapshot();
      const c = connect();
      for (const bad of [
        [{ table: 'no_such_table', keys: [1] }],
        [{ table: e.name('login_logs'), keys: [201] }], // no legal retention: nothing held to expire
        [{ table: e.name('orders'), keys: [Number.POSITIVE_INFINITY] }],
        [{ table: e.name('orders'), keys: [null] }],
        [{ table: e.name('orders'), keys: 11 }],
        [{ table: e.name('orders'), keys: [11], heldSince: Number.NaN }],
        [{ table: e.name('orders'), keys: Array.from({ length: 10_001 }, (_, i) => i) }],
        'orders',
      ]) {
        const err = await expectError(c.eraseRows(bad as never, { hashKey: HASH_KEY }), 'invalid_argument');
        expect(err.message).not.toContain('13812345678');
      }
      await expectError(c.collectRows([{ table: 'no_such_table', keys: [1] }]), 'invalid_argument');
      expect(await snapshot()).toEqual(before);
    });

    it('needs a hash key when a column is hashed', async () => {
      const before = await snapshot();
      await expectError(connect().erase(SUBJECT), 'invalid_argument');
      await expectError(connect().erase(SUBJECT, { dryRun: true, hashKey: '' }), 'invalid_argument');
      expect(await snapshot()).toEqual(before);
    });

    it('a missing column fails with schema_mismatch naming dataset, table and column, and touches nothing', async () => {
      const tables = shopTables(e.name);
      const logs = tables[3] as { fields: Record<string, string> };
      logs.fields.loyalty_tier = 'account.customer-code';
      const before = await snapshot();
      const c = connect(tables);
      const err = await expectError(c.erase(SUBJECT, { hashKey: HASH_KEY }), 'schema_mismatch');
      expect(err.retryable).toBe(false);
      expect(err.dataset).toBe('shop');
      expect(err.table).toBe(e.name('login_logs'));
      expect(err.column).toBe('loyalty_tier');
      expect(err.message).toContain(`dataset "shop"`);
      expect(err.message).toContain(`table "${e.name('login_logs')}" has no column "loyalty_tier"`);
      expect(err.messageZh).toContain('没有列 "loyalty_tier"');
      expect(await snapshot()).toEqual(before);
      await expectError(c.check(), 'schema_mismatch');
      await expectError(c.collect(SUBJECT), 'schema_mismatch');
      await expectError(c.correct(SUBJECT, [{ table: e.name('merchants'), column: 'name', value: '王晓明' }]), 'schema_mismatch');
      expect(await snapshot()).toEqual(before);
    });

    it('reports every mismatch at once, with a suggestion, and a missing table', async () => {
      const tables = shopTables(e.name);
      (tables[0] as { fields: Record<string, string> }).fields.adress = 'contact.address';
      (tables[1] as { subject: Record<string, string> }).subject.references = 'merchant_no';
      tables.push({
        name: e.name('coupons'),
        subject: { column: 'phone', key: 'phone' },
        fields: { code: 'account.customer-code' },
        erasure: { default: 'delete-row' },
      });
      const err = await expectError(connect(tables).check(), 'schema_mismatch');
      const messages = err.problems.map((p) => p.message);
      expect(messages).toContain(`table "${e.name('coupons')}" does not exist`);
      expect(messages.find((m) => m.includes('"adress"'))).toContain('did you mean "address"?');
      expect(messages.find((m) => m.includes('merchant_no'))).toContain(`table "${e.name('merchants')}" has no column "merchant_no"`);
    });

    it('refuses strategies the column type cannot take before touching anything', async () => {
      const tables = shopTables(e.name);
      const m = tables[0] as { erasure: { columns: Record<string, string> } };
      m.erasure.columns.age = 'mask';
      m.erasure.columns.id_card = 'hash';
      const before = await snapshot();
      const err = await expectError(connect(tables).erase(SUBJECT, { hashKey: HASH_KEY }), 'schema_mismatch');
      const messages = err.problems.map((p) => p.message).join('\n');
      expect(messages).toContain('column "age": is ');
      expect(messages).toContain('mask needs a text column');
      if (e.kind === 'sqlite')
        expect(messages).not.toContain('id_card'); // SQLite does not bound varchar lengths
      else expect(messages).toContain('column "id_card": holds at most 32 characters; a keyed hash has 64');
      expect(await snapshot()).toEqual(before);

      const notNull = shopTables(e.name);
      (notNull[0] as { erasure: { columns: Record<string, string> } }).erasure.columns.phone = 'set-null';
      const err2 = await expectError(connect(notNull).check(), 'schema_mismatch');
      expect(err2.problems[0]?.message).toContain('column "phone": is NOT NULL');
    });

    it('fails a generalisation without a rule before touching anything', async () => {
      await e.exec(`UPDATE {merchants} SET address = 'somewhere' WHERE id = 1`);
      const tables = shopTables(e.name);
      (tables[0] as { erasure: { columns: Record<string, string> } }).erasure.columns.nickname = 'generalise';
      const before = await snapshot();
      const err = await expectError(connect(tables).erase(SUBJECT, { hashKey: HASH_KEY }), 'schema_mismatch');
      expect(err.column).toBe('nickname');
      expect(err.message).not.toContain('小明同学');
      expect(await snapshot()).toEqual(before);
    });

    it('all or nothing: a write the database refuses rolls back the whole dataset', async () => {
      const tables: TableInput[] = [
        {
          name: e.name('rb_parent'),
          subject: { column: 'phone', key: 'phone' },
          fields: { phone: 'contact.phone' },
          erasure: { default: 'hash' },
        },
        {
          name: e.name('rb_child'),
          subject: { via: e.name('rb_parent'), column: 'parent_id', references: 'id' },
          fields: { note: 'online.app-usage' },
          erasure: { default: 'delete-row' },
        },
      ];
      const before = await snapshot();
      const err = await expectError(connect(tables).erase({ phone: '13812345678' }, { hashKey: HASH_KEY }), 'write_rejected');
      expect(err.table).toBe(e.name('rb_parent'));
      expect(err.message).toContain('"phone"');
      expect(err.message).not.toContain('13812345678');
      expect(err.retryable).toBe(false);
      // the child rows were deleted first, then rolled back with the parent's failure
      expect(await snapshot()).toEqual(before);
    });

    it('corrects only columns declared writable, all in one transaction', async () => {
      const c = connect();
      const r = await c.correct(SUBJECT, [
        { table: e.name('merchants'), column: 'name', value: '王晓明' },
        { table: e.name('merchants'), column: 'address', value: '河南省郑州市金水区' },
        { table: e.name('merchants'), column: 'bank_account', value: null },
      ]);
      expect(r).toEqual({
        dataset: 'shop',
        tables: [{ table: e.name('merchants'), columns: ['name', 'address', 'bank_account'], rows: 1 }],
      });
      const [m1, m2] = await e.rows('SELECT name, address, bank_account FROM {merchants} ORDER BY id');
      expect(m1).toEqual({ name: '王晓明', address: '河南省郑州市金水区', bank_account: null });
      expect(m2?.name).toBe('李四');

      const before = await snapshot();
      const err = await expectError(
        c.correct(SUBJECT, [
          { table: e.name('merchants'), column: 'name', value: '王大明' },
          { table: e.name('merchants'), column: 'id_card', value: '110101199003070000' },
        ]),
        'not_writable',
      );
      expect(err.column).toBe('id_card');
      expect(err.message).toContain('writable: name, address, bank_account');
      await expectError(c.correct(SUBJECT, [{ table: e.name('orders'), column: 'amount', value: 1 }]), 'not_writable');
      await expectError(c.correct(SUBJECT, [{ table: 'nope', column: 'name', value: 'x' }]), 'not_writable');
      await expectError(c.correct(SUBJECT, []), 'invalid_argument');
      await expectError(c.correct(SUBJECT, [{ table: e.name('merchants'), column: 'name', value: { x: 1 } as never }]), 'invalid_argument');
      await expectError(
        c.correct(SUBJECT, [
          { table: e.name('merchants'), column: 'name', value: 'a' },
          { table: e.name('merchants'), column: 'name', value: 'b' },
        ]),
        'invalid_argument',
      );
      expect(await snapshot()).toEqual(before);
    });

    it('a correction the database refuses changes nothing', async () => {
      const tables: TableInput[] = [
        {
          name: e.name('rb_parent'),
          subject: { column: 'phone', key: 'phone' },
          fields: { phone: 'contact.phone' },
          erasure: { default: 'hash' },
          writable: ['phone'],
        },
        {
          name: e.name('rb_child'),
          subject: { via: e.name('rb_parent'), column: 'parent_id', references: 'id' },
          fields: { note: 'online.app-usage' },
          erasure: { default: 'delete-row' },
          writable: ['note'],
        },
      ];
      const before = await snapshot();
      // the child is written first (it joins through the parent), then the parent's CHECK fails
      const err = await expectError(
        connect(tables).correct({ phone: '13812345678' }, [
          { table: e.name('rb_parent'), column: 'phone', value: '1381234' },
          { table: e.name('rb_child'), column: 'note', value: 'corrected' },
        ]),
        'write_rejected',
      );
      expect(err.table).toBe(e.name('rb_parent'));
      expect(err.message).not.toContain('1381234');
      expect(await snapshot()).toEqual(before);
    });

    it('a missing environment variable is env_missing and names the variable only', async () => {
      const c = createConnector(dataset(e, shopTables(e.name)), { env: {}, now: () => NOW });
      open.push(c);
      const err = await expectError(c.check(), 'env_missing');
      expect(err.env).toBe(ENV_NAME);
      expect(err.message).toContain(ENV_NAME);
      expect(err.messageZh).toContain('环境变量');
      expect(err.retryable).toBe(false);
    });

    it('a value of the wrong kind is invalid_config and is not shown', async () => {
      const secret = 'https://user:s3cret@example.com/x';
      const c = createConnector(dataset(e, shopTables(e.name)), { env: { [ENV_NAME]: secret }, now: () => NOW });
      open.push(c);
      const err = await expectError(c.check(), 'invalid_config');
      expect(err.message).not.toContain('s3cret');
      expect(err.message).not.toContain('example.com');
    });

    it('after close() every call fails with closed', async () => {
      const c = connect();
      await c.check();
      await c.close();
      await expectError(c.check(), 'closed');
      await expectError(c.locate(SUBJECT), 'closed');
    });

    it('serialises concurrent operations on one connector', async () => {
      const c = connect();
      const results = await Promise.all([c.locate(SUBJECT), c.collect(SUBJECT), c.locate(SUBJECT), c.check()]);
      expect(results).toHaveLength(4);
    });
  });
}

function expectedReport(e: Engine, dryRun: boolean): EraseReport {
  return {
    dataset: 'shop',
    dryRun,
    at: NOW.toISOString(),
    tables: [
      {
        table: e.name('merchants'),
        rows: 1,
        actions: [
          { strategy: 'set-null', columns: ['bank_account'], rows: 1 },
          { strategy: 'mask', columns: ['name', 'id_card'], rows: 1 },
          { strategy: 'hash', columns: ['phone'], rows: 1 },
          { strategy: 'generalise', columns: ['birth_date', 'address', 'age'], rows: 1 },
          { strategy: 'keep', columns: ['nickname'], rows: 1 },
        ],
      },
      {
        table: e.name('orders'),
        rows: 2,
        actions: [
          { strategy: 'delete-row', columns: ['buyer_phone', 'amount', 'created_at'], rows: 1 },
          {
            strategy: 'legal-hold',
            columns: ['merchant_id', 'amount', 'created_at'],
            rows: 1,
            legalHold: { basis: BASIS, period: 'P3Y', firstUntil: '2027-05-20', until: '2027-05-20' },
          },
          { strategy: 'set-null', columns: ['buyer_phone'], rows: 1 },
        ],
      },
      { table: e.name('order_notes'), rows: 2, actions: [{ strategy: 'delete-row', columns: ['note'], rows: 2 }] },
      { table: e.name('login_logs'), rows: 2, actions: [{ strategy: 'delete-row', columns: ['ip', 'device_imei', 'at'], rows: 2 }] },
      {
        table: e.name('invoices'),
        rows: 1,
        actions: [
          {
            strategy: 'legal-hold',
            columns: ['title', 'amount'],
            rows: 1,
            legalHold: { basis: TAX_BASIS, period: 'P5Y', firstUntil: '2029-05-21', until: '2029-05-21' },
          },
        ],
      },
    ],
  };
}

describe('connection failures', () => {
  const decl = (engine: 'postgres' | 'mysql' | 'sqlite') =>
    DatasetDecl.parse({
      id: 'shop',
      engine,
      connectionEnv: ENV_NAME,
      tables: [
        {
          name: 'users',
          subject: { column: 'phone', key: 'phone' },
          fields: { phone: 'contact.phone' },
          erasure: { default: 'delete-row' },
        },
      ],
    });
  const tryCheck = async (engine: 'postgres' | 'mysql' | 'sqlite', url: string, options: ConnectorOptions = {}) => {
    const c = createConnector(decl(engine), { env: { [ENV_NAME]: url }, ...options });
    try {
      await c.check();
      throw new Error('check() succeeded');
    } catch (err) {
      if (!isConnectorError(err)) throw err;
      return err;
    } finally {
      await c.close();
    }
  };

  it('an unreachable PostgreSQL or MySQL server is connector_unavailable and retryable', async () => {
    for (const [engine, url] of [
      ['postgres', 'postgres://pipa:secret-pw@127.0.0.1:1/db'],
      ['mysql', 'mysql://pipa:secret-pw@127.0.0.1:1/db'],
    ] as const) {
      const err = await tryCheck(engine, url);
      expect(err.code).toBe('connector_unavailable');
      expect(err.retryable).toBe(true);
      expect(err.driverCode).toBe('ECONNREFUSED');
      expect(err.message).not.toContain('secret-pw');
      expect(err.message).toContain('"shop"');
      expect(err.messageZh).toContain('无法连接');
    }
  });

  it('a server that never answers is connector_timeout and retryable', async () => {
    const silent = await silentServer();
    try {
      for (const engine of ['postgres', 'mysql'] as const) {
        const started = Date.now();
        const err = await tryCheck(engine, `${engine}://pipa:secret-pw@127.0.0.1:${silent.port}/db`, { connectTimeoutMs: 300 });
        expect(err.code, `${engine}: ${err.code}`).toBe('connector_timeout');
        expect(err.retryable).toBe(true);
        expect(Date.now() - started).toBeLessThan(5000);
      }
    } finally {
      await silent.close();
    }
  });

  it.skipIf(PG_URL === '')('PostgreSQL: an unknown role is auth_failed, not retryable, without the password', async () => {
    const u = new URL(PG_URL);
    u.username = `pipa_no_such_role_${randomBytes(3).toString('hex')}`;
    u.password = 'wrong-password-123';
    const err = await tryCheck('postgres', u.href);
    expect(err.code).toBe('auth_failed');
    expect(err.retryable).toBe(false);
    expect(err.driverCode).toBe('28000');
    expect(err.message).not.toContain('wrong-password-123');
    expect(err.message).not.toContain(u.username);
  });

  it.skipIf(PG_URL === '')('PostgreSQL: a database that does not exist is invalid_config', async () => {
    const u = new URL(PG_URL);
    u.pathname = `/pipa_no_such_db_${randomBytes(3).toString('hex')}`;
    const err = await tryCheck('postgres', u.href);
    expect(err.code).toBe('invalid_config');
    expect(err.driverCode).toBe('3D000');
  });

  it.skipIf(MYSQL_URL === '')('MariaDB: a wrong password is auth_failed, not retryable, without the password', async () => {
    const u = new URL(MYSQL_URL);
    u.password = 'wrong-password-123';
    const err = await tryCheck('mysql', u.href);
    expect(err.code).toBe('auth_failed');
    expect(err.retryable).toBe(false);
    expect(err.driverCode).toBe('ER_ACCESS_DENIED_ERROR');
    expect(err.message).not.toContain('wrong-password-123');
    expect(err.messageZh).toContain('拒绝了凭据');
  });

  it('SQLite: a missing file is connector_unavailable (never created), a file that is no database is invalid_config', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pipa-conn-'));
    try {
      const missing = join(dir, 'missing.db');
      const err = await tryCheck('sqlite', missing);
      expect(err.code).toBe('connector_unavailable');
      expect(err.driverCode).toMatch(/^SQLITE_CANTOPEN/);
      const { existsSync } = await import('node:fs');
      expect(existsSync(missing)).toBe(false);
      const junk = join(dir, 'junk.db');
      writeFileSync(junk, 'this is not a database, just some text long enough to have a header'.repeat(20));
      expect((await tryCheck('sqlite', `file://${junk}`)).code).toBe('invalid_config');
      expect((await tryCheck('sqlite', ':memory:')).code).toBe('invalid_config');
      expect((await tryCheck('sqlite', 'postgres://x@y/z')).code).toBe('invalid_config');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('URLs of the wrong scheme are invalid_config', async () => {
    expect((await tryCheck('postgres', 'mysql://root@127.0.0.1/test')).code).toBe('invalid_config');
    expect((await tryCheck('mysql', 'postgres://root@127.0.0.1/test')).code).toBe('invalid_config');
  });

  it('a vault dataset has no connector', () => {
    expect(() => createConnector(DatasetDecl.parse({ id: 'vault', engine: 'vault' }))).toThrow(ConnectorError);
  });
});
