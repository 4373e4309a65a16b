import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Kysely, sql } from 'kysely';
import { describe, expect, it, vi } from 'vitest';
import { forUpdate } from './capabilities.js';
import { startCheckpointer } from './checkpointer.js';
import { createDatabase, type ListenEvent } from './database.js';
import { isStoreError } from './errors.js';
import { MIGRATION_TABLE, migrate, migrationStatus } from './migrate.js';
import { MIGRATIONS } from './migrations/index.js';
import { SCHEMA_COLUMNS, type Schema, type TableName } from './schema.js';
import { collect, runTs, SERVER_SRC, spawnTs, waitForLine } from './test-child.js';
import { createTestDatabase, forEachDialect } from './test-dialects.js';
import { withTransaction } from './transaction.js';

const T0 = 1_718_000_000_000;
/** Every migration this build knows, in order. */
const ALL = Object.keys(MIGRATIONS).sort();

async function seedApp(db: Kysely<Schema>, id = 'xiaopiaopiao'): Promise<void> {
  await db.insertInto('apps').values({ id, name: '小票票商户版', current_version: null, created_at: T0, updated_at: T0 }).execute();
}

async function seedSubject(db: Kysely<Schema>, id: string, app = 'xiaopiaopiao'): Promise<void> {
  await db
    .insertInto('subjects')
    .values({
      id,
      app_id: app,
      kind: 'account',
      external_id: `ext-${id}`,
      linked_to: null,
      status: 'active',
      birth_date: null,
      created_at: T0,
      updated_at: T0,
      frozen_at: null,
      erased_at: null,
    })
    .execute();
}

function waitFor<T>(events: T[], count: number, ms = 5000): Promise<void> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const tick = () => {
      if (events.length >= count) resolve();
      else if (Date.now() - started > ms) reject(new Error(`waited ${ms} ms for ${count} events, got ${events.length}`));
      else setTimeout(tick, 10);
    };
    tick();
  });
}

describe('createDatabase', () => {
  it('says which file it cannot open', async () => {
    await expect(createDatabase({ url: 'sqlite:/etc/passwd/not/here.db' })).rejects.toSatisfy(
      (err: unknown) => isStoreError(err, 'connection_failed') && /not\/here\.db/.test((err as Error).message),
    );
  });

  it('opens an in-memory SQLite database', async () => {
    const database = await createDatabase(':memory:');
    expect(await migrate(database.db)).toEqual(ALL);
    await database.close();
    await database.close();
  });
});

