/**
 * Context words. A word of a detector's list found in the window before a match (or just after
 * it) raises the score; a negative word (order numbers, tracking numbers, amounts, timestamps)
 * nearer than any positive word lowers the score of numeric detectors.
 */
import type { DetectorType } from './types.js';

export const CONTEXT_WORDS: Readonly<Record<DetectorType, readonly string[]>> = {
  'id-card': [
    '身份证',
    '证件号',
    '身份号码',
    '公民身份',
    'idcard',
    'id_card',
    'id card',
    'id no',
    'id_no',
    'idno',
    'id number',
    'sfz',
    'identity',
  ],
  'foreign-permanent-residence': ['永久居留', '永居', '居留证', '外国人', 'permanent residence', 'residence'],
  'residence-permit': ['居住证', '港澳台居民', '港澳居民', '台湾居民', 'residence permit', 'residence'],
  phone: [
    '手机',
    '电话',
    '联系方式',
    '号码',
    '移动电话',
    '致电',
    '拨打',
    '来电',
    '短信',
    '热线',
    '发送至',
    'mobile',
    'phone',
    'tel',
    'cell',
    'msisdn',
  ],
  landline: ['电话', '座机', '固话', '固定电话', '办公电话', '传真', '热线', '联系方式', 'tel', 'phone', 'fax', 'landline'],
  'bank-card': [
    '卡号',
    '银行卡',
    '储蓄卡',
    '信用卡',
    '借记卡',
    '银行账号',
    '银行账户',
    '开户',
    '收款账号',
    '账号',
    '账户',
    '银联',
    'card',
    'bank',
    'acct',
    'pan',
  ],
  'credit-code': ['统一社会信用代码', '信用代码', '税号', '纳税人识别号', 'uscc', 'credit code', 'credit_code'],
  passport: ['护照', 'passport'],
  'hk-macao-permit': ['通行证', '港澳', '回乡证', '台胞证', '往来台湾', '往来港澳', 'permit'],
  'licence-plate': ['车牌', '号牌', '牌照', '车辆', 'plate'],
  email: ['邮箱', '电子邮件', '邮件', 'email', 'e-mail', 'mail'],
  ipv4: ['ip', '客户端', '登录地址', 'client', 'remote', 'addr', 'host', 'x-forwarded-for', 'src', 'source'],
  ipv6: ['ip', '客户端', 'client', 'remote', 'addr', 'host', 'x-forwarded-for'],
  mac: ['mac', '物理地址', '网卡', 'bssid', 'wifi', 'wlan'],
  imei: ['imei', '设备号', '设备识别码', '串号', '国际移动设备', 'device_id', 'deviceid', 'device id'],
  imsi: ['imsi', '用户识别码', '国际移动用户', 'sim'],
  meid: ['meid', '移动设备识别码'],
  idfa: ['idfa', '广告标识符', 'advertisingidentifier', 'advertising id', 'ad_id'],
  idfv: ['idfv', 'identifierforvendor', 'vendor id', '开发商标识符'],
  oaid: ['oaid', '匿名设备标识符', '开放匿名设备'],
  'android-id': ['android_id', 'androidid', 'android id', 'android-id', '安卓id', 'ssaid'],
  'url-credentials': [],
  name: [
    '姓名',
    '名字',
    '联系人',
    '收货人',
    '收件人',
    '寄件人',
    '客户',
    '用户',
    '患者',
    '病人',
    '申请人',
    '持卡人',
    '户主',
    '法定代表人',
    '法人',
    '经办人',
    '负责人',
    '签名',
    '签字',
    '学生',
    '员工',
    '业主',
    '乘客',
    '旅客',
    '会员',
    '家长',
    '监护人',
    '开户名',
    '户名',
    '我叫',
    '我是',
    'name',
    'realname',
    'contact',
    '姓名是',
    '名叫',
    '叫做',
    '投诉人',
    '来访人',
    '就诊人',
    '被保险人',
    '投保人',
    '受益人',
  ],
  address: [
    '地址',
    '住址',
    '居住地',
    '户籍',
    '住所',
    '寄往',
    '送至',
    '送到',
    '寄到',
    '位于',
    '住在',
    '家住',
    '现住',
    '配送至',
    'address',
    'addr',
  ],
};

