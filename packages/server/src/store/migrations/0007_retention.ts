/**
 * 0007_retention: retention sweeps (retention/).
 *
 * FROZEN once released (see 0001_initial.ts): imports nothing from the application.
 *
 * - `retention_reports`: one row per sweep that ran (dry runs are not stored): when, who or what
 *   started it, the policy version applied, summary counts for listings, and the whole report as JSON
 *   (categories, purposes, actions, counts, dataset tables, errors: never a value).
 * - `retention_dataset_checks`: per app, dataset and erased subject, when the sweep last asked the
 *   dataset's connector to erase what is left of the subject, and when to ask again: `held` rows are
 *   looked at again on `next_at` (the day their legal hold ends), `done` never again unless the
 *   dataset's declaration changes (`fingerprint`).
 */
import { type Kysely, PostgresAdapter, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  const pg = db.getExecutor().adapter instanceof PostgresAdapter;
  const big = pg ? 'bigint' : 'integer';
  const json = pg ? 'jsonb' : 'text';
  const s = db.schema;

  let reports = s
    .createTable('retention_reports')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('app_id', 'text', (c) => c.notNull().references('apps.id'))
    .addColumn('at', big, (c) => c.notNull())
    .addColumn('finished_at', big, (c) => c.notNull())
    .addColumn('trigger', 'text', (c) => c.notNull())
    .addColumn('actor', 'text', (c) => c.notNull())
    .addColumn('policy_version', 'text', (c) => c.notNull())
    .addColumn('removed_fields', 'integer', (c) => c.notNull())
    .addColumn('removed_subjects', 'integer', (c) => c.notNull())
    .addColumn('dataset_rows', 'integer', (c) => c.notNull())
    .addColumn('errors', 'integer', (c) => c.notNull())
    .addColumn('report', json, (c) => c.notNull());
  if (!pg) reports = reports.modifyEnd(sql` strict`);
  await reports.execute();
  await s.createIndex('retention_reports_app_at').on('retention_reports').columns(['app_id', 'at']).execute();

  let checks = s
    .createTable('retention_dataset_checks')
    .addColumn('app_id', 'text', (c) => c.notNull().references('apps.id'))
    .addColumn('dataset', 'text', (c) => c.notNull())
    .addColumn('subject_id', 'text', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('next_at', big)
    .addColumn('held_until', 'text')
    .addColumn('fingerprint', 'text', (c) => c.notNull())
    .addColumn('checked_at', big, (c) => c.notNull())
    .addPrimaryKeyConstraint('retention_dataset_checks_pk', ['app_id', 'dataset', 'subject_id']);
  if (!pg) checks = checks.modifyEnd(sql` strict`);
  await checks.execute();
  await s
    .createIndex('retention_dataset_checks_due')
    .on('retention_dataset_checks')
    .columns(['app_id', 'dataset', 'next_at'])
    .where(sql.ref('next_at'), 'is not', null)
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('retention_dataset_checks').ifExists().execute();
  await db.schema.dropTable('retention_reports').ifExists().execute();
}
