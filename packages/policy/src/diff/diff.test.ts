import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadDeclaration, validateDeclaration } from '../load.js';
import type { Declaration, PurposeDecl, RecipientDecl } from '../schema.js';
import { diffDeclarations } from './diff.js';
import { diffToJson, formatDiffText } from './format.js';
import { CHANGE_KINDS, type ChangeKind } from './types.js';

const BASE = `pipa: 1
app:
  id: demo
  name: { zh: 演示, en: Demo }
  products:
    - name: 演示
      platforms: [android, ios]
  website: https://demo.example.com
controller:
  legalName: 演示科技有限公司
  phone: ["400-000-0000"]
  dpo:
    name: 张三
    email: [dpo@demo.example.com]
versions:
  - version: "1.0"
    published: 2024-01-01
    effective: 2024-01-02
consent:
  firstLaunchDialog: true
  reaskAfterHours: 48
categories:
  - id: contact.phone
  - id: basic.name
  - id: location.precise
  - id: device.id.android-id
  - id: device.model
  - id: custom.level
    label: { zh: 会员等级, en: Membership level }
    sensitive: false
sources:
  - id: signup
    kind: registration-form
    categories: [contact.phone, basic.name]
  - id: gps
    kind: device-api
    categories: [location.precise]
    frequency: on-use
purposes:
  - id: account
    name: { zh: 账号注册与登录, en: Account }
    basis: contract
    required: true
    categories: [contact.phone, basic.name]
    sources: [signup]
    scenario: 注册时填写
    retention:
      - trigger: account-cancellation
  - id: nearby
    name: { zh: 附近的演出, en: Nearby shows }
    basis: consent
    required: false
    separateConsent: true
    categories: [location.precise]
    sources: [gps]
    retention:
      - trigger: collection
        period: P6M
  - id: push
    name: { zh: 消息推送, en: Push }
    basis: consent
    categories: [device.id.android-id, device.model]
    marketing:
      personalised: false
      nonPersonalisedOption: true
      optOut: 设置中关闭
      channels: [push]
    retention:
      - trigger: consent-withdrawn
      - trigger: collection
        period: P1Y
        categories: [device.model]
permissions:
  - id: location
    name: 位置
    android: [android.permission.ACCESS_FINE_LOCATION]
    purposes: [nearby]
    categories: [location.precise]
    requestedWhen: 打开附近的演出时
    optional: true
recipients:
  - id: getui
    name: 个推SDK
    kind: sdk
    company: 每日互动股份有限公司
    purposes: [push]
    categories: [device.id.android-id]
    method: sdk
    deidentified: true
    consent: separate
    policyUrl: https://docs.getui.com/privacy
    background:
      categories: [device.id.android-id]
      frequency: { every: PT1H }
  - id: cloud
    name: 云服务商
    kind: processor
    purposes: [account]
    categories: [contact.phone]
    method: entrusted
    consent: bundled
cookies:
  used: true
  categories: [device.model]
  purposes: [push]
  canRefuse: true
minors:
  ageThreshold: 14
  guardianConsent: true
  under14Rules: 儿童个人信息保护规则
rights:
  responseTime: { value: 15, unit: days }
  externalDispute: 向住所地人民法院起诉
  withdrawal: 设置-隐私-撤回同意
  list:
    - right: access
      channels: [{ kind: in-app, detail: 我的-设置 }, { kind: email }]
    - right: deletion
      channels: [{ kind: in-app }]
      responseTime: { value: 10, unit: working-days }
    - right: cancellation
      channels: [{ kind: in-app }]
  cancellation:
    effect: immediate
    preconditions: [无未完成订单]
security:
  measures: [encryption-at-rest, access-control]
incidents:
  channels: [sms]
storage:
  location: 中华人民共和国境内
  crossBorder:
    - country: SG
      categories: [device.model]
      separateConsent: true
disclosure:
  public:
    occurs: false
  transfer:
    occurs: false
`;

function base(): Declaration {
  return structuredClone(loadDeclaration(BASE, 'base.yaml').declaration);
}

function purpose(d: Declaration, id: string): PurposeDecl {
  const p = d.purposes.find((x) => x.id === id);
  if (!p) throw new Error(`no purpose ${id}`);
  return p;
}

function recipient(d: Declaration, id: string): RecipientDecl {
  const r = d.recipients?.find((x) => x.id === id);
  if (!r) throw new Error(`no recipient ${id}`);
  return r;
}

function rights(d: Declaration): NonNullable<Declaration['rights']> {
  if (!d.rights) throw new Error('no rights');
  return d.rights;
}

/** Apply a change to a copy of BASE, check it is still a valid declaration, and diff BASE -> it. */
function diffAfter(mutate: (d: Declaration) => void, from: (d: Declaration) => void = () => {}) {
  const before = base();
  from(before);
  const after = structuredClone(before);
  mutate(after);
  return diffDeclarations(validateDeclaration(before), validateDeclaration(after));
}

type Expected = { kind: ChangeKind; path: string; material: boolean };

interface Case {
  name: string;
  mutate: (d: Declaration) => void;
  /** Prepare the old version first (for changes that start from a state BASE is not in). */
  from?: (d: Declaration) => void;
  expect: Expected[];
}

const M = true;
const E = false;

