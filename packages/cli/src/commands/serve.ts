/**
 * `pipa serve [--db URL] [--data-dir DIR] [--host 127.0.0.1] [--port 7800] [--examples [DIR]]`:
 * run the service (HTTP API, OpenAPI at /docs, the published policies under /site/) until SIGINT
 * or SIGTERM, then shut down gracefully (stop accepting, finish the requests in flight, flush the
 * audit log, close the database). Prints the URL, the API docs URL and, on first start, the one-time
 * admin API key. Several `pipa serve` processes may share one PostgreSQL database.
 *
 * `pipa start` (what `npm start` runs) is `pipa serve --examples examples` with the defaults: SQLite
 * in ./.pipa, the master key file created there on first start, both example apps published.
 *
 * Configuration is checked before anything is written (the master key, PIPA_WEBHOOK_ALLOW_NETWORKS,
 * the example declarations); a start that cannot listen exits 2 without creating the admin key, so the
 * next start prints it. Exit 2 for every configuration or listen error, naming the option.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { Writable } from 'node:stream';
import { type Declaration, DeclarationError, decodeDeclaration } from '@pipa/policy';
import {
  CACHE_LIMITS,
  DECISION_AUDIT_MODES,
  DEFAULT_CACHES,
  type DecisionAuditMode,
  type ExampleSource,
  type RunningService,
  SUITE_NAMES,
  type SuiteName,
  startPipaService,
} from '@pipa/server';
import { type Command, Option } from 'commander';
import { CliExit, type CliIo, EXIT } from '../io.js';
import { VERSION } from '../program.js';
import { buildSite } from '../static-site/render-site.js';
import { shutdownSignal } from '../static-site/serve.js';
import { addDbOptions, type DbCommandOptions, describeError, isServiceError, serviceErrorExit, serviceOptions } from './service-options.js';

export interface ServeCommandOptions extends DbCommandOptions {
  host: string;
  port: string;
  /** A folder of app folders with policy.yaml, or true for `examples`. */
  examples?: string | boolean;
  site: boolean;
  logLevel: string;
  /** Which decisions the audit log records: all, denied (default) or counted per minute. */
  auditDecisions: string;
  /** Cipher suite of a new installation (an existing one keeps its own). */
  suite?: string;
  /** Unwrapped data keys kept in memory. */
  keyCache: string;
  /** Seconds an unwrapped data key may be reused. */
  keyCacheTtl: string;
  /** Subjects whose masked values are kept in memory (0: none). */
  maskedCache: string;
}

export const SERVE_DEFAULTS: ServeCommandOptions = {
  dataDir: '.pipa',
  host: '127.0.0.1',
  port: '7800',
  site: true,
  logLevel: 'warn',
  auditDecisions: 'denied',
  keyCache: String(DEFAULT_CACHES.dataKeys),
  keyCacheTtl: String(DEFAULT_CACHES.dataKeyTtlMs / 1000),
  maskedCache: String(DEFAULT_CACHES.maskedSubjects),
};

const LOG_LEVELS = ['silent', 'fatal', 'error', 'warn', 'info', 'debug'] as const;

function parsePort(raw: string): number {
  if (!/^\d{1,5}$/.test(raw) || Number(raw) > 65535)
    throw new CliExit(EXIT.invalid, `--port must be a number from 0 to 65535 (got "${raw}")`);
  return Number(raw);
}

/** A whole number from `min` to `max` given to `option`, else exit 2 naming the option. */
function parseCount(option: string, raw: string, min: number, max: number): number {
  const value = /^\d{1,10}$/.test(raw) ? Number(raw) : Number.NaN;
  if (!(value >= min && value <= max)) {
    throw new CliExit(EXIT.invalid, `${option} must be a whole number from ${min} to ${max} (got "${raw}")`);
  }
  return value;
}

/** The cache options, checked. */
function parseCaches(opts: ServeCommandOptions): { dataKeys: number; dataKeyTtlMs: number; maskedSubjects: number } {
  const keys = CACHE_LIMITS.dataKeys;
  const ttl = CACHE_LIMITS.dataKeyTtlMs;
  const masked = CACHE_LIMITS.maskedSubjects;
  return {
    dataKeys: parseCount('--key-cache', opts.keyCache, keys.min, keys.max),
    dataKeyTtlMs: parseCount('--key-cache-ttl', opts.keyCacheTtl, ttl.min / 1000, ttl.max / 1000) * 1000,
    maskedSubjects: parseCount('--masked-cache', opts.maskedCache, masked.min, masked.max),
  };
}

/** Why `listen` failed, naming the option to change. */
const LISTEN_ERRORS: Record<string, (host: string, port: number) => string> = {
  EADDRINUSE: (_h, p) => `--port ${p} is in use by another process`,
  EACCES: (_h, p) => `--port ${p} needs privileges (ports below 1024) or is not permitted`,
  EADDRNOTAVAIL: (h) => `--host ${h} is not an address of this machine`,
  ENOTFOUND: (h) => `--host ${h} is neither an address of this machine nor a name that resolves`,
  EAI_AGAIN: (h) => `--host ${h} could not be resolved (name resolution failed, try an IP address)`,
  EAI_NONAME: (h) => `--host ${h} is neither an address of this machine nor a name that resolves`,
  EAI_FAIL: (h) => `--host ${h} could not be resolved`,
};

