/**
 * Identifiers made of letters and digits: unified social credit codes, passports and travel
 * permits, MEID, Android ID, OAID (alphanumeric words); IDFA/IDFV/OAID in UUID form and MAC
 * addresses with dashes (dash tokens); IPv6 and MAC addresses with colons (colon tokens); e-mail
 * addresses and URLs with credentials (around `@`); licence plates (after a province character).
 */
import { creditCodeValid, luhnHexCheckDigit } from '../checksums.js';
import { keywordMayStart, MARK, MARK_BREAK, MARK_LATIN, MARK_WORD } from '../context.js';
import { type Env, emit, isAlnumCode, isDigitCode, isHexCode, isLetterCode, T } from './env.js';
import { scanNumberAt } from './numeric.js';

const PLATE_PROVINCES = '京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼';
const PLATE_SUFFIX = '学警挂领使港澳';

/** Code units of the province characters that start a licence plate. */
const PLATE_PROVINCE = new Uint8Array(65536);
for (let i = 0; i < PLATE_PROVINCES.length; i++) PLATE_PROVINCE[PLATE_PROVINCES.charCodeAt(i)] = 1;

const OTHER = 0;
const DIGIT = 1;
const LETTER = 2;
/** A keyword that is not Latin starts with it. */
const KEYWORD = 3;
/** It ends a sentence or a line. */
const BREAK = 4;
const DASH = 5;
const COLON = 6;
const AT = 7;
/** Class of every code unit for the token scan. */
const CLASS = (() => {
  const c = new Uint8Array(65536);
  for (let i = 0; i < 65536; i++) if (MARK[i] === MARK_WORD) c[i] = KEYWORD;
  for (let i = 0; i < 65536; i++) if (MARK[i] === MARK_BREAK) c[i] = BREAK;
  for (let i = 48; i <= 57; i++) c[i] = DIGIT;
  for (let i = 65; i <= 90; i++) c[i] = LETTER;
  for (let i = 97; i <= 122; i++) c[i] = LETTER;
  c[45] = DASH;
  c[58] = COLON;
  c[64] = AT;
  return c;
})();

/**
 * The one pass over the text that finds the candidates made of letters and digits: every
 * alphanumeric token is read once; a digit run in it starts a chain of digit groups (numeric.ts)
 * unless an earlier chain already covered it, and a token with a letter is a word (credit codes,
 * passports and permits, MEID, Android ID, OAID, licence plates after a province character). The
 * same pass records where context words may start and where sentences end (ContextIndex.mark).
 */
