/**
 * Every rule has a passing and a failing fixture: BASE is a complete declaration that produces no
 * finding at all (so it passes every rule); each case mutates a copy so that exactly the rule under
 * test fires at the expected JSON path. Fixtures go through YAML and `loadDeclaration`, so positions
 * are real.
 */
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { loadDeclaration } from '../load.js';
import type { DeclarationInput } from '../schema.js';
import { LINT_RULES, lintDeclaration } from './lint.js';
import type { LintFinding } from './types.js';

const BASE_YAML = `pipa: 1
app:
  id: demo-tickets
  name: { zh: 演示票务, en: Demo Tickets }
  products:
    - name: 演示票务
      platforms: [android, ios]
  type: performance-ticketing
  basicFunction: 演出购票
  individuals: 50000
controller:
  legalName: { zh: 演示文化传播有限公司, en: "Demo Culture Co., Ltd." }
  phone: ["400-000-0000"]
  email: [privacy@example.com]
  complaint: 拨打 400-000-0000 投诉、举报
versions:
  - version: "1.0"
    published: 2025-01-01
    effective: 2025-01-08
consent:
  impliedByUse: false
  firstLaunchDialog: true
  preTicked: false
  acceptsFutureChanges: false
  refuseAllOrNothing: false
  reaskAfterHours: 48
categories:
  - id: contact.phone
  - id: order.session-seat
  - id: finance.payment
  - id: location.precise
  - id: device.id.oaid
  - id: device.model
sources:
  - id: signup
    kind: registration-form
    categories: [contact.phone]
  - id: gps
    kind: device-api
    categories: [location.precise]
    frequency: on-use
purposes:
  - id: tickets
    name: { zh: 购票, en: Buying tickets }
    basis: contract
    required: true
    categories: [contact.phone, order.session-seat, finance.payment]
    scenario: 下单时
    sources: [signup]
    necessity: 支付信息仅用于完成购票付款。
    retention:
      - trigger: contract-end
        period: P3Y
  - id: nearby
    name: { zh: 附近演出, en: Nearby shows }
    basis: consent
    required: false
    separateConsent: true
    categories: [location.precise]
    scenario: 打开“附近演出”时
    sources: [gps]
    necessity: 仅用于计算与剧场的距离，拒绝后可按城市浏览。
    retention:
      - trigger: consent-withdrawn
  - id: recommendations
    name: { zh: 演出推荐推送, en: Show recommendations }
    basis: consent
    required: false
    categories: [device.id.oaid, device.model]
    scenario: 开启推送后
    marketing:
      personalised: true
      nonPersonalisedOption: true
      optOut: 我的-设置-关闭个性化推荐
      channels: [push]
    retention:
      - trigger: consent-withdrawn
permissions:
  - id: location
    name: { zh: 位置, en: Location }
    android: [android.permission.ACCESS_FINE_LOCATION]
    purposes: [nearby]
    categories: [location.precise]
    requestedWhen: 打开“附近演出”时
    requestedAtLaunch: false
    optional: true
    enabledByDefault: false
    ifDenied: 按城市浏览演出
recipients:
  - id: push-sdk
    name: { zh: 推送SDK, en: Push SDK }
    kind: sdk
    company: 推送科技有限公司
    contact: { email: [privacy@push.example.com] }
    purposes: [recommendations]
    purposeText: 向设备推送演出消息
    categories: [device.id.oaid, device.model]
    method: sdk
    scenario: 开启推送后
    consent: separate
    policyUrl: https://push.example.com/privacy
    selfStart: false
    wakesOtherApps: false
    contracted: true
minors:
  ageThreshold: 14
  guardianConsent: true
  under14Rules: 《儿童个人信息保护规则》
rights:
  responseTime: { value: 15, unit: working-days }
  externalDispute: 可向网信部门投诉或向人民法院起诉
  withdrawal: 我的-设置-隐私-授权管理
  list:
    - right: access
      channels: [{ kind: in-app }]
    - right: copy
      channels: [{ kind: in-app }]
    - right: correction
      channels: [{ kind: in-app }]
    - right: deletion
      channels: [{ kind: in-app }]
    - right: cancellation
      channels: [{ kind: in-app }]
    - right: withdrawal
      channels: [{ kind: in-app }]
    - right: complaint
      channels: [{ kind: phone, detail: 400-000-0000 }]
  cancellation:
    effect: immediate
    afterwards: delete
    verification: [contact.phone]
security:
  measures: [encryption-at-rest, encryption-in-transit, access-control, incident-plan, staff-training]
  encryptionAtRest: { algorithm: SM4, scope: sensitive }
  encryptionInTransit: TLS 1.2+
incidents:
  channels: [push, sms]
  content: [what-happened, impact, categories, cause, measures, self-protection, remedies, contact]
  reportsToRegulator: true
storage:
  location: 中华人民共和国境内
disclosure:
  public: { occurs: false }
changes:
  notification: [pop-up]
  materialChangeNotice: true
pia:
  done: true
  date: 2024-12-20
`;

type Draft = DeclarationInput;
type Purpose = Draft['purposes'][number];
type Recipient = NonNullable<Draft['recipients']>[number];
type Permission = NonNullable<Draft['permissions']>[number];