/**
 * Listen on host:port and close at once, so that a port in use or a host that is not this machine's
 * is found before a first start sets anything up (the data directory, the key file, the database).
 * The service's own listen still reports what changes in between.
 */
function probeListen(host: string, port: number): Promise<void> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(port, host, () => server.close(() => done()));
  });
}

/** Every `<dir>/<app>/policy.yaml`, sorted by folder name. */
export function readExampleSources(dir: string): ExampleSource[] {
  let names: string[];
  try {
    names = readdirSync(dir).sort();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT'
        ? 'does not exist'
        : code === 'ENOTDIR'
          ? 'is not a folder'
          : code === 'EACCES' || code === 'EPERM'
            ? 'cannot be read (permission denied)'
            : `cannot be read (${code ?? 'unknown error'})`;
    throw new CliExit(
      EXIT.invalid,
      `--examples: the folder ${dir} ${why}. It should hold one folder per app with a policy.yaml, as examples/ in the pipa ` +
        'repository does: run the command there, give --examples <dir>, or run `pipa serve` (no examples).',
    );
  }
  const out: ExampleSource[] = [];
  for (const name of names) {
    const file = join(dir, name, 'policy.yaml');
    try {
      if (!statSync(file).isFile()) continue;
    } catch {
      continue;
    }
    const shown = join(name, 'policy.yaml');
    let source: string;
    try {
      source = decodeDeclaration(readFileSync(file), shown);
    } catch (err) {
      if (err instanceof DeclarationError) throw new CliExit(EXIT.invalid, `--examples: ${err.message}`);
      throw err;
    }
    out.push({ file: shown, source });
  }
  return out;
}

export const siteRenderer = (declarations: readonly Declaration[]): Record<string, string> =>
  buildSite(declarations.map((declaration) => ({ file: declaration.app.id, declaration })));

/**
 * Start the service and run it until `stop` aborts (the command wires SIGINT and SIGTERM to it).
 * `onStarted` sees the running service (tests).
 */
export async function runServe(
  io: CliIo,
  opts: ServeCommandOptions,
  stop?: AbortSignal,
  onStarted?: (s: RunningService) => void,
): Promise<void> {
  const port = parsePort(opts.port);
  if (!(LOG_LEVELS as readonly string[]).includes(opts.logLevel)) {
    throw new CliExit(EXIT.invalid, `--log-level must be one of ${LOG_LEVELS.join(', ')} (got "${opts.logLevel}")`);
  }
  if (opts.suite !== undefined && !(SUITE_NAMES as readonly string[]).includes(opts.suite)) {
    throw new CliExit(EXIT.invalid, `--suite must be one of ${SUITE_NAMES.join(', ')} (got "${opts.suite}")`);
  }
  if (!(DECISION_AUDIT_MODES as readonly string[]).includes(opts.auditDecisions)) {
    throw new CliExit(EXIT.invalid, `--audit-decisions must be one of ${DECISION_AUDIT_MODES.join(', ')} (got "${opts.auditDecisions}")`);
  }
  const caches = parseCaches(opts);
  const examplesDir =
    opts.examples === undefined || opts.examples === false
      ? undefined
      : resolve(io.cwd, opts.examples === true ? 'examples' : opts.examples);
  const examples = examplesDir === undefined ? [] : readExampleSources(examplesDir);
  const logStream = new Writable({
    write(chunk, _enc, cb) {
      io.stderr(String(chunk));
      cb();
    },
  });
  const listenError = (err: unknown): CliExit | undefined => {
    const code = (err as NodeJS.ErrnoException).code;
    const why = typeof code === 'string' ? LISTEN_ERRORS[code] : undefined;
    return why === undefined || isServiceError(err)
      ? undefined
      : new CliExit(EXIT.invalid, `无法监听 / cannot listen on ${opts.host}:${port} (${code}): ${why(opts.host, port)}`);
  };
  try {
    await probeListen(opts.host, port);
  } catch (err) {
    throw listenError(err) ?? err;
  }
  let running: RunningService;
  try {
    running = await startPipaService({
      ...serviceOptions(io, opts),
      auditDecisions: opts.auditDecisions as DecisionAuditMode,
      caches,
      ...(opts.suite !== undefined ? { suite: opts.suite as SuiteName } : {}),
      host: opts.host,
      port,
      examples,
      version: VERSION,
      ...(opts.site ? { site: siteRenderer } : {}),
      logger: opts.logLevel === 'silent' ? false : { level: opts.logLevel, stream: logStream },
      onError: (err, where) => io.stderr(`pipa: ${where}: ${describeError(err)}\n`),
    });
  } catch (err) {
    const cannotListen = listenError(err);
    if (cannotListen !== undefined) throw cannotListen;
    if (isServiceError(err)) throw serviceErrorExit('pipa', err, opts);
    throw err;
  }

  const lines = [
    `pipa ${VERSION} 正在运行 / running: ${running.url}`,
    `API 文档 / API docs: ${running.docsUrl}`,
    `数据库 / database: ${running.ctx.database.description}`,
    `密码套件 / cipher suite: ${running.ctx.suite}`,
    `决定的审计 / decisions audited: ${running.ctx.auditDecisions}`,
    `内存缓存 / caches: ${running.ctx.caches.dataKeys} data keys (each for up to ${running.ctx.caches.dataKeyTtlMs / 1000} s), ` +
      `masked values of ${running.ctx.caches.maskedSubjects} subjects`,
  ];
  if (opts.site) lines.push(`隐私政策网站 / policy site: ${running.url}site/`);
  for (const ex of running.examples) {
    lines.push(
      ex.outcome === 'published'
        ? `已发布示例 / published example: ${ex.appId} ${ex.version}${ex.lintErrors > 0 ? ` (forced over ${ex.lintErrors} lint errors, audited)` : ''}`
        : `示例已发布 / example already published: ${ex.appId} ${ex.version}`,
    );
  }
  if (running.adminKey !== null) {
    lines.push(
      '',
      '管理员 API 密钥（只显示这一次，请妥善保存）/ admin API key (shown once, store it now):',
      `  ${running.adminKey.token}`,
      `  curl -H "Authorization: Bearer ${running.adminKey.token}" ${running.url}v1/apps`,
      '',
    );
  }
  lines.push('按 Ctrl+C 停止 / press Ctrl+C to stop');
  io.stdout(`${lines.join('\n')}\n`);
  onStarted?.(running);

  const signals = stop ? undefined : shutdownSignal();
  const signal = stop ?? signals?.signal;
  await new Promise<void>((done) => {
    if (!signal || signal.aborted) return done();
    signal.addEventListener('abort', () => done(), { once: true });
  });
  signals?.dispose();
  io.stdout('正在停止 / stopping: finishing requests in flight…\n');
  await running.close();
  io.stdout('已停止 / stopped\n');
}

