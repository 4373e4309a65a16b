/**
 * Facts about a declaration that several rules need (sensitivity, who receives what, what is
 * collected) and the wording helpers that make messages name the recipient, category and purpose.
 */
import type { Declaration, PermissionDecl, PurposeDecl, RecipientDecl, ResponseTime, Text } from '../schema.js';
import { taxonomyCategory } from '../taxonomy.js';
import type { LintBilingual, LintLang } from './types.js';

export function bi(zh: string, en: string): LintBilingual {
  return { zh, en };
}

/** A message function from a zh and an en template. */
export function msg(zh: string, en: string): (lang: LintLang) => string {
  return (lang) => (lang === 'zh' ? zh : en);
}

export function textIn(t: Text | undefined, lang: LintLang): string {
  if (t === undefined) return '';
  if (typeof t === 'string') return t;
  return lang === 'en' ? (t.en ?? t.zh) : t.zh;
}

/** Every language variant of a text, for keyword checks. */
export function allText(t: Text | undefined): string {
  if (t === undefined) return '';
  if (typeof t === 'string') return t;
  return `${t.zh}\n${t.en ?? ''}`;
}

export function truncate(s: string, max: number): string {
  const flat = s.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

/** About `max` characters of `s` around the first match of the first pattern that matches (the start when none does). */
export function excerpt(s: string, patterns: readonly RegExp[], max: number): string {
  const flat = s.replace(/\s+/g, ' ').trim();
  if (flat.length <= max) return flat;
  let at = 0;
  for (const re of patterns) {
    const m = re.exec(flat);
    if (m) {
      at = m.index;
      break;
    }
  }
  const start = Math.max(0, Math.min(at - Math.floor(max / 3), flat.length - max));
  const end = Math.min(flat.length, start + max);
  return `${start > 0 ? '…' : ''}${flat.slice(start, end)}${end < flat.length ? '…' : ''}`;
}

export function q(s: string, lang: LintLang): string {
  return lang === 'zh' ? `“${s}”` : `"${s}"`;
}

export function joinList(items: readonly string[], lang: LintLang, max = 6): string {
  const shown = items.slice(0, max);
  const rest = items.length - shown.length;
  if (lang === 'zh') return `${shown.join('、')}${rest > 0 ? `等 ${items.length} 项` : ''}`;
  return `${shown.join(', ')}${rest > 0 ? ` and ${rest} more` : ''}`;
}

// ---------------------------------------------------------------------------------------------
// categories

export function categoryLabel(d: Declaration, id: string, lang: LintLang): string {
  const declared = d.categories.find((c) => c.id === id);
  if (declared?.label) return textIn(declared.label, lang);
  const tax = taxonomyCategory(id);
  if (tax) return lang === 'zh' ? tax.zh : tax.en;
  return id;
}

export function categoryList(d: Declaration, ids: readonly string[], lang: LintLang, max = 6): string {
  return joinList(
    ids.map((id) => q(categoryLabel(d, id, lang), lang)),
    lang,
    max,
  );
}

/** Sensitive per the declaration (a custom category says; a taxonomy category may be raised) or the taxonomy. */
export function isSensitive(d: Declaration, id: string): boolean {
  const declared = d.categories.find((c) => c.id === id);
  if (declared?.sensitive === true) return true;
  return taxonomyCategory(id)?.sensitive === true;
}

export function isImmutableDeviceId(id: string): boolean {
  return taxonomyCategory(id)?.immutableDeviceId === true;
}

export function isAppList(id: string): boolean {
  return taxonomyCategory(id)?.appList === true;
}

export function isLocation(id: string): boolean {
  return taxonomyCategory(id)?.location === true;
}

/** Categories some purpose processes. */
export function purposeCategories(d: Declaration): Set<string> {
  return new Set(d.purposes.flatMap((p) => p.categories));
}

/** Categories the app collects: used by a purpose or gathered by a source. */
export function collectedCategories(d: Declaration): Set<string> {
  const out = purposeCategories(d);
  for (const s of d.sources ?? []) for (const c of s.categories) out.add(c);
  return out;
}

export function sensitiveCategoriesInUse(d: Declaration): string[] {
  return [...collectedCategories(d)].filter((id) => isSensitive(d, id));
}

// ---------------------------------------------------------------------------------------------
// purposes and recipients

export function purposeRef(p: PurposeDecl, lang: LintLang): string {
  return lang === 'zh' ? `目的“${textIn(p.name, lang)}”（${p.id}）` : `purpose "${textIn(p.name, lang)}" (${p.id})`;
}

export function permissionRef(p: PermissionDecl, lang: LintLang): string {
  return lang === 'zh' ? `权限“${textIn(p.name, lang)}”（${p.id}）` : `permission "${textIn(p.name, lang)}" (${p.id})`;
}

/** Upper-case the first letter (English sentence starts). */
export function cap(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

export function purposeById(d: Declaration, id: string): PurposeDecl | undefined {
  return d.purposes.find((p) => p.id === id);
}

export function recipientRef(r: RecipientDecl, lang: LintLang): string {
  const kind = recipientKindLabel(r, lang);
  return lang === 'zh' ? `${kind}“${textIn(r.name, lang)}”（${r.id}）` : `${kind} "${textIn(r.name, lang)}" (${r.id})`;
}

function recipientKindLabel(r: RecipientDecl, lang: LintLang): string {
  const zh = { sdk: 'SDK', processor: '受托处理者', controller: '第三方', authority: '机关', affiliate: '关联方' } as const;
  const en = { sdk: 'SDK', processor: 'processor', controller: 'third party', authority: 'authority', affiliate: 'affiliate' } as const;
  return lang === 'zh' ? zh[r.kind] : en[r.kind];
}

/** Recipients that are other processors under PIPL 23 (not entrusted processors or authorities). */
export function isThirdParty(r: RecipientDecl): boolean {
  return r.kind === 'sdk' || r.kind === 'controller' || r.kind === 'affiliate';
}

/** A purpose that relies on consent: basis consent, or no basis stated (nothing else to rest on). */
export function reliesOnConsent(p: PurposeDecl): boolean {
  return p.basis === undefined || p.basis === 'consent';
}

/** Whether the purpose is part of the basic function: declared required, or every purpose when refusing any part blocks the service. */
export function effectivelyRequired(d: Declaration, p: PurposeDecl): boolean {
  return p.required === true || d.consent?.refuseAllOrNothing === true;
}

const SECURITY_WORDS = /安全|风控|反欺诈|防欺诈|欺诈|防作弊|攻击|security|fraud|risk control|anti-cheat|attack/i;

/** A purpose whose own name, id or description says it serves security (fraud, risk control, attack detection). */
export function isSecurityPurpose(p: PurposeDecl): boolean {
  return SECURITY_WORDS.test(`${p.id}\n${allText(p.name)}\n${allText(p.description)}`);
}

// ---------------------------------------------------------------------------------------------
// time

/** Upper bound of a response time in calendar days (a working-day span includes weekends: 5 working days = 7 days). */
export function calendarDays(t: ResponseTime): number {
  switch (t.unit) {
    case 'days':
      return t.value;
    case 'working-days':
      return Math.ceil((t.value / 5) * 7);
    case 'hours':
      return t.value / 24;
  }
}

export function responseTimeText(t: ResponseTime, lang: LintLang): string {
  const zh = { days: '天', 'working-days': '个工作日', hours: '小时' } as const;
  const en = { days: 'days', 'working-days': 'working days', hours: 'hours' } as const;
  return lang === 'zh' ? `${t.value} ${zh[t.unit]}` : `${t.value} ${en[t.unit]}`;
}