export function scanTokens(env: Env): void {
  const t = env.t;
  const n = t.length;
  const ctx = env.ctx;
  /** Where the next chain of digit groups may start. */
  let next = 0;
  let i = 0;
  while (i < n) {
    let c = t.charCodeAt(i);
    let k = CLASS[c] ?? OTHER;
    if (k === OTHER) {
      i++;
      continue;
    }
    if (k > LETTER) {
      if (k === KEYWORD) {
        if (keywordMayStart(t, i, c)) ctx.markWordAt(i);
      } else if (k === BREAK) ctx.markBreakAt(i);
      // most dashes and colons are not in a UUID, MAC or IPv6 address: a look at the next characters tells
      else if (
        k === AT ||
        (k === DASH
          ? (t.charCodeAt(i + 3) === 45 || t.charCodeAt(i + 5) === 45) &&
            (!isHexCode(t.charCodeAt(i - 3)) || isHexCode(t.charCodeAt(i - 5)))
          : colonMayFollow(t.charCodeAt(i + 1)))
      )
        special(env, k, i);
      i++;
      continue;
    }
    const s = i;
    let letters = false;
    for (;;) {
      if (k === DIGIT) {
        // a digit run (the character before is a letter or not alphanumeric)
        const p = i;
        do c = t.charCodeAt(++i);
        while (c >= 48 && c <= 57);
        if (p >= next) {
          // a short run that no separator continues is no number of any type: no chain to scan; nor
          // is a decimal or a time (12.5, 11:30:05.181) that cannot start an IPv4 address
          if (i - p >= 11 || c === 41 || ((c === 32 || c === 45) && isDigitCode(t.charCodeAt(i + 1)))) {
            ctx.markedTo(p);
            next = scanNumberAt(env, p, i);
          } else if (c === 46) {
            if (i - p <= 3 && t.charCodeAt(p - 1) !== 46 && octetThenDot(t, i + 1)) {
              ctx.markedTo(p);
              next = scanNumberAt(env, p, i);
            } else {
              // past the dotted digits, as scanNumberAt would go
              let j = i;
              while (t.charCodeAt(j) === 46 || isDigitCode(t.charCodeAt(j))) j++;
              next = j;
            }
          } else next = i;
        }
      } else {
        // a run of letters; a Latin keyword may start at its first letter (no letter before it)
        if (MARK[c] === MARK_LATIN && keywordMayStart(t, i, c)) ctx.markWordAt(i);
        letters = true;
        do c = t.charCodeAt(++i);
        while (CLASS[c] === LETTER);
      }
      k = CLASS[c] ?? OTHER;
      if (k !== DIGIT && k !== LETTER) break;
    }
    // a word of some type's length, or after a province character (licence plate)
    if (letters && ((i - s <= 64 && WORD_LENGTH[i - s] === 1) || PLATE_PROVINCE[t.charCodeAt(s - 1)] === 1)) {
      ctx.markedTo(i);
      word(env, s, i);
    }
  }
  ctx.markedTo(n);
}

/** 1 to 3 digits and a dot at `i`: what follows the first octet of an IPv4 address and its dot. */
function octetThenDot(t: string, i: number): boolean {
  let j = i;
  while (j < i + 3 && isDigitCode(t.charCodeAt(j))) j++;
  return j > i && t.charCodeAt(j) === 46;
}

/** After the colon of a `://`, an IPv6 or a MAC address (or a label before one) comes a hex digit, a colon or a slash. */
function colonMayFollow(c: number): boolean {
  return isHexCode(c) || c === 58 || c === 47;
}

/** A dash, `@` or colon at `i` (class `k`) for the token pass: recorded when it may matter. */
function special(env: Env, k: number, i: number): void {
  const t = env.t;
  if (k === DASH) {
    const start = dashTokenStart(t, i);
    if (start >= 0) env.dashes.push(start);
  } else if (k === AT) {
    env.ats.push(i);
  } else if (t.charCodeAt(i + 1) === 47 && t.charCodeAt(i + 2) === 47) {
    // `://` of a URL
    env.schemes.push(i);
  } else if (colonMayStart(t, i)) {
    env.colons.push(i);
  }
}

/** Lengths of the words some type has (credit codes, passports and permits, MEID, Android ID, OAID). */
const WORD_LENGTH = (() => {
  const l = new Uint8Array(65);
  for (const n of [9, 10, 11, 14, 15, 16, 18, 32, 64]) l[n] = 1;
  return l;
})();

/** An alphanumeric token [s, e) with at least one letter. */
function word(env: Env, s: number, e: number): void {
  const t = env.t;
  const prev = t.charCodeAt(s - 1);
  const afterProvince = PLATE_PROVINCE[prev] === 1;
  // most words are of no type: their length tells
  if (!afterProvince && WORD_LENGTH[e - s] !== 1) return;
  const next = t.charCodeAt(e);
  // part of a dashed / dotted / e-mail token: handled elsewhere
  if (prev === 45 || next === 45 || prev === 64 || next === 64 || prev === 95 || next === 95) return;
  if (afterProvince) plate(env, s - 1, s, e);
  else classifyWord(env, s, e);
}

/** t[s, e) upper-cased (converted only when it has a lower-case letter). */
function upperCased(t: string, s: number, e: number): string {
  const w = t.slice(s, e);
  return hasLowerCase(t, s, e) ? w.toUpperCase() : w;
}

