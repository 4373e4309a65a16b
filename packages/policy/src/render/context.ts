/**
 * What every document builder needs: the declaration indexed by id, the language, and the helpers
 * that turn declared values into inline runs (texts with their language, categories with their
 * sensitivity, references, gaps).
 */
import { formatDuration } from '../diff/duration.js';
import type { CategoryDecl, Declaration, PermissionDecl, PurposeDecl, RecipientDecl, ResponseTime, Text } from '../schema.js';
import { taxonomyCategory } from '../taxonomy.js';
import { type Bilingual, FREQUENCY_LABELS, label, RESPONSE_UNIT_LABELS } from './labels.js';
import type { CategoryInfo, DocumentVersion, Inline, RenderDocumentKind, RenderLang } from './types.js';

type Frequency = NonNullable<Declaration['sources']>[number]['frequency'];

export interface RenderContext {
  d: Declaration;
  lang: RenderLang;
  categories: ReadonlyMap<string, CategoryDecl>;
  purposes: ReadonlyMap<string, PurposeDecl>;
  recipients: ReadonlyMap<string, RecipientDecl>;
  permissions: ReadonlyMap<string, PermissionDecl>;
}

const contexts = new WeakMap<Declaration, Map<RenderLang, RenderContext>>();

/** The context of a declaration in one language (cached per declaration object). */
export function renderContext(d: Declaration, lang: RenderLang): RenderContext {
  let byLang = contexts.get(d);
  if (!byLang) {
    byLang = new Map();
    contexts.set(d, byLang);
  }
  let ctx = byLang.get(lang);
  if (!ctx) {
    ctx = {
      d,
      lang,
      categories: new Map(d.categories.map((c) => [c.id, c])),
      purposes: new Map(d.purposes.map((p) => [p.id, p])),
      recipients: new Map((d.recipients ?? []).map((r) => [r.id, r])),
      permissions: new Map((d.permissions ?? []).map((p) => [p.id, p])),
    };
    byLang.set(lang, ctx);
  }
  return ctx;
}

/** zh or en. */
export function s(ctx: { lang: RenderLang }, zh: string, en: string): string {
  return ctx.lang === 'zh' ? zh : en;
}

export function lbl(ctx: { lang: RenderLang }, l: Bilingual): string {
  return label(l, ctx.lang);
}

/** A declared text in the document's language; `fallback` when only the zh text exists in an en document. */
export function textOf(t: Text, lang: RenderLang): { text: string; fallback: boolean } {
  if (typeof t === 'string') return { text: t, fallback: lang === 'en' };
  if (lang === 'en') return t.en !== undefined ? { text: t.en, fallback: false } : { text: t.zh, fallback: true };
  return { text: t.zh, fallback: false };
}

export function str(ctx: RenderContext, t: Text | undefined): string | null {
  return t === undefined ? null : textOf(t, ctx.lang).text;
}

/** A declared text as an inline run (marked zh when an en document falls back to it). */
export function txt(ctx: RenderContext, t: Text): Extract<Inline, { type: 'text' }> {
  const { text, fallback } = textOf(t, ctx.lang);
  return fallback ? { type: 'text', text, lang: 'zh' } : { type: 'text', text };
}

/** A declared plain string (not a zh/en Text): marked zh in an en document when it holds Chinese. */
export function declared(ctx: { lang: RenderLang }, text: string): Inline {
  return ctx.lang === 'en' && /[\u3400-\u9fff\uff00-\uffef]/.test(text) ? { type: 'text', text, lang: 'zh' } : { type: 'text', text };
}

export function plain(text: string): Inline {
  return { type: 'text', text };
}

export function strong(text: string): Inline {
  return { type: 'strong', text };
}

/** "本政策未说明{zh}。" / "Not stated in this policy: {en}." */
export function gap(ctx: { lang: RenderLang }, zh: string, en: string): Inline {
  return { type: 'gap', text: ctx.lang === 'zh' ? `本政策未说明${zh}。` : `Not stated in this policy: ${en}.` };
}

/** The short gap for a table cell. */
export function cellGap(ctx: { lang: RenderLang }): Inline {
  return { type: 'gap', text: s(ctx, '本政策未说明', 'Not stated in this policy') };
}

