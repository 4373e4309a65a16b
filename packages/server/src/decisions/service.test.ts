import { afterAll, beforeAll, expect, it } from 'vitest';
import { countAuditEvents } from '../audit/audit-log.js';
import { decide as engineDecide } from '../consent/decide.js';
import { type ConsentLedger, createConsentLedger } from '../consent/ledger.js';
import { loadConsentProjection } from '../consent/ledger-sync.js';
import { PipaError } from '../errors.js';
import type { ServiceContext } from '../service/context.js';
import { openTestContext } from '../service/test-context.js';
import { forEachDialect } from '../store/test-dialects.js';
import { createSubjectService } from '../subjects/index.js';
import { createDecisionsService, type DecisionsService } from './service.js';

const XPP = 'xiaopiaopiao-merchant';
const PUSH = { purpose: 'push-notifications', categories: ['device.model'], recipient: 'getui' };

async function setUp(ctx: ServiceContext): Promise<{ ledger: ConsentLedger; granted: string; none: string }> {
  const subjects = createSubjectService(ctx);
  const ledger = createConsentLedger(ctx, { subjects });
  await loadConsentProjection(ctx);
  const a = await subjects.ensure(ctx.db, { appId: XPP, kind: 'account', externalId: 'granted' });
  const b = await subjects.ensure(ctx.db, { appId: XPP, kind: 'account', externalId: 'none' });
  await ledger.record(XPP, {
    subject: a.id,
    action: 'grant',
    consents: [{ purpose: 'push-notifications' }, { purpose: 'push-notifications', recipient: 'getui' }],
    separate: true,
    method: 'user',
    policyVersion: ctx.policies.require(XPP).version,
  });
  return { ledger, granted: a.id, none: b.id };
}

