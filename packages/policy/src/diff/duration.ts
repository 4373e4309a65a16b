/**
 * ISO 8601 durations as the declaration uses them (`P3Y`, `P6M`, `P1Y6M`, `P2W`, `P180D`):
 * parse, compare and say them in zh / en.
 *
 * Comparison: a duration is normalised to whole months (12 per year) and whole days (7 per week).
 * Two durations with the same months and days are equal (`P1Y` = `P12M`, `P2W` = `P14D`). Otherwise
 * months are weighed at the mean Gregorian month (365.2425 / 12 days), so `P1M` > `P30D` and
 * `P1Y` > `P365D`: a calendar month or year is never counted shorter than it can be on average, which
 * is the cautious reading when the question is "is the new retention longer?".
 */

export interface DurationParts {
  years: number;
  months: number;
  weeks: number;
  days: number;
}

const DURATION_RE = /^P(?!$)(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?$/;

/** Mean Gregorian month in days. */
const MONTH_DAYS = 365.2425 / 12;

export function parseDuration(text: string): DurationParts {
  const m = DURATION_RE.exec(text);
  if (!m) throw new Error(`"${text}" is not an ISO 8601 duration such as P3Y, P6M or P30D`);
  return { years: num(m[1]), months: num(m[2]), weeks: num(m[3]), days: num(m[4]) };
}

function num(s: string | undefined): number {
  return s === undefined ? 0 : Number(s);
}

function normalise(d: DurationParts): { months: number; days: number } {
  return { months: d.years * 12 + d.months, days: d.weeks * 7 + d.days };
}

/** -1 when a is shorter than b, 0 when equal, 1 when longer. `undefined` is a zero duration. */
export function compareDurations(a: string | DurationParts | undefined, b: string | DurationParts | undefined): -1 | 0 | 1 {
  const x = normalise(toParts(a));
  const y = normalise(toParts(b));
  if (x.months === y.months && x.days === y.days) return 0;
  const dx = x.months * MONTH_DAYS + x.days;
  const dy = y.months * MONTH_DAYS + y.days;
  if (dx === dy) return 0;
  return dx < dy ? -1 : 1;
}

function toParts(d: string | DurationParts | undefined): DurationParts {
  if (d === undefined) return { years: 0, months: 0, weeks: 0, days: 0 };
  return typeof d === 'string' ? parseDuration(d) : d;
}

/** `P1Y6M` -> "1年6个月" / "1 year 6 months". */
export function formatDuration(d: string | DurationParts, lang: 'zh' | 'en'): string {
  const p = toParts(d);
  const parts: string[] = [];
  if (lang === 'zh') {
    if (p.years) parts.push(`${p.years}年`);
    if (p.months) parts.push(`${p.months}个月`);
    if (p.weeks) parts.push(`${p.weeks}周`);
    if (p.days) parts.push(`${p.days}天`);
    return parts.length > 0 ? parts.join('') : '0天';
  }
  const unit = (n: number, one: string) => `${n} ${one}${n === 1 ? '' : 's'}`;
  if (p.years) parts.push(unit(p.years, 'year'));
  if (p.months) parts.push(unit(p.months, 'month'));
  if (p.weeks) parts.push(unit(p.weeks, 'week'));
  if (p.days) parts.push(unit(p.days, 'day'));
  return parts.length > 0 ? parts.join(' ') : '0 days';
}
