import { readFileSync } from 'node:fs';
import { DatasetDecl, loadDeclaration } from '@pipa/policy';
import { describe, expect, it } from 'vitest';
import { CONNECTOR_ERROR_CODES, CONNECTOR_ERROR_RETRYABLE, ConnectorError, isConnectorError } from './errors.js';
import { createConnector } from './index.js';
import { describePlan, planDataset } from './plan.js';
import { classifyMysqlError } from './sql/mysql.js';
import { classifyPostgresError } from './sql/postgres.js';
import { MYSQL_DIALECT, POSTGRES_DIALECT, SQLITE_DIALECT, Sql } from './sql/sql.js';
import { classifySqliteError, sqlitePath } from './sql/sqlite.js';

const table = (name: string, extra: Record<string, unknown> = {}) => ({
  name,
  subject: { column: 'phone', key: 'phone' },
  fields: { phone: 'contact.phone' },
  erasure: { default: 'delete-row' },
  ...extra,
});
const ds = (tables: unknown[], extra: Record<string, unknown> = {}) =>
  DatasetDecl.parse({ id: 'shop', engine: 'postgres', connectionEnv: 'SHOP_DB', tables, ...extra });
const planError = (d: ReturnType<typeof ds>): ConnectorError => {
  try {
    planDataset(d);
  } catch (err) {
    if (isConnectorError(err)) return err;
    throw err;
  }
  throw new Error('planDataset accepted the declaration');
};

describe('planDataset', () => {
  it('plans the example declaration of 小票票商户版', () => {
    const text = readFileSync(new URL('../../../../../examples/xiaopiaopiao-merchant/policy.yaml', import.meta.url), 'utf8');
    const { declaration } = loadDeclaration(text, 'policy.yaml');
    const decl = declaration.datasets?.[0];
    if (decl === undefined) throw new Error('no dataset');
    const plan = planDataset(decl);
    expect(plan.writeOrder.map((t) => t.name)).toEqual(['orders', 'login_logs', 'merchants']);
    const orders = plan.byName.get('orders');
    expect(orders?.subject).toEqual({
      kind: 'via',
      via: 'merchants',
      column: 'merchant_id',
      references: 'id',
      path: ['orders', 'merchants'],
      key: 'phone',
    });
    expect(orders?.free.actions).toEqual([{ strategy: 'delete-row', columns: ['buyer_phone', 'amount', 'created_at'] }]);
    // within the legal period the order keeps merchant_id, amount, created_at; the buyer's phone is erased
    expect(orders?.held?.actions).toEqual([
      { strategy: 'legal-hold', columns: ['merchant_id', 'amount', 'created_at'] },
      { strategy: 'set-null', columns: ['buyer_phone'] },
    ]);
    expect(plan.usesHash).toBe(false);
    expect(
      createConnector(decl, { env: {} })
        .describe()
        .tables.map((t) => t.name),
    ).toEqual(['merchants', 'orders', 'login_logs']);
  });

  it('turns delete-row into set-null on a held row and keeps legal-hold columns', () => {
    const plan = planDataset(
      ds([
        table('t', {
          fields: { phone: 'contact.phone', name: 'basic.name', note: 'online.app-usage', code: 'account.customer-code' },
          erasure: { default: 'delete-row', columns: { name: 'mask', code: 'legal-hold', note: 'keep' } },
          legalRetention: { period: 'P1Y', basis: 'law', columns: ['created_at'] },
        }),
      ]),
    );
    const t = plan.tables[0];
    expect(t?.held?.actions).toEqual([
      { strategy: 'legal-hold', columns: ['created_at', 'code'] },
      { strategy: 'set-null', columns: ['phone'], reason: 'row-held' },
      { strategy: 'mask', columns: ['name'] },
      { strategy: 'keep', columns: ['note'] },
    ]);
    expect(t?.held?.nulls).toEqual(['phone']);
    // after the period the legal-hold column follows the default: the row is deleted
    expect(t?.free.deleteRow).toBe(true);
    expect(describePlan(plan).tables[0]?.fields.find((f) => f.column === 'code')).toMatchObject({ strategy: 'legal-hold', held: true });
  });

  it('orders writes deepest join first and follows join chains to the key', () => {
    const plan = planDataset(
      ds([
        table('c', { subject: { via: 'b', column: 'b_id', references: 'id' } }),
        table('a', { subject: { column: 'ext', key: 'external-id' } }),
        table('b', { subject: { via: 'a', column: 'a_id', references: 'id' } }),
      ]),
    );
    expect(plan.writeOrder.map((t) => t.name)).toEqual(['c', 'b', 'a']);
    expect(plan.byName.get('c')?.subject).toMatchObject({ path: ['c', 'b', 'a'], key: 'external-id' });
  });

  it('uses <connectionEnv>_SECRET for HTTP unless secretEnv is declared', () => {
    expect(planDataset(DatasetDecl.parse({ id: 'x', engine: 'http', connectionEnv: 'CRM_URL' })).secretEnv).toBe('CRM_URL_SECRET');
    expect(planDataset(DatasetDecl.parse({ id: 'x', engine: 'http', connectionEnv: 'CRM_URL', secretEnv: 'CRM_KEY' })).secretEnv).toBe(
      'CRM_KEY',
    );
    expect(planDataset(ds([table('t')])).secretEnv).toBeUndefined();
  });

  it('rejects declarations it cannot execute, naming dataset, table and column', () => {
    const cases: [unknown[], string][] = [
      [[table('t', { fields: { 'phone; DROP TABLE t': 'contact.phone' } })], 'is not a plain identifier'],
      [[table('t', { subject: { column: 'a b', key: 'phone' } })], 'column "a b" in subject'],
      [[table('t', { primaryKey: 'id"' })], 'primaryKey'],
      [
        [table('t', { subject: { via: 'nope', column: 'x', references: 'id' } })],
        'subject.via names "nope", which is not a table of this dataset',
      ],
      [[table('t', { subject: { via: 't', column: 'x', references: 'id' } })], 'subject.via names the table itself'],
      [
        [
          table('a', { subject: { via: 'b', column: 'x', references: 'id' } }),
          table('b', { subject: { via: 'a', column: 'y', references: 'id' } }),
        ],
        'loops back',
      ],
      [[table('t', { erasure: { default: 'legal-hold' } })], 'the legal-hold strategy needs legalRetention'],
      [[table('t', { erasure: { default: 'delete-row', columns: { phone: 'legal-hold' } } })], 'needs legalRetention'],
      [[table('t', { writable: ['name'] })], 'writable names column "name", which is not in fields'],
      [[table('t', { erasure: { default: 'delete-row', columns: { nmae: 'mask' } } })], 'erasure.columns names column "nmae"'],
      [[table('t'), table('t')], 'declared twice'],
      [[table('t', { legalRetention: { period: 'P1Y', basis: 'x', columns: ['a-b'] } })], 'legalRetention.columns'],
      [[table('t', { legalRetention: { period: 'P1Y', basis: 'x', from: 'created at' } })], 'legalRetention.from'],
      [[table('t', { subject: { via: 'u', column: 'x', references: 'i d' } }), table('u')], 'subject.references'],
      [[], 'must declare its tables'],
    ];
    for (const [tables, message] of cases) {
      const err = planError(ds(tables));
      expect(err.code).toBe('invalid_declaration');
      expect(err.message, message).toContain(message);
      expect(err.message).toContain('dataset "shop"');
      expect(err.messageZh).toContain('数据集 "shop"');
      expect(err.retryable).toBe(false);
    }
    expect(() => ds([table('a.b.c')])).toThrow(); // the schema already refuses it
  });
});

