/** Subject keys checked and expanded into the values each table's identifying column is matched against. */
import { ConnectorError, q } from './errors.js';
import type { DatasetPlan, TablePlan } from './plan.js';
import { SUBJECT_KEY_KINDS, type SubjectKeyKind, type SubjectKeys, type UnreachedTable } from './types.js';
import { keyCandidates } from './values.js';

export interface SubjectCandidates {
  /** Whether the key kind `t` is matched on (its own, or the one at the end of its join path) has a value. */
  reachable(t: TablePlan): boolean;
  /** The values the table at the end of `t`'s join path is matched on (never empty for a reachable table). */
  valuesFor(t: TablePlan): string[];
  /** Tables that cannot be searched because their key kind has no value, in declaration order. */
  readonly unreached: readonly UnreachedTable[];
  /** The expanded values per key kind. */
  readonly values: ReadonlyMap<SubjectKeyKind, readonly string[]>;
}

/**
 * Check the shape of `subject` and which tables it reaches: a table is searched when its key kind
 * (its own subject column's, or the one at the end of its join path) has a value; the others are
 * reported as unreached. Throws `invalid_argument` for a malformed subject and `subject_key_missing`
 * when no declared table can be reached, naming tables and key kinds, never values.
 */
export function resolveSubject(plan: DatasetPlan, subject: SubjectKeys, operation: string): SubjectCandidates {
  const dataset = plan.id;
  if (typeof subject !== 'object' || subject === null || Array.isArray(subject)) {
    throw new ConnectorError(
      'invalid_argument',
      `dataset ${q(dataset)}: the subject must be an object of keys`,
      `数据集 ${q(dataset)}：主体必须是标识对象`,
      {
        dataset,
        operation,
      },
    );
  }
  const values = new Map<SubjectKeyKind, string[]>();
  for (const [kind, raw] of Object.entries(subject)) {
    if (!(SUBJECT_KEY_KINDS as readonly string[]).includes(kind)) {
      throw new ConnectorError(
        'invalid_argument',
        `dataset ${q(dataset)}: unknown subject key ${q(kind)} (known: ${SUBJECT_KEY_KINDS.join(', ')})`,
        `数据集 ${q(dataset)}：未知的主体标识 ${q(kind)}（可用：${SUBJECT_KEY_KINDS.join('、')}）`,
        { dataset, operation },
      );
    }
    const ok = raw === undefined || typeof raw === 'string' || (Array.isArray(raw) && raw.every((v) => typeof v === 'string'));
    if (!ok) {
      throw new ConnectorError(
        'invalid_argument',
        `dataset ${q(dataset)}: subject key ${q(kind)} must be a string or a list of strings`,
        `数据集 ${q(dataset)}：主体标识 ${q(kind)} 必须是字符串或字符串列表`,
        { dataset, operation },
      );
    }
    values.set(kind as SubjectKeyKind, keyCandidates(kind as SubjectKeyKind, raw as string | readonly string[] | undefined));
  }
  const has = (t: TablePlan) => (values.get(t.subject.key) ?? []).length > 0;
  const unreached = plan.tables.filter((t) => !has(t)).map((t) => ({ table: t.name, key: t.subject.key }));
  if (plan.tables.length > 0 && unreached.length === plan.tables.length) {
    const list = unreached.map((u) => `${u.table} (${u.key})`);
    throw new ConnectorError(
      'subject_key_missing',
      `dataset ${q(dataset)}: no subject key reaches any table: ${list.join(', ')}`,
      `数据集 ${q(dataset)}：所给主体标识无法定位任何表：${list.join('、')}`,
      { dataset, operation, ...(unreached[0] !== undefined ? { table: unreached[0].table } : {}) },
    );
  }
  return {
    values,
    unreached,
    reachable: has,
    valuesFor(t) {
      const list = values.get(t.subject.key) ?? [];
      if (list.length === 0) throw new Error(`unreachable: no values for ${t.name}`);
      return list;
    },
  };
}