export function addServeOptions(command: Command): Command {
  return addDbOptions(command)
    .addOption(new Option('--host <host>', '监听地址 / address to listen on').default(SERVE_DEFAULTS.host))
    .addOption(new Option('--port <port>', '端口（0 = 任意空闲端口）/ port (0 = any free port)').default(SERVE_DEFAULTS.port))
    .option('--no-site', '不在 /site/ 提供隐私政策网站 / do not serve the policies under /site/')
    .addOption(new Option('--log-level <level>', '日志级别（写到 stderr）/ log level (to stderr)').default(SERVE_DEFAULTS.logLevel))
    .addOption(
      new Option(
        '--audit-decisions <mode>',
        '审计日志记录哪些决定：all 全部、denied 仅拒绝、counted 每分钟计数 / which decisions the audit log records: all, denied only, or counted per minute',
      ).default(SERVE_DEFAULTS.auditDecisions),
    )
    .addOption(
      new Option(
        '--key-cache <n>',
        '内存中保留的已解包数据密钥数（1–1000000）/ unwrapped data keys kept in memory (1-1000000): more make more reads skip the master key (a KMS call with a KMS provider), and keep more keys in the process',
      ).default(SERVE_DEFAULTS.keyCache),
    )
    .addOption(
      new Option(
        '--key-cache-ttl <seconds>',
        '已解包数据密钥的最长复用时间（1–86400 秒）/ how long an unwrapped data key may be reused (1-86400 s)',
      ).default(SERVE_DEFAULTS.keyCacheTtl),
    )
    .addOption(
      new Option(
        '--masked-cache <n>',
        '内存中保留其脱敏值的主体数（0–1000000，0 = 不缓存）/ subjects whose masked values are kept in memory (0-1000000, 0 = none): more make more masked reads skip decryption, at the cost of memory',
      ).default(SERVE_DEFAULTS.maskedCache),
    )
    .option(
      '--suite <suite>',
      '新安装的密码套件：aes-256-gcm（默认）或 sm4（SM4 + SM3）；已有安装沿用其套件 / cipher suite of a new installation: aes-256-gcm (default) or sm4 (SM4 + SM3); an existing one keeps its own',
    );
}

export function registerServe(program: Command, io: CliIo): void {
  addServeOptions(program.command('serve'))
    .description('运行 pipa 服务（HTTP API）/ run the pipa service (HTTP API)')
    .option(
      '--examples [dir]',
      '发布目录中尚未发布的示例声明（默认 examples）/ publish the example declarations not yet published (default: examples)',
    )
    .addHelpText(
      'after',
      '\n环境变量 / environment: PIPA_DB_URL, PIPA_MASTER_KEY (base64, 32 bytes; else the key file in --data-dir),\n' +
        '  PIPA_WEBHOOK_ALLOW_NETWORKS (private networks webhooks may reach, e.g. 10.20.0.0/16,127.0.0.1; default none)\n' +
        '退出码 / exit codes: 0 正常停止 / stopped; 2 配置无效或无法监听 / invalid configuration or cannot listen\n',
    )
    .action((opts: ServeCommandOptions) => runServe(io, opts));
}