describe('Sql', () => {
  it('quotes identifiers per dialect and binds every value', () => {
    const build = (d: typeof POSTGRES_DIALECT) =>
      new Sql(d)
        .raw('SELECT ')
        .column('id', 'j0')
        .raw(' FROM ')
        .table('shop.orders', 'j0')
        .raw(' WHERE ')
        .column('phone')
        .raw(' IN ')
        .list(["1' OR '1'='1", 2]);
    const pg = build(POSTGRES_DIALECT);
    expect(pg.text).toBe(`SELECT "j0"."id" FROM "shop"."orders" "j0" WHERE "phone" IN ($1, $2)`);
    expect(pg.params).toEqual(["1' OR '1'='1", 2]);
    expect(build(MYSQL_DIALECT).text).toBe('SELECT `j0`.`id` FROM `shop`.`orders` `j0` WHERE `phone` IN (?, ?)');
    expect(build(SQLITE_DIALECT).text).toBe(`SELECT "j0"."id" FROM "shop"."orders" "j0" WHERE "phone" IN (?, ?)`);
  });

  it('refuses anything that is not a plain identifier', () => {
    for (const bad of ['a"b', 'a`b', 'a b', '1a', '', 'a;b', 'x'.repeat(64)]) {
      expect(() => new Sql(POSTGRES_DIALECT).column(bad)).toThrow(ConnectorError);
    }
    expect(() => new Sql(POSTGRES_DIALECT).table('a.b.c')).toThrow(ConnectorError);
    expect(() => new Sql(POSTGRES_DIALECT).list([])).toThrow();
  });
});

