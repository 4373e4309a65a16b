import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countAuditEvents } from '../audit/audit-log.js';
import { spyAuditAppends } from '../audit/test-spy.js';
import type { ServiceContext } from '../service/context.js';
import { loadExample, openTestContext, publishForTest, refuseSubjectUpdates } from '../service/test-context.js';
import { forEachDialect } from '../store/test-dialects.js';
import { createSubjectService, refreshAfterCommit, type SubjectService, subjectSyncState } from '../subjects/index.js';
import { expectPipaError } from '../test-errors.js';
import { decide } from './decide.js';
import { idNumberCheckChar } from './id-number.js';
import { type ConsentLedger, createConsentLedger, type RecordConsentInput } from './ledger.js';
import { verifyConsentChain } from './ledger-chain.js';
import { loadConsentProjection, startConsentSync } from './ledger-sync.js';

const XPP = 'xiaopiaopiao-merchant';
const XPP_V = '2022-03-20';
const SST = 'shengshitong';
const HASH = 'a'.repeat(64);
const GUARDIAN = { name: '王芳', relation: '母亲', evidenceHash: `sha256:${'b'.repeat(64)}` };

/** A valid resident identity card number for someone born on `y-m-d`. */
export function idNumberBornOn(y: number, m: number, d: number): string {
  const body = `110101${String(y)}${String(m).padStart(2, '0')}${String(d).padStart(2, '0')}123`;
  return body + idNumberCheckChar(body);
}

async function counts(ctx: ServiceContext) {
  const c = await ctx.db.selectFrom('consent_events').select(sql<number>`count(*)`.as('n')).executeTakeFirstOrThrow();
  return { consent: Number(c.n), audit: await countAuditEvents(ctx.db) };
}

