/**
 * `pipa diff OLD NEW [--format text|json] [--lang zh|en]`: the changes between two versions of a
 * declaration, material or editorial. Exit 0 without material change, 3 when consent must be asked
 * again, 2 when either file is invalid.
 */
import { diffDeclarations, diffToJson, formatDiffText, type LoadedDeclaration } from '@pipa/policy';
import { type Command, Option } from 'commander';
import { CliExit, type CliIo, EXIT } from '../io.js';
import { readDeclaration } from '../util.js';

interface DiffOptions {
  format: 'text' | 'json';
  lang: 'zh' | 'en';
}

export function registerDiff(program: Command, io: CliIo): void {
  program
    .command('diff')
    .description(
      '列出两个声明版本之间的变更，区分实质性变更（需重新征得同意）与编辑性变更 / list the changes between two declaration versions, material or editorial',
    )
    .argument('<old>', '旧版本的声明文件 / the old declaration')
    .argument('<new>', '新版本的声明文件 / the new declaration')
    .addOption(new Option('--format <format>', '输出格式 / output format').choices(['text', 'json']).default('text'))
    .addOption(new Option('--lang <lang>', '摘要语言 / language of the summaries').choices(['zh', 'en']).default('zh'))
    .addHelpText(
      'after',
      '\n退出码 / exit codes: 0 没有实质性变更 / no material change; 3 需要重新征得同意 / re-consent required; 2 输入无效 / invalid input\n',
    )
    .action((oldFile: string, newFile: string, opts: DiffOptions) => {
      const errors: string[] = [];
      const read = (file: string): LoadedDeclaration | undefined => {
        try {
          return readDeclaration(file, io);
        } catch (err) {
          if (err instanceof CliExit) {
            errors.push(err.message);
            return undefined;
          }
          throw err;
        }
      };
      // Read both so that both files' problems are reported at once.
      const before = read(oldFile);
      const after = read(newFile);
      if (!before || !after) throw new CliExit(EXIT.invalid, errors.join('\n'));

      const diff = diffDeclarations(before.declaration, after.declaration);
      if (opts.format === 'json') {
        io.stdout(`${JSON.stringify(diffToJson(diff, opts.lang), null, 2)}\n`);
      } else {
        io.stdout(formatDiffText(diff, { lang: opts.lang, from: oldFile, to: newFile }));
      }
      if (diff.reconsent) throw new CliExit(EXIT.reconsent);
    });
}
