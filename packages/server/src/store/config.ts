/**
 * Database configuration: one URL, plus options that the URL's query string may also carry.
 *
 *   (nothing)                        SQLite file `<dataDir>/pipa.db`, dataDir default `./.pipa`
 *   sqlite:<path> | sqlite://<path>  SQLite file (relative paths against the working directory)
 *   file:///abs/path.db | <path>     SQLite file
 *   :memory: | sqlite::memory:       SQLite in memory (tests; gone when closed)
 *   postgres://… | postgresql://…    PostgreSQL (libpq-style URL, handled by `pg`)
 *
 * Query parameters pipa reads (and removes before handing a PostgreSQL URL to `pg`):
 *   SQLite:     durability=process|power, busy_timeout=<ms>, checkpoint=background|inline, mmap_size=<bytes>
 *   PostgreSQL: schema=<name>, pool_size=<n>
 * Options passed in code override the URL.
 */
import { isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DialectName } from './capabilities.js';
import { StoreError } from './errors.js';

export const DEFAULT_DATA_DIR = '.pipa';
export const DEFAULT_SQLITE_FILE = 'pipa.db';

/**
 * What an acknowledged write survives (SQLite; PostgreSQL follows its own `synchronous_commit`, which
 * is `on` by default and survives both).
 * - `process`: a crash or SIGKILL of the pipa process. WAL with `synchronous=NORMAL`: a commit has
 *   written its frames to the WAL file (the OS page cache holds them) before it returns, without an
 *   fsync. An OS crash or power cut can lose the last commits, never corrupt the database. Default.
 * - `power`: also an OS crash or power cut. WAL with `synchronous=FULL`: the WAL is fsynced at
 *   every commit, so each write transaction costs one fsync.
 */
export const DURABILITIES = ['process', 'power'] as const;
export type Durability = (typeof DURABILITIES)[number];

/**
 * How much of a SQLite file is read through a memory map (`PRAGMA mmap_size`) by default: 1 GiB.
 * A page the 16 MiB page cache does not hold is then read from the OS page cache without a `pread`
 * call and a copy, which is most pages of a vault larger than the cache read at random
 * (`npm run bench -- service` prints what it is worth for masked reads over HTTP; docs/storage.md).
 * It maps address space, not memory: the pages are the OS page cache's, shared and reclaimable.
 * Writes still go through `write` (SQLite is built without SQLITE_MMAP_READWRITE), so durability is
 * unchanged; the trade-off is that an I/O error while reading the file stops the process (SIGBUS)
 * instead of failing one statement. 0 turns it off.
 */
export const DEFAULT_SQLITE_MMAP_SIZE = 1024 * 1024 * 1024;

/** Who copies a SQLite file's write-ahead log back into it (store/checkpointer.ts). */
export const CHECKPOINT_MODES = ['background', 'inline'] as const;
export type CheckpointMode = (typeof CHECKPOINT_MODES)[number];

export interface DatabaseConfig {
  /** See the module comment. Default: SQLite file in `dataDir`. */
  url?: string;
  /** Data directory for the default SQLite file. Default `./.pipa`. */
  dataDir?: string;
  /** Working directory relative paths resolve against. Default `process.cwd()`. */
  cwd?: string;
  /** SQLite: what an acknowledged write survives. Default `process`. */
  durability?: Durability;
  /** SQLite: how long to wait for another process's write lock before SQLITE_BUSY. Default 5000 ms. */
  busyTimeoutMs?: number;
  /** SQLite: prepared statements kept per connection. Default 500. */
  statementCacheSize?: number;
  /**
   * SQLite file: bytes of the file read through a memory map (`PRAGMA mmap_size`; SQLite caps it at
   * its compile-time maximum). 0 = none. Default `DEFAULT_SQLITE_MMAP_SIZE` (1 GiB).
   */
  mmapSize?: number;
  /**
   * SQLite file: who copies the write-ahead log back into the database file. `background` (default):
   * a worker thread, so that no commit stops the service for a checkpoint's fsync; `inline`: the
   * committing connection only (SQLite's default behaviour). See store/checkpointer.ts.
   */
  checkpoint?: CheckpointMode;
  /** SQLite, background checkpoints: time between two, ms. Default 1000. */
  checkpointIntervalMs?: number;
  /** PostgreSQL: connections in the pool. Default 10. */
  poolSize?: number;
  /** PostgreSQL: schema to work in (`search_path`). Default: the server's default (`public`). */
  schema?: string;
  /** PostgreSQL: `application_name` shown in `pg_stat_activity`. Default `pipa`. */
  applicationName?: string;
  /** PostgreSQL: how long to wait for a connection. Default 10 000 ms. */
  connectTimeoutMs?: number;
  /** PostgreSQL: server-side `statement_timeout` in ms; 0 = none. Default 0. */
  statementTimeoutMs?: number;
  /**
   * Errors that happen in the background (an idle pooled connection dropped, the LISTEN connection
   * lost and being re-established, a SQLite background checkpoint failed). Default: ignored; the
   * next query or the reconnect surfaces them.
   */
  onError?: (error: Error, context: string) => void;
}

