/**
 * The `file` master key provider: a JSON key file in the data directory, created on first use.
 *
 *   {
 *     "format": "pipa-master-key",
 *     "formatVersion": 1,
 *     "current": 2,
 *     "keys": [
 *       { "version": 1, "key": "<base64 of 32 bytes>", "createdAt": "2025-01-01T00:00:00.000Z" },
 *       { "version": 2, "key": "<base64 of 32 bytes>", "createdAt": "2025-06-01T00:00:00.000Z" }
 *     ]
 *   }
 *
 * - The file is created with mode 0600 (O_EXCL, so two processes starting together cannot both
 *   create one) and pipa refuses to start when it is readable or writable by group or others
 *   (`key_file_insecure`, with the `chmod` to run). Mode bits are not checked on Windows.
 * - Rotation (`addVersion`) and retirement write a temporary file (0600), fsync it, rename it over
 *   the key file and fsync the directory: the file is always either the old or the new document.
 * - Another process (the CLI) may rotate the file while the server runs: a version the server does
 *   not know makes it re-read the file, and `currentVersion` re-reads a changed file at most every
 *   few seconds.
 */
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { type FileHandle, link, open, rename, stat, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { makeDirectories } from '../fs.js';
import { assertKeyVersion, decodeKeyMaterial } from './encoding.js';
import { CryptoError } from './errors.js';
import { createLocalKek, type KeyEncryptionKey, type LocalKekOptions, type MasterKeyProvider, unknownKeyVersion } from './master-key.js';
import { type RandomSource, systemRandom } from './random.js';

export const KEY_FILE_NAME = 'master-key.json';
export const KEY_FILE_FORMAT = 'pipa-master-key';

export interface KeyFileDocument {
  format: typeof KEY_FILE_FORMAT;
  formatVersion: 1;
  current: number;
  keys: Array<{ version: number; key: string; createdAt: string }>;
}

export interface FileKeyProviderOptions extends LocalKekOptions {
  /** The key file. Use `keyFilePath(dataDir)` for the standard location. */
  path: string;
  /** Create the file (and its directory, 0700) with a first key when it does not exist. Default true. */
  create?: boolean;
  /** Injected clock for `createdAt` and the re-read interval. */
  now?: () => Date;
  random?: RandomSource;
  /** How often `currentVersion` checks whether another process changed the file, ms. Default 5000. */
  recheckMs?: number;
}

export interface FileKeyProvider extends MasterKeyProvider {
  readonly path: string;
  /** Re-read the file now (after another process rotated it). */
  reload(): Promise<void>;
}

export function keyFilePath(dataDir: string): string {
  return join(dataDir, KEY_FILE_NAME);
}

function invalid(path: string, jsonPath: string, message: string, messageZh: string): CryptoError {
  return new CryptoError('key_file_invalid', `${path}: ${jsonPath}: ${message}`, `${path}：${jsonPath}：${messageZh}`);
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isVersion = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= 0xffffffff;

/** Parse and validate a key file's text. Errors name the file and the JSON path. */
export function parseKeyFile(text: string, path: string): { doc: KeyFileDocument; material: Map<number, Buffer> } {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new CryptoError(
      'key_file_invalid',
      `${path}: not valid JSON (${(err as Error).message})`,
      `${path}：不是有效的 JSON（${(err as Error).message}）`,
    );
  }
  if (!isRecord(raw)) throw invalid(path, '$', 'expected an object', '应为对象');
  if (raw.format !== KEY_FILE_FORMAT) throw invalid(path, '$.format', `expected "${KEY_FILE_FORMAT}"`, `应为 "${KEY_FILE_FORMAT}"`);
  if (raw.formatVersion !== 1)
    throw invalid(path, '$.formatVersion', 'expected 1 (written by a newer pipa?)', '应为 1（是否由更新版本的 pipa 写入？）');
  if (!isVersion(raw.current))
    throw invalid(path, '$.current', 'expected a version number (integer >= 1)', '应为版本号（不小于 1 的整数）');
  if (!Array.isArray(raw.keys) || raw.keys.length === 0) throw invalid(path, '$.keys', 'expected a non-empty array', '应为非空数组');
  const keys: KeyFileDocument['keys'] = [];
  const material = new Map<number, Buffer>();
  for (const [i, entry] of raw.keys.entries()) {
    const at = `$.keys[${i}]`;
    if (!isRecord(entry)) throw invalid(path, at, 'expected an object', '应为对象');
    if (!isVersion(entry.version))
      throw invalid(path, `${at}.version`, 'expected a version number (integer >= 1)', '应为版本号（不小于 1 的整数）');
    if (material.has(entry.version))
      throw invalid(path, `${at}.version`, `version ${entry.version} appears twice`, `版本 ${entry.version} 重复出现`);
    if (typeof entry.key !== 'string') throw invalid(path, `${at}.key`, 'expected a base64 string', '应为 base64 字符串');
    if (typeof entry.createdAt !== 'string' || Number.isNaN(Date.parse(entry.createdAt))) {
      throw invalid(path, `${at}.createdAt`, 'expected an ISO 8601 date-time', '应为 ISO 8601 日期时间');
    }
    const bytes = decodeKeyMaterial(entry.key, `${path}: ${at}.key`);
    for (const [other, existing] of material) {
      if (existing.equals(bytes))
        throw invalid(
          path,
          `${at}.key`,
          `same key as version ${other}; every version needs its own key`,
          `与版本 ${other} 的密钥相同；每个版本必须使用不同的密钥`,
        );
    }
    material.set(entry.version, bytes);
    keys.push({ version: entry.version, key: entry.key.trim(), createdAt: entry.createdAt });
  }
  if (!material.has(raw.current))
    throw invalid(path, '$.current', `version ${raw.current} is not in $.keys`, `版本 ${raw.current} 不在 $.keys 中`);
  return { doc: { format: KEY_FILE_FORMAT, formatVersion: 1, current: raw.current, keys }, material };
}

function serialise(doc: KeyFileDocument): string {
  return `${JSON.stringify(doc, null, 2)}\n`;
}

async function checkHandle(handle: FileHandle, path: string): Promise<{ mtimeMs: number; ino: number; size: number }> {
  const st = await handle.stat();
  if (!st.isFile()) {
    throw new CryptoError('key_file_insecure', `${path}: not a regular file`, `${path}：不是普通文件`);
  }
  if (process.platform !== 'win32' && (st.mode & 0o077) !== 0) {
    const mode = (st.mode & 0o777).toString(8).padStart(4, '0');
    throw new CryptoError(
      'key_file_insecure',
      `${path}: mode ${mode} lets group or others access the master key; refusing to start. Run: chmod 600 ${path}`,
      `${path}：文件权限 ${mode} 允许同组用户或其他用户访问主密钥，拒绝启动。请执行：chmod 600 ${path}`,
    );
  }
  return { mtimeMs: st.mtimeMs, ino: st.ino, size: st.size };
}

/** Read the key file after checking its permissions; `null` when it does not exist. */
async function readKeyFile(path: string) {
  let handle: FileHandle;
  try {
    handle = await open(path, constants.O_RDONLY);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return null;
    throw new CryptoError(
      'key_file_invalid',
      `${path}: cannot open (${code ?? String(err)})`,
      `${path}：无法打开（${code ?? String(err)}）`,
      { cause: err },
    );
  }
  try {
    const identity = await checkHandle(handle, path);
    const text = await handle.readFile('utf8');
    return { ...parseKeyFile(text, path), identity };
  } finally {
    await handle.close();
  }
}

async function syncDirectory(dir: string): Promise<void> {
  if (process.platform === 'win32') return;
  let handle: FileHandle | undefined;
  try {
    handle = await open(dir, constants.O_RDONLY);
    await handle.sync();
  } catch {
    // Some file systems cannot fsync a directory; the rename itself is still atomic.
  } finally {
    await handle?.close();
  }
}

/**
 * Write `text` to `path` atomically with mode 0600. `exclusive` fails with EEXIST instead of
 * replacing an existing file (first creation); otherwise the file is replaced by rename.
 */
async function writeKeyFileAtomic(path: string, text: string, exclusive: boolean): Promise<void> {
  const tmp = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  const handle = await open(tmp, 'wx', 0o600);
  let moved = false;
  try {
    try {
      await handle.chmod(0o600);
      await handle.writeFile(text, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    if (exclusive) {
      await link(tmp, path);
    } else {
      await rename(tmp, path);
      moved = true;
    }
    await syncDirectory(dirname(path));
  } finally {
    if (!moved) await unlink(tmp).catch(() => undefined);
  }
}

export async function createFileKeyProvider(options: FileKeyProviderOptions): Promise<FileKeyProvider> {
  const path = options.path;
  const now = options.now ?? (() => new Date());
  const random = options.random ?? systemRandom;
  const recheckMs = options.recheckMs ?? 5000;

  let state: {
    doc: KeyFileDocument;
    keks: Map<number, KeyEncryptionKey>;
    identity: { mtimeMs: number; ino: number; size: number };
    checkedAt: number;
  };

  const load = async (): Promise<boolean> => {
    const read = await readKeyFile(path);
    if (read === null) return false;
    const keks = new Map<number, KeyEncryptionKey>();
    for (const [version, bytes] of read.material) {
      keks.set(version, createLocalKek(version, bytes, { suite: options.suite, random }));
      bytes.fill(0);
    }
    state = { doc: read.doc, keks, identity: read.identity, checkedAt: now().getTime() };
    return true;
  };

  const newKeyEntry = (version: number) => {
    const bytes = random(32);
    const entry = { version, key: bytes.toString('base64'), createdAt: now().toISOString() };
    bytes.fill(0);
    return entry;
  };

  if (!(await load())) {
    if (options.create === false) {
      throw new CryptoError(
        'master_key_missing',
        `${path}: no key file. pipa creates one at the first start of a new installation (pipa serve); ` +
          'for an existing installation, restore the key file from a backup or set PIPA_MASTER_KEY',
        `${path}：密钥文件不存在。新安装首次启动（pipa serve）时会自动创建；已有安装请从备份恢复密钥文件或设置 PIPA_MASTER_KEY`,
      );
    }
    const cannotCreate = (err: unknown): CryptoError => {
      const code = (err as NodeJS.ErrnoException).code ?? String(err);
      return new CryptoError(
        'key_file_invalid',
        `${path}: cannot create the key file (${code}: ${(err as Error).message})`,
        `${path}：无法创建密钥文件（${code}：${(err as Error).message}）`,
        { cause: err },
      );
    };
    try {
      makeDirectories(dirname(path), 0o700);
    } catch (err) {
      throw cannotCreate(err);
    }
    const doc: KeyFileDocument = { format: KEY_FILE_FORMAT, formatVersion: 1, current: 1, keys: [newKeyEntry(1)] };
    try {
      await writeKeyFileAtomic(path, serialise(doc), true);
    } catch (err) {
      // Another process created it first: use theirs.
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw cannotCreate(err);
    }
    if (!(await load())) throw new CryptoError('key_file_invalid', `${path}: created but cannot be read back`, `${path}：已创建但无法读回`);
  }

  // Rotation and retirement are serialised within the process; each re-reads the file first.
  let queue: Promise<unknown> = Promise.resolve();
  const exclusive = <T>(fn: () => Promise<T>): Promise<T> => {
    const run = queue.then(fn, fn);
    queue = run.catch(() => undefined);
    return run;
  };

  const refreshIfChanged = async (): Promise<void> => {
    const t = now().getTime();
    if (t - state.checkedAt < recheckMs) return;
    state.checkedAt = t;
    try {
      const st = await stat(path);
      const id = state.identity;
      if (st.mtimeMs !== id.mtimeMs || st.ino !== id.ino || st.size !== id.size) await load();
    } catch (err) {
      if (err instanceof CryptoError) throw err;
      // The file vanished or is unreadable right now: keep serving the keys already loaded.
    }
  };

  const provider: FileKeyProvider = {
    kind: 'file',
    path,
    describe: () => `file ${path} (current version ${state.doc.current}; ${state.doc.keys.length} version(s))`,
    async currentVersion() {
      await refreshIfChanged();
      return state.doc.current;
    },
    async getKey(version) {
      assertKeyVersion(version);
      let kek = state.keks.get(version);
      if (kek === undefined) {
        await load();
        kek = state.keks.get(version);
      }
      if (kek === undefined) {
        throw unknownKeyVersion(
          version,
          path,
          'it was retired or never existed; restore it from a backup of the key file',
          '该版本已停用或从未存在；请从密钥文件备份中恢复',
        );
      }
      return kek;
    },
    addVersion: () =>
      exclusive(async () => {
        await load();
        const next = Math.max(...state.doc.keys.map((k) => k.version)) + 1;
        assertKeyVersion(next);
        const doc: KeyFileDocument = { ...state.doc, current: next, keys: [...state.doc.keys, newKeyEntry(next)] };
        await writeKeyFileAtomic(path, serialise(doc), false);
        await load();
        return next;
      }),
    retireVersion: (version) =>
      exclusive(async () => {
        await load();
        if (version === state.doc.current) {
          throw new CryptoError(
            'invalid_argument',
            `${path}: version ${version} is current and cannot be retired`,
            `${path}：版本 ${version} 是当前版本，不能停用`,
          );
        }
        if (!state.doc.keys.some((k) => k.version === version)) {
          throw unknownKeyVersion(version, path, 'nothing to retire', '无需停用');
        }
        const doc: KeyFileDocument = { ...state.doc, keys: state.doc.keys.filter((k) => k.version !== version) };
        await writeKeyFileAtomic(path, serialise(doc), false);
        await load();
      }),
    async versions() {
      return state.doc.keys
        .map((k) => ({ version: k.version, current: k.version === state.doc.current, createdAt: new Date(k.createdAt), source: path }))
        .sort((a, b) => a.version - b.version);
    },
    reload: async () => {
      await load();
    },
  };
  return provider;
}
