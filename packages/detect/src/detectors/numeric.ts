/**
 * Numbers: a chain of digit groups joined by single separators (space, dash, `)` after an area code
 * in parentheses) starting at a digit run, and every run of consecutive groups of 11 to 20 digits
 * in it classified: mobile and landline numbers, resident ID numbers (and their foreign /
 * HK-Macao-Taiwan variants), bank cards, IMEI, IMSI, all-digit credit codes; IPv4 addresses are
 * recognised where a run continues with dots. Digit boundaries are lookarounds (the character
 * before and after is not a digit), so `手机13812345678号` is found.
 *
 * The digits of the run being classified are copied into a small typed array and every check
 * (prefixes, dates, region codes, check digits) reads that array: a number that is none of the
 * types costs no allocation. Strings are built only for a candidate that is emitted.
 */
import { CREDIT_CODE_CHARS, dateValid, PROVINCE_CODES } from '../checksums.js';
import { type Env, emit, isDigitCode, isHexCode, isLetterCode, T } from './env.js';

/** Assigned mobile prefixes 13x-19x, indexed by the three-digit prefix. */
const MOBILE_PREFIX = (() => {
  const s = new Uint8Array(1000);
  const add = (from: number, to: number) => {
    for (let i = from; i <= to; i++) s[i] = 1;
  };
  add(130, 139);
  add(145, 149);
  add(150, 153);
  add(155, 159);
  add(162, 162);
  add(165, 167);
  add(170, 178);
  add(180, 189);
  add(190, 199);
  return s;
})();

function table100(codes: Iterable<string>): Uint8Array {
  const s = new Uint8Array(100);
  for (const c of codes) s[Number(c)] = 1;
  return s;
}

/** IMEI reporting-body identifiers seen on real devices (first two digits of the TAC). */
const IMEI_RBI = table100(['01', '10', '30', '33', '35', '44', '45', '49', '50', '51', '52', '53', '54', '86', '91', '98', '99']);
/** China's mobile network codes under MCC 460. */
const CN_MNC = table100(['00', '01', '02', '03', '04', '05', '06', '07', '08', '09', '11', '15', '20']);
const PROVINCE = table100(PROVINCE_CODES);

export function isMobile(d: string): boolean {
  return d.length === 11 && /^\d{11}$/.test(d) && MOBILE_PREFIX[Number(d.slice(0, 3))] === 1;
}

/** Longest chain of digit groups considered (a longer one is cut; its tail starts a new chain). */
const MAX_GROUPS = 32;
const GS = new Int32Array(MAX_GROUPS);
const GE = new Int32Array(MAX_GROUPS);
/** Separator before group i (0 = none, else its char code). */
const SEP = new Int32Array(MAX_GROUPS);
/** Digits of the run being classified: 0-9, and 10 for a trailing check character X. */
const D = new Uint8Array(24);
const X = 10;

/**
 * The chain of digit groups starting at the digit run [i, firstEnd) (the character before is not
 * a digit): classify it and return where the next chain may start (after the chain and any dotted
 * continuation, so the parts of a version string or a decimal are not runs of their own).
 */
export function scanNumberAt(env: Env, i: number, firstEnd: number): number {
  const t = env.t;
  const n = t.length;
  let k = 0;
  let s = i;
  // the caller has read the first digit run
  let e = firstEnd;
  let total = 0;
  for (;;) {
    while (e < n && isDigitCode(t.charCodeAt(e))) e++;
    GS[k] = s;
    GE[k] = e;
    k++;
    total += e - s;
    if (k >= MAX_GROUPS) break;
    const sep = t.charCodeAt(e);
    if ((sep === 32 || sep === 45) && isDigitCode(t.charCodeAt(e + 1))) {
      SEP[k] = sep;
      s = e + 1;
      e = s;
      continue;
    }
    // (010)12345678 and (010) 1234 5678
    if (sep === 41 && k === 1 && t.charCodeAt(s - 1) === 40) {
      const next = t.charCodeAt(e + 1) === 32 ? e + 2 : e + 1;
      if (isDigitCode(t.charCodeAt(next))) {
        SEP[k] = 41;
        s = next;
        e = s;
        continue;
      }
    }
    break;
  }
  const chainEnd = e;
  const firstStart = GS[0] ?? 0;
  if (k === 1 && t.charCodeAt(chainEnd) === 46 && isDigitCode(t.charCodeAt(chainEnd + 1)) && t.charCodeAt(firstStart - 1) !== 46) {
    const ipEnd = scanIpv4(env, firstStart);
    if (ipEnd > 0) return ipEnd;
  }
  if (total >= 11) classifyChain(env, k);
  let j = chainEnd;
  for (;;) {
    const c = t.charCodeAt(j);
    if (c === 46 || isDigitCode(c)) j++;
    else return j;
  }
}

