/**
 * Shared machinery of the differ: the change collector, matching of list items by key, set
 * differences, labels for summaries, and the generic editorial comparison of the fields a section
 * does not judge itself.
 */
import { formatPath, type PathSegment } from '../load.js';
import type { Declaration, Text } from '../schema.js';
import { taxonomyCategory } from '../taxonomy.js';
import type { Bilingual, ChangeKind, DeclarationChange, Lang } from './types.js';

/** What a material change touches; `all` = every purpose and recipient of the new declaration. */
export type Affects = { purposes?: readonly string[]; recipients?: readonly string[] } | 'all';

export interface DiffContext {
  readonly old: Declaration;
  readonly new: Declaration;
  add(kind: ChangeKind, path: readonly PathSegment[], material: boolean, summary: Bilingual, affects?: Affects): void;
}

export interface PendingChange extends Omit<DeclarationChange, 'affects'> {
  affectsSpec?: Affects;
}

export function createContext(oldDecl: Declaration, newDecl: Declaration, out: PendingChange[]): DiffContext {
  return {
    old: oldDecl,
    new: newDecl,
    add(kind, path, material, summary, affects) {
      const en = summary.en.charAt(0).toUpperCase() + summary.en.slice(1);
      out.push({
        kind,
        path: formatPath(path),
        material,
        summary: { zh: summary.zh, en },
        ...(material && affects ? { affectsSpec: affects } : {}),
      });
    },
  };
}

// ---------------------------------------------------------------------------------------------
// matching

export interface Indexed<T> {
  item: T;
  index: number;
}

export interface Pair<T> {
  old: T;
  new: T;
  oldIndex: number;
  newIndex: number;
}

/**
 * Match two lists by a key (the item's id). Reordering is not a change. Duplicate keys (possible
 * for rights and channels) are matched in their order of appearance.
 */
export function matchBy<T>(
  oldList: readonly T[] | undefined,
  newList: readonly T[] | undefined,
  key: (item: T) => string,
): { pairs: Pair<T>[]; removed: Indexed<T>[]; added: Indexed<T>[] } {
  const keyed = (list: readonly T[] | undefined) => {
    const seen = new Map<string, number>();
    const map = new Map<string, Indexed<T>>();
    const order: string[] = [];
    list?.forEach((item, index) => {
      const k = key(item);
      const n = seen.get(k) ?? 0;
      seen.set(k, n + 1);
      const full = `${k}\u0000${n}`;
      map.set(full, { item, index });
      order.push(full);
    });
    return { map, order };
  };
  const o = keyed(oldList);
  const n = keyed(newList);
  const pairs: Pair<T>[] = [];
  const added: Indexed<T>[] = [];
  for (const k of n.order) {
    const nv = n.map.get(k);
    if (!nv) continue;
    const ov = o.map.get(k);
    if (ov) pairs.push({ old: ov.item, new: nv.item, oldIndex: ov.index, newIndex: nv.index });
    else added.push(nv);
  }
  const removed: Indexed<T>[] = [];
  for (const k of o.order) {
    const ov = o.map.get(k);
    if (ov && !n.map.has(k)) removed.push(ov);
  }
  return { pairs, removed, added };
}

/** Items of `b` not in `a` (added) and of `a` not in `b` (removed), in list order. */
export function setDiff(a: readonly string[] | undefined, b: readonly string[] | undefined): { added: string[]; removed: string[] } {
  const sa = new Set(a ?? []);
  const sb = new Set(b ?? []);
  return { added: [...sb].filter((x) => !sa.has(x)), removed: [...sa].filter((x) => !sb.has(x)) };
}

// ---------------------------------------------------------------------------------------------
// values

