/**
 * Retry delays: exponential with jitter. Attempt n (1-based, the attempt that just failed) waits
 * `min(maxMs, baseMs * factor^(n-1))`, scaled by a random factor in `[1 - jitter, 1]`, so workers
 * that failed together (a connector went down) do not all come back at the same instant.
 */
import { JobError } from './errors.js';

export interface BackoffOptions {
  /** Delay after the first failure, before jitter. Default 1000 ms. */
  baseMs?: number;
  /** Largest delay. Default 1 hour. */
  maxMs?: number;
  /** Growth per attempt. Default 2. */
  factor?: number;
  /** Share of the delay that is random, in [0, 1]. Default 0.5 (the delay is 50–100 % of the exponential). */
  jitter?: number;
}

export interface ResolvedBackoff {
  baseMs: number;
  maxMs: number;
  factor: number;
  jitter: number;
}

export const DEFAULT_BACKOFF: ResolvedBackoff = Object.freeze({ baseMs: 1000, maxMs: 3_600_000, factor: 2, jitter: 0.5 });

function bad(path: string, message: string, messageZh: string): JobError {
  return new JobError('invalid_argument', `${path}: ${message}`, `${path}：${messageZh}`, { path });
}

export function resolveBackoff(options: BackoffOptions = {}, path = 'backoff'): ResolvedBackoff {
  const r = { ...DEFAULT_BACKOFF, ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) };
  if (!Number.isFinite(r.baseMs) || r.baseMs < 0) throw bad(`${path}.baseMs`, 'must be a number >= 0', '必须是不小于 0 的数');
  if (!Number.isFinite(r.maxMs) || r.maxMs < r.baseMs) throw bad(`${path}.maxMs`, 'must be a number >= baseMs', '必须是不小于 baseMs 的数');
  if (!Number.isFinite(r.factor) || r.factor < 1) throw bad(`${path}.factor`, 'must be a number >= 1', '必须是不小于 1 的数');
  if (!Number.isFinite(r.jitter) || r.jitter < 0 || r.jitter > 1)
    throw bad(`${path}.jitter`, 'must be between 0 and 1', '必须在 0 到 1 之间');
  return r;
}

/** The delay (ms, an integer) before the attempt after `attempt`. `random` returns a number in [0, 1). */
export function backoffDelay(attempt: number, backoff: ResolvedBackoff, random: () => number = Math.random): number {
  const n = Math.max(1, Math.floor(attempt));
  // factor^(n-1) overflows to Infinity for large n, and min() then gives maxMs.
  const exponential = Math.min(backoff.maxMs, backoff.baseMs * backoff.factor ** (n - 1));
  const r = Math.min(Math.max(random(), 0), 1);
  return Math.round(exponential * (1 - backoff.jitter + backoff.jitter * r));
}
