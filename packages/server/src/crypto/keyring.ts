/**
 * The keyring: data keys (one per subject) and system secrets, wrapped by the master key (KEK).
 *
 * A wrapped key is a small record (integers big-endian):
 *
 *   offset  size  field
 *   0       1     record format (1)
 *   1       1     KEK kind (1 = local: env or file provider, 2 = kms)
 *   2       4     KEK version (u32)
 *   6       ...   blob from the KEK: for local KEKs a standard envelope (envelope.ts) whose key
 *                 version is the KEK version; for a KMS whatever the KMS returns
 *
 * The wrapped plaintext is `u32 key version || 32 key bytes`. The KEK binds the blob to
 *
 *   AAD = record header (bytes 0..6) || encodeContext("pipa/dek/v1", [app, subject])
 *                                    or encodeContext("pipa/secret/v1", [purpose])
 *
 * so a wrapped key copied to another subject or app, or relabelled with another KEK version,
 * does not unwrap. Wrapping uses AES-256-GCM (or SM4-CTR + HMAC-SM3 in sm4 deployments) rather than
 * AES key wrap (RFC 3394), because key wrap has no associated data to carry that binding.
 *
 * Rotation: `rewrapDataKey` unwraps under the old KEK version and wraps under the current one; the
 * data key itself, and so every field envelope, stays unchanged. `rewrapAll` (rotation.ts) walks rows.
 */
import { DATA_KEY_LENGTH, DataKey } from './data-key.js';
import { assertKeyVersion, encodeContext } from './encoding.js';
import { asBuffer } from './envelope.js';
import { CryptoError } from './errors.js';
import type { KeyEncryptionKey, MasterKeyProvider } from './master-key.js';
import { type RandomSource, systemRandom } from './random.js';

export const WRAPPED_KEY_FORMAT = 1;
export const WRAPPED_KEY_HEADER_LENGTH = 6;
const KIND_BYTE = { local: 1, kms: 2 } as const;

/** Who a data key belongs to. */
export interface KeyOwner {
  app: string;
  subject: string;
}

export interface WrappedKeyInfo {
  format: number;
  kekKind: 'local' | 'kms';
  kekVersion: number;
}

export interface RewrapResult {
  wrapped: Buffer;
  /** False when the key was already under the current KEK version (then `wrapped` is the input). */
  changed: boolean;
  fromVersion: number;
  toVersion: number;
}

export interface Keyring {
  readonly provider: MasterKeyProvider;
  /** A new random data key for a subject, and its wrapped form to store. */
  generateDataKey(owner: KeyOwner, version?: number): Promise<{ dataKey: DataKey; wrapped: Buffer }>;
  unwrapDataKey(wrapped: Uint8Array, owner: KeyOwner): Promise<DataKey>;
  /** Re-wrap under the current KEK version (rotation). The data key does not change. */
  rewrapDataKey(wrapped: Uint8Array, owner: KeyOwner): Promise<RewrapResult>;
  /** A new random 32-byte system secret (blind-index, pseudonym keys), and its wrapped form. */
  generateSecret(purpose: string): Promise<{ secret: Buffer; wrapped: Buffer }>;
  unwrapSecret(wrapped: Uint8Array, purpose: string): Promise<Buffer>;
  rewrapSecret(wrapped: Uint8Array, purpose: string): Promise<RewrapResult>;
  /** True when the wrapped key is not under the current KEK version. */
  needsRewrap(wrapped: Uint8Array): Promise<boolean>;
}

export interface KeyringOptions {
  provider: MasterKeyProvider;
  random?: RandomSource;
}

