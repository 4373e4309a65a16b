/**
 * Transactions. `withTransaction(db, fn)` runs `fn` in one transaction and commits, or rolls back
 * when `fn` throws. Called with a transaction it joins it (no nesting, no savepoint), so a service
 * method works the same alone and inside a caller's transaction.
 *
 * Transient failures (PostgreSQL serialization failure 40001 and deadlock 40P01; SQLite BUSY/LOCKED
 * after the busy timeout) are retried a few times with jitter: `fn` may run more than once and must
 * have no side effects outside the database (send e-mails, call webhooks after the commit).
 *
 * SQLite: write transactions begin with `BEGIN IMMEDIATE` (store/sqlite-dialect.ts), so a transaction
 * holds the one write lock from its first statement; `readOnly` transactions read one snapshot
 * without it. PostgreSQL: READ COMMITTED unless `isolation` says otherwise.
 */
import type { IsolationLevel, Kysely, Transaction } from 'kysely';

export interface TransactionOptions {
  /** Reads only: SQLite takes no write lock; PostgreSQL `READ ONLY`. */
  readOnly?: boolean;
  /** PostgreSQL isolation level (SQLite is always serializable). */
  isolation?: IsolationLevel;
  /** Extra attempts after a transient failure. Default 3. */
  retries?: number;
}

const PG_TRANSIENT = new Set(['40001', '40P01']);

/** A failure worth retrying the whole transaction for. */
export function isTransientError(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code !== 'string') return false;
  return PG_TRANSIENT.has(code) || code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED');
}

export async function withTransaction<DB, T>(
  db: Kysely<DB>,
  fn: (trx: Transaction<DB>) => Promise<T>,
  options: TransactionOptions = {},
): Promise<T> {
  if (db.isTransaction) return fn(db as Transaction<DB>);
  const retries = Math.max(0, Math.floor(options.retries ?? 3));
  for (let attempt = 0; ; attempt++) {
    try {
      let builder = db.transaction();
      if (options.readOnly === true) builder = builder.setAccessMode('read only');
      if (options.isolation !== undefined) builder = builder.setIsolationLevel(options.isolation);
      return await builder.execute(fn);
    } catch (err) {
      if (attempt >= retries || !isTransientError(err)) throw err;
      await new Promise((resolve) => setTimeout(resolve, 5 * 2 ** attempt + Math.random() * 10));
    }
  }
}
