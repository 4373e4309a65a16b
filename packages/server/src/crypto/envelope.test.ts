import { createCipheriv, createHmac, hkdfSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DataKey } from './data-key.js';
import { describeEnvelope, parseEnvelope } from './envelope.js';
import { isCryptoError } from './errors.js';
import { createFieldCipher, fieldContext } from './field-cipher.js';

const hex = (s: string) => Buffer.from(s, 'hex');
const MATERIAL = hex('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f');
const AAD = { app: 'xiaopiaopiao', subject: 'sub_01', field: 'phone' };
const fixed = (nonceHex: string) => () => hex(nonceHex);

// Envelope known answers: fixed key, fixed nonce, fixed context. A change to the format, the AAD
// layout or the key derivation changes these bytes, so it cannot happen unnoticed.
const KAT = {
  'aes-256-gcm': {
    nonce: '101112131415161718191a1b',
    envelope: '0101000000030c101112131415161718191a1b4ccda0277bfa0e86fc42305cfb44acaa20f9f1682b03076da35713',
  },
  sm4: {
    nonce: '101112131415161718191a1b1c1d1e1f',
    envelope:
      '01020000000310101112131415161718191a1b1c1d1e1f5fe324156a6a64565a883f2c14e0373576da21e8bfbb8d80ab27ab101b0f0e235d23cbcb3a118786d29011',
  },
} as const;

describe('envelope known answers', () => {
  for (const suite of ['aes-256-gcm', 'sm4'] as const) {
    it(`${suite}: fixed key and nonce give the recorded envelope, which opens`, () => {
      const dek = new DataKey(MATERIAL, 3);
      const cipher = createFieldCipher({ suite, random: fixed(KAT[suite].nonce) });
      const envelope = cipher.encrypt(dek, '13812345678', AAD);
      expect(envelope.toString('hex')).toBe(KAT[suite].envelope);
      expect(cipher.decryptString(dek, hex(KAT[suite].envelope), AAD)).toBe('13812345678');
    });
  }

  it('aes-256-gcm envelope equals the documented construction built by hand', () => {
    const header = hex('01' + '01' + '00000003' + '0c' + KAT['aes-256-gcm'].nonce);
    // encodeContext("pipa/field/v1", [app, subject, field]) written out byte by byte
    const context = Buffer.concat([
      Buffer.from([13]),
      Buffer.from('pipa/field/v1'),
      Buffer.from([0, 12]),
      Buffer.from('xiaopiaopiao'),
      Buffer.from([0, 6]),
      Buffer.from('sub_01'),
      Buffer.from([0, 5]),
      Buffer.from('phone'),
    ]);
    expect(fieldContext(AAD.app, AAD.subject, AAD.field).equals(context)).toBe(true);
    const c = createCipheriv('aes-256-gcm', MATERIAL, hex(KAT['aes-256-gcm'].nonce));
    c.setAAD(Buffer.concat([header, context]));
    const ct = c.update('13812345678');
    c.final();
    expect(Buffer.concat([header, ct, c.getAuthTag()]).toString('hex')).toBe(KAT['aes-256-gcm'].envelope);
  });

  it('sm4 envelope equals the documented construction built by hand', () => {
    const header = hex('01' + '02' + '00000003' + '10' + KAT.sm4.nonce);
    const context = fieldContext(AAD.app, AAD.subject, AAD.field);
    const info = (what: string) =>
      Buffer.concat([Buffer.from([24]), Buffer.from('pipa/sm4-ctr-hmac-sm3/v1'), Buffer.from([0, 3]), Buffer.from(what)]);
    const enc = Buffer.from(hkdfSync('sm3', MATERIAL, Buffer.alloc(0), info('enc'), 16));
    const mac = Buffer.from(hkdfSync('sm3', MATERIAL, Buffer.alloc(0), info('mac'), 32));
    const ct = createCipheriv('sm4-ctr', enc, hex(KAT.sm4.nonce)).update('13812345678');
    const len = Buffer.alloc(8);
    len.writeBigUInt64BE(BigInt(context.length));
    const tag = createHmac('sm3', mac).update(header).update(ct).update(context).update(len).digest();
    expect(Buffer.concat([header, ct, tag]).toString('hex')).toBe(KAT.sm4.envelope);
  });
});

describe('envelope parsing is strict', () => {
  const envelope = hex(KAT['aes-256-gcm'].envelope);

  it('reads the header', () => {
    expect(describeEnvelope(envelope)).toEqual({
      formatVersion: 1,
      suite: 'aes-256-gcm',
      keyVersion: 3,
      nonce: KAT['aes-256-gcm'].nonce,
      ciphertextBytes: 11,
      tagBytes: 16,
    });
    const sm4 = parseEnvelope(hex(KAT.sm4.envelope));
    expect(sm4.suite.name).toBe('sm4');
    expect(sm4.headerLength).toBe(23);
  });

  it('every truncation is envelope_truncated or, with a whole tag still present, authentication_failed', () => {
    const dek = new DataKey(MATERIAL, 3);
    const cipher = createFieldCipher();
    for (let n = 0; n < envelope.length; n++) {
      const cut = envelope.subarray(0, n);
      let code: string | undefined;
      try {
        cipher.decrypt(dek, cut, AAD);
      } catch (err) {
        if (!isCryptoError(err)) throw err;
        code = err.code;
      }
      expect(code, `length ${n}`).toBe(n < 7 + 12 + 16 ? 'envelope_truncated' : 'authentication_failed');
    }
  });

  it('unknown format version, unknown suite, wrong nonce length, key version 0', () => {
    const withByte = (i: number, b: number) => {
      const copy = Buffer.from(envelope);
      copy[i] = b;
      return copy;
    };
    expect(() => parseEnvelope(withByte(0, 2))).toThrowError(expect.objectContaining({ code: 'envelope_unknown_version' }));
    expect(() => parseEnvelope(withByte(0, 0))).toThrowError(expect.objectContaining({ code: 'envelope_unknown_version' }));
    expect(() => parseEnvelope(withByte(1, 9))).toThrowError(expect.objectContaining({ code: 'envelope_unknown_suite' }));
    expect(() => parseEnvelope(withByte(6, 16))).toThrowError(expect.objectContaining({ code: 'envelope_malformed' }));
    const zero = Buffer.from(envelope);
    zero.writeUInt32BE(0, 2);
    expect(() => parseEnvelope(zero)).toThrowError(expect.objectContaining({ code: 'envelope_malformed' }));
  });

  it('non-bytes input is a typed error, not a crash', () => {
    expect(() => parseEnvelope('0101' as unknown as Uint8Array)).toThrowError(expect.objectContaining({ code: 'envelope_malformed' }));
    expect(() => parseEnvelope(null as unknown as Uint8Array)).toThrowError(expect.objectContaining({ code: 'envelope_malformed' }));
  });

  it('accepts a plain Uint8Array view (as some drivers return)', () => {
    const backing = new Uint8Array(envelope.length + 4);
    backing.set(envelope, 4);
    expect(parseEnvelope(backing.subarray(4)).keyVersion).toBe(3);
  });
});
