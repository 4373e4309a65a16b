/**
 * The tables, as Kysely sees them. The migrations in `migrations/` create them; this file must say
 * the same (a test compares it with the migrated database on both dialects).
 *
 * Portable representations (identical on SQLite and PostgreSQL, so no repository branches on the
 * dialect):
 * - Times: integer milliseconds since the Unix epoch (`bigint` / `integer`), UTC by definition,
 *   ordered, exact, and what `Date.now()` and the injected clocks return. Calendar dates that are not
 *   instants (a birth date) are `YYYY-MM-DD` text.
 * - Flags: integer 0 or 1 (SQLite has no boolean and better-sqlite3 binds no JS boolean).
 * - JSON: written as JSON text (`JSON.stringify`), read back as JSON text on both dialects
 *   (`jsonb` on PostgreSQL, `text` on SQLite; store/postgres.ts keeps the text).
 * - Bytes: Buffer in, Buffer out (`bytea` / `blob`).
 * - Ids: prefixed text (`sub_…`, `key_…`, `cev_…`, `job_…`); apps use the declaration's app id.
 */
import type { Generated, Insertable, Selectable, Updateable } from 'kysely';

/** Milliseconds since the Unix epoch. */
export type Millis = number;
/** 0 or 1. */
export type Flag = 0 | 1;
/** A JSON document, as text. */
export type JsonText = string;

export const SUBJECT_KINDS = ['account', 'device'] as const;
export type SubjectKind = (typeof SUBJECT_KINDS)[number];
export const SUBJECT_STATUS_VALUES = ['active', 'frozen', 'erased'] as const;
export type SubjectStatusValue = (typeof SUBJECT_STATUS_VALUES)[number];

export interface AppsTable {
  /** The declaration's `app.id`. */
  id: string;
  name: string;
  /** The published policy version in force, or null before the first publication. */
  current_version: string | null;
  created_at: Millis;
  updated_at: Millis;
}

export interface PolicyVersionsTable {
  app_id: string;
  version: string;
  /** The declaration (parsed, normalised) as JSON. */
  declaration: JsonText;
  /** The YAML text as published, for an exact rendering later; null when published as JSON. */
  source: string | null;
  /** `{ errors, warnings, infos, rules: [...] }` from lint at publication. */
  lint_summary: JsonText;
  /** 1 when the change from the previous version is material (re-consent needed). */
  material: Flag;
  /** The diff against the previous version, or null for the first version. */
  diff: JsonText | null;
  published_at: Millis;
  /** Actor id (console user, `key_…`). */
  published_by: string;
  /** Why publication went ahead despite lint errors; null when it did not need forcing. */
  forced_reason: string | null;
}

export interface ApiKeysTable {
  /** `key_…` */
  id: string;
  /** Null for an admin key that spans apps. */
  app_id: string | null;
  name: string;
  /** SHA-256 of the secret (auth/api-key.ts). */
  hash: Buffer;
  /** JSON array of scope strings. */
  scopes: JsonText;
  created_at: Millis;
  created_by: string | null;
  expires_at: Millis | null;
  revoked_at: Millis | null;
  last_used_at: Millis | null;
}

export interface SubjectsTable {
  /** `sub_…` */
  id: string;
  app_id: string;
  kind: SubjectKind;
  /** The app's own id of the account or device; null when the app gave none. Unique per (app, kind). */
  external_id: string | null;
  /** A device subject linked to its account subject (`sub_…`); its consent history moves with it. */
  linked_to: string | null;
  status: SubjectStatusValue;
  /** `YYYY-MM-DD` when known (minors' rules); null otherwise. */
  birth_date: string | null;
  created_at: Millis;
  updated_at: Millis;
  frozen_at: Millis | null;
  erased_at: Millis | null;
  /**
   * When the subject was last active (0010_subject_activity): reported by the operator's backend
   * (`POST …/subjects/{subject}/activity`), or seen by pipa (a consent the person gave or withdrew, a
   * request with the person's subject token, a device linked at sign-in). Null when none was ever
   * recorded; only moves forward; cleared on erasure.
   */
  last_active_at: Millis | null;
}

