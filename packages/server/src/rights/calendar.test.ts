import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  type CalendarErrorCode,
  chinaCalendar,
  createHolidayCalendar,
  type HolidayCalendarData,
  isCalendarError,
  loadHolidayCalendarFile,
  parseHolidayCalendar,
} from './calendar.js';
import { CN_HOLIDAYS } from './calendar-cn.js';

/** An instant given as Shanghai wall-clock time. */
const cst = (s: string) => Date.parse(`${s}+08:00`);
/** 24:00 Shanghai of a date: when a period whose last day it is ends. */
const endOf = (date: string) => cst(`${date}T00:00:00`) + 86_400_000;

const cal = chinaCalendar();

function fails(fn: () => unknown, code: CalendarErrorCode, pattern: RegExp): void {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(isCalendarError(caught, code), String(caught)).toBe(true);
  expect((caught as Error).message).toMatch(pattern);
}

describe('the built-in holiday data', () => {
  it('covers 2025 and 2026 and names its sources', () => {
    expect(cal.coveredYears).toEqual([2025, 2026]);
    expect(cal.source(2025)).toMatchObject({
      title: '国务院办公厅关于2025年部分节假日安排的通知',
      docNumber: '国办发明电〔2024〕12号',
      published: '2024-11-12',
    });
    expect(cal.source(2026)).toMatchObject({ title: '国务院办公厅关于2026年部分节假日安排的通知', published: '2025-11-04' });
    expect(cal.source(2027)).toBeUndefined();
  });

  it('gives each year 248 working days: 261 weekdays minus the 13 statutory holidays, 调休 balanced', () => {
    expect(cal.workingDaysBetween('2024-12-31', '2025-12-31')).toBe(248);
    expect(cal.workingDaysBetween('2025-12-31', '2026-12-31')).toBe(248);
    for (const y of CN_HOLIDAYS.years) {
      const rest = y.holidays.reduce((n, h) => n + (Date.parse(h.to) - Date.parse(h.from)) / 86_400_000 + 1, 0);
      expect(rest, String(y.year)).toBe(y.year === 2025 ? 28 : 33);
    }
  });

  it('knows weekends, holidays and adjusted working weekends', () => {
    expect(cal.day('2025-03-08')).toMatchObject({ kind: 'weekend', working: false, weekday: 6, name: null, covered: true });
    expect(cal.day('2025-03-10')).toMatchObject({ kind: 'workday', working: true, weekday: 1 });
    expect(cal.day('2025-01-29')).toMatchObject({ kind: 'holiday', working: false, name: '春节' });
    expect(cal.day('2025-02-08')).toMatchObject({ kind: 'adjusted-workday', working: true, weekday: 6, name: '春节' });
    expect(cal.day('2025-01-26')).toMatchObject({ kind: 'adjusted-workday', working: true, weekday: 0 });
    // A holiday on a weekday, and a weekend inside a holiday block.
    expect(cal.isWorkingDay('2025-10-08')).toBe(false);
    expect(cal.isWorkingDay('2025-10-04')).toBe(false);
    expect(cal.isWorkingDay('2025-10-11')).toBe(true);
    expect(cal.isWorkingDay('2026-01-04')).toBe(true);
    expect(cal.isWorkingDay('2026-02-15')).toBe(false);
    expect(cal.isWorkingDay('2026-02-28')).toBe(true);
    expect(cal.isWorkingDay('2026-09-20')).toBe(true);
  });
});