const CASES: Case[] = [
  // --- purposes
  {
    name: 'new purpose',
    mutate: (d) => {
      d.purposes.push({ id: 'ads', name: '广告', basis: 'consent', categories: ['device.model'] });
    },
    expect: [{ kind: 'purpose.added', path: '$.purposes[3]', material: M }],
  },
  {
    name: 'removed purpose (narrowing)',
    mutate: (d) => {
      d.purposes = d.purposes.filter((p) => p.id !== 'nearby');
      d.permissions = [];
      d.sources = d.sources?.filter((s) => s.id !== 'gps');
    },
    expect: [
      { kind: 'source.removed', path: '$.sources[1]', material: E },
      { kind: 'purpose.removed', path: '$.purposes[1]', material: E },
      { kind: 'permission.removed', path: '$.permissions[0]', material: E },
    ],
  },
  {
    name: 'a purpose uses a new category',
    mutate: (d) => {
      purpose(d, 'account').categories.push('custom.level');
    },
    expect: [{ kind: 'purpose.category-added', path: '$.purposes[0].categories', material: M }],
  },
  {
    name: 'a purpose drops a category',
    mutate: (d) => {
      purpose(d, 'push').categories = ['device.id.android-id'];
      purpose(d, 'push').retention = [{ trigger: 'consent-withdrawn', action: 'delete' }];
      if (d.cookies) d.cookies.categories = [];
    },
    expect: [
      { kind: 'purpose.category-removed', path: '$.purposes[2].categories', material: E },
      { kind: 'cookies.narrowed', path: '$.cookies', material: E },
    ],
  },
  {
    name: 'a purpose collects through a new source',
    mutate: (d) => {
      purpose(d, 'account').sources = ['signup', 'gps'];
    },
    expect: [{ kind: 'purpose.source-added', path: '$.purposes[0].sources', material: M }],
  },
  {
    name: 'a purpose no longer uses a source',
    mutate: (d) => {
      purpose(d, 'account').sources = [];
    },
    expect: [{ kind: 'purpose.source-removed', path: '$.purposes[0].sources', material: E }],
  },
  {
    name: 'lawful basis contract -> consent',
    mutate: (d) => {
      purpose(d, 'account').basis = 'consent';
    },
    expect: [{ kind: 'purpose.basis-changed', path: '$.purposes[0].basis', material: M }],
  },
  {
    name: 'lawful basis consent -> legal duty',
    mutate: (d) => {
      purpose(d, 'nearby').basis = 'legal-duty';
    },
    expect: [{ kind: 'purpose.basis-changed', path: '$.purposes[1].basis', material: M }],
  },
  {
    name: 'lawful basis contract -> legal duty (neither is consent)',
    mutate: (d) => {
      purpose(d, 'account').basis = 'legal-duty';
    },
    expect: [{ kind: 'purpose.basis-changed', path: '$.purposes[0].basis', material: E }],
  },
  {
    name: 'an optional purpose becomes required',
    mutate: (d) => {
      purpose(d, 'nearby').required = true;
    },
    expect: [{ kind: 'purpose.made-required', path: '$.purposes[1].required', material: M }],
  },
  {
    name: 'separate consent becomes bundled',
    mutate: (d) => {
      purpose(d, 'nearby').separateConsent = false;
    },
    expect: [{ kind: 'purpose.separate-consent-removed', path: '$.purposes[1].separateConsent', material: M }],
  },
  {
    name: 'marketing becomes personalised',
    mutate: (d) => {
      const p = purpose(d, 'push');
      if (p.marketing) p.marketing.personalised = true;
    },
    expect: [{ kind: 'purpose.marketing-widened', path: '$.purposes[2].marketing', material: M }],
  },
  {
    name: 'marketing added to a purpose',
    mutate: (d) => {
      purpose(d, 'account').marketing = { personalised: false };
    },
    expect: [{ kind: 'purpose.marketing-widened', path: '$.purposes[0].marketing', material: M }],
  },
  {
    name: 'automated decision-making added',
    mutate: (d) => {
      purpose(d, 'push').automatedDecision = true;
    },
    expect: [{ kind: 'purpose.automated-decision-added', path: '$.purposes[2].automatedDecision', material: M }],
  },
  {
    name: 'a purpose wakes other apps',
    mutate: (d) => {
      purpose(d, 'push').wakesOtherApps = true;
    },
    expect: [{ kind: 'purpose.wakes-other-apps', path: '$.purposes[2].wakesOtherApps', material: M }],
  },
  {
    name: 'a required purpose becomes optional (narrowing)',
    mutate: (d) => {
      purpose(d, 'account').required = false;
    },
    expect: [{ kind: 'purpose.narrowed', path: '$.purposes[0].required', material: E }],
  },
  {
    name: 'marketing narrowed: a channel dropped',
    mutate: (d) => {
      const p = purpose(d, 'push');
      if (p.marketing) p.marketing.channels = [];
    },
    expect: [{ kind: 'purpose.narrowed', path: '$.purposes[2].marketing', material: E }],
  },
  // --- retention
  {
    name: 'retention P6M -> P3Y is longer',
    mutate: (d) => {
      purpose(d, 'nearby').retention = [{ trigger: 'collection', period: 'P3Y', action: 'delete' }];
    },
    expect: [{ kind: 'retention.longer', path: '$.purposes[1].retention[0]', material: M }],
  },
  {
    name: 'retention P6M -> P1Y6M is longer, P6M -> P180D is shorter',
    mutate: (d) => {
      purpose(d, 'nearby').retention = [{ trigger: 'collection', period: 'P180D', action: 'delete' }];
      purpose(d, 'push').retention = [
        { trigger: 'consent-withdrawn', action: 'delete' },
        { trigger: 'collection', period: 'P1Y6M', categories: ['device.model'], action: 'delete' },
      ];
    },
    expect: [
      { kind: 'retention.shorter', path: '$.purposes[1].retention[0]', material: E },
      { kind: 'retention.longer', path: '$.purposes[2].retention[1]', material: M },
    ],
  },
  {
    name: 'the same retention written differently (P6M -> P0Y6M) is no change',
    mutate: (d) => {
      purpose(d, 'nearby').retention = [{ trigger: 'collection', period: 'P0Y6M', action: 'delete' }];
    },
    expect: [],
  },
  {
    name: 'until the trigger -> a period after the trigger is longer',
    mutate: (d) => {
      purpose(d, 'account').retention = [{ trigger: 'account-cancellation', period: 'P3Y', action: 'delete' }];
    },
    expect: [{ kind: 'retention.longer', path: '$.purposes[0].retention[0]', material: M }],
  },
  {
    name: 'a period after the trigger -> until the trigger is shorter',
    from: (d) => {
      purpose(d, 'account').retention = [{ trigger: 'account-cancellation', period: 'P30D', action: 'delete' }];
    },
    mutate: (d) => {
      purpose(d, 'account').retention = [{ trigger: 'account-cancellation', action: 'delete' }];
    },
    expect: [{ kind: 'retention.shorter', path: '$.purposes[0].retention[0]', material: E }],
  },
  {
    name: 'the retention disappears',
    mutate: (d) => {
      delete purpose(d, 'nearby').retention;
    },
    expect: [{ kind: 'retention.removed', path: '$.purposes[1].retention[0]', material: M }],
  },
  {
    name: 'one deletion event removed while another stays',
    mutate: (d) => {
      purpose(d, 'push').retention = [{ trigger: 'collection', period: 'P1Y', categories: ['device.model'], action: 'delete' }];
    },
    expect: [
      // android-id had only the withdrawal rule: nothing left
      { kind: 'retention.removed', path: '$.purposes[2].retention[0]', material: M },
      // device.model keeps the 1-year rule but loses deletion at withdrawal
      { kind: 'retention.trigger-removed', path: '$.purposes[2].retention[0]', material: M },
    ],
  },
  {
    name: 'trigger replaced: until cancellation -> 3 years after collection is material',
    mutate: (d) => {
      purpose(d, 'account').retention = [{ trigger: 'collection', period: 'P3Y', action: 'delete' }];
    },
    expect: [
      { kind: 'retention.trigger-removed', path: '$.purposes[0].retention[0]', material: M },
      { kind: 'retention.added', path: '$.purposes[0].retention[0]', material: E },
    ],
  },
  {
    name: 'a new deletion promise',
    mutate: (d) => {
      purpose(d, 'account').retention?.push({ trigger: 'last-activity', period: 'P2Y', action: 'delete' });
    },
    expect: [{ kind: 'retention.added', path: '$.purposes[0].retention[1]', material: E }],
  },
  {
    name: 'delete -> anonymise at the same time',
    mutate: (d) => {
      purpose(d, 'nearby').retention = [{ trigger: 'collection', period: 'P6M', action: 'anonymise' }];
    },
    expect: [{ kind: 'retention.action-changed', path: '$.purposes[1].retention[0]', material: E }],
  },
  // --- categories
  {
    name: 'a new non-sensitive category declared',
    mutate: (d) => {
      d.categories.push({ id: 'contact.email' });
    },
    expect: [{ kind: 'category.added', path: '$.categories[6]', material: E }],
  },
  {
    name: 'a new sensitive category',
    mutate: (d) => {
      d.categories.push({ id: 'identity.id-card' });
    },
    expect: [{ kind: 'category.sensitive-added', path: '$.categories[6]', material: M }],
  },
  {
    name: 'a category raised to sensitive',
    mutate: (d) => {
      const c = d.categories.find((x) => x.id === 'contact.phone');
      if (c) c.sensitive = true;
    },
    expect: [{ kind: 'category.sensitive-raised', path: '$.categories[0].sensitive', material: M }],
  },
  {
    name: 'a custom category lowered from sensitive',
    from: (d) => {
      const c = d.categories.find((x) => x.id === 'custom.level');
      if (c) c.sensitive = true;
    },
    mutate: (d) => {
      const c = d.categories.find((x) => x.id === 'custom.level');
      if (c) c.sensitive = false;
    },
    expect: [{ kind: 'category.sensitive-lowered', path: '$.categories[5].sensitive', material: M }],
  },
  {
    name: 'an unused category removed',
    mutate: (d) => {
      d.categories = d.categories.filter((c) => c.id !== 'custom.level');
    },
    expect: [{ kind: 'category.removed', path: '$.categories[5]', material: E }],
  },
  {
    name: 'a category label reworded',
    mutate: (d) => {
      const c = d.categories.find((x) => x.id === 'custom.level');
      if (c) c.label = { zh: '会员级别', en: 'Membership level' };
    },
    expect: [{ kind: 'text.changed', path: '$.categories[5].label', material: E }],
  },
  // --- sources
  {
    name: 'a new source',
    mutate: (d) => {
      d.sources?.push({ id: 'crash', kind: 'sdk', categories: ['device.model'], background: false });
    },
    expect: [{ kind: 'source.added', path: '$.sources[2]', material: M }],
  },
  {
    name: 'a source removed',
    mutate: (d) => {
      d.sources = d.sources?.filter((s) => s.id !== 'gps');
      purpose(d, 'nearby').sources = [];
    },
    expect: [
      { kind: 'source.removed', path: '$.sources[1]', material: E },
      { kind: 'purpose.source-removed', path: '$.purposes[1].sources', material: E },
    ],
  },
  {
    name: 'a source collects a new category',
    mutate: (d) => {
      d.sources?.[0]?.categories.push('custom.level');
    },
    expect: [{ kind: 'source.category-added', path: '$.sources[0].categories', material: M }],
  },
  {
    name: 'a source collects fewer categories',
    mutate: (d) => {
      const s = d.sources?.[0];
      if (s) s.categories = ['contact.phone'];
    },
    expect: [{ kind: 'source.category-removed', path: '$.sources[0].categories', material: E }],
  },
  {
    name: 'a source changes its collection method',
    mutate: (d) => {
      const s = d.sources?.[1];
      if (s) s.kind = 'sdk';
    },
    expect: [{ kind: 'source.kind-changed', path: '$.sources[1].kind', material: M }],
  },
  {
    name: 'background collection added',
    mutate: (d) => {
      const s = d.sources?.[1];
      if (s) s.background = true;
    },
    expect: [{ kind: 'source.background-added', path: '$.sources[1].background', material: M }],
  },
  {
    name: 'collection more often',
    mutate: (d) => {
      const s = d.sources?.[1];
      if (s) s.frequency = 'continuous';
    },
    expect: [{ kind: 'source.frequency-increased', path: '$.sources[1].frequency', material: M }],
  },
  {
    name: 'collection less often',
    mutate: (d) => {
      const s = d.sources?.[1];
      if (s) s.frequency = 'once';
    },
    expect: [{ kind: 'source.narrowed', path: '$.sources[1].frequency', material: E }],
  },
  // --- permissions
  {
    name: 'a new permission',
    mutate: (d) => {
      d.permissions?.push({ id: 'camera', name: '相机', android: ['android.permission.CAMERA'], purposes: ['account'] });
    },
    expect: [{ kind: 'permission.added', path: '$.permissions[1]', material: M }],
  },
  {
    name: 'a new system permission inside a declared permission',
    mutate: (d) => {
      d.permissions?.[0]?.android?.push('android.permission.ACCESS_BACKGROUND_LOCATION');
    },
    expect: [{ kind: 'permission.system-permission-added', path: '$.permissions[0].android', material: M }],
  },
  {
    name: 'a system permission no longer requested',
    mutate: (d) => {
      const p = d.permissions?.[0];
      if (p) p.android = ['android.permission.ACCESS_COARSE_LOCATION'];
    },
    expect: [
      { kind: 'permission.system-permission-added', path: '$.permissions[0].android', material: M },
      { kind: 'permission.system-permission-removed', path: '$.permissions[0].android', material: E },
    ],
  },
  {
    name: 'a permission serves a new purpose',
    mutate: (d) => {
      d.permissions?.[0]?.purposes.push('push');
    },
    expect: [{ kind: 'permission.purpose-added', path: '$.permissions[0].purposes', material: M }],
  },
  {
    name: 'a permission obtains a new category',
    mutate: (d) => {
      d.permissions?.[0]?.categories?.push('device.model');
    },
    expect: [{ kind: 'permission.category-added', path: '$.permissions[0].categories', material: M }],
  },
  {
    name: 'a permission requested at launch',
    mutate: (d) => {
      const p = d.permissions?.[0];
      if (p) p.requestedAtLaunch = true;
    },
    expect: [{ kind: 'permission.requested-at-launch', path: '$.permissions[0].requestedAtLaunch', material: M }],
  },
  {
    name: 'a permission enabled by default',
    mutate: (d) => {
      const p = d.permissions?.[0];
      if (p) p.enabledByDefault = true;
    },
    expect: [{ kind: 'permission.enabled-by-default', path: '$.permissions[0].enabledByDefault', material: M }],
  },
  {
    name: 'an optional permission becomes required',
    mutate: (d) => {
      const p = d.permissions?.[0];
      if (p) p.optional = false;
    },
    expect: [{ kind: 'permission.made-required', path: '$.permissions[0].optional', material: M }],
  },
  {
    name: 'a permission no longer requested at launch',
    from: (d) => {
      const p = d.permissions?.[0];
      if (p) p.requestedAtLaunch = true;
    },
    mutate: (d) => {
      const p = d.permissions?.[0];
      if (p) p.requestedAtLaunch = false;
    },
    expect: [{ kind: 'permission.narrowed', path: '$.permissions[0].requestedAtLaunch', material: E }],
  },
  // --- recipients
  {
    name: 'a new recipient',
    mutate: (d) => {
      d.recipients?.push({
        id: 'umeng',
        name: '友盟SDK',
        kind: 'sdk',
        purposes: ['push'],
        categories: ['device.model'],
        method: 'sdk',
        deidentified: false,
      });
    },
    expect: [{ kind: 'recipient.added', path: '$.recipients[2]', material: M }],
  },
  {
    name: 'a recipient removed',
    mutate: (d) => {
      d.recipients = d.recipients?.filter((r) => r.id !== 'cloud');
    },
    expect: [{ kind: 'recipient.removed', path: '$.recipients[1]', material: E }],
  },
  {
    name: 'a recipient receives more categories',
    mutate: (d) => {
      recipient(d, 'getui').categories.push('device.model');
    },
    expect: [{ kind: 'recipient.category-added', path: '$.recipients[0].categories', material: M }],
  },
  {
    name: 'a recipient receives data for more purposes',
    mutate: (d) => {
      recipient(d, 'getui').purposes.push('nearby');
    },
    expect: [{ kind: 'recipient.purpose-added', path: '$.recipients[0].purposes', material: M }],
  },
  {
    name: 'entrusted processing becomes provision by API',
    mutate: (d) => {
      recipient(d, 'cloud').method = 'api';
    },
    expect: [{ kind: 'recipient.method-widened', path: '$.recipients[1].method', material: M }],
  },
  {
    name: 'a processor becomes a controller',
    mutate: (d) => {
      recipient(d, 'cloud').kind = 'controller';
    },
    expect: [{ kind: 'recipient.kind-widened', path: '$.recipients[1].kind', material: M }],
  },
  {
    name: 'de-identified -> identified',
    mutate: (d) => {
      recipient(d, 'getui').deidentified = false;
    },
    expect: [{ kind: 'recipient.identified', path: '$.recipients[0].deidentified', material: M }],
  },
  {
    name: 'separate -> bundled consent for a recipient',
    mutate: (d) => {
      recipient(d, 'getui').consent = 'bundled';
    },
    expect: [{ kind: 'recipient.consent-weakened', path: '$.recipients[0].consent', material: M }],
  },
  {
    name: 'background collection by a recipient added',
    mutate: (d) => {
      recipient(d, 'cloud').background = { categories: ['contact.phone'] };
    },
    expect: [{ kind: 'recipient.background-added', path: '$.recipients[1].background', material: M }],
  },
  {
    name: 'background collection by a recipient more often',
    mutate: (d) => {
      const b = recipient(d, 'getui').background;
      if (b) b.frequency = { every: 'PT5M' };
    },
    expect: [{ kind: 'recipient.background-widened', path: '$.recipients[0].background', material: M }],
  },
  {
    name: 'a recipient wakes other apps',
    mutate: (d) => {
      recipient(d, 'getui').wakesOtherApps = true;
    },
    expect: [{ kind: 'recipient.wakes-other-apps', path: '$.recipients[0].wakesOtherApps', material: M }],
  },
  {
    name: 'a recipient starts itself',
    mutate: (d) => {
      recipient(d, 'getui').selfStart = true;
    },
    expect: [{ kind: 'recipient.self-start', path: '$.recipients[0].selfStart', material: M }],
  },
  {
    name: 'a recipient moves abroad',
    mutate: (d) => {
      recipient(d, 'getui').crossBorder = true;
    },
    expect: [{ kind: 'recipient.cross-border-added', path: '$.recipients[0].crossBorder', material: M }],
  },
  {
    name: 'another company behind a recipient',
    mutate: (d) => {
      recipient(d, 'getui').company = '另一家推送公司';
    },
    expect: [{ kind: 'recipient.company-changed', path: '$.recipients[0].company', material: M }],
  },
  {
    name: 'a recipient stops background collection',
    mutate: (d) => {
      const r = recipient(d, 'getui');
      delete r.background;
    },
    expect: [{ kind: 'recipient.narrowed', path: '$.recipients[0].background', material: E }],
  },
  {
    name: 'a recipient product renamed and its policy URL changed',
    mutate: (d) => {
      const r = recipient(d, 'getui');
      r.name = '个推推送SDK';
      r.policyUrl = 'https://www.getui.com/privacy';
    },
    expect: [
      { kind: 'text.changed', path: '$.recipients[0].name', material: E },
      { kind: 'url.changed', path: '$.recipients[0].policyUrl', material: E },
    ],
  },
  // --- cookies
  {
    name: 'cookies introduced',
    from: (d) => {
      delete d.cookies;
    },
    mutate: (d) => {
      d.cookies = { used: true, purposes: ['push'] };
    },
    expect: [{ kind: 'cookies.added', path: '$.cookies.used', material: M }],
  },
  {
    name: 'cookies widened: third-party cookies',
    mutate: (d) => {
      if (d.cookies) d.cookies.thirdParty = true;
    },
    expect: [{ kind: 'cookies.widened', path: '$.cookies', material: M }],
  },
  {
    name: 'cookies no longer used',
    mutate: (d) => {
      if (d.cookies) d.cookies.used = false;
    },
    expect: [{ kind: 'cookies.narrowed', path: '$.cookies.used', material: E }],
  },
  // --- minors
  {
    name: 'minors threshold lowered',
    mutate: (d) => {
      if (d.minors) d.minors.ageThreshold = 12;
    },
    expect: [{ kind: 'minors.threshold-lowered', path: '$.minors.ageThreshold', material: M }],
  },
  {
    name: 'minors threshold raised',
    mutate: (d) => {
      if (d.minors) d.minors.ageThreshold = 18;
    },
    expect: [{ kind: 'minors.threshold-raised', path: '$.minors.ageThreshold', material: E }],
  },
  {
    name: 'guardian consent removed',
    mutate: (d) => {
      if (d.minors) d.minors.guardianConsent = false;
    },
    expect: [{ kind: 'minors.guardian-consent-removed', path: '$.minors.guardianConsent', material: M }],
  },
  {
    name: 'under-14 rules removed',
    mutate: (d) => {
      if (d.minors) delete d.minors.under14Rules;
    },
    expect: [{ kind: 'minors.rules-removed', path: '$.minors.under14Rules', material: M }],
  },
  {
    name: 'the app is now directed at children',
    mutate: (d) => {
      if (d.minors) d.minors.directedAtChildren = true;
    },
    expect: [{ kind: 'minors.directed-at-children', path: '$.minors.directedAtChildren', material: M }],
  },
  {
    name: 'the minors section removed',
    mutate: (d) => {
      delete d.minors;
    },
    expect: [{ kind: 'minors.removed', path: '$.minors', material: M }],
  },
  {
    name: 'the minors section added',
    from: (d) => {
      delete d.minors;
    },
    mutate: (d) => {
      d.minors = { ageThreshold: 14, guardianConsent: true };
    },
    expect: [{ kind: 'minors.added', path: '$.minors', material: E }],
  },
  {
    name: 'the app is no longer directed at children',
    from: (d) => {
      if (d.minors) d.minors.directedAtChildren = true;
    },
    mutate: (d) => {
      if (d.minors) d.minors.directedAtChildren = false;
    },
    expect: [{ kind: 'minors.narrowed', path: '$.minors.directedAtChildren', material: E }],
  },
  // --- rights
  {
    name: 'a right removed',
    mutate: (d) => {
      rights(d).list = rights(d).list.filter((r) => r.right !== 'deletion');
    },
    expect: [{ kind: 'right.removed', path: '$.rights.list[1]', material: M }],
  },
  {
    name: 'a right added',
    mutate: (d) => {
      rights(d).list.push({ right: 'copy', channels: [{ kind: 'in-app' }] });
    },
    expect: [{ kind: 'right.added', path: '$.rights.list[3]', material: E }],
  },
  {
    name: 'a right loses a channel',
    mutate: (d) => {
      const r = rights(d).list[0];
      if (r) r.channels = [{ kind: 'in-app', detail: '我的-设置' }];
    },
    expect: [{ kind: 'right.channel-removed', path: '$.rights.list[0].channels[1]', material: M }],
  },
  {
    name: 'a right gains a channel',
    mutate: (d) => {
      rights(d).list[1]?.channels.push({ kind: 'phone' });
    },
    expect: [{ kind: 'right.channel-added', path: '$.rights.list[1].channels[1]', material: E }],
  },
  {
    name: 'a slower answer: 10 working days -> 30 days',
    mutate: (d) => {
      const r = rights(d).list[1];
      if (r) r.responseTime = { value: 30, unit: 'days' };
    },
    expect: [{ kind: 'right.response-slower', path: '$.rights.list[1].responseTime', material: M }],
  },
  {
    name: 'a slower default answer affects each right that relies on it',
    mutate: (d) => {
      rights(d).responseTime = { value: 30, unit: 'days' };
    },
    expect: [
      { kind: 'right.response-slower', path: '$.rights.responseTime', material: M },
      { kind: 'right.response-slower', path: '$.rights.responseTime', material: M },
    ],
  },
  {
    name: 'a faster answer: 15 days -> 10 working days',
    mutate: (d) => {
      const r = rights(d).list[0];
      if (r) r.responseTime = { value: 10, unit: 'working-days' };
    },
    expect: [{ kind: 'right.response-faster', path: '$.rights.list[0].responseTime', material: E }],
  },
  {
    name: 'the promised answer time disappears',
    mutate: (d) => {
      const r = rights(d).list[1];
      if (r) delete r.responseTime;
      delete rights(d).responseTime;
    },
    expect: [
      { kind: 'right.response-time-removed', path: '$.rights.responseTime', material: M },
      { kind: 'right.response-time-removed', path: '$.rights.list[1].responseTime', material: M },
      { kind: 'right.response-time-removed', path: '$.rights.responseTime', material: M },
    ],
  },
  {
    name: 'an answer time promised for the first time',
    from: (d) => {
      delete rights(d).responseTime;
    },
    mutate: (d) => {
      const r = rights(d).list[0];
      if (r) r.responseTime = { value: 15, unit: 'days' };
    },
    expect: [{ kind: 'right.response-time-added', path: '$.rights.list[0].responseTime', material: E }],
  },
  {
    name: 'conditions put on a right',
    mutate: (d) => {
      const r = rights(d).list[1];
      if (r) r.conditions = '仅在我们违反法律规定时';
    },
    expect: [{ kind: 'right.conditions-changed', path: '$.rights.list[1].conditions', material: M }],
  },
  {
    name: 'conditions lifted from a right',
    from: (d) => {
      const r = rights(d).list[1];
      if (r) r.conditions = '仅在我们违反法律规定时';
    },
    mutate: (d) => {
      const r = rights(d).list[1];
      if (r) delete r.conditions;
    },
    expect: [{ kind: 'right.conditions-removed', path: '$.rights.list[1].conditions', material: E }],
  },
  {
    name: 'a right asks for more verification',
    mutate: (d) => {
      const r = rights(d).list[0];
      if (r) r.verification = ['basic.name'];
    },
    expect: [{ kind: 'right.verification-added', path: '$.rights.list[0].verification', material: M }],
  },
  {
    name: 'the external dispute route is no longer stated',
    mutate: (d) => {
      delete rights(d).externalDispute;
    },
    expect: [{ kind: 'rights.dispute-route-removed', path: '$.rights.externalDispute', material: M }],
  },
  {
    name: 'how to withdraw consent is no longer stated',
    mutate: (d) => {
      delete rights(d).withdrawal;
    },
    expect: [{ kind: 'rights.withdrawal-removed', path: '$.rights.withdrawal', material: M }],
  },
  {
    name: 'account cancellation needs review',
    mutate: (d) => {
      const c = rights(d).cancellation;
      if (c) c.effect = 'after-review';
    },
    expect: [{ kind: 'cancellation.harder', path: '$.rights.cancellation.effect', material: M }],
  },
  {
    name: 'account cancellation precondition dropped',
    mutate: (d) => {
      const c = rights(d).cancellation;
      if (c) c.preconditions = [];
    },
    expect: [{ kind: 'cancellation.easier', path: '$.rights.cancellation.preconditions', material: E }],
  },
  // --- consent model
  {
    name: 'consent implied by use',
    mutate: (d) => {
      if (d.consent) d.consent.impliedByUse = true;
    },
    expect: [{ kind: 'consent.weakened', path: '$.consent.impliedByUse', material: M }],
  },
  {
    name: 're-asking sooner after a refusal',
    mutate: (d) => {
      if (d.consent) d.consent.reaskAfterHours = 24;
    },
    expect: [{ kind: 'consent.weakened', path: '$.consent.reaskAfterHours', material: M }],
  },
  {
    name: 'consent no longer pre-ticked',
    from: (d) => {
      if (d.consent) d.consent.preTicked = true;
    },
    mutate: (d) => {
      if (d.consent) d.consent.preTicked = false;
    },
    expect: [{ kind: 'consent.strengthened', path: '$.consent.preTicked', material: E }],
  },
  // --- storage, cross-border
  {
    name: 'storage location changed',
    mutate: (d) => {
      if (d.storage) d.storage.location = '新加坡';
    },
    expect: [{ kind: 'storage.location-changed', path: '$.storage.location', material: M }],
  },
  {
    name: 'cross-border provision added',
    mutate: (d) => {
      d.storage?.crossBorder?.push({ country: 'US', recipient: 'getui', categories: ['device.id.android-id'] });
    },
    expect: [{ kind: 'cross-border.added', path: '$.storage.crossBorder[1]', material: M }],
  },
  {
    name: 'cross-border provision widened',
    mutate: (d) => {
      const x = d.storage?.crossBorder?.[0];
      if (x) x.categories.push('device.id.android-id');
    },
    expect: [{ kind: 'cross-border.widened', path: '$.storage.crossBorder[0]', material: M }],
  },
  {
    name: 'cross-border provision removed',
    mutate: (d) => {
      if (d.storage) d.storage.crossBorder = [];
    },
    expect: [{ kind: 'cross-border.removed', path: '$.storage.crossBorder[0]', material: E }],
  },
  // --- disclosure
  {
    name: 'public disclosure added',
    mutate: (d) => {
      if (d.disclosure) d.disclosure.public = { occurs: true, separateConsent: true };
    },
    expect: [{ kind: 'disclosure.public-added', path: '$.disclosure.public.occurs', material: M }],
  },
  {
    name: 'transfer added',
    mutate: (d) => {
      if (d.disclosure) d.disclosure.transfer = { occurs: true };
    },
    expect: [{ kind: 'disclosure.transfer-added', path: '$.disclosure.transfer.occurs', material: M }],
  },
  {
    name: 'public disclosure without separate consent',
    from: (d) => {
      if (d.disclosure) d.disclosure.public = { occurs: true, separateConsent: true };
    },
    mutate: (d) => {
      if (d.disclosure) d.disclosure.public = { occurs: true, separateConsent: false };
    },
    expect: [{ kind: 'disclosure.separate-consent-removed', path: '$.disclosure.public.separateConsent', material: M }],
  },
  {
    name: 'public disclosure stopped',
    from: (d) => {
      if (d.disclosure) d.disclosure.public = { occurs: true, separateConsent: true };
    },
    mutate: (d) => {
      if (d.disclosure) d.disclosure.public = { occurs: false };
    },
    expect: [
      { kind: 'disclosure.narrowed', path: '$.disclosure.public.occurs', material: E },
      { kind: 'field.changed', path: '$.disclosure.public.separateConsent', material: E },
    ],
  },
  // --- controller, app, versions, security, datasets
  {
    name: 'another legal entity',
    mutate: (d) => {
      d.controller.legalName = '收购方科技有限公司';
    },
    expect: [{ kind: 'controller.changed', path: '$.controller.legalName', material: M }],
  },
  {
    name: 'contact details',
    mutate: (d) => {
      d.controller.phone = ['400-111-1111'];
      if (d.controller.dpo) d.controller.dpo.email = ['privacy@demo.example.com'];
    },
    expect: [
      { kind: 'contact.changed', path: '$.controller.phone', material: E },
      { kind: 'contact.changed', path: '$.controller.dpo', material: E },
    ],
  },
  {
    name: 'app name and website',
    mutate: (d) => {
      d.app.name = { zh: '演示Pro', en: 'Demo Pro' };
      d.app.website = 'https://pro.demo.example.com';
    },
    expect: [
      { kind: 'text.changed', path: '$.app.name', material: E },
      { kind: 'url.changed', path: '$.app.website', material: E },
    ],
  },
  {
    name: 'a new version with its dates; the old effective date corrected',
    mutate: (d) => {
      const v = d.versions[0];
      if (v) v.effective = '2024-01-03';
      d.versions.push({ version: '1.1', published: '2024-06-01' });
    },
    expect: [
      { kind: 'version.added', path: '$.versions[1]', material: E },
      { kind: 'date.changed', path: '$.versions[0].effective', material: E },
    ],
  },
  {
    name: 'a version entry removed',
    mutate: (d) => {
      d.versions = [{ version: '2.0' }];
    },
    expect: [
      { kind: 'version.added', path: '$.versions[0]', material: E },
      { kind: 'version.removed', path: '$.versions[0]', material: E },
    ],
  },
  {
    name: 'security measures',
    mutate: (d) => {
      if (d.security) d.security.measures = ['access-control', 'audit-logging'];
    },
    expect: [
      { kind: 'security.measure-removed', path: '$.security.measures', material: E },
      { kind: 'security.measure-added', path: '$.security.measures', material: E },
    ],
  },
  {
    name: 'purpose scenario reworded and improvement-only flag',
    mutate: (d) => {
      purpose(d, 'account').scenario = '注册或登录时填写';
      purpose(d, 'account').improvementOnly = false;
    },
    expect: [
      { kind: 'text.changed', path: '$.purposes[0].scenario', material: E },
      { kind: 'field.changed', path: '$.purposes[0].improvementOnly', material: E },
    ],
  },
  {
    name: 'datasets',
    from: (d) => {
      d.datasets = [
        { id: 'main', engine: 'postgres', connectionEnv: 'MAIN_DB' },
        { id: 'old', engine: 'vault' },
      ];
    },
    mutate: (d) => {
      d.datasets = [
        { id: 'main', engine: 'postgres', connectionEnv: 'MAIN_DATABASE_URL' },
        { id: 'new', engine: 'vault' },
      ];
    },
    expect: [
      { kind: 'dataset.added', path: '$.datasets[1]', material: E },
      { kind: 'dataset.removed', path: '$.datasets[1]', material: E },
      { kind: 'dataset.changed', path: '$.datasets[0]', material: E },
    ],
  },
];

