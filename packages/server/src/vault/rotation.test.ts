import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { openServiceContext, type ServiceContext } from '../service/context.js';
import { loadExample, publishForTest } from '../service/test-context.js';
import { forEachDialect } from '../store/test-dialects.js';
import { createSubjectService, type SubjectService } from '../subjects/index.js';
import { createVaultService, rewrapDataKeys, type VaultActor, type VaultService } from './index.js';

const SST = 'shengshitong';
const KEY: VaultActor = { id: 'key_writer', scopes: new Set(['vault:write', 'vault:read']) };

forEachDialect('vault key rotation', (dctx) => {
  let ctx: ServiceContext;
  let subjects: SubjectService;
  let vault: VaultService;
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'pipa-rotate-'));
    // The key file provider can add versions (the env provider cannot rotate itself).
    ctx = await openServiceContext({ database: dctx.database, dataDir: dir, masterKey: { provider: 'file' }, env: {} });
    await publishForTest(ctx, loadExample('shengshitong'));
    subjects = createSubjectService(ctx);
    vault = createVaultService(ctx, { subjects });
  });
  afterAll(async () => {
    await ctx.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('re-wraps every data key under the new master key version in pages; the data stays readable; audited', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) {
      const id = (await subjects.ensure(ctx.db, { appId: SST, kind: 'account' })).id;
      await vault.put(SST, id, { 'basic.name': `张${i}`, 'contact.phone': `1380000000${i}` }, KEY);
      ids.push(id);
    }
    const before = await ctx.db.selectFrom('data_keys').select(['subject_id', 'wrapped_dek', 'kek_version']).execute();
    expect(new Set(before.map((r) => r.kek_version))).toEqual(new Set([1]));
    expect(await ctx.provider.addVersion()).toBe(2);
    // Nothing to do is reported as such before any row moved.
    const progress: number[] = [];
    const report = await rewrapDataKeys(ctx, { batchSize: 3, onProgress: (p) => progress.push(p.rewrapped), actor: 'job:keys.rotate' });
    expect(report).toMatchObject({ scanned: 7, rewrapped: 7, skipped: 0, failed: 0, remaining: 0, complete: true, toVersion: 2 });
    expect(progress).toEqual([3, 6, 7]);
    const after = await ctx.db.selectFrom('data_keys').select(['subject_id', 'wrapped_dek', 'kek_version', 'rotated_at']).execute();
    for (const row of after) {
      expect(row.kek_version).toBe(2);
      expect(row.rotated_at).not.toBeNull();
      expect(row.wrapped_dek.equals(before.find((b) => b.subject_id === row.subject_id)?.wrapped_dek ?? Buffer.alloc(0))).toBe(false);
    }
    // The old version can go: the keys unwrap under version 2 only, and the fields (never re-encrypted) read back.
    await ctx.provider.retireVersion(1);
    ctx.dataKeys.clear();
    const rec = await vault.read(SST, ids[3] ?? '', KEY);
    expect(rec.fields['basic.name']?.value).toBe('张*');
    const again = await rewrapDataKeys(ctx);
    expect(again).toMatchObject({ scanned: 0, rewrapped: 0, remaining: 0 });
    const events = await ctx.audit.events({ limit: 1000 });
    const rewraps = events.filter((e) => e.action === 'keys.rewrap');
    expect(rewraps[0]).toMatchObject({ actor: 'job:keys.rotate', outcome: 'ok', details: { toVersion: 2, rewrapped: 7 } });
  });

  it('reports rows it cannot re-wrap with the subject and the reason, and leaves them for the next run', async () => {
    const id = (await subjects.ensure(ctx.db, { appId: SST, kind: 'account' })).id;
    await vault.put(SST, id, { 'basic.name': '王五' }, KEY);
    expect(await ctx.provider.addVersion()).toBe(3);
    // A tampered wrapped key (moved from another subject) does not unwrap.
    const other = await ctx.db
      .selectFrom('data_keys')
      .select(['subject_id', 'wrapped_dek'])
      .where('subject_id', '!=', id)
      .executeTakeFirstOrThrow();
    const own = await ctx.db.selectFrom('data_keys').select('wrapped_dek').where('subject_id', '=', id).executeTakeFirstOrThrow();
    await ctx.db.updateTable('data_keys').set({ wrapped_dek: other.wrapped_dek }).where('subject_id', '=', id).execute();
    const report = await rewrapDataKeys(ctx, { batchSize: 100 });
    expect(report.failed).toBe(1);
    expect(report.failures[0]).toMatchObject({ appId: SST, subjectId: id, code: 'authentication_failed' });
    expect(report.remaining).toBe(1);
    const events = await ctx.audit.events({ limit: 1000 });
    expect(events.filter((e) => e.action === 'keys.rewrap').pop()).toMatchObject({
      outcome: 'failed',
      details: { failed: 1, remaining: 1 },
    });
    await ctx.db.updateTable('data_keys').set({ wrapped_dek: own.wrapped_dek }).where('subject_id', '=', id).execute();
    expect(await rewrapDataKeys(ctx)).toMatchObject({ rewrapped: 1, failed: 0, remaining: 0 });
  });

  it('does not bring back a key erased while it was being re-wrapped (compare-and-set on the old value)', async () => {
    const id = (await subjects.ensure(ctx.db, { appId: SST, kind: 'account' })).id;
    await vault.put(SST, id, { 'basic.name': '赵六' }, KEY);
    await ctx.provider.addVersion();
    const racy: ServiceContext = {
      ...ctx,
      keyring: {
        ...ctx.keyring,
        async rewrapDataKey(wrapped, owner) {
          const result = await ctx.keyring.rewrapDataKey(wrapped, owner);
          if (owner.subject === id) await vault.erase(SST, id, { confirm: true }, KEY);
          return result;
        },
      },
    };
    const report = await rewrapDataKeys(racy);
    expect(report.skipped).toBe(1);
    expect(report.remaining).toBe(0);
    expect(await ctx.db.selectFrom('data_keys').select('subject_id').where('subject_id', '=', id).execute()).toEqual([]);
  });
});