function hasLowerCase(t: string, s: number, e: number): boolean {
  for (let i = s; i < e; i++) {
    const c = t.charCodeAt(i);
    if (c >= 97 && c <= 122) return true;
  }
  return false;
}

function hasUpperCase(t: string, s: number, e: number): boolean {
  for (let i = s; i < e; i++) {
    const c = t.charCodeAt(i);
    if (c >= 65 && c <= 90) return true;
  }
  return false;
}

/** Upper-case letters that start a passport or travel permit number (E, G, P, S, D; C, W, H, M, L). */
const PERMIT_FIRST = new Set([69, 71, 80, 83, 68, 67, 87, 72, 77, 76]);

/** A word of a length some type has; cheap checks on the characters come before any slice or regular expression. */
function classifyWord(env: Env, s: number, e: number): void {
  const t = env.t;
  const len = e - s;
  const c0 = t.charCodeAt(s);
  if (len === 18) {
    // unified social credit code: upper-case letters and digits, GB 32100 check character
    for (let i = s; i < e; i++) if (t.charCodeAt(i) >= 97) return;
    const w = t.slice(s, e);
    if (creditCodeValid(w)) emit(env, T['credit-code'], s, e, 0.65, ['checksum:gb32100'], w, 0.3);
    return;
  }
  if (len === 9 || len === 10 || len === 11) {
    // passports and permits: one or two upper-case letters, then digits
    if (!PERMIT_FIRST.has(c0) || !isDigitCode(t.charCodeAt(e - 1))) return;
    const c1 = t.charCodeAt(s + 1);
    const digits1 = allDigits(t, s + 1, e);
    const letterDigits2 = plateLetterCode(c1) && allDigits(t, s + 2, e);
    const w = t.slice(s, e);
    if (len === 9 && c0 === 69 && digits1) emit(env, T.passport, s, e, 0.5, ['passport-format:E'], w, 0.45, true);
    else if (len === 9 && c0 === 69 && letterDigits2) emit(env, T.passport, s, e, 0.55, ['passport-format:E+letter'], w, 0.45, true);
    else if (len === 9 && c0 === 71 && digits1) emit(env, T.passport, s, e, 0.4, ['passport-format:G'], w, 0.45, true);
    else if ((c0 === 80 || c0 === 83 || c0 === 68) && len === 9 && c1 === 69 && allDigits(t, s + 2, e))
      emit(env, T.passport, s, e, 0.2, ['passport-format:official'], w, 0.45, true);
    if (len === 9 && (c0 === 67 || c0 === 87) && digits1)
      emit(env, T['hk-macao-permit'], s, e, 0.35, ['permit-format:mainland-to-hk-macao'], w, 0.45, true);
    else if (len === 9 && c0 === 67 && letterDigits2)
      emit(env, T['hk-macao-permit'], s, e, 0.4, ['permit-format:mainland-to-hk-macao'], w, 0.45, true);
    else if ((c0 === 72 || c0 === 77) && (len === 9 || len === 11) && digits1)
      emit(env, T['hk-macao-permit'], s, e, 0.35, ['permit-format:home-return'], w, 0.45, true);
    else if (len === 9 && c0 === 76 && digits1) emit(env, T['hk-macao-permit'], s, e, 0.3, ['permit-format:taiwan'], w, 0.45, true);
    return;
  }
  // hex words: MEID (14/15, first digit A-F), Android ID (16), OAID (16/32/64)
  let digits = false;
  let upper = false;
  let lower = false;
  for (let i = s; i < e; i++) {
    const c = t.charCodeAt(i);
    if (c <= 57) digits = true;
    else if (!isHexCode(c)) return;
    else if (c <= 70) upper = true;
    else lower = true;
  }
  if (len === 14 || len === 15) {
    if (!((c0 >= 65 && c0 <= 70) || (c0 >= 97 && c0 <= 102))) return;
    const w = t.slice(s, e);
    const reasons = ['meid-format'];
    let base = 0.3;
    if (len === 15) {
      const upperCased = lower ? w.toUpperCase() : w;
      if (luhnHexCheckDigit(upperCased.slice(0, 14)) === upperCased[14]) {
        base = 0.45;
        reasons.push('check-digit');
      } else base = 0.1;
    }
    emit(env, T.meid, s, e, base, reasons, w, 0.5, false, lower ? 1 : 0);
    return;
  }
  if (digits && (len === 16 || len === 32 || len === 64)) {
    // case conversion only when needed (it is not cheap on a slice of a two-byte string)
    const w = t.slice(s, e);
    const fold = upper ? 2 : 0;
    if (len === 16) emit(env, T['android-id'], s, e, upper ? 0.15 : 0.25, ['hex-16'], w, 0.5, false, fold);
    emit(env, T.oaid, s, e, 0.1, [`hex-${len}`], w, 0.55, false, fold);
  }
}