describe('diffDeclarations: one case per kind', () => {
  it.each(CASES.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const diff = diffAfter(c.mutate, c.from);
    expect(diff.changes.map(({ kind, path, material }) => ({ kind, path, material }))).toEqual(c.expect);
    expect(diff.reconsent).toBe(c.expect.some((e) => e.material));
    for (const change of diff.changes) {
      expect(change.summary.zh.length).toBeGreaterThan(0);
      expect(change.summary.en.length).toBeGreaterThan(0);
    }
  });

  it('covers every kind with at least one case', () => {
    const covered = new Set(CASES.flatMap((c) => c.expect.map((e) => e.kind)));
    const missing = CHANGE_KINDS.filter((k) => !covered.has(k));
    expect(missing).toEqual([]);
  });
});

describe('diffDeclarations: matching and identity', () => {
  it('finds no change between identical declarations', () => {
    const diff = diffDeclarations(base(), base());
    expect(diff).toEqual({ changes: [], reconsent: false, affected: { purposes: [], recipients: [] } });
  });

  it('does not report reordering of items, ids, channels or rights', () => {
    const diff = diffAfter((d) => {
      d.purposes.reverse();
      d.categories.reverse();
      d.recipients?.reverse();
      purpose(d, 'account').categories.reverse();
      rights(d).list.reverse();
      rights(d)
        .list.find((r) => r.right === 'access')
        ?.channels.reverse();
      d.sources?.reverse();
      purpose(d, 'push').retention?.reverse();
      if (d.security) d.security.measures.reverse();
    });
    expect(diff.changes).toEqual([]);
  });

  it.each(['xiaopiaopiao-merchant', 'shengshitong'])('finds no change in examples/%s with every list reversed', (app) => {
    const text = readFileSync(new URL(`../../../../examples/${app}/policy.yaml`, import.meta.url), 'utf8');
    const d = loadDeclaration(text, `${app}.yaml`).declaration;
    const reverseAll = (v: unknown): unknown => {
      if (Array.isArray(v)) return v.map(reverseAll).reverse();
      if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, reverseAll(x)]));
      return v;
    };
    const shuffled = validateDeclaration(reverseAll(structuredClone(d)));
    expect(diffDeclarations(d, d).changes).toEqual([]);
    expect(diffDeclarations(d, shuffled).changes).toEqual([]);
  });

  it('treats a string text and { zh } with the same words as the same text', () => {
    const diff = diffAfter((d) => {
      d.controller.legalName = { zh: '演示科技有限公司' };
    });
    expect(diff.changes).toEqual([]);
  });

  it('reports the path in the new declaration, and in the old one for removals', () => {
    const diff = diffAfter((d) => {
      const push = purpose(d, 'push');
      d.purposes = [push, purpose(d, 'account')];
      d.permissions = [];
      push.categories.push('contact.phone');
    });
    expect(diff.changes.map((c) => [c.kind, c.path])).toEqual([
      ['purpose.removed', '$.purposes[1]'],
      ['purpose.category-added', '$.purposes[0].categories'],
      ['permission.removed', '$.permissions[0]'],
    ]);
  });
});

