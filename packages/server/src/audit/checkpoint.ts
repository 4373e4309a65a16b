/**
 * Signed checkpoints. A checkpoint says "the audit chain at sequence number `seq` had hash `hash`",
 * signed at `at` with an Ed25519 key. Whoever holds a checkpoint and the public key can check an
 * exported range offline: recompute the chain up to `seq` and compare. Rewriting history before a
 * checkpoint then needs the private key, not just write access to the database.
 *
 *   signed message = UTF-8 of "pipa-audit-checkpoint-v1\n" + seq + "\n" + hash + "\n" + at
 *   (seq and at in decimal, hash lower-case hex), signature = Ed25519 (RFC 8032), base64.
 *   public key = the raw 32-byte Ed25519 key, base64; key id = "ed25519:" + first 16 hex digits of
 *   SHA-256(raw public key).
 *
 * The key comes from a 32-byte seed (e.g. derived from a system key the keyring unwraps, so it need
 * not be stored anywhere else) or from a PEM private key.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject, sign, verify } from 'node:crypto';
import { AuditError } from './errors.js';

export const CHECKPOINT_FORMAT = 'pipa-audit-checkpoint-v1';

export interface Checkpoint {
  seq: number;
  hash: string;
  at: number;
  keyId: string;
  /** Raw Ed25519 public key, base64. */
  publicKey: string;
  /** Base64. */
  signature: string;
}

export interface CheckpointSigner {
  readonly keyId: string;
  /** Raw Ed25519 public key, base64: give it to the auditor. */
  readonly publicKey: string;
  sign(point: { seq: number; hash: string; at: number }): Checkpoint;
}

// PKCS#8 DER prefix of an Ed25519 private key (RFC 8410): the 32-byte seed follows.
const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

export function checkpointMessage(point: { seq: number; hash: string; at: number }): Buffer {
  return Buffer.from(`${CHECKPOINT_FORMAT}\n${point.seq}\n${point.hash}\n${point.at}`, 'utf8');
}

export function checkpointKeyId(publicKeyRaw: Uint8Array): string {
  return `ed25519:${createHash('sha256').update(publicKeyRaw).digest('hex').slice(0, 16)}`;
}

function rawPublicKey(key: KeyObject): Buffer {
  const jwk = key.export({ format: 'jwk' });
  if (jwk.crv !== 'Ed25519' || typeof jwk.x !== 'string') {
    throw new AuditError('invalid_key', 'the checkpoint key is not an Ed25519 key', '检查点密钥不是 Ed25519 密钥');
  }
  return Buffer.from(jwk.x, 'base64url');
}

function publicKeyObject(publicKeyBase64: string): KeyObject {
  const raw = Buffer.from(publicKeyBase64, 'base64');
  if (raw.length !== 32) {
    throw new AuditError('invalid_key', 'an Ed25519 public key is 32 bytes (base64)', 'Ed25519 公钥应为 32 字节（base64）');
  }
  return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') }, format: 'jwk' });
}

/**
 * A signer from a 32-byte seed, a PEM (PKCS#8) private key, or a KeyObject.
 */
export function createCheckpointSigner(key: Uint8Array | string | KeyObject): CheckpointSigner {
  let privateKey: KeyObject;
  try {
    if (typeof key === 'string') privateKey = createPrivateKey(key);
    else if (key instanceof Uint8Array) {
      if (key.length !== 32) throw new Error(`seed is ${key.length} bytes`);
      privateKey = createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, key]), format: 'der', type: 'pkcs8' });
    } else privateKey = key;
  } catch (err) {
    throw new AuditError(
      'invalid_key',
      `cannot use the checkpoint key: ${(err as Error).message} (expected a 32-byte seed or an Ed25519 PEM private key)`,
      `无法使用检查点密钥：${(err as Error).message}（应为 32 字节种子或 Ed25519 PEM 私钥）`,
      { cause: err },
    );
  }
  if (privateKey.asymmetricKeyType !== 'ed25519') {
    throw new AuditError('invalid_key', 'the checkpoint key is not an Ed25519 key', '检查点密钥不是 Ed25519 密钥');
  }
  const raw = rawPublicKey(createPublicKey(privateKey));
  const keyId = checkpointKeyId(raw);
  const publicKey = raw.toString('base64');
  return {
    keyId,
    publicKey,
    sign(point) {
      const signature = sign(null, checkpointMessage(point), privateKey).toString('base64');
      return { seq: point.seq, hash: point.hash, at: point.at, keyId, publicKey, signature };
    },
  };
}

