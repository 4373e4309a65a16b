import { afterAll, beforeAll, expect, it } from 'vitest';
import { countAuditEvents } from '../audit/audit-log.js';
import { spyAuditAppends } from '../audit/test-spy.js';
import type { ServiceContext } from '../service/context.js';
import { openTestContext, refuseSubjectUpdates } from '../service/test-context.js';
import { forEachDialect } from '../store/test-dialects.js';
import { withTransaction } from '../store/transaction.js';
import { expectPipaError } from '../test-errors.js';
import {
  createSubjectIdGenerator,
  createSubjectService,
  ensureSubjectSync,
  isSubjectId,
  newSubjectId,
  type SubjectService,
  subjectSyncState,
} from './index.js';

const APP = 'xiaopiaopiao-merchant';
const OTHER = 'shengshitong';

async function until(check: () => boolean, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

forEachDialect('subjects service', (dctx) => {
  let ctx: ServiceContext;
  let subjects: SubjectService;
  beforeAll(async () => {
    ctx = await openTestContext(dctx.database);
    subjects = createSubjectService(ctx);
  });
  afterAll(async () => {
    await ctx.close();
  });

  it('creates subjects with sub_ + base32 ids, idempotent on (app, kind, externalId)', async () => {
    const a = await subjects.ensure(ctx.db, { appId: APP, kind: 'account', externalId: 'u-1' });
    expect(isSubjectId(a.id)).toBe(true);
    expect(a.id).toMatch(/^sub_[a-z2-7]{26}$/);
    expect(a).toMatchObject({ appId: APP, kind: 'account', externalId: 'u-1', status: 'active', linkedTo: null, birthDate: null });
    const again = await subjects.ensure(ctx.db, { appId: APP, kind: 'account', externalId: 'u-1' });
    expect(again.id).toBe(a.id);
    // Same external id, other kind or other app: other subjects.
    const dev = await subjects.ensure(ctx.db, { appId: APP, kind: 'device', externalId: 'u-1' });
    const other = await subjects.ensure(ctx.db, { appId: OTHER, kind: 'account', externalId: 'u-1' });
    expect(new Set([a.id, dev.id, other.id]).size).toBe(3);
    // No external id: always new.
    const n1 = await subjects.ensure(ctx.db, { appId: APP, kind: 'device' });
    const n2 = await subjects.ensure(ctx.db, { appId: APP, kind: 'device', externalId: null });
    expect(n1.id).not.toBe(n2.id);
    expect(await subjects.findByExternalId(ctx.db, APP, 'account', 'u-1')).toMatchObject({ id: a.id });
    expect(await subjects.findByExternalId(ctx.db, APP, 'account', 'nobody')).toBeUndefined();
    expect(await subjects.get(ctx.db, OTHER, a.id)).toBeUndefined();
    expect((await subjects.require(ctx.db, APP, a.id)).id).toBe(a.id);
  });

  it('ensure from several callers at once gives one subject', async () => {
    const all = await Promise.all(
      Array.from({ length: 8 }, () => subjects.ensure(ctx.db, { appId: APP, kind: 'account', externalId: 'race' })),
    );
    expect(new Set(all.map((s) => s.id)).size).toBe(1);
    const rows = await ctx.db.selectFrom('subjects').select('id').where('external_id', '=', 'race').execute();
    expect(rows).toHaveLength(1);
  });

  it('creations arriving together share one transaction: one audit append for all, each audited, the chain intact', async () => {
    const before = await countAuditEvents(ctx.db);
    const spy = spyAuditAppends(ctx.audit);
    const appends = spy.sizes;
    try {
      const made = await Promise.all([
        ...Array.from({ length: 6 }, () => subjects.ensure(ctx.db, { appId: APP, kind: 'device' })),
        // The same external id twice in one batch: both callers get the one subject.
        subjects.ensure(ctx.db, { appId: APP, kind: 'account', externalId: 'batch-twin' }),
        subjects.ensure(ctx.db, { appId: APP, kind: 'account', externalId: 'batch-twin' }),
        subjects.ensure(ctx.db, { appId: APP, kind: 'account', externalId: 'batch-born', birthDate: '2012-05-06' }),
      ]);
      expect(appends).toEqual([8]);
      expect(new Set(made.map((s) => s.id)).size).toBe(8);
      expect(made[6]?.id).toBe(made[7]?.id);
      expect(made[8]?.birthDate).toBe('2012-05-06');
      // Each caller's subject is stored, and the minors rule sees the birth date after the commit.
      for (const s of made) expect((await subjects.require(ctx.db, APP, s.id)).kind).toBe(s.kind);
      expect(ctx.consent.subject(APP, made[8]?.id as string)?.birthDate).toBe('2012-05-06');
    } finally {
      spy.restore();
    }
    expect(await countAuditEvents(ctx.db)).toBe(before + 8);
    const events = await ctx.db.selectFrom('audit_events').select(['action']).where('seq', '>', before).orderBy('seq').execute();
    expect(events.map((e) => e.action)).toEqual(Array(8).fill('subject.create'));
    expect((await ctx.audit.verify()).ok).toBe(true);
  });

  it('when a batch of creations fails, each runs again alone: nothing half-written, only the failing one refused', async () => {
    const before = await ctx.db.selectFrom('subjects').select('id').execute();
    const beforeEvents = await countAuditEvents(ctx.db);
    // The batch's append fails (the transaction rolls back), and so does the retry of the second ensure alone.
    const spy = spyAuditAppends(ctx.audit, (events, call) => call === 1 || events.some((e) => e.requestId === 'req-bad'));
    let results: PromiseSettledResult<unknown>[];
    try {
      results = await Promise.allSettled([
        subjects.ensure(ctx.db, { appId: APP, kind: 'account', externalId: 'retry-1' }, { requestId: 'req-ok-1' }),
        subjects.ensure(ctx.db, { appId: APP, kind: 'account', externalId: 'retry-2' }, { requestId: 'req-bad' }),
        subjects.ensure(ctx.db, { appId: APP, kind: 'account', externalId: 'retry-3' }, { requestId: 'req-ok-3' }),
      ]);
    } finally {
      spy.restore();
    }
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(spy.sizes).toEqual([3, 1, 1, 1]);
    const after = await ctx.db.selectFrom('subjects').select(['id', 'external_id']).execute();
    expect(after.length).toBe(before.length + 2);
    expect(after.map((r) => r.external_id)).not.toContain('retry-2');
    expect(await countAuditEvents(ctx.db)).toBe(beforeEvents + 2);
    expect((await ctx.audit.verify()).ok).toBe(true);
  });

  it('a failed read-back after a batch committed neither fails the sign-ups nor runs them again', async () => {
    const beforeSubjects = (await ctx.db.selectFrom('subjects').select('id').execute()).length;
    const beforeEvents = await countAuditEvents(ctx.db);
    const spy = spyAuditAppends(ctx.audit);
    // The projection refuses every update while the batch runs: the read-back after the commit fails.
    const refusing = refuseSubjectUpdates(ctx);
    let made: Awaited<ReturnType<SubjectService['ensure']>>[];
    try {
      made = await Promise.all(
        ['2001-02-03', '2002-03-04', '2003-04-05'].map((birthDate) => subjects.ensure(ctx.db, { appId: APP, kind: 'device', birthDate })),
      );
    } finally {
      refusing.restore();
      spy.restore();
    }
    // One append: the batch ran once, and every caller has its own new subject.
    expect(spy.sizes).toEqual([3]);
    expect(new Set(made.map((s) => s.id)).size).toBe(3);
    expect((await ctx.db.selectFrom('subjects').select('id').execute()).length).toBe(beforeSubjects + 3);
    expect(await countAuditEvents(ctx.db)).toBe(beforeEvents + 3);
    expect(subjectSyncState(ctx)?.lastError).toBe(refusing.error);
    expect((await ctx.audit.verify()).ok).toBe(true);
  });

  it('refuses bad input and writes nothing', async () => {
    const before = await ctx.db.selectFrom('subjects').select('id').execute();
    const audits = await countAuditEvents(ctx.db);
    await expectPipaError(subjects.ensure(ctx.db, { appId: 'no-such-app', kind: 'account', externalId: 'x' }), 'unknown_app', 'app');
    await expectPipaError(
      subjects.ensure(ctx.db, { appId: APP, kind: 'robot' as 'account', externalId: 'x' }),
      'validation_failed',
      'kind',
    );
    await expectPipaError(subjects.ensure(ctx.db, { appId: APP, kind: 'account', externalId: '' }), 'validation_failed', 'externalId');
    await expectPipaError(
      subjects.ensure(ctx.db, { appId: APP, kind: 'account', externalId: 'x'.repeat(257) }),
      'validation_failed',
      'externalId',
    );
    const bad = await expectPipaError(
      subjects.ensure(ctx.db, { appId: APP, kind: 'account', externalId: 'x', birthDate: '2010-02-30' }),
      'validation_failed',
      'birthDate',
    );
    expect(bad.message).not.toContain('2010-02-30');
    await expectPipaError(
      subjects.ensure(ctx.db, { appId: APP, kind: 'account', externalId: 'x', birthDate: '2999-01-01' }),
      'validation_failed',
      'birthDate',
    );
    await expectPipaError(subjects.require(ctx.db, APP, 'sub_doesnotexistatall'), 'unknown_subject', 'subject');
    await expectPipaError(subjects.require(ctx.db, APP, 'not-an-id'), 'unknown_subject');
    await expectPipaError(subjects.setStatus(ctx.db, APP, 'sub_doesnotexistatall', 'frozen'), 'unknown_subject');
    expect(await ctx.db.selectFrom('subjects').select('id').execute()).toHaveLength(before.length);
    expect(await countAuditEvents(ctx.db)).toBe(audits);
  });

  it('status changes are audited, reach the projection, and erasure is final', async () => {
    const s = await subjects.ensure(ctx.db, { appId: APP, kind: 'account', externalId: 'status-1', birthDate: '2012-05-10' });
    expect(ctx.consent.subject(APP, s.id)).toMatchObject({ status: 'active', birthDate: '2012-05-10' });
    const audits = await countAuditEvents(ctx.db);
    await subjects.setStatus(ctx.db, APP, s.id, 'frozen', { actor: 'key_test', requestId: 'req_12345678' });
    expect(ctx.consent.subject(APP, s.id)?.status).toBe('frozen');
    const frozen = await subjects.require(ctx.db, APP, s.id);
    expect(frozen.status).toBe('frozen');
    expect(frozen.frozenAt).not.toBeNull();
    const events = await ctx.audit.events({ after: audits });
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      actor: 'key_test',
      action: 'subject.status',
      appId: APP,
      requestId: 'req_12345678',
      details: { from: 'active', to: 'frozen' },
    });
    expect(events[0]?.subjectPseudonym).toBe(ctx.pseudonyms.audit(s.id));
    // Same status: nothing written.
    await subjects.setStatus(ctx.db, APP, s.id, 'frozen');
    expect(await countAuditEvents(ctx.db)).toBe(audits + 1);
    await subjects.setStatus(ctx.db, APP, s.id, 'active');
    expect(ctx.consent.subject(APP, s.id)?.status).toBe('active');
    expect((await subjects.require(ctx.db, APP, s.id)).frozenAt).toBeNull();
    await subjects.setStatus(ctx.db, APP, s.id, 'erased');
    const erased = await subjects.require(ctx.db, APP, s.id);
    expect(erased).toMatchObject({ status: 'erased', externalId: null, birthDate: null });
    expect(erased.erasedAt).not.toBeNull();
    expect(ctx.consent.subject(APP, s.id)?.status).toBe('erased');
    await expectPipaError(subjects.setStatus(ctx.db, APP, s.id, 'active'), 'conflict', 'status');
    await expectPipaError(subjects.setBirthDate(ctx.db, APP, s.id, '2000-01-01'), 'conflict');
    // The same account registering again is a new subject.
    const again = await subjects.ensure(ctx.db, { appId: APP, kind: 'account', externalId: 'status-1' });
    expect(again.id).not.toBe(s.id);
    expect(again.status).toBe('active');
    await expectPipaError(subjects.setStatus(ctx.db, APP, again.id, 'gone' as 'active'), 'validation_failed', 'status');
  });

  it('birth date changes are audited without the value and reach the projection', async () => {
    const s = await subjects.ensure(ctx.db, { appId: APP, kind: 'account', externalId: 'birth-1' });
    const audits = await countAuditEvents(ctx.db);
    await subjects.setBirthDate(ctx.db, APP, s.id, '2015-03-01');
    expect(ctx.consent.subject(APP, s.id)?.birthDate).toBe('2015-03-01');
    const [event] = await ctx.audit.events({ after: audits });
    expect(event).toMatchObject({ action: 'subject.update', categories: ['basic.birth-date'], details: { fields: ['birthDate'] } });
    // The value in any form (a bare '2015' would also match a hash or a timestamp by chance: 1 run in ~500 failed).
    for (const form of ['2015-03-01', '2015-3-1', '20150301', '2015/03/01']) expect(JSON.stringify(event)).not.toContain(form);
    // ensure with a new birth date updates it.
    await subjects.ensure(ctx.db, { appId: APP, kind: 'account', externalId: 'birth-1', birthDate: '2014-03-01' });
    expect((await subjects.require(ctx.db, APP, s.id)).birthDate).toBe('2014-03-01');
    expect(ctx.consent.subject(APP, s.id)?.birthDate).toBe('2014-03-01');
  });

  it('links a device to its account: history moves, audited, the projection resolves the device', async () => {
    const dev = await subjects.ensure(ctx.db, { appId: APP, kind: 'device', externalId: 'oaid-1' });
    const acc = await subjects.ensure(ctx.db, { appId: APP, kind: 'account', externalId: 'acc-link' });
    const acc2 = await subjects.ensure(ctx.db, { appId: APP, kind: 'account', externalId: 'acc-link-2' });
    const audits = await countAuditEvents(ctx.db);
    await subjects.link(ctx.db, APP, dev.id, acc.id, { actor: 'key_l' });
    expect((await subjects.require(ctx.db, APP, dev.id)).linkedTo).toBe(acc.id);
    expect(ctx.consent.subject(APP, dev.id)?.id).toBe(acc.id);
    expect(ctx.consent.subject(APP, acc.id)?.devices).toContain(dev.id);
    const [event] = await ctx.audit.events({ after: audits });
    expect(event).toMatchObject({ action: 'subject.link', actor: 'key_l', details: { device: ctx.pseudonyms.audit(dev.id) } });
    // Idempotent.
    await subjects.link(ctx.db, APP, dev.id, acc.id);
    expect(await countAuditEvents(ctx.db)).toBe(audits + 1);
    // The account's status applies to the device.
    await subjects.setStatus(ctx.db, APP, acc.id, 'frozen');
    expect(ctx.consent.subject(APP, dev.id)?.status).toBe('frozen');
    await subjects.setStatus(ctx.db, APP, acc.id, 'active');
    // Bad links.
    await expectPipaError(subjects.link(ctx.db, APP, dev.id, acc2.id), 'conflict', 'device');
    await expectPipaError(subjects.link(ctx.db, APP, acc.id, acc2.id), 'validation_failed', 'device');
    const dev2 = await subjects.ensure(ctx.db, { appId: APP, kind: 'device', externalId: 'oaid-2' });
    await expectPipaError(subjects.link(ctx.db, APP, dev2.id, dev.id), 'validation_failed', 'account');
    await expectPipaError(subjects.link(ctx.db, APP, dev2.id, 'sub_nosuchaccount'), 'unknown_subject', 'account');
    const foreign = await subjects.ensure(ctx.db, { appId: OTHER, kind: 'account', externalId: 'acc-other-app' });
    await expectPipaError(subjects.link(ctx.db, APP, dev2.id, foreign.id), 'unknown_subject', 'account');
    expect(await countAuditEvents(ctx.db)).toBe(audits + 5);
  });

  it('inside a caller transaction: the projection follows after commit, never after a rollback', async () => {
    const s = await subjects.ensure(ctx.db, { appId: APP, kind: 'account', externalId: 'trx-1' });
    const audits = await countAuditEvents(ctx.db);
    await withTransaction(ctx.db, async (trx) => {
      await subjects.setStatus(trx, APP, s.id, 'frozen');
      expect(ctx.consent.subject(APP, s.id)?.status ?? 'active').toBe('active');
    });
    await until(() => ctx.consent.subject(APP, s.id)?.status === 'frozen');
    await expect(
      withTransaction(ctx.db, async (trx) => {
        await subjects.setStatus(trx, APP, s.id, 'erased');
        throw new Error('abort');
      }),
    ).rejects.toThrow('abort');
    await new Promise((r) => setTimeout(r, 100));
    expect(ctx.consent.subject(APP, s.id)?.status).toBe('frozen');
    expect((await subjects.require(ctx.db, APP, s.id)).status).toBe('frozen');
    expect(await countAuditEvents(ctx.db)).toBe(audits + 1);
  });

  it('a second node on the same database sees status changes (notification)', async () => {
    const other = await dctx.connect();
    const ctx2 = await openTestContext(other, { examples: [] });
    try {
      await ensureSubjectSync(ctx2);
      const s = await subjects.ensure(ctx.db, { appId: APP, kind: 'account', externalId: 'node-1' });
      await subjects.setStatus(ctx.db, APP, s.id, 'frozen');
      // PostgreSQL: through LISTEN/NOTIFY. SQLite has one node per database file: no delivery across processes.
      if (dctx.caps.listenNotify) await until(() => ctx2.consent.subject(APP, s.id)?.status === 'frozen');
      else expect(ctx2.consent.subject(APP, s.id)).toBeUndefined();
    } finally {
      await ctx2.close();
    }
  });
});

