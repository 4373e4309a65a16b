/**
 * Dialect differences, in one place. Code outside `store/` asks a capability (`caps.skipLocked`),
 * never a dialect name, so a third engine (a Postgres-compatible distributed database, say) is a new
 * capability set here and nowhere else.
 */
import { type Kysely, PostgresAdapter, type SelectQueryBuilder } from 'kysely';

export const DIALECTS = ['sqlite', 'postgres'] as const;
export type DialectName = (typeof DIALECTS)[number];

export interface Capabilities {
  readonly dialect: DialectName;
  /** `INSERT|UPDATE|DELETE … RETURNING` (SQLite ≥ 3.35 and PostgreSQL both have it). */
  readonly returning: boolean;
  /** JSON columns are `jsonb` (indexable, queryable in SQL). Values are always read and written as JSON text. */
  readonly jsonb: boolean;
  /** `SELECT … FOR UPDATE` row locks. SQLite has none: its writers are serialised by the database lock. */
  readonly rowLocks: boolean;
  /** `FOR UPDATE SKIP LOCKED`: several workers can claim different rows of one queue at once. */
  readonly skipLocked: boolean;
  /** `LISTEN/NOTIFY` reaches the other processes on the same database. Without it, `notify` stays in-process. */
  readonly listenNotify: boolean;
  /** Transactions of several processes can write at the same time (SQLite: one writer per database file). */
  readonly concurrentWriters: boolean;
  /** Column type of byte strings: `blob` (SQLite) or `bytea` (PostgreSQL). Both read back as a Buffer. */
  readonly bytesType: 'blob' | 'bytea';
  /** Column type of 64-bit integers (sequence numbers, times in ms): `integer` (SQLite) or `bigint`. */
  readonly bigintType: 'integer' | 'bigint';
  /** Column type of JSON documents: `text` (SQLite) or `jsonb` (PostgreSQL). */
  readonly jsonType: 'text' | 'jsonb';
  /** Most bound parameters in one statement (SQLite 32 766, PostgreSQL 65 535). Batch inserts stay below it. */
  readonly maxParameters: number;
}

const SQLITE: Capabilities = Object.freeze({
  dialect: 'sqlite',
  returning: true,
  jsonb: false,
  rowLocks: false,
  skipLocked: false,
  listenNotify: false,
  concurrentWriters: false,
  bytesType: 'blob',
  bigintType: 'integer',
  jsonType: 'text',
  maxParameters: 32_766,
});

const POSTGRES: Capabilities = Object.freeze({
  dialect: 'postgres',
  returning: true,
  jsonb: true,
  rowLocks: true,
  skipLocked: true,
  listenNotify: true,
  concurrentWriters: true,
  bytesType: 'bytea',
  bigintType: 'bigint',
  jsonType: 'jsonb',
  maxParameters: 65_535,
});

export function capabilitiesOf(dialect: DialectName): Capabilities {
  return dialect === 'sqlite' ? SQLITE : POSTGRES;
}

/** The capabilities of the engine behind a Kysely instance (or transaction). */
export function capabilitiesOfKysely<DB>(db: Kysely<DB>): Capabilities {
  return capabilitiesOf(db.getExecutor().adapter instanceof PostgresAdapter ? 'postgres' : 'sqlite');
}

export interface LockOptions {
  /** Skip rows another transaction holds instead of waiting (job queues). Ignored where unsupported. */
  skipLocked?: boolean;
}

/**
 * Lock the selected rows until the transaction ends, where the engine has row locks. On SQLite the
 * query is returned unchanged: a write transaction there (`withTransaction`, `BEGIN IMMEDIATE`) already
 * holds the only write lock, so nobody else can change the rows either.
 */
export function forUpdate<DB, TB extends keyof DB, O>(
  query: SelectQueryBuilder<DB, TB, O>,
  caps: Capabilities,
  options: LockOptions = {},
): SelectQueryBuilder<DB, TB, O> {
  if (!caps.rowLocks) return query;
  const locked = query.forUpdate();
  return options.skipLocked === true && caps.skipLocked ? locked.skipLocked() : locked;
}