async function until(check: () => boolean, ms = 1000): Promise<number> {
  const start = Date.now();
  while (!check()) {
    if (Date.now() - start > ms) throw new Error(`condition not reached within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
  return Date.now() - start;
}

function decideNow(ctx: ServiceContext, app: string, subject: string, purpose: string, categories: string[], recipient?: string) {
  return decide(
    ctx.policies.require(app).compiled,
    ctx.consent,
    { subject, purpose, categories, ...(recipient ? { recipient } : {}) },
    ctx.clock(),
  );
}

forEachDialect('consent ledger', (dctx) => {
  let ctx: ServiceContext;
  let subjects: SubjectService;
  let ledger: ConsentLedger;
  beforeAll(async () => {
    ctx = await openTestContext(dctx.database);
    subjects = createSubjectService(ctx);
    ledger = createConsentLedger(ctx, { subjects });
    await loadConsentProjection(ctx);
    await startConsentSync(ctx);
  });
  afterAll(async () => {
    await ctx.close();
  });

  const grant = (subject: string, extra: Partial<RecordConsentInput> = {}): RecordConsentInput => ({
    subject,
    action: 'grant',
    consents: [{ purpose: 'push-notifications' }, { purpose: 'push-notifications', recipient: 'getui' }],
    separate: true,
    method: 'user',
    policyVersion: ctx.policies.require(XPP).version,
    evidenceHash: HASH,
    ...extra,
  });
  /** 盛事通's service messages, granted by the person, with an ID number (which gives the subject a date of birth). */
  const serviceMessagesGrant = (subject: string, idNumber: string): RecordConsentInput => ({
    subject,
    action: 'grant',
    consents: [{ purpose: 'service-messages' }],
    separate: true,
    method: 'user',
    policyVersion: ctx.policies.require(SST).version,
    idNumber,
  });

  it('records grants in the chain, audits them, and decisions see them at once', async () => {
    const s = await subjects.ensure(ctx.db, { appId: XPP, kind: 'account', externalId: 'ledger-1' });
    expect(decideNow(ctx, XPP, s.id, 'push-notifications', ['device.model'], 'getui').reason.code).toBe('consent.missing');
    const before = await counts(ctx);
    const events = await ledger.record(XPP, grant(s.id), { actor: 'key_abc', requestId: 'req_ledger01' });
    expect(events).toHaveLength(2);
    expect(events[0]).toMatchObject({
      appId: XPP,
      subjectId: s.id,
      purpose: 'push-notifications',
      action: 'grant',
      separate: true,
      method: 'user',
      policyVersion: XPP_V,
      evidenceHash: HASH,
    });
    expect(events[0]?.id).toMatch(/^cev_[a-z2-7]{26}$/);
    expect(events[1]?.recipient).toBe('getui');
    expect(events[1]?.seq).toBe((events[0]?.seq ?? 0) + 1);
    expect(events[1]?.prevHash).toBe(events[0]?.hash);
    const after = await counts(ctx);
    expect(after).toEqual({ consent: before.consent + 2, audit: before.audit + 2 });
    const audits = await ctx.audit.events({ after: (await ctx.audit.head()).seq - 2 });
    expect(audits.map((a) => a.action)).toEqual(['consent.grant', 'consent.grant']);
    expect(audits[1]).toMatchObject({
      actor: 'key_abc',
      purpose: 'push-notifications',
      requestId: 'req_ledger01',
      subjectPseudonym: ctx.pseudonyms.audit(s.id),
    });
    expect(audits[1]?.details).toMatchObject({
      event: events[1]?.id,
      recipient: 'getui',
      separate: true,
      method: 'user',
      policyVersion: XPP_V,
    });
    const d = decideNow(ctx, XPP, s.id, 'push-notifications', ['device.model'], 'getui');
    expect(d.allow).toBe(true);
    expect(d.reason.code).toBe('consent.granted');
    const head = await ctx.db.selectFrom('chain_heads').selectAll().where('chain', '=', 'consent').executeTakeFirstOrThrow();
    expect(Number(head.seq)).toBe(events[1]?.seq);
    expect(head.hash).toBe(events[1]?.hash);
    expect(await ledger.verify()).toMatchObject({ ok: true, checked: after.consent });
  });

  it('refuses every bad input and writes nothing', async () => {
    const s = await subjects.ensure(ctx.db, { appId: XPP, kind: 'account', externalId: 'ledger-bad' });
    const before = await counts(ctx);
    const cases: [() => Promise<unknown>, string, string][] = [
      [() => ledger.record('no-such-app', grant(s.id)), 'unknown_app', 'app'],
      [() => ledger.record(XPP, grant('sub_nosuchsubjectatall')), 'unknown_subject', '$.subject'],
      [() => ledger.record(XPP, grant('')), 'validation_failed', '$.subject'],
      [() => ledger.record(XPP, grant(s.id, { action: 'maybe' as 'grant' })), 'validation_failed', '$.action'],
      [() => ledger.record(XPP, grant(s.id, { method: 'telepathy' as 'user' })), 'validation_failed', '$.method'],
      [() => ledger.record(XPP, grant(s.id, { consents: [] })), 'validation_failed', '$.consents'],
      [
        () => ledger.record(XPP, grant(s.id, { consents: Array.from({ length: 101 }, () => ({ purpose: 'payment' })) })),
        'validation_failed',
        '$.consents',
      ],
      [
        () => ledger.record(XPP, grant(s.id, { consents: [{ purpose: 'payment' }, { purpose: 'payment' }] })),
        'validation_failed',
        '$.consents[1]',
      ],
      [
        () => ledger.record(XPP, grant(s.id, { consents: [{ purpose: 'payment' }, { purpose: 'mind-reading' }] })),
        'unknown_purpose',
        '$.consents[1].purpose',
      ],
      [
        () => ledger.record(XPP, grant(s.id, { consents: [{ purpose: 'payment', recipient: 'nsa' }] })),
        'unknown_recipient',
        '$.consents[0].recipient',
      ],
      [
        () => ledger.record(XPP, grant(s.id, { consents: [{ purpose: 'payment', recipient: 'getui' }] })),
        'unknown_recipient',
        '$.consents[0].recipient',
      ],
      [() => ledger.record(XPP, grant(s.id, { policyVersion: '1999-01-01' })), 'validation_failed', '$.policyVersion'],
      [() => ledger.record(XPP, grant(s.id, { evidenceHash: 'not-a-hash' })), 'validation_failed', '$.evidenceHash'],
      [() => ledger.record(XPP, grant(s.id, { guardian: GUARDIAN })), 'validation_failed', '$.guardian'],
      [() => ledger.record(XPP, grant(s.id, { method: 'guardian' })), 'validation_failed', '$.guardian'],
      [
        () => ledger.record(XPP, grant(s.id, { method: 'guardian', guardian: { ...GUARDIAN, relation: '' } })),
        'validation_failed',
        '$.guardian.relation',
      ],
      [() => ledger.record(XPP, grant(s.id, { idNumber: '110101201401011234' })), 'validation_failed', '$.idNumber'],
      [() => ledger.record(XPP, grant(s.id, { separate: 'yes' as unknown as boolean })), 'validation_failed', '$.separate'],
      [() => ledger.withdraw(XPP, { subject: s.id, purposes: ['mind-reading'] }), 'unknown_purpose', '$.purposes[0]'],
      [() => ledger.withdraw(XPP, { subject: s.id, recipients: ['nsa'] }), 'unknown_recipient', '$.recipients[0]'],
      [() => ledger.withdraw(XPP, { subject: s.id, purposes: ['payment'], recipients: ['getui'] }), 'unknown_recipient', '$.recipients[0]'],
      [() => ledger.withdraw(XPP, { subject: s.id, purposes: [] }), 'validation_failed', '$.purposes'],
      [() => ledger.withdraw(XPP, { subject: s.id, policyVersion: 'nope' }), 'validation_failed', '$.policyVersion'],
    ];
    for (const [p, code, path] of cases) await expectPipaError(p(), code, path);
    const unknown = await expectPipaError(ledger.record(XPP, grant(s.id, { consents: [{ purpose: 'mind-reading' }] })), 'unknown_purpose');
    expect(unknown.details?.[0]).toMatchObject({ path: '$.consents[0].purpose', clause: '$.purposes' });
    const notForPurpose = await expectPipaError(
      ledger.record(XPP, grant(s.id, { consents: [{ purpose: 'payment', recipient: 'getui' }] })),
      'unknown_recipient',
    );
    expect(String(notForPurpose.details?.[0]?.clause)).toMatch(/^\$\.recipients\[\d+\]\.purposes$/);
    // The identity card number is never echoed.
    const badId = await expectPipaError(ledger.record(XPP, grant(s.id, { idNumber: '110101201401011234' })), 'validation_failed');
    expect(JSON.stringify({ m: badId.message, d: badId.details })).not.toContain('110101201401011234');
    expect(await counts(ctx)).toEqual(before);
  });

  it('grants only under the current policy version; withdrawals under any published one', async () => {
    const s = await subjects.ensure(ctx.db, { appId: SST, kind: 'account', externalId: 'versions-1' });
    await ledger.record(SST, {
      subject: s.id,
      action: 'grant',
      consents: [{ purpose: 'service-messages' }],
      method: 'user',
      policyVersion: '1',
    });
    const d2 = loadExample('shengshitong');
    await publishForTest(ctx, d2, { version: '2', material: false });
    try {
      const before = await counts(ctx);
      const e = await expectPipaError(
        ledger.record(SST, {
          subject: s.id,
          action: 'grant',
          consents: [{ purpose: 'service-messages' }],
          method: 'user',
          policyVersion: '1',
        }),
        'precondition_failed',
        '$.policyVersion',
      );
      expect(e.details?.[0]?.current).toBe('2');
      expect(await counts(ctx)).toEqual(before);
      const w = await ledger.record(SST, {
        subject: s.id,
        action: 'withdraw',
        consents: [{ purpose: 'service-messages' }],
        method: 'user',
        policyVersion: '1',
      });
      expect(w[0]?.policyVersion).toBe('1');
    } finally {
      await publishForTest(ctx, loadExample('shengshitong'), { version: '1-again', material: false });
    }
  });

  it('refuses grants for frozen subjects and everything for erased ones; keeps withdrawals of frozen ones', async () => {
    const s = await subjects.ensure(ctx.db, { appId: XPP, kind: 'account', externalId: 'frozen-1' });
    await ledger.record(XPP, grant(s.id));
    await subjects.setStatus(ctx.db, XPP, s.id, 'frozen');
    const before = await counts(ctx);
    await expectPipaError(ledger.record(XPP, grant(s.id)), 'conflict', '$.subject');
    expect(await counts(ctx)).toEqual(before);
    expect(decideNow(ctx, XPP, s.id, 'push-notifications', ['device.model'], 'getui').reason.code).toBe('subject.frozen');
    const w = await ledger.withdraw(XPP, { subject: s.id, method: 'user' });
    expect(w).toHaveLength(2);
    await subjects.setStatus(ctx.db, XPP, s.id, 'erased');
    const mid = await counts(ctx);
    await expectPipaError(ledger.withdraw(XPP, { subject: s.id }), 'conflict', '$.subject');
    await expectPipaError(ledger.record(XPP, grant(s.id, { action: 'deny' })), 'conflict', '$.subject');
    expect(await counts(ctx)).toEqual(mid);
    expect(decideNow(ctx, XPP, s.id, 'push-notifications', ['device.model'], 'getui').reason.code).toBe('subject.erased');
  });

  it('records arriving together share one transaction: one audit append, the ledger in order, each request answered with its own events', async () => {
    const subs = await Promise.all(
      Array.from({ length: 4 }, (_, i) => subjects.ensure(ctx.db, { appId: XPP, kind: 'account', externalId: `batch-${i}` })),
    );
    const before = await counts(ctx);
    const spy = spyAuditAppends(ctx.audit);
    const appends = spy.sizes;
    let answers: Awaited<ReturnType<ConsentLedger['record']>>[];
    try {
      answers = await Promise.all([
        ...subs.map((s) => ledger.record(XPP, grant(s.id))),
        // The same subject again in the same batch, after its grant: the refusal is the latest.
        ledger.record(XPP, grant((subs[0] as { id: string }).id, { action: 'deny' })),
      ]);
    } finally {
      spy.restore();
    }
    expect(appends).toEqual([10]);
    expect(answers.map((a) => a.length)).toEqual([2, 2, 2, 2, 2]);
    for (const [i, s] of subs.entries()) expect(answers[i]?.every((e) => e.subjectId === s.id && e.action === 'grant')).toBe(true);
    expect(answers[4]?.every((e) => e.action === 'deny')).toBe(true);
    const seqs = answers.flat().map((e) => e.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(await counts(ctx)).toEqual({ consent: before.consent + 10, audit: before.audit + 10 });
    expect(decideNow(ctx, XPP, (subs[0] as { id: string }).id, 'push-notifications', ['device.model'], 'getui').reason.code).toBe(
      'consent.denied',
    );
    expect(decideNow(ctx, XPP, (subs[1] as { id: string }).id, 'push-notifications', ['device.model'], 'getui').allow).toBe(true);
    expect((await verifyConsentChain(ctx.db)).ok).toBe(true);
    expect((await ctx.audit.verify()).ok).toBe(true);
  });

  it('a refused request in a batch fails alone: the others are recorded, nothing of it is written', async () => {
    const ok1 = await subjects.ensure(ctx.db, { appId: XPP, kind: 'account', externalId: 'batch-ok-1' });
    const gone = await subjects.ensure(ctx.db, { appId: XPP, kind: 'account', externalId: 'batch-gone' });
    const ok2 = await subjects.ensure(ctx.db, { appId: XPP, kind: 'account', externalId: 'batch-ok-2' });
    await subjects.setStatus(ctx.db, XPP, gone.id, 'erased');
    const before = await counts(ctx);
    const results = await Promise.allSettled([
      ledger.record(XPP, grant(ok1.id)),
      ledger.record(XPP, grant(gone.id)),
      ledger.record(XPP, grant(ok2.id)),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    const refused = (results[1] as PromiseRejectedResult).reason as { code?: string };
    expect(refused.code).toBe('conflict');
    expect(await counts(ctx)).toEqual({ consent: before.consent + 4, audit: before.audit + 4 });
    const subjectsWritten = await ctx.db.selectFrom('consent_events').select('subject_id').where('seq', '>', before.consent).execute();
    expect(new Set(subjectsWritten.map((r) => r.subject_id))).toEqual(new Set([ok1.id, ok2.id]));
    expect((await verifyConsentChain(ctx.db)).ok).toBe(true);
  });

  it('a failed read-back after a batch committed neither fails the records nor writes them twice', async () => {
    const subs = await Promise.all(
      Array.from({ length: 3 }, (_, i) => subjects.ensure(ctx.db, { appId: SST, kind: 'account', externalId: `readback-${i}` })),
    );
    const now = new Date(ctx.clock());
    const before = await counts(ctx);
    const spy = spyAuditAppends(ctx.audit);
    // Each request's ID number gives its subject a birth date, read back after the commit: that read-back fails.
    const refusing = refuseSubjectUpdates(ctx);
    let answers: Awaited<ReturnType<ConsentLedger['record']>>[];
    try {
      answers = await Promise.all(
        subs.map((s, i) => ledger.record(SST, serviceMessagesGrant(s.id, idNumberBornOn(now.getUTCFullYear() - 30, 1, i + 1)))),
      );
    } finally {
      refusing.restore();
      spy.restore();
    }
    // One batch, run once: each birth date's audit event keeps its place, so the batch's consent events
    // are appended in three parts (run again, the batch would have appended six).
    expect(spy.sizes).toEqual([1, 1, 1]);
    expect(answers.map((a) => a.length)).toEqual([1, 1, 1]);
    // Three grants and three birth dates, each written once.
    expect(await counts(ctx)).toEqual({ consent: before.consent + 3, audit: before.audit + 6 });
    expect(subjectSyncState(ctx)?.lastError).toBe(refusing.error);
    // The events reached the projection all the same.
    for (const s of subs) expect(ctx.consent.subject(SST, s.id)).toBeDefined();
    // And the birth dates do too, once the projection accepts updates again: the subjects stayed
    // pending (their notifications were refused as well) and are re-read until they apply.
    const deadline = Date.now() + 5_000;
    const settled = () =>
      subs.every((s) => ctx.consent.subject(SST, s.id)?.birthDate !== undefined) && subjectSyncState(ctx)?.pending.size === 0;
    while (!settled() && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    for (const [i, s] of subs.entries()) {
      expect(ctx.consent.subject(SST, s.id)?.birthDate).toBe(`${now.getUTCFullYear() - 30}-01-${String(i + 1).padStart(2, '0')}`);
    }
    expect(subjectSyncState(ctx)?.pending.size).toBe(0);
    expect((await verifyConsentChain(ctx.db)).ok).toBe(true);
  });

  it('a subject change that could not be applied stays pending and is re-read until it applies', async () => {
    const s = await subjects.ensure(ctx.db, { appId: SST, kind: 'account', externalId: 'pending-1' });
    // The row changed behind the projection's back, and the read-back after the commit fails.
    await ctx.db.updateTable('subjects').set({ birth_date: '1990-05-06' }).where('id', '=', s.id).execute();
    const refusing = refuseSubjectUpdates(ctx);
    try {
      await refreshAfterCommit(ctx, [s.id]);
      expect(subjectSyncState(ctx)?.pending.has(s.id)).toBe(true);
      // Retried while still refused: still pending.
      await new Promise((r) => setTimeout(r, 300));
      expect(subjectSyncState(ctx)?.pending.has(s.id)).toBe(true);
    } finally {
      refusing.restore();
    }
    const deadline = Date.now() + 5_000;
    while (ctx.consent.subject(SST, s.id)?.birthDate !== '1990-05-06' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(ctx.consent.subject(SST, s.id)?.birthDate).toBe('1990-05-06');
    expect(subjectSyncState(ctx)?.pending.has(s.id)).toBe(false);
  });

  it('minors: a 10-year-old (from an ID number) needs a guardian grant; accepted with guardian info; the number is never stored', async () => {
    const now = new Date(ctx.clock());
    const id = idNumberBornOn(now.getUTCFullYear() - 10, 1, 2);
    const s = await subjects.ensure(ctx.db, { appId: SST, kind: 'account', externalId: 'child-1' });
    const input = serviceMessagesGrant(s.id, id);
    const before = await counts(ctx);
    const e = await expectPipaError(ledger.record(SST, input), 'validation_failed', '$.method');
    expect(e.details?.[0]?.clause).toBe('$.minors');
    expect(await counts(ctx)).toEqual(before);
    // Refused: and the birth date was not stored either (the transaction rolled back).
    expect((await subjects.require(ctx.db, SST, s.id)).birthDate).toBeNull();
    await expectPipaError(
      ledger.record(SST, { ...input, method: 'guardian', guardian: { name: '王芳', relation: '母亲' } }),
      'validation_failed',
      '$.guardian',
    );
    const ok = await ledger.record(SST, { ...input, method: 'guardian', guardian: GUARDIAN });
    expect(ok[0]).toMatchObject({ method: 'guardian', guardian: GUARDIAN });
    const stored = await subjects.require(ctx.db, SST, s.id);
    expect(stored.birthDate).toBe(`${now.getUTCFullYear() - 10}-01-02`);
    expect(ctx.consent.subject(SST, s.id)?.birthDate).toBe(stored.birthDate);
    expect(decideNow(ctx, SST, s.id, 'service-messages', ['contact.phone']).allow).toBe(true);
    // The number is nowhere in the database.
    for (const table of ['consent_events', 'audit_events', 'subjects'] as const) {
      const rows = await ctx.db.selectFrom(table).selectAll().execute();
      expect(JSON.stringify(rows)).not.toContain(id);
      expect(JSON.stringify(rows)).not.toContain(id.slice(0, 14));
    }
    // Now the stored birth date applies without an ID number: a user grant for another purpose is refused.
    await expectPipaError(
      ledger.record(SST, { ...input, idNumber: undefined, consents: [{ purpose: 'business-analysis' }] }),
      'validation_failed',
      '$.method',
    );
    // A withdrawal needs no guardian.
    await ledger.record(SST, { ...input, idNumber: undefined, action: 'withdraw', separate: false });
    expect(decideNow(ctx, SST, s.id, 'service-messages', ['contact.phone']).reason.code).toBe('consent.withdrawn');
  });

  it('minors: a 16-year-old under the declared threshold of 18 needs a guardian; an adult does not', async () => {
    const now = new Date(ctx.clock());
    const teen = await subjects.ensure(ctx.db, {
      appId: SST,
      kind: 'account',
      externalId: 'teen-1',
      birthDate: `${now.getUTCFullYear() - 16}-01-02`,
    });
    const adult = await subjects.ensure(ctx.db, {
      appId: SST,
      kind: 'account',
      externalId: 'adult-1',
      birthDate: `${now.getUTCFullYear() - 30}-01-02`,
    });
    const input = (subject: string): RecordConsentInput => ({
      subject,
      action: 'grant',
      consents: [{ purpose: 'service-messages' }],
      method: 'user',
      policyVersion: ctx.policies.require(SST).version,
    });
    await expectPipaError(ledger.record(SST, input(teen.id)), 'validation_failed', '$.method');
    await ledger.record(SST, { ...input(teen.id), method: 'guardian', guardian: GUARDIAN });
    await ledger.record(SST, input(adult.id));
    expect(decideNow(ctx, SST, teen.id, 'service-messages', ['contact.phone']).allow).toBe(true);
    expect(decideNow(ctx, SST, adult.id, 'service-messages', ['contact.phone']).allow).toBe(true);
  });

  it('withdraws in one call: everything, given purposes, or given recipients', async () => {
    const s = await subjects.ensure(ctx.db, { appId: XPP, kind: 'account', externalId: 'withdraw-1' });
    await ledger.record(
      XPP,
      grant(s.id, {
        consents: [
          { purpose: 'push-notifications' },
          { purpose: 'push-notifications', recipient: 'getui' },
          { purpose: 'push-notifications', recipient: 'umeng' },
          { purpose: 'payment' },
          { purpose: 'payment', recipient: 'alipay' },
        ],
      }),
    );
    // Given recipients: every purpose it is declared for.
    const r = await ledger.withdraw(XPP, { subject: s.id, recipients: ['getui'], method: 'user' });
    expect(r.map((e) => `${e.purpose}/${e.recipient ?? ''}`).sort()).toEqual(['push-keepalive/getui', 'push-notifications/getui']);
    expect(r.every((e) => e.action === 'withdraw' && e.method === 'user' && e.policyVersion === XPP_V)).toBe(true);
    expect(decideNow(ctx, XPP, s.id, 'push-notifications', ['device.model'], 'getui').reason.code).toBe('consent.withdrawn');
    expect(decideNow(ctx, XPP, s.id, 'push-notifications', ['device.storage'], 'umeng').allow).toBe(true);
    // Given purposes: the purpose and its recipient grants.
    const p = await ledger.withdraw(XPP, { subject: s.id, purposes: ['payment'] });
    expect(p.map((e) => `${e.purpose}/${e.recipient ?? ''}`).sort()).toEqual(['payment/', 'payment/alipay']);
    expect(p[0]?.method).toBe('api');
    // Everything still granted.
    const all = await ledger.withdraw(XPP, { subject: s.id });
    expect(all.map((e) => `${e.purpose}/${e.recipient ?? ''}`).sort()).toEqual(['push-notifications/', 'push-notifications/umeng']);
    // Nothing left: nothing written.
    const before = await counts(ctx);
    expect(await ledger.withdraw(XPP, { subject: s.id })).toEqual([]);
    expect(await counts(ctx)).toEqual(before);
    const state = await ledger.state(XPP, s.id);
    expect(state.consents.every((c) => c.action === 'withdraw')).toBe(true);
    expect(state.consents).toHaveLength(6);
  });

  it('history is newest first and paged; state folds the latest per purpose and recipient; devices move with the link', async () => {
    const dev = await subjects.ensure(ctx.db, { appId: XPP, kind: 'device', externalId: 'hist-dev' });
    const acc = await subjects.ensure(ctx.db, { appId: XPP, kind: 'account', externalId: 'hist-acc' });
    await ledger.record(XPP, grant(dev.id, { consents: [{ purpose: 'dcloud-statistics' }] }));
    await subjects.link(ctx.db, XPP, dev.id, acc.id);
    expect(decideNow(ctx, XPP, acc.id, 'dcloud-statistics', ['device.id.imei']).allow).toBe(true);
    await ledger.record(XPP, grant(acc.id, { consents: [{ purpose: 'payment' }] }));
    await ledger.record(XPP, grant(acc.id, { action: 'deny', consents: [{ purpose: 'marketing-contact' }] }));
    await ledger.record(XPP, grant(acc.id, { action: 'withdraw', consents: [{ purpose: 'payment' }] }));
    const first = await ledger.history(XPP, acc.id, { limit: 2 });
    expect(first.events.map((e) => `${e.action}:${e.purpose}`)).toEqual(['withdraw:payment', 'deny:marketing-contact']);
    expect(first.nextBefore).toBe(first.events[1]?.seq);
    const second = await ledger.history(XPP, acc.id, { limit: 2, before: first.nextBefore ?? 0 });
    expect(second.events.map((e) => `${e.action}:${e.purpose}:${e.subjectId === dev.id ? 'dev' : 'acc'}`)).toEqual([
      'grant:payment:acc',
      'grant:dcloud-statistics:dev',
    ]);
    expect(second.nextBefore).toBeNull();
    const state = await ledger.state(XPP, dev.id);
    expect(state).toMatchObject({ subject: dev.id, canonical: acc.id, status: 'active', devices: [dev.id] });
    expect(state.consents.map((c) => `${c.purpose}:${c.action}`)).toEqual([
      'dcloud-statistics:grant',
      'marketing-contact:deny',
      'payment:withdraw',
    ]);
    await expectPipaError(ledger.history(XPP, 'sub_nosuchsubjectatall'), 'unknown_subject');
    await expectPipaError(ledger.state(SST, acc.id), 'unknown_subject');
  });

  it('a fresh context on the same database loads the same projection', async () => {
    const other = await dctx.connect();
    const ctx2 = await openTestContext(other, { examples: [] });
    try {
      const stats = await loadConsentProjection(ctx2);
      expect(stats.events).toBe((await counts(ctx)).consent);
      const a = ctx.consent.stats();
      const b = ctx2.consent.stats();
      expect(b.records).toBe(a.records);
      for (const app of [XPP, SST]) {
        const rows = await ctx.db.selectFrom('subjects').select('id').where('app_id', '=', app).execute();
        for (const { id } of rows) {
          const key = (c: { purpose: string; recipient?: string }) => `${c.purpose}/${c.recipient ?? ''}`;
          const sorted = (list: ReturnType<ServiceContext['consent']['consents']>) => [...list].sort((x, y) => (key(x) < key(y) ? -1 : 1));
          expect(sorted(ctx2.consent.consents(app, id))).toEqual(sorted(ctx.consent.consents(app, id)));
          const view = (v: ReturnType<ServiceContext['consent']['subject']>) => ({
            id: v?.id ?? id,
            status: v?.status ?? 'active',
            birthDate: v?.birthDate,
            devices: [...(v?.devices ?? [])].sort(),
          });
          expect(view(ctx2.consent.subject(app, id))).toEqual(view(ctx.consent.subject(app, id)));
        }
      }
    } finally {
      await ctx2.close();
    }
  });

  it('re-consent after a material change: decisions deny until a new grant', async () => {
    const s = await subjects.ensure(ctx.db, { appId: XPP, kind: 'account', externalId: 'reconsent-1' });
    await ledger.record(XPP, grant(s.id, { consents: [{ purpose: 'payment' }] }));
    expect(decideNow(ctx, XPP, s.id, 'payment', ['finance.payment-account']).allow).toBe(true);
    const changed = loadExample('xiaopiaopiao');
    const payment = changed.purposes.find((p) => p.id === 'payment');
    if (payment === undefined) throw new Error('payment purpose missing');
    payment.categories = [...payment.categories, 'contact.phone'];
    const old = ctx.policies.require(XPP).version;
    await publishForTest(ctx, changed, { version: '2025-01-01', material: true });
    try {
      const d = decideNow(ctx, XPP, s.id, 'payment', ['finance.payment-account']);
      expect(d.allow).toBe(false);
      expect(d.reason.code).toBe('consent.reconsent-required');
      expect(d.needs).toBe('reconsent');
      // The old version no longer takes grants; the new one does.
      await expectPipaError(
        ledger.record(XPP, grant(s.id, { consents: [{ purpose: 'payment' }], policyVersion: old })),
        'precondition_failed',
      );
      await ledger.record(XPP, grant(s.id, { consents: [{ purpose: 'payment' }], policyVersion: '2025-01-01' }));
      expect(decideNow(ctx, XPP, s.id, 'payment', ['finance.payment-account', 'contact.phone']).allow).toBe(true);
    } finally {
      await publishForTest(ctx, changed, { version: '2025-01-02', material: false });
    }
  });

  it('the chain verifies, and tampering is detected at the first broken seq', async () => {
    expect((await verifyConsentChain(ctx.db)).ok).toBe(true);
    const other = await dctx.fresh();
    const ctx2 = await openTestContext(other);
    try {
      const l2 = createConsentLedger(ctx2);
      const s2 = createSubjectService(ctx2);
      const sub = await s2.ensure(ctx2.db, { appId: XPP, kind: 'account', externalId: 'tamper' });
      for (let i = 0; i < 3; i++) {
        await l2.record(XPP, grant(sub.id, { action: i % 2 === 0 ? 'grant' : 'deny', policyVersion: ctx2.policies.require(XPP).version }));
      }
      expect(await l2.verify()).toMatchObject({ ok: true, checked: 6 });
      // A changed field.
      await ctx2.db.updateTable('consent_events').set({ action: 'grant' }).where('seq', '=', 4).execute();
      expect(await l2.verify()).toMatchObject({ ok: false, firstBrokenSeq: 4, reason: 'hash' });
      await ctx2.db.updateTable('consent_events').set({ action: 'deny' }).where('seq', '=', 4).execute();
      expect((await l2.verify()).ok).toBe(true);
      // A changed guardian (JSON) field.
      await ctx2.db
        .updateTable('consent_events')
        .set({ guardian: JSON.stringify({ name: 'x' }) })
        .where('seq', '=', 2)
        .execute();
      expect(await l2.verify()).toMatchObject({ ok: false, firstBrokenSeq: 2, reason: 'hash' });
      await ctx2.db.updateTable('consent_events').set({ guardian: null }).where('seq', '=', 2).execute();
      // A deleted row.
      const row5 = await ctx2.db.selectFrom('consent_events').selectAll().where('seq', '=', 5).executeTakeFirstOrThrow();
      await ctx2.db.deleteFrom('consent_events').where('seq', '=', 5).execute();
      expect(await l2.verify()).toMatchObject({ ok: false, firstBrokenSeq: 5, reason: 'missing' });
      await ctx2.db.insertInto('consent_events').values(row5).execute();
      expect((await l2.verify()).ok).toBe(true);
      // The last row cut off and the head left alone.
      const row6 = await ctx2.db.selectFrom('consent_events').selectAll().where('seq', '=', 6).executeTakeFirstOrThrow();
      await ctx2.db.deleteFrom('consent_events').where('seq', '=', 6).execute();
      expect(await l2.verify()).toMatchObject({ ok: false, firstBrokenSeq: 6, reason: 'missing' });
      await ctx2.db.insertInto('consent_events').values(row6).execute();
      // A head that does not match.
      await ctx2.db
        .updateTable('chain_heads')
        .set({ hash: 'f'.repeat(64) })
        .where('chain', '=', 'consent')
        .execute();
      expect(await l2.verify()).toMatchObject({ ok: false, firstBrokenSeq: 6, reason: 'head' });
    } finally {
      await ctx2.close();
    }
  });

  it('concurrent writers (from two nodes where the engine has concurrent writers) form one unbroken chain', async () => {
    const other = await dctx.connect();
    const ctx2 = await openTestContext(other, { examples: [] });
    try {
      // SQLite has one writer per file (and better-sqlite3 waits for the lock synchronously, so two
      // handles in one process would block each other): there the writes race within one node.
      const l2 = dctx.caps.concurrentWriters ? createConsentLedger(ctx2) : ledger;
      const subs = await Promise.all(
        Array.from({ length: 4 }, (_, i) => subjects.ensure(ctx.db, { appId: XPP, kind: 'account', externalId: `concurrent-${i}` })),
      );
      const before = await counts(ctx);
      await Promise.all(
        Array.from({ length: 24 }, (_, i) =>
          (i % 2 === 0 ? ledger : l2).record(
            XPP,
            grant(subs[i % 4]?.id ?? '', { action: i % 3 === 0 ? 'deny' : 'grant', consents: [{ purpose: 'payment' }] }),
          ),
        ),
      );
      const after = await counts(ctx);
      expect(after.consent).toBe(before.consent + 24);
      expect(after.audit).toBe(before.audit + 24);
      const seqs = (await ctx.db.selectFrom('consent_events').select('seq').orderBy('seq').execute()).map((r) => Number(r.seq));
      expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i + 1));
      expect(await verifyConsentChain(ctx.db)).toMatchObject({ ok: true, checked: after.consent });
    } finally {
      await ctx2.close();
    }
  });

  it('loading stops at a ledger row the projection refuses, with everything before it applied', async () => {
    const s = await subjects.ensure(ctx.db, { appId: XPP, kind: 'account', externalId: 'refused-row' });
    await ledger.record(XPP, grant(s.id, { consents: [{ purpose: 'payment' }] }));
    const second = await ledger.record(XPP, grant(s.id, { consents: [{ purpose: 'push-notifications' }] }));
    const seq = second[0]?.seq as number;
    const version = second[0]?.policyVersion as string;
    // The row's policy version emptied (the projection refuses it), then put back.
    await ctx.db.updateTable('consent_events').set({ policy_version: '' }).where('seq', '=', seq).execute();
    const other = await dctx.connect();
    const ctx2 = await openTestContext(other, { examples: [] });
    try {
      await expect(loadConsentProjection(ctx2)).rejects.toThrow('event.policyVersion: must be a non-empty string');
      expect(ctx2.consent.state(XPP, s.id, 'payment')?.action).toBe('grant');
      expect(ctx2.consent.state(XPP, s.id, 'push-notifications')).toBeUndefined();
    } finally {
      await ctx.db.updateTable('consent_events').set({ policy_version: version }).where('seq', '=', seq).execute();
      await ctx2.close();
    }
  });

  describe('two nodes', () => {
    it('a grant through one node is seen by decisions on the other within a second', async () => {
      const other = await dctx.connect();
      const ctx2 = await openTestContext(other, { examples: [] });
      try {
        await loadConsentProjection(ctx2);
        await startConsentSync(ctx2);
        const s = await subjects.ensure(ctx.db, { appId: XPP, kind: 'account', externalId: 'two-nodes' });
        expect(decideNow(ctx2, XPP, s.id, 'payment', ['finance.payment-account']).reason.code).toBe('consent.missing');
        await ledger.record(XPP, grant(s.id, { consents: [{ purpose: 'payment' }] }));
        if (dctx.caps.listenNotify) {
          const ms = await until(() => decideNow(ctx2, XPP, s.id, 'payment', ['finance.payment-account']).allow, 1000);
          expect(ms).toBeLessThan(1000);
          // A status change too.
          await subjects.setStatus(ctx.db, XPP, s.id, 'frozen');
          await until(() => decideNow(ctx2, XPP, s.id, 'payment', ['finance.payment-account']).reason.code === 'subject.frozen', 1000);
        } else {
          // SQLite: one node per file; another process catches up when told to.
          const sync = await startConsentSync(ctx2);
          await sync.catchUp();
          expect(decideNow(ctx2, XPP, s.id, 'payment', ['finance.payment-account']).allow).toBe(true);
        }
      } finally {
        await ctx2.close();
      }
    });
  });
});