describe('deadlines', () => {
  it('counts working days over a weekend, from the day after receipt, to 24:00 Shanghai', () => {
    // Friday 2025-03-07, 15:00.
    const d = cal.deadline(cst('2025-03-07T15:00:00'), { value: 1, unit: 'working-days' });
    expect(d).toMatchObject({
      startDate: '2025-03-07',
      lastDay: '2025-03-10',
      dueAt: endOf('2025-03-10'),
      extendedFrom: null,
      warnings: [],
    });
    expect(new Date(d.dueAt).toISOString()).toBe('2025-03-10T16:00:00.000Z');
    expect(cal.deadline(cst('2025-03-07T15:00:00'), { value: 5, unit: 'working-days' }).lastDay).toBe('2025-03-14');
    // Received on a Saturday: Monday is the first working day.
    expect(cal.deadline(cst('2025-03-08T09:00:00'), { value: 1, unit: 'working-days' }).lastDay).toBe('2025-03-10');
  });

  it('skips the Spring Festival and counts its working Saturday and Sunday', () => {
    // Monday 2025-01-27, the day before the holiday: the next working day is Wednesday 5 February.
    expect(cal.deadline(cst('2025-01-27T10:00:00'), { value: 1, unit: 'working-days' }).lastDay).toBe('2025-02-05');
    // Friday 2025-01-24: Sunday 26 January is a working day (调休).
    expect(cal.deadline(cst('2025-01-24T10:00:00'), { value: 1, unit: 'working-days' }).lastDay).toBe('2025-01-26');
    // Friday 2025-02-07: Saturday 8 February is a working day.
    expect(cal.deadline(cst('2025-02-07T18:00:00'), { value: 1, unit: 'working-days' }).lastDay).toBe('2025-02-08');
    // 2026: 14 February (Saturday) is worked, 15–23 February rest.
    expect(cal.deadline(cst('2026-02-13T12:00:00'), { value: 2, unit: 'working-days' }).lastDay).toBe('2026-02-24');
  });

  it('counts 15 working days across the National Day week and its two working weekends', () => {
    // From Monday 2025-09-22: 23–26 Sep (4), Sun 28 Sep (5), 29–30 Sep (7), 9–10 Oct (9), Sat 11 Oct (10), 13–17 Oct (15).
    const d = cal.deadline(cst('2025-09-22T09:30:00'), { value: 15, unit: 'working-days' });
    expect(d.lastDay).toBe('2025-10-17');
    expect(d.dueAt).toBe(endOf('2025-10-17'));
  });

  it('moves a calendar-day period that ends on a rest day to the next working day (民法典 203), unless told not to', () => {
    // 15 days from Saturday 2025-09-20 end on Sunday 5 October, inside the holiday: moved to Thursday 9 October.
    const d = cal.deadline(cst('2025-09-20T11:00:00'), { value: 15, unit: 'days' });
    expect(d).toMatchObject({ lastDay: '2025-10-09', extendedFrom: '2025-10-05', dueAt: endOf('2025-10-09') });
    // Ending on an adjusted working Saturday: not moved.
    expect(cal.deadline(cst('2025-09-26T11:00:00'), { value: 15, unit: 'days' })).toMatchObject({
      lastDay: '2025-10-11',
      extendedFrom: null,
    });
    // Ending on a weekday: 30 days from 2025-03-03 is Wednesday 2 April.
    expect(cal.deadline(cst('2025-03-03T08:00:00'), { value: 30, unit: 'days' })).toMatchObject({
      lastDay: '2025-04-02',
      extendedFrom: null,
    });
    const strict = createHolidayCalendar({ extendLastRestDay: false });
    expect(strict.deadline(cst('2025-09-20T11:00:00'), { value: 15, unit: 'days' })).toMatchObject({
      lastDay: '2025-10-05',
      extendedFrom: null,
    });
  });

  it('crosses the year boundary in Shanghai time, into 2026 New Year and its working Sunday', () => {
    // Wednesday 2025-12-31: 1–3 January 2026 rest, Sunday 4 January is a working day.
    expect(cal.deadline(cst('2025-12-31T10:00:00'), { value: 1, unit: 'working-days' }).lastDay).toBe('2026-01-04');
    // 2025-12-31T16:30Z is already 1 January 2026 00:30 in China: that day is the one not counted.
    const late = cal.deadline(Date.parse('2025-12-31T16:30:00Z'), { value: 1, unit: 'working-days' });
    expect(late).toMatchObject({ startDate: '2026-01-01', lastDay: '2026-01-04' });
    expect(cal.dateOf(Date.parse('2025-12-31T15:59:59Z'))).toBe('2025-12-31');
    // 15 calendar days from 2025-12-20 end on Sunday 4 January, a working day: not moved.
    expect(cal.deadline(cst('2025-12-20T10:00:00'), { value: 15, unit: 'days' })).toMatchObject({
      lastDay: '2026-01-04',
      extendedFrom: null,
    });
    // Received in 2024 (no data): the days counted are in 2025, so no warning.
    expect(cal.deadline(cst('2024-12-31T10:00:00'), { value: 1, unit: 'working-days' })).toMatchObject({
      lastDay: '2025-01-02',
      warnings: [],
    });
  });

  it('counts hours exactly', () => {
    const start = cst('2025-05-01T10:15:00');
    const d = cal.deadline(start, { value: 48, unit: 'hours' });
    expect(d).toMatchObject({ dueAt: start + 48 * 3_600_000, lastDay: '2025-05-03', extendedFrom: null });
    expect(cal.dueAt(start, { value: 48, unit: 'hours' })).toBe(d.dueAt);
  });

  it('counts a year without data as Monday to Friday and says so, or refuses', () => {
    const d = cal.deadline(cst('2026-12-30T10:00:00'), { value: 3, unit: 'working-days' });
    // 31 Dec (Thu) 2026, then 1 Jan 2027 (Fri), 4 Jan 2027 (Mon): no 2027 holidays known.
    expect(d.lastDay).toBe('2027-01-04');
    expect(d.warnings).toEqual(['the holiday data does not cover 2027: Monday to Friday were counted as working days']);
    const strict = createHolidayCalendar({ uncoveredYears: 'error' });
    fails(
      () => strict.deadline(cst('2026-12-30T10:00:00'), { value: 3, unit: 'working-days' }),
      'uncovered_year',
      /does not cover 2027 \(2027-01-01\)/,
    );
    expect(strict.deadline(cst('2026-12-21T10:00:00'), { value: 3, unit: 'working-days' }).lastDay).toBe('2026-12-24');
  });

  it('refuses bad periods and instants, naming them', () => {
    fails(
      () => cal.deadline(cst('2025-03-03T08:00:00'), { value: 0, unit: 'days' }),
      'invalid_argument',
      /^period\.value: must be an integer from 1 to 3650/,
    );
    fails(() => cal.deadline(cst('2025-03-03T08:00:00'), { value: 1.5, unit: 'working-days' }), 'invalid_argument', /^period\.value/);
    fails(() => cal.deadline(cst('2025-03-03T08:00:00'), { value: -3, unit: 'hours' }), 'invalid_argument', /^period\.value/);
    fails(() => cal.deadline(cst('2025-03-03T08:00:00'), { value: 2501, unit: 'working-days' }), 'invalid_argument', /from 1 to 2500/);
    fails(
      () => cal.deadline(cst('2025-03-03T08:00:00'), { value: 3, unit: 'weeks' as never }),
      'invalid_argument',
      /^period\.unit: must be one of days, working-days, hours/,
    );
    fails(() => cal.deadline(Number.NaN, { value: 3, unit: 'days' }), 'invalid_argument', /^start: must be a finite number/);
    fails(() => cal.day('2025-02-30'), 'invalid_argument', /^date: must be a real date/);
    fails(() => cal.isWorkingDay('20250301'), 'invalid_argument', /^date/);
    fails(() => cal.addWorkingDays('2025-03-01', -1), 'invalid_argument', /^n: must be an integer/);
    fails(() => cal.workingDaysBetween('2025-03-10', '2025-03-01'), 'invalid_argument', /^through: 2025-03-01 is before 2025-03-10/);
    fails(
      () => cal.status(cal.deadline(cst('2025-03-03T08:00:00'), { value: 1, unit: 'days' }), Number.POSITIVE_INFINITY),
      'invalid_argument',
      /^now/,
    );
    expect(cal.addWorkingDays('2025-01-27', 0)).toBe('2025-01-27');
    expect(cal.addWorkingDays('2025-01-27', 2)).toBe('2025-02-06');
  });
});