export interface SqliteResolved {
  dialect: 'sqlite';
  /** Absolute path, or `:memory:`. */
  file: string;
  durability: Durability;
  busyTimeoutMs: number;
  statementCacheSize: number;
  /** Bytes read through a memory map; 0 for `:memory:` and when turned off. */
  mmapSize: number;
  /** `inline` for `:memory:` (no log to copy). */
  checkpoint: CheckpointMode;
  checkpointIntervalMs: number;
}

export interface PostgresResolved {
  dialect: 'postgres';
  /** The URL without pipa's own query parameters. */
  connectionString: string;
  schema: string | undefined;
  poolSize: number;
  applicationName: string;
  connectTimeoutMs: number;
  statementTimeoutMs: number;
}

export type ResolvedDatabaseConfig = SqliteResolved | PostgresResolved;

const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;

function invalid(message: string, messageZh: string): StoreError {
  return new StoreError('invalid_config', message, messageZh);
}

function positiveInt(name: string, value: string | number | undefined, fallback: number, min = 1): number {
  if (value === undefined) return fallback;
  const n = typeof value === 'number' ? value : /^\d+$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min) {
    throw invalid(
      `${name} must be an integer >= ${min} (got ${String(value)})`,
      `${name} 必须是不小于 ${min} 的整数（实际为 ${String(value)}）`,
    );
  }
  return n;
}

/** `value` when it is one of `allowed`, `fallback` when absent; otherwise an error naming `name`. */
function oneOf<T extends string>(name: string, allowed: readonly T[], value: string | undefined, fallback: T): T {
  if (value === undefined) return fallback;
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw invalid(`${name} must be one of ${allowed.join(', ')} (got ${value})`, `${name} 只能是 ${allowed.join('、')}（实际为 ${value}）`);
}

function splitQuery(spec: string): { path: string; params: URLSearchParams } {
  const q = spec.indexOf('?');
  return q < 0 ? { path: spec, params: new URLSearchParams() } : { path: spec.slice(0, q), params: new URLSearchParams(spec.slice(q + 1)) };
}

function checkKnown(params: URLSearchParams, known: readonly string[], where: string): void {
  for (const key of params.keys()) {
    if (!known.includes(key)) {
      throw invalid(
        `unknown ${where} database URL parameter "${key}" (known: ${known.join(', ')})`,
        `未知的 ${where} 数据库地址参数「${key}」（可用：${known.join('、')}）`,
      );
    }
  }
}

/** Which dialect a URL names, without validating the rest. */
export function dialectOfUrl(url: string | undefined): DialectName {
  return url !== undefined && /^postgres(ql)?:\/\//i.test(url) ? 'postgres' : 'sqlite';
}

