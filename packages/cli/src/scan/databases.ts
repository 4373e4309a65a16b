/**
 * Databases: SQLite files (better-sqlite3, read-only), PostgreSQL (pg) and MySQL / MariaDB
 * (mysql2). Every base table is sampled (`LIMIT n` rows) and each value is scanned with its column
 * name as context. A table that cannot be read is a warning; a database that cannot be reached is
 * an error of that target only.
 */
import { type DetectOptions, detect, maskValue } from '@pipa/detect';
import { GroupBuilder, type TargetResult } from './types.js';

export interface DbScanOptions {
  detect: DetectOptions;
  sample: number;
  timeoutMs: number;
}

/** A URL for display: the password is replaced by `***`. */
export function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url.replace(/\/\/([^:/@]+):[^@]*@/, '//$1:***@');
  }
}

export function dbKind(target: string): 'postgres' | 'mysql' | 'sqlite' | undefined {
  if (/^postgres(ql)?:\/\//i.test(target)) return 'postgres';
  if (/^(mysql|mariadb):\/\//i.test(target)) return 'mysql';
  if (/^sqlite:/i.test(target)) return 'sqlite';
  return undefined;
}

function cellText(v: unknown): string | undefined {
  if (v === null || v === undefined) return undefined;
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'bigint') return String(v);
  if (v instanceof Date) return undefined;
  if (v instanceof Uint8Array) return undefined;
  if (typeof v === 'object') {
    try {
      return JSON.stringify(v);
    } catch {
      return undefined;
    }
  }
  return undefined;
}

function scanRows(rows: readonly Record<string, unknown>[], table: string, groups: GroupBuilder, opts: DbScanOptions): void {
  for (const row of rows) {
    for (const [col, v] of Object.entries(row)) {
      const text = cellText(v);
      if (!text) continue;
      for (const d of detect(text, { ...opts.detect, fieldContext: col }))
        groups.add(d, () => maskValue(d.type, d.text), `${table}.${col}`);
    }
  }
}

function errorText(err: unknown): string {
  const e = err as { code?: string; message?: string; errno?: number };
  const code = e.code ?? '';
  if (code === 'ECONNREFUSED') return `无法连接（连接被拒绝）/ cannot connect (connection refused)`;
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return `无法解析主机名 / host not found`;
  if (code === 'ETIMEDOUT' || /timeout/i.test(e.message ?? '')) return `连接超时 / connection timed out`;
  if (code === '28P01' || code === '28000' || code === 'ER_ACCESS_DENIED_ERROR' || code === 'ER_DBACCESS_DENIED_ERROR')
    return `认证失败（用户名或密码错误）/ authentication failed (wrong user or password): ${e.message ?? ''}`.trim();
  if (code === '3D000' || code === 'ER_BAD_DB_ERROR') return `数据库不存在 / database does not exist: ${e.message ?? ''}`.trim();
  return `${e.message ?? String(err)}${code ? ` (${code})` : ''}`;
}

export async function scanSqlite(path: string, display: string, opts: DbScanOptions): Promise<TargetResult> {
  const groups = new GroupBuilder();
  const result: TargetResult = { target: display, kind: 'sqlite', status: 'scanned', warnings: [], groups: [], rows: 0 };
  let db: import('better-sqlite3').Database;
  try {
    const { default: Database } = await import('better-sqlite3');
    db = new Database(path, { readonly: true, fileMustExist: true });
  } catch (err) {
    return { ...result, status: 'error', message: `无法打开 SQLite 数据库 / cannot open SQLite database: ${errorText(err)}` };
  }
  try {
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").all() as {
      name: string;
    }[];
    for (const { name } of tables) {
      try {
        const rows = db.prepare(`SELECT * FROM "${name.replace(/"/g, '""')}" LIMIT ?`).all(opts.sample) as Record<string, unknown>[];
        result.rows = (result.rows ?? 0) + rows.length;
        scanRows(rows, name, groups, opts);
      } catch (err) {
        result.warnings.push(`${display}: 表 ${name} 无法读取 / table ${name} cannot be read: ${errorText(err)}`);
      }
    }
  } catch (err) {
    return { ...result, status: 'error', message: `无法读取 SQLite 数据库 / cannot read SQLite database: ${errorText(err)}` };
  } finally {
    db.close();
  }
  result.groups = groups.groups();
  return result;
}

