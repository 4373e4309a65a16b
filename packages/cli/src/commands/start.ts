/**
 * `pipa start`: for now exactly `pipa site --serve` on 127.0.0.1:7800 (what `npm start` runs). The
 * service will take its place; the site renderer stays reusable as `renderSite`.
 */
import type { Command } from 'commander';
import type { CliIo } from '../io.js';
import { runSite, SITE_DEFAULTS } from './site.js';

export function registerStart(program: Command, io: CliIo): void {
  program
    .command('start')
    .description('生成示例网站并在 http://127.0.0.1:7800/ 提供服务 / render the examples site and serve it on http://127.0.0.1:7800/')
    .action(() => runSite(io, { ...SITE_DEFAULTS, serve: true }));
}