forEachDialect(
  'migrations',
  (ctx) => {
    it('apply once, then report nothing to do', async () => {
      expect(await migrationStatus(ctx.db)).toEqual(ALL.map((name) => ({ name, executedAt: null })));
      expect(await migrate(ctx.db)).toEqual(ALL);
      expect(await migrate(ctx.db)).toEqual([]);
      const status = await migrationStatus(ctx.db);
      expect(status.map((s) => s.name)).toEqual(ALL);
      expect(status[0]?.executedAt).toBeInstanceOf(Date);
    });

    it('create exactly the columns the Schema type declares', async () => {
      const tables = await ctx.db.introspection.getTables();
      const schemaOf =
        ctx.caps.dialect === 'postgres'
          ? (await sql<{ s: string }>`select current_schema() as s`.execute(ctx.db)).rows[0]?.s
          : tables.find((t) => t.name === 'apps')?.schema;
      const ours = tables.filter((t) => t.schema === schemaOf && !t.name.startsWith('pipa_migrations'));
      expect(ours.map((t) => t.name).sort()).toEqual(Object.keys(SCHEMA_COLUMNS).sort());
      for (const table of ours) {
        expect(
          table.columns.map((c) => c.name),
          table.name,
        ).toEqual([...SCHEMA_COLUMNS[table.name as TableName]]);
      }
    });

    it('refuse a database migrated by a newer pipa', async () => {
      await sql`insert into ${sql.table(MIGRATION_TABLE)} (name, timestamp) values ('9999_future', '2030-01-01T00:00:00.000Z')`.execute(
        ctx.db,
      );
      await expect(migrate(ctx.db)).rejects.toSatisfy(
        (err: unknown) => isStoreError(err, 'schema_too_new') && /9999_future/.test((err as Error).message),
      );
      await sql`delete from ${sql.table(MIGRATION_TABLE)} where name = '9999_future'`.execute(ctx.db);
    });

    it('name the migration that failed and keep the ones before it', async () => {
      const database = await ctx.fresh({ migrate: false });
      const migrations = {
        ...MIGRATIONS,
        '0001_zbroken': {
          up: async (db: Kysely<unknown>) => {
            await sql`create table broken_thing (id text primary key)`.execute(db);
            await sql`select * from no_such_table`.execute(db);
          },
        },
      };
      await expect(migrate(database.db, { migrations })).rejects.toSatisfy(
        (err: unknown) => isStoreError(err, 'migration_failed') && /migration 0001_zbroken failed/.test((err as Error).message),
      );
      const status = await migrationStatus(database.db, { migrations });
      expect(status.map((s) => [s.name, s.executedAt !== null])).toEqual([
        ['0001_initial', true],
        ['0001_zbroken', false],
        ...ALL.slice(1).map((name) => [name, false]),
      ]);
      // The failed migration left nothing behind (each runs in a transaction).
      await expect(sql`select * from broken_thing`.execute(database.db)).rejects.toThrow();
    });

    it('run once when two processes migrate at the same time', async () => {
      const target = await createTestDatabase(ctx.dialect, { migrate: false });
      try {
        const source = `
          import { createDatabase, migrate } from '${SERVER_SRC}/store/index.ts';
          const database = await createDatabase(JSON.parse(process.argv[2]));
          const applied = await migrate(database.db);
          process.stdout.write(JSON.stringify(applied) + '\\n');
          await database.close();
        `;
        const results = await Promise.all([runTs(source, [JSON.stringify(target.config)]), runTs(source, [JSON.stringify(target.config)])]);
        for (const r of results) expect(r.code, r.stderr).toBe(0);
        // Each migration applied once, by one process or the other (they may take turns).
        expect(results.flatMap((r) => JSON.parse(r.stdout) as string[]).sort()).toEqual(ALL);
        expect(await migrate(target.database.db)).toEqual([]);
      } finally {
        await target.dispose();
      }
    });
  },
  { migrate: false },
);

