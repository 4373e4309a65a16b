/**
 * The `kms` master key provider. With a KMS (Alibaba Cloud KMS, Tencent Cloud KMS, a GM/T 0028
 * hardware security module, HashiCorp Vault transit, AWS KMS ...) the master key never leaves the
 * KMS: pipa sends a data key and a context, the KMS returns an opaque wrapped blob, and back.
 * A vendor adapter implements `KmsClient` (a few calls to the vendor SDK); nothing else in pipa
 * changes. `createLocalKmsClient` is the in-repo implementation: it talks to nothing remote and
 * wraps with its own keys, separate from any pipa master key, which proves the interface in tests
 * and makes a working reference for adapter authors.
 */
import { assertKeyVersion } from './encoding.js';
import { CryptoError, isCryptoError } from './errors.js';
import type { KeyEncryptionKey, MasterKeyProvider, MasterKeyVersionInfo } from './master-key.js';
import { createLocalKek, unknownKeyVersion } from './master-key.js';
import { type RandomSource, systemRandom } from './random.js';
import type { SuiteName } from './suites.js';

export interface KmsKeyVersion {
  version: number;
  createdAt: Date | null;
  /** Disabled versions can no longer wrap or unwrap. */
  enabled: boolean;
}

/** What pipa needs from a KMS. Every call may be remote; errors are wrapped as `kms_error`. */
export interface KmsClient {
  /** Names the KMS and key for logs ("aliyun-kms:alias/pipa"); never secret. */
  readonly name: string;
  /** The key version that wraps new data keys (the KMS's "primary" version). */
  currentKeyVersion(): Promise<number>;
  listKeyVersions(): Promise<KmsKeyVersion[]>;
  /** Create a new key version and make it primary; returns its number. */
  createKeyVersion(): Promise<number>;
  /** Disable an old version once nothing is wrapped under it. */
  disableKeyVersion(version: number): Promise<void>;
  /** Encrypt `plaintext` under `keyVersion`, binding `context` (the KMS's "encryption context" / AAD). */
  wrap(request: { keyVersion: number; plaintext: Buffer; context: Buffer }): Promise<Buffer>;
  /**
   * Decrypt a blob from `wrap` with the same `context`. An adapter maps the vendor's "no such key
   * version / disabled" to `CryptoError('unknown_key_version')` and a context mismatch to
   * `CryptoError('authentication_failed')`; any other failure becomes `kms_error`.
   */
  unwrap(request: { keyVersion: number; blob: Buffer; context: Buffer }): Promise<Buffer>;
}

export interface KmsKeyProviderOptions {
  client: KmsClient;
  /** How long the current version is cached, ms (default 60 000): the KMS is not asked on every wrap. */
  cacheMs?: number;
  now?: () => number;
}

function kmsError(client: KmsClient, action: string, err: unknown): CryptoError {
  if (isCryptoError(err)) return err;
  const detail = err instanceof Error ? err.message : String(err);
  return new CryptoError('kms_error', `KMS ${client.name}: ${action} failed: ${detail}`, `KMS ${client.name}：${action}失败：${detail}`, {
    cause: err,
  });
}

