/**
 * `pipa scan TARGET… [--policy FILE] [--format text|json|sarif|html] [--sample N] [--min-score S]`:
 * find personal information in files (text, logs, CSV, JSON, NDJSON; binaries skipped), SQLite
 * files and live PostgreSQL / MySQL / MariaDB databases, and compare it with the declaration.
 *
 * Exit codes: 0 nothing to report; 1 personal information that is undeclared (or, without
 * --policy, any) or declared encrypted but stored in plain text; 2 invalid input (bad arguments,
 * invalid declaration, no target could be read); 4 some targets could not be scanned (unreachable
 * database, wrong credentials, unreadable file) and nothing else to report; 5 = 1 and 4 together.
 */
import { resolve } from 'node:path';
import { type DetectorType, isDetectorType } from '@pipa/detect';
import type { Declaration } from '@pipa/policy';
import { type Command, Option } from 'commander';
import { CliExit, type CliIo, EXIT } from '../io.js';
import { VERSION } from '../program.js';
import { dbKind, scanMysql, scanPostgres, scanSqlite } from '../scan/databases.js';
import { describeFsError, type FileEntry, scanFile, sniff, walk } from '../scan/files.js';
import { buildReport, renderHtml, renderJson, renderSarif, renderText } from '../scan/report.js';
import type { TargetResult } from '../scan/types.js';
import { readDeclaration } from '../util.js';

/** Exit codes of `pipa scan` (1 and 4 combine to 5). */
export const SCAN_EXIT = { ok: 0, findings: 1, invalid: 2, incomplete: 4 } as const;

interface ScanOptions {
  policy?: string;
  format: 'text' | 'json' | 'sarif' | 'html';
  sample: string;
  minScore: string;
  types?: string;
  hidden?: boolean;
  timeout: string;
  maxJson: string;
}

function positiveInt(name: string, v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new CliExit(EXIT.invalid, `--${name} 必须是正整数 / must be a positive integer (got "${v}")`);
  return n;
}

