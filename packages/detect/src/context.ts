/**
 * Context words. A word of a detector's list found in the window before a match (or just after
 * it) raises the score; a negative word (order numbers, tracking numbers, amounts, timestamps)
 * nearer than any positive word lowers the score of numeric detectors.
 */
import { DETECTOR_TYPES, type DetectorType } from './types.js';

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

// ---- keyword tables: every context word of every type and the negative words, by first character ----

if (DETECTOR_TYPES.length > 31) throw new Error('TYPE_BIT: more detector types than bits of a 32-bit mask');

/** Bit of each detector type in a keyword's type mask (24 types, one 32-bit integer). */
export const TYPE_BIT: Readonly<Record<DetectorType, number>> = Object.fromEntries(DETECTOR_TYPES.map((t, i) => [t, 1 << i])) as Record<
  DetectorType,
  number
>;

const KW_WORD: string[] = [];
const KW_LEN: number[] = [];
/** Types the word is a context word of, as a mask of TYPE_BIT. */
const KW_MASK: number[] = [];
const KW_NEGATIVE: boolean[] = [];
/** The word is Latin: matched case-insensitively, and not right after a Latin letter (`ip` is not in `zip`). */
const KW_LATIN: boolean[] = [];
/** Third code unit of the word (lower-case), -1 for a two-character word: a cheap reject before comparing. */
const KW_THIRD: number[] = [];
const KW_REASON: string[] = [];
const KW_REASON_NEGATIVE: string[] = [];
const KW_REASON_AFTER: string[] = [];

/** A keyword other than a Latin one starts with this code unit. */
export const MARK_WORD = 1;
/** A Latin keyword starts with this letter (a keyword start when no Latin letter is before it). */
export const MARK_LATIN = 2;
/** The code unit ends a sentence or a line: context does not reach over it. */
export const MARK_BREAK = 3;
/** MARK_WORD, MARK_LATIN, MARK_BREAK or 0 for every code unit: what the token scan records. */
export const MARK = new Uint8Array(65536);

/**
 * Keywords by their first two code units (both cases of a Latin word): PAIR maps a hash of the two
 * to index + 1 into PAIR_LISTS (0 = no keyword starts so), each list longest word first. Words
 * whose pairs share a hash share a list; `keywordAt` tells them apart.
 */
const PAIR = new Uint16Array(65536);
const PAIR_LISTS: number[][] = [];

function pairHash(c0: number, c1: number): number {
  return ((c0 << 6) ^ c1) & 0xffff;
}

/** Some keyword may start at `i` of `t` (its first code unit is `c`): the first two code units fit. */
export function keywordMayStart(t: string, i: number, c: number): boolean {
  return PAIR[pairHash(c, t.charCodeAt(i + 1))] !== 0;
}

/** The longest keyword at `i` of `t`, or -1 (for a Latin one, the caller has checked the letter before `i`). */
function keywordStartingAt(t: string, i: number): number {
  const p = PAIR[pairHash(t.charCodeAt(i), t.charCodeAt(i + 1))] ?? 0;
  if (p === 0) return -1;
  const list = PAIR_LISTS[p - 1] ?? [];
  const c2 = t.charCodeAt(i + 2);
  const lower2 = c2 >= 65 && c2 <= 90 ? c2 + 32 : c2;
  for (let x = 0; x < list.length; x++) {
    const id = list[x] ?? 0;
    const third = KW_THIRD[id] ?? -1;
    if (third !== -1 && third !== (KW_LATIN[id] ? lower2 : c2)) continue;
    if (keywordAt(t, i, id)) return id;
  }
  return -1;
}