describe('diffDeclarations: affected purposes and recipients', () => {
  it('lists the purpose of a purpose-level change', () => {
    const diff = diffAfter((d) => {
      purpose(d, 'nearby').categories.push('device.model');
    });
    expect(diff.affected).toEqual({ purposes: ['nearby'], recipients: [] });
    expect(diff.changes[0]?.affects).toEqual({ purposes: ['nearby'], recipients: [] });
  });

  it('lists a new recipient and the purposes it serves', () => {
    const diff = diffAfter((d) => {
      d.recipients?.push({
        id: 'umeng',
        name: '友盟SDK',
        kind: 'sdk',
        purposes: ['push'],
        categories: ['device.model'],
        method: 'sdk',
        deidentified: false,
      });
    });
    expect(diff.affected).toEqual({ purposes: ['push'], recipients: ['umeng'] });
  });

  it('lists the recipient whose provision widened, and only the added purposes', () => {
    const diff = diffAfter((d) => {
      recipient(d, 'getui').purposes.push('nearby');
      recipient(d, 'cloud').deidentified = false;
    });
    expect(diff.affected).toEqual({ purposes: ['nearby'], recipients: ['getui'] });
  });

  it('lists the users of a category raised to sensitive', () => {
    const diff = diffAfter((d) => {
      const c = d.categories.find((x) => x.id === 'contact.phone');
      if (c) c.sensitive = true;
    });
    expect(diff.affected).toEqual({ purposes: ['account'], recipients: ['cloud'] });
  });

  it('lists every purpose and recipient for a change that concerns everyone', () => {
    const diff = diffAfter((d) => {
      if (d.minors) d.minors.ageThreshold = 12;
    });
    expect(diff.affected).toEqual({ purposes: ['account', 'nearby', 'push'], recipients: ['cloud', 'getui'] });
  });

  it('lists nothing for editorial changes', () => {
    const diff = diffAfter((d) => {
      d.purposes = d.purposes.filter((p) => p.id !== 'push');
      d.recipients = d.recipients?.filter((r) => r.id !== 'getui');
      if (d.cookies) d.cookies.purposes = [];
      if (d.storage) d.storage.crossBorder = [];
    });
    expect(diff.reconsent).toBe(false);
    expect(diff.affected).toEqual({ purposes: [], recipients: [] });
  });
});

