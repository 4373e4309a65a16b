/**
 * Deadlines for rights requests, in China's calendar: N calendar days, N working days or N hours
 * from the instant a request was received, reminders before the deadline, and the overdue check.
 *
 * Time zone: Asia/Shanghai (UTC+8, no daylight saving since 1991), whatever the server's zone: a
 * request received at 2025-12-31T16:30Z was received on 1 January 2026 in China.
 *
 * Counting (《民法典》第二百零一条至第二百零三条):
 * - The day of receipt is not counted; counting starts the next day.
 * - A period ends at 24:00 (Shanghai) of its last day: `dueAt` is that instant, and a request is
 *   overdue from `dueAt` on.
 * - Calendar days: if the last day is a rest day (weekend or public holiday), the period ends on the
 *   next working day (第二百零三条; `extendLastRestDay: false` turns that off).
 * - Working days: Monday to Friday, minus the public holidays, plus the weekend days the State Council
 *   makes working days (调休上班). The day of receipt never counts, even if it is a working day.
 * - Hours: exactly N hours after receipt.
 *
 * Holidays are data (calendar-cn.ts, from the State Council's yearly notices). Operators add years or
 * replace them with a JSON file of the same shape (`loadHolidayCalendarFile`). A year no data covers
 * counts Monday to Friday as working days and says so in `warnings`, or fails (`uncoveredYears: 'error'`).
 *
 * `HolidayCalendar.dueAt` matches the `DeadlineCalendar` port of rights/deadline.ts.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { CN_HOLIDAYS } from './calendar-cn.js';

export const SHANGHAI_OFFSET_MS = 8 * 3_600_000;
const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;

export const CALENDAR_ERROR_CODES = [
  /** Holiday data that is not valid (bad date, an adjusted working day on a weekday, overlapping years…). */
  'invalid_calendar',
  /** A computation needed a year the holiday data does not cover, with `uncoveredYears: 'error'`. */
  'uncovered_year',
  /** A caller passed an argument outside the documented range. */
  'invalid_argument',
] as const;
export type CalendarErrorCode = (typeof CALENDAR_ERROR_CODES)[number];

export class CalendarError extends Error {
  readonly code: CalendarErrorCode;
  readonly messageZh: string;
  /** The JSON path (`$.years[0].workdays[1].date`) or argument the error is about. */
  readonly path: string | undefined;
  constructor(code: CalendarErrorCode, message: string, messageZh: string, path?: string) {
    super(message);
    this.name = 'CalendarError';
    this.code = code;
    this.messageZh = messageZh;
    this.path = path;
  }
}

export function isCalendarError(err: unknown, code?: CalendarErrorCode): err is CalendarError {
  return err instanceof CalendarError && (code === undefined || err.code === code);
}

// ---------------------------------------------------------------------------------------------
// The data

export interface HolidaySource {
  /** The notice's title (国务院办公厅关于2025年部分节假日安排的通知). */
  title: string;
  issuer: string;
  /** `YYYY-MM-DD` */
  published: string;
  docNumber?: string | undefined;
  url?: string | undefined;
  note?: string | undefined;
}

/** A rest period as the notice gives it, weekends inside it included. */
export interface HolidayPeriod {
  name: string;
  nameEn?: string | undefined;
  /** `YYYY-MM-DD`, inclusive. */
  from: string;
  /** `YYYY-MM-DD`, inclusive. */
  to: string;
}

/** A weekend day that is a working day (调休上班). */
export interface AdjustedWorkday {
  date: string;
  /** The holiday it makes up for. */
  name: string;
}

export interface HolidayYearData {
  year: number;
  source: HolidaySource;
  holidays: HolidayPeriod[];
  workdays: AdjustedWorkday[];
}

export interface HolidayCalendarData {
  /** `CN` for the national calendar; operators may name their own (`CN-operator`). */
  region: string;
  timeZone: 'Asia/Shanghai';
  years: HolidayYearData[];
}

const YMD = /^(\d{4})-(\d{2})-(\d{2})$/;

/** Day number (days since 1970-01-01) of a `YYYY-MM-DD` date, or undefined when it is not a real date. */
function dayOfYmd(date: string): number | undefined {
  const m = YMD.exec(date);
  if (m === null) return undefined;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const ms = Date.UTC(y, mo - 1, d);
  const back = new Date(ms);
  if (back.getUTCFullYear() !== y || back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d) return undefined;
  return ms / DAY_MS;
}

