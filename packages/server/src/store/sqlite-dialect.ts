/**
 * Kysely dialect for better-sqlite3, replacing Kysely's own `SqliteDialect` for three reasons:
 *
 * 1. **Write transactions begin with `BEGIN IMMEDIATE`.** Kysely's driver issues a plain (deferred)
 *    `BEGIN`: the transaction takes the write lock only at its first write, and if another process
 *    (`pipa migrate`, `pipa audit verify`, a second server during a restart) wrote in between, SQLite
 *    answers SQLITE_BUSY(_SNAPSHOT) at once, whatever the busy timeout: a read-then-write
 *    transaction cannot be upgraded. `BEGIN IMMEDIATE` takes the write lock up front (waiting up to
 *    `busy_timeout`), so a transaction that started never fails for lock reasons. Read-only
 *    transactions (`accessMode: 'read only'`) stay deferred and read one snapshot.
 * 2. **Prepared statements are cached** (by SQL text, bounded): Kysely's driver prepares every query
 *    again, which costs as much as running a small insert.
 * 3. **Migrations run in a transaction** (SQLite DDL is transactional), so two processes migrating
 *    one file at once are serialised by the write lock instead of both creating the same tables.
 *
 * Concurrency inside one process: better-sqlite3 is synchronous and there is one connection; a mutex
 * hands it to one Kysely connection or transaction at a time (as Kysely's driver does). A transaction
 * therefore serialises every other query of the process until it ends: keep transactions short and do
 * slow work (KMS calls) before opening them.
 */
import type BetterSqlite3 from 'better-sqlite3';
import {
  type CompiledQuery,
  type DatabaseConnection,
  type DatabaseIntrospector,
  type Dialect,
  type DialectAdapter,
  type Driver,
  type Kysely,
  type QueryCompiler,
  type QueryResult,
  SelectQueryNode,
  SqliteAdapter,
  SqliteIntrospector,
  SqliteQueryCompiler,
  type TransactionSettings,
} from 'kysely';

export interface PipaSqliteDialectOptions {
  database: BetterSqlite3.Database;
  /** Prepared statements kept (FIFO eviction); 0 disables the cache. */
  statementCacheSize: number;
}

class TransactionalDdlSqliteAdapter extends SqliteAdapter {
  override get supportsTransactionalDdl(): boolean {
    return true;
  }
}

export class PipaSqliteDialect implements Dialect {
  readonly #options: PipaSqliteDialectOptions;
  constructor(options: PipaSqliteDialectOptions) {
    this.#options = options;
  }
  createDriver(): Driver {
    return new PipaSqliteDriver(this.#options);
  }
  createQueryCompiler(): QueryCompiler {
    return new SqliteQueryCompiler();
  }
  createAdapter(): DialectAdapter {
    return new TransactionalDdlSqliteAdapter();
  }
  createIntrospector(db: Kysely<unknown>): DatabaseIntrospector {
    return new SqliteIntrospector(db);
  }
}

type Statement = BetterSqlite3.Statement<unknown[], unknown>;

class PipaSqliteConnection implements DatabaseConnection {
  readonly #db: BetterSqlite3.Database;
  readonly #cache = new Map<string, Statement>();
  readonly #max: number;

  constructor(db: BetterSqlite3.Database, cacheSize: number) {
    this.#db = db;
    this.#max = cacheSize;
  }

  prepare(sql: string): Statement {
    const hit = this.#cache.get(sql);
    if (hit !== undefined) return hit;
    const stmt = this.#db.prepare<unknown[], unknown>(sql);
    if (this.#max > 0) {
      if (this.#cache.size >= this.#max) {
        const oldest = this.#cache.keys().next();
        if (oldest.done !== true) this.#cache.delete(oldest.value);
      }
      this.#cache.set(sql, stmt);
    }
    return stmt;
  }

  async executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    const stmt = this.prepare(query.sql);
    const params = query.parameters as unknown[];
    if (stmt.reader) return { rows: stmt.all(...params) as R[] };
    const { changes, lastInsertRowid } = stmt.run(...params);
    return { numAffectedRows: BigInt(changes), insertId: BigInt(lastInsertRowid), rows: [] };
  }

  async *streamQuery<R>(query: CompiledQuery): AsyncIterableIterator<QueryResult<R>> {
    if (!SelectQueryNode.is(query.query)) throw new Error('SQLite can only stream SELECT queries');
    // Not from the cache: a statement being iterated cannot run anything else until it is done.
    const stmt = this.#db.prepare<unknown[], unknown>(query.sql);
    for (const row of stmt.iterate(...(query.parameters as unknown[]))) yield { rows: [row as R] };
  }

  run(sql: string): void {
    this.prepare(sql).run();
  }

  get inTransaction(): boolean {
    return this.#db.inTransaction;
  }
}

class PipaSqliteDriver implements Driver {
  readonly #options: PipaSqliteDialectOptions;
  readonly #mutex = new ConnectionMutex();
  #connection: PipaSqliteConnection | undefined;

  constructor(options: PipaSqliteDialectOptions) {
    this.#options = options;
  }

  async init(): Promise<void> {
    this.#connection = new PipaSqliteConnection(this.#options.database, this.#options.statementCacheSize);
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    await this.#mutex.lock();
    if (this.#connection === undefined) throw new Error('the SQLite driver is not initialised');
    return this.#connection;
  }

  async beginTransaction(connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    (connection as PipaSqliteConnection).run(settings.accessMode === 'read only' ? 'begin deferred' : 'begin immediate');
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    (connection as PipaSqliteConnection).run('commit');
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    // Some errors (SQLITE_FULL, SQLITE_IOERR, SQLITE_NOMEM…) roll the transaction back by themselves.
    const c = connection as PipaSqliteConnection;
    if (c.inTransaction) c.run('rollback');
  }

  async savepoint(connection: DatabaseConnection, name: string): Promise<void> {
    (connection as PipaSqliteConnection).run(`savepoint ${quoteIdentifier(name)}`);
  }

  async rollbackToSavepoint(connection: DatabaseConnection, name: string): Promise<void> {
    (connection as PipaSqliteConnection).run(`rollback to ${quoteIdentifier(name)}`);
  }

  async releaseSavepoint(connection: DatabaseConnection, name: string): Promise<void> {
    (connection as PipaSqliteConnection).run(`release ${quoteIdentifier(name)}`);
  }

  async releaseConnection(): Promise<void> {
    this.#mutex.unlock();
  }

  async destroy(): Promise<void> {
    if (this.#options.database.open) this.#options.database.close();
  }
}

function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** One holder at a time, first come first served. */
class ConnectionMutex {
  #tail: Promise<void> = Promise.resolve();
  #release: (() => void) | undefined;

  async lock(): Promise<void> {
    const previous = this.#tail;
    let release: () => void = () => {};
    this.#tail = new Promise<void>((resolve) => {
      release = resolve;
    });
    await previous;
    this.#release = release;
  }

  unlock(): void {
    const release = this.#release;
    this.#release = undefined;
    release?.();
  }
}
