/**
 * 0006_rights: rights requests (rights/).
 *
 * FROZEN once released (see 0001_initial.ts): imports nothing from the application.
 *
 * - `rights_requests`: one row per request of a person (access, copy, deletion, cancellation …).
 *   `open_key` is `<app>|<subject>|<type>` while the request is open and null once it is closed: the
 *   unique index on it makes "one open request per subject and type" hold under concurrent
 *   submissions (SQLite and PostgreSQL both allow many nulls in a unique index). `key_wrapped` is the
 *   request's own data key (wrapped by the master key): it seals the correction values, the collected
 *   data and the package, and is dropped (crypto-shredded) once the request is closed and its package
 *   delivered or expired.
 * - `rights_transitions`: every state change, numbered per request.
 * - `rights_tasks`: the execution plan, one task per target (vault, dataset table, recipient …), each
 *   run as a job of the durable job runner (`job_id`).
 * - `rights_artifacts`: what a collection task gathered, sealed with the request key.
 * - `rights_downloads`: one-time download links (SHA-256 of the token only).
 * - `rights_codes`: one-time verification codes (HMAC of the code only), attempt-limited.
 * - `rights_webhooks`: the operator's endpoints: the one that delivers verification codes, staff
 *   reminders, and one per recipient for cancellation notices; the signing secret is wrapped.
 */