function ymdOfDay(day: number): string {
  return new Date(day * DAY_MS).toISOString().slice(0, 10);
}

/** 0 = Sunday … 6 = Saturday. 1970-01-01 was a Thursday. */
function weekdayOfDay(day: number): number {
  return (((day + 4) % 7) + 7) % 7;
}

function yearOfDay(day: number): number {
  return new Date(day * DAY_MS).getUTCFullYear();
}

/** The Shanghai calendar day an instant falls on. */
function shanghaiDay(instant: number): number {
  return Math.floor((instant + SHANGHAI_OFFSET_MS) / DAY_MS);
}

/** The instant a Shanghai calendar day starts (00:00 +08:00). */
function startOfDay(day: number): number {
  return day * DAY_MS - SHANGHAI_OFFSET_MS;
}

const Ymd = z.string().refine((s) => dayOfYmd(s) !== undefined, { message: 'must be a real date written YYYY-MM-DD' });
const Text = (max: number) => z.string().trim().min(1).max(max);

const HolidayCalendarSchema = z.strictObject({
  region: Text(40),
  timeZone: z.literal('Asia/Shanghai'),
  years: z
    .array(
      z.strictObject({
        year: z.number().int().min(1992).max(2200),
        source: z.strictObject({
          title: Text(200),
          issuer: Text(100),
          published: Ymd,
          docNumber: Text(100).optional(),
          url: z.url({ protocol: /^https?$/ }).optional(),
          note: Text(500).optional(),
        }),
        holidays: z.array(z.strictObject({ name: Text(40), nameEn: Text(80).optional(), from: Ymd, to: Ymd })).max(40),
        workdays: z.array(z.strictObject({ date: Ymd, name: Text(40) })).max(40),
      }),
    )
    .max(300),
});

function jsonPath(path: readonly PropertyKey[]): string {
  return `$${path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('')}`;
}

function invalid(where: string, path: string, message: string, messageZh: string): CalendarError {
  return new CalendarError('invalid_calendar', `${where}: ${path}: ${message}`, `${where}：${path}：${messageZh}`, path);
}

const WEEKDAY_EN = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const WEEKDAY_ZH = ['周日', '周一', '周二', '周三', '周四', '周五', '周六'];
/** Longest rest period a notice has given (the Spring Festival: 9 days); anything much longer is a typo. */
const MAX_PERIOD_DAYS = 31;

/**
 * Validate holiday data (an operator's JSON, or the built-in data). `where` names the source in
 * errors (a file path). Checks beyond the shape: real dates, `from <= to`, periods of at most 31 days
 * near their year, adjusted working days on weekends only, no day both a holiday and a working day,
 * each year once.
 */
export function parseHolidayCalendar(input: unknown, where = 'holiday calendar'): HolidayCalendarData {
  const parsed = HolidayCalendarSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = jsonPath(issue?.path ?? []);
    const message = issue?.message ?? 'is not valid';
    throw invalid(where, path, message, `不符合要求（${message}）`);
  }
  const data = parsed.data as HolidayCalendarData;
  const seenYears = new Map<number, number>();
  data.years.forEach((y, yi) => {
    const base = `$.years[${yi}]`;
    const previous = seenYears.get(y.year);
    if (previous !== undefined) {
      throw invalid(
        where,
        `${base}.year`,
        `${y.year} is already given at $.years[${previous}]`,
        `${y.year} 年已在 $.years[${previous}] 给出`,
      );
    }
    seenYears.set(y.year, yi);
    // A notice may reach into the neighbouring years (元旦 2024: 2023-12-30 to 2024-01-01).
    const low = dayOfYmd(`${y.year - 1}-12-01`) as number;
    const high = dayOfYmd(`${y.year + 1}-01-31`) as number;
    const rest = new Map<number, string>();
    y.holidays.forEach((h, hi) => {
      const from = dayOfYmd(h.from) as number;
      const to = dayOfYmd(h.to) as number;
      const p = `${base}.holidays[${hi}]`;
      if (to < from) throw invalid(where, `${p}.to`, `${h.to} is before from (${h.from})`, `${h.to} 早于 from（${h.from}）`);
      if (to - from + 1 > MAX_PERIOD_DAYS) {
        throw invalid(
          where,
          `${p}.to`,
          `a rest period of ${to - from + 1} days is longer than ${MAX_PERIOD_DAYS}`,
          `放假 ${to - from + 1} 天，超过 ${MAX_PERIOD_DAYS} 天`,
        );
      }
      if (from < low || to > high) {
        throw invalid(where, `${p}.from`, `${h.from}..${h.to} is not near the year ${y.year}`, `${h.from}..${h.to} 不在 ${y.year} 年附近`);
      }
      for (let d = from; d <= to; d++) {
        const other = rest.get(d);
        if (other !== undefined)
          throw invalid(where, p, `${ymdOfDay(d)} is already in the rest period ${other}`, `${ymdOfDay(d)} 已属于放假安排「${other}」`);
        rest.set(d, h.name);
      }
    });
    const seenWork = new Set<number>();
    y.workdays.forEach((w, wi) => {
      const d = dayOfYmd(w.date) as number;
      const p = `${base}.workdays[${wi}].date`;
      const wd = weekdayOfDay(d);
      if (wd !== 0 && wd !== 6) {
        throw invalid(
          where,
          p,
          `${w.date} is a ${WEEKDAY_EN[wd]}; adjusted working days (调休上班) are Saturdays or Sundays`,
          `${w.date} 是${WEEKDAY_ZH[wd]}；调休上班日只能是周六或周日`,
        );
      }
      if (d < low || d > high) throw invalid(where, p, `${w.date} is not near the year ${y.year}`, `${w.date} 不在 ${y.year} 年附近`);
      if (rest.has(d)) throw invalid(where, p, `${w.date} is also a holiday (${rest.get(d)})`, `${w.date} 同时是放假日（${rest.get(d)}）`);
      if (seenWork.has(d)) throw invalid(where, p, `${w.date} is listed twice`, `${w.date} 重复出现`);
      seenWork.add(d);
    });
  });
  return data;
}