/** [A-HJ-NP-Z]: an upper-case letter of a licence plate or a document number (no I, no O). */
function plateLetterCode(c: number): boolean {
  return c >= 65 && c <= 90 && c !== 73 && c !== 79;
}

/** [A-HJ-NP-Z0-9]{to - from} at s[from, to). */
function plateBody(s: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (!plateLetterCode(c) && !isDigitCode(c)) return false;
  }
  return true;
}

/** How many upper-case letters s has. */
function lettersIn(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 65 && c <= 90) n++;
  }
  return n;
}

/** s[from, to) is not empty and all digits. */
function allDigits(s: string, from: number, to: number): boolean {
  if (to <= from) return false;
  for (let i = from; i < to; i++) if (!isDigitCode(s.charCodeAt(i))) return false;
  return true;
}

/** 粤B12345, 京A·12345, 沪AD12345 (new energy, small), 粤B12345D (new energy, large), 粤B1234学. */
function plate(env: Env, p: number, s: number, e: number): void {
  const t = env.t;
  let letter = t[s] ?? '';
  let body: string;
  let end = e;
  if (e - s === 1) {
    // 京A·12345 / 京A 12345
    const sep = t[e];
    if (sep !== '·' && sep !== '•' && sep !== ' ' && sep !== '.') return;
    let j = e + 1;
    while (j < t.length && isAlnumCode(t.charCodeAt(j))) j++;
    body = upperCased(t, e + 1, j);
    end = j;
  } else body = upperCased(t, s + 1, e);
  letter = letter.toUpperCase();
  if (!plateLetterCode(letter.charCodeAt(0))) return;
  const reasons: string[] = [];
  let base = 0;
  const n = body.length;
  if (n === 5 && plateBody(body, 0, 5) && lettersIn(body) <= 2) {
    base = 0.7;
    reasons.push('plate-format');
  } else if (
    n === 6 &&
    (((body.charCodeAt(0) === 68 || body.charCodeAt(0) === 70) && plateBody(body, 1, 2) && allDigits(body, 2, 6)) ||
      (allDigits(body, 0, 5) && (body.charCodeAt(5) === 68 || body.charCodeAt(5) === 70)))
  ) {
    base = 0.75;
    reasons.push('new-energy-plate');
  } else if (n === 4 && plateBody(body, 0, 4) && end < t.length && PLATE_SUFFIX.includes(t[end] ?? '')) {
    end += 1;
    base = 0.7;
    reasons.push('special-plate');
  } else return;
  if (isAlnumCode(t.charCodeAt(end))) return;
  // the canonical form is the plate itself when it has no separator and no lower-case letter
  const normalized =
    e - s > 1 && !hasLowerCase(t, s, e)
      ? t.slice(p, end)
      : `${t[p]}${letter}${body}${end > e && PLATE_SUFFIX.includes(t[end - 1] ?? '') ? (t[end - 1] ?? '') : ''}`;
  emit(env, T['licence-plate'], p, end, base, reasons, normalized, 0.25);
}