/** Words that say a number is something else (an order, a parcel, an amount, a time). */
export const NEGATIVE_WORDS: readonly string[] = [
  '订单',
  '单号',
  '流水',
  '交易号',
  '运单',
  '快递',
  '物流',
  '编号',
  '序号',
  '批次',
  '工单',
  '发票',
  '票号',
  '金额',
  '价格',
  '余额',
  '时间戳',
  '券码',
  '券号',
  '兑换码',
  '优惠码',
  '版本',
  '条码',
  '商品',
  'order',
  'tracking',
  'txn',
  'trade',
  'invoice',
  'amount',
  'price',
  'timestamp',
  'version',
  'sku',
  'barcode',
];

/** Name context words that come after the name (张三先生). */
export const NAME_AFTER_WORDS: readonly string[] = [
  '先生',
  '女士',
  '小姐',
  '同学',
  '老师',
  '医生',
  '同志',
  '经理',
  '师傅',
  '护士',
  '律师',
  '教授',
  '阿姨',
];

const LATIN = /[a-z]/;

function isLatinLetter(c: string | undefined): boolean {
  return c !== undefined && c >= 'a' && c <= 'z';
}

/**
 * Distance in characters from the end of the nearest occurrence of one of `words` in `window` to
 * the window's end (0 = adjacent), or undefined. `window` must be lower-case. A Latin word must not
 * be preceded by a Latin letter (so `ip` is not found in `zip`).
 */
export function nearestBefore(window: string, words: readonly string[]): { distance: number; word: string } | undefined {
  let best: { distance: number; word: string } | undefined;
  for (const w of words) {
    let idx = window.lastIndexOf(w);
    while (idx >= 0 && LATIN.test(w[0] ?? '') && isLatinLetter(window[idx - 1])) idx = idx > 0 ? window.lastIndexOf(w, idx - 1) : -1;
    if (idx < 0) continue;
    const distance = window.length - idx - w.length;
    if (!best || distance < best.distance) best = { distance, word: w };
  }
  return best;
}

// ---- keyword index: every context word of every type and the negative words, by first character ----

interface Keyword {
  word: string;
  latin: boolean;
  /** Types this word is a context word of. */
  types: ReadonlySet<DetectorType>;
  negative: boolean;
}

const KEYWORD_LISTS: (readonly Keyword[])[] = [];
/** Char code -> index + 1 into KEYWORD_LISTS (0 = no keyword starts with it). */
const FIRST = new Uint16Array(65536);

export const KEYWORDS_BY_FIRST: ReadonlyMap<number, readonly Keyword[]> = (() => {
  const byWord = new Map<string, { types: Set<DetectorType>; negative: boolean }>();
  for (const [type, words] of Object.entries(CONTEXT_WORDS) as [DetectorType, readonly string[]][]) {
    for (const w of words) {
      const e = byWord.get(w) ?? { types: new Set<DetectorType>(), negative: false };
      e.types.add(type);
      byWord.set(w, e);
    }
  }
  for (const w of NEGATIVE_WORDS) {
    const e = byWord.get(w) ?? { types: new Set<DetectorType>(), negative: false };
    e.negative = true;
    byWord.set(w, e);
  }
  const m = new Map<number, Keyword[]>();
  for (const [word, e] of byWord) {
    const k: Keyword = { word, latin: LATIN.test(word[0] ?? ''), types: e.types, negative: e.negative };
    const codes = k.latin ? [word.charCodeAt(0), word.toUpperCase().charCodeAt(0)] : [word.charCodeAt(0)];
    for (const c of codes) m.set(c, [...(m.get(c) ?? []), k]);
  }
  for (const [code, list] of m) {
    list.sort((a, b) => b.word.length - a.word.length);
    KEYWORD_LISTS.push(list);
    FIRST[code] = KEYWORD_LISTS.length;
  }
  return m;
})();

function listAt(t: string, i: number): readonly Keyword[] | undefined {
  const k = FIRST[t.charCodeAt(i)] ?? 0;
  return k === 0 ? undefined : KEYWORD_LISTS[k - 1];
}

/** A keyword found in a window: its end's distance from the window's end. */
export interface KeywordHit {
  keyword: Keyword;
  distance: number;
}

