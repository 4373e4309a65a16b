/** Precision, recall and F1 per type of a detector over the labelled corpus. */
import type { CorpusDoc, LabelType } from './corpus.js';

export interface Predicted {
  type: string;
  start: number;
  end: number;
}

export interface TypeScore {
  tp: number;
  fp: number;
  fn: number;
  precision: number;
  recall: number;
  f1: number;
}

export function score(tp: number, fp: number, fn: number): TypeScore {
  const precision = tp + fp === 0 ? 1 : tp / (tp + fp);
  const recall = tp + fn === 0 ? 1 : tp / (tp + fn);
  const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
  return { tp, fp, fn, precision, recall, f1 };
}

const overlaps = (a: { start: number; end: number }, b: { start: number; end: number }) => a.start < b.end && b.start < a.end;

/**
 * A prediction is a true positive when it has the label's type and overlaps the label's span; each
 * label is matched at most once. Unmatched predictions are false positives of their type.
 */
export function evaluate(
  docs: readonly CorpusDoc[],
  predict: (text: string) => Predicted[],
): Map<string, { tp: number; fp: number; fn: number }> {
  const counts = new Map<string, { tp: number; fp: number; fn: number }>();
  const c = (t: string) => {
    let v = counts.get(t);
    if (!v) {
      v = { tp: 0, fp: 0, fn: 0 };
      counts.set(t, v);
    }
    return v;
  };
  for (const doc of docs) {
    const preds = predict(doc.text);
    const used = new Set<number>();
    for (const label of doc.labels) {
      const i = preds.findIndex((p, k) => !used.has(k) && p.type === label.type && overlaps(p, label));
      if (i >= 0) {
        used.add(i);
        c(label.type).tp++;
      } else c(label.type).fn++;
    }
    preds.forEach((p, k) => {
      if (!used.has(k)) c(p.type).fp++;
    });
  }
  return counts;
}

/** Recall only, type-agnostic: a label is found when any prediction overlaps it (for other tools, whose types differ). */
export function recallAnyType(
  docs: readonly CorpusDoc[],
  predict: (text: string) => Predicted[],
): { byType: Map<LabelType, { found: number; total: number }>; found: number; total: number } {
  const byType = new Map<LabelType, { found: number; total: number }>();
  let found = 0;
  let total = 0;
  for (const doc of docs) {
    const preds = predict(doc.text);
    for (const label of doc.labels) {
      const v = byType.get(label.type) ?? { found: 0, total: 0 };
      v.total++;
      total++;
      if (preds.some((p) => overlaps(p, label))) {
        v.found++;
        found++;
      }
      byType.set(label.type, v);
    }
  }
  return { byType, found, total };
}