describe('errors', () => {
  it('has a retryability for every code', () => {
    for (const code of CONNECTOR_ERROR_CODES) expect(typeof CONNECTOR_ERROR_RETRYABLE[code]).toBe('boolean');
    expect(CONNECTOR_ERROR_CODES.filter((c) => CONNECTOR_ERROR_RETRYABLE[c])).toEqual([
      'connector_unavailable',
      'connector_timeout',
      'transient',
    ]);
    const e = new ConnectorError('schema_mismatch', 'en', 'zh', { dataset: 'd', table: 't', column: 'c' });
    expect(e.toJSON()).toEqual({
      code: 'schema_mismatch',
      retryable: false,
      message: 'en',
      messageZh: 'zh',
      dataset: 'd',
      table: 't',
      column: 'c',
    });
  });

  const err = (props: Record<string, unknown>, message = 'x') => Object.assign(new Error(message), props);

  it('classifies PostgreSQL errors by SQLSTATE', () => {
    const c = (code: string, message?: string) => classifyPostgresError(err({ code }, message)).code;
    expect(c('28P01')).toBe('auth_failed');
    expect(c('42501')).toBe('permission_denied');
    expect(c('40P01')).toBe('transient');
    expect(c('55P03')).toBe('transient');
    expect(c('57014')).toBe('connector_timeout');
    expect(c('57P01')).toBe('connector_unavailable');
    expect(c('53300')).toBe('connector_unavailable');
    expect(c('08006')).toBe('connector_unavailable');
    expect(c('42703')).toBe('schema_mismatch');
    expect(c('23505')).toBe('write_rejected');
    expect(c('22001')).toBe('write_rejected');
    expect(c('XX000')).toBe('driver_error');
    expect(c('ETIMEDOUT')).toBe('connector_timeout');
    expect(classifyPostgresError(new Error('Connection terminated due to connection timeout')).code).toBe('connector_timeout');
    expect(classifyPostgresError(new Error('Connection terminated unexpectedly')).code).toBe('connector_unavailable');
    expect(classifyPostgresError(Object.assign(new AggregateError([err({ code: 'ECONNREFUSED' })]), {})).code).toBe(
      'connector_unavailable',
    );
  });

  it('classifies MySQL/MariaDB errors by code, SQLSTATE and errno', () => {
    const c = (props: Record<string, unknown>) => classifyMysqlError(err(props)).code;
    expect(c({ code: 'ER_ACCESS_DENIED_ERROR', errno: 1045, sqlState: '28000' })).toBe('auth_failed');
    expect(c({ code: 'ER_TABLEACCESS_DENIED_ERROR', errno: 1142 })).toBe('permission_denied');
    expect(c({ code: 'ER_LOCK_DEADLOCK', errno: 1213, sqlState: '40001' })).toBe('transient');
    expect(c({ code: 'ER_LOCK_WAIT_TIMEOUT', errno: 1205 })).toBe('transient');
    expect(c({ code: 'ER_BAD_FIELD_ERROR', errno: 1054, sqlState: '42S22' })).toBe('schema_mismatch');
    expect(c({ code: 'ER_BAD_DB_ERROR', errno: 1049 })).toBe('invalid_config');
    expect(c({ code: 'PROTOCOL_CONNECTION_LOST' })).toBe('connector_unavailable');
    // MariaDB's CHECK failure (4025) has MySQL's name for another error: the SQLSTATE decides
    expect(c({ code: 'ER_INNODB_AUTOEXTEND_SIZE_OUT_OF_RANGE', errno: 4025, sqlState: '23000' })).toBe('write_rejected');
    expect(c({ code: 'ER_DATA_TOO_LONG', errno: 1406, sqlState: '22001' })).toBe('write_rejected');
    expect(c({ errno: 2013 })).toBe('connector_unavailable');
    expect(c({ code: 'ER_SOMETHING', errno: 1105, sqlState: 'HY000' })).toBe('driver_error');
  });

  it('classifies SQLite errors', () => {
    const c = (code: string, message?: string) => classifySqliteError(err({ code }, message)).code;
    expect(c('SQLITE_BUSY')).toBe('transient');
    expect(c('SQLITE_LOCKED_SHAREDCACHE')).toBe('transient');
    expect(c('SQLITE_CANTOPEN')).toBe('connector_unavailable');
    expect(c('SQLITE_READONLY')).toBe('permission_denied');
    expect(c('SQLITE_CONSTRAINT_CHECK')).toBe('write_rejected');
    expect(c('SQLITE_NOTADB')).toBe('invalid_config');
    expect(c('SQLITE_ERROR', 'no such column: x')).toBe('schema_mismatch');
    expect(c('SQLITE_ERROR', 'near "x": syntax error')).toBe('driver_error');
  });

  it('reads SQLite file values', () => {
    expect(sqlitePath('/data/app.db', '/cwd')).toBe('/data/app.db');
    expect(sqlitePath('data/app.db', '/cwd')).toBe('/cwd/data/app.db');
    expect(sqlitePath('sqlite:data/app.db', '/cwd')).toBe('/cwd/data/app.db');
    expect(sqlitePath('sqlite:///data/app.db', '/cwd')).toBe('/data/app.db');
    expect(sqlitePath('file:///data/app.db', '/cwd')).toBe('/data/app.db');
    expect(sqlitePath('sqlite:/data/app.db?mode=ro', '/cwd')).toBe('/data/app.db');
    for (const bad of [':memory:', 'sqlite::memory:', 'postgres://x@y/z', '', 'sqlite:']) expect(sqlitePath(bad, '/cwd')).toBeUndefined();
  });
});
