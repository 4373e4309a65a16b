/**
 * The connector contract: how a rights request reaches one of the operator's own datasets declared
 * in the policy's `datasets` (PostgreSQL, MySQL/MariaDB, SQLite, or the operator's HTTP endpoint).
 *
 * Every operation runs in one transaction per dataset (all or nothing), checks the declared tables
 * and columns first (a missing column fails with `schema_mismatch` before anything is touched), and
 * returns reports that name tables, columns, strategies and row counts, never personal data.
 */
import type { DatasetDecl, ErasureStrategy, Text } from '@pipa/policy';

export type { DatasetDecl, ErasureStrategy };

/** The subject keys a table's `subject.column` may hold (the declaration's `subject.key`). */
export const SUBJECT_KEY_KINDS = ['subject-id', 'external-id', 'phone', 'email'] as const;
export type SubjectKeyKind = (typeof SUBJECT_KEY_KINDS)[number];

/**
 * How the person is known in the operator's systems: pipa's subject id, the operator's external user
 * id, phone, e-mail. A key may have several values (two phone numbers). Phone numbers also match
 * their 11-digit, `86…` and `+86…` forms; e-mail addresses also match their lower-case form.
 */
export type SubjectKeys = Partial<Record<SubjectKeyKind, string | readonly string[]>>;

/** A value read from or written to a dataset. Dates arrive as the database's text (`2024-05-01 10:00:00`). */
export type CellValue = string | number | boolean | null;

export type StrategyName = ErasureStrategy;

// ---------------------------------------------------------------- describe / check

export type SubjectLocator =
  | { kind: 'column'; column: string; key: SubjectKeyKind }
  | {
      kind: 'via';
      /** The declared table this one joins to. */
      via: string;
      /** This table's column holding the reference. */
      column: string;
      /** The column of `via` it references. */
      references: string;
      /** Tables from this one to the table holding the subject key (`['orders', 'merchants']`). */
      path: readonly string[];
      /** The subject key of the table at the end of the path. */
      key: SubjectKeyKind;
    };

export interface FieldDescription {
  column: string;
  category: string;
  /** The erasure strategy of the column (the table's default when the column has none). */
  strategy: StrategyName;
  writable: boolean;
  /** Kept during the legal retention period. */
  held: boolean;
}

export interface LegalRetentionDescription {
  period: string;
  basis: Text;
  /** Columns kept; `undefined` = the whole row. */
  columns: readonly string[] | undefined;
  /** Column with the start date of the period; `undefined` = the period starts at the erasure. */
  from: string | undefined;
}

export interface TableDescription {
  name: string;
  primaryKey: string;
  subject: SubjectLocator;
  fields: readonly FieldDescription[];
  defaultStrategy: StrategyName;
  legalRetention: LegalRetentionDescription | undefined;
}

export interface DatasetDescription {
  id: string;
  engine: DatasetDecl['engine'];
  /** Name of the environment variable with the connection URL (never its value). */
  connectionEnv: string | undefined;
  /** HTTP: name of the environment variable with the signing secret. */
  secretEnv: string | undefined;
  tables: readonly TableDescription[];
  /** Every category the dataset holds. */
  categories: readonly string[];
}

export interface CheckResult {
  dataset: string;
  engine: DatasetDecl['engine'];
  tables: readonly { table: string; columns: readonly string[] }[];
}

// ---------------------------------------------------------------- locate / collect / correct

/** A table the subject keys given cannot reach (its key kind had no value); nothing was read or changed there. */
export interface UnreachedTable {
  table: string;
  key: SubjectKeyKind;
}

export interface LocateResult {
  dataset: string;
  /** Present when some tables could not be searched. */
  unreached?: readonly UnreachedTable[];
  /** Whether any row of the subject was found. */
  found: boolean;
  tables: readonly { table: string; rows: number }[];
}

export interface CollectedTable {
  table: string;
  /** Declared column -> category id. */
  categories: Readonly<Record<string, string>>;
  /** The subject's rows, declared columns only. */
  rows: readonly Readonly<Record<string, CellValue>>[];
}

export interface CollectResult {
  dataset: string;
  /** Present when some tables could not be searched. */
  unreached?: readonly UnreachedTable[];
  tables: readonly CollectedTable[];
}

/** One correction: every row of the subject in `table` gets `value` in `column`. */
export interface Change {
  table: string;
  column: string;
  value: string | number | null;
}

export interface CorrectResult {
  dataset: string;
  tables: readonly { table: string; columns: readonly string[]; rows: number }[];
}

// ---------------------------------------------------------------- rows by primary key (hold manifest)

/** A primary key value as the database returned it: text or a number (text and integer keys only). */
export type RowKey = string | number;

/**
 * Rows of one declared table chosen by primary key: the rows an erasure kept under legal hold, found
 * again later from pipa's hold manifest without any subject key (after an erasure the phone number or
 * the external id that led to them is gone).
 */
export interface RowSelection {
  table: string;
  /** Primary key values (at most 10 000 per call over all selections). */
  keys: readonly RowKey[];
  /**
   * When the rows' hold started: the erasure that held them (ms since the epoch or a Date). The period
   * of a table whose `legalRetention` has no `from` column runs from it; default: now.
   */
  heldSince?: number | Date;
}

