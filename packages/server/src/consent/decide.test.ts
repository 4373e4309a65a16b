import type { DeclarationInput } from '@pipa/policy';
import { describe, expect, it } from 'vitest';
import { type CompilePolicyOptions, compilePolicy } from './compile.js';
import { decide, decideBatch } from './decide.js';
import { createConsentProjection } from './projection.js';
import { APP, DAY, demoDeclaration, ev, NOW } from './test-fixtures.js';
import type { ConsentEvent, DecisionRequest } from './types.js';

const V1: CompilePolicyOptions = { version: '1', materialVersion: '1' };

function setup(events: ConsentEvent[] = [], options: CompilePolicyOptions = V1, decl = demoDeclaration()) {
  const compiled = compilePolicy(decl, options);
  const projection = createConsentProjection();
  projection.applyAll(events);
  const ask = (subject: string, purpose: string, categories: string[], recipient?: string, now = NOW) =>
    decide(compiled, projection, { subject, purpose, categories, ...(recipient !== undefined ? { recipient } : {}) }, now);
  return { compiled, projection, ask };
}

/** A date of birth that makes the person `years` old (周岁) on NOW's date plus `days`. */
function bornYearsAgo(years: number, days = 0): string {
  const d = new Date(NOW + 8 * 3_600_000 - days * DAY);
  return `${d.getUTCFullYear() - years}-${String(d.getUTCMonth() + 1).padStart(2, '0')}-${String(d.getUTCDate()).padStart(2, '0')}`;
}

describe('declared purpose, categories and recipient', () => {
  it('denies an undeclared purpose, pointing at $.purposes', () => {
    const { ask } = setup([ev('sub_a', 'advertising')]);
    const d = ask('sub_a', 'advertising', ['contact.phone']);
    expect(d.allow).toBe(false);
    expect(d.reason.code).toBe('purpose.undeclared');
    expect(d.clause).toEqual(['$.purposes']);
    expect(d.reason.zh).toMatch(/未在隐私政策声明中列明/);
    expect(d.reason.en).toMatch(/not declared/);
  });

  it('denies a category the purpose does not declare, naming the category', () => {
    const { ask } = setup([ev('sub_a', 'payment', { separate: true })]);
    const d = ask('sub_a', 'payment', ['contact.phone', 'basic.name']);
    expect(d).toMatchObject({ allow: false, reason: { code: 'category.undeclared-for-purpose' }, category: 'basic.name' });
    expect(d.clause).toEqual(['$.purposes[1].categories']);
    expect(d.reason.zh).toContain('basic.name');
    expect(d.reason.en).toContain('basic.name');
    const unknown = ask('sub_a', 'payment', ['biometric.face']);
    expect(unknown).toMatchObject({ reason: { code: 'category.undeclared-for-purpose' }, category: 'biometric.face' });
    expect(unknown.reason.en).toContain('does not list at all');
    // The same as allowed with declared categories.
    expect(ask('sub_a', 'payment', ['contact.phone', 'finance.payment']).allow).toBe(true);
  });

  it('denies an undeclared recipient', () => {
    const { ask } = setup([ev('sub_a', 'marketing')]);
    const d = ask('sub_a', 'marketing', ['contact.phone'], 'data-broker');
    expect(d).toMatchObject({ allow: false, reason: { code: 'recipient.undeclared' }, clause: ['$.recipients'] });
  });

  it('denies a recipient not declared for the purpose', () => {
    const { ask } = setup([ev('sub_a', 'payment', { separate: true })]);
    const d = ask('sub_a', 'payment', ['finance.payment'], 'push-sdk');
    expect(d).toMatchObject({ allow: false, reason: { code: 'recipient.purpose-not-declared' }, clause: ['$.recipients[0].purposes'] });
  });

  it('denies a category not declared for the recipient, naming it', () => {
    const { ask } = setup([ev('sub_a', 'marketing')]);
    // cloud-host receives marketing data, but not the OAID.
    const d = ask('sub_a', 'marketing', ['contact.phone', 'device.id.oaid'], 'cloud-host');
    expect(d).toMatchObject({ allow: false, reason: { code: 'recipient.category-not-declared' }, category: 'device.id.oaid' });
    expect(d.clause).toEqual(['$.recipients[1].categories']);
    expect(ask('sub_a', 'marketing', ['contact.phone'], 'cloud-host').allow).toBe(true);
  });

  it('checks the purpose categories before the recipient', () => {
    const { ask } = setup();
    expect(ask('sub_a', 'marketing', ['basic.name'], 'nobody').reason.code).toBe('category.undeclared-for-purpose');
    expect(ask('sub_a', 'marketing', ['contact.phone'], 'nobody').reason.code).toBe('recipient.undeclared');
  });
});

