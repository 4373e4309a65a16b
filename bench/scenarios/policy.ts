/**
 * Policy: for each example app (examples/<app>/policy.yaml), warm medians of
 *  - load + validate: YAML parse with positions, schema and reference checks (loadDeclaration),
 *  - lint: every rule over the loaded declaration (lintDeclaration),
 *  - render all: every document of the app, zh HTML as `pipa render` writes by default (renderAll),
 *  - lint + render: the two above together, the figure issue 2 holds under 50 ms per app,
 *  - load + lint + render: the whole of what the CLI does for a file, also held under 50 ms.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Figure, round, type Scenario, timeMedian } from '../lib.js';

const EXAMPLES = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'examples');
const LIMIT_MS = 50;

function exampleApps(): string[] {
  return readdirSync(EXAMPLES)
    .filter((name) => {
      try {
        return statSync(join(EXAMPLES, name, 'policy.yaml')).isFile();
      } catch {
        return false;
      }
    })
    .sort();
}

function underLimit(name: string, ms: number): Figure {
  return { name, value: round(ms, 3), unit: 'ms/app', target: `< ${LIMIT_MS} ms/app`, ok: ms < LIMIT_MS };
}

export const policyScenario: Scenario = {
  name: 'policy',
  description: 'per example: load+validate, lint, renderAll (zh html), lint + render (< 50 ms per app)',
  async run({ quick, log }) {
    const { loadDeclaration, lintDeclaration, renderAll } = await import('@pipa/policy');
    const runs = quick ? 20 : 100;
    const apps = exampleApps();
    if (apps.length === 0) throw new Error(`no examples/*/policy.yaml under ${EXAMPLES}`);
    const figures: Figure[] = [];
    for (const app of apps) {
      const file = `examples/${app}/policy.yaml`;
      const source = readFileSync(join(EXAMPLES, app, 'policy.yaml'), 'utf8');
      const loaded = loadDeclaration(source, file);
      // Consume every result so nothing is optimised away, and log it for the record.
      let sink = 0;
      const loadMs = timeMedian(() => {
        sink += loadDeclaration(source, file).declaration.purposes.length;
      }, runs);
      let findings = 0;
      const lintMs = timeMedian(() => {
        findings = lintDeclaration(loaded).findings.length;
      }, runs);
      let chars = 0;
      let documents = 0;
      const renderMs = timeMedian(() => {
        const out = renderAll(loaded.declaration, { lang: 'zh', format: 'html' });
        documents = Object.keys(out).length;
        chars = Object.values(out).reduce((n, s) => n + s.length, 0);
      }, runs);
      const lintRenderMs = timeMedian(() => {
        sink += lintDeclaration(loaded).findings.length;
        sink += Object.keys(renderAll(loaded.declaration, { lang: 'zh', format: 'html' })).length;
      }, runs);
      const wholeMs = timeMedian(() => {
        const l = loadDeclaration(source, file);
        sink += lintDeclaration(l).findings.length;
        sink += Object.keys(renderAll(l.declaration, { lang: 'zh', format: 'html' })).length;
      }, runs);
      log(
        `${app}: ${source.length} characters of YAML, ${findings} findings, ${documents} documents (${chars} characters); ` +
          `load ${round(loadMs, 2)} ms, lint ${round(lintMs, 2)} ms, render ${round(renderMs, 2)} ms, ` +
          `lint + render ${round(lintRenderMs, 2)} ms ${lintRenderMs < LIMIT_MS ? 'PASS' : 'FAIL'} (< ${LIMIT_MS} ms); checksum ${sink}`,
      );
      figures.push(
        underLimit(`${app} load + validate`, loadMs),
        underLimit(`${app} lint`, lintMs),
        underLimit(`${app} render all (zh html)`, renderMs),
        underLimit(`${app} lint + render`, lintRenderMs),
        underLimit(`${app} load + lint + render`, wholeMs),
      );
    }
    return figures;
  },
};
