/**
 * Subjects' last activity on SQLite and PostgreSQL: the operator's reports (one or a batch; only
 * forward; audited per subject moved; all or nothing on bad input), pipa's own signals (a consent the
 * person gives, a linked device; erasure clears it), the projection and its notifications untouched,
 * and migration 0010 filling it from the consent ledger.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { countAuditEvents } from '../audit/audit-log.js';
import { spyAuditAppends } from '../audit/test-spy.js';
import { createConsentLedger } from '../consent/ledger.js';
import type { ServiceContext } from '../service/context.js';
import { openTestContext } from '../service/test-context.js';
import { migrate } from '../store/migrate.js';
import { forEachDialect } from '../store/test-dialects.js';
import { expectPipaError } from '../test-errors.js';
import {
  ACTIVITY_CLOCK_SKEW_MS,
  type ActivityEntry,
  createSubjectService,
  MAX_ACTIVITY_BATCH,
  recordSeenActivity,
  type SubjectService,
  subjectSyncState,
} from './index.js';

const APP = 'xiaopiaopiao-merchant';
const OTHER = 'shengshitong';
const T0 = Date.UTC(2025, 2, 1, 8);
const MIN = 60_000;

forEachDialect('subjects’ last activity', (dctx) => {
  let ctx: ServiceContext;
  let subjects: SubjectService;
  let ledger: ReturnType<typeof createConsentLedger>;
  let now = T0;
  const at = (t: number) => {
    expect(t).toBeGreaterThanOrEqual(now);
    now = t;
  };
  const account = async (externalId?: string) =>
    (await subjects.ensure(ctx.db, { appId: APP, kind: 'account', ...(externalId !== undefined ? { externalId } : {}) })).id;
  const lastActive = async (id: string) => (await subjects.require(ctx.db, APP, id)).lastActiveAt;
  const record = (entries: ActivityEntry[]) => subjects.recordActivity(ctx.db, APP, entries, { actor: 'key_ops', requestId: 'req_act_1' });
  const snapshot = async () => ({
    rows: JSON.stringify(await ctx.db.selectFrom('subjects').selectAll().orderBy('id').execute()),
    audit: await countAuditEvents(ctx.db),
  });

  beforeAll(async () => {
    ctx = await openTestContext(dctx.database, { clock: () => now });
    subjects = createSubjectService(ctx);
    ledger = createConsentLedger(ctx, { subjects });
  });
  afterAll(async () => {
    await ctx.close();
  });

  it('records a report: now by default or the given time, only forward, one audit event per subject moved', async () => {
    const s = await account();
    expect(await lastActive(s)).toBeNull();
    at(T0 + 10 * MIN);
    const audits = await countAuditEvents(ctx.db);
    expect(await record([{ subject: s }])).toEqual({ received: 1, advanced: [s] });
    expect(await lastActive(s)).toBe(T0 + 10 * MIN);
    const events = await ctx.audit.events({ after: audits });
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      actor: 'key_ops',
      action: 'subject.activity',
      appId: APP,
      requestId: 'req_act_1',
      subjectPseudonym: ctx.pseudonyms.audit(s),
      details: { at: T0 + 10 * MIN },
    });
    // Earlier or equal: nothing moves, nothing is audited (idempotent).
    expect(await record([{ subject: s, at: T0 + 5 * MIN }])).toEqual({ received: 1, advanced: [] });
    expect(await record([{ subject: s, at: T0 + 10 * MIN }])).toEqual({ received: 1, advanced: [] });
    expect(await lastActive(s)).toBe(T0 + 10 * MIN);
    expect(await countAuditEvents(ctx.db)).toBe(audits + 1);
    // A later time given explicitly.
    at(T0 + 60 * MIN);
    expect((await record([{ subject: s, at: T0 + 30 * MIN }])).advanced).toEqual([s]);
    expect(await lastActive(s)).toBe(T0 + 30 * MIN);
    // The time of the subject's creation is the earliest accepted.
    const fresh = await account();
    expect((await record([{ subject: fresh, at: now }])).advanced).toEqual([fresh]);
    // The updated time of the subject record does not change: activity is not an edit of the subject.
    const rec = await subjects.require(ctx.db, APP, s);
    expect(rec.updatedAt).toBe(rec.createdAt);
  });

  it('a batch: the latest time per subject, a time a little ahead of the clock counts as now', async () => {
    at(now + MIN);
    const [a, b, c] = [await account(), await account(), await account()];
    at(now + 10 * MIN);
    const r = await record([
      { subject: a, at: now - 5 * MIN },
      { subject: b },
      { subject: a, at: now - MIN },
      { subject: c, at: now + ACTIVITY_CLOCK_SKEW_MS }, // another server's clock, a minute ahead
      { subject: a, at: now - 8 * MIN },
    ]);
    expect(r.received).toBe(5);
    expect([...r.advanced].sort()).toEqual([a, b, c].sort());
    expect(await lastActive(a)).toBe(now - MIN);
    expect(await lastActive(b)).toBe(now);
    expect(await lastActive(c)).toBe(now);
    // A large batch in one report.
    const many: string[] = [];
    for (let i = 0; i < 30; i++) many.push(await account());
    at(now + MIN);
    expect((await record(many.map((subject) => ({ subject })))).advanced).toHaveLength(30);
    for (const id of many.slice(0, 3)) expect(await lastActive(id)).toBe(now);
  });

  it('reports arriving together share one transaction and one audit append; a refused one fails alone', async () => {
    const a = await account();
    const b = await account();
    const gone = await account();
    await subjects.setStatus(ctx.db, APP, gone, 'erased');
    at(now + 10 * MIN);
    const spy = spyAuditAppends(ctx.audit);
    const appends = spy.sizes;
    try {
      const together = await Promise.all([record([{ subject: a }]), record([{ subject: b }]), record([{ subject: a }])]);
      expect(together.map((r) => r.advanced)).toEqual([[a], [b], []]);
      expect(appends).toEqual([2]);
      appends.length = 0;
      at(now + MIN);
      const results = await Promise.allSettled([record([{ subject: a }]), record([{ subject: gone }]), record([{ subject: b }])]);
      expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
      // The batch failed, then each report ran alone: two appends of one event.
      expect(appends).toEqual([1, 1]);
    } finally {
      spy.restore();
    }
    expect(await lastActive(a)).toBe(now);
    expect(await lastActive(b)).toBe(now);
    expect(await lastActive(gone)).toBeNull();
  });

  it('refuses bad input with the error shape and writes nothing (all or nothing)', async () => {
    const ok = await account();
    const gone = await account();
    await subjects.setStatus(ctx.db, APP, gone, 'erased');
    const foreign = (await subjects.ensure(ctx.db, { appId: OTHER, kind: 'account' })).id;
    at(now + 10 * MIN);
    const before = await snapshot();

    // Unknown subjects (also one of another app, and what is not an id at all), each named.
    const unknown = await expectPipaError(
      record([{ subject: ok }, { subject: 'sub_nosuchsubjectatall' }, { subject: foreign }, { subject: 'not-an-id' }]),
      'unknown_subject',
      ['$.subjects[1].subject', '$.subjects[2].subject', '$.subjects[3].subject'],
    );
    expect(unknown.status).toBe(404);
    expect(unknown.message).toContain('(and 2 more)');
    // Erased.
    const erased = await expectPipaError(record([{ subject: ok }, { subject: gone }]), 'conflict', ['$.subjects[1].subject']);
    expect(erased.status).toBe(409);
    // Times: in the future, not an integer of ms, before the subject existed.
    await expectPipaError(record([{ subject: ok, at: now + ACTIVITY_CLOCK_SKEW_MS + 1 }]), 'validation_failed', ['$.subjects[0].at']);
    for (const bad of [Number.NaN, 1.5, -1, Number.POSITIVE_INFINITY, '1740816000000', null]) {
      await expectPipaError(record([{ subject: ok }, { subject: ok, at: bad as number }]), 'validation_failed', ['$.subjects[1].at']);
    }
    await expectPipaError(record([{ subject: ok, at: T0 - 1 }]), 'validation_failed', ['$.subjects[0].at']);
    // Batch size.
    await expectPipaError(record([]), 'validation_failed', ['$.subjects']);
    await expectPipaError(record(Array.from({ length: MAX_ACTIVITY_BATCH + 1 }, () => ({ subject: ok }))), 'validation_failed', [
      '$.subjects',
    ]);
    await expectPipaError(subjects.recordActivity(ctx.db, 'no-such-app', [{ subject: ok }]), 'unknown_app');
    expect(await snapshot()).toEqual(before);
    expect(await lastActive(ok)).toBeNull();
    // The largest batch is accepted.
    expect((await record(Array.from({ length: MAX_ACTIVITY_BATCH }, () => ({ subject: ok })))).advanced).toEqual([ok]);
  });

  it('pipa’s own signals: a consent the person or a guardian gives (not one the operator records), a device linked at sign-in; erasure clears it', async () => {
    const version = ctx.policies.require(APP).version;
    const person = await account();
    const operator = await account();
    at(now + 5 * MIN);
    await ledger.record(APP, {
      subject: person,
      action: 'grant',
      consents: [{ purpose: 'push-notifications' }],
      method: 'user',
      policyVersion: version,
    });
    await ledger.record(APP, {
      subject: operator,
      action: 'grant',
      consents: [{ purpose: 'push-notifications' }],
      method: 'api',
      policyVersion: version,
    });
    expect(await lastActive(person)).toBe(now);
    expect(await lastActive(operator)).toBeNull();
    at(now + 5 * MIN);
    await ledger.withdraw(APP, { subject: person, purposes: ['push-notifications'], method: 'user' });
    expect(await lastActive(person)).toBe(now);
    // The consent projection still sees the withdrawal.
    expect(ctx.consent.subject(APP, person)).toBeDefined();

    const dev = (await subjects.ensure(ctx.db, { appId: APP, kind: 'device', externalId: 'act-dev-1' })).id;
    at(now + 5 * MIN);
    await subjects.link(ctx.db, APP, dev, person);
    expect(await lastActive(dev)).toBe(now);

    // Seen activity (subject tokens): forward only, never an erased subject.
    await subjects.setStatus(ctx.db, APP, operator, 'erased');
    expect(await lastActive(operator)).toBeNull();
    at(now + 5 * MIN);
    const moved = await recordSeenActivity(ctx.db, [
      { appId: APP, subject: person, at: now },
      { appId: APP, subject: dev, at: now - 60 * MIN },
      { appId: APP, subject: operator, at: now },
      { appId: OTHER, subject: person, at: now },
    ]);
    expect(moved).toBe(1);
    expect(await lastActive(person)).toBe(now);
    expect(await lastActive(dev)).toBe(now - 5 * MIN);
    expect(await lastActive(operator)).toBeNull();

    // Erasure clears it (it is about the person).
    await subjects.setStatus(ctx.db, APP, person, 'erased');
    expect(await lastActive(person)).toBeNull();
  });

  it('leaves the consent projection and the subject notifications alone', async () => {
    const s = await subjects.ensure(ctx.db, { appId: APP, kind: 'account', externalId: 'act-proj', birthDate: '2001-04-05' });
    await subjects.setStatus(ctx.db, APP, s.id, 'frozen');
    // The notifications of those writes have been applied (in this process on SQLite, by LISTEN on PostgreSQL).
    await new Promise((r) => setTimeout(r, 100));
    expect(ctx.consent.subject(APP, s.id)).toMatchObject({ status: 'frozen', birthDate: '2001-04-05' });
    const applied = subjectSyncState(ctx)?.applied ?? 0;
    at(now + MIN);
    expect((await record([{ subject: s.id }])).advanced).toEqual([s.id]);
    await new Promise((r) => setTimeout(r, 100));
    expect(subjectSyncState(ctx)?.applied ?? 0).toBe(applied);
    expect(ctx.consent.subject(APP, s.id)).toMatchObject({ status: 'frozen', birthDate: '2001-04-05' });
    // A frozen subject may still report activity (cancellation is not erasure); the record reads back whole.
    expect(await subjects.require(ctx.db, APP, s.id)).toMatchObject({ status: 'frozen', lastActiveAt: now, birthDate: '2001-04-05' });
  });

  it('migration 0010 fills the last activity from the consents people gave themselves', async () => {
    const database = await dctx.fresh({ migrate: false });
    const db = database.db;
    await migrate(db, { to: '0008_lawful_access' });
    await db.insertInto('apps').values({ id: 'old-app', name: 'Old', current_version: null, created_at: 1, updated_at: 1 }).execute();
    const subject = (id: string, status: 'active' | 'erased') => ({
      id,
      app_id: 'old-app',
      kind: 'account' as const,
      external_id: null,
      linked_to: null,
      status,
      birth_date: null,
      created_at: 1,
      updated_at: 1,
      frozen_at: null,
      erased_at: status === 'erased' ? 2 : null,
    });
    await db
      .insertInto('subjects')
      .values([
        subject('sub_aaaaaaaaaaaaaaaaaaaaaaaaaa', 'active'),
        subject('sub_bbbbbbbbbbbbbbbbbbbbbbbbbb', 'active'),
        subject('sub_cccccccccccccccccccccccccc', 'erased'),
      ])
      .execute();
    let seq = 0;
    const event = (subjectId: string, method: 'user' | 'guardian' | 'api', eventAt: number) => ({
      seq: ++seq,
      id: `cev_${seq}`,
      app_id: 'old-app',
      subject_id: subjectId,
      purpose: 'p',
      recipient: null,
      action: 'grant' as const,
      separate: 0 as const,
      method,
      guardian: null,
      policy_version: '1',
      evidence_hash: null,
      at: eventAt,
      prev_hash: '0'.repeat(64),
      hash: String(seq).padStart(64, '0'),
    });
    await db
      .insertInto('consent_events')
      .values([
        event('sub_aaaaaaaaaaaaaaaaaaaaaaaaaa', 'user', 100),
        event('sub_aaaaaaaaaaaaaaaaaaaaaaaaaa', 'guardian', 300),
        event('sub_aaaaaaaaaaaaaaaaaaaaaaaaaa', 'api', 900),
        event('sub_bbbbbbbbbbbbbbbbbbbbbbbbbb', 'api', 500),
        event('sub_cccccccccccccccccccccccccc', 'user', 700),
      ])
      .execute();
    expect(await migrate(db)).toContain('0010_subject_activity');
    const rows = await db.selectFrom('subjects').select(['id', 'last_active_at']).orderBy('id').execute();
    expect(rows.map((r) => [r.id, r.last_active_at === null ? null : Number(r.last_active_at)])).toEqual([
      ['sub_aaaaaaaaaaaaaaaaaaaaaaaaaa', 300],
      ['sub_bbbbbbbbbbbbbbbbbbbbbbbbbb', null],
      ['sub_cccccccccccccccccccccccccc', null],
    ]);
  });
});
