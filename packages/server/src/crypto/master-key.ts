/**
 * Master keys (key-encryption keys, KEKs). A provider holds one or more versions; the current
 * version wraps new data keys, older versions stay available to unwrap until every wrapped key has
 * been re-wrapped (rotation). Three providers share the `MasterKeyProvider` interface:
 *
 * - env  (`createEnvKeyProvider`): `PIPA_MASTER_KEY` etc., see below.
 * - file (`createFileKeyProvider`, key-file.ts): a 0600 JSON key file in the data directory.
 * - kms  (`createKmsKeyProvider`, kms.ts): the key never leaves the KMS; wrap/unwrap are remote.
 *
 * A provider hands out `KeyEncryptionKey` handles, not key bytes, so a KMS provider fits the
 * same interface: the keyring only ever asks a KEK to wrap or unwrap.
 */

import { DataKey } from './data-key.js';
import { assertKeyVersion, decodeKeyMaterial } from './encoding.js';
import { parseEnvelope, sealEnvelope } from './envelope.js';
import { CryptoError } from './errors.js';
import { type RandomSource, systemRandom } from './random.js';
import { getSuite, type SuiteName } from './suites.js';

export type MasterKeyProviderKind = 'env' | 'file' | 'kms';

/** One version of the master key, as a handle that wraps and unwraps secrets. */
export interface KeyEncryptionKey {
  readonly version: number;
  /** `local` keys are held in this process (env, file); `kms` keys never leave the KMS. */
  readonly kind: 'local' | 'kms';
  /** Encrypt `plaintext` (a data key), binding it to `aad`. The result is opaque to the caller. */
  wrap(plaintext: Buffer, aad: Buffer): Promise<Buffer>;
  /** Reverse of `wrap` with the same `aad`; throws `authentication_failed` on any mismatch. */
  unwrap(blob: Buffer, aad: Buffer): Promise<Buffer>;
}

export interface MasterKeyVersionInfo {
  version: number;
  current: boolean;
  /** When the version was created, if the provider knows. */
  createdAt: Date | null;
  /** Where it lives, for operators: a variable name, a file, a KMS key name. Never key material. */
  source: string;
}

export interface MasterKeyProvider {
  readonly kind: MasterKeyProviderKind;
  /** A one-line description for logs and `pipa keys status`; never contains key material. */
  describe(): string;
  /** The version that wraps new data keys. */
  currentVersion(): Promise<number>;
  /** The KEK of one version; `unknown_key_version` if the provider does not hold it. */
  getKey(version: number): Promise<KeyEncryptionKey>;
  /** Rotation: create a new version and make it current. Returns the new version. */
  addVersion(): Promise<number>;
  /** Remove an old version once nothing is wrapped under it any more. The current version cannot be retired. */
  retireVersion(version: number): Promise<void>;
  versions(): Promise<MasterKeyVersionInfo[]>;
}

export interface LocalKekOptions {
  /** Suite that wraps new keys (default `aes-256-gcm`); blobs of any available suite are unwrapped. */
  suite?: SuiteName;
  random?: RandomSource;
}

/**
 * A KEK held in this process: 32 bytes used directly as the suite key (AES-256-GCM), or through
 * HKDF-SM3 subkeys (sm4). The wrapped blob is a standard envelope whose key version is the KEK
 * version; the caller's `aad` is its context.
 */
export function createLocalKek(version: number, material: Uint8Array, options: LocalKekOptions = {}): KeyEncryptionKey {
  const suite = getSuite(options.suite ?? 'aes-256-gcm');
  const random = options.random ?? systemRandom;
  const key = new DataKey(material, version);
  return {
    version,
    kind: 'local',
    async wrap(plaintext, aad) {
      return sealEnvelope(suite, key.suiteKey(suite), version, plaintext, aad, random);
    },
    async unwrap(blob, aad) {
      const header = parseEnvelope(blob);
      if (header.keyVersion !== version) {
        throw new CryptoError(
          'key_version_mismatch',
          `wrapped key names master key version ${header.keyVersion}, not ${version}`,
          `被包装的密钥标明主密钥版本 ${header.keyVersion}，而不是 ${version}`,
        );
      }
      return header.suite.open(key.suiteKey(header.suite), blob, header.headerLength, aad);
    },
  };
}

