/**
 * The datasets part of a sweep: rows the operator's own databases keep under legal hold
 * (`legalRetention`) after a person's erasure, removed once the period is over — through the
 * connector API as it is (rights/connectors, docs/connectors.md).
 *
 * The connector API selects rows only by subject keys: `erase(subject, { dryRun })` erases one
 * person's rows by the declared strategies and keeps rows whose hold has not ended (`from` column +
 * `period`). It has no operation that selects rows by the `from` date alone. So the sweep asks the
 * connector, for each erased subject, to erase what is left of them, with the only key pipa keeps
 * after an erasure: the subject id (`subject-id`). It therefore reaches a held table only when
 * - the table's `legalRetention` names its `from` column (without it the connector starts the period
 *   at the call, and a later call never ends the hold), and
 * - the table is found by the subject id (its own column or at the end of its join path), and
 * - no table the subject id reaches erases by `mask`, `hash` or `generalise`: `erase` applies every
 *   strategy to the subject's remaining rows again, and these would change already erased values
 *   again (a hash of the hash); `delete-row`, `set-null`, `keep` and `legal-hold` are idempotent.
 * Every other held table is listed in the report's `limits` with the reason, and so are the
 * categories of purposes with a retention end (purpose retention is enforced in the vault only).
 *
 * Each erased subject is asked once, then again on the day its earliest remaining hold ends
 * (`retention_dataset_checks`), and again when the dataset's declaration changes.
 *
 * Before that, the hold manifest (rights/hold-manifest.ts): the rows rights requests' erasures kept
 * under legal hold, recorded by primary key with the day their hold ends. The rows whose hold has ended
 * are expired through `eraseRows` (their held columns get the declared strategy after the hold; a
 * `delete-row` table deletes them), which reaches tables found by phone, e-mail or the external id,
 * and the rows finished are removed from the manifest in one transaction with a `retention.held-rows`
 * audit event per subject. A row the dataset still holds (a later `from` date) is kept with its new end.
 */
import { createHash } from 'node:crypto';
import type { DatasetDecl } from '@pipa/policy';
import { sql } from 'kysely';
import type { AuditEventInput } from '../audit/types.js';
import {
  type Connector,
  createConnector,
  type DatasetDescription,
  type EraseAction,
  type EraseReport,
} from '../rights/connectors/index.js';
import { countDue, dueElsewhere, extendHeldRow, type HeldRowEntry, heldRows, removeHeldRows } from '../rights/hold-manifest.js';
import { RIGHTS_SECRETS, rightsSecret } from '../rights/internal.js';
import type { ServiceContext } from '../service/context.js';
import { withTransaction } from '../store/transaction.js';
import type { RetentionModel } from './rules.js';
import type {
  DatasetLimit,
  DatasetSweep,
  DatasetTableSweep,
  HeldRowsSweep,
  HeldRowsTableSweep,
  RetentionConnectorFactory,
  RetentionDeps,
  RetentionError,
} from './types.js';
import { errorOf } from './vault.js';

export interface DatasetSweepInput {
  appId: string;
  declaration: { datasets?: readonly DatasetDecl[] | undefined };
  model: RetentionModel;
  now: number;
  write: boolean;
  actor: string;
  sweepId: string | null;
  requestId: string | null;
  maxSubjects: number;
  maxHeldRows: number;
  signal: AbortSignal | undefined;
  onError: ((err: unknown, where: string) => void) | undefined;
}

export interface DatasetsResult {
  datasets: DatasetSweep[];
  errors: RetentionError[];
  aborted: boolean;
}

export function defaultConnectorFactory(env: Readonly<Record<string, string | undefined>>): RetentionConnectorFactory {
  return (_appId, dataset, options) => createConnector(dataset, { env, now: options.now });
}

function fingerprint(dataset: DatasetDecl): string {
  return createHash('sha256').update(JSON.stringify(dataset)).digest('hex').slice(0, 32);
}

