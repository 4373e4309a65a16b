/**
 * Collection frequency: `once` < `on-launch` < `on-use` < `{ every: … }` (the shorter the interval,
 * the more often) < `continuous`. Unstated frequencies are not comparable.
 */
import type { z } from 'zod';
import type { Frequency as FrequencySchema } from '../schema.js';
import type { Lang } from './types.js';

export type Frequency = z.infer<typeof FrequencySchema>;

const RANK = { once: 0, 'on-launch': 1, 'on-use': 2, continuous: 4 } as const;

/** Seconds in an `every` interval (`PT15M`, `PT1H`, `P1D`). */
function intervalSeconds(every: string): number {
  const m = /^P(T?)(\d+)([SMHD])$/.exec(every);
  if (!m) return Number.POSITIVE_INFINITY;
  const n = Number(m[2]);
  const timePart = m[1] === 'T';
  switch (m[3]) {
    case 'S':
      return n;
    case 'M':
      return timePart ? n * 60 : n * 30 * 86400;
    case 'H':
      return n * 3600;
    default:
      return n * 86400;
  }
}

/** 1 when `a` collects more often than `b`, -1 when less often, 0 when the same or not comparable. */
export function compareFrequency(a: Frequency | undefined, b: Frequency | undefined): -1 | 0 | 1 {
  if (a === undefined || b === undefined) return 0;
  const ra = typeof a === 'string' ? RANK[a] : 3;
  const rb = typeof b === 'string' ? RANK[b] : 3;
  if (ra !== rb) return ra > rb ? 1 : -1;
  if (typeof a === 'object' && typeof b === 'object') {
    const sa = intervalSeconds(a.every);
    const sb = intervalSeconds(b.every);
    if (sa === sb) return 0;
    return sa < sb ? 1 : -1;
  }
  return 0;
}

export function describeFrequency(f: Frequency | undefined, lang: Lang): string {
  if (f === undefined) return lang === 'zh' ? '未说明' : 'unstated';
  if (typeof f === 'object') return lang === 'zh' ? `每 ${f.every}` : `every ${f.every}`;
  const zh = { once: '一次', 'on-launch': '每次启动时', 'on-use': '每次使用时', continuous: '持续' } as const;
  const en = { once: 'once', 'on-launch': 'at each launch', 'on-use': 'at each use', continuous: 'continuously' } as const;
  return lang === 'zh' ? zh[f] : en[f];
}
