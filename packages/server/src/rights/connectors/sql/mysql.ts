/** MySQL / MariaDB driver of the SQL connector (`mysql2`). The URL comes from the dataset's environment variable. */
import mysql from 'mysql2/promise';
import { classifyNetworkCode, errorCodeOf } from '../errors.js';
import type { ColumnInfo, ColumnKind } from '../values.js';
import {
  connectFailure,
  type DriverErrorClass,
  MYSQL_DIALECT,
  type Sql,
  type SqlDriver,
  type SqlRow,
  type SqlSession,
  type TransactionMode,
} from './sql.js';

export interface MysqlDriverOptions {
  dataset: string;
  env: string;
  url: string;
  connectTimeoutMs: number;
  poolSize?: number;
}

const AUTH = new Set([
  'ER_ACCESS_DENIED_ERROR',
  'ER_ACCESS_DENIED_NO_PASSWORD_ERROR',
  'ER_NOT_SUPPORTED_AUTH_MODE',
  'ER_PASSWORD_NO_MATCH',
  'ER_MUST_CHANGE_PASSWORD_LOGIN',
]);
const PERMISSION = new Set([
  'ER_DBACCESS_DENIED_ERROR',
  'ER_TABLEACCESS_DENIED_ERROR',
  'ER_COLUMNACCESS_DENIED_ERROR',
  'ER_SPECIFIC_ACCESS_DENIED_ERROR',
  'ER_OPTION_PREVENTS_STATEMENT',
  'ER_CANT_EXECUTE_IN_READ_ONLY_TRANSACTION',
]);
const UNAVAILABLE = new Set([
  'ER_CON_COUNT_ERROR',
  'ER_TOO_MANY_USER_CONNECTIONS',
  'ER_SERVER_SHUTDOWN',
  'ER_NORMAL_SHUTDOWN',
  'ER_SERVER_GONE_ERROR',
  'ER_SERVER_LOST',
  'ER_CONNECTION_KILLED',
  'ER_NET_READ_ERROR',
  'ER_NET_READ_INTERRUPTED',
  'ER_NET_ERROR_ON_WRITE',
  'ER_HOST_IS_BLOCKED',
  'ER_HOST_NOT_PRIVILEGED',
  'ER_OUT_OF_RESOURCES',
  'ER_OUTOFMEMORY',
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_ENQUEUE_AFTER_FATAL_ERROR',
  'POOL_CLOSED',
]);
const TRANSIENT = new Set(['ER_LOCK_DEADLOCK', 'ER_LOCK_WAIT_TIMEOUT', 'ER_LOCK_NOWAIT', 'ER_XA_RBDEADLOCK']);
const TIMEOUT = new Set(['PROTOCOL_SEQUENCE_TIMEOUT', 'ER_QUERY_TIMEOUT', 'ER_STATEMENT_TIMEOUT']);
const SCHEMA = new Set(['ER_NO_SUCH_TABLE', 'ER_BAD_FIELD_ERROR', 'ER_BAD_TABLE_ERROR']);

export function classifyMysqlError(err: unknown): DriverErrorClass {
  const code = errorCodeOf(err);
  const sqlState =
    typeof err === 'object' && err !== null && typeof (err as { sqlState?: unknown }).sqlState === 'string'
      ? (err as { sqlState: string }).sqlState
      : undefined;
  const errno =
    typeof err === 'object' && err !== null && typeof (err as { errno?: unknown }).errno === 'number'
      ? (err as { errno: number }).errno
      : undefined;
  const driverCode = code ?? (errno !== undefined ? String(errno) : undefined);
  const net = classifyNetworkCode(code);
  if (net !== undefined) return { code: net, driverCode };
  if (code !== undefined) {
    if (AUTH.has(code)) return { code: 'auth_failed', driverCode };
    if (PERMISSION.has(code)) return { code: 'permission_denied', driverCode };
    if (code === 'ER_BAD_DB_ERROR') return { code: 'invalid_config', driverCode };
    if (UNAVAILABLE.has(code)) return { code: 'connector_unavailable', driverCode };
    if (TRANSIENT.has(code)) return { code: 'transient', driverCode };
    if (TIMEOUT.has(code)) return { code: 'connector_timeout', driverCode };
    if (SCHEMA.has(code)) return { code: 'schema_mismatch', driverCode };
  }
  if (sqlState !== undefined) {
    const cls = sqlState.slice(0, 2);
    if (sqlState === '40001') return { code: 'transient', driverCode };
    if (sqlState === '28000') return { code: 'auth_failed', driverCode };
    if (sqlState === '42S02' || sqlState === '42S22') return { code: 'schema_mismatch', driverCode };
    if (cls === '08') return { code: 'connector_unavailable', driverCode };
    if (cls === '23' || cls === '22' || sqlState === '45000') return { code: 'write_rejected', driverCode };
  }
  // 2000-2999 are client-side errors: the connection failed.
  if (errno !== undefined && errno >= 2000 && errno < 3000) return { code: 'connector_unavailable', driverCode };
  return { code: 'driver_error', driverCode };
}

