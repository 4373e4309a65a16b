import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CryptoError } from './errors.js';
import { createFieldCipher } from './field-cipher.js';
import { createFileKeyProvider } from './key-file.js';
import { createKeyring, generateSystemKeys, inspectWrappedKey, openSystemKeys } from './keyring.js';
import { createKmsKeyProvider, createLocalKmsClient, createLocalKmsProvider, type KmsClient } from './kms.js';
import { createEnvKeyProvider } from './master-key.js';
import { openMasterKeyProvider } from './provider.js';
import { createSeededRandom } from './random.js';
import { rewrapAll } from './rotation.js';

const K1 = Buffer.alloc(32, 1).toString('base64');
const K2 = Buffer.alloc(32, 2).toString('base64');
const alice = { app: 'xiaopiaopiao', subject: 'sub_alice' };
const bob = { app: 'xiaopiaopiao', subject: 'sub_bob' };
const phone = { ...alice, field: 'phone' };

describe('keyring', () => {
  const keyring = createKeyring({ provider: createEnvKeyProvider({ env: { PIPA_MASTER_KEY: K1 } }), random: createSeededRandom('kr') });

  it('generates a data key per subject, stored wrapped, and unwraps it', async () => {
    const { dataKey, wrapped } = await keyring.generateDataKey(alice);
    expect(dataKey.version).toBe(1);
    expect(inspectWrappedKey(wrapped)).toEqual({ format: 1, kekKind: 'local', kekVersion: 1 });
    // record header (6) + envelope header (7 + 12) + (4 + 32) + tag (16)
    expect(wrapped.length).toBe(6 + 19 + 36 + 16);
    const cipher = createFieldCipher();
    const envelope = cipher.encrypt(dataKey, '13812345678', phone);
    const again = await keyring.unwrapDataKey(wrapped, alice);
    expect(cipher.decryptString(again, envelope, phone)).toBe('13812345678');
    const v7 = await keyring.generateDataKey(alice, 7);
    expect((await keyring.unwrapDataKey(v7.wrapped, alice)).version).toBe(7);
  });

  it('a wrapped key is bound to its owner and its header', async () => {
    const { wrapped } = await keyring.generateDataKey(alice);
    await expect(keyring.unwrapDataKey(wrapped, bob)).rejects.toMatchObject({ code: 'authentication_failed' });
    await expect(keyring.unwrapDataKey(wrapped, { ...alice, app: 'shengshitong' })).rejects.toMatchObject({
      code: 'authentication_failed',
    });
    await expect(keyring.unwrapSecret(wrapped, 'blind-index')).rejects.toMatchObject({ code: 'authentication_failed' });
    for (let i = 0; i < wrapped.length; i++) {
      const tampered = Buffer.from(wrapped);
      tampered[i] = (tampered[i] ?? 0) ^ 0x80;
      const err = await keyring.unwrapDataKey(tampered, alice).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err, `byte ${i}`).toBeInstanceOf(CryptoError);
    }
    await expect(keyring.unwrapDataKey(wrapped.subarray(0, 5), alice)).rejects.toMatchObject({ code: 'envelope_truncated' });
    await expect(keyring.unwrapDataKey(wrapped.subarray(0, 30), alice)).rejects.toMatchObject({ code: 'envelope_truncated' });
  });

  it('system keys are random, wrapped, and come back', async () => {
    const { keys, wrapped } = await generateSystemKeys(keyring);
    expect(new Set([keys.blindIndex, keys.auditPseudonym, keys.sharingPseudonym].map((k) => k.toString('hex'))).size).toBe(3);
    const opened = await openSystemKeys(keyring, wrapped);
    expect(opened.blindIndex.equals(keys.blindIndex)).toBe(true);
    expect(opened.sharingPseudonym.equals(keys.sharingPseudonym)).toBe(true);
    // Purposes cannot be swapped.
    await expect(keyring.unwrapSecret(wrapped['blind-index'], 'audit-pseudonym')).rejects.toMatchObject({ code: 'authentication_failed' });
  });

  it('rejects an unknown record format or KEK kind with a typed error', () => {
    const bad = Buffer.from('02010000000100', 'hex');
    expect(() => inspectWrappedKey(bad)).toThrowError(expect.objectContaining({ code: 'envelope_unknown_version' }));
    expect(() => inspectWrappedKey(Buffer.from('01090000000100', 'hex'))).toThrowError(
      expect.objectContaining({ code: 'envelope_malformed' }),
    );
  });

  it('sm4 deployments wrap with SM4-CTR + HMAC-SM3', async () => {
    const sm4 = createKeyring({ provider: createEnvKeyProvider({ env: { PIPA_MASTER_KEY: K1 }, suite: 'sm4' }) });
    const { wrapped } = await sm4.generateDataKey(alice);
    expect(wrapped[6 + 1]).toBe(2); // the inner envelope's suite id
    expect((await sm4.unwrapDataKey(wrapped, alice)).version).toBe(1);
    // The aes-configured keyring on the same master key still opens it (suite migration).
    expect((await keyring.unwrapDataKey(wrapped, alice)).version).toBe(1);
  });
});