/** Read a wrapped key's header without unwrapping (strict; typed errors). */
export function inspectWrappedKey(input: Uint8Array): WrappedKeyInfo {
  const bytes = asBuffer(input, 'wrapped key');
  if (bytes.length < WRAPPED_KEY_HEADER_LENGTH + 1) {
    throw new CryptoError(
      'envelope_truncated',
      `wrapped key truncated: ${bytes.length} bytes`,
      `被包装的密钥被截断：只有 ${bytes.length} 字节`,
    );
  }
  const format = bytes.readUInt8(0);
  if (format !== WRAPPED_KEY_FORMAT) {
    throw new CryptoError(
      'envelope_unknown_version',
      `wrapped key record format ${format} is not supported`,
      `不支持的被包装密钥记录格式 ${format}`,
    );
  }
  const kind = bytes.readUInt8(1);
  if (kind !== KIND_BYTE.local && kind !== KIND_BYTE.kms) {
    throw new CryptoError('envelope_malformed', `wrapped key names unknown KEK kind ${kind}`, `被包装的密钥标明了未知的主密钥类型 ${kind}`);
  }
  const kekVersion = bytes.readUInt32BE(2);
  if (kekVersion === 0) throw new CryptoError('envelope_malformed', 'wrapped key KEK version is 0', '被包装的密钥的主密钥版本为 0');
  return { format, kekKind: kind === KIND_BYTE.local ? 'local' : 'kms', kekVersion };
}

function ownerContext(owner: KeyOwner): Buffer {
  if (owner.app === '' || owner.subject === '') {
    throw new CryptoError(
      'invalid_argument',
      'a data key owner needs a non-empty app and subject',
      '数据密钥的所有者必须有非空的 app 和 subject',
    );
  }
  return encodeContext('pipa/dek/v1', [owner.app, owner.subject]);
}

function secretContext(purpose: string): Buffer {
  if (purpose === '') throw new CryptoError('invalid_argument', 'a secret needs a non-empty purpose', '系统密钥必须有非空的用途');
  return encodeContext('pipa/secret/v1', [purpose]);
}

export function createKeyring(options: KeyringOptions): Keyring {
  const { provider } = options;
  const random = options.random ?? systemRandom;

  const recordHeader = (kek: KeyEncryptionKey): Buffer => {
    const header = Buffer.allocUnsafe(WRAPPED_KEY_HEADER_LENGTH);
    header.writeUInt8(WRAPPED_KEY_FORMAT, 0);
    header.writeUInt8(KIND_BYTE[kek.kind], 1);
    header.writeUInt32BE(kek.version, 2);
    return header;
  };

  /** Wrap `u32 version || material` under the current KEK. */
  const wrapMaterial = async (version: number, material: Buffer, context: Buffer): Promise<Buffer> => {
    const kek = await provider.getKey(await provider.currentVersion());
    const header = recordHeader(kek);
    const plaintext = Buffer.alloc(4 + DATA_KEY_LENGTH);
    plaintext.writeUInt32BE(version, 0);
    material.copy(plaintext, 4);
    try {
      const blob = await kek.wrap(plaintext, Buffer.concat([header, context]));
      return Buffer.concat([header, blob]);
    } finally {
      plaintext.fill(0);
    }
  };

  /** Unwrap to `{ version, material }`; the caller wipes `material`. */
  const unwrapMaterial = async (input: Uint8Array, context: Buffer): Promise<{ version: number; material: Buffer; kekVersion: number }> => {
    const wrapped = asBuffer(input, 'wrapped key');
    const info = inspectWrappedKey(wrapped);
    const kek = await provider.getKey(info.kekVersion);
    if (kek.kind !== info.kekKind) {
      throw new CryptoError(
        'unknown_key_version',
        `key was wrapped by a ${info.kekKind} master key (version ${info.kekVersion}), but the configured provider is ${provider.describe()}`,
        `该密钥由${info.kekKind === 'kms' ? ' KMS ' : '本地'}主密钥（版本 ${info.kekVersion}）包装，而当前配置的是 ${provider.describe()}`,
      );
    }
    const header = wrapped.subarray(0, WRAPPED_KEY_HEADER_LENGTH);
    const plaintext = await kek.unwrap(wrapped.subarray(WRAPPED_KEY_HEADER_LENGTH), Buffer.concat([header, context]));
    try {
      if (plaintext.length !== 4 + DATA_KEY_LENGTH) {
        throw new CryptoError(
          'envelope_malformed',
          `unwrapped key is ${plaintext.length} bytes; expected ${4 + DATA_KEY_LENGTH}`,
          `解包后的密钥为 ${plaintext.length} 字节，应为 ${4 + DATA_KEY_LENGTH} 字节`,
        );
      }
      return { version: plaintext.readUInt32BE(0), material: Buffer.from(plaintext.subarray(4)), kekVersion: info.kekVersion };
    } finally {
      plaintext.fill(0);
    }
  };

  const rewrap = async (wrapped: Uint8Array, context: Buffer): Promise<RewrapResult> => {
    const input = asBuffer(wrapped, 'wrapped key');
    const info = inspectWrappedKey(input);
    const current = await provider.currentVersion();
    if (info.kekVersion === current) return { wrapped: input, changed: false, fromVersion: current, toVersion: current };
    const { version, material } = await unwrapMaterial(input, context);
    try {
      const out = await wrapMaterial(version, material, context);
      return { wrapped: out, changed: true, fromVersion: info.kekVersion, toVersion: inspectWrappedKey(out).kekVersion };
    } finally {
      material.fill(0);
    }
  };

  return {
    provider,
    async generateDataKey(owner, version = 1) {
      assertKeyVersion(version, 'data key version');
      const context = ownerContext(owner);
      const material = random(DATA_KEY_LENGTH);
      try {
        const dataKey = new DataKey(material, version);
        return { dataKey, wrapped: await wrapMaterial(version, material, context) };
      } finally {
        material.fill(0);
      }
    },
    async unwrapDataKey(wrapped, owner) {
      const { version, material } = await unwrapMaterial(wrapped, ownerContext(owner));
      try {
        return new DataKey(material, version);
      } finally {
        material.fill(0);
      }
    },
    rewrapDataKey: (wrapped, owner) => rewrap(wrapped, ownerContext(owner)),
    async generateSecret(purpose) {
      const context = secretContext(purpose);
      const secret = random(DATA_KEY_LENGTH);
      return { secret, wrapped: await wrapMaterial(1, secret, context) };
    },
    async unwrapSecret(wrapped, purpose) {
      return (await unwrapMaterial(wrapped, secretContext(purpose))).material;
    },
    rewrapSecret: (wrapped, purpose) => rewrap(wrapped, secretContext(purpose)),
    async needsRewrap(wrapped) {
      return inspectWrappedKey(wrapped).kekVersion !== (await provider.currentVersion());
    },
  };
}

