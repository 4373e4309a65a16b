import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createFileKeyProvider } from '../crypto/key-file.js';
import type { Database } from '../store/database.js';
import { forEachDialect } from '../store/test-dialects.js';
import { DEFAULT_CACHES, openServiceContext, resolveCaches, type ServiceCaches } from './context.js';
import { loadExample, openTestContext, publishForTest, TEST_MASTER_KEY } from './test-context.js';

const OTHER_KEY = Buffer.alloc(32, 9).toString('base64');
const countSystemKeys = async (database: Database) => (await database.db.selectFrom('system_keys').select('purpose').execute()).length;

/** Run `fn` with a fresh temporary data directory, removed after. */
async function inTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'pipa-ctx-setup-'));
  try {
    await fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

forEachDialect(
  'service context',
  (ctx) => {
    it('creates the system keys on first open and reuses them after', async () => {
      const a = await openTestContext(ctx.database, { examples: [] });
      const indexA = a.blindIndex.index('xiaopiaopiao', 'contact.phone', 'phone', '13812345678');
      const psnA = a.pseudonyms.audit('sub_1');
      const keys = await ctx.db.selectFrom('system_keys').select('purpose').orderBy('purpose').execute();
      expect(keys.map((k) => k.purpose)).toEqual([
        'audit-checkpoint',
        'audit-pseudonym',
        'blind-index',
        'deployment-suite:aes-256-gcm',
        'sharing-pseudonym',
      ]);
      await a.close();
      const b = await openTestContext(ctx.database, { examples: [] });
      expect(b.blindIndex.index('xiaopiaopiao', 'contact.phone', 'phone', '13812345678').equals(indexA)).toBe(true);
      expect(b.pseudonyms.audit('sub_1')).toBe(psnA);
      expect(b.checkpointSigner.publicKey).toBe(a.checkpointSigner.publicKey);
      await b.close();
    });

    it('loads published policies into the registry and compiles them', async () => {
      const c = await openTestContext(ctx.database);
      expect(
        c.policies
          .list()
          .map((p) => p.appId)
          .sort(),
      ).toEqual(['shengshitong', 'xiaopiaopiao-merchant']);
      const p = c.policies.require('xiaopiaopiao-merchant');
      expect(p.version).toBe('2022-03-20');
      expect(p.compiled).toBeDefined();
      expect(() => c.policies.require('nope')).toThrow(/unknown app nope/);
      const seen: string[] = [];
      c.policies.onChange((x) => seen.push(`${x.appId}@${x.version}`));
      await publishForTest(c, loadExample('xiaopiaopiao'), { version: '2026-12-01' });
      expect(c.policies.require('xiaopiaopiao-merchant').version).toBe('2026-12-01');
      expect(seen).toEqual(['xiaopiaopiao-merchant@2026-12-01']);
      await c.close();
    });

    it('setup: false refuses a database without system keys and creates neither a key file nor system keys', async () => {
      await inTempDir(async (dir) => {
        const dataDir = join(dir, 'data');
        for (const env of [{}, { PIPA_MASTER_KEY: TEST_MASTER_KEY }]) {
          await expect(openServiceContext({ database: ctx.database, dataDir, env, setup: false })).rejects.toMatchObject({
            code: 'precondition_failed',
            message: expect.stringContaining('no pipa installation'),
          });
        }
        expect(existsSync(dataDir)).toBe(false);
        expect(await countSystemKeys(ctx.database)).toBe(0);
      });
    });

    it('an installation without its master key is refused (master_key_missing): no key file is created, even with setup', async () => {
      const first = await openTestContext(ctx.database, { examples: [] });
      await first.close();
      await inTempDir(async (dataDir) => {
        for (const setup of [false, true]) {
          await expect(openServiceContext({ database: ctx.database, dataDir, env: {}, setup })).rejects.toMatchObject({
            code: 'master_key_missing',
            message: expect.stringContaining(
              `the key file ${join(dataDir, 'master-key.json')} does not exist and PIPA_MASTER_KEY is not set`,
            ),
          });
        }
        expect(readdirSync(dataDir)).toEqual([]);
      });
      expect(await countSystemKeys(ctx.database)).toBe(5);
    });

    it("another master key than the installation's is master_key_mismatch, not tampering, and nothing is added under it", async () => {
      const first = await openTestContext(ctx.database, { examples: [] });
      await first.close();
      const before = await ctx.db.selectFrom('system_keys').selectAll().orderBy('purpose').execute();
      // A missing purpose (as after an upgrade that adds one) must not be created under the wrong key.
      await ctx.db.deleteFrom('system_keys').where('purpose', '=', 'audit-checkpoint').execute();
      await inTempDir(async (dataDir) => {
        for (const setup of [false, true]) {
          const err = await openServiceContext({ database: ctx.database, dataDir, env: { PIPA_MASTER_KEY: OTHER_KEY }, setup }).catch(
            (e: unknown) => e,
          );
          expect(err).toMatchObject({ name: 'CryptoError', code: 'master_key_mismatch' });
          expect((err as Error).message).toContain(
            "this database's keys were wrapped by another master key than the one configured (env PIPA_MASTER_KEY",
          );
          expect((err as Error).message).toContain('not tampering');
          expect((err as { messageZh: string }).messageZh).toContain('这是配置错误，而非篡改');
        }
        // Another installation's key file in the data directory: the same.
        await createFileKeyProvider({ path: join(dataDir, 'other', 'master-key.json') });
        const other = await openServiceContext({ database: ctx.database, dataDir: join(dataDir, 'other'), env: {} }).catch(
          (e: unknown) => e,
        );
        expect(other).toMatchObject({ code: 'master_key_mismatch', message: expect.stringContaining('master-key.json') });
      });
      expect(await countSystemKeys(ctx.database)).toBe(4);
      // With the right key the missing one is created again, and the others are unchanged.
      const again = await openTestContext(ctx.database, { examples: [] });
      await again.close();
      const after = await ctx.db.selectFrom('system_keys').selectAll().orderBy('purpose').execute();
      expect(after.map((r) => r.purpose)).toEqual(before.map((r) => r.purpose));
      expect(after.filter((r) => r.purpose !== 'audit-checkpoint')).toEqual(before.filter((r) => r.purpose !== 'audit-checkpoint'));
    });

    it('some system keys unwrap and one does not: tampering (authentication_failed), not a wrong key', async () => {
      const first = await openTestContext(ctx.database, { examples: [] });
      await first.close();
      const row = await ctx.db.selectFrom('system_keys').selectAll().where('purpose', '=', 'blind-index').executeTakeFirstOrThrow();
      const altered = Buffer.from(row.wrapped);
      altered[altered.length - 1] = (altered[altered.length - 1] ?? 0) ^ 1;
      await ctx.db.updateTable('system_keys').set({ wrapped: altered }).where('purpose', '=', 'blind-index').execute();
      await expect(openTestContext(ctx.database, { examples: [] })).rejects.toMatchObject({ code: 'authentication_failed' });
    });
  },
  { perTest: true },
);

forEachDialect(
  'service context on a database never migrated',
  (ctx) => {
    it('setup: false refuses it before migrating: no table, no key file', async () => {
      await inTempDir(async (dataDir) => {
        await expect(openServiceContext({ database: ctx.database, dataDir, env: {}, setup: false })).rejects.toMatchObject({
          code: 'precondition_failed',
        });
        expect(readdirSync(dataDir)).toEqual([]);
      });
      expect((await ctx.db.introspection.getTables()).map((t) => t.name)).not.toContain('system_keys');
    });

    it('a first start (setup) migrates, creates the key file in the data directory and the system keys', async () => {
      await inTempDir(async (dir) => {
        const dataDir = join(dir, 'data');
        const c = await openServiceContext({ database: ctx.database, dataDir, env: {} });
        await c.close();
        expect(readdirSync(dataDir)).toEqual(['master-key.json']);
        expect(await countSystemKeys(ctx.database)).toBe(5);
      });
    });
  },
  { perTest: true, migrate: false },
);

forEachDialect(
  'the cipher suite of an installation',
  (ctx) => {
    const env = { PIPA_MASTER_KEY: TEST_MASTER_KEY };
    const open = (options: { suite?: 'aes-256-gcm' | 'sm4'; setup?: boolean } = {}) =>
      inTempDir((dataDir) => openServiceContext({ database: ctx.database, dataDir, env, ...options }).then((c) => c.close()));
    const suiteOf = async (options: { suite?: 'aes-256-gcm' | 'sm4'; setup?: boolean } = {}) => {
      let suite = '';
      let psn = '';
      await inTempDir(async (dataDir) => {
        const c = await openServiceContext({ database: ctx.database, dataDir, env, ...options });
        suite = c.suite;
        psn = c.pseudonyms.audit('sub_1');
        await c.close();
      });
      return { suite, psn };
    };
    const markers = async () =>
      (await ctx.db.selectFrom('system_keys').select('purpose').where('purpose', 'like', 'deployment-suite:%').execute()).map(
        (r) => r.purpose,
      );

    it('is recorded at the first start and kept: later opens without a suite use it, another suite is refused', async () => {
      const first = await suiteOf({ suite: 'sm4' });
      expect(first.suite).toBe('sm4');
      expect(await markers()).toEqual(['deployment-suite:sm4']);
      // Without a suite (pipa serve again, pipa keys …): the recorded one, the same pseudonyms.
      expect(await suiteOf()).toEqual(first);
      expect(await suiteOf({ setup: false })).toEqual(first);
      const refused = await open({ suite: 'aes-256-gcm' }).catch((e: unknown) => e);
      expect(refused).toMatchObject({ code: 'conflict' });
      expect((refused as Error).message).toContain('this installation uses the sm4 cipher suite');
      expect(await markers()).toEqual(['deployment-suite:sm4']);
    });

    it('the record is bound to its suite: renamed to the other one, it does not unwrap', async () => {
      await open({ suite: 'sm4' });
      await ctx.db
        .updateTable('system_keys')
        .set({ purpose: 'deployment-suite:aes-256-gcm' })
        .where('purpose', '=', 'deployment-suite:sm4')
        .execute();
      await expect(open()).rejects.toMatchObject({ code: 'authentication_failed' });
    });

    it('an installation from before the record gets it at its next start, not from a command that sets nothing up', async () => {
      await open();
      await ctx.db.deleteFrom('system_keys').where('purpose', 'like', 'deployment-suite:%').execute();
      expect((await suiteOf({ setup: false })).suite).toBe('aes-256-gcm');
      expect(await markers()).toEqual([]);
      await open();
      expect(await markers()).toEqual(['deployment-suite:aes-256-gcm']);
    });
  },
  { perTest: true },
);

describe('openServiceContext', () => {
  it('checks the master key before creating anything: a bad PIPA_MASTER_KEY leaves no data directory', async () => {
    await inTempDir(async (dir) => {
      const dataDir = join(dir, 'data');
      for (const key of ['notbase64!!', Buffer.alloc(16, 1).toString('base64')]) {
        await expect(openServiceContext({ dataDir, env: { PIPA_MASTER_KEY: key } })).rejects.toMatchObject({ code: 'malformed_key' });
      }
      expect(existsSync(dataDir)).toBe(false);
    });
  });

  it('a data directory that is a file is a configuration error naming it (details path dataDir)', async () => {
    await inTempDir(async (dir) => {
      const file = join(dir, 'afile');
      writeFileSync(file, 'x');
      await expect(openServiceContext({ dataDir: file, env: {} })).rejects.toMatchObject({
        name: 'PipaError',
        message: expect.stringContaining(`data directory ${file}: it (or a folder above it) is a file, not a folder`),
        details: [{ path: 'dataDir' }],
      });
    });
  });

  it('checks the cache settings before creating anything, naming the setting and its limits', async () => {
    await inTempDir(async (dir) => {
      const dataDir = join(dir, 'data');
      const cases: [Partial<ServiceCaches>, string][] = [
        [{ dataKeys: 0 }, 'caches.dataKeys must be an integer from 1 to 1000000 (got 0)'],
        [{ dataKeys: 1.5 }, 'caches.dataKeys must be an integer from 1 to 1000000 (got 1.5)'],
        [{ dataKeyTtlMs: 999 }, 'caches.dataKeyTtlMs must be an integer from 1000 to 86400000 (got 999)'],
        [{ maskedSubjects: -1 }, 'caches.maskedSubjects must be an integer from 0 to 1000000 (got -1)'],
        [{ maskedSubjects: 1_000_001 }, 'caches.maskedSubjects must be an integer from 0 to 1000000 (got 1000001)'],
        [{ maskedSubjects: '5' as unknown as number }, 'caches.maskedSubjects must be an integer from 0 to 1000000 (got 5)'],
      ];
      for (const [caches, message] of cases) {
        const name = Object.keys(caches)[0];
        await expect(openServiceContext({ dataDir, env: { PIPA_MASTER_KEY: TEST_MASTER_KEY }, caches })).rejects.toMatchObject({
          name: 'PipaError',
          code: 'invalid_request',
          message,
          details: [{ path: `$.caches.${name}` }],
        });
      }
      expect(existsSync(dataDir)).toBe(false);
    });
    expect(resolveCaches({ dataKeys: 1, maskedSubjects: 0 })).toEqual({ ...DEFAULT_CACHES, dataKeys: 1, maskedSubjects: 0 });
  });

  it('refuses an unknown suite', async () => {
    const { openServiceContext } = await import('./context.js');
    // @ts-expect-error: deliberately wrong
    await expect(openServiceContext({ suite: 'rot13', db: 'sqlite::memory:' })).rejects.toThrow(/unknown cipher suite rot13/);
  });
});
