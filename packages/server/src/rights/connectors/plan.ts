/**
 * A dataset declaration compiled into what the connectors execute: validated identifiers, the join
 * graph (each table's path to the table that holds the subject key, and the order that writes
 * children before the tables they join to), and for each table the erasure actions of a row that is
 * free and of a row under legal hold. Pure: no I/O.
 */
import type { DatasetDecl, DatasetTable, Text } from '@pipa/policy';
import { ConnectorError, q } from './errors.js';
import type { DatasetDescription, StrategyName, SubjectKeyKind, SubjectLocator, TableDescription } from './types.js';
import { type Period, parsePeriod } from './values.js';

const COLUMN_RE = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

export function isColumnName(s: string): boolean {
  return COLUMN_RE.test(s);
}

/** `orders` or `shop.orders` (schema-qualified); each part a plain identifier of at most 63 characters. */
export function isTableName(s: string): boolean {
  const parts = s.split('.');
  return parts.length <= 2 && parts.every(isColumnName);
}

export type ComputedStrategy = 'mask' | 'hash' | 'generalise';

/** What erasure does to one row of a table: the row is free, or under legal hold. */
export interface RowVariant {
  deleteRow: boolean;
  /** Columns set to NULL. */
  nulls: readonly string[];
  /** Columns whose new value is computed from the old one. */
  computed: readonly { column: string; strategy: ComputedStrategy; category: string }[];
  /** The report's actions for such a row (row counts are added per row). */
  actions: readonly { strategy: StrategyName; columns: readonly string[]; reason?: 'row-held' }[];
}

export interface HoldPlan {
  period: Period;
  periodText: string;
  basis: Text;
  /** Columns kept; undefined = the whole row. */
  columns: readonly string[] | undefined;
  from: string | undefined;
}

export interface TablePlan {
  name: string;
  primaryKey: string;
  subject: SubjectLocator;
  /** The table `subject.via` names, resolved. */
  via: TablePlan | undefined;
  /** 0 for a table with the subject column, 1 + via's depth otherwise. */
  depth: number;
  /** Declared columns with their categories, in declaration order. */
  fields: readonly (readonly [string, string])[];
  categoryOf: ReadonlyMap<string, string>;
  /** Each declared column's own strategy (the default applied). */
  strategyOf: ReadonlyMap<string, StrategyName>;
  defaultStrategy: StrategyName;
  writable: ReadonlySet<string>;
  hold: HoldPlan | undefined;
  free: RowVariant;
  held: RowVariant | undefined;
  /**
   * A held row whose hold ended, after the erasure that held it (`eraseRows`): the held columns get
   * their strategy after the hold; the other columns were erased then and are left alone. `delete-row`
   * deletes the row. Undefined without `legalRetention`.
   */
  expired: RowVariant | undefined;
}

export interface DatasetPlan {
  id: string;
  engine: DatasetDecl['engine'];
  connectionEnv: string | undefined;
  secretEnv: string | undefined;
  tables: readonly TablePlan[];
  byName: ReadonlyMap<string, TablePlan>;
  /** Tables in the order writes run: deepest join first, so children go before the rows they reference. */
  writeOrder: readonly TablePlan[];
  categories: readonly string[];
  /** Whether some column may be hashed (then erase needs a hash key). */
  usesHash: boolean;
}

function invalid(dataset: string, en: string, zh: string, table?: string, column?: string): ConnectorError {
  return new ConnectorError(
    'invalid_declaration',
    `dataset ${q(dataset)}${table !== undefined ? `, table ${q(table)}` : ''}: ${en}`,
    `数据集 ${q(dataset)}${table !== undefined ? `，表 ${q(table)}` : ''}：${zh}`,
    { dataset, ...(table !== undefined ? { table } : {}), ...(column !== undefined ? { column } : {}) },
  );
}

const ACTION_ORDER: readonly StrategyName[] = ['delete-row', 'legal-hold', 'set-null', 'mask', 'hash', 'generalise', 'keep'];

