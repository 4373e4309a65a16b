/**
 * 0002_jobs: what the durable job runner (jobs/) needs beyond the `jobs` table of 0001.
 *
 * FROZEN once released (see 0001_initial.ts): imports nothing from the application.
 *
 * - `jobs.timeout_ms`: the time one attempt may take before the runner aborts it (per job).
 * - `jobs.result`: the JSON a succeeded job returned.
 * - `jobs.group_id`: jobs that belong together (one rights request's tasks), listed by it.
 * - `jobs.pending_deps`: how many jobs this one waits for (state `waiting` while above 0).
 * - `job_dependencies`: "run `job_id` after `depends_on` succeeded". Looked up by `depends_on` when a
 *   job succeeds (to release the jobs waiting for it) and by `job_id` to show what a job waits for.
 */
import { type Kysely, PostgresAdapter, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  const pg = db.getExecutor().adapter instanceof PostgresAdapter;
  const json = pg ? 'jsonb' : 'text';
  const s = db.schema;

  await s
    .alterTable('jobs')
    .addColumn('timeout_ms', 'integer', (c) => c.notNull().defaultTo(300_000))
    .execute();
  await s.alterTable('jobs').addColumn('result', json).execute();
  await s.alterTable('jobs').addColumn('group_id', 'text').execute();
  await s
    .alterTable('jobs')
    .addColumn('pending_deps', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
  await s.createIndex('jobs_group').on('jobs').columns(['group_id', 'created_at']).where(sql.ref('group_id'), 'is not', null).execute();

  let table = s
    .createTable('job_dependencies')
    .addColumn('job_id', 'text', (c) => c.notNull().references('jobs.id').onDelete('cascade'))
    .addColumn('depends_on', 'text', (c) => c.notNull().references('jobs.id').onDelete('cascade'))
    .addPrimaryKeyConstraint('job_dependencies_pk', ['job_id', 'depends_on']);
  if (!pg) table = table.modifyEnd(sql` strict`);
  await table.execute();
  await s.createIndex('job_dependencies_depends_on').on('job_dependencies').column('depends_on').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('job_dependencies').ifExists().execute();
  await db.schema.dropIndex('jobs_group').ifExists().execute();
  for (const column of ['pending_deps', 'group_id', 'result', 'timeout_ms']) {
    await db.schema.alterTable('jobs').dropColumn(column).execute();
  }
}