it('subject ids begin with their creation time (48 bits, the first 9 characters) and end with 80 random bits', () => {
  const next = createSubjectIdGenerator();
  const a = next(1_764_000_000_000);
  const b = next(1_764_000_000_000);
  const later = next(1_764_000_000_000 + 2 ** 40);
  for (const id of [a, b, later]) expect(isSubjectId(id) && id.length === 30).toBe(true);
  // Same millisecond: same time prefix, different random part.
  expect(a.slice(0, 13)).toBe(b.slice(0, 13));
  expect(a.slice(13)).not.toBe(b.slice(13));
  // Another time: another prefix.
  expect(later.slice(0, 13)).not.toBe(a.slice(0, 13));
  expect(isSubjectId(newSubjectId())).toBe(true);
});

it('subject ids of one process sort in the order they were made: within a millisecond, across milliseconds, and when the clock steps back', () => {
  const next = createSubjectIdGenerator();
  const ids: string[] = [];
  // Times that cross base32 digit boundaries (RFC 4648 order would sort '2'..'7' after 'z').
  for (const t of [1_764_000_000_000, 1_764_000_000_000, 1_764_000_000_001, 1_764_000_000_031, 1_764_000_000_032, 1_764_000_000_000]) {
    for (let k = 0; k < 300; k++) ids.push(next(t));
  }
  const sorted = [...ids].sort();
  expect(sorted).toEqual(ids);
  expect(new Set(ids).size).toBe(ids.length);
  for (const id of ids) expect(isSubjectId(id)).toBe(true);
});

it('a subject id whose random part would overflow moves to the next millisecond with a fresh random part', () => {
  // A random source of all ones: the first id's random part is 2^80 - 1, so the next step overflows.
  const ones = (n: number) => Buffer.alloc(n, 0xff);
  const next = createSubjectIdGenerator(ones);
  const fresh = (t: number) => createSubjectIdGenerator(ones)(t);
  const t = 1_764_000_000_000;
  const a = next(t);
  expect(a).toBe(fresh(t));
  const b = next(t);
  expect(b).toBe(fresh(t + 1));
  expect(b > a).toBe(true);
  // The same once more from the new millisecond (the clock still says t): still increasing.
  const c = next(t);
  expect(c).toBe(fresh(t + 2));
  expect(c > b).toBe(true);
});
