/**
 * The retention sweep's report: what a sweep removed from the vault (per category, purpose, action
 * and reason), what it asked the operator's datasets to erase, what it could not do and why. Counts,
 * ids and names only: never a value.
 */
import type { Connector, DatasetDecl, EraseAction, SubjectKeyKind } from '../rights/connectors/index.js';

/** What happens to a value when its retention ends (the declaration's `retention[].action`). In the vault both remove the value. */
export const RETENTION_ACTIONS = ['delete', 'anonymise'] as const;
export type RetentionAction = (typeof RETENTION_ACTIONS)[number];

/**
 * Why a vault field was removed:
 * - `retention-ended`: a retention rule of the purpose ended (collection + period, cancellation + period …);
 * - `consent-withdrawn` / `consent-denied`: the purpose rests on consent and the person withdrew or refused it;
 * - `consent-missing`: the purpose rests on consent and none was ever recorded (after the grace period);
 * - `no-purpose`: no purpose of the declaration in force uses the category any more;
 * - `subject-erased`: the subject was erased (a field left behind).
 */
export const REMOVAL_REASONS = [
  'retention-ended',
  'consent-withdrawn',
  'consent-denied',
  'consent-missing',
  'no-purpose',
  'subject-erased',
] as const;
export type RemovalReason = (typeof REMOVAL_REASONS)[number];

/** Who started a sweep. */
export const SWEEP_TRIGGERS = ['schedule', 'api', 'cli'] as const;
export type SweepTrigger = (typeof SWEEP_TRIGGERS)[number];

export interface RetentionRemoval {
  category: string;
  /** The purpose whose basis or retention ended last (null: no purpose uses the category). */
  purpose: string | null;
  action: RetentionAction;
  reason: RemovalReason;
  /** JSON path of the retention rule that ended (`$.purposes[2].retention[0]`), null when the basis ended without a rule. */
  rule: string | null;
  /** Distinct persons (an account and its linked devices count once). */
  subjects: number;
  fields: number;
}

/** A declared rule the sweep cannot evaluate, and why (it is then never the reason for a removal). */
export interface RetentionUnevaluated {
  purpose: string;
  rule: string;
  trigger: string;
  categories: string[];
  message: string;
  messageZh: string;
}

/** One table of a dataset, as the connector reported it, summed over the subjects asked about. */
export interface DatasetTableSweep {
  table: string;
  /** The connector's actions (strategy, columns, rows), summed. `legal-hold`: rows still held. */
  actions: EraseAction[];
  /** Rows deleted (`delete-row` actions). */
  rowsDeleted: number;
  /** Rows still under legal hold. */
  rowsHeld: number;
  /** The day the earliest remaining hold ends (YYYY-MM-DD), null when none remains. */
  heldUntil: string | null;
}

/**
 * What the sweep cannot do in a dataset through the connector API, precisely:
 * - `no-from`: the table's `legalRetention` has no `from` column: the connector starts the period at the
 *   erasure call, so a later call never ends the hold;
 * - `not-reachable-by-subject-id`: the table is found by another key than pipa's subject id (phone,
 *   external id, through a join); after an erasure pipa keeps only the subject id, and the connector
 *   selects rows only by subject keys (`erase(subject)`), not by the `from` date. Rows held by an
 *   erasure that recorded them in the hold manifest are expired through it (`held`); the limit concerns
 *   the others (erasures from before the manifest, HTTP endpoints that do not report held rows);
 * - `purpose-retention-not-applied`: columns of categories whose purposes declare a retention end; the
 *   connector erases a subject's rows, it cannot select rows older than a date, so purpose retention
 *   is enforced in the vault only;
 * - `strategy-not-idempotent`: a table found by the subject id erases columns by mask, hash or generalise;
 *   `erase` applies every strategy to the subject's remaining rows again and these change an already
 *   erased value again (a hash of the hash), so the sweep does not call the dataset at all;
 * - `no-tables`: an HTTP dataset declares no tables, so nothing says what the endpoint holds under legal hold.
 */
export const DATASET_LIMIT_CODES = [
  'no-from',
  'not-reachable-by-subject-id',
  'purpose-retention-not-applied',
  'strategy-not-idempotent',
  'no-tables',
] as const;
export type DatasetLimitCode = (typeof DATASET_LIMIT_CODES)[number];

export interface DatasetLimit {
  code: DatasetLimitCode;
  /** The table concerned; null for the whole dataset. */
  table: string | null;
  /** Subject key the table is found by (for `not-reachable-by-subject-id`). */
  key?: SubjectKeyKind;
  categories?: string[];
  message: string;
  messageZh: string;
}

