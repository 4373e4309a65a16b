/**
 * `pipa lint FILE [--format text|json|sarif] [--lang zh|en]`: check a declaration against the rules
 * of PIPL, GB/T 35273, the MIIT app rules and the NEC necessary sets. Exit 0 without error findings,
 * 1 with at least one, 2 when the file is invalid (its load errors go to stderr as file:line:col).
 */
import { formatLintText, lintDeclaration, lintToJson, lintToSarif } from '@pipa/policy';
import { type Command, Option } from 'commander';
import { CliExit, type CliIo, EXIT } from '../io.js';
import { readDeclaration } from '../util.js';

interface LintOptions {
  format: 'text' | 'json' | 'sarif';
  lang: 'zh' | 'en';
}

export function registerLint(program: Command, io: CliIo): void {
  program
    .command('lint')
    .description(
      '按个人信息保护法、GB/T 35273、工信部 App 规定等检查声明 / check a declaration against PIPL, GB/T 35273 and the MIIT app rules',
    )
    .argument('<file>', '声明文件 / the declaration file')
    .addOption(new Option('--format <format>', '输出格式 / output format').choices(['text', 'json', 'sarif']).default('text'))
    .addOption(new Option('--lang <lang>', '提示语言 / language of the messages').choices(['zh', 'en']).default('zh'))
    .addHelpText(
      'after',
      '\n退出码 / exit codes: 0 没有错误 / no error findings; 1 有错误 / error findings; 2 文件无效 / invalid file\n' +
        '规则列表 / rules: docs/lint-rules.md\n',
    )
    .action((file: string, opts: LintOptions) => {
      const loaded = readDeclaration(file, io);
      const result = lintDeclaration(loaded, { lang: opts.lang });
      switch (opts.format) {
        case 'json':
          io.stdout(`${JSON.stringify(lintToJson(result), null, 2)}\n`);
          break;
        case 'sarif':
          io.stdout(`${JSON.stringify(lintToSarif(result, { lang: opts.lang, file }), null, 2)}\n`);
          break;
        default:
          io.stdout(formatLintText(result, { lang: opts.lang, file }));
      }
      if (result.summary.error > 0) throw new CliExit(EXIT.findings);
    });
}
