/**
 * 0008_lawful_access: reads of data kept under legal hold by a lawful authority (lawful-access/).
 *
 * FROZEN once released (see 0001_initial.ts): imports nothing from the application.
 *
 * - `lawful_accesses`: one row per access to the held data of a cancelled or erased subject: who
 *   asked (the authority), on which legal basis, why, the authority's reference, the staff actor
 *   who carried it out, and when. Written in the same transaction as its `legal-hold.read` audit event,
 *   before any held value is read.
 */
import { type Kysely, PostgresAdapter, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  const pg = db.getExecutor().adapter instanceof PostgresAdapter;
  const big = pg ? 'bigint' : 'integer';
  let accesses = db.schema
    .createTable('lawful_accesses')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('app_id', 'text', (c) => c.notNull().references('apps.id'))
    .addColumn('subject_id', 'text', (c) => c.notNull())
    .addColumn('authority', 'text', (c) => c.notNull())
    .addColumn('legal_basis', 'text', (c) => c.notNull())
    .addColumn('reason', 'text', (c) => c.notNull())
    .addColumn('reference', 'text')
    .addColumn('actor', 'text', (c) => c.notNull())
    .addColumn('created_at', big, (c) => c.notNull());
  if (!pg) accesses = accesses.modifyEnd(sql` strict`);
  await accesses.execute();
  await db.schema.createIndex('lawful_accesses_app_at').on('lawful_accesses').columns(['app_id', 'created_at']).execute();
}