/** One table of the hold manifest's part of a dataset's sweep. */
export interface HeldRowsTableSweep {
  table: string;
  /** Manifest rows finished and removed: erased by the declared strategies, or no longer in the dataset. */
  removed: number;
  /** Of those, rows the dataset no longer had. */
  missing: number;
  /** Rows the dataset still holds (their hold runs longer than the manifest said): kept, with the new end. */
  kept: number;
}

/**
 * The hold manifest's part of a dataset's sweep: rows erasures kept under legal hold, recorded by
 * primary key (rights/hold-manifest.ts), whose hold has ended, expired through `eraseRows`. This
 * reaches tables the subject id does not (found by phone, e-mail or the external id).
 */
export interface HeldRowsSweep {
  /** Manifest rows whose hold ended by the sweep's day, taken by this sweep (at most `maxHeldRows`). */
  due: number;
  /** Removed from the manifest (a dry run: would be). */
  removed: number;
  missing: number;
  kept: number;
  /** Due rows left for the next sweep (over the limit, or after an error). */
  remaining: number;
  tables: HeldRowsTableSweep[];
}

export interface DatasetSweep {
  dataset: string;
  engine: DatasetDecl['engine'];
  /** Tables whose legally held rows the sweep can reach (legalRetention with `from`, found by subject id). */
  swept: string[];
  /** Erased subjects the connector was asked about in this sweep. */
  subjects: number;
  /** Erased subjects still due (over the per-sweep limit, or left after an error): the next sweep takes them. */
  remaining: number;
  tables: DatasetTableSweep[];
  limits: DatasetLimit[];
  /** Held rows expired through the hold manifest (their rows are in `tables` too). */
  held: HeldRowsSweep;
}

export interface RetentionError {
  /** `vault`, `dataset:<id>`, `dataset:<id>/<table>`. */
  where: string;
  /** PipaError / ConnectorError / StoreError code, or `aborted`, `internal`. */
  code: string;
  message: string;
  messageZh?: string;
  /** Subjects (ids) the failure concerns; the next sweep tries them again. */
  subjects?: string[];
  retryable?: boolean;
}

export interface RetentionReport {
  /** `rsw_…` once stored; null for a dry run (never stored). */
  id: string | null;
  app: string;
  /** The sweep's "now" (ms since the epoch): every retention end is compared with it. */
  at: number;
  finishedAt: number;
  dryRun: boolean;
  trigger: SweepTrigger;
  actor: string;
  /** The declaration version whose rules were applied. */
  policyVersion: string;
  scanned: { subjects: number; fields: number };
  /** Persons skipped because a rights request of theirs is open (the request decides; the next sweep looks again). */
  deferred: number;
  removed: RetentionRemoval[];
  totals: { fields: number; subjects: number; datasetRows: number };
  unevaluated: RetentionUnevaluated[];
  datasets: DatasetSweep[];
  errors: RetentionError[];
}

/** A stored report in a listing. */
export interface RetentionReportSummary {
  id: string;
  app: string;
  at: number;
  finishedAt: number;
  trigger: string;
  actor: string;
  policyVersion: string;
  removedFields: number;
  removedSubjects: number;
  datasetRows: number;
  errors: number;
}

/** Makes the connector of a declared dataset (the caller closes it); `now` is the sweep's clock. */
export type RetentionConnectorFactory = (appId: string, dataset: DatasetDecl, options: { now: () => Date }) => Connector;

export interface RetentionDeps {
  /** Default: `createConnector(dataset, { env, now })`. */
  connectors?: RetentionConnectorFactory;
  /** Environment of the default connector factory (connection URLs). Default `process.env`. */
  env?: Readonly<Record<string, string | undefined>>;
}

export interface SweepOptions extends RetentionDeps {
  /** The sweep's "now" (ms). Default `ctx.clock()`. */
  now?: number;
  /** Audit actor. Default `system`. */
  actor?: string;
  trigger?: SweepTrigger;
  /** Vault fields' holders per transaction. Default 200. */
  batchSize?: number;
  /** Erased subjects asked about per dataset and sweep. Default 1000. */
  maxDatasetSubjects?: number;
  /** Rows of the hold manifest expired per dataset and sweep (one connector transaction). Default 5000, at most 10 000. */
  maxHeldRows?: number;
  /**
   * A field whose consent-based purposes never received a consent is removed only once it is older
   * than this (ms, by its last write): the app may store the value a moment before it records the
   * consent. Default 24 h.
   */
  missingConsentGraceMs?: number;
  /** Stops between batches (job timeout, shutdown); the report then has an `aborted` error. */
  signal?: AbortSignal;
  /** Also stored in the audit events (HTTP request id). */
  requestId?: string | null;
  /** Every failure the report lists as an error, with the original error (for the service log; it may quote data). */
  onError?: (err: unknown, where: string) => void;
}

export interface RunSweepOptions extends SweepOptions {
  /** Compute and return the report, change nothing, store nothing. */
  dryRun?: boolean;
}