/** A new key pair: the PEM private key to keep secret, the base64 public key to hand out. */
export function generateCheckpointKey(): { privateKeyPem: string; publicKey: string; keyId: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const raw = rawPublicKey(publicKey);
  return {
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicKey: raw.toString('base64'),
    keyId: checkpointKeyId(raw),
  };
}

export type CheckpointProblem = 'bad_signature' | 'untrusted_key' | 'key_id_mismatch' | 'malformed';

/** What a trusted key must be, for error messages. */
export const TRUSTED_KEY_FORM = {
  en: 'the base64 of a raw 32-byte Ed25519 public key (44 characters ending in "="), as GET /v1/audit/checkpoints gives it in signingKey.publicKey',
  zh: 'Ed25519 公钥原始 32 字节的 base64（44 个字符，以 "=" 结尾），即 GET /v1/audit/checkpoints 返回的 signingKey.publicKey',
};

/**
 * A checkpoint public key as an auditor gives it: the base64 of the raw 32-byte Ed25519 key, in its
 * canonical form (the final "=" may be left out). Null for anything else: other lengths, other
 * alphabets, stray characters (which `Buffer.from(…, 'base64')` would skip silently).
 */
export function parseCheckpointPublicKey(value: unknown): Buffer | null {
  if (typeof value !== 'string' || !/^[A-Za-z0-9+/]{43}=?$/.test(value)) return null;
  const raw = Buffer.from(value, 'base64');
  if (raw.length !== 32 || raw.toString('base64').slice(0, 43) !== value.slice(0, 43)) return null;
  return raw;
}

/**
 * The raw bytes of each trusted key; `invalid_key` naming the first that is not one, so that a typo
 * is a bad argument rather than every checkpoint reported as signed by an untrusted key.
 */
export function parseTrustedKeys(trustedKeys: readonly string[]): Buffer[] {
  return trustedKeys.map((k, i) => {
    const raw = parseCheckpointPublicKey(k);
    if (raw === null) {
      const shown = typeof k === 'string' ? JSON.stringify(k.length > 80 ? `${k.slice(0, 80)}…` : k) : String(k);
      const problem = `${shown} is not an Ed25519 public key: expected ${TRUSTED_KEY_FORM.en}`;
      const problemZh = `${shown} 不是 Ed25519 公钥：应为${TRUSTED_KEY_FORM.zh}`;
      throw new AuditError('invalid_key', `trustedKeys[${i}] ${problem}`, `trustedKeys[${i}] ${problemZh}`, {
        argument: { name: 'trustedKeys', problem, problemZh },
      });
    }
    return raw;
  });
}

/**
 * Check a checkpoint's signature. With `trustedKeys` (base64 public keys the auditor obtained
 * independently), the checkpoint's key must be one of them; without, the embedded key is used,
 * which proves integrity of the checkpoint but not who made it. A trusted key that is not the
 * base64 of 32 bytes throws `invalid_key` (see `parseTrustedKeys`).
 */
export function checkCheckpoint(cp: Checkpoint, trustedKeys?: readonly string[]): CheckpointProblem | null {
  const trusted = trustedKeys === undefined ? undefined : parseTrustedKeys(trustedKeys);
  let key: KeyObject;
  let raw: Buffer;
  try {
    key = publicKeyObject(cp.publicKey);
    raw = Buffer.from(cp.publicKey, 'base64');
  } catch {
    return 'malformed';
  }
  if (trusted !== undefined && !trusted.some((k) => k.equals(raw))) return 'untrusted_key';
  if (checkpointKeyId(raw) !== cp.keyId) return 'key_id_mismatch';
  const signature = Buffer.from(cp.signature, 'base64');
  if (signature.length !== 64) return 'bad_signature';
  return verify(null, checkpointMessage(cp), key, signature) ? null : 'bad_signature';
}
