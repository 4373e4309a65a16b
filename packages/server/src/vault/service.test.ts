import { existsSync, readFileSync, statSync } from 'node:fs';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { countAuditEvents } from '../audit/audit-log.js';
import type { AuditEvent } from '../audit/types.js';
import { DataKey } from '../crypto/data-key.js';
import { createFieldCipher } from '../crypto/field-cipher.js';
import { suiteById } from '../crypto/suites.js';
import { CHANNELS, DEFAULT_CACHES, type ServiceContext } from '../service/context.js';
import { openTestContext } from '../service/test-context.js';
import { forEachDialect } from '../store/test-dialects.js';
import { createSubjectService, type SubjectService } from '../subjects/index.js';
import { expectPipaError } from '../test-errors.js';
import { createVaultService, type VaultActor, type VaultService } from './index.js';
import { RECORD_FIELD } from './record.js';

const SST = 'shengshitong';
const XPP = 'xiaopiaopiao-merchant';
const KEY: VaultActor = { id: 'key_writer', scopes: new Set(['vault:write', 'vault:read']), requestId: 'req_test_0001' };
const PLAIN: VaultActor = { id: 'key_reader', scopes: new Set(['vault:read-plain']), requestId: 'req_test_0002' };

/** A 10-field profile of the shengshitong app. */
const PROFILE = {
  'basic.name': '张三',
  'basic.gender': '男',
  'basic.birth-date': '1990-03-07',
  'basic.nationality': '中国',
  'contact.phone': '13812345678',
  'contact.email': 'Zhang.San@Example.com',
  'contact.address': '辽宁省沈阳市和平区南京北街123号4单元501室',
  'contact.postcode': '110000',
  'custom.document-number': 'E12345678',
  'account.customer-code': 'C-2024-0001',
} as const;

const MASKED = {
  'basic.name': '张*',
  'basic.gender': '男',
  'basic.birth-date': '1990-**-**',
  'basic.nationality': '中国',
  'contact.phone': '138****5678',
  'contact.email': 'Z***@Example.com',
  'contact.address': '辽宁省沈阳市和平区****',
  'contact.postcode': '11****',
  'custom.document-number': '******',
  'account.customer-code': 'C***',
};

async function counts(ctx: ServiceContext): Promise<{ fields: number; keys: number; audit: number }> {
  const records = await ctx.db.selectFrom('vault_records').select('fields').execute();
  const f = { n: records.reduce((n, r) => n + Object.keys(JSON.parse(r.fields) as object).length, 0) };
  const k = await ctx.db.selectFrom('data_keys').select(sql<number>`count(*)`.as('n')).executeTakeFirstOrThrow();
  await ctx.auditBatcher.flush();
  return { fields: Number(f.n), keys: Number(k.n), audit: await countAuditEvents(ctx.db) };
}

async function lastEvents(ctx: ServiceContext, n: number): Promise<AuditEvent[]> {
  await ctx.auditBatcher.flush();
  const head = await ctx.audit.head();
  return ctx.audit.events({ after: Math.max(0, head.seq - n), limit: n });
}