export interface DataKeysTable {
  subject_id: string;
  app_id: string;
  /** Master key version the data key is wrapped under (rotation re-wraps rows of old versions). */
  kek_version: number;
  wrapped_dek: Buffer;
  /** Cipher suite of the subject's fields (`aes-256-gcm`, `sm4`). */
  suite: string;
  created_at: Millis;
  rotated_at: Millis | null;
}

/**
 * One encrypted record per subject (0011): every category's value and times in one envelope.
 */
export interface VaultRecordsTable {
  subject_id: string;
  app_id: string;
  /** The record's envelope (vault/record.ts): values and their times, sealed under the subject's data key. */
  envelope: Buffer;
  /** JSON `{ "<category>": <updated at, ms> }`: the categories held and when each was last written, no values. */
  fields: string;
  /** Data key version the envelope was sealed under. */
  key_version: number;
  created_at: Millis;
  updated_at: Millis;
}

/** Blind indexes of a subject's indexed categories (0011), for lookups by phone, e-mail or ID number. */
export interface VaultIndexTable {
  subject_id: string;
  category: string;
  app_id: string;
  blind_index: Buffer;
}

/** Legacy (0001): one envelope per field; converted to `vault_records` when the vault starts. */
export interface VaultFieldsTable {
  subject_id: string;
  app_id: string;
  /** Taxonomy category id (`phone`, `id-card` …). */
  category: string;
  /** The envelope (crypto/envelope.ts). */
  ciphertext: Buffer;
  /** Blind index of the normalised value, for lookups; null for categories not indexed. */
  blind_index: Buffer | null;
  /** Data key version the ciphertext was sealed under. */
  key_version: number;
  created_at: Millis;
  updated_at: Millis;
}

export interface ConsentEventsTable {
  /** Position in the ledger's hash chain (chain `consent` in `chain_heads`). */
  seq: number;
  /** `cev_…` */
  id: string;
  app_id: string;
  subject_id: string;
  purpose: string;
  /** Null: consent to the purpose; set: to providing the purpose's data to this recipient. */
  recipient: string | null;
  action: 'grant' | 'withdraw' | 'deny';
  /** 1 when given separately (单独同意). */
  separate: Flag;
  method: 'user' | 'guardian' | 'api';
  /** `{ name?, relation?, evidenceHash? }` for a guardian's consent. */
  guardian: JsonText | null;
  policy_version: string;
  evidence_hash: string | null;
  at: Millis;
  prev_hash: string;
  hash: string;
}

export interface AuditEventsTable {
  seq: number;
  at: Millis;
  actor: string;
  action: string;
  app_id: string | null;
  subject_pseudonym: string | null;
  /** Canonical JSON array of category ids (sorted, unique). */
  categories: JsonText;
  purpose: string | null;
  outcome: string;
  /** Events this row stands for: 1, or n for an aggregate (`decision.aggregate`). */
  count: number;
  request_id: string | null;
  /** Canonical JSON (sorted keys) or null. Never personal information. */
  details: JsonText | null;
  prev_hash: string;
  hash: string;
}

export interface AuditCheckpointsTable {
  /** The chain position the checkpoint vouches for. */
  seq: number;
  /** The chain hash at `seq`. */
  hash: string;
  /** When the checkpoint was signed (signed too). */
  at: Millis;
  /** `ed25519:<hex of SHA-256(public key)[0..8]>` */
  key_id: string;
  /** Raw Ed25519 public key, base64. */
  public_key: string;
  /** Ed25519 signature, base64. */
  signature: string;
}

export interface ChainHeadsTable {
  /** `audit`, `consent`. */
  chain: string;
  /** Last sequence number written (0: empty chain). */
  seq: number;
  /** Hash of the last event (64 zeros: empty chain). */
  hash: string;
  updated_at: Millis;
}

