import { describe, expect, it } from 'vitest';
import { CryptoError } from './errors.js';
import { createEnvKeyProvider, generateMasterKey } from './master-key.js';
import { createSeededRandom } from './random.js';

const K1 = Buffer.alloc(32, 1).toString('base64');
const K2 = Buffer.alloc(32, 2).toString('base64');
const K3 = Buffer.alloc(32, 3).toString('base64');

function errorOf(fn: () => unknown): CryptoError {
  try {
    fn();
  } catch (err) {
    if (err instanceof CryptoError) return err;
    throw err;
  }
  throw new Error('expected a CryptoError');
}

describe('env master key provider', () => {
  it('one key is version 1', async () => {
    const p = createEnvKeyProvider({ env: { PIPA_MASTER_KEY: K1 } });
    expect(p.kind).toBe('env');
    expect(await p.currentVersion()).toBe(1);
    expect(await p.versions()).toEqual([{ version: 1, current: true, createdAt: null, source: 'PIPA_MASTER_KEY' }]);
    expect(p.describe()).not.toContain(K1);
  });

  it('older versions come from PIPA_MASTER_KEY_V<n> with an explicit current version', async () => {
    const p = createEnvKeyProvider({
      env: { PIPA_MASTER_KEY: K3, PIPA_MASTER_KEY_VERSION: '3', PIPA_MASTER_KEY_V1: K1, PIPA_MASTER_KEY_V2: K2 },
    });
    expect(await p.currentVersion()).toBe(3);
    expect((await p.versions()).map((v) => [v.version, v.current, v.source])).toEqual([
      [1, false, 'PIPA_MASTER_KEY_V1'],
      [2, false, 'PIPA_MASTER_KEY_V2'],
      [3, true, 'PIPA_MASTER_KEY'],
    ]);
    expect((await p.getKey(2)).version).toBe(2);
    await expect(p.getKey(4)).rejects.toMatchObject({
      code: 'unknown_key_version',
      message: expect.stringContaining('PIPA_MASTER_KEY_V4'),
    });
  });

  it('tolerates a trailing newline and unpadded base64', async () => {
    const p = createEnvKeyProvider({ env: { PIPA_MASTER_KEY: `${K1}\n` } });
    expect(await p.currentVersion()).toBe(1);
    expect(() => createEnvKeyProvider({ env: { PIPA_MASTER_KEY: K1.replace(/=+$/, '') } })).not.toThrow();
  });

  it('errors name the variable and say what is wrong', () => {
    const cases: Array<[Record<string, string>, RegExp]> = [
      [{}, /^PIPA_MASTER_KEY is not set/],
      [{ PIPA_MASTER_KEY: '   ' }, /^PIPA_MASTER_KEY is not set/],
      [{ PIPA_MASTER_KEY: 'not base64!' }, /^PIPA_MASTER_KEY: not valid base64 \(unexpected character " "\)/],
      [{ PIPA_MASTER_KEY: Buffer.alloc(16).toString('base64') }, /^PIPA_MASTER_KEY: decodes to 16 bytes; a key is 32 bytes$/],
      [{ PIPA_MASTER_KEY: 'ab'.repeat(32) }, /^PIPA_MASTER_KEY: decodes to 48 bytes; a key is 32 bytes \(it looks like hex/],
      [{ PIPA_MASTER_KEY: K1, PIPA_MASTER_KEY_VERSION: 'two' }, /^PIPA_MASTER_KEY_VERSION: "two" is not a version number/],
      [{ PIPA_MASTER_KEY: K1, PIPA_MASTER_KEY_VERSION: '0' }, /^PIPA_MASTER_KEY_VERSION: "0" is not a version number/],
      [{ PIPA_MASTER_KEY: K2, PIPA_MASTER_KEY_V1: K1 }, /^PIPA_MASTER_KEY_V1 set but PIPA_MASTER_KEY_VERSION is not/],
      [{ PIPA_MASTER_KEY: K2, PIPA_MASTER_KEY_VERSION: '2', PIPA_MASTER_KEY_V1: 'short' }, /^PIPA_MASTER_KEY_V1: /],
      [
        { PIPA_MASTER_KEY: K2, PIPA_MASTER_KEY_VERSION: '2', PIPA_MASTER_KEY_V3: K3 },
        /^PIPA_MASTER_KEY_V3 is newer than the current version 2/,
      ],
      [
        { PIPA_MASTER_KEY: K2, PIPA_MASTER_KEY_VERSION: '2', PIPA_MASTER_KEY_V1: K2 },
        /^PIPA_MASTER_KEY_V1 holds the same key as PIPA_MASTER_KEY/,
      ],
      [
        { PIPA_MASTER_KEY: K2, PIPA_MASTER_KEY_VERSION: '2', PIPA_MASTER_KEY_V2: K1 },
        /^PIPA_MASTER_KEY_V2 and PIPA_MASTER_KEY both claim version 2/,
      ],
      [{ PIPA_MASTER_KEY: K2, PIPA_MASTER_KEY_VERSION: '2', PIPA_MASTER_KEY_V01: K1 }, /^PIPA_MASTER_KEY_V01: not a recognised variable/],
    ];
    for (const [env, message] of cases) {
      const err = errorOf(() => createEnvKeyProvider({ env }));
      expect(err.code, JSON.stringify(env)).toBe('malformed_key');
      expect(err.message).toMatch(message);
      expect(err.messageZh.length).toBeGreaterThan(0);
      // The key material is never echoed.
      for (const value of Object.values(env)) if (value.length >= 40) expect(err.message).not.toContain(value);
    }
  });

  it('cannot rotate itself, and says how', async () => {
    const p = createEnvKeyProvider({ env: { PIPA_MASTER_KEY: K1 } });
    await expect(p.addVersion()).rejects.toMatchObject({
      code: 'unsupported_operation',
      message: expect.stringContaining('PIPA_MASTER_KEY_V1'),
    });
    await expect(p.retireVersion(1)).rejects.toMatchObject({ code: 'unsupported_operation' });
  });

  it('generateMasterKey gives a key the provider accepts', () => {
    const key = generateMasterKey(createSeededRandom('k'));
    expect(Buffer.from(key, 'base64')).toHaveLength(32);
    expect(() => createEnvKeyProvider({ env: { PIPA_MASTER_KEY: key } })).not.toThrow();
  });
});