/** What the sweep can and cannot reach in a dataset, from the connector's description (no I/O). */
export function datasetLimits(description: DatasetDescription, model: RetentionModel): { swept: string[]; limits: DatasetLimit[] } {
  const swept: string[] = [];
  const limits: DatasetLimit[] = [];
  const id = description.id;
  if (description.engine === 'http' && description.tables.length === 0) {
    limits.push({
      code: 'no-tables',
      table: null,
      message: `dataset ${id} is an HTTP endpoint that declares no tables: nothing says what it keeps under legal hold, so the sweep does not call it; the endpoint enforces its own holds`,
      messageZh: `数据集 ${id} 为未声明表的 HTTP 端点：无从得知其法定保存的数据，清理任务不调用它；由端点自行执行保存期限`,
    });
  }
  for (const t of description.tables) {
    const ruled = [...new Set(t.fields.map((f) => f.category).filter((c) => model.ruled.has(c)))].sort();
    if (ruled.length > 0) {
      limits.push({
        code: 'purpose-retention-not-applied',
        table: t.name,
        categories: ruled,
        message: `table ${t.name} holds ${ruled.join(', ')}, whose purposes declare a retention end; the connector erases a person's rows, it cannot select rows older than a date, so that retention is enforced in the vault only`,
        messageZh: `表 ${t.name} 含有 ${ruled.join('、')}，其处理目的声明了保存期限；连接器只能删除某个人的行，无法按日期选择过期的行，因此该期限仅在保管库中执行`,
      });
    }
    const hold = t.legalRetention;
    if (hold === undefined) continue;
    const key = t.subject.key;
    if (hold.from === undefined) {
      limits.push({
        code: 'no-from',
        table: t.name,
        message: `table ${t.name}: legalRetention has no "from" column, so the connector starts the ${hold.period} period at each erasure call and a later call never ends the hold; declare legalRetention.from (the column with the date the period runs from). Rows held by an erasure that recorded them in the hold manifest are expired through it, from the erasure`,
        messageZh: `表 ${t.name}：legalRetention 未声明 from 列，连接器在每次删除时重新起算 ${hold.period} 的期限，之后的调用永远不会结束保存；请声明 legalRetention.from（期限起算日期所在的列）。已记入法定保存清单的行按清单自删除之日起算并到期删除`,
      });
    } else if (key !== 'subject-id') {
      const how =
        t.subject.kind === 'via' ? `through ${t.subject.path.slice(1).join(' → ')} by ${key}` : `by ${key} (column ${t.subject.column})`;
      limits.push({
        code: 'not-reachable-by-subject-id',
        table: t.name,
        key,
        message: `table ${t.name} is found ${how}; after an erasure pipa keeps only the subject id, and the connector API selects rows only by subject keys (erase(subject)), with no operation that selects rows by the "${hold.from}" date, so the sweep cannot remove through the person its rows whose ${hold.period} hold has ended. Rows held by an erasure that recorded them in the hold manifest (by primary key) are expired through it; for rows held before the manifest, or by an HTTP endpoint that does not report its held rows, find the table by a column holding pipa's subject id (subject.key: subject-id), or remove those rows by "${hold.from}" in the database`,
        messageZh: `表 ${t.name} 通过 ${key} 定位${t.subject.kind === 'via' ? `（经 ${t.subject.path.slice(1).join(' → ')}）` : ''}；删除后 pipa 只保留主体 id，而连接器接口只能按主体标识选择行（erase(subject)），没有按 "${hold.from}" 日期选择行的操作，因此清理任务无法经由该主体删除 ${hold.period} 保存期已满的行。已由删除操作按主键记入法定保存清单的行按清单到期删除；对于清单之前保存的行，或未报告保存行的 HTTP 端点，请用保存 pipa 主体 id 的列定位该表（subject.key: subject-id），或在数据库中按 "${hold.from}" 删除这些行`,
      });
    } else swept.push(t.name);
  }
  // erase() applies every strategy of every table the subject id reaches, again: only idempotent ones are safe.
  const reached = description.tables.filter((t) => t.subject.key === 'subject-id');
  const unsafe = reached
    .map((t) => ({ table: t.name, columns: t.fields.filter((f) => RECOMPUTED.has(f.strategy)) }))
    .filter((x) => x.columns.length > 0);
  if (swept.length > 0 && unsafe.length > 0) {
    for (const { table, columns } of unsafe) {
      const list = columns.map((c) => `${c.column} (${c.strategy})`).join(', ');
      limits.push({
        code: 'strategy-not-idempotent',
        table,
        categories: [...new Set(columns.map((c) => c.category))].sort(),
        message: `table ${table} is found by the subject id and erases ${list}; the connector's erase applies every declared strategy to the subject's remaining rows again, and mask, hash and generalise are not idempotent (a hashed value would be hashed again), so the sweep does not call erase on dataset ${id}; use delete-row or set-null for these columns, or remove the rows whose hold ended by their "from" date in the database`,
        messageZh: `表 ${table} 通过主体 id 定位，并以 ${list} 方式删除；连接器的 erase 会对该主体剩余的行再次执行所有声明的策略，而掩码、哈希和概括不是幂等的（已哈希的值会被再次哈希），因此清理任务不对数据集 ${id} 调用 erase；请对这些列使用 delete-row 或 set-null，或在数据库中按 "from" 日期删除保存期已满的行`,
      });
    }
    swept.length = 0;
  }
  return { swept, limits };
}