describe('subject status', () => {
  it('denies a frozen subject at once, whatever the basis, and allows again when active', () => {
    const { ask, projection } = setup([ev('sub_a', 'marketing')]);
    expect(ask('sub_a', 'marketing', ['contact.phone']).allow).toBe(true);
    projection.setSubject(APP, 'sub_a', { status: 'frozen' });
    const d = ask('sub_a', 'marketing', ['contact.phone']);
    expect(d).toMatchObject({ allow: false, reason: { code: 'subject.frozen' } });
    expect(d.clause).toEqual(['$.purposes[2]', '$.rights.cancellation']);
    expect(ask('sub_a', 'account', ['contact.phone']).reason.code).toBe('subject.frozen');
    projection.setSubject(APP, 'sub_a', { status: 'active' });
    expect(ask('sub_a', 'marketing', ['contact.phone']).allow).toBe(true);
  });

  it('denies an erased subject', () => {
    const { ask, projection } = setup([ev('sub_a', 'marketing')]);
    projection.setSubject(APP, 'sub_a', { status: 'erased' });
    expect(ask('sub_a', 'marketing', ['contact.phone']).reason.code).toBe('subject.erased');
    expect(ask('sub_a', 'tax', ['basic.name']).reason.code).toBe('subject.erased');
  });
});

describe('bases other than consent', () => {
  it('allows contract and legal-duty purposes without consent, with the basis as reason', () => {
    const { ask } = setup();
    const contract = ask('sub_new', 'account', ['contact.phone', 'basic.name']);
    expect(contract).toMatchObject({ allow: true, reason: { code: 'basis.contract' }, clause: ['$.purposes[0].basis'] });
    expect(contract.reason.zh).toContain('合同');
    // Sensitive categories and provision to an authority: the legal duty needs no consent either.
    const tax = ask('sub_new', 'tax', ['finance.payment'], 'tax-bureau');
    expect(tax).toMatchObject({ allow: true, reason: { code: 'basis.legal-duty' }, clause: ['$.purposes[4].basis', '$.recipients[4]'] });
  });

  it('still requires the categories to be declared for a contract purpose', () => {
    const { ask } = setup();
    expect(ask('sub_new', 'account', ['location.precise']).reason.code).toBe('category.undeclared-for-purpose');
  });
});

describe('consent', () => {
  it('needs a grant; withdrawal and refusal block; a new grant allows again', () => {
    const { ask, projection } = setup();
    const missing = ask('sub_a', 'marketing', ['contact.phone']);
    expect(missing).toMatchObject({ allow: false, reason: { code: 'consent.missing' }, needs: 'consent', clause: ['$.purposes[2].basis'] });
    projection.apply(ev('sub_a', 'marketing', { at: NOW - 3 * DAY }));
    const ok = ask('sub_a', 'marketing', ['contact.phone']);
    expect(ok).toMatchObject({ allow: true, reason: { code: 'consent.granted' }, clause: ['$.purposes[2].basis'] });
    projection.apply(ev('sub_a', 'marketing', { action: 'withdraw', at: NOW - 2 * DAY }));
    expect(ask('sub_a', 'marketing', ['contact.phone'])).toMatchObject({
      allow: false,
      reason: { code: 'consent.withdrawn' },
      needs: 'consent',
    });
    projection.apply(ev('sub_a', 'marketing', { action: 'deny', at: NOW - DAY }));
    expect(ask('sub_a', 'marketing', ['contact.phone'])).toMatchObject({ allow: false, reason: { code: 'consent.denied' } });
    projection.apply(ev('sub_a', 'marketing', { at: NOW - 1000 }));
    expect(ask('sub_a', 'marketing', ['contact.phone']).allow).toBe(true);
  });

  it('treats a purpose without a stated basis as consent-based', () => {
    const { ask, projection } = setup();
    const d = ask('sub_a', 'location-recs', ['location.precise']);
    expect(d).toMatchObject({ allow: false, reason: { code: 'consent.missing' }, clause: ['$.purposes[3]'] });
    // Precise location is sensitive: the app must ask for separate consent.
    expect(d.needs).toBe('separate-consent');
    projection.apply(ev('sub_a', 'location-recs', { separate: true }));
    expect(ask('sub_a', 'location-recs', ['location.precise']).allow).toBe(true);
  });

  it('does not count another subject or another purpose', () => {
    const { ask } = setup([ev('sub_b', 'marketing'), ev('sub_a', 'survey', { separate: true })]);
    expect(ask('sub_a', 'marketing', ['contact.phone']).reason.code).toBe('consent.missing');
  });
});

