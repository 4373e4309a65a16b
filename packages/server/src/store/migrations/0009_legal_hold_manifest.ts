/**
 * 0009_legal_hold_manifest: the rows an erasure kept under legal hold, so that they can be found again
 * after the person's keys are gone (rights/hold-manifest.ts, docs/rights.md).
 *
 * FROZEN once released (see 0001_initial.ts): imports nothing from the application.
 *
 * - `legal_hold_rows`: one row per row of the operator's dataset an erasure kept under legal hold:
 *   the app, the erased subject (pipa's id), the rights request whose erasure held it, the dataset and
 *   table, the row's reference (`row_ref`: its primary key as JSON, or `h:<keyed hash>` when the primary
 *   key column holds personal information, the key itself then being sealed in `key_sealed` under a
 *   service key), when the hold started (the erasure) and the day it ends (`held_until`, YYYY-MM-DD).
 *   No personal information in plain text. The retention sweep removes a row once it expired it.
 * - `legal_hold_manifests`: one row per erasure task of a dataset that completed: which tables it
 *   searched, how many rows it held in each and how many of them it recorded (an HTTP endpoint may not
 *   report its held rows' keys), and the tables it could not search. Lawful access tells from it that
 *   a table held nothing of the person, rather than that it could not be reached.
 * - `lawful_accesses` gains `outcome` (`attempted`, then `disclosed` or `failed`; null for accesses
 *   recorded before this migration) and `result` (JSON: row counts per dataset and table, or the error
 *   code and where it happened; never a value).
 */
import { type Kysely, PostgresAdapter, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  const pg = db.getExecutor().adapter instanceof PostgresAdapter;
  const big = pg ? 'bigint' : 'integer';
  const json = pg ? 'jsonb' : 'text';
  const bytes = pg ? 'bytea' : 'blob';
  const s = db.schema;

  let rows = s
    .createTable('legal_hold_rows')
    .addColumn('app_id', 'text', (c) => c.notNull().references('apps.id'))
    .addColumn('dataset', 'text', (c) => c.notNull())
    .addColumn('table_name', 'text', (c) => c.notNull())
    .addColumn('row_ref', 'text', (c) => c.notNull())
    .addColumn('key_sealed', bytes)
    .addColumn('subject_id', 'text', (c) => c.notNull())
    .addColumn('request_id', 'text', (c) => c.notNull())
    .addColumn('held_since', big, (c) => c.notNull())
    .addColumn('held_until', 'text', (c) => c.notNull())
    .addColumn('created_at', big, (c) => c.notNull())
    .addColumn('updated_at', big, (c) => c.notNull())
    .addPrimaryKeyConstraint('legal_hold_rows_pk', ['app_id', 'dataset', 'table_name', 'row_ref']);
  if (!pg) rows = rows.modifyEnd(sql` strict`);
  await rows.execute();
  await s.createIndex('legal_hold_rows_due').on('legal_hold_rows').columns(['app_id', 'dataset', 'held_until']).execute();
  await s.createIndex('legal_hold_rows_subject').on('legal_hold_rows').columns(['app_id', 'subject_id']).execute();

  let manifests = s
    .createTable('legal_hold_manifests')
    .addColumn('request_id', 'text', (c) => c.notNull())
    .addColumn('dataset', 'text', (c) => c.notNull())
    .addColumn('app_id', 'text', (c) => c.notNull().references('apps.id'))
    .addColumn('subject_id', 'text', (c) => c.notNull())
    .addColumn('tables', json, (c) => c.notNull())
    .addColumn('created_at', big, (c) => c.notNull())
    .addPrimaryKeyConstraint('legal_hold_manifests_pk', ['request_id', 'dataset']);
  if (!pg) manifests = manifests.modifyEnd(sql` strict`);
  await manifests.execute();
  await s.createIndex('legal_hold_manifests_subject').on('legal_hold_manifests').columns(['app_id', 'subject_id']).execute();

  await s.alterTable('lawful_accesses').addColumn('outcome', 'text').execute();
  await s.alterTable('lawful_accesses').addColumn('result', json).execute();
}
