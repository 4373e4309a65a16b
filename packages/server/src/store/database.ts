/**
 * The database factory: one call turns a URL into a Kysely instance, the dialect's capabilities and
 * the notification channel. Design and durability: docs/storage.md.
 *
 * ```ts
 * const database = await createDatabase({ url: 'postgres://pipa@db/pipa' });
 * await migrate(database.db);
 * await withTransaction(database.db, async (trx) => { ... });
 * const stop = await database.listen('policy_changed', (e) => reload(e));
 * await database.close();
 * ```
 */
import { dirname } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, sql } from 'kysely';
import pg from 'pg';
import { makeDirectories } from '../fs.js';
import { type Capabilities, capabilitiesOf, type DialectName } from './capabilities.js';
import { type Checkpointer, startCheckpointer } from './checkpointer.js';
import {
  type DatabaseConfig,
  describeDatabase,
  type PostgresResolved,
  type ResolvedDatabaseConfig,
  resolveDatabaseConfig,
  type SqliteResolved,
} from './config.js';
import { StoreError } from './errors.js';
import { hotStatementName } from './hot-statements.js';
import { PipaPostgresDialect } from './pg-introspector.js';
import { checkChannel, checkPayload, type ListenEvent, type ListenHandler, PgListener, pgClientConfig } from './postgres.js';
import type { Schema } from './schema.js';
import { PipaSqliteDialect } from './sqlite-dialect.js';

export interface Database {
  readonly db: Kysely<Schema>;
  readonly dialect: DialectName;
  readonly caps: Capabilities;
  readonly config: ResolvedDatabaseConfig;
  /** The URL as it may be logged (password masked). */
  readonly description: string;
  /**
   * Send a notification. PostgreSQL: `pg_notify`, delivered to every process LISTENing on the
   * database; pass the transaction to have it delivered only if and when that transaction commits.
   * SQLite (one node): delivered to this process's listeners after the current tick; with a
   * transaction, only after it commits.
   */
  notify(channel: string, payload: string, trx?: Kysely<Schema>): Promise<void>;
  /**
   * Receive notifications. Returns a function that stops listening. The handler also receives
   * `{ kind: 'resync' }` after the LISTEN connection was lost and re-established (notifications may
   * have been missed: reload what they keep current).
   */
  listen(channel: string, handler: ListenHandler): Promise<() => Promise<void>>;
  /**
   * After deleting personal information (an erasure, a retention removal, a write that removes
   * fields, a rights request's key dropped): SQLite empties its write-ahead log soon (a TRUNCATE
   * checkpoint, by the background checkpointer within its interval), so that page images from before
   * the deletion stay in neither file (`secure_delete` overwrote them in the database file). Resolves
   * once a scrub that started after the call has succeeded, or at close; callers need not wait.
   * Requests coalesce. PostgreSQL and SQLite in memory: nothing to do (docs/crypto.md §9).
   */
  scrubLog(): Promise<void>;
  /** Close every connection; idempotent. */
  close(): Promise<void>;
}

export type { ListenEvent, ListenHandler };

export async function createDatabase(config: DatabaseConfig | string = {}): Promise<Database> {
  const resolved = resolveDatabaseConfig(config);
  const onError = typeof config === 'string' ? undefined : config.onError;
  return resolved.dialect === 'sqlite' ? openSqlite(resolved, onError) : openPostgres(resolved, onError);
}

/** WAL pages after which the committing connection checkpoints (inline mode). */
const INLINE_CHECKPOINT_PAGES = 10_000;
/** The same with background checkpoints: the backstop (see openSqlite). */
const BACKSTOP_CHECKPOINT_PAGES = 50_000;