export interface JobsTable {
  /** `job_…` */
  id: string;
  kind: string;
  payload: JsonText;
  /** `waiting`, `queued`, `running`, `succeeded`, `dead`, `cancelled` (the job runner owns the set: jobs/types.ts). */
  state: string;
  /** Higher first among jobs due at the same time. */
  priority: number;
  attempts: number;
  max_attempts: number;
  /** Not before this time. */
  run_at: Millis;
  /** Worker id holding the job. */
  locked_by: string | null;
  /** The lock expires (stuck-job recovery) at this time. */
  locked_until: Millis | null;
  /** JSON `{ message, where, attempt, at, worker, kind }` of the last failed attempt. */
  last_error: string | null;
  /** At most one job per key (idempotent enqueue). */
  dedupe_key: string | null;
  created_at: Millis;
  updated_at: Millis;
  finished_at: Millis | null;
  /** One attempt may take this long before it is aborted and counted as failed (0002_jobs). */
  timeout_ms: Generated<number>;
  /** What a succeeded job returned (0002_jobs). */
  result: JsonText | null;
  /** Jobs that belong together, e.g. one rights request's tasks (0002_jobs). */
  group_id: string | null;
  /** Dependencies not yet succeeded; the job is `waiting` while above 0 (0002_jobs). */
  pending_deps: Generated<number>;
}

/** Run `job_id` after `depends_on` has succeeded (0002_jobs). */
export interface JobDependenciesTable {
  job_id: string;
  depends_on: string;
}

export interface SystemKeysTable {
  /** `blind-index`, `audit-pseudonym`, `sharing-pseudonym`, `audit-checkpoint` … */
  purpose: string;
  /** The key, wrapped by the master key (crypto/keyring.ts). */
  wrapped: Buffer;
  kek_version: number;
  created_at: Millis;
}

/** The operator's subject-token public keys per app (0005_core). */
export interface SubjectTokenKeysTable {
  app_id: string;
  /** Key id, the `kid` of the token header. */
  kid: string;
  /** Ed25519 public key, PEM (SPKI). */
  public_key: string;
  created_at: Millis;
  created_by: string | null;
  revoked_at: Millis | null;
}

/** One-off facts of the installation, claimed by the first process to insert them (0005_core). */
export interface ServiceMetaTable {
  key: string;
  value: string;
  created_at: Millis;
}

/** A rights request of a person (0006_rights; rights/types.ts owns the value sets). */
export interface RightsRequestsTable {
  /** `rrq_…` */
  id: string;
  app_id: string;
  /** The person (`sub_…`). */
  subject_id: string;
  /** `access`, `copy`, `portability`, `correction`, `deletion`, `account_cancellation`, `consent_withdrawal`, `explanation`, `restriction`. */
  type: string;
  /** `received`, `identity_verified`, `in_progress`, `completed`, `rejected`, `cancelled`. */
  state: string;
  /** `<app>|<subject>|<type>` while open, null once closed (unique: duplicate detection). */
  open_key: string | null;
  /** Actor that submitted it (`subject`, `key_…`, `user:…`). */
  submitted_by: string;
  /** `token`, `code` or `staff`; null until verified. */
  verification: string | null;
  verified_at: Millis | null;
  verified_by: string | null;
  /** Staff verification: the recorded reason. */
  verify_reason: string | null;
  received_at: Millis;
  due_at: Millis;
  /** `{ value, unit, source }` of the declaration's response time the deadline came from. */
  deadline: JsonText;
  /** When the next reminder is due (null: none left). */
  remind_at: Millis | null;
  reminded_at: Millis | null;
  /** When the overdue sweep flagged it (null: not flagged). */
  overdue_at: Millis | null;
  closed_at: Millis | null;
  reject_code: string | null;
  /** The reason the person sees, zh and en. */
  reject_zh: string | null;
  reject_en: string | null;
  /** Non-personal parameters (purposes to withdraw, export first, confirmation …). */
  payload: JsonText;
  /** Personal parameters (correction values) sealed with the request key. */
  sealed: Buffer | null;
  /** The request's data key, wrapped by the master key; null once shredded. */
  key_wrapped: Buffer | null;
  /** Why the request waits (`{ task, target, message, since, attempts }`), null when it does not. */
  waiting: JsonText | null;
  /** Summary of the outcome (counts per target, no personal information). */
  result: JsonText | null;
  created_at: Millis;
  updated_at: Millis;
}

/** Every state change of a rights request (0006_rights). */
export interface RightsTransitionsTable {
  request_id: string;
  seq: number;
  from_state: string | null;
  to_state: string;
  actor: string;
  reason: string | null;
  at: Millis;
}

