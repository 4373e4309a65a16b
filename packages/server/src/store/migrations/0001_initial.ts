/**
 * 0001_initial: the whole schema of the first release.
 *
 * FROZEN. A migration is history: once released it never changes, and it imports nothing from the
 * application (types, constants, helpers), which may change after it. Schema changes are new files
 * (`0002_<what>.ts`) registered in `migrations/index.ts`.
 *
 * Portable types (see store/schema.ts): times are integer ms since the epoch, flags integer 0/1,
 * JSON `text` (SQLite) / `jsonb` (PostgreSQL), bytes `blob` / `bytea`. SQLite tables are STRICT, so
 * SQLite rejects a wrongly typed value as PostgreSQL would.
 *
 * Every lookup path has an index, and everything about one subject is reached through indexes that
 * start with the subject id, so erasing a subject costs O(its rows) whatever the size of the data.
 */
import { type CreateTableBuilder, type Kysely, PostgresAdapter, sql } from 'kysely';

interface Types {
  big: 'bigint' | 'integer';
  bytes: 'bytea' | 'blob';
  json: 'jsonb' | 'text';
  strict: boolean;
}

function typesOf(db: Kysely<unknown>): Types {
  const pg = db.getExecutor().adapter instanceof PostgresAdapter;
  return pg
    ? { big: 'bigint', bytes: 'bytea', json: 'jsonb', strict: false }
    : { big: 'integer', bytes: 'blob', json: 'text', strict: true };
}

function finish<TB extends string, C extends string>(t: Types, table: CreateTableBuilder<TB, C>): CreateTableBuilder<TB, C> {
  return t.strict ? table.modifyEnd(sql` strict`) : table;
}