function matchesAt(t: string, i: number, k: Keyword): boolean {
  const w = k.word;
  if (i + w.length > t.length) return false;
  if (!k.latin) return t.startsWith(w, i);
  for (let j = 0; j < w.length; j++) {
    let c = t.charCodeAt(i + j);
    if (c >= 65 && c <= 90) c += 32;
    if (c !== w.charCodeAt(j)) return false;
  }
  const p = t.charCodeAt(i - 1);
  return !((p >= 65 && p <= 90) || (p >= 97 && p <= 122));
}

/** Keywords that end inside [from, to) of `t`, nearest (to `to`) first. */
export function keywordsIn(t: string, from: number, to: number): KeywordHit[] {
  const hits: KeywordHit[] = [];
  let lo = Math.max(0, from - 8);
  // context does not reach back over the end of a sentence or a line
  for (let i = to - 1; i >= lo; i--) {
    const c = t.charCodeAt(i);
    if (c === 0x3002 || c === 10 || c === 0xff01 || c === 0xff1f || c === 0xff1b || c === 0x21 || c === 0x3f) {
      lo = i + 1;
      break;
    }
  }
  for (let i = to - 1; i >= lo; i--) {
    const list = listAt(t, i);
    if (!list) continue;
    for (const k of list) {
      const end = i + k.word.length;
      if (end > to || end <= from || !matchesAt(t, i, k)) continue;
      hits.push({ keyword: k, distance: to - end });
      break;
    }
  }
  if (hits.length > 1) hits.sort((a, b) => a.distance - b.distance);
  return hits;
}

/** Keywords that start inside [from, to) of `t`, first first. */
export function keywordsAfter(t: string, from: number, to: number): KeywordHit[] {
  const hits: KeywordHit[] = [];
  for (let i = from; i < to && i < t.length; i++) {
    const list = listAt(t, i);
    if (!list) continue;
    for (const k of list) {
      if (!matchesAt(t, i, k)) continue;
      hits.push({ keyword: k, distance: i - from });
      break;
    }
  }
  return hits;
}

export interface ContextResult {
  /** Score change: + for a positive word, - for a nearer negative word. */
  delta: number;
  reason?: string;
}

export interface ContextCache {
  before: Map<number, KeywordHit[]>;
  after: Map<number, KeywordHit[]>;
}

export function newContextCache(): ContextCache {
  return { before: new Map(), after: new Map() };
}

/**
 * The context of a match at [start, end) of `text` for `type`: the nearest context word of the
 * type in the window before (or a nearer negative word when `negative`), else the field name,
 * else a context word just after the match.
 */
export function contextFor(
  text: string,
  start: number,
  end: number,
  type: DetectorType,
  opts: { before: number; after: number; boost: number; negative: boolean; field: string | undefined; cache?: ContextCache },
): ContextResult {
  let hits = opts.cache?.before.get(start);
  if (!hits) {
    hits = keywordsIn(text, Math.max(0, start - opts.before), start);
    opts.cache?.before.set(start, hits);
  }
  let pos: KeywordHit | undefined;
  let neg: KeywordHit | undefined;
  for (const h of hits) {
    if (!pos && h.keyword.types.has(type)) pos = h;
    if (!neg && h.keyword.negative) neg = h;
    if (pos && neg) break;
  }
  if (opts.negative && neg && (!pos || pos.distance > neg.distance + 4))
    return { delta: -0.4, reason: `negative-context:${neg.keyword.word}` };
  if (pos) return { delta: opts.boost, reason: `context:${pos.keyword.word}` };
  if (opts.field) {
    const f = nearestBefore(opts.field, CONTEXT_WORDS[type]);
    if (f) return { delta: opts.boost, reason: `field:${f.word}` };
    if (opts.negative) {
      const fn = nearestBefore(opts.field, NEGATIVE_WORDS);
      if (fn) return { delta: -0.4, reason: `negative-field:${fn.word}` };
    }
  }
  if (opts.after > 0) {
    let after = opts.cache?.after.get(end);
    if (!after) {
      after = keywordsAfter(text, end, end + opts.after);
      opts.cache?.after.set(end, after);
    }
    // a word after the match that labels the next value (`… oaid=…`) is not context of this one
    const w = after.find(
      (h) =>
        h.keyword.types.has(type) &&
        !/^["']?\s*[=:]/.test(text.slice(end + h.distance + h.keyword.word.length, end + h.distance + h.keyword.word.length + 3)),
    );
    if (w) return { delta: opts.boost * 0.75, reason: `context-after:${w.keyword.word}` };
  }
  return { delta: 0 };
}