async function openSqlite(config: SqliteResolved, onError: DatabaseConfig['onError']): Promise<Database> {
  const memory = config.file === ':memory:';
  // The same on the worker's connection: a checkpoint's fsync depends on it.
  const synchronous = config.durability === 'power' ? 'FULL' : 'NORMAL';
  let raw: BetterSqlite3.Database;
  try {
    if (!memory) makeDirectories(dirname(config.file), 0o700);
    raw = new BetterSqlite3(config.file);
  } catch (err) {
    throw new StoreError(
      'connection_failed',
      `cannot open the SQLite database ${config.file}: ${(err as Error).message}`,
      `无法打开 SQLite 数据库 ${config.file}：${(err as Error).message}`,
      { cause: err },
    );
  }
  try {
    // busy_timeout first: the journal_mode switch itself needs the lock when another process has the file open.
    raw.pragma(`busy_timeout = ${config.busyTimeoutMs}`);
    if (!memory) {
      const mode = raw.pragma('journal_mode = WAL', { simple: true });
      if (String(mode).toLowerCase() !== 'wal') {
        throw new Error(`the file system refused WAL mode (journal_mode is ${String(mode)})`);
      }
    }
    raw.pragma(`synchronous = ${synchronous}`);
    raw.pragma('foreign_keys = ON');
    // Deleted content is overwritten with zeros, not only unlinked: an erasure's wrapped data key,
    // record and blind indexes must not stay readable in the file's free space (docs/crypto.md §9).
    raw.pragma('secure_delete = ON');
    raw.pragma('temp_store = MEMORY');
    // 16 MiB page cache (negative = KiB).
    raw.pragma('cache_size = -16384');
    // Pages beyond the cache read from a memory map rather than with pread (config.ts,
    // DEFAULT_SQLITE_MMAP_SIZE; 0 in memory).
    raw.pragma(`mmap_size = ${config.mmapSize}`);
    // Inline checkpoints every ~40 MiB of log instead of ~4 MiB: a page rewritten by several commits
    // is copied back once (random-key indexes dirty many pages per commit). With background
    // checkpoints (checkpointer.ts) the inline one is only the backstop that lets the log start again
    // under a write load that never pauses: every ~200 MiB, finding all but the last second copied.
    // The log is truncated to 64 MiB after a restart.
    raw.pragma(`wal_autocheckpoint = ${config.checkpoint === 'background' ? BACKSTOP_CHECKPOINT_PAGES : INLINE_CHECKPOINT_PAGES}`);
    raw.pragma('journal_size_limit = 67108864');
  } catch (err) {
    raw.close();
    throw new StoreError(
      'connection_failed',
      `cannot set up the SQLite database ${config.file}: ${(err as Error).message}`,
      `无法初始化 SQLite 数据库 ${config.file}：${(err as Error).message}`,
      { cause: err },
    );
  }
  let checkpointer: Checkpointer | undefined;
  /** scrubLog requests, numbered; their callers wait until a scrub that started after them succeeds. */
  let scrubRequests = 0;
  let scrubWaiters: { request: number; done: () => void }[] = [];
  const scrubbed = (upTo: number) => {
    const ready = scrubWaiters.filter((w) => w.request <= upTo);
    scrubWaiters = scrubWaiters.filter((w) => w.request > upTo);
    for (const w of ready) w.done();
  };
  if (config.checkpoint === 'background') {
    try {
      checkpointer = await startCheckpointer({
        file: config.file,
        busyTimeoutMs: config.busyTimeoutMs,
        synchronous,
        intervalMs: config.checkpointIntervalMs,
        onScrubbed: scrubbed,
        ...(onError !== undefined ? { onError } : {}),
      });
    } catch (err) {
      raw.close();
      throw new StoreError(
        'connection_failed',
        `cannot start the background checkpoints of ${config.file}: ${(err as Error).message} (checkpoint=inline runs without them)`,
        `无法启动 ${config.file} 的后台检查点：${(err as Error).message}（checkpoint=inline 可不使用后台检查点）`,
        { cause: err },
      );
    }
  }
  const db = new Kysely<Schema>({ dialect: new PipaSqliteDialect({ database: raw, statementCacheSize: config.statementCacheSize }) });
  const local = new LocalNotifier(db);
  let closed = false;
  // Without a worker (inline checkpoints, or the worker failed): the service's own connection runs
  // the TRUNCATE checkpoint at the next turn of the event loop, between other statements (through
  // the driver's mutex, never inside a transaction); requests made while one is pending or running
  // share it or the next one, and a reader holding an older snapshot defers it by an interval.
  let inlineScrub: ReturnType<typeof setTimeout> | undefined;
  const scrubInline = (delayMs: number) => {
    if (inlineScrub !== undefined || closed) return;
    inlineScrub = setTimeout(() => {
      void (async () => {
        const upTo = scrubRequests;
        try {
          const result = await sql<{ busy: number }>`pragma wal_checkpoint(TRUNCATE)`.execute(db);
          inlineScrub = undefined;
          if (result.rows[0]?.busy !== 0) scrubInline(config.checkpointIntervalMs);
          else {
            scrubbed(upTo);
            // Asked again while this one ran: once more, for them.
            if (scrubRequests > upTo) scrubInline(0);
          }
        } catch (err) {
          inlineScrub = undefined;
          if (closed) return;
          onError?.(err as Error, 'SQLite log scrub failed');
          scrubInline(config.checkpointIntervalMs);
        }
      })();
    }, delayMs);
    inlineScrub.unref();
  };
  return {
    db,
    dialect: 'sqlite',
    caps: capabilitiesOf('sqlite'),
    config,
    description: describeDatabase(config),
    async notify(channel, payload, trx) {
      checkChannel(channel);
      checkPayload(payload);
      if (trx?.isTransaction === true) {
        await local.afterCommit(trx, channel, payload);
        return;
      }
      local.emit(channel, payload);
    },
    async listen(channel, handler) {
      checkChannel(channel);
      return local.listen(channel, handler);
    },
    scrubLog() {
      if (memory || closed) return Promise.resolve();
      const request = ++scrubRequests;
      const done = new Promise<void>((resolve) => scrubWaiters.push({ request, done: resolve }));
      // Without a worker (inline checkpoints, or the worker failed) the service's connection does it.
      if (checkpointer?.scrub(request) !== true) scrubInline(0);
      return done;
    },
    async close() {
      if (closed) return;
      closed = true;
      local.clear();
      if (inlineScrub !== undefined) clearTimeout(inlineScrub);
      // The worker's connection first: the service's connection, closing last, checkpoints what is
      // left and removes the log.
      await checkpointer?.stop();
      await db.destroy();
      scrubbed(Number.POSITIVE_INFINITY);
    },
  };
}

