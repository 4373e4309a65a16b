import { describe, expect, it } from 'vitest';
import { forEachDialect } from '../store/test-dialects.js';
import { loadExample, openTestContext, publishForTest } from './test-context.js';

forEachDialect(
  'service context',
  (ctx) => {
    it('creates the system keys on first open and reuses them after', async () => {
      const a = await openTestContext(ctx.database, { examples: [] });
      const indexA = a.blindIndex.index('xiaopiaopiao', 'contact.phone', 'phone', '13812345678');
      const psnA = a.pseudonyms.audit('sub_1');
      const keys = await ctx.db.selectFrom('system_keys').select('purpose').orderBy('purpose').execute();
      expect(keys.map((k) => k.purpose)).toEqual(['audit-checkpoint', 'audit-pseudonym', 'blind-index', 'sharing-pseudonym']);
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
  },
  { perTest: true },
);

describe('openServiceContext', () => {
  it('refuses an unknown suite', async () => {
    const { openServiceContext } = await import('./context.js');
    // @ts-expect-error: deliberately wrong
    await expect(openServiceContext({ suite: 'rot13', db: 'sqlite::memory:' })).rejects.toThrow(/unknown cipher suite rot13/);
  });
});