export async function up(db: Kysely<unknown>): Promise<void> {
  const t = typesOf(db);
  const s = db.schema;

  await finish(
    t,
    s
      .createTable('apps')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('current_version', 'text')
      .addColumn('created_at', t.big, (c) => c.notNull())
      .addColumn('updated_at', t.big, (c) => c.notNull()),
  ).execute();

  await finish(
    t,
    s
      .createTable('policy_versions')
      .addColumn('app_id', 'text', (c) => c.notNull().references('apps.id'))
      .addColumn('version', 'text', (c) => c.notNull())
      .addColumn('declaration', t.json, (c) => c.notNull())
      .addColumn('source', 'text')
      .addColumn('lint_summary', t.json, (c) => c.notNull())
      .addColumn('material', 'integer', (c) => c.notNull().check(sql`material in (0, 1)`))
      .addColumn('diff', t.json)
      .addColumn('published_at', t.big, (c) => c.notNull())
      .addColumn('published_by', 'text', (c) => c.notNull())
      .addColumn('forced_reason', 'text')
      .addPrimaryKeyConstraint('policy_versions_pk', ['app_id', 'version']),
  ).execute();
  await s.createIndex('policy_versions_app_published').on('policy_versions').columns(['app_id', 'published_at']).execute();

  await finish(
    t,
    s
      .createTable('api_keys')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('app_id', 'text', (c) => c.references('apps.id'))
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('hash', t.bytes, (c) => c.notNull())
      .addColumn('scopes', t.json, (c) => c.notNull())
      .addColumn('created_at', t.big, (c) => c.notNull())
      .addColumn('created_by', 'text')
      .addColumn('expires_at', t.big)
      .addColumn('revoked_at', t.big)
      .addColumn('last_used_at', t.big),
  ).execute();
  await s.createIndex('api_keys_app').on('api_keys').column('app_id').execute();

  await finish(
    t,
    s
      .createTable('subjects')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('app_id', 'text', (c) => c.notNull().references('apps.id'))
      .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind in ('account', 'device')`))
      .addColumn('external_id', 'text')
      .addColumn('linked_to', 'text', (c) => c.references('subjects.id'))
      .addColumn('status', 'text', (c) => c.notNull().check(sql`status in ('active', 'frozen', 'erased')`))
      .addColumn('birth_date', 'text')
      .addColumn('created_at', t.big, (c) => c.notNull())
      .addColumn('updated_at', t.big, (c) => c.notNull())
      .addColumn('frozen_at', t.big)
      .addColumn('erased_at', t.big),
  ).execute();
  await s.createIndex('subjects_external').on('subjects').columns(['app_id', 'kind', 'external_id']).unique().execute();
  await s.createIndex('subjects_linked_to').on('subjects').column('linked_to').where(sql.ref('linked_to'), 'is not', null).execute();
  await s.createIndex('subjects_app_status').on('subjects').columns(['app_id', 'status']).execute();

  await finish(
    t,
    s
      .createTable('data_keys')
      .addColumn('subject_id', 'text', (c) => c.primaryKey().references('subjects.id').onDelete('cascade'))
      .addColumn('app_id', 'text', (c) => c.notNull())
      .addColumn('kek_version', 'integer', (c) => c.notNull())
      .addColumn('wrapped_dek', t.bytes, (c) => c.notNull())
      .addColumn('suite', 'text', (c) => c.notNull())
      .addColumn('created_at', t.big, (c) => c.notNull())
      .addColumn('rotated_at', t.big),
  ).execute();
  await s.createIndex('data_keys_kek_version').on('data_keys').column('kek_version').execute();

  await finish(
    t,
    s
      .createTable('vault_fields')
      .addColumn('subject_id', 'text', (c) => c.notNull().references('subjects.id').onDelete('cascade'))
      .addColumn('app_id', 'text', (c) => c.notNull())
      .addColumn('category', 'text', (c) => c.notNull())
      .addColumn('ciphertext', t.bytes, (c) => c.notNull())
      .addColumn('blind_index', t.bytes)
      .addColumn('key_version', 'integer', (c) => c.notNull())
      .addColumn('created_at', t.big, (c) => c.notNull())
      .addColumn('updated_at', t.big, (c) => c.notNull())
      .addPrimaryKeyConstraint('vault_fields_pk', ['subject_id', 'category']),
  ).execute();
  await s
    .createIndex('vault_fields_blind_index')
    .on('vault_fields')
    .columns(['app_id', 'category', 'blind_index'])
    .where(sql.ref('blind_index'), 'is not', null)
    .execute();

  await finish(
    t,
    s
      .createTable('consent_events')
      .addColumn('seq', t.big, (c) => c.primaryKey())
      .addColumn('id', 'text', (c) => c.notNull().unique())
      .addColumn('app_id', 'text', (c) => c.notNull().references('apps.id'))
      .addColumn('subject_id', 'text', (c) => c.notNull().references('subjects.id'))
      .addColumn('purpose', 'text', (c) => c.notNull())
      .addColumn('recipient', 'text')
      .addColumn('action', 'text', (c) => c.notNull().check(sql`action in ('grant', 'withdraw', 'deny')`))
      .addColumn('separate', 'integer', (c) => c.notNull().check(sql`separate in (0, 1)`))
      .addColumn('method', 'text', (c) => c.notNull().check(sql`method in ('user', 'guardian', 'api')`))
      .addColumn('guardian', t.json)
      .addColumn('policy_version', 'text', (c) => c.notNull())
      .addColumn('evidence_hash', 'text')
      .addColumn('at', t.big, (c) => c.notNull())
      .addColumn('prev_hash', 'text', (c) => c.notNull())
      .addColumn('hash', 'text', (c) => c.notNull()),
  ).execute();
  await s.createIndex('consent_events_subject').on('consent_events').columns(['subject_id', 'seq']).execute();
  await s.createIndex('consent_events_app').on('consent_events').columns(['app_id', 'seq']).execute();

  // The audit log has no foreign keys: it must outlive whatever it records. Indexes are few on purpose:
  // each costs every append (a random-key index such as one on request ids halves the append rate);
  // lookups by request id scan a seq or time range (audit_events_at).
  await finish(
    t,
    s
      .createTable('audit_events')
      .addColumn('seq', t.big, (c) => c.primaryKey())
      .addColumn('at', t.big, (c) => c.notNull())
      .addColumn('actor', 'text', (c) => c.notNull())
      .addColumn('action', 'text', (c) => c.notNull())
      .addColumn('app_id', 'text')
      .addColumn('subject_pseudonym', 'text')
      .addColumn('categories', 'text', (c) => c.notNull())
      .addColumn('purpose', 'text')
      .addColumn('outcome', 'text', (c) => c.notNull())
      .addColumn('count', 'integer', (c) => c.notNull())
      .addColumn('request_id', 'text')
      .addColumn('details', 'text')
      .addColumn('prev_hash', 'text', (c) => c.notNull())
      .addColumn('hash', 'text', (c) => c.notNull()),
  ).execute();
  await s
    .createIndex('audit_events_subject')
    .on('audit_events')
    .columns(['subject_pseudonym', 'seq'])
    .where(sql.ref('subject_pseudonym'), 'is not', null)
    .execute();
  await s.createIndex('audit_events_app').on('audit_events').columns(['app_id', 'seq']).where(sql.ref('app_id'), 'is not', null).execute();
  await s.createIndex('audit_events_at').on('audit_events').column('at').execute();

  await finish(
    t,
    s
      .createTable('audit_checkpoints')
      .addColumn('seq', t.big, (c) => c.primaryKey())
      .addColumn('hash', 'text', (c) => c.notNull())
      .addColumn('at', t.big, (c) => c.notNull())
      .addColumn('key_id', 'text', (c) => c.notNull())
      .addColumn('public_key', 'text', (c) => c.notNull())
      .addColumn('signature', 'text', (c) => c.notNull()),
  ).execute();

  await finish(
    t,
    s
      .createTable('chain_heads')
      .addColumn('chain', 'text', (c) => c.primaryKey())
      .addColumn('seq', t.big, (c) => c.notNull())
      .addColumn('hash', 'text', (c) => c.notNull())
      .addColumn('updated_at', t.big, (c) => c.notNull()),
  ).execute();
  // The heads exist from the start, so appending only ever locks and updates a row.
  const genesis = '0'.repeat(64);
  await sql`insert into chain_heads (chain, seq, hash, updated_at) values ('audit', 0, ${genesis}, 0), ('consent', 0, ${genesis}, 0)`.execute(
    db,
  );

  await finish(
    t,
    s
      .createTable('jobs')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('payload', t.json, (c) => c.notNull())
      .addColumn('state', 'text', (c) => c.notNull())
      .addColumn('priority', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('max_attempts', 'integer', (c) => c.notNull())
      .addColumn('run_at', t.big, (c) => c.notNull())
      .addColumn('locked_by', 'text')
      .addColumn('locked_until', t.big)
      .addColumn('last_error', 'text')
      .addColumn('dedupe_key', 'text', (c) => c.unique())
      .addColumn('created_at', t.big, (c) => c.notNull())
      .addColumn('updated_at', t.big, (c) => c.notNull())
      .addColumn('finished_at', t.big),
  ).execute();
  await s.createIndex('jobs_due').on('jobs').columns(['state', 'run_at', 'priority']).execute();
  await s.createIndex('jobs_locked').on('jobs').columns(['state', 'locked_until']).execute();
  await s.createIndex('jobs_kind').on('jobs').columns(['kind', 'state']).execute();

  await finish(
    t,
    s
      .createTable('system_keys')
      .addColumn('purpose', 'text', (c) => c.primaryKey())
      .addColumn('wrapped', t.bytes, (c) => c.notNull())
      .addColumn('kek_version', 'integer', (c) => c.notNull())
      .addColumn('created_at', t.big, (c) => c.notNull()),
  ).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of [
    'system_keys',
    'jobs',
    'chain_heads',
    'audit_checkpoints',
    'audit_events',
    'consent_events',
    'vault_fields',
    'data_keys',
    'subjects',
    'api_keys',
    'policy_versions',
    'apps',
  ]) {
    await db.schema.dropTable(table).ifExists().execute();
  }
}
