/**
 * Render: milliseconds to render every document of one app (policy, the two lists, the permissions
 * list, the index) from a loaded declaration, per example, language and format. The later
 * lint + render budget is 50 ms per app; render alone is held to a quarter of it.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Figure, round, type Scenario, timeMedian } from '../lib.js';

const EXAMPLES = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'examples');
const APPS = ['xiaopiaopiao-merchant', 'shengshitong'] as const;
const LIMIT_MS = 12.5;

export const renderScenario: Scenario = {
  name: 'render',
  description: 'renderAll per app (5 documents) in zh/en and html/md/json, ms per app',
  async run({ quick, log }) {
    const { loadDeclaration, renderAll } = await import('@pipa/policy');
    const runs = quick ? 20 : 100;
    const figures: Figure[] = [];
    for (const app of APPS) {
      const { declaration } = loadDeclaration(readFileSync(join(EXAMPLES, app, 'policy.yaml'), 'utf8'), `examples/${app}/policy.yaml`);
      for (const lang of ['zh', 'en'] as const) {
        for (const format of ['html', 'md', 'json'] as const) {
          let bytes = 0;
          const ms = timeMedian(() => {
            bytes = Object.values(renderAll(declaration, { lang, format })).reduce((n, s) => n + s.length, 0);
          }, runs);
          log(`${app} ${lang} ${format}: ${bytes} characters`);
          figures.push({
            name: `${app} ${lang} ${format}`,
            value: round(ms, 3),
            unit: 'ms/app',
            target: `<= ${LIMIT_MS} ms/app`,
            ok: ms <= LIMIT_MS,
          });
        }
      }
    }
    return figures;
  },
};
