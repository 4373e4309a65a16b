/**
 * `pipa site [--out site] [--examples examples] [--serve] [--host 127.0.0.1] [--port 7800]`: render
 * every `examples/*\/policy.yaml` into a static site (zh and en; html, md and json) with an index of
 * the apps, and with `--serve` serve it over HTTP until SIGINT or SIGTERM.
 */
import { resolve } from 'node:path';
import { type Command, Option } from 'commander';
import { CliExit, type CliIo, EXIT } from '../io.js';
import { renderSite, SiteError } from '../static-site/render-site.js';
import { serveDirectory, shutdownSignal } from '../static-site/serve.js';
import { displayPath, WriteFilesError } from '../write-files.js';

export interface SiteCommandOptions {
  out: string;
  examples: string;
  serve: boolean;
  host: string;
  port: string;
}

export const SITE_DEFAULTS: SiteCommandOptions = { out: 'site', examples: 'examples', serve: false, host: '127.0.0.1', port: '7800' };

function parsePort(raw: string): number {
  if (!/^\d{1,5}$/.test(raw) || Number(raw) > 65535)
    throw new CliExit(EXIT.invalid, `--port must be a number from 0 to 65535 (got "${raw}")`);
  return Number(raw);
}

/**
 * Render the site and, with `serve`, serve it until `stop` aborts (the command wires SIGINT and
 * SIGTERM to it). Resolves when everything is written, or when the server has shut down.
 */
export async function runSite(io: CliIo, opts: SiteCommandOptions, stop?: AbortSignal): Promise<void> {
  const port = parsePort(opts.port);
  // With --serve, the port first: a port that is taken is found before anything is written.
  let running: Awaited<ReturnType<typeof serveDirectory>> | undefined;
  if (opts.serve) {
    try {
      running = await serveDirectory(resolve(io.cwd, opts.out), opts.host, port);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? (err instanceof Error ? err.message : String(err));
      throw new CliExit(
        EXIT.invalid,
        `cannot listen on ${opts.host}:${port} (${code})\n网站未生成，未写入任何文件 / site not rendered, nothing written`,
      );
    }
  }
  let result: ReturnType<typeof renderSite>;
  try {
    result = renderSite({ examplesDir: opts.examples, outDir: opts.out, cwd: io.cwd });
  } catch (err) {
    await running?.close();
    if (err instanceof SiteError || err instanceof WriteFilesError)
      throw new CliExit(EXIT.invalid, `${err.message}\n网站未生成，未写入任何文件 / site not rendered, nothing written`);
    throw err;
  }
  const out = displayPath(io.cwd, result.outDir);
  io.stdout(
    `已生成网站 / site rendered: ${out}/ (${result.apps.length} apps, ${result.files.length} files)\n` +
      result.apps.map((a) => `  ${a.id}  ←  ${a.file}\n`).join(''),
  );
  if (running === undefined) return;

  io.stdout(`正在提供 / serving ${out}/ at ${running.url}\n按 Ctrl+C 停止 / press Ctrl+C to stop\n`);
  const signals = stop ? undefined : shutdownSignal();
  const signal = stop ?? signals?.signal;
  await new Promise<void>((done) => {
    if (!signal || signal.aborted) return done();
    signal.addEventListener('abort', () => done(), { once: true });
  });
  signals?.dispose();
  await running.close();
  io.stdout('已停止 / stopped\n');
}

export function registerSite(program: Command, io: CliIo): void {
  program
    .command('site')
    .description(
      '把 examples/*/policy.yaml 生成为静态网站（中英文），可选提供 HTTP 服务 / render every example into a static site, optionally serve it',
    )
    .addOption(new Option('--out <dir>', '输出目录 / output directory').default(SITE_DEFAULTS.out))
    .addOption(new Option('--examples <dir>', '声明所在目录 / folder of app folders with policy.yaml').default(SITE_DEFAULTS.examples))
    .option('--serve', '生成后通过 HTTP 提供服务 / serve the site over HTTP', false)
    .addOption(new Option('--host <host>', '监听地址 / address to listen on').default(SITE_DEFAULTS.host))
    .addOption(new Option('--port <port>', '端口（0 = 任意空闲端口）/ port (0 = any free port)').default(SITE_DEFAULTS.port))
    .addHelpText(
      'after',
      '\n退出码 / exit codes: 0 成功 / ok; 2 声明无效、无法写入或无法监听 / invalid declaration, unwritable output or cannot listen\n',
    )
    .action((opts: SiteCommandOptions) => runSite(io, opts));
}