function groupActions(
  columns: readonly string[],
  strategyOf: (c: string) => { strategy: StrategyName; reason?: 'row-held' },
): RowVariant['actions'] {
  const groups = new Map<string, { strategy: StrategyName; columns: string[]; reason?: 'row-held' }>();
  for (const c of columns) {
    const { strategy, reason } = strategyOf(c);
    const key = `${strategy}/${reason ?? ''}`;
    const g = groups.get(key) ?? { strategy, columns: [], ...(reason !== undefined ? { reason } : {}) };
    g.columns.push(c);
    groups.set(key, g);
  }
  return [...groups.values()].sort(
    (a, b) => ACTION_ORDER.indexOf(a.strategy) - ACTION_ORDER.indexOf(b.strategy) || (a.reason ?? '').localeCompare(b.reason ?? ''),
  );
}

function variantFrom(
  fields: readonly (readonly [string, string])[],
  effective: (c: string) => { strategy: StrategyName; reason?: 'row-held' },
  held: readonly string[],
): RowVariant {
  const columns = fields.map(([c]) => c);
  const rest = columns.filter((c) => !held.includes(c));
  if (held.length === 0 && rest.some((c) => effective(c).strategy === 'delete-row')) {
    return { deleteRow: true, nulls: [], computed: [], actions: [{ strategy: 'delete-row', columns }] };
  }
  const nulls: string[] = [];
  const computed: { column: string; strategy: ComputedStrategy; category: string }[] = [];
  const category = new Map(fields);
  for (const c of rest) {
    const s = effective(c).strategy;
    if (s === 'set-null') nulls.push(c);
    else if (s === 'mask' || s === 'hash' || s === 'generalise') computed.push({ column: c, strategy: s, category: category.get(c) ?? '' });
  }
  const actions = [...(held.length > 0 ? [{ strategy: 'legal-hold' as const, columns: held }] : []), ...groupActions(rest, effective)];
  return { deleteRow: false, nulls, computed, actions };
}