forEachDialect('decisions service', (dctx) => {
  const contexts: ServiceContext[] = [];
  const open = async (options: Parameters<typeof openTestContext>[1] = {}) => {
    const ctx = await openTestContext(await dctx.fresh(), options);
    contexts.push(ctx);
    return ctx;
  };
  afterAll(async () => {
    for (const c of contexts) await c.close();
  });

  it("answers with the engine's decision, unchanged, and audits every decision in mode all", async () => {
    const ctx = await open({ auditDecisions: 'all' });
    const { granted, none } = await setUp(ctx);
    const svc = createDecisionsService(ctx);
    expect(svc.mode).toBe('all');
    const before = await countAuditEvents(ctx.db);
    const allow = await svc.decide(XPP, { subject: granted, ...PUSH }, { actor: 'key_dec', requestId: 'req_decision1' });
    expect(allow).toBe(engineDecide(ctx.policies.require(XPP).compiled, ctx.consent, { subject: granted, ...PUSH }, ctx.clock()));
    expect(allow).toMatchObject({ allow: true, reason: { code: 'consent.granted' } });
    expect(allow.clause.length).toBeGreaterThan(0);
    const deny = await svc.decide(XPP, { subject: none, ...PUSH }, { actor: 'key_dec' });
    expect(deny).toMatchObject({ allow: false, reason: { code: 'consent.missing' }, needs: 'separate-consent' });
    const events = await ctx.audit.events({ after: before });
    expect(events).toHaveLength(2);
    expect(events[0]).toMatchObject({
      actor: 'key_dec',
      action: 'decision',
      appId: XPP,
      purpose: 'push-notifications',
      categories: ['device.model'],
      outcome: 'ok',
      requestId: 'req_decision1',
      subjectPseudonym: ctx.pseudonyms.audit(granted),
      details: { reason: 'consent.granted', recipient: 'getui', clause: [...allow.clause] },
    });
    expect(events[1]).toMatchObject({ outcome: 'denied', details: { reason: 'consent.missing', needs: 'separate-consent' } });
    expect(JSON.stringify(events)).not.toContain(granted);
  });

  it('mode denied: only denials are audited; batches too', async () => {
    const ctx = await open({ auditDecisions: 'denied' });
    const { granted, none } = await setUp(ctx);
    const svc = createDecisionsService(ctx);
    const before = await countAuditEvents(ctx.db);
    expect((await svc.decide(XPP, { subject: granted, ...PUSH })).allow).toBe(true);
    expect(await countAuditEvents(ctx.db)).toBe(before);
    const batch = await svc.decideBatch(XPP, [
      { subject: granted, ...PUSH },
      { subject: none, ...PUSH },
      { subject: granted, purpose: 'mind-reading', categories: [] },
      { subject: granted, purpose: 'push-notifications', categories: ['device.model'], recipient: 'nsa' },
    ]);
    expect(batch.map((d) => d.reason.code)).toEqual(['consent.granted', 'consent.missing', 'purpose.undeclared', 'recipient.undeclared']);
    expect(batch[2]?.clause).toEqual(['$.purposes']);
    const events = await ctx.audit.events({ after: before });
    expect(events.map((e) => e.details)).toMatchObject([
      { reason: 'consent.missing' },
      { reason: 'purpose.undeclared' },
      { reason: 'recipient.undeclared' },
    ]);
    expect(events.every((e) => e.outcome === 'denied')).toBe(true);
  });

  it('mode counted: aggregates per minute per (app, purpose, outcome) as decision.aggregate events', async () => {
    let now = Date.UTC(2025, 0, 1, 4, 0, 10);
    const ctx = await open({ auditDecisions: 'counted', clock: () => now });
    const { granted, none } = await setUp(ctx);
    const svc = createDecisionsService(ctx, { flushIntervalMs: 10 });
    const before = await countAuditEvents(ctx.db);
    for (let i = 0; i < 5; i++) await svc.decide(XPP, { subject: granted, ...PUSH }, { actor: 'key_a' });
    for (let i = 0; i < 3; i++) await svc.decide(XPP, { subject: none, ...PUSH }, { actor: 'key_b' });
    await svc.decideBatch(XPP, [
      { subject: none, purpose: 'made-up-1', categories: [] },
      { subject: none, purpose: 'made-up-2', categories: ['x'] },
    ]);
    // Nothing per decision.
    expect(await countAuditEvents(ctx.db)).toBe(before);
    // The window ends: the timer writes it.
    now += 60_000;
    await new Promise((r) => setTimeout(r, 60));
    await ctx.auditBatcher.flush();
    const events = await ctx.audit.events({ after: before });
    expect(events).toHaveLength(3);
    const by = (purpose: string | null, outcome: string) => events.find((e) => e.purpose === purpose && e.outcome === outcome);
    const from = Date.UTC(2025, 0, 1, 4, 0, 0);
    expect(by('push-notifications', 'ok')).toMatchObject({
      action: 'decision.aggregate',
      actor: 'key_a',
      appId: XPP,
      count: 5,
      categories: ['device.model'],
      subjectPseudonym: null,
      details: { window: { from, to: from + 60_000 }, reasons: { 'consent.granted': 5 }, actors: { key_a: 5 } },
    });
    expect(by('push-notifications', 'denied')).toMatchObject({ count: 3, actor: 'key_b', details: { reasons: { 'consent.missing': 3 } } });
    expect(by(null, 'denied')).toMatchObject({
      count: 2,
      actor: 'system',
      categories: [],
      details: { reasons: { 'purpose.undeclared': 2 } },
    });
    // The current window is written at close (or by flushCounts).
    await svc.decide(XPP, { subject: granted, ...PUSH }, { actor: 'key_a' });
    await svc.decide(XPP, { subject: granted, ...PUSH }, { actor: 'key_c' });
    await svc.flushCounts();
    await ctx.auditBatcher.flush();
    const last = (await ctx.audit.events({ after: before })).slice(3);
    expect(last).toMatchObject([{ count: 2, actor: 'several', details: { actors: { key_a: 1, key_c: 1 } } }]);
  });

  it('refuses an unknown app and an oversized batch; fails closed when the audit cannot be written', async () => {
    const ctx = await open({ auditDecisions: 'all' });
    const { granted } = await setUp(ctx);
    const svc = createDecisionsService(ctx);
    await expect(svc.decide('no-such-app', { subject: granted, ...PUSH })).rejects.toMatchObject({ code: 'unknown_app' });
    const big = Array.from({ length: 1001 }, () => ({ subject: granted, ...PUSH }));
    await expect(svc.decideBatch(XPP, big)).rejects.toMatchObject({ code: 'validation_failed' });
    await expect(svc.decideBatch(XPP, big.slice(1))).resolves.toHaveLength(1000);
    await ctx.auditBatcher.close();
    const err = await svc.decide(XPP, { subject: granted, ...PUSH }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect(err).not.toBeInstanceOf(PipaError);
  });
});

forEachDialect('decisions service without I/O', (dctx) => {
  let ctx: ServiceContext;
  let svc: DecisionsService;
  let granted: string;
  beforeAll(async () => {
    ctx = await openTestContext(dctx.database, { auditDecisions: 'denied' });
    ({ granted } = await setUp(ctx));
    svc = createDecisionsService(ctx);
  });
  afterAll(async () => {
    await ctx.close();
  });
  it('decides allows without touching the database', async () => {
    const original = ctx.db.selectFrom.bind(ctx.db);
    let reads = 0;
    (ctx.db as { selectFrom: unknown }).selectFrom = (...args: Parameters<typeof original>) => {
      reads++;
      return original(...args);
    };
    try {
      for (let i = 0; i < 100; i++) expect((await svc.decide(XPP, { subject: granted, ...PUSH })).allow).toBe(true);
      await svc.decideBatch(
        XPP,
        Array.from({ length: 100 }, () => ({ subject: granted, ...PUSH })),
      );
    } finally {
      (ctx.db as { selectFrom: unknown }).selectFrom = original;
    }
    expect(reads).toBe(0);
  });
});