/** Strategies that compute a new value from the old one: applying them twice changes the value again. */
const RECOMPUTED: ReadonlySet<string> = new Set(['mask', 'hash', 'generalise']);

/** The earlier of two days (YYYY-MM-DD). */
function earlierDay(a: string, b: string): string {
  return a.localeCompare(b) <= 0 ? a : b;
}

/** Sum connector reports per table. */
class TableSums {
  readonly tables = new Map<string, Map<string, EraseAction & { rows: number }>>();
  add(report: EraseReport): void {
    for (const t of report.tables) {
      let actions = this.tables.get(t.table);
      if (actions === undefined) {
        actions = new Map();
        this.tables.set(t.table, actions);
      }
      for (const a of t.actions) {
        const key = `${a.strategy}/${a.reason ?? ''}/${a.columns.join(',')}`;
        const cur = actions.get(key);
        if (cur === undefined) {
          actions.set(key, { ...a, columns: [...a.columns], ...(a.legalHold !== undefined ? { legalHold: { ...a.legalHold } } : {}) });
          continue;
        }
        cur.rows += a.rows;
        if (a.legalHold !== undefined) {
          const prev = cur.legalHold;
          cur.legalHold =
            prev === undefined
              ? { ...a.legalHold }
              : {
                  ...prev,
                  firstUntil: earlierDay(a.legalHold.firstUntil, prev.firstUntil),
                  until: earlierDay(a.legalHold.until, prev.until) === prev.until ? a.legalHold.until : prev.until,
                };
        }
      }
    }
  }
  result(): DatasetTableSweep[] {
    return [...this.tables].map(([table, actions]) => {
      const list = [...actions.values()];
      const held = list.filter((a) => a.strategy === 'legal-hold');
      const firsts = held.map((a) => a.legalHold?.firstUntil).filter((u): u is string => u !== undefined);
      return {
        table,
        actions: list,
        rowsDeleted: list.filter((a) => a.strategy === 'delete-row').reduce((n, a) => n + a.rows, 0),
        rowsHeld: held.reduce((n, a) => n + a.rows, 0),
        heldUntil: [...firsts].sort()[0] ?? null,
      };
    });
  }
}

/** The earliest day a hold in this report ends, or undefined when nothing is held. */
function firstUntil(report: EraseReport): string | undefined {
  let first: string | undefined;
  for (const t of report.tables)
    for (const a of t.actions) {
      const u = a.legalHold?.firstUntil;
      if (a.strategy === 'legal-hold' && u !== undefined && (first === undefined || u < first)) first = u;
    }
  return first;
}

