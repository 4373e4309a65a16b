/**
 * The decision engine: may this subject's data in these categories be processed for this purpose
 * (and provided to this recipient)? Rules, in order (docs/decisions.md):
 *
 *  1. the purpose is declared;
 *  2. every category is declared for the purpose;
 *  3. a recipient is declared, declared for the purpose, and for every category;
 *  4. the subject is neither erased nor frozen (cancellation freezes at once);
 *  5. a purpose on a basis other than consent is allowed (`basis.*`);
 *  6. consent: a withdrawal or refusal blocks (a purpose's withdrawal blocks its recipients too); a grant
 *     must exist, be under the current material version, come from a guardian for a minor, and be
 *     separate for sensitive categories, for under-14s, where the declaration promises it, and for
 *     provision to a third party (a recipient-level grant).
 *
 * Pure and synchronous: reads the compiled policy and the projection, allocates nothing (every
 * decision is interned in the compiled policy).
 */
import { chinaYmd, isUnder } from './age.js';
import {
  type CompiledPolicy,
  type CompiledPurpose,
  type CompiledRecipient,
  categoryDenial,
  hasBit,
  NEEDS_CONSENT,
  NEEDS_GUARDIAN,
  NEEDS_SEPARATE,
  recipientCategoryDenial,
  recipientPurposeDenial,
  type Site,
  Slot,
  sensitiveDenial,
  siteDecision,
  unknownCategoryDenial,
} from './compile.js';
import {
  ACTION_GRANT,
  ACTION_WITHDRAW,
  type AppConsentState,
  type ConsentProjection,
  FLAG_SEPARATE,
  flagAction,
  flagMethod,
  METHOD_GUARDIAN,
  type ReconsentMark,
  recordAt,
  recordFlags,
  recordVersion,
  type SubjectEntry,
} from './projection.js';
import type { Decision, DecisionRequest } from './types.js';

const GUARDIAN_NONE = 0;
const GUARDIAN_THRESHOLD = 1;
const GUARDIAN_UNDER_14 = 2;

/** Category indices of the request being decided (reused; decisions are synchronous). */
let scratch = new Int32Array(64);

function isStale(marks: Map<string, ReconsentMark>, id: string, at: number, version: string): boolean {
  if (marks.size === 0) return false;
  const m = marks.get(id);
  return m !== undefined && at <= m.at && version !== m.sinceVersion;
}

function versionOk(c: CompiledPolicy, version: string): boolean {
  return version === c.version || c.acceptedVersions.has(version);
}

/** Re-consent needed for record i of e: the compiled material change, or a mark in the projection. */
function staleSlot(
  c: CompiledPolicy,
  app: AppConsentState,
  p: CompiledPurpose,
  r: CompiledRecipient | undefined,
  e: SubjectEntry,
  i: number,
): number {
  const version = recordVersion(e, i);
  const needsAt = app.purposeMarks.size > 0 || app.recipientMarks.size > 0;
  const at = needsAt ? recordAt(e, i) : 0;
  if ((p.reconsent && !versionOk(c, version)) || (needsAt && isStale(app.purposeMarks, p.id, at, version))) return Slot.ReconsentPurpose;
  if (r !== undefined && ((r.reconsent && !versionOk(c, version)) || (needsAt && isStale(app.recipientMarks, r.id, at, version)))) {
    return Slot.ReconsentRecipient;
  }
  return -1;
}

/** Purpose-level checks of one grant: current, from a guardian when needed, separate when needed. */
function checkGrant(
  c: CompiledPolicy,
  app: AppConsentState,
  site: Site,
  p: CompiledPurpose,
  r: CompiledRecipient | undefined,
  e: SubjectEntry,
  i: number,
  guardian: number,
  purposeSeparate: boolean,
  firstSensitive: number,
): Decision | undefined {
  const stale = staleSlot(c, app, p, r, e, i);
  if (stale >= 0) return siteDecision(site, stale);
  const flags = recordFlags(e, i);
  if (guardian !== GUARDIAN_NONE && flagMethod(flags) !== METHOD_GUARDIAN) {
    return siteDecision(site, guardian === GUARDIAN_UNDER_14 ? Slot.GuardianUnder14 : Slot.GuardianThreshold);
  }
  if (purposeSeparate && (flags & FLAG_SEPARATE) === 0) {
    if (firstSensitive >= 0) return sensitiveDenial(c, p, firstSensitive, guardian !== GUARDIAN_NONE);
    return siteDecision(site, guardian === GUARDIAN_UNDER_14 ? Slot.SeparateUnder14 : Slot.SeparateDeclared);
  }
  return undefined;
}

