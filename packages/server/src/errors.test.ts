import { describe, expect, it } from 'vitest';
import { pathStep, shownId } from './errors.js';

describe('shownId: what a message may repeat of a client-given id', () => {
  it('repeats ids, versions and mistyped ids', () => {
    for (const id of ['contact.phone', 'push-service', 'marketing', '2022-03-20', '1', 'v2.1', 'sdk_umeng', 'a1b2c3'])
      expect(shownId(id)).toBe(id);
  });

  it('does not repeat what may be personal information sent in the wrong field', () => {
    for (const value of [
      '13812345678', // a mobile number
      '440305198512012344', // an ID number
      '6222021234567890', // a bank card
      '王小明', // a name
      'zhang.san@example.com', // an e-mail address
      '+86 138 1234 5678',
      '辽宁省沈阳市和平区',
      'x'.repeat(65),
      '',
      'a b',
    ])
      expect(shownId(value), value).toBe('(value not shown: not an id)');
    expect(shownId(42)).toBe('(value not shown: not an id)');
    expect(shownId(null)).toBe('(value not shown: not an id)');
  });
});

describe('pathStep: one step of a JSON path', () => {
  it('writes indexes and plain keys as such, brackets a dotted key, and hides a key that may be personal information', () => {
    expect(`$.body.fields${pathStep('contact.phone')}`).toBe('$.body.fields["contact.phone"]');
    expect(`$.query${pathStep('limit')}`).toBe('$.query.limit');
    expect(`$.body${pathStep('birth-date')}`).toBe('$.body.birth-date');
    expect(`$.body.items${pathStep(3)}`).toBe('$.body.items[3]');
    expect(pathStep('13812345678')).toBe('["(value not shown: not an id)"]');
    expect(pathStep('2022-03-20')).toBe('["2022-03-20"]');
  });
});
