/**
 * Format-preserving tokens for decimal numbers: a keyed Feistel network over the digits (10
 * rounds, HMAC-SHA256 round function, the structure of NIST SP 800-38G FF1 with a simpler round
 * input). It is a bijection on strings of n digits for each key and tweak, so distinct numbers get
 * distinct tokens, and it is deterministic, so the same number always gets the same token.
 */
import { luhnCheckDigit } from '../checksums.js';
import { hmacSha256 } from '../sha256.js';

const ROUNDS = 10;

function roundValue(key: Uint8Array | string, tweak: string, round: number, input: string, m: number): number {
  const mac = hmacSha256(key, `fpe\u0000${tweak}\u0000${round}\u0000${input}`);
  // 48 bits, reduced modulo 10^m (m <= 12 keeps the bias below 2^-8 … negligible for tokens)
  let v = 0;
  for (let i = 0; i < 6; i++) v = v * 256 + (mac[i] ?? 0);
  return v % 10 ** m;
}

/** Encrypt a digit string of length 2..24 keeping its length. */
export function feistelDigits(digits: string, key: Uint8Array | string, tweak: string): string {
  const n = digits.length;
  if (!/^\d+$/.test(digits) || n < 2 || n > 24) throw new Error('feistelDigits: 2 to 24 decimal digits expected');
  const u = Math.floor(n / 2);
  const v = n - u;
  let a = digits.slice(0, u);
  let b = digits.slice(u);
  for (let i = 0; i < ROUNDS; i++) {
    const m = i % 2 === 0 ? u : v;
    const y = roundValue(key, tweak, i, b, m);
    // a has m digits here: u on even rounds, v on odd rounds
    const c = ((Number(a) % 10 ** m) + y) % 10 ** m;
    a = b;
    b = String(c).padStart(m, '0');
  }
  return a + b;
}

/** Inverse of feistelDigits (tests, and operators that must reverse a token). */
export function feistelDigitsInverse(digits: string, key: Uint8Array | string, tweak: string): string {
  const n = digits.length;
  const u = Math.floor(n / 2);
  const v = n - u;
  // after the rounds, a has the length of the last round's input
  let a = digits.slice(0, ROUNDS % 2 === 0 ? u : v);
  let b = digits.slice(ROUNDS % 2 === 0 ? u : v);
  for (let i = ROUNDS - 1; i >= 0; i--) {
    const m = i % 2 === 0 ? u : v;
    const y = roundValue(key, tweak, i, a, m);
    const c = (((Number(b) - y) % 10 ** m) + 10 ** m) % 10 ** m;
    b = a;
    a = String(c).padStart(m, '0');
  }
  return a + b;
}

/** Put `digits` back into the digit positions of `template` (separators kept). */
function refill(template: string, digits: string): string {
  let k = 0;
  let out = '';
  for (const ch of template) {
    if (/[0-9]/.test(ch)) out += digits[k++] ?? ch;
    else if (/[\uFF10-\uFF19]/.test(ch)) out += String.fromCharCode((digits.charCodeAt(k++) || 48) + 0xfee0);
    else out += ch;
  }
  return out;
}

function digitsOf(text: string): string {
  return text.replace(/[\uFF10-\uFF19]/g, (c) => String.fromCharCode(c.charCodeAt(0) - 0xfee0)).replace(/[^0-9]/g, '');
}

/** Mobile number token: the country code and the 3-digit carrier prefix stay, the last 8 digits are encrypted. */
export function phoneToken(text: string, key: Uint8Array | string): string {
  const d = digitsOf(text);
  const keep = d.length - 8;
  return refill(text, d.slice(0, keep) + feistelDigits(d.slice(keep), key, `phone:${d.slice(0, keep)}`));
}

/** Landline token: the area code stays, the local number is encrypted (first digit kept 2-8). */
export function landlineToken(text: string, key: Uint8Array | string, areaDigits: number): string {
  const d = digitsOf(text);
  const local = d.slice(areaDigits);
  return refill(text, d.slice(0, areaDigits + 1) + feistelDigits(local.slice(1), key, `landline:${d.slice(0, areaDigits + 1)}`));
}

/** Bank card token: the 6-digit BIN stays, the account digits are encrypted, the Luhn digit is recomputed. */
export function cardToken(text: string, key: Uint8Array | string): string {
  const d = digitsOf(text);
  const body = d.slice(6, -1);
  const payload = d.slice(0, 6) + feistelDigits(body, key, `card:${d.length}:${d.slice(0, 6)}`);
  return refill(text, payload + String(luhnCheckDigit(payload)));
}