// ---------------------------------------------------------------------------------------------
// System keys

/**
 * The secrets that are not per subject. They are random and stored wrapped by the KEK (not derived
 * from it), so rotating the master key does not change them: blind indexes and audit pseudonyms
 * stay valid across rotations, and no old master key version has to be kept to compute them.
 */
export const SYSTEM_KEY_PURPOSES = ['blind-index', 'audit-pseudonym', 'sharing-pseudonym'] as const;
export type SystemKeyPurpose = (typeof SYSTEM_KEY_PURPOSES)[number];

export interface SystemKeys {
  /** Root of the blind-index keys (one derived key per app and field). */
  blindIndex: Buffer;
  /** Keys the audit log's subject pseudonyms. */
  auditPseudonym: Buffer;
  /** Root of the per-recipient pseudonym keys. */
  sharingPseudonym: Buffer;
}

export type WrappedSystemKeys = Record<SystemKeyPurpose, Buffer>;

/** Generate the system keys once (at the first start of a new installation); store `wrapped`. */
export async function generateSystemKeys(keyring: Keyring): Promise<{ keys: SystemKeys; wrapped: WrappedSystemKeys }> {
  const index = await keyring.generateSecret('blind-index');
  const audit = await keyring.generateSecret('audit-pseudonym');
  const sharing = await keyring.generateSecret('sharing-pseudonym');
  return {
    keys: { blindIndex: index.secret, auditPseudonym: audit.secret, sharingPseudonym: sharing.secret },
    wrapped: { 'blind-index': index.wrapped, 'audit-pseudonym': audit.wrapped, 'sharing-pseudonym': sharing.wrapped },
  };
}

export async function openSystemKeys(keyring: Keyring, wrapped: Readonly<Record<SystemKeyPurpose, Uint8Array>>): Promise<SystemKeys> {
  return {
    blindIndex: await keyring.unwrapSecret(wrapped['blind-index'], 'blind-index'),
    auditPseudonym: await keyring.unwrapSecret(wrapped['audit-pseudonym'], 'audit-pseudonym'),
    sharingPseudonym: await keyring.unwrapSecret(wrapped['sharing-pseudonym'], 'sharing-pseudonym'),
  };
}