describe('separate consent (单独同意)', () => {
  it('requires separate consent for a sensitive category (taxonomy), naming it', () => {
    const { ask, projection } = setup([ev('sub_a', 'payment')]);
    // Not sensitive: a bundled grant is enough.
    expect(ask('sub_a', 'payment', ['contact.phone']).allow).toBe(true);
    const d = ask('sub_a', 'payment', ['contact.phone', 'finance.payment']);
    expect(d).toMatchObject({
      allow: false,
      reason: { code: 'consent.separate-required' },
      needs: 'separate-consent',
      category: 'finance.payment',
    });
    expect(d.clause).toEqual(['$.purposes[1].categories', '$.categories[2]']);
    expect(d.reason.zh).toContain('敏感个人信息');
    projection.apply(ev('sub_a', 'payment', { separate: true, at: NOW - 10 }));
    expect(ask('sub_a', 'payment', ['contact.phone', 'finance.payment']).allow).toBe(true);
  });

  it('honours categories the declaration raises to sensitive, and custom sensitive ones', () => {
    const { ask } = setup([ev('sub_a', 'taste'), ev('sub_a', 'care')]);
    expect(ask('sub_a', 'taste', ['online.preferences'])).toMatchObject({
      reason: { code: 'consent.separate-required' },
      category: 'online.preferences',
    });
    expect(ask('sub_a', 'care', ['custom.health-note'])).toMatchObject({
      reason: { code: 'consent.separate-required' },
      category: 'custom.health-note',
    });
    expect(ask('sub_a', 'care', ['contact.phone']).allow).toBe(true);
  });

  it('keeps the promise of a purpose declared with separate consent', () => {
    const { ask, projection } = setup([ev('sub_a', 'survey')]);
    const d = ask('sub_a', 'survey', ['contact.phone']);
    expect(d).toMatchObject({ allow: false, reason: { code: 'consent.separate-required' }, clause: ['$.purposes[5].separateConsent'] });
    projection.apply(ev('sub_a', 'survey', { separate: true, at: NOW - 10 }));
    expect(ask('sub_a', 'survey', ['contact.phone']).allow).toBe(true);
  });

  it('requires a separate recipient grant for an SDK (third party, PIPL 23)', () => {
    const { ask, projection } = setup([ev('sub_a', 'marketing')]);
    expect(ask('sub_a', 'marketing', ['device.id.oaid']).allow).toBe(true);
    const d = ask('sub_a', 'marketing', ['device.id.oaid'], 'push-sdk');
    expect(d).toMatchObject({
      allow: false,
      reason: { code: 'consent.separate-required' },
      needs: 'separate-consent',
      clause: ['$.recipients[0].consent'],
    });
    expect(d.reason.zh).toContain('第二十三条');
    // Bundled consent to the recipient is not separate consent.
    projection.apply(ev('sub_a', 'marketing', { recipient: 'push-sdk', at: NOW - 100 }));
    expect(ask('sub_a', 'marketing', ['device.id.oaid'], 'push-sdk').reason.code).toBe('consent.separate-required');
    projection.apply(ev('sub_a', 'marketing', { recipient: 'push-sdk', separate: true, at: NOW - 10 }));
    const ok = ask('sub_a', 'marketing', ['device.id.oaid'], 'push-sdk');
    expect(ok).toMatchObject({ allow: true, reason: { code: 'consent.granted' }, clause: ['$.purposes[2].basis', '$.recipients[0]'] });
  });

  it('needs nothing more for entrusted processing (PIPL 21)', () => {
    const { ask } = setup([ev('sub_a', 'marketing')]);
    expect(ask('sub_a', 'marketing', ['contact.phone'], 'cloud-host')).toMatchObject({ allow: true, reason: { code: 'consent.granted' } });
  });

  it('treats a processor receiving by API, an affiliate and another controller as third parties', () => {
    const { ask } = setup([ev('sub_a', 'marketing'), ev('sub_a', 'payment', { separate: true })]);
    expect(ask('sub_a', 'marketing', ['contact.phone'], 'sms-vendor')).toMatchObject({
      reason: { code: 'consent.separate-required' },
      clause: ['$.recipients[6]'],
    });
    expect(ask('sub_a', 'marketing', ['contact.phone'], 'sister-co').reason.code).toBe('consent.separate-required');
    const gw = ask('sub_a', 'payment', ['finance.payment'], 'pay-gateway');
    expect(gw).toMatchObject({ reason: { code: 'consent.separate-required' }, clause: ['$.recipients[2].consent'] });
    expect(gw.reason.zh).toContain('隐私政策承诺');
  });

  it('requires separate consent for cross-border provision even when entrusted (PIPL 39)', () => {
    const { ask, projection } = setup([ev('sub_a', 'marketing')]);
    const d = ask('sub_a', 'marketing', ['device.id.oaid'], 'analytics-hk');
    expect(d).toMatchObject({ allow: false, reason: { code: 'consent.separate-required' }, clause: ['$.recipients[3].crossBorder'] });
    expect(d.reason.zh).toContain('第三十九条');
    projection.apply(ev('sub_a', 'marketing', { recipient: 'analytics-hk', separate: true, at: NOW - 10 }));
    expect(ask('sub_a', 'marketing', ['device.id.oaid'], 'analytics-hk').allow).toBe(true);
  });

  it('requires separate consent for public disclosure (PIPL 25)', () => {
    const { ask } = setup([ev('sub_a', 'survey', { separate: true })]);
    const d = ask('sub_a', 'survey', ['contact.phone'], 'leaderboard');
    expect(d).toMatchObject({ reason: { code: 'consent.separate-required' }, clause: ['$.recipients[5].method'] });
    expect(d.reason.zh).toContain('第二十五条');
  });

  it('treats a recipient listed under storage.crossBorder as cross-border', () => {
    const decl = demoDeclaration((d) => {
      d.storage = { crossBorder: [{ recipient: 'cloud-host', country: 'SG', categories: ['contact.phone'] }] };
    });
    const { ask } = setup([ev('sub_a', 'marketing')], V1, decl);
    expect(ask('sub_a', 'marketing', ['contact.phone'], 'cloud-host')).toMatchObject({
      reason: { code: 'consent.separate-required' },
      clause: ['$.storage.crossBorder[0]'],
    });
  });
});