export function sep(ctx: { lang: RenderLang }): string {
  return s(ctx, '、', ', ');
}

export function colon(ctx: { lang: RenderLang }): string {
  return s(ctx, '：', ': ');
}

export function stop(ctx: { lang: RenderLang }): string {
  return s(ctx, '。', '.');
}

/** Join groups of inline runs with a separator. */
export function joinInline(groups: readonly Inline[][], separator: string): Inline[] {
  const out: Inline[] = [];
  groups.forEach((g, i) => {
    if (i > 0) out.push(plain(separator));
    out.push(...g);
  });
  return out;
}

/** "Label：" followed by the content. */
export function labelled(ctx: RenderContext, name: string, content: readonly Inline[]): Inline[] {
  // The colon stays outside the bold run: Markdown cannot close `**` between a CJK colon and a letter.
  return [strong(name), plain(colon(ctx)), ...content];
}

// ---------------------------------------------------------------------------------------------
// categories

export function categoryInfo(ctx: RenderContext, id: string): CategoryInfo & { fallback: boolean } {
  const declared = ctx.categories.get(id);
  const tax = taxonomyCategory(id);
  let text = id;
  let fallback = false;
  if (declared?.label) ({ text, fallback } = textOf(declared.label, ctx.lang));
  else if (tax) text = ctx.lang === 'zh' ? tax.zh : tax.en;
  // A declaration may raise a taxonomy category to sensitive, never lower it.
  const sensitive = (tax?.sensitive ?? false) || declared?.sensitive === true;
  return { id, label: text, sensitive, fallback };
}

export function categoryData(ctx: RenderContext, id: string): CategoryInfo {
  const { label: l, sensitive } = categoryInfo(ctx, id);
  return { id, label: l, sensitive };
}

export function categoryInline(ctx: RenderContext, id: string): Inline {
  const c = categoryInfo(ctx, id);
  return c.fallback
    ? { type: 'category', id, text: c.label, sensitive: c.sensitive, lang: 'zh' }
    : { type: 'category', id, text: c.label, sensitive: c.sensitive };
}

export function categoryList(ctx: RenderContext, ids: readonly string[]): Inline[] {
  return joinInline(
    unique(ids).map((id) => [categoryInline(ctx, id)]),
    sep(ctx),
  );
}

export function isSensitive(ctx: RenderContext, id: string): boolean {
  return categoryInfo(ctx, id).sensitive;
}

// ---------------------------------------------------------------------------------------------
// references

export function purposeName(ctx: RenderContext, id: string): Inline {
  const p = ctx.purposes.get(id);
  return p ? txt(ctx, p.name) : plain(id);
}

/** A link to the purpose in the policy. */
export function purposeRef(ctx: RenderContext, id: string): Inline {
  const name = purposeName(ctx, id);
  return { type: 'ref', text: inlineText(name), document: 'policy', target: anchor.purpose(id), ...langOf(name) };
}

export function purposeRefs(ctx: RenderContext, ids: readonly string[]): Inline[] {
  return joinInline(
    unique(ids).map((id) => [purposeRef(ctx, id)]),
    sep(ctx),
  );
}

export function recipientRef(ctx: RenderContext, id: string, document: RenderDocumentKind = 'policy'): Inline {
  const r = ctx.recipients.get(id);
  const name = r ? txt(ctx, r.name) : plain(id);
  return { type: 'ref', text: inlineText(name), document, target: anchor.recipient(id), ...langOf(name) };
}

export function permissionRef(ctx: RenderContext, id: string, document: RenderDocumentKind = 'permissions'): Inline {
  const p = ctx.permissions.get(id);
  const name = p ? txt(ctx, p.name) : plain(id);
  return { type: 'ref', text: inlineText(name), document, target: anchor.permission(id), ...langOf(name) };
}

function langOf(i: Inline): { lang?: RenderLang } {
  return 'lang' in i && i.lang !== undefined ? { lang: i.lang } : {};
}

/** Anchor ids shared by every document (ids in a declaration are `[a-z0-9.-]`, safe in HTML). */
export const anchor = {
  purpose: (id: string) => `purpose-${id}`,
  recipient: (id: string) => `recipient-${id}`,
  permission: (id: string) => `permission-${id}`,
  collection: (purposeId: string | null, categoryId: string) => `collect-${purposeId ?? 'none'}--${categoryId}`,
  right: (kind: string) => `right-${kind}`,
};

