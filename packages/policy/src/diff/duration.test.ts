import { describe, expect, it } from 'vitest';
import { compareDurations, formatDuration, parseDuration } from './duration.js';
import { compareFrequency } from './frequency.js';

describe('ISO 8601 durations', () => {
  it('parses years, months, weeks and days', () => {
    expect(parseDuration('P1Y6M')).toEqual({ years: 1, months: 6, weeks: 0, days: 0 });
    expect(parseDuration('P2W3D')).toEqual({ years: 0, months: 0, weeks: 2, days: 3 });
    expect(() => parseDuration('P')).toThrow(/ISO 8601/);
    expect(() => parseDuration('3 years')).toThrow(/ISO 8601/);
  });

  it.each([
    ['P3Y', 'P6M', 1],
    ['P6M', 'P3Y', -1],
    ['P1Y6M', 'P1Y', 1],
    ['P1Y6M', 'P18M', 0],
    ['P1Y', 'P12M', 0],
    ['P2W', 'P14D', 0],
    ['P1M', 'P30D', 1],
    ['P1M', 'P31D', -1],
    ['P1Y', 'P365D', 1],
    ['P1Y', 'P366D', -1],
    ['P180D', 'P6M', -1],
    ['P1D', undefined, 1],
    [undefined, 'P1D', -1],
    [undefined, undefined, 0],
  ] as const)('compare(%s, %s) = %i', (a, b, expected) => {
    expect(compareDurations(a, b)).toBe(expected);
  });

  it('says durations in zh and en', () => {
    expect(formatDuration('P1Y6M', 'zh')).toBe('1年6个月');
    expect(formatDuration('P1Y6M', 'en')).toBe('1 year 6 months');
    expect(formatDuration('P30D', 'en')).toBe('30 days');
  });
});

describe('collection frequency', () => {
  it('orders once < on-launch < on-use < every < continuous, shorter intervals more often', () => {
    expect(compareFrequency('continuous', 'on-use')).toBe(1);
    expect(compareFrequency('once', 'on-launch')).toBe(-1);
    expect(compareFrequency({ every: 'PT15M' }, { every: 'PT1H' })).toBe(1);
    expect(compareFrequency({ every: 'P1D' }, { every: 'PT24H' })).toBe(0);
    expect(compareFrequency({ every: 'PT1H' }, 'on-use')).toBe(1);
    expect(compareFrequency(undefined, 'continuous')).toBe(0);
  });
});