import { type CreateTableBuilder, type Kysely, PostgresAdapter, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  const pg = db.getExecutor().adapter instanceof PostgresAdapter;
  const big = pg ? 'bigint' : 'integer';
  const bytes = pg ? 'bytea' : 'blob';
  const json = pg ? 'jsonb' : 'text';
  const s = db.schema;
  const strict = <TB extends string, C extends string>(t: CreateTableBuilder<TB, C>): CreateTableBuilder<TB, C> =>
    pg ? t : t.modifyEnd(sql` strict`);

  await strict(
    s
      .createTable('rights_requests')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('app_id', 'text', (c) => c.notNull().references('apps.id'))
      .addColumn('subject_id', 'text', (c) => c.notNull())
      .addColumn('type', 'text', (c) => c.notNull())
      .addColumn('state', 'text', (c) => c.notNull())
      .addColumn('open_key', 'text')
      .addColumn('submitted_by', 'text', (c) => c.notNull())
      .addColumn('verification', 'text')
      .addColumn('verified_at', big)
      .addColumn('verified_by', 'text')
      .addColumn('verify_reason', 'text')
      .addColumn('received_at', big, (c) => c.notNull())
      .addColumn('due_at', big, (c) => c.notNull())
      .addColumn('deadline', json, (c) => c.notNull())
      .addColumn('remind_at', big)
      .addColumn('reminded_at', big)
      .addColumn('overdue_at', big)
      .addColumn('closed_at', big)
      .addColumn('reject_code', 'text')
      .addColumn('reject_zh', 'text')
      .addColumn('reject_en', 'text')
      .addColumn('payload', json, (c) => c.notNull())
      .addColumn('sealed', bytes)
      .addColumn('key_wrapped', bytes)
      .addColumn('waiting', json)
      .addColumn('result', json)
      .addColumn('created_at', big, (c) => c.notNull())
      .addColumn('updated_at', big, (c) => c.notNull()),
  ).execute();
  await s.createIndex('rights_requests_open_key').on('rights_requests').column('open_key').unique().execute();
  await s.createIndex('rights_requests_app_state').on('rights_requests').columns(['app_id', 'state', 'due_at']).execute();
  await s.createIndex('rights_requests_subject').on('rights_requests').columns(['app_id', 'subject_id', 'received_at']).execute();
  await s.createIndex('rights_requests_due').on('rights_requests').column('due_at').where(sql.ref('closed_at'), 'is', null).execute();

  await strict(
    s
      .createTable('rights_transitions')
      .addColumn('request_id', 'text', (c) => c.notNull().references('rights_requests.id').onDelete('cascade'))
      .addColumn('seq', 'integer', (c) => c.notNull())
      .addColumn('from_state', 'text')
      .addColumn('to_state', 'text', (c) => c.notNull())
      .addColumn('actor', 'text', (c) => c.notNull())
      .addColumn('reason', 'text')
      .addColumn('at', big, (c) => c.notNull())
      .addPrimaryKeyConstraint('rights_transitions_pk', ['request_id', 'seq']),
  ).execute();

  await strict(
    s
      .createTable('rights_tasks')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('request_id', 'text', (c) => c.notNull().references('rights_requests.id').onDelete('cascade'))
      .addColumn('seq', 'integer', (c) => c.notNull())
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('target', 'text', (c) => c.notNull())
      .addColumn('state', 'text', (c) => c.notNull())
      .addColumn('depends_on', json, (c) => c.notNull())
      .addColumn('job_id', 'text')
      .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('last_error', json)
      .addColumn('result', json)
      .addColumn('started_at', big)
      .addColumn('finished_at', big)
      .addColumn('created_at', big, (c) => c.notNull())
      .addColumn('updated_at', big, (c) => c.notNull()),
  ).execute();
  await s.createIndex('rights_tasks_request').on('rights_tasks').columns(['request_id', 'seq']).unique().execute();

  await strict(
    s
      .createTable('rights_artifacts')
      .addColumn('request_id', 'text', (c) => c.notNull().references('rights_requests.id').onDelete('cascade'))
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('ciphertext', bytes, (c) => c.notNull())
      .addColumn('created_at', big, (c) => c.notNull())
      .addPrimaryKeyConstraint('rights_artifacts_pk', ['request_id', 'name']),
  ).execute();

  await strict(
    s
      .createTable('rights_downloads')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('request_id', 'text', (c) => c.notNull().references('rights_requests.id').onDelete('cascade'))
      .addColumn('token_hash', bytes, (c) => c.notNull())
      .addColumn('expires_at', big, (c) => c.notNull())
      .addColumn('used_at', big)
      .addColumn('created_at', big, (c) => c.notNull())
      .addColumn('created_by', 'text', (c) => c.notNull()),
  ).execute();
  await s.createIndex('rights_downloads_token').on('rights_downloads').column('token_hash').unique().execute();
  await s.createIndex('rights_downloads_request').on('rights_downloads').column('request_id').execute();

  await strict(
    s
      .createTable('rights_codes')
      .addColumn('request_id', 'text', (c) => c.primaryKey().references('rights_requests.id').onDelete('cascade'))
      .addColumn('channel', 'text', (c) => c.notNull())
      .addColumn('code_hash', bytes, (c) => c.notNull())
      .addColumn('expires_at', big, (c) => c.notNull())
      .addColumn('attempts', 'integer', (c) => c.notNull())
      .addColumn('max_attempts', 'integer', (c) => c.notNull())
      .addColumn('sends', 'integer', (c) => c.notNull())
      .addColumn('sent_at', big, (c) => c.notNull())
      .addColumn('consumed_at', big),
  ).execute();

  await strict(
    s
      .createTable('rights_webhooks')
      .addColumn('app_id', 'text', (c) => c.notNull().references('apps.id'))
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('recipient', 'text', (c) => c.notNull())
      .addColumn('url', 'text', (c) => c.notNull())
      .addColumn('secret_wrapped', bytes, (c) => c.notNull())
      .addColumn('created_at', big, (c) => c.notNull())
      .addColumn('updated_at', big, (c) => c.notNull())
      .addPrimaryKeyConstraint('rights_webhooks_pk', ['app_id', 'kind', 'recipient']),
  ).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of [
    'rights_webhooks',
    'rights_codes',
    'rights_downloads',
    'rights_artifacts',
    'rights_tasks',
    'rights_transitions',
    'rights_requests',
  ]) {
    await db.schema.dropTable(table).ifExists().execute();
  }
}
