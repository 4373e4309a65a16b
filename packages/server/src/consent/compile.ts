/**
 * `compilePolicy`: everything a decision needs from a declaration, computed once per published
 * version: purposes, recipients and categories by id with integer indices, category sets as bit
 * sets, the sensitive set, which provisions need separate consent and why, the minors rule, the
 * versions a grant must be under, and every decision the engine can return, interned (built on
 * first use, then reused) so that deciding allocates nothing. Design: docs/decisions.md.
 */
import { type Declaration, type LawfulBasis, type RecipientDecl, type Text, taxonomyCategory } from '@pipa/policy';
import { PipaError } from '../errors.js';
import type { Decision, DecisionNeeds, Reason, ReasonCode } from './types.js';

export interface CompilePolicyOptions {
  /** The version being enforced (grants name the version the person saw). */
  version: string;
  /** The version of the last material change (`version` itself when the current version is material). */
  materialVersion: string;
  /**
   * What the last material change affected (`DeclarationDiff.affected` from `diff`): grants for these
   * purposes, or covering these recipients, must be under `materialVersion` or later. Absent: every
   * consent grant must be.
   */
  reconsent?: { purposes: readonly string[]; recipients: readonly string[] };
}

/** Why a provision needs separate consent, most specific first. */
export type SeparateRule = 'declared' | 'cross-border' | 'public-disclosure' | 'third-party';

export interface CompiledCategory {
  readonly id: string;
  readonly index: number;
  readonly sensitive: boolean;
  /** `$.categories[k]`, or where the id is first used when the categories list lacks it. */
  readonly path: string;
  readonly zh: string;
  readonly en: string;
}

export interface CompiledRecipient {
  readonly id: string;
  readonly index: number;
  readonly path: string;
  readonly kind: RecipientDecl['kind'];
  readonly method: RecipientDecl['method'];
  /** Provision to another processor (PIPL 23), as opposed to entrusted processing (PIPL 21). */
  readonly thirdParty: boolean;
  /** The rule that makes provision need separate consent, if any. */
  readonly separate: SeparateRule | undefined;
  readonly separateClause: string;
  readonly categories: Uint32Array;
  readonly purposes: readonly string[];
  /** Marked for re-consent by the compiled material change. */
  readonly reconsent: boolean;
  readonly zh: string;
  readonly en: string;
  /** @internal recipient.category-not-declared decisions by category index. */
  readonly categoryDenials: (Decision | undefined)[];
}

export interface PurposeCore {
  readonly id: string;
  readonly index: number;
  readonly path: string;
  readonly basis: LawfulBasis | undefined;
  /** Basis `consent`, or no basis stated (treated as consent: nothing else can be presumed). */
  readonly consentBased: boolean;
  /** The declaration promises separate consent for this purpose. */
  readonly separateDeclared: boolean;
  readonly categories: Uint32Array;
  readonly anySensitive: boolean;
  readonly reconsent: boolean;
  readonly zh: string;
  readonly en: string;
  /** @internal */
  readonly categoryDenials: (Decision | undefined)[];
  /** @internal */
  readonly sensitiveDenials: (Decision | undefined)[];
  /** @internal */
  readonly unknownCategoryDenials: Map<string, Decision>;
  /** @internal */
  readonly recipientPurposeDenials: (Decision | undefined)[];
}

export interface CompiledPurpose extends PurposeCore {
  /** @internal decision site without a recipient. */
  readonly self: Site;
  /** @internal decision sites by recipient index; undefined = recipient not declared for this purpose. */
  readonly sites: readonly (Site | undefined)[];
}

export interface CompiledMinors {
  /** The declaration's threshold, 0 when it states none. Under 14 a guardian is always needed (PIPL 31). */
  readonly threshold: number;
  /** Between 14 and the threshold: a guardian is needed unless the declaration says `guardianConsent: false`. */
  readonly guardianUnderThreshold: boolean;
  /** The app is directed at children: a subject of unknown age is treated as under 14. */
  readonly directedAtChildren: boolean;
}

