/**
 * `pipa start` (what `npm start` runs): the service on the embedded defaults — SQLite in ./.pipa,
 * the master key file created there on first start, both example apps from ./examples published
 * (if not already), listening on http://127.0.0.1:7800/ — printing the URL, the API docs and, on
 * first start, the one-time admin API key. The examples' policies and lists stay reachable as a
 * site under /site/ (what `pipa site` renders to files).
 */
import type { Command } from 'commander';
import type { CliIo } from '../io.js';
import { addServeOptions, runServe, SERVE_DEFAULTS, type ServeCommandOptions } from './serve.js';

export function registerStart(program: Command, io: CliIo): void {
  addServeOptions(program.command('start'))
    .description(
      '在 http://127.0.0.1:7800/ 运行服务并发布示例应用 / run the service on http://127.0.0.1:7800/ with the example apps published',
    )
    .option('--examples <dir>', '示例声明目录 / folder of example declarations', 'examples')
    .action((opts: ServeCommandOptions) => runServe(io, { ...SERVE_DEFAULTS, ...opts, examples: opts.examples ?? 'examples' }));
}
