/**
 * Per-field encryption: what the vault calls to store a subject's personal information.
 *
 * A field value is sealed into an envelope (see envelope.ts) under the subject's data key with the
 * deployment's suite. The associated data binds the envelope to where it belongs:
 *
 *   AAD = envelope header (format, suite, key version, nonce length, nonce)
 *         || encodeContext("pipa/field/v1", [app id, subject id, field id])
 *
 * so a ciphertext copied to another row, subject, field or app, or presented with another key
 * version, fails with `authentication_failed` / `key_version_mismatch`.
 *
 * Everything is synchronous and allocation-light: the suite's working keys are derived once per
 * data key (cached on the `DataKey`), nonces come from a pooled CSPRNG, and `forSubject` encodes
 * the app/subject context once and caches each field's context.
 */

import type { DataKey } from './data-key.js';
import { encodeContext } from './encoding.js';
import { asBuffer, parseEnvelope, sealEnvelope } from './envelope.js';
import { CryptoError } from './errors.js';
import { type RandomSource, systemRandom } from './random.js';
import { type CipherSuite, getSuite, type SuiteName } from './suites.js';

export const FIELD_CONTEXT_LABEL = 'pipa/field/v1';

/** Where a field value belongs. `keyVersion`, when given, must equal the data key's version. */
export interface FieldAad {
  app: string;
  subject: string;
  /** The field: the category id from the declaration (e.g. `phone`, `id-card`). */
  field: string;
  keyVersion?: number;
}

export interface SubjectCipher {
  readonly app: string;
  readonly subject: string;
  readonly keyVersion: number;
  encrypt(field: string, plaintext: Buffer | string): Buffer;
  decrypt(field: string, envelope: Uint8Array): Buffer;
  decryptString(field: string, envelope: Uint8Array): string;
  /** Encrypt several fields of this subject: one key derivation and one context prefix for all. */
  encryptFields(values: Readonly<Record<string, Buffer | string>>): Record<string, Buffer>;
  decryptFields(envelopes: Readonly<Record<string, Uint8Array>>): Record<string, Buffer>;
}

export interface FieldCipher {
  /** The suite new envelopes are sealed with. Envelopes of any available suite are opened. */
  readonly suite: SuiteName;
  encrypt(dek: DataKey, plaintext: Buffer | string, aad: FieldAad): Buffer;
  decrypt(dek: DataKey, envelope: Uint8Array, aad: FieldAad): Buffer;
  decryptString(dek: DataKey, envelope: Uint8Array, aad: FieldAad): string;
  forSubject(dek: DataKey, owner: { app: string; subject: string }): SubjectCipher;
}

export interface FieldCipherOptions {
  /** Default `aes-256-gcm`. */
  suite?: SuiteName;
  random?: RandomSource;
}

/** The context bytes of one field (exported for the documentation's worked example and tests). */
export function fieldContext(app: string, subject: string, field: string): Buffer {
  if (app === '' || subject === '' || field === '') {
    throw new CryptoError('invalid_argument', 'app, subject and field must be non-empty', 'app、subject 和 field 不能为空');
  }
  return encodeContext(FIELD_CONTEXT_LABEL, [app, subject, field]);
}

function keyVersionMismatch(envelopeVersion: number, keyVersion: number): CryptoError {
  return new CryptoError(
    'key_version_mismatch',
    `envelope was sealed under key version ${envelopeVersion}, but key version ${keyVersion} was offered`,
    `密文使用密钥版本 ${envelopeVersion} 加密，但提供的是版本 ${keyVersion}`,
  );
}

function toBytes(plaintext: Buffer | string): Buffer {
  if (typeof plaintext === 'string') return Buffer.from(plaintext, 'utf8');
  if (Buffer.isBuffer(plaintext)) return plaintext;
  throw new CryptoError('invalid_argument', 'plaintext must be a string or a Buffer', '明文必须是字符串或 Buffer');
}

export function createFieldCipher(options: FieldCipherOptions = {}): FieldCipher {
  const suite: CipherSuite = getSuite(options.suite ?? 'aes-256-gcm');
  const random = options.random ?? systemRandom;

  const seal = (dek: DataKey, plaintext: Buffer | string, context: Buffer): Buffer =>
    sealEnvelope(suite, dek.suiteKey(suite), dek.version, toBytes(plaintext), context, random);

  const open = (dek: DataKey, envelope: Uint8Array, context: Buffer): Buffer => {
    const bytes = asBuffer(envelope);
    const header = parseEnvelope(bytes);
    if (header.keyVersion !== dek.version) throw keyVersionMismatch(header.keyVersion, dek.version);
    return header.suite.open(dek.suiteKey(header.suite), bytes, header.headerLength, context);
  };

  const checkAadVersion = (dek: DataKey, aad: FieldAad): void => {
    if (aad.keyVersion !== undefined && aad.keyVersion !== dek.version) throw keyVersionMismatch(aad.keyVersion, dek.version);
  };

  const decrypt = (dek: DataKey, envelope: Uint8Array, aad: FieldAad): Buffer => {
    checkAadVersion(dek, aad);
    return open(dek, envelope, fieldContext(aad.app, aad.subject, aad.field));
  };

  return {
    suite: suite.name,
    encrypt(dek, plaintext, aad) {
      checkAadVersion(dek, aad);
      return seal(dek, plaintext, fieldContext(aad.app, aad.subject, aad.field));
    },
    decrypt,
    decryptString: (dek, envelope, aad) => decrypt(dek, envelope, aad).toString('utf8'),
    forSubject(dek, owner) {
      fieldContext(owner.app, owner.subject, '-');
      // Derive the working keys now, so a destroyed key fails here and not halfway through a batch.
      dek.suiteKey(suite);
      const contexts = new Map<string, Buffer>();
      const contextOf = (field: string): Buffer => {
        let ctx = contexts.get(field);
        if (ctx === undefined) {
          ctx = fieldContext(owner.app, owner.subject, field);
          contexts.set(field, ctx);
        }
        return ctx;
      };
      const subjectCipher: SubjectCipher = {
        app: owner.app,
        subject: owner.subject,
        keyVersion: dek.version,
        encrypt: (field, plaintext) => seal(dek, plaintext, contextOf(field)),
        decrypt: (field, envelope) => open(dek, envelope, contextOf(field)),
        decryptString: (field, envelope) => open(dek, envelope, contextOf(field)).toString('utf8'),
        encryptFields(values) {
          const out: Record<string, Buffer> = {};
          for (const [field, value] of Object.entries(values)) out[field] = seal(dek, value, contextOf(field));
          return out;
        },
        decryptFields(envelopes) {
          const out: Record<string, Buffer> = {};
          for (const [field, envelope] of Object.entries(envelopes)) out[field] = open(dek, envelope, contextOf(field));
          return out;
        },
      };
      return subjectCipher;
    },
  };
}
