/**
 * `pipa redact [FILE…] --op TYPE=OPERATOR … [--key-env VAR] [--recipient NAME]`: copy files (or
 * stdin) to stdout with personal information replaced. TYPE is a detector type (`phone`), a
 * category id (`identity.id-card`) or `default`; OPERATOR is mask, redact, tag, hash, pseudonym,
 * token, generalise or keep. hash, pseudonym and token need a key from the environment variable
 * named by --key-env (at least 16 characters). Exit 0, or 2 for invalid input.
 *
 * Input must be UTF-8: a file in another encoding is refused, never passed through with its bytes
 * replaced by U+FFFD. Every file is opened, and read once to check its encoding, before anything
 * is written, so a missing or non-UTF-8 file leaves stdout empty. Standard input can be read only
 * once: it is checked as it streams, and stops with exit 2 at the first byte that is not UTF-8.
 */
import { closeSync, createReadStream, fstatSync, openSync } from 'node:fs';
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
import { firstInvalidUtf8 } from '@pipa/policy';
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

      const inputs = openInputs(files.length === 0 ? ['-'] : files, io);
      const counts = new Map<string, number>();
      try {
        for (const input of inputs) if (input.regular) await checkUtf8(input);
        for (const input of inputs) {
          const redactor = createRedactor(
            { operators, context: { ...(key ? { key } : {}), ...(opts.recipient ? { recipient: opts.recipient } : {}) } },
            { minScore, ...(types ? { types } : {}) },
          );
          await pipe(input, redactor, io);
          for (const [t, n] of redactor.counts) counts.set(t, (counts.get(t) ?? 0) + n);
        }
      } finally {
        closeAll(inputs);
      }
      if (opts.summary) {
        const parts = [...counts].sort().map(([t, n]) => `${t} ${n}`);
        io.stderr(`已替换 / replaced: ${parts.length > 0 ? parts.join(', ') : '0'}\n`);
      }
    });
}

interface Input {
  /** As given on the command line; `-` is stdin. */
  file: string;
  /** Open file descriptor (none for stdin). */
  fd?: number;
  /** A regular file: it can be read twice (checked, then redacted). */
  regular: boolean;
}

function shown(file: string): string {
  return file === '-' ? '标准输入 / stdin' : file;
}

function readError(file: string, code: string | undefined): string {
  const why =
    code === 'ENOENT'
      ? '文件不存在 / no such file'
      : code === 'EISDIR'
        ? '是目录 / is a directory'
        : code === 'EACCES' || code === 'EPERM'
          ? '没有读取权限 / permission denied'
          : `无法读取 / cannot read (${code ?? 'error'})`;
  return `${file}: ${why}`;
}

/** Open every input before anything is written; every one that cannot be opened is named, and nothing is written. */
function openInputs(files: readonly string[], io: CliIo): Input[] {
  const inputs: Input[] = [];
  const problems: string[] = [];
  for (const file of files) {
    if (file === '-') {
      if (!io.stdin) problems.push('没有标准输入 / no standard input');
      inputs.push({ file, regular: false });
      continue;
    }
    try {
      const fd = openSync(resolve(io.cwd, file), 'r');
      const stat = fstatSync(fd);
      inputs.push({ file, fd, regular: stat.isFile() });
      if (stat.isDirectory()) problems.push(readError(file, 'EISDIR'));
    } catch (err) {
      problems.push(readError(file, (err as NodeJS.ErrnoException).code));
    }
  }
  if (problems.length > 0) {
    closeAll(inputs);
    throw new CliExit(EXIT.invalid, problems.join('\n'));
  }
  return inputs;
}

function closeAll(inputs: Input[]): void {
  for (const input of inputs) {
    if (input.fd === undefined) continue;
    try {
      closeSync(input.fd);
    } catch {
      // nothing to do: the descriptor is not used again
    }
    delete input.fd;
  }
}

function source(input: Input, io: CliIo): AsyncIterable<Buffer | string> {
  if (input.fd === undefined) return io.stdin as AsyncIterable<Buffer | string>;
  // `start` makes every read positional, so a file checked once is read again from its start;
  // the descriptors are closed by closeAll.
  const from = input.regular ? { start: 0 } : {};
  return createReadStream('', { fd: input.fd, ...from, autoClose: false, highWaterMark: 256 * 1024 });
}

/**
 * UTF-8 decoding that refuses what is not UTF-8, naming the file and the offset of the first
 * invalid byte (found only when the fast fatal decoder has refused a chunk).
 */
class StrictUtf8 {
  private readonly dec = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  private offset = 0;
  private previous: Uint8Array = new Uint8Array(0);
  /** `checking`: the first read of a file, before anything is written. */
  constructor(
    private readonly file: string,
    private readonly checking: boolean,
  ) {}

  decode(chunk: Uint8Array): string {
    let text: string;
    try {
      text = this.dec.decode(chunk, { stream: true });
    } catch {
      const tail = incompleteTail(this.previous);
      const joined = new Uint8Array(tail.length + chunk.length);
      joined.set(tail);
      joined.set(chunk, tail.length);
      const at = firstInvalidUtf8(joined);
      this.refuse(this.offset - tail.length + at, joined[at]);
    }
    this.offset += chunk.length;
    this.previous = chunk;
    return text;
  }

  end(): string {
    try {
      return this.dec.decode();
    } catch {
      const tail = incompleteTail(this.previous);
      return this.refuse(this.offset - tail.length, tail[0]);
    }
  }

  private refuse(at: number, byte: number | undefined): never {
    const hex = (byte ?? 0).toString(16).toUpperCase().padStart(2, '0');
    throw new CliExit(
      EXIT.invalid,
      `${shown(this.file)}: 不是 UTF-8 / not UTF-8: byte 0x${hex} at byte offset ${String(at)} is not valid UTF-8; ` +
        `请先转换为 UTF-8 / convert it to UTF-8 first (e.g. iconv -f GBK -t UTF-8)` +
        (this.checking ? '; 未输出任何内容 / nothing written' : '; 输出到此为止 / the output stops before this byte'),
    );
  }
}

/** The bytes of a character left incomplete at the end of a chunk the decoder accepted (at most 3). */
function incompleteTail(b: Uint8Array): Uint8Array {
  for (let k = 1; k <= Math.min(3, b.length); k++) {
    const c = b[b.length - k] ?? 0;
    if ((c & 0xc0) === 0x80) continue;
    const need = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
    return need > k ? b.subarray(b.length - k) : new Uint8Array(0);
  }
  return new Uint8Array(0);
}

async function checkUtf8(input: Input): Promise<void> {
  const dec = new StrictUtf8(input.file, true);
  for await (const chunk of source(input, {} as CliIo)) if (typeof chunk !== 'string') dec.decode(chunk);
  dec.end();
}

async function pipe(input: Input, redactor: Redactor, io: CliIo): Promise<void> {
  const dec = new StrictUtf8(input.file, false);
  try {
    for await (const chunk of source(input, io)) {
      const text = typeof chunk === 'string' ? chunk : dec.decode(chunk);
      const out = redactor.push(text);
      if (out) io.stdout(out);
    }
    const rest = redactor.push(dec.end()) + redactor.end();
    if (rest) io.stdout(rest);
  } catch (err) {
    if (err instanceof CliExit) throw err;
    if (err instanceof OperatorError) throw new CliExit(EXIT.invalid, err.message);
    const code = (err as NodeJS.ErrnoException).code;
    if (code) throw new CliExit(EXIT.invalid, readError(input.file, code));
    throw err;
  }
}
