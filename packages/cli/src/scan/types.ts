import type { DetectorType } from '@pipa/detect';

/** Occurrences of one detector type in one place (a file, a CSV column, a JSON field, a table column). */
export interface FindingGroup {
  type: DetectorType;
  category: string;
  /** CSV column, JSON field (`$.users[*].phone`) or `table.column`; absent for plain text. */
  field?: string;
  count: number;
  /** Up to 3 distinct values, masked. */
  examples: string[];
  maxScore: number;
  meanScore: number;
  /** First occurrence (files). */
  line?: number;
  column?: number;
}

export type TargetKind = 'text' | 'csv' | 'json' | 'ndjson' | 'sqlite' | 'postgres' | 'mysql';

export interface TargetResult {
  /** File path (relative to the working directory) or the database URL without its password. */
  target: string;
  kind: TargetKind | 'binary' | 'unknown';
  status: 'scanned' | 'skipped' | 'error';
  /** Why it was skipped or failed (zh / en). */
  message?: string;
  warnings: string[];
  groups: FindingGroup[];
  bytes?: number;
  rows?: number;
}

/** Accumulates detections into groups. */
export class GroupBuilder {
  private readonly map = new Map<string, FindingGroup & { sum: number; seen: Set<string> }>();
  add(
    d: { type: DetectorType; category: string; score: number; normalized: string },
    masked: () => string,
    field?: string,
    pos?: { line?: number; column?: number },
  ): void {
    const key = `${field ?? ''}\u0000${d.type}`;
    let g = this.map.get(key);
    if (!g) {
      g = { type: d.type, category: d.category, count: 0, examples: [], maxScore: 0, meanScore: 0, sum: 0, seen: new Set() };
      if (field !== undefined) g.field = field;
      if (pos?.line !== undefined) g.line = pos.line;
      if (pos?.column !== undefined) g.column = pos.column;
      this.map.set(key, g);
    }
    g.count++;
    g.sum += d.score;
    g.maxScore = Math.max(g.maxScore, d.score);
    if (g.examples.length < 3 && !g.seen.has(d.normalized)) {
      g.seen.add(d.normalized);
      g.examples.push(masked());
    }
  }
  groups(): FindingGroup[] {
    return [...this.map.values()].map(({ sum, seen: _seen, ...g }) => ({ ...g, meanScore: Math.round((sum / g.count) * 100) / 100 }));
  }
}
