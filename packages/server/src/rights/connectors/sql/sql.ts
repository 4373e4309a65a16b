/**
 * The little SQL the connectors need, built safely: identifiers are validated (plain identifiers,
 * optionally schema-qualified) and quoted by the dialect; every value is a bound parameter. No value
 * is ever concatenated into SQL text.
 */
import { ConnectorError, type ConnectorErrorContext, connectorError } from '../errors.js';
import { isColumnName, isTableName } from '../plan.js';
import type { ColumnInfo } from '../values.js';

export type SqlEngine = 'postgres' | 'mysql' | 'sqlite';
export type SqlParam = string | number | boolean | null | Uint8Array;
export type SqlRow = Record<string, unknown>;

export interface SqlDialect {
  readonly engine: SqlEngine;
  /** Quote one validated identifier part. */
  quotePart(part: string): string;
  /** Placeholder of the n-th parameter (1-based). */
  placeholder(n: number): string;
  /** Whether `SELECT … FOR UPDATE` locks rows (PostgreSQL, MySQL; SQLite locks the database instead). */
  readonly rowLocks: boolean;
}

function quoteWith(ch: string): (part: string) => string {
  return (part) => `${ch}${part.split(ch).join(ch + ch)}${ch}`;
}

export const POSTGRES_DIALECT: SqlDialect = { engine: 'postgres', quotePart: quoteWith('"'), placeholder: (n) => `$${n}`, rowLocks: true };
export const MYSQL_DIALECT: SqlDialect = { engine: 'mysql', quotePart: quoteWith('`'), placeholder: () => '?', rowLocks: true };
export const SQLITE_DIALECT: SqlDialect = { engine: 'sqlite', quotePart: quoteWith('"'), placeholder: () => '?', rowLocks: false };

function badIdentifier(name: string): ConnectorError {
  // Declarations are validated when planned; reaching this is a programming error, reported safely.
  return new ConnectorError('invalid_declaration', `not a plain SQL identifier: "${name}"`, `不是合法的 SQL 标识符："${name}"`);
}

export function quoteTable(d: SqlDialect, name: string): string {
  if (!isTableName(name)) throw badIdentifier(name);
  return name
    .split('.')
    .map((p) => d.quotePart(p))
    .join('.');
}

export function quoteColumn(d: SqlDialect, name: string): string {
  if (!isColumnName(name)) throw badIdentifier(name);
  return d.quotePart(name);
}

/** A statement under construction: constant SQL text, quoted identifiers and bound parameters. */
export class Sql {
  private readonly parts: string[] = [];
  readonly params: SqlParam[] = [];
  constructor(readonly dialect: SqlDialect) {}
  /** Constant SQL text written in this module's code (never data, never declaration input). */
  raw(text: string): this {
    this.parts.push(text);
    return this;
  }
  table(name: string, alias?: string): this {
    this.parts.push(quoteTable(this.dialect, name));
    if (alias !== undefined) this.parts.push(` ${quoteColumn(this.dialect, alias)}`);
    return this;
  }
  /** A column, optionally qualified by a table alias. */
  column(name: string, alias?: string): this {
    this.parts.push(
      alias !== undefined ? `${quoteColumn(this.dialect, alias)}.${quoteColumn(this.dialect, name)}` : quoteColumn(this.dialect, name),
    );
    return this;
  }
  value(v: SqlParam): this {
    this.params.push(v);
    this.parts.push(this.dialect.placeholder(this.params.length));
    return this;
  }
  /** `(p1, p2, …)`; `values` must not be empty. */
  list(values: readonly SqlParam[]): this {
    if (values.length === 0) throw new Error('Sql.list needs at least one value');
    this.parts.push('(');
    values.forEach((v, i) => {
      if (i > 0) this.parts.push(', ');
      this.value(v);
    });
    this.parts.push(')');
    return this;
  }
  get text(): string {
    return this.parts.join('');
  }
}

/** One connection inside one transaction. */
export interface SqlSession {
  readonly dialect: SqlDialect;
  query(sql: Sql): Promise<SqlRow[]>;
  /** Rows affected (matched, for UPDATE). */
  run(sql: Sql): Promise<number>;
  /** The table's columns, or undefined when the table does not exist. */
  columns(table: string): Promise<Map<string, ColumnInfo> | undefined>;
}

/**
 * - `read`: a consistent snapshot, read-only.
 * - `write`: rows locked as they are read; committed at the end, rolled back on error.
 * - `dry`: like `read`, and always rolled back.
 */
export type TransactionMode = 'read' | 'write' | 'dry';

/** An engine's connection pool. Errors are ConnectorErrors already classified, or raw driver errors for `classify`. */
export interface SqlDriver {
  readonly dialect: SqlDialect;
  transaction<T>(mode: TransactionMode, fn: (session: SqlSession) => Promise<T>): Promise<T>;
  /** Code and retryability of a driver error raised by a statement. */
  classify(err: unknown): DriverErrorClass;
  close(): Promise<void>;
}

export interface DriverErrorClass {
  code:
    | 'connector_unavailable'
    | 'connector_timeout'
    | 'transient'
    | 'auth_failed'
    | 'permission_denied'
    | 'schema_mismatch'
    | 'write_rejected'
    | 'invalid_config'
    | 'driver_error';
  driverCode: string | undefined;
}

/** A tiny FIFO lock, for engines whose one connection must not interleave transactions (SQLite). */
export class Mutex {
  private tail: Promise<void> = Promise.resolve();
  async run<T>(fn: () => Promise<T>): Promise<T> {
    const prev = this.tail;
    let release: () => void = () => {};
    this.tail = new Promise<void>((r) => {
      release = r;
    });
    await prev;
    try {
      return await fn();
    } finally {
      release();
    }
  }
}

/** The error for a connection that could not be opened: whatever the driver said, the dataset is unavailable unless it is a clearer case (auth, timeout, config). */
export function connectFailure(c: DriverErrorClass, ctx: ConnectorErrorContext): ConnectorError {
  const code = c.code === 'driver_error' || c.code === 'schema_mismatch' || c.code === 'write_rejected' ? 'connector_unavailable' : c.code;
  return connectorError(code, { ...ctx, ...(c.driverCode !== undefined ? { driverCode: c.driverCode } : {}) });
}
