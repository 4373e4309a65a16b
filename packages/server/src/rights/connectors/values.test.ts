import { keyedHash } from '@pipa/detect';
import { describe, expect, it } from 'vitest';
import {
  addPeriod,
  CellError,
  generaliseAccepts,
  generaliseCell,
  hashCell,
  hashInput,
  keyCandidates,
  maskCell,
  maskGeneric,
  parseDateValue,
  parsePeriod,
  phoneCandidates,
  toCell,
  ymd,
} from './values.js';

describe('subject key candidates', () => {
  it('expands a mainland mobile into its usual stored forms', () => {
    expect(phoneCandidates('+86 138-1234-5678')).toEqual(['+86 138-1234-5678', '8613812345678', '13812345678', '+8613812345678']);
    expect(phoneCandidates('１３８１２３４５６７８')).toContain('13812345678');
    expect(phoneCandidates('0086 13812345678')).toContain('13812345678');
    // a landline is matched as given and as digits only
    expect(phoneCandidates('0371-6666 8888')).toEqual(['0371-6666 8888', '037166668888']);
  });

  it('deduplicates, trims, lower-cases e-mail, and drops empty values', () => {
    expect(keyCandidates('phone', ['13812345678', '13812345678'])).toEqual(['13812345678', '8613812345678', '+8613812345678']);
    expect(keyCandidates('email', ' Wang@Example.COM ')).toEqual(['Wang@Example.COM', 'wang@example.com']);
    expect(keyCandidates('external-id', ['', '  ', ' u-1 '])).toEqual(['u-1']);
    expect(keyCandidates('subject-id', undefined)).toEqual([]);
  });
});

describe('periods and dates', () => {
  it('parses ISO 8601 periods of years, months, weeks and days', () => {
    expect(parsePeriod('P3Y')).toEqual({ years: 3, months: 0, days: 0 });
    expect(parsePeriod('P1Y6M')).toEqual({ years: 1, months: 6, days: 0 });
    expect(parsePeriod('P2W3D')).toEqual({ years: 0, months: 0, days: 17 });
    for (const bad of ['P', '3Y', 'P1H', 'PT1H', '', 'P-1Y']) expect(parsePeriod(bad)).toBeUndefined();
  });

  it('adds periods by calendar, clamping to the end of the month', () => {
    const d = (s: string) => new Date(`${s}T00:00:00Z`);
    expect(ymd(addPeriod(d('2024-05-20'), { years: 3, months: 0, days: 0 }))).toBe('2027-05-20');
    expect(ymd(addPeriod(d('2024-02-29'), { years: 1, months: 0, days: 0 }))).toBe('2025-02-28');
    expect(ymd(addPeriod(d('2025-01-31'), { years: 0, months: 1, days: 0 }))).toBe('2025-02-28');
    expect(ymd(addPeriod(d('2025-11-15'), { years: 0, months: 3, days: 0 }))).toBe('2026-02-15');
    expect(ymd(addPeriod(d('2025-12-30'), { years: 0, months: 0, days: 3 }))).toBe('2026-01-02');
  });

  it('reads the date forms databases return', () => {
    expect(parseDateValue('2024-05-20')?.toISOString()).toBe('2024-05-20T00:00:00.000Z');
    expect(parseDateValue('2024-05-20 10:11:12')?.toISOString()).toBe('2024-05-20T10:11:12.000Z');
    expect(parseDateValue('2024-05-20 10:11:12.345+08')?.toISOString()).toBe('2024-05-20T02:11:12.000Z');
    expect(parseDateValue('2024-05-20T10:11:12+0800')?.toISOString()).toBe('2024-05-20T02:11:12.000Z');
    expect(parseDateValue('2024-05-20T10:11:12Z')?.toISOString()).toBe('2024-05-20T10:11:12.000Z');
    expect(parseDateValue(1716163200)?.toISOString()).toBe('2024-05-20T00:00:00.000Z');
    expect(parseDateValue(1716163200000)?.toISOString()).toBe('2024-05-20T00:00:00.000Z');
    expect(parseDateValue(new Date('2024-05-20T00:00:00Z'))?.toISOString()).toBe('2024-05-20T00:00:00.000Z');
    for (const bad of ['yesterday', '2024-13-45', '', null, undefined, true, new Date(Number.NaN)])
      expect(parseDateValue(bad)).toBeUndefined();
  });
});

describe('mask', () => {
  it('masks by the category’s detector (Chinese display conventions)', () => {
    expect(maskCell('contact.phone', '13812345678')).toBe('138****5678');
    expect(maskCell('basic.name', '欧阳娜娜')).toBe('欧阳**');
    expect(maskCell('identity.id-card', '11010119900307757X')).toBe('1101**********757X');
    expect(maskCell('finance.bank-account', '6222 0212 3456 7890 123')).toBe('****0123');
    expect(maskCell('contact.email', 'wang@example.com')).toBe('w***@example.com');
    expect(maskCell('contact.address', '辽宁省沈阳市和平区南京北街123号')).toBe('辽宁省沈阳市和平区****');
    expect(maskCell('network.ip', '123.45.67.89')).toBe('123.45.*.*');
    expect(maskCell('network.ip', '2001:db8:85a3::8a2e:370:7334')).toBe('2001:db8:****');
  });

  it('masks other categories generically, keeping at most a quarter at each end', () => {
    expect(maskCell('account.username', '快乐的小猫咪')).toBe('快****咪');
    expect(maskGeneric('ab')).toBe('a*');
    expect(maskGeneric('x')).toBe('*');
    expect(maskCell('account.customer-code', 'CUST-00123456')).toBe('CUS*-*****456');
    expect(maskCell('account.username', '')).toBe('');
    expect(maskCell('account.username', null)).toBeNull();
    expect(maskCell('account.username', 12345678)).toBe('12****78');
    expect(() => maskCell('account.username', true)).toThrow(CellError);
  });
});

