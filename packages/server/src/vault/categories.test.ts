import { TAXONOMY } from '@pipa/policy';
import { describe, expect, it } from 'vitest';
import { categoryRule, checkValue, MAX_VALUE_LENGTH, maskFor } from './categories.js';

const NOW = Date.UTC(2025, 5, 1);
const mask = (id: string, value: string, sensitive = false, declaredMasked?: boolean) =>
  maskFor(categoryRule(id, sensitive, declaredMasked).mask, value);

describe('masking by Chinese display conventions', () => {
  it.each([
    ['contact.phone', '13812345678', '138****5678'],
    ['contact.phone', '+86 138 1234 5678', '+86 138 **** 5678'],
    ['contact.landline', '024-86277299', '024-****7299'],
    ['identity.id-card', '41010119900307123X', '4101**********123X'],
    ['basic.name', '张三', '张*'],
    ['basic.name', '欧阳娜娜', '欧阳**'],
    ['contact.email', 'alice@x.com', 'a***@x.com'],
    ['finance.bank-account', '6222 0212 3456 1234', '****1234'],
    ['contact.address', '辽宁省沈阳市和平区南京北街123号', '辽宁省沈阳市和平区****'],
    ['basic.birth-date', '1990-03-07', '1990-**-**'],
    ['basic.age', '34', '30-39'],
    ['contact.postcode', '110000', '11****'],
    ['network.ip', '192.168.1.20', '192.168.*.*'],
    ['device.id.mac', '00:1A:2B:3C:4D:5E', '00:1A:2B:**:**:**'],
    ['device.id.imei', '490154203237518', '4901*******7518'],
    ['device.id.oaid', 'a1b2c3d4e5f60718', 'a1b2********0718'],
    ['identity.passport', 'E12345678', 'E1****678'],
    ['other.licence-plate', '辽A12345', '辽A***45'],
    ['account.password', 'hunter2', '******'],
    ['basic.gender', '女', '女'],
    ['account.username', 'zhangsan', 'z***'],
    ['work.employer', '沈阳某某科技有限公司', '沈***'],
    ['health.records', '高血压', '******'],
  ])('%s %s -> %s', (id, value, expected) => {
    const sensitive = TAXONOMY.find((t) => t.id === id)?.sensitive ?? false;
    expect(mask(id, value, sensitive)).toBe(expected);
  });

  it('hides every sensitive category without a pattern of its own, whatever its length', () => {
    const patterned = TAXONOMY.filter((x) => x.sensitive && categoryRule(x.id, true, undefined).mask !== 'hidden').map((x) => x.id);
    // Checked values with a display convention: the convention shows part of them.
    expect(patterned.sort()).toEqual([
      'finance.bank-account',
      'identity.driving-licence',
      'identity.hk-macao-permit',
      'identity.id-card',
      'identity.military-id',
      'identity.passport',
      'identity.residence-permit',
      'identity.social-security-card',
      'identity.work-id',
    ]);
    for (const t of TAXONOMY.filter((x) => x.sensitive && !patterned.includes(x.id))) {
      expect(mask(t.id, '一段相当长的敏感内容ABCDEFG1234567', true), t.id).toBe('******');
    }
    expect(mask('custom.document-number', 'E12345678', true)).toBe('******');
    expect(mask('custom.notes', 'anything', false)).toBe('a***');
  });

  it('masks an attribute shown as stored when the declaration promises masking or raises it to sensitive', () => {
    expect(mask('basic.gender', '男')).toBe('男');
    expect(mask('basic.gender', '男', false, true)).toBe('男***');
    expect(mask('basic.gender', '男', true)).toBe('******');
  });

  it('masks values that fit no pattern harder rather than failing', () => {
    expect(mask('network.ip', 'not an ip')).toBe('******');
    expect(mask('basic.age', 'old')).toBe('******');
  });
});

