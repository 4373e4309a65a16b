/**
 * The decision engine on a real declaration: examples/xiaopiaopiao-merchant/policy.yaml (小票票商户版).
 * The policy states no lawful basis and bundles every SDK into "using the site means you agree", so
 * every purpose is consent-based and every SDK provision needs a separate grant the policy never asks for.
 */
import { readFileSync } from 'node:fs';
import { loadDeclaration } from '@pipa/policy';
import { describe, expect, it } from 'vitest';
import { compilePolicy } from './compile.js';
import { decide } from './decide.js';
import { createConsentProjection } from './projection.js';
import type { ConsentEvent } from './types.js';

const file = new URL('../../../../examples/xiaopiaopiao-merchant/policy.yaml', import.meta.url);
const { declaration } = loadDeclaration(readFileSync(file, 'utf8'), 'examples/xiaopiaopiao-merchant/policy.yaml');
const VERSION = '2022-03-20';
const APP = declaration.app.id;
const NOW = Date.UTC(2024, 5, 1, 4);

let n = 0;
const grant = (purpose: string, extra: Partial<ConsentEvent> = {}): ConsentEvent => ({
  id: `cev_x${++n}`,
  appId: APP,
  subjectId: 'sub_merchant',
  purpose,
  action: 'grant',
  separate: false,
  method: 'user',
  policyVersion: VERSION,
  at: NOW - 1000 + n,
  ...extra,
});

function setup(events: ConsentEvent[]) {
  const compiled = compilePolicy(declaration, { version: VERSION, materialVersion: VERSION });
  const projection = createConsentProjection();
  projection.applyAll(events);
  const ask = (purpose: string, categories: string[], recipient?: string) =>
    decide(compiled, projection, { subject: 'sub_merchant', purpose, categories, ...(recipient ? { recipient } : {}) }, NOW);
  return { compiled, projection, ask };
}

const recipientIndex = (id: string) => (declaration.recipients ?? []).findIndex((r) => r.id === id);

describe('小票票商户版 (examples/xiaopiaopiao-merchant)', () => {
  it('compiles: no basis stated, so every purpose rests on consent; SDKs are third parties', () => {
    const { compiled } = setup([]);
    expect(compiled.appId).toBe('xiaopiaopiao-merchant');
    expect(compiled.purposes.length).toBeGreaterThan(5);
    expect(compiled.purposes.every((p) => p.consentBased)).toBe(true);
    expect(compiled.recipients.filter((r) => r.kind === 'sdk').every((r) => r.thirdParty && r.separate === 'third-party')).toBe(true);
    expect(compiled.recipientById.get('data-analysis-provider')).toMatchObject({ kind: 'controller', thirdParty: true });
    expect(compiled.minors.threshold).toBe(0);
  });

  it('a bundled grant does not let the app hand device identifiers to 个推 for push', () => {
    const { ask, projection } = setup([grant('push-notifications'), grant('push-notifications', { recipient: 'getui' })]);
    const d = ask('push-notifications', ['device.id.imei', 'device.installed-apps'], 'getui');
    expect(d).toMatchObject({ allow: false, reason: { code: 'consent.separate-required' }, needs: 'separate-consent' });
    expect(d.clause).toEqual([`$.recipients[${recipientIndex('getui')}].consent`]);
    expect(d.reason.zh).toContain('个推SDK');
    projection.apply(grant('push-notifications', { recipient: 'getui', separate: true }));
    expect(ask('push-notifications', ['device.id.imei', 'device.installed-apps'], 'getui').allow).toBe(true);
  });

  it('payment account details are sensitive: separate consent for the purpose and for 支付宝', () => {
    const { ask, projection } = setup([grant('payment'), grant('payment', { recipient: 'alipay', separate: true })]);
    expect(ask('payment', ['finance.payment-account'])).toMatchObject({
      reason: { code: 'consent.separate-required' },
      category: 'finance.payment-account',
    });
    projection.apply(grant('payment', { separate: true }));
    expect(ask('payment', ['finance.payment-account']).allow).toBe(true);
    expect(ask('payment', ['finance.payment-account'], 'alipay').allow).toBe(true);
    expect(ask('payment', ['finance.payment-account'], 'wechat-pay').reason.code).toBe('consent.separate-required');
  });

  it('holds every provision to what the sharing list declares', () => {
    const { ask } = setup([
      grant('push-notifications'),
      grant('push-notifications', { recipient: 'umeng', separate: true }),
      grant('payment', { separate: true }),
    ]);
    // 友盟 receives only the SD-card information.
    expect(ask('push-notifications', ['device.storage'], 'umeng').allow).toBe(true);
    expect(ask('push-notifications', ['device.id.imei'], 'umeng')).toMatchObject({
      reason: { code: 'recipient.category-not-declared' },
      category: 'device.id.imei',
      clause: [`$.recipients[${recipientIndex('umeng')}].categories`],
    });
    expect(ask('payment', ['finance.payment-account'], 'umeng').reason.code).toBe('recipient.purpose-not-declared');
    expect(ask('push-notifications', ['contact.phone']).reason.code).toBe('category.undeclared-for-purpose');
    expect(ask('advertising', ['device.id.oaid']).reason.code).toBe('purpose.undeclared');
  });

  it('with no minors clause, a child under 14 still needs a guardian (PIPL 31)', () => {
    const { ask, projection } = setup([grant('verification-and-notices')]);
    expect(ask('verification-and-notices', ['contact.phone']).allow).toBe(true);
    projection.setSubject(APP, 'sub_merchant', { status: 'active', birthDate: '2012-01-01' });
    expect(ask('verification-and-notices', ['contact.phone'])).toMatchObject({
      reason: { code: 'consent.guardian-required' },
      needs: 'guardian-consent',
    });
  });
});
