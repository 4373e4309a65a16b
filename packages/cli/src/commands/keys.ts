/**
 * `pipa keys`: API keys and the master key, on the service's database directly (the operator on the
 * server host; over HTTP the same is /v1/keys).
 *
 *   pipa keys create --app X --scopes a,b [--name NAME] [--expires 90d|2026-12-31]   the token is printed once
 *   pipa keys list [--app X] [--all]                                                 never the secret
 *   pipa keys revoke KEY_ID                                                          refused by every node within a second
 *   pipa keys rotate [--new-version]                                                 new master key version, re-wrap
 *   pipa keys status                                                                 rows per master key version and table
 *   pipa keys retire VERSION                                                         drop an old version nothing uses
 *
 * Revocation notifies the running nodes (PostgreSQL); on SQLite a running `pipa serve` re-reads a
 * cached key at least every second. Rotation adds a master key version and re-wraps everything the
 * master key wraps (system keys, data keys, rights request keys, webhook secrets) while the service
 * keeps running; run again after an interruption, it continues the unfinished rotation instead of
 * adding another version. Retiring a version is refused while any row is still wrapped under it.
 */
import {
  type ApiKeyRecord,
  createKeyService,
  isScope,
  type MasterKeyStatus,
  masterKeyStatus,
  type RewrapSummary,
  type RotationReport,
  retireMasterKeyVersion,
  rotateMasterKey,
  SCOPES,
  type ServiceContext,
  type TableUsage,
} from '@pipa/server';
import type { Command } from 'commander';
import { CliExit, type CliIo, EXIT } from '../io.js';
import { addDbOptions, type DbCommandOptions, withServiceContext } from './service-options.js';

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

/** The options and argument of `pipa keys` by the path the key service names them with. */
const KEY_FLAGS = {
  '$.body.app': '--app',
  '$.body.scopes': '--scopes',
  '$.body.name': '--name',
  '$.body.expiresAt': '--expires',
  '$.params.id': '<id>',
};

function withContext<T>(io: CliIo, opts: DbCommandOptions, fn: (ctx: ServiceContext) => Promise<T>): Promise<T> {
  return withServiceContext(io, opts, 'pipa keys', fn, { flags: KEY_FLAGS });
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
      if (!/^key_[a-z2-7]{12}$/.test(id))
        throw new CliExit(EXIT.invalid, `not a key id: ${id} (key_ followed by 12 characters from a-z and 2-7)`);
      const { key, already } = await withContext(io, opts, async (ctx) => {
        const service = createKeyService(ctx);
        const before = await service.get(id);
        return { key: await service.revoke(id, 'cli'), already: before.revokedAt !== null };
      });
      if (opts.json) io.stdout(`${JSON.stringify(key, null, 2)}\n`);
      else if (already) io.stdout(`已撤销过，未作更改 / already revoked, nothing changed: ${keyLine(key)}\n`);
      else io.stdout(`已撤销 / revoked: ${keyLine(key)}\n`);
    });

  addDbOptions(keys.command('rotate'))
    .description(
      '轮换主密钥：新版本，并在服务运行时重新包装所有被包装的密钥；中断后再次运行会继续 / rotate the master key: a new version, then re-wrap every wrapped key while the service runs; run again to resume',
    )
    .option('--new-version', '即使上次轮换未完成也新建版本 / add a version even when a previous rotation is unfinished', false)
    .option('--json', '输出 JSON / JSON output', false)
    .action(async (opts: CommonOptions & { newVersion: boolean }) => {
      // Progress on stderr: a line per table at most every second on a terminal, every 30 s otherwise.
      const every = io.isTTY === true ? 1_000 : 30_000;
      let last = Date.now();
      const report = await withContext(io, opts, (ctx) =>
        rotateMasterKey(ctx, {
          actor: 'cli',
          newVersion: opts.newVersion,
          onProgress: (p) => {
            if (opts.json || Date.now() - last < every) return;
            last = Date.now();
            io.stderr(`  ${TABLE_LABEL[p.table]}: ${p.rewrapped} re-wrapped, ${p.failed} failed (pass ${p.pass})…\n`);
          },
          onSettle: (until) => {
            if (opts.json || io.isTTY !== true) return;
            const s = Math.ceil((until - Date.now()) / 1000);
            io.stderr(
              `  等待运行中的节点切换到新版本 / waiting ${s} s for running nodes to switch to the new version, then a last pass…\n`,
            );
          },
        }),
      );
      if (opts.json) io.stdout(`${JSON.stringify(report, null, 2)}\n`);
      else io.stdout(`${rotationText(report)}\n`);
      if (report.failures.length > 0) throw new CliExit(EXIT.findings, 'some keys could not be re-wrapped');
    });

  addDbOptions(keys.command('status'))
    .description('主密钥版本与各表仍由各版本包装的行数 / master key versions and the rows each still wraps, per table')
    .option('--json', '输出 JSON / JSON output', false)
    .action(async (opts: CommonOptions) => {
      const status = await withContext(io, opts, (ctx) => masterKeyStatus(ctx));
      if (opts.json) io.stdout(`${JSON.stringify(status, null, 2)}\n`);
      else io.stdout(`${statusText(status)}\n`);
    });

  addDbOptions(keys.command('retire'))
    .description(
      '停用旧的主密钥版本（仍有行由它包装时拒绝）/ retire an old master key version (refused while any row is still wrapped under it)',
    )
    .argument('<version>', '主密钥版本 / master key version')
    .option('--json', '输出 JSON / JSON output', false)
    .action(async (raw: string, opts: CommonOptions) => {
      if (!/^[1-9]\d{0,9}$/.test(raw)) throw new CliExit(EXIT.invalid, `not a master key version: ${raw} (a whole number from 1)`);
      const version = Number(raw);
      const status = await withContext(io, opts, async (ctx) => {
        await retireMasterKeyVersion(ctx, version, { actor: 'cli' });
        return masterKeyStatus(ctx);
      });
      if (opts.json) io.stdout(`${JSON.stringify({ retired: version, status }, null, 2)}\n`);
      else io.stdout(`主密钥版本 ${version} 已停用 / master key version ${version} retired\n${statusText(status)}\n`);
    });
}