/** JSON with sorted keys and order-insensitive arrays: equal values give equal strings. */
export function canonical(v: unknown): string {
  if (v === undefined) return 'undefined';
  if (v === null || typeof v !== 'object') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(canonical).sort().join(',')}]`;
  const entries = Object.entries(v as Record<string, unknown>)
    .filter(([, x]) => x !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${canonical(x)}`).join(',')}}`;
}

/** A string Text and `{ zh }` with the same words are the same text. */
function normaliseText(v: unknown): unknown {
  return typeof v === 'string' ? { zh: v } : v;
}

export function same(a: unknown, b: unknown): boolean {
  return canonical(normaliseText(a)) === canonical(normaliseText(b));
}

export function isText(v: unknown): v is Text {
  return (
    typeof v === 'string' || (v !== null && typeof v === 'object' && !Array.isArray(v) && typeof (v as { zh?: unknown }).zh === 'string')
  );
}

export function textIn(t: Text | undefined, lang: Lang): string {
  if (t === undefined) return '';
  if (typeof t === 'string') return t;
  return lang === 'en' ? (t.en ?? t.zh) : t.zh;
}

export function truncate(s: string, max = 48): string {
  const flat = s.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

export function quote(s: string, lang: Lang): string {
  return lang === 'zh' ? `“${s}”` : `"${s}"`;
}

export function bi(zh: string, en: string): Bilingual {
  return { zh, en };
}

/** Apply a template to both languages. */
export function both(f: (lang: Lang) => string): Bilingual {
  return { zh: f('zh'), en: f('en') };
}

// ---------------------------------------------------------------------------------------------
// labels

export function categoryLabel(d: Declaration, id: string, lang: Lang): string {
  const declared = d.categories.find((c) => c.id === id);
  if (declared?.label) return textIn(declared.label, lang);
  const tax = taxonomyCategory(id);
  if (tax) return lang === 'zh' ? tax.zh : tax.en;
  return id;
}

/** At most `max` labels, then "等 N 项" / "and N more". */
export function categoryList(d: Declaration, ids: readonly string[], lang: Lang, max = 8): string {
  const shown = ids.slice(0, max).map((id) => quote(categoryLabel(d, id, lang), lang));
  const rest = ids.length - shown.length;
  if (lang === 'zh') return `${shown.join('、')}${rest > 0 ? `等 ${ids.length} 项` : ''}`;
  return `${shown.join(', ')}${rest > 0 ? ` and ${rest} more` : ''}`;
}

function named(kindZh: string, kindEn: string, name: Text | undefined, id: string, lang: Lang): string {
  const n = name ? textIn(name, lang) : id;
  return lang === 'zh' ? `${kindZh}“${n}”（${id}）` : `${kindEn} "${n}" (${id})`;
}

export function purposeRef(d: Declaration, id: string, lang: Lang): string {
  return named('目的', 'purpose', d.purposes.find((p) => p.id === id)?.name, id, lang);
}

export function purposeList(d: Declaration, ids: readonly string[], lang: Lang): string {
  return ids.map((id) => purposeRef(d, id, lang)).join(lang === 'zh' ? '、' : ', ');
}

export function recipientRef(d: Declaration, id: string, lang: Lang): string {
  return named('接收方', 'recipient', d.recipients?.find((r) => r.id === id)?.name, id, lang);
}

export function permissionRef(d: Declaration, id: string, lang: Lang): string {
  return named('权限', 'permission', d.permissions?.find((p) => p.id === id)?.name, id, lang);
}

export function sourceRef(id: string, lang: Lang): string {
  return lang === 'zh' ? `收集来源 ${id}` : `source ${id}`;
}

export function yesNo(v: boolean | undefined, lang: Lang): string {
  if (v === undefined) return lang === 'zh' ? '未说明' : 'unstated';
  if (lang === 'zh') return v ? '是' : '否';
  return v ? 'yes' : 'no';
}

const FIELD_LABELS: Record<string, Bilingual> = {
  id: bi('标识', 'id'),
  name: bi('名称', 'name'),
  products: bi('产品', 'products'),
  type: bi('应用类型', 'app type'),
  stateOrgan: bi('国家机关', 'state organ'),
  publicAffairs: bi('管理公共事务的组织', 'manages public affairs'),
  individuals: bi('个人信息主体数量', 'number of individuals'),
  improvementOnly: bi('仅为改善服务', 'improvement only'),
  contracted: bi('已签约并审计', 'contracted and audited'),
  frequency: bi('频率', 'frequency'),
  optional: bi('可选', 'optional'),
  irreversibleWarning: bi('不可恢复提示', 'irreversibility warning'),
  afterwards: bi('注销后处理', 'after cancellation'),
  route: bi('出境途径', 'legal route'),
  separateConsent: bi('单独同意', 'separate consent'),
  encryptionAtRest: bi('存储加密', 'encryption at rest'),
  encryptionInTransit: bi('传输加密', 'encryption in transit'),
  channels: bi('渠道', 'channels'),
  content: bi('告知内容', 'content'),
  reportsToRegulator: bi('向监管部门报告', 'reports to the regulator'),
  notification: bi('告知方式', 'notification'),
  materialChangeNotice: bi('重大变更通知', 'material-change notice'),
  noReductionWithoutConsent: bi('未经同意不削减权利', 'no reduction of rights without consent'),
  done: bi('已完成', 'done'),
  scope: bi('范围', 'scope'),
  exceptions: bi('例外情形', 'exceptions'),
  legalName: bi('法定名称', 'legal name'),
  label: bi('名称', 'label'),
  title: bi('职务', 'title'),
  description: bi('说明', 'description'),
  scenario: bi('收集场景', 'scenario'),
  note: bi('备注', 'note'),
  necessity: bi('必要性说明', 'statement of necessity'),
  purposeText: bi('目的表述', 'purpose wording'),
  summary: bi('摘要', 'summary'),
  basicFunction: bi('基本业务功能', 'basic function'),
  operatorNote: bi('运营说明', 'operator note'),
  requestedWhen: bi('申请时机', 'when requested'),
  ifDenied: bi('拒绝后的影响', 'if denied'),
  conditions: bi('条件', 'conditions'),
  verification: bi('身份验证', 'verification'),
  under14Rules: bi('不满十四周岁儿童个人信息保护规则', 'rules for children under 14'),
  howToRefuse: bi('拒绝方式', 'how to refuse'),
  ifRefused: bi('拒绝后的影响', 'if refused'),
  optOut: bi('退订方式', 'opt-out'),
  reason: bi('理由', 'reason'),
  retention: bi('保存期限说明', 'retention statement'),
  withdrawal: bi('撤回同意方式', 'withdrawal of consent'),
  externalDispute: bi('外部争议解决途径', 'external dispute route'),
  liabilityDisclaimer: bi('免责条款', 'liability disclaimer'),
  provider: bi('提供方', 'provider'),
  complaint: bi('投诉渠道', 'complaint channel'),
  registeredAddress: bi('注册地址', 'registered address'),
  officeAddress: bi('办公地址', 'office address'),
  address: bi('地址', 'address'),
  phone: bi('电话', 'phone'),
  email: bi('电子邮箱', 'email'),
  contact: bi('联系方式', 'contact'),
  dpo: bi('个人信息保护负责人', 'DPO'),
  channel: bi('联系渠道', 'channel'),
  web: bi('网址', 'web address'),
  website: bi('网站', 'website'),
  policyUrl: bi('隐私政策链接', 'privacy policy URL'),
  policyTitle: bi('隐私政策名称', 'privacy policy title'),
  contactAddress: bi('联系地址', 'contact address'),
  published: bi('发布日期', 'publication date'),
  effective: bi('生效日期', 'effective date'),
  date: bi('日期', 'date'),
};

export function fieldLabel(key: string, lang: Lang): string {
  return FIELD_LABELS[key]?.[lang] ?? key;
}

const URL_KEYS = new Set(['web', 'website', 'policyUrl']);
const DATE_KEYS = new Set(['published', 'effective', 'date']);
const CONTACT_KEYS = new Set([
  'contact',
  'dpo',
  'phone',
  'email',
  'registeredAddress',
  'officeAddress',
  'contactAddress',
  'address',
  'channel',
  'complaint',
  'title',
]);

/** Fields whose value is a `Text` that a person reads. */
const TEXT_KEYS = new Set([
  'name',
  'legalName',
  'label',
  'description',
  'scenario',
  'note',
  'necessity',
  'purposeText',
  'summary',
  'basicFunction',
  'operatorNote',
  'requestedWhen',
  'ifDenied',
  'conditions',
  'verification',
  'under14Rules',
  'howToRefuse',
  'ifRefused',
  'optOut',
  'reason',
  'retention',
  'withdrawal',
  'externalDispute',
  'liabilityDisclaimer',
  'provider',
  'policyTitle',
]);

function kindForField(key: string, a: unknown, b: unknown): ChangeKind {
  if (URL_KEYS.has(key)) return 'url.changed';
  if (DATE_KEYS.has(key)) return 'date.changed';
  if (CONTACT_KEYS.has(key)) return 'contact.changed';
  if ((a === undefined || isText(a)) && (b === undefined || isText(b)) && TEXT_KEYS.has(key)) return 'text.changed';
  return 'field.changed';
}

/** A list item in a summary: its text, its name (products, channels), or compact JSON. */
function itemLabel(x: unknown, lang: Lang): string {
  if (isText(x)) return textIn(x, lang);
  if (x && typeof x === 'object') {
    const o = x as { name?: unknown; kind?: unknown };
    if (isText(o.name)) return textIn(o.name, lang);
    if (typeof o.kind === 'string') return o.kind;
  }
  return JSON.stringify(x);
}

export function showValue(v: unknown, lang: Lang): string {
  if (v === undefined || v === null) return lang === 'zh' ? '（无）' : '(none)';
  if (typeof v === 'boolean') return yesNo(v, lang);
  if (isText(v)) return quote(truncate(textIn(v, lang)), lang);
  if (Array.isArray(v)) return truncate(v.map((x) => itemLabel(x, lang)).join(', '), 60);
  if (typeof v === 'object') return truncate(JSON.stringify(v), 60);
  return String(v);
}

/**
 * Editorial comparison of the fields of `o` and `n` that the section did not judge (`handled`):
 * one change per differing field, classified as text, contact, URL, date or other field.
 */
export function diffRest(
  ctx: DiffContext,
  o: object | undefined,
  n: object | undefined,
  oldPath: readonly PathSegment[],
  newPath: readonly PathSegment[],
  handled: readonly string[],
  owner: Bilingual,
): void {
  const ov = (o ?? {}) as Record<string, unknown>;
  const nv = (n ?? {}) as Record<string, unknown>;
  const keys = [...new Set([...Object.keys(ov), ...Object.keys(nv)])].filter((k) => !handled.includes(k));
  for (const key of keys) {
    const a = ov[key];
    const b = nv[key];
    if (same(a, b)) continue;
    const path = b === undefined ? [...oldPath, key] : [...newPath, key];
    const summary = both((lang) => {
      const field = fieldLabel(key, lang);
      const of = owner[lang] ? (lang === 'zh' ? `${owner.zh}的` : `${owner.en}: `) : '';
      if (lang === 'zh') {
        if (a === undefined) return `新增${of}${field}：${showValue(b, lang)}`;
        if (b === undefined) return `删除${of}${field}（原为 ${showValue(a, lang)}）`;
        return `${of}${field}由 ${showValue(a, lang)} 改为 ${showValue(b, lang)}`;
      }
      if (a === undefined) return `${of}${field} added: ${showValue(b, lang)}`;
      if (b === undefined) return `${of}${field} removed (was ${showValue(a, lang)})`;
      return `${of}${field} changed from ${showValue(a, lang)} to ${showValue(b, lang)}`;
    });
    ctx.add(kindForField(key, a, b), path, false, summary);
  }
}
