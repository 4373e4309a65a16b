/**
 * `pipa retention sweep --app X [--dry-run] [--json] [--db URL] [--data-dir DIR]`: one retention
 * sweep of an app on the service's database (the same as the scheduled `retention.sweep` job and
 * `POST /v1/apps/{app}/retention/sweep`): vault fields whose retention ended or whose consent-based
 * purposes lost their consent with no other purpose covering them are removed, and legally held rows
 * of erased subjects in the declared datasets are erased once their period is over (connection URLs
 * from the environment). Prints the report; a run is stored and audited, a dry run changes nothing.
 *
 * Exit codes: 0 done; 1 done with errors (listed); 2 invalid input (unknown app, no database).
 */
import { type RetentionReport, runSweep } from '@pipa/server';
import type { Command } from 'commander';
import { CliExit, type CliIo, EXIT } from '../io.js';
import { addDbOptions, type DbCommandOptions, withServiceContext } from './service-options.js';

interface SweepCommandOptions extends DbCommandOptions {
  app?: string;
  dryRun: boolean;
  json: boolean;
}

const APP_ID = /^[a-z0-9]+(?:[.-][a-z0-9]+)*$/;
const iso = (ms: number) => new Date(ms).toISOString();

/** The report for a person at a terminal: zh / en labels, counts and names only. */
export function formatRetentionReport(r: RetentionReport): string {
  const lines: string[] = [];
  lines.push(
    `保存期限清理 / retention sweep: app ${r.app}, policy ${r.policyVersion}, at ${iso(r.at)}${r.dryRun ? ' — 试运行，未做任何修改 / dry run, nothing changed' : ''}`,
  );
  lines.push(
    `  检查 / scanned: ${r.scanned.subjects} person(s), ${r.scanned.fields} field(s); 推迟 / deferred (open rights request): ${r.deferred}`,
  );
  const verb = r.dryRun ? '将删除 / would remove' : '已删除 / removed';
  if (r.removed.length === 0) lines.push(`  ${verb}: nothing`);
  else {
    lines.push(`  ${verb}: ${r.totals.fields} field(s) of ${r.totals.subjects} person(s)`);
    for (const x of r.removed) {
      lines.push(
        `    ${x.category}  purpose ${x.purpose ?? '(none)'}  ${x.action}  ${x.reason}${x.rule !== null ? ` ${x.rule}` : ''}  ${x.subjects} person(s), ${x.fields} field(s)`,
      );
    }
  }
  for (const d of r.datasets) {
    lines.push(
      `  数据集 / dataset ${d.dataset} (${d.engine}): swept tables ${d.swept.length > 0 ? d.swept.join(', ') : '(none)'}; ${d.subjects} erased subject(s) asked, ${d.remaining} remaining`,
    );
    for (const t of d.tables) {
      lines.push(
        `    ${t.table}: ${t.rowsDeleted} row(s) deleted, ${t.rowsHeld} held${t.heldUntil !== null ? ` (first hold ends ${t.heldUntil})` : ''}`,
      );
    }
    const h = d.held;
    if (h.due + h.remaining > 0)
      lines.push(
        `    法定保存清单 / hold manifest: ${h.removed} row(s) ${r.dryRun ? 'would be expired' : 'expired and removed'} (${h.missing} no longer in the dataset), ${h.kept} still held, ${h.remaining} left for the next sweep`,
      );
    for (const l of d.limits)
      lines.push(`    限制 / limit ${l.code}${l.table !== null ? ` (${l.table})` : ''}: ${l.messageZh} / ${l.message}`);
  }
  for (const u of r.unevaluated)
    lines.push(`  未评估 / not evaluated: ${u.purpose} ${u.rule} (${u.trigger}): ${u.messageZh} / ${u.message}`);
  for (const e of r.errors) {
    lines.push(`  错误 / error ${e.where} ${e.code}: ${e.messageZh !== undefined ? `${e.messageZh} / ` : ''}${e.message}`);
  }
  lines.push(
    r.id !== null ? `  报告 / report: ${r.id} (stored, audited as retention.sweep)` : '  报告未保存 / report not stored (dry run)',
  );
  return `${lines.join('\n')}\n`;
}

export async function runRetentionSweep(io: CliIo, opts: SweepCommandOptions): Promise<void> {
  const app = opts.app;
  if (app === undefined || !APP_ID.test(app)) {
    throw new CliExit(
      EXIT.invalid,
      `--app must be an app id such as xiaopiaopiao-merchant (got ${app === undefined ? 'nothing' : `"${app}"`})`,
    );
  }
  const report = await withServiceContext(
    io,
    opts,
    'pipa retention sweep',
    (ctx) => runSweep(ctx, app, { dryRun: opts.dryRun, trigger: 'cli', actor: 'cli', env: io.env }),
    { details: false },
  );
  io.stdout(opts.json ? `${JSON.stringify(report, null, 2)}\n` : formatRetentionReport(report));
  if (report.errors.length > 0)
    throw new CliExit(EXIT.findings, opts.json ? '' : `pipa retention sweep: ${report.errors.length} error(s), see above`);
}

export function registerRetention(program: Command, io: CliIo): void {
  const retention = program.command('retention').description('保存期限 / retention (PIPL 47)');
  addDbOptions(retention.command('sweep'))
    .description(
      '删除或匿名化保存期限已满、或同意已撤回且无其他合法性基础的个人信息 / delete or anonymise personal information whose retention ended or whose consent was withdrawn with no other basis',
    )
    .requiredOption('--app <id>', '应用 id / app id')
    .option('--dry-run', '只报告，不修改 / report only, change nothing', false)
    .option('--json', '输出 JSON / JSON output', false)
    .addHelpText(
      'after',
      '\n数据集连接地址来自声明中 connectionEnv 指定的环境变量 / dataset connection URLs come from the environment variables named by connectionEnv\n' +
        '退出码 / exit codes: 0 完成 / done; 1 有错误 / done with errors; 2 输入无效 / invalid input\n',
    )
    .action((opts: SweepCommandOptions) => runRetentionSweep(io, opts));
}
