/**
 * Data keys (DEKs): one per subject, 32 random bytes, a version. A `DataKey` holds the material in
 * memory, derives each suite's working keys once (HKDF-SM3 for sm4) and caches them, and can be
 * destroyed: `destroy()` zero-fills the material and every derived key, after which any use throws
 * `key_destroyed`. It offers no way to export the material for storage: the keyring wraps the random
 * bytes before it builds the `DataKey`, and re-wrapping works on unwrapped bytes, never on a `DataKey`.
 *
 * The same class holds local master key (KEK) versions, which are also "a version and 32 bytes".
 */
import { inspect } from 'node:util';
import { assertKeyVersion } from './encoding.js';
import { CryptoError } from './errors.js';
import { type RandomSource, systemRandom } from './random.js';
import type { CipherSuite, SuiteKey, SuiteName } from './suites.js';

export const DATA_KEY_LENGTH = 32;

export class DataKey {
  readonly version: number;
  #material: Buffer | null;
  #suiteKeys = new Map<SuiteName, SuiteKey>();

  /** Copies `material` (32 bytes); the caller may wipe its own copy afterwards. */
  constructor(material: Uint8Array, version: number) {
    assertKeyVersion(version, 'data key version');
    if (material.length !== DATA_KEY_LENGTH) {
      throw new CryptoError(
        'invalid_argument',
        `a data key is ${DATA_KEY_LENGTH} bytes, got ${material.length}`,
        `数据密钥应为 ${DATA_KEY_LENGTH} 字节，实际为 ${material.length} 字节`,
      );
    }
    this.version = version;
    this.#material = Buffer.from(material);
  }

  /** A new random data key. */
  static generate(version = 1, random: RandomSource = systemRandom): DataKey {
    const material = random(DATA_KEY_LENGTH);
    const key = new DataKey(material, version);
    material.fill(0);
    return key;
  }

  get destroyed(): boolean {
    return this.#material === null;
  }

  /** The suite's working keys, derived on first use and cached. */
  suiteKey(suite: CipherSuite): SuiteKey {
    const cached = this.#suiteKeys.get(suite.name);
    if (cached !== undefined) return cached;
    const material = this.#requireMaterial();
    const key = suite.prepareKey(material);
    this.#suiteKeys.set(suite.name, key);
    return key;
  }

  /** Crypto-shredding in memory: zero-fill the material and every derived key. Idempotent. */
  destroy(): void {
    this.#material?.fill(0);
    this.#material = null;
    for (const key of this.#suiteKeys.values()) {
      key.enc.fill(0);
      key.mac.fill(0);
    }
    this.#suiteKeys.clear();
  }

  #requireMaterial(): Buffer {
    if (this.#material === null) {
      throw new CryptoError(
        'key_destroyed',
        `data key version ${this.version} was destroyed (crypto-shredded); the data it protected cannot be read`,
        `数据密钥（版本 ${this.version}）已销毁（加密擦除），其保护的数据无法再读取`,
      );
    }
    return this.#material;
  }

  toJSON(): { version: number; destroyed: boolean } {
    return { version: this.version, destroyed: this.destroyed };
  }

  [inspect.custom](): string {
    return `DataKey { version: ${this.version}${this.destroyed ? ', destroyed' : ''} }`;
  }
}

/** Crypto-shredding primitive for a key held in memory: see `DataKey.destroy`. */
export function shredDataKey(key: DataKey): void {
  key.destroy();
}

export interface DataKeyCacheOptions {
  /** Most keys held at once (least recently used are dropped first). Default 10 000. */
  maxEntries?: number;
  /** How long an unwrapped key may be reused, in milliseconds. Default 300 000 (5 minutes). */
  ttlMs?: number;
  /** Injected clock (milliseconds since the epoch). */
  now?: () => number;
}

export interface DataKeyCache {
  get(app: string, subject: string): DataKey | undefined;
  set(app: string, subject: string, key: DataKey): void;
  /**
   * Crypto-shredding of the in-memory copy: drop the subject's key from the cache and destroy it,
   * so requests still holding it fail with `key_destroyed`. The store deletes the wrapped key.
   */
  shred(app: string, subject: string): boolean;
  /**
   * Drop the subject's key from the cache without destroying it, as an eviction does: later
   * requests load it again (or find it gone), requests holding it finish. Returns the key dropped.
   */
  drop(app: string, subject: string): DataKey | undefined;
  /** Destroy every cached key (shutdown). */
  clear(): void;
  readonly size: number;
}

/**
 * An LRU cache of unwrapped data keys with a time-to-live, so the vault's hot path does not unwrap
 * (and, with a KMS, call out) on every request. Keys dropped for age or size are not destroyed,
 * since a request may still be using them; `shred` destroys.
 */
export function createDataKeyCache(options: DataKeyCacheOptions = {}): DataKeyCache {
  const maxEntries = options.maxEntries ?? 10_000;
  const ttlMs = options.ttlMs ?? 300_000;
  const now = options.now ?? Date.now;
  if (!Number.isInteger(maxEntries) || maxEntries < 1) {
    throw new CryptoError(
      'invalid_argument',
      `maxEntries must be a positive integer (got ${maxEntries})`,
      `maxEntries 必须是正整数（实际为 ${maxEntries}）`,
    );
  }
  const entries = new Map<string, { key: DataKey; expires: number }>();
  const id = (app: string, subject: string) => `${app}\u0000${subject}`;
  const cache: DataKeyCache = {
    get(app, subject) {
      const k = id(app, subject);
      const entry = entries.get(k);
      if (entry === undefined) return undefined;
      if (entry.expires <= now() || entry.key.destroyed) {
        entries.delete(k);
        return undefined;
      }
      entries.delete(k);
      entries.set(k, entry);
      return entry.key;
    },
    set(app, subject, key) {
      const k = id(app, subject);
      entries.delete(k);
      entries.set(k, { key, expires: now() + ttlMs });
      while (entries.size > maxEntries) {
        const oldest = entries.keys().next();
        if (oldest.done === true) break;
        entries.delete(oldest.value);
      }
    },
    shred(app, subject) {
      const key = cache.drop(app, subject);
      key?.destroy();
      return key !== undefined;
    },
    drop(app, subject) {
      const k = id(app, subject);
      const entry = entries.get(k);
      entries.delete(k);
      return entry?.key;
    },
    clear() {
      for (const entry of entries.values()) entry.key.destroy();
      entries.clear();
    },
    get size() {
      return entries.size;
    },
  };
  return cache;
}
