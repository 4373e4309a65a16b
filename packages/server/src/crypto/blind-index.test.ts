import { createHmac, hkdfSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createBlindIndex, normaliseEmail, normaliseIdNumber, normalisePhone, normaliseText } from './blind-index.js';
import { CryptoError } from './errors.js';

const root = Buffer.alloc(32, 0x42);

describe('normalisers', () => {
  it('phone numbers to E.164 (+86 by default)', () => {
    const same = [
      '13812345678',
      '138 1234 5678',
      '138-1234-5678',
      '+86 138 1234 5678',
      '+86-138-1234-5678',
      '+8613812345678',
      '008613812345678',
      '8613812345678',
      '１３８１２３４５６７８', // full-width digits
      '＋８６　１３８－１２３４－５６７８', // full-width plus, ideographic space, full-width hyphen
      '(+86) 138.1234.5678',
      ' 138\u20141234\u20145678 ', // em dashes
    ];
    for (const v of same) expect(normalisePhone(v), v).toBe('+8613812345678');
    expect(normalisePhone('010-12345678')).toBe('+861012345678');
    expect(normalisePhone('0755 8888 6666')).toBe('+8675588886666');
    expect(normalisePhone('+86 (0)10 1234 5678')).toBe('+861012345678');
    expect(normalisePhone('+852 2123 4567')).toBe('+85221234567');
    expect(normalisePhone('400-810-8888')).toBe('+864008108888');
    expect(normalisePhone('(0)20 7946 0958', { defaultCountryCode: '44' })).toBe('+442079460958');
  });

  it('rejects what is not a phone number, without echoing it', () => {
    for (const v of [
      '',
      'abc',
      '12345',
      '+86 138 1234 567',
      '23812345678',
      '+0123456789',
      '1381234567890123456',
      '138 1234 5678 ext 9',
      '+86 123 4567 8901',
      '+86 10 1234 567',
    ]) {
      try {
        normalisePhone(v);
        throw new Error(`accepted ${v}`);
      } catch (err) {
        expect(err, v).toBeInstanceOf(CryptoError);
        expect((err as CryptoError).code).toBe('invalid_value');
        if (v.length > 3) expect((err as CryptoError).message).not.toContain(v);
      }
    }
    expect(() => normalisePhone('138', { defaultCountryCode: '+86' })).toThrowError(expect.objectContaining({ code: 'invalid_argument' }));
  });

  it('ID numbers upper-case X, full-width folded, 15-digit legacy kept', () => {
    expect(normaliseIdNumber('11010119900307123x')).toBe('11010119900307123X');
    expect(normaliseIdNumber(' 110101 19900307 123X ')).toBe('11010119900307123X');
    expect(normaliseIdNumber('１１０１０１１９９００３０７１２３ｘ')).toBe('11010119900307123X');
    expect(normaliseIdNumber('110101900307123')).toBe('110101900307123');
    for (const v of ['1101011990030712', '11010119900307123Y', 'X1010119900307123']) {
      expect(() => normaliseIdNumber(v), v).toThrowError(expect.objectContaining({ code: 'invalid_value' }));
    }
  });

  it('e-mail lower-cased and trimmed; text NFKC with whitespace collapsed', () => {
    expect(normaliseEmail('  Zhang.San@Example.COM ')).toBe('zhang.san@example.com');
    expect(normaliseEmail('ｚｓ＠ｅｘａｍｐｌｅ．ｃｏｍ')).toBe('zs@example.com');
    expect(() => normaliseEmail('no-at-sign')).toThrowError(expect.objectContaining({ code: 'invalid_value' }));
    expect(() => normaliseEmail('a b@c.d')).toThrowError(expect.objectContaining({ code: 'invalid_value' }));
    expect(normaliseText('  张   三 ')).toBe('张 三');
  });
});

