/**
 * Keyed pseudonyms. Deterministic (the same subject always gets the same pseudonym from the same
 * key), one-way without the key, prefixed `psn_` and base32 (RFC 4648, lower case, no padding).
 *
 * - Audit pseudonyms: `psn_` + base32(trunc16(HMAC(K_audit, subject id))), with
 *   K_audit = HKDF(audit pseudonym secret, "pipa/pseudonym/audit/v1"). The audit log names subjects
 *   this way, so it keeps its meaning after a subject is crypto-shredded and names nobody by itself.
 * - Per-recipient pseudonyms: K_r = HKDF(sharing secret, encodeContext("pipa/pseudonym/recipient/v1",
 *   [recipient id])), pseudonym = `psn_` + base32(trunc16(HMAC(K_r, subject id))). Two recipients
 *   receive unrelated identifiers for the same person and cannot join their data sets on them.
 *
 * SHA-256 by default, SM3 in sm4 deployments.
 */
import { createHmac } from 'node:crypto';
import { base32 } from './encoding.js';
import { CryptoError } from './errors.js';
import { deriveKey, type KdfDigest } from './kdf.js';

export const PSEUDONYM_PREFIX = 'psn_';

export interface PseudonymOptions {
  /** `SystemKeys.auditPseudonym`. */
  auditKey: Buffer;
  /** `SystemKeys.sharingPseudonym`. */
  sharingKey: Buffer;
  digest?: KdfDigest;
  /** Bytes of HMAC output kept, 10..32. Default 16 (26 base32 characters). */
  length?: number;
}

export interface Pseudonymizer {
  /** The subject's pseudonym in the audit log. */
  audit(subject: string): string;
  /** The subject's pseudonym as disclosed to `recipient`. */
  forRecipient(recipient: string, subject: string): string;
  /** A function for one recipient, with its key derived once. */
  recipient(recipient: string): (subject: string) => string;
}

export function isPseudonym(value: string): boolean {
  return /^psn_[a-z2-7]{16,52}$/.test(value);
}

export function createPseudonymizer(options: PseudonymOptions): Pseudonymizer {
  const digest = options.digest ?? 'sha256';
  const length = options.length ?? 16;
  if (!Number.isInteger(length) || length < 10 || length > 32) {
    throw new CryptoError(
      'invalid_argument',
      `pseudonym length must be 10..32 bytes (got ${length})`,
      `假名长度必须为 10 到 32 字节（实际为 ${length}）`,
    );
  }
  for (const [name, key] of [
    ['auditKey', options.auditKey],
    ['sharingKey', options.sharingKey],
  ] as const) {
    if (key.length < 32)
      throw new CryptoError(
        'invalid_argument',
        `${name} is ${key.length} bytes; at least 32 are needed`,
        `${name} 为 ${key.length} 字节，至少需要 32 字节`,
      );
  }
  if (options.auditKey.equals(options.sharingKey)) {
    throw new CryptoError('invalid_argument', 'auditKey and sharingKey must be different keys', 'auditKey 与 sharingKey 必须是不同的密钥');
  }
  const auditKey = deriveKey(digest, options.auditKey, 'pipa/pseudonym/audit/v1', []);
  const sharingRoot = Buffer.from(options.sharingKey);
  const recipientKeys = new Map<string, Buffer>();

  const pseudonym = (key: Buffer, subject: string): string => {
    if (subject === '') throw new CryptoError('invalid_argument', 'subject id must be non-empty', 'subject id 不能为空');
    const mac = createHmac(digest, key).update(subject, 'utf8').digest();
    return PSEUDONYM_PREFIX + base32(mac.subarray(0, length));
  };
  const recipientKey = (recipient: string): Buffer => {
    if (recipient === '') throw new CryptoError('invalid_argument', 'recipient id must be non-empty', 'recipient id 不能为空');
    let key = recipientKeys.get(recipient);
    if (key === undefined) {
      key = deriveKey(digest, sharingRoot, 'pipa/pseudonym/recipient/v1', [recipient]);
      recipientKeys.set(recipient, key);
    }
    return key;
  };

  return {
    audit: (subject) => pseudonym(auditKey, subject),
    forRecipient: (recipient, subject) => pseudonym(recipientKey(recipient), subject),
    recipient(recipient) {
      const key = recipientKey(recipient);
      return (subject) => pseudonym(key, subject);
    },
  };
}