export interface CompiledPolicy {
  readonly appId: string;
  readonly version: string;
  readonly materialVersion: string;
  /** Versions at or after `materialVersion` (from the declaration's `versions` list when it holds both). */
  readonly acceptedVersions: ReadonlySet<string>;
  readonly purposes: readonly CompiledPurpose[];
  readonly recipients: readonly CompiledRecipient[];
  readonly categories: readonly CompiledCategory[];
  readonly minors: CompiledMinors;
  /** Words of a category bit set. */
  readonly words: number;
  readonly purposeById: ReadonlyMap<string, CompiledPurpose>;
  readonly recipientById: ReadonlyMap<string, CompiledRecipient>;
  readonly categoryById: ReadonlyMap<string, number>;
  readonly sensitive: Uint32Array;
  /** @internal */
  readonly purposeUndeclared: Decision;
  /** @internal */
  readonly recipientUndeclared: Decision;
}

/** Slots of the per-site decision table. */
export const Slot = {
  Frozen: 0,
  Erased: 1,
  /** + needs index (NEEDS_CONSENT, NEEDS_SEPARATE, NEEDS_GUARDIAN), also for the next four */
  Missing: 2,
  WithdrawnPurpose: 5,
  WithdrawnRecipient: 8,
  DeniedPurpose: 11,
  DeniedRecipient: 14,
  ReconsentPurpose: 17,
  ReconsentRecipient: 18,
  GuardianUnder14: 19,
  GuardianThreshold: 20,
  SeparateDeclared: 21,
  SeparateUnder14: 22,
  SeparateRecipient: 23,
  SeparateRecipientGuardian: 24,
  Size: 25,
} as const;

export const NEEDS_CONSENT = 0;
export const NEEDS_SEPARATE = 1;
export const NEEDS_GUARDIAN = 2;

/** @internal One (purpose, recipient | none) with its interned decisions. */
export interface Site {
  readonly policy: CompiledPolicyInternal;
  readonly purpose: PurposeCore;
  readonly recipient: CompiledRecipient | undefined;
  /** consent.granted or basis.* */
  readonly allow: Decision;
  readonly slots: (Decision | undefined)[];
}

interface CompiledPolicyInternal extends CompiledPolicy {
  readonly declaration: Declaration;
  readonly minorsPath: string | undefined;
  readonly cancellationPath: string | undefined;
}

const BASIS_TEXT: Record<Exclude<LawfulBasis, 'consent'>, { zh: string; en: string }> = {
  contract: {
    zh: '为订立、履行个人作为一方当事人的合同所必需',
    en: 'necessary to conclude or perform a contract to which the person is a party',
  },
  'legal-duty': { zh: '为履行法定职责或者法定义务所必需', en: 'necessary to fulfil a statutory duty or obligation' },
  'public-health-emergency': {
    zh: '为应对突发公共卫生事件，或者紧急情况下为保护自然人的生命健康和财产安全所必需',
    en: 'necessary to respond to a public-health emergency or to protect life, health or property in an emergency',
  },
  'news-public-interest': {
    zh: '为公共利益实施新闻报道、舆论监督等行为，在合理的范围内处理',
    en: 'news reporting or public-opinion supervision in the public interest, within a reasonable scope',
  },
  'public-data': {
    zh: '在合理的范围内处理个人自行公开或者其他已经合法公开的个人信息',
    en: 'processing, within a reasonable scope, of information the person disclosed or that was lawfully disclosed',
  },
  'other-law': { zh: '法律、行政法规规定的其他情形', en: 'another case provided by law or administrative regulation' },
};

function textZh(t: Text | undefined, fallback: string): string {
  if (t === undefined) return fallback;
  return typeof t === 'string' ? t : t.zh;
}

function textEn(t: Text | undefined, fallback: string): string {
  if (t === undefined) return fallback;
  return typeof t === 'string' ? fallback : (t.en ?? fallback);
}