describe('blind index', () => {
  const index = createBlindIndex({ key: root });

  it('is HMAC-SHA256 under a per-app, per-field key, truncated to 16 bytes', () => {
    const info = Buffer.concat([
      Buffer.from([19]),
      Buffer.from('pipa/blind-index/v1'),
      Buffer.from([0, 12]),
      Buffer.from('xiaopiaopiao'),
      Buffer.from([0, 5]),
      Buffer.from('phone'),
    ]);
    const fieldKey = Buffer.from(hkdfSync('sha256', root, Buffer.alloc(0), info, 32));
    const expected = createHmac('sha256', fieldKey).update('+8613812345678').digest().subarray(0, 16);
    expect(index.index('xiaopiaopiao', 'phone', 'phone', '138 1234 5678').equals(expected)).toBe(true);
    expect(index.length).toBe(16);
  });

  it('equal after normalisation: the lookup finds the row without decrypting', () => {
    const stored = index.index('xiaopiaopiao', 'phone', 'phone', '13812345678');
    for (const typed of ['+86-138-1234-5678', '１３８ １２３４ ５６７８', '0086 138 1234 5678']) {
      expect(index.index('xiaopiaopiao', 'phone', 'phone', typed).equals(stored), typed).toBe(true);
    }
    const byField = index.forField('xiaopiaopiao', 'id-card', 'id-number');
    expect(byField('11010119900307123x').equals(byField('11010119900307123X'))).toBe(true);
  });

  it('differs between apps, between fields and from other values', () => {
    const base = index.index('xiaopiaopiao', 'phone', 'phone', '13812345678');
    expect(index.index('shengshitong', 'phone', 'phone', '13812345678').equals(base)).toBe(false);
    expect(index.index('xiaopiaopiao', 'emergency-contact-phone', 'phone', '13812345678').equals(base)).toBe(false);
    expect(index.index('xiaopiaopiao', 'phone', 'phone', '13812345679').equals(base)).toBe(false);
    // And between index keys.
    expect(
      createBlindIndex({ key: Buffer.alloc(32, 1) })
        .index('xiaopiaopiao', 'phone', 'phone', '13812345678')
        .equals(base),
    ).toBe(false);
    // compute() takes an already-normalised value.
    expect(index.compute('xiaopiaopiao', 'phone', '+8613812345678').equals(base)).toBe(true);
  });

  it('length is configurable 8..32; HMAC-SM3 for sm4 deployments', () => {
    expect(createBlindIndex({ key: root, length: 8 }).compute('a', 'f', 'v')).toHaveLength(8);
    expect(createBlindIndex({ key: root, length: 32 }).compute('a', 'f', 'v')).toHaveLength(32);
    expect(() => createBlindIndex({ key: root, length: 4 })).toThrowError(expect.objectContaining({ code: 'invalid_argument' }));
    expect(() => createBlindIndex({ key: Buffer.alloc(16) })).toThrowError(expect.objectContaining({ code: 'invalid_argument' }));
    const sm3 = createBlindIndex({ key: root, digest: 'sm3' });
    expect(sm3.digest).toBe('sm3');
    expect(sm3.compute('a', 'f', 'v').equals(index.compute('a', 'f', 'v'))).toBe(false);
    const info = Buffer.concat([Buffer.from([19]), Buffer.from('pipa/blind-index/v1'), Buffer.from([0, 1, 0x61, 0, 1, 0x66])]);
    const key = Buffer.from(hkdfSync('sm3', root, Buffer.alloc(0), info, 32));
    expect(sm3.compute('a', 'f', 'v').equals(createHmac('sm3', key).update('v').digest().subarray(0, 16))).toBe(true);
  });

  it('invalid values are rejected before indexing', () => {
    expect(() => index.index('a', 'phone', 'phone', 'not a phone')).toThrowError(expect.objectContaining({ code: 'invalid_value' }));
    expect(() => index.compute('', 'phone', 'x')).toThrowError(expect.objectContaining({ code: 'invalid_argument' }));
  });
});
