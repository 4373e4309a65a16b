import { createHash, generateKeyPairSync, verify } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  CHECKPOINT_FORMAT,
  type Checkpoint,
  checkCheckpoint,
  checkpointKeyId,
  checkpointMessage,
  createCheckpointSigner,
  generateCheckpointKey,
  parseCheckpointPublicKey,
  parseTrustedKeys,
} from './checkpoint.js';
import { isAuditError } from './errors.js';
import { testSigner } from './test-util.js';

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

const POINT = { seq: 5000, hash: 'ab'.repeat(32), at: 1_718_000_000_000 };

describe('checkpoint format', () => {
  it('signs a fixed text', () => {
    expect(CHECKPOINT_FORMAT).toBe('pipa-audit-checkpoint-v1');
    expect(checkpointMessage(POINT).toString('utf8')).toBe(`pipa-audit-checkpoint-v1\n5000\n${'ab'.repeat(32)}\n1718000000000`);
  });

  it('derives the key id from the raw public key', () => {
    const raw = Buffer.alloc(32, 3);
    expect(checkpointKeyId(raw)).toBe(`ed25519:${createHash('sha256').update(raw).digest('hex').slice(0, 16)}`);
  });

  it('makes an Ed25519 signature anyone can check with the raw public key', () => {
    const signer = testSigner();
    const cp = signer.sign(POINT);
    expect(cp).toMatchObject({ ...POINT, keyId: signer.keyId, publicKey: signer.publicKey });
    expect(Buffer.from(cp.publicKey, 'base64').length).toBe(32);
    expect(Buffer.from(cp.signature, 'base64').length).toBe(64);
    // Checked here with node:crypto directly, from the documented message and the raw key.
    const key = {
      key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(cp.publicKey, 'base64').toString('base64url') },
      format: 'jwk',
    } as const;
    expect(verify(null, checkpointMessage(POINT), key, Buffer.from(cp.signature, 'base64'))).toBe(true);
  });
});

describe('createCheckpointSigner', () => {
  it('is deterministic from a seed', () => {
    expect(testSigner(7).publicKey).toBe(testSigner(7).publicKey);
    expect(testSigner(7).keyId).not.toBe(testSigner(8).keyId);
    expect(testSigner(7).sign(POINT).signature).toBe(testSigner(7).sign(POINT).signature);
  });

  it('takes a PEM private key and a KeyObject', () => {
    const generated = generateCheckpointKey();
    const fromPem = createCheckpointSigner(generated.privateKeyPem);
    expect(fromPem.publicKey).toBe(generated.publicKey);
    expect(fromPem.keyId).toBe(generated.keyId);
    expect(checkCheckpoint(fromPem.sign(POINT), [generated.publicKey])).toBeNull();
    const { privateKey } = generateKeyPairSync('ed25519');
    const fromObject = createCheckpointSigner(privateKey);
    expect(checkCheckpoint(fromObject.sign(POINT))).toBeNull();
  });

  it('refuses key material that is not an Ed25519 private key', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey;
    for (const bad of [
      Buffer.alloc(31),
      Buffer.alloc(33),
      'not a pem',
      rsa.export({ type: 'pkcs8', format: 'pem' }).toString(),
      rsa,
      generateKeyPairSync('ed448').privateKey,
    ]) {
      expect(() => createCheckpointSigner(bad)).toThrow(expect.objectContaining({ code: 'invalid_key' }));
    }
    const err: unknown = (() => {
      try {
        createCheckpointSigner(Buffer.alloc(16));
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(isAuditError(err, 'invalid_key') && err.message).toMatch(/seed is 16 bytes/);
    expect(isAuditError(err) && err.messageZh).toMatch(/检查点密钥/);
  });
});

describe('checkCheckpoint', () => {
  const signer = testSigner();
  const good = signer.sign(POINT);

  it('accepts a valid checkpoint, with or without trusted keys', () => {
    expect(checkCheckpoint(good)).toBeNull();
    expect(checkCheckpoint(good, [testSigner(9).publicKey, signer.publicKey])).toBeNull();
  });

  it('detects a checkpoint moved to another point (rewound, other hash, other time)', () => {
    for (const change of [{ seq: POINT.seq - 1 }, { seq: POINT.seq + 1 }, { hash: 'cd'.repeat(32) }, { at: POINT.at + 1 }]) {
      expect(checkCheckpoint({ ...good, ...change })).toBe('bad_signature');
    }
  });

  it('detects a forged checkpoint only against trusted keys', () => {
    const forged = testSigner(66).sign({ ...POINT, hash: 'ef'.repeat(32) });
    expect(checkCheckpoint(forged)).toBeNull();
    expect(checkCheckpoint(forged, [signer.publicKey])).toBe('untrusted_key');
    expect(checkCheckpoint(good, [])).toBe('untrusted_key');
  });

  it('takes trusted keys only as the base64 of 32 raw bytes, and throws on anything else', () => {
    const raw = Buffer.from(signer.publicKey, 'base64');
    expect(parseCheckpointPublicKey(signer.publicKey)).toEqual(raw);
    expect(parseCheckpointPublicKey(signer.publicKey.replace(/=$/, ''))).toEqual(raw);
    const bad = [
      'AAAA',
      'notbase64',
      '',
      Buffer.alloc(31).toString('base64'),
      Buffer.alloc(33).toString('base64'),
      Buffer.alloc(64).toString('base64'),
      raw.toString('base64url'),
      ` ${signer.publicKey}`,
      `${signer.publicKey.slice(0, 10)}!${signer.publicKey.slice(11)}`,
      // Not canonical: the last character carries bits beyond the 32 bytes (Buffer.from would drop them).
      `${signer.publicKey.slice(0, 42)}${B64[B64.indexOf(signer.publicKey[42] ?? '') | 1]}=`,
    ];
    for (const k of bad) {
      expect(parseCheckpointPublicKey(k)).toBeNull();
      expect(() => checkCheckpoint(good, [signer.publicKey, k])).toThrow(
        expect.objectContaining({ code: 'invalid_key', argument: expect.objectContaining({ name: 'trustedKeys' }) }),
      );
    }
    expect(() => parseTrustedKeys([signer.publicKey, 'AAAA'])).toThrow(
      /trustedKeys\[1\] "AAAA" is not an Ed25519 public key: expected the base64/,
    );
  });

  it('detects a swapped key, a wrong key id, and malformed fields', () => {
    const other = testSigner(9);
    expect(checkCheckpoint({ ...good, publicKey: other.publicKey, keyId: other.keyId })).toBe('bad_signature');
    expect(checkCheckpoint({ ...good, keyId: other.keyId })).toBe('key_id_mismatch');
    const malformed: Partial<Checkpoint>[] = [{ publicKey: '' }, { publicKey: Buffer.alloc(31).toString('base64') }, { publicKey: '!!!' }];
    for (const change of malformed) expect(checkCheckpoint({ ...good, ...change })).toBe('malformed');
    expect(checkCheckpoint({ ...good, signature: '' })).toBe('bad_signature');
    expect(checkCheckpoint({ ...good, signature: Buffer.alloc(64).toString('base64') })).toBe('bad_signature');
    expect(checkCheckpoint({ ...good, signature: good.signature.slice(4) })).toBe('bad_signature');
  });
});
