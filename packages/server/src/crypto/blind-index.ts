/**
 * Blind indexes: look a subject up by phone number, ID number or e-mail without decrypting.
 *
 *   index = truncate_L( HMAC(K_app,field, normalise(value)) )
 *   K_app,field = HKDF(root blind-index key, info = encodeContext("pipa/blind-index/v1", [app, field]))
 *
 * HMAC-SHA256 and HKDF-SHA256 by default; HMAC-SM3 and HKDF-SM3 for sm4 (GB/T 39786) deployments.
 * The root key is a system secret (keyring.ts), random and separate from every encryption key, so
 * the index cannot be turned into a decryption oracle and survives master key rotation. Each app and
 * field gets its own derived key: the same phone number indexes differently in two apps or fields,
 * so indexes cannot be joined across them.
 *
 * Truncation (`length`, default 16 bytes) trades collisions against what an index reveals; see
 * docs/crypto.md. Values are normalised first so that "138 1234 5678", "+86-138-1234-5678" and
 * full-width "１３８１２３４５６７８" find the same row.
 */
import { createHmac } from 'node:crypto';
import { CryptoError } from './errors.js';
import { deriveKey, type KdfDigest } from './kdf.js';

// ---------------------------------------------------------------------------------------------
// Normalisers. Errors never repeat the value: it is personal information and errors get logged.

export const NORMALISER_KINDS = ['phone', 'id-number', 'email', 'text', 'exact'] as const;
export type NormaliserKind = (typeof NORMALISER_KINDS)[number];

function invalidValue(what: string, whatZh: string): CryptoError {
  return new CryptoError('invalid_value', `value is not ${what}`, `该值不是${whatZh}`);
}

// Spaces, hyphens and dashes (U+2010..U+2015, U+2212, U+30FC, U+FF0D is NFKC'd to '-'), dots, brackets, slashes.
const PHONE_SEPARATORS = /[\s\-\u2010-\u2015\u2212\u30fc.()[\]/]/g;

export interface PhoneNormaliseOptions {
  /** Country calling code for numbers written without one. Default "86" (China). */
  defaultCountryCode?: string;
}

/**
 * A phone number in E.164 (`+8613812345678`). Accepts spaces, dashes, dots and brackets, full-width
 * digits and plus sign, an international `00` prefix, a trunk `0` (`010-12345678` -> `+861012345678`),
 * and for China an 11-digit mobile number without country code.
 */
export function normalisePhone(value: string, options: PhoneNormaliseOptions = {}): string {
  const cc = options.defaultCountryCode ?? '86';
  if (!/^[1-9]\d{0,2}$/.test(cc)) {
    throw new CryptoError(
      'invalid_argument',
      `defaultCountryCode must be 1-3 digits without "+" (got "${cc}")`,
      `defaultCountryCode 必须是 1-3 位数字且不带 "+"（实际为 "${cc}"）`,
    );
  }
  let s = value.normalize('NFKC').trim().replace(PHONE_SEPARATORS, '');
  if (s.startsWith('00')) s = `+${s.slice(2)}`;
  let digits: string;
  if (s.startsWith('+')) {
    digits = s.slice(1);
    if (!/^\d+$/.test(digits)) throw invalidValue('a phone number', '电话号码');
    // "+86 (0)10 ..." : a trunk 0 written after the Chinese country code.
    if (digits.startsWith('860')) digits = `86${digits.slice(3)}`;
  } else {
    if (!/^\d+$/.test(s)) throw invalidValue('a phone number', '电话号码');
    if (cc === '86' && /^861\d{10}$/.test(s)) digits = s;
    else if (cc === '86' && /^1\d{10}$/.test(s)) digits = `86${s}`;
    else if (cc === '86' && /^[48]00\d{7}$/.test(s)) digits = `86${s}`;
    else if (/^0[1-9]\d{5,}$/.test(s)) digits = `${cc}${s.slice(1)}`;
    else if (cc !== '86' && /^[1-9]\d{5,}$/.test(s)) digits = `${cc}${s}`;
    else throw invalidValue('a phone number with an area or country code', '带区号或国家代码的电话号码');
  }
  if (digits.length < 7 || digits.length > 15 || digits.startsWith('0'))
    throw invalidValue('an E.164 phone number', 'E.164 格式的电话号码');
  if (digits.startsWith('86')) {
    // Mainland China: mobiles are 1[3-9] + 9 digits; Beijing landlines 10 + 8 digits; other landlines
    // a 2-3 digit area code (without the trunk 0) + 7-8 digits; 400/800 service numbers 10 digits.
    const national = digits.slice(2);
    if (!/^1[3-9]\d{9}$/.test(national) && !/^10\d{8}$/.test(national) && !/^[2-9]\d{8,10}$/.test(national)) {
      throw invalidValue('a mainland China phone number', '中国大陆电话号码');
    }
  }
  return `+${digits}`;
}