export function unknownKeyVersion(version: number, source: string, hint: string, hintZh: string): CryptoError {
  return new CryptoError(
    'unknown_key_version',
    `master key version ${version} is not available from ${source}; ${hint}`,
    `${source} 中没有主密钥版本 ${version}；${hintZh}`,
  );
}

// ---------------------------------------------------------------------------------------------
// env

export const ENV_MASTER_KEY = 'PIPA_MASTER_KEY';
export const ENV_MASTER_KEY_VERSION = 'PIPA_MASTER_KEY_VERSION';
const ENV_OLD_KEY = /^PIPA_MASTER_KEY_V([1-9]\d{0,9})$/;

export interface EnvKeyProviderOptions extends LocalKekOptions {
  /** Default `process.env`. */
  env?: Readonly<Record<string, string | undefined>>;
}

/**
 * Master key from environment variables:
 *
 * - `PIPA_MASTER_KEY`: the current key, base64 of 32 bytes (`openssl rand -base64 32`). Required.
 * - `PIPA_MASTER_KEY_VERSION`: the current key's version number (default 1). Required as soon as
 *   an older version is present, so a version number never silently changes meaning.
 * - `PIPA_MASTER_KEY_V<n>`: older versions, n < current, kept until re-wrapping finishes.
 *
 * Rotation with env keys is an operator procedure (the process cannot set its own environment):
 * move the old key to `PIPA_MASTER_KEY_V<old>`, put a new key in `PIPA_MASTER_KEY`, raise
 * `PIPA_MASTER_KEY_VERSION`, restart, run the re-wrap, then remove `PIPA_MASTER_KEY_V<old>`.
 * `addVersion` and `retireVersion` therefore throw `unsupported_operation` with these steps.
 * Every problem is found at construction and names the variable.
 */
