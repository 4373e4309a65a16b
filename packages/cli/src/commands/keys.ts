/**
 * `pipa keys`: API keys and the master key, on the service's database directly (the operator on the
 * server host; over HTTP the same is /v1/keys).
 *
 *   pipa keys create --app X --scopes a,b [--name NAME] [--expires 90d|2026-12-31]   the token is printed once
 *   pipa keys list [--app X] [--all]                                                 never the secret
 *   pipa keys revoke KEY_ID                                                          refused by every node within a second
 *   pipa keys rotate                                                                 new master key version, re-wrap
 *
 * Revocation notifies the running nodes (PostgreSQL); on SQLite a running `pipa serve` re-reads a
 * cached key at least every second. Rotation adds a master key version and re-wraps the system keys
 * and the subjects' data keys under it while the service keeps running.
 */
import {
  type ApiKeyRecord,
  createKeyService,
  isScope,
  openServiceContext,
  rotateMasterKey,
  SCOPES,
  type ServiceContext,
} from '@pipa/server';
import type { Command } from 'commander';
import { CliExit, type CliIo, EXIT } from '../io.js';
import {
  addDbOptions,
  type DbCommandOptions,
  describeError,
  isServiceError,
  requireExistingDatabase,
  serviceOptions,
} from './service-options.js';

interface CommonOptions extends DbCommandOptions {
  json: boolean;
}

