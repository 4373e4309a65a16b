/**
 * `pipa requests`: rights requests for operators without a console, on the service's database
 * directly (like `pipa keys`; over HTTP the same is /v1/apps/{app}/rights/requests).
 *
 *   pipa requests list [--app X] [--state s,s] [--type t,t] [--overdue] [--waiting] [--json]
 *   pipa requests show REQUEST_ID [--json]                    tasks, transitions, why it waits
 *   pipa requests approve REQUEST_ID --reason "…"            staff verification; the request starts
 *   pipa requests reject REQUEST_ID --code c --zh "…" --en "…"   the reason the person sees
 *   pipa requests run REQUEST_ID [--timeout 120]              run its tasks here until it is done
 *   pipa requests dry-run REQUEST_ID [--json]                 what it would touch, touching nothing
 *   pipa requests sweep                                       reminders, overdue flags, expired packages
 *
 * `run` requeues the tasks that stopped after their attempts and works the request's jobs in this
 * process (connection variables of the datasets from this environment), so an operator can finish a
 * request with no `pipa serve` running; a running server's workers take part as usual.
 */
import {
  createJobRunner,
  createRightsArea,
  REQUEST_STATES,
  REQUEST_TYPES,
  type RequestDetail,
  type RequestState,
  type RequestType,
  type RightsArea,
  type RightsRequest,
  type ServiceContext,
} from '@pipa/server';
import type { Command } from 'commander';
import { CliExit, type CliIo, EXIT } from '../io.js';
import { addDbOptions, type DbCommandOptions, withServiceContext } from './service-options.js';

const ACTOR = 'cli';

/** `flags`: the command's options by the path the service names them with (`$.body.reason` → `--reason`). */
function withRights<T>(
  io: CliIo,
  opts: DbCommandOptions,
  fn: (ctx: ServiceContext, area: RightsArea) => Promise<T>,
  flags: Readonly<Record<string, string>> = {},
): Promise<T> {
  return withServiceContext(io, opts, 'pipa requests', (ctx) => fn(ctx, createRightsArea(ctx, { env: io.env })), {
    flags: { app: '--app', '$.params.app': '--app', ...flags },
  });
}

const time = (ms: number | null) => (ms === null ? '-' : new Date(ms + 8 * 3600_000).toISOString().slice(0, 16).replace('T', ' '));

function line(r: RightsRequest): string {
  const flags = [r.overdue ? 'OVERDUE' : '', r.waiting !== null ? `WAITING(${r.waiting.retrying ? 'retrying' : 'needs staff'})` : '']
    .filter((x) => x !== '')
    .join(' ');
  return `${r.id}  ${r.appId.padEnd(22)}  ${r.type.padEnd(20)}  ${r.state.padEnd(17)}  received ${time(r.receivedAt)}  due ${time(r.dueAt)}${flags !== '' ? `  ${flags}` : ''}`;
}

function details(d: RequestDetail): string {
  const r = d.request;
  const out = [
    line(r),
    `  subject ${r.subjectId}; submitted by ${r.submittedBy}; verification ${r.verification ?? 'pending'}${r.verifiedBy !== null ? ` by ${r.verifiedBy}` : ''}${r.verifyReason !== null ? ` ("${r.verifyReason}")` : ''}`,
    `  deadline ${r.deadline.value} ${r.deadline.unit} (${r.deadline.source}), last day ${r.deadline.lastDay ?? '-'} (UTC+8 times)`,
  ];
  if (r.rejection !== null) out.push(`  rejected: ${r.rejection.code} — ${r.rejection.reason.zh} / ${r.rejection.reason.en}`);
  if (r.waiting !== null) {
    out.push(
      `  waits on ${r.waiting.kind} ${r.waiting.target} since ${time(r.waiting.since)} after ${r.waiting.attempts} attempt(s), ${r.waiting.retrying ? 'retrying' : 'needs staff: fix it, then `pipa requests run`'}`,
      `    ${r.waiting.message}${r.waiting.where !== null ? ` (${r.waiting.where})` : ''}`,
    );
  }
  out.push('  tasks:');
  for (const t of d.tasks) {
    out.push(
      `    ${String(t.seq).padStart(2)} ${t.kind.padEnd(8)} ${t.target.padEnd(32)} ${t.state.padEnd(9)} attempts ${t.attempts}${t.lastError !== null && t.state !== 'succeeded' ? `  last error: ${t.lastError.message}` : ''}`,
    );
  }
  out.push('  transitions:');
  for (const t of d.transitions)
    out.push(`    ${time(t.at)}  ${t.from ?? '-'} -> ${t.to}  by ${t.actor}${t.reason !== null ? `  (${t.reason})` : ''}`);
  return `${out.join('\n')}\n`;
}