/**
 * Where the token of hex digits and dashes around the dash at `i` starts, when that dash may be the
 * first one of a UUID (8 hex digits before it, 4 and a dash after it) or of a MAC address (2 before,
 * 2 and a dash after), else -1: dates, phone numbers and `name-1` are not, and their dashes are not
 * looked at again. A dash with another dash a few hex digits before it is not the first of its token.
 */
function dashTokenStart(t: string, i: number): number {
  // the next dash of the token: 3 characters on (MAC address) or 5 (UUID)
  if (t.charCodeAt(i + 3) !== 45 && t.charCodeAt(i + 5) !== 45) return -1;
  let h = 0;
  while (h < 9 && isHexCode(t.charCodeAt(i - 1 - h))) h++;
  if (t.charCodeAt(i - 1 - h) === 45) return -1;
  const group = h === 8 ? 4 : h === 2 ? 2 : 0;
  if (group === 0 || t.charCodeAt(i + group + 1) !== 45) return -1;
  for (let j = i + 1; j <= i + group; j++) if (!isHexCode(t.charCodeAt(j))) return -1;
  return i - h;
}

/**
 * The colon at `i` may be the first one of an IPv6 address (a `::`, or six colons or more before a
 * dot, follow in the same token) or of a MAC address (five colons): times such as 12:30:05.123 and
 * `"key": value` are not.
 */
function colonMayStart(t: string, i: number): boolean {
  let colons = 0;
  for (let j = i; j < i + 48; j++) {
    const c = t.charCodeAt(j);
    if (c === 58) {
      if (t.charCodeAt(j + 1) === 58) return true;
      if (++colons >= 5) return true;
    } else if (c === 46) {
      // an embedded IPv4 address comes after the sixth colon
      return false;
    } else if (!isHexCode(c)) break;
  }
  return false;
}

/**
 * UUIDs (IDFA, IDFV, OAID) and MAC addresses with dashes (AA-BB-CC-DD-EE-FF), at the token starts
 * scanTokens kept: the token of hex digits and dashes must be exactly the 36 or 17 characters.
 */
export function scanDashTokens(env: Env): void {
  const t = env.t;
  for (const s of env.dashes) {
    // a MAC address has its first dash after 2 hex digits, a UUID after 8
    const uuid = t.charCodeAt(s + 2) !== 45;
    const e = s + (uuid ? 36 : 17);
    const after = t.charCodeAt(e);
    if (isHexCode(after) || after === 45 || isAlnumCode(after) || after === 95) continue;
    const before = t.charCodeAt(s - 1);
    if (isAlnumCode(before) || before === 95) continue;
    if (uuid) {
      // 8-4-4-4-12 hex digits; the all-zero IDFA (tracking limited) is not an identifier
      let lower = false;
      let upper = false;
      let zero = true;
      let ok = true;
      for (let k = 0; k < 36 && ok; k++) {
        const c = t.charCodeAt(s + k);
        if (k === 8 || k === 13 || k === 18 || k === 23) ok = c === 45;
        else if (c >= 48 && c <= 57) zero &&= c === 48;
        else if (c >= 97 && c <= 102) lower = true;
        else if (c >= 65 && c <= 70) upper = true;
        else ok = false;
      }
      if (!ok || (zero && !lower && !upper)) continue;
      const w = t.slice(s, e);
      const caseBase = lower ? 0.15 : 0.25;
      emit(env, T.idfa, s, e, caseBase, ['uuid-format'], w, 0.55, false, lower ? 1 : 0);
      emit(env, T.idfv, s, e, caseBase, ['uuid-format'], w, 0.55, false, lower ? 1 : 0);
      emit(env, T.oaid, s, e, 0.15, ['uuid-format'], w, 0.55, false, upper ? 2 : 0);
    } else if (macAt(t, s, 45)) {
      mac(env, s, e);
    }
  }
}

/** A hex digit, colon or dot: a character of an IPv6 or MAC address token. */
function isColonTokenCode(c: number): boolean {
  return isHexCode(c) || c === 58 || c === 46;
}