/**
 * A Chinese resident identity card number (居民身份证号码): 18 characters with an upper-case check
 * character X, or a legacy 15-digit number. Full-width characters and spaces are accepted. The check
 * digit is not verified here (the detector does that): an index must find a stored value as stored.
 */
export function normaliseIdNumber(value: string): string {
  const s = value.normalize('NFKC').replace(/\s+/g, '').toUpperCase();
  if (!/^\d{17}[\dX]$/.test(s) && !/^\d{15}$/.test(s))
    throw invalidValue('an 18-character or 15-digit ID number', '18 位或 15 位身份证号码');
  return s;
}

/** An e-mail address, trimmed and lower-cased (full-width characters folded). */
export function normaliseEmail(value: string): string {
  const s = value.normalize('NFKC').trim().toLowerCase();
  if (!/^[^\s@]+@[^\s@]+$/.test(s)) throw invalidValue('an e-mail address', '电子邮箱地址');
  return s;
}

/** Free text: NFKC, trimmed, inner whitespace collapsed to one space; case kept. */
export function normaliseText(value: string): string {
  const s = value.normalize('NFKC').trim().replace(/\s+/g, ' ');
  if (s === '') throw invalidValue('non-empty text', '非空文本');
  return s;
}

export function normalise(kind: NormaliserKind, value: string, options: PhoneNormaliseOptions = {}): string {
  switch (kind) {
    case 'phone':
      return normalisePhone(value, options);
    case 'id-number':
      return normaliseIdNumber(value);
    case 'email':
      return normaliseEmail(value);
    case 'text':
      return normaliseText(value);
    case 'exact':
      return value;
  }
}

// ---------------------------------------------------------------------------------------------
// The index

export interface BlindIndexOptions {
  /** Root blind-index key (`SystemKeys.blindIndex`), at least 32 bytes. */
  key: Buffer;
  /** `sha256` (default) or `sm3` (sm4 deployments: use the suite's `digest`). */
  digest?: KdfDigest;
  /** Output bytes, 8..32 (HMAC output is truncated). Default 16. */
  length?: number;
  defaultCountryCode?: string;
}

export interface BlindIndex {
  readonly digest: KdfDigest;
  readonly length: number;
  /** The index of an already-normalised value. */
  compute(app: string, field: string, normalised: string): Buffer;
  /** Normalise `value` as `kind`, then index it. Throws `invalid_value` if it cannot be normalised. */
  index(app: string, field: string, kind: NormaliserKind, value: string): Buffer;
  /** A function for one app and field, with its key derived once. */
  forField(app: string, field: string, kind: NormaliserKind): (value: string) => Buffer;
}

export const BLIND_INDEX_LABEL = 'pipa/blind-index/v1';

export function createBlindIndex(options: BlindIndexOptions): BlindIndex {
  const digest = options.digest ?? 'sha256';
  const length = options.length ?? 16;
  if (!Number.isInteger(length) || length < 8 || length > 32) {
    throw new CryptoError(
      'invalid_argument',
      `blind index length must be 8..32 bytes (got ${length})`,
      `盲索引长度必须为 8 到 32 字节（实际为 ${length}）`,
    );
  }
  if (options.key.length < 32) {
    throw new CryptoError(
      'invalid_argument',
      `blind index key is ${options.key.length} bytes; at least 32 are needed`,
      `盲索引密钥为 ${options.key.length} 字节，至少需要 32 字节`,
    );
  }
  const root = Buffer.from(options.key);
  const phoneOptions = { defaultCountryCode: options.defaultCountryCode ?? '86' };
  const keys = new Map<string, Buffer>();

  const keyFor = (app: string, field: string): Buffer => {
    if (app === '' || field === '')
      throw new CryptoError('invalid_argument', 'blind index needs a non-empty app and field', '盲索引需要非空的 app 和 field');
    const id = `${app}\u0000${field}`;
    let key = keys.get(id);
    if (key === undefined) {
      key = deriveKey(digest, root, BLIND_INDEX_LABEL, [app, field], 32);
      keys.set(id, key);
    }
    return key;
  };

  const mac = (key: Buffer, normalised: string): Buffer => {
    const full = createHmac(digest, key).update(normalised, 'utf8').digest();
    return length === full.length ? full : full.subarray(0, length);
  };

  return {
    digest,
    length,
    compute: (app, field, normalised) => mac(keyFor(app, field), normalised),
    index: (app, field, kind, value) => mac(keyFor(app, field), normalise(kind, value, phoneOptions)),
    forField(app, field, kind) {
      const key = keyFor(app, field);
      return (value) => mac(key, normalise(kind, value, phoneOptions));
    },
  };
}
