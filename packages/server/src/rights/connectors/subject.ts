/** Subject keys checked and expanded into the values each table's identifying column is matched against. */
import { ConnectorError, q } from './errors.js';
import type { DatasetPlan, TablePlan } from './plan.js';
import { SUBJECT_KEY_KINDS, type SubjectKeyKind, type SubjectKeys } from './types.js';
import { keyCandidates } from './values.js';

export interface SubjectCandidates {
  /** The values the table at the end of `t`'s join path is matched on (never empty). */
  valuesFor(t: TablePlan): string[];
  /** The expanded values per key kind. */
  readonly values: ReadonlyMap<SubjectKeyKind, readonly string[]>;
}

/**
 * Check the shape of `subject` and that every table can be reached: each table's key kind (its own
 * subject column's, or the one at the end of its join path) must have a value. Throws
 * `invalid_argument` or `subject_key_missing` naming the tables and key kinds, never values.
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
  const missing: string[] = [];
  for (const t of plan.tables) {
    if ((values.get(t.subject.key) ?? []).length === 0) missing.push(`${t.name} (${t.subject.key})`);
  }
  if (missing.length > 0) {
    throw new ConnectorError(
      'subject_key_missing',
      `dataset ${q(dataset)}: no subject key for ${missing.join(', ')}; give these keys to reach every table`,
      `数据集 ${q(dataset)}：缺少主体标识：${missing.join('、')}；需提供这些标识才能覆盖所有表`,
      { dataset, operation, ...(plan.tables.length > 0 ? { table: missing[0]?.split(' ')[0] } : {}) },
    );
  }
  return {
    values,
    valuesFor(t) {
      const list = values.get(t.subject.key) ?? [];
      if (list.length === 0) throw new Error(`unreachable: no values for ${t.name}`);
      return list;
    },
  };
}