/** One step of a request's execution plan, run as a job (0006_rights). */
export interface RightsTasksTable {
  /** `rtk_…` */
  id: string;
  request_id: string;
  seq: number;
  /** `freeze`, `collect`, `package`, `erase`, `correct`, `withdraw`, `notify`, `restrict`, `finish`. */
  kind: string;
  /** `vault`, `dataset:<id>/<table>`, `dataset:<id>`, `recipient:<id>`, `request`. */
  target: string;
  /** `planned`, `queued`, `running`, `succeeded`, `failed`, `cancelled`. */
  state: string;
  /** JSON array of task ids this one runs after. */
  depends_on: JsonText;
  job_id: string | null;
  attempts: Generated<number>;
  last_error: JsonText | null;
  result: JsonText | null;
  started_at: Millis | null;
  finished_at: Millis | null;
  created_at: Millis;
  updated_at: Millis;
}

/** What a collection task gathered, sealed with the request key (0006_rights). */
export interface RightsArtifactsTable {
  request_id: string;
  name: string;
  ciphertext: Buffer;
  created_at: Millis;
}

/** One-time download links (0006_rights). */
export interface RightsDownloadsTable {
  /** `rdl_…` */
  id: string;
  request_id: string;
  /** SHA-256 of the token. */
  token_hash: Buffer;
  expires_at: Millis;
  used_at: Millis | null;
  created_at: Millis;
  created_by: string;
}

/** One-time verification codes (0006_rights). */
export interface RightsCodesTable {
  request_id: string;
  /** The category the code went to (`contact.phone`, `contact.email`). */
  channel: string;
  /** HMAC of the code. */
  code_hash: Buffer;
  expires_at: Millis;
  attempts: number;
  max_attempts: number;
  sends: number;
  sent_at: Millis;
  consumed_at: Millis | null;
}

/** The operator's webhook endpoints for rights requests (0006_rights). */
export interface RightsWebhooksTable {
  app_id: string;
  /** `verification`, `staff` or `recipient`. */
  kind: string;
  /** The recipient id for `recipient`, '' otherwise. */
  recipient: string;
  url: string;
  /** HMAC secret, wrapped by the master key. */
  secret_wrapped: Buffer;
  created_at: Millis;
  updated_at: Millis;
}

/** One retention sweep that ran (0007_retention; retention/ owns the report's shape). */
export interface RetentionReportsTable {
  /** `rsw_…` */
  id: string;
  app_id: string;
  /** When the sweep started (its "now": retention ends are compared with it). */
  at: Millis;
  finished_at: Millis;
  /** `schedule`, `api`, `cli`. */
  trigger: string;
  /** Audit actor that started it (`job:retention.sweep`, `key_…`, `cli`). */
  actor: string;
  /** The declaration version whose retention rules were applied. */
  policy_version: string;
  removed_fields: number;
  removed_subjects: number;
  /** Dataset rows deleted through the connectors. */
  dataset_rows: number;
  errors: number;
  /** The whole report (retention/types.ts `RetentionReport`): counts and names, never values. */
  report: JsonText;
}

/** When to ask a dataset again about an erased subject's held rows (0007_retention). */
export interface RetentionDatasetChecksTable {
  app_id: string;
  dataset: string;
  subject_id: string;
  /** `held`: rows under legal hold remain (look again on `next_at`); `done`: nothing left to wait for. */
  state: string;
  next_at: Millis | null;
  /** The day the last hold seen ends (YYYY-MM-DD), or null. */
  held_until: string | null;
  /** Hash of the dataset's declaration at the check: a changed declaration is checked again. */
  fingerprint: string;
  checked_at: Millis;
}

/** A lawful authority's read of data kept under legal hold (lawful-access/). */
export interface LawfulAccessesTable {
  id: string;
  app_id: string;
  subject_id: string;
  authority: string;
  legal_basis: string;
  reason: string;
  reference: string | null;
  /** The staff credential that carried the access out (`key_…`). */
  actor: string;
  created_at: Millis;
  /** `attempted` (recorded, reading), `disclosed` or `failed` (0009_legal_hold_manifest); null before 0009. */
  outcome: string | null;
  /** Row counts per dataset and table, or the error's code and place; never a value (0009). */
  result: JsonText | null;
}

