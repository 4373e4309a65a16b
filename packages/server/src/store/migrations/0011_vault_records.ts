/**
 * 0011_vault_records: one encrypted record per subject instead of one row per field.
 *
 * FROZEN once released (see 0001_initial.ts): imports nothing from the application.
 *
 * - `vault_records`: a subject's personal information as ONE envelope (all categories, their values
 *   and times, sealed under the subject's data key with AAD naming app, subject and the record
 *   format), plus `fields`: the category ids it holds with the time each was last written (JSON
 *   text, no values: what retention sweeps and rights requests list without decrypting). A read is one
 *   primary-key row and one decryption; a write one row.
 * - `vault_index`: the blind indexes (one row per indexed category of a subject), for lookups by
 *   phone, e-mail or ID number.
 *
 * `vault_fields` (0001, one envelope per field) stays until its rows are converted: the vault service
 * converts them at start (docs/vault.md "Storage layout"), and a later migration drops it.
 */
import { type Kysely, PostgresAdapter, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  const pg = db.getExecutor().adapter instanceof PostgresAdapter;
  const big = pg ? 'bigint' : 'integer';
  const bytes = pg ? 'bytea' : 'blob';
  let records = db.schema
    .createTable('vault_records')
    .addColumn('subject_id', 'text', (c) => c.primaryKey().references('subjects.id').onDelete('cascade'))
    .addColumn('app_id', 'text', (c) => c.notNull())
    .addColumn('envelope', bytes, (c) => c.notNull())
    .addColumn('fields', 'text', (c) => c.notNull())
    .addColumn('key_version', 'integer', (c) => c.notNull())
    .addColumn('created_at', big, (c) => c.notNull())
    .addColumn('updated_at', big, (c) => c.notNull());
  // A rowid table on SQLite: records are ~1 KB, and a WITHOUT ROWID b-tree with rows that large reads
  // several times slower by primary key (little of a large row fits on an index b-tree page).
  if (!pg) records = records.modifyEnd(sql` strict`);
  // No index on app_id: every write would pay for it, and only the background retention sweep walks
  // an app's records (in primary-key order, filtering by app).
  await records.execute();

  let index = db.schema
    .createTable('vault_index')
    .addColumn('subject_id', 'text', (c) => c.notNull().references('subjects.id').onDelete('cascade'))
    .addColumn('category', 'text', (c) => c.notNull())
    .addColumn('app_id', 'text', (c) => c.notNull())
    .addColumn('blind_index', bytes, (c) => c.notNull())
    .addPrimaryKeyConstraint('vault_index_pk', ['subject_id', 'category']);
  // Small rows: WITHOUT ROWID keeps one b-tree instead of two.
  if (!pg) index = index.modifyEnd(sql` strict, without rowid`);
  await index.execute();
  await db.schema.createIndex('vault_index_lookup').on('vault_index').columns(['app_id', 'category', 'blind_index']).execute();
}