export function registerScan(program: Command, io: CliIo): void {
  program
    .command('scan')
    .description(
      '发现文件和数据库中的个人信息，并与声明比较 / find personal information in files and databases and compare it with the declaration',
    )
    .argument(
      '<targets...>',
      '文件、目录、SQLite 文件或数据库 URL（postgres://、mysql://、mariadb://、sqlite:路径）/ files, directories, SQLite files or database URLs',
    )
    .option(
      '--policy <file>',
      '声明文件：报告未声明和未加密的个人信息 / declaration: report undeclared and unencrypted personal information',
    )
    .addOption(new Option('--format <format>', '输出格式 / output format').choices(['text', 'json', 'sarif', 'html']).default('text'))
    .option('--sample <n>', '每张表抽样的行数 / rows sampled per table', '1000')
    .option('--min-score <score>', '报告的最低置信度 / lowest confidence reported (0..1)', '0.5')
    .option('--types <list>', '只运行这些检测器（逗号分隔）/ only these detectors (comma-separated)')
    .option('--hidden', '扫描隐藏文件和目录 / scan hidden files and directories')
    .option('--timeout <ms>', '数据库连接超时（毫秒）/ database connect timeout (ms)', '5000')
    .option(
      '--max-json <bytes>',
      '整体解析的 JSON 文件上限，超过则按文本扫描 / largest JSON parsed whole; larger files are scanned as text',
      String(256 * 1024 * 1024),
    )
    .addHelpText(
      'after',
      '\n退出码 / exit codes: 0 无发现 / nothing found; 1 未声明或未加密的个人信息 / undeclared or unencrypted personal information; 2 输入无效 / invalid input; 4 部分目标无法扫描 / some targets could not be scanned; 5 = 1 + 4\n',
    )
    .action(async (targets: string[], opts: ScanOptions) => {
      const minScore = Number(opts.minScore);
      if (!(minScore >= 0 && minScore <= 1))
        throw new CliExit(EXIT.invalid, `--min-score 必须在 0 到 1 之间 / must be between 0 and 1 (got "${opts.minScore}")`);
      const sample = positiveInt('sample', opts.sample);
      const timeoutMs = positiveInt('timeout', opts.timeout);
      const maxJsonBytes = positiveInt('max-json', opts.maxJson);
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
      let decl: Declaration | undefined;
      if (opts.policy) decl = readDeclaration(opts.policy, io).declaration;
      const detectOptions = { minScore, ...(types ? { types } : {}) };

      // Expand targets: database URLs as they are, paths walked.
      const problems: string[] = [];
      const plan: ({ db: string } | { file: FileEntry })[] = [];
      for (const t of targets) {
        if (dbKind(t) === 'postgres' || dbKind(t) === 'mysql') plan.push({ db: t });
        else {
          const files: FileEntry[] = [];
          walk(
            resolve(io.cwd, dbKind(t) === 'sqlite' ? t.replace(/^sqlite:(\/\/)?/i, '') : t),
            io.cwd,
            opts.hidden === true,
            files,
            problems,
          );
          for (const f of files) plan.push({ file: f });
        }
      }
      if (plan.length === 0)
        throw new CliExit(EXIT.invalid, problems.length > 0 ? problems.join('\n') : '没有可扫描的目标 / nothing to scan');

      const results: TargetResult[] = problems.map((p) => {
        const i = p.indexOf(': ');
        return { target: p.slice(0, i), kind: 'unknown', status: 'error', message: p.slice(i + 2), warnings: [], groups: [] };
      });
      const progress = io.isTTY === true && opts.format === 'text';
      const width = 30;
      for (let i = 0; i < plan.length; i++) {
        const step = plan[i] as (typeof plan)[number];
        const name = 'db' in step ? step.db.replace(/\/\/([^:/@]+):[^@]*@/, '//$1:***@') : step.file.display;
        if (progress) {
          const done = Math.round((i / plan.length) * width);
          io.stderr(`\r\x1b[2K[${'#'.repeat(done)}${'.'.repeat(width - done)}] ${i + 1}/${plan.length} ${name.slice(-60)}`);
        }
        results.push(await scanOne(step, { detect: detectOptions, sample, timeoutMs, maxJsonBytes }));
      }
      if (progress) io.stderr('\r\x1b[2K');

      const report = buildReport(results, decl, opts.policy);
      if (opts.format === 'json') io.stdout(renderJson(report));
      else if (opts.format === 'sarif') io.stdout(renderSarif(report, VERSION));
      else if (opts.format === 'html') io.stdout(renderHtml(report, new Date().toISOString()));
      else io.stdout(renderText(report));
      if (opts.format !== 'text')
        for (const r of results) if (r.status === 'error') io.stderr(`pipa scan: ${r.target}: ${r.message ?? ''}\n`);

      const code = (report.findings.length > 0 ? SCAN_EXIT.findings : 0) | (report.summary.errors > 0 ? SCAN_EXIT.incomplete : 0);
      if (code !== 0) throw new CliExit(code);
    });
}

async function scanOne(
  step: { db: string } | { file: FileEntry },
  o: { detect: { minScore: number; types?: DetectorType[] }; sample: number; timeoutMs: number; maxJsonBytes: number },
): Promise<TargetResult> {
  const dbOpts = { detect: o.detect, sample: o.sample, timeoutMs: o.timeoutMs };
  if ('db' in step) return dbKind(step.db) === 'postgres' ? scanPostgres(step.db, dbOpts) : scanMysql(step.db, dbOpts);
  const f = step.file;
  let kind: ReturnType<typeof sniff>;
  try {
    kind = sniff(f.path);
  } catch (err) {
    return { target: f.display, kind: 'unknown', status: 'error', message: describeFsError(err), warnings: [], groups: [] };
  }
  if (kind === 'binary')
    return { target: f.display, kind, status: 'skipped', message: '二进制文件 / binary file', warnings: [], groups: [], bytes: f.size };
  if (kind === 'sqlite') return scanSqlite(f.path, f.display, dbOpts);
  try {
    return await scanFile(f, kind, { detect: o.detect, maxJsonBytes: o.maxJsonBytes });
  } catch (err) {
    return { target: f.display, kind, status: 'error', message: describeFsError(err), warnings: [], groups: [] };
  }
}
