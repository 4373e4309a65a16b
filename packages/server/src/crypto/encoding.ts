/**
 * Byte encodings shared by the crypto module: strict base64 for key material, unambiguous
 * length-prefixed context strings (AAD, KDF info, HMAC inputs), and RFC 4648 base32 for pseudonyms.
 */
import { CryptoError } from './errors.js';

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const BASE64_UNPADDED = /^[A-Za-z0-9+/]*$/;
const HEX = /^[0-9a-fA-F]+$/;

/**
 * Decode a base64 master key and check its length. `where` names the variable or file and JSON path,
 * so the operator sees exactly which setting is wrong. Surrounding whitespace (a trailing newline from
 * `openssl rand -base64 32 > file`) is ignored; anything else that is not base64 is an error.
 */
export function decodeKeyMaterial(value: string, where: string, expectedLength = 32): Buffer {
  const text = value.trim();
  if (text === '') {
    throw new CryptoError(
      'malformed_key',
      `${where}: empty; expected base64 of ${expectedLength} bytes`,
      `${where}：为空，应为 ${expectedLength} 字节密钥的 base64 编码`,
    );
  }
  const padded = BASE64_UNPADDED.test(text) && text.length % 4 !== 1 ? text.padEnd(Math.ceil(text.length / 4) * 4, '=') : text;
  if (!BASE64.test(padded)) {
    const bad = [...text].find((ch) => !/[A-Za-z0-9+/=]/.test(ch));
    const detail = bad === undefined ? 'bad padding or length' : `unexpected character ${JSON.stringify(bad)}`;
    throw new CryptoError(
      'malformed_key',
      `${where}: not valid base64 (${detail}); generate a key with \`openssl rand -base64 ${expectedLength}\``,
      `${where}：不是有效的 base64 编码（${bad === undefined ? '填充或长度错误' : `非法字符 ${JSON.stringify(bad)}`}）；可用 \`openssl rand -base64 ${expectedLength}\` 生成密钥`,
    );
  }
  const bytes = Buffer.from(padded, 'base64');
  if (bytes.length !== expectedLength) {
    const hexHint = HEX.test(text) && text.length === expectedLength * 2 ? ' (it looks like hex: encode the bytes as base64, not hex)' : '';
    const hexHintZh = hexHint === '' ? '' : '（看起来是十六进制：请使用 base64 编码，而不是十六进制）';
    throw new CryptoError(
      'malformed_key',
      `${where}: decodes to ${bytes.length} bytes; a key is ${expectedLength} bytes${hexHint}`,
      `${where}：解码后为 ${bytes.length} 字节，密钥应为 ${expectedLength} 字节${hexHintZh}`,
    );
  }
  return bytes;
}

/**
 * `[u8 label length][label][u16 length][part]...` — an injective encoding: two different lists of
 * parts never encode to the same bytes, so `("ab", "c")` and `("a", "bc")` cannot be confused.
 */
export function encodeContext(label: string, parts: readonly string[]): Buffer {
  const labelBytes = Buffer.from(label, 'utf8');
  if (labelBytes.length > 255) throw new CryptoError('invalid_argument', 'context label longer than 255 bytes', '上下文标签超过 255 字节');
  const encoded = parts.map((p) => Buffer.from(p, 'utf8'));
  let size = 1 + labelBytes.length;
  for (const e of encoded) size += 2 + e.length;
  const out = Buffer.allocUnsafe(size);
  let o = out.writeUInt8(labelBytes.length, 0);
  o += labelBytes.copy(out, o);
  for (const [i, e] of encoded.entries()) {
    if (e.length > 0xffff) {
      throw new CryptoError(
        'invalid_argument',
        `context part ${i + 1} of "${label}" is ${e.length} bytes; the limit is 65535`,
        `上下文 "${label}" 的第 ${i + 1} 部分长 ${e.length} 字节，上限为 65535`,
      );
    }
    o = out.writeUInt16BE(e.length, o);
    o += e.copy(out, o);
  }
  return out;
}

const BASE32_ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';

/** RFC 4648 base32, lower case, no padding. */
export function base32(bytes: Uint8Array, alphabet: string = BASE32_ALPHABET): string {
  let out = '';
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = ((buffer << 8) | byte) & 0xffff;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += alphabet[(buffer >>> bits) & 31];
    }
  }
  if (bits > 0) out += alphabet[(buffer << (5 - bits)) & 31];
  return out;
}

/**
 * The base32 characters in ASCII order ('2'–'7' before 'a'–'z'): with it, the encoded strings of
 * equal-length byte strings sort as the bytes do. RFC 4648's order ('a'–'z' then '2'–'7') does not.
 */
export const SORTABLE_BASE32_ALPHABET = '234567abcdefghijklmnopqrstuvwxyz';

/** Check an unsigned 32-bit integer key version (1 .. 2^32-1). */
export function assertKeyVersion(version: number, what = 'key version'): void {
  if (!Number.isInteger(version) || version < 1 || version > 0xffffffff) {
    throw new CryptoError(
      'invalid_argument',
      `${what} must be an integer from 1 to 4294967295 (got ${version})`,
      `${what} 必须是 1 到 4294967295 的整数（实际为 ${version}）`,
    );
  }
}