(() => {
  const byWord = new Map<string, { mask: number; negative: boolean }>();
  for (const [type, words] of Object.entries(CONTEXT_WORDS) as [DetectorType, readonly string[]][]) {
    for (const w of words) {
      const e = byWord.get(w) ?? { mask: 0, negative: false };
      e.mask |= TYPE_BIT[type];
      byWord.set(w, e);
    }
  }
  for (const w of NEGATIVE_WORDS) {
    const e = byWord.get(w) ?? { mask: 0, negative: false };
    e.negative = true;
    byWord.set(w, e);
  }
  const byPair = new Map<number, number[]>();
  for (const [word, e] of byWord) {
    if (word.length < 2) throw new Error(`context word "${word}": one character is too short to index`);
    const id = KW_WORD.length;
    const latin = LATIN.test(word[0] ?? '');
    KW_WORD.push(word);
    KW_LEN.push(word.length);
    KW_MASK.push(e.mask);
    KW_NEGATIVE.push(e.negative);
    KW_LATIN.push(latin);
    KW_THIRD.push(word.length > 2 ? word.charCodeAt(2) : -1);
    KW_REASON.push(`context:${word}`);
    KW_REASON_NEGATIVE.push(`negative-context:${word}`);
    KW_REASON_AFTER.push(`context-after:${word}`);
    const firsts = latin ? [word.charCodeAt(0), word.toUpperCase().charCodeAt(0)] : [word.charCodeAt(0)];
    const seconds = latin ? [word.charCodeAt(1), word.toUpperCase().charCodeAt(1)] : [word.charCodeAt(1)];
    for (const c0 of firsts) {
      MARK[c0] = latin ? MARK_LATIN : MARK_WORD;
      for (const c1 of seconds) {
        const h = pairHash(c0, c1);
        const list = byPair.get(h) ?? [];
        if (!list.includes(id)) list.push(id);
        byPair.set(h, list);
      }
    }
  }
  for (const [h, list] of byPair) {
    // longest first; among equal lengths the order of the word lists
    list.sort((a, b) => (KW_LEN[b] ?? 0) - (KW_LEN[a] ?? 0) || a - b);
    PAIR_LISTS.push(list);
    PAIR[h] = PAIR_LISTS.length;
  }
  for (const c of [0x3002, 10, 0xff01, 0xff1f, 0xff1b, 0x21, 0x3f]) MARK[c] = MARK_BREAK;
})();

function isAsciiLetter(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}

/** The keyword `id` occurs at `i` of `t` (Latin words case-insensitively; the caller checks the letter before). */
function keywordAt(t: string, i: number, id: number): boolean {
  const len = KW_LEN[id] ?? 0;
  if (i + len > t.length) return false;
  const w = KW_WORD[id] ?? '';
  if (!KW_LATIN[id]) return t.startsWith(w, i);
  for (let j = 0; j < len; j++) {
    let c = t.charCodeAt(i + j);
    if (c >= 65 && c <= 90) c += 32;
    if (c !== w.charCodeAt(j)) return false;
  }
  return true;
}

/**
 * The longest keyword at `i` of `t` that ends in (from, to], or -1. A keyword may start at `i` (the
 * caller checked the letter before a Latin one).
 */
function longestAt(t: string, i: number, from: number, to: number): number {
  const p = PAIR[pairHash(t.charCodeAt(i), t.charCodeAt(i + 1))] ?? 0;
  if (p === 0) return -1;
  const list = PAIR_LISTS[p - 1] ?? [];
  for (let x = 0; x < list.length; x++) {
    const id = list[x] ?? 0;
    const e = i + (KW_LEN[id] ?? 0);
    if (e > to || e <= from || !keywordAt(t, i, id)) continue;
    return id;
  }
  return -1;
}

/**
 * The context words around the matches of one text. A match's context is the nearest context word
 * of its type in the window before it (a negative word nearer than any context word lowers the
 * score instead), else the field name, else a context word just after the match. The keywords of a
 * window are found once per match start and end (detectors report several types for one span) and
 * kept in reused arrays, so a lookup allocates nothing.
 */