describe('withdrawal and recipients', () => {
  const base = () => [
    ev('sub_a', 'marketing', { at: NOW - 5 * DAY }),
    ev('sub_a', 'marketing', { recipient: 'push-sdk', separate: true, at: NOW - 4 * DAY }),
  ];

  it('withdrawing the purpose also blocks provision to its recipients', () => {
    const { ask, projection } = setup(base());
    expect(ask('sub_a', 'marketing', ['device.id.oaid'], 'push-sdk').allow).toBe(true);
    projection.apply(ev('sub_a', 'marketing', { action: 'withdraw', at: NOW - 3 * DAY }));
    const d = ask('sub_a', 'marketing', ['device.id.oaid'], 'push-sdk');
    expect(d).toMatchObject({
      allow: false,
      reason: { code: 'consent.withdrawn' },
      clause: ['$.purposes[2].basis'],
      needs: 'separate-consent',
    });
    expect(ask('sub_a', 'marketing', ['contact.phone'], 'cloud-host').reason.code).toBe('consent.withdrawn');
    // Consenting to the recipient again afterwards covers that provision.
    projection.apply(ev('sub_a', 'marketing', { recipient: 'push-sdk', separate: true, at: NOW - 2 * DAY }));
    expect(ask('sub_a', 'marketing', ['device.id.oaid'], 'push-sdk').allow).toBe(true);
    expect(ask('sub_a', 'marketing', ['contact.phone'], 'cloud-host').reason.code).toBe('consent.withdrawn');
  });

  it('withdrawing one recipient blocks only that recipient', () => {
    const { ask, projection } = setup(base());
    projection.apply(ev('sub_a', 'marketing', { recipient: 'push-sdk', action: 'withdraw', at: NOW - 3 * DAY }));
    const d = ask('sub_a', 'marketing', ['device.id.oaid'], 'push-sdk');
    expect(d).toMatchObject({ allow: false, reason: { code: 'consent.withdrawn' }, clause: ['$.recipients[0]', '$.purposes[2].basis'] });
    expect(ask('sub_a', 'marketing', ['device.id.oaid']).allow).toBe(true);
    // A later general grant for the purpose does not undo a refusal aimed at one recipient.
    projection.apply(ev('sub_a', 'marketing', { at: NOW - 2 * DAY }));
    expect(ask('sub_a', 'marketing', ['device.id.oaid'], 'push-sdk').reason.code).toBe('consent.withdrawn');
    projection.apply(ev('sub_a', 'marketing', { recipient: 'push-sdk', action: 'deny', at: NOW - DAY }));
    expect(ask('sub_a', 'marketing', ['device.id.oaid'], 'push-sdk').reason.code).toBe('consent.denied');
  });

  it('on equal times a withdrawal of the purpose beats a grant for the recipient', () => {
    const { ask } = setup([
      ev('sub_a', 'marketing', { recipient: 'push-sdk', separate: true, at: NOW - DAY }),
      ev('sub_a', 'marketing', { action: 'withdraw', at: NOW - DAY }),
    ]);
    expect(ask('sub_a', 'marketing', ['device.id.oaid'], 'push-sdk').reason.code).toBe('consent.withdrawn');
  });

  it('a separate recipient grant alone covers the purpose for that recipient only', () => {
    const { ask } = setup([ev('sub_a', 'marketing', { recipient: 'push-sdk', separate: true })]);
    expect(ask('sub_a', 'marketing', ['device.id.oaid'], 'push-sdk').allow).toBe(true);
    expect(ask('sub_a', 'marketing', ['device.id.oaid']).reason.code).toBe('consent.missing');
  });
});

