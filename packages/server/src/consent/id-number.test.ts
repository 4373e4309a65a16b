import { describe, expect, it } from 'vitest';
import { isPipaError } from '../errors.js';
import { ageInYears, ageOn, chinaYmd, isUnder, parseYmd, ymdFromDays } from './age.js';
import { ageFromIdNumber, birthDateFromIdNumber, idNumberCheckChar, parseIdNumber } from './id-number.js';

/** ms epoch of a wall-clock time in China (UTC+8). */
const cst = (y: number, m: number, d: number, h = 12) => Date.UTC(y, m - 1, d, h - 8);

describe('calendar', () => {
  it('ymdFromDays agrees with Date across four centuries', () => {
    for (let day = -150_000; day < 150_000; day += 37) {
      const dt = new Date(day * 86_400_000);
      expect(ymdFromDays(day)).toBe(dt.getUTCFullYear() * 10_000 + (dt.getUTCMonth() + 1) * 100 + dt.getUTCDate());
    }
  });

  it('takes the date in China, not in UTC', () => {
    // 2024-05-10 20:00 UTC is 2024-05-11 04:00 in Beijing.
    expect(chinaYmd(Date.UTC(2024, 4, 10, 20))).toBe(20240511);
    expect(chinaYmd(Date.UTC(2024, 4, 10, 15, 59))).toBe(20240510);
    expect(chinaYmd(Date.UTC(2024, 4, 10, 16, 0))).toBe(20240511);
  });

  it('reaches an age the day after the birthday; 29 February births on 1 March', () => {
    expect(ageInYears(20100510, 20240510)).toBe(13);
    expect(ageInYears(20100510, 20240511)).toBe(14);
    expect(isUnder(20100510, 14, 20240510)).toBe(true);
    expect(isUnder(20100510, 14, 20240511)).toBe(false);
    expect(ageInYears(20120229, 20260228)).toBe(13);
    expect(ageInYears(20120229, 20260301)).toBe(14);
    expect(ageOn('2010-05-10', cst(2030, 1, 1))).toBe(19);
  });

  it('parses only real dates', () => {
    expect(parseYmd('2024-02-29')).toBe(20240229);
    expect(parseYmd('2023-02-29')).toBe(0);
    expect(parseYmd('2023-13-01')).toBe(0);
    expect(parseYmd('2023-1-01')).toBe(0);
  });
});

describe('identity card numbers', () => {
  it('reads the birth date and sex of a valid number (the GB 11643 examples)', () => {
    expect(parseIdNumber('11010519491231002X')).toEqual({
      ok: true,
      normalised: '11010519491231002X',
      birthDate: '1949-12-31',
      sex: 'female',
    });
    expect(parseIdNumber('440524188001010014')).toMatchObject({ ok: true, birthDate: '1880-01-01', sex: 'male' });
    expect(idNumberCheckChar('11010519491231002')).toBe('X');
    // Lower-case x and spaces as people type them.
    expect(parseIdNumber('110105 19491231 002x')).toMatchObject({ ok: true, normalised: '11010519491231002X' });
  });

  it('refuses a wrong check character', () => {
    const r = parseIdNumber('110105194912310021');
    expect(r).toMatchObject({ ok: false, problem: 'check-digit' });
    if (!r.ok) expect(r.zh).toContain('校验码');
    expect(parseIdNumber('440524188001010015')).toMatchObject({ ok: false, problem: 'check-digit' });
  });

  it('refuses impossible dates, future dates, legacy and malformed numbers', () => {
    // 2013-02-29 does not exist (check character computed for the body, so only the date is wrong).
    const body = '11010120130229001';
    expect(parseIdNumber(body + idNumberCheckChar(body))).toMatchObject({ ok: false, problem: 'birth-date' });
    const future = '11010120990101001';
    expect(parseIdNumber(future + idNumberCheckChar(future), cst(2024, 6, 1))).toMatchObject({ ok: false, problem: 'future-birth-date' });
    expect(parseIdNumber('110105491231002')).toMatchObject({ ok: false, problem: 'legacy-15' });
    expect(parseIdNumber('11010519491231002Y')).toMatchObject({ ok: false, problem: 'format' });
    expect(parseIdNumber('')).toMatchObject({ ok: false, problem: 'format' });
  });

  it('gives the age at a time, by the date in China', () => {
    const kid = '11010120100510123X';
    expect(ageFromIdNumber(kid, cst(2024, 5, 10))).toBe(13);
    expect(ageFromIdNumber(kid, cst(2024, 5, 11, 1))).toBe(14);
    // 20:00 UTC on the 10th is already the 11th in Beijing.
    expect(ageFromIdNumber(kid, Date.UTC(2024, 4, 10, 20))).toBe(14);
    expect(ageFromIdNumber('110101201202290017', cst(2026, 3, 1))).toBe(14);
    expect(birthDateFromIdNumber(kid)).toBe('2010-05-10');
  });

  it('throws validation_failed without echoing the number', () => {
    try {
      ageFromIdNumber('110105194912310021', cst(2024, 1, 1), 'guardian.idNumber');
      throw new Error('expected an error');
    } catch (err) {
      expect(isPipaError(err)).toBe(true);
      if (!isPipaError(err)) return;
      expect(err.code).toBe('validation_failed');
      expect(err.message).toMatch(/^guardian\.idNumber: The check character/);
      expect(err.message).not.toContain('110105194912310021');
      expect(err.details?.[0]).toMatchObject({ path: 'guardian.idNumber', problem: 'check-digit' });
    }
  });
});