describe('value checks', () => {
  const ok = (kind: Parameters<typeof checkValue>[0], v: string) => expect(checkValue(kind, v, NOW), `${kind} ${v}`).toBeUndefined();
  const bad = (kind: Parameters<typeof checkValue>[0], v: string, words: string) => {
    const p = checkValue(kind, v, NOW);
    expect(p?.en, `${kind} ${v}`).toContain(words);
    expect(p?.zh.length).toBeGreaterThan(0);
    if (v.length > 3) expect(`${p?.en}${p?.zh}`).not.toContain(v);
  };

  it('accepts the usual notations', () => {
    for (const v of ['13812345678', '138 1234 5678', '+86-138-1234-5678', '１３８１２３４５６７８', '+44 20 7946 0958']) ok('mobile', v);
    for (const v of ['010-12345678', '024 8627 7299', '400-833-1369', '13812345678']) ok('phone', v);
    for (const v of ['a@b.cn', ' Zhang.San@Example.com ']) ok('email', v);
    for (const v of ['110101199003071233', '41010119850612002１']) ok('id-card', v);
    ok('date', '1990-03-07');
    ok('age', '0');
    ok('age', '150');
    ok('postcode', '110000');
    ok('bank-account', '6222 0212 3456 1234');
    ok('ip', '2001:db8::1');
    ok('mac', '00-1A-2B-3C-4D-5E');
    ok('mac', '001A2B3C4D5E');
    ok('device-number', '490154203237518');
    ok('document', 'E12345678');
    ok('text', '任何文字\n第二行');
  });

  it('a birth date is in the future by the calendar of UTC+8, day after day', () => {
    // 2026-03-01 23:59:59.999 and 2026-03-02 00:00 in UTC+8 (15:59:59.999 and 16:00 UTC the day before).
    const before = Date.UTC(2026, 1, 28, 15, 59, 59, 999) + 24 * 3_600_000;
    expect(checkValue('date', '2026-03-01', before)).toBeUndefined();
    expect(checkValue('date', '2026-03-02', before)?.en).toBe('is in the future');
    expect(checkValue('date', '2026-03-02', before + 1)).toBeUndefined();
    expect(checkValue('date', '2026-03-03', before + 1)?.en).toBe('is in the future');
    // And back: the clock may be injected in any order.
    expect(checkValue('date', '2026-03-02', before)?.en).toBe('is in the future');
  });

  it('refuses with a reason that never repeats the value', () => {
    bad('mobile', '12345', 'not a mobile phone number');
    bad('mobile', '024-86277299', 'landline');
    bad('phone', 'call me', 'not a phone number');
    bad('email', 'zhang.san', 'not an e-mail address');
    bad('email', 'a@localhost', 'not an e-mail address');
    bad('id-card', '110101199003071234', 'check character');
    bad('id-card', '110101900307123', 'Legacy 15-digit');
    bad('id-card', '110101199002301233', 'date of birth');
    bad('date', '1990-02-30', 'YYYY-MM-DD');
    bad('date', '2999-01-01', 'future');
    bad('date', '1700-01-01', 'before 1880');
    bad('age', '151', 'age');
    bad('age', '-1', 'age');
    bad('postcode', '##', 'postcode');
    bad('bank-account', '1234', 'bank account');
    bad('ip', '300.1.1.1', 'IPv4');
    bad('mac', 'AA:BB:CC:DD:EE', 'MAC');
    bad('device-number', '12345', 'device number');
    bad('document', '护照号码', 'document number');
    bad('text', '   ', 'empty');
    bad('text', 'a\u0000b', 'control characters');
    bad('text', 'x'.repeat(MAX_VALUE_LENGTH + 1), `longer than ${MAX_VALUE_LENGTH}`);
  });

  it('gives lookups a blind index for phone, ID number and e-mail only', () => {
    const indexed = TAXONOMY.filter((t) => categoryRule(t.id, t.sensitive, undefined).index !== undefined).map((t) => t.id);
    expect(indexed.sort()).toEqual(['contact.email', 'contact.phone', 'identity.id-card']);
  });
});