/** A row kept under legal hold by an erasure: its primary key and the day its hold ends (YYYY-MM-DD). */
export interface HeldRow {
  key: RowKey;
  until: string;
}

export interface CollectedRowsTable extends CollectedTable {
  /** `keys[i]` is the primary key of `rows[i]`. Keys asked for and not found have no row. */
  keys: readonly RowKey[];
}

export interface CollectRowsResult {
  dataset: string;
  tables: readonly CollectedRowsTable[];
}

// ---------------------------------------------------------------- erase

export interface EraseOptions {
  /** Compute the report, change nothing. */
  dryRun?: boolean;
  /** Key of the keyed hash (HMAC-SHA256) strategy; required when a column uses `hash`. */
  hashKey?: Uint8Array | string;
  /** Passed to the HTTP endpoint so that it can recognise a retried request. */
  requestId?: string;
  /**
   * Also return, per table, the primary key of every row kept under legal hold and the day its hold
   * ends (`heldRows`), so that the caller can record a hold manifest. A key is personal information
   * when the primary key column is a declared field: store it accordingly (pipa seals such keys).
   */
  heldRows?: boolean;
}

export interface LegalHoldReport {
  basis: Text;
  period: string;
  /** The day the earliest hold of these rows ends (YYYY-MM-DD). */
  firstUntil: string;
  /** The day the last hold of these rows ends (YYYY-MM-DD). */
  until: string;
}

export interface EraseAction {
  strategy: StrategyName;
  /** Columns the action applies to (`delete-row`: every declared column of the row). */
  columns: readonly string[];
  rows: number;
  /** For `legal-hold`. */
  legalHold?: LegalHoldReport;
  /** Why a column got another strategy than its own: `row-held` (delete-row became set-null because the row is held). */
  reason?: 'row-held';
}

export interface EraseTableReport {
  table: string;
  /** Rows of the subject found. */
  rows: number;
  actions: readonly EraseAction[];
  /**
   * With `heldRows: true` only: the rows kept under legal hold (primary key, end of the hold). Not part
   * of the report proper: strip it before storing or showing a report.
   */
  heldRows?: readonly HeldRow[];
}

export interface EraseReport {
  dataset: string;
  /** Present when some tables could not be searched: nothing was erased there. */
  unreached?: readonly UnreachedTable[];
  dryRun: boolean;
  /** When the erasure ran (ISO 8601). */
  at: string;
  tables: readonly EraseTableReport[];
}

// ---------------------------------------------------------------- the connector

export interface Connector {
  readonly dataset: string;
  readonly engine: DatasetDecl['engine'];
  /** The declaration as the connector executes it. No I/O. */
  describe(): DatasetDescription;
  /** Connect, verify every declared table and column exists with a usable type. Touches nothing. */
  check(): Promise<CheckResult>;
  /** Count the subject's rows per table (by the identifying column or the join path). */
  locate(subject: SubjectKeys): Promise<LocateResult>;
  /** Access / copy: the subject's rows, declared columns only, with their categories. */
  collect(subject: SubjectKeys): Promise<CollectResult>;
  /** Correction: only columns declared writable; all changes in one transaction. */
  correct(subject: SubjectKeys, changes: readonly Change[]): Promise<CorrectResult>;
  /** Erasure by the declared strategies, one transaction; `dryRun` reports and changes nothing. */
  erase(subject: SubjectKeys, options?: EraseOptions): Promise<EraseReport>;
  /** Held rows by primary key (a hold manifest), declared columns only, with their categories. Read only. */
  collectRows(rows: readonly RowSelection[]): Promise<CollectRowsResult>;
  /**
   * Expire held rows by primary key (a hold manifest), one transaction: a row whose hold has ended
   * gets, in its held columns, what the declaration says happens after the hold (`delete-row` deletes
   * the row); its other columns were erased by the erasure that held it and are left alone (mask, hash
   * and generalise are never applied twice). A row still held is left as it is and reported as held.
   * Only tables with `legalRetention`. Keys not found are counted as missing (`rows` counts those found).
   */
  eraseRows(rows: readonly RowSelection[], options?: EraseOptions): Promise<EraseReport>;
  /** Release connections. Further calls fail with `closed`. */
  close(): Promise<void>;
}

export interface HttpConnectorOptions {
  /** Per request, including reading the body. Default 10 000 ms. */
  timeoutMs?: number;
  /** Largest response body accepted. Default 64 MiB. */
  maxResponseBytes?: number;
  /** Allow `http://` to hosts other than loopback. Default false: such endpoints must use https. */
  allowInsecureHttp?: boolean;
  /** For tests: the fetch implementation. Default `globalThis.fetch`. */
  fetch?: typeof fetch;
}

export interface ConnectorOptions {
  /** Where environment variables are read. Default `process.env`. */
  env?: Readonly<Record<string, string | undefined>>;
  /** The clock (legal hold periods, report times, HTTP timestamps). Default `() => new Date()`. */
  now?: () => Date;
  /** Relative SQLite paths resolve against it. Default `process.cwd()`. */
  cwd?: string;
  /** How long to wait for a database connection. Default 10 000 ms. */
  connectTimeoutMs?: number;
  /** PostgreSQL `statement_timeout`; SQLite busy timeout. Default 60 000 ms (SQLite 5 000 ms). */
  statementTimeoutMs?: number;
  http?: HttpConnectorOptions;
}