// ---------------------------------------------------------------------------------------------
// values

export function inlineText(i: Inline): string {
  return i.text;
}

/** Plain text of inline runs (the sensitive marker included), for JSON and tests. */
export function plainText(runs: readonly Inline[], lang: RenderLang): string {
  return runs
    .map((r) => (r.type === 'category' && r.sensitive ? `${r.text}${lang === 'zh' ? '（敏感）' : ' (sensitive)'}` : r.text))
    .join('');
}

export function yesNo(ctx: { lang: RenderLang }, v: boolean): string {
  return v ? s(ctx, '是', 'Yes') : s(ctx, '否', 'No');
}

export function responseTime(ctx: { lang: RenderLang }, t: ResponseTime): string {
  if (ctx.lang === 'zh') return `${t.value}${RESPONSE_UNIT_LABELS[t.unit].zh}`;
  return `${t.value} ${RESPONSE_UNIT_LABELS[t.unit].en}${t.value === 1 ? '' : 's'}`;
}

export function duration(ctx: { lang: RenderLang }, iso: string): string {
  return formatDuration(iso, ctx.lang);
}

export function frequency(ctx: { lang: RenderLang }, f: Frequency): string | null {
  if (f === undefined) return null;
  if (typeof f === 'string') return lbl(ctx, FREQUENCY_LABELS[f]);
  const m = /^P(T?)(\d+)([SMHD])$/.exec(f.every);
  if (!m) return s(ctx, `每隔 ${f.every}`, `every ${f.every}`);
  const n = Number(m[2]);
  const unit = m[3] === 'S' ? 's' : m[3] === 'H' ? 'h' : m[3] === 'D' ? 'd' : m[1] === 'T' ? 'min' : 'mo';
  const zh = { s: '秒', min: '分钟', h: '小时', d: '天', mo: '个月' }[unit];
  const en = { s: 'second', min: 'minute', h: 'hour', d: 'day', mo: 'month' }[unit];
  return s(ctx, `每${n}${zh}一次`, `every ${n} ${en}${n === 1 ? '' : 's'}`);
}

/** Dates as the language writes them: 2022年3月20日 / 20 March 2022. */
export function date(ctx: { lang: RenderLang }, iso: string): string {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(iso);
  if (!m) return iso;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (ctx.lang === 'zh') return `${y}年${mo}月${d}日`;
  const months = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
  return `${d} ${months[mo - 1] ?? mo} ${y}`;
}

/** The newest version (the last one declared). */
export function currentVersion(d: Declaration): DocumentVersion {
  const v = d.versions[d.versions.length - 1] ?? d.versions[0];
  return { version: v?.version ?? '', published: v?.published ?? null, effective: v?.effective ?? null };
}

export function appName(ctx: RenderContext): string {
  return textOf(ctx.d.app.name, ctx.lang).text;
}

/** Only http(s) URLs become links; a bare host name (`www.example.com/x`) is read as https. */
export function safeUrl(raw: string): string | null {
  const v = raw.trim();
  if (/^https?:\/\//i.test(v)) return /^https?:\/\/[^\s<>"'`\\]+$/i.test(v) ? v : null;
  if (/^[a-z0-9-]+(\.[a-z0-9-]+)*\.[a-z]{2,}(?::\d+)?(?:[/?#][^\s<>"'`\\]*)?$/i.test(v)) return `https://${v}`;
  return null;
}

export function unique<T>(items: readonly T[]): T[] {
  return [...new Set(items)];
}

/** 1 -> 一, 12 -> 十二, 21 -> 二十一 (section numbers). */
export function chineseNumber(n: number): string {
  const digits = ['零', '一', '二', '三', '四', '五', '六', '七', '八', '九'];
  if (n < 10) return digits[n] ?? String(n);
  if (n < 20) return `十${n % 10 === 0 ? '' : digits[n % 10]}`;
  if (n < 100) return `${digits[Math.floor(n / 10)]}十${n % 10 === 0 ? '' : digits[n % 10]}`;
  return String(n);
}