function must<T>(v: T | undefined | null, what: string): T {
  if (v === undefined || v === null) throw new Error(`fixture has no ${what}`);
  return v;
}

function base(): Draft {
  return parse(BASE_YAML) as Draft;
}

const purpose = (d: Draft, id: string): Purpose =>
  must(
    d.purposes.find((p) => p.id === id),
    `purpose ${id}`,
  );
const recipient = (d: Draft): Recipient => must(d.recipients?.[0], 'recipient');
const permission = (d: Draft): Permission => must(d.permissions?.[0], 'permission');
const rightEntry = (d: Draft, right: string) =>
  must(
    d.rights?.list.find((r) => r.right === right),
    `right ${right}`,
  );

/** Lint a draft through YAML text, as a file would be. */
function lintDraft(d: Draft, lang: 'zh' | 'en' = 'zh') {
  const text = stringify(d);
  const loaded = loadDeclaration(text, 'fixture.yaml');
  return { text, loaded, result: lintDeclaration(loaded, { lang }) };
}

interface Case {
  mutate: (d: Draft) => void;
  /** The JSON path of the finding (it may name an absent field). */
  path: string;
}

const CASES: Record<string, Case> = {
  // consent
  'PIPL-13/basis-missing': {
    mutate: (d) => {
      delete purpose(d, 'nearby').basis;
    },
    path: '$.purposes[1].basis',
  },
  'PIPL-13/marketing-contract': {
    mutate: (d) => {
      purpose(d, 'recommendations').basis = 'contract';
    },
    path: '$.purposes[2].basis',
  },
  'PIPL-14/implied-consent': {
    mutate: (d) => {
      must(d.consent, 'consent').impliedByUse = true;
    },
    path: '$.consent.impliedByUse',
  },
  'PIPL-14/pre-ticked': {
    mutate: (d) => {
      must(d.consent, 'consent').preTicked = true;
    },
    path: '$.consent.preTicked',
  },
  'PIPL-14/future-changes': {
    mutate: (d) => {
      must(d.consent, 'consent').acceptsFutureChanges = true;
    },
    path: '$.consent.acceptsFutureChanges',
  },
  'PIPL-14/material-change': {
    mutate: (d) => {
      delete must(d.changes, 'changes').materialChangeNotice;
    },
    path: '$.changes.materialChangeNotice',
  },
  'MIIT-4/improvement-only': {
    mutate: (d) => {
      const p = purpose(d, 'recommendations');
      p.improvementOnly = true;
      delete p.required;
    },
    path: '$.purposes[2].improvementOnly',
  },
  'MIIT-4/permission-unrelated': {
    mutate: (d) => {
      permission(d).categories = ['location.precise', 'contact.phone'];
    },
    path: '$.permissions[0].categories',
  },
  'PIPL-15/withdrawal-channel': {
    mutate: (d) => {
      const rights = must(d.rights, 'rights');
      delete rights.withdrawal;
      rights.list = rights.list.filter((r) => r.right !== 'withdrawal');
    },
    path: '$.rights.withdrawal',
  },
  'PIPL-16/all-or-nothing': {
    mutate: (d) => {
      must(d.consent, 'consent').refuseAllOrNothing = true;
      // Keep NEC quiet: only the required purpose would remain in scope if it stayed within the set.
      d.app.type = 'none';
    },
    path: '$.consent.refuseAllOrNothing',
  },
  'PIPL-16/required-permission': {
    mutate: (d) => {
      permission(d).optional = false;
      d.app.type = 'none';
    },
    path: '$.permissions[0].optional',
  },
  'GBT-5.3/reask-interval': {
    mutate: (d) => {
      must(d.consent, 'consent').reaskAfterHours = 24;
    },
    path: '$.consent.reaskAfterHours',
  },
  'MIIT-1/first-launch-dialog': {
    mutate: (d) => {
      must(d.consent, 'consent').firstLaunchDialog = false;
    },
    path: '$.consent.firstLaunchDialog',
  },
  'MIIT-5/no-consent': {
    mutate: (d) => {
      recipient(d).consent = 'none';
    },
    path: '$.recipients[0].consent',
  },
  // notice
  'PIPL-17/controller-name': {
    mutate: (d) => {
      delete d.controller.legalName;
    },
    path: '$.controller.legalName',
  },
  'PIPL-17/controller-contact': {
    mutate: (d) => {
      delete d.controller.phone;
      delete d.controller.email;
    },
    path: '$.controller.phone',
  },
  'PIPL-17/retention': {
    mutate: (d) => {
      delete purpose(d, 'tickets').retention;
    },
    path: '$.purposes[0].retention',
  },
  'PIPL-17/effective-date': {
    mutate: (d) => {
      const v = must(d.versions[0], 'version');
      delete v.published;
      delete v.effective;
    },
    path: '$.versions[0].effective',
  },
  'PIPL-17/rights-channel': {
    mutate: (d) => {
      const rights = must(d.rights, 'rights');
      rights.list = rights.list.filter((r) => r.right === 'complaint');
    },
    path: '$.rights.list',
  },
  'PIPL-17/change-notice': {
    mutate: (d) => {
      delete must(d.changes, 'changes').notification;
    },
    path: '$.changes.notification',
  },
  'PIPL-17/cookie-purpose': {
    mutate: (d) => {
      d.cookies = { used: true, categories: ['device.model'] };
    },
    path: '$.cookies.purposes',
  },
  'PIPL-17/category-without-purpose': {
    mutate: (d) => {
      d.categories.push({ id: 'basic.name' });
    },
    path: '$.categories[6]',
  },
  'GBT-5.5/complaint-channel': {
    mutate: (d) => {
      delete d.controller.complaint;
      const rights = must(d.rights, 'rights');
      rights.list = rights.list.filter((r) => r.right !== 'complaint');
    },
    path: '$.controller.complaint',
  },
  'GBT-5.5/refusal-consequences': {
    mutate: (d) => {
      delete permission(d).ifDenied;
    },
    path: '$.permissions[0].ifDenied',
  },
  'GBT-5.5/storage-location': {
    mutate: (d) => {
      delete d.storage;
    },
    path: '$.storage.location',
  },
  'MIIT-292/collection-scenario': {
    mutate: (d) => {
      delete purpose(d, 'nearby').scenario;
    },
    path: '$.purposes[1].scenario',
  },
  'MIIT-292/sharing-scenario': {
    mutate: (d) => {
      delete recipient(d).scenario;
    },
    path: '$.recipients[0].scenario',
  },
  'MIIT-2/sdk-purpose-text': {
    mutate: (d) => {
      delete recipient(d).purposeText;
    },
    path: '$.recipients[0].purposeText',
  },
  // sharing
  'PIPL-23/recipient-company': {
    mutate: (d) => {
      delete recipient(d).company;
    },
    path: '$.recipients[0].company',
  },
  'PIPL-23/recipient-contact': {
    mutate: (d) => {
      const r = recipient(d);
      delete r.contact;
      delete r.policyUrl;
      r.policyTitle = '推送SDK隐私政策';
    },
    path: '$.recipients[0].contact',
  },
  'PIPL-23/separate-consent': {
    mutate: (d) => {
      recipient(d).consent = 'bundled';
    },
    path: '$.recipients[0].consent',
  },
  'PIPL-25/public-disclosure': {
    mutate: (d) => {
      d.disclosure = { public: { occurs: true } };
    },
    path: '$.disclosure.public.separateConsent',
  },
  'PIPL-36/storage-location': {
    mutate: (d) => {
      d.app.publicAffairs = true;
      delete d.storage;
    },
    path: '$.storage.location',
  },
  'PIPL-36/cross-border': {
    mutate: (d) => {
      d.app.stateOrgan = true;
      d.storage = {
        location: '中华人民共和国境内',
        crossBorder: [{ country: 'SG', categories: ['device.model'], route: 'standard-contract', separateConsent: true }],
      };
    },
    path: '$.storage.crossBorder[0].route',
  },
  'PIPL-38/route': {
    mutate: (d) => {
      d.storage = { location: '中华人民共和国境内', crossBorder: [{ country: 'SG', categories: ['device.model'], separateConsent: true }] };
    },
    path: '$.storage.crossBorder[0].route',
  },
  'PIPL-38/separate-consent': {
    mutate: (d) => {
      d.storage = {
        location: '中华人民共和国境内',
        crossBorder: [{ country: 'SG', categories: ['device.model'], route: 'standard-contract' }],
      };
    },
    path: '$.storage.crossBorder[0].separateConsent',
  },
  'PIPL-38/undeclared-transfer': {
    mutate: (d) => {
      recipient(d).crossBorder = true;
    },
    path: '$.recipients[0].crossBorder',
  },
  'GBT-9.7/not-contracted': {
    mutate: (d) => {
      recipient(d).contracted = false;
    },
    path: '$.recipients[0].contracted',
  },
  'GBT-9.7/contract-unstated': {
    mutate: (d) => {
      delete recipient(d).contracted;
    },
    path: '$.recipients[0].contracted',
  },
  'SDK-1/permissions': {
    mutate: (d) => {
      d.categories.push({ id: 'device.id.imsi' });
      purpose(d, 'recommendations').categories.push('device.id.imsi');
      recipient(d).categories.push('device.id.imsi');
      // keep GB41391 quiet: an anti-fraud purpose may use it
      purpose(d, 'recommendations').name = { zh: '演出推荐推送与反欺诈', en: 'Show recommendations and fraud prevention' };
    },
    path: '$.recipients[0].categories',
  },
  'SDK-1/privacy-policy': {
    mutate: (d) => {
      delete recipient(d).policyUrl;
    },
    path: '$.recipients[0].policyUrl',
  },
  'MIIT-337/app-list-shared': {
    mutate: (d) => {
      d.categories.push({ id: 'device.installed-apps' });
      purpose(d, 'recommendations').categories.push('device.installed-apps');
      recipient(d).categories.push('device.installed-apps');
      recipient(d).consent = 'separate';
      // shared privately: separate consent missing only for the list, modelled by another recipient
      must(d.recipients, 'recipients').push({
        id: 'stats',
        name: '统计服务商',
        kind: 'controller',
        company: '统计科技有限公司',
        contact: { phone: ['400-111-1111'] },
        purposes: ['recommendations'],
        purposeText: '统计',
        categories: ['device.model', 'device.installed-apps'],
        method: 'api',
        scenario: '开启推送后',
        deidentified: true,
        consent: 'bundled',
        contracted: true,
      });
    },
    path: '$.recipients[1].categories[1]',
  },
  'TAF-APPLIST/wake-other-apps': {
    mutate: (d) => {
      d.categories.push({ id: 'device.installed-apps' });
      d.purposes.push({
        id: 'keepalive',
        name: '推送保活',
        basis: 'consent',
        required: false,
        categories: ['device.installed-apps'],
        scenario: '后台',
        wakesOtherApps: true,
        retention: [{ trigger: 'consent-withdrawn' }],
      });
    },
    path: '$.purposes[3].wakesOtherApps',
  },
  // sensitive, marketing, minors
  'PIPL-24/non-personalised-option': {
    mutate: (d) => {
      delete must(purpose(d, 'recommendations').marketing, 'marketing').nonPersonalisedOption;
    },
    path: '$.purposes[2].marketing.nonPersonalisedOption',
  },
  'PIPL-24/opt-out': {
    mutate: (d) => {
      delete must(purpose(d, 'recommendations').marketing, 'marketing').optOut;
    },
    path: '$.purposes[2].marketing.optOut',
  },
  'PIPL-24/automated-explanation': {
    mutate: (d) => {
      purpose(d, 'recommendations').automatedDecision = true;
    },
    path: '$.purposes[2].automatedDecision',
  },
  'PIPL-28/necessity': {
    mutate: (d) => {
      delete purpose(d, 'nearby').necessity;
    },
    path: '$.purposes[1].necessity',
  },
  'PIPL-28/separate-consent': {
    mutate: (d) => {
      delete purpose(d, 'nearby').separateConsent;
    },
    path: '$.purposes[1].separateConsent',
  },
  'PIPL-31/minors-missing': {
    mutate: (d) => {
      delete d.minors;
    },
    path: '$.minors',
  },
  'PIPL-31/under-14-rules': {
    mutate: (d) => {
      const m = must(d.minors, 'minors');
      m.ageThreshold = 18;
      delete m.under14Rules;
    },
    path: '$.minors.under14Rules',
  },
  'PIPL-31/guardian-consent': {
    mutate: (d) => {
      delete must(d.minors, 'minors').guardianConsent;
    },
    path: '$.minors.guardianConsent',
  },
  'PIPL-31/threshold-below-14': {
    mutate: (d) => {
      must(d.minors, 'minors').ageThreshold = 12;
    },
    path: '$.minors.ageThreshold',
  },
  // rights
  'PIPL-44/missing-right': {
    mutate: (d) => {
      const rights = must(d.rights, 'rights');
      rights.list = rights.list.filter((r) => r.right !== 'copy');
    },
    path: '$.rights.list',
  },
  'PIPL-47/deletion-conditions': {
    mutate: (d) => {
      rightEntry(d, 'deletion').conditions = '如果我们违反法律法规或与您的约定收集、使用您的个人信息';
    },
    path: '$.rights.list[3].conditions',
  },
  'PIPL-47/delete-on-withdrawal': {
    mutate: (d) => {
      purpose(d, 'recommendations').retention = [{ trigger: 'last-activity', period: 'P1Y' }];
    },
    path: '$.purposes[2].retention',
  },
  'GBT-8.5/cancellation-missing': {
    mutate: (d) => {
      const rights = must(d.rights, 'rights');
      rights.list = rights.list.filter((r) => r.right !== 'cancellation');
      delete rights.cancellation;
    },
    path: '$.rights.list',
  },
  'GBT-8.5/manual-handling': {
    mutate: (d) => {
      rightEntry(d, 'cancellation').responseTime = { value: 20, unit: 'working-days' };
    },
    path: '$.rights.list[4].responseTime',
  },
  'GBT-8.5/verification-excess': {
    mutate: (d) => {
      d.categories.push({ id: 'identity.id-card' });
      must(must(d.rights, 'rights').cancellation, 'cancellation').verification = ['contact.phone', 'identity.id-card'];
    },
    path: '$.rights.cancellation.verification[1]',
  },
  'GBT-8.5/afterwards': {
    mutate: (d) => {
      delete must(must(d.rights, 'rights').cancellation, 'cancellation').afterwards;
    },
    path: '$.rights.cancellation.afterwards',
  },
  'GBT-8.5/preconditions': {
    mutate: (d) => {
      must(must(d.rights, 'rights').cancellation, 'cancellation').preconditions = ['账号内无未完成的订单'];
    },
    path: '$.rights.cancellation.preconditions',
  },
  'GBT-8.7/response-time-missing': {
    mutate: (d) => {
      delete must(d.rights, 'rights').responseTime;
    },
    path: '$.rights.responseTime',
  },
  'GBT-8.7/response-time-exceeds': {
    mutate: (d) => {
      rightEntry(d, 'access').responseTime = { value: 45, unit: 'days' };
    },
    path: '$.rights.list[0].responseTime',
  },
  'GBT-8.7/external-dispute': {
    mutate: (d) => {
      delete must(d.rights, 'rights').externalDispute;
    },
    path: '$.rights.externalDispute',
  },
  // security
  'PIPL-51/no-security': {
    mutate: (d) => {
      delete d.security;
    },
    path: '$.security',
  },
  'PIPL-51/access-control': {
    mutate: (d) => {
      const s = must(d.security, 'security');
      s.measures = s.measures.filter((m) => m !== 'access-control');
    },
    path: '$.security.measures',
  },
  'PIPL-51/encryption-at-rest': {
    mutate: (d) => {
      const s = must(d.security, 'security');
      s.measures = s.measures.filter((m) => m !== 'encryption-at-rest');
      delete s.encryptionAtRest;
    },
    path: '$.security.encryptionAtRest',
  },
  'PIPL-51/incident-plan': {
    mutate: (d) => {
      const s = must(d.security, 'security');
      s.measures = s.measures.filter((m) => m !== 'incident-plan');
    },
    path: '$.security.measures',
  },
  'PIPL-51/training': {
    mutate: (d) => {
      const s = must(d.security, 'security');
      s.measures = s.measures.filter((m) => m !== 'staff-training');
    },
    path: '$.security.measures',
  },
  'GBT-6.1/sensitive-not-encrypted': {
    mutate: (d) => {
      must(d.security, 'security').encryptionAtRest = { algorithm: 'SM4', scope: ['finance.payment'] };
    },
    path: '$.categories[3].encrypted',
  },
  'GBT-6.1/in-transit': {
    mutate: (d) => {
      const s = must(d.security, 'security');
      s.measures = s.measures.filter((m) => m !== 'encryption-in-transit');
      delete s.encryptionInTransit;
    },
    path: '$.security.encryptionInTransit',
  },
  'PIPL-52/dpo': {
    mutate: (d) => {
      d.app.individuals = 2_000_000;
    },
    path: '$.controller.dpo',
  },
  'PIPL-52/individuals-unstated': {
    mutate: (d) => {
      delete d.app.individuals;
    },
    path: '$.app.individuals',
  },
  'PIPL-55/pia': {
    mutate: (d) => {
      delete d.pia;
    },
    path: '$.pia',
  },
  'PIPL-55/pia-date': {
    mutate: (d) => {
      d.pia = { done: true };
    },
    path: '$.pia.date',
  },
  'PIPL-57/incident-notice': {
    mutate: (d) => {
      delete d.incidents;
    },
    path: '$.incidents',
  },
  'PIPL-57/notice-content': {
    mutate: (d) => {
      must(d.incidents, 'incidents').content = ['what-happened', 'impact', 'measures', 'self-protection', 'remedies', 'contact'];
    },
    path: '$.incidents.content',
  },
  'GBT-10.2/notice-content': {
    mutate: (d) => {
      must(d.incidents, 'incidents').content = ['impact', 'categories', 'cause', 'measures', 'self-protection', 'contact'];
    },
    path: '$.incidents.content',
  },
  'GBT-10.2/regulator': {
    mutate: (d) => {
      delete must(d.incidents, 'incidents').reportsToRegulator;
    },
    path: '$.incidents.reportsToRegulator',
  },
  'PIPL-69/liability-disclaimer': {
    mutate: (d) => {
      must(d.security, 'security').liabilityDisclaimer = '对任何因未经授权而接触您个人资料所发生的事件，我们不承担任何责任。';
    },
    path: '$.security.liabilityDisclaimer',
  },
  // device
  'MIIT-3/permission-default-on': {
    mutate: (d) => {
      permission(d).enabledByDefault = true;
    },
    path: '$.permissions[0].enabledByDefault',
  },
  'MIIT-3/permission-at-launch': {
    mutate: (d) => {
      permission(d).requestedAtLaunch = true;
    },
    path: '$.permissions[0].requestedAtLaunch',
  },
  'MIIT-26/permission-timing': {
    mutate: (d) => {
      delete permission(d).requestedWhen;
    },
    path: '$.permissions[0].requestedWhen',
  },
  'MIIT-26/wake-other-apps': {
    mutate: (d) => {
      recipient(d).wakesOtherApps = true;
    },
    path: '$.recipients[0].wakesOtherApps',
  },
  'MIIT-26/self-start': {
    mutate: (d) => {
      recipient(d).selfStart = true;
    },
    path: '$.recipients[0].selfStart',
  },
  'MIIT-164/background-sensitive': {
    mutate: (d) => {
      recipient(d).background = { categories: ['location.precise'], frequency: 'continuous' };
      recipient(d).categories.push('location.precise');
      purpose(d, 'recommendations').categories.push('location.precise');
      const p = purpose(d, 'recommendations');
      p.separateConsent = true;
      p.necessity = '按位置推荐附近演出';
    },
    path: '$.recipients[0].background',
  },
  'MIIT-164/background-collection': {
    mutate: (d) => {
      recipient(d).background = { categories: ['device.model'], frequency: { every: 'PT1H' }, reason: '推送到达率统计' };
    },
    path: '$.recipients[0].background',
  },
  'MIIT-164/frequency': {
    mutate: (d) => {
      must(d.sources?.[1], 'source').frequency = 'continuous';
    },
    path: '$.sources[1].frequency',
  },
  'GB41391-ID/non-security-use': {
    mutate: (d) => {
      d.categories.push({ id: 'device.id.mac' });
      purpose(d, 'recommendations').categories.push('device.id.mac');
    },
    path: '$.purposes[2].categories[2]',
  },
  'NEC/beyond-necessary': {
    mutate: (d) => {
      purpose(d, 'tickets').categories.push('device.model');
    },
    path: '$.purposes[0].categories',
  },
  'NEC/permission-beyond-necessary': {
    mutate: (d) => {
      permission(d).optional = false;
      purpose(d, 'nearby').required = true;
      purpose(d, 'nearby').basis = 'contract';
    },
    path: '$.permissions[0].optional',
  },
  'NEC/type-missing': {
    mutate: (d) => {
      delete d.app.type;
    },
    path: '$.app.type',
  },
};

