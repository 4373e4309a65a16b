/**
 * Cipher suites behind one interface. A suite turns 32 bytes of key material into working keys
 * once (`prepareKey`), then seals and opens envelope bodies with no per-call derivation.
 *
 * - `aes-256-gcm` (id 1, the default): AES-256 in GCM mode, 12-byte random nonce, 16-byte tag.
 *   The key material is the AES key.
 * - `sm4` (id 2, GB/T 39786 deployments): SM4-CTR for confidentiality and HMAC-SM3 for integrity,
 *   encrypt-then-MAC. SM4 keys are 16 bytes, so the encryption key (16 bytes) and the MAC key
 *   (32 bytes) are derived from the key material with HKDF-SM3 under distinct labels. 16-byte
 *   random IV (the whole initial counter block), full 32-byte HMAC-SM3 tag, compared in constant time.
 *
 * Both come from node:crypto (OpenSSL 3). The low-level primitives are exported so the
 * known-answer tests can check them against the published vectors.
 */
import { createCipheriv, createDecipheriv, createHmac, getCiphers, getHashes, timingSafeEqual } from 'node:crypto';
import { CryptoError } from './errors.js';
import { deriveKey, type KdfDigest } from './kdf.js';

export const SUITE_NAMES = ['aes-256-gcm', 'sm4'] as const;
export type SuiteName = (typeof SUITE_NAMES)[number];

/** Working keys of one suite, derived once from 32 bytes of key material. */
export interface SuiteKey {
  readonly suite: SuiteName;
  /** The cipher key (32 bytes for AES-256, 16 bytes for SM4). */
  readonly enc: Buffer;
  /** The MAC key for encrypt-then-MAC suites, empty for AEAD suites. */
  readonly mac: Buffer;
}

export interface CipherSuite {
  readonly name: SuiteName;
  /** The suite id byte written into envelopes. */
  readonly id: number;
  readonly nonceLength: number;
  readonly tagLength: number;
  /** The hash used for key derivation, blind indexes and pseudonyms in a deployment of this suite. */
  readonly digest: KdfDigest;
  prepareKey(material: Buffer): SuiteKey;
  /**
   * Encrypt into `out`, which holds the authenticated header (format, suite, key version, nonce
   * length, nonce) in `out[0, headerLength)` and has room for exactly the ciphertext and the tag.
   * `context` is the caller's associated data (app, subject, field).
   */
  seal(key: SuiteKey, out: Buffer, headerLength: number, plaintext: Buffer, context: Buffer): void;
  /** Verify and decrypt `envelope` (header already parsed and checked); throws `authentication_failed`. */
  open(key: SuiteKey, envelope: Buffer, headerLength: number, context: Buffer): Buffer;
}

// ---------------------------------------------------------------------------------------------
// Primitives

/** AES-256-GCM encryption (NIST SP 800-38D), 16-byte tag. `aad` parts are authenticated in order. */
export function aes256GcmEncrypt(key: Buffer, iv: Buffer, plaintext: Buffer, aad: readonly Buffer[]): { ciphertext: Buffer; tag: Buffer } {
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: 16 });
  for (const part of aad) cipher.setAAD(part);
  const ciphertext = cipher.update(plaintext);
  cipher.final();
  return { ciphertext, tag: cipher.getAuthTag() };
}

/** AES-256-GCM decryption; throws `authentication_failed` when the tag does not verify. */
export function aes256GcmDecrypt(key: Buffer, iv: Buffer, ciphertext: Buffer, tag: Buffer, aad: readonly Buffer[]): Buffer {
  const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: 16 });
  for (const part of aad) decipher.setAAD(part);
  decipher.setAuthTag(tag);
  const plaintext = decipher.update(ciphertext);
  try {
    decipher.final();
  } catch {
    plaintext.fill(0);
    throw authenticationFailed();
  }
  return plaintext;
}

/** SM4 in CTR mode (GB/T 32907 block cipher, 128-bit big-endian counter starting at `iv`). Encrypts and decrypts. */
export function sm4Ctr(key: Buffer, iv: Buffer, data: Buffer): Buffer {
  const cipher = createCipheriv('sm4-ctr', key, iv);
  const out = cipher.update(data);
  cipher.final();
  return out;
}

/** HMAC-SM3 (GB/T 32905 hash in HMAC, RFC 2104) over the concatenation of `parts`. */
export function hmacSm3(key: Buffer, parts: readonly Buffer[]): Buffer {
  const mac = createHmac('sm3', key);
  for (const part of parts) mac.update(part);
  return mac.digest();
}

function authenticationFailed(): CryptoError {
  return new CryptoError(
    'authentication_failed',
    'ciphertext authentication failed: the envelope was altered, or it belongs to another key, app, subject or field',
    '密文认证失败：密文被篡改，或不属于该密钥、应用、主体或字段',
  );
}

function checkMaterial(material: Buffer): void {
  if (material.length !== 32) {
    throw new CryptoError(
      'invalid_argument',
      `key material is ${material.length} bytes; 32 are required`,
      `密钥材料为 ${material.length} 字节，应为 32 字节`,
    );
  }
}