/** Six pairs of hex digits at `s` joined by the separator `sep` (17 characters). */
function macAt(t: string, s: number, sep: number): boolean {
  for (let k = 0; k < 17; k++) {
    const c = t.charCodeAt(s + k);
    if (k % 3 === 2 ? c !== sep : !isHexCode(c)) return false;
  }
  return true;
}

/** MAC address at [s, e) (macAt): six octets; normalised to AA:BB:CC:DD:EE:FF. */
function mac(env: Env, s: number, e: number): void {
  const t = env.t;
  let zero = true;
  let ones = true;
  let placeholder = true;
  for (let o = 0; o < 6; o++) {
    const v = (hexValue(t.charCodeAt(s + 3 * o)) << 4) | hexValue(t.charCodeAt(s + 3 * o + 1));
    if (v !== 0) zero = false;
    if (v !== 255) ones = false;
    if (v !== (o === 0 ? 2 : 0)) placeholder = false;
  }
  if (zero || ones || placeholder) return;
  const raw = t.slice(s, e);
  const norm = t.charCodeAt(s + 2) === 58 ? raw : raw.replace(/-/g, ':');
  const reasons = ['mac-format'];
  const first = (hexValue(t.charCodeAt(s)) << 4) | hexValue(t.charCodeAt(s + 1));
  let base = 0.75;
  if (first & 1) {
    base = 0.3;
    reasons.push('multicast');
  } else if (first & 2) {
    base = 0.6;
    reasons.push('locally-administered');
  }
  emit(env, T.mac, s, e, base, reasons, norm, 0.2, false, hasLowerCase(t, s, e) ? 1 : 0);
}

function hexValue(c: number): number {
  return c <= 57 ? c - 48 : (c | 32) - 87;
}

/**
 * Tokens of hex digits, colons and dots around the colons scanTokens kept: IPv6 addresses and MAC
 * addresses (aa:bb:cc:dd:ee:ff).
 */
export function scanColonTokens(env: Env): void {
  const t = env.t;
  let from = 0;
  for (const colon of env.colons) {
    if (colon < from) continue;
    let s = colon;
    while (s > 0 && isColonTokenCode(t.charCodeAt(s - 1))) s--;
    let e = colon + 1;
    while (e < t.length && isColonTokenCode(t.charCodeAt(e))) e++;
    from = e + 1;
    while (e > colon + 1 && t.charCodeAt(e - 1) === 46) e--;
    while (s < colon && t.charCodeAt(s) === 46) s++;
    // a label's colon before the value (地址：E4:03:…) or after it
    if (t.charCodeAt(s) === 58 && t.charCodeAt(s + 1) !== 58) s++;
    if (t.charCodeAt(e - 1) === 58 && t.charCodeAt(e - 2) !== 58) e--;
    if (e <= s) continue;
    if (isLetterCode(t.charCodeAt(s - 1)) || isLetterCode(t.charCodeAt(e)) || t.charCodeAt(s - 1) === 95 || t.charCodeAt(e) === 95)
      continue;
    if (e - s === 17 && macAt(t, s, 58)) {
      mac(env, s, e);
      continue;
    }
    if (!ipv6Shape(t, s, e)) continue;
    const w = t.slice(s, e);
    if (ipv6Valid(w)) {
      const loop = w === '::1' || w === '::';
      const reasons = ['ipv6-format'];
      let base = 0.75;
      if (loop) {
        base = 0.2;
        reasons.push('loopback');
      } else if (/^fe80:/i.test(w)) {
        base = 0.55;
        reasons.push('link-local');
      }
      emit(env, T.ipv6, s, e, base, reasons, w, 0.2, false, hasUpperCase(t, s, e) ? 2 : 0);
    }
  }
}

/**
 * What every IPv6 address of t[s, e) has, checked without allocating (times such as 12:30:05 and
 * most other colon tokens fail here): 3 to 45 characters, groups of at most 4 characters, `::` or
 * 7 colons (6 before an embedded IPv4 address), and dots only in a dotted quad after the last colon.
 */