describe('re-consent after a material change', () => {
  it('denies grants under an older version for the purposes the change affected', () => {
    const opts = { version: '2', materialVersion: '2', reconsent: { purposes: ['marketing'], recipients: [] } };
    const { ask, projection } = setup([ev('sub_a', 'marketing'), ev('sub_a', 'payment')], opts);
    const d = ask('sub_a', 'marketing', ['contact.phone']);
    expect(d).toMatchObject({
      allow: false,
      reason: { code: 'consent.reconsent-required' },
      needs: 'reconsent',
      clause: ['$.purposes[2]'],
    });
    // Unaffected purpose: the old grant stands.
    expect(ask('sub_a', 'payment', ['contact.phone']).allow).toBe(true);
    projection.apply(ev('sub_a', 'marketing', { policyVersion: '2', at: NOW - 10 }));
    expect(ask('sub_a', 'marketing', ['contact.phone']).allow).toBe(true);
  });

  it('denies grants covering an affected recipient, but not the purpose without it', () => {
    const opts = { version: '2', materialVersion: '2', reconsent: { purposes: [], recipients: ['cloud-host'] } };
    const { ask } = setup([ev('sub_a', 'marketing')], opts);
    expect(ask('sub_a', 'marketing', ['contact.phone'], 'cloud-host')).toMatchObject({
      reason: { code: 'consent.reconsent-required' },
      clause: ['$.recipients[1]'],
    });
    expect(ask('sub_a', 'marketing', ['contact.phone']).allow).toBe(true);
  });

  it('without a list, every grant must be under the material version or a later one', () => {
    const opts = { version: '2.1', materialVersion: '2' };
    const { ask } = setup(
      [
        ev('sub_1', 'marketing', { policyVersion: '1' }),
        ev('sub_2', 'marketing', { policyVersion: '2' }),
        ev('sub_3', 'marketing', { policyVersion: '2.1' }),
      ],
      opts,
    );
    expect(ask('sub_1', 'marketing', ['contact.phone']).reason.code).toBe('consent.reconsent-required');
    expect(ask('sub_2', 'marketing', ['contact.phone']).allow).toBe(true);
    expect(ask('sub_3', 'marketing', ['contact.phone']).allow).toBe(true);
  });

  it('marks in the projection outlive the compiled policy of the next version', () => {
    // Version 3 changed nothing that affects marketing, but version 2 did.
    const opts = { version: '3', materialVersion: '3', reconsent: { purposes: ['survey'], recipients: [] } };
    const t2 = NOW - 10 * DAY;
    const { ask, projection } = setup(
      [
        ev('sub_1', 'marketing', { policyVersion: '1', at: t2 - DAY }),
        ev('sub_2', 'marketing', { policyVersion: '2', at: t2 - 1 }), // under the new version, recorded just before the mark
        ev('sub_3', 'marketing', { policyVersion: '2.1', at: t2 + DAY }),
      ],
      opts,
    );
    expect(ask('sub_1', 'marketing', ['contact.phone']).allow).toBe(true);
    projection.markReconsent(APP, ['marketing'], [], '2', t2);
    expect(ask('sub_1', 'marketing', ['contact.phone']).reason.code).toBe('consent.reconsent-required');
    expect(ask('sub_2', 'marketing', ['contact.phone']).allow).toBe(true);
    expect(ask('sub_3', 'marketing', ['contact.phone']).allow).toBe(true);
  });

  it('recipient marks in the projection', () => {
    const { ask, projection } = setup([ev('sub_a', 'marketing'), ev('sub_a', 'marketing', { recipient: 'push-sdk', separate: true })]);
    projection.markReconsent(APP, [], ['push-sdk'], '2');
    expect(ask('sub_a', 'marketing', ['device.id.oaid'], 'push-sdk')).toMatchObject({
      reason: { code: 'consent.reconsent-required' },
      clause: ['$.recipients[0]'],
    });
    expect(ask('sub_a', 'marketing', ['device.id.oaid']).allow).toBe(true);
  });
});

