/**
 * A small declaration for the consent tests: every rule of the decision engine has a purpose or a
 * recipient here that exercises it. Indices matter (tests check clause paths), so append only.
 */
import { type Declaration, type DeclarationInput, validateDeclaration } from '@pipa/policy';
import type { ConsentEvent } from './types.js';

export const APP = 'demo-app';

export function demoDeclarationInput(): DeclarationInput {
  return {
    pipa: 1,
    app: { id: APP, name: '演示应用', products: [{ name: '演示应用', platforms: ['android', 'ios'] }] },
    controller: { legalName: '演示科技有限公司' },
    versions: [{ version: '1' }, { version: '2' }, { version: '2.1' }, { version: '3' }],
    categories: [
      { id: 'contact.phone' }, // 0
      { id: 'basic.name' }, // 1
      { id: 'finance.payment' }, // 2: sensitive in the taxonomy
      { id: 'location.precise' }, // 3: sensitive in the taxonomy
      { id: 'device.id.oaid' }, // 4
      { id: 'online.preferences', sensitive: true }, // 5: raised to sensitive by the declaration
      { id: 'custom.health-note', label: { zh: '健康备注', en: 'Health note' }, sensitive: true }, // 6
    ],
    purposes: [
      { id: 'account', name: { zh: '账号注册与登录', en: 'Account' }, basis: 'contract', categories: ['contact.phone', 'basic.name'] }, // 0
      { id: 'payment', name: { zh: '支付', en: 'Payment' }, basis: 'consent', categories: ['finance.payment', 'contact.phone'] }, // 1
      { id: 'marketing', name: { zh: '营销推送', en: 'Marketing' }, basis: 'consent', categories: ['contact.phone', 'device.id.oaid'] }, // 2
      { id: 'location-recs', name: { zh: '基于位置的推荐', en: 'Location recommendations' }, categories: ['location.precise'] }, // 3: no basis
      { id: 'tax', name: { zh: '依法纳税申报', en: 'Tax filing' }, basis: 'legal-duty', categories: ['basic.name', 'finance.payment'] }, // 4
      { id: 'survey', name: { zh: '问卷调查', en: 'Survey' }, basis: 'consent', separateConsent: true, categories: ['contact.phone'] }, // 5
      { id: 'taste', name: { zh: '口味偏好', en: 'Taste' }, basis: 'consent', categories: ['online.preferences'] }, // 6
      { id: 'care', name: { zh: '健康关怀', en: 'Care' }, basis: 'consent', categories: ['custom.health-note', 'contact.phone'] }, // 7
    ],
    recipients: [
      // 0: an SDK collecting for itself: third party (PIPL 23)
      {
        id: 'push-sdk',
        name: { zh: '推送SDK', en: 'Push SDK' },
        kind: 'sdk',
        method: 'sdk',
        purposes: ['marketing'],
        categories: ['device.id.oaid'],
        consent: 'bundled',
      },
      // 1: entrusted processing (PIPL 21): no consent of its own
      {
        id: 'cloud-host',
        name: { zh: '云主机服务商', en: 'Cloud host' },
        kind: 'processor',
        method: 'entrusted',
        purposes: ['payment', 'marketing'],
        categories: ['contact.phone', 'finance.payment'],
      },
      // 2: another controller; the declaration promises separate consent
      {
        id: 'pay-gateway',
        name: { zh: '支付网关', en: 'Payment gateway' },
        kind: 'controller',
        method: 'api',
        purposes: ['payment'],
        categories: ['finance.payment'],
        consent: 'separate',
      },
      // 3: entrusted, but abroad (PIPL 39)
      {
        id: 'analytics-hk',
        name: { zh: '境外分析服务商', en: 'Offshore analytics' },
        kind: 'processor',
        method: 'entrusted',
        crossBorder: true,
        purposes: ['marketing'],
        categories: ['device.id.oaid'],
      },
      // 4: an authority under a legal duty
      {
        id: 'tax-bureau',
        name: { zh: '税务机关', en: 'Tax authority' },
        kind: 'authority',
        method: 'api',
        purposes: ['tax'],
        categories: ['basic.name', 'finance.payment'],
      },
      // 5: public disclosure (PIPL 25)
      {
        id: 'leaderboard',
        name: { zh: '公开排行榜', en: 'Public leaderboard' },
        kind: 'controller',
        method: 'public-disclosure',
        purposes: ['survey'],
        categories: ['contact.phone'],
      },
      // 6: a processor that receives by API rather than under entrustment: treated as a third party
      {
        id: 'sms-vendor',
        name: { zh: '短信服务商', en: 'SMS vendor' },
        kind: 'processor',
        method: 'api',
        purposes: ['marketing'],
        categories: ['contact.phone'],
      },
      // 7: an affiliate
      {
        id: 'sister-co',
        name: { zh: '关联公司', en: 'Affiliate' },
        kind: 'affiliate',
        method: 'api',
        purposes: ['marketing'],
        categories: ['contact.phone'],
      },
    ],
    minors: { ageThreshold: 18, guardianConsent: true },
    rights: { list: [{ right: 'cancellation', channels: [{ kind: 'in-app' }] }], cancellation: { effect: 'immediate' } },
  };
}

export function demoDeclaration(edit?: (d: DeclarationInput) => void): Declaration {
  const input = demoDeclarationInput();
  edit?.(input);
  return validateDeclaration(input, 'demo.yaml');
}

/** 2024-06-01T12:00:00+08:00 */
export const NOW = Date.UTC(2024, 5, 1, 4, 0, 0);
export const DAY = 86_400_000;

let n = 0;
/** A ledger event with defaults: a bundled grant by the user under version '1' a day before NOW. */
export function ev(subjectId: string, purpose: string, extra: Partial<ConsentEvent> = {}): ConsentEvent {
  n++;
  return {
    id: `cev_test${n}`,
    appId: APP,
    subjectId,
    purpose,
    action: 'grant',
    separate: false,
    method: 'user',
    policyVersion: '1',
    at: NOW - DAY,
    ...extra,
  };
}
