/**
 * Value-level pieces of the connectors: subject key candidates, the mask / keyed hash / generalise
 * strategies on one cell (through @pipa/detect's operators), legal retention periods, and the
 * column kinds a strategy accepts.
 */
import { createHmac } from 'node:crypto';
import {
  alnumUpper,
  DETECTOR_CATEGORIES,
  type DetectorType,
  digitsOnly,
  generaliseAddress,
  generaliseAge,
  generaliseBirthDate,
  generaliseValue,
  maskMiddle,
  maskValue,
  normalizeWidth,
} from '@pipa/detect';
import type { CellValue, SubjectKeyKind } from './types.js';

// ---------------------------------------------------------------- column kinds

/** What a column can hold, from the database's own type. `any`: SQLite columns without a declared type. */
export type ColumnKind = 'text' | 'integer' | 'decimal' | 'date' | 'datetime' | 'boolean' | 'binary' | 'any' | 'other';

export interface ColumnInfo {
  name: string;
  kind: ColumnKind;
  /** The database's type name (`varchar`, `integer`, `DATE`). */
  type: string;
  nullable: boolean;
  /** Maximum characters of a bounded text column. */
  maxLength: number | undefined;
}

/** Length of the keyed hash written by the `hash` strategy (hex of HMAC-SHA256). */
export const HASH_LENGTH = 64;

// ---------------------------------------------------------------- subject keys

const MOBILE_RE = /^1[3-9]\d{9}$/;

/** The values a phone key matches: as given, digits only, 11-digit mainland form, 86… and +86…. */
export function phoneCandidates(value: string): string[] {
  const out = [value.trim()];
  const digits = digitsOnly(normalizeWidth(value));
  if (digits !== '') out.push(digits);
  const mobile =
    digits.length === 13 && digits.startsWith('86')
      ? digits.slice(2)
      : digits.length === 15 && digits.startsWith('0086')
        ? digits.slice(4)
        : digits;
  if (MOBILE_RE.test(mobile)) out.push(mobile, `86${mobile}`, `+86${mobile}`);
  return [...new Set(out)];
}

/** The distinct values a subject key matches in a column. Empty values are dropped. */
export function keyCandidates(kind: SubjectKeyKind, values: string | readonly string[] | undefined): string[] {
  if (values === undefined) return [];
  const list = typeof values === 'string' ? [values] : values;
  const out: string[] = [];
  for (const v of list) {
    if (typeof v !== 'string' || v.trim() === '') continue;
    if (kind === 'phone') out.push(...phoneCandidates(v));
    else if (kind === 'email') out.push(v.trim(), v.trim().toLowerCase());
    else out.push(v.trim());
  }
  return [...new Set(out)];
}

// ---------------------------------------------------------------- periods and dates

export interface Period {
  years: number;
  months: number;
  days: number;
}

