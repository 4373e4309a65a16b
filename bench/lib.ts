/**
 * Bench harness. A scenario returns figures; the harness prints them and writes
 * bench/results/<scenario>.json in the shape DESIGN.md fixes:
 * {"scenario","at","node","cpus","figures":[{"name","value","unit","baseline"?,"ratio"?,"target","ok"}]}
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface Figure {
  name: string;
  value: number;
  unit: string;
  /** Measured in the same run, the thing `value` is compared against. */
  baseline?: number;
  /** value / baseline. */
  ratio?: number;
  /** Human-readable goal, e.g. "< 50 ms" or "ratio >= 0.6". */
  target: string;
  ok: boolean;
  /** Why a target is missed (by how much, and what bounds it), or what the figure means. */
  note?: string;
}

export interface ScenarioContext {
  quick: boolean;
  log: (line: string) => void;
}

export interface Scenario {
  name: string;
  description: string;
  run: (ctx: ScenarioContext) => Promise<Figure[]>;
}

export const RESULTS_DIR = join(dirname(fileURLToPath(import.meta.url)), 'results');

export function writeResult(scenario: string, figures: Figure[]): string {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const file = join(RESULTS_DIR, `${scenario}.json`);
  const body = {
    scenario,
    at: new Date().toISOString(),
    node: process.version,
    cpus: cpus().length,
    figures,
  };
  writeFileSync(file, `${JSON.stringify(body, null, 2)}\n`);
  return file;
}

/** Figure with a ratio against a same-run baseline. */
export function ratioFigure(name: string, value: number, unit: string, baseline: number, minRatio: number, extra = ''): Figure {
  const ratio = baseline > 0 ? value / baseline : 0;
  return {
    name,
    value: round(value),
    unit,
    baseline: round(baseline),
    ratio: round(ratio, 3),
    target: `ratio >= ${minRatio}${extra}`,
    ok: ratio >= minRatio,
  };
}

/**
 * A ratio figure from rounds in which the row and its baseline ran one after the other: the ratio is
 * the median of the per-round ratios (a drift of the machine's load between rounds does not skew it),
 * the value and baseline the medians of their rounds; the note lists every round's ratio.
 */
export function pairedRatioFigure(name: string, values: number[], unit: string, baselines: number[], minRatio: number): Figure {
  const ratios = values.map((v, i) => ((baselines[i] ?? 0) > 0 ? v / (baselines[i] as number) : 0));
  const ratio = median(ratios);
  return {
    name,
    value: round(median(values)),
    unit,
    baseline: round(median(baselines)),
    ratio: round(ratio, 3),
    target: `ratio >= ${minRatio} (median of the per-round ratios)`,
    ok: ratio >= minRatio,
    note: `rounds ${ratios.map((r) => round(r, 3)).join(', ')}`,
  };
}

export function round(v: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] ?? 0) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
}

/** Run fn repeatedly and return the median time in milliseconds (after warm-up). */
export function timeMedian(fn: () => void, runs: number, warmup = Math.min(20, runs)): number {
  for (let i = 0; i < warmup; i++) fn();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    fn();
    times.push(performance.now() - t0);
  }
  return median(times);
}

export function printFigures(scenario: string, figures: Figure[]): void {
  console.log(`\n== ${scenario}`);
  for (const f of figures) {
    const ratio = f.ratio !== undefined ? `  ratio ${f.ratio} (baseline ${f.baseline} ${f.unit})` : '';
    console.log(`  ${f.ok ? 'ok  ' : 'MISS'} ${f.name}: ${f.value} ${f.unit}${ratio}  [target ${f.target}]`);
    if (f.note !== undefined) console.log(`       note: ${f.note}`);
  }
}
