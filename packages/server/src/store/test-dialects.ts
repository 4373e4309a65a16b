/**
 * Database tests on every dialect. DESIGN.md: every repository test runs on SQLite and, when
 * `PIPA_TEST_POSTGRES_URL` is set (CI sets it), on PostgreSQL too.
 *
 * ```ts
 * import { expect, it } from 'vitest';
 * import { forEachDialect } from '../store/test-dialects.js';
 *
 * forEachDialect('subjects repo', (ctx) => {
 *   // One database per describe block (per file if you call forEachDialect once), migrated, shared by
 *   // the tests below in order. ctx.db / ctx.database / ctx.caps are valid inside tests and hooks.
 *   it('creates a subject', async () => {
 *     await ctx.db.insertInto('apps').values({ ... }).execute();
 *   });
 *   it('starts from nothing', async () => {
 *     const empty = await ctx.fresh();          // another isolated, migrated database (closed after the file)
 *   });
 *   it('works from two nodes', async () => {
 *     const other = await ctx.connect();        // a second connection set to the SAME database ("another process")
 *   });
 * });
 *
 * forEachDialect('migrations', (ctx) => { ... }, { migrate: false });   // not migrated
 * forEachDialect('isolated', (ctx) => { ... }, { perTest: true });      // a new database for every test
 * ```
 *
 * Describe blocks are named `<name> [sqlite]` and `<name> [postgres]`: `-t '\[postgres\]'` picks one.
 *
 * Isolation: SQLite databases are files in a fresh temp directory (WAL on, like production), deleted
 * afterwards. PostgreSQL databases are fresh schemas (`pipa_t_<time>_<random>`) in the database of
 * `PIPA_TEST_POSTGRES_URL`, reached through `search_path` and dropped afterwards, so test files
 * running in parallel never see each other. Schemas left behind by a killed run are dropped by the
 * next run after six hours.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Kysely } from 'kysely';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, beforeEach, describe } from 'vitest';
import type { Capabilities, DialectName } from './capabilities.js';
import type { DatabaseConfig } from './config.js';
import { createDatabase, type Database } from './database.js';
import { migrate } from './migrate.js';
import type { Schema } from './schema.js';

export const TEST_POSTGRES_ENV = 'PIPA_TEST_POSTGRES_URL';

export interface TestDatabaseOptions {
  /** Run the migrations. Default true. */
  migrate?: boolean;
  /** Extra configuration (durability, pool size…); the URL and schema are the helper's. */
  config?: Omit<DatabaseConfig, 'url' | 'schema'>;
}

/** A database of its own, and a way to reach it again and to throw it away. */
export interface TestDatabase {
  readonly dialect: DialectName;
  readonly database: Database;
  /** The configuration that reaches this very database (for child processes, second nodes). */
  readonly config: DatabaseConfig;
  /** Another `Database` on the same storage, like a second process. Closed by `dispose`. */
  connect(extra?: Omit<DatabaseConfig, 'url' | 'schema'>): Promise<Database>;
  /** Close every connection and delete the database (file or schema). */
  dispose(): Promise<void>;
}

export interface DialectTarget {
  readonly dialect: DialectName;
  create(options?: TestDatabaseOptions): Promise<TestDatabase>;
}

/** The dialects this run tests: SQLite always, PostgreSQL when `PIPA_TEST_POSTGRES_URL` is set. */
export function dialects(): DialectTarget[] {
  const targets: DialectTarget[] = [{ dialect: 'sqlite', create: createSqliteTestDatabase }];
  const url = process.env[TEST_POSTGRES_ENV];
  if (url !== undefined && url !== '') targets.push({ dialect: 'postgres', create: (o) => createPostgresTestDatabase(url, o) });
  return targets;
}

export async function createTestDatabase(dialect: DialectName, options: TestDatabaseOptions = {}): Promise<TestDatabase> {
  const target = dialects().find((d) => d.dialect === dialect);
  if (target === undefined) throw new Error(`dialect ${dialect} is not enabled in this run (set ${TEST_POSTGRES_ENV})`);
  return target.create(options);
}

export interface DialectContext {
  readonly dialect: DialectName;
  /** The block's database (valid inside tests and hooks). */
  readonly database: Database;
  readonly db: Kysely<Schema>;
  readonly caps: Capabilities;
  /** The block's database with its handles (config for child processes, connect, dispose). */
  readonly test: TestDatabase;
  /** A new isolated database of the same dialect, disposed of after the block. */
  fresh(options?: TestDatabaseOptions): Promise<Database>;
  /** A second `Database` on the block's database (another "process"), closed after the block. */
  connect(extra?: Omit<DatabaseConfig, 'url' | 'schema'>): Promise<Database>;
}