/** Read and validate an operator's holiday file (JSON, the shape of `CN_HOLIDAYS`). Errors name the file and the JSON path. */
export function loadHolidayCalendarFile(file: string): HolidayCalendarData {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new CalendarError(
      'invalid_calendar',
      `${file}: cannot read the holiday calendar: ${(err as Error).message}`,
      `${file}：无法读取节假日日历：${(err as Error).message}`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new CalendarError(
      'invalid_calendar',
      `${file}: not JSON: ${(err as Error).message}`,
      `${file}：不是 JSON：${(err as Error).message}`,
    );
  }
  return parseHolidayCalendar(json, file);
}

// ---------------------------------------------------------------------------------------------
// The calendar

export const DEADLINE_UNITS = ['days', 'working-days', 'hours'] as const;
export type DeadlineUnit = (typeof DEADLINE_UNITS)[number];

export interface DeadlinePeriod {
  /** A positive integer: at most 3650 days, 2500 working days or 87 600 hours. */
  value: number;
  unit: DeadlineUnit;
}

export type DayKind = 'workday' | 'weekend' | 'holiday' | 'adjusted-workday';

export interface DayInfo {
  /** `YYYY-MM-DD` */
  date: string;
  /** 0 = Sunday … 6 = Saturday. */
  weekday: number;
  kind: DayKind;
  working: boolean;
  /** The holiday (or the holiday an adjusted working day makes up for). */
  name: string | null;
  /** False when no holiday data covers the day's year (only weekends are known then). */
  covered: boolean;
}

export interface ComputedDeadline {
  /** The instant the request was received (ms). */
  start: number;
  /** Its Shanghai date: the day that is not counted. */
  startDate: string;
  value: number;
  unit: DeadlineUnit;
  /** The last day of the period (Shanghai `YYYY-MM-DD`); for hours, the day `dueAt` falls in. */
  lastDay: string;
  /** The period ends at this instant (24:00 Shanghai of `lastDay`, or exactly N hours after `start`); overdue from then on. */
  dueAt: number;
  /** The last day before it was moved past rest days (calendar days), else null. */
  extendedFrom: string | null;
  /** Assumptions made: years the holiday data does not cover. */
  warnings: string[];
}

export type ReminderSpec =
  /** When this share of the period has passed (0.5: half-way). */
  | { kind: 'fraction'; fraction: number; label?: string }
  /** At `hour`:00 Shanghai (default 9) on the day when `days` working days are left, the last working day being 1. */
  | { kind: 'working-days-left'; days: number; hour?: number; label?: string };

export interface Reminder {
  at: number;
  label: string;
}

/** Half-way, and the morning of the last working day. */
export const DEFAULT_REMINDERS: readonly ReminderSpec[] = Object.freeze([
  { kind: 'fraction', fraction: 0.5 },
  { kind: 'working-days-left', days: 1 },
]);