export function createKmsKeyProvider(options: KmsKeyProviderOptions): MasterKeyProvider {
  const { client } = options;
  const cacheMs = options.cacheMs ?? 60_000;
  const now = options.now ?? Date.now;
  let cached: { version: number; at: number } | undefined;

  const call = async <T>(action: string, fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (err) {
      throw kmsError(client, action, err);
    }
  };

  const kekFor = (version: number): KeyEncryptionKey => ({
    version,
    kind: 'kms',
    wrap: (plaintext, context) => call('wrap', () => client.wrap({ keyVersion: version, plaintext, context })),
    unwrap: (blob, context) => call('unwrap', () => client.unwrap({ keyVersion: version, blob, context })),
  });

  const listVersions = () => call('list key versions', () => client.listKeyVersions());

  const currentVersion = async (): Promise<number> => {
    if (cached !== undefined && now() - cached.at < cacheMs) return cached.version;
    const version = await call('get current key version', () => client.currentKeyVersion());
    cached = { version, at: now() };
    return version;
  };

  return {
    kind: 'kms',
    describe: () => `kms ${client.name}`,
    currentVersion,
    async getKey(version) {
      // No remote call here: the KMS refuses unknown or disabled versions when asked to unwrap.
      assertKeyVersion(version);
      return kekFor(version);
    },
    async addVersion() {
      const version = await call('create key version', () => client.createKeyVersion());
      cached = { version, at: now() };
      return version;
    },
    async retireVersion(version) {
      if (version === (await currentVersion())) {
        throw new CryptoError(
          'invalid_argument',
          `KMS ${client.name}: version ${version} is current and cannot be retired`,
          `KMS ${client.name}：版本 ${version} 是当前版本，不能停用`,
        );
      }
      await call('disable key version', () => client.disableKeyVersion(version));
    },
    async versions(): Promise<MasterKeyVersionInfo[]> {
      const current = await currentVersion();
      return (await listVersions())
        .filter((v) => v.enabled)
        .map((v) => ({ version: v.version, current: v.version === current, createdAt: v.createdAt, source: `KMS ${client.name}` }))
        .sort((a, b) => a.version - b.version);
    },
  };
}

export interface LocalKmsClientOptions {
  name?: string;
  /** Suite the local KMS wraps with (default `aes-256-gcm`). */
  suite?: SuiteName;
  random?: RandomSource;
  now?: () => Date;
  /** Initial key versions (32 bytes each); by default one random version 1 is created. */
  keys?: ReadonlyMap<number, Uint8Array>;
}

/**
 * A KMS client that keeps its keys in this process. It is a real implementation of the contract
 * (versions, primary version, disable, context binding), not a mock: tests and adapter authors use
 * it as the reference behaviour. Its keys are lost when the process ends, so it is not a
 * production key store.
 */
export function createLocalKmsClient(options: LocalKmsClientOptions = {}): KmsClient {
  const random = options.random ?? systemRandom;
  const now = options.now ?? (() => new Date());
  const name = options.name ?? 'local';
  const versions = new Map<number, { kek: KeyEncryptionKey; createdAt: Date; enabled: boolean }>();
  const add = (version: number, material: Uint8Array) => {
    versions.set(version, { kek: createLocalKek(version, material, { suite: options.suite, random }), createdAt: now(), enabled: true });
  };
  if (options.keys !== undefined && options.keys.size > 0) {
    for (const [version, material] of options.keys) {
      assertKeyVersion(version);
      add(version, material);
    }
  } else {
    const material = random(32);
    add(1, material);
    material.fill(0);
  }
  let primary = Math.max(...versions.keys());

  const enabled = (version: number) => {
    const entry = versions.get(version);
    if (entry === undefined || !entry.enabled) {
      throw unknownKeyVersion(version, `KMS ${name}`, 'it is disabled or does not exist in the KMS', '该版本在 KMS 中已禁用或不存在');
    }
    return entry.kek;
  };

  return {
    name,
    currentKeyVersion: async () => primary,
    listKeyVersions: async () => [...versions].map(([version, e]) => ({ version, createdAt: e.createdAt, enabled: e.enabled })),
    async createKeyVersion() {
      const version = Math.max(...versions.keys()) + 1;
      const material = random(32);
      add(version, material);
      material.fill(0);
      primary = version;
      return version;
    },
    async disableKeyVersion(version) {
      const entry = versions.get(version);
      if (entry === undefined) throw unknownKeyVersion(version, `KMS ${name}`, 'nothing to disable', '无需禁用');
      if (version === primary)
        throw new CryptoError('invalid_argument', `KMS ${name}: the primary version cannot be disabled`, `KMS ${name}：主版本不能禁用`);
      entry.enabled = false;
    },
    wrap: async ({ keyVersion, plaintext, context }) => enabled(keyVersion).wrap(plaintext, context),
    unwrap: async ({ keyVersion, blob, context }) => enabled(keyVersion).unwrap(blob, context),
  };
}

/** A `kms` provider over `createLocalKmsClient`: the whole KMS path in one process (tests, demos). */
export function createLocalKmsProvider(options: LocalKmsClientOptions = {}): MasterKeyProvider {
  return createKmsKeyProvider({ client: createLocalKmsClient(options) });
}
