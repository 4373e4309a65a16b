/**
 * `pipa render FILE --out DIR [--lang zh|en] [--format html|md|json]`: the privacy policy, the
 * collection list, the sharing list, the permissions list and an index, generated from the
 * declaration. Everything is rendered in memory first and then written all or none; a bad
 * declaration or an unwritable directory ends with exit 2 and writes nothing.
 */
import { resolve } from 'node:path';
import { type RenderFormat, type RenderLang, renderAll } from '@pipa/policy';
import { type Command, Option } from 'commander';
import { CliExit, type CliIo, EXIT } from '../io.js';
import { readDeclaration } from '../util.js';
import { displayPath, WriteFilesError, writeFilesAtomically } from '../write-files.js';

interface RenderCommandOptions {
  out: string;
  lang: RenderLang;
  format: RenderFormat;
}

export function registerRender(program: Command, io: CliIo): void {
  program
    .command('render')
    .description(
      '根据声明生成隐私政策、个人信息收集清单、第三方信息共享清单和权限申请清单 / render the policy and the lists from a declaration',
    )
    .argument('<file>', '声明文件（policy.yaml）/ the declaration file')
    .requiredOption('--out <dir>', '输出目录 / output directory')
    .addOption(new Option('--lang <lang>', '语言 / language').choices(['zh', 'en']).default('zh'))
    .addOption(new Option('--format <format>', '输出格式 / output format').choices(['html', 'md', 'json']).default('html'))
    .addHelpText(
      'after',
      '\n生成的文件 / files: index, policy, collection-list, sharing-list, permissions (.html | .md | .json)\n' +
        '退出码 / exit codes: 0 成功 / written; 2 声明无效或无法写入，未写入任何文件 / invalid declaration or output, nothing written\n',
    )
    .action((file: string, opts: RenderCommandOptions) => {
      const loaded = readDeclaration(file, io);
      const files = renderAll(loaded.declaration, { lang: opts.lang, format: opts.format });
      const outDir = resolve(io.cwd, opts.out);
      let written: string[];
      try {
        written = writeFilesAtomically(outDir, files, (p) => displayPath(io.cwd, p));
      } catch (err) {
        if (err instanceof WriteFilesError)
          throw new CliExit(EXIT.invalid, `${err.message}; ${opts.lang === 'zh' ? '未写入任何文件' : 'nothing written'}`);
        throw err;
      }
      const zh = opts.lang === 'zh';
      io.stdout(
        `${zh ? `已生成 ${written.length} 个文件：` : `Wrote ${written.length} files:`}\n${written.map((p) => `  ${displayPath(io.cwd, p)}`).join('\n')}\n`,
      );
    });
}