/** `90d`, `12h`, `30m` from now, or an ISO date / date-time; returns ms since the epoch. */
export function parseExpiry(raw: string, now: number): number {
  const rel = /^(\d{1,6})([dhm])$/.exec(raw);
  if (rel?.[1] !== undefined && rel[2] !== undefined) {
    const unit = rel[2] === 'd' ? 86_400_000 : rel[2] === 'h' ? 3_600_000 : 60_000;
    const n = Number(rel[1]);
    if (n > 0) return now + n * unit;
  }
  if (/^\d{4}-\d{2}-\d{2}([T ][0-9:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(raw)) {
    const t = Date.parse(raw);
    if (Number.isFinite(t) && t > now) return t;
    if (Number.isFinite(t)) throw new CliExit(EXIT.invalid, `--expires ${raw} is in the past`);
  }
  throw new CliExit(EXIT.invalid, `--expires must be a duration (90d, 12h, 30m) or a date (2026-12-31) (got "${raw}")`);
}

async function withContext<T>(io: CliIo, opts: DbCommandOptions, fn: (ctx: ServiceContext) => Promise<T>): Promise<T> {
  requireExistingDatabase(io, opts);
  let ctx: ServiceContext;
  try {
    ctx = await openServiceContext(serviceOptions(io, opts));
  } catch (err) {
    if (isServiceError(err)) throw new CliExit(EXIT.invalid, `pipa keys: ${describeError(err)}`);
    throw err;
  }
  try {
    return await fn(ctx);
  } catch (err) {
    if (isServiceError(err)) {
      const details = (err as { details?: { path?: string; message: string }[] }).details ?? [];
      throw new CliExit(
        EXIT.invalid,
        [`pipa keys: ${describeError(err)}`, ...details.map((d) => `  ${d.path ?? ''} ${d.message}`)].join('\n'),
      );
    }
    throw err;
  } finally {
    await ctx.close();
  }
}

const time = (ms: number | null) => (ms === null ? '-' : new Date(ms).toISOString());

function keyLine(k: ApiKeyRecord): string {
  const state = k.revokedAt !== null ? 'revoked' : k.expiresAt !== null && k.expiresAt <= Date.now() ? 'expired' : 'active';
  return `${k.id}  ${state.padEnd(7)}  ${(k.appId ?? '(all apps)').padEnd(24)}  ${k.scopes.join(',')}  "${k.name}"  created ${time(k.createdAt)}  expires ${time(k.expiresAt)}  last used ${time(k.lastUsedAt)}`;
}

export function registerKeys(program: Command, io: CliIo): void {
  const keys = program.command('keys').description('API 密钥与主密钥 / API keys and the master key');

  addDbOptions(keys.command('create'))
    .description('创建 API 密钥（令牌只显示这一次）/ create an API key (the token is shown once)')
    .option('--app <app>', '绑定的应用（省略 = 所有应用）/ the app the key is bound to (omit: every app)')
    .requiredOption('--scopes <list>', `逗号分隔的权限 / comma-separated scopes: ${SCOPES.join(', ')}`)
    .option('--name <name>', '名称 / a name for the key', 'cli')
    .option('--expires <when>', '过期：90d、12h 或日期 / expiry: 90d, 12h or a date')
    .option('--json', '输出 JSON / JSON output', false)
    .action(async (opts: CommonOptions & { app?: string; scopes: string; name: string; expires?: string }) => {
      const scopes = opts.scopes
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== '');
      const unknown = scopes.filter((s) => !isScope(s));
      if (unknown.length > 0)
        throw new CliExit(EXIT.invalid, `--scopes: unknown scope ${unknown.join(', ')} (one of ${SCOPES.join(', ')})`);
      if (scopes.length === 0) throw new CliExit(EXIT.invalid, '--scopes: give at least one scope');
      const expiresAt = opts.expires === undefined ? null : parseExpiry(opts.expires, Date.now());
      const created = await withContext(io, opts, (ctx) =>
        createKeyService(ctx).create({ appId: opts.app ?? null, name: opts.name, scopes, expiresAt, creator: null, actor: 'cli' }),
      );
      if (opts.json) {
        io.stdout(`${JSON.stringify(created, null, 2)}\n`);
        return;
      }
      io.stdout(`${keyLine(created.key)}\n\n令牌（只显示这一次，请妥善保存）/ token (shown once, store it now):\n  ${created.token}\n`);
    });

  addDbOptions(keys.command('list'))
    .description('列出 API 密钥（不含密钥本身）/ list API keys (never the secret)')
    .option('--app <app>', '只列出该应用的密钥 / only this app')
    .option('--all', '包括已撤销的 / include revoked keys', false)
    .option('--json', '输出 JSON / JSON output', false)
    .action(async (opts: CommonOptions & { app?: string; all: boolean }) => {
      const list = await withContext(io, opts, (ctx) =>
        createKeyService(ctx).list({ ...(opts.app !== undefined ? { appId: opts.app } : {}), includeRevoked: opts.all }),
      );
      if (opts.json) io.stdout(`${JSON.stringify(list, null, 2)}\n`);
      else io.stdout(list.length === 0 ? '没有密钥 / no keys\n' : `${list.map(keyLine).join('\n')}\n`);
    });

  addDbOptions(keys.command('revoke'))
    .description('撤销 API 密钥 / revoke an API key')
    .argument('<id>', '密钥 ID（key_…）/ key id (key_…)')
    .option('--json', '输出 JSON / JSON output', false)
    .action(async (id: string, opts: CommonOptions) => {
      if (!/^key_[a-z2-7]{12}$/.test(id)) throw new CliExit(EXIT.invalid, `not a key id: ${id} (key_ followed by 12 letters or digits)`);
      const key = await withContext(io, opts, (ctx) => createKeyService(ctx).revoke(id, 'cli'));
      if (opts.json) io.stdout(`${JSON.stringify(key, null, 2)}\n`);
      else io.stdout(`已撤销 / revoked: ${keyLine(key)}\n`);
    });

  addDbOptions(keys.command('rotate'))
    .description(
      '轮换主密钥：新版本，并在服务运行时重新包装密钥 / rotate the master key: a new version, then re-wrap keys while the service runs',
    )
    .option('--json', '输出 JSON / JSON output', false)
    .action(async (opts: CommonOptions) => {
      const report = await withContext(io, opts, (ctx) =>
        rotateMasterKey(ctx, {
          onProgress: (stage, p) => {
            if (!opts.json && stage === 'data' && (p.rewrapped + p.alreadyCurrent + p.failed) % 10_000 === 0) {
              io.stderr(`  re-wrapped ${p.rewrapped} data keys…\n`);
            }
          },
        }),
      );
      if (opts.json) io.stdout(`${JSON.stringify(report, null, 2)}\n`);
      else {
        io.stdout(
          [
            `主密钥已轮换 / master key rotated: version ${report.fromVersion} → ${report.toVersion}`,
            `系统密钥 / system keys: ${report.systemKeys.rewrapped} re-wrapped, ${report.systemKeys.failed} failed`,
            `数据密钥 / data keys: ${report.dataKeys.rewrapped} re-wrapped, ${report.dataKeys.alreadyCurrent} changed meanwhile (erased or re-wrapped elsewhere), ${report.dataKeys.failed} failed`,
            report.pending === 0
              ? `旧版本可以停用 / nothing is wrapped under older versions any more`
              : `仍有 ${report.pending} 个密钥在旧版本下 / ${report.pending} key(s) still under older versions: run pipa keys rotate again later`,
          ].join('\n') + '\n',
        );
      }
      if (report.dataKeys.failed + report.systemKeys.failed > 0) throw new CliExit(EXIT.findings, 'some keys could not be re-wrapped');
    });
}