export function resolveDatabaseConfig(input: DatabaseConfig | string = {}): ResolvedDatabaseConfig {
  const config: DatabaseConfig = typeof input === 'string' ? { url: input } : input;
  const cwd = config.cwd ?? process.cwd();
  const url = config.url?.trim();
  if (url === '') throw invalid('the database URL is empty', '数据库地址为空');

  if (url !== undefined && dialectOfUrl(url) === 'postgres') {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw invalid(
        'the PostgreSQL URL cannot be parsed (expected postgres://user:password@host:port/database)',
        'PostgreSQL 地址无法解析（应为 postgres://user:password@host:port/database）',
      );
    }
    const schema = config.schema ?? parsed.searchParams.get('schema') ?? undefined;
    const poolSize = positiveInt('pool_size', config.poolSize ?? parsed.searchParams.get('pool_size') ?? undefined, 10);
    parsed.searchParams.delete('schema');
    parsed.searchParams.delete('pool_size');
    if (schema !== undefined && !IDENTIFIER.test(schema)) {
      throw invalid(
        `schema must be a lower-case SQL identifier ([a-z_][a-z0-9_]*, at most 63 characters) (got ${schema})`,
        `schema 必须是小写 SQL 标识符（[a-z_][a-z0-9_]*，最多 63 个字符）（实际为 ${schema}）`,
      );
    }
    return {
      dialect: 'postgres',
      connectionString: parsed.toString(),
      schema,
      poolSize,
      applicationName: config.applicationName ?? 'pipa',
      connectTimeoutMs: positiveInt('connectTimeoutMs', config.connectTimeoutMs, 10_000),
      statementTimeoutMs: positiveInt('statementTimeoutMs', config.statementTimeoutMs, 0, 0),
    };
  }

  let file: string;
  let params = new URLSearchParams();
  if (url === undefined) {
    file = join(resolve(cwd, config.dataDir ?? DEFAULT_DATA_DIR), DEFAULT_SQLITE_FILE);
  } else if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url) && !/^(sqlite|file):/i.test(url)) {
    const scheme = url.slice(0, url.indexOf(':'));
    throw invalid(
      `unsupported database URL scheme "${scheme}:" (use sqlite:<path>, a file path, :memory: or postgres://…)`,
      `不支持的数据库地址协议「${scheme}:」（请使用 sqlite:<路径>、文件路径、:memory: 或 postgres://…）`,
    );
  } else {
    const { path, params: p } = splitQuery(url);
    params = p;
    let rest = path;
    if (/^file:/i.test(rest)) {
      try {
        rest = fileURLToPath(rest);
      } catch {
        throw invalid(`cannot read the file URL ${rest}`, `无法解析文件地址 ${rest}`);
      }
    } else if (/^sqlite:/i.test(rest)) {
      rest = rest.slice('sqlite:'.length);
      if (rest.startsWith('//')) rest = rest.slice(2);
    }
    if (rest === '') throw invalid('the SQLite URL names no file (expected sqlite:<path>)', 'SQLite 地址未指定文件（应为 sqlite:<路径>）');
    file = rest === ':memory:' ? rest : isAbsolute(rest) ? rest : resolve(cwd, rest);
  }
  checkKnown(params, ['durability', 'busy_timeout', 'checkpoint', 'mmap_size'], 'SQLite');
  const mmapSize = positiveInt('mmap_size', config.mmapSize ?? params.get('mmap_size') ?? undefined, DEFAULT_SQLITE_MMAP_SIZE, 0);
  const checkpoint = oneOf('checkpoint', CHECKPOINT_MODES, config.checkpoint ?? params.get('checkpoint') ?? undefined, 'background');
  return {
    dialect: 'sqlite',
    file,
    durability: oneOf('durability', DURABILITIES, config.durability ?? params.get('durability') ?? undefined, 'process'),
    busyTimeoutMs: positiveInt('busy_timeout', config.busyTimeoutMs ?? params.get('busy_timeout') ?? undefined, 5000, 0),
    statementCacheSize: positiveInt('statementCacheSize', config.statementCacheSize, 500, 0),
    mmapSize: file === ':memory:' ? 0 : mmapSize,
    checkpoint: file === ':memory:' ? 'inline' : checkpoint,
    checkpointIntervalMs: positiveInt('checkpointIntervalMs', config.checkpointIntervalMs, 1000, 10),
  };
}

/** Query parameters of a PostgreSQL URL that hold a credential (pg reads every parameter as a setting: `?password=` is one). */
const SECRET_PARAMETER = /pass|secret|token/i;

/** The configuration as it may be logged: the password of a PostgreSQL URL, and any credential in its query, are masked. */
export function describeDatabase(config: ResolvedDatabaseConfig): string {
  if (config.dialect === 'sqlite') return `sqlite:${config.file}`;
  try {
    const u = new URL(config.connectionString);
    if (u.password !== '') u.password = '***';
    for (const name of [...new Set(u.searchParams.keys())]) if (SECRET_PARAMETER.test(name)) u.searchParams.set(name, '***');
    if (config.schema !== undefined) u.searchParams.set('schema', config.schema);
    return u.toString();
  } catch {
    return 'postgres://…';
  }
}

export function isIdentifier(name: string): boolean {
  return IDENTIFIER.test(name);
}