export class ContextIndex {
  /** The reason of the last `delta` that returned a change. */
  reason: string | undefined = undefined;
  private readonly t: string;
  private readonly before: number;
  private readonly after: number;
  private readonly field: string | undefined;
  // keywords that end in the window before `beforeStart`, in scan order (nearest start first)
  private beforeStart = -1;
  private readonly beforeIds: number[] = [];
  private readonly beforeDist: number[] = [];
  private beforeCount = 0;
  // keywords that start in the window after `afterEnd`, first first
  private afterEnd = -1;
  private readonly afterIds: number[] = [];
  private readonly afterDist: number[] = [];
  private afterCount = 0;
  /**
   * Positions where a keyword may start (its first two characters fit) and where a sentence or line
   * ends, ascending, recorded by the one pass over the text (scanTokens) as `2 * position` and
   * `2 * position + 1`. `markWord` holds the longest keyword there once a window has needed it
   * (-2 = not looked at yet, -1 = none or a sentence end). The windows around a match are read from
   * this list instead of character by character, and each keyword is matched at most once.
   */
  private readonly marks: number[] = [];
  private readonly markWord: number[] = [];
  /** Every position below this is recorded in `marks`. */
  private marked = 0;
  /** Index of the first mark at or after the last position looked up (lookups mostly come in order). */
  private cursor = 0;
  /** Per type bit: reason from the field name ('' = none), computed on first use. */
  private readonly fieldReason = new Map<number, string>();
  private fieldNegative: string | undefined;

  constructor(t: string, before: number, after: number, field: string | undefined) {
    this.t = t;
    this.before = before;
    this.after = after;
    this.field = field;
  }

  /** Record that a keyword may start at `i`. */
  markWordAt(i: number): void {
    this.marks.push(2 * i);
    this.markWord.push(-2);
  }

  /** The longest keyword at mark `m` (a keyword mark), matched on first use. */
  private wordAtMark(m: number, i: number): number {
    let id = this.markWord[m] ?? -1;
    if (id === -2) {
      id = keywordStartingAt(this.t, i);
      this.markWord[m] = id;
    }
    return id;
  }

  /** Record the end of a sentence or line at `i`. */
  markBreakAt(i: number): void {
    this.marks.push(2 * i + 1);
    this.markWord.push(-1);
  }

  /** Every position below `i` has been recorded with `mark`. */
  markedTo(i: number): void {
    this.marked = i;
  }

