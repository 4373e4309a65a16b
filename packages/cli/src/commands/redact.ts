/**
 * `pipa redact [FILE…] --op TYPE=OPERATOR … [--key-env VAR] [--recipient NAME]`: copy files (or
 * stdin) to stdout with personal information replaced. TYPE is a detector type (`phone`), a
 * category id (`identity.id-card`) or `default`; OPERATOR is mask, redact, tag, hash, pseudonym,
 * token, generalise or keep. hash, pseudonym and token need a key from the environment variable
 * named by --key-env (at least 16 characters). Exit 0, or 2 for invalid input.
 */
import { createReadStream } from 'node:fs';
import { resolve } from 'node:path';
import { TextDecoder } from 'node:util';
import {
  createRedactor,
  DETECTOR_CATEGORIES,
  type DetectorType,
  isDetectorType,
  isOperatorName,
  OPERATORS,
  OperatorError,
  type OperatorName,
  type Redactor,
} from '@pipa/detect';
import type { Command } from 'commander';
import { CliExit, type CliIo, EXIT } from '../io.js';

interface RedactOptions {
  op: string[];
  keyEnv?: string;
  recipient?: string;
  minScore: string;
  types?: string;
  summary?: boolean;
}

const KEYED: ReadonlySet<OperatorName> = new Set(['hash', 'pseudonym', 'token']);

export function parseOps(specs: readonly string[]): Record<string, OperatorName> {
  const categories = new Set(Object.values(DETECTOR_CATEGORIES));
  const ops: Record<string, OperatorName> = {};
  for (const spec of specs) {
    const eq = spec.lastIndexOf('=');
    const key = eq > 0 ? spec.slice(0, eq).trim() : 'default';
    const op = (eq > 0 ? spec.slice(eq + 1) : spec).trim();
    if (!isOperatorName(op))
      throw new CliExit(EXIT.invalid, `--op ${spec}: 未知的运算符 / unknown operator "${op}" (one of ${OPERATORS.join(', ')})`);
    if (key !== 'default' && !isDetectorType(key) && !categories.has(key))
      throw new CliExit(
        EXIT.invalid,
        `--op ${spec}: 未知的类型 / unknown type "${key}" (a detector type such as phone, a category id such as identity.id-card, or default)`,
      );
    ops[key] = op;
  }
  return ops;
}

export function registerRedact(program: Command, io: CliIo): void {
  program
    .command('redact')
    .description('将文件或标准输入中的个人信息替换后输出到标准输出 / copy files or stdin to stdout with personal information replaced')
    .argument('[files...]', '输入文件，省略或 - 表示标准输入 / input files; none or - for stdin')
    .option(
      '--op <type=operator>',
      `每类信息的处理方式，可重复 / operator per type, repeatable (${OPERATORS.join(', ')})`,
      (v: string, prev: string[]) => [...prev, v],
      [],
    )
    .option(
      '--key-env <var>',
      'hash、pseudonym、token 所用密钥的环境变量 / environment variable holding the key for hash, pseudonym and token',
    )
    .option('--recipient <name>', '假名的接收方（每个接收方的假名不同）/ recipient the pseudonyms are made for')
    .option('--min-score <score>', '替换的最低置信度 / lowest confidence replaced (0..1)', '0.5')
    .option('--types <list>', '只处理这些检测器（逗号分隔）/ only these detectors (comma-separated)')
    .option('--summary', '在标准错误输出替换计数 / print the counts of replacements on stderr')
    .addHelpText(
      'after',
      '\n示例 / example: pipa redact app.log --op phone=mask --op identity.id-card=hash --key-env PIPA_REDACT_KEY\n退出码 / exit codes: 0 完成 / done; 2 输入无效 / invalid input\n',
    )
    .action(async (files: string[], opts: RedactOptions) => {
      const operators = parseOps(opts.op);
      const minScore = Number(opts.minScore);
      if (!(minScore >= 0 && minScore <= 1))
        throw new CliExit(EXIT.invalid, `--min-score 必须在 0 到 1 之间 / must be between 0 and 1 (got "${opts.minScore}")`);
      let types: DetectorType[] | undefined;
      if (opts.types) {
        const list = opts.types
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean);
        const bad = list.filter((t) => !isDetectorType(t));
        if (bad.length > 0) throw new CliExit(EXIT.invalid, `--types: 未知的检测器 / unknown detector(s): ${bad.join(', ')}`);
        types = list as DetectorType[];
      }
      let key: string | undefined;
      if (opts.keyEnv) {
        key = io.env[opts.keyEnv];
        if (!key)
          throw new CliExit(EXIT.invalid, `--key-env ${opts.keyEnv}: 环境变量未设置或为空 / environment variable is not set or empty`);
        if (key.length < 16)
          throw new CliExit(EXIT.invalid, `--key-env ${opts.keyEnv}: 密钥至少 16 个字符 / the key must have at least 16 characters`);
      }
      const needsKey = Object.entries(operators).filter(([, op]) => KEYED.has(op));
      if (needsKey.length > 0 && !key)
        throw new CliExit(
          EXIT.invalid,
          `${needsKey.map(([t, op]) => `${t}=${op}`).join(', ')}: 需要 --key-env 提供密钥 / needs a key: give --key-env VAR`,
        );

      const inputs = files.length === 0 ? ['-'] : files;
      const counts = new Map<string, number>();
      for (const file of inputs) {
        const redactor = createRedactor(
          { operators, context: { ...(key ? { key } : {}), ...(opts.recipient ? { recipient: opts.recipient } : {}) } },
          { minScore, ...(types ? { types } : {}) },
        );
        await pipe(file, redactor, io);
        for (const [t, n] of redactor.counts) counts.set(t, (counts.get(t) ?? 0) + n);
      }
      if (opts.summary) {
        const parts = [...counts].sort().map(([t, n]) => `${t} ${n}`);
        io.stderr(`已替换 / replaced: ${parts.length > 0 ? parts.join(', ') : '0'}\n`);
      }
    });
}

async function pipe(file: string, redactor: Redactor, io: CliIo): Promise<void> {
  let source: AsyncIterable<Buffer | string>;
  if (file === '-') {
    if (!io.stdin) throw new CliExit(EXIT.invalid, '没有标准输入 / no standard input');
    source = io.stdin as AsyncIterable<Buffer | string>;
  } else {
    source = createReadStream(resolve(io.cwd, file), { highWaterMark: 256 * 1024 });
  }
  const dec = new TextDecoder('utf-8', { fatal: false });
  try {
    for await (const chunk of source) {
      const text = typeof chunk === 'string' ? chunk : dec.decode(chunk, { stream: true });
      const out = redactor.push(text);
      if (out) io.stdout(out);
    }
    const rest = redactor.push(dec.decode()) + redactor.end();
    if (rest) io.stdout(rest);
  } catch (err) {
    if (err instanceof OperatorError) throw new CliExit(EXIT.invalid, err.message);
    const code = (err as NodeJS.ErrnoException).code;
    if (code)
      throw new CliExit(
        EXIT.invalid,
        `${file}: ${code === 'ENOENT' ? '文件不存在 / no such file' : code === 'EISDIR' ? '是目录 / is a directory' : `无法读取 / cannot read (${code})`}`,
      );
    throw err;
  }
}
