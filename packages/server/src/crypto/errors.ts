/**
 * The one error type of the crypto module. Every failure a caller can meet (bad key material,
 * tampered or truncated ciphertext, missing key version, destroyed key) is a `CryptoError` with a
 * code from a closed set, so callers branch on `code`, never on message text. `message` is English
 * (logs, tests); `messageZh` is the zh-CN text for operators (CLI, console), shown first.
 */

export const CRYPTO_ERROR_CODES = [
  /** Key material that cannot be used: not base64, wrong length, duplicated across versions. */
  'malformed_key',
  /** The key file is readable by group or others, or is not a regular file. */
  'key_file_insecure',
  /** The key file is not the JSON document pipa writes. */
  'key_file_invalid',
  /**
   * No master key is configured (no key file, no `PIPA_MASTER_KEY`) for an installation whose system
   * keys are already wrapped, or for a command that does not set up an installation.
   */
  'master_key_missing',
  /**
   * None of the installation's system keys unwraps under the configured master key: it is another
   * master key than the one that wrapped them (a configuration error, not tampering).
   */
  'master_key_mismatch',
  /** A key version that the provider does not hold (old KEK removed before rewrap finished). */
  'unknown_key_version',
  /** The provider cannot do this (e.g. rotate keys that live in environment variables). */
  'unsupported_operation',
  /** The Node/OpenSSL build lacks an algorithm the suite needs (SM4, SM3). */
  'suite_unavailable',
  /** The envelope ends before its header, nonce or tag. */
  'envelope_truncated',
  /** The envelope's format version byte is not one this build reads. */
  'envelope_unknown_version',
  /** The envelope's suite id is not a known cipher suite. */
  'envelope_unknown_suite',
  /** The envelope is structurally wrong (nonce length, record kind). */
  'envelope_malformed',
  /** Authentication failed: the ciphertext, header or context (app, subject, field) does not match. */
  'authentication_failed',
  /** The envelope was sealed under another key version than the key offered to open it. */
  'key_version_mismatch',
  /** The data key was destroyed (crypto-shredded); nothing it protected can be read any more. */
  'key_destroyed',
  /** A caller passed an argument outside the documented range (programming error). */
  'invalid_argument',
  /** A value cannot be normalised for a blind index (not a phone number, ID number, e-mail). */
  'invalid_value',
  /** The KMS client failed to wrap or unwrap. */
  'kms_error',
] as const;

export type CryptoErrorCode = (typeof CRYPTO_ERROR_CODES)[number];

export class CryptoError extends Error {
  readonly code: CryptoErrorCode;
  /** zh-CN text for operators; `message` is the English text. */
  readonly messageZh: string;
  constructor(code: CryptoErrorCode, message: string, messageZh: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CryptoError';
    this.code = code;
    this.messageZh = messageZh;
  }
}

export function isCryptoError(err: unknown, code?: CryptoErrorCode): err is CryptoError {
  return err instanceof CryptoError && (code === undefined || err.code === code);
}