function freezeDecision(
  allow: boolean,
  code: ReasonCode,
  zh: string,
  en: string,
  clause: readonly string[],
  extra: { needs?: DecisionNeeds; category?: string } = {},
): Decision {
  const reason: Reason = Object.freeze({ code, zh, en });
  const d: Decision = { allow, reason, clause: Object.freeze([...clause]), ...extra };
  return Object.freeze(d);
}

export function hasBit(set: Uint32Array, i: number): boolean {
  return ((set[i >>> 5] ?? 0) & (1 << (i & 31))) !== 0;
}

function setBit(set: Uint32Array, i: number): void {
  set[i >>> 5] = (set[i >>> 5] ?? 0) | (1 << (i & 31));
}

function invalid(path: string, message: string): PipaError {
  return new PipaError('validation_failed', `${path}: ${message}`, [{ path, message }]);
}

export function compilePolicy(declaration: Declaration, options: CompilePolicyOptions): CompiledPolicy {
  const { version, materialVersion, reconsent } = options;
  if (typeof version !== 'string' || version.length === 0) throw invalid('version', 'must be a non-empty string');
  if (typeof materialVersion !== 'string' || materialVersion.length === 0) throw invalid('materialVersion', 'must be a non-empty string');
  const d = declaration;
  const declaredRecipients = d.recipients ?? [];

  // Categories: the declared list first, then any id used elsewhere that the list lacks.
  const categoryById = new Map<string, number>();
  const catInfo: { id: string; path: string; declared: boolean | undefined; label: Text | undefined }[] = [];
  const addCategory = (id: string, path: string, declared?: boolean, label?: Text) => {
    const known = categoryById.get(id);
    if (known !== undefined) return known;
    categoryById.set(id, catInfo.length);
    catInfo.push({ id, path, declared, label });
    return catInfo.length - 1;
  };
  d.categories.forEach((c, k) => {
    addCategory(c.id, `$.categories[${k}]`, c.sensitive, c.label);
  });
  d.purposes.forEach((p, i) => {
    p.categories.forEach((c, j) => {
      addCategory(c, `$.purposes[${i}].categories[${j}]`);
    });
  });
  declaredRecipients.forEach((r, i) => {
    r.categories.forEach((c, j) => {
      addCategory(c, `$.recipients[${i}].categories[${j}]`);
    });
  });
  const words = Math.max(1, Math.ceil(catInfo.length / 32));
  const sensitive = new Uint32Array(words);
  const categories: CompiledCategory[] = catInfo.map((c, index) => {
    const t = taxonomyCategory(c.id);
    const isSensitive = c.declared === true || t?.sensitive === true;
    if (isSensitive) setBit(sensitive, index);
    return Object.freeze({
      id: c.id,
      index,
      sensitive: isSensitive,
      path: c.path,
      zh: `「${textZh(c.label, t?.zh ?? c.id)}」（${c.id}）`,
      en: `"${textEn(c.label, t?.en ?? c.id)}" (${c.id})`,
    });
  });
  const bitsOf = (ids: readonly string[]): Uint32Array => {
    const set = new Uint32Array(words);
    for (const id of ids) {
      const i = categoryById.get(id);
      if (i !== undefined) setBit(set, i);
    }
    return set;
  };

  // Versions a grant may be under for the compiled material change.
  const versionIds = d.versions.map((v) => v.version);
  const iM = versionIds.indexOf(materialVersion);
  const iV = versionIds.indexOf(version);
  const acceptedVersions: ReadonlySet<string> =
    iM >= 0 && iV >= 0 ? new Set(versionIds.slice(Math.min(iM, iV), Math.max(iM, iV) + 1)) : new Set([materialVersion, version]);

  const purposeIds = new Set(d.purposes.map((p) => p.id));
  const recipientIds = new Set(declaredRecipients.map((r) => r.id));
  reconsent?.purposes.forEach((id, i) => {
    if (!purposeIds.has(id)) throw invalid(`reconsent.purposes[${i}]`, `"${id}" is not a purpose of the declaration`);
  });
  reconsent?.recipients.forEach((id, i) => {
    if (!recipientIds.has(id)) throw invalid(`reconsent.recipients[${i}]`, `"${id}" is not a recipient of the declaration`);
  });
  const reconsentPurposes = new Set(reconsent ? reconsent.purposes : purposeIds);
  const reconsentRecipients = new Set(reconsent ? reconsent.recipients : recipientIds);

  // Recipients listed in storage.crossBorder are cross-border whatever their own flag says.
  const crossBorderPaths = new Map<string, string>();
  d.storage?.crossBorder?.forEach((x, k) => {
    if (x.recipient && !crossBorderPaths.has(x.recipient)) crossBorderPaths.set(x.recipient, `$.storage.crossBorder[${k}]`);
  });

  const recipients: CompiledRecipient[] = declaredRecipients.map((r, index) => {
    const path = `$.recipients[${index}]`;
    // Entrusted processing (PIPL 21) needs no consent of its own; provision to anyone else does (PIPL 23).
    const thirdParty = !(r.kind === 'processor' && r.method === 'entrusted');
    let separate: SeparateRule | undefined;
    let separateClause = r.consent !== undefined ? `${path}.consent` : path;
    if (r.consent === 'separate') separate = 'declared';
    else if (r.crossBorder === true) {
      separate = 'cross-border';
      separateClause = `${path}.crossBorder`;
    } else if (crossBorderPaths.has(r.id)) {
      separate = 'cross-border';
      separateClause = crossBorderPaths.get(r.id) ?? path;
    } else if (r.method === 'public-disclosure') {
      separate = 'public-disclosure';
      separateClause = `${path}.method`;
    } else if (thirdParty) separate = 'third-party';
    return {
      id: r.id,
      index,
      path,
      kind: r.kind,
      method: r.method,
      thirdParty,
      separate,
      separateClause,
      categories: bitsOf(r.categories),
      purposes: Object.freeze([...r.purposes]),
      reconsent: reconsentRecipients.has(r.id),
      zh: `「${textZh(r.name, r.id)}」`,
      en: `"${textEn(r.name, r.id)}"`,
      categoryDenials: new Array<Decision | undefined>(catInfo.length).fill(undefined),
    };
  });
  const recipientById = new Map(recipients.map((r) => [r.id, r]));

  const minorsDecl = d.minors;
  const minors: CompiledMinors = Object.freeze({
    threshold: minorsDecl?.ageThreshold ?? 0,
    guardianUnderThreshold: minorsDecl !== undefined && minorsDecl.guardianConsent !== false,
    directedAtChildren: minorsDecl?.directedAtChildren === true,
  });

  const policy = {
    appId: d.app.id,
    version,
    materialVersion,
    acceptedVersions,
    purposes: [] as CompiledPurpose[],
    recipients,
    categories,
    minors,
    words,
    purposeById: new Map<string, CompiledPurpose>(),
    recipientById,
    categoryById,
    sensitive,
    purposeUndeclared: freezeDecision(
      false,
      'purpose.undeclared',
      '该处理目的未在隐私政策声明中列明，不得处理（个人信息保护法第六条、第十七条）',
      'The purpose is not declared in the privacy policy, so the processing is not allowed (PIPL arts. 6, 17)',
      ['$.purposes'],
    ),
    recipientUndeclared: freezeDecision(
      false,
      'recipient.undeclared',
      '该接收方未在隐私政策声明中列明，不得向其提供个人信息（个人信息保护法第二十三条）',
      'The recipient is not declared in the privacy policy; personal information may not be provided to it (PIPL art. 23)',
      ['$.recipients'],
    ),
    declaration: d,
    minorsPath: minorsDecl ? '$.minors' : undefined,
    cancellationPath: d.rights?.cancellation ? '$.rights.cancellation' : undefined,
  } satisfies CompiledPolicyInternal;

  d.purposes.forEach((p, index) => {
    const path = `$.purposes[${index}]`;
    const cats = bitsOf(p.categories);
    let anySensitive = false;
    for (let w = 0; w < words; w++) if (((cats[w] ?? 0) & (sensitive[w] ?? 0)) !== 0) anySensitive = true;
    const core: PurposeCore = {
      id: p.id,
      index,
      path,
      basis: p.basis,
      consentBased: p.basis === undefined || p.basis === 'consent',
      separateDeclared: p.separateConsent === true,
      categories: cats,
      anySensitive,
      reconsent: reconsentPurposes.has(p.id),
      zh: `「${textZh(p.name, p.id)}」`,
      en: `"${textEn(p.name, p.id)}"`,
      categoryDenials: new Array<Decision | undefined>(catInfo.length).fill(undefined),
      sensitiveDenials: new Array<Decision | undefined>(2 * catInfo.length).fill(undefined),
      unknownCategoryDenials: new Map(),
      recipientPurposeDenials: new Array<Decision | undefined>(recipients.length).fill(undefined),
    };
    const sites = recipients.map((r) => (r.purposes.includes(p.id) ? makeSite(policy, core, r) : undefined));
    const purpose: CompiledPurpose = { ...core, self: makeSite(policy, core, undefined), sites };
    policy.purposes.push(purpose);
    policy.purposeById.set(p.id, purpose);
  });
  return policy;
}