describe('summaries', () => {
  it('names the purpose and categories in zh and en, and says "narrowing" for removals', () => {
    const added = diffAfter((d) => {
      purpose(d, 'account').categories.push('custom.level');
    }).changes[0];
    expect(added?.summary.zh).toBe('目的“账号注册与登录”（account）新增个人信息类别“会员等级”');
    expect(added?.summary.en).toBe('Purpose "Account" (account) now also processes "Membership level"');
    const removed = diffAfter((d) => {
      d.recipients = d.recipients?.filter((r) => r.id !== 'cloud');
    }).changes[0];
    expect(removed?.summary.zh).toContain('缩小');
    expect(removed?.summary.en).toContain('narrowing');
  });

  it('describes retention periods in words', () => {
    const change = diffAfter((d) => {
      purpose(d, 'account').retention = [{ trigger: 'account-cancellation', period: 'P1Y6M', action: 'delete' }];
    }).changes[0];
    expect(change?.summary.zh).toBe(
      '目的“账号注册与登录”（account）中“手机号码”、“姓名”的保存期限延长：由注销账号时删除改为注销账号后1年6个月删除',
    );
    expect(change?.summary.en).toBe(
      'Purpose "Account" (account): "Mobile phone number", "Name" kept longer: deleted 1 year 6 months after account cancellation instead of at account cancellation',
    );
  });
});