function classifyChain(env: Env, k: number): void {
  const t = env.t;
  const lastEnd = GE[k - 1] ?? 0;
  // A 17-digit run followed by X/x is an ID number with check character X.
  const xAfter =
    (t.charCodeAt(lastEnd) | 32) === 120 && !isLetterCode(t.charCodeAt(lastEnd + 1)) && !isDigitCode(t.charCodeAt(lastEnd + 1));
  for (let a = 0; a < k; a++) {
    let len = 0;
    // a single group of 11-13 or 20 digits not starting with 0, 1 (11 digits) or 8 is no type
    // (timestamps, order numbers): not copied
    if (k === 1) {
      const n = (GE[0] ?? 0) - (GS[0] ?? 0);
      const d0 = t.charCodeAt(GS[0] ?? 0);
      if ((n === 12 || n === 13 || n === 20 || (n === 11 && d0 !== 49)) && d0 !== 48 && d0 !== 56) return;
    }
    for (let b = a; b < k && b < a + 8; b++) {
      const gs = GS[b] ?? 0;
      const ge = GE[b] ?? 0;
      if (len + ge - gs > 20) break;
      for (let p = gs; p < ge; p++) D[len++] = t.charCodeAt(p) - 48;
      const withX = xAfter && b === k - 1 && len === 17;
      if (len < 11) continue;
      // the separators of this run must be the same character
      let mixed = false;
      for (let j = a + 2; j <= b; j++) if (SEP[j] !== SEP[a + 1] && SEP[a + 1] !== 41) mixed = true;
      if (mixed) continue;
      const end = withX ? ge + 1 : ge;
      if (withX) D[17] = X;
      classify(env, withX ? 18 : len, a, b, end, a > 0 || b < k - 1, a === 0 && SEP[1] === 41 && b > 0);
    }
  }
}

/** The match is part of a hex token of 16+ characters (hash, trace id, UUID). */
function insideHexToken(t: string, start: number, end: number): boolean {
  let s = start;
  let e = end;
  let letters = false;
  while (s > 0 && end - s < 80) {
    const c = t.charCodeAt(s - 1);
    if (!(isHexCode(c) || c === 45)) break;
    if (isLetterCode(c)) letters = true;
    s--;
  }
  while (e < t.length && e - start < 80) {
    const c = t.charCodeAt(e);
    if (!(isHexCode(c) || c === 45)) break;
    if (isLetterCode(c)) letters = true;
    e++;
  }
  return letters && e - s >= 16 && !isLetterCode(t.charCodeAt(s - 1)) && !isLetterCode(t.charCodeAt(e));
}

function two(o: number): number {
  return (D[o] ?? 0) * 10 + (D[o + 1] ?? 0);
}

/** Mobile prefix at offset `o` of D (11 digits from there). */
function mobileAt(o: number): boolean {
  return D[o] === 1 && MOBILE_PREFIX[100 + (D[o + 1] ?? 0) * 10 + (D[o + 2] ?? 0)] === 1;
}

/** A plausible six-digit administrative division code at offset `o` (see regionPlausible). */
function regionAt(o: number): boolean {
  if (PROVINCE[two(o)] !== 1) return false;
  const pref = two(o + 2);
  return (pref >= 1 && pref <= 70) || pref === 90;
}

/** A real birth date YYYYMMDD at offset `o`. */
function birthAt(o: number, maxYear: number): boolean {
  return dateValid(two(o) * 100 + two(o + 2), two(o + 4), two(o + 6), 1900, maxYear);
}

const MOD11_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
/** MOD 11-2 check value for a remainder (10 = X). */
const MOD11_CHECK = [1, 0, X, 9, 8, 7, 6, 5, 4, 3, 2];

function mod11Valid(): boolean {
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += (D[i] ?? 0) * (MOD11_WEIGHTS[i] ?? 0);
  return MOD11_CHECK[sum % 11] === D[17];
}

const CREDIT_WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];
/** Value of the check character X in the GB 32100 character set. */
const CREDIT_X = CREDIT_CODE_CHARS.indexOf('X');

/** An 18-character all-digit (or 17 digits + X) unified social credit code with a valid check character. */
function creditValid(): boolean {
  if (D[0] === 0 || D[1] === 0) return false;
  let sum = 0;
  for (let i = 0; i < 17; i++) {
    const v = D[i] ?? 0;
    if (v === X) return false;
    sum += v * (CREDIT_WEIGHTS[i] ?? 0);
  }
  const check = (31 - (sum % 31)) % 31;
  return check === (D[17] === X ? CREDIT_X : D[17]);
}