const noHeld = (): HeldRowsSweep => ({ due: 0, removed: 0, missing: 0, kept: 0, remaining: 0, tables: [] });

/**
 * The hold manifest's part of one dataset: expire the recorded rows whose hold ended by the sweep's
 * day (at most `maxHeldRows`, one connector transaction), then, in one transaction of pipa's, remove
 * the rows finished, keep the ones still held with their new end, and audit per subject. A connector
 * failure is reported and ends the part: the rows stay in the manifest for the next sweep.
 */
async function sweepHeldRows(
  ctx: ServiceContext,
  input: DatasetSweepInput,
  connector: Connector,
  description: DatasetDescription,
  sums: TableSums,
  errors: RetentionError[],
): Promise<{ held: HeldRowsSweep; failed: boolean }> {
  const { appId, now } = input;
  const id = description.id;
  const today = new Date(now).toISOString().slice(0, 10);
  const declared = description.tables.filter((t) => t.legalRetention !== undefined).map((t) => t.name);
  for (const [table, subjects] of await dueElsewhere(ctx.db, appId, id, declared, today)) {
    errors.push({
      where: `dataset:${id}/${table}`,
      code: 'undeclared-table',
      message: `the hold manifest has rows of table ${table}, which dataset ${id} no longer declares with legalRetention; declare it again to expire them, or remove them in the database and from the manifest`,
      messageZh: `法定保存清单中有表 ${table} 的行，但数据集 ${id} 已不再以 legalRetention 声明该表；请重新声明以便到期删除，或在数据库中删除这些行并从清单中移除`,
      subjects,
      retryable: false,
    });
  }
  const due = await countDue(ctx.db, appId, id, declared, today);
  if (due === 0) return { held: noHeld(), failed: false };
  const rows = await heldRows(ctx, appId, { dataset: id, tables: declared, dueBy: today, limit: input.maxHeldRows });
  const held: HeldRowsSweep = { ...noHeld(), due: rows.length, remaining: Math.max(0, due - rows.length) };
  if (rows.length === 0) return { held, failed: false };

  // One selection per table and hold start (a table without `from` counts its period from the erasure).
  const selections = new Map<string, { table: string; keys: (string | number)[]; heldSince: number }>();
  for (const r of rows) {
    const k = `${r.table}\u0000${r.heldSince}`;
    const sel = selections.get(k) ?? { table: r.table, keys: [], heldSince: r.heldSince };
    sel.keys.push(r.key);
    selections.set(k, sel);
  }
  const hashed = description.tables.some((t) => declared.includes(t.name) && t.fields.some((f) => f.strategy === 'hash'));
  let report: EraseReport;
  try {
    const hashKey = hashed ? await rightsSecret(ctx, RIGHTS_SECRETS.erasureHash) : undefined;
    report = await connector.eraseRows([...selections.values()], {
      dryRun: !input.write,
      heldRows: true,
      requestId: `retention:${input.sweepId ?? 'dry-run'}:held`,
      ...(hashKey !== undefined ? { hashKey } : {}),
    });
  } catch (err) {
    const table = err !== null && typeof err === 'object' && 'table' in err && typeof err.table === 'string' ? err.table : undefined;
    const e = errorOf(table !== undefined ? `dataset:${id}/${table}` : `dataset:${id}`, err, [...new Set(rows.map((r) => r.subjectId))]);
    errors.push(e);
    input.onError?.(err, e.where);
    return { held: { ...held, remaining: due }, failed: true };
  }
  sums.add(report);

  const stillHeld = new Map<string, string>();
  for (const t of report.tables) for (const h of t.heldRows ?? []) stillHeld.set(`${t.table}\u0000${JSON.stringify(h.key)}`, h.until);
  const found = new Map(report.tables.map((t) => [t.table, t.rows]));
  const perTable = new Map<string, HeldRowsTableSweep & { asked: number }>();
  const finished: HeldRowEntry[] = [];
  const kept: (HeldRowEntry & { until: string })[] = [];
  for (const r of rows) {
    const t = perTable.get(r.table) ?? { table: r.table, removed: 0, missing: 0, kept: 0, asked: 0 };
    t.asked++;
    const until = stillHeld.get(`${r.table}\u0000${JSON.stringify(r.key)}`);
    if (until !== undefined) {
      t.kept++;
      kept.push({ ...r, until });
    } else {
      t.removed++;
      finished.push(r);
    }
    perTable.set(r.table, t);
  }
  for (const t of perTable.values()) t.missing = Math.max(0, t.asked - (found.get(t.table) ?? 0));
  held.tables = [...perTable.values()].map(({ asked: _asked, ...t }) => t);
  held.removed = finished.length;
  held.kept = kept.length;
  held.missing = held.tables.reduce((n, t) => n + t.missing, 0);
  if (!input.write) return { held, failed: false };

  await withTransaction(ctx.db, async (trx) => {
    await removeHeldRows(trx, appId, id, finished);
    for (const r of kept) await extendHeldRow(trx, appId, id, { table: r.table, ref: r.ref, until: r.until }, now);
    const bySubject = new Map<string, Map<string, { removed: number; kept: number }>>();
    for (const [list, what] of [
      [finished, 'removed'],
      [kept, 'kept'],
    ] as const) {
      for (const r of list) {
        const tables = bySubject.get(r.subjectId) ?? new Map<string, { removed: number; kept: number }>();
        const c = tables.get(r.table) ?? { removed: 0, kept: 0 };
        c[what]++;
        tables.set(r.table, c);
        bySubject.set(r.subjectId, tables);
      }
    }
    for (const [subject, tables] of bySubject) {
      const categories = new Set<string>();
      for (const name of tables.keys())
        for (const f of description.tables.find((d) => d.name === name)?.fields ?? []) categories.add(f.category);
      await ctx.audit.append(trx, {
        actor: input.actor,
        action: 'retention.held-rows',
        appId,
        subject,
        categories: [...categories],
        requestId: input.requestId,
        details: {
          sweep: input.sweepId,
          dataset: id,
          tables: [...tables].map(([table, c]) => ({ table, removed: c.removed, kept: c.kept })),
        },
      });
    }
  });
  return { held, failed: false };
}

