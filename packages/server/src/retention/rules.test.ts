import { describe, expect, it } from 'vitest';
import { addRetentionPeriod, compileRetention, evaluateField, type SubjectFacts } from './rules.js';
import { RET_APP, retentionDeclaration } from './test-fixtures.js';

const DAY = 86_400_000;
const T = Date.UTC(2025, 0, 31, 10, 30);

describe('addRetentionPeriod', () => {
  it('adds calendar years, months, weeks and days in UTC, keeping the time of day', () => {
    const iso = (t: number) => new Date(t).toISOString();
    expect(iso(addRetentionPeriod(T, 'P1M'))).toBe('2025-02-28T10:30:00.000Z');
    expect(iso(addRetentionPeriod(Date.UTC(2024, 0, 31, 10, 30), 'P1M'))).toBe('2024-02-29T10:30:00.000Z');
    expect(iso(addRetentionPeriod(Date.UTC(2024, 1, 29), 'P1Y'))).toBe('2025-02-28T00:00:00.000Z');
    expect(iso(addRetentionPeriod(T, 'P3Y'))).toBe('2028-01-31T10:30:00.000Z');
    expect(iso(addRetentionPeriod(T, 'P11M'))).toBe('2025-12-31T10:30:00.000Z');
    expect(iso(addRetentionPeriod(T, 'P13M'))).toBe('2026-02-28T10:30:00.000Z');
    expect(iso(addRetentionPeriod(T, 'P2W'))).toBe('2025-02-14T10:30:00.000Z');
    expect(iso(addRetentionPeriod(T, 'P1Y6M10D'))).toBe('2026-08-10T10:30:00.000Z');
    expect(iso(addRetentionPeriod(T, 'P0D'))).toBe(iso(T));
  });
  it('refuses what is not a duration of years, months, weeks and days', () => {
    for (const bad of ['P', '3Y', 'PT1H', 'P1.5Y', '', 'P-1D']) expect(() => addRetentionPeriod(T, bad)).toThrow(RangeError);
  });
});