function ipv6Shape(t: string, s: number, e: number): boolean {
  if (e - s < 3 || e - s > 45) return false;
  let colons = 0;
  let dots = 0;
  let double = false;
  let run = 0;
  for (let i = s; i < e; i++) {
    const c = t.charCodeAt(i);
    if (c === 58) {
      if (dots > 0) return false;
      if (t.charCodeAt(i + 1) === 58 && i + 1 < e) double = true;
      colons++;
      run = 0;
    } else if (c === 46) {
      dots++;
      run = 0;
    } else if (++run > 4) return false;
  }
  if (dots !== 0 && dots !== 3) return false;
  return double ? colons >= 2 : colons === (dots === 3 ? 6 : 7);
}

const IPV4_TAIL = /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

export function ipv6Valid(w: string): boolean {
  if (w.length > 45) return false;
  let body = w;
  let v4 = 0;
  const lastColon = w.lastIndexOf(':');
  if (w.indexOf('.', lastColon + 1) >= 0) {
    // an embedded IPv4 address counts as two groups
    if (!IPV4_TAIL.test(w.slice(lastColon + 1))) return false;
    body = `${w.slice(0, lastColon + 1)}0:0`;
    v4 = 1;
  }
  const dbl = body.indexOf('::');
  if (dbl !== body.lastIndexOf('::')) return false;
  if (dbl >= 0) {
    const lg = dbl === 0 ? 0 : hexGroups(body, 0, dbl);
    const rg = dbl + 2 === body.length ? 0 : hexGroups(body, dbl + 2, body.length);
    if (lg < 0 || rg < 0) return false;
    const groups = lg + rg;
    // `::` stands for at least one group; a bare `a::b` is too weak unless it carries more groups
    return groups <= 7 && groups + v4 >= 2 && (lg > 0 || rg > 0);
  }
  return hexGroups(body, 0, body.length) === 8;
}

/** The number of `:`-separated groups of s[from, to) when each is 1 to 4 hex digits, else -1. */
function hexGroups(s: string, from: number, to: number): number {
  let groups = 0;
  let len = 0;
  for (let i = from; i <= to; i++) {
    if (i === to || s.charCodeAt(i) === 58) {
      if (len === 0 || len > 4) return -1;
      groups++;
      len = 0;
    } else if (isHexCode(s.charCodeAt(i))) len++;
    else return -1;
  }
  return groups;
}

/** [A-Za-z0-9._%+-]: a character of an e-mail address's local part. */
function isLocalCode(c: number): boolean {
  return isAlnumCode(c) || c === 46 || c === 95 || c === 37 || c === 43 || c === 45;
}

/** [A-Za-z0-9.-]: a character of a domain. */
function isDomainCode(c: number): boolean {
  return isAlnumCode(c) || c === 46 || c === 45;
}

/** [A-Za-z0-9+.-]: a character of a URL scheme. */
function isSchemeCode(c: number): boolean {
  return isAlnumCode(c) || c === 43 || c === 46 || c === 45;
}

/** [A-Za-z0-9.-[]:]: a character of a URL host (with an IPv6 literal and a port). */
function isHostCode(c: number): boolean {
  return isAlnumCode(c) || c === 46 || c === 45 || c === 91 || c === 93 || c === 58;
}

/** A white-space character of JavaScript regular expressions (`\s`). */
function isSpaceCode(c: number): boolean {
  return (
    c === 32 ||
    (c >= 9 && c <= 13) ||
    c === 0xa0 ||
    c === 0x1680 ||
    (c >= 0x2000 && c <= 0x200a) ||
    c === 0x2028 ||
    c === 0x2029 ||
    c === 0x202f ||
    c === 0x205f ||
    c === 0x3000 ||
    c === 0xfeff
  );
}

