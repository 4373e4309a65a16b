/**
 * Ages for the minors rule, computed without allocating (the decision path calls these).
 *
 * Dates are handled as integers `yyyymmdd`. "Today" is the calendar date in China Standard Time
 * (UTC+8, no daylight saving), whatever the server's time zone.
 *
 * Age in full years (周岁) follows the convention of Chinese judicial practice that a person reaches
 * an age on the day AFTER the birthday (最高人民法院《关于审理未成年人刑事案件具体应用法律若干问题的解释》
 * 第二条: "从周岁生日的第二天起算"). For the minors rule this is the protective reading: on their 14th
 * birthday a person is still treated as under 14 for one more day.
 */
import { PipaError } from '../errors.js';

const MS_PER_DAY = 86_400_000;
const CST_OFFSET_MS = 8 * 3_600_000;

/** `yyyymmdd` of a proleptic Gregorian date given as days since 1970-01-01 (H. Hinnant's civil_from_days). */
export function ymdFromDays(days: number): number {
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  const y = yoe + era * 400 + (m <= 2 ? 1 : 0);
  return y * 10_000 + m * 100 + d;
}

let cachedDay = Number.NaN;
let cachedYmd = 0;

/** Today's date in China (UTC+8) at `now` (ms since the epoch) as `yyyymmdd`. */
export function chinaYmd(now: number): number {
  const day = Math.floor((now + CST_OFFSET_MS) / MS_PER_DAY);
  if (day !== cachedDay) {
    cachedYmd = ymdFromDays(day);
    cachedDay = day;
  }
  return cachedYmd;
}

/** Full years (周岁) on `todayYmd` of a person born on `birthYmd`, reached the day after the birthday. */
export function ageInYears(birthYmd: number, todayYmd: number): number {
  const years = Math.floor(todayYmd / 10_000) - Math.floor(birthYmd / 10_000);
  return todayYmd % 10_000 <= birthYmd % 10_000 ? years - 1 : years;
}

/** True when a person born on `birthYmd` has not yet reached `years` on `todayYmd`. */
export function isUnder(birthYmd: number, years: number, todayYmd: number): boolean {
  return todayYmd <= birthYmd + years * 10_000;
}

function daysInMonth(y: number, m: number): number {
  if (m === 2) return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0 ? 29 : 28;
  return m === 4 || m === 6 || m === 9 || m === 11 ? 30 : 31;
}

/** `yyyymmdd` for a real calendar date, or 0. */
export function ymdOf(y: number, m: number, d: number): number {
  if (!Number.isInteger(y) || !Number.isInteger(m) || !Number.isInteger(d)) return 0;
  if (y < 1 || y > 9999 || m < 1 || m > 12 || d < 1 || d > daysInMonth(y, m)) return 0;
  return y * 10_000 + m * 100 + d;
}

/** `YYYY-MM-DD` -> `yyyymmdd`, or 0 when it is not a real date in that form. */
export function parseYmd(text: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  if (!m) return 0;
  return ymdOf(Number(m[1]), Number(m[2]), Number(m[3]));
}

export function formatYmd(ymd: number): string {
  const y = Math.floor(ymd / 10_000);
  const m = Math.floor(ymd / 100) % 100;
  const d = ymd % 100;
  return `${String(y).padStart(4, '0')}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`;
}

/**
 * Validated birth date -> `yyyymmdd`. Throws `validation_failed` for a malformed date, one that does
 * not exist, or one after `now` when `now` is given.
 */
export function birthYmd(birthDate: string, now?: number, field = 'birthDate'): number {
  const ymd = parseYmd(birthDate);
  if (ymd === 0) {
    throw new PipaError('validation_failed', `${field}: must be a real date YYYY-MM-DD, got "${birthDate}"`, [
      { path: field, message: '出生日期须为有效日期 YYYY-MM-DD / must be a real date YYYY-MM-DD' },
    ]);
  }
  if (now !== undefined && ymd > chinaYmd(now)) {
    throw new PipaError('validation_failed', `${field}: ${birthDate} is in the future`, [
      { path: field, message: '出生日期晚于今天 / the date of birth is in the future' },
    ]);
  }
  return ymd;
}

/** Age in full years (周岁) at `now` of a person born on `birthDate` (`YYYY-MM-DD`). */
export function ageOn(birthDate: string, now: number): number {
  return ageInYears(birthYmd(birthDate, now), chinaYmd(now));
}
