/**
 * `detect(text)`: every detector over one text, overlaps resolved (highest score first, then the
 * longer match), detections under `minScore` dropped. Offsets are UTF-16 offsets into `text`.
 */

import { ContextIndex } from './context.js';
import { scanAddresses } from './detectors/address.js';
import { scanAt, scanColonTokens, scanDashTokens, scanWords } from './detectors/alnum.js';
import type { Candidate, Env } from './detectors/env.js';
import { scanNames } from './detectors/name.js';
import { scanNumbers } from './detectors/numeric.js';
import { normalizeWidth } from './normalize.js';
import { DETECTOR_CATEGORIES, DETECTOR_TYPES, type Detection, type DetectOptions, type DetectorType } from './types.js';

export const DEFAULT_MIN_SCORE = 0.5;
export const DEFAULT_WINDOW_BEFORE = 24;
export const DEFAULT_WINDOW_AFTER = 8;

const TYPE_ORDER = new Map<DetectorType, number>(DETECTOR_TYPES.map((t, i) => [t, i]));

/** All candidates, before overlap resolution and threshold (for diagnostics and tests). */
export function candidates(text: string, options: DetectOptions = {}): Candidate[] {
  return collect(text, options, 0);
}

/**
 * Run the detectors. `floor`: a candidate whose score cannot reach it even with a context word is
 * dropped before its context is looked up (detect passes its minScore: such a candidate could never
 * be reported nor win an overlap).
 */
function collect(text: string, options: DetectOptions, floor: number): Candidate[] {
  const t = normalizeWidth(text);
  const before = options.windowBefore ?? DEFAULT_WINDOW_BEFORE;
  const after = options.windowAfter ?? DEFAULT_WINDOW_AFTER;
  const field = options.fieldContext ? normalizeWidth(options.fieldContext).toLowerCase() : undefined;
  const env: Env = {
    t,
    enabled: options.types ? new Set(options.types) : undefined,
    before,
    after,
    field,
    maxBirthYear: options.maxBirthYear ?? new Date().getUTCFullYear(),
    floor,
    ctx: new ContextIndex(t, before, after, field),
    out: [],
  };
  scanNumbers(env);
  scanWords(env);
  if (t.includes('-')) scanDashTokens(env);
  if (t.includes(':')) scanColonTokens(env);
  if (t.includes('@')) scanAt(env);
  const structured = env.out.slice();
  scanNames(
    env,
    structured.filter((c) => c.score >= (options.minScore ?? DEFAULT_MIN_SCORE)),
  );
  scanAddresses(env);
  return env.out;
}

/** Greedy resolution: best score first, longer span on ties, then the detector order. */
export function resolveOverlaps(cands: Candidate[], minScore: number): Candidate[] {
  const kept = cands.filter((c) => c.score >= minScore - 1e-9);
  kept.sort(
    (a, b) =>
      b.score - a.score ||
      b.end - b.start - (a.end - a.start) ||
      (TYPE_ORDER.get(a.type) ?? 0) - (TYPE_ORDER.get(b.type) ?? 0) ||
      a.start - b.start,
  );
  const chosen: Candidate[] = [];
  // intervals chosen so far, sorted by start, for an O(log n) overlap test
  const starts: number[] = [];
  const ends: number[] = [];
  for (const c of kept) {
    let lo = 0;
    let hi = starts.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((starts[mid] ?? 0) < c.end) lo = mid + 1;
      else hi = mid;
    }
    // lo = first interval starting at or after c.end; the one before it may overlap
    if (lo > 0 && (ends[lo - 1] ?? 0) > c.start) continue;
    starts.splice(lo, 0, c.start);
    ends.splice(lo, 0, c.end);
    chosen.push(c);
  }
  return chosen.sort((a, b) => a.start - b.start);
}

function round2(v: number): number {
  return Math.round(v * 100) / 100;
}

/** Find personal information in `text`. */
export function detect(text: string, options: DetectOptions = {}): Detection[] {
  const minScore = options.minScore ?? DEFAULT_MIN_SCORE;
  const chosen = resolveOverlaps(collect(text, options, minScore), minScore);
  return chosen.map((c) => {
    const original = text.slice(c.start, c.end);
    const reasons = c.reasons.slice();
    if (/[\uFF01-\uFF5E\u3000]/.test(original)) reasons.push('full-width');
    return {
      type: c.type,
      category: DETECTOR_CATEGORIES[c.type],
      start: c.start,
      end: c.end,
      text: original,
      normalized: c.normalized,
      score: round2(c.score),
      reasons,
    };
  });
}