export async function scanPostgres(url: string, opts: DbScanOptions): Promise<TargetResult> {
  const display = safeUrl(url);
  const groups = new GroupBuilder();
  const result: TargetResult = { target: display, kind: 'postgres', status: 'scanned', warnings: [], groups: [], rows: 0 };
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: opts.timeoutMs, statement_timeout: opts.timeoutMs * 6 });
  // an error event after connect (server restart) must not crash the process
  client.on('error', () => {});
  try {
    await client.connect();
  } catch (err) {
    return { ...result, status: 'error', message: errorText(err) };
  }
  try {
    const tables = await client.query<{ s: string; t: string }>(
      "SELECT table_schema AS s, table_name AS t FROM information_schema.tables WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema') ORDER BY 1, 2",
    );
    for (const { s, t } of tables.rows) {
      const q = (x: string) => `"${x.replace(/"/g, '""')}"`;
      const name = s === 'public' ? t : `${s}.${t}`;
      try {
        const rows = await client.query(`SELECT * FROM ${q(s)}.${q(t)} LIMIT $1`, [opts.sample]);
        result.rows = (result.rows ?? 0) + rows.rows.length;
        scanRows(rows.rows as Record<string, unknown>[], name, groups, opts);
      } catch (err) {
        result.warnings.push(`${display}: 表 ${name} 无法读取 / table ${name} cannot be read: ${errorText(err)}`);
      }
    }
  } catch (err) {
    return { ...result, status: 'error', message: errorText(err) };
  } finally {
    await client.end().catch(() => {});
  }
  result.groups = groups.groups();
  return result;
}

export async function scanMysql(url: string, opts: DbScanOptions): Promise<TargetResult> {
  const display = safeUrl(url);
  const groups = new GroupBuilder();
  const result: TargetResult = { target: display, kind: 'mysql', status: 'scanned', warnings: [], groups: [], rows: 0 };
  const mysql = await import('mysql2/promise');
  let conn: import('mysql2/promise').Connection;
  try {
    conn = await mysql.createConnection({
      uri: url.replace(/^mariadb:/i, 'mysql:'),
      connectTimeout: opts.timeoutMs,
      supportBigNumbers: true,
      bigNumberStrings: true,
    });
  } catch (err) {
    return { ...result, status: 'error', message: errorText(err) };
  }
  conn.on('error', () => {});
  try {
    const [tables] = await conn.query(
      "SELECT table_schema AS s, table_name AS t FROM information_schema.tables WHERE table_type = 'BASE TABLE' AND (table_schema = DATABASE() OR (DATABASE() IS NULL AND table_schema NOT IN ('mysql', 'information_schema', 'performance_schema', 'sys'))) ORDER BY 1, 2",
    );
    const current = ((await conn.query('SELECT DATABASE() AS d'))[0] as { d: string | null }[])[0]?.d ?? null;
    for (const { s, t } of tables as { s: string; t: string }[]) {
      const q = (x: string) => `\`${x.replace(/`/g, '``')}\``;
      const name = s === current ? t : `${s}.${t}`;
      try {
        const [rows] = await conn.query(`SELECT * FROM ${q(s)}.${q(t)} LIMIT ?`, [opts.sample]);
        const list = rows as Record<string, unknown>[];
        result.rows = (result.rows ?? 0) + list.length;
        scanRows(list, name, groups, opts);
      } catch (err) {
        result.warnings.push(`${display}: 表 ${name} 无法读取 / table ${name} cannot be read: ${errorText(err)}`);
      }
    }
  } catch (err) {
    return { ...result, status: 'error', message: errorText(err) };
  } finally {
    await conn.end().catch(() => {});
  }
  result.groups = groups.groups();
  return result;
}