const TABLE_LABEL: Record<TableUsage['table'], string> = {
  system_keys: '系统密钥 / system keys',
  data_keys: '数据密钥 / data keys',
  rights_requests: '权利请求密钥 / request keys',
  rights_webhooks: 'Webhook 密钥 / webhook secrets',
};

const COLUMN_OF = (t: TableUsage) => `${t.table}.${t.column}`;

function summaryLine(label: string, s: RewrapSummary): string {
  return `${label}: ${s.rewrapped} re-wrapped, ${s.failed} failed, ${s.alreadyCurrent} changed meanwhile (erased, replaced or re-wrapped elsewhere)`;
}

/** What is left under older versions, one line per table and version. */
function leftLines(usage: readonly TableUsage[], current: number): string[] {
  return usage.flatMap((t) =>
    t.versions.filter((v) => v.version !== current).map((v) => `  ${COLUMN_OF(t)}: ${v.rows} row(s) still wrapped by version ${v.version}`),
  );
}

export function rotationText(r: RotationReport): string {
  const lines = [
    r.resumed
      ? `继续未完成的轮换 / resuming the unfinished rotation to master key version ${r.toVersion}`
      : `主密钥已轮换 / master key rotated: version ${r.fromVersion} → ${r.toVersion}`,
    summaryLine(TABLE_LABEL.system_keys, r.systemKeys),
    summaryLine(TABLE_LABEL.data_keys, r.dataKeys),
    summaryLine(TABLE_LABEL.rights_requests, r.requestKeys),
    summaryLine(TABLE_LABEL.rights_webhooks, r.webhookSecrets),
  ];
  for (const f of r.failures) lines.push(`  failed: ${f.table} ${f.row} (version ${f.fromVersion}): ${f.code}: ${f.message}`);
  if (r.pending === 0) {
    lines.push(`旧版本不再被使用，可以停用 / nothing is wrapped under older versions any more: pipa keys retire <version> can remove them`);
  } else {
    lines.push(
      `仍有 ${r.pending} 行在旧版本下 / ${r.pending} row(s) still under older versions: run pipa keys rotate again to continue`,
      ...leftLines(r.usage, r.toVersion),
    );
  }
  return lines.join('\n');
}

export function statusText(s: MasterKeyStatus): string {
  const lines = [`主密钥 / master key: ${s.provider}`];
  for (const v of s.versions) {
    const state = v.current ? 'current' : !v.held ? 'MISSING (rows cannot be unwrapped)' : v.retirable ? 'retirable' : 'in use';
    lines.push(`  version ${v.version}  ${state.padEnd(9)}  ${v.rows} row(s)${v.createdAt === null ? '' : `  created ${v.createdAt}`}`);
  }
  lines.push('各表 / per table:');
  for (const t of s.tables) {
    const counts = t.versions.length === 0 ? '(empty)' : t.versions.map((v) => `v${v.version}: ${v.rows}`).join(', ');
    lines.push(`  ${COLUMN_OF(t).padEnd(30)}  ${counts}`);
  }
  lines.push(
    s.pending === 0
      ? '没有待重新包装的行 / nothing pending'
      : `待重新包装 / pending: ${s.pending} row(s) under older versions (pipa keys rotate continues the rotation)`,
  );
  return lines.join('\n');
}
