/**
 * Decisions per second, in process, on one core: a ticketing app's declaration (12 purposes on mixed
 * bases, 8 recipients from SDKs to entrusted processors, sensitive categories, a minors clause), a
 * projection of 100,000 subjects with about 10 consent records each (separate and bundled grants,
 * withdrawals, refusals, guardians for minors, grants under a version before a material change,
 * frozen accounts, devices linked to accounts), and a mixed stream of requests (with and without
 * recipients, sensitive categories, undeclared purposes, categories and recipients, unknown subjects).
 *
 * Every result is consumed (allow count and a checksum of the reason codes) so nothing can be
 * optimised away. Also measured: rebuilding the projection from events, and heap per subject.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { type DeclarationInput, validateDeclaration } from '@pipa/policy';
import {
  type ConsentEvent,
  compilePolicy,
  createConsentProjection,
  type Decision,
  type DecisionRequest,
  decide,
  decideBatch,
} from '../../packages/server/dist/consent/index.js';
import { type Figure, median, round, type Scenario } from '../lib.js';

const APP = 'bench-tickets';
const NOW = Date.UTC(2024, 5, 1, 4);
const DAY = 86_400_000;

const DECLARATION: DeclarationInput = {
  pipa: 1,
  app: { id: APP, name: '票务演示', products: [{ name: '票务演示', platforms: ['android', 'ios', 'mini-program'] }] },
  controller: { legalName: '票务演示有限公司' },
  versions: [{ version: '1' }, { version: '2' }, { version: '3' }],
  categories: [
    { id: 'account.id' },
    { id: 'contact.phone' },
    { id: 'basic.name' },
    { id: 'identity.id-card' },
    { id: 'finance.payment' },
    { id: 'order.details' },
    { id: 'order.session-seat' },
    { id: 'contact.address' },
    { id: 'device.id.oaid' },
    { id: 'device.model' },
    { id: 'location.coarse' },
    { id: 'location.precise' },
    { id: 'online.app-usage' },
    { id: 'online.crash-logs' },
  ],
  purposes: [
    { id: 'account', name: '账号', basis: 'contract', categories: ['account.id', 'contact.phone'] },
    {
      id: 'ticket-order',
      name: '购票',
      basis: 'contract',
      categories: ['order.details', 'order.session-seat', 'contact.phone', 'basic.name', 'identity.id-card'],
    },
    { id: 'payment', name: '支付', basis: 'consent', categories: ['finance.payment', 'order.details'] },
    { id: 'real-name-check', name: '实名核验', basis: 'legal-duty', categories: ['basic.name', 'identity.id-card'] },
    { id: 'push', name: '消息推送', basis: 'consent', categories: ['device.id.oaid', 'device.model'] },
    { id: 'marketing-sms', name: '营销短信', basis: 'consent', categories: ['contact.phone', 'online.app-usage'] },
    { id: 'location-recs', name: '附近演出推荐', basis: 'consent', categories: ['location.precise', 'location.coarse'] },
    { id: 'analytics', name: '统计分析', basis: 'consent', categories: ['online.app-usage', 'device.model', 'device.id.oaid'] },
    { id: 'crash-reports', name: '崩溃分析', basis: 'consent', categories: ['online.crash-logs', 'device.model'] },
    { id: 'delivery', name: '纸质票配送', basis: 'contract', categories: ['contact.address', 'contact.phone', 'basic.name'] },
    {
      id: 'personalised-recs',
      name: '个性化推荐',
      basis: 'consent',
      separateConsent: true,
      categories: ['online.app-usage', 'order.details'],
    },
    { id: 'customer-support', name: '客服', basis: 'contract', categories: ['contact.phone', 'order.details'] },
  ],
  recipients: [
    { id: 'getui', name: '个推SDK', kind: 'sdk', method: 'sdk', purposes: ['push'], categories: ['device.id.oaid', 'device.model'] },
    {
      id: 'umeng',
      name: '友盟SDK',
      kind: 'sdk',
      method: 'sdk',
      purposes: ['analytics', 'crash-reports'],
      categories: ['online.app-usage', 'device.model', 'device.id.oaid', 'online.crash-logs'],
    },
    {
      id: 'alipay',
      name: '支付宝SDK',
      kind: 'sdk',
      method: 'sdk',
      purposes: ['payment'],
      categories: ['finance.payment', 'order.details'],
    },
    {
      id: 'cloud',
      name: '云服务商',
      kind: 'processor',
      method: 'entrusted',
      purposes: ['account', 'ticket-order', 'payment', 'marketing-sms'],
      categories: [
        'contact.phone',
        'account.id',
        'order.details',
        'order.session-seat',
        'basic.name',
        'identity.id-card',
        'finance.payment',
        'online.app-usage',
      ],
    },
    {
      id: 'sms-gateway',
      name: '短信通道',
      kind: 'processor',
      method: 'entrusted',
      purposes: ['marketing-sms', 'account'],
      categories: ['contact.phone'],
    },
    {
      id: 'courier',
      name: '快递公司',
      kind: 'controller',
      method: 'api',
      purposes: ['delivery'],
      categories: ['contact.address', 'contact.phone', 'basic.name'],
    },
    {
      id: 'amap',
      name: '高德地图SDK',
      kind: 'sdk',
      method: 'sdk',
      purposes: ['location-recs'],
      categories: ['location.precise', 'location.coarse'],
    },
    {
      id: 'police',
      name: '公安实名平台',
      kind: 'authority',
      method: 'api',
      purposes: ['real-name-check'],
      categories: ['basic.name', 'identity.id-card'],
    },
  ],
  minors: { ageThreshold: 14, guardianConsent: true },
};

/** Deterministic PRNG (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

const CONSENT_KEYS: { purpose: string; recipient?: string }[] = [
  { purpose: 'payment' },
  { purpose: 'push' },
  { purpose: 'marketing-sms' },
  { purpose: 'location-recs' },
  { purpose: 'analytics' },
  { purpose: 'crash-reports' },
  { purpose: 'personalised-recs' },
  { purpose: 'push', recipient: 'getui' },
  { purpose: 'analytics', recipient: 'umeng' },
  { purpose: 'crash-reports', recipient: 'umeng' },
  { purpose: 'payment', recipient: 'alipay' },
  { purpose: 'location-recs', recipient: 'amap' },
];

interface Built {
  events: ConsentEvent[];
  subjects: string[];
  minors: Map<string, string>;
  frozen: string[];
  links: [string, string][];
}

function buildEvents(subjectCount: number): Built {
  const rand = rng(20240601);
  const events: ConsentEvent[] = [];
  const subjects: string[] = [];
  const minors = new Map<string, string>();
  const frozen: string[] = [];
  const links: [string, string][] = [];
  let seq = 0;
  for (let i = 0; i < subjectCount; i++) {
    const account = `sub_${i.toString(36)}`;
    subjects.push(account);
    const minor = rand() < 0.05;
    if (minor) minors.set(account, `${2011 + Math.floor(rand() * 3)}-0${1 + Math.floor(rand() * 9)}-1${Math.floor(rand() * 9)}`);
    // 2 % first consented on a device, linked to the account at sign-in.
    const device = rand() < 0.02 ? `dev_${i.toString(36)}` : undefined;
    if (device) links.push([device, account]);
    if (rand() < 0.01) frozen.push(account);
    const guardian = minor && rand() < 0.5;
    // About 10 records: most keys granted, a few skipped.
    for (const key of CONSENT_KEYS) {
      if (rand() < 0.15) continue;
      const x = rand();
      const action = x < 0.08 ? 'withdraw' : x < 0.11 ? 'deny' : 'grant';
      const ev: ConsentEvent = {
        id: `cev_${(++seq).toString(36)}`,
        appId: APP,
        subjectId: device && rand() < 0.5 ? device : account,
        purpose: key.purpose,
        action,
        separate: rand() < 0.75,
        method: guardian ? 'guardian' : rand() < 0.02 ? 'api' : 'user',
        policyVersion: rand() < 0.05 ? '1' : rand() < 0.5 ? '2' : '3',
        at: NOW - Math.floor(rand() * 400) * DAY - Math.floor(rand() * DAY),
      };
      if (key.recipient) ev.recipient = key.recipient;
      events.push(ev);
    }
  }
  // The ledger is ordered by time.
  events.sort((a, b) => a.at - b.at);
  return { events, subjects, minors, frozen, links };
}

function buildRequests(count: number, subjects: string[], seed: number): DecisionRequest[] {
  const decl = validateDeclaration(DECLARATION);
  const rand = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
  const subset = (xs: readonly string[]): string[] => {
    const out = xs.filter(() => rand() < 0.6);
    return out.length > 0 ? out : [pick(xs)];
  };
  const recipients = decl.recipients ?? [];
  const out: DecisionRequest[] = [];
  for (let i = 0; i < count; i++) {
    const subject = rand() < 0.05 ? `sub_new_${i.toString(36)}` : pick(subjects);
    const p = pick(decl.purposes);
    const x = rand();
    if (x < 0.6) {
      out.push({ subject, purpose: p.id, categories: subset(p.categories) });
    } else if (x < 0.9) {
      const rs = recipients.filter((r) => r.purposes.includes(p.id));
      const r = rs.length > 0 ? pick(rs) : undefined;
      if (!r) {
        out.push({ subject, purpose: p.id, categories: subset(p.categories) });
        continue;
      }
      const shared = p.categories.filter((c) => r.categories.includes(c));
      out.push({ subject, purpose: p.id, categories: subset(shared.length > 0 ? shared : p.categories), recipient: r.id });
    } else if (x < 0.95) {
      // A category the purpose, or else the recipient, does not declare.
      const rs = recipients.filter((r) => r.purposes.includes(p.id) && p.categories.some((c) => !r.categories.includes(c)));
      const r = rand() < 0.5 ? pick(rs) : undefined;
      if (r) {
        out.push({ subject, purpose: p.id, categories: [pick(p.categories.filter((c) => !r.categories.includes(c)))], recipient: r.id });
        continue;
      }
      const other = pick(decl.categories.map((c) => c.id).filter((c) => !p.categories.includes(c)));
      out.push({ subject, purpose: p.id, categories: [...subset(p.categories), other] });
    } else if (x < 0.98) {
      out.push({ subject, purpose: p.id, categories: subset(p.categories), recipient: rand() < 0.5 ? 'data-broker' : pick(recipients).id });
    } else {
      out.push({ subject, purpose: 'resale', categories: ['contact.phone'] });
    }
  }
  return out;
}

function gcFunction(): (() => void) | undefined {
  try {
    setFlagsFromString('--expose-gc');
    const gc: unknown = runInNewContext('gc');
    return typeof gc === 'function' ? () => (gc as () => void)() : undefined;
  } catch {
    return undefined;
  }
}

function atLeast(name: string, value: number, unit: string, goal: number): Figure {
  return { name, value: round(value, 0), unit, target: `>= ${goal} ${unit}`, ok: value >= goal };
}

export const decisionsScenario: Scenario = {
  name: 'decisions',
  description:
    'consent decisions per second in process (100,000 subjects, ~10 records each, mixed allow/deny), decideBatch, projection rebuild',
  async run({ quick, log }) {
    const subjectCount = quick ? 20_000 : 100_000;
    const requestCount = quick ? 50_000 : 200_000;
    const runs = quick ? 3 : 7;
    const passes = quick ? 2 : 5;
    const figures: Figure[] = [];
    const gc = gcFunction();

    const built = buildEvents(subjectCount);
    const compiled = compilePolicy(validateDeclaration(DECLARATION), {
      version: '3',
      materialVersion: '2',
      reconsent: { purposes: ['location-recs'], recipients: ['amap'] },
    });

    // Rebuilding the projection from the ledger (what a node does at start).
    gc?.();
    const heapBefore = process.memoryUsage().heapUsed;
    const projection = createConsentProjection();
    const t0 = performance.now();
    projection.applyAll(built.events);
    for (const [device, account] of built.links) projection.link(APP, device, account);
    for (const [s, birthDate] of built.minors) projection.setSubject(APP, s, { status: 'active', birthDate });
    for (const s of built.frozen) projection.setSubject(APP, s, { status: 'frozen' });
    const buildMs = performance.now() - t0;
    const stats = projection.stats();
    const eventCount = built.events.length;
    // The events are still alive here, so the difference is the projection alone.
    gc?.();
    const heapPerSubject = (process.memoryUsage().heapUsed - heapBefore) / stats.subjects;
    built.events.length = 0;
    log(
      `projection: ${stats.subjects} subjects, ${stats.records} records (${round(stats.records / stats.subjects, 1)} per subject) from ${eventCount} events in ${round(buildMs, 0)} ms`,
    );
    figures.push(atLeast('projection rebuild', (eventCount / buildMs) * 1000, 'events/s', 250_000));
    if (gc) {
      figures.push({
        name: 'projection heap per subject (~10 records)',
        value: round(heapPerSubject, 0),
        unit: 'bytes',
        target: '<= 1024 bytes',
        ok: heapPerSubject <= 1024,
      });
    } else log('heap per subject not measured: gc could not be exposed');

    const requests = buildRequests(requestCount, built.subjects, 7);

    // The mix, for the record.
    const codes = new Map<string, number>();
    let allowed = 0;
    for (const r of requests) {
      const d = decide(compiled, projection, r, NOW);
      if (d.allow) allowed++;
      codes.set(d.reason.code, (codes.get(d.reason.code) ?? 0) + 1);
    }
    log(
      `mix: ${round((100 * allowed) / requests.length, 1)} % allowed; ${[...codes]
        .sort((a, b) => b[1] - a[1])
        .map(([c, k]) => `${c} ${round((100 * k) / requests.length, 1)}%`)
        .join(', ')}`,
    );

    // decide(), one request at a time.
    let sink = 0;
    const single = (): number => {
      const t = performance.now();
      for (let pass = 0; pass < passes; pass++) {
        for (let i = 0; i < requests.length; i++) {
          const d = decide(compiled, projection, requests[i] as DecisionRequest, NOW);
          sink += d.allow ? 1 : d.reason.code.length;
        }
      }
      return (passes * requests.length) / ((performance.now() - t) / 1000);
    };
    single();
    const singleRates = Array.from({ length: runs }, single);

    // decideBatch(), 64 requests a call, into one reused array.
    const batchSize = 64;
    const batches: DecisionRequest[][] = [];
    for (let i = 0; i < requests.length; i += batchSize) batches.push(requests.slice(i, i + batchSize));
    const out: Decision[] = [];
    const batched = (): number => {
      const t = performance.now();
      for (let pass = 0; pass < passes; pass++) {
        for (const b of batches) {
          decideBatch(compiled, projection, b, NOW, out);
          for (let i = 0; i < out.length; i++) {
            const d = out[i] as Decision;
            sink += d.allow ? 1 : d.reason.code.length;
          }
        }
      }
      return (passes * requests.length) / ((performance.now() - t) / 1000);
    };
    batched();
    const batchRates = Array.from({ length: runs }, batched);
    log(
      `checksum ${sink}; runs: decide ${singleRates.map((r) => round(r / 1e6, 2)).join(' ')} M/s; batch ${batchRates.map((r) => round(r / 1e6, 2)).join(' ')} M/s`,
    );

    figures.push(atLeast('decide (one request a call, one core)', median(singleRates), 'decisions/s', 500_000));
    figures.push(atLeast(`decideBatch (${batchSize} requests a call, one core)`, median(batchRates), 'decisions/s', 500_000));
    return figures;
  },
};