function decideIn(c: CompiledPolicy, app: AppConsentState | undefined, req: DecisionRequest, today: number): Decision {
  // 1. The purpose.
  const p = c.purposeById.get(req.purpose);
  if (p === undefined) return c.purposeUndeclared;

  // 2. Its categories (and whether any is sensitive).
  const cats = req.categories;
  const n = cats.length;
  if (scratch.length < n) scratch = new Int32Array(n * 2);
  const idx = scratch;
  let firstSensitive = -1;
  for (let i = 0; i < n; i++) {
    const id = cats[i] as string;
    const k = c.categoryById.get(id);
    if (k === undefined) return unknownCategoryDenial(p, id);
    if (!hasBit(p.categories, k)) return categoryDenial(c, p, k);
    if (firstSensitive < 0 && p.anySensitive && hasBit(c.sensitive, k)) firstSensitive = k;
    idx[i] = k;
  }

  // 3. The recipient.
  let site: Site = p.self;
  let r: CompiledRecipient | undefined;
  if (req.recipient !== undefined) {
    r = c.recipientById.get(req.recipient);
    if (r === undefined) return c.recipientUndeclared;
    const s = p.sites[r.index];
    if (s === undefined) return recipientPurposeDenial(p, r);
    for (let i = 0; i < n; i++) {
      const k = idx[i] ?? 0;
      if (!hasBit(r.categories, k)) return recipientCategoryDenial(c, r, k);
    }
    site = s;
  }

  // 4. The subject.
  const entry = app?.subjects.get(req.subject);
  if (entry !== undefined && entry.status !== 'active') return siteDecision(site, entry.status === 'frozen' ? Slot.Frozen : Slot.Erased);

  // 5. Bases other than consent.
  if (!p.consentBased) return site.allow;

  // 6. Consent.
  let guardian = GUARDIAN_NONE;
  const birth = entry?.birth ?? 0;
  if (birth > 0) {
    if (isUnder(birth, 14, today)) guardian = GUARDIAN_UNDER_14;
    else if (c.minors.guardianUnderThreshold && c.minors.threshold > 14 && isUnder(birth, c.minors.threshold, today)) {
      guardian = GUARDIAN_THRESHOLD;
    }
  } else if (c.minors.directedAtChildren) guardian = GUARDIAN_UNDER_14;
  // PIPL 28: all personal information of an under-14 is sensitive.
  const purposeSeparate = firstSensitive >= 0 || p.separateDeclared || guardian === GUARDIAN_UNDER_14;
  const recipientSeparate = r !== undefined && r.separate !== undefined;
  const needs = guardian !== GUARDIAN_NONE ? NEEDS_GUARDIAN : purposeSeparate || recipientSeparate ? NEEDS_SEPARATE : NEEDS_CONSENT;

  // The records of this purpose: for the purpose itself (pi) and for this recipient (ri).
  let pi = -1;
  let ri = -1;
  if (entry !== undefined) {
    const { n, data } = entry;
    const pid = p.id;
    const rid = r === undefined ? undefined : r.id;
    for (let i = 0; i < n; i++) {
      if (data[i] !== pid) continue;
      const recipient = data[n + i * 5];
      if (recipient === '') pi = i;
      else if (recipient === rid) ri = i;
    }
  }
  if (entry === undefined || app === undefined || (pi < 0 && ri < 0)) return siteDecision(site, Slot.Missing + needs);

  // A refusal or withdrawal for the recipient blocks it; one for the purpose blocks every recipient
  // unless the person granted the recipient afterwards (on equal times the blocking one wins).
  const pFlags = pi >= 0 ? recordFlags(entry, pi) : 0;
  const rFlags = ri >= 0 ? recordFlags(entry, ri) : 0;
  if (ri >= 0 && flagAction(rFlags) !== ACTION_GRANT) {
    return siteDecision(site, (flagAction(rFlags) === ACTION_WITHDRAW ? Slot.WithdrawnRecipient : Slot.DeniedRecipient) + needs);
  }
  if (pi >= 0 && flagAction(pFlags) !== ACTION_GRANT && (ri < 0 || recordAt(entry, pi) >= recordAt(entry, ri))) {
    return siteDecision(site, (flagAction(pFlags) === ACTION_WITHDRAW ? Slot.WithdrawnPurpose : Slot.DeniedPurpose) + needs);
  }
  const pGrant = pi >= 0 && flagAction(pFlags) === ACTION_GRANT ? pi : -1;
  const rGrant = ri;

  // The purpose is covered by the purpose-level grant, or by a grant for this very recipient.
  let failure: Decision | undefined;
  if (pGrant >= 0) failure = checkGrant(c, app, site, p, r, entry, pGrant, guardian, purposeSeparate, firstSensitive);
  if ((pGrant < 0 || failure !== undefined) && rGrant >= 0) {
    const viaRecipient = checkGrant(c, app, site, p, r, entry, rGrant, guardian, purposeSeparate, firstSensitive);
    if (viaRecipient === undefined || failure === undefined) failure = viaRecipient;
  }
  if (failure !== undefined) return failure;

  // Provision that needs its own separate consent (third party, cross-border, public, or promised).
  if (r !== undefined && recipientSeparate) {
    const sepSlot = guardian !== GUARDIAN_NONE ? Slot.SeparateRecipientGuardian : Slot.SeparateRecipient;
    if (rGrant < 0) return siteDecision(site, sepSlot);
    const stale = staleSlot(c, app, p, r, entry, rGrant);
    if (stale >= 0) return siteDecision(site, stale);
    if (guardian !== GUARDIAN_NONE && flagMethod(rFlags) !== METHOD_GUARDIAN) {
      return siteDecision(site, guardian === GUARDIAN_UNDER_14 ? Slot.GuardianUnder14 : Slot.GuardianThreshold);
    }
    if ((rFlags & FLAG_SEPARATE) === 0) return siteDecision(site, sepSlot);
  }
  return site.allow;
}

/** One decision at time `now` (ms since the epoch; the minors rule uses the date in China). */
export function decide(compiled: CompiledPolicy, projection: ConsentProjection, req: DecisionRequest, now: number): Decision {
  return decideIn(compiled, projection.appState(compiled.appId), req, chinaYmd(now));
}

/**
 * Many decisions at one time `now`, in order. `out`, when given, is filled and returned (its length
 * set to the number of requests), so a caller deciding in a loop allocates nothing.
 */
export function decideBatch(
  compiled: CompiledPolicy,
  projection: ConsentProjection,
  requests: readonly DecisionRequest[],
  now: number,
  out: Decision[] = new Array<Decision>(requests.length),
): Decision[] {
  const app = projection.appState(compiled.appId);
  const today = chinaYmd(now);
  const n = requests.length;
  out.length = n;
  for (let i = 0; i < n; i++) out[i] = decideIn(compiled, app, requests[i] as DecisionRequest, today);
  return out;
}