/** A row of an operator's dataset kept under legal hold by an erasure (0009_legal_hold_manifest). */
export interface LegalHoldRowsTable {
  app_id: string;
  dataset: string;
  table_name: string;
  /** The primary key as JSON (`12`, `"A-12"`), or `h:<hex HMAC>` when the key is personal information (then sealed in `key_sealed`). */
  row_ref: string;
  key_sealed: Buffer | null;
  /** The erased subject (`sub_…`). */
  subject_id: string;
  /** The rights request whose erasure held the row (`rrq_…`). */
  request_id: string;
  /** When the hold started (the erasure). */
  held_since: Millis;
  /** The day the hold ends (YYYY-MM-DD): the row is expired from that day on. */
  held_until: string;
  created_at: Millis;
  updated_at: Millis;
}

/** What one erasure of one dataset held, per table (0009_legal_hold_manifest). */
export interface LegalHoldManifestsTable {
  request_id: string;
  dataset: string;
  app_id: string;
  subject_id: string;
  /** `{ tables: [{ table, held, recorded }], unreached: [{ table, key }] }` */
  tables: JsonText;
  created_at: Millis;
}

export interface Schema {
  apps: AppsTable;
  policy_versions: PolicyVersionsTable;
  api_keys: ApiKeysTable;
  subjects: SubjectsTable;
  data_keys: DataKeysTable;
  vault_fields: VaultFieldsTable;
  vault_records: VaultRecordsTable;
  vault_index: VaultIndexTable;
  consent_events: ConsentEventsTable;
  audit_events: AuditEventsTable;
  audit_checkpoints: AuditCheckpointsTable;
  chain_heads: ChainHeadsTable;
  jobs: JobsTable;
  system_keys: SystemKeysTable;
  job_dependencies: JobDependenciesTable;
  subject_token_keys: SubjectTokenKeysTable;
  service_meta: ServiceMetaTable;
  rights_requests: RightsRequestsTable;
  rights_transitions: RightsTransitionsTable;
  rights_tasks: RightsTasksTable;
  rights_artifacts: RightsArtifactsTable;
  rights_downloads: RightsDownloadsTable;
  rights_codes: RightsCodesTable;
  rights_webhooks: RightsWebhooksTable;
  retention_reports: RetentionReportsTable;
  retention_dataset_checks: RetentionDatasetChecksTable;
  lawful_accesses: LawfulAccessesTable;
  legal_hold_rows: LegalHoldRowsTable;
  legal_hold_manifests: LegalHoldManifestsTable;
}

export type TableName = keyof Schema;
export type Row<T extends TableName> = Selectable<Schema[T]>;
export type NewRow<T extends TableName> = Insertable<Schema[T]>;
export type RowUpdate<T extends TableName> = Updateable<Schema[T]>;

type ColumnList<T extends TableName> = readonly (keyof Schema[T] & string)[];
type Complete<L extends { [T in TableName]: ColumnList<T> }> = {
  [T in TableName]: Exclude<keyof Schema[T], L[T][number]> extends never
    ? L[T]
    : ['missing columns', Exclude<keyof Schema[T], L[T][number]>];
};
function complete<const L extends { [T in TableName]: ColumnList<T> }>(list: L & Complete<L>): L {
  return list;
}

/**
 * Every column of every table, in creation order. Checked at compile time against the interfaces
 * above (a column missing here does not compile) and by a test against the migrated database.
 */
