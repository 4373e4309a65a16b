/**
 * Key derivation: HKDF (RFC 5869) over the suite's hash. SHA-256 for `aes-256-gcm` deployments,
 * SM3 for `sm4` deployments (GB/T 39786: commercial-cryptography deployments derive keys with SM3).
 * Every derivation names its purpose in `info` through `encodeContext`, so no two purposes can
 * produce the same key.
 */
import { hkdfSync } from 'node:crypto';
import { encodeContext } from './encoding.js';
import { CryptoError } from './errors.js';

export type KdfDigest = 'sha256' | 'sm3';

/** HKDF-Extract-and-Expand. `salt` defaults to none (RFC 5869: a string of HashLen zeros). */
export function hkdf(digest: KdfDigest, ikm: Buffer, info: Buffer, length: number, salt: Buffer = EMPTY): Buffer {
  if (ikm.length < 16) {
    throw new CryptoError(
      'invalid_argument',
      `key derivation input is ${ikm.length} bytes; at least 16 are needed`,
      `密钥派生输入只有 ${ikm.length} 字节，至少需要 16 字节`,
    );
  }
  return Buffer.from(hkdfSync(digest, ikm, salt, info, length));
}

/** Derive a key for one named purpose: HKDF(ikm, info = encodeContext(label, parts)). */
export function deriveKey(digest: KdfDigest, ikm: Buffer, label: string, parts: readonly string[], length = 32): Buffer {
  return hkdf(digest, ikm, encodeContext(label, parts), length);
}

const EMPTY = Buffer.alloc(0);