/**
 * Run the hot statements (hot-statements.ts) of this connection as named prepared statements: Kysely
 * sends every query as text, which PostgreSQL parses and plans each time.
 */
function prepareHotStatements(client: pg.PoolClient): void {
  const query = client.query.bind(client) as (config: unknown, values?: unknown) => unknown;
  const patched = (config: unknown, values?: unknown): unknown => {
    const name = typeof config === 'string' && Array.isArray(values) ? hotStatementName(config) : undefined;
    return name === undefined ? query(config, values) : query({ name, text: config, values });
  };
  client.query = patched as typeof client.query;
}

async function openPostgres(config: PostgresResolved, onError: DatabaseConfig['onError']): Promise<Database> {
  const clientConfig = pgClientConfig(config);
  const pool = new pg.Pool({ ...clientConfig, max: config.poolSize, idleTimeoutMillis: 30_000 });
  pool.on('error', (err) => onError?.(err, 'idle PostgreSQL connection failed'));
  pool.on('connect', (client) => prepareHotStatements(client));
  try {
    const client = await pool.connect();
    client.release();
  } catch (err) {
    await pool.end().catch(() => {});
    throw new StoreError(
      'connection_failed',
      `cannot connect to PostgreSQL at ${describeDatabase(config)}: ${(err as Error).message}`,
      `无法连接 PostgreSQL（${describeDatabase(config)}）：${(err as Error).message}`,
      { cause: err },
    );
  }
  const db = new Kysely<Schema>({ dialect: new PipaPostgresDialect({ pool }) });
  const listener = new PgListener({ clientConfig, onError });
  let closed = false;
  return {
    db,
    dialect: 'postgres',
    caps: capabilitiesOf('postgres'),
    config,
    description: describeDatabase(config),
    async notify(channel, payload, trx) {
      checkChannel(channel);
      checkPayload(payload);
      await sql`select pg_notify(${channel}, ${payload})`.execute(trx ?? db);
    },
    listen(channel, handler) {
      return listener.listen(channel, handler);
    },
    // PostgreSQL keeps no page images pipa could empty (docs/crypto.md §9).
    scrubLog: () => Promise.resolve(),
    async close() {
      if (closed) return;
      closed = true;
      await listener.close();
      await db.destroy();
    },
  };
}

/** In-process notifications for SQLite (one node: every listener lives in this process). */
class LocalNotifier {
  readonly #handlers = new Map<string, Set<ListenHandler>>();
  readonly #pending = new Map<number, { channel: string; payload: string }>();
  readonly #db: Kysely<Schema>;
  #seq = 0;

  constructor(db: Kysely<Schema>) {
    this.#db = db;
  }

  listen(channel: string, handler: ListenHandler): () => Promise<void> {
    let set = this.#handlers.get(channel);
    if (set === undefined) {
      set = new Set();
      this.#handlers.set(channel, set);
    }
    set.add(handler);
    return async () => {
      const handlers = this.#handlers.get(channel);
      handlers?.delete(handler);
      if (handlers?.size === 0) this.#handlers.delete(channel);
    };
  }

  emit(channel: string, payload: string): void {
    const handlers = this.#handlers.get(channel);
    if (handlers === undefined) return;
    const event: ListenEvent = { kind: 'notify', channel, payload };
    setImmediate(() => {
      for (const handler of [...handlers]) {
        try {
          handler(event);
        } catch {
          // A listener's failure is its own; the others still get the notification.
        }
      }
    });
  }

  /**
   * Deliver after `trx` ends, and only if it committed. A marker row goes into a temp table inside
   * the transaction; a query queued behind the transaction on the one connection (it runs once the
   * transaction has ended) finds the marker only if the transaction committed.
   */
  async afterCommit(trx: Kysely<Schema>, channel: string, payload: string): Promise<void> {
    const id = ++this.#seq;
    await sql`create temp table if not exists pipa_pending_notify (id integer primary key)`.execute(trx);
    await sql`insert into temp.pipa_pending_notify (id) values (${id})`.execute(trx);
    this.#pending.set(id, { channel, payload });
    sql<{ id: number }>`delete from temp.pipa_pending_notify where id = ${id} returning id`.execute(this.#db).then(
      (result) => {
        const entry = this.#pending.get(id);
        this.#pending.delete(id);
        if (entry !== undefined && result.rows.length > 0) this.emit(entry.channel, entry.payload);
      },
      // The table is gone: the transaction that created it rolled back, and with it the marker.
      () => this.#pending.delete(id),
    );
  }

  clear(): void {
    this.#handlers.clear();
    this.#pending.clear();
  }
}
