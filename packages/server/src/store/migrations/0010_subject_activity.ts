/**
 * 0010_subject_activity: when a subject was last active, for retention rules with the trigger
 * `last-activity` (retention/).
 *
 * FROZEN once released (see 0001_initial.ts): imports nothing from the application.
 *
 * - `subjects.last_active_at`: ms since the epoch, null when no activity was ever recorded. Only moves
 *   forward; cleared when the subject is erased. Existing subjects get the time of the last consent
 *   event the person gave themselves (method `user` or `guardian`), the one activity pipa already
 *   recorded before this column existed.
 */
import { type Kysely, PostgresAdapter, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  const pg = db.getExecutor().adapter instanceof PostgresAdapter;
  await db.schema
    .alterTable('subjects')
    .addColumn('last_active_at', pg ? 'bigint' : 'integer')
    .execute();
  await sql`
    update subjects set last_active_at = (
      select max(c.at) from consent_events c where c.subject_id = subjects.id and c.method in ('user', 'guardian')
    )
    where status <> 'erased'
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('subjects').dropColumn('last_active_at').execute();
}