describe('minors', () => {
  it('under 14: a guardian grant, and a separate one (PIPL 28, 31)', () => {
    const { ask, projection } = setup([ev('kid', 'marketing')]);
    projection.setSubject(APP, 'kid', { status: 'active', birthDate: bornYearsAgo(10) });
    const d = ask('kid', 'marketing', ['contact.phone']);
    expect(d).toMatchObject({
      allow: false,
      reason: { code: 'consent.guardian-required' },
      needs: 'guardian-consent',
      clause: ['$.purposes[2]', '$.minors'],
    });
    expect(d.reason.zh).toContain('不满十四周岁');
    projection.apply(ev('kid', 'marketing', { method: 'guardian', guardian: { relation: '母亲' }, at: NOW - 100 }));
    expect(ask('kid', 'marketing', ['contact.phone'])).toMatchObject({
      reason: { code: 'consent.separate-required' },
      needs: 'guardian-consent',
    });
    projection.apply(ev('kid', 'marketing', { method: 'guardian', separate: true, at: NOW - 10 }));
    expect(ask('kid', 'marketing', ['contact.phone']).allow).toBe(true);
    // Contract purposes need no consent at all.
    expect(ask('kid', 'account', ['contact.phone']).allow).toBe(true);
  });

  it('asks the app for guardian consent when nothing is on record for a minor', () => {
    const { ask, projection } = setup();
    projection.setSubject(APP, 'kid', { status: 'active', birthDate: bornYearsAgo(9) });
    expect(ask('kid', 'marketing', ['contact.phone'])).toMatchObject({ reason: { code: 'consent.missing' }, needs: 'guardian-consent' });
  });

  it('between 14 and the declared threshold: a guardian when the declaration says so', () => {
    const { ask, projection } = setup([ev('teen', 'marketing')]);
    projection.setSubject(APP, 'teen', { status: 'active', birthDate: bornYearsAgo(16) });
    const d = ask('teen', 'marketing', ['contact.phone']);
    expect(d).toMatchObject({ reason: { code: 'consent.guardian-required' }, clause: ['$.purposes[2]', '$.minors.ageThreshold'] });
    expect(d.reason.zh).toContain('18');
    projection.apply(ev('teen', 'marketing', { method: 'guardian', at: NOW - 10 }));
    // 14 and over: not sensitive by age, a bundled guardian grant is enough.
    expect(ask('teen', 'marketing', ['contact.phone']).allow).toBe(true);
    projection.setSubject(APP, 'adult', { status: 'active', birthDate: bornYearsAgo(18, 1) });
    projection.apply(ev('adult', 'marketing'));
    expect(ask('adult', 'marketing', ['contact.phone']).allow).toBe(true);
  });

  it('no guardian between 14 and the threshold when the declaration says guardianConsent: false', () => {
    const decl = demoDeclaration((d) => {
      d.minors = { ageThreshold: 18, guardianConsent: false };
    });
    const { ask, projection } = setup([ev('teen', 'marketing'), ev('kid', 'marketing')], V1, decl);
    projection.setSubject(APP, 'teen', { status: 'active', birthDate: bornYearsAgo(16) });
    projection.setSubject(APP, 'kid', { status: 'active', birthDate: bornYearsAgo(13) });
    expect(ask('teen', 'marketing', ['contact.phone']).allow).toBe(true);
    expect(ask('kid', 'marketing', ['contact.phone']).reason.code).toBe('consent.guardian-required');
  });

  it('under 14 needs a guardian even when the declaration sets a lower threshold or none', () => {
    for (const edit of [
      (d: DeclarationInput) => {
        d.minors = { ageThreshold: 12 };
      },
      (d: DeclarationInput) => {
        d.minors = undefined;
      },
    ]) {
      const { ask, projection } = setup([ev('kid', 'marketing')], V1, demoDeclaration(edit));
      projection.setSubject(APP, 'kid', { status: 'active', birthDate: bornYearsAgo(13) });
      const d = ask('kid', 'marketing', ['contact.phone']);
      expect(d.reason.code).toBe('consent.guardian-required');
      expect(d.reason.en).toContain('PIPL art. 31');
    }
  });

  it('reaches 14 the day after the 14th birthday', () => {
    const decl = demoDeclaration((d) => {
      d.minors = undefined;
    });
    const { ask, projection } = setup([ev('p', 'marketing')], V1, decl);
    projection.setSubject(APP, 'p', { status: 'active', birthDate: bornYearsAgo(14) });
    expect(ask('p', 'marketing', ['contact.phone']).reason.code).toBe('consent.guardian-required');
    expect(ask('p', 'marketing', ['contact.phone'], undefined, NOW + DAY).allow).toBe(true);
  });

  it('an app directed at children treats a subject of unknown age as a child', () => {
    const decl = demoDeclaration((d) => {
      d.minors = { ageThreshold: 14, directedAtChildren: true };
    });
    const { ask, projection } = setup([ev('who', 'marketing')], V1, decl);
    expect(ask('who', 'marketing', ['contact.phone']).reason.code).toBe('consent.guardian-required');
    projection.setSubject(APP, 'who', { status: 'active', birthDate: bornYearsAgo(30) });
    expect(ask('who', 'marketing', ['contact.phone']).allow).toBe(true);
  });

  it('a third-party provision for a minor asks for the guardian', () => {
    const { ask, projection } = setup([ev('teen', 'marketing', { method: 'guardian' })]);
    projection.setSubject(APP, 'teen', { status: 'active', birthDate: bornYearsAgo(16) });
    expect(ask('teen', 'marketing', ['device.id.oaid'], 'push-sdk')).toMatchObject({
      reason: { code: 'consent.separate-required' },
      needs: 'guardian-consent',
    });
    projection.apply(ev('teen', 'marketing', { recipient: 'push-sdk', separate: true, method: 'user', at: NOW - 10 }));
    expect(ask('teen', 'marketing', ['device.id.oaid'], 'push-sdk').reason.code).toBe('consent.guardian-required');
    projection.apply(ev('teen', 'marketing', { recipient: 'push-sdk', separate: true, method: 'guardian', at: NOW - 5 }));
    expect(ask('teen', 'marketing', ['device.id.oaid'], 'push-sdk').allow).toBe(true);
  });
});

