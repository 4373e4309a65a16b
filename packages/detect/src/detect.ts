/**
 * `detect(text)`: every detector over one text, overlaps resolved (highest score first, then the
 * longer match), detections under `minScore` dropped. Offsets are UTF-16 offsets into `text`.
 */

import { ContextIndex, TYPE_BIT } from './context.js';
import { scanAddresses } from './detectors/address.js';
import { scanAt, scanColonTokens, scanDashTokens, scanTokens } from './detectors/alnum.js';
import { type Candidate, type Env, normalizedOf, on } from './detectors/env.js';
import { scanNames } from './detectors/name.js';
import { FULL_WIDTH_RUNS, narrow, normalizeWidth } from './normalize.js';
import { DETECTOR_TYPES, type Detection, type DetectOptions, type DetectorType } from './types.js';

export const DEFAULT_MIN_SCORE = 0.5;
export const DEFAULT_WINDOW_BEFORE = 24;
export const DEFAULT_WINDOW_AFTER = 8;

const TYPE_ORDER = new Map<DetectorType, number>(DETECTOR_TYPES.map((t, i) => [t, i]));
const ALL_TYPES = DETECTOR_TYPES.reduce((m, type) => m | TYPE_BIT[type], 0);

let yearAt = 0;
let year = 0;

/** The current UTC year, read from the clock at most once a minute (detect() is called per value of a table). */
function currentYear(): number {
  const now = Date.now();
  if (now - yearAt > 60_000) {
    year = new Date(now).getUTCFullYear();
    yearAt = now;
  }
  return year;
}

/** All candidates, before overlap resolution and threshold (for diagnostics and tests). */
export function candidates(text: string, options: DetectOptions = {}): Candidate[] {
  const env = collect(normalizeWidth(text), options, 0);
  return env.out.map((c) => ({
    type: c.type,
    start: c.start,
    end: c.end,
    score: c.score,
    reasons: c.reasons,
    normalized: normalizedOf(env, c),
  }));
}

/**
 * Run the detectors over the width-normalised text `t`. `floor`: a candidate whose score cannot
 * reach it even with a context word is dropped before its context is looked up, and one whose score
 * is under it after (detect passes its minScore: such a candidate can neither be reported nor win an
 * overlap; candidates passes 0).
 */
function collect(t: string, options: DetectOptions, floor: number): Env {
  const before = options.windowBefore ?? DEFAULT_WINDOW_BEFORE;
  const after = options.windowAfter ?? DEFAULT_WINDOW_AFTER;
  const field = options.fieldContext ? normalizeWidth(options.fieldContext).toLowerCase() : undefined;
  const env: Env = {
    t,
    mask: options.types ? options.types.reduce((m, type) => m | TYPE_BIT[type], 0) : ALL_TYPES,
    before,
    after,
    field,
    maxBirthYear: options.maxBirthYear ?? currentYear(),
    floor,
    ctx: new ContextIndex(t, before, after, field),
    dashes: [],
    colons: [],
    ats: [],
    schemes: [],
    out: [],
    folds: undefined,
  };
  scanTokens(env);
  scanDashTokens(env);
  scanColonTokens(env);
  scanAt(env);
  if (on(env, 'name')) {
    const minScore = options.minScore ?? DEFAULT_MIN_SCORE;
    scanNames(
      env,
      env.out.filter((c) => c.score >= minScore),
    );
  }
  scanAddresses(env);
  return env;
}

interface Span {
  type: DetectorType;
  start: number;
  end: number;
  score: number;
}

function byPriority(a: Span, b: Span): number {
  return (
    b.score - a.score ||
    b.end - b.start - (a.end - a.start) ||
    (TYPE_ORDER.get(a.type) ?? 0) - (TYPE_ORDER.get(b.type) ?? 0) ||
    a.start - b.start
  );
}

/**
 * Greedy resolution: best score first, longer span on ties, then the detector order; a candidate
 * overlapping one already chosen is dropped. The greedy choice is made per cluster of overlapping
 * candidates (it cannot cross from one cluster to another), and a candidate that overlaps nothing
 * is simply kept, so the usual text with few overlaps costs one sort by position.
 */
export function resolveOverlaps(cands: Candidate[], minScore: number): Candidate[] {
  return resolveSorted(cands.filter((c) => c.score >= minScore - 1e-9));
}

/** resolveOverlaps of candidates all above the threshold (sorts `kept` in place). */
function resolveSorted<C extends Span>(kept: C[]): C[] {
  kept.sort((a, b) => a.start - b.start || a.end - b.end);
  const chosen: C[] = [];
  let i = 0;
  while (i < kept.length) {
    const first = kept[i] as C;
    let j = i + 1;
    let maxEnd = first.end;
    while (j < kept.length && (kept[j] as C).start < maxEnd) {
      maxEnd = Math.max(maxEnd, (kept[j] as C).end);
      j++;
    }
    if (j === i + 1) chosen.push(first);
    else resolveCluster(kept.slice(i, j), chosen);
    i = j;
  }
  return chosen;
}

/** Greedy choice within one cluster; appends the chosen candidates in order of position. */
function resolveCluster<C extends Span>(cluster: C[], chosen: C[]): void {
  cluster.sort(byPriority);
  const picked: C[] = [];
  for (const c of cluster) {
    if (picked.some((p) => p.start < c.end && c.start < p.end)) continue;
    picked.push(c);
  }
  picked.sort((a, b) => a.start - b.start);
  for (const c of picked) chosen.push(c);
}

function round2(v: number): number {
  return Math.round(v * 100) / 100;
}

/** Find personal information in `text`. */
export function detect(text: string, options: DetectOptions = {}): Detection[] {
  const minScore = options.minScore ?? DEFAULT_MIN_SCORE;
  // where the full-width runs are (start, end pairs), found while narrowing them
  const wide: number[] = [];
  const t = text.replace(FULL_WIDTH_RUNS, (run: string, offset: number) => {
    wide.push(offset, offset + run.length);
    return narrow(run);
  });
  const env = collect(t, options, minScore);
  // collect drops the candidates under minScore already; the kept ones are completed in place
  const chosen = resolveSorted(env.out);
  let w = 0;
  for (const c of chosen) {
    // detections come in order of position: move past the runs that end before this one
    while (w < wide.length && (wide[w + 1] ?? 0) <= c.start) w += 2;
    if (w < wide.length && (wide[w] ?? 0) < c.end) c.reasons.push('full-width');
    c.text = text.slice(c.start, c.end);
    if (env.folds !== undefined) c.normalized = normalizedOf(env, c);
    c.score = round2(c.score);
  }
  return chosen;
}
