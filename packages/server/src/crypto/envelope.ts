/**
 * The ciphertext envelope: a versioned binary format that carries everything needed to open it
 * except the key and the context. Byte by byte (all integers big-endian):
 *
 *   offset  size  field
 *   0       1     format version (1)
 *   1       1     suite id (1 = aes-256-gcm, 2 = sm4)
 *   2       4     key version (u32): the DEK version for field values, the KEK version for wrapped keys
 *   6       1     nonce length N (12 for aes-256-gcm, 16 for sm4; must match the suite)
 *   7       N     nonce (random)
 *   7+N     L     ciphertext (same length as the plaintext: both suites are stream modes)
 *   7+N+L   T     tag (16 for aes-256-gcm, 32 for sm4)
 *
 * The header (bytes 0 .. 7+N) is authenticated together with the caller's context (app, subject,
 * field), so neither the header nor the context can change without `authentication_failed`.
 * Parsing is strict: a short buffer, an unknown format version or suite id, or a nonce length that
 * does not match the suite is a typed `CryptoError`, never a crash or a silent misread.
 */
import { CryptoError } from './errors.js';
import { type RandomSource, randomInto } from './random.js';
import { type CipherSuite, getSuite, type SuiteKey, suiteById } from './suites.js';

export const ENVELOPE_FORMAT_VERSION = 1;
/** Bytes before the nonce: format version, suite id, key version, nonce length. */
export const ENVELOPE_FIXED_HEADER_LENGTH = 7;

export interface EnvelopeHeader {
  formatVersion: number;
  suite: CipherSuite;
  keyVersion: number;
  nonce: Buffer;
  /** Bytes up to the end of the nonce. */
  headerLength: number;
  ciphertextLength: number;
}

/** View any byte array as a Buffer without copying; anything else is a malformed envelope. */
export function asBuffer(bytes: unknown, what = 'envelope'): Buffer {
  if (Buffer.isBuffer(bytes)) return bytes;
  if (bytes instanceof Uint8Array) return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  throw new CryptoError(
    'envelope_malformed',
    `${what} must be bytes (Buffer or Uint8Array), got ${typeof bytes}`,
    `${what} 必须是字节数组（Buffer 或 Uint8Array），实际为 ${typeof bytes}`,
  );
}

function truncated(what: string, need: number, have: number): CryptoError {
  return new CryptoError(
    'envelope_truncated',
    `envelope truncated: ${what} needs ${need} bytes, only ${have} present`,
    `密文信封被截断：${what}需要 ${need} 字节，实际只有 ${have} 字节`,
  );
}

/** Parse and check an envelope header. Never reads past the end; every defect is a typed error. */
export function parseEnvelope(input: Uint8Array): EnvelopeHeader {
  const bytes = asBuffer(input);
  if (bytes.length < ENVELOPE_FIXED_HEADER_LENGTH) throw truncated('the header', ENVELOPE_FIXED_HEADER_LENGTH, bytes.length);
  const formatVersion = bytes.readUInt8(0);
  if (formatVersion !== ENVELOPE_FORMAT_VERSION) {
    throw new CryptoError(
      'envelope_unknown_version',
      `envelope format version ${formatVersion} is not supported (this build reads version ${ENVELOPE_FORMAT_VERSION})`,
      `不支持的密文信封格式版本 ${formatVersion}（当前版本只能读取版本 ${ENVELOPE_FORMAT_VERSION}）`,
    );
  }
  const suiteId = bytes.readUInt8(1);
  const known = suiteById(suiteId);
  if (known === undefined) {
    throw new CryptoError(
      'envelope_unknown_suite',
      `envelope names unknown cipher suite id ${suiteId}`,
      `密文信封中的密码套件编号 ${suiteId} 未知`,
    );
  }
  const suite = getSuite(known.name);
  const keyVersion = bytes.readUInt32BE(2);
  if (keyVersion === 0)
    throw new CryptoError(
      'envelope_malformed',
      'envelope key version is 0; versions start at 1',
      '密文信封的密钥版本为 0，版本号应从 1 开始',
    );
  const nonceLength = bytes.readUInt8(6);
  if (nonceLength !== suite.nonceLength) {
    throw new CryptoError(
      'envelope_malformed',
      `envelope nonce length is ${nonceLength}; suite ${suite.name} uses ${suite.nonceLength}`,
      `密文信封的随机数长度为 ${nonceLength}，套件 ${suite.name} 应为 ${suite.nonceLength}`,
    );
  }
  const headerLength = ENVELOPE_FIXED_HEADER_LENGTH + nonceLength;
  const minimum = headerLength + suite.tagLength;
  if (bytes.length < minimum) throw truncated('the nonce and tag', minimum, bytes.length);
  return {
    formatVersion,
    suite,
    keyVersion,
    nonce: bytes.subarray(ENVELOPE_FIXED_HEADER_LENGTH, headerLength),
    headerLength,
    ciphertextLength: bytes.length - minimum,
  };
}

/** Seal `plaintext` into a new envelope under `key` (prepared for `suite`) with a fresh nonce. */
export function sealEnvelope(
  suite: CipherSuite,
  key: SuiteKey,
  keyVersion: number,
  plaintext: Buffer,
  context: Buffer,
  random: RandomSource,
): Buffer {
  const headerLength = ENVELOPE_FIXED_HEADER_LENGTH + suite.nonceLength;
  const out = Buffer.allocUnsafe(headerLength + plaintext.length + suite.tagLength);
  out.writeUInt8(ENVELOPE_FORMAT_VERSION, 0);
  out.writeUInt8(suite.id, 1);
  out.writeUInt32BE(keyVersion, 2);
  out.writeUInt8(suite.nonceLength, 6);
  randomInto(random, out, ENVELOPE_FIXED_HEADER_LENGTH, suite.nonceLength);
  suite.seal(key, out, headerLength, plaintext, context);
  return out;
}

/** What an envelope says about itself, without any key: for tools, logs and auditors. */
export interface EnvelopeDescription {
  formatVersion: number;
  suite: string;
  keyVersion: number;
  nonce: string;
  ciphertextBytes: number;
  tagBytes: number;
}

export function describeEnvelope(input: Uint8Array): EnvelopeDescription {
  const h = parseEnvelope(input);
  return {
    formatVersion: h.formatVersion,
    suite: h.suite.name,
    keyVersion: h.keyVersion,
    nonce: h.nonce.toString('hex'),
    ciphertextBytes: h.ciphertextLength,
    tagBytes: h.suite.tagLength,
  };
}
