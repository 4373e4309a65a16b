/**
 * Choosing the master key provider from configuration (container.ts calls this once at start).
 * Without explicit configuration: `PIPA_MASTER_KEY` in the environment selects `env`; otherwise the
 * key file `<dataDir>/master-key.json` is used. The service context prepares the provider with
 * `prepareMasterKeyProvider`, which creates nothing: a key file is created only for a new installation
 * (no system keys in the database yet) by a command that sets one up (`pipa serve`, `pipa start`).
 */
import { lstat } from 'node:fs/promises';
import { CryptoError } from './errors.js';
import { createFileKeyProvider, keyFilePath } from './key-file.js';
import { createKmsKeyProvider, type KmsClient } from './kms.js';
import { createEnvKeyProvider, ENV_MASTER_KEY, type MasterKeyProvider } from './master-key.js';
import type { RandomSource } from './random.js';
import type { SuiteName } from './suites.js';

export type MasterKeyConfig =
  | { provider: 'env' }
  | { provider: 'file'; path?: string; create?: boolean }
  | { provider: 'kms'; client: KmsClient }
  | { provider: 'auto' };

export interface OpenMasterKeyOptions {
  config?: MasterKeyConfig;
  env?: Readonly<Record<string, string | undefined>>;
  /** The data directory, for the key file. */
  dataDir?: string;
  /** Suite that wraps data keys (the deployment's suite). */
  suite?: SuiteName;
  random?: RandomSource;
  now?: () => Date;
}

export async function openMasterKeyProvider(options: OpenMasterKeyOptions): Promise<MasterKeyProvider> {
  const config = options.config ?? { provider: 'auto' };
  const env = options.env ?? process.env;
  const common = { suite: options.suite, random: options.random };
  const filePath = (explicit?: string): string => {
    if (explicit !== undefined) return explicit;
    if (options.dataDir === undefined) {
      throw new CryptoError(
        'invalid_argument',
        'the file master key provider needs a data directory or a key file path',
        '文件主密钥需要数据目录或密钥文件路径',
      );
    }
    return keyFilePath(options.dataDir);
  };
  switch (config.provider) {
    case 'env':
      return createEnvKeyProvider({ ...common, env });
    case 'file':
      return createFileKeyProvider({ ...common, path: filePath(config.path), create: config.create, now: options.now });
    case 'kms':
      return createKmsKeyProvider({ client: config.client });
    case 'auto': {
      const fromEnv = env[ENV_MASTER_KEY];
      if (fromEnv !== undefined && fromEnv.trim() !== '') return createEnvKeyProvider({ ...common, env });
      return createFileKeyProvider({ ...common, path: filePath(), now: options.now });
    }
  }
}

/**
 * The configured provider, checked and opened without creating anything (environment variables are
 * parsed, an existing key file is read and its permissions checked). A key file that does not exist
 * yet comes back as `provider: null` with its path and a `create` function: the caller decides
 * whether this is a new installation that may have one created.
 */
export type PreparedMasterKey =
  | { provider: MasterKeyProvider; missingKeyFile?: undefined }
  | { provider: null; missingKeyFile: string; create(): Promise<MasterKeyProvider> };

export async function prepareMasterKeyProvider(options: OpenMasterKeyOptions): Promise<PreparedMasterKey> {
  const config = options.config ?? { provider: 'auto' };
  const env = options.env ?? process.env;
  let path: string;
  let create = true;
  if (config.provider === 'file') {
    path = config.path ?? '';
    create = config.create !== false;
  } else if (config.provider === 'auto') {
    const fromEnv = env[ENV_MASTER_KEY];
    if (fromEnv !== undefined && fromEnv.trim() !== '') return { provider: await openMasterKeyProvider(options) };
    path = '';
  } else {
    return { provider: await openMasterKeyProvider(options) };
  }
  const fileConfig = { provider: 'file' as const, ...(path !== '' ? { path } : {}) };
  const resolved = path !== '' ? path : options.dataDir !== undefined ? keyFilePath(options.dataDir) : '';
  if (resolved === '') return { provider: await openMasterKeyProvider({ ...options, config: fileConfig }) };
  if (await exists(resolved)) return { provider: await openMasterKeyProvider({ ...options, config: { ...fileConfig, create: false } }) };
  return {
    provider: null,
    missingKeyFile: resolved,
    create: () => openMasterKeyProvider({ ...options, config: { ...fileConfig, create } }),
  };
}

/** Whether something is at `path` (a dangling link or an unreadable entry counts: opening it reports why). */
async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code !== 'ENOENT' && code !== 'ENOTDIR';
  }
}
