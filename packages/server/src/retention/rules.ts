/**
 * The retention rules of a declaration, and the verdict on one vault field: kept (by which purpose,
 * until when) or removed (why, by which purpose's end, delete or anonymise). Pure: no I/O, the clock
 * is an argument.
 *
 * A field of category C held for a person is kept while at least one purpose that uses C still
 * covers it. A purpose covers the field until the earliest of its ends:
 * - each of its retention rules that applies to C (`categories` omitted = all of the purpose's
 *   categories) ends at trigger time + `period` (no period: at the trigger itself). Triggers:
 *   | trigger                 | time                                                                  |
 *   |-------------------------|-----------------------------------------------------------------------|
 *   | `collection`            | the field's last write (when the value held now was collected)        |
 *   | `account-cancellation`  | the account was frozen for cancellation (or erased)                   |
 *   | `contract-end`, `service-end` | the same: pipa learns of the end of the contract / service with a person by the cancellation of the account |
 *   | `consent-withdrawn`     | the withdrawal (or refusal) of the purpose's consent                  |
 *   | `purpose-fulfilled`     | the earliest of the consent's withdrawal and the account's cancellation |
 *   | `last-activity`         | the person's last activity: the latest activity recorded for the account and its linked devices (`subjects.last_active_at`: reported by the app, or a consent the person gave, a subject-token request, a device linked), and their creation when none was recorded |
 *   A rule whose trigger has not happened does not end the purpose.
 * - the basis: a purpose resting on consent (or stating no basis, which the decision engine treats
 *   the same) ends when the consent is withdrawn or refused — at once, unless a `consent-withdrawn` or
 *   `purpose-fulfilled` rule applying to C gives a period after it — and covers nothing when no
 *   consent was ever recorded (after a grace period for the write-then-consent order of apps). Any
 *   other basis (contract, legal duty …) does not end by itself.
 *
 * When no purpose covers the field any more it is removed, attributed to the purpose that covered it
 * longest (its rule's action; `delete` when the basis ended without a rule). A category no purpose
 * uses is removed (`no-purpose`).
 */
import type { Declaration, LawfulBasis, Retention } from '@pipa/policy';
import type { ConsentAction } from '../consent/types.js';
import type { RemovalReason, RetentionAction, RetentionUnevaluated } from './types.js';

export type RetentionTriggerName = Retention['trigger'];

export interface RetentionRule {
  purpose: string;
  /** `$.purposes[i].retention[j]` */
  path: string;
  /** Undefined: every category of the purpose. */
  categories: ReadonlySet<string> | undefined;
  trigger: RetentionTriggerName;
  period: string | undefined;
  action: RetentionAction;
}

export interface RetentionPurpose {
  id: string;
  path: string;
  basis: LawfulBasis | undefined;
  /** Basis `consent`, or none stated (the decision engine's rule). */
  consentBased: boolean;
  categories: ReadonlySet<string>;
  rules: readonly RetentionRule[];
}

export interface RetentionModel {
  appId: string;
  version: string;
  purposes: readonly RetentionPurpose[];
  /** Category -> the purposes that use it, in declaration order. */
  byCategory: ReadonlyMap<string, readonly RetentionPurpose[]>;
  /** Categories some purpose declares a retention end for (any rule). */
  ruled: ReadonlySet<string>;
  unevaluated: readonly RetentionUnevaluated[];
}

/** What the sweep knows about the person the field belongs to (the account, for a linked device). */
export interface SubjectFacts {
  status: 'active' | 'frozen' | 'erased';
  /** When the account was frozen for cancellation (or erased); null while active. */
  cancelledAt: number | null;
  /** The latest consent state per purpose (consent to the purpose itself, not to a recipient). */
  consents: ReadonlyMap<string, { action: ConsentAction; at: number }>;
  /**
   * When the person was last active (ms): the latest of the recorded activity (`last_active_at`) and
   * the creation of the account and of its linked devices, so a person with no recorded activity
   * counts from when they became known to pipa.
   */
  lastActiveAt: number;
}