/** ISO 8601 duration of years, months, weeks, days (`P3Y`, `P6M`, `P1Y6M`, `P30D`); undefined if not one. */
export function parsePeriod(text: string): Period | undefined {
  const m = /^P(?!$)(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?$/.exec(text);
  if (!m) return undefined;
  const n = (s: string | undefined) => (s === undefined ? 0 : Number.parseInt(s, 10));
  return { years: n(m[1]), months: n(m[2]), days: n(m[3]) * 7 + n(m[4]) };
}

/** The calendar day `p` after `from` (UTC); Jan 31 + P1M is the last day of February. */
export function addPeriod(from: Date, p: Period): Date {
  const y = from.getUTCFullYear() + p.years;
  const monthIndex = from.getUTCMonth() + p.months;
  const year = y + Math.floor(monthIndex / 12);
  const month = ((monthIndex % 12) + 12) % 12;
  const lastDay = new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
  const day = Math.min(from.getUTCDate(), lastDay);
  return new Date(Date.UTC(year, month, day + p.days));
}

/** YYYY-MM-DD of a date (UTC). */
export function ymd(d: Date): string {
  return d.toISOString().slice(0, 10);
}

/**
 * A date read from a database: `2024-05-01`, `2024-05-01 10:00:00[.123][+08[:00]]`, ISO 8601, a Date,
 * epoch seconds or milliseconds. Text without a zone is taken as UTC (the hold is counted in days).
 */
export function parseDateValue(v: unknown): Date | undefined {
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? undefined : v;
  if (typeof v === 'number' && Number.isFinite(v)) return new Date(v < 1e11 ? v * 1000 : v);
  if (typeof v !== 'string') return undefined;
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/.exec(v.trim());
  if (!m) return undefined;
  const zone = m[7];
  const iso = `${m[1]}-${m[2]}-${m[3]}T${m[4] ?? '00'}:${m[5] ?? '00'}:${m[6] ?? '00'}${
    zone === undefined
      ? 'Z'
      : zone === 'Z'
        ? 'Z'
        : zone.length === 3
          ? `${zone}:00`
          : zone.includes(':')
            ? zone
            : `${zone.slice(0, 3)}:${zone.slice(3)}`
  }`;
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? undefined : d;
}

// ---------------------------------------------------------------- strategies on one cell

/** A strategy could not be applied to a cell; the caller adds the table and column (never the value). */
export class CellError extends Error {
  readonly en: string;
  readonly zh: string;
  constructor(en: string, zh: string) {
    super(en);
    this.en = en;
    this.zh = zh;
  }
}

const CATEGORY_DETECTOR = new Map<string, DetectorType>();
for (const [type, category] of Object.entries(DETECTOR_CATEGORIES) as [DetectorType, string][]) {
  if (!CATEGORY_DETECTOR.has(category)) CATEGORY_DETECTOR.set(category, type);
}

/** The @pipa/detect detector that knows the format of a category's values. */
export function detectorFor(category: string, text: string): DetectorType | undefined {
  if (category === 'network.ip') return text.includes(':') ? 'ipv6' : 'ipv4';
  return CATEGORY_DETECTOR.get(category);
}

function cellText(v: CellValue, what: { en: string; zh: string }): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return String(v);
  throw new CellError(`${what.en} needs a text value`, `${what.zh}需要文本值`);
}

const HAN_RE = /\p{Script=Han}/u;

/** Mask a text of a category without a detector: keep a quarter at each end (at most 4), at least the first character. */
export function maskGeneric(text: string): string {
  const alnum = [...text].filter((c) => /[0-9A-Za-z]/.test(c)).length;
  if (!HAN_RE.test(text) && alnum >= 4) {
    const keep = Math.min(4, Math.floor(alnum / 4));
    return maskMiddle(text, keep, keep);
  }
  const chars = [...text];
  if (chars.length <= 1) return '*';
  const keep = Math.min(4, Math.floor(chars.length / 4));
  const head = Math.max(1, keep);
  return chars.map((c, i) => (i < head || i >= chars.length - keep || /\s/.test(c) ? c : '*')).join('');
}

/** Display masking by Chinese conventions (138****5678, 张*, 4101**********123X, ****1234). Null stays null. */
export function maskCell(category: string, v: CellValue): CellValue {
  if (v === null) return null;
  const text = cellText(v, { en: 'mask', zh: '掩码' });
  if (text === '') return text;
  const type = detectorFor(category, text);
  return type === undefined ? maskGeneric(text) : maskValue(type, text);
}

/** The normalised form hashed: phone as 11 digits, ID numbers upper-case, e-mail lower-case, others trimmed. */
export function hashInput(category: string, text: string): string {
  const t = normalizeWidth(text).trim();
  switch (detectorFor(category, t)) {
    case 'phone': {
      const d = digitsOnly(t);
      return d.length === 13 && d.startsWith('86') ? d.slice(2) : d;
    }
    case 'id-card':
    case 'residence-permit':
    case 'foreign-permanent-residence':
    case 'passport':
    case 'hk-macao-permit':
    case 'credit-code':
      return alnumUpper(t);
    case 'bank-card':
    case 'imei':
    case 'imsi':
    case 'meid':
      return digitsOnly(t);
    case 'email':
    case 'mac':
    case 'ipv6':
      return t.toLowerCase();
    default:
      return t;
  }
}

/**
 * Keyed hash: hex HMAC-SHA256(key, category NUL normalised value). For categories with a detector
 * it equals @pipa/detect `keyedHash`, so values hashed here join with values hashed by redaction.
 */
export function hashCell(category: string, v: CellValue, key: Uint8Array | string): CellValue {
  if (v === null) return null;
  const text = cellText(v, { en: 'keyed hash', zh: '密钥哈希' });
  return createHmac('sha256', typeof key === 'string' ? Buffer.from(key, 'utf8') : key)
    .update(`${category}\u0000${hashInput(category, text)}`, 'utf8')
    .digest('hex');
}