describe('reminders and the overdue check', () => {
  // 15 working days from Monday 2025-09-22: last day Friday 17 October.
  const d = cal.deadline(cst('2025-09-22T09:30:00'), { value: 15, unit: 'working-days' });

  it('reminds half-way and on the morning of the last working day', () => {
    const r = cal.reminders(d);
    expect(r.map((x) => x.label)).toEqual(['50% of the time used', '1 working day left']);
    expect(r[0]?.at).toBe(d.start + Math.floor((d.dueAt - d.start) / 2));
    expect(r[1]?.at).toBe(cst('2025-10-17T09:00:00'));
  });

  it('finds the k-th last working day past holidays and adjusted weekends', () => {
    const r = cal.reminders(d, [
      { kind: 'working-days-left', days: 5, hour: 10, label: 'five left' },
      { kind: 'working-days-left', days: 6 },
      { kind: 'working-days-left', days: 7 },
    ]);
    // Counting back from 17 Oct: 17,16,15,14,13 (5th), Sat 11 Oct (6th, 调休), Fri 10 Oct (7th).
    expect(r).toEqual([
      { at: cst('2025-10-10T09:00:00'), label: '7 working days left' },
      { at: cst('2025-10-11T09:00:00'), label: '6 working days left' },
      { at: cst('2025-10-13T10:00:00'), label: 'five left' },
    ]);
  });

  it('drops reminders that fall before the start or after the deadline, and duplicates', () => {
    const short = cal.deadline(cst('2025-03-07T15:00:00'), { value: 1, unit: 'working-days' });
    // Last working day Monday 10 March: a reminder 2 working days before would be Friday 7 March 09:00, before the start.
    expect(cal.reminders(short, [{ kind: 'working-days-left', days: 2 }])).toEqual([]);
    expect(cal.reminders(short, [{ kind: 'working-days-left', days: 30 }])).toEqual([]);
    expect(
      cal.reminders(short, [
        { kind: 'working-days-left', days: 1, hour: 0 },
        { kind: 'working-days-left', days: 1, hour: 0, label: 'again' },
      ]),
    ).toHaveLength(1);
    // Hours deadlines get fractions too.
    const hours = cal.deadline(cst('2025-03-07T15:00:00'), { value: 24, unit: 'hours' });
    expect(cal.reminders(hours, [{ kind: 'fraction', fraction: 0.75 }])).toEqual([
      { at: hours.start + 18 * 3_600_000, label: '75% of the time used' },
    ]);
  });

  it('refuses bad reminder specs', () => {
    fails(() => cal.reminders(d, [{ kind: 'fraction', fraction: 1 }]), 'invalid_argument', /^specs\[0\]\.fraction/);
    fails(() => cal.reminders(d, [{ kind: 'fraction', fraction: 0 }]), 'invalid_argument', /^specs\[0\]\.fraction/);
    fails(
      () =>
        cal.reminders(d, [
          { kind: 'fraction', fraction: 0.5 },
          { kind: 'working-days-left', days: 0 },
        ]),
      'invalid_argument',
      /^specs\[1\]\.days/,
    );
    fails(() => cal.reminders(d, [{ kind: 'working-days-left', days: 1, hour: 24 }]), 'invalid_argument', /^specs\[0\]\.hour/);
    fails(() => cal.reminders(d, [{ kind: 'weekly' } as never]), 'invalid_argument', /^specs\[0\]\.kind/);
  });

  it('says how much is left, when it is due soon, and when it is overdue', () => {
    const early = cal.status(d, cst('2025-09-30T12:00:00'));
    // 30 Sep, 9–11 Oct, 13–17 Oct.
    expect(early).toMatchObject({ overdue: false, dueSoon: false, workingDaysLeft: 9 });
    // During the holiday: 9, 10, 11, 13–17 October.
    expect(cal.status(d, cst('2025-10-05T12:00:00'))).toMatchObject({ workingDaysLeft: 8, dueSoon: false });
    expect(cal.status(d, cst('2025-10-16T08:00:00'))).toMatchObject({ workingDaysLeft: 2, dueSoon: false });
    expect(cal.status(d, cst('2025-10-16T08:00:00'), { dueSoonWorkingDays: 2 }).dueSoon).toBe(true);
    expect(cal.status(d, cst('2025-10-17T23:59:59'))).toMatchObject({
      overdue: false,
      dueSoon: true,
      workingDaysLeft: 1,
      remainingMs: 1000,
    });
    expect(cal.isOverdue(d, cst('2025-10-17T23:59:59'))).toBe(false);
    expect(cal.isOverdue(d, d.dueAt)).toBe(true);
    expect(cal.status(d, cst('2025-10-20T10:00:00'))).toMatchObject({
      overdue: true,
      dueSoon: false,
      workingDaysLeft: 0,
      remainingMs: d.dueAt - cst('2025-10-20T10:00:00'),
    });
    fails(() => cal.status(d, d.start, { dueSoonWorkingDays: -1 }), 'invalid_argument', /^dueSoonWorkingDays/);
  });
});