function kindOf(dataType: string): ColumnKind {
  const t = dataType.toLowerCase();
  if (['varchar', 'char', 'text', 'tinytext', 'mediumtext', 'longtext'].includes(t)) return 'text';
  if (['tinyint', 'smallint', 'mediumint', 'int', 'integer', 'bigint'].includes(t)) return 'integer';
  if (['decimal', 'numeric', 'float', 'double', 'real'].includes(t)) return 'decimal';
  if (t === 'date') return 'date';
  if (t === 'datetime' || t === 'timestamp') return 'datetime';
  if (['binary', 'varbinary', 'blob', 'tinyblob', 'mediumblob', 'longblob'].includes(t)) return 'binary';
  if (t === 'bit' || t === 'boolean' || t === 'bool') return 'boolean';
  return 'other';
}

/** `mysql://` or `mariadb://`. */
export function isMysqlUrl(url: string): boolean {
  return /^(?:mysql|mariadb):\/\//i.test(url);
}

export async function openMysql(o: MysqlDriverOptions): Promise<SqlDriver> {
  const uri = o.url.replace(/^mariadb:/i, 'mysql:');
  const parsed = new URL(uri);
  const pool = mysql.createPool({
    uri,
    ...(parsed.port === '' ? { port: 3306 } : {}),
    connectionLimit: o.poolSize ?? 4,
    connectTimeout: o.connectTimeoutMs,
    // DATE / DATETIME as the server's text: never shifted by the local time zone.
    dateStrings: true,
    supportBigNumbers: true,
    bigNumberStrings: true,
    multipleStatements: false,
    // The server caps prepared statements; keep this pool's share small.
    maxPreparedStatements: 64,
    maxIdle: 1,
    idleTimeout: 10_000,
    enableKeepAlive: true,
  });
  const ctx = { dataset: o.dataset, env: o.env };

  const connect = async (): Promise<mysql.PoolConnection> => {
    try {
      return await pool.getConnection();
    } catch (err) {
      throw connectFailure(classifyMysqlError(err), { ...ctx, operation: 'connect' });
    }
  };

  const session = (conn: mysql.PoolConnection): SqlSession => ({
    dialect: MYSQL_DIALECT,
    async query(sql: Sql): Promise<SqlRow[]> {
      const [rows] = await conn.execute<mysql.RowDataPacket[]>(sql.text, [...sql.params]);
      return rows as SqlRow[];
    },
    async run(sql: Sql): Promise<number> {
      const [result] = await conn.execute<mysql.ResultSetHeader>(sql.text, [...sql.params]);
      return result.affectedRows;
    },
    async columns(table: string): Promise<Map<string, ColumnInfo> | undefined> {
      const dot = table.indexOf('.');
      const schema = dot >= 0 ? table.slice(0, dot) : null;
      const name = dot >= 0 ? table.slice(dot + 1) : table;
      const [rows] = await conn.execute<mysql.RowDataPacket[]>(
        `SELECT COLUMN_NAME AS name, DATA_TYPE AS type, IS_NULLABLE AS nullable, CHARACTER_MAXIMUM_LENGTH AS maxlen
           FROM information_schema.COLUMNS
          WHERE TABLE_SCHEMA = COALESCE(?, DATABASE()) AND TABLE_NAME = ?
          ORDER BY ORDINAL_POSITION`,
        [schema, name],
      );
      if (rows.length === 0) return undefined;
      const out = new Map<string, ColumnInfo>();
      for (const r of rows) {
        const colName = String(r.name);
        const type = String(r.type);
        const maxlen = r.maxlen === null || r.maxlen === undefined ? undefined : Number(r.maxlen);
        out.set(colName, { name: colName, kind: kindOf(type), type, nullable: r.nullable === 'YES', maxLength: maxlen });
      }
      return out;
    },
  });

  return {
    dialect: MYSQL_DIALECT,
    classify: classifyMysqlError,
    async transaction<T>(mode: TransactionMode, fn: (s: SqlSession) => Promise<T>): Promise<T> {
      const conn = await connect();
      let broken = false;
      try {
        await conn.query(mode === 'write' ? 'START TRANSACTION' : 'START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY');
        const result = await fn(session(conn));
        await conn.query(mode === 'write' ? 'COMMIT' : 'ROLLBACK');
        return result;
      } catch (err) {
        try {
          await conn.query('ROLLBACK');
        } catch {
          broken = true;
        }
        throw err;
      } finally {
        if (broken) conn.destroy();
        else conn.release();
      }
    },
    async close() {
      await pool.end();
    },
  };
}