const DATE_TEXT_RE = /^\s*(?:19|20)\d{2}(?:[-/.年]\d{1,2}|\d{4}\b)/;
const AGE_CATEGORY = 'basic.age';
const ADDRESS_CATEGORY = 'contact.address';
const BIRTH_CATEGORY = 'basic.birth-date';

function yearOf(v: CellValue): string | undefined {
  if (v === null || typeof v === 'boolean') return undefined;
  const text = String(v);
  return generaliseBirthDate(text);
}

function ageOf(v: CellValue): number | undefined {
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^\s*\d{1,3}(?:\.\d+)?\s*$/.test(v) ? Number(v) : Number.NaN;
  return Number.isFinite(n) && n >= 0 ? n : undefined;
}

/**
 * Generalisation (@pipa/detect operators): a date to its year, an age to a 10-year band, an address
 * to its district, an ID number to region and birth year, a phone to its 7-digit prefix, an IPv4
 * address to its /24. Typed columns keep their type: a DATE becomes YYYY-01-01, a numeric age the
 * lower bound of its band. Null stays null.
 */
export function generaliseCell(category: string, v: CellValue, kind: ColumnKind): CellValue {
  if (v === null) return null;
  const fail = () =>
    new CellError(
      `generalise has no rule for this value (category "${category}", ${kind} column): use a date, age, address, ID number, phone or IPv4 column`,
      `概括没有适用于该值的规则（类别 "${category}"，${kind} 列）：适用于日期、年龄、地址、身份证号、手机号或 IPv4 列`,
    );
  if (kind === 'date' || kind === 'datetime') {
    const y = yearOf(v);
    if (y === undefined) throw fail();
    return kind === 'date' ? `${y}-01-01` : `${y}-01-01 00:00:00`;
  }
  if (kind === 'integer' || kind === 'decimal') {
    const age = ageOf(v);
    if (category !== AGE_CATEGORY || age === undefined) throw fail();
    return Math.floor(age / 10) * 10;
  }
  if (typeof v === 'boolean') throw fail();
  if (typeof v === 'number') {
    if (category === AGE_CATEGORY) return generaliseAge(v);
    throw fail();
  }
  const text = v;
  if (text.trim() === '') return text;
  if (category === AGE_CATEGORY) {
    const age = ageOf(text);
    if (age === undefined) throw fail();
    return generaliseAge(age);
  }
  if (category === ADDRESS_CATEGORY) {
    const g = generaliseAddress(text);
    return g === '' ? '' : g;
  }
  if (category === BIRTH_CATEGORY || DATE_TEXT_RE.test(text)) {
    const y = yearOf(text);
    if (y === undefined) throw fail();
    return y;
  }
  const type = detectorFor(category, text);
  if (type === 'id-card' || type === 'residence-permit' || type === 'foreign-permanent-residence') {
    const normalized = alnumUpper(normalizeWidth(text));
    if (normalized.length !== 18 && normalized.length !== 15) throw fail();
    return generaliseValue({ type, text, normalized });
  }
  if (type === 'phone') {
    const normalized = hashInput(category, text);
    if (!MOBILE_RE.test(normalized)) throw fail();
    return generaliseValue({ type, text, normalized });
  }
  if (type === 'ipv4') {
    if (!/^\d{1,3}(?:\.\d{1,3}){3}$/.test(text.trim())) throw fail();
    return generaliseValue({ type, text, normalized: text.trim() });
  }
  throw fail();
}

/** Whether `generalise` can apply to a column of this kind and category (checked before anything is touched). */
export function generaliseAccepts(category: string, kind: ColumnKind): boolean {
  if (kind === 'integer' || kind === 'decimal') return category === AGE_CATEGORY;
  return kind === 'text' || kind === 'date' || kind === 'datetime' || kind === 'any';
}

/** A cell read from a driver, as JSON-safe data: Date -> ISO text, Buffer -> base64, bigint -> number or text. */
export function toCell(v: unknown): CellValue {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string' || typeof v === 'boolean') return v;
  if (typeof v === 'number') return Number.isFinite(v) ? v : String(v);
  if (typeof v === 'bigint') return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString();
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? null : v.toISOString();
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64');
  return JSON.stringify(v);
}