describe('operator holiday data', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pipa-calendar-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const year2027: HolidayCalendarData = {
    region: 'CN-operator',
    timeZone: 'Asia/Shanghai',
    years: [
      {
        year: 2027,
        source: { title: 'operator test data, not a real notice', issuer: 'test', published: '2026-11-01' },
        holidays: [{ name: '元旦', from: '2027-01-01', to: '2027-01-03' }],
        workdays: [{ date: '2027-01-09', name: '元旦' }],
      },
    ],
  };

  it('adds years and replaces years of the built-in data', () => {
    const c = createHolidayCalendar({ data: [CN_HOLIDAYS, year2027], uncoveredYears: 'error' });
    expect(c.coveredYears).toEqual([2025, 2026, 2027]);
    expect(c.isWorkingDay('2027-01-01')).toBe(false);
    expect(c.isWorkingDay('2027-01-09')).toBe(true);
    expect(c.deadline(cst('2026-12-31T10:00:00'), { value: 1, unit: 'working-days' })).toMatchObject({
      lastDay: '2027-01-04',
      warnings: [],
    });

    // An operator's 2026 (an amended notice, say) replaces the whole built-in year.
    const replaced: HolidayCalendarData = {
      region: 'CN-operator',
      timeZone: 'Asia/Shanghai',
      years: [{ year: 2026, source: { title: 'amended', issuer: 'operator', published: '2026-01-10' }, holidays: [], workdays: [] }],
    };
    const r = createHolidayCalendar({ data: [CN_HOLIDAYS, replaced] });
    expect(r.isWorkingDay('2026-02-16')).toBe(true);
    expect(r.isWorkingDay('2026-02-14')).toBe(false);
    expect(r.isWorkingDay('2025-01-29')).toBe(false);
    expect(r.source(2026)?.title).toBe('amended');
  });

  it('loads a JSON file and names the file and the JSON path of what is wrong', () => {
    const good = join(dir, 'holidays.json');
    writeFileSync(good, JSON.stringify(year2027));
    expect(loadHolidayCalendarFile(good).years[0]?.year).toBe(2027);

    const write = (name: string, value: unknown) => {
      const file = join(dir, name);
      writeFileSync(file, typeof value === 'string' ? value : JSON.stringify(value));
      return file;
    };
    fails(() => loadHolidayCalendarFile(join(dir, 'missing.json')), 'invalid_calendar', /missing\.json: cannot read/);
    fails(() => loadHolidayCalendarFile(write('broken.json', '{"region": ')), 'invalid_calendar', /broken\.json: not JSON/);
    const bad = (patch: (y: HolidayCalendarData['years'][number]) => void, pattern: RegExp) => {
      const copy = structuredClone(year2027);
      const y = copy.years[0];
      if (y !== undefined) patch(y);
      fails(() => loadHolidayCalendarFile(write('bad.json', copy)), 'invalid_calendar', pattern);
    };
    bad((y) => {
      y.workdays = [{ date: '2027-01-11', name: '元旦' }];
    }, /bad\.json: \$\.years\[0\]\.workdays\[0\]\.date: 2027-01-11 is a Monday; adjusted working days \(调休上班\) are Saturdays or Sundays/);
    bad((y) => {
      y.holidays = [{ name: '元旦', from: '2027-02-30', to: '2027-03-01' }];
    }, /\$\.years\[0\]\.holidays\[0\]\.from: must be a real date/);
    bad((y) => {
      y.holidays = [{ name: '元旦', from: '2027-01-03', to: '2027-01-01' }];
    }, /\$\.years\[0\]\.holidays\[0\]\.to: 2027-01-01 is before from/);
    bad((y) => {
      y.holidays = [{ name: '春节', from: '2027-02-01', to: '2027-03-15' }];
    }, /rest period of 43 days is longer than 31/);
    bad((y) => {
      y.holidays = [{ name: '元旦', from: '2029-01-01', to: '2029-01-02' }];
    }, /2029-01-01\.\.2029-01-02 is not near the year 2027/);
    bad((y) => {
      y.holidays = [
        { name: 'A', from: '2027-01-01', to: '2027-01-03' },
        { name: 'B', from: '2027-01-03', to: '2027-01-04' },
      ];
    }, /\$\.years\[0\]\.holidays\[1\]: 2027-01-03 is already in the rest period A/);
    bad((y) => {
      y.workdays = [{ date: '2027-01-02', name: '元旦' }];
    }, /2027-01-02 is also a holiday/);
    bad((y) => {
      y.workdays = [
        { date: '2027-01-09', name: '元旦' },
        { date: '2027-01-09', name: '元旦' },
      ];
    }, /workdays\[1\]\.date: 2027-01-09 is listed twice/);
    bad((y) => {
      y.source.url = 'ftp://example.com/notice';
    }, /\$\.years\[0\]\.source\.url/);
    bad((y) => {
      (y as unknown as Record<string, unknown>).extra = true;
    }, /\$\.years\[0\]/);
    bad((y) => {
      y.year = 1900;
    }, /\$\.years\[0\]\.year/);
    fails(
      () => parseHolidayCalendar({ ...year2027, years: [...year2027.years, ...year2027.years] }, 'ops'),
      'invalid_calendar',
      /^ops: \$\.years\[1\]\.year: 2027 is already given at \$\.years\[0\]/,
    );
    fails(() => parseHolidayCalendar({ ...year2027, timeZone: 'UTC' }), 'invalid_calendar', /\$\.timeZone/);
    fails(() => parseHolidayCalendar(null), 'invalid_calendar', /^holiday calendar: \$: /);
  });

  it('refuses two data sets that disagree about a day', () => {
    // An operator's 2027 data reaching back into 2026 (as the 2024 New Year notice reached into 2023).
    const reaching: HolidayCalendarData = {
      region: 'CN-operator',
      timeZone: 'Asia/Shanghai',
      years: [
        {
          year: 2027,
          source: { title: 'test', issuer: 'test', published: '2026-11-01' },
          holidays: [{ name: 'X', from: '2026-12-27', to: '2026-12-27' }],
          workdays: [],
        },
      ],
    };
    // Sunday 27 December 2026 is a rest day either way: no conflict.
    expect(createHolidayCalendar({ data: [CN_HOLIDAYS, reaching] }).day('2026-12-27')).toMatchObject({ kind: 'holiday', name: 'X' });
    // A 2026 that makes that Sunday a working day contradicts it.
    const withWork = structuredClone(CN_HOLIDAYS);
    withWork.years[1]?.workdays.push({ date: '2026-12-27', name: '测试' });
    fails(
      () => createHolidayCalendar({ data: [withWork, reaching] }),
      'invalid_calendar',
      /2026-12-27 is a holiday in 2027's data but an adjusted working day in 2026's/,
    );
    fails(() => createHolidayCalendar({ uncoveredYears: 'sometimes' as never }), 'invalid_argument', /^uncoveredYears/);
  });
});