describe('devices linked to accounts', () => {
  it('grants made on the device count for the account after linking', () => {
    const { ask, projection } = setup([ev('dev_phone1', 'marketing', { at: NOW - 5 * DAY })]);
    expect(ask('sub_acc', 'marketing', ['contact.phone']).reason.code).toBe('consent.missing');
    projection.link(APP, 'dev_phone1', 'sub_acc');
    expect(ask('sub_acc', 'marketing', ['contact.phone']).allow).toBe(true);
    // The device id now resolves to the account: its later events are the account's.
    projection.apply(ev('dev_phone1', 'marketing', { action: 'withdraw', at: NOW - DAY }));
    expect(ask('sub_acc', 'marketing', ['contact.phone']).reason.code).toBe('consent.withdrawn');
    expect(ask('dev_phone1', 'marketing', ['contact.phone']).reason.code).toBe('consent.withdrawn');
  });

  it("the account's later state wins over the device's", () => {
    const { ask, projection } = setup([
      ev('dev_x', 'marketing', { at: NOW - 5 * DAY }),
      ev('sub_acc', 'marketing', { action: 'withdraw', at: NOW - 4 * DAY }),
      ev('dev_x', 'survey', { separate: true, at: NOW - 3 * DAY }),
    ]);
    projection.link(APP, 'dev_x', 'sub_acc');
    expect(ask('sub_acc', 'marketing', ['contact.phone']).reason.code).toBe('consent.withdrawn');
    expect(ask('sub_acc', 'survey', ['contact.phone']).allow).toBe(true);
  });

  it('the account status applies to its devices', () => {
    const { ask, projection } = setup([ev('dev_x', 'marketing')]);
    projection.link(APP, 'dev_x', 'sub_acc');
    projection.setSubject(APP, 'sub_acc', { status: 'frozen' });
    expect(ask('dev_x', 'marketing', ['contact.phone']).reason.code).toBe('subject.frozen');
  });
});