function luhn(len: number): boolean {
  let sum = 0;
  let double = false;
  for (let i = len - 1; i >= 0; i--) {
    let d = D[i] ?? 0;
    if (d === X) return false;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return len > 1 && sum % 10 === 0;
}

/** A new reasons array: the reasons every candidate of the number has, then `a` (and `b`, `c`). */
function withCommon(common: string[], a: string, b?: string, c?: string): string[] {
  const r = common.length === 0 ? [a] : [...common, a];
  if (b !== undefined) r.push(b);
  if (c !== undefined) r.push(c);
  return r;
}

const DIGIT_CHARS = '0123456789X';

/** D[from..to) as a string. */
function digitString(from: number, to: number): string {
  let s = '';
  for (let i = from; i < to; i++) s += DIGIT_CHARS[D[i] ?? 0];
  return s;
}

/** The digits of the run being classified as a string, made once per run and only for a candidate. */
let digitsCache: string | undefined;

function digitsOf(t: string, a: number, b: number, len: number, start: number, end: number): string {
  // one group: the text itself (the check character X upper-case); else the digits joined
  digitsCache ??= a === b ? (len === 18 && D[17] === X ? `${t.slice(start, end - 1)}X` : t.slice(start, end)) : digitString(0, len);
  return digitsCache;
}

function classify(env: Env, len: number, a: number, b: number, end: number, partOfLonger: boolean, parenArea: boolean): void {
  const t = env.t;
  const start = GS[a] ?? 0;
  const grouped = b > a;
  const lens0 = (GE[a] ?? 0) - start;
  const lens1 = grouped ? (GE[a + 1] ?? 0) - (GS[a + 1] ?? 0) : 0;
  const d0 = D[0] ?? 0;
  const d1 = D[1] ?? 0;

  // Which types can this run be? Most numbers (timestamps, order numbers) are none: return early.
  const mobile =
    (len === 11 && d0 === 1) || (len === 13 && d0 === 8 && d1 === 6) || (len === 15 && d0 === 0 && d1 === 0 && D[2] === 8 && D[3] === 6);
  const landline = (d0 === 0 && d1 !== 0) || (d0 === 8 && d1 === 6);
  const id = len === 18 || len === 15;
  const card = len >= 14 && len <= 19;
  if (!mobile && !landline && !id && !card) return;

  const common: string[] = [];
  let adj = 0;
  if (grouped) common.push('separators');
  if (partOfLonger) {
    adj -= 0.2;
    common.push('part-of-longer-number');
  }
  const leftLetter = isLetterCode(t.charCodeAt(start - 1));
  const rightLetter = isLetterCode(t.charCodeAt(end));
  if ((leftLetter || rightLetter) && insideHexToken(t, start, end)) {
    adj -= 0.5;
    common.push('inside-hex-token');
  } else if (leftLetter && rightLetter) {
    adj -= 0.45;
    common.push('inside-alphanumeric-token');
  } else if (leftLetter || rightLetter) {
    adj -= 0.15;
    common.push('adjacent-letters');
  }
  let s = start;
  if (parenArea && t.charCodeAt(s - 1) === 40) s -= 1;
  const plus = t.charCodeAt(s - 1) === 43;
  if (plus) s -= 1;
  digitsCache = undefined;

  // Mobile numbers: 11 digits, +86 / 0086 / 86 prefixes.
  if (mobile) {
    const offset = len - 11;
    if (mobileAt(offset)) {
      const prefix = offset > 0;
      const reasons = withCommon(common, 'mobile-prefix');
      let base = 0.8;
      if (prefix) {
        reasons.push('country-code');
        base = plus || grouped ? 0.9 : 0.75;
      }
      if (grouped) {
        // the groups after the country code: 3-4-4, 3-8, 11 or 7-4
        const from = prefix && lens0 === offset ? a + 1 : a;
        const g = b - from + 1;
        const l0 = (GE[from] ?? 0) - (GS[from] ?? 0);
        const l1 = g > 1 ? (GE[from + 1] ?? 0) - (GS[from + 1] ?? 0) : 0;
        const l2 = g > 2 ? (GE[from + 2] ?? 0) - (GS[from + 2] ?? 0) : 0;
        const usual =
          (g === 3 && l0 === 3 && l1 === 4 && l2 === 4) ||
          (g === 2 && ((l0 === 3 && l1 === 8) || (l0 === 7 && l1 === 4))) ||
          (g === 1 && l0 === 11);
        if (!usual) {
          const lens: number[] = [];
          for (let j = from; j <= b; j++) lens.push((GE[j] ?? 0) - (GS[j] ?? 0));
          base -= 0.15;
          reasons.push(`grouping:${lens.join('-')}`);
        }
      }
      emit(env, T.phone, s, end, base + adj, reasons, grouped ? digitString(offset, len) : t.slice(start + offset, end), 0.2, true);
    }
  }

  // Landlines: 0 + area code (010, 02x, 0xxx) + local number of 7-8 digits starting 2-8.
  if (landline) {
    // l = the number with a leading 0: the digits themselves, or 0 + the digits after country code 86
    let shift = -1;
    let country = false;
    if (d0 === 0 && d1 !== 0) shift = 0;
    else if (d0 === 8 && d1 === 6 && (plus || (grouped && lens0 === 2)) && D[2] !== 0) {
      shift = 1;
      country = true;
    }
    if (shift >= 0) {
      // l[j] = D[j + shift] for j >= 1, l[0] = 0
      const l1 = D[1 + shift] ?? 0;
      const lLen = len - shift;
      const areaLen = l1 === 1 || l1 === 2 ? 3 : 4;
      const localLen = lLen - areaLen;
      const local0 = D[areaLen + shift] ?? 0;
      const areaOk = l1 === 1 ? D[2 + shift] === 0 : true;
      const localOk = (areaLen === 3 ? localLen === 8 : localLen === 7 || localLen === 8) && local0 >= 2 && local0 <= 8;
      if (areaOk && localOk) {
        const reasons = withCommon(common, 'area-code');
        const areaGroup = country ? lens1 + 1 : lens0;
        let base = 0.55;
        if (grouped && areaGroup === areaLen) base = 0.8;
        else if (grouped) base = 0.6;
        if (parenArea) base = 0.85;
        if (country) reasons.push('country-code');
        const l =
          shift === 0 && !grouped ? t.slice(start, end) : `0${grouped ? digitString(1 + shift, len) : t.slice(start + 1 + shift, end)}`;
        emit(env, T.landline, s, end, base + adj, reasons, l, 0.25, true);
      }
    }
  }

  // Resident ID numbers and their variants: 17 digits + check character.
  if (len === 18 && birthAt(6, env.maxBirthYear)) {
    const check = mod11Valid();
    const reasons = withCommon(common, check ? 'checksum:mod11-2' : 'checksum-failed', 'birth-date');
    const hmt = d0 === 8 && (d1 === 1 || d1 === 2 || d1 === 3) && D[2] === 0 && D[3] === 0 && D[4] === 0 && D[5] === 0;
    if (hmt) {
      emit(
        env,
        T['residence-permit'],
        start,
        end,
        (check ? 0.9 : 0.15) + adj,
        reasons.concat('hk-macao-taiwan-region'),
        digitsOf(t, a, b, len, start, end),
        0.3,
        true,
      );
    } else if (d0 === 9) {
      emit(
        env,
        T['foreign-permanent-residence'],
        start,
        end,
        (check ? 0.8 : 0.15) + adj,
        reasons.concat('foreign-prefix'),
        digitsOf(t, a, b, len, start, end),
        0.3,
        true,
      );
    } else {
      const plausible = regionAt(0);
      if (plausible) reasons.push('region');
      else reasons.push('region-implausible');
      const base = check ? (plausible ? 0.92 : 0.45) : 0.3;
      emit(env, T['id-card'], start, end, base + adj, reasons, digitsOf(t, a, b, len, start, end), 0.15, true);
    }
  }
  // First-generation 15-digit ID: region + YYMMDD + sequence.
  if (len === 15 && regionAt(0) && dateValid(1900 + two(6), two(8), two(10), 1900, env.maxBirthYear)) {
    emit(
      env,
      T['id-card'],
      start,
      end,
      0.42 + adj,
      withCommon(common, 'first-generation', 'region', 'birth-date'),
      digitsOf(t, a, b, len, start, end),
      0.4,
      true,
    );
  }

  // Bank cards: 15-19 digits, issuer prefix, Luhn as a score factor.
  if (len >= 15 && len <= 19 && D[len - 1] !== X) {
    let base = -1;
    let reason = '';
    const p2 = d0 * 10 + d1;
    const p4 = p2 * 100 + two(2);
    if (p2 === 62 && len >= 16) {
      base = 0.4;
      reason = 'unionpay-prefix';
    } else if (
      (d0 === 4 && (len === 16 || len === 19)) ||
      (p2 >= 51 && p2 <= 55 && len === 16) ||
      (p4 >= 2221 && p4 <= 2720 && len === 16) ||
      (p2 === 35 && len >= 16) ||
      ((p2 === 34 || p2 === 37) && len === 15)
    ) {
      base = 0.3;
      reason = 'card-prefix';
    } else if (len >= 16 && (d0 === 9 || p2 === 60 || d0 === 5 || d0 === 6)) {
      base = 0.1;
      reason = 'domestic-card-prefix';
    }
    // an 18-digit number with the structure of an ID number (region, birth date) is not a card
    const idStructure = base >= 0 && len === 18 && p2 !== 62 && regionAt(0) && birthAt(6, env.maxBirthYear);
    if (idStructure) base -= 0.35;
    if (base >= 0) {
      const reasons = withCommon(common, reason);
      if (idStructure) reasons.push('id-structure');
      const valid = luhn(len);
      reasons.push(valid ? 'luhn' : 'luhn-failed');
      emit(env, T['bank-card'], start, end, base + (valid ? 0.45 : 0) + adj, reasons, digitsOf(t, a, b, len, start, end), 0.3, true);
    }
  }

  // IMEI: 15 digits with Luhn (14 without the check digit, 16 for IMEISV) — context decides those.
  if (len === 15 || len === 14 || len === 16) {
    const reasons = common.length === 0 ? [] : [...common];
    let base: number;
    if (len === 15) {
      const valid = luhn(15);
      const rbi = IMEI_RBI[two(0)] === 1;
      reasons.push(valid ? 'luhn' : 'luhn-failed');
      if (rbi) reasons.push('reporting-body');
      base = valid ? (rbi ? 0.65 : 0.35) : 0.1;
    } else {
      reasons.push(len === 14 ? 'no-check-digit' : 'imeisv');
      base = 0.2;
    }
    emit(env, T.imei, start, end, base + adj, reasons, digitsOf(t, a, b, len, start, end), 0.35, true);
  }

  // IMSI: MCC 460 + a Chinese MNC; other countries only with context.
  if (len === 15) {
    const cn = d0 === 4 && d1 === 6 && D[2] === 0 && CN_MNC[two(3)] === 1;
    emit(
      env,
      T.imsi,
      start,
      end,
      (cn ? 0.62 : 0.2) + adj,
      withCommon(common, cn ? 'mcc-460' : 'no-mcc-460'),
      digitsOf(t, a, b, len, start, end),
      0.35,
      true,
    );
  }

  // All-digit unified social credit code (rare; context decides).
  if (len === 18 && creditValid())
    emit(
      env,
      T['credit-code'],
      start,
      end,
      0.3 + adj,
      withCommon(common, 'checksum:gb32100'),
      digitsOf(t, a, b, len, start, end),
      0.45,
      true,
    );
}

/** IPv4 dotted quad at `start`; returns its end or 0. */
function scanIpv4(env: Env, start: number): number {
  const t = env.t;
  let i = start;
  let a = 0;
  let b = 0;
  for (let k = 0; k < 4; k++) {
    const s = i;
    let v = 0;
    while (i < t.length && isDigitCode(t.charCodeAt(i)) && i - s < 4) {
      v = v * 10 + t.charCodeAt(i) - 48;
      i++;
    }
    const len = i - s;
    if (len === 0 || len > 3) return 0;
    if (len > 1 && t.charCodeAt(s) === 48) return 0;
    if (v > 255) return 0;
    if (k === 0) a = v;
    else if (k === 1) b = v;
    if (k < 3) {
      if (t.charCodeAt(i) !== 46) return 0;
      i++;
    }
  }
  // 1.2.3.4.5 (versions) and 1.2.3.4a are not addresses
  if (isDigitCode(t.charCodeAt(i)) || (t.charCodeAt(i) === 46 && isDigitCode(t.charCodeAt(i + 1))) || isLetterCode(t.charCodeAt(i)))
    return 0;
  if (isLetterCode(t.charCodeAt(start - 1))) return 0;
  const reasons = ['dotted-quad'];
  let base = 0.75;
  if (a === 0 || a >= 224 || (a === 255 && b === 255)) return i;
  if (a === 127) {
    base = 0.3;
    reasons.push('loopback');
  } else if (a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168)) {
    base = 0.6;
    reasons.push('private-range');
  }
  // the canonical form drops nothing: octets have no leading zeros
  emit(env, T.ipv4, start, i, base, reasons, t.slice(start, i), 0.2, true);
  return i;
}