function basisPath(p: PurposeCore): string {
  return p.basis !== undefined ? `${p.path}.basis` : p.path;
}

function makeSite(policy: CompiledPolicyInternal, p: PurposeCore, r: CompiledRecipient | undefined): Site {
  const clause = r ? [basisPath(p), r.path] : [basisPath(p)];
  let allow: Decision;
  if (p.consentBased) {
    allow = freezeDecision(
      true,
      'consent.granted',
      r ? `个人已同意目的${p.zh}，并同意向${r.zh}提供相关个人信息` : `个人已同意目的${p.zh}`,
      r ? `The person consented to purpose ${p.en} and to the provision to ${r.en}` : `The person consented to purpose ${p.en}`,
      clause,
    );
  } else {
    const basis = p.basis as Exclude<LawfulBasis, 'consent'>;
    const t = BASIS_TEXT[basis];
    allow = freezeDecision(
      true,
      `basis.${basis}`,
      `目的${p.zh}的处理依据为“${t.zh}”，无需取得个人同意（个人信息保护法第十三条）`,
      `Purpose ${p.en} rests on "${t.en}" and needs no consent (PIPL art. 13)`,
      clause,
    );
  }
  return { policy, purpose: p, recipient: r, allow, slots: new Array<Decision | undefined>(Slot.Size).fill(undefined) };
}

