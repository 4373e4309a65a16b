/** PostgreSQL driver of the SQL connector (`pg`). The URL comes from the dataset's environment variable. */
import pg from 'pg';
import { classifyNetworkCode, errorCodeOf } from '../errors.js';
import type { ColumnInfo, ColumnKind } from '../values.js';
import {
  connectFailure,
  type DriverErrorClass,
  POSTGRES_DIALECT,
  type Sql,
  type SqlDriver,
  type SqlRow,
  type SqlSession,
  type TransactionMode,
} from './sql.js';

export interface PostgresDriverOptions {
  dataset: string;
  env: string;
  url: string;
  connectTimeoutMs: number;
  statementTimeoutMs: number;
  poolSize?: number;
}

// date, timestamp, timestamptz, time, timetz, interval: kept as the server's text, never shifted by the local time zone.
const RAW_TEXT_TYPES = new Set([1082, 1114, 1184, 1083, 1266, 1186]);
const identity = (v: string): string => v;
const getTypeParser = ((oid: number, format?: 'text' | 'binary') =>
  RAW_TEXT_TYPES.has(oid) && format !== 'binary'
    ? identity
    : pg.types.getTypeParser(oid, format ?? 'text')) as pg.CustomTypesConfig['getTypeParser'];

export function classifyPostgresError(err: unknown): DriverErrorClass {
  const code = errorCodeOf(err);
  const net = classifyNetworkCode(code);
  if (net !== undefined) return { code: net, driverCode: code };
  if (code !== undefined && /^[0-9A-Z]{5}$/.test(code)) {
    const cls = code.slice(0, 2);
    if (code === '28P01' || code === '28000') return { code: 'auth_failed', driverCode: code };
    if (code === '42501' || code === '25006') return { code: 'permission_denied', driverCode: code };
    if (code === '3D000' || code === '3F000') return { code: 'invalid_config', driverCode: code };
    if (code === '57014') return { code: 'connector_timeout', driverCode: code };
    if (code === '40001' || code === '40P01' || code === '55P03') return { code: 'transient', driverCode: code };
    if (code === '42P01' || code === '42703') return { code: 'schema_mismatch', driverCode: code };
    if (cls === '08' || cls === '53' || code === '57P01' || code === '57P02' || code === '57P03' || code === '58000' || code === '58030')
      return { code: 'connector_unavailable', driverCode: code };
    if (cls === '23' || cls === '22' || code === '42804' || code === 'P0001') return { code: 'write_rejected', driverCode: code };
    return { code: 'driver_error', driverCode: code };
  }
  const message = err instanceof Error ? err.message : '';
  if (/timeout|timed out/i.test(message)) return { code: 'connector_timeout', driverCode: code };
  if (/Connection terminated|connection.*(closed|ended)|Client has encountered a connection error/i.test(message))
    return { code: 'connector_unavailable', driverCode: code };
  return { code: 'driver_error', driverCode: code };
}

function kindOf(typname: string, category: string): ColumnKind {
  if (typname === 'date') return 'date';
  if (typname === 'timestamp' || typname === 'timestamptz') return 'datetime';
  if (typname === 'bool') return 'boolean';
  if (typname === 'bytea') return 'binary';
  if (typname === 'int2' || typname === 'int4' || typname === 'int8') return 'integer';
  if (category === 'S') return 'text';
  if (category === 'N') return 'decimal';
  return 'other';
}

export async function openPostgres(o: PostgresDriverOptions): Promise<SqlDriver> {
  const pool = new pg.Pool({
    connectionString: o.url,
    max: o.poolSize ?? 4,
    connectionTimeoutMillis: o.connectTimeoutMs,
    statement_timeout: o.statementTimeoutMs,
    idleTimeoutMillis: 10_000,
    allowExitOnIdle: true,
    application_name: 'pipa-connector',
    types: { getTypeParser },
  });
  // An idle pooled connection that drops: the next query reports it.
  pool.on('error', () => {});
  const ctx = { dataset: o.dataset, env: o.env };

  const connect = async (): Promise<pg.PoolClient> => {
    try {
      return await pool.connect();
    } catch (err) {
      throw connectFailure(classifyPostgresError(err), { ...ctx, operation: 'connect' });
    }
  };

  const session = (client: pg.PoolClient): SqlSession => ({
    dialect: POSTGRES_DIALECT,
    async query(sql: Sql): Promise<SqlRow[]> {
      const r = await client.query<SqlRow>(sql.text, [...sql.params]);
      return r.rows;
    },
    async run(sql: Sql): Promise<number> {
      const r = await client.query(sql.text, [...sql.params]);
      return r.rowCount ?? 0;
    },
    async columns(table: string): Promise<Map<string, ColumnInfo> | undefined> {
      const quoted = table
        .split('.')
        .map((p) => POSTGRES_DIALECT.quotePart(p))
        .join('.');
      const r = await client.query<{
        rel: string | null;
        name: string | null;
        typname: string | null;
        category: string | null;
        notnull: boolean | null;
        maxlen: number | null;
      }>(
        `SELECT c.rel::text AS rel, a.attname AS name, t.typname, t.typcategory AS category, a.attnotnull AS notnull,
                CASE WHEN t.typname IN ('varchar', 'bpchar') AND a.atttypmod > 4 THEN a.atttypmod - 4 END AS maxlen
           FROM (SELECT to_regclass($1) AS rel) c
           LEFT JOIN pg_attribute a ON a.attrelid = c.rel AND a.attnum > 0 AND NOT a.attisdropped
           LEFT JOIN pg_type t ON t.oid = a.atttypid
          ORDER BY a.attnum`,
        [quoted],
      );
      if (r.rows.length === 0 || r.rows[0]?.rel === null) return undefined;
      const out = new Map<string, ColumnInfo>();
      for (const row of r.rows) {
        if (row.name === null) continue;
        out.set(row.name, {
          name: row.name,
          kind: kindOf(row.typname ?? '', row.category ?? ''),
          type: row.typname ?? '',
          nullable: row.notnull !== true,
          maxLength: row.maxlen ?? undefined,
        });
      }
      return out;
    },
  });

  return {
    dialect: POSTGRES_DIALECT,
    classify: classifyPostgresError,
    async transaction<T>(mode: TransactionMode, fn: (s: SqlSession) => Promise<T>): Promise<T> {
      const client = await connect();
      let broken: Error | undefined;
      try {
        await client.query(mode === 'write' ? 'BEGIN' : 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
        const result = await fn(session(client));
        await client.query(mode === 'write' ? 'COMMIT' : 'ROLLBACK');
        return result;
      } catch (err) {
        try {
          await client.query('ROLLBACK');
        } catch (rollbackErr) {
          broken = rollbackErr instanceof Error ? rollbackErr : new Error('rollback failed');
        }
        throw err;
      } finally {
        client.release(broken);
      }
    },
    async close() {
      await pool.end();
    },
  };
}

/** Check the shape of a PostgreSQL URL without showing it. */
export function isPostgresUrl(url: string): boolean {
  return /^postgres(?:ql)?:\/\//i.test(url);
}
