import { afterAll, beforeAll, expect, it } from 'vitest';
import type { ServiceContext } from '../service/context.js';
import { openTestContext } from '../service/test-context.js';
import { forEachDialect } from '../store/test-dialects.js';
import { createSubjectService, type SubjectService } from '../subjects/index.js';
import { createVaultService, type VaultActor } from './index.js';
import { recordCategories } from './record.js';

const SST = 'shengshitong';
const KEY: VaultActor = { id: 'key_reader', scopes: new Set(['vault:read', 'vault:write', 'vault:read-plain']) };

forEachDialect('vault conversion of the per-field layout', (dctx) => {
  let ctx: ServiceContext;
  let subjects: SubjectService;
  beforeAll(async () => {
    ctx = await openTestContext(dctx.database);
    subjects = createSubjectService(ctx);
  });
  afterAll(async () => {
    await ctx.close();
  });

  /** Store fields the way the first layout did: one envelope per field (AAD names the category), blind index on the row. */
  const legacyWrite = async (subjectId: string, values: Record<string, string>, at: number) => {
    const { dataKey, wrapped } = await ctx.keyring.generateDataKey({ app: SST, subject: subjectId });
    await ctx.db
      .insertInto('data_keys')
      .values({
        subject_id: subjectId,
        app_id: SST,
        kek_version: 1,
        wrapped_dek: wrapped,
        suite: ctx.suite,
        created_at: at,
        rotated_at: null,
      })
      .execute();
    for (const [category, value] of Object.entries(values)) {
      await ctx.db
        .insertInto('vault_fields')
        .values({
          subject_id: subjectId,
          app_id: SST,
          category,
          ciphertext: ctx.cipher(ctx.suite).encrypt(dataKey, value, { app: SST, subject: subjectId, field: category }),
          blind_index: category === 'contact.phone' ? ctx.blindIndex.index(SST, category, 'phone', value) : null,
          key_version: dataKey.version,
          created_at: at,
          updated_at: at + 1,
        })
        .execute();
    }
  };

  it('converts every readable subject to one record at start, keeps times and lookups, and leaves unreadable rows', async () => {
    const a = (await subjects.ensure(ctx.db, { appId: SST, kind: 'account' })).id;
    const b = (await subjects.ensure(ctx.db, { appId: SST, kind: 'account' })).id;
    const c = (await subjects.ensure(ctx.db, { appId: SST, kind: 'account' })).id;
    await legacyWrite(a, { 'basic.name': '张三', 'contact.phone': '13812345678' }, 1_700_000_000_000);
    await legacyWrite(b, { 'contact.email': 'li@example.cn' }, 1_700_000_000_000);
    // c: a row whose key is gone (crypto-shredded before the upgrade): it cannot be converted.
    await ctx.db
      .insertInto('vault_fields')
      .values({
        subject_id: c,
        app_id: SST,
        category: 'basic.name',
        ciphertext: Buffer.from([1, 2, 3]),
        blind_index: null,
        key_version: 1,
        created_at: 1,
        updated_at: 1,
      })
      .execute();

    const vault = createVaultService(ctx, { subjects });
    const rec = await vault.read(SST, a, KEY, { view: 'plain', purpose: 'legal-compliance' });
    expect(rec.fields['basic.name']).toMatchObject({ value: '张三', masked: false, updatedAt: 1_700_000_000_001 });
    expect(rec.fields['contact.phone']?.value).toBe('13812345678');
    expect(await recordCategories(ctx.db, a)).toEqual(['basic.name', 'contact.phone']);
    expect(await recordCategories(ctx.db, b)).toEqual(['contact.email']);
    // The blind index moved with the value; the per-field rows are gone, except the unreadable one.
    expect((await vault.lookup(SST, { phone: '138 1234 5678' }, KEY)).map((m) => m.subjectId)).toEqual([a]);
    const left = await ctx.db.selectFrom('vault_fields').select(['subject_id', 'category']).execute();
    expect(left).toEqual([{ subject_id: c, category: 'basic.name' }]);
    // The rights read sees the first-stored time.
    const forRequest = await vault.readForRequest(SST, a, KEY, 'req_x');
    expect(forRequest.find((f) => f.category === 'basic.name')).toMatchObject({ since: 1_700_000_000_000, from: a });
    // A second service (a restart, another node) converts nothing twice and changes nothing.
    const before = await ctx.db.selectFrom('vault_records').selectAll().where('subject_id', 'in', [a, b]).orderBy('subject_id').execute();
    const again = createVaultService(ctx, { subjects });
    await again.read(SST, b, KEY);
    expect(await ctx.db.selectFrom('vault_records').selectAll().where('subject_id', 'in', [a, b]).orderBy('subject_id').execute()).toEqual(
      before,
    );
    // Erasing the unconvertible subject removes its leftover row too.
    await vault.erase(SST, c, { confirm: true }, KEY);
    expect(await ctx.db.selectFrom('vault_fields').selectAll().execute()).toEqual([]);
  });
});