/** Read through a call so that TypeScript does not keep an earlier narrowing across awaits. */
function aborted(signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true;
}

export async function sweepDatasets(ctx: ServiceContext, input: DatasetSweepInput, deps: RetentionDeps): Promise<DatasetsResult> {
  const factory = deps.connectors ?? defaultConnectorFactory(deps.env ?? process.env);
  const datasets: DatasetSweep[] = [];
  const errors: RetentionError[] = [];
  let stopped = false;
  const { appId, now } = input;

  for (const dataset of input.declaration.datasets ?? []) {
    if (dataset.engine === 'vault') continue;
    if (aborted(input.signal)) {
      stopped = true;
      break;
    }
    const where = `dataset:${dataset.id}`;
    let connector: Connector;
    try {
      connector = factory(appId, dataset, { now: () => new Date(now) });
    } catch (err) {
      errors.push(errorOf(where, err));
      input.onError?.(err, where);
      continue;
    }
    try {
      const description = connector.describe();
      const { swept, limits } = datasetLimits(description, input.model);
      const entry: DatasetSweep = {
        dataset: dataset.id,
        engine: dataset.engine,
        swept,
        subjects: 0,
        remaining: 0,
        tables: [],
        limits,
        held: noHeld(),
      };
      datasets.push(entry);
      const sums = new TableSums();
      const manifest = await sweepHeldRows(ctx, input, connector, description, sums, errors);
      entry.held = manifest.held;
      entry.tables = sums.result();
      if (manifest.failed || swept.length === 0) continue;
      if (aborted(input.signal)) {
        stopped = true;
        break;
      }
      const fp = fingerprint(dataset);
      const due = ctx.db
        .selectFrom('subjects as s')
        .leftJoin('retention_dataset_checks as c', (j) =>
          j.onRef('c.subject_id', '=', 's.id').on('c.app_id', '=', appId).on('c.dataset', '=', dataset.id),
        )
        .where('s.app_id', '=', appId)
        .where('s.status', '=', 'erased')
        .where((eb) =>
          eb.or([
            eb('c.subject_id', 'is', null),
            eb('c.fingerprint', '<>', fp),
            eb.and([eb('c.state', '=', 'held'), eb('c.next_at', '<=', now)]),
          ]),
        )
        .where((eb) =>
          eb.not(
            eb.exists(
              eb
                .selectFrom('rights_requests as r')
                .select(sql`1`.as('one'))
                .whereRef('r.subject_id', '=', 's.id')
                .where('r.app_id', '=', appId)
                .where('r.closed_at', 'is', null),
            ),
          ),
        );
      const total = Number((await due.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirst())?.n ?? 0);
      const ids = (await due.select('s.id').orderBy('s.erased_at').orderBy('s.id').limit(input.maxSubjects).execute()).map((r) => r.id);
      let asked = 0;
      for (const subjectId of ids) {
        if (aborted(input.signal)) {
          stopped = true;
          break;
        }
        let report: EraseReport;
        try {
          report = await connector.erase(
            { 'subject-id': subjectId },
            {
              dryRun: !input.write,
              requestId: `retention:${input.sweepId ?? 'dry-run'}:${subjectId}`,
            },
          );
        } catch (err) {
          // The same failure would repeat for every subject (credentials, schema, a dataset that is down): stop here.
          const e = errorOf(
            err !== null && typeof err === 'object' && 'table' in err && typeof err.table === 'string' ? `${where}/${err.table}` : where,
            err,
            [subjectId],
          );
          errors.push(e);
          input.onError?.(err, e.where);
          break;
        }
        asked++;
        sums.add(report);
        if (!input.write) continue;
        const until = firstUntil(report);
        const found = report.tables.filter((t) => t.rows > 0);
        await withTransaction(ctx.db, async (trx) => {
          const values = {
            state: until === undefined ? 'done' : 'held',
            next_at: until === undefined ? null : Date.parse(`${until}T00:00:00Z`),
            held_until: until ?? null,
            fingerprint: fp,
            checked_at: now,
          };
          await trx
            .insertInto('retention_dataset_checks')
            .values({ app_id: appId, dataset: dataset.id, subject_id: subjectId, ...values })
            .onConflict((oc) => oc.columns(['app_id', 'dataset', 'subject_id']).doUpdateSet(values))
            .execute();
          if (found.length > 0) {
            const categories = new Set<string>();
            for (const t of found) {
              const decl = description.tables.find((d) => d.name === t.table);
              for (const f of decl?.fields ?? []) categories.add(f.category);
            }
            const event: AuditEventInput = {
              actor: input.actor,
              action: 'retention.dataset',
              appId,
              subject: subjectId,
              categories: [...categories],
              requestId: input.requestId,
              details: {
                sweep: input.sweepId,
                dataset: dataset.id,
                tables: found.map((t) => ({
                  table: t.table,
                  rows: t.rows,
                  actions: t.actions.map((a) => ({ strategy: a.strategy, columns: [...a.columns], rows: a.rows })),
                })),
                heldUntil: until ?? null,
              },
            };
            await ctx.audit.append(trx, event);
          }
        });
      }
      entry.subjects = asked;
      entry.remaining = Math.max(0, total - asked);
      entry.tables = sums.result();
    } catch (err) {
      errors.push(errorOf(where, err));
      input.onError?.(err, where);
    } finally {
      await connector.close().catch(() => undefined);
    }
  }
  return { datasets, errors, aborted: stopped };
}
