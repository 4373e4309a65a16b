/**
 * Choosing the master key provider from configuration (container.ts calls this once at start).
 * Without explicit configuration: `PIPA_MASTER_KEY` in the environment selects `env`; otherwise the
 * key file `<dataDir>/master-key.json` is used, created on first start.
 */
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