const NEEDS: readonly DecisionNeeds[] = ['consent', 'separate-consent', 'guardian-consent'];

const NEEDS_TEXT: readonly { zh: string; en: string }[] = [
  { zh: '', en: '' },
  { zh: '；需取得个人的单独同意', en: '; the person must consent separately' },
  { zh: '；该个人为未成年人，需取得其监护人的同意', en: "; the person is a minor and a guardian's consent is needed" },
];

/** @internal The decision for a slot of a site, built on first use. */
export function siteDecision(site: Site, slot: number): Decision {
  const hit = site.slots[slot];
  if (hit) return hit;
  const built = buildSlot(site, slot);
  site.slots[slot] = built;
  return built;
}

function buildSlot(site: Site, slot: number): Decision {
  const { policy, purpose: p, recipient: r } = site;
  const consentClause = r ? [basisPath(p), r.path] : [basisPath(p)];
  const provision = r ? { zh: `，向${r.zh}提供个人信息`, en: ` and the provision to ${r.en}` } : { zh: '', en: '' };
  const withNeeds = (base: number, code: ReasonCode, zh: string, en: string, clause: readonly string[]) => {
    const n = slot - base;
    const t = NEEDS_TEXT[n] ?? { zh: '', en: '' };
    return freezeDecision(false, code, zh + t.zh, en + t.en, clause, { needs: NEEDS[n] ?? 'consent' });
  };
  if (slot === Slot.Frozen || slot === Slot.Erased) {
    const clause = policy.cancellationPath ? [p.path, policy.cancellationPath] : [p.path];
    return slot === Slot.Frozen
      ? freezeDecision(
          false,
          'subject.frozen',
          '该账号已申请注销，个人信息已冻结：除存储和采取必要的安全保护措施外，停止处理（个人信息保护法第四十七条）',
          "The account's cancellation was requested: the person's information is frozen and not processed beyond storage and necessary security measures (PIPL art. 47)",
          clause,
        )
      : freezeDecision(
          false,
          'subject.erased',
          '该个人的信息已删除，不得再处理',
          "The person's information has been erased and may no longer be processed",
          clause,
        );
  }
  if (slot >= Slot.Missing && slot < Slot.WithdrawnPurpose) {
    return withNeeds(
      Slot.Missing,
      'consent.missing',
      `目的${p.zh}${provision.zh}以个人同意为处理依据，尚未取得同意（个人信息保护法第十三条、第十四条）`,
      `Purpose ${p.en}${provision.en} rests on consent, which the person has not given (PIPL arts. 13, 14)`,
      consentClause,
    );
  }
  if (slot >= Slot.WithdrawnPurpose && slot < Slot.WithdrawnRecipient) {
    return withNeeds(
      Slot.WithdrawnPurpose,
      'consent.withdrawn',
      `个人已撤回对目的${p.zh}的同意，不得继续处理${r ? `或向${r.zh}提供` : ''}（个人信息保护法第十五条）`,
      `The person withdrew consent to purpose ${p.en}; processing${r ? ` and the provision to ${r.en}` : ''} must stop (PIPL art. 15)`,
      [basisPath(p)],
    );
  }
  if (r && slot >= Slot.WithdrawnRecipient && slot < Slot.DeniedPurpose) {
    return withNeeds(
      Slot.WithdrawnRecipient,
      'consent.withdrawn',
      `个人已撤回为目的${p.zh}向${r.zh}提供个人信息的同意（个人信息保护法第十五条）`,
      `The person withdrew consent to the provision to ${r.en} for purpose ${p.en} (PIPL art. 15)`,
      [r.path, basisPath(p)],
    );
  }
  if (slot >= Slot.DeniedPurpose && slot < Slot.DeniedRecipient) {
    return withNeeds(
      Slot.DeniedPurpose,
      'consent.denied',
      `个人已拒绝目的${p.zh}${r ? `，不得向${r.zh}提供` : ''}`,
      `The person refused purpose ${p.en}${r ? `; nothing may be provided to ${r.en}` : ''}`,
      [basisPath(p)],
    );
  }
  if (r && slot >= Slot.DeniedRecipient && slot < Slot.ReconsentPurpose) {
    return withNeeds(
      Slot.DeniedRecipient,
      'consent.denied',
      `个人已拒绝为目的${p.zh}向${r.zh}提供个人信息`,
      `The person refused the provision to ${r.en} for purpose ${p.en}`,
      [r.path, basisPath(p)],
    );
  }
  if (slot === Slot.ReconsentPurpose) {
    return freezeDecision(
      false,
      'consent.reconsent-required',
      `目的${p.zh}在个人同意后发生了实质性变更，需重新取得同意（个人信息保护法第十四条）`,
      `Purpose ${p.en} changed materially after the person consented; consent must be asked again (PIPL art. 14)`,
      [p.path],
      { needs: 'reconsent' },
    );
  }
  if (r && slot === Slot.ReconsentRecipient) {
    return freezeDecision(
      false,
      'consent.reconsent-required',
      `向${r.zh}提供个人信息的条件在个人同意后发生了实质性变更，需重新取得同意（个人信息保护法第十四条、第二十三条）`,
      `The provision to ${r.en} changed materially after the person consented; consent must be asked again (PIPL arts. 14, 23)`,
      [r.path],
      { needs: 'reconsent' },
    );
  }
  if (slot === Slot.GuardianUnder14) {
    return freezeDecision(
      false,
      'consent.guardian-required',
      '该个人不满十四周岁，处理其个人信息须取得其父母或者其他监护人的同意（个人信息保护法第三十一条）',
      'The person is under 14: processing their personal information needs the consent of a parent or other guardian (PIPL art. 31)',
      policy.minorsPath ? [p.path, policy.minorsPath] : [p.path],
      { needs: 'guardian-consent' },
    );
  }
  if (slot === Slot.GuardianThreshold) {
    const n = policy.minors.threshold;
    return freezeDecision(
      false,
      'consent.guardian-required',
      `该个人未满${n}周岁，隐私政策规定须取得其监护人的同意`,
      `The person is under ${n}, and the privacy policy requires a guardian's consent`,
      [p.path, '$.minors.ageThreshold'],
      { needs: 'guardian-consent' },
    );
  }
  if (slot === Slot.SeparateDeclared) {
    return freezeDecision(
      false,
      'consent.separate-required',
      `隐私政策承诺就目的${p.zh}取得个人的单独同意，现有同意不是单独同意`,
      `The privacy policy promises separate consent for purpose ${p.en}; the consent on record is not separate`,
      [`${p.path}.separateConsent`],
      { needs: 'separate-consent' },
    );
  }
  if (slot === Slot.SeparateUnder14) {
    return freezeDecision(
      false,
      'consent.separate-required',
      '不满十四周岁未成年人的个人信息属于敏感个人信息，须取得监护人的单独同意（个人信息保护法第二十八条、第二十九条、第三十一条）',
      "Personal information of a child under 14 is sensitive: the guardian's separate consent is needed (PIPL arts. 28, 29, 31)",
      policy.minorsPath ? [p.path, policy.minorsPath] : [p.path],
      { needs: 'guardian-consent' },
    );
  }
  if (r && (slot === Slot.SeparateRecipient || slot === Slot.SeparateRecipientGuardian)) {
    const why: Record<SeparateRule, { zh: string; en: string }> = {
      declared: {
        zh: `隐私政策承诺向${r.zh}提供个人信息前取得单独同意`,
        en: `The privacy policy promises separate consent before provision to ${r.en}`,
      },
      'cross-border': {
        zh: `向境外接收方${r.zh}提供个人信息须取得个人的单独同意（个人信息保护法第三十九条）`,
        en: `Provision to ${r.en} outside mainland China needs the person's separate consent (PIPL art. 39)`,
      },
      'public-disclosure': {
        zh: `通过${r.zh}公开个人信息须取得个人的单独同意（个人信息保护法第二十五条）`,
        en: `Public disclosure through ${r.en} needs the person's separate consent (PIPL art. 25)`,
      },
      'third-party': {
        zh: `向其他个人信息处理者${r.zh}提供个人信息须取得个人的单独同意（个人信息保护法第二十三条）`,
        en: `Provision to another processor, ${r.en}, needs the person's separate consent (PIPL art. 23)`,
      },
    };
    const t = why[r.separate ?? 'third-party'];
    const guardian = slot === Slot.SeparateRecipientGuardian;
    return freezeDecision(
      false,
      'consent.separate-required',
      guardian ? `${t.zh}；该个人为未成年人，需由监护人同意` : t.zh,
      guardian ? `${t.en}; the person is a minor, so a guardian must consent` : t.en,
      [r.separateClause],
      { needs: guardian ? 'guardian-consent' : 'separate-consent' },
    );
  }
  throw new Error(`consent: no decision slot ${slot} for purpose ${p.id}${r ? ` and recipient ${r.id}` : ''}`);
}