describe('evaluateField', () => {
  const model = compileRetention(RET_APP, '1', retentionDeclaration());
  const active = (consents: [string, 'grant' | 'withdraw' | 'deny', number][] = [], lastActiveAt = T): SubjectFacts => ({
    status: 'active',
    cancelledAt: null,
    consents: new Map(consents.map(([p, action, at]) => [p, { action, at }])),
    lastActiveAt,
  });
  const frozen = (at: number, consents: [string, 'grant' | 'withdraw' | 'deny', number][] = []): SubjectFacts => ({
    ...active(consents),
    status: 'frozen',
    cancelledAt: at,
  });

  it('keeps a contract category without a rule for ever, and names the purpose', () => {
    const m = compileRetention(
      RET_APP,
      '1',
      retentionDeclaration((d) => {
        const account = d.purposes[0];
        if (account !== undefined) delete account.retention;
      }),
    );
    expect(evaluateField(m, { category: 'basic.name', collectedAt: T }, active(), T + 10_000 * DAY, 0)).toEqual({
      keep: true,
      purpose: 'account',
      until: null,
    });
  });

  it('a grant after a withdrawal covers again', () => {
    const v = evaluateField(
      model,
      { category: 'basic.gender', collectedAt: T },
      active([['survey', 'grant', T + 2 * DAY]]),
      T + 3 * DAY,
      0,
    );
    expect(v).toEqual({ keep: true, purpose: 'survey', until: null });
  });

  it('a withdrawal ends the purpose at once without a consent rule, after the period with one', () => {
    const gone = evaluateField(model, { category: 'basic.gender', collectedAt: T }, active([['survey', 'withdraw', T + DAY]]), T + DAY, 0);
    expect(gone).toMatchObject({ keep: false, reason: 'consent-withdrawn', endedAt: T + DAY });
    const email = (now: number) =>
      evaluateField(model, { category: 'contact.email', collectedAt: T }, active([['marketing', 'withdraw', T + DAY]]), now, 0);
    expect(email(T + 7 * DAY)).toEqual({ keep: true, purpose: 'marketing', until: T + 8 * DAY });
    expect(email(T + 8 * DAY)).toMatchObject({
      keep: false,
      reason: 'retention-ended',
      rule: '$.purposes[1].retention[0]',
      action: 'delete',
    });
    // A refusal starts the consent rule's period the same way.
    const denied = evaluateField(model, { category: 'contact.email', collectedAt: T }, active([['marketing', 'deny', T]]), T + DAY, 0);
    expect(denied).toEqual({ keep: true, purpose: 'marketing', until: T + 7 * DAY });
  });

  it('the longest coverage decides; a contract covers a category after its consent purpose ended', () => {
    const phone = evaluateField(
      model,
      { category: 'contact.phone', collectedAt: T },
      active([['marketing', 'withdraw', T + DAY]]),
      T + 100 * DAY,
      0,
    );
    expect(phone).toEqual({ keep: true, purpose: 'account', until: null });
    const cancelled = frozen(T + 50 * DAY, [['marketing', 'grant', T]]);
    // Both purposes end: marketing never (granted) — so marketing keeps it.
    expect(evaluateField(model, { category: 'contact.phone', collectedAt: T }, cancelled, T + 100 * DAY, 0)).toEqual({
      keep: true,
      purpose: 'marketing',
      until: null,
    });
    const both = frozen(T + 50 * DAY, [['marketing', 'withdraw', T + 60 * DAY]]);
    // marketing ends at its withdrawal (T+60), account 30 days after cancellation (T+80): account governs.
    expect(evaluateField(model, { category: 'contact.phone', collectedAt: T }, both, T + 79 * DAY, 0)).toEqual({
      keep: true,
      purpose: 'account',
      until: T + 80 * DAY,
    });
    expect(evaluateField(model, { category: 'contact.phone', collectedAt: T }, both, T + 80 * DAY, 0)).toEqual({
      keep: false,
      purpose: 'account',
      action: 'delete',
      reason: 'retention-ended',
      rule: '$.purposes[0].retention[0]',
      endedAt: T + 80 * DAY,
    });
  });

  it('maps contract-end, service-end and purpose-fulfilled to the cancellation (and the withdrawal), and the earliest rule wins', () => {
    const m = compileRetention(
      RET_APP,
      '1',
      retentionDeclaration((d) => {
        const [account, marketing] = d.purposes;
        if (account === undefined || marketing === undefined) throw new Error('fixture');
        account.retention = [
          { trigger: 'contract-end', period: 'P10D', action: 'delete' },
          { trigger: 'service-end', period: 'P5D', action: 'anonymise' },
          { trigger: 'collection', period: 'P1Y', action: 'delete' },
        ];
        marketing.retention = [{ trigger: 'purpose-fulfilled', period: 'P2D', action: 'anonymise' }];
      }),
    );
    const name = (s: SubjectFacts, now: number) => evaluateField(m, { category: 'basic.name', collectedAt: T }, s, now, 0);
    expect(name(active(), T + 364 * DAY)).toMatchObject({ keep: true, until: addRetentionPeriod(T, 'P1Y') });
    expect(name(active(), T + 366 * DAY)).toMatchObject({ keep: false, action: 'delete', rule: '$.purposes[0].retention[2]' });
    expect(name(frozen(T + DAY), T + 6 * DAY)).toMatchObject({
      keep: false,
      action: 'anonymise',
      rule: '$.purposes[0].retention[1]',
      endedAt: T + 6 * DAY,
    });
    const email = (s: SubjectFacts, now: number) => evaluateField(m, { category: 'contact.email', collectedAt: T }, s, now, 0);
    expect(email(active([['marketing', 'grant', T]]), T + 999 * DAY)).toMatchObject({ keep: true, until: null });
    expect(email(frozen(T + 10 * DAY, [['marketing', 'grant', T]]), T + 11 * DAY)).toMatchObject({ keep: true, until: T + 12 * DAY });
    expect(email(frozen(T + 10 * DAY, [['marketing', 'withdraw', T + 4 * DAY]]), T + 6 * DAY)).toMatchObject({
      keep: false,
      action: 'anonymise',
      reason: 'retention-ended',
      endedAt: T + 6 * DAY,
    });
  });

  it('a consent never given ends the grace period after the write; an erased subject keeps nothing; an unused category goes', () => {
    expect(evaluateField(model, { category: 'device.id.oaid', collectedAt: T }, active(), T + DAY - 1, DAY)).toMatchObject({ keep: true });
    expect(evaluateField(model, { category: 'device.id.oaid', collectedAt: T }, active(), T + DAY, DAY)).toMatchObject({
      keep: false,
      reason: 'consent-missing',
    });
    expect(
      evaluateField(model, { category: 'basic.name', collectedAt: T }, { ...active(), status: 'erased', cancelledAt: T }, T, 0),
    ).toMatchObject({
      keep: false,
      reason: 'subject-erased',
      purpose: null,
    });
    expect(evaluateField(model, { category: 'custom.gone', collectedAt: T }, active(), T, 0)).toMatchObject({
      keep: false,
      reason: 'no-purpose',
    });
  });

  it('a legal-duty purpose with a consent rule never ends by it (listed as unevaluated)', () => {
    expect(model.unevaluated.map((u) => [u.purpose, u.trigger])).toEqual([['invoicing', 'consent-withdrawn']]);
    expect(evaluateField(model, { category: 'contact.address', collectedAt: T }, active(), T + 9999 * DAY, 0)).toEqual({
      keep: true,
      purpose: 'invoicing',
      until: null,
    });
  });

  it('a last-activity rule ends the period after the person’s last activity, whatever the basis and the collection time', () => {
    const history = (s: SubjectFacts, now: number, collectedAt = T) =>
      evaluateField(model, { category: 'online.browsing-history', collectedAt }, s, now, 0);
    const lastActive = T + 40 * DAY;
    const end = addRetentionPeriod(lastActive, 'P1Y');
    expect(history(active([], lastActive), end - 1)).toEqual({ keep: true, purpose: 'history', until: end });
    expect(history(active([], lastActive), end)).toEqual({
      keep: false,
      purpose: 'history',
      action: 'delete',
      reason: 'retention-ended',
      rule: '$.purposes[4].retention[0]',
      endedAt: end,
    });
    // A value collected after the last activity still goes with it: the rule counts from the activity.
    expect(history(active([], lastActive), end, end - DAY)).toMatchObject({ keep: false, endedAt: end });
    // A later activity moves the end.
    expect(history(active([], end - DAY), end)).toEqual({ keep: true, purpose: 'history', until: addRetentionPeriod(end - DAY, 'P1Y') });
    // A frozen account is judged the same way (its contract purpose has no other end here).
    expect(history({ ...active([], lastActive), status: 'frozen', cancelledAt: T + 50 * DAY }, end)).toMatchObject({
      keep: false,
      reason: 'retention-ended',
    });
    // Anonymise is the rule's action; the earliest of several rules wins.
    const m = compileRetention(
      RET_APP,
      '1',
      retentionDeclaration((d) => {
        const h = d.purposes[4];
        if (h === undefined) throw new Error('fixture');
        h.retention = [
          { trigger: 'last-activity', period: 'P6M', action: 'anonymise' },
          { trigger: 'collection', period: 'P2Y', action: 'delete' },
        ];
      }),
    );
    expect(m.unevaluated.map((u) => u.trigger)).toEqual(['consent-withdrawn']);
    expect(
      evaluateField(
        m,
        { category: 'online.browsing-history', collectedAt: T },
        active([], lastActive),
        addRetentionPeriod(lastActive, 'P6M'),
        0,
      ),
    ).toMatchObject({ keep: false, action: 'anonymise', rule: '$.purposes[4].retention[0]' });
    expect(
      evaluateField(m, { category: 'online.browsing-history', collectedAt: T }, active([], T + 999 * DAY), addRetentionPeriod(T, 'P2Y'), 0),
    ).toMatchObject({ keep: false, action: 'delete', rule: '$.purposes[4].retention[1]' });
  });
});