  /**
   * Score change for a match of `type` (its TYPE_BIT is `bit`) at [start, end): `+boost` for a
   * context word before it (or in the field name), `0.75 * boost` for one just after it, `-0.4` for
   * a nearer negative word when `negative`, else 0. Sets `reason`.
   */
  delta(type: DetectorType, bit: number, start: number, end: number, boost: number, negative: boolean): number {
    if (start !== this.beforeStart) this.scanBefore(start);
    let posDist = Number.POSITIVE_INFINITY;
    let pos = -1;
    let negDist = Number.POSITIVE_INFINITY;
    let neg = -1;
    for (let j = 0; j < this.beforeCount; j++) {
      const id = this.beforeIds[j] ?? 0;
      const d = this.beforeDist[j] ?? 0;
      if (d < posDist && ((KW_MASK[id] ?? 0) & bit) !== 0) {
        posDist = d;
        pos = id;
      }
      if (d < negDist && KW_NEGATIVE[id]) {
        negDist = d;
        neg = id;
      }
    }
    if (negative && neg >= 0 && (pos < 0 || posDist > negDist + 4)) {
      this.reason = KW_REASON_NEGATIVE[neg];
      return -0.4;
    }
    if (pos >= 0) {
      this.reason = KW_REASON[pos];
      return boost;
    }
    if (this.field !== undefined) {
      let f = this.fieldReason.get(bit);
      if (f === undefined) {
        const hit = nearestBefore(this.field, CONTEXT_WORDS[type]);
        f = hit ? `field:${hit.word}` : '';
        this.fieldReason.set(bit, f);
      }
      if (f !== '') {
        this.reason = f;
        return boost;
      }
      if (negative) {
        if (this.fieldNegative === undefined) {
          const hit = nearestBefore(this.field, NEGATIVE_WORDS);
          this.fieldNegative = hit ? `negative-field:${hit.word}` : '';
        }
        if (this.fieldNegative !== '') {
          this.reason = this.fieldNegative;
          return -0.4;
        }
      }
    }
    if (this.after > 0) {
      if (end !== this.afterEnd) this.scanAfter(end);
      for (let j = 0; j < this.afterCount; j++) {
        const id = this.afterIds[j] ?? 0;
        if (((KW_MASK[id] ?? 0) & bit) === 0) continue;
        // a word after the match that labels the next value (`… oaid=…`) is not context of this one
        const wordEnd = end + (this.afterDist[j] ?? 0) + (KW_LEN[id] ?? 0);
        if (/^["']?\s*[=:]/.test(this.t.slice(wordEnd, wordEnd + 3))) continue;
        this.reason = KW_REASON_AFTER[id];
        return boost * 0.75;
      }
    }
    this.reason = undefined;
    return 0;
  }

  /** Index of the first mark at or after position `i` (requires i <= marked). */
  private markIndex(i: number): number {
    const marks = this.marks;
    const key = 2 * i;
    let j = this.cursor;
    if (j > marks.length || (j > 0 && (marks[j - 1] ?? 0) >= key)) j = 0;
    let hi = marks.length;
    // walk a few steps from the last lookup, else binary search
    for (let steps = 0; j < hi && (marks[j] ?? 0) < key && steps < 8; steps++) j++;
    if (j < hi && (marks[j] ?? 0) < key) {
      while (j < hi) {
        const mid = (j + hi) >> 1;
        if ((marks[mid] ?? 0) < key) j = mid + 1;
        else hi = mid;
      }
    }
    this.cursor = j;
    return j;
  }

  /**
   * Keywords ending in (start - before, start], scanning back from the match to the end of the
   * previous sentence or line; at each position the longest keyword that fits is taken. A keyword
   * may start up to 8 characters before the window.
   */
  private scanBefore(start: number): void {
    const t = this.t;
    const from = Math.max(0, start - this.before);
    const lo = Math.max(0, from - 8);
    let count = 0;
    if (start <= this.marked) {
      const marks = this.marks;
      for (let m = this.markIndex(start) - 1; m >= 0; m--) {
        const v = marks[m] ?? 0;
        const i = v >> 1;
        if (i < lo || (v & 1) === 1) break;
        let id = this.wordAtMark(m, i);
        if (id < 0) continue;
        // the longest keyword there, unless it does not end inside the window: then a shorter one
        const e = i + (KW_LEN[id] ?? 0);
        if (e > start || e <= from) id = longestAt(t, i, from, start);
        if (id < 0) continue;
        this.beforeIds[count] = id;
        this.beforeDist[count] = start - (i + (KW_LEN[id] ?? 0));
        count++;
      }
    } else {
      // not recorded yet (a match found inside a chain of digit groups the token pass has not reached)
      for (let i = start - 1; i >= lo; i--) {
        const c = t.charCodeAt(i);
        const m = MARK[c] ?? 0;
        if (m === MARK_BREAK) break;
        if (m === 0 || (m === MARK_LATIN && isAsciiLetter(t.charCodeAt(i - 1)))) continue;
        const id = longestAt(t, i, from, start);
        if (id < 0) continue;
        this.beforeIds[count] = id;
        this.beforeDist[count] = start - (i + (KW_LEN[id] ?? 0));
        count++;
      }
    }
    this.beforeStart = start;
    this.beforeCount = count;
  }

  /** Keywords starting in [end, end + after), the longest at each position. */
  private scanAfter(end: number): void {
    const t = this.t;
    const to = Math.min(end + this.after, t.length);
    let count = 0;
    if (to <= this.marked) {
      const marks = this.marks;
      for (let m = this.markIndex(end); m < marks.length; m++) {
        const v = marks[m] ?? 0;
        const i = v >> 1;
        if (i >= to) break;
        if ((v & 1) === 1) continue;
        const id = this.wordAtMark(m, i);
        if (id < 0) continue;
        this.afterIds[count] = id;
        this.afterDist[count] = i - end;
        count++;
      }
    } else {
      for (let i = end; i < to; i++) {
        const m = MARK[t.charCodeAt(i)] ?? 0;
        if (m === 0 || m === MARK_BREAK || (m === MARK_LATIN && isAsciiLetter(t.charCodeAt(i - 1)))) continue;
        const id = longestAt(t, i, i, Number.POSITIVE_INFINITY);
        if (id < 0) continue;
        this.afterIds[count] = id;
        this.afterDist[count] = i - end;
        count++;
      }
    }
    this.afterEnd = end;
    this.afterCount = count;
  }
}
