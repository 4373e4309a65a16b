/** Check digits and structural validation of Chinese and international identifiers. */

/** Luhn (ISO/IEC 7812) over decimal digits, check digit included. */
export function luhnValid(digits: string): boolean {
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return false;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return digits.length > 1 && sum % 10 === 0;
}

/** The Luhn check digit for a payload without it. */
export function luhnCheckDigit(payload: string): number {
  let sum = 0;
  let double = true;
  for (let i = payload.length - 1; i >= 0; i--) {
    let d = payload.charCodeAt(i) - 48;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return (10 - (sum % 10)) % 10;
}

/** Luhn over hexadecimal digits (MEID check digit, 3GPP2 X.S0008). */
export function luhnHexCheckDigit(payload: string): string {
  let sum = 0;
  let double = true;
  for (let i = payload.length - 1; i >= 0; i--) {
    let d = Number.parseInt(payload[i] ?? '0', 16);
    if (double) {
      d *= 2;
      d = Math.floor(d / 16) + (d % 16);
    }
    sum += d;
    double = !double;
  }
  return ((16 - (sum % 16)) % 16).toString(16).toUpperCase();
}

const MOD11_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const MOD11_CHECK = '10X98765432';

/** GB 11643-1999 ISO 7064 MOD 11-2 check character for the first 17 digits. */
export function mod11_2Check(first17: string): string {
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += (first17.charCodeAt(i) - 48) * (MOD11_WEIGHTS[i] ?? 0);
  return MOD11_CHECK[sum % 11] ?? '';
}

export function mod11_2Valid(id18: string): boolean {
  return id18.length === 18 && mod11_2Check(id18.slice(0, 17)) === id18[17]?.toUpperCase();
}

/** GB 32100-2015 character set (no I, O, Z, S, V). */
export const CREDIT_CODE_CHARS = '0123456789ABCDEFGHJKLMNPQRTUWXY';
const CREDIT_WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];

/** GB 32100-2015 check character for the first 17 characters (undefined on a bad character). */
export function creditCodeCheck(first17: string): string | undefined {
  let sum = 0;
  for (let i = 0; i < 17; i++) {
    const v = CREDIT_CODE_CHARS.indexOf(first17[i] ?? '?');
    if (v < 0) return undefined;
    sum += v * (CREDIT_WEIGHTS[i] ?? 0);
  }
  return CREDIT_CODE_CHARS[(31 - (sum % 31)) % 31];
}

/** A valid unified social credit code: charset, registration department and type, region, check. */
export function creditCodeValid(code: string): boolean {
  if (code.length !== 18) return false;
  const dept = code[0] ?? '';
  if (!'123456789ABCDEFGY'.includes(dept)) return false;
  const kind = code[1] ?? '';
  if (!'123456789'.includes(kind)) return false;
  if (!/^\d{6}$/.test(code.slice(2, 8))) return false;
  return creditCodeCheck(code.slice(0, 17)) === code[17];
}

/** Province-level region codes of GB/T 2260 (first two digits of a resident ID). */
export const PROVINCE_CODES: ReadonlySet<string> = new Set([
  '11',
  '12',
  '13',
  '14',
  '15',
  '21',
  '22',
  '23',
  '31',
  '32',
  '33',
  '34',
  '35',
  '36',
  '37',
  '41',
  '42',
  '43',
  '44',
  '45',
  '46',
  '50',
  '51',
  '52',
  '53',
  '54',
  '61',
  '62',
  '63',
  '64',
  '65',
  '71',
]);

/** A plausible six-digit administrative division code (province, prefecture 01-70 or 90, county). */
export function regionPlausible(code6: string): boolean {
  if (!PROVINCE_CODES.has(code6.slice(0, 2))) return false;
  const pref = Number(code6.slice(2, 4));
  return (pref >= 1 && pref <= 70) || pref === 90;
}

const MONTH_DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** A real calendar date; year within [minYear, maxYear]. */
export function dateValid(y: number, m: number, d: number, minYear: number, maxYear: number): boolean {
  if (!(y >= minYear && y <= maxYear && m >= 1 && m <= 12 && d >= 1)) return false;
  if (m === 2 && ((y % 4 === 0 && y % 100 !== 0) || y % 400 === 0)) return d <= 29;
  return d <= (MONTH_DAYS[m - 1] ?? 0);
}

/** Birth date YYYYMMDD at `offset` of an identifier; undefined when not a real date. */
export function birthDateAt(s: string, offset: number, maxYear: number): string | undefined {
  const y = Number(s.slice(offset, offset + 4));
  const m = Number(s.slice(offset + 4, offset + 6));
  const d = Number(s.slice(offset + 6, offset + 8));
  return dateValid(y, m, d, 1900, maxYear)
    ? `${s.slice(offset, offset + 4)}-${s.slice(offset + 4, offset + 6)}-${s.slice(offset + 6, offset + 8)}`
    : undefined;
}
