/**
 * Numbers: one pass over the text finds runs of digits joined by single separators (space, dash,
 * `)` after an area code in parentheses) and classifies every run of consecutive groups of 11 to
 * 20 digits: mobile and landline numbers, resident ID numbers (and their foreign / HK-Macao-Taiwan
 * variants), bank cards, IMEI, IMSI, all-digit credit codes; IPv4 addresses are recognised where a
 * run continues with dots. Digit boundaries are lookarounds (the character before and after is not
 * a digit), so `手机13812345678号` is found.
 */
import { birthDateAt, creditCodeValid, luhnValid, mod11_2Valid, regionPlausible } from '../checksums.js';
import { type Env, emit, isDigitCode, isHexCode, isLetterCode } from './env.js';

const MOBILE_PREFIXES: ReadonlySet<string> = (() => {
  const s = new Set<string>();
  const add = (from: number, to: number) => {
    for (let i = from; i <= to; i++) s.add(String(i));
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

/** IMEI reporting-body identifiers seen on real devices (first two digits of the TAC). */
const IMEI_RBI: ReadonlySet<string> = new Set([
  '01',
  '10',
  '30',
  '33',
  '35',
  '44',
  '45',
  '49',
  '50',
  '51',
  '52',
  '53',
  '54',
  '86',
  '91',
  '98',
  '99',
]);
/** China's mobile network codes under MCC 460. */
const CN_MNC: ReadonlySet<string> = new Set(['00', '01', '02', '03', '04', '05', '06', '07', '08', '09', '11', '15', '20']);

export function isMobile(d: string): boolean {
  return d.length === 11 && MOBILE_PREFIXES.has(d.slice(0, 3));
}

/** Longest chain of digit groups considered (a longer one is cut; its tail starts a new chain). */
const MAX_GROUPS = 32;
const GS = new Int32Array(MAX_GROUPS);
const GE = new Int32Array(MAX_GROUPS);
/** Separator before group i (0 = none, else its char code). */
const SEP = new Int32Array(MAX_GROUPS);

/** Scan every digit run of the text. */
export function scanNumbers(env: Env): void {
  const t = env.t;
  const n = t.length;
  let i = 0;
  while (i < n) {
    const c0 = t.charCodeAt(i);
    if (c0 < 48 || c0 > 57) {
      i++;
      continue;
    }
    // A chain of digit groups joined by single separators.
    let k = 0;
    let s = i;
    let e = i;
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
      if (ipEnd > 0) {
        i = ipEnd;
        continue;
      }
    }
    if (total >= 11 || (total === 17 && (t.charCodeAt(chainEnd) | 32) === 120)) classifyChain(env, k);
    i = chainEnd;
    // Skip the rest of a dotted number (version strings, decimals) so its parts are not runs.
    for (;;) {
      const c = t.charCodeAt(i);
      if (c === 46 || isDigitCode(c)) i++;
      else break;
    }
  }
}

function classifyChain(env: Env, k: number): void {
  const t = env.t;
  const lastEnd = GE[k - 1] ?? 0;
  // A 17-digit run followed by X/x is an ID number with check character X.
  const xAfter =
    (t.charCodeAt(lastEnd) | 32) === 120 && !isLetterCode(t.charCodeAt(lastEnd + 1)) && !isDigitCode(t.charCodeAt(lastEnd + 1));
  for (let a = 0; a < k; a++) {
    let digits = '';
    const ga = GS[a] ?? 0;
    for (let b = a; b < k && b < a + 8; b++) {
      digits += t.slice(GS[b], GE[b]);
      if (digits.length > 20) break;
      const withX = xAfter && b === k - 1 && digits.length === 17;
      if (digits.length < 11 && !withX) continue;
      // the separators of this run must be the same character
      let mixed = false;
      for (let j = a + 2; j <= b; j++) if (SEP[j] !== SEP[a + 1] && SEP[a + 1] !== 41) mixed = true;
      if (mixed) continue;
      const lens: number[] = [];
      for (let j = a; j <= b; j++) lens.push((GE[j] ?? 0) - (GS[j] ?? 0));
      const partOfLonger = a > 0 || b < k - 1;
      const gEnd = GE[b] ?? 0;
      const end = withX ? gEnd + 1 : gEnd;
      classify(env, withX ? `${digits}X` : digits, ga, end, lens, partOfLonger, a === 0 && SEP[1] === 41 && b > 0);
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

function classify(env: Env, d: string, start: number, end: number, lens: number[], partOfLonger: boolean, parenArea: boolean): void {
  const t = env.t;
  const grouped = lens.length > 1;
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
  if (parenArea && t[s - 1] === '(') s -= 1;
  const plus = t[s - 1] === '+';
  if (plus) s -= 1;
  const len = d.length;

  // Mobile numbers: 11 digits, +86 / 0086 / 86 prefixes.
  {
    let m = '';
    let prefix = false;
    if (len === 11) m = d;
    else if (len === 13 && d.startsWith('86')) {
      m = d.slice(2);
      prefix = true;
    } else if (len === 15 && d.startsWith('0086')) {
      m = d.slice(4);
      prefix = true;
    }
    if (m && isMobile(m)) {
      const reasons = [...common, 'mobile-prefix'];
      let base = 0.8;
      if (prefix) {
        reasons.push('country-code');
        base = plus || grouped ? 0.9 : 0.75;
      }
      if (grouped) {
        const shape = lens.slice(prefix && lens[0] === (len === 15 ? 4 : 2) ? 1 : 0).join('-');
        if (shape !== '3-4-4' && shape !== '3-8' && shape !== '11' && shape !== '7-4') {
          base -= 0.15;
          reasons.push(`grouping:${shape}`);
        }
      }
      emit(env, 'phone', s, end, base + adj, reasons, m, 0.2, true);
    }
  }

  // Landlines: 0 + area code (010, 02x, 0xxx) + local number of 7-8 digits starting 2-8.
  {
    let l = '';
    let country = false;
    if (d[0] === '0' && d[1] !== '0') l = d;
    else if (d.startsWith('86') && (plus || (grouped && lens[0] === 2)) && d[2] !== '0') {
      l = `0${d.slice(2)}`;
      country = true;
    }
    if (l) {
      const areaLen = l[1] === '1' || l[1] === '2' ? 3 : 4;
      const local = l.slice(areaLen);
      const areaOk = l[1] === '1' ? l[2] === '0' : true;
      const localOk =
        (areaLen === 3 ? local.length === 8 : local.length === 7 || local.length === 8) &&
        local[0] !== undefined &&
        local[0] >= '2' &&
        local[0] <= '8';
      if (areaOk && localOk) {
        const reasons = [...common, 'area-code'];
        const areaGroup = country ? (lens[1] ?? 0) + 1 : (lens[0] ?? 0);
        let base = 0.55;
        if (grouped && areaGroup === areaLen) base = 0.8;
        else if (grouped) base = 0.6;
        if (parenArea) base = 0.85;
        if (country) reasons.push('country-code');
        emit(env, 'landline', s, end, base + adj, reasons, l, 0.25, true);
      }
    }
  }

  // Resident ID numbers and their variants: 17 digits + check character.
  if (len === 18 && /^\d{17}[\dX]$/.test(d)) {
    const region = d.slice(0, 6);
    const birth = birthDateAt(d, 6, env.maxBirthYear);
    const check = mod11_2Valid(d);
    if (birth) {
      const reasons = [...common, check ? 'checksum:mod11-2' : 'checksum-failed', 'birth-date'];
      if (region === '810000' || region === '820000' || region === '830000') {
        emit(env, 'residence-permit', start, end, (check ? 0.9 : 0.15) + adj, [...reasons, 'hk-macao-taiwan-region'], d, 0.3, true);
      } else if (d[0] === '9') {
        emit(env, 'foreign-permanent-residence', start, end, (check ? 0.8 : 0.15) + adj, [...reasons, 'foreign-prefix'], d, 0.3, true);
      } else {
        const plausible = regionPlausible(region);
        if (plausible) reasons.push('region');
        else reasons.push('region-implausible');
        const base = check ? (plausible ? 0.92 : 0.45) : 0.3;
        emit(env, 'id-card', start, end, base + adj, reasons, d, 0.15, true);
      }
    }
  }
  // First-generation 15-digit ID: region + YYMMDD + sequence.
  if (len === 15 && regionPlausible(d.slice(0, 6))) {
    const birth = birthDateAt(`19${d.slice(6, 12)}`, 0, env.maxBirthYear);
    if (birth) emit(env, 'id-card', start, end, 0.42 + adj, [...common, 'first-generation', 'region', 'birth-date'], d, 0.4, true);
  }

  // Bank cards: 15-19 digits, issuer prefix, Luhn as a score factor.
  if (len >= 15 && len <= 19 && !d.endsWith('X')) {
    let base = -1;
    const reasons = [...common];
    const p2 = d.slice(0, 2);
    const p4 = Number(d.slice(0, 4));
    if (p2 === '62' && len >= 16) {
      base = 0.4;
      reasons.push('unionpay-prefix');
    } else if (
      (d[0] === '4' && (len === 16 || len === 19)) ||
      (Number(p2) >= 51 && Number(p2) <= 55 && len === 16) ||
      (p4 >= 2221 && p4 <= 2720 && len === 16) ||
      (p2 === '35' && len >= 16) ||
      ((p2 === '34' || p2 === '37') && len === 15)
    ) {
      base = 0.3;
      reasons.push('card-prefix');
    } else if (len >= 16 && (d[0] === '9' || p2 === '60' || d[0] === '5' || d[0] === '6')) {
      base = 0.1;
      reasons.push('domestic-card-prefix');
    }
    // an 18-digit number with the structure of an ID number (region, birth date) is not a card
    if (base >= 0 && len === 18 && p2 !== '62' && regionPlausible(d.slice(0, 6)) && birthDateAt(d, 6, env.maxBirthYear)) {
      base -= 0.35;
      reasons.push('id-structure');
    }
    if (base >= 0) {
      const luhn = luhnValid(d);
      reasons.push(luhn ? 'luhn' : 'luhn-failed');
      emit(env, 'bank-card', start, end, base + (luhn ? 0.45 : 0) + adj, reasons, d, 0.3, true);
    }
  }

  // IMEI: 15 digits with Luhn (14 without the check digit, 16 for IMEISV) — context decides those.
  if (len === 15 || len === 14 || len === 16) {
    const reasons = [...common];
    let base: number;
    if (len === 15) {
      const luhn = luhnValid(d);
      const rbi = IMEI_RBI.has(d.slice(0, 2));
      reasons.push(luhn ? 'luhn' : 'luhn-failed');
      if (rbi) reasons.push('reporting-body');
      base = luhn ? (rbi ? 0.65 : 0.35) : 0.1;
    } else {
      reasons.push(len === 14 ? 'no-check-digit' : 'imeisv');
      base = 0.2;
    }
    emit(env, 'imei', start, end, base + adj, reasons, d, 0.35, true);
  }

  // IMSI: MCC 460 + a Chinese MNC; other countries only with context.
  if (len === 15) {
    const cn = d.startsWith('460') && CN_MNC.has(d.slice(3, 5));
    emit(env, 'imsi', start, end, (cn ? 0.62 : 0.2) + adj, [...common, cn ? 'mcc-460' : 'no-mcc-460'], d, 0.35, true);
  }

  // All-digit unified social credit code (rare; context decides).
  if (len === 18 && creditCodeValid(d)) emit(env, 'credit-code', start, end, 0.3 + adj, [...common, 'checksum:gb32100'], d, 0.45, true);
}

/** IPv4 dotted quad at `start`; returns its end or 0. */
function scanIpv4(env: Env, start: number): number {
  const t = env.t;
  let i = start;
  const octets: number[] = [];
  for (let k = 0; k < 4; k++) {
    const s = i;
    while (i < t.length && isDigitCode(t.charCodeAt(i)) && i - s < 4) i++;
    const len = i - s;
    if (len === 0 || len > 3) return 0;
    if (len > 1 && t[s] === '0') return 0;
    const v = Number(t.slice(s, i));
    if (v > 255) return 0;
    octets.push(v);
    if (k < 3) {
      if (t[i] !== '.') return 0;
      i++;
    }
  }
  // 1.2.3.4.5 (versions) and 1.2.3.4a are not addresses
  if (isDigitCode(t.charCodeAt(i)) || (t[i] === '.' && isDigitCode(t.charCodeAt(i + 1))) || isLetterCode(t.charCodeAt(i))) return 0;
  if (isLetterCode(t.charCodeAt(start - 1))) return 0;
  const [a = 0, b = 0] = octets;
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
  emit(env, 'ipv4', start, i, base, reasons, octets.join('.'), 0.2, true);
  return i;
}
