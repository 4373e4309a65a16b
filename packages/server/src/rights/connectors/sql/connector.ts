/**
 * The connector over an SQL database (PostgreSQL, MySQL/MariaDB, SQLite), written once against
 * `SqlDriver`. Every operation is one transaction; it first checks that every declared table and
 * column exists with a usable type (`schema_mismatch` before anything is touched), then:
 *
 * - locate / collect: a read-only snapshot; rows found by the subject column or the join path
 *   (`col IN (SELECT references FROM via WHERE …)`, nested along the path).
 * - correct / erase: phase 1 reads the subject's rows of every table (primary key and the values the
 *   strategies need, rows locked) and computes every new value; phase 2 writes by primary key, the
 *   deepest tables of the join graph first, so children go before the rows they reference. A
 *   strategy that cannot apply fails in phase 1, before any write; a write the database refuses rolls
 *   the whole dataset back. A dry run does phase 1 in a read-only transaction that is rolled back.
 */
import { didYouMean } from '@pipa/policy';
import { ConnectorError, type ConnectorProblem, connectorError, isConnectorError, q } from '../errors.js';
import { type DatasetPlan, declaredColumns, describePlan, type RowVariant, type TablePlan } from '../plan.js';
import { checkSelections, rowKey } from '../rows.js';
import { resolveSubject, type SubjectCandidates } from '../subject.js';
import type {
  Change,
  CheckResult,
  CollectedRowsTable,
  CollectedTable,
  CollectResult,
  CollectRowsResult,
  Connector,
  CorrectResult,
  DatasetDescription,
  EraseAction,
  EraseOptions,
  EraseReport,
  HeldRow,
  LocateResult,
  RowKey,
  RowSelection,
  SubjectKeys,
} from '../types.js';
import {
  addPeriod,
  CellError,
  type ColumnInfo,
  generaliseAccepts,
  generaliseCell,
  HASH_LENGTH,
  hashCell,
  maskCell,
  parseDateValue,
  toCell,
  ymd,
} from '../values.js';
import { Sql, type SqlDriver, type SqlParam, type SqlRow, type SqlSession, type TransactionMode } from './sql.js';

/** Parameters per `IN (…)` list: below every engine's limit (SQLite 32 766, PostgreSQL and MySQL 65 535). */
const CHUNK = 500;

type Columns = ReadonlyMap<string, ReadonlyMap<string, ColumnInfo>>;

interface LocatedRow {
  key: SqlParam;
  values: ReadonlyMap<string, unknown>;
}

export interface SqlConnectorDeps {
  plan: DatasetPlan;
  /** Open the engine's pool (reads the environment variable). Called on first use, again after a failure. */
  openDriver: () => Promise<SqlDriver>;
  now: () => Date;
}

function toParam(v: unknown): SqlParam {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v;
  if (typeof v === 'bigint') return v.toString();
  if (v instanceof Uint8Array) return v;
  if (v instanceof Date) return v.toISOString();
  return String(v);
}

function chunks<T>(list: readonly T[], size = CHUNK): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < list.length; i += size) out.push(list.slice(i, i + size));
  return out;
}