export function createEnvKeyProvider(options: EnvKeyProviderOptions = {}): MasterKeyProvider {
  const env = options.env ?? process.env;
  const current = env[ENV_MASTER_KEY];
  if (current === undefined || current.trim() === '') {
    throw new CryptoError(
      'malformed_key',
      `${ENV_MASTER_KEY} is not set; set it to base64 of 32 random bytes (\`openssl rand -base64 32\`)`,
      `未设置 ${ENV_MASTER_KEY}；请设置为 32 字节随机数的 base64 编码（\`openssl rand -base64 32\`）`,
    );
  }
  const older = new Map<number, string>();
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith(`${ENV_MASTER_KEY}_V`) || name === ENV_MASTER_KEY_VERSION || value === undefined) continue;
    const m = ENV_OLD_KEY.exec(name);
    if (m?.[1] === undefined || Number(m[1]) > 0xffffffff) {
      throw new CryptoError(
        'malformed_key',
        `${name}: not a recognised variable; older master keys are ${ENV_MASTER_KEY}_V<n> with n a version number from 1`,
        `${name}：无法识别的变量；旧版本主密钥应命名为 ${ENV_MASTER_KEY}_V<n>，n 为从 1 开始的版本号`,
      );
    }
    older.set(Number(m[1]), name);
  }
  const versionText = env[ENV_MASTER_KEY_VERSION];
  let currentVersion = 1;
  if (versionText !== undefined && versionText.trim() !== '') {
    const v = versionText.trim();
    if (!/^[1-9]\d{0,9}$/.test(v) || Number(v) > 0xffffffff) {
      throw new CryptoError(
        'malformed_key',
        `${ENV_MASTER_KEY_VERSION}: "${versionText}" is not a version number (an integer from 1 to 4294967295)`,
        `${ENV_MASTER_KEY_VERSION}："${versionText}" 不是有效的版本号（1 到 4294967295 的整数）`,
      );
    }
    currentVersion = Number(v);
  } else if (older.size > 0) {
    const names = [...older.values()].sort().join(', ');
    throw new CryptoError(
      'malformed_key',
      `${names} set but ${ENV_MASTER_KEY_VERSION} is not; set ${ENV_MASTER_KEY_VERSION} to the version of ${ENV_MASTER_KEY}`,
      `已设置 ${names}，但未设置 ${ENV_MASTER_KEY_VERSION}；请将其设为 ${ENV_MASTER_KEY} 的版本号`,
    );
  }

  const material = new Map<number, { bytes: Buffer; source: string }>();
  material.set(currentVersion, { bytes: decodeKeyMaterial(current, ENV_MASTER_KEY), source: ENV_MASTER_KEY });
  for (const [version, name] of [...older.entries()].sort((a, b) => a[0] - b[0])) {
    const bytes = decodeKeyMaterial(env[name] ?? '', name);
    if (version === currentVersion) {
      const same = material.get(currentVersion)?.bytes.equals(bytes) ?? false;
      if (!same) {
        throw new CryptoError(
          'malformed_key',
          `${name} and ${ENV_MASTER_KEY} both claim version ${version} with different keys`,
          `${name} 与 ${ENV_MASTER_KEY} 都声明为版本 ${version}，但密钥不同`,
        );
      }
      continue;
    }
    if (version > currentVersion) {
      throw new CryptoError(
        'malformed_key',
        `${name} is newer than the current version ${currentVersion} (${ENV_MASTER_KEY_VERSION}); older keys only`,
        `${name} 比当前版本 ${currentVersion}（${ENV_MASTER_KEY_VERSION}）更新；此处只能放旧版本密钥`,
      );
    }
    for (const [other, entry] of material) {
      if (entry.bytes.equals(bytes)) {
        throw new CryptoError(
          'malformed_key',
          `${name} holds the same key as ${entry.source} (version ${other}); every version needs its own key`,
          `${name} 与 ${entry.source}（版本 ${other}）的密钥相同；每个版本必须使用不同的密钥`,
        );
      }
    }
    material.set(version, { bytes, source: name });
  }

  const keks = new Map<number, KeyEncryptionKey>();
  for (const [version, entry] of material) {
    keks.set(version, createLocalKek(version, entry.bytes, options));
    entry.bytes.fill(0);
  }
  const sorted = [...material.keys()].sort((a, b) => a - b);
  const sources = new Map([...material].map(([v, e]) => [v, e.source]));

  const rotationSteps =
    `rotate env keys by hand: set ${ENV_MASTER_KEY}_V${currentVersion} to the current key, put a new key (\`openssl rand -base64 32\`) ` +
    `in ${ENV_MASTER_KEY}, set ${ENV_MASTER_KEY_VERSION}=${currentVersion + 1}, restart, then re-wrap`;
  const rotationStepsZh =
    `环境变量中的密钥需手动轮换：将当前密钥设为 ${ENV_MASTER_KEY}_V${currentVersion}，在 ${ENV_MASTER_KEY} 中放入新密钥（\`openssl rand -base64 32\`），` +
    `设置 ${ENV_MASTER_KEY_VERSION}=${currentVersion + 1}，重启后执行重新包装`;

  return {
    kind: 'env',
    describe: () =>
      `env ${ENV_MASTER_KEY} (current version ${currentVersion}${
        sorted.length > 1
          ? `; also ${sorted
              .filter((v) => v !== currentVersion)
              .map((v) => `v${v}`)
              .join(', ')}`
          : ''
      })`,
    currentVersion: async () => currentVersion,
    async getKey(version) {
      assertKeyVersion(version);
      const kek = keks.get(version);
      if (kek === undefined) {
        throw unknownKeyVersion(
          version,
          'the environment',
          `set ${ENV_MASTER_KEY}_V${version} to that key until re-wrapping has finished`,
          `请在重新包装完成前将该版本密钥设为 ${ENV_MASTER_KEY}_V${version}`,
        );
      }
      return kek;
    },
    async addVersion() {
      throw new CryptoError('unsupported_operation', rotationSteps, rotationStepsZh);
    },
    async retireVersion(version) {
      throw new CryptoError(
        'unsupported_operation',
        `retire an env key by removing ${sources.get(version) ?? `${ENV_MASTER_KEY}_V${version}`} from the environment and restarting`,
        `如需停用环境变量中的密钥，请从环境中删除 ${sources.get(version) ?? `${ENV_MASTER_KEY}_V${version}`} 并重启`,
      );
    },
    async versions() {
      return sorted.map((version) => ({
        version,
        current: version === currentVersion,
        createdAt: null,
        source: sources.get(version) ?? '',
      }));
    },
  };
}

/** A new master key as base64 (what `pipa keys generate` prints). */
export function generateMasterKey(random: RandomSource = systemRandom): string {
  const bytes = random(32);
  const text = bytes.toString('base64');
  bytes.fill(0);
  return text;
}
