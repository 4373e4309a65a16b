/**
 * PII detection: precision, recall and F1 per type on the seeded labelled corpus
 * (bench/detect/corpus.ts), throughput in MB/s (UTF-8 bytes per CPU second of the process, median of
 * several passes after a warm-up; the wall-clock figure beside it) for the structured types and for
 * all detectors, and a subset of the corpus through redact-pii and @openredaction/openredaction
 * (recall with any type overlapping a planted value, and MB/s beside ours with all detectors on the
 * same subset) in the same run.
 */

import { cpus, loadavg } from 'node:os';
import { generateCorpus, LABEL_TYPES } from '../detect/corpus.js';
import { evaluate, recallAnyType, score } from '../detect/evaluate.js';
import { type Figure, median, round, type Scenario } from '../lib.js';

const CHECKSUM_TYPES = new Set(['id-card', 'foreign-permanent-residence', 'residence-permit', 'bank-card', 'credit-code', 'imei']);
const CONTEXT_TYPES = new Set(['name', 'address']);

/**
 * MB/s of `run` over `bytes`: a warm-up pass (unless `warm` is false), then `passes` timed passes;
 * per CPU second of this process (median, slowest, fastest) and per wall-clock second (median).
 */
function throughput(bytes: number, passes: number, run: () => void, warm = true) {
  if (warm) run();
  const cpu: number[] = [];
  const wall: number[] = [];
  for (let i = 0; i < passes; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    run();
    wall.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
  }
  const mbps = (ms: number) => bytes / 1e6 / (Math.max(ms, 1e-3) / 1000);
  return { cpu: mbps(median(cpu)), cpuSlowest: mbps(Math.max(...cpu)), cpuFastest: mbps(Math.min(...cpu)), wall: mbps(median(wall)) };
}

