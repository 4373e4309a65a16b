import { describe, expect, it } from 'vitest';
import { isPipaError } from '../errors.js';
import { compilePolicy, hasBit } from './compile.js';
import { demoDeclaration } from './test-fixtures.js';

const V1 = { version: '1', materialVersion: '1' };

describe('compilePolicy', () => {
  it('interns categories with their sensitivity: taxonomy, raised by the declaration, custom', () => {
    const c = compilePolicy(demoDeclaration(), V1);
    const sensitive = c.categories.filter((x) => x.sensitive).map((x) => x.id);
    expect(sensitive).toEqual(['finance.payment', 'location.precise', 'online.preferences', 'custom.health-note']);
    expect(c.categoryById.get('finance.payment')).toBe(2);
    expect(c.categories[2]).toMatchObject({ path: '$.categories[2]', zh: expect.stringContaining('finance.payment') });
    expect(c.categories[6]?.zh).toBe('「健康备注」（custom.health-note）');
    for (const cat of c.categories) expect(hasBit(c.sensitive, cat.index)).toBe(cat.sensitive);
  });

  it('compiles purposes: basis, consent or not, category sets, sensitivity', () => {
    const c = compilePolicy(demoDeclaration(), V1);
    const byId = (id: string) => c.purposeById.get(id);
    expect(byId('account')).toMatchObject({ index: 0, path: '$.purposes[0]', basis: 'contract', consentBased: false, anySensitive: false });
    expect(byId('payment')).toMatchObject({ basis: 'consent', consentBased: true, anySensitive: true });
    expect(byId('location-recs')).toMatchObject({ basis: undefined, consentBased: true, anySensitive: true });
    expect(byId('survey')?.separateDeclared).toBe(true);
    const payment = byId('payment');
    if (!payment) throw new Error('payment');
    const has = (id: string) => hasBit(payment.categories, c.categoryById.get(id) ?? -1);
    expect([has('finance.payment'), has('contact.phone'), has('basic.name')]).toEqual([true, true, false]);
  });

  it('tells third-party provision from entrusted processing and says why separate consent is needed', () => {
    const c = compilePolicy(demoDeclaration(), V1);
    const r = (id: string) => {
      const x = c.recipientById.get(id);
      return x && { thirdParty: x.thirdParty, separate: x.separate, clause: x.separateClause };
    };
    expect(r('push-sdk')).toEqual({ thirdParty: true, separate: 'third-party', clause: '$.recipients[0].consent' });
    expect(r('cloud-host')).toEqual({ thirdParty: false, separate: undefined, clause: '$.recipients[1]' });
    expect(r('pay-gateway')).toEqual({ thirdParty: true, separate: 'declared', clause: '$.recipients[2].consent' });
    expect(r('analytics-hk')).toEqual({ thirdParty: false, separate: 'cross-border', clause: '$.recipients[3].crossBorder' });
    expect(r('leaderboard')).toEqual({ thirdParty: true, separate: 'public-disclosure', clause: '$.recipients[5].method' });
    expect(r('sms-vendor')).toMatchObject({ thirdParty: true, separate: 'third-party' });
    expect(r('sister-co')).toMatchObject({ thirdParty: true, separate: 'third-party' });
    // Sites exist only where the recipient is declared for the purpose.
    const marketing = c.purposeById.get('marketing');
    expect(marketing?.sites.map((s) => s?.recipient?.id)).toEqual([
      'push-sdk',
      'cloud-host',
      undefined,
      'analytics-hk',
      undefined,
      undefined,
      'sms-vendor',
      'sister-co',
    ]);
  });

  it('compiles the minors rule', () => {
    expect(compilePolicy(demoDeclaration(), V1).minors).toEqual({ threshold: 18, guardianUnderThreshold: true, directedAtChildren: false });
    const none = demoDeclaration((d) => {
      d.minors = undefined;
    });
    expect(compilePolicy(none, V1).minors).toEqual({ threshold: 0, guardianUnderThreshold: false, directedAtChildren: false });
  });

  it('accepts the versions from the material version to the current one', () => {
    const d = demoDeclaration();
    expect([...compilePolicy(d, { version: '3', materialVersion: '2' }).acceptedVersions].sort()).toEqual(['2', '2.1', '3']);
    expect([...compilePolicy(d, { version: '9', materialVersion: '8' }).acceptedVersions].sort()).toEqual(['8', '9']);
    const narrow = compilePolicy(d, {
      version: '2',
      materialVersion: '2',
      reconsent: { purposes: ['marketing'], recipients: ['push-sdk'] },
    });
    expect(narrow.purposes.filter((p) => p.reconsent).map((p) => p.id)).toEqual(['marketing']);
    expect(narrow.recipients.filter((r) => r.reconsent).map((r) => r.id)).toEqual(['push-sdk']);
    const all = compilePolicy(d, { version: '2', materialVersion: '2' });
    expect(all.purposes.every((p) => p.reconsent)).toBe(true);
  });

  it('refuses options that name nothing in the declaration', () => {
    const err = (fn: () => unknown) => {
      try {
        fn();
      } catch (e) {
        if (isPipaError(e)) return `${e.code}: ${e.message}`;
      }
      return 'no error';
    };
    const d = demoDeclaration();
    expect(err(() => compilePolicy(d, { version: '', materialVersion: '1' }))).toBe(
      'validation_failed: version: must be a non-empty string',
    );
    expect(
      err(() => compilePolicy(d, { version: '2', materialVersion: '2', reconsent: { purposes: ['marketting'], recipients: [] } })),
    ).toBe('validation_failed: reconsent.purposes[0]: "marketting" is not a purpose of the declaration');
    expect(err(() => compilePolicy(d, { version: '2', materialVersion: '2', reconsent: { purposes: [], recipients: ['x'] } }))).toBe(
      'validation_failed: reconsent.recipients[0]: "x" is not a recipient of the declaration',
    );
  });
});
