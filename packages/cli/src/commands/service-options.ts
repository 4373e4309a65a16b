/**
 * Options shared by the commands that reach the service's database: `--db <url>` (default: the
 * `PIPA_DB_URL` environment variable, else SQLite in the data directory) and `--data-dir <dir>`
 * (default `.pipa`: the embedded database and the master key file). The master key comes from
 * `PIPA_MASTER_KEY` when set, else from the key file in the data directory. Only `pipa serve` and
 * `pipa start` set up a new installation (key file, system keys); every other command opens an
 * existing one (`withServiceContext`) and is refused, writing nothing, when there is none or when its
 * master key is missing or is not the one that wrapped its keys.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { type DatabaseConfig, openServiceContext, resolveDatabaseConfig, type ServiceContext, type ServiceOptions } from '@pipa/server';
import type { Command } from 'commander';
import { CliExit, type CliIo, EXIT } from '../io.js';

export interface DbCommandOptions {
  db?: string;
  dataDir: string;
}

export const DB_ENV = 'PIPA_DB_URL';

export function addDbOptions(command: Command): Command {
  return command
    .option(
      '--db <url>',
      `数据库地址（默认 $${DB_ENV}，否则数据目录中的 SQLite）/ database URL (default $${DB_ENV}, else SQLite in the data dir)`,
    )
    .option('--data-dir <dir>', '数据目录：嵌入式数据库与主密钥文件 / data directory: embedded database and master key file', '.pipa');
}

export function databaseConfig(io: CliIo, opts: DbCommandOptions): DatabaseConfig {
  const url = opts.db ?? io.env[DB_ENV];
  const dataDir = resolve(io.cwd, opts.dataDir);
  return { ...(url !== undefined && url !== '' ? { url } : {}), cwd: io.cwd, dataDir };
}

export function serviceOptions(io: CliIo, opts: DbCommandOptions): ServiceOptions {
  return { db: databaseConfig(io, opts), dataDir: resolve(io.cwd, opts.dataDir), env: io.env };
}

/**
 * For commands that act on an existing installation (keys, audit): refuse to create an empty
 * SQLite database by accident (a mistyped --data-dir would otherwise start a new installation).
 */
export function requireExistingDatabase(io: CliIo, opts: DbCommandOptions): void {
  let resolved: ReturnType<typeof resolveDatabaseConfig>;
  try {
    resolved = resolveDatabaseConfig(databaseConfig(io, opts));
  } catch (err) {
    throw new CliExit(EXIT.invalid, `--db: ${(err as Error).message}`);
  }
  if (resolved.dialect === 'sqlite' && resolved.file !== ':memory:' && !existsSync(resolved.file)) {
    throw new CliExit(
      EXIT.invalid,
      `没有数据库 / no database at ${resolved.file}: start the service first (pipa serve) or pass --db / --data-dir`,
    );
  }
}

/** A message for errors from the store, the crypto layer or the service (they carry code and message). */
export function describeError(err: unknown): string {
  if (err instanceof Error) {
    const zh = (err as { messageZh?: unknown }).messageZh;
    return typeof zh === 'string' && zh !== '' ? `${zh} / ${err.message}` : err.message;
  }
  return String(err);
}

/**
 * A service error as the command's exit 2: `<prefix>: <message>`, naming `--data-dir` and its value
 * when the error is about the data directory (details path `dataDir`).
 */
export function serviceErrorExit(prefix: string, err: unknown, opts: DbCommandOptions): CliExit {
  const details = (err as { details?: { path?: string }[] }).details;
  const option = details?.[0]?.path === 'dataDir' ? `--data-dir ${opts.dataDir}: ` : '';
  return new CliExit(EXIT.invalid, `${prefix}: ${option}${describeError(err)}`);
}

/**
 * A service message with the JSON paths it names (`$.body.reason: …`) replaced by the options they
 * came from (`--reason: …`), longest path first so that `$.body.reason.zh` is not read as
 * `$.body.reason` followed by `.zh`. Only paths that start with `$.`: a bare word in a message is
 * not touched.
 */
function withFlags(message: string, flags: Readonly<Record<string, string>> | undefined): string {
  if (flags === undefined) return message;
  let out = message;
  for (const [path, flag] of Object.entries(flags)
    .filter(([p]) => p.startsWith('$.'))
    .sort((a, b) => b[0].length - a[0].length)) {
    out = out.replace(new RegExp(`${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?![\\w.\\[-])`, 'g'), flag);
  }
  return out;
}

/** Errors of the service layers end the command with exit 2 and their message (no stack trace). */
export function isServiceError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  return ['PipaError', 'StoreError', 'CryptoError', 'AuditError'].includes(err.name);
}

/**
 * Open the service context of an existing installation, run `fn`, close. Errors of the service layers
 * (opening or running) end the command with exit 2 and `<command>: <message>`, followed by one line per
 * detail (JSON path and message) unless `details` is false; anything else is rethrown.
 */
export async function withServiceContext<T>(
  io: CliIo,
  opts: DbCommandOptions,
  command: string,
  fn: (ctx: ServiceContext) => Promise<T>,
  options: {
    details?: boolean;
    /**
     * The option each input the service names by its path came from (`$.body.app` → `--app`): a
     * detail about it names the option the user typed, not a field of an HTTP body they never sent.
     */
    flags?: Readonly<Record<string, string>>;
  } = {},
): Promise<T> {
  requireExistingDatabase(io, opts);
  let ctx: ServiceContext;
  try {
    // An existing installation only: no key file, no system keys created here.
    ctx = await openServiceContext({ ...serviceOptions(io, opts), setup: false });
  } catch (err) {
    if (isServiceError(err)) throw serviceErrorExit(command, err, opts);
    throw err;
  }
  try {
    return await fn(ctx);
  } catch (err) {
    if (isServiceError(err)) {
      const details = options.details === false ? [] : ((err as { details?: { path?: string; message: string }[] }).details ?? []);
      throw new CliExit(
        EXIT.invalid,
        [
          `${command}: ${withFlags(describeError(err), options.flags)}`,
          ...details.map((d) => `  ${(d.path !== undefined ? options.flags?.[d.path] : undefined) ?? d.path ?? ''} ${d.message}`),
        ].join('\n'),
      );
    }
    throw err;
  } finally {
    await ctx.close();
  }
}