export const detectScenario: Scenario = {
  name: 'detect',
  description: 'PII detectors: precision/recall/F1 per type, MB/s, against redact-pii and @openredaction/openredaction',
  async run({ quick, log }) {
    const d = await import('@pipa/detect');
    const size = quick ? 400_000 : 2_000_000;
    const docs = generateCorpus(20240115, size);
    const bytes = docs.reduce((s, x) => s + Buffer.byteLength(x.text), 0);
    const labels = docs.reduce((s, x) => s + x.labels.length, 0);
    log(`corpus: ${docs.length} documents, ${(bytes / 1e6).toFixed(2)} MB, ${labels} planted values, seed 20240115`);
    const figures: Figure[] = [];

    // quality
    const counts = evaluate(docs, (t) => d.detect(t));
    let tp = 0;
    let fp = 0;
    let fn = 0;
    for (const type of LABEL_TYPES) {
      const c = counts.get(type) ?? { tp: 0, fp: 0, fn: 0 };
      tp += c.tp;
      fp += c.fp;
      fn += c.fn;
      const s = score(c.tp, c.fp, c.fn);
      const target = CHECKSUM_TYPES.has(type) ? 0.98 : CONTEXT_TYPES.has(type) ? 0.85 : 0.95;
      log(
        `${type.padEnd(28)} P ${s.precision.toFixed(3)}  R ${s.recall.toFixed(3)}  F1 ${s.f1.toFixed(3)}  (tp ${c.tp}, fp ${c.fp}, fn ${c.fn})`,
      );
      figures.push({ name: `F1 ${type}`, value: round(s.f1, 3), unit: 'F1', target: `>= ${target}`, ok: s.f1 >= target });
    }
    const all = score(tp, fp, fn);
    figures.push({ name: 'precision overall', value: round(all.precision, 3), unit: 'P', target: '>= 0.98', ok: all.precision >= 0.98 });
    figures.push({ name: 'recall overall', value: round(all.recall, 3), unit: 'R', target: '>= 0.98', ok: all.recall >= 0.98 });
    figures.push({ name: 'F1 overall', value: round(all.f1, 3), unit: 'F1', target: '>= 0.98', ok: all.f1 >= 0.98 });

    // Throughput: the whole corpus through detect(), structured types only and then every detector
    // (names and addresses, by dictionary and context, included), in the same run: a warm-up pass,
    // then the median of several timed passes. The figure is per CPU second of this process
    // (process.cpuUsage: the main thread that runs detect() plus V8's helper threads, charged to us),
    // which is the throughput of one core whatever else the machine runs; the wall-clock median is
    // printed beside it with the load average, for a machine that is not shared.
    const structured = d.DETECTOR_TYPES.filter((t) => t !== 'name' && t !== 'address');
    const passes = quick ? 5 : 9;
    const structuredSpeed = throughput(bytes, passes, () => {
      for (const x of docs) d.detect(x.text, { types: structured });
    });
    const allSpeed = throughput(bytes, passes, () => {
      for (const x of docs) d.detect(x.text);
    });
    const ours = structuredSpeed.cpu;
    const oursAll = allSpeed.cpu;
    const load = loadavg()[0] ?? 0;
    for (const [name, v] of [
      ['structured types', structuredSpeed],
      ['all detectors', allSpeed],
    ] as const) {
      log(
        `throughput, ${name}: ${v.cpu.toFixed(1)} MB/s per CPU second (median of ${passes} passes; slowest ${v.cpuSlowest.toFixed(1)}, fastest ${v.cpuFastest.toFixed(1)}); wall clock ${v.wall.toFixed(1)} MB/s (load average ${load.toFixed(1)} on ${cpus().length} cores)`,
      );
    }
    figures.push({ name: 'throughput, structured types (one core)', value: round(ours, 1), unit: 'MB/s', target: '>= 50', ok: ours >= 50 });
    figures.push({
      name: 'throughput, all detectors incl. names, addresses (one core)',
      value: round(oursAll, 1),
      unit: 'MB/s',
      target: '>= 10',
      ok: oursAll >= 10,
    });
    figures.push({
      name: 'throughput, structured types, wall clock',
      value: round(structuredSpeed.wall, 1),
      unit: 'MB/s',
      target: `none (the machine is shared: load average ${load.toFixed(1)})`,
      ok: true,
    });
    const ourRecall = all.recall;

    // the other tools: a subset of the corpus (they are slow), same documents for all
    const subset = docs.slice(0, Math.max(4, Math.floor(docs.length / (quick ? 4 : 8))));
    const subBytes = subset.reduce((s, x) => s + Buffer.byteLength(x.text), 0);
    // Each tool: `run` is the call timed (text in, its result out), `predict` turns results into spans for recall.
    const others: { name: string; run: (t: string) => unknown; predict: (t: string) => { type: string; start: number; end: number }[] }[] =
      [];
    try {
      const { SyncRedactor } = await import('redact-pii');
      const r = new SyncRedactor();
      // redact-pii returns text only: a planted value counts as found when it no longer appears intact
      others.push({
        name: 'redact-pii',
        run: (t) => r.redact(t),
        predict: (t) => {
          const out = r.redact(t);
          const doc = subset.find((x) => x.text === t);
          return (doc?.labels ?? []).filter((l) => !out.includes(l.text)).map((l) => ({ type: '*', start: l.start, end: l.end }));
        },
      });
    } catch (err) {
      log(`redact-pii not available: ${err instanceof Error ? err.message : String(err)}`);
    }
    try {
      const { OpenRedaction } = await import('@openredaction/openredaction');
      const o = new OpenRedaction();
      others.push({
        name: '@openredaction/openredaction',
        run: (t) => o.detect(t),
        predict: (t) => {
          const res = o.detect(t) as unknown as { detections: { position: [number, number] }[] };
          return res.detections.map((x) => ({ type: '*', start: x.position[0], end: x.position[1] }));
        },
      });
    } catch (err) {
      log(`@openredaction/openredaction not available: ${err instanceof Error ? err.message : String(err)}`);
    }
    const oursSub = recallAnyType(subset, (t) => d.detect(t));
    // the same subset through every tool and through ours (all detectors): the recall pass warms up,
    // then the median of a few timed passes of the tool's own call, per CPU second like ours
    const subsetSpeed = (run: (t: string) => unknown) =>
      throughput(
        subBytes,
        quick ? 1 : 3,
        () => {
          for (const x of subset) run(x.text);
        },
        false,
      ).cpu;
    const oursSubSpeed = subsetSpeed((t) => d.detect(t));
    log(
      `subset for the comparison: ${subset.length} documents, ${(subBytes / 1e6).toFixed(2)} MB; ours (all detectors) ${oursSubSpeed.toFixed(1)} MB/s`,
    );
    for (const other of others) {
      const rec = recallAnyType(subset, other.predict);
      const speed = subsetSpeed(other.run);
      const recall = rec.found / rec.total;
      const ourSubRecall = oursSub.found / oursSub.total;
      const missed = [...rec.byType].filter(([, v]) => v.found / v.total < 0.5).map(([k]) => k);
      log(
        `${other.name}: recall ${recall.toFixed(3)} (ours on the same subset ${ourSubRecall.toFixed(3)}), ${speed.toFixed(2)} MB/s; types it mostly misses: ${missed.join(', ')}`,
      );
      figures.push({
        name: `recall vs ${other.name}`,
        value: round(ourSubRecall, 3),
        unit: 'recall',
        baseline: round(recall, 3),
        ratio: round(recall > 0 ? ourSubRecall / recall : 0, 3),
        target: 'ratio >= 1',
        ok: ourSubRecall >= recall,
      });
      figures.push({
        name: `throughput vs ${other.name} (ours: all detectors, same subset)`,
        value: round(oursSubSpeed, 1),
        unit: 'MB/s',
        baseline: round(speed, 2),
        ratio: round(oursSubSpeed / speed, 2),
        target: 'ratio >= 1',
        ok: oursSubSpeed >= speed,
      });
    }
    log(`our recall on the whole corpus ${ourRecall.toFixed(3)}`);
    return figures;
  },
};