describe('keyed hash', () => {
  it('is HMAC-SHA256 over category and normalised value, equal to @pipa/detect keyedHash', () => {
    const key = 'k'.repeat(32);
    const h = hashCell('contact.phone', '+86 138 1234 5678', key);
    expect(h).toBe(keyedHash({ type: 'phone', normalized: '13812345678' }, key));
    expect(hashCell('contact.phone', '13812345678', key)).toBe(h);
    expect(hashCell('contact.phone', '13812345678', 'another key')).not.toBe(h);
    expect(hashCell('identity.id-card', '11010119900307757x', key)).toBe(
      keyedHash({ type: 'id-card', normalized: '11010119900307757X' }, key),
    );
    expect(hashCell('contact.email', 'Wang@Example.com', key)).toBe(keyedHash({ type: 'email', normalized: 'wang@example.com' }, key));
    expect(hashCell('account.username', 'abc', new Uint8Array([1, 2, 3]))).toMatch(/^[0-9a-f]{64}$/);
    expect(hashCell('account.username', null, key)).toBeNull();
    expect(hashInput('finance.bank-account', '6222 0212 3456')).toBe('622202123456');
  });
});

describe('generalise', () => {
  it('keeps a coarser value, in the column’s type', () => {
    expect(generaliseCell('basic.birth-date', '1990-03-07', 'date')).toBe('1990-01-01');
    expect(generaliseCell('finance.transactions', '2024-05-20 10:00:00', 'datetime')).toBe('2024-01-01 00:00:00');
    expect(generaliseCell('basic.birth-date', '1990年3月7日', 'text')).toBe('1990');
    expect(generaliseCell('online.access-logs', '2025-05-01 10:00:00', 'any')).toBe('2025');
    expect(generaliseCell('basic.age', 34, 'integer')).toBe(30);
    expect(generaliseCell('basic.age', '47.5', 'decimal')).toBe(40);
    expect(generaliseCell('basic.age', '34', 'text')).toBe('30-39');
    expect(generaliseCell('basic.age', 17, 'any')).toBe('10-19');
    expect(generaliseCell('contact.address', '河南省郑州市二七区瑞光创意工厂1号院', 'text')).toBe('河南省郑州市二七区');
    expect(generaliseCell('identity.id-card', '110101199003077578', 'text')).toBe('110101/1990');
    expect(generaliseCell('contact.phone', '13812345678', 'text')).toBe('1381234****');
    expect(generaliseCell('network.ip', '123.45.67.89', 'text')).toBe('123.45.67.0/24');
    expect(generaliseCell('basic.name', null, 'text')).toBeNull();
  });

  it('fails without a rule, naming the category and never the value', () => {
    const cases: [string, Parameters<typeof generaliseCell>[1], Parameters<typeof generaliseCell>[2]][] = [
      ['basic.name', '王小明', 'text'],
      ['finance.transactions', 120, 'integer'],
      ['basic.age', 'thirty', 'text'],
      ['basic.birth-date', 'unknown', 'date'],
      ['contact.phone', '12345', 'text'],
      ['identity.id-card', '1101', 'text'],
      ['network.ip', '::1', 'text'],
      ['basic.name', true, 'text'],
      ['finance.transactions', 5, 'any'],
    ];
    for (const [category, value, kind] of cases) {
      let err: unknown;
      try {
        generaliseCell(category, value, kind);
      } catch (e) {
        err = e;
      }
      expect(err, `${category} ${String(value)}`).toBeInstanceOf(CellError);
      expect((err as CellError).en).toContain(category);
      if (typeof value === 'string') expect((err as CellError).en).not.toContain(value);
    }
  });

  it('says which column kinds it can apply to', () => {
    expect(generaliseAccepts('basic.age', 'integer')).toBe(true);
    expect(generaliseAccepts('finance.transactions', 'decimal')).toBe(false);
    expect(generaliseAccepts('basic.birth-date', 'date')).toBe(true);
    expect(generaliseAccepts('basic.name', 'binary')).toBe(false);
    expect(generaliseAccepts('basic.name', 'boolean')).toBe(false);
  });
});

describe('toCell', () => {
  it('turns driver values into JSON-safe cells', () => {
    expect(toCell(undefined)).toBeNull();
    expect(toCell(12n)).toBe(12);
    expect(toCell(2n ** 70n)).toBe('1180591620717411303424');
    expect(toCell(new Date('2024-05-20T00:00:00Z'))).toBe('2024-05-20T00:00:00.000Z');
    expect(toCell(Buffer.from('hi'))).toBe('aGk=');
    expect(toCell(Number.POSITIVE_INFINITY)).toBe('Infinity');
    expect(toCell({ a: 1 })).toBe('{"a":1}');
  });
});
