/**
 * 0005_core: what the service core (keys/, server/) needs beyond 0001.
 *
 * FROZEN once released (see 0001_initial.ts): imports nothing from the application.
 *
 * - `subject_token_keys`: the operator's Ed25519 public keys per app (PEM, SPKI), by key id (`kid`
 *   of the token header). pipa holds only public keys, so it can verify subject tokens but never mint
 *   one. Several keys per app allow the operator to rotate without downtime; a revoked key stays as a
 *   record (revoked_at) and no longer verifies.
 * - `service_meta`: one-off facts of the installation, claimed with an insert that only one process can
 *   win (e.g. `bootstrap_admin_key`: which node created the one-time admin key on first start).
 */
import { type Kysely, PostgresAdapter, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  const pg = db.getExecutor().adapter instanceof PostgresAdapter;
  const big = pg ? 'bigint' : 'integer';
  const s = db.schema;

  let keys = s
    .createTable('subject_token_keys')
    .addColumn('app_id', 'text', (c) => c.notNull().references('apps.id'))
    .addColumn('kid', 'text', (c) => c.notNull())
    .addColumn('public_key', 'text', (c) => c.notNull())
    .addColumn('created_at', big, (c) => c.notNull())
    .addColumn('created_by', 'text')
    .addColumn('revoked_at', big)
    .addPrimaryKeyConstraint('subject_token_keys_pk', ['app_id', 'kid']);
  if (!pg) keys = keys.modifyEnd(sql` strict`);
  await keys.execute();

  let meta = s
    .createTable('service_meta')
    .addColumn('key', 'text', (c) => c.primaryKey())
    .addColumn('value', 'text', (c) => c.notNull())
    .addColumn('created_at', big, (c) => c.notNull());
  if (!pg) meta = meta.modifyEnd(sql` strict`);
  await meta.execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('service_meta').ifExists().execute();
  await db.schema.dropTable('subject_token_keys').ifExists().execute();
}