async function requireRequest(area: RightsArea, id: string): Promise<RequestDetail> {
  if (!/^rrq_[a-z2-7]{24}$/.test(id)) throw new CliExit(EXIT.invalid, `not a request id: ${id} (rrq_…)`);
  const d = await area.service.find(id);
  if (d === undefined) throw new CliExit(EXIT.invalid, `没有该请求 / no rights request ${id}`);
  return d;
}

function csvOf<T extends string>(raw: string | undefined, values: readonly T[], flag: string): T[] | undefined {
  if (raw === undefined) return undefined;
  const items = raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  const bad = items.filter((s) => !(values as readonly string[]).includes(s));
  if (bad.length > 0) throw new CliExit(EXIT.invalid, `${flag}: unknown ${bad.join(', ')} (one of ${values.join(', ')})`);
  return items as T[];
}

export function registerRequests(program: Command, io: CliIo): void {
  const requests = program.command('requests').description('个人信息权利请求 / rights requests (access, deletion, cancellation …)');

  addDbOptions(requests.command('list'))
    .description('列出请求 / list requests, newest first')
    .option('--app <app>', '应用 / app id')
    .option('--state <list>', `状态 / states: ${REQUEST_STATES.join(', ')}`)
    .option('--type <list>', `类型 / types: ${REQUEST_TYPES.join(', ')}`)
    .option('--overdue', '仅超期 / only past the deadline', false)
    .option('--waiting', '仅等待处理的 / only those waiting on a failed task', false)
    .option('--limit <n>', '最多条数 / at most this many', '100')
    .option('--json', '输出 JSON / JSON output', false)
    .action(
      async (
        opts: DbCommandOptions & {
          app?: string;
          state?: string;
          type?: string;
          overdue: boolean;
          waiting: boolean;
          limit: string;
          json: boolean;
        },
      ) => {
        const states = csvOf<RequestState>(opts.state, REQUEST_STATES, '--state');
        const types = csvOf<RequestType>(opts.type, REQUEST_TYPES, '--type');
        const limit = Number(opts.limit);
        if (!Number.isInteger(limit) || limit < 1 || limit > 500)
          throw new CliExit(EXIT.invalid, '--limit must be an integer from 1 to 500');
        const list = await withRights(io, opts, (_ctx, area) =>
          area.service.list({
            ...(opts.app !== undefined ? { appId: opts.app } : {}),
            ...(states !== undefined ? { states } : {}),
            ...(types !== undefined ? { types } : {}),
            ...(opts.overdue ? { overdue: true } : {}),
            ...(opts.waiting ? { waiting: true } : {}),
            limit,
          }),
        );
        if (opts.json) {
          io.stdout(`${JSON.stringify(list, null, 2)}\n`);
          return;
        }
        if (list.length === 0) io.stdout('没有请求 / no requests\n');
        for (const r of list) io.stdout(`${line(r)}\n`);
      },
    );

  addDbOptions(requests.command('show').argument('<id>', 'rrq_…'))
    .description('查看请求、任务与状态变更 / a request with its tasks and transitions')
    .option('--json', '输出 JSON / JSON output', false)
    .action(async (id: string, opts: DbCommandOptions & { json: boolean }) => {
      const d = await withRights(io, opts, (_ctx, area) => requireRequest(area, id));
      io.stdout(opts.json ? `${JSON.stringify(d, null, 2)}\n` : details(d));
    });

  addDbOptions(requests.command('approve').argument('<id>', 'rrq_…'))
    .description('人工核验身份并开始处理（须写明理由）/ verify the identity (with the reason) and start')
    .requiredOption('--reason <text>', '核验方式与理由 / how the identity was verified')
    .action(async (id: string, opts: DbCommandOptions & { reason: string }) => {
      const d = await withRights(
        io,
        opts,
        async (_ctx, area) => {
          const r = await requireRequest(area, id);
          return area.service.verifyByStaff(r.request.appId, id, opts.reason, { id: ACTOR });
        },
        { '$.body.reason': '--reason' },
      );
      io.stdout(details(d));
    });

  addDbOptions(requests.command('reject').argument('<id>', 'rrq_…'))
    .description('拒绝请求，并告知理由 / reject with the reason the person sees')
    .requiredOption('--code <code>', '理由代码 / reason code, e.g. identity-not-confirmed')
    .requiredOption('--zh <text>', '中文理由 / the reason in Chinese')
    .option('--en <text>', '英文理由 / the reason in English (default: the Chinese text)')
    .action(async (id: string, opts: DbCommandOptions & { code: string; zh: string; en?: string }) => {
      const d = await withRights(
        io,
        opts,
        async (_ctx, area) => {
          const r = await requireRequest(area, id);
          return area.service.reject(
            r.request.appId,
            id,
            { code: opts.code, reason: { zh: opts.zh, en: opts.en ?? opts.zh } },
            { id: ACTOR },
          );
        },
        { '$.body.code': '--code', '$.body.reason.zh': '--zh', '$.body.reason.en': '--en' },
      );
      io.stdout(details(d));
    });

  addDbOptions(requests.command('run').argument('<id>', 'rrq_…'))
    .description('在本进程中执行请求的任务直到完成 / run the request’s tasks here until it is done')
    .option('--timeout <seconds>', '最长等待 / give up after', '300')
    .action(async (id: string, opts: DbCommandOptions & { timeout: string }) => {
      const timeoutS = Number(opts.timeout);
      if (!Number.isFinite(timeoutS) || timeoutS <= 0) throw new CliExit(EXIT.invalid, '--timeout must be a positive number of seconds');
      const d = await withRights(io, opts, async (ctx, area) => {
        const r = await requireRequest(area, id);
        if (r.request.state === 'received') {
          throw new CliExit(
            EXIT.invalid,
            `request ${id} is not verified yet: pipa requests approve ${id} --reason "…" (or a one-time code)`,
          );
        }
        if (r.request.state === 'in_progress') {
          const requeued = await area.service.retry(r.request.appId, id, { id: ACTOR });
          if (requeued.length > 0) io.stdout(`重新排队 / requeued ${requeued.length} task(s)\n`);
        }
        const runner = createJobRunner({ database: ctx.database, handlers: area.handlers, concurrency: 2 });
        const deadline = Date.now() + timeoutS * 1000;
        try {
          for (;;) {
            const now = await area.service.find(id);
            if (now === undefined || now.request.state !== 'in_progress') return now ?? r;
            if (now.request.waiting !== null && !now.request.waiting.retrying) return now;
            if (Date.now() > deadline) return now;
            const ran = await runner.runDue();
            if (ran === 0) await new Promise((resolve) => setTimeout(resolve, 500));
          }
        } finally {
          await runner.stop({ graceMs: 5000 });
        }
      });
      io.stdout(details(d));
      if (d.request.state === 'in_progress') process.exitCode = EXIT.findings;
    });

  addDbOptions(requests.command('dry-run').argument('<id>', 'rrq_…'))
    .description('列出请求将涉及的数据，不做任何修改 / what the request would touch, touching nothing')
    .option('--json', '输出 JSON / JSON output', false)
    .action(async (id: string, opts: DbCommandOptions & { json: boolean }) => {
      const result = await withRights(io, opts, async (_ctx, area) => {
        const r = await requireRequest(area, id);
        return area.service.dryRun(r.request.appId, id, { id: ACTOR });
      });
      if (opts.json) {
        io.stdout(`${JSON.stringify(result, null, 2)}\n`);
        return;
      }
      for (const t of result.tasks) {
        io.stdout(`${t.key}${t.after.length > 0 ? `  (after ${t.after.join(', ')})` : ''}\n`);
        if (t.error !== null) io.stdout(`    error: ${t.error}\n`);
        else if (t.effect !== null) io.stdout(`    ${JSON.stringify(t.effect)}\n`);
      }
    });

  addDbOptions(requests.command('sweep'))
    .description('发送期限提醒、标记超期、销毁过期下载包 / deadline reminders, overdue flags, expired packages')
    .action(async (opts: DbCommandOptions) => {
      const r = await withRights(io, opts, (_ctx, area) => area.service.sweep());
      io.stdout(`reminded ${r.reminded}, overdue ${r.overdue}, packages shredded ${r.shredded}\n`);
    });
}