function planTable(
  dataset: string,
  t: DatasetTable,
): Omit<TablePlan, 'subject' | 'via' | 'depth'> & { rawSubject: DatasetTable['subject'] } {
  if (!isTableName(t.name))
    throw invalid(
      dataset,
      'the table name is not a plain identifier (letters, digits, _; schema.table)',
      '表名不是合法标识符（字母、数字、下划线；可写 schema.table）',
      t.name,
    );
  const check = (c: string, where: string) => {
    if (!isColumnName(c))
      throw invalid(
        dataset,
        `column ${q(c)} in ${where} is not a plain identifier (letters, digits, _, at most 63)`,
        `${where} 中的列 ${q(c)} 不是合法标识符（字母、数字、下划线，最多 63 个字符）`,
        t.name,
        c,
      );
  };
  check(t.primaryKey, 'primaryKey');
  check(t.subject.column, 'subject');
  if ('references' in t.subject) check(t.subject.references, 'subject.references');
  const fields = Object.entries(t.fields);
  for (const [c] of fields) check(c, 'fields');
  const categoryOf = new Map(fields);
  const notField = (c: string, where: string, whereZh: string) =>
    invalid(dataset, `${where} names column ${q(c)}, which is not in fields`, `${whereZh}中的列 ${q(c)} 不在 fields 中`, t.name, c);
  for (const c of Object.keys(t.erasure.columns ?? {})) if (!categoryOf.has(c)) throw notField(c, 'erasure.columns', 'erasure.columns ');
  for (const c of t.writable ?? []) if (!categoryOf.has(c)) throw notField(c, 'writable', 'writable ');
  const defaultStrategy = t.erasure.default;
  const strategyOf = new Map<string, StrategyName>(fields.map(([c]) => [c, t.erasure.columns?.[c] ?? defaultStrategy]));

  let hold: HoldPlan | undefined;
  if (t.legalRetention) {
    const period = parsePeriod(t.legalRetention.period);
    if (!period)
      throw invalid(dataset, 'legalRetention.period is not an ISO 8601 period', 'legalRetention.period 不是 ISO 8601 期间', t.name);
    for (const c of t.legalRetention.columns ?? []) check(c, 'legalRetention.columns');
    if (t.legalRetention.from !== undefined) check(t.legalRetention.from, 'legalRetention.from');
    hold = {
      period,
      periodText: t.legalRetention.period,
      basis: t.legalRetention.basis,
      columns: t.legalRetention.columns,
      from: t.legalRetention.from,
    };
  }
  const usesHold = [...strategyOf.values()].includes('legal-hold') || defaultStrategy === 'legal-hold';
  if (usesHold && !hold)
    throw invalid(
      dataset,
      'the legal-hold strategy needs legalRetention (period and legal basis)',
      'legal-hold 策略需要 legalRetention（保存期限与法律依据）',
      t.name,
    );

  const afterHold: StrategyName = defaultStrategy === 'legal-hold' ? 'delete-row' : defaultStrategy;
  const free = variantFrom(
    fields,
    (c) => {
      const s = strategyOf.get(c) ?? defaultStrategy;
      return { strategy: s === 'legal-hold' ? afterHold : s };
    },
    [],
  );
  let held: RowVariant | undefined;
  let expired: RowVariant | undefined;
  if (hold) {
    const afterHoldOf = (c: string) => {
      const s = strategyOf.get(c) ?? defaultStrategy;
      return { strategy: s === 'legal-hold' ? afterHold : s };
    };
    if (free.deleteRow) expired = free;
    else {
      const kept =
        hold.columns === undefined
          ? new Set(fields.map(([c]) => c))
          : new Set([...hold.columns, ...fields.filter(([c]) => strategyOf.get(c) === 'legal-hold').map(([c]) => c)]);
      const columns = fields.map(([c]) => c).filter((c) => kept.has(c));
      expired = {
        deleteRow: false,
        nulls: free.nulls.filter((c) => kept.has(c)),
        computed: free.computed.filter((c) => kept.has(c.column)),
        actions: groupActions(columns, afterHoldOf),
      };
    }
    if (hold.columns === undefined) {
      held = { deleteRow: false, nulls: [], computed: [], actions: [{ strategy: 'legal-hold', columns: fields.map(([c]) => c) }] };
    } else {
      const heldColumns = [...new Set([...hold.columns, ...fields.filter(([c]) => strategyOf.get(c) === 'legal-hold').map(([c]) => c)])];
      held = variantFrom(
        fields,
        (c) => {
          const s = strategyOf.get(c) ?? defaultStrategy;
          return s === 'delete-row' ? { strategy: 'set-null', reason: 'row-held' } : { strategy: s };
        },
        heldColumns,
      );
    }
  }
  return {
    name: t.name,
    primaryKey: t.primaryKey,
    rawSubject: t.subject,
    fields,
    categoryOf,
    strategyOf,
    defaultStrategy,
    writable: new Set(t.writable ?? []),
    hold,
    free,
    held,
    expired,
  };
}