/** t[s, e) is `user:password` (/^[^\s/@:]+:[^\s/@]+$/): no white space, slash or `@`, a colon after the user. */
function userinfoAt(t: string, s: number, e: number): boolean {
  let i = s;
  while (i < e) {
    const c = t.charCodeAt(i);
    if (c === 58 || c === 47 || c === 64 || isSpaceCode(c)) break;
    i++;
  }
  if (i === s || i >= e - 1 || t.charCodeAt(i) !== 58) return false;
  for (let j = i + 1; j < e; j++) {
    const c = t.charCodeAt(j);
    if (c === 47 || c === 64 || isSpaceCode(c)) return false;
  }
  return true;
}

/** No `..` in the local part t[s, e), and it does not end with a dot. */
function localPartValid(t: string, s: number, e: number): boolean {
  if (t.charCodeAt(e - 1) === 46) return false;
  for (let i = s + 1; i < e; i++) if (t.charCodeAt(i) === 46 && t.charCodeAt(i - 1) === 46) return false;
  return true;
}

/**
 * The domain t[s, e) has two labels or more, none empty nor starting or ending with a dash, and a
 * top-level label of 2 to 24 letters.
 */
function domainValid(t: string, s: number, e: number): boolean {
  let labels = 0;
  let from = s;
  for (let i = s; i <= e; i++) {
    if (i < e && t.charCodeAt(i) !== 46) continue;
    // label [from, i)
    if (i === from || t.charCodeAt(from) === 45 || t.charCodeAt(i - 1) === 45) return false;
    labels++;
    if (i === e) {
      if (labels < 2 || i - from < 2 || i - from > 24) return false;
      for (let j = from; j < i; j++) if (!isLetterCode(t.charCodeAt(j))) return false;
    }
    from = i + 1;
  }
  return true;
}

/** E-mail addresses and URLs with credentials, found around each `@`. */
export function scanAt(env: Env): void {
  const t = env.t;
  const schemes = env.schemes;
  let from = 0;
  // the last `://` that ends before the current `@` (index into the `://` scanTokens kept)
  let sep = 0;
  let sepLast = -1;
  for (const at of env.ats) {
    if (at < from) continue;
    from = at + 1;
    // URL with credentials: scheme://user:password@host, `://` at most 512 characters before the `@`
    while (sep < schemes.length && (schemes[sep] ?? 0) + 3 <= at) {
      sepLast = schemes[sep] ?? -1;
      sep++;
    }
    const slash = sepLast >= 0 && sepLast >= at - 512 ? sepLast : -1;
    if (slash >= 0) {
      if (userinfoAt(t, slash + 3, at)) {
        let s = slash;
        while (s > 0 && isSchemeCode(t.charCodeAt(s - 1))) s--;
        if (s < slash && isLetterCode(t.charCodeAt(s))) {
          let e = at + 1;
          while (e < t.length && isHostCode(t.charCodeAt(e))) e++;
          while (e > at + 1 && (t.charCodeAt(e - 1) === 46 || t.charCodeAt(e - 1) === 58)) e--;
          if (e > at + 1) {
            emit(env, T['url-credentials'], s, e, 0.9, ['userinfo-password'], t.slice(s, e), 0.1);
            from = e;
            continue;
          }
        }
      }
    }
    let s = at;
    while (s > 0 && at - s < 64 && isLocalCode(t.charCodeAt(s - 1))) s--;
    while (s < at && (t[s] === '.' || t[s] === '-' || t[s] === '+')) s++;
    let e = at + 1;
    while (e < t.length && e - at < 256 && isDomainCode(t.charCodeAt(e))) e++;
    while (e > at + 1 && (t[e - 1] === '.' || t[e - 1] === '-')) e--;
    if (s === at || e === at + 1) continue;
    if (!localPartValid(t, s, at) || !domainValid(t, at + 1, e)) continue;
    emit(env, T.email, s, e, 0.85, ['email-format'], t.slice(s, e), 0.1, false, hasUpperCase(t, s, e) ? 2 : 0);
    from = e;
  }
}