// ---------------------------------------------------------------------------------------------
// aes-256-gcm

const aesGcm: CipherSuite = {
  name: 'aes-256-gcm',
  id: 1,
  nonceLength: 12,
  tagLength: 16,
  digest: 'sha256',
  prepareKey(material) {
    checkMaterial(material);
    return { suite: 'aes-256-gcm', enc: Buffer.from(material), mac: Buffer.alloc(0) };
  },
  seal(key, out, headerLength, plaintext, context) {
    const header = out.subarray(0, headerLength);
    const { ciphertext, tag } = aes256GcmEncrypt(key.enc, out.subarray(headerLength - 12, headerLength), plaintext, [header, context]);
    ciphertext.copy(out, headerLength);
    tag.copy(out, headerLength + ciphertext.length);
  },
  open(key, envelope, headerLength, context) {
    const tagStart = envelope.length - 16;
    return aes256GcmDecrypt(
      key.enc,
      envelope.subarray(headerLength - 12, headerLength),
      envelope.subarray(headerLength, tagStart),
      envelope.subarray(tagStart),
      [envelope.subarray(0, headerLength), context],
    );
  },
};

// ---------------------------------------------------------------------------------------------
// sm4: SM4-CTR + HMAC-SM3, encrypt-then-MAC

const SM4_KDF_LABEL = 'pipa/sm4-ctr-hmac-sm3/v1';

/** MAC input: header (incl. nonce) || ciphertext || context || u64be(context length). */
function sm4Mac(key: SuiteKey, headerAndCiphertext: Buffer, context: Buffer): Buffer {
  const length = Buffer.alloc(8);
  length.writeBigUInt64BE(BigInt(context.length));
  return hmacSm3(key.mac, [headerAndCiphertext, context, length]);
}

const sm4: CipherSuite = {
  name: 'sm4',
  id: 2,
  nonceLength: 16,
  tagLength: 32,
  digest: 'sm3',
  prepareKey(material) {
    checkMaterial(material);
    return {
      suite: 'sm4',
      enc: deriveKey('sm3', material, SM4_KDF_LABEL, ['enc'], 16),
      mac: deriveKey('sm3', material, SM4_KDF_LABEL, ['mac'], 32),
    };
  },
  seal(key, out, headerLength, plaintext, context) {
    const ciphertext = sm4Ctr(key.enc, out.subarray(headerLength - 16, headerLength), plaintext);
    ciphertext.copy(out, headerLength);
    const end = headerLength + ciphertext.length;
    sm4Mac(key, out.subarray(0, end), context).copy(out, end);
  },
  open(key, envelope, headerLength, context) {
    const tagStart = envelope.length - 32;
    const expected = sm4Mac(key, envelope.subarray(0, tagStart), context);
    if (!timingSafeEqual(expected, envelope.subarray(tagStart))) throw authenticationFailed();
    return sm4Ctr(key.enc, envelope.subarray(headerLength - 16, headerLength), envelope.subarray(headerLength, tagStart));
  },
};

// ---------------------------------------------------------------------------------------------
// Registry

const BY_NAME: Record<SuiteName, CipherSuite> = { 'aes-256-gcm': aesGcm, sm4 };
const BY_ID = new Map<number, CipherSuite>([
  [aesGcm.id, aesGcm],
  [sm4.id, sm4],
]);

let sm4Available: boolean | undefined;

/** Whether this Node/OpenSSL build has what the suite needs (SM4 and SM3 may be absent from some builds). */
export function isSuiteAvailable(name: SuiteName): boolean {
  if (name !== 'sm4') return true;
  sm4Available ??= getCiphers().includes('sm4-ctr') && getHashes().includes('sm3');
  return sm4Available;
}

export function isSuiteName(value: string): value is SuiteName {
  return (SUITE_NAMES as readonly string[]).includes(value);
}

/** The suite by name; throws `invalid_argument` for an unknown name, `suite_unavailable` when OpenSSL lacks it. */
export function getSuite(name: SuiteName | string): CipherSuite {
  if (!isSuiteName(name)) {
    throw new CryptoError(
      'invalid_argument',
      `unknown cipher suite "${name}"; expected one of ${SUITE_NAMES.join(', ')}`,
      `未知的密码套件 "${name}"，应为 ${SUITE_NAMES.join('、')} 之一`,
    );
  }
  if (!isSuiteAvailable(name)) {
    throw new CryptoError(
      'suite_unavailable',
      `cipher suite "${name}" needs SM4-CTR and SM3, which this Node/OpenSSL build (OpenSSL ${process.versions.openssl}) does not provide`,
      `密码套件 "${name}" 需要 SM4-CTR 和 SM3，但当前 Node/OpenSSL（OpenSSL ${process.versions.openssl}）不支持`,
    );
  }
  return BY_NAME[name];
}

/** The suite for an envelope's suite id byte (available or not), or undefined for an unknown id. */
export function suiteById(id: number): CipherSuite | undefined {
  return BY_ID.get(id);
}