export interface DeadlineStatus {
  overdue: boolean;
  /** Not overdue, and at most `dueSoonWorkingDays` working days are left. */
  dueSoon: boolean;
  /** ms until `dueAt` (negative when overdue). */
  remainingMs: number;
  /** Working days from today (included when it is one) to the last day; 0 when overdue. */
  workingDaysLeft: number;
}

export interface HolidayCalendarOptions {
  /** Holiday data; a year in a later entry replaces the same year in earlier ones. Default `[CN_HOLIDAYS]`. */
  data?: readonly HolidayCalendarData[];
  /** A day in a year no data covers: count Monday to Friday as working days and warn (default), or fail. */
  uncoveredYears?: 'weekends' | 'error';
  /** 《民法典》第二百零三条: a period of calendar days whose last day is a rest day ends on the next working day. Default true. */
  extendLastRestDay?: boolean;
}

export interface HolidayCalendar {
  /** Years the holiday data covers, ascending. */
  readonly coveredYears: readonly number[];
  /** Where each covered year's data comes from. */
  source(year: number): HolidaySource | undefined;
  day(date: string): DayInfo;
  isWorkingDay(date: string): boolean;
  /** The Shanghai date of an instant. */
  dateOf(instant: number): string;
  /** The `n`-th working day after `date` (`date` itself not counted). */
  addWorkingDays(date: string, n: number): string;
  /** Working days in `(after, through]`. */
  workingDaysBetween(after: string, through: string): number;
  deadline(start: number, period: DeadlinePeriod): ComputedDeadline;
  /** `deadline(start, period).dueAt` (the `DeadlineCalendar` port of rights/deadline.ts). */
  dueAt(start: number, period: DeadlinePeriod): number;
  /** Reminder instants strictly between the start and the deadline, in order. */
  reminders(deadline: ComputedDeadline, specs?: readonly ReminderSpec[]): Reminder[];
  status(deadline: ComputedDeadline, now: number, options?: { dueSoonWorkingDays?: number }): DeadlineStatus;
  isOverdue(deadline: ComputedDeadline, now: number): boolean;
}

const KIND_EN = { holiday: 'a holiday', 'adjusted-workday': 'an adjusted working day' } as const;
const KIND_ZH = { holiday: '放假日', 'adjusted-workday': '调休上班日' } as const;

const MAX_VALUE: Record<DeadlineUnit, number> = { days: 3650, 'working-days': 2500, hours: 87_600 };

function badArg(path: string, message: string, messageZh: string): CalendarError {
  return new CalendarError('invalid_argument', `${path}: ${message}`, `${path}：${messageZh}`, path);
}

function checkInstant(path: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value))
    throw badArg(path, 'must be a finite number of ms since the epoch', '必须是有限的毫秒时间戳');
  return value;
}

function checkDate(path: string, value: unknown): number {
  const day = typeof value === 'string' ? dayOfYmd(value) : undefined;
  if (day === undefined)
    throw badArg(
      path,
      `must be a real date written YYYY-MM-DD (got ${JSON.stringify(value)})`,
      `必须是 YYYY-MM-DD 格式的有效日期（实际为 ${JSON.stringify(value)}）`,
    );
  return day;
}