describe('rotation', () => {
  it('env: encrypt under v1, rotate to v2, rewrap, decrypt; v1 is needed until the rewrap is done', async () => {
    const cipher = createFieldCipher();
    const v1 = createKeyring({ provider: createEnvKeyProvider({ env: { PIPA_MASTER_KEY: K1 } }) });
    const { dataKey, wrapped } = await v1.generateDataKey(alice);
    const envelope = cipher.encrypt(dataKey, '13812345678', phone);

    // Operator rotates: new key current, old key kept as V1.
    const rotated = createKeyring({
      provider: createEnvKeyProvider({ env: { PIPA_MASTER_KEY: K2, PIPA_MASTER_KEY_VERSION: '2', PIPA_MASTER_KEY_V1: K1 } }),
    });
    expect(await rotated.needsRewrap(wrapped)).toBe(true);
    // Still readable before rewrap, because V1 is there.
    expect(cipher.decryptString(await rotated.unwrapDataKey(wrapped, alice), envelope, phone)).toBe('13812345678');

    // Dropping V1 before the rewrap has run loses access to the key.
    const tooEarly = createKeyring({ provider: createEnvKeyProvider({ env: { PIPA_MASTER_KEY: K2, PIPA_MASTER_KEY_VERSION: '2' } }) });
    await expect(tooEarly.unwrapDataKey(wrapped, alice)).rejects.toMatchObject({ code: 'unknown_key_version' });

    const result = await rotated.rewrapDataKey(wrapped, alice);
    expect(result).toMatchObject({ changed: true, fromVersion: 1, toVersion: 2 });
    expect(inspectWrappedKey(result.wrapped).kekVersion).toBe(2);
    expect(await rotated.needsRewrap(result.wrapped)).toBe(false);
    // Rewrap again is a no-op.
    expect(await rotated.rewrapDataKey(result.wrapped, alice)).toMatchObject({ changed: false, fromVersion: 2, toVersion: 2 });

    // After the rewrap, V1 can go: the field envelope is unchanged and still opens.
    const reopened = await tooEarly.unwrapDataKey(result.wrapped, alice);
    expect(cipher.decryptString(reopened, envelope, phone)).toBe('13812345678');
    // The rewrapped key cannot be moved to another subject either.
    await expect(tooEarly.unwrapDataKey(result.wrapped, bob)).rejects.toMatchObject({ code: 'authentication_failed' });
  });

  it('file: addVersion, rewrapAll over rows, then retire the old version', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pipa-rotate-'));
    try {
      const provider = await createFileKeyProvider({ path: join(dir, 'master-key.json') });
      const keyring = createKeyring({ provider });
      const cipher = createFieldCipher();
      const table = new Map<string, { app: string; subject: string; wrapped: Buffer; envelope: Buffer }>();
      for (let i = 0; i < 25; i++) {
        const owner = { app: 'xiaopiaopiao', subject: `sub_${i}` };
        const { dataKey, wrapped } = await keyring.generateDataKey(owner);
        table.set(owner.subject, {
          ...owner,
          wrapped,
          envelope: cipher.encrypt(dataKey, `1380000${String(i).padStart(4, '0')}`, { ...owner, field: 'phone' }),
        });
      }
      expect(await provider.addVersion()).toBe(2);
      // One row already rewrapped (e.g. by an earlier, interrupted run) and one corrupt row.
      const first = table.get('sub_0');
      if (first === undefined) throw new Error('missing row');
      first.wrapped = (await keyring.rewrapDataKey(first.wrapped, first)).wrapped;
      const corrupt = table.get('sub_13');
      if (corrupt === undefined) throw new Error('missing row');
      const original13 = corrupt.wrapped;
      corrupt.wrapped = Buffer.from(original13);
      corrupt.wrapped[30] = (corrupt.wrapped[30] ?? 0) ^ 1;

      async function* rows() {
        for (const row of table.values()) yield row;
      }
      const writes: string[] = [];
      const progress: number[] = [];
      const report = await rewrapAll(
        keyring,
        rows(),
        async (row, wrapped) => {
          writes.push(row.subject);
          row.wrapped = wrapped;
        },
        { concurrency: 3, onProgress: (p) => progress.push(p.scanned) },
      );
      expect(report).toMatchObject({ scanned: 25, rewrapped: 23, alreadyCurrent: 1, failed: 1, complete: true });
      expect(report.failures[0]?.row.subject).toBe('sub_13');
      expect(report.failures[0]?.error).toMatchObject({ code: 'authentication_failed' });
      expect(writes).toHaveLength(23);
      expect(progress).toHaveLength(25);

      // Fix the corrupt row from a backup and re-run: only it is rewritten.
      corrupt.wrapped = original13;
      const second = await rewrapAll(keyring, table.values(), async (row, wrapped) => {
        row.wrapped = wrapped;
      });
      expect(second).toMatchObject({ scanned: 25, rewrapped: 1, alreadyCurrent: 24, failed: 0 });

      await provider.retireVersion(1);
      for (const row of table.values()) {
        const dek = await keyring.unwrapDataKey(row.wrapped, row);
        expect(cipher.decryptString(dek, row.envelope, { ...row, field: 'phone' })).toMatch(/^1380000\d{4}$/);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('rewrapAll stops on error or abort when asked', async () => {
    const provider = createEnvKeyProvider({ env: { PIPA_MASTER_KEY: K2, PIPA_MASTER_KEY_VERSION: '2', PIPA_MASTER_KEY_V1: K1 } });
    const keyring = createKeyring({ provider });
    const old = createKeyring({ provider: createEnvKeyProvider({ env: { PIPA_MASTER_KEY: K1 } }) });
    const rows = await Promise.all(
      ['a', 'b', 'c', 'd'].map(async (s) => ({
        app: 'x',
        subject: s,
        wrapped: (await old.generateDataKey({ app: 'x', subject: s })).wrapped,
      })),
    );
    const broken = [{ ...rows[0], subject: 'other' }, ...rows.slice(1)] as typeof rows;
    const stopped = await rewrapAll(keyring, broken, async () => undefined, { concurrency: 1, stopOnError: true });
    expect(stopped).toMatchObject({ scanned: 1, failed: 1, complete: false });
    const controller = new AbortController();
    const aborted = await rewrapAll(keyring, rows, async () => controller.abort(), { concurrency: 1, signal: controller.signal });
    expect(aborted).toMatchObject({ scanned: 1, rewrapped: 1, complete: false });
  });
});

describe('KMS provider', () => {
  it('wraps remotely through the KmsClient interface; local KMS keys are separate from master keys', async () => {
    const client = createLocalKmsClient({ name: 'local-test', random: createSeededRandom('kms') });
    const provider = createKmsKeyProvider({ client });
    const keyring = createKeyring({ provider });
    const { dataKey, wrapped } = await keyring.generateDataKey(alice);
    expect(inspectWrappedKey(wrapped)).toEqual({ format: 1, kekKind: 'kms', kekVersion: 1 });
    const cipher = createFieldCipher();
    const envelope = cipher.encrypt(dataKey, '张三', { ...alice, field: 'name' });
    expect(cipher.decryptString(await keyring.unwrapDataKey(wrapped, alice), envelope, { ...alice, field: 'name' })).toBe('张三');
    await expect(keyring.unwrapDataKey(wrapped, bob)).rejects.toMatchObject({ code: 'authentication_failed' });

    // Rotation in the KMS, rewrap, disable the old version.
    expect(await provider.addVersion()).toBe(2);
    const { wrapped: rewrapped } = await keyring.rewrapDataKey(wrapped, alice);
    expect(inspectWrappedKey(rewrapped).kekVersion).toBe(2);
    await provider.retireVersion(1);
    expect((await provider.versions()).map((v) => v.version)).toEqual([2]);
    await expect(keyring.unwrapDataKey(wrapped, alice)).rejects.toMatchObject({ code: 'unknown_key_version' });
    expect((await keyring.unwrapDataKey(rewrapped, alice)).version).toBe(1);
    await expect(provider.retireVersion(2)).rejects.toMatchObject({ code: 'invalid_argument' });

    // A key wrapped by a local master key is refused with a clear error, not a decryption failure.
    const local = createKeyring({ provider: createEnvKeyProvider({ env: { PIPA_MASTER_KEY: K1 } }) });
    const localWrapped = (await local.generateDataKey(alice)).wrapped;
    await expect(keyring.unwrapDataKey(localWrapped, alice)).rejects.toMatchObject({
      code: 'unknown_key_version',
      message: expect.stringContaining('local master key'),
    });
  });

  it('vendor failures become kms_error with the KMS named', async () => {
    const failing: KmsClient = {
      ...createLocalKmsClient(),
      name: 'aliyun:alias/pipa',
      wrap: async () => {
        throw new Error('ECONNRESET');
      },
    };
    const keyring = createKeyring({ provider: createKmsKeyProvider({ client: failing }) });
    await expect(keyring.generateDataKey(alice)).rejects.toMatchObject({
      code: 'kms_error',
      message: 'KMS aliyun:alias/pipa: wrap failed: ECONNRESET',
    });
  });

  it('caches the current version for cacheMs', async () => {
    let calls = 0;
    const base = createLocalKmsClient();
    const client: KmsClient = {
      ...base,
      currentKeyVersion: async () => {
        calls++;
        return base.currentKeyVersion();
      },
    };
    let t = 0;
    const provider = createKmsKeyProvider({ client, cacheMs: 1000, now: () => t });
    await provider.currentVersion();
    await provider.currentVersion();
    expect(calls).toBe(1);
    t = 1500;
    await provider.currentVersion();
    expect(calls).toBe(2);
  });
});

describe('openMasterKeyProvider', () => {
  it('auto: env when PIPA_MASTER_KEY is set, else the key file in the data directory', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pipa-open-'));
    try {
      expect((await openMasterKeyProvider({ env: { PIPA_MASTER_KEY: K1 }, dataDir: dir })).kind).toBe('env');
      const file = await openMasterKeyProvider({ env: {}, dataDir: dir });
      expect(file.kind).toBe('file');
      expect(file.describe()).toContain(join(dir, 'master-key.json'));
      await expect(openMasterKeyProvider({ env: {} })).rejects.toMatchObject({ code: 'invalid_argument' });
      expect((await openMasterKeyProvider({ config: { provider: 'kms', client: createLocalKmsClient() } })).kind).toBe('kms');
      const local = createLocalKmsProvider({ random: createSeededRandom('p') });
      expect(local.describe()).toBe('kms local');
      expect(await local.currentVersion()).toBe(1);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