forEachDialect('vault service', (dctx) => {
  let ctx: ServiceContext;
  let subjects: SubjectService;
  let vault: VaultService;
  const account = async (app = SST) => (await subjects.ensure(ctx.db, { appId: app, kind: 'account' })).id;

  beforeAll(async () => {
    ctx = await openTestContext(dctx.database);
    subjects = createSubjectService(ctx);
    vault = createVaultService(ctx, { subjects });
  });
  afterAll(async () => {
    await ctx.close();
  });

  describe('write and read', () => {
    it('stores a 10-field profile encrypted and reads it back masked by Chinese conventions', async () => {
      const sub = await account();
      const r = await vault.put(SST, sub, PROFILE, KEY);
      expect(r).toMatchObject({ appId: SST, subjectId: sub, mode: 'merge', suite: 'aes-256-gcm', keyVersion: 1, removed: [] });
      expect(r.written).toEqual(Object.keys(PROFILE).sort());
      const rec = await vault.read(SST, sub, KEY);
      expect(rec).toMatchObject({ subjectId: sub, kind: 'account', status: 'active', view: 'masked', purpose: null, devices: [] });
      expect(Object.fromEntries(Object.entries(rec.fields).map(([k, v]) => [k, v.value]))).toEqual(MASKED);
      for (const f of Object.values(rec.fields)) expect(f).toMatchObject({ masked: true, from: sub });
    });

    it('opens the record with the key its read was chosen for, even when the key cache drops it in between', async () => {
      const sub = await account();
      await vault.put(SST, sub, PROFILE, KEY);
      expect(ctx.dataKeys.get(SST, sub)).toBeDefined();
      // A vault without masked values in memory decrypts; the cache answers this subject's key once,
      // then has dropped it (its time-to-live ended, say) by the time the record is opened.
      const fresh = createVaultService(ctx, { subjects });
      const cache = ctx.dataKeys as { get: typeof ctx.dataKeys.get };
      const get = cache.get;
      let asked = 0;
      cache.get = (app, subject) => (subject === sub && asked++ > 0 ? undefined : get.call(ctx.dataKeys, app, subject));
      try {
        const rec = await fresh.read(SST, sub, KEY);
        expect(Object.fromEntries(Object.entries(rec.fields).map(([k, v]) => [k, v.value]))).toEqual(MASKED);
      } finally {
        cache.get = get;
      }
    });

    it('keeps no value in the clear: not in the fields, the key table or the audit log', async () => {
      const sub = await account();
      await vault.put(SST, sub, PROFILE, KEY);
      // One record: one envelope for the 10 fields, and a manifest of categories and times without values.
      const row = await ctx.db.selectFrom('vault_records').selectAll().where('subject_id', '=', sub).executeTakeFirstOrThrow();
      expect(row.key_version).toBe(1);
      expect(Object.keys(JSON.parse(row.fields) as object)).toEqual(Object.keys(PROFILE).sort());
      // What a value in the clear would leave: the value as the record's JSON holds it (quoted), and the
      // bare value when it is long enough not to turn up in random bytes by chance ('男' is 3 bytes:
      // about one ciphertext in 25,000 of this size holds them somewhere).
      const inClear = (value: string) => [
        Buffer.from(JSON.stringify(value), 'utf8'),
        ...(Buffer.byteLength(value, 'utf8') >= 6 ? [Buffer.from(value, 'utf8')] : []),
      ];
      for (const value of Object.values(PROFILE)) {
        for (const bytes of inClear(value)) expect(row.envelope.includes(bytes)).toBe(false);
        expect(row.fields).not.toContain(value);
      }
      // Blind indexes only where lookups need them, and no value beside them.
      const index = await ctx.db.selectFrom('vault_index').selectAll().where('subject_id', '=', sub).orderBy('category').execute();
      expect(index.map((i) => i.category)).toEqual(['contact.email', 'contact.phone']);
      for (const i of index) {
        for (const value of Object.values(PROFILE)) for (const bytes of inClear(value)) expect(i.blind_index.includes(bytes)).toBe(false);
      }
      const key = await ctx.db.selectFrom('data_keys').selectAll().where('subject_id', '=', sub).executeTakeFirstOrThrow();
      expect(key).toMatchObject({ app_id: SST, suite: 'aes-256-gcm', kek_version: 1 });
      const events = await lastEvents(ctx, 1);
      expect(events[0]).toMatchObject({ action: 'vault.write', actor: 'key_writer', appId: SST, requestId: 'req_test_0001' });
      expect(events[0]?.categories).toEqual(Object.keys(PROFILE).sort());
      expect(events[0]?.subjectPseudonym).toBe(ctx.pseudonyms.audit(sub));
      const audit = JSON.stringify(await ctx.audit.events({ limit: 1000 }));
      for (const v of Object.values(PROFILE)) expect(audit).not.toContain(v);
      expect(audit).not.toContain(sub);
    });

    it('merges by default, deletes with null, and replaces with mode replace', async () => {
      const sub = await account();
      await vault.put(SST, sub, { 'basic.name': '李四', 'contact.phone': '13912345678' }, KEY);
      await vault.put(SST, sub, { 'contact.email': 'li@example.cn' }, KEY);
      expect(Object.keys((await vault.read(SST, sub, KEY)).fields).sort()).toEqual(['basic.name', 'contact.email', 'contact.phone']);
      const del = await vault.put(SST, sub, { 'contact.email': null, 'basic.name': '李四四' }, KEY);
      expect(del).toMatchObject({ written: ['basic.name'], removed: ['contact.email'] });
      expect(Object.keys((await vault.read(SST, sub, KEY)).fields).sort()).toEqual(['basic.name', 'contact.phone']);
      const deleted = (await lastEvents(ctx, 1))[0];
      expect(deleted?.categories).toEqual(['basic.name', 'contact.email']);
      expect(deleted?.details).toEqual({ mode: 'merge', removed: ['contact.email'] });
      // A replace removes every held category it leaves out: the reply and the audit event name them.
      const replaced = await vault.put(SST, sub, { 'contact.postcode': '100000' }, KEY, { mode: 'replace' });
      expect(replaced).toMatchObject({ mode: 'replace', written: ['contact.postcode'], removed: ['basic.name', 'contact.phone'] });
      const event = (await lastEvents(ctx, 1))[0];
      expect(event?.categories).toEqual(['basic.name', 'contact.phone', 'contact.postcode']);
      expect(event?.details).toEqual({ mode: 'replace', removed: ['basic.name', 'contact.phone'] });
      const rec = await vault.read(SST, sub, KEY);
      expect(Object.keys(rec.fields)).toEqual(['contact.postcode']);
      // A null for a category the subject does not hold removes nothing, and says so.
      const none = await vault.put(SST, sub, { 'contact.email': null }, KEY);
      expect(none).toMatchObject({ written: [], removed: [] });
      expect((await lastEvents(ctx, 1))[0]?.details).toEqual({ mode: 'merge' });
      // The replaced phone no longer finds the subject.
      expect(await vault.lookup(SST, { phone: '13912345678' }, KEY)).toEqual([]);
      await expectPipaError(
        vault.put(SST, sub, { 'contact.postcode': null }, KEY, { mode: 'replace' }),
        'validation_failed',
        '$.body.fields["contact.postcode"]',
      );
    });

    it('refuses undeclared categories with the path and a suggestion, writing nothing', async () => {
      const sub = await account();
      const xsub = await account(XPP);
      const before = await counts(ctx);
      const e = await expectPipaError(
        vault.put(SST, sub, { 'contact.phon': '13812345678', 'basic.name': '张三' }, KEY),
        'unknown_category',
      );
      expect(e.details?.[0]).toMatchObject({ path: '$.body.fields["contact.phon"]', suggestion: 'contact.phone' });
      expect(e.message).toContain('did you mean contact.phone');
      // Declared by another app, not by this one.
      await expectPipaError(vault.put(XPP, xsub, { 'contact.email': 'a@b.cn' }, KEY), 'unknown_category', '$.body.fields["contact.email"]');
      await expectPipaError(vault.put(SST, sub, {}, KEY), 'validation_failed', '$.body.fields');
      // A caller whose values sit elsewhere in its input (a rights request's corrections) names that place.
      await expectPipaError(
        vault.put(SST, sub, { 'contact.phon': '13812345678' }, KEY, { path: '$.body.corrections' }),
        'unknown_category',
        '$.body.corrections["contact.phon"]',
      );
      await expectPipaError(vault.put(SST, sub, {}, KEY, { path: '$.body.corrections' }), 'validation_failed', '$.body.corrections');
      await expectPipaError(vault.put('no-such-app', sub, { 'basic.name': '张三' }, KEY), 'unknown_app');
      expect(await counts(ctx)).toEqual(before);
    });

    it('checks values by type with a clear message that never repeats the value', async () => {
      const sub = await account();
      const xsub = await account(XPP);
      const before = await counts(ctx);
      const bad = {
        'contact.phone': '12345',
        'contact.email': 'not-an-email',
        'basic.birth-date': '2999-01-01',
        'contact.postcode': '#',
        'basic.name': '  ',
      };
      const e = await expectPipaError(vault.put(SST, sub, bad, KEY), 'validation_failed');
      expect(e.details?.map((d) => d.path).sort()).toEqual(
        Object.keys(bad)
          .map((k) => `$.body.fields["${k}"]`)
          .sort(),
      );
      const text = JSON.stringify({ m: e.message, d: e.details });
      for (const v of ['12345', 'not-an-email', '2999-01-01']) expect(text).not.toContain(v);
      // The message names the first problem and counts the others.
      const first = e.details?.[0];
      expect(e.message).toBe(`${first?.path}: ${first?.message}; ${Object.keys(bad).length - 1} more problems in details`);
      expect(e.details?.find((d) => d.path === '$.body.fields["contact.phone"]')?.message).toContain('not a mobile phone number');
      expect(e.details?.find((d) => d.path === '$.body.fields["basic.birth-date"]')?.message).toContain('in the future');
      // A landline is not a mobile number; an ID number needs its check character.
      await expectPipaError(
        vault.put(SST, sub, { 'contact.phone': '010-12345678' }, KEY),
        'validation_failed',
        '$.body.fields["contact.phone"]',
      );
      const id = await expectPipaError(vault.put(XPP, xsub, { 'identity.id-card': '110101199003071234' }, KEY), 'validation_failed');
      expect(id.details?.[0]?.message).toContain('check character');
      await expectPipaError(
        vault.put(XPP, xsub, { 'finance.bank-account': '12ab' }, KEY),
        'validation_failed',
        '$.body.fields["finance.bank-account"]',
      );
      await expectPipaError(vault.put(XPP, xsub, { 'network.ip': '300.1.1.1' }, KEY), 'validation_failed', '$.body.fields["network.ip"]');
      expect(await counts(ctx)).toEqual(before);
      // Accepted forms.
      await vault.put(
        XPP,
        xsub,
        { 'identity.id-card': '110101199003071233', 'contact.phone': '+86 139-1234-5678', 'network.ip': '::1' },
        KEY,
      );
    });

    it('refuses unknown subjects and subjects of another app', async () => {
      const other = await account(XPP);
      const before = await counts(ctx);
      await expectPipaError(vault.put(SST, 'sub_aaaaaaaaaaaaaaaaaaaaaaaaaa', { 'basic.name': '张三' }, KEY), 'unknown_subject');
      await expectPipaError(vault.put(SST, other, { 'basic.name': '张三' }, KEY), 'unknown_subject');
      await expectPipaError(vault.read(SST, other, KEY), 'unknown_subject');
      expect(await counts(ctx)).toEqual(before);
      // The refused writes left no fresh key behind: a later write to a real subject works.
      const sub = await account();
      await vault.put(SST, sub, { 'basic.name': '张三' }, KEY);
    });

    it('commits concurrent writes in groups, each acknowledged and audited, in order per subject', async () => {
      const ids = await Promise.all(Array.from({ length: 40 }, () => account()));
      const before = await counts(ctx);
      const acks = await Promise.all(
        ids.flatMap((id, i) => [
          vault.put(SST, id, { 'basic.name': `用户${i}`, 'contact.phone': `1390000${String(i).padStart(4, '0')}` }, KEY),
          vault.put(SST, id, { 'basic.name': `王${i}` }, KEY),
        ]),
      );
      expect(new Set(acks.map((a) => a.auditSeq)).size).toBe(80);
      const after = await counts(ctx);
      expect(after.fields - before.fields).toBe(80);
      expect(after.keys - before.keys).toBe(40);
      // The second write of each subject applied after the first.
      for (const id of ids.slice(0, 5)) expect((await vault.read(SST, id, KEY)).fields['basic.name']?.value).toBe('王*');
      expect((await ctx.audit.verify()).ok).toBe(true);
    });

    it('fails closed: when the audit append fails, nothing is stored', async () => {
      const sub = await account();
      const before = await counts(ctx);
      const head = await ctx.db.selectFrom('chain_heads').selectAll().where('chain', '=', 'audit').executeTakeFirstOrThrow();
      await ctx.db.deleteFrom('chain_heads').where('chain', '=', 'audit').execute();
      try {
        await expect(vault.put(SST, sub, { 'basic.name': '张三' }, KEY)).rejects.toThrow(/chain head/);
      } finally {
        await ctx.db.insertInto('chain_heads').values(head).execute();
      }
      expect(await counts(ctx)).toEqual(before);
      await vault.put(SST, sub, { 'basic.name': '张三' }, KEY);
      expect((await vault.read(SST, sub, KEY)).fields['basic.name']?.value).toBe('张*');
    });
  });

  describe('data keys of writes arriving together', () => {
    /** Count the data-key queries `fn` runs (the key store's loads go through ctx.db). */
    const keyQueries = async (fn: () => Promise<unknown>): Promise<number> => {
      const spy = vi.spyOn(ctx.db, 'executeQuery');
      try {
        await fn();
        return spy.mock.calls.filter(([q]) => /from "data_keys"/.test('sql' in q ? q.sql : q.compile().sql)).length;
      } finally {
        spy.mockRestore();
      }
    };

    it('writes to new subjects from separate callbacks of one event-loop turn (concurrent HTTP requests) share one key query', async () => {
      const subs = await Promise.all(Array.from({ length: 5 }, () => account()));
      const n = await keyQueries(async () => {
        const writes = await new Promise<Promise<unknown>[]>((resolve) => {
          const started: Promise<unknown>[] = [];
          for (const [i, sub] of subs.entries()) {
            setImmediate(() => {
              started.push(vault.put(SST, sub, { 'contact.phone': `1381234${String(i).padStart(4, '0')}` }, KEY));
              if (started.length === subs.length) resolve(started);
            });
          }
        });
        await Promise.all(writes);
      });
      expect(n).toBe(1);
      for (const [i, sub] of subs.entries()) {
        expect((await vault.read(SST, sub, KEY)).fields['contact.phone']?.value).toBe(`138****${String(i).padStart(4, '0')}`);
      }
    });

    it('loads keys of more subjects than one query takes in chunks, new and stored ones alike', async () => {
      const subs = await Promise.all(Array.from({ length: 300 }, () => account()));
      const phone = (i: number, v: number) => `13${v}${String(i).padStart(8, '0')}`;
      expect(await keyQueries(() => Promise.all(subs.map((sub, i) => vault.put(SST, sub, { 'contact.phone': phone(i, 5) }, KEY))))).toBe(2);
      // Without the unwrapped keys in memory, the stored ones are loaded (2 queries) and used again.
      ctx.dataKeys.clear();
      expect(
        await keyQueries(() =>
          Promise.all(subs.map((sub, i) => vault.put(SST, sub, { 'contact.phone': phone(i, 6) }, KEY, { mode: 'merge' }))),
        ),
      ).toBe(2);
      const keys = await ctx.db.selectFrom('data_keys').select('subject_id').where('subject_id', 'in', subs).execute();
      expect(keys).toHaveLength(300);
      for (const i of [0, 137, 255, 256, 299]) {
        const masked = await vault.read(SST, subs[i] as string, KEY);
        expect(masked.fields['contact.phone']?.value).toBe(`136****${phone(i, 6).slice(-4)}`);
      }
    });
  });

  describe('masked-read audit', () => {
    it('counts masked reads per actor and app by default, written on flush, naming no subject', async () => {
      const a = await account();
      const b = await account();
      await vault.put(SST, a, { 'basic.name': '张三', 'contact.phone': '13812345678' }, KEY);
      await vault.put(SST, b, { 'contact.email': 'b@example.cn' }, KEY);
      await vault.flush();
      const before = await counts(ctx);
      const reader: VaultActor = { id: 'key_counted', scopes: new Set(['vault:read']) };
      await vault.read(SST, a, reader);
      await vault.read(SST, a, reader);
      await vault.read(SST, b, reader);
      expect((await counts(ctx)).audit).toBe(before.audit);
      await vault.flush();
      expect((await counts(ctx)).audit).toBe(before.audit + 1);
      const [ev] = await lastEvents(ctx, 1);
      expect(ev).toMatchObject({
        action: 'vault.read',
        actor: 'key_counted',
        appId: SST,
        count: 3,
        subjectPseudonym: null,
        details: { view: 'masked' },
      });
      expect(ev?.categories).toEqual(['basic.name', 'contact.email', 'contact.phone']);
    });

    it('with maskedReadAudit each, records every masked read with its subject before returning', async () => {
      const each = createVaultService(ctx, { subjects }, { maskedReadAudit: 'each' });
      const a = await account();
      await each.put(SST, a, { 'basic.name': '张三' }, KEY);
      const before = await counts(ctx);
      await each.read(SST, a, KEY);
      expect((await counts(ctx)).audit).toBe(before.audit + 1);
      const [ev] = await lastEvents(ctx, 1);
      expect(ev).toMatchObject({ action: 'vault.read', count: 1, subjectPseudonym: ctx.pseudonyms.audit(a), categories: ['basic.name'] });
    });

    it('shows a new value at once after a write (the masked cache follows the stored ciphertext)', async () => {
      const a = await account();
      await vault.put(SST, a, { 'basic.name': '张三' }, KEY);
      expect((await vault.read(SST, a, KEY)).fields['basic.name']?.value).toBe('张*');
      await vault.put(SST, a, { 'basic.name': '欧阳娜娜' }, KEY);
      expect((await vault.read(SST, a, KEY)).fields['basic.name']?.value).toBe('欧阳**');
    });

    it('answers repeated reads from the same masked fields, which no caller can alter; a read of some categories leaves the rest', async () => {
      const a = await account();
      await vault.put(SST, a, PROFILE, KEY);
      const first = await vault.read(SST, a, KEY);
      // Frozen: what one caller does to its answer cannot change what the next read shows.
      expect(() => {
        (first.fields as Record<string, unknown>)['basic.name'] = { value: '张三', masked: false };
      }).toThrow(TypeError);
      expect(() => {
        (first.fields['contact.phone'] as { value: string }).value = '13812345678';
      }).toThrow(TypeError);
      const some = await vault.read(SST, a, KEY, { categories: ['contact.phone', 'basic.name'] });
      expect(Object.keys(some.fields)).toEqual(['basic.name', 'contact.phone']);
      const again = await vault.read(SST, a, KEY);
      expect(Object.keys(again.fields)).toEqual(Object.keys(MASKED).sort());
      expect(Object.fromEntries(Object.entries(again.fields).map(([k, v]) => [k, v.value]))).toEqual(MASKED);
      for (const f of Object.values(again.fields)) expect(f).toMatchObject({ masked: true, from: a });
    });
  });

  describe('tampering', () => {
    it('a flipped bit, or a ciphertext swapped between subjects or fields, fails with a clear error', async () => {
      const a = await account();
      const b = await account();
      await vault.put(SST, a, { 'basic.name': '张三', 'contact.phone': '13812345678' }, KEY);
      await vault.put(SST, b, { 'basic.name': '李四', 'contact.phone': '13912345678' }, KEY);
      const envelope = async (s: string) =>
        (await ctx.db.selectFrom('vault_records').select('envelope').where('subject_id', '=', s).executeTakeFirstOrThrow()).envelope;
      const set = (s: string, v: Buffer) => ctx.db.updateTable('vault_records').set({ envelope: v }).where('subject_id', '=', s).execute();
      const aRecord = await envelope(a);
      const bRecord = await envelope(b);

      const flipped = Buffer.from(aRecord);
      flipped[flipped.length - 3] = (flipped[flipped.length - 3] ?? 0) ^ 0x01;
      await set(a, flipped);
      let e = await expectPipaError(vault.read(SST, a, KEY), 'internal', '$.fields');
      expect(e.message).toContain('failed authentication');
      expect(e.message).toContain(`subject ${a}`);
      expect(e.details?.[0]).toMatchObject({ reason: 'authentication_failed' });
      // A write does not overwrite a record it cannot authenticate.
      await expectPipaError(vault.put(SST, a, { 'contact.postcode': '100000' }, KEY), 'internal', '$.fields');
      expect((await envelope(a)).equals(flipped)).toBe(true);

      await set(a, bRecord); // another subject's record
      e = await expectPipaError(vault.read(SST, a, KEY), 'internal', '$.fields');
      expect(e.message).toContain(`subject ${a}`);

      // An envelope sealed under a's own key for one field (the per-field AAD) does not pass as the record.
      const dek = ctx.dataKeys.get(SST, a);
      if (dek === undefined) throw new Error('no cached key');
      await set(
        a,
        createFieldCipher().encrypt(dek, JSON.stringify({ 'basic.name': ['王五', 1, 1] }), { app: SST, subject: a, field: 'basic.name' }),
      );
      e = await expectPipaError(vault.read(SST, a, KEY), 'internal', '$.fields');
      expect(e.message).not.toContain('13812345678');

      await set(a, aRecord);
      expect((await vault.read(SST, a, KEY)).fields['basic.name']?.value).toBe('张*');
      // Masked values held in memory are tied to the exact envelope: altered bytes are decrypted, and fail.
      await set(a, flipped);
      await expectPipaError(vault.read(SST, a, KEY), 'internal', '$.fields');
      await set(a, aRecord);
      // A wrapped data key moved to another subject does not unwrap either.
      const wrappedA = (await ctx.db.selectFrom('data_keys').select('wrapped_dek').where('subject_id', '=', a).executeTakeFirstOrThrow())
        .wrapped_dek;
      await expect(ctx.keyring.unwrapDataKey(wrappedA, { app: SST, subject: b })).rejects.toMatchObject({ code: 'authentication_failed' });
    });
  });

  describe('plain reads', () => {
    let sub: string;
    beforeAll(async () => {
      sub = await account();
      await vault.put(SST, sub, PROFILE, KEY);
    });

    it('need the scope vault:read-plain', async () => {
      await expectPipaError(vault.read(SST, sub, KEY, { view: 'plain', purpose: 'legal-compliance' }), 'forbidden', '$.query.view');
    });

    it('need a declared purpose (with a suggestion)', async () => {
      await expectPipaError(vault.read(SST, sub, PLAIN, { view: 'plain' }), 'validation_failed', '$.query.purpose');
      const e = await expectPipaError(
        vault.read(SST, sub, PLAIN, { view: 'plain', purpose: 'legal-complance' }),
        'unknown_purpose',
        '$.query.purpose',
      );
      expect(e.details?.[0]).toMatchObject({ suggestion: 'legal-compliance' });
    });

    it('return the purpose’s categories plain (legal duty: no consent needed), the rest masked, audited with the purpose', async () => {
      const rec = await vault.read(SST, sub, PLAIN, { view: 'plain', purpose: 'legal-compliance' });
      expect(rec.view).toBe('plain');
      expect(rec.purpose).toBe('legal-compliance');
      for (const [k, v] of Object.entries(PROFILE)) expect(rec.fields[k]).toMatchObject({ value: v, masked: false });
      const [ev] = await lastEvents(ctx, 1);
      expect(ev).toMatchObject({ action: 'vault.read.plain', purpose: 'legal-compliance', actor: 'key_reader', outcome: 'ok' });
      expect(ev?.categories).toEqual(Object.keys(PROFILE).sort());
    });

    it('are refused, with the reason and the clause, for categories the purpose does not use, and the refusal is audited', async () => {
      const before = await counts(ctx);
      const e = await expectPipaError(
        vault.read(SST, sub, PLAIN, { view: 'plain', purpose: 'service-messages', categories: ['contact.phone', 'basic.name'] }),
        'forbidden',
      );
      expect(e.details?.[0]).toMatchObject({ reason: 'category.undeclared-for-purpose', category: 'basic.name' });
      expect(String(e.details?.[0]?.clause)).toMatch(/^\$\.purposes\[\d+\]/);
      const after = await counts(ctx);
      expect(after.audit).toBe(before.audit + 1);
      const [ev] = await lastEvents(ctx, 1);
      expect(ev).toMatchObject({ action: 'vault.read.plain', outcome: 'denied', purpose: 'service-messages' });
      await expectPipaError(
        vault.read(SST, sub, PLAIN, { view: 'plain', purpose: 'service-messages', categories: ['contact.phon'] }),
        'unknown_category',
      );
    });

    it('refuse a purpose without the consent it needs even when the subject holds none of its categories', async () => {
      const bare = await account();
      await vault.put(SST, bare, { 'basic.name': '王五' }, KEY);
      const e = await expectPipaError(vault.read(SST, bare, PLAIN, { view: 'plain', purpose: 'service-messages' }), 'forbidden');
      expect(e.details?.[0]).toMatchObject({ reason: 'consent.missing', needs: 'consent' });
      const [ev] = await lastEvents(ctx, 1);
      expect(ev).toMatchObject({ action: 'vault.read.plain', outcome: 'denied', purpose: 'service-messages' });
      expect(ev?.categories).toEqual(['contact.address', 'contact.email', 'contact.phone']);
    });

    it('follow the consent decision: refused without the consent a purpose needs, allowed once granted', async () => {
      const e = await expectPipaError(
        vault.read(SST, sub, PLAIN, { view: 'plain', purpose: 'service-messages', categories: ['contact.phone'] }),
        'forbidden',
      );
      expect(e.details?.[0]).toMatchObject({ reason: 'consent.missing', needs: 'consent' });
      const policy = ctx.policies.require(SST);
      ctx.consent.apply({
        id: 'cev_test_0001',
        appId: SST,
        subjectId: sub,
        purpose: 'service-messages',
        action: 'grant',
        separate: false,
        method: 'user',
        policyVersion: policy.version,
        at: ctx.clock(),
      });
      const ok = await vault.read(SST, sub, PLAIN, { view: 'plain', purpose: 'service-messages', categories: ['contact.phone'] });
      expect(ok.fields).toEqual({ 'contact.phone': expect.objectContaining({ value: PROFILE['contact.phone'], masked: false }) });
      // Without categories: the purpose's categories plain (e-mail, phone, address), the others masked.
      const mixed = await vault.read(SST, sub, PLAIN, { view: 'plain', purpose: 'service-messages' });
      const plainOnes = Object.entries(mixed.fields)
        .filter(([, f]) => !f.masked)
        .map(([k]) => k)
        .sort();
      expect(plainOnes).toEqual(['contact.address', 'contact.email', 'contact.phone']);
      expect(mixed.fields['basic.name']).toMatchObject({ value: '张*', masked: true });
      const [ev] = await lastEvents(ctx, 1);
      expect(ev).toMatchObject({ action: 'vault.read.plain', purpose: 'service-messages', details: { masked: 7 } });
      expect(ev?.categories).toEqual(['contact.address', 'contact.email', 'contact.phone']);
      // Withdrawal is honoured at once.
      ctx.consent.apply({
        id: 'cev_test_0002',
        appId: SST,
        subjectId: sub,
        purpose: 'service-messages',
        action: 'withdraw',
        separate: false,
        method: 'user',
        policyVersion: policy.version,
        at: ctx.clock() + 1,
      });
      const w = await expectPipaError(vault.read(SST, sub, PLAIN, { view: 'plain', purpose: 'service-messages' }), 'forbidden');
      expect(w.details?.[0]).toMatchObject({ reason: 'consent.withdrawn' });
    });

    it('with the declaration rule, need only a purpose declared for the categories', async () => {
      const lenient = createVaultService(ctx, { subjects }, { plainReadRule: 'declaration' });
      const rec = await lenient.read(SST, sub, PLAIN, { view: 'plain', purpose: 'business-analysis', categories: ['basic.name'] });
      expect(rec.fields['basic.name']).toMatchObject({ value: '张三', masked: false });
      const x = await account(XPP);
      await lenient.put(XPP, x, { 'identity.id-card': '110101199003071233' }, KEY);
      // No purpose of xiaopiaopiao uses the ID number.
      const e = await expectPipaError(
        lenient.read(XPP, x, PLAIN, { view: 'plain', purpose: 'verification-and-notices', categories: ['identity.id-card'] }),
        'forbidden',
      );
      expect(e.details?.[0]).toMatchObject({ reason: 'category.undeclared-for-purpose', category: 'identity.id-card' });
    });
  });

  describe('lookup', () => {
    it('finds subjects by phone, ID number or e-mail in any usual notation, audited, nothing decrypted', async () => {
      const a = await account();
      const b = await account();
      await vault.put(SST, a, { 'contact.phone': '13712345678', 'contact.email': 'Wang.Wu@Example.com' }, KEY);
      await vault.put(SST, b, { 'contact.phone': '137 1234 5678' }, KEY);
      const byPhone = await vault.lookup(SST, { phone: '+86-137-1234-5678' }, KEY);
      expect(byPhone.map((m) => m.subjectId).sort()).toEqual([a, b].sort());
      expect(byPhone[0]).toMatchObject({ kind: 'account', linkedTo: null, status: 'active', category: 'contact.phone' });
      expect((await vault.lookup(SST, { email: ' wang.wu@example.COM ' }, KEY)).map((m) => m.subjectId)).toEqual([a]);
      const x = await account(XPP);
      await vault.put(XPP, x, { 'identity.id-card': '41010119850612002１' }, KEY);
      expect((await vault.lookup(XPP, { idNumber: '410101 19850612 0021' }, KEY)).map((m) => m.subjectId)).toEqual([x]);
      // The same number in another app is not found there.
      expect(await vault.lookup(XPP, { phone: '13712345678' }, KEY)).toEqual([]);
      const events = await lastEvents(ctx, 2);
      expect(events[1]).toMatchObject({ action: 'vault.lookup', categories: ['contact.phone'], details: { by: 'phone', matches: 0 } });
      expect(events[0]).toMatchObject({
        action: 'vault.lookup',
        categories: ['identity.id-card'],
        subjectPseudonym: ctx.pseudonyms.audit(x),
      });
    });

    it('refuses bad lookups', async () => {
      await expectPipaError(vault.lookup(SST, { phone: 'abc' }, KEY), 'validation_failed', '$.body.phone');
      await expectPipaError(vault.lookup(SST, {}, KEY), 'validation_failed');
      await expectPipaError(vault.lookup(SST, { phone: '13712345678', email: 'a@b.cn' }, KEY), 'validation_failed');
      await expectPipaError(vault.lookup(XPP, { email: 'a@b.cn' }, KEY), 'unknown_category', '$.body.email');
    });
  });

  describe('erasure', () => {
    it('needs confirmation', async () => {
      const sub = await account();
      await vault.put(SST, sub, { 'basic.name': '张三' }, KEY);
      const before = await counts(ctx);
      await expectPipaError(vault.erase(SST, sub, { confirm: false }, KEY), 'precondition_failed', '$.body.confirm');
      expect(await counts(ctx)).toEqual(before);
      await expectPipaError(vault.erase(SST, 'sub_aaaaaaaaaaaaaaaaaaaaaaaaaa', { confirm: true }, KEY), 'unknown_subject');
    });

    it('crypto-shreds: the key is gone, the old ciphertext cannot be decrypted, the subject is erased, audited', async () => {
      const sub = await account();
      await vault.put(SST, sub, PROFILE, KEY);
      const saved = await ctx.db.selectFrom('vault_records').selectAll().where('subject_id', '=', sub).execute();
      const cachedKey = ctx.dataKeys.get(SST, sub);
      expect(cachedKey).toBeInstanceOf(DataKey);
      const receipt = await vault.erase(SST, sub, { confirm: true }, { id: 'key_eraser', requestId: 'req_erase_001' });
      expect(receipt).toMatchObject({
        appId: SST,
        subjectId: sub,
        subjects: [sub],
        fieldsDeleted: 10,
        keysShredded: 1,
        kekVersions: [1],
        backups: 'pending-kek-retirement',
        // SQLite overwrites the deleted bytes in its files; PostgreSQL keeps dead tuples until their space is reused.
        storage: ctx.database.dialect === 'sqlite' ? 'overwritten' : 'pending-kek-retirement',
        alreadyErased: false,
      });
      expect(receipt.categories).toEqual(Object.keys(PROFILE).sort());
      expect(await ctx.db.selectFrom('data_keys').selectAll().where('subject_id', '=', sub).execute()).toEqual([]);
      expect(await ctx.db.selectFrom('vault_records').selectAll().where('subject_id', '=', sub).execute()).toEqual([]);
      expect(await ctx.db.selectFrom('vault_index').selectAll().where('subject_id', '=', sub).execute()).toEqual([]);
      expect((await subjects.get(ctx.db, SST, sub))?.status).toBe('erased');
      // The unwrapped key held in memory was destroyed.
      expect(cachedKey?.destroyed).toBe(true);
      expect(ctx.dataKeys.get(SST, sub)).toBeUndefined();
      // Rows restored from a backup cannot be read: their key is gone.
      await ctx.db.insertInto('vault_records').values(saved).execute();
      const e = await expectPipaError(vault.read(SST, sub, KEY), 'internal');
      expect(e.message).toContain('crypto-shredded');
      // Nor does a new key for the same subject id open them.
      const fresh = DataKey.generate(1);
      const row = saved[0];
      if (row === undefined) throw new Error('no row');
      const envelopeSuite = suiteById(row.envelope.readUInt8(1));
      expect(() =>
        createFieldCipher({ suite: envelopeSuite?.name ?? 'aes-256-gcm' }).decrypt(fresh, row.envelope, {
          app: SST,
          subject: sub,
          field: RECORD_FIELD,
        }),
      ).toThrow(expect.objectContaining({ code: 'authentication_failed' }));
      await ctx.db.deleteFrom('vault_records').where('subject_id', '=', sub).execute();
      const events = await ctx.audit.history({ subject: sub, actions: ['vault.erase'] });
      expect(events.events[0]).toMatchObject({ actor: 'key_eraser', requestId: 'req_erase_001', outcome: 'ok' });
      expect(events.events[0]?.categories).toEqual(Object.keys(PROFILE).sort());
      // Nothing can be written for an erased subject; erasing again is harmless.
      await expectPipaError(vault.put(SST, sub, { 'basic.name': '张三' }, KEY), 'conflict');
      // The receipt's time is the subject's erasure time, and a repeated erasure reports that time.
      expect((await subjects.get(ctx.db, SST, sub))?.erasedAt).toBe(receipt.erasedAt);
      await new Promise((r) => setTimeout(r, 5));
      expect(await vault.erase(SST, sub, { confirm: true }, KEY)).toMatchObject({
        alreadyErased: true,
        keysShredded: 0,
        backups: 'complete',
        storage: 'complete',
        erasedAt: receipt.erasedAt,
      });
      // It no longer turns up in lookups.
      expect(await vault.lookup(SST, { phone: PROFILE['contact.phone'] }, KEY)).not.toContainEqual(
        expect.objectContaining({ subjectId: sub }),
      );
    });

    it('leaves nothing of the subject in the SQLite file: the deleted wrapped key, record and blind indexes are overwritten, not only unlinked', async () => {
      const config = ctx.database.config;
      if (config.dialect !== 'sqlite' || config.file === ':memory:') return; // PostgreSQL: docs/crypto.md §9.
      const sub = await account();
      // Values no other test stores, so that their blind indexes are this subject's alone.
      const own = {
        ...PROFILE,
        'contact.phone': '13987650321',
        'contact.email': 'scrub.test@example.org',
        'custom.document-number': 'E98765432',
      };
      await vault.put(SST, sub, own, KEY);
      await vault.flush();
      const key = await ctx.db.selectFrom('data_keys').select('wrapped_dek').where('subject_id', '=', sub).executeTakeFirstOrThrow();
      const record = await ctx.db.selectFrom('vault_records').select('envelope').where('subject_id', '=', sub).executeTakeFirstOrThrow();
      const indexes = await ctx.db.selectFrom('vault_index').select('blind_index').where('subject_id', '=', sub).execute();
      expect(indexes.length).toBeGreaterThan(0);
      // Every page written so far reaches the file, so that the bytes are there to be found before the erasure.
      const checkpoint = () => sql.raw('pragma wal_checkpoint(TRUNCATE)').execute(ctx.db);
      await checkpoint();
      const secrets = [key.wrapped_dek, record.envelope.subarray(record.envelope.length - 48), ...indexes.map((i) => i.blind_index)];
      const found = (file: string) => {
        const bytes = existsSync(file) ? readFileSync(file) : Buffer.alloc(0);
        return secrets.filter((secret) => bytes.includes(secret)).length;
      };
      expect(found(config.file)).toBe(secrets.length);
      // Another subject's write: the log holds pages again (its values differ, so do its blind indexes).
      await vault.put(SST, await account(), { 'basic.name': '王五' }, KEY);
      await vault.erase(SST, sub, { confirm: true }, KEY);
      const wal = `${config.file}-wal`;
      expect(statSync(wal).size).toBeGreaterThan(0);
      // The erasure itself has the log emptied by the background checkpointer, within its interval.
      await vi.waitFor(() => expect(existsSync(wal) ? statSync(wal).size : 0).toBe(0), { timeout: 5000, interval: 50 });
      expect(found(config.file)).toBe(0);
      expect(found(wal)).toBe(0);
    });

    it('a write that removes a field leaves neither its old record nor its blind index in the SQLite files', async () => {
      const config = ctx.database.config;
      if (config.dialect !== 'sqlite' || config.file === ':memory:') return;
      const sub = await account();
      await vault.put(SST, sub, { 'basic.name': '赵六', 'contact.phone': '13911112222' }, KEY);
      await vault.flush();
      const before = await ctx.db.selectFrom('vault_records').select('envelope').where('subject_id', '=', sub).executeTakeFirstOrThrow();
      const index = await ctx.db
        .selectFrom('vault_index')
        .select('blind_index')
        .where('subject_id', '=', sub)
        .where('category', '=', 'contact.phone')
        .executeTakeFirstOrThrow();
      await sql.raw('pragma wal_checkpoint(TRUNCATE)').execute(ctx.db);
      const secrets = [before.envelope.subarray(before.envelope.length - 48), index.blind_index];
      const found = (file: string) => {
        const bytes = existsSync(file) ? readFileSync(file) : Buffer.alloc(0);
        return secrets.filter((secret) => bytes.includes(secret)).length;
      };
      expect(found(config.file)).toBe(2);
      const ack = await vault.put(SST, sub, { 'contact.phone': null }, KEY);
      expect(ack.removed).toEqual(['contact.phone']);
      const wal = `${config.file}-wal`;
      await vi.waitFor(() => expect(existsSync(wal) ? statSync(wal).size : 0).toBe(0), { timeout: 5000, interval: 50 });
      expect(found(config.file)).toBe(0);
      expect(found(wal)).toBe(0);
      expect((await vault.read(SST, sub, KEY)).fields['basic.name']?.value).toBe('赵*');
    });

    it('a change notified for a subject drops its key from memory; the key is destroyed only when the subject was erased (PostgreSQL, where nodes notify each other)', async () => {
      if (!ctx.database.caps.listenNotify) return; // SQLite: one node, nothing to notify.
      const until = async (what: () => boolean) => {
        const deadline = Date.now() + 5000;
        while (!what() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
        expect(what()).toBe(true);
      };
      // A freeze: the key leaves the cache, a request still holding it can use it.
      const frozen = await account();
      await vault.put(SST, frozen, { 'basic.name': '张三' }, KEY);
      const held = ctx.dataKeys.get(SST, frozen);
      expect(held).toBeInstanceOf(DataKey);
      await subjects.setStatus(ctx.db, SST, frozen, 'frozen');
      await until(() => ctx.dataKeys.get(SST, frozen) === undefined);
      await new Promise((r) => setTimeout(r, 100));
      expect(held?.destroyed).toBe(false);
      expect((await vault.read(SST, frozen, KEY)).fields['basic.name']?.value).toBe('张*');
      // An erasure by another node (its rows changed and its notice sent): the key is destroyed here too.
      const erased = await account();
      await vault.put(SST, erased, { 'basic.name': '李四' }, KEY);
      const key = ctx.dataKeys.get(SST, erased);
      expect(key).toBeInstanceOf(DataKey);
      await ctx.db.deleteFrom('data_keys').where('subject_id', '=', erased).execute();
      await ctx.db.updateTable('subjects').set({ status: 'erased', erased_at: Date.now() }).where('id', '=', erased).execute();
      await ctx.database.notify(CHANNELS.subject, `${SST}\t${erased}`);
      await until(() => key?.destroyed === true);
      expect(ctx.dataKeys.get(SST, erased)).toBeUndefined();
    });

    it('an erasure destroys the key even when a notification took it out of the cache a moment before (PostgreSQL)', async () => {
      if (!ctx.database.caps.listenNotify) return; // SQLite: one node, nothing to notify.
      const sub = await account();
      await vault.put(SST, sub, { 'basic.name': '王五' }, KEY);
      const key = ctx.dataKeys.get(SST, sub);
      expect(key).toBeInstanceOf(DataKey);
      // The listener takes the key out of the cache and reads the subject's status before judging it:
      // hold that read, so the erasure runs while the key is out of the cache and not judged yet
      // (as when the erasure's own notification arrives between its commit and its return).
      let release: () => void = () => {};
      const gate = new Promise<void>((r) => {
        release = r;
      });
      const get = subjects.get.bind(subjects);
      const spy = vi.spyOn(subjects, 'get').mockImplementation(async (db, app, id) => {
        if (id === sub) await gate;
        return get(db, app, id);
      });
      try {
        await ctx.database.notify(CHANNELS.subject, `${SST}\t${sub}`);
        const deadline = Date.now() + 5000;
        while (ctx.dataKeys.get(SST, sub) !== undefined && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
        expect(ctx.dataKeys.get(SST, sub)).toBeUndefined();
        expect(key?.destroyed).toBe(false);
        await vault.erase(SST, sub, { confirm: true }, { id: 'key_eraser' });
        expect(key?.destroyed).toBe(true);
      } finally {
        release();
        spy.mockRestore();
      }
    });

    it('frozen subjects keep their data but take no writes and release no plain values', async () => {
      const sub = await account();
      await vault.put(SST, sub, { 'basic.name': '张三' }, KEY);
      await subjects.setStatus(ctx.db, SST, sub, 'frozen');
      await expectPipaError(vault.put(SST, sub, { 'basic.name': '李四' }, KEY), 'conflict');
      expect((await vault.read(SST, sub, KEY)).fields['basic.name']?.value).toBe('张*');
      await expectPipaError(vault.read(SST, sub, PLAIN, { view: 'plain', purpose: 'legal-compliance' }), 'forbidden');
    });
  });

  describe('devices', () => {
    it('a device holds fields before an account exists; after linking, the account’s record includes them', async () => {
      const device = (await subjects.ensure(ctx.db, { appId: SST, kind: 'device', externalId: `dev-${Date.now()}` })).id;
      await vault.put(SST, device, { 'contact.phone': '13612345678', 'basic.name': '设备上的名字' }, KEY);
      const acc = await account();
      await vault.put(SST, acc, { 'basic.name': '赵六' }, KEY);
      expect(Object.keys((await vault.read(SST, acc, KEY)).fields)).toEqual(['basic.name']);
      await subjects.link(ctx.db, SST, device, acc);
      const rec = await vault.read(SST, acc, KEY);
      expect(rec.devices).toEqual([device]);
      // The account's own field wins; the device's phone is merged in, marked with where it is held.
      expect(rec.fields['basic.name']).toMatchObject({ value: '赵*', from: acc });
      expect(rec.fields['contact.phone']).toMatchObject({ value: '136****5678', from: device });
      const plain = await vault.read(SST, acc, PLAIN, { view: 'plain', purpose: 'legal-compliance' });
      expect(plain.fields['contact.phone']?.value).toBe('13612345678');
      // A read whose account key is held in memory but whose device key is not unwraps the device's key.
      expect(ctx.dataKeys.get(SST, acc)).toBeDefined();
      ctx.dataKeys.shred(SST, device);
      const again = await createVaultService(ctx, { subjects }).read(SST, acc, KEY);
      expect(again.fields['contact.phone']).toMatchObject({ value: '136****5678', from: device });
      // The device's own read shows only its fields.
      expect(Object.keys((await vault.read(SST, device, KEY)).fields).sort()).toEqual(['basic.name', 'contact.phone']);
      expect(await vault.lookup(SST, { phone: '13612345678' }, KEY)).toEqual([
        expect.objectContaining({ subjectId: device, kind: 'device', linkedTo: acc }),
      ]);
      // Erasing the account erases the device too.
      const receipt = await vault.erase(SST, acc, { confirm: true }, KEY);
      expect(receipt.subjects).toEqual([acc, device]);
      expect(receipt.keysShredded).toBe(2);
      expect((await subjects.get(ctx.db, SST, device))?.status).toBe('erased');
      expect(await ctx.db.selectFrom('vault_records').select('subject_id').where('subject_id', 'in', [acc, device]).execute()).toEqual([]);
      expect(await ctx.db.selectFrom('vault_index').select('subject_id').where('subject_id', 'in', [acc, device]).execute()).toEqual([]);
    });
  });
});

forEachDialect('vault service with the sm4 suite', (dctx) => {
  let ctx: ServiceContext;
  let subjects: SubjectService;
  let vault: VaultService;
  beforeAll(async () => {
    ctx = await openTestContext(dctx.database, { suite: 'sm4' });
    subjects = createSubjectService(ctx);
    vault = createVaultService(ctx, { subjects });
  });
  afterAll(async () => {
    await ctx.close();
  });

  it('stores SM4-CTR + HMAC-SM3 envelopes, reads them, looks up by SM3 blind index, detects tampering', async () => {
    const sub = (await subjects.ensure(ctx.db, { appId: SST, kind: 'account' })).id;
    const r = await vault.put(SST, sub, PROFILE, KEY);
    expect(r.suite).toBe('sm4');
    expect((await ctx.db.selectFrom('data_keys').select('suite').where('subject_id', '=', sub).executeTakeFirstOrThrow()).suite).toBe(
      'sm4',
    );
    const row = await ctx.db.selectFrom('vault_records').selectAll().where('subject_id', '=', sub).executeTakeFirstOrThrow();
    expect(suiteById(row.envelope.readUInt8(1))?.name).toBe('sm4');
    ctx.dataKeys.clear(); // read through the stored, wrapped key
    const rec = await vault.read(SST, sub, KEY);
    expect(Object.fromEntries(Object.entries(rec.fields).map(([k, v]) => [k, v.value]))).toEqual(MASKED);
    expect((await vault.lookup(SST, { phone: '138 1234 5678' }, KEY)).map((m) => m.subjectId)).toEqual([sub]);
    const flipped = Buffer.from(row.envelope);
    flipped[flipped.length - 1] = (flipped[flipped.length - 1] ?? 0) ^ 0x80;
    await ctx.db.updateTable('vault_records').set({ envelope: flipped }).where('subject_id', '=', sub).execute();
    await expectPipaError(vault.read(SST, sub, KEY), 'internal', '$.fields');
    const receipt = await vault.erase(SST, sub, { confirm: true }, KEY);
    expect(receipt.keysShredded).toBe(1);
  });
});

forEachDialect(
  'vault caches, as the service is configured',
  (dctx) => {
    it('keeps at most the configured number of data keys, each for the configured time; with no masked cache every read decrypts', async () => {
      let now = Date.UTC(2026, 11, 3, 12, 0, 0);
      const ctx = await openTestContext(dctx.database, {
        caches: { dataKeys: 2, dataKeyTtlMs: 60_000, maskedSubjects: 0 },
        clock: () => now,
      });
      try {
        expect(ctx.caches).toEqual({ dataKeys: 2, dataKeyTtlMs: 60_000, maskedSubjects: 0 });
        const subjects = createSubjectService(ctx);
        const vault = createVaultService(ctx, { subjects });
        const ids: string[] = [];
        for (let i = 0; i < 3; i++) {
          const id = (await subjects.ensure(ctx.db, { appId: SST, kind: 'account' })).id;
          await vault.put(SST, id, PROFILE, KEY);
          ids.push(id);
        }
        for (const id of ids) expect((await vault.read(SST, id, KEY)).fields['contact.phone']?.value).toBe('138****5678');
        // Two keys at most: the least recently used one was dropped (not destroyed: it is the store's key).
        expect(ctx.dataKeys.size).toBe(2);
        expect(ctx.dataKeys.get(SST, ids[0] as string)).toBeUndefined();
        expect(ctx.dataKeys.get(SST, ids[2] as string)).toBeDefined();
        // No masked cache: a repeated read is decrypted again and answers new (equal) fields.
        const first = await vault.read(SST, ids[2] as string, KEY);
        const again = await vault.read(SST, ids[2] as string, KEY);
        expect(again.fields).not.toBe(first.fields);
        expect(again.fields).toEqual(first.fields);
        // After the configured time a cached key is not reused: the next read unwraps it again.
        now += 60_001;
        expect(ctx.dataKeys.get(SST, ids[2] as string)).toBeUndefined();
        expect((await vault.read(SST, ids[2] as string, KEY)).fields['basic.name']?.value).toBe('张*');
        expect(ctx.dataKeys.get(SST, ids[2] as string)).toBeDefined();
        await vault.erase(SST, ids[2] as string, { confirm: true }, KEY);
        expect(ctx.dataKeys.get(SST, ids[2] as string)).toBeUndefined();
      } finally {
        await ctx.close();
      }
    });

    it('runs with the default sizes unless configured; a masked cache keeps answering the same fields', async () => {
      const ctx = await openTestContext(dctx.database);
      try {
        expect(ctx.caches).toEqual(DEFAULT_CACHES);
        const subjects = createSubjectService(ctx);
        const vault = createVaultService(ctx, { subjects });
        const id = (await subjects.ensure(ctx.db, { appId: SST, kind: 'account' })).id;
        await vault.put(SST, id, PROFILE, KEY);
        const first = await vault.read(SST, id, KEY);
        expect((await vault.read(SST, id, KEY)).fields).toBe(first.fields);
      } finally {
        await ctx.close();
      }
    });
  },
  { perTest: true },
);