function findingsOf(findings: readonly LintFinding[], rule: string): LintFinding[] {
  return findings.filter((f) => f.rule === rule);
}

describe('base fixture', () => {
  it('produces no finding at all, so it passes every rule', () => {
    const { result } = lintDraft(base());
    expect(result.findings.map((f) => `${f.rule} ${f.path} ${f.message}`)).toEqual([]);
    expect(result.summary).toEqual({ error: 0, warning: 0, info: 0 });
  });
});

describe('every rule has a failing fixture', () => {
  it('covers each rule in LINT_RULES exactly', () => {
    expect(Object.keys(CASES).sort()).toEqual(LINT_RULES.map((r) => r.key).sort());
  });

  for (const rule of LINT_RULES) {
    const c = CASES[rule.key];
    it(`${rule.key} fires on its fixture (${rule.severity})`, () => {
      if (!c) throw new Error(`no case for ${rule.key}`);
      const d = base();
      c.mutate(d);
      const { loaded, result } = lintDraft(d);
      const hits = findingsOf(result.findings, rule.key);
      expect(
        hits.map((f) => f.path),
        `${rule.key}; all findings: ${result.findings.map((f) => f.rule).join(', ')}`,
      ).toContain(c.path);
      const hit = hits.find((f) => f.path === c.path);
      if (!hit) return;
      expect(hit.severity).toBe(rule.severity);
      expect(hit.id).toBe(rule.key.split('/')[0]);
      const pos = loaded.positions.positionOf(c.path);
      expect([hit.line, hit.column]).toEqual([pos.line, pos.column]);
      // A finding inside an existing section points into it; an absent top-level section falls back to the document.
      const section = c.path.slice(2).split(/[.[]/)[0] ?? '';
      if (section in d) expect(hit.line).toBeGreaterThan(1);
      expect(hit.citation).toBe(rule.citation.zh);
      expect(hit.message.length).toBeGreaterThan(8);
      expect(hit.hint.length).toBeGreaterThan(8);
      // The same fixture in English gives an English message.
      const en = findingsOf(lintDraft(d, 'en').result.findings, rule.key).find((f) => f.path === c.path);
      expect(en?.message).toMatch(/^["A-Z]/);
      expect(en?.citation).toBe(rule.citation.en);
      expect(en?.message).not.toBe(hit.message);
    });
  }
});

/** Rules of one key on a mutated base. */
function fired(mutate: (d: Draft) => void, rule: string): LintFinding[] {
  const d = base();
  mutate(d);
  return findingsOf(lintDraft(d).result.findings, rule);
}

describe('rule boundaries and exemptions', () => {
  it('GBT-8.5/manual-handling: 15 working days or 21 calendar days pass, more fails', () => {
    const at = (value: number, unit: 'days' | 'working-days' | 'hours') =>
      fired((d) => {
        rightEntry(d, 'cancellation').responseTime = { value, unit };
      }, 'GBT-8.5/manual-handling').length;
    expect(at(15, 'working-days')).toBe(0);
    expect(at(16, 'working-days')).toBe(1);
    expect(at(21, 'days')).toBe(0);
    expect(at(22, 'days')).toBe(1);
    expect(at(21 * 24, 'hours')).toBe(0);
    expect(at(21 * 24 + 1, 'hours')).toBe(1);
  });

  it('GBT-8.5/manual-handling: a staff review without any time limit fails; the default time applies', () => {
    const review = (d: Draft) => {
      must(must(d.rights, 'rights').cancellation, 'cancellation').effect = 'after-review';
    };
    expect(fired(review, 'GBT-8.5/manual-handling')).toEqual([]);
    const noTime = fired((d) => {
      review(d);
      delete must(d.rights, 'rights').responseTime;
    }, 'GBT-8.5/manual-handling');
    expect(noTime.map((f) => f.path)).toEqual(['$.rights.list[4].responseTime']);
    const longDefault = fired((d) => {
      must(d.rights, 'rights').responseTime = { value: 30, unit: 'days' };
    }, 'GBT-8.5/manual-handling');
    expect(longDefault.map((f) => f.path)).toEqual(['$.rights.responseTime']);
  });

  it('GBT-8.7/response-time-exceeds: 30 days and 21 working days pass, 31 days and 22 working days fail', () => {
    const at = (value: number, unit: 'days' | 'working-days') =>
      fired((d) => {
        must(d.rights, 'rights').responseTime = { value, unit };
      }, 'GBT-8.7/response-time-exceeds').length;
    expect(at(30, 'days')).toBe(0);
    expect(at(31, 'days')).toBe(1);
    expect(at(21, 'working-days')).toBe(0);
    expect(at(22, 'working-days')).toBe(1);
  });

  it('PIPL-47/deletion-conditions: law-breaking only fails, the other PIPL 47 grounds pass, English text is read too', () => {
    const cond = (text: DeclarationInput['controller']['complaint']) =>
      fired((d) => {
        rightEntry(d, 'deletion').conditions = text;
      }, 'PIPL-47/deletion-conditions').length;
    expect(cond('我们违反法律、行政法规或者违反约定处理个人信息的')).toBe(1);
    expect(cond('处理目的已实现、保存期限届满、您撤回同意，或我们违反法律法规处理个人信息的')).toBe(0);
    expect(cond({ zh: '如果我们违法', en: 'If we process your information in breach of law' })).toBe(1);
    expect(cond('Only if we process your data unlawfully')).toBe(1);
    expect(cond('When the purpose has been achieved, or we process your data unlawfully')).toBe(0);
    expect(cond('需要先核验身份')).toBe(0);
  });

  it('PIPL-23/separate-consent: not for de-identified data, entrusted processors, or purposes that need no consent', () => {
    const bundled = (d: Draft) => {
      recipient(d).consent = 'bundled';
    };
    expect(fired(bundled, 'PIPL-23/separate-consent')).toHaveLength(1);
    expect(
      fired((d) => {
        bundled(d);
        recipient(d).deidentified = true;
      }, 'PIPL-23/separate-consent'),
    ).toEqual([]);
    expect(
      fired((d) => {
        bundled(d);
        recipient(d).kind = 'processor';
        recipient(d).method = 'entrusted';
      }, 'PIPL-23/separate-consent'),
    ).toEqual([]);
    expect(
      fired((d) => {
        bundled(d);
        recipient(d).purposes = ['tickets'];
      }, 'PIPL-23/separate-consent'),
    ).toEqual([]);
  });

  it('MIIT-5 reports provision without any consent; PIPL-23/separate-consent then stays quiet', () => {
    const none = (d: Draft) => {
      recipient(d).consent = 'none';
    };
    expect(fired(none, 'MIIT-5/no-consent')).toHaveLength(1);
    expect(fired(none, 'PIPL-23/separate-consent')).toEqual([]);
  });

  it('PIPL-23/recipient-contact: a privacy-policy link is enough, a bare policy title is not', () => {
    const noContact = (d: Draft) => {
      delete recipient(d).contact;
    };
    expect(fired(noContact, 'PIPL-23/recipient-contact')).toEqual([]);
    const titleOnly = fired((d) => {
      noContact(d);
      delete recipient(d).policyUrl;
      recipient(d).policyTitle = '《推送SDK隐私政策》';
    }, 'PIPL-23/recipient-contact');
    expect(titleOnly[0]?.message).toContain('《推送SDK隐私政策》');
    expect(titleOnly[0]?.message).not.toContain('《《');
  });

  it('MIIT-164: location in the background every hour is a warning; continuously it is an error', () => {
    const bg = (frequency: 'continuous' | { every: string }) => (d: Draft) => {
      recipient(d).background = { categories: ['location.precise'], frequency };
      recipient(d).categories.push('location.precise');
    };
    expect(fired(bg({ every: 'PT1H' }), 'MIIT-164/background-sensitive')).toEqual([]);
    expect(fired(bg({ every: 'PT1H' }), 'MIIT-164/background-collection')).toHaveLength(1);
    expect(fired(bg('continuous'), 'MIIT-164/background-sensitive')).toHaveLength(1);
    expect(fired(bg('continuous'), 'MIIT-164/background-collection')).toEqual([]);
  });

  it('MIIT-164: a background source of immutable identifiers is an error whatever the frequency', () => {
    const hits = fired((d) => {
      d.categories.push({ id: 'device.id.mac' });
      must(d.sources, 'sources').push({
        id: 'sdk-mac',
        kind: 'sdk',
        provider: '某推送SDK',
        categories: ['device.id.mac'],
        background: true,
      });
    }, 'MIIT-164/background-sensitive');
    expect(hits.map((f) => f.path)).toEqual(['$.sources[2].background']);
    expect(hits[0]?.message).toContain('某推送SDK');
    expect(hits[0]?.message).toContain('MAC地址');
  });

  it('GB41391-ID: a security purpose may use immutable identifiers', () => {
    const mac = (name: string) => (d: Draft) => {
      d.categories.push({ id: 'device.id.mac' });
      d.purposes.push({
        id: 'risk',
        name,
        basis: 'consent',
        required: false,
        categories: ['device.id.mac'],
        scenario: '登录时',
        retention: [{ trigger: 'consent-withdrawn' }],
      });
    };
    expect(fired(mac('账号安全风控'), 'GB41391-ID/non-security-use')).toEqual([]);
    expect(fired(mac('消息推送'), 'GB41391-ID/non-security-use')).toHaveLength(1);
  });

  it('NEC: legal duties are exempt, refusing-all-or-nothing makes every purpose required, type none checks nothing', () => {
    const extra = (d: Draft) => {
      purpose(d, 'tickets').categories.push('device.model');
    };
    expect(fired(extra, 'NEC/beyond-necessary')).toHaveLength(1);
    expect(
      fired((d) => {
        extra(d);
        purpose(d, 'tickets').basis = 'legal-duty';
      }, 'NEC/beyond-necessary'),
    ).toEqual([]);
    expect(
      fired((d) => {
        extra(d);
        d.app.type = 'none';
      }, 'NEC/beyond-necessary'),
    ).toEqual([]);
    const forced = fired((d) => {
      must(d.consent, 'consent').refuseAllOrNothing = true;
    }, 'NEC/beyond-necessary');
    expect(forced.map((f) => f.path)).toEqual(['$.purposes[1].categories', '$.purposes[2].categories']);
    expect(forced[0]?.message).toContain('演出票务类');
    expect(forced[0]?.message).toContain('精确位置信息');
  });

  it('PIPL-31/under-14-rules names the threshold when it is above 14', () => {
    const hits = fired((d) => {
      const m = must(d.minors, 'minors');
      m.ageThreshold = 18;
      delete m.under14Rules;
    }, 'PIPL-31/under-14-rules');
    expect(hits[0]?.message).toContain('18 周岁');
  });

  it('GBT-8.5/verification-excess names the category', () => {
    const hits = fired((d) => {
      d.categories.push({ id: 'custom.security-state', label: '账号安全状态', sensitive: false });
      must(must(d.rights, 'rights').cancellation, 'cancellation').verification = ['custom.security-state'];
    }, 'GBT-8.5/verification-excess');
    expect(hits[0]?.message).toContain('账号安全状态');
  });
});

describe('positions come from the YAML text', () => {
  const text = `pipa: 1
app:
  id: demo
  name: 演示
  products:
    - name: 演示
      platforms: [android]
  type: none
controller:
  legalName: 演示科技有限公司
  phone: ["400-000-0000"]
versions:
  - version: "1.0"
    effective: 2025-01-01
consent:
  impliedByUse: true
categories:
  - id: contact.phone
purposes:
  - id: account
    name: 账号
    categories: [contact.phone]
recipients:
  - id: stats
    name: 统计SDK
    kind: sdk
    purposes: [account]
    categories: [contact.phone]
    method: sdk
    consent: bundled
`;
  const loaded = loadDeclaration(text, 'demo.yaml');
  const { findings } = lintDeclaration(loaded);
  const at = (rule: string) => findings.find((f) => f.rule === rule);

  it('points at the value of the offending field', () => {
    expect(at('PIPL-14/implied-consent')).toMatchObject({ path: '$.consent.impliedByUse', line: 16, column: 17 });
    expect(at('PIPL-23/separate-consent')).toMatchObject({ path: '$.recipients[0].consent', line: 30, column: 14 });
  });

  it('falls back to the nearest existing ancestor for an absent field', () => {
    expect(at('PIPL-13/basis-missing')).toMatchObject({ path: '$.purposes[0].basis', line: 20, column: 5 });
    expect(at('PIPL-23/recipient-company')).toMatchObject({ path: '$.recipients[0].company', line: 24, column: 5 });
    expect(at('PIPL-15/withdrawal-channel')).toMatchObject({ path: '$.rights.withdrawal', line: 1, column: 1 });
  });

  it('sorts findings by line, then column', () => {
    const keys = findings.map((f) => f.line * 10_000 + f.column);
    expect(keys).toEqual([...keys].sort((a, b) => a - b));
  });

  it('gives 1:1 for a declaration without positions (a JSON body)', () => {
    const bare = lintDeclaration({ declaration: loaded.declaration });
    expect(bare.findings.map((f) => f.rule).sort()).toEqual(findings.map((f) => f.rule).sort());
    expect(bare.findings.every((f) => f.line === 1 && f.column === 1)).toBe(true);
  });

  it('writes zh by default and en on request, with the names from the declaration', () => {
    expect(at('PIPL-23/separate-consent')?.message).toBe(
      '向SDK“统计SDK”（stats）提供“手机号码”，仅随隐私政策整体同意（bundled），没有单独同意。',
    );
    const en = lintDeclaration(loaded, { lang: 'en' }).findings.find((f) => f.rule === 'PIPL-23/separate-consent');
    expect(en?.message).toBe(
      'SDK "统计SDK" (stats) receives "Mobile phone number" only bundled with the policy, without separate consent.',
    );
    expect(en?.citation).toBe('Personal Information Protection Law of the PRC (PIPL), art. 23');
  });
});
