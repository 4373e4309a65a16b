/**
 * SQLite driver of the SQL connector (better-sqlite3). The environment variable holds the file:
 * `/abs/path.db`, `relative/path.db`, `sqlite:path`, `sqlite://path` or `file:///abs/path.db`. The
 * file must exist (a connector never creates an empty database in its place). Foreign keys are
 * enforced. One connection, so transactions are serialised by a lock.
 */
import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { badEnv } from '../env.js';
import { classifyNetworkCode, connectorError, errorCodeOf } from '../errors.js';
import type { ColumnInfo, ColumnKind } from '../values.js';
import {
  connectFailure,
  type DriverErrorClass,
  Mutex,
  SQLITE_DIALECT,
  type Sql,
  type SqlDriver,
  type SqlParam,
  type SqlRow,
  type SqlSession,
  type TransactionMode,
} from './sql.js';

export interface SqliteDriverOptions {
  dataset: string;
  env: string;
  value: string;
  cwd: string;
  busyTimeoutMs: number;
}

/** The file a SQLite value names, or undefined when it is not a file (`:memory:`, another scheme). */
export function sqlitePath(value: string, cwd: string): string | undefined {
  let p = value.trim();
  if (/^file:\/\//i.test(p)) {
    try {
      p = fileURLToPath(p);
    } catch {
      return undefined;
    }
  } else if (/^sqlite:\/\//i.test(p)) p = p.slice('sqlite://'.length);
  else if (/^(?:sqlite|file):/i.test(p)) p = p.slice(p.indexOf(':') + 1);
  else if (/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(p)) return undefined;
  const q = p.indexOf('?');
  if (q >= 0) p = p.slice(0, q);
  if (p === '' || p === ':memory:' || p.startsWith(':')) return undefined;
  return isAbsolute(p) ? p : resolve(cwd, p);
}

export function classifySqliteError(err: unknown): DriverErrorClass {
  const code = errorCodeOf(err);
  const net = classifyNetworkCode(code);
  if (net !== undefined) return { code: net, driverCode: code };
  const message = err instanceof Error ? err.message : '';
  if (code === undefined) return { code: 'driver_error', driverCode: code };
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) return { code: 'transient', driverCode: code };
  if (code.startsWith('SQLITE_CANTOPEN') || code.startsWith('SQLITE_IOERR') || code === 'SQLITE_FULL' || code === 'SQLITE_PROTOCOL')
    return { code: 'connector_unavailable', driverCode: code };
  if (code === 'SQLITE_NOTADB') return { code: 'invalid_config', driverCode: code };
  if (code.startsWith('SQLITE_READONLY') || code === 'SQLITE_PERM' || code === 'SQLITE_AUTH')
    return { code: 'permission_denied', driverCode: code };
  if (code.startsWith('SQLITE_CONSTRAINT') || code === 'SQLITE_MISMATCH' || code === 'SQLITE_TOOBIG')
    return { code: 'write_rejected', driverCode: code };
  if (code === 'SQLITE_ERROR' && /no such (table|column)/i.test(message)) return { code: 'schema_mismatch', driverCode: code };
  return { code: 'driver_error', driverCode: code };
}

/** SQLite's type affinity rules (https://sqlite.org/datatype3.html 3.1), with dates told apart. */
function kindOf(declared: string): ColumnKind {
  const t = declared.toUpperCase();
  if (t === '') return 'any';
  if (t.includes('INT')) return 'integer';
  if (t.includes('CHAR') || t.includes('CLOB') || t.includes('TEXT')) return 'text';
  if (t.includes('BLOB')) return 'binary';
  if (t.includes('REAL') || t.includes('FLOA') || t.includes('DOUB')) return 'decimal';
  if (t.includes('DATETIME') || t.includes('TIMESTAMP')) return 'datetime';
  if (t.includes('DATE')) return 'date';
  if (t.includes('BOOL')) return 'boolean';
  return 'decimal';
}

function bind(params: readonly SqlParam[]): unknown[] {
  return params.map((p) => (typeof p === 'boolean' ? (p ? 1 : 0) : p instanceof Uint8Array && !Buffer.isBuffer(p) ? Buffer.from(p) : p));
}

export async function openSqlite(o: SqliteDriverOptions): Promise<SqlDriver> {
  const file = sqlitePath(o.value, o.cwd);
  if (file === undefined)
    throw badEnv(
      o.dataset,
      o.env,
      'is not a SQLite file path (an existing file: /path/app.db or sqlite:path)',
      '不是 SQLite 文件路径（应为已存在的文件：/path/app.db 或 sqlite:path）',
    );
  const ctx = { dataset: o.dataset, env: o.env, operation: 'connect' };
  let db: Database.Database;
  try {
    db = new Database(file, { fileMustExist: true, timeout: o.busyTimeoutMs });
    db.pragma('foreign_keys = ON');
    // Reading the schema proves the file is a database (better-sqlite3 opens lazily).
    db.prepare('SELECT count(*) FROM sqlite_schema').get();
  } catch (err) {
    throw connectFailure(classifySqliteError(err), ctx);
  }
  const lock = new Mutex();
  const cache = new Map<string, Database.Statement>();
  const prepare = (text: string): Database.Statement => {
    let st = cache.get(text);
    if (st === undefined) {
      st = db.prepare(text);
      if (cache.size >= 200) {
        const oldest = cache.keys().next().value;
        if (oldest !== undefined) cache.delete(oldest);
      }
      cache.set(text, st);
    }
    return st;
  };
  const session: SqlSession = {
    dialect: SQLITE_DIALECT,
    async query(sql: Sql): Promise<SqlRow[]> {
      return prepare(sql.text).all(...bind(sql.params)) as SqlRow[];
    },
    async run(sql: Sql): Promise<number> {
      return prepare(sql.text).run(...bind(sql.params)).changes;
    },
    async columns(table: string): Promise<Map<string, ColumnInfo> | undefined> {
      const dot = table.indexOf('.');
      const rows = (
        dot >= 0
          ? prepare('SELECT name, type, "notnull" AS nn FROM pragma_table_info(?, ?)').all(table.slice(dot + 1), table.slice(0, dot))
          : prepare('SELECT name, type, "notnull" AS nn FROM pragma_table_info(?)').all(table)
      ) as { name: string; type: string; nn: number }[];
      if (rows.length === 0) return undefined;
      return new Map(
        rows.map((r) => [
          r.name,
          { name: r.name, kind: kindOf(r.type), type: r.type === '' ? 'any' : r.type, nullable: r.nn === 0, maxLength: undefined },
        ]),
      );
    },
  };
  return {
    dialect: SQLITE_DIALECT,
    classify: classifySqliteError,
    transaction<T>(mode: TransactionMode, fn: (s: SqlSession) => Promise<T>): Promise<T> {
      return lock.run(async () => {
        if (!db.open) throw connectorError('closed', { dataset: o.dataset });
        const readOnly = mode !== 'write';
        if (readOnly) db.pragma('query_only = ON');
        try {
          db.exec(readOnly ? 'BEGIN' : 'BEGIN IMMEDIATE');
          try {
            const result = await fn(session);
            db.exec(mode === 'write' ? 'COMMIT' : 'ROLLBACK');
            return result;
          } catch (err) {
            if (db.inTransaction) db.exec('ROLLBACK');
            throw err;
          }
        } finally {
          if (readOnly) db.pragma('query_only = OFF');
        }
      });
    },
    async close() {
      await lock.run(async () => {
        if (db.open) db.close();
      });
    },
  };
}