export function createHolidayCalendar(options: HolidayCalendarOptions = {}): HolidayCalendar {
  const sets = (options.data ?? [CN_HOLIDAYS]).map((d, i) => parseHolidayCalendar(d, `data[${i}]`));
  const uncovered = options.uncoveredYears ?? 'weekends';
  if (uncovered !== 'weekends' && uncovered !== 'error')
    throw badArg('uncoveredYears', "must be 'weekends' or 'error'", "必须是 'weekends' 或 'error'");
  const extend = options.extendLastRestDay ?? true;

  // Later data replaces whole years.
  const years = new Map<number, { data: HolidayYearData; set: number }>();
  sets.forEach((set, i) => {
    for (const y of set.years) years.set(y.year, { data: y, set: i });
  });
  const special = new Map<number, { kind: 'holiday' | 'adjusted-workday'; name: string; year: number }>();
  for (const { data: y, set } of [...years.values()].sort((a, b) => a.data.year - b.data.year)) {
    const put = (day: number, kind: 'holiday' | 'adjusted-workday', name: string) => {
      const other = special.get(day);
      if (other !== undefined && other.kind !== kind) {
        throw invalid(
          `data[${set}]`,
          `$.years (${y.year})`,
          `${ymdOfDay(day)} is ${KIND_EN[kind]} in ${y.year}'s data but ${KIND_EN[other.kind]} in ${other.year}'s`,
          `${ymdOfDay(day)} 在 ${y.year} 年数据中为${KIND_ZH[kind]}，在 ${other.year} 年数据中为${KIND_ZH[other.kind]}`,
        );
      }
      special.set(day, { kind, name, year: y.year });
    };
    for (const h of y.holidays) {
      const to = dayOfYmd(h.to) as number;
      for (let d = dayOfYmd(h.from) as number; d <= to; d++) put(d, 'holiday', h.name);
    }
    for (const w of y.workdays) put(dayOfYmd(w.date) as number, 'adjusted-workday', w.name);
  }
  const coveredYears = [...years.keys()].sort((a, b) => a - b);
  const covered = new Set(coveredYears);

  function info(day: number, warnings?: Set<number>): DayInfo {
    const weekday = weekdayOfDay(day);
    const s = special.get(day);
    const year = yearOfDay(day);
    const isCovered = covered.has(year);
    if (s === undefined && !isCovered) {
      if (uncovered === 'error') {
        throw new CalendarError(
          'uncovered_year',
          `the holiday data does not cover ${year} (${ymdOfDay(day)}); add the year's State Council notice`,
          `节假日数据不包含 ${year} 年（${ymdOfDay(day)}），请补充当年国务院办公厅通知`,
          'year',
        );
      }
      warnings?.add(year);
    }
    const weekend = weekday === 0 || weekday === 6;
    const kind: DayKind = s !== undefined ? s.kind : weekend ? 'weekend' : 'workday';
    return {
      date: ymdOfDay(day),
      weekday,
      kind,
      working: kind === 'workday' || kind === 'adjusted-workday',
      name: s?.name ?? null,
      covered: isCovered || s !== undefined,
    };
  }
  const working = (day: number, warnings?: Set<number>) => info(day, warnings).working;

  function nthWorkingDayAfter(day: number, n: number, warnings?: Set<number>): number {
    let d = day;
    let left = n;
    while (left > 0) {
      d++;
      if (working(d, warnings)) left--;
    }
    return d;
  }

  function countWorking(afterDay: number, throughDay: number, warnings?: Set<number>): number {
    let n = 0;
    for (let d = afterDay + 1; d <= throughDay; d++) if (working(d, warnings)) n++;
    return n;
  }

  function warningsOf(set: Set<number>): string[] {
    return [...set].sort((a, b) => a - b).map((y) => `the holiday data does not cover ${y}: Monday to Friday were counted as working days`);
  }

  function deadline(start: number, period: DeadlinePeriod): ComputedDeadline {
    checkInstant('start', start);
    if (typeof period !== 'object' || period === null || !(DEADLINE_UNITS as readonly string[]).includes(period.unit)) {
      throw badArg('period.unit', `must be one of ${DEADLINE_UNITS.join(', ')}`, `必须是 ${DEADLINE_UNITS.join('、')} 之一`);
    }
    const max = MAX_VALUE[period.unit];
    if (!Number.isInteger(period.value) || period.value < 1 || period.value > max) {
      throw badArg(
        'period.value',
        `must be an integer from 1 to ${max} for ${period.unit}`,
        `单位为 ${period.unit} 时必须是 1 到 ${max} 之间的整数`,
      );
    }
    const startDay = shanghaiDay(start);
    const warnings = new Set<number>();
    let lastDay: number;
    let dueAt: number;
    let extendedFrom: string | null = null;
    if (period.unit === 'hours') {
      dueAt = start + period.value * HOUR_MS;
      lastDay = shanghaiDay(dueAt - 1);
    } else if (period.unit === 'days') {
      lastDay = startDay + period.value;
      if (extend && !working(lastDay, warnings)) {
        extendedFrom = ymdOfDay(lastDay);
        lastDay = nthWorkingDayAfter(lastDay, 1, warnings);
      }
      dueAt = startOfDay(lastDay + 1);
    } else {
      lastDay = nthWorkingDayAfter(startDay, period.value, warnings);
      dueAt = startOfDay(lastDay + 1);
    }
    return {
      start,
      startDate: ymdOfDay(startDay),
      value: period.value,
      unit: period.unit,
      lastDay: ymdOfDay(lastDay),
      dueAt,
      extendedFrom,
      warnings: warningsOf(warnings),
    };
  }

  return {
    coveredYears,
    source(year) {
      return years.get(year)?.data.source;
    },
    day(date) {
      return info(checkDate('date', date));
    },
    isWorkingDay(date) {
      return info(checkDate('date', date)).working;
    },
    dateOf(instant) {
      return ymdOfDay(shanghaiDay(checkInstant('instant', instant)));
    },
    addWorkingDays(date, n) {
      const day = checkDate('date', date);
      if (!Number.isInteger(n) || n < 0 || n > MAX_VALUE['working-days']) {
        throw badArg(
          'n',
          `must be an integer from 0 to ${MAX_VALUE['working-days']}`,
          `必须是 0 到 ${MAX_VALUE['working-days']} 之间的整数`,
        );
      }
      return ymdOfDay(nthWorkingDayAfter(day, n));
    },
    workingDaysBetween(after, through) {
      const a = checkDate('after', after);
      const b = checkDate('through', through);
      if (b < a) throw badArg('through', `${through} is before ${after}`, `${through} 早于 ${after}`);
      if (b - a > 36_600) throw badArg('through', 'the range is longer than 100 years', '范围超过 100 年');
      return countWorking(a, b);
    },
    deadline,
    dueAt(start, period) {
      return deadline(start, period).dueAt;
    },
    reminders(d, specs = DEFAULT_REMINDERS) {
      const out: Reminder[] = [];
      specs.forEach((spec, i) => {
        if (spec.kind === 'fraction') {
          if (typeof spec.fraction !== 'number' || !(spec.fraction > 0 && spec.fraction < 1)) {
            throw badArg(`specs[${i}].fraction`, 'must be a number between 0 and 1 (exclusive)', '必须是 0 到 1 之间（不含）的数');
          }
          out.push({
            at: d.start + Math.floor((d.dueAt - d.start) * spec.fraction),
            label: spec.label ?? `${Math.round(spec.fraction * 100)}% of the time used`,
          });
        } else if (spec.kind === 'working-days-left') {
          if (!Number.isInteger(spec.days) || spec.days < 1 || spec.days > 366) {
            throw badArg(`specs[${i}].days`, 'must be an integer from 1 to 366', '必须是 1 到 366 之间的整数');
          }
          const hour = spec.hour ?? 9;
          if (!Number.isInteger(hour) || hour < 0 || hour > 23)
            throw badArg(`specs[${i}].hour`, 'must be an integer from 0 to 23', '必须是 0 到 23 之间的整数');
          // The k-th working day counting back from the last day (the last working day on or before it is the 1st).
          let day = checkDate('deadline.lastDay', d.lastDay);
          let left = spec.days;
          const stop = shanghaiDay(d.start);
          while (day > stop) {
            if (working(day) && --left === 0) break;
            day--;
          }
          if (left === 0) {
            out.push({
              at: startOfDay(day) + hour * HOUR_MS,
              label: spec.label ?? `${spec.days} working day${spec.days === 1 ? '' : 's'} left`,
            });
          }
        } else {
          throw badArg(`specs[${i}].kind`, "must be 'fraction' or 'working-days-left'", "必须是 'fraction' 或 'working-days-left'");
        }
      });
      const seen = new Set<number>();
      return out
        .filter((r) => r.at > d.start && r.at < d.dueAt)
        .sort((a, b) => a.at - b.at)
        .filter((r) => {
          if (seen.has(r.at)) return false;
          seen.add(r.at);
          return true;
        });
    },
    status(d, now, statusOptions = {}) {
      checkInstant('now', now);
      const threshold = statusOptions.dueSoonWorkingDays ?? 1;
      if (!Number.isInteger(threshold) || threshold < 0)
        throw badArg('dueSoonWorkingDays', 'must be an integer >= 0', '必须是不小于 0 的整数');
      const overdue = now >= d.dueAt;
      const today = shanghaiDay(now);
      const last = checkDate('deadline.lastDay', d.lastDay);
      const left = overdue ? 0 : today > last ? 0 : countWorking(today - 1, last);
      return { overdue, dueSoon: !overdue && left <= threshold, remainingMs: d.dueAt - now, workingDaysLeft: left };
    },
    isOverdue(d, now) {
      return checkInstant('now', now) >= d.dueAt;
    },
  };
}

/** The national calendar (CN_HOLIDAYS), built once. */
let defaultCalendar: HolidayCalendar | undefined;
export function chinaCalendar(): HolidayCalendar {
  defaultCalendar ??= createHolidayCalendar();
  return defaultCalendar;
}
