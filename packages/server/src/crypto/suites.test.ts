import { createCipheriv, createHash, hkdfSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { hkdf } from './kdf.js';
import { aes256GcmDecrypt, aes256GcmEncrypt, getSuite, hmacSm3, isSuiteAvailable, sm4Ctr, suiteById } from './suites.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

// Test cases 13-16 of "The Galois/Counter Mode of Operation (GCM)" (McGrew & Viega), the AES-256
// vectors NIST's GCM validation uses.
const K15 = 'feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308';
const P15 =
  'd9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72' + '1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255';
const C15 =
  '522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa' + '8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662898015ad';
const GCM_VECTORS = [
  { name: 'TC13', key: '00'.repeat(32), iv: '00'.repeat(12), pt: '', aad: '', ct: '', tag: '530f8afbc74536b9a963b4f1c4cb738b' },
  {
    name: 'TC14',
    key: '00'.repeat(32),
    iv: '00'.repeat(12),
    pt: '00'.repeat(16),
    aad: '',
    ct: 'cea7403d4d606b6e074ec5d3baf39d18',
    tag: 'd0d1c8a799996bf0265b98b5d48ab919',
  },
  { name: 'TC15', key: K15, iv: 'cafebabefacedbaddecaf888', pt: P15, aad: '', ct: C15, tag: 'b094dac5d93471bdec1a502270e3cc6c' },
  {
    name: 'TC16',
    key: K15,
    iv: 'cafebabefacedbaddecaf888',
    pt: P15.slice(0, 120),
    aad: 'feedfacedeadbeeffeedfacedeadbeefabaddad2',
    ct: C15.slice(0, 120),
    tag: '76fc6ece0f4e1768cddf8853bb2d551b',
  },
];

describe('AES-256-GCM known answers (NIST / McGrew-Viega test cases)', () => {
  for (const v of GCM_VECTORS) {
    it(`${v.name} encrypts and decrypts`, () => {
      const aad = v.aad === '' ? [] : [hex(v.aad)];
      const { ciphertext, tag } = aes256GcmEncrypt(hex(v.key), hex(v.iv), hex(v.pt), aad);
      expect(ciphertext.toString('hex')).toBe(v.ct);
      expect(tag.toString('hex')).toBe(v.tag);
      expect(aes256GcmDecrypt(hex(v.key), hex(v.iv), hex(v.ct), hex(v.tag), aad).toString('hex')).toBe(v.pt);
    });
  }

  it('splits associated data across parts exactly as one string', () => {
    const aad = hex('feedfacedeadbeeffeedfacedeadbeefabaddad2');
    const { tag } = aes256GcmEncrypt(hex(K15), hex('cafebabefacedbaddecaf888'), hex(P15.slice(0, 120)), [
      aad.subarray(0, 7),
      aad.subarray(7),
    ]);
    expect(tag.toString('hex')).toBe('76fc6ece0f4e1768cddf8853bb2d551b');
  });

  it('rejects a wrong tag with authentication_failed', () => {
    const v = GCM_VECTORS[3];
    if (v === undefined) throw new Error('vector missing');
    const tag = hex(v.tag);
    tag[0] = (tag[0] ?? 0) ^ 1;
    expect(() => aes256GcmDecrypt(hex(v.key), hex(v.iv), hex(v.ct), tag, [hex(v.aad)])).toThrowError(
      expect.objectContaining({ code: 'authentication_failed' }),
    );
  });
});

describe.runIf(isSuiteAvailable('sm4'))('SM4 and SM3 known answers (GB/T 32907, GB/T 32905)', () => {
  const key = hex('0123456789abcdeffedcba9876543210');

  it('SM4 block: the standard example encrypts to 681edf34d206965e86b3e94f536e4246', () => {
    const ecb = createCipheriv('sm4-ecb', key, null).setAutoPadding(false);
    expect(ecb.update(key).toString('hex')).toBe('681edf34d206965e86b3e94f536e4246');
  });

  it('SM4-CTR through our primitive: the first keystream block is SM4(key, counter)', () => {
    // CTR encrypts block i as P xor SM4(K, IV + i): with IV = the standard plaintext and P = 0,
    // the output is the standard ciphertext.
    expect(sm4Ctr(key, key, Buffer.alloc(16)).toString('hex')).toBe('681edf34d206965e86b3e94f536e4246');
    // And it is its own inverse.
    const data = Buffer.from('张三 13812345678');
    expect(sm4Ctr(key, key, sm4Ctr(key, key, data)).equals(data)).toBe(true);
  });

  it('SM3("abc") = 66c7f0f4...8f4ba8e0', () => {
    expect(createHash('sm3').update('abc').digest('hex')).toBe('66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0');
  });

  it('HMAC-SM3 follows RFC 2104 over SM3 (64-byte blocks)', () => {
    // Computed from the definition with the SM3 hash, independently of createHmac.
    const k = Buffer.from('pipa test key');
    const msg = Buffer.from('abc');
    const block = Buffer.alloc(64);
    k.copy(block);
    const ipad = Buffer.from(block.map((b) => b ^ 0x36));
    const opad = Buffer.from(block.map((b) => b ^ 0x5c));
    const inner = createHash('sm3').update(ipad).update(msg).digest();
    const expected = createHash('sm3').update(opad).update(inner).digest();
    expect(hmacSm3(k, [msg.subarray(0, 1), msg.subarray(1)]).equals(expected)).toBe(true);
  });

  it('the sm4 suite derives a 16-byte SM4 key and a 32-byte MAC key with HKDF-SM3', () => {
    const material = Buffer.alloc(32, 7);
    const k = getSuite('sm4').prepareKey(material);
    expect(k.enc.length).toBe(16);
    expect(k.mac.length).toBe(32);
    expect(k.enc.equals(k.mac.subarray(0, 16))).toBe(false);
    const info = (what: string) =>
      Buffer.concat([Buffer.from([24]), Buffer.from('pipa/sm4-ctr-hmac-sm3/v1'), Buffer.from([0, 3]), Buffer.from(what)]);
    expect(k.enc.equals(Buffer.from(hkdfSync('sm3', material, Buffer.alloc(0), info('enc'), 16)))).toBe(true);
    expect(k.mac.equals(Buffer.from(hkdfSync('sm3', material, Buffer.alloc(0), info('mac'), 32)))).toBe(true);
  });
});

describe('HKDF', () => {
  it('RFC 5869 test case 1 (SHA-256)', () => {
    const okm = hkdf('sha256', hex('0b'.repeat(22)), hex('f0f1f2f3f4f5f6f7f8f9'), 42, hex('000102030405060708090a0b0c'));
    expect(okm.toString('hex')).toBe('3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865');
  });

  it('refuses short input keying material', () => {
    expect(() => hkdf('sha256', Buffer.alloc(8), Buffer.alloc(0), 32)).toThrowError(expect.objectContaining({ code: 'invalid_argument' }));
  });
});

describe('suite registry', () => {
  it('names and ids', () => {
    expect(getSuite('aes-256-gcm').id).toBe(1);
    expect(suiteById(1)?.name).toBe('aes-256-gcm');
    expect(suiteById(2)?.name).toBe('sm4');
    expect(suiteById(3)).toBeUndefined();
    expect(() => getSuite('chacha20')).toThrowError(expect.objectContaining({ code: 'invalid_argument' }));
  });

  it('this OpenSSL build provides SM4 and SM3', () => {
    // The deployment machine's OpenSSL 3 has them; if this fails the sm4 tests above were skipped.
    expect(isSuiteAvailable('sm4')).toBe(true);
  });
});
