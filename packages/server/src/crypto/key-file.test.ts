import { existsSync } from 'node:fs';
import { chmod, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createFileKeyProvider, KEY_FILE_NAME, keyFilePath, parseKeyFile } from './key-file.js';
import { createSeededRandom } from './random.js';

const posix = process.platform !== 'win32';
let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pipa-keyfile-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const fixedNow = () => new Date('2025-03-01T08:00:00.000Z');

describe('file master key provider', () => {
  it('creates the key file on first use with mode 0600, in a 0700 directory it creates', async () => {
    const dataDir = join(dir, 'data');
    const p = await createFileKeyProvider({ path: keyFilePath(dataDir), now: fixedNow, random: createSeededRandom('a') });
    expect(p.kind).toBe('file');
    expect(await p.currentVersion()).toBe(1);
    const doc = JSON.parse(await readFile(join(dataDir, KEY_FILE_NAME), 'utf8'));
    expect(doc).toMatchObject({
      format: 'pipa-master-key',
      formatVersion: 1,
      current: 1,
      keys: [{ version: 1, createdAt: '2025-03-01T08:00:00.000Z' }],
    });
    expect(Buffer.from(doc.keys[0].key, 'base64')).toHaveLength(32);
    if (posix) {
      expect((await stat(p.path)).mode & 0o777).toBe(0o600);
      expect((await stat(dataDir)).mode & 0o777).toBe(0o700);
    }
    expect(p.describe()).not.toContain(doc.keys[0].key);
    // A second open reads the same key, it does not make a new one.
    const again = await createFileKeyProvider({ path: p.path });
    expect((await again.versions()).map((v) => v.version)).toEqual([1]);
    const blob = await (await p.getKey(1)).wrap(Buffer.from('secret'), Buffer.from('ctx'));
    expect((await (await again.getKey(1)).unwrap(blob, Buffer.from('ctx'))).toString()).toBe('secret');
  });

  it('two providers starting together agree on one key', async () => {
    const path = join(dir, KEY_FILE_NAME);
    const [a, b] = await Promise.all([createFileKeyProvider({ path }), createFileKeyProvider({ path })]);
    const blob = await (await a.getKey(1)).wrap(Buffer.from('x'), Buffer.alloc(0));
    expect((await (await b.getKey(1)).unwrap(blob, Buffer.alloc(0))).toString()).toBe('x');
    expect((await readdir(dir)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it.runIf(posix)('refuses a key file readable by group or others, naming the file and the fix', async () => {
    const path = join(dir, KEY_FILE_NAME);
    await createFileKeyProvider({ path });
    for (const mode of [0o644, 0o640, 0o604, 0o660, 0o606]) {
      await chmod(path, mode);
      await expect(createFileKeyProvider({ path })).rejects.toMatchObject({
        code: 'key_file_insecure',
        message: expect.stringMatching(new RegExp(`^${path}: mode 0${mode.toString(8)} lets group or others .* chmod 600 ${path}$`)),
      });
    }
    await chmod(path, 0o400);
    await expect(createFileKeyProvider({ path })).resolves.toBeDefined();
  });

  it('with create: false, a missing file is an error that says where one comes from, and nothing is created', async () => {
    await expect(createFileKeyProvider({ path: join(dir, 'none.json'), create: false })).rejects.toMatchObject({
      code: 'master_key_missing',
      message: expect.stringContaining('first start of a new installation (pipa serve)'),
    });
    expect(existsSync(join(dir, 'none.json'))).toBe(false);
  });

  it('a key file under a file (not a folder) is a key_file_invalid error naming the file and the reason', async () => {
    const blocker = join(dir, 'a-file');
    await writeFile(blocker, 'x');
    await expect(createFileKeyProvider({ path: join(blocker, KEY_FILE_NAME) })).rejects.toMatchObject({
      code: 'key_file_invalid',
      message: expect.stringMatching(/a-file\/master-key\.json: cannot (open|create the key file) \((EEXIST|ENOTDIR)/),
    });
  });

  it('rotation writes atomically and keeps old versions', async () => {
    const path = join(dir, KEY_FILE_NAME);
    const p = await createFileKeyProvider({ path, now: fixedNow });
    const v1blob = await (await p.getKey(1)).wrap(Buffer.from('one'), Buffer.alloc(0));
    expect(await p.addVersion()).toBe(2);
    expect(await p.addVersion()).toBe(3);
    expect(await p.currentVersion()).toBe(3);
    expect((await p.versions()).map((v) => [v.version, v.current])).toEqual([
      [1, false],
      [2, false],
      [3, true],
    ]);
    if (posix) expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect((await readdir(dir)).sort()).toEqual([KEY_FILE_NAME]);
    expect((await (await p.getKey(1)).unwrap(v1blob, Buffer.alloc(0))).toString()).toBe('one');
    // Concurrent rotations in one process are serialised, not lost.
    const [a, b] = await Promise.all([p.addVersion(), p.addVersion()]);
    expect([a, b].sort()).toEqual([4, 5]);
    await p.retireVersion(1);
    await expect(p.getKey(1)).rejects.toMatchObject({ code: 'unknown_key_version' });
    await expect(p.retireVersion(5)).rejects.toMatchObject({ code: 'invalid_argument' });
  });

  it('a running provider sees a version another process added', async () => {
    const path = join(dir, KEY_FILE_NAME);
    let t = 0;
    const server = await createFileKeyProvider({ path, now: () => new Date(t), recheckMs: 1000 });
    const cli = await createFileKeyProvider({ path });
    await cli.addVersion();
    const blob = await (await cli.getKey(2)).wrap(Buffer.from('two'), Buffer.alloc(0));
    // getKey of an unknown version re-reads the file.
    expect((await (await server.getKey(2)).unwrap(blob, Buffer.alloc(0))).toString()).toBe('two');
    const other = await createFileKeyProvider({ path, now: () => new Date(t), recheckMs: 1000 });
    await cli.addVersion();
    expect(await other.currentVersion()).toBe(2);
    t = 2000;
    expect(await other.currentVersion()).toBe(3);
  });
});

describe('key file validation', () => {
  const k = (n: number) => Buffer.alloc(32, n).toString('base64');
  const valid = {
    format: 'pipa-master-key',
    formatVersion: 1,
    current: 1,
    keys: [{ version: 1, key: k(1), createdAt: '2025-01-01T00:00:00Z' }],
  };

  it('accepts the document it writes', () => {
    expect(parseKeyFile(JSON.stringify(valid), 'f').doc.current).toBe(1);
  });

  it('names the file and the JSON path of each defect', () => {
    const cases: Array<[unknown, string]> = [
      ['{', 'f: not valid JSON'],
      [[], 'f: $: expected an object'],
      [{ ...valid, format: 'x' }, 'f: $.format: expected "pipa-master-key"'],
      [{ ...valid, formatVersion: 2 }, 'f: $.formatVersion: expected 1'],
      [{ ...valid, current: 0 }, 'f: $.current: expected a version number'],
      [{ ...valid, current: 2 }, 'f: $.current: version 2 is not in $.keys'],
      [{ ...valid, keys: [] }, 'f: $.keys: expected a non-empty array'],
      [{ ...valid, keys: [{ version: 1, key: 'abc', createdAt: '2025-01-01T00:00:00Z' }] }, 'f: $.keys[0].key: decodes to 2 bytes'],
      [{ ...valid, keys: [{ version: 1, key: k(1), createdAt: 'yesterday' }] }, 'f: $.keys[0].createdAt: expected an ISO 8601 date-time'],
      [
        { ...valid, keys: [...valid.keys, { version: 1, key: k(2), createdAt: '2025-01-01T00:00:00Z' }] },
        'f: $.keys[1].version: version 1 appears twice',
      ],
      [
        { ...valid, keys: [...valid.keys, { version: 2, key: k(1), createdAt: '2025-01-01T00:00:00Z' }] },
        'f: $.keys[1].key: same key as version 1',
      ],
    ];
    for (const [doc, message] of cases) {
      expect(() => parseKeyFile(typeof doc === 'string' ? doc : JSON.stringify(doc), 'f'), message).toThrowError(
        expect.objectContaining({ message: expect.stringContaining(message) }),
      );
    }
  });

  it('a corrupt key file stops start-up with the file named', async () => {
    const path = join(dir, KEY_FILE_NAME);
    await writeFile(path, '{"format":"pipa-master-key"', { mode: 0o600 });
    await expect(createFileKeyProvider({ path })).rejects.toMatchObject({
      code: 'key_file_invalid',
      message: expect.stringContaining(path),
    });
  });
});