/** Compile a dataset declaration. Throws `invalid_declaration` naming the dataset, table and column. */
export function planDataset(ds: DatasetDecl): DatasetPlan {
  const id = ds.id;
  if (ds.engine !== 'http' && ds.engine !== 'vault' && (ds.tables === undefined || ds.tables.length === 0))
    throw invalid(id, `a ${ds.engine} dataset must declare its tables`, `${ds.engine} 数据集必须声明表`);
  const raw = (ds.tables ?? []).map((t) => planTable(id, t));
  const byRaw = new Map<string, (typeof raw)[number]>();
  for (const t of raw) {
    if (byRaw.has(t.name)) throw invalid(id, 'the table is declared twice', '该表被重复声明', t.name);
    byRaw.set(t.name, t);
  }
  const plans = new Map<string, TablePlan>();
  const resolving = new Set<string>();
  const resolve = (name: string): TablePlan => {
    const done = plans.get(name);
    if (done) return done;
    const t = byRaw.get(name);
    if (!t) throw new Error(`unreachable: table ${name}`);
    if (resolving.has(name))
      throw invalid(id, `the join path loops back to ${q(name)} (subject.via)`, `连接路径（subject.via）循环回到 ${q(name)}`, name);
    resolving.add(name);
    const { rawSubject, ...rest } = t;
    let plan: TablePlan;
    if ('via' in rawSubject) {
      if (!byRaw.has(rawSubject.via)) {
        throw invalid(
          id,
          `subject.via names ${q(rawSubject.via)}, which is not a table of this dataset (declared: ${[...byRaw.keys()].join(', ')})`,
          `subject.via 指向的 ${q(rawSubject.via)} 不是本数据集的表（已声明：${[...byRaw.keys()].join('、')}）`,
          name,
        );
      }
      if (rawSubject.via === name) throw invalid(id, 'subject.via names the table itself', 'subject.via 指向了表自身', name);
      const via = resolve(rawSubject.via);
      const root = via.subject;
      const key: SubjectKeyKind = root.key;
      const path = [name, ...(root.kind === 'via' ? root.path : [via.name])];
      plan = {
        ...rest,
        subject: { kind: 'via', via: via.name, column: rawSubject.column, references: rawSubject.references, path, key },
        via,
        depth: via.depth + 1,
      };
    } else {
      plan = { ...rest, subject: { kind: 'column', column: rawSubject.column, key: rawSubject.key }, via: undefined, depth: 0 };
    }
    resolving.delete(name);
    plans.set(name, plan);
    return plan;
  };
  const tables = raw.map((t) => resolve(t.name));
  const writeOrder = tables
    .map((t, i) => ({ t, i }))
    .sort((a, b) => b.t.depth - a.t.depth || a.i - b.i)
    .map(({ t }) => t);
  const categories = [...new Set([...tables.flatMap((t) => t.fields.map(([, c]) => c)), ...(ds.categories ?? [])])];
  const usesHash = tables.some((t) => [t.free, t.held].some((v) => v?.computed.some((c) => c.strategy === 'hash')));
  return {
    id,
    engine: ds.engine,
    connectionEnv: ds.connectionEnv,
    secretEnv:
      ds.engine === 'http' ? (ds.secretEnv ?? (ds.connectionEnv !== undefined ? `${ds.connectionEnv}_SECRET` : undefined)) : undefined,
    tables,
    byName: plans,
    writeOrder,
    categories,
    usesHash,
  };
}

export function describePlan(plan: DatasetPlan): DatasetDescription {
  const tables: TableDescription[] = plan.tables.map((t) => {
    const heldColumns = new Set(t.held?.actions.find((a) => a.strategy === 'legal-hold')?.columns ?? []);
    return {
      name: t.name,
      primaryKey: t.primaryKey,
      subject: t.subject,
      defaultStrategy: t.defaultStrategy,
      fields: t.fields.map(([column, category]) => ({
        column,
        category,
        strategy: t.strategyOf.get(column) ?? t.defaultStrategy,
        writable: t.writable.has(column),
        held: heldColumns.has(column),
      })),
      legalRetention: t.hold ? { period: t.hold.periodText, basis: t.hold.basis, columns: t.hold.columns, from: t.hold.from } : undefined,
    };
  });
  return {
    id: plan.id,
    engine: plan.engine,
    connectionEnv: plan.connectionEnv,
    secretEnv: plan.secretEnv,
    tables,
    categories: plan.categories,
  };
}

/** Every column of `t` the declaration names (for the existence check), with where it is named. */
export function declaredColumns(t: TablePlan): Map<string, string> {
  const out = new Map<string, string>();
  const add = (c: string, where: string) => {
    if (!out.has(c)) out.set(c, where);
  };
  add(t.primaryKey, 'primaryKey');
  add(t.subject.column, 'subject.column');
  for (const [c] of t.fields) add(c, 'fields');
  for (const c of t.hold?.columns ?? []) add(c, 'legalRetention.columns');
  if (t.hold?.from !== undefined) add(t.hold.from, 'legalRetention.from');
  return out;
}