export interface FieldFacts {
  category: string;
  /** The value's last write (ms). */
  collectedAt: number;
}

export type FieldVerdict =
  | {
      keep: true;
      /** The purpose that covers the field longest. */
      purpose: string;
      /** When its coverage ends (ms), null: no end known yet. */
      until: number | null;
    }
  | {
      keep: false;
      purpose: string | null;
      action: RetentionAction;
      reason: RemovalReason;
      rule: string | null;
      /** When the field's last coverage ended (ms). */
      endedAt: number;
    };

const DURATION = /^P(?!$)(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?$/;
const DAY_MS = 86_400_000;

/**
 * `at` + an ISO 8601 duration of years, months, weeks, days (the declaration's `Duration`), in UTC
 * calendar arithmetic keeping the time of day; a day past the end of the month becomes its last day
 * (Jan 31 + P1M = Feb 28/29). Throws on a malformed duration.
 */
export function addRetentionPeriod(at: number, period: string): number {
  const m = DURATION.exec(period);
  if (m === null) throw new RangeError(`not an ISO 8601 duration of years, months, weeks and days: ${period}`);
  const n = (s: string | undefined) => (s === undefined ? 0 : Number.parseInt(s, 10));
  const d = new Date(at);
  const monthIndex = d.getUTCMonth() + n(m[2]);
  const year = d.getUTCFullYear() + n(m[1]) + Math.floor(monthIndex / 12);
  const month = ((monthIndex % 12) + 12) % 12;
  const lastDay = new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
  const day = Math.min(d.getUTCDate(), lastDay);
  const base = Date.UTC(year, month, day, d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds(), d.getUTCMilliseconds());
  return base + (n(m[3]) * 7 + n(m[4])) * DAY_MS;
}

const CANCELLATION_TRIGGERS: ReadonlySet<RetentionTriggerName> = new Set(['account-cancellation', 'contract-end', 'service-end']);
const CONSENT_TRIGGERS: ReadonlySet<RetentionTriggerName> = new Set(['consent-withdrawn', 'purpose-fulfilled']);

/** The retention model of a declaration (computed once per published version by the caller). */
export function compileRetention(appId: string, version: string, declaration: Declaration): RetentionModel {
  const purposes: RetentionPurpose[] = [];
  const byCategory = new Map<string, RetentionPurpose[]>();
  const ruled = new Set<string>();
  const unevaluated: RetentionUnevaluated[] = [];
  declaration.purposes.forEach((p, i) => {
    const path = `$.purposes[${i}]`;
    const consentBased = p.basis === undefined || p.basis === 'consent';
    const categories = new Set(p.categories);
    const rules: RetentionRule[] = [];
    (p.retention ?? []).forEach((r, j) => {
      const rule: RetentionRule = {
        purpose: p.id,
        path: `${path}.retention[${j}]`,
        categories: r.categories === undefined ? undefined : new Set(r.categories),
        trigger: r.trigger,
        period: r.period,
        action: r.action,
      };
      const applies = [...categories].filter((c) => rule.categories === undefined || rule.categories.has(c)).sort();
      if (r.trigger === 'consent-withdrawn' && !consentBased) {
        unevaluated.push({
          purpose: p.id,
          rule: rule.path,
          trigger: r.trigger,
          categories: applies,
          message: `the purpose rests on ${p.basis ?? 'no basis'}, not on consent, so a period from the withdrawal of consent never starts`,
          messageZh: `该目的的合法性基础为 ${p.basis ?? '未声明'}，而非同意，自撤回同意起算的期限不会开始`,
        });
        return;
      }
      rules.push(rule);
      for (const c of applies) ruled.add(c);
    });
    const purpose: RetentionPurpose = { id: p.id, path, basis: p.basis, consentBased, categories, rules };
    purposes.push(purpose);
    for (const c of categories) {
      const list = byCategory.get(c);
      if (list === undefined) byCategory.set(c, [purpose]);
      else list.push(purpose);
    }
  });
  return { appId, version, purposes, byCategory, ruled, unevaluated };
}

interface End {
  at: number;
  action: RetentionAction;
  reason: RemovalReason;
  rule: string | null;
}

function triggerTime(
  trigger: RetentionTriggerName,
  field: FieldFacts,
  subject: SubjectFacts,
  consentEnded: number | undefined,
): number | undefined {
  if (trigger === 'collection') return field.collectedAt;
  if (trigger === 'last-activity') return subject.lastActiveAt;
  if (CANCELLATION_TRIGGERS.has(trigger)) return subject.cancelledAt ?? undefined;
  if (trigger === 'consent-withdrawn') return consentEnded;
  if (trigger === 'purpose-fulfilled') {
    const times = [consentEnded, subject.cancelledAt ?? undefined].filter((t): t is number => t !== undefined);
    return times.length === 0 ? undefined : Math.min(...times);
  }
  return undefined;
}

/** When purpose `p` stops covering the field (undefined: not known to end). */
export function coverageEnd(p: RetentionPurpose, field: FieldFacts, subject: SubjectFacts, graceMs: number): End | undefined {
  const consent = p.consentBased ? subject.consents.get(p.id) : undefined;
  const consentEnded = consent !== undefined && consent.action !== 'grant' ? consent.at : undefined;
  let end: End | undefined;
  const consider = (e: End) => {
    if (end === undefined || e.at < end.at) end = e;
  };
  let ruledByConsentTrigger = false;
  for (const r of p.rules) {
    if (r.categories !== undefined && !r.categories.has(field.category)) continue;
    if (CONSENT_TRIGGERS.has(r.trigger) && consentEnded !== undefined) ruledByConsentTrigger = true;
    const t = triggerTime(r.trigger, field, subject, consentEnded);
    if (t === undefined) continue;
    consider({
      at: r.period === undefined ? t : addRetentionPeriod(t, r.period),
      action: r.action,
      reason: 'retention-ended',
      rule: r.path,
    });
  }
  if (p.consentBased) {
    if (consent === undefined) consider({ at: field.collectedAt + graceMs, action: 'delete', reason: 'consent-missing', rule: null });
    else if (consentEnded !== undefined && !ruledByConsentTrigger) {
      consider({
        at: consentEnded,
        action: 'delete',
        reason: consent.action === 'deny' ? 'consent-denied' : 'consent-withdrawn',
        rule: null,
      });
    }
  }
  return end;
}

/** The verdict on one field at `now`. */
export function evaluateField(model: RetentionModel, field: FieldFacts, subject: SubjectFacts, now: number, graceMs: number): FieldVerdict {
  if (subject.status === 'erased') {
    return { keep: false, purpose: null, action: 'delete', reason: 'subject-erased', rule: null, endedAt: subject.cancelledAt ?? now };
  }
  const purposes = model.byCategory.get(field.category) ?? [];
  if (purposes.length === 0)
    return { keep: false, purpose: null, action: 'delete', reason: 'no-purpose', rule: null, endedAt: field.collectedAt };
  let best: { p: RetentionPurpose; end: End | undefined } | undefined;
  for (const p of purposes) {
    const end = coverageEnd(p, field, subject, graceMs);
    // Longest coverage first: no end beats any end, a later end beats an earlier one; ties keep declaration order.
    if (best === undefined || (best.end !== undefined && (end === undefined || end.at > best.end.at))) best = { p, end };
  }
  if (best === undefined) throw new Error('unreachable: a category with purposes has a best purpose');
  if (best.end === undefined || best.end.at > now) return { keep: true, purpose: best.p.id, until: best.end?.at ?? null };
  return { keep: false, purpose: best.p.id, action: best.end.action, reason: best.end.reason, rule: best.end.rule, endedAt: best.end.at };
}