/** @internal category.undeclared-for-purpose */
export function categoryDenial(policy: CompiledPolicy, p: PurposeCore, index: number): Decision {
  const hit = p.categoryDenials[index];
  if (hit) return hit;
  const c = policy.categories[index];
  const zh = c?.zh ?? String(index);
  const en = c?.en ?? String(index);
  const built = freezeDecision(
    false,
    'category.undeclared-for-purpose',
    `目的${p.zh}未声明收集或使用${zh}（个人信息保护法第六条、第十七条）`,
    `Purpose ${p.en} does not declare the category ${en} (PIPL arts. 6, 17)`,
    [`${p.path}.categories`],
    { category: c?.id ?? String(index) },
  );
  p.categoryDenials[index] = built;
  return built;
}

const UNKNOWN_CATEGORY_CACHE = 256;

/** @internal category.undeclared-for-purpose for an id the declaration does not list at all. */
export function unknownCategoryDenial(p: PurposeCore, id: string): Decision {
  const hit = p.unknownCategoryDenials.get(id);
  if (hit) return hit;
  const built = freezeDecision(
    false,
    'category.undeclared-for-purpose',
    `目的${p.zh}未声明收集或使用「${id}」，该类别不在隐私政策声明中`,
    `Purpose ${p.en} does not declare the category "${id}", which the declaration does not list at all`,
    [`${p.path}.categories`],
    { category: id },
  );
  // Bounded: ids come from callers, and a cache must not grow with whatever they send.
  if (p.unknownCategoryDenials.size < UNKNOWN_CATEGORY_CACHE) p.unknownCategoryDenials.set(id, built);
  return built;
}