forEachDialect('database', (ctx) => {
  it('stores times, flags, JSON and bytes the same way on every dialect', async () => {
    await seedApp(ctx.db);
    await ctx.db
      .insertInto('api_keys')
      .values({
        id: 'key_aaaaaaaaaaaa',
        app_id: 'xiaopiaopiao',
        name: 'backend',
        hash: Buffer.from([0, 1, 2, 255]),
        scopes: JSON.stringify(['consent:write', 'vault:read']),
        created_at: 4_102_444_800_123,
        created_by: null,
        expires_at: null,
        revoked_at: null,
        last_used_at: null,
      })
      .execute();
    await ctx.db
      .insertInto('policy_versions')
      .values({
        app_id: 'xiaopiaopiao',
        version: '3',
        declaration: JSON.stringify({ pipa: 1, app: { id: 'xiaopiaopiao', name: '小票票' } }),
        source: null,
        lint_summary: JSON.stringify({ errors: 0 }),
        material: 1,
        diff: null,
        published_at: T0,
        published_by: 'user:dpo',
        forced_reason: null,
      })
      .execute();
    const key = await ctx.db.selectFrom('api_keys').selectAll().executeTakeFirstOrThrow();
    expect(Buffer.isBuffer(key.hash)).toBe(true);
    expect([...key.hash]).toEqual([0, 1, 2, 255]);
    expect(key.created_at).toBe(4_102_444_800_123);
    expect(JSON.parse(key.scopes)).toEqual(['consent:write', 'vault:read']);
    const policy = await ctx.db.selectFrom('policy_versions').selectAll().executeTakeFirstOrThrow();
    expect(policy.material).toBe(1);
    expect(typeof policy.declaration).toBe('string');
    expect(JSON.parse(policy.declaration)).toEqual({ pipa: 1, app: { id: 'xiaopiaopiao', name: '小票票' } });
    const count = await ctx.db
      .selectFrom('api_keys')
      .select((eb) => eb.fn.countAll().as('n'))
      .executeTakeFirstOrThrow();
    expect(count.n).toBe(1);
  });

  it('enforces the constraints on both dialects', async () => {
    await expect(seedSubject(ctx.db, 'sub_orphan', 'no-such-app')).rejects.toThrow();
    await seedSubject(ctx.db, 'sub_1');
    await expect(
      ctx.db
        .updateTable('subjects')
        .set({ status: 'deleted' as 'erased' })
        .where('id', '=', 'sub_1')
        .execute(),
    ).rejects.toThrow();
    await expect(
      ctx.db
        .insertInto('subjects')
        .values({
          id: 'sub_dup',
          app_id: 'xiaopiaopiao',
          kind: 'account',
          external_id: 'ext-sub_1',
          linked_to: null,
          status: 'active',
          birth_date: null,
          created_at: T0,
          updated_at: T0,
          frozen_at: null,
          erased_at: null,
        })
        .execute(),
    ).rejects.toThrow();
  });

  it('commits, rolls back, and joins an open transaction', async () => {
    await withTransaction(ctx.db, async (trx) => {
      await seedSubject(trx, 'sub_tx1');
    });
    await expect(
      withTransaction(ctx.db, async (trx) => {
        await seedSubject(trx, 'sub_tx2');
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    await expect(
      withTransaction(ctx.db, async (trx) => {
        // A service called inside the caller's transaction joins it: its write goes with the rollback.
        await withTransaction<Schema, void>(trx, (inner) => seedSubject(inner, 'sub_tx3'));
        throw new Error('outer fails');
      }),
    ).rejects.toThrow('outer fails');
    const ids = (await ctx.db.selectFrom('subjects').select('id').where('id', 'like', 'sub_tx%').execute()).map((r) => r.id);
    expect(ids).toEqual(['sub_tx1']);
  });

  it('reaches everything about one subject through indexes (erasure does not grow with the data)', async () => {
    const plans: string[] = [];
    const statements = [
      sql`delete from vault_records where subject_id = ${'sub_1'}`,
      sql`delete from vault_index where subject_id = ${'sub_1'}`,
      sql`delete from data_keys where subject_id = ${'sub_1'}`,
      sql`select seq from consent_events where subject_id = ${'sub_1'}`,
      sql`select id from subjects where linked_to = ${'sub_1'}`,
      sql`select subject_id from vault_index where app_id = ${'xiaopiaopiao'} and category = ${'phone'} and blind_index = ${Buffer.alloc(32)}`,
      sql`select seq from audit_events where subject_pseudonym = ${'psn_aaaaaaaaaaaaaaaaaaaaaaaaaa'} order by seq desc limit 50`,
    ];
    await withTransaction(ctx.db, async (trx) => {
      if (ctx.caps.rowLocks) await sql`set local enable_seqscan = off`.execute(trx);
      for (const statement of statements) {
        const explain = ctx.caps.rowLocks ? sql`explain ${statement}` : sql`explain query plan ${statement}`;
        const rows = (await explain.execute(trx)).rows as Record<string, unknown>[];
        plans.push(rows.map((r) => String(r['QUERY PLAN'] ?? r.detail)).join(' | '));
      }
    });
    for (const plan of plans) {
      expect(plan).toMatch(/index|primary key/i);
      expect(plan).not.toMatch(/^SCAN (vault_records|vault_index|data_keys|consent_events|subjects|audit_events)\b|Seq Scan/);
    }
  });

  it('delivers notifications, and inside a transaction only once it commits', async () => {
    const got: ListenEvent[] = [];
    const stop = await ctx.database.listen('pipa_test_channel', (e) => got.push(e));
    await ctx.database.notify('pipa_test_channel', 'plain');
    await withTransaction(ctx.db, async (trx) => {
      await ctx.database.notify('pipa_test_channel', 'committed', trx);
    });
    await expect(
      withTransaction(ctx.db, async (trx) => {
        await ctx.database.notify('pipa_test_channel', 'rolled-back', trx);
        throw new Error('abort');
      }),
    ).rejects.toThrow('abort');
    await ctx.database.notify('pipa_test_channel', 'last');
    await waitFor(got, 3);
    await new Promise((r) => setTimeout(r, 100));
    expect(got.map((e) => (e.kind === 'notify' ? e.payload : 'resync'))).toEqual(['plain', 'committed', 'last']);
    await stop();
    await ctx.database.notify('pipa_test_channel', 'after stop');
    await new Promise((r) => setTimeout(r, 100));
    expect(got).toHaveLength(3);
    await expect(ctx.database.listen('Bad Channel', () => {})).rejects.toSatisfy((err: unknown) => isStoreError(err, 'invalid_argument'));
  });

  it('makes a writer wait for another process instead of failing', async () => {
    const child = spawnTs(
      `
      import { createDatabase, withTransaction } from '${SERVER_SRC}/store/index.ts';
      import { sql } from 'kysely';
      const database = await createDatabase(JSON.parse(process.argv[2]));
      await withTransaction(database.db, async (trx) => {
        await sql\`update chain_heads set updated_at = updated_at + 1 where chain = 'consent'\`.execute(trx);
        process.stdout.write('locked\\n');
        await new Promise((r) => setTimeout(r, 300));
      });
      await database.close();
    `,
      [JSON.stringify(ctx.test.config)],
    );
    const done = collect(child);
    await waitForLine(child, /^locked$/);
    // Read, then write: with a deferred BEGIN this is SQLite's classic SQLITE_BUSY upgrade failure.
    await withTransaction(
      ctx.db,
      async (trx) => {
        const head = await forUpdate(
          trx.selectFrom('chain_heads').select(['updated_at']).where('chain', '=', 'consent'),
          ctx.caps,
        ).executeTakeFirstOrThrow();
        await trx
          .updateTable('chain_heads')
          .set({ updated_at: head.updated_at + 1 })
          .where('chain', '=', 'consent')
          .execute();
      },
      { retries: 0 },
    );
    const result = await done;
    expect(result.code, result.stderr).toBe(0);
    const head = await ctx.db.selectFrom('chain_heads').select('updated_at').where('chain', '=', 'consent').executeTakeFirstOrThrow();
    expect(head.updated_at).toBe(2);
  });
});

forEachDialect('sqlite settings', (ctx) => {
  it('runs WAL with the configured durability and foreign keys on', async () => {
    if (ctx.caps.concurrentWriters) return; // PostgreSQL: durability is the server's synchronous_commit.
    const pragma = async (db: Kysely<Schema>, name: string) =>
      Object.values((await sql.raw(`pragma ${name}`).execute(db)).rows[0] as object)[0];
    expect(await pragma(ctx.db, 'journal_mode')).toBe('wal');
    expect(await pragma(ctx.db, 'synchronous')).toBe(1);
    expect(await pragma(ctx.db, 'foreign_keys')).toBe(1);
    expect(await pragma(ctx.db, 'busy_timeout')).toBe(5000);
    const power = await ctx.connect({ durability: 'power' });
    expect(await pragma(power.db, 'synchronous')).toBe(2);
    // Deleted content is overwritten, not only unlinked (docs/crypto.md §9).
    expect(await pragma(ctx.db, 'secure_delete')).toBe(1);
  });

  it('scrubLog resolves once there is nothing left to empty, on either store', async () => {
    const other = await ctx.connect({ checkpointIntervalMs: 20 });
    await sql`select 1`.execute(other.db);
    await other.scrubLog();
    if (!ctx.caps.concurrentWriters) {
      const config = other.config;
      if (config.dialect !== 'sqlite') throw new Error('expected SQLite');
      expect(existsSync(`${config.file}-wal`) ? statSync(`${config.file}-wal`).size : 0).toBe(0);
    }
  });

  it('reads the file through a memory map of the configured size, none when told 0, and gives the same rows either way', async () => {
    if (ctx.caps.concurrentWriters) return;
    const pragma = async (db: Kysely<Schema>, name: string) =>
      Object.values((await sql.raw(`pragma ${name}`).execute(db)).rows[0] as object)[0];
    expect(await pragma(ctx.db, 'mmap_size')).toBe(1024 * 1024 * 1024);
    const unmapped = await ctx.connect({ mmapSize: 0 });
    expect(await pragma(unmapped.db, 'mmap_size')).toBe(0);
    const small = await ctx.connect({ mmapSize: 65_536 });
    expect(await pragma(small.db, 'mmap_size')).toBe(65_536);
    // A table larger than the small map: its rows come partly from the map, partly from reads.
    await sql`create table mapped (id integer primary key, body text not null)`.execute(ctx.db);
    await withTransaction(ctx.db, async (trx) => {
      for (let i = 0; i < 200; i++) await sql`insert into mapped (body) values (${`${i}:${'m'.repeat(900)}`})`.execute(trx);
    });
    const sum = async (db: Kysely<Schema>) =>
      (await sql<{ n: number; total: number }>`select count(*) as n, sum(length(body)) as total from mapped`.execute(db)).rows[0];
    const expected = await sum(ctx.db);
    expect(expected?.n).toBe(200);
    expect(await sum(unmapped.db)).toEqual(expected);
    expect(await sum(small.db)).toEqual(expected);
  });
});

describe('SQLite log scrub', () => {
  const secret = Buffer.from('wrapped-key-7f3a9c1e5b2d4f6a8c0e', 'utf8');
  const holds = (file: string) => existsSync(file) && readFileSync(file).includes(secret);
  const inTempDir = async (fn: (dir: string) => Promise<void>) => {
    const dir = mkdtempSync(join(tmpdir(), 'pipa-scrub-'));
    try {
      await fn(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
  for (const checkpoint of ['background', 'inline'] as const) {
    it(`with checkpoint=${checkpoint}: deleted bytes end up in neither the database file nor the log`, async () => {
      await inTempDir(async (dir) => {
        const file = join(dir, 'pipa.db');
        const database = await createDatabase({ url: `sqlite:${file}`, checkpoint, checkpointIntervalMs: 20 });
        try {
          await sql`create table keys (id integer primary key, wrapped blob not null)`.execute(database.db);
          await withTransaction(database.db, async (trx) => {
            for (let i = 0; i < 50; i++)
              await sql`insert into keys (wrapped) values (${i === 17 ? secret : Buffer.alloc(64, i)})`.execute(trx);
          });
          // Copied into the file and still in the log: both hold it before the deletion.
          await sql`pragma wal_checkpoint(PASSIVE)`.execute(database.db);
          expect(holds(file)).toBe(true);
          expect(holds(`${file}-wal`)).toBe(true);
          await sql`delete from keys where id = 18`.execute(database.db);
          await database.scrubLog();
          expect(statSync(`${file}-wal`).size).toBe(0);
          expect(holds(file)).toBe(false);
          expect(holds(`${file}-wal`)).toBe(false);
          // The store goes on: rows written after a scrub are there.
          await sql`insert into keys (wrapped) values (${Buffer.alloc(8)})`.execute(database.db);
          const n = await sql<{ n: number }>`select count(*) as n from keys`.execute(database.db);
          expect(n.rows[0]?.n).toBe(50);
        } finally {
          await database.close();
        }
      });
    });
  }

  it('waits while a reader holds an older snapshot, and empties the log once it is done', async () => {
    await inTempDir(async (dir) => {
      const file = join(dir, 'pipa.db');
      const database = await createDatabase({ url: `sqlite:${file}`, checkpointIntervalMs: 20 });
      const reader = await createDatabase({ url: `sqlite:${file}`, checkpoint: 'inline' });
      try {
        await sql`create table keys (id integer primary key, wrapped blob not null)`.execute(database.db);
        await sql`insert into keys (wrapped) values (${secret})`.execute(database.db);
        let released: () => void = () => {};
        const holding = withTransaction(
          reader.db,
          async (trx) => {
            await sql`select count(*) from keys`.execute(trx);
            await new Promise<void>((resolve) => {
              released = resolve;
            });
          },
          { readOnly: true },
        );
        await new Promise((r) => setTimeout(r, 20));
        await sql`delete from keys`.execute(database.db);
        let done = false;
        const scrub = database.scrubLog().then(() => {
          done = true;
        });
        await new Promise((r) => setTimeout(r, 200));
        expect(done).toBe(false);
        expect(holds(`${file}-wal`)).toBe(true);
        released();
        await holding;
        await scrub;
        expect(statSync(`${file}-wal`).size).toBe(0);
        expect(holds(file)).toBe(false);
      } finally {
        await reader.close();
        await database.close();
      }
    });
  });

  it('resolves at once in memory, and at close for a request not yet served', async () => {
    const memory = await createDatabase(':memory:');
    await memory.scrubLog();
    await memory.close();
    await inTempDir(async (dir) => {
      const database = await createDatabase({ url: `sqlite:${join(dir, 'pipa.db')}`, checkpointIntervalMs: 60_000 });
      const pending = database.scrubLog();
      await database.close();
      await pending;
    });
  });
});

describe('SQLite checkpoints', () => {
  const filled = async (db: Kysely<Schema>) => {
    await sql`create table filler (id integer primary key, body text not null)`.execute(db);
    await withTransaction(db, async (trx) => {
      for (let i = 0; i < 400; i++) await sql`insert into filler (body) values (${'x'.repeat(1000)})`.execute(trx);
    });
  };

  it('copies the log back in a worker thread while the service keeps its connection, and leaves no log behind on close', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pipa-ckpt-'));
    try {
      const file = join(dir, 'pipa.db');
      const database = await createDatabase({ url: `sqlite:${file}`, checkpointIntervalMs: 50 });
      expect(database.config).toMatchObject({ checkpoint: 'background' });
      const before = statSync(file).size;
      await filled(database.db);
      // ~100 pages are in the log; the service's own backstop is 50,000 pages away, so only the
      // worker can have copied them into the database file.
      const deadline = Date.now() + 5000;
      while (statSync(file).size < before + 300_000 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(statSync(file).size).toBeGreaterThan(before + 300_000);
      expect(Number((await sql<{ n: number }>`select count(*) as n from filler`.execute(database.db)).rows[0]?.n)).toBe(400);
      await database.close();
      expect(existsSync(`${file}-wal`)).toBe(false);
      const again = await createDatabase({ url: `sqlite:${file}?checkpoint=inline` });
      expect(Number((await sql<{ n: number }>`select count(*) as n from filler`.execute(again.db)).rows[0]?.n)).toBe(400);
      await again.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('with checkpoint=inline leaves the log to the committing connection (nothing copied before its threshold)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pipa-ckpt-'));
    try {
      const file = join(dir, 'pipa.db');
      const database = await createDatabase({ url: `sqlite:${file}?checkpoint=inline`, checkpointIntervalMs: 50 });
      const before = statSync(file).size;
      await filled(database.db);
      await new Promise((r) => setTimeout(r, 300));
      expect(statSync(file).size).toBe(before);
      await database.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('serves scrub requests by number, and refuses them once stopped (the database then scrubs inline)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pipa-ckpt-'));
    try {
      const file = join(dir, 'pipa.db');
      const database = await createDatabase({ url: `sqlite:${file}`, checkpoint: 'inline' });
      await sql`create table t (x integer)`.execute(database.db);
      const served: number[] = [];
      const worker = await startCheckpointer({
        file,
        busyTimeoutMs: 100,
        synchronous: 'NORMAL',
        intervalMs: 20,
        onScrubbed: (upTo) => served.push(upTo),
      });
      expect(worker.scrub(1)).toBe(true);
      expect(worker.scrub(2)).toBe(true);
      // Usually one scrub serves both; a tick between the two messages serves them one by one.
      await vi.waitFor(() => expect(served.at(-1)).toBe(2), { timeout: 3000, interval: 20 });
      expect([[2], [1, 2]]).toContainEqual(served);
      expect(worker.scrub(3)).toBe(true);
      await vi.waitFor(() => expect(served.at(-1)).toBe(3), { timeout: 3000, interval: 20 });
      expect(served.filter((n) => n === 3)).toHaveLength(1);
      await worker.stop();
      expect(worker.scrub(4)).toBe(false);
      await database.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('says why when the worker cannot open the file', async () => {
    await expect(
      startCheckpointer({
        file: join(tmpdir(), `pipa-missing-${process.pid}.db`),
        busyTimeoutMs: 100,
        synchronous: 'NORMAL',
        intervalMs: 50,
      }),
    ).rejects.toThrow(/unable to open database file|does not exist/);
  });
});

forEachDialect('row locks', (ctx) => {
  it('lets two workers claim different rows with SKIP LOCKED', async () => {
    if (!ctx.caps.skipLocked) return; // SQLite: one writer at a time, nothing to skip.
    const now = T0;
    for (const id of ['job_1', 'job_2']) {
      await ctx.db
        .insertInto('jobs')
        .values({
          id,
          kind: 'test',
          payload: '{}',
          state: 'queued',
          priority: 0,
          attempts: 0,
          max_attempts: 3,
          run_at: now,
          locked_by: null,
          locked_until: null,
          last_error: null,
          dedupe_key: null,
          created_at: now,
          updated_at: now,
        })
        .execute();
    }
    const other = await ctx.connect();
    const claim = (db: Kysely<Schema>) =>
      forUpdate(db.selectFrom('jobs').select('id').where('state', '=', 'queued').orderBy('id').limit(1), ctx.caps, {
        skipLocked: true,
      }).executeTakeFirst();
    let release: () => void = () => {};
    const hold = new Promise<void>((r) => {
      release = r;
    });
    let claimed: (id: string | undefined) => void = () => {};
    const firstClaim = new Promise<string | undefined>((r) => {
      claimed = r;
    });
    const first = withTransaction(ctx.db, async (trx) => {
      claimed((await claim(trx))?.id);
      await hold;
    });
    expect(await firstClaim).toBe('job_1');
    const second = await withTransaction(other.db, async (trx) => (await claim(trx))?.id);
    expect(second).toBe('job_2');
    release();
    await first;
  });

  it('re-establishes LISTEN after the connection drops and asks listeners to resync', async () => {
    if (!ctx.caps.listenNotify) return; // SQLite: one process, nothing to lose.
    const name = `pipa_listen_${Date.now().toString(36)}`;
    const node = await ctx.connect({ applicationName: name });
    const got: ListenEvent[] = [];
    const stop = await node.listen('pipa_reconnect', (e) => got.push(e));
    await node.notify('pipa_reconnect', 'before');
    await waitFor(got, 1);
    // Kill this node's LISTEN connection from outside, as a network failure or a server restart would.
    const killed = await sql<{
      pid: number;
    }>`select pid from pg_stat_activity where application_name = ${name} and query ilike 'LISTEN%'`.execute(ctx.db);
    expect(killed.rows).toHaveLength(1);
    await sql`select pg_terminate_backend(${killed.rows[0]?.pid})`.execute(ctx.db);
    const deadline = Date.now() + 10_000;
    while (!got.some((e) => e.kind === 'resync') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(got.some((e) => e.kind === 'resync')).toBe(true);
    await node.notify('pipa_reconnect', 'after');
    const until = Date.now() + 5000;
    while (!got.some((e) => e.kind === 'notify' && e.payload === 'after') && Date.now() < until)
      await new Promise((r) => setTimeout(r, 20));
    expect(got.filter((e) => e.kind === 'notify').map((e) => (e.kind === 'notify' ? e.payload : ''))).toEqual(['before', 'after']);
    await stop();
  });
});