describe('decideBatch and interning', () => {
  it('gives the same answers as decide, in order, into a reused array', () => {
    const { compiled, projection } = setup([ev('sub_a', 'marketing'), ev('sub_a', 'payment', { separate: true })]);
    const reqs: DecisionRequest[] = [
      { subject: 'sub_a', purpose: 'marketing', categories: ['contact.phone'] },
      { subject: 'sub_a', purpose: 'marketing', categories: ['device.id.oaid'], recipient: 'push-sdk' },
      { subject: 'sub_b', purpose: 'payment', categories: ['finance.payment'] },
      { subject: 'sub_a', purpose: 'payment', categories: ['finance.payment'], recipient: 'cloud-host' },
      { subject: 'sub_a', purpose: 'nope', categories: [] },
    ];
    const out = decideBatch(compiled, projection, reqs, NOW);
    expect(out.map((d) => d.reason.code)).toEqual([
      'consent.granted',
      'consent.separate-required',
      'consent.missing',
      'consent.granted',
      'purpose.undeclared',
    ]);
    reqs.forEach((r, i) => {
      expect(out[i]).toBe(decide(compiled, projection, r, NOW));
    });
    const again = decideBatch(compiled, projection, reqs.slice(0, 2), NOW, out);
    expect(again).toBe(out);
    expect(again).toHaveLength(2);
  });

  it('returns the same frozen object for the same outcome', () => {
    const { ask } = setup([ev('sub_a', 'marketing'), ev('sub_b', 'marketing')]);
    const a = ask('sub_a', 'marketing', ['contact.phone']);
    const b = ask('sub_b', 'marketing', ['device.id.oaid']);
    expect(a).toBe(b);
    expect(Object.isFrozen(a)).toBe(true);
    expect(Object.isFrozen(a.reason)).toBe(true);
    expect(Object.isFrozen(a.clause)).toBe(true);
    expect(ask('x', 'marketing', ['basic.name'])).toBe(ask('y', 'marketing', ['basic.name']));
  });

  it('handles requests with many categories', () => {
    const { ask } = setup([ev('sub_a', 'payment', { separate: true })]);
    const many = Array.from({ length: 200 }, (_, i) => (i % 2 ? 'contact.phone' : 'finance.payment'));
    expect(ask('sub_a', 'payment', many).allow).toBe(true);
    expect(ask('sub_a', 'payment', [...many, 'basic.name']).category).toBe('basic.name');
  });
});
