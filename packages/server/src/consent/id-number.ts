/**
 * Birth date and age from an 18-character resident identity card number (公民身份号码, GB 11643-1999):
 * 6 digits of address code, 8 digits of birth date (YYYYMMDD), 3 digits of sequence (odd for men,
 * even for women), 1 check character computed with ISO 7064 MOD 11-2 (0-9 or X).
 *
 * The address code is not checked against the administrative-division list (it changes over time
 * and old numbers stay valid); a number whose check character or birth date is wrong is refused.
 */
import { PipaError } from '../errors.js';
import { ageInYears, chinaYmd, formatYmd, ymdOf } from './age.js';

/** Weights 2^(17-i) mod 11 for the 17 body digits. */
const WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2] as const;
/** Check character for (sum mod 11). */
const CHECK_CHARS = '10X98765432';

export type IdNumberProblem = 'format' | 'legacy-15' | 'birth-date' | 'future-birth-date' | 'check-digit';

export type IdNumberResult =
  | { ok: true; normalised: string; birthDate: string; sex: 'male' | 'female' }
  | { ok: false; problem: IdNumberProblem; zh: string; en: string };

const PROBLEMS: Record<IdNumberProblem, { zh: string; en: string }> = {
  format: {
    zh: '身份证号码须为18位：17位数字加1位校验码（数字或X）',
    en: 'An identity card number has 18 characters: 17 digits and a check character (a digit or X)',
  },
  'legacy-15': {
    zh: '15位旧身份证号码没有校验码，请使用18位号码',
    en: 'Legacy 15-digit numbers carry no check character; use the 18-character number',
  },
  'birth-date': { zh: '身份证号码中的出生日期不是有效日期', en: 'The date of birth in the number is not a real date' },
  'future-birth-date': { zh: '身份证号码中的出生日期晚于今天', en: 'The date of birth in the number is in the future' },
  'check-digit': {
    zh: '身份证号码校验码错误（ISO 7064 MOD 11-2）',
    en: 'The check character of the number is wrong (ISO 7064 MOD 11-2)',
  },
};

function fail(problem: IdNumberProblem): IdNumberResult {
  return { ok: false, problem, ...PROBLEMS[problem] };
}

/** The MOD 11-2 check character for the first 17 digits. */
export function idNumberCheckChar(body17: string): string {
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += (body17.charCodeAt(i) - 48) * (WEIGHTS[i] ?? 0);
  return CHECK_CHARS.charAt(sum % 11);
}

/**
 * Check an identity card number and read its birth date. Spaces are ignored and a lower-case `x`
 * is accepted. `now` (ms since the epoch), when given, refuses a birth date after today.
 */
export function parseIdNumber(id: string, now?: number): IdNumberResult {
  const s = id.replace(/\s+/g, '').toUpperCase();
  if (/^\d{15}$/.test(s)) return fail('legacy-15');
  if (!/^\d{17}[\dX]$/.test(s)) return fail('format');
  const ymd = ymdOf(Number(s.slice(6, 10)), Number(s.slice(10, 12)), Number(s.slice(12, 14)));
  if (ymd === 0 || ymd < 18_000_101) return fail('birth-date');
  if (idNumberCheckChar(s) !== s.charAt(17)) return fail('check-digit');
  if (now !== undefined && ymd > chinaYmd(now)) return fail('future-birth-date');
  return { ok: true, normalised: s, birthDate: formatYmd(ymd), sex: (s.charCodeAt(16) - 48) % 2 === 1 ? 'male' : 'female' };
}

function valid(id: string, now: number | undefined, field: string): { birthDate: string } {
  const r = parseIdNumber(id, now);
  if (!r.ok) {
    // The number itself is personal information: the message names the field, never the value.
    throw new PipaError('validation_failed', `${field}: ${r.en}`, [{ path: field, message: `${r.zh} / ${r.en}`, problem: r.problem }]);
  }
  return r;
}

/** Birth date `YYYY-MM-DD` from an identity card number; throws `validation_failed` if it is not valid. */
export function birthDateFromIdNumber(id18: string, field = 'idNumber'): string {
  return valid(id18, undefined, field).birthDate;
}

/** Age in full years (周岁, see age.ts) at `now` from an identity card number; throws `validation_failed` if it is not valid. */
export function ageFromIdNumber(id18: string, now: number, field = 'idNumber'): number {
  const { birthDate } = valid(id18, now, field);
  const [y, m, d] = birthDate.split('-').map(Number);
  return ageInYears(ymdOf(y ?? 0, m ?? 0, d ?? 0), chinaYmd(now));
}