export function createSqlConnector(deps: SqlConnectorDeps): Connector {
  const { plan } = deps;
  const dataset = plan.id;
  let driverPromise: Promise<SqlDriver> | undefined;
  let closed = false;

  const driver = (): Promise<SqlDriver> => {
    if (closed) return Promise.reject(connectorError('closed', { dataset }));
    if (driverPromise === undefined) {
      const p = deps.openDriver();
      driverPromise = p;
      p.catch(() => {
        if (driverPromise === p) driverPromise = undefined;
      });
    }
    return driverPromise;
  };

  /** A driver error raised by a statement on `table`, as a ConnectorError without any value or driver message. */
  const wrap = (d: SqlDriver, err: unknown, ctx: { operation: string; table?: string; columns?: readonly string[] }): ConnectorError => {
    if (isConnectorError(err)) return err;
    const c = d.classify(err);
    const extra =
      ctx.columns !== undefined && ctx.columns.length > 0
        ? { en: `columns ${ctx.columns.map(q).join(', ')}`, zh: `列 ${ctx.columns.map(q).join('、')}` }
        : undefined;
    return connectorError(
      c.code,
      {
        dataset,
        operation: ctx.operation,
        ...(ctx.table !== undefined ? { table: ctx.table } : {}),
        ...(c.driverCode !== undefined ? { driverCode: c.driverCode } : {}),
      },
      extra,
    );
  };

  async function tx<T>(operation: string, mode: TransactionMode, fn: (s: SqlSession, d: SqlDriver) => Promise<T>): Promise<T> {
    const d = await driver();
    try {
      return await d.transaction(mode, (s) => fn(s, d));
    } catch (err) {
      throw wrap(d, err, { operation });
    }
  }

  async function stmt<T>(d: SqlDriver, op: string, table: string, columns: readonly string[], run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (err) {
      throw wrap(d, err, { operation: op, table, columns });
    }
  }

  function lookup(s: SqlSession, cols: ReadonlyMap<string, ColumnInfo>, name: string): ColumnInfo | undefined {
    const exact = cols.get(name);
    if (exact !== undefined || s.dialect.engine !== 'mysql') return exact;
    // MySQL column names are case-insensitive.
    const lower = name.toLowerCase();
    for (const c of cols.values()) if (c.name.toLowerCase() === lower) return c;
    return undefined;
  }

  /** Verify every table and column; all problems at once. Returns the tables' columns. */
  async function verify(s: SqlSession, d: SqlDriver, operation: string): Promise<Columns> {
    const problems: ConnectorProblem[] = [];
    const found = new Map<string, ReadonlyMap<string, ColumnInfo>>();
    for (const t of plan.tables) {
      const cols = await stmt(d, operation, t.name, [], () => s.columns(t.name));
      if (cols === undefined) {
        problems.push({
          table: t.name,
          message: `table ${q(t.name)} does not exist`,
          messageZh: `表 ${q(t.name)} 不存在`,
        });
      } else found.set(t.name, cols);
    }
    const missing = (table: string, cols: ReadonlyMap<string, ColumnInfo>, column: string, declaredIn: string): ConnectorProblem => {
      const hint = didYouMean(column, [...cols.keys()]);
      return {
        table,
        column,
        message: `table ${q(table)} has no column ${q(column)} (declared in ${declaredIn})${hint !== undefined ? `; did you mean ${q(hint)}?` : ''}`,
        messageZh: `表 ${q(table)} 没有列 ${q(column)}（在 ${declaredIn} 中声明）${hint !== undefined ? `；是否为 ${q(hint)}？` : ''}`,
      };
    };
    const unusable = (table: string, column: string, en: string, zh: string): ConnectorProblem => ({
      table,
      column,
      message: `table ${q(table)}, column ${q(column)}: ${en}`,
      messageZh: `表 ${q(table)}，列 ${q(column)}：${zh}`,
    });
    for (const t of plan.tables) {
      const cols = found.get(t.name);
      if (cols === undefined) continue;
      let allThere = true;
      for (const [column, declaredIn] of declaredColumns(t)) {
        if (lookup(s, cols, column) === undefined) {
          problems.push(missing(t.name, cols, column, declaredIn));
          allThere = false;
        }
      }
      if (t.subject.kind === 'via') {
        const viaCols = found.get(t.subject.via);
        if (viaCols !== undefined && lookup(s, viaCols, t.subject.references) === undefined) {
          problems.push(missing(t.subject.via, viaCols, t.subject.references, `subject.references of table ${q(t.name)}`));
        }
      }
      if (!allThere) continue;
      const variants: [RowVariant, boolean][] = [[t.free, false]];
      if (t.held) variants.push([t.held, true]);
      const seen = new Set<string>();
      for (const [v] of variants) {
        for (const column of v.nulls) {
          const info = lookup(s, cols, column);
          if (info === undefined || info.nullable || seen.has(`null/${column}`)) continue;
          seen.add(`null/${column}`);
          problems.push(
            unusable(
              t.name,
              column,
              'is NOT NULL, so erasure cannot set it to NULL (set-null, or delete-row on a row under legal hold)',
              '为 NOT NULL，删除时无法置空（set-null，或法定保存中的行的 delete-row）',
            ),
          );
        }
        for (const { column, strategy, category } of v.computed) {
          const info = lookup(s, cols, column);
          if (info === undefined || seen.has(`${strategy}/${column}`)) continue;
          seen.add(`${strategy}/${column}`);
          if ((strategy === 'mask' || strategy === 'hash') && info.kind !== 'text' && info.kind !== 'any') {
            problems.push(
              unusable(
                t.name,
                column,
                `is ${info.type}; ${strategy} needs a text column`,
                `类型为 ${info.type}；${strategy === 'mask' ? '掩码' : '密钥哈希'}需要文本列`,
              ),
            );
          } else if (strategy === 'hash' && info.maxLength !== undefined && info.maxLength < HASH_LENGTH) {
            problems.push(
              unusable(
                t.name,
                column,
                `holds at most ${info.maxLength} characters; a keyed hash has ${HASH_LENGTH}`,
                `最多 ${info.maxLength} 个字符；密钥哈希为 ${HASH_LENGTH} 个字符`,
              ),
            );
          } else if (strategy === 'generalise' && !generaliseAccepts(category, info.kind)) {
            problems.push(
              unusable(
                t.name,
                column,
                `is ${info.type}; generalise applies to text, date and datetime columns, and to numeric columns of category basic.age`,
                `类型为 ${info.type}；概括适用于文本、日期列，以及类别为 basic.age 的数值列`,
              ),
            );
          }
        }
      }
    }
    if (problems.length > 0) {
      const first = problems[0] as ConnectorProblem;
      const more =
        problems.length > 1 ? { en: ` (and ${problems.length - 1} more)`, zh: `（另有 ${problems.length - 1} 处）` } : { en: '', zh: '' };
      throw new ConnectorError(
        'schema_mismatch',
        `dataset ${q(dataset)} does not match the declaration: ${first.message}${more.en}; nothing was changed`,
        `数据集 ${q(dataset)} 与声明不一致：${first.messageZh}${more.zh}；未做任何修改`,
        {
          dataset,
          operation,
          ...(first.table !== undefined ? { table: first.table } : {}),
          ...(first.column !== undefined ? { column: first.column } : {}),
          problems,
        },
      );
    }
    return found;
  }

  /**
   * Append `<alias>.<col> IN (…)` selecting the subject's rows of `t`, nesting along the join path.
   * A numeric identifying column is matched only on the values that are numbers.
   */
  function predicate(s: SqlSession, sql: Sql, t: TablePlan, alias: string, subject: SubjectCandidates, cols: Columns, level = 0): void {
    if (t.subject.kind === 'column') {
      const info = lookup(s, cols.get(t.name) ?? new Map(), t.subject.column);
      const numeric = info?.kind === 'integer' || info?.kind === 'decimal';
      const values = subject.valuesFor(t).filter((v) => !numeric || /^-?\d+(?:\.\d+)?$/.test(v));
      if (values.length === 0) sql.raw('1 = 0');
      else sql.column(t.subject.column, alias).raw(' IN ').list(values);
      return;
    }
    const via = t.via;
    if (via === undefined) throw new Error(`unreachable: table ${t.name} has no via plan`);
    const inner = `j${level + 1}`;
    sql
      .column(t.subject.column, alias)
      .raw(' IN (SELECT ')
      .column(t.subject.references, inner)
      .raw(' FROM ')
      .table(via.name, inner)
      .raw(' WHERE ');
    predicate(s, sql, via, inner, subject, cols, level + 1);
    sql.raw(')');
  }

  const MAIN = 'j0';

  const unreachedOf = (keys: SubjectCandidates) => (keys.unreached.length > 0 ? { unreached: keys.unreached } : {});

  async function selectRows(
    s: SqlSession,
    d: SqlDriver,
    op: string,
    t: TablePlan,
    subject: SubjectCandidates,
    cols: Columns,
    columns: readonly string[],
    lock: boolean,
  ): Promise<LocatedRow[]> {
    const sql = new Sql(s.dialect).raw('SELECT ').column(t.primaryKey, MAIN).raw(' AS ').column('k');
    columns.forEach((c, i) => {
      sql.raw(', ').column(c, MAIN).raw(' AS ').column(`v${i}`);
    });
    sql.raw(' FROM ').table(t.name, MAIN).raw(' WHERE ');
    predicate(s, sql, t, MAIN, subject, cols);
    sql.raw(' ORDER BY ').column(t.primaryKey, MAIN);
    if (lock && s.dialect.rowLocks) sql.raw(' FOR UPDATE');
    const rows = await stmt(d, op, t.name, [], () => s.query(sql));
    return rows.map((r: SqlRow) => ({ key: toParam(r.k), values: new Map(columns.map((c, i) => [c, r[`v${i}`]])) }));
  }

  const ready = (op: string, subject: SubjectKeys): SubjectCandidates => {
    if (closed) throw connectorError('closed', { dataset, operation: op });
    return resolveSubject(plan, subject, op);
  };

  // ------------------------------------------------------------------ operations

  async function check(): Promise<CheckResult> {
    return tx('check', 'read', async (s, d) => {
      const cols = await verify(s, d, 'check');
      return {
        dataset,
        engine: plan.engine,
        tables: plan.tables.map((t) => ({ table: t.name, columns: [...(cols.get(t.name)?.keys() ?? [])] })),
      };
    });
  }

  async function locate(subject: SubjectKeys): Promise<LocateResult> {
    const keys = ready('locate', subject);
    return tx('locate', 'read', async (s, d) => {
      const cols = await verify(s, d, 'locate');
      const tables: { table: string; rows: number }[] = [];
      for (const t of plan.tables) {
        if (!keys.reachable(t)) continue;
        const sql = new Sql(s.dialect).raw('SELECT COUNT(*) AS ').column('n').raw(' FROM ').table(t.name, MAIN).raw(' WHERE ');
        predicate(s, sql, t, MAIN, keys, cols);
        const rows = await stmt(d, 'locate', t.name, [], () => s.query(sql));
        tables.push({ table: t.name, rows: Number(rows[0]?.n ?? 0) });
      }
      return { dataset, ...unreachedOf(keys), found: tables.some((t) => t.rows > 0), tables };
    });
  }

  async function collect(subject: SubjectKeys): Promise<CollectResult> {
    const keys = ready('collect', subject);
    return tx('collect', 'read', async (s, d) => {
      const cols = await verify(s, d, 'collect');
      const tables: CollectedTable[] = [];
      for (const t of plan.tables) {
        if (!keys.reachable(t)) continue;
        const columns = t.fields.map(([c]) => c);
        const rows = await selectRows(s, d, 'collect', t, keys, cols, columns, false);
        tables.push({
          table: t.name,
          categories: Object.fromEntries(t.fields),
          rows: rows.map((r) => Object.fromEntries(columns.map((c) => [c, toCell(r.values.get(c))]))),
        });
      }
      return { dataset, ...unreachedOf(keys), tables };
    });
  }

  function validateChanges(changes: readonly Change[]): Map<TablePlan, Change[]> {
    const invalid = (en: string, zh: string, extra: { table?: string; column?: string } = {}) =>
      new ConnectorError('invalid_argument', `dataset ${q(dataset)}: ${en}`, `数据集 ${q(dataset)}：${zh}`, {
        dataset,
        operation: 'correct',
        ...extra,
      });
    if (!Array.isArray(changes) || changes.length === 0) throw invalid('correct needs at least one change', '更正至少需要一项修改');
    const byTable = new Map<TablePlan, Change[]>();
    const seen = new Set<string>();
    for (const ch of changes) {
      if (typeof ch !== 'object' || ch === null || typeof ch.table !== 'string' || typeof ch.column !== 'string')
        throw invalid('each change needs a table and a column', '每项修改都需要表和列');
      const t = plan.byName.get(ch.table);
      if (t === undefined) {
        const hint = didYouMean(ch.table, [...plan.byName.keys()]);
        throw new ConnectorError(
          'not_writable',
          `dataset ${q(dataset)}: table ${q(ch.table)} is not declared${hint !== undefined ? `; did you mean ${q(hint)}?` : ''}`,
          `数据集 ${q(dataset)}：表 ${q(ch.table)} 未声明${hint !== undefined ? `；是否为 ${q(hint)}？` : ''}`,
          { dataset, operation: 'correct', table: ch.table },
        );
      }
      if (!t.writable.has(ch.column)) {
        const list = [...t.writable];
        throw new ConnectorError(
          'not_writable',
          `dataset ${q(dataset)}, table ${q(t.name)}: column ${q(ch.column)} is not declared writable (writable: ${list.length > 0 ? list.join(', ') : 'none'}); nothing was changed`,
          `数据集 ${q(dataset)}，表 ${q(t.name)}：列 ${q(ch.column)} 未声明为可修改（可修改：${list.length > 0 ? list.join('、') : '无'}）；未做任何修改`,
          { dataset, operation: 'correct', table: t.name, column: ch.column },
        );
      }
      const v: unknown = ch.value;
      if (!(v === null || typeof v === 'string' || (typeof v === 'number' && Number.isFinite(v))))
        throw invalid(
          `the new value of ${q(t.name)}.${q(ch.column)} must be text, a finite number or null`,
          `${q(t.name)}.${q(ch.column)} 的新值必须是文本、有限数值或 null`,
          {
            table: t.name,
            column: ch.column,
          },
        );
      const id = `${t.name}\u0000${ch.column}`;
      if (seen.has(id))
        throw invalid(`${q(t.name)}.${q(ch.column)} is changed twice`, `${q(t.name)}.${q(ch.column)} 被修改了两次`, {
          table: t.name,
          column: ch.column,
        });
      seen.add(id);
      byTable.set(t, [...(byTable.get(t) ?? []), ch]);
    }
    return byTable;
  }

  async function correct(subject: SubjectKeys, changes: readonly Change[]): Promise<CorrectResult> {
    const keys = ready('correct', subject);
    const byTable = validateChanges(changes);
    for (const t of byTable.keys()) {
      if (!keys.reachable(t))
        throw new ConnectorError(
          'subject_key_missing',
          `dataset ${q(dataset)}, table ${q(t.name)}: the subject keys given do not reach this table (it needs ${t.subject.key}); nothing was changed`,
          `数据集 ${q(dataset)}，表 ${q(t.name)}：所给主体标识无法定位该表（需要 ${t.subject.key}）；未做任何修改`,
          { dataset, operation: 'correct', table: t.name },
        );
    }
    return tx('correct', 'write', async (s, d) => {
      const cols = await verify(s, d, 'correct');
      for (const [t, list] of byTable) {
        for (const ch of list) {
          const info = lookup(s, cols.get(t.name) ?? new Map(), ch.column);
          if (ch.value === null && info !== undefined && !info.nullable)
            throw new ConnectorError(
              'invalid_argument',
              `dataset ${q(dataset)}, table ${q(t.name)}: column ${q(ch.column)} is NOT NULL and cannot be corrected to null; nothing was changed`,
              `数据集 ${q(dataset)}，表 ${q(t.name)}：列 ${q(ch.column)} 为 NOT NULL，不能更正为空；未做任何修改`,
              { dataset, operation: 'correct', table: t.name, column: ch.column },
            );
        }
      }
      // Phase 1: the rows of every table to change, found before any write (a change to the
      // identifying column must not hide the rows of the tables joined through it).
      const located = new Map<TablePlan, LocatedRow[]>();
      for (const t of plan.writeOrder) if (byTable.has(t)) located.set(t, await selectRows(s, d, 'correct', t, keys, cols, [], true));
      const report: { table: string; columns: string[]; rows: number }[] = [];
      for (const t of plan.writeOrder) {
        const list = byTable.get(t);
        const rows = located.get(t);
        if (list === undefined || rows === undefined) continue;
        const columns = list.map((c) => c.column);
        for (const part of chunks(rows)) {
          const sql = new Sql(s.dialect).raw('UPDATE ').table(t.name).raw(' SET ');
          list.forEach((ch, i) => {
            if (i > 0) sql.raw(', ');
            sql.column(ch.column).raw(' = ').value(ch.value);
          });
          sql
            .raw(' WHERE ')
            .column(t.primaryKey)
            .raw(' IN ')
            .list(part.map((r) => r.key));
          await stmt(d, 'correct', t.name, columns, () => s.run(sql));
        }
        report.push({ table: t.name, columns, rows: rows.length });
      }
      const order = new Map(plan.tables.map((t, i) => [t.name, i]));
      report.sort((a, b) => (order.get(a.table) ?? 0) - (order.get(b.table) ?? 0));
      return { dataset, tables: report };
    });
  }

  function needHashKey(operation: string, hashKey: EraseOptions['hashKey'], usesHash: boolean): void {
    if (usesHash && (hashKey === undefined || hashKey.length === 0)) {
      throw new ConnectorError(
        'invalid_argument',
        `dataset ${q(dataset)}: a column is erased by keyed hash, so ${operation} needs hashKey`,
        `数据集 ${q(dataset)}：有列按密钥哈希删除，${operation} 需要 hashKey`,
        { dataset, operation },
      );
    }
  }

  /** Where phase 1 of an erasure finds the rows of one table. */
  interface EraseSource {
    t: TablePlan;
    /** The period of a hold without a `from` column runs from here. */
    since: Date;
    read: (columns: readonly string[]) => Promise<LocatedRow[]>;
  }

  /**
   * The two phases of an erasure. `expire` (eraseRows): a row still held is left as it is (reported as
   * held), a row whose hold ended gets the table's `expired` variant. Otherwise (erase): a held row gets
   * the `held` variant, any other row the `free` one.
   */
  async function runErase(
    operation: 'erase' | 'erase-rows',
    options: EraseOptions,
    expire: boolean,
    sourcesOf: (s: SqlSession, d: SqlDriver, cols: Columns) => EraseSource[],
    extra: { unreached?: SubjectCandidates['unreached'] },
    usesHash: boolean,
  ): Promise<EraseReport> {
    const dryRun = options.dryRun === true;
    const hashKey = options.hashKey;
    const wantHeld = options.heldRows === true;
    needHashKey(operation, hashKey, usesHash);
    const now = deps.now();
    const nowDay = ymd(now);
    return tx(operation, dryRun ? 'dry' : 'write', async (s, d) => {
      const cols = await verify(s, d, operation);

      interface Planned {
        t: TablePlan;
        deletes: SqlParam[];
        nullOnly: Map<string, { nulls: readonly string[]; keys: SqlParam[] }>;
        perRow: { key: SqlParam; set: [string, SqlParam][] }[];
        actions: Map<string, EraseAction & { rows: number }>;
        rows: number;
        held: HeldRow[];
      }
      const planned = new Map<TablePlan, Planned>();

      // Phase 1: read and compute everything; nothing is written yet.
      for (const { t, since, read } of sourcesOf(s, d, cols)) {
        const need = new Set<string>();
        for (const v of [t.free, t.held, t.expired]) for (const c of v?.computed ?? []) need.add(c.column);
        if (t.hold?.from !== undefined) need.add(t.hold.from);
        const columns = [...need];
        const rows = await read(columns);
        let p = planned.get(t);
        if (p === undefined) {
          p = { t, deletes: [], nullOnly: new Map(), perRow: [], actions: new Map(), rows: 0, held: [] };
          planned.set(t, p);
        }
        p.rows += rows.length;
        const tableCols = cols.get(t.name) ?? new Map<string, ColumnInfo>();
        const stillHeld: RowVariant | undefined = t.held
          ? { deleteRow: false, nulls: [], computed: [], actions: t.held.actions.filter((a) => a.strategy === 'legal-hold') }
          : undefined;
        for (const row of rows) {
          let variant = expire ? (t.expired ?? t.free) : t.free;
          let until: string | undefined;
          if (t.hold && t.held) {
            const start = t.hold.from !== undefined ? (parseDateValue(row.values.get(t.hold.from)) ?? since) : since;
            const end = addPeriod(start, t.hold.period);
            if (ymd(end) > nowDay) {
              variant = expire ? (stillHeld ?? t.held) : t.held;
              until = ymd(end);
            }
          }
          if (wantHeld && until !== undefined) p.held.push({ key: rowKey(row.key), until });
          for (const a of variant.actions) {
            const id = `${a.strategy}/${a.reason ?? ''}/${a.columns.join(',')}`;
            const entry = p.actions.get(id) ?? {
              strategy: a.strategy,
              columns: a.columns,
              rows: 0,
              ...(a.reason !== undefined ? { reason: a.reason } : {}),
            };
            entry.rows++;
            if (a.strategy === 'legal-hold' && t.hold && until !== undefined) {
              const prev = entry.legalHold;
              entry.legalHold = {
                basis: t.hold.basis,
                period: t.hold.periodText,
                firstUntil: prev === undefined || until < prev.firstUntil ? until : prev.firstUntil,
                until: prev === undefined || until > prev.until ? until : prev.until,
              };
            }
            p.actions.set(id, entry);
          }
          if (variant.deleteRow) {
            p.deletes.push(row.key);
            continue;
          }
          const set: [string, SqlParam][] = [];
          for (const { column, strategy, category } of variant.computed) {
            const old = toCell(row.values.get(column));
            const kind = lookup(s, tableCols, column)?.kind ?? 'any';
            let next: SqlParam;
            try {
              next =
                strategy === 'mask'
                  ? maskCell(category, old)
                  : strategy === 'hash'
                    ? hashCell(category, old, hashKey ?? '')
                    : generaliseCell(category, old, kind);
            } catch (err) {
              if (!(err instanceof CellError)) throw err;
              throw new ConnectorError(
                'schema_mismatch',
                `dataset ${q(dataset)}, table ${q(t.name)}, column ${q(column)}: ${err.en}; nothing was changed`,
                `数据集 ${q(dataset)}，表 ${q(t.name)}，列 ${q(column)}：${err.zh}；未做任何修改`,
                { dataset, operation, table: t.name, column },
              );
            }
            if (next !== old) set.push([column, next]);
          }
          if (set.length > 0) {
            p.perRow.push({ key: row.key, set: [...variant.nulls.map((c): [string, SqlParam] => [c, null]), ...set] });
          } else if (variant.nulls.length > 0) {
            const id = variant.nulls.join(',');
            const g = p.nullOnly.get(id) ?? { nulls: variant.nulls, keys: [] };
            g.keys.push(row.key);
            p.nullOnly.set(id, g);
          }
        }
      }

      // Phase 2: write, deepest join first.
      if (!dryRun) {
        for (const t of plan.writeOrder) {
          const p = planned.get(t);
          if (p === undefined) continue;
          const all = t.fields.map(([c]) => c);
          for (const part of chunks(p.deletes)) {
            const sql = new Sql(s.dialect).raw('DELETE FROM ').table(t.name).raw(' WHERE ').column(t.primaryKey).raw(' IN ').list(part);
            await stmt(d, operation, t.name, all, () => s.run(sql));
          }
          for (const g of p.nullOnly.values()) {
            for (const part of chunks(g.keys)) {
              const sql = new Sql(s.dialect).raw('UPDATE ').table(t.name).raw(' SET ');
              g.nulls.forEach((c, i) => {
                sql
                  .raw(i > 0 ? ', ' : '')
                  .column(c)
                  .raw(' = NULL');
              });
              sql.raw(' WHERE ').column(t.primaryKey).raw(' IN ').list(part);
              await stmt(d, operation, t.name, g.nulls, () => s.run(sql));
            }
          }
          for (const r of p.perRow) {
            const sql = new Sql(s.dialect).raw('UPDATE ').table(t.name).raw(' SET ');
            r.set.forEach(([c, v], i) => {
              sql
                .raw(i > 0 ? ', ' : '')
                .column(c)
                .raw(' = ')
                .value(v);
            });
            sql.raw(' WHERE ').column(t.primaryKey).raw(' = ').value(r.key);
            await stmt(
              d,
              operation,
              t.name,
              r.set.map(([c]) => c),
              () => s.run(sql),
            );
          }
        }
      }

      const order: EraseAction['strategy'][] = ['delete-row', 'legal-hold', 'set-null', 'mask', 'hash', 'generalise', 'keep'];
      return {
        dataset,
        ...extra,
        dryRun,
        at: now.toISOString(),
        tables: [...planned.values()].map((p) => ({
          table: p.t.name,
          rows: p.rows,
          actions: [...p.actions.values()].sort(
            (a, b) =>
              order.indexOf(a.strategy) - order.indexOf(b.strategy) || (a.reason ?? '').localeCompare(b.reason ?? '') || b.rows - a.rows,
          ),
          ...(wantHeld ? { heldRows: p.held } : {}),
        })),
      };
    });
  }

  async function erase(subject: SubjectKeys, options: EraseOptions = {}): Promise<EraseReport> {
    const keys = ready('erase', subject);
    const since = deps.now();
    return runErase(
      'erase',
      options,
      false,
      (s, d, cols) =>
        plan.tables
          .filter((t) => keys.reachable(t))
          .map((t) => ({ t, since, read: (columns) => selectRows(s, d, 'erase', t, keys, cols, columns, options.dryRun !== true) })),
      unreachedOf(keys),
      plan.usesHash,
    );
  }

  // ------------------------------------------------------------------ rows by primary key

  /** The rows of `t` with these primary keys (chunked), `columns` read as `v0…`. */
  async function selectByKeys(
    s: SqlSession,
    d: SqlDriver,
    op: string,
    t: TablePlan,
    keys: readonly RowKey[],
    columns: readonly string[],
    lock: boolean,
  ): Promise<LocatedRow[]> {
    const out: LocatedRow[] = [];
    for (const part of chunks(keys)) {
      const sql = new Sql(s.dialect).raw('SELECT ').column(t.primaryKey, MAIN).raw(' AS ').column('k');
      columns.forEach((c, i) => {
        sql.raw(', ').column(c, MAIN).raw(' AS ').column(`v${i}`);
      });
      sql.raw(' FROM ').table(t.name, MAIN).raw(' WHERE ').column(t.primaryKey, MAIN).raw(' IN ').list(part);
      sql.raw(' ORDER BY ').column(t.primaryKey, MAIN);
      if (lock && s.dialect.rowLocks) sql.raw(' FOR UPDATE');
      const rows = await stmt(d, op, t.name, [], () => s.query(sql));
      for (const r of rows as SqlRow[]) out.push({ key: toParam(r.k), values: new Map(columns.map((c, i) => [c, r[`v${i}`]])) });
    }
    return out;
  }

  async function collectRows(selections: readonly RowSelection[]): Promise<CollectRowsResult> {
    if (closed) throw connectorError('closed', { dataset, operation: 'collect-rows' });
    const groups = checkSelections(plan, selections, 'collect-rows', false);
    return tx('collect-rows', 'read', async (s, d) => {
      await verify(s, d, 'collect-rows');
      const tables: CollectedRowsTable[] = [];
      for (const [t, list] of groups) {
        const columns = t.fields.map(([c]) => c);
        const keys = [...new Set(list.flatMap((x) => x.keys))];
        const rows = keys.length === 0 ? [] : await selectByKeys(s, d, 'collect-rows', t, keys, columns, false);
        tables.push({
          table: t.name,
          categories: Object.fromEntries(t.fields),
          keys: rows.map((r) => rowKey(r.key)),
          rows: rows.map((r) => Object.fromEntries(columns.map((c) => [c, toCell(r.values.get(c))]))),
        });
      }
      return { dataset, tables };
    });
  }

  async function eraseRows(selections: readonly RowSelection[], options: EraseOptions = {}): Promise<EraseReport> {
    if (closed) throw connectorError('closed', { dataset, operation: 'erase-rows' });
    const groups = checkSelections(plan, selections, 'erase-rows', true);
    const now = deps.now();
    return runErase(
      'erase-rows',
      options,
      true,
      (s, d) => {
        const sources: EraseSource[] = [];
        for (const [t, list] of groups) {
          const seen = new Set<string>();
          for (const sel of list) {
            const keys = sel.keys.filter((k) => {
              const id = `${typeof k}:${k}`;
              if (seen.has(id)) return false;
              seen.add(id);
              return true;
            });
            if (keys.length === 0) continue;
            const since = sel.heldSince === undefined ? now : new Date(sel.heldSince);
            sources.push({ t, since, read: (columns) => selectByKeys(s, d, 'erase-rows', t, keys, columns, options.dryRun !== true) });
          }
        }
        return sources;
      },
      {},
      [...groups.keys()].some((t) => t.expired?.computed.some((c) => c.strategy === 'hash') === true),
    );
  }

  return {
    dataset,
    engine: plan.engine,
    describe: (): DatasetDescription => describePlan(plan),
    check,
    locate,
    collect,
    correct,
    erase,
    collectRows,
    eraseRows,
    async close() {
      if (closed) return;
      closed = true;
      const p = driverPromise;
      driverPromise = undefined;
      if (p !== undefined) {
        const d = await p.catch(() => undefined);
        await d?.close();
      }
    },
  };
}
