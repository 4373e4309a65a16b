/** Rows chosen by primary key (a hold manifest): the selections checked, and keys as the manifest stores them. */
import { didYouMean } from '@pipa/policy';
import { ConnectorError, q } from './errors.js';
import type { DatasetPlan, TablePlan } from './plan.js';
import type { RowKey, RowSelection } from './types.js';
import { toCell } from './values.js';

/** Keys per call, over all selections. */
export const MAX_ROW_KEYS = 10_000;

/** A primary key read from a database, as text or a number (a manifest stores it as JSON). */
export function rowKey(value: unknown): RowKey {
  const c = toCell(value);
  return typeof c === 'number' || typeof c === 'string' ? c : String(c);
}

/**
 * Check `selections` (`invalid_argument` naming the table, never a key) and group them by declared
 * table, in declaration order. `held`: every table must have `legalRetention` (eraseRows expires holds).
 */
export function checkSelections(
  plan: DatasetPlan,
  selections: readonly RowSelection[],
  operation: string,
  held: boolean,
): Map<TablePlan, RowSelection[]> {
  const dataset = plan.id;
  const invalid = (en: string, zh: string, table?: string) =>
    new ConnectorError('invalid_argument', `dataset ${q(dataset)}: ${en}`, `数据集 ${q(dataset)}：${zh}`, {
      dataset,
      operation,
      ...(table !== undefined ? { table } : {}),
    });
  if (!Array.isArray(selections)) throw invalid(`${operation} needs a list of rows by table`, `${operation} 需要按表列出的行`);
  const byTable = new Map<TablePlan, RowSelection[]>();
  let total = 0;
  for (const sel of selections) {
    if (typeof sel !== 'object' || sel === null || typeof sel.table !== 'string' || !Array.isArray(sel.keys))
      throw invalid('each selection needs a table and a list of primary keys', '每项选择都需要表和主键列表');
    const t = plan.byName.get(sel.table);
    if (t === undefined) {
      const hint = didYouMean(sel.table, [...plan.byName.keys()]);
      throw invalid(
        `table ${q(sel.table)} is not declared${hint !== undefined ? `; did you mean ${q(hint)}?` : ''}`,
        `表 ${q(sel.table)} 未声明${hint !== undefined ? `；是否为 ${q(hint)}？` : ''}`,
        sel.table,
      );
    }
    if (held && t.hold === undefined)
      throw invalid(
        `table ${q(t.name)} has no legalRetention, so it holds no rows to expire`,
        `表 ${q(t.name)} 未声明 legalRetention，没有可到期的法定保存行`,
        t.name,
      );
    for (const k of sel.keys) {
      if (!(typeof k === 'string' || (typeof k === 'number' && Number.isFinite(k))))
        throw invalid(
          `table ${q(t.name)}: a primary key must be text or a finite number`,
          `表 ${q(t.name)}：主键必须是文本或有限数值`,
          t.name,
        );
    }
    const since = sel.heldSince;
    if (since !== undefined && !(since instanceof Date ? !Number.isNaN(since.getTime()) : Number.isSafeInteger(since) && since >= 0))
      throw invalid(
        `table ${q(t.name)}: heldSince must be a time (ms since the epoch or a Date)`,
        `表 ${q(t.name)}：heldSince 必须是时间（毫秒时间戳或 Date）`,
        t.name,
      );
    total += sel.keys.length;
    if (total > MAX_ROW_KEYS) throw invalid(`at most ${MAX_ROW_KEYS} primary keys per call`, `每次调用最多 ${MAX_ROW_KEYS} 个主键`, t.name);
    byTable.set(t, [...(byTable.get(t) ?? []), sel]);
  }
  const order = new Map(plan.tables.map((t, i) => [t, i]));
  return new Map([...byTable].sort(([a], [b]) => (order.get(a) ?? 0) - (order.get(b) ?? 0)));
}