export const SCHEMA_COLUMNS = complete({
  apps: ['id', 'name', 'current_version', 'created_at', 'updated_at'],
  policy_versions: [
    'app_id',
    'version',
    'declaration',
    'source',
    'lint_summary',
    'material',
    'diff',
    'published_at',
    'published_by',
    'forced_reason',
  ],
  api_keys: ['id', 'app_id', 'name', 'hash', 'scopes', 'created_at', 'created_by', 'expires_at', 'revoked_at', 'last_used_at'],
  subjects: [
    'id',
    'app_id',
    'kind',
    'external_id',
    'linked_to',
    'status',
    'birth_date',
    'created_at',
    'updated_at',
    'frozen_at',
    'erased_at',
    'last_active_at',
  ],
  data_keys: ['subject_id', 'app_id', 'kek_version', 'wrapped_dek', 'suite', 'created_at', 'rotated_at'],
  vault_fields: ['subject_id', 'app_id', 'category', 'ciphertext', 'blind_index', 'key_version', 'created_at', 'updated_at'],
  vault_records: ['subject_id', 'app_id', 'envelope', 'fields', 'key_version', 'created_at', 'updated_at'],
  vault_index: ['subject_id', 'category', 'app_id', 'blind_index'],
  consent_events: [
    'seq',
    'id',
    'app_id',
    'subject_id',
    'purpose',
    'recipient',
    'action',
    'separate',
    'method',
    'guardian',
    'policy_version',
    'evidence_hash',
    'at',
    'prev_hash',
    'hash',
  ],
  audit_events: [
    'seq',
    'at',
    'actor',
    'action',
    'app_id',
    'subject_pseudonym',
    'categories',
    'purpose',
    'outcome',
    'count',
    'request_id',
    'details',
    'prev_hash',
    'hash',
  ],
  audit_checkpoints: ['seq', 'hash', 'at', 'key_id', 'public_key', 'signature'],
  chain_heads: ['chain', 'seq', 'hash', 'updated_at'],
  jobs: [
    'id',
    'kind',
    'payload',
    'state',
    'priority',
    'attempts',
    'max_attempts',
    'run_at',
    'locked_by',
    'locked_until',
    'last_error',
    'dedupe_key',
    'created_at',
    'updated_at',
    'finished_at',
    'timeout_ms',
    'result',
    'group_id',
    'pending_deps',
  ],
  system_keys: ['purpose', 'wrapped', 'kek_version', 'created_at'],
  job_dependencies: ['job_id', 'depends_on'],
  subject_token_keys: ['app_id', 'kid', 'public_key', 'created_at', 'created_by', 'revoked_at'],
  service_meta: ['key', 'value', 'created_at'],
  rights_requests: [
    'id',
    'app_id',
    'subject_id',
    'type',
    'state',
    'open_key',
    'submitted_by',
    'verification',
    'verified_at',
    'verified_by',
    'verify_reason',
    'received_at',
    'due_at',
    'deadline',
    'remind_at',
    'reminded_at',
    'overdue_at',
    'closed_at',
    'reject_code',
    'reject_zh',
    'reject_en',
    'payload',
    'sealed',
    'key_wrapped',
    'waiting',
    'result',
    'created_at',
    'updated_at',
  ],
  rights_transitions: ['request_id', 'seq', 'from_state', 'to_state', 'actor', 'reason', 'at'],
  rights_tasks: [
    'id',
    'request_id',
    'seq',
    'kind',
    'target',
    'state',
    'depends_on',
    'job_id',
    'attempts',
    'last_error',
    'result',
    'started_at',
    'finished_at',
    'created_at',
    'updated_at',
  ],
  rights_artifacts: ['request_id', 'name', 'ciphertext', 'created_at'],
  rights_downloads: ['id', 'request_id', 'token_hash', 'expires_at', 'used_at', 'created_at', 'created_by'],
  rights_codes: ['request_id', 'channel', 'code_hash', 'expires_at', 'attempts', 'max_attempts', 'sends', 'sent_at', 'consumed_at'],
  rights_webhooks: ['app_id', 'kind', 'recipient', 'url', 'secret_wrapped', 'created_at', 'updated_at'],
  retention_reports: [
    'id',
    'app_id',
    'at',
    'finished_at',
    'trigger',
    'actor',
    'policy_version',
    'removed_fields',
    'removed_subjects',
    'dataset_rows',
    'errors',
    'report',
  ],
  retention_dataset_checks: ['app_id', 'dataset', 'subject_id', 'state', 'next_at', 'held_until', 'fingerprint', 'checked_at'],
  lawful_accesses: [
    'id',
    'app_id',
    'subject_id',
    'authority',
    'legal_basis',
    'reason',
    'reference',
    'actor',
    'created_at',
    'outcome',
    'result',
  ],
  legal_hold_rows: [
    'app_id',
    'dataset',
    'table_name',
    'row_ref',
    'key_sealed',
    'subject_id',
    'request_id',
    'held_since',
    'held_until',
    'created_at',
    'updated_at',
  ],
  legal_hold_manifests: ['request_id', 'dataset', 'app_id', 'subject_id', 'tables', 'created_at'],
});
