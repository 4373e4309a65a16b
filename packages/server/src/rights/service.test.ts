/**
 * Rights requests end to end against the real services: the vault, the consent ledger, the job
 * runner and the SQL connector on the 小票票 demo tables (SQLite here; MariaDB in connectors.test.ts),
 * on SQLite and PostgreSQL for pipa's own store.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { decide } from '../consent/decide.js';
import { PipaError } from '../errors.js';
import { forEachDialect } from '../store/test-dialects.js';
import { recordCategories } from '../vault/record.js';
import { chinaCalendar } from './calendar.js';
import { openRightsHarness, type Receiver, type RightsHarness, startReceiver, XPP } from './test-support.js';
import { verifyWebhookSignature } from './webhook.js';
import { unzip } from './zip.js';

const STAFF = { id: 'key_staff00000001' };
const PERSON = { id: 'subject' };

async function merchant(h: RightsHarness, externalId = '1', phone = '13812345678'): Promise<string> {
  const s = await h.subjects.ensure(h.ctx.db, { appId: XPP, kind: 'account', externalId });
  await h.vault.put(XPP, s.id, { 'contact.phone': phone, 'basic.name': '王小明' }, { id: 'key_app000000001' });
  await h.vault.flush();
  return s.id;
}

function pipaError(code: string) {
  return (err: unknown) => err instanceof PipaError && err.code === code;
}

forEachDialect('rights requests', (dialect) => {
  let h: RightsHarness;
  beforeAll(async () => {
    h = await openRightsHarness(dialect.database);
  });
  afterAll(async () => {
    await h.close();
  });

  it('access: collected from the vault and the demo tables, packaged, downloaded once', async () => {
    const subjectId = await merchant(h);
    await h.ledger.record(XPP, {
      subject: subjectId,
      action: 'grant',
      consents: [{ purpose: 'push-notifications' }],
      method: 'user',
      policyVersion: h.ctx.policies.require(XPP).version,
    });
    const submitted = await h.rights.submit({ appId: XPP, subjectId, type: 'access', via: 'token', actor: PERSON });
    expect(submitted.request.state).toBe('in_progress');
    expect(submitted.request.verification).toBe('token');
    expect(submitted.request.deadline).toMatchObject({ value: 15, unit: 'days', source: 'rights' });
    // The calendar counts from the next day to 24:00 Shanghai of the last day (moved past rest days).
    expect(submitted.request.dueAt).toBe(chinaCalendar().dueAt(submitted.request.receivedAt, { value: 15, unit: 'days' }));
    expect(submitted.request.dueAt - submitted.request.receivedAt).toBeGreaterThanOrEqual(15 * 86_400_000);
    expect(submitted.tasks.map((t) => `${t.kind}:${t.target}`)).toEqual([
      'collect:vault',
      'collect:dataset:xpp-demo',
      'package:request',
      'finish:request',
    ]);
    expect(submitted.transitions.map((t) => t.to)).toEqual(['received', 'identity_verified', 'in_progress']);

    await h.drain();
    const done = await h.rights.get(XPP, submitted.request.id);
    expect(done.request.state).toBe('completed');
    expect(done.tasks.every((t) => t.state === 'succeeded')).toBe(true);

    const link = await h.rights.createDownloadLink(XPP, submitted.request.id, PERSON);
    expect(link.path).toBe(`/v1/rights/downloads/${link.token}`);
    const file = await h.rights.download(link.token, PERSON);
    const files = unzip(file.body);
    expect([...files.keys()].sort()).toEqual(
      [
        'data/vault.csv',
        `data/xpp-demo/${h.demo.table('login_logs')}.csv`,
        `data/xpp-demo/${h.demo.table('merchants')}.csv`,
        `data/xpp-demo/${h.demo.table('orders')}.csv`,
        'package.json',
        'report.en.html',
        'report.zh-CN.html',
      ]
        .map((n) => n.replace(/[^A-Za-z0-9_./-]/g, '_'))
        .sort(),
    );
    const pkg = JSON.parse(files.get('package.json')?.toString('utf8') ?? '{}');
    expect(pkg.format).toBe('pipa-access-package');
    expect(pkg.data.vault.map((f: { category: string; value: string }) => `${f.category}=${f.value}`).sort()).toEqual([
      'basic.name=王小明',
      'contact.phone=13812345678',
    ]);
    const merchants = pkg.data.datasets[0].tables.find((t: { table: string }) => t.table === h.demo.table('merchants'));
    expect(merchants.rows).toHaveLength(1);
    expect(merchants.rows[0].id_card).toBe('110101199003077578');
    const orders = pkg.data.datasets[0].tables.find((t: { table: string }) => t.table === h.demo.table('orders'));
    expect(orders.rows).toHaveLength(2);
    expect(pkg.consents).toHaveLength(1);
    expect(pkg.accessHistory.some((e: { action: string }) => e.action === 'rights.read')).toBe(true);
    const zh = files.get('report.zh-CN.html')?.toString('utf8') ?? '';
    expect(zh).toContain('我们持有的信息');
    expect(zh).toContain('推送');
    expect(files.get('report.en.html')?.toString('utf8')).toContain('What we hold');
    expect(files.get('data/vault.csv')?.toString('utf8').startsWith('\uFEFFcategory,')).toBe(true);

    await expect(h.rights.download(link.token, PERSON)).rejects.toSatisfy(pipaError('not_found'));
    const audit = await h.ctx.audit.events({ appId: XPP, limit: 1000 });
    const actions = audit.map((e) => e.action);
    for (const a of [
      'rights.received',
      'rights.verified',
      'rights.started',
      'rights.read',
      'rights.task',
      'rights.completed',
      'rights.download-link',
      'rights.download',
    ]) {
      expect(actions).toContain(a);
    }
    // Audit details never carry the values.
    expect(JSON.stringify(audit)).not.toContain('13812345678');
  });

  it('rejects a second open request of the same type with the existing id, also when submitted at once', async () => {
    const subjectId = await merchant(h, '2', '13987654321');
    const first = await h.rights.submit({ appId: XPP, subjectId, type: 'copy', via: 'staff', actor: STAFF });
    await expect(h.rights.submit({ appId: XPP, subjectId, type: 'copy', via: 'staff', actor: STAFF })).rejects.toSatisfy(
      (err: unknown) => err instanceof PipaError && err.code === 'conflict' && err.details?.[0]?.existingId === first.request.id,
    );
    const results = await Promise.allSettled([
      h.rights.submit({ appId: XPP, subjectId, type: 'portability', via: 'staff', actor: STAFF }),
      h.rights.submit({ appId: XPP, subjectId, type: 'portability', via: 'staff', actor: STAFF }),
    ]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect(results.filter((r) => r.status === 'rejected' && pipaError('conflict')(r.reason))).toHaveLength(1);
    // Once closed, a new one may be submitted.
    await h.rights.cancel(XPP, first.request.id, { ...STAFF, staff: true });
    const again = await h.rights.submit({ appId: XPP, subjectId, type: 'copy', via: 'staff', actor: STAFF });
    expect(again.request.id).not.toBe(first.request.id);
  });

  it('deletion: every demo table by its strategy, legal hold kept, then the vault crypto-shredded; the other merchant untouched', async () => {
    const subjectId = await merchant(h, '1');
    const r = await h.rights.submit({ appId: XPP, subjectId, type: 'deletion', via: 'token', actor: PERSON });
    expect(r.tasks.map((t) => `${t.kind}:${t.target}`)).toEqual(['erase:dataset:xpp-demo', 'erase:vault', 'finish:request']);
    await h.drain();
    const done = await h.rights.get(XPP, r.request.id);
    expect(done.request.state).toBe('completed');
    expect(await h.demo.rows('SELECT id FROM {merchants} ORDER BY id')).toEqual([{ id: '2' }]);
    const orders = await h.demo.rows('SELECT id, merchant_id, buyer_phone, amount FROM {orders} ORDER BY id');
    expect(orders.map((o) => [o.id, o.buyer_phone])).toEqual([
      ['11', null],
      ['12', null],
      ['13', '13700000003'],
    ]);
    expect(orders[0]?.amount).toMatch(/^120\.5/);
    expect((await h.demo.rows('SELECT id FROM {login_logs} ORDER BY id')).map((x) => x.id)).toEqual(['23']);
    const fields = await recordCategories(h.ctx.db, subjectId);
    expect(fields).toHaveLength(0);
    expect(await h.ctx.db.selectFrom('data_keys').select('subject_id').where('subject_id', '=', subjectId).execute()).toHaveLength(0);
    // The vault's erasure says what remains of the key in backups and in the store's own files.
    expect(done.tasks.find((t) => t.kind === 'erase' && t.target === 'vault')?.result).toMatchObject({
      keysShredded: 1,
      backups: 'pending-kek-retirement',
      storage: h.ctx.database.dialect === 'sqlite' ? 'overwritten' : 'pending-kek-retirement',
    });
    const erase = done.tasks.find((t) => t.kind === 'erase' && t.target.startsWith('dataset:'));
    const report = erase?.result as { tables: { table: string; actions: { strategy: string; legalHold?: unknown }[] }[] };
    expect(
      report.tables
        .find((t) => t.table === h.demo.table('orders'))
        ?.actions.some((a) => a.strategy === 'legal-hold' && a.legalHold !== undefined),
    ).toBe(true);
    // No package, so the request key is gone at once.
    const row = await h.ctx.db
      .selectFrom('rights_requests')
      .select(['key_wrapped', 'sealed'])
      .where('id', '=', r.request.id)
      .executeTakeFirstOrThrow();
    expect(row.key_wrapped).toBeNull();
    await expect(h.rights.createDownloadLink(XPP, r.request.id, PERSON)).rejects.toSatisfy(pipaError('precondition_failed'));
  });

  it('account cancellation: frozen at once (decisions deny), erased everywhere, recipients notified with signed retried webhooks', async () => {
    await h.demo.exec(
      `INSERT INTO {merchants} (id, phone, name, id_card, bank_account, created_at) VALUES (3, '13611112222', '赵六', '110101199001011234', '6222020000000000001', '2023-03-01 09:00:00')`,
    );
    await h.demo.exec(
      `INSERT INTO {login_logs} (id, merchant_id, ip, device_imei, at) VALUES (31, 3, '1.2.3.4', '490154203237518', '2025-05-01 10:00:00')`,
    );
    const subjectId = await merchant(h, '3', '13611112222');
    const policy = h.ctx.policies.require(XPP);
    await h.ledger.record(XPP, {
      subject: subjectId,
      action: 'grant',
      consents: [{ purpose: 'push-notifications' }],
      method: 'user',
      policyVersion: policy.version,
    });
    const receiver = await startReceiver((n) => (n === 1 ? 503 : 200));
    try {
      const hook = await h.rights.setWebhook(XPP, 'recipient', 'umeng', receiver.url, STAFF);
      const purpose = policy.declaration.purposes.find((p) => p.id === 'push-notifications');
      const ask = { subject: subjectId, purpose: 'push-notifications', categories: purpose?.categories.slice(0, 1) ?? [] };
      expect(decide(policy.compiled, h.ctx.consent, ask, h.ctx.clock()).allow).toBe(true);

      await expect(h.rights.submit({ appId: XPP, subjectId, type: 'account_cancellation', via: 'token', actor: PERSON })).rejects.toSatisfy(
        (err: unknown) =>
          err instanceof PipaError && err.code === 'precondition_failed' && /不可恢复/.test(String(err.details?.[0]?.message)),
      );
      const r = await h.rights.submit({
        appId: XPP,
        subjectId,
        type: 'account_cancellation',
        via: 'token',
        confirmIrreversible: true,
        actor: PERSON,
      });
      expect(r.request.state).toBe('in_progress');
      expect((await h.subjects.require(h.ctx.db, XPP, subjectId)).status).toBe('frozen');
      const denied = decide(policy.compiled, h.ctx.consent, ask, h.ctx.clock());
      expect(denied.allow).toBe(false);
      expect(denied.reason.code).toBe('subject.frozen');
      expect(r.tasks.map((t) => `${t.kind}:${t.target}`).sort()).toEqual(
        ['erase:dataset:xpp-demo', 'erase:vault', 'finish:request', 'notify:recipient:getui', 'notify:recipient:umeng'].sort(),
      );

      await h.drain();
      let now = await h.rights.get(XPP, r.request.id);
      expect(now.request.state).toBe('in_progress');
      expect(now.request.waiting).toMatchObject({ target: 'recipient:umeng', retrying: true });
      expect(now.request.waiting?.message).toContain('503');
      h.advance(15 * 60_000);
      await h.drain();
      now = await h.rights.get(XPP, r.request.id);
      expect(now.request.state).toBe('completed');
      expect(now.request.waiting).toBeNull();
      expect(receiver.calls).toHaveLength(2);
      const secret = Buffer.from(hook.secret, 'base64url');
      // Each attempt is signed when it is sent (the first one 15 minutes ago on the test clock).
      const [first, second] = receiver.calls;
      expect(
        verifyWebhookSignature(secret, String(first?.headers['x-pipa-signature']), first?.body ?? '', h.ctx.clock() - 15 * 60_000),
      ).toBe(true);
      expect(verifyWebhookSignature(secret, String(second?.headers['x-pipa-signature']), second?.body ?? '', h.ctx.clock())).toBe(true);
      expect(receiver.calls[0]?.headers['x-pipa-delivery']).toBe(receiver.calls[1]?.headers['x-pipa-delivery']);
      const notice = JSON.parse(receiver.calls[1]?.body ?? '{}');
      expect(notice).toMatchObject({ event: 'rights.erasure-notice', app: XPP, recipient: 'umeng', requestId: r.request.id });
      expect(notice.subject.pseudonym).toMatch(/^psn_/);
      const umeng = now.tasks.find((t) => t.target === 'recipient:umeng');
      expect(umeng?.result).toMatchObject({ delivered: true, status: 200, attempt: 2 });
      const getui = now.tasks.find((t) => t.target === 'recipient:getui');
      expect(getui?.result).toMatchObject({ delivered: false, manual: true });
      expect((await h.subjects.require(h.ctx.db, XPP, subjectId)).status).toBe('erased');
      expect(await h.demo.rows('SELECT id FROM {merchants} WHERE id = 3')).toEqual([]);
      expect(await h.demo.rows('SELECT id FROM {login_logs} WHERE id = 31')).toEqual([]);
      expect(await recordCategories(h.ctx.db, subjectId)).toHaveLength(0);
      const audit = (await h.ctx.audit.events({ appId: XPP, limit: 1000 })).filter((e) => e.action === 'rights.notify');
      expect(audit.some((e) => e.outcome === 'ok')).toBe(true);
      expect(audit.some((e) => e.outcome === 'failed')).toBe(true);
    } finally {
      await receiver.close();
    }
  });

  it('correction: the writable demo columns first (found by the old phone), then the vault', async () => {
    const subjectId = await merchant(h, '2', '13987654321');
    await expect(
      h.rights.submit({ appId: XPP, subjectId, type: 'correction', corrections: { 'no.such': 'x' }, via: 'token', actor: PERSON }),
    ).rejects.toSatisfy(pipaError('unknown_category'));
    await expect(
      h.rights.submit({ appId: XPP, subjectId, type: 'correction', corrections: {}, via: 'token', actor: PERSON }),
    ).rejects.toSatisfy(pipaError('validation_failed'));
    const r = await h.rights.submit({
      appId: XPP,
      subjectId,
      type: 'correction',
      corrections: { 'contact.phone': '13900000000', 'basic.name': '李思' },
      via: 'token',
      actor: PERSON,
    });
    expect(r.request.payload.corrections).toEqual(['basic.name', 'contact.phone']);
    expect(JSON.stringify(r)).not.toContain('13900000000');
    // The request key that seals the new values, as stored before the request runs.
    const sealedWith = await h.ctx.db
      .selectFrom('rights_requests')
      .select(['key_wrapped', 'sealed'])
      .where('id', '=', r.request.id)
      .executeTakeFirstOrThrow();
    if (sealedWith.key_wrapped === null || sealedWith.sealed === null) throw new Error('the request holds no sealed corrections');
    const secrets = [sealedWith.key_wrapped, sealedWith.sealed.subarray(sealedWith.sealed.length - 32)];
    await h.drain();
    expect((await h.rights.get(XPP, r.request.id)).request.state).toBe('completed');
    expect(await h.demo.rows('SELECT phone, name FROM {merchants} WHERE id = 2')).toEqual([{ phone: '13900000000', name: '李思' }]);
    const plain = await h.deps.vault.readAll(XPP, subjectId, { id: 'test', request: r.request.id });
    expect(Object.fromEntries(plain.map((f) => [f.category, f.value]))).toEqual({ 'basic.name': '李思', 'contact.phone': '13900000000' });
    const row = await h.ctx.db
      .selectFrom('rights_requests')
      .select(['sealed', 'key_wrapped'])
      .where('id', '=', r.request.id)
      .executeTakeFirstOrThrow();
    expect(row.sealed).toBeNull();
    expect(row.key_wrapped).toBeNull();
    // SQLite: the shredded key and the sealed values are in neither file once the log is emptied.
    const config = h.ctx.database.config;
    if (config.dialect === 'sqlite' && config.file !== ':memory:') {
      const wal = `${config.file}-wal`;
      await vi.waitFor(() => expect(existsSync(wal) ? statSync(wal).size : 0).toBe(0), { timeout: 5000, interval: 50 });
      for (const file of [config.file, wal]) {
        const bytes = existsSync(file) ? readFileSync(file) : Buffer.alloc(0);
        expect(secrets.filter((secret) => bytes.includes(secret))).toEqual([]);
      }
    }
  });

  it('consent withdrawal: through the ledger, only what was asked', async () => {
    const s = await h.subjects.ensure(h.ctx.db, { appId: XPP, kind: 'account', externalId: 'w-1' });
    const version = h.ctx.policies.require(XPP).version;
    await h.ledger.record(XPP, {
      subject: s.id,
      action: 'grant',
      consents: [{ purpose: 'push-notifications' }, { purpose: 'marketing-contact' }],
      method: 'user',
      policyVersion: version,
    });
    await expect(
      h.rights.submit({
        appId: XPP,
        subjectId: s.id,
        type: 'consent_withdrawal',
        withdraw: [{ purpose: 'nope' }],
        via: 'token',
        actor: PERSON,
      }),
    ).rejects.toSatisfy(pipaError('unknown_purpose'));
    const r = await h.rights.submit({
      appId: XPP,
      subjectId: s.id,
      type: 'consent_withdrawal',
      withdraw: [{ purpose: 'push-notifications' }],
      via: 'token',
      actor: PERSON,
    });
    await h.drain();
    expect((await h.rights.get(XPP, r.request.id)).request.state).toBe('completed');
    const state = await h.ledger.state(XPP, s.id);
    expect(state.consents.find((c) => c.purpose === 'push-notifications' && c.recipient === undefined)?.action).toBe('withdraw');
    expect(state.consents.find((c) => c.purpose === 'marketing-contact')?.action).toBe('grant');
  });

  it('one-time codes: only through a channel the subject has, hashed, wrong codes counted, expired codes refused', async () => {
    const subjectId = await merchant(h, 'code-1', '13655556666');
    const r = await h.rights.submit({ appId: XPP, subjectId, type: 'access', via: 'staff', actor: STAFF });
    expect(r.request.state).toBe('received');
    await expect(h.rights.requestCode(XPP, r.request.id, 'email', STAFF)).rejects.toSatisfy(pipaError('precondition_failed'));
    await expect(h.rights.requestCode(XPP, r.request.id, 'sms', STAFF)).rejects.toSatisfy(
      (err: unknown) => err instanceof PipaError && err.code === 'precondition_failed' && /webhook/.test(err.message),
    );
    const receiver = await startReceiver();
    try {
      const hook = await h.rights.setWebhook(XPP, 'verification', null, receiver.url, STAFF);
      await h.rights.requestCode(XPP, r.request.id, 'sms', STAFF);
      await h.drain();
      expect(receiver.calls).toHaveLength(1);
      const call = receiver.calls[0];
      expect(
        verifyWebhookSignature(
          Buffer.from(hook.secret, 'base64url'),
          String(call?.headers['x-pipa-signature']),
          call?.body ?? '',
          h.ctx.clock(),
        ),
      ).toBe(true);
      const body = JSON.parse(call?.body ?? '{}') as { code: string; channel: string; requestId: string; externalId: string };
      expect(body).toMatchObject({ channel: 'sms', requestId: r.request.id, externalId: 'code-1' });
      expect(body.code).toMatch(/^\d{6}$/);
      const stored = await h.ctx.db.selectFrom('rights_codes').selectAll().where('request_id', '=', r.request.id).executeTakeFirstOrThrow();
      expect(Buffer.from(stored.code_hash).toString('utf8')).not.toContain(body.code);
      const wrong = body.code === '000000' ? '000001' : '000000';
      await expect(h.rights.confirmCode(XPP, r.request.id, wrong, PERSON)).rejects.toSatisfy(
        (err: unknown) => err instanceof PipaError && err.code === 'forbidden' && err.details?.[0]?.attemptsLeft === 4,
      );
      await expect(h.rights.confirmCode(XPP, r.request.id, 'abc', PERSON)).rejects.toSatisfy(pipaError('validation_failed'));
      const ok = await h.rights.confirmCode(XPP, r.request.id, body.code, PERSON);
      expect(ok.request.state).toBe('in_progress');
      expect(ok.request.verification).toBe('code');
      await expect(h.rights.confirmCode(XPP, r.request.id, body.code, PERSON)).rejects.toSatisfy(pipaError('conflict'));

      // Expiry and the attempt limit.
      const r2 = await h.rights.submit({ appId: XPP, subjectId, type: 'deletion', via: 'staff', actor: STAFF });
      await h.rights.requestCode(XPP, r2.request.id, 'sms', STAFF);
      await h.drain();
      const code2 = (JSON.parse(receiver.calls[1]?.body ?? '{}') as { code: string }).code;
      h.advance(11 * 60_000);
      await expect(h.rights.confirmCode(XPP, r2.request.id, code2, PERSON)).rejects.toSatisfy(pipaError('precondition_failed'));
      await h.rights.requestCode(XPP, r2.request.id, 'sms', STAFF);
      await h.drain();
      const code3 = (JSON.parse(receiver.calls[2]?.body ?? '{}') as { code: string }).code;
      const bad = code3 === '111111' ? '222222' : '111111';
      for (let i = 0; i < 5; i++)
        await expect(h.rights.confirmCode(XPP, r2.request.id, bad, PERSON)).rejects.toSatisfy(pipaError('forbidden'));
      await expect(h.rights.confirmCode(XPP, r2.request.id, code3, PERSON)).rejects.toSatisfy(pipaError('rate_limited'));
      await h.rights.reject(
        XPP,
        r2.request.id,
        { code: 'identity-not-confirmed', reason: { zh: '身份核验未通过', en: 'Identity not confirmed' } },
        STAFF,
      );
    } finally {
      await receiver.close();
    }
  });

  it('staff verification needs a reason; rejection carries the reason the person sees and lifts a freeze', async () => {
    const subjectId = await merchant(h, 'staff-1', '13511112222');
    const r = await h.rights.submit({ appId: XPP, subjectId, type: 'restriction', via: 'staff', actor: STAFF });
    await expect(h.rights.verifyByStaff(XPP, r.request.id, ' ', STAFF)).rejects.toSatisfy(pipaError('validation_failed'));
    const v = await h.rights.verifyByStaff(XPP, r.request.id, 'caller answered the account security questions', STAFF);
    expect(v.request.state).toBe('in_progress');
    expect(v.request.verifyReason).toBe('caller answered the account security questions');
    expect((await h.subjects.require(h.ctx.db, XPP, subjectId)).status).toBe('frozen');
    const rejected = await h.rights.reject(
      XPP,
      r.request.id,
      { code: 'duplicate-channel', reason: { zh: '已通过其他渠道处理', en: 'Handled through another channel' } },
      STAFF,
    );
    expect(rejected.request.state).toBe('rejected');
    expect(rejected.request.rejection).toEqual({
      code: 'duplicate-channel',
      reason: { zh: '已通过其他渠道处理', en: 'Handled through another channel' },
    });
    expect((await h.subjects.require(h.ctx.db, XPP, subjectId)).status).toBe('active');
    await expect(h.rights.reject(XPP, r.request.id, { code: 'again', reason: { zh: '再次', en: 'again' } }, STAFF)).rejects.toSatisfy(
      pipaError('conflict'),
    );
    await h.drain();
    expect((await h.rights.get(XPP, r.request.id)).tasks.every((t) => t.state === 'cancelled')).toBe(true);
    // A restriction that ran to completion is lifted on request, not by rejecting it.
    const r2 = await h.rights.submit({ appId: XPP, subjectId, type: 'restriction', via: 'token', actor: PERSON });
    await h.drain();
    expect((await h.rights.get(XPP, r2.request.id)).request.state).toBe('completed');
    expect((await h.subjects.require(h.ctx.db, XPP, subjectId)).status).toBe('frozen');
    await expect(h.rights.liftRestriction(XPP, subjectId, 'x', PERSON)).rejects.toSatisfy(pipaError('validation_failed'));
    await h.rights.liftRestriction(XPP, subjectId, 'the person asked to end the restriction', PERSON);
    expect((await h.subjects.require(h.ctx.db, XPP, subjectId)).status).toBe('active');
    await expect(h.rights.liftRestriction(XPP, subjectId, 'once more please', PERSON)).rejects.toSatisfy(pipaError('conflict'));
    expect((await h.rights.get(XPP, r.request.id)).tasks.every((t) => t.state === 'cancelled')).toBe(true);
  });

  it('dry run lists what a deletion would touch and touches nothing', async () => {
    await h.demo.exec(
      `INSERT INTO {merchants} (id, phone, name, id_card, bank_account, created_at) VALUES (4, '13722223333', '钱七', NULL, NULL, '2023-03-01 09:00:00')`,
    );
    await h.demo.exec(
      `INSERT INTO {orders} (id, merchant_id, buyer_phone, amount, created_at) VALUES (41, 4, '13700000009', 10.00, '2024-05-20 12:00:00')`,
    );
    const subjectId = await merchant(h, 'dry-1', '13722223333');
    const r = await h.rights.submit({ appId: XPP, subjectId, type: 'deletion', via: 'staff', actor: STAFF });
    const dry = await h.rights.dryRun(XPP, r.request.id, STAFF);
    expect(dry.tasks.map((t) => t.key)).toEqual(['erase:dataset:xpp-demo', 'erase:vault', 'finish:request']);
    const ds = dry.tasks[0]?.effect as { dryRun: boolean; tables: { table: string; rows: number }[] };
    expect(ds.dryRun).toBe(true);
    expect(ds.tables.find((t) => t.table === h.demo.table('merchants'))?.rows).toBe(1);
    expect(ds.tables.find((t) => t.table === h.demo.table('orders'))?.rows).toBe(1);
    expect(dry.tasks[1]?.effect).toMatchObject({ categories: ['basic.name', 'contact.phone'], cryptoShred: true });
    expect(await h.demo.rows('SELECT id FROM {merchants} WHERE id = 4')).toEqual([{ id: '4' }]);
    expect(await recordCategories(h.ctx.db, subjectId)).toHaveLength(2);
    await h.rights.cancel(XPP, r.request.id, { ...PERSON, staff: false });
  });

  it('a table that lost a declared column: a clear task error, nothing touched, the request waits for staff', async () => {
    await h.demo.exec(
      `INSERT INTO {merchants} (id, phone, name, id_card, bank_account, created_at) VALUES (5, '13733334444', '孙八', NULL, NULL, '2023-03-01 09:00:00')`,
    );
    await h.demo.exec(
      `INSERT INTO {login_logs} (id, merchant_id, ip, device_imei, at) VALUES (51, 5, '5.5.5.5', '490154203237518', '2025-05-01 10:00:00')`,
    );
    const subjectId = await merchant(h, 'col-1', '13733334444');
    await h.demo.exec('ALTER TABLE {login_logs} RENAME COLUMN device_imei TO imei');
    try {
      const r = await h.rights.submit({ appId: XPP, subjectId, type: 'deletion', via: 'token', actor: PERSON });
      await h.drain();
      const now = await h.rights.get(XPP, r.request.id);
      expect(now.request.state).toBe('in_progress');
      expect(now.request.waiting).toMatchObject({ kind: 'erase', target: 'dataset:xpp-demo', retrying: false });
      expect(now.request.waiting?.message).toContain('device_imei');
      const task = now.tasks.find((t) => t.kind === 'erase' && t.target === 'dataset:xpp-demo');
      expect(task?.state).toBe('failed');
      expect(task?.attempts).toBe(1);
      expect(now.tasks.find((t) => t.target === 'vault')?.state).toBe('queued');
      expect(await h.demo.rows('SELECT id FROM {merchants} WHERE id = 5')).toEqual([{ id: '5' }]);
      expect(await h.demo.rows('SELECT id FROM {login_logs} WHERE id = 51')).toEqual([{ id: '51' }]);
      expect(await recordCategories(h.ctx.db, subjectId)).toHaveLength(2);
      // Staff see it in the list, fix the table and run it again.
      expect((await h.rights.list({ appId: XPP, waiting: true })).map((x) => x.id)).toContain(r.request.id);
      await h.demo.exec('ALTER TABLE {login_logs} RENAME COLUMN imei TO device_imei');
      expect(await h.rights.retry(XPP, r.request.id, STAFF)).toEqual([task?.id]);
      await h.drain();
      const done = await h.rights.get(XPP, r.request.id);
      expect(done.request.state).toBe('completed');
      expect(await h.demo.rows('SELECT id FROM {login_logs} WHERE id = 51')).toEqual([]);
    } finally {
      const cols = await h.demo.rows(`SELECT name FROM pragma_table_info('${h.demo.table('login_logs')}')`).catch(() => []);
      if (cols.some((c) => c.name === 'imei')) await h.demo.exec('ALTER TABLE {login_logs} RENAME COLUMN imei TO device_imei');
    }
  });

  it('deadlines: reminded before, flagged overdue after, listed as overdue; the clock does not stop', async () => {
    const receiver = await startReceiver();
    try {
      await h.rights.setWebhook(XPP, 'staff', null, receiver.url, STAFF);
      const subjectId = await merchant(h, 'late-1', '13744445555');
      const r = await h.rights.submit({ appId: XPP, subjectId, type: 'explanation', via: 'staff', actor: STAFF });
      const cal = chinaCalendar();
      const reminders = cal.reminders(cal.deadline(r.request.receivedAt, { value: 15, unit: 'days' }));
      expect(reminders).toHaveLength(2);
      expect(r.request.remindAt).toBe(reminders[0]?.at);
      expect(await h.rights.sweep()).toMatchObject({ reminded: 0, overdue: 0 });
      h.advance((reminders[0]?.at ?? 0) - h.ctx.clock() + 60_000);
      expect((await h.rights.sweep()).reminded).toBeGreaterThanOrEqual(1);
      expect((await h.rights.get(XPP, r.request.id)).request.remindAt).toBe(reminders[1]?.at);
      expect((await h.rights.list({ appId: XPP, overdue: true })).map((x) => x.id)).not.toContain(r.request.id);
      h.advance(r.request.dueAt - h.ctx.clock() + 60_000);
      const swept = await h.rights.sweep();
      expect(swept.overdue).toBeGreaterThanOrEqual(1);
      expect(swept.reminded).toBeGreaterThanOrEqual(1);
      const late = await h.rights.get(XPP, r.request.id);
      expect(late.request.overdue).toBe(true);
      expect(late.request.overdueAt).not.toBeNull();
      expect(late.request.remindAt).toBeNull();
      expect((await h.rights.list({ appId: XPP, overdue: true })).map((x) => x.id)).toContain(r.request.id);
      await h.drain();
      const events = receiver.calls.filter((c) => c.body.includes(r.request.id)).map((c) => JSON.parse(c.body).event);
      expect(events.sort()).toEqual(['rights.overdue', 'rights.reminder', 'rights.reminder']);
      expect(receiver.calls.some((c) => c.body.includes('13744445555'))).toBe(false);
      // Staff verify late: the request runs, and stays marked as answered late.
      await h.rights.verifyByStaff(XPP, r.request.id, 'verified at the counter with the ID card', STAFF);
      await h.drain();
      const done = await h.rights.get(XPP, r.request.id);
      expect(done.request.state).toBe('completed');
      expect(done.request.overdue).toBe(true);
      expect(await h.rights.sweep()).toMatchObject({ overdue: 0 });
    } finally {
      await receiver.close();
    }
  });

  it('keeps the deadline sweep scheduled: every submission ensures it, each run schedules the next', async () => {
    const subjectId = await merchant(h, 'sweep-1', '13766667777');
    await h.rights.submit({ appId: XPP, subjectId, type: 'explanation', via: 'staff', actor: STAFF });
    const pending = async () =>
      h.ctx.db.selectFrom('jobs').select(['id', 'run_at']).where('kind', '=', 'rights.sweep').where('state', '=', 'queued').execute();
    const before = await pending();
    expect(before).toHaveLength(1);
    h.advance(Number(before[0]?.run_at) - h.ctx.clock() + 1000);
    await h.drain();
    const after = await pending();
    expect(after).toHaveLength(1);
    expect(Number(after[0]?.run_at)).toBeGreaterThan(Number(before[0]?.run_at));
    const ran = await h.ctx.db
      .selectFrom('jobs')
      .select(['state', 'result'])
      .where('id', '=', before[0]?.id ?? '')
      .executeTakeFirstOrThrow();
    expect(ran.state).toBe('succeeded');
  });

  it('shreds a package after its retention', async () => {
    const subjectId = await merchant(h, 'pkg-1', '13755556666');
    const r = await h.rights.submit({ appId: XPP, subjectId, type: 'copy', via: 'token', actor: PERSON });
    await h.drain();
    const link = await h.rights.createDownloadLink(XPP, r.request.id, PERSON);
    h.advance(8 * 86_400_000);
    await expect(h.rights.download(link.token, PERSON)).rejects.toSatisfy(pipaError('not_found'));
    expect((await h.rights.sweep()).shredded).toBeGreaterThanOrEqual(1);
    expect(await h.ctx.db.selectFrom('rights_artifacts').select('name').where('request_id', '=', r.request.id).execute()).toHaveLength(0);
    await expect(h.rights.createDownloadLink(XPP, r.request.id, PERSON)).rejects.toSatisfy(pipaError('precondition_failed'));
  });

  it('refuses unknown subjects and apps', async () => {
    await expect(
      h.rights.submit({ appId: XPP, subjectId: 'sub_aaaaaaaaaaaaaaaaaaaaaaaaaa', type: 'access', via: 'token', actor: PERSON }),
    ).rejects.toSatisfy(pipaError('unknown_subject'));
    await expect(
      h.rights.submit({ appId: 'no-such-app', subjectId: 'sub_aaaaaaaaaaaaaaaaaaaaaaaaaa', type: 'access', via: 'token', actor: PERSON }),
    ).rejects.toSatisfy(pipaError('unknown_app'));
  });
});

describe('webhook signatures', () => {
  it('verifies what deliverWebhook signs and rejects tampering and old timestamps', async () => {
    const r: Receiver = await startReceiver();
    try {
      const { deliverWebhook } = await import('./webhook.js');
      const secret = Buffer.alloc(32, 9);
      await deliverWebhook({ url: r.url, secret }, 'rights.reminder', 'd1', { a: 1 });
      const call = r.calls[0];
      const sig = String(call?.headers['x-pipa-signature']);
      expect(verifyWebhookSignature(secret, sig, call?.body ?? '')).toBe(true);
      expect(verifyWebhookSignature(secret, sig, `${call?.body} `)).toBe(false);
      expect(verifyWebhookSignature(Buffer.alloc(32, 8), sig, call?.body ?? '')).toBe(false);
      expect(verifyWebhookSignature(secret, sig, call?.body ?? '', Date.now() + 3600_000)).toBe(false);
      expect(call?.headers['x-pipa-delivery']).toBe('d1');
    } finally {
      await r.close();
    }
  });
});