/** @internal recipient.purpose-not-declared */
export function recipientPurposeDenial(p: PurposeCore, r: CompiledRecipient): Decision {
  const hit = p.recipientPurposeDenials[r.index];
  if (hit) return hit;
  const built = freezeDecision(
    false,
    'recipient.purpose-not-declared',
    `隐私政策未声明为目的${p.zh}向${r.zh}提供个人信息（个人信息保护法第二十三条）`,
    `The privacy policy does not declare provision to ${r.en} for purpose ${p.en} (PIPL art. 23)`,
    [`${r.path}.purposes`],
  );
  p.recipientPurposeDenials[r.index] = built;
  return built;
}

/** @internal recipient.category-not-declared */
export function recipientCategoryDenial(policy: CompiledPolicy, r: CompiledRecipient, index: number): Decision {
  const hit = r.categoryDenials[index];
  if (hit) return hit;
  const c = policy.categories[index];
  const built = freezeDecision(
    false,
    'recipient.category-not-declared',
    `隐私政策未声明向${r.zh}提供${c?.zh ?? index}（个人信息保护法第二十三条）`,
    `The privacy policy does not declare providing ${c?.en ?? index} to ${r.en} (PIPL art. 23)`,
    [`${r.path}.categories`],
    { category: c?.id ?? String(index) },
  );
  r.categoryDenials[index] = built;
  return built;
}

/** @internal consent.separate-required because a requested category is sensitive. */
export function sensitiveDenial(policy: CompiledPolicy, p: PurposeCore, index: number, guardian: boolean): Decision {
  // Guardian variants live in the upper half of the array, built lazily like the rest.
  const slot = guardian ? index + policy.categories.length : index;
  const hit = p.sensitiveDenials[slot];
  if (hit) return hit;
  const c = policy.categories[index];
  const built = freezeDecision(
    false,
    'consent.separate-required',
    `${c?.zh ?? index}属于敏感个人信息，为目的${p.zh}处理须取得单独同意（个人信息保护法第二十八条、第二十九条）${guardian ? '；该个人为未成年人，需由监护人同意' : ''}`,
    `${c?.en ?? index} is sensitive personal information: processing it for purpose ${p.en} needs separate consent (PIPL arts. 28, 29)${guardian ? '; the person is a minor, so a guardian must consent' : ''}`,
    [`${p.path}.categories`, c?.path ?? '$.categories'],
    { needs: guardian ? 'guardian-consent' : 'separate-consent', category: c?.id ?? String(index) },
  );
  p.sensitiveDenials[slot] = built;
  return built;
}
