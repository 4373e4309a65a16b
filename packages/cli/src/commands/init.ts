/**
 * `pipa init [FILE] [--force]`: write the commented starter declaration (default
 * `pipa.policy.yaml` in the current directory). An existing file is never overwritten without
 * `--force`.
 */
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { STARTER_FILE_NAME, STARTER_TEMPLATE } from '@pipa/policy';
import type { Command } from 'commander';
import { CliExit, type CliIo, EXIT } from '../io.js';

export function registerInit(program: Command, io: CliIo): void {
  program
    .command('init')
    .description('写入一份带注释的入门隐私政策声明 / write a commented starter privacy-policy declaration')
    .argument('[file]', '要写入的文件 / the file to write', STARTER_FILE_NAME)
    .option('--force', '覆盖已存在的文件 / overwrite an existing file', false)
    .action((file: string, opts: { force: boolean }) => {
      const path = resolve(io.cwd, file);
      try {
        // 'wx' fails when the file exists: no window between a check and the write.
        writeFileSync(path, STARTER_TEMPLATE, { encoding: 'utf8', flag: opts.force ? 'w' : 'wx' });
      } catch (err) {
        throw new CliExit(EXIT.invalid, `${file}: ${explain((err as NodeJS.ErrnoException).code)}`);
      }
      io.stdout(
        [
          `已写入 ${file} / wrote ${file}`,
          '下一步 / next:',
          `  1. 把示例值改为贵方应用的真实情况 / replace the example values with what your app does`,
          `  2. pipa lint ${file}`,
          `  3. pipa render ${file}`,
          '',
        ].join('\n'),
      );
    });
}

function explain(code: string | undefined): string {
  switch (code) {
    case 'EEXIST':
      return '文件已存在，未覆盖；如需覆盖请加 --force / the file exists and was not overwritten; add --force to overwrite it';
    case 'EISDIR':
      return '这是一个目录 / this is a directory';
    case 'ENOENT':
      return '所在目录不存在 / its directory does not exist';
    case 'EACCES':
    case 'EPERM':
      return '没有写入权限 / permission denied';
    default:
      return `无法写入 / cannot write (${code ?? 'error'})`;
  }
}