describe('output forms', () => {
  it('gives the fixed JSON shape with summaries in one language', () => {
    const diff = diffAfter((d) => {
      if (d.minors) d.minors.ageThreshold = 12;
      d.app.website = 'https://x.example.com';
    });
    const json = diffToJson(diff, 'en');
    expect(Object.keys(json)).toEqual(['changes', 'reconsent']);
    expect(json).toEqual({
      changes: [
        { kind: 'url.changed', path: '$.app.website', material: false, summary: expect.stringContaining('website') },
        {
          kind: 'minors.threshold-lowered',
          path: '$.minors.ageThreshold',
          material: true,
          summary: "Minors' age threshold lowered from 14 to 12",
        },
      ],
      reconsent: true,
    });
    expect(diffToJson(diff).changes[1]?.summary).toBe('未成年人年龄门槛由 14 周岁降低为 12 周岁');
  });

  it('writes a text report grouped by material and editorial', () => {
    const diff = diffAfter((d) => {
      if (d.minors) d.minors.ageThreshold = 12;
      d.app.website = 'https://x.example.com';
    });
    const zh = formatDiffText(diff, { lang: 'zh', from: 'a.yaml', to: 'b.yaml' });
    expect(zh).toContain('a.yaml → b.yaml');
    expect(zh.indexOf('实质性变更')).toBeLessThan(zh.indexOf('编辑性变更'));
    expect(zh).toContain('需要重新征得同意');
    const en = formatDiffText(diffDeclarations(base(), base()), { lang: 'en' });
    expect(en).toBe('No changes between the two versions.\n');
  });
});
