import { type ContextIndex, TYPE_BIT } from '../context.js';
import { DETECTOR_CATEGORIES, DETECTOR_TYPES, type Detection, type DetectorType } from '../types.js';

/** A detection before overlap resolution; offsets into the width-normalised text. */
export interface Candidate {
  type: DetectorType;
  start: number;
  end: number;
  score: number;
  reasons: string[];
  normalized: string;
}

/**
 * What the detectors emit: a candidate already in the shape of a Detection, so that detect() reports
 * the candidates it keeps without copying them (`text` is filled in, the score rounded, `normalized`
 * case-folded when `folds` says so, for the reported ones only).
 */
export type Found = Detection;

/** `normalized` of a candidate, its case folded when the detector left that for later. */
export function normalizedOf(env: Env, c: Found): string {
  const fold = env.folds?.get(c);
  return fold === 1 ? c.normalized.toUpperCase() : fold === 2 ? c.normalized.toLowerCase() : c.normalized;
}

/** What every detector needs: the normalised text, enabled types, context settings. */
export interface Env {
  t: string;
  /** The enabled types as a mask of TYPE_BIT. */
  mask: number;
  before: number;
  after: number;
  field: string | undefined;
  maxBirthYear: number;
  /**
   * Candidates whose best possible score (base plus the largest context boost) is under this are
   * dropped before their context is looked up, and those whose score is under it after: `detect`
   * sets its `minScore`, `candidates` 0.
   */
  floor: number;
  ctx: ContextIndex;
  /** Dashes that may start a UUID or MAC address, and colons that may start an IPv6 or MAC address (kept by scanTokens). */
  dashes: number[];
  colons: number[];
  /** Every `@`, and every `://` (the position of its colon), kept by scanTokens. */
  ats: number[];
  schemes: number[];
  out: Found[];
  /**
   * Candidates whose `normalized` is still to be upper-cased (1) or lower-cased (2): case
   * conversion of a slice of a two-byte string is slow, so it is done only for reported ones.
   */
  folds: Map<Found, 1 | 2> | undefined;
}

export function on(env: Env, type: DetectorType): boolean {
  return (env.mask & TYPE_BIT[type]) !== 0;
}

/**
 * Add a candidate (`reasons` becomes its own array, the context reason appended: pass a new array
 * to every call; `fold`: `normalized` is to be upper-cased (1) or lower-cased (2) when reported): apply the context of its type (boost for a context word, penalty for a nearer
 * negative word when `negative`) and keep it if its score is still above the floor.
 */
/**
 * Index of each detector type in DETECTOR_TYPES: detectors pass `T.phone`, a number, to emit (a
 * property read with a constant name, where a string key of a varying type would be a slower lookup).
 */
/** DETECTOR_CATEGORIES by type index. */
const CATEGORIES: readonly string[] = DETECTOR_TYPES.map((t) => DETECTOR_CATEGORIES[t]);

export const T: Readonly<Record<DetectorType, number>> = Object.fromEntries(DETECTOR_TYPES.map((t, i) => [t, i])) as Record<
  DetectorType,
  number
>;

export function emit(
  env: Env,
  ti: number,
  start: number,
  end: number,
  base: number,
  reasons: string[],
  normalized: string,
  boost = 0.3,
  negative = false,
  fold: 0 | 1 | 2 = 0,
): void {
  const bit = 1 << ti;
  if ((env.mask & bit) === 0 || base + boost < env.floor - 1e-9) return;
  const type = DETECTOR_TYPES[ti] as DetectorType;
  let score = base;
  let reason: string | undefined;
  if (boost !== 0 || negative) {
    score += env.ctx.delta(type, bit, start, end, boost, negative);
    reason = env.ctx.reason;
  }
  score = Math.min(1, score);
  // under 0.2 a candidate is noise; under the floor (detect's minScore) it can be neither reported nor win an overlap
  if (score < 0.2 || score < env.floor - 1e-9) return;
  if (reason !== undefined) reasons.push(reason);
  const found: Found = { type, category: CATEGORIES[ti] ?? '', start, end, text: '', normalized, score, reasons };
  env.out.push(found);
  if (fold !== 0) {
    env.folds ??= new Map();
    env.folds.set(found, fold);
  }
}

export function isDigitCode(c: number): boolean {
  return c >= 48 && c <= 57;
}

export function isAlnumCode(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}

export function isLetterCode(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}

export function isHexCode(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);
}

/** CJK unified ideographs (basic block and extension A). */
export function isCjkCode(c: number): boolean {
  return (c >= 0x4e00 && c <= 0x9fff) || (c >= 0x3400 && c <= 0x4dbf);
}
