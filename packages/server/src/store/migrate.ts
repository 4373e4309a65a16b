/**
 * Running the migrations (`pipa migrate`, and at server start). Kysely's Migrator with the static
 * list in `migrations/index.ts`; history in the table `pipa_migrations`.
 *
 * Several processes may call `migrate` at once (nodes starting together): PostgreSQL serialises them
 * with an advisory lock, SQLite with the write lock of one `BEGIN IMMEDIATE` transaction around the
 * whole run; the second process then finds nothing left to do.
 */
import { type Kysely, type Migration, type MigrationProvider, Migrator, PostgresAdapter, sql } from 'kysely';
import { StoreError } from './errors.js';
import { MIGRATIONS } from './migrations/index.js';

export const MIGRATION_TABLE = 'pipa_migrations';
export const MIGRATION_LOCK_TABLE = 'pipa_migrations_lock';

export interface MigrateOptions {
  /** Stop after this migration (tests, staged rollouts). Default: the latest. */
  to?: string;
  /** The migrations to run. Default: `MIGRATIONS`. */
  migrations?: Readonly<Record<string, Migration>>;
}

export interface MigrationState {
  name: string;
  /** When it ran, or null when pending. */
  executedAt: Date | null;
}

async function migrator(db: Kysely<unknown>, migrations: Readonly<Record<string, Migration>>): Promise<Migrator> {
  const provider: MigrationProvider = { getMigrations: async () => ({ ...migrations }) };
  let migrationTableSchema: string | undefined;
  if (db.getExecutor().adapter instanceof PostgresAdapter) {
    // Without an explicit schema Kysely looks for its table in *any* schema of the database.
    const row = await sql<{ schema: string }>`select current_schema() as schema`.execute(db);
    migrationTableSchema = row.rows[0]?.schema;
    if (migrationTableSchema === undefined) {
      throw new StoreError(
        'invalid_config',
        'PostgreSQL has no current schema (check search_path and that the schema exists)',
        'PostgreSQL 没有当前 schema（请检查 search_path 以及该 schema 是否存在）',
      );
    }
  }
  return new Migrator({
    db,
    provider,
    migrationTableName: MIGRATION_TABLE,
    migrationLockTableName: MIGRATION_LOCK_TABLE,
    ...(migrationTableSchema !== undefined ? { migrationTableSchema } : {}),
  });
}

async function executedNames(db: Kysely<unknown>): Promise<string[]> {
  try {
    const result = await sql<{ name: string }>`select name from ${sql.table(MIGRATION_TABLE)} order by name`.execute(db);
    return result.rows.map((r) => r.name);
  } catch {
    // No history table yet: nothing has run.
    return [];
  }
}

/**
 * Bring the schema up to date; returns the names of the migrations applied now (empty when it was
 * already current). Throws `StoreError` `schema_too_new` when the database ran migrations this build
 * does not know, and `migration_failed` naming the migration that failed (the ones before it stay).
 */
export async function migrate<DB>(db: Kysely<DB>, options: MigrateOptions = {}): Promise<string[]> {
  const kdb = db as unknown as Kysely<unknown>;
  const migrations = options.migrations ?? MIGRATIONS;
  const unknown = (await executedNames(kdb)).filter((name) => !(name in migrations));
  if (unknown.length > 0) {
    throw new StoreError(
      'schema_too_new',
      `the database was migrated by a newer pipa (unknown migrations: ${unknown.join(', ')}); upgrade pipa`,
      `数据库已由更新版本的 pipa 迁移（未知迁移：${unknown.join('、')}），请升级 pipa`,
    );
  }
  const m = await migrator(kdb, migrations);
  // One transaction per migration (Kysely would run all pending ones in one): when one fails, the
  // ones before it stay applied and the error names the one that failed. `migrateUp` picks the next
  // pending migration inside the migration lock and never goes down: `migrateTo(name)` would migrate
  // *down* to `name` when another process has meanwhile applied the ones after it.
  const names = Object.keys(migrations).sort();
  const last = options.to ?? names[names.length - 1];
  const applied: string[] = [];
  for (let round = 0; round <= 2 * names.length; round++) {
    const done = new Set(await executedNames(kdb));
    const next = names.find((n) => !done.has(n));
    if (next === undefined || (last !== undefined && next > last)) break;
    const { error, results } = await m.migrateUp();
    if (error === undefined) {
      for (const r of results ?? []) if (r.status === 'Success' && r.direction === 'Up') applied.push(r.migrationName);
      continue;
    }
    const failed = results?.find((r) => r.status === 'Error')?.migrationName;
    const reason = error instanceof Error ? error.message : String(error);
    throw new StoreError(
      'migration_failed',
      failed !== undefined ? `migration ${failed} failed: ${reason}` : `migrations failed: ${reason}`,
      failed !== undefined ? `迁移 ${failed} 失败：${reason}` : `迁移失败：${reason}`,
      { cause: error },
    );
  }
  return applied;
}

/** Every known migration and whether it has run (`pipa migrate --status`). */
export async function migrationStatus<DB>(db: Kysely<DB>, options: Pick<MigrateOptions, 'migrations'> = {}): Promise<MigrationState[]> {
  const m = await migrator(db as unknown as Kysely<unknown>, options.migrations ?? MIGRATIONS);
  const infos = await m.getMigrations();
  return infos.map((i) => ({ name: i.name, executedAt: i.executedAt ?? null }));
}