export interface ForEachDialectOptions extends TestDatabaseOptions {
  /** A new database for every test instead of one per block. Default false. */
  perTest?: boolean;
}

export function forEachDialect(name: string, body: (ctx: DialectContext) => void, options: ForEachDialectOptions = {}): void {
  for (const target of dialects()) {
    describe(`${name} [${target.dialect}]`, () => {
      let current: TestDatabase | undefined;
      const extras: TestDatabase[] = [];
      const need = (): TestDatabase => {
        if (current === undefined) throw new Error('the dialect context is only valid inside tests and hooks');
        return current;
      };
      const ctx: DialectContext = {
        dialect: target.dialect,
        get test() {
          return need();
        },
        get database() {
          return need().database;
        },
        get db() {
          return need().database.db;
        },
        get caps() {
          return need().database.caps;
        },
        async fresh(o) {
          const extra = await target.create({ ...options, ...o });
          extras.push(extra);
          return extra.database;
        },
        connect(extra) {
          return need().connect(extra);
        },
      };
      const setUp = async () => {
        current = await target.create(options);
      };
      const tearDown = async () => {
        const all = [...extras.splice(0), ...(current !== undefined ? [current] : [])];
        current = undefined;
        for (const t of all) await t.dispose();
      };
      if (options.perTest === true) {
        beforeEach(setUp);
        afterEach(tearDown);
      } else {
        beforeAll(setUp);
        afterAll(tearDown);
      }
      body(ctx);
    });
  }
}

async function finishCreate(database: Database, options: TestDatabaseOptions, dispose: () => Promise<void>): Promise<void> {
  if (options.migrate === false) return;
  try {
    await migrate(database.db);
  } catch (err) {
    await dispose();
    throw err;
  }
}

async function createSqliteTestDatabase(options: TestDatabaseOptions = {}): Promise<TestDatabase> {
  const dir = mkdtempSync(join(tmpdir(), 'pipa-test-'));
  const config: DatabaseConfig = { ...options.config, url: `sqlite:${join(dir, 'pipa.db')}` };
  const database = await createDatabase(config);
  const others: Database[] = [];
  let disposed = false;
  const dispose = async () => {
    if (disposed) return;
    disposed = true;
    for (const d of others) await d.close();
    await database.close();
    rmSync(dir, { recursive: true, force: true });
  };
  await finishCreate(database, options, dispose);
  return {
    dialect: 'sqlite',
    database,
    config,
    async connect(extra) {
      const d = await createDatabase({ ...config, ...extra });
      others.push(d);
      return d;
    },
    dispose,
  };
}

const SCHEMA_PREFIX = 'pipa_t_';
const STALE_MS = 6 * 60 * 60 * 1000;
let staleSwept = false;

async function withAdmin<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, application_name: 'pipa-test-admin' });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

async function sweepStaleSchemas(client: pg.Client): Promise<void> {
  if (staleSwept) return;
  staleSwept = true;
  const { rows } = await client.query<{ name: string }>('select nspname as name from pg_namespace where nspname like $1', [
    `${SCHEMA_PREFIX}%`,
  ]);
  const now = Date.now();
  for (const { name } of rows) {
    const time = Number.parseInt(name.slice(SCHEMA_PREFIX.length).split('_')[0] ?? '', 36);
    if (Number.isFinite(time) && now - time > STALE_MS) await client.query(`drop schema if exists "${name}" cascade`).catch(() => {});
  }
}

async function createPostgresTestDatabase(baseUrl: string, options: TestDatabaseOptions = {}): Promise<TestDatabase> {
  const schema = `${SCHEMA_PREFIX}${Date.now().toString(36)}_${randomBytes(5).toString('hex')}`;
  await withAdmin(baseUrl, async (client) => {
    await sweepStaleSchemas(client);
    await client.query(`create schema "${schema}"`);
  });
  const config: DatabaseConfig = { poolSize: 4, ...options.config, url: baseUrl, schema };
  const others: Database[] = [];
  let database: Database;
  try {
    database = await createDatabase(config);
  } catch (err) {
    await withAdmin(baseUrl, (client) => client.query(`drop schema if exists "${schema}" cascade`)).catch(() => {});
    throw err;
  }
  let disposed = false;
  const dispose = async () => {
    if (disposed) return;
    disposed = true;
    for (const d of others) await d.close();
    await database.close();
    await withAdmin(baseUrl, (client) => client.query(`drop schema if exists "${schema}" cascade`));
  };
  await finishCreate(database, options, dispose);
  return {
    dialect: 'postgres',
    database,
    config,
    async connect(extra) {
      const d = await createDatabase({ ...config, ...extra });
      others.push(d);
      return d;
    },
    dispose,
  };
}
