/**
 * `npm run bench [-- <scenario> ...] [--quick]`: runs the scenarios, prints the figures and writes
 * bench/results/<scenario>.json. Scenarios import the built packages (npm run bench builds first).
 */
import { printFigures, type Scenario, writeResult } from './lib.js';
import { scenarios } from './scenarios/index.js';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const names = args.filter((a) => !a.startsWith('--'));
const known = new Map(scenarios.map((s: Scenario) => [s.name, s]));
const unknown = names.filter((n) => !known.has(n));
if (unknown.length > 0) {
  console.error(`unknown scenario(s): ${unknown.join(', ')}; known: ${[...known.keys()].join(', ')}`);
  process.exit(2);
}
const selected = names.length > 0 ? names.map((n) => known.get(n) as Scenario) : scenarios;
let missed = 0;
for (const s of selected) {
  console.log(`\n-- ${s.name}: ${s.description}${quick ? ' (quick)' : ''}`);
  const figures = await s.run({ quick, log: (l) => console.log(`   ${l}`) });
  printFigures(s.name, figures);
  console.log(`   wrote ${writeResult(s.name, figures)}`);
  missed += figures.filter((f) => !f.ok).length;
}
console.log(missed === 0 ? '\nall targets met' : `\n${missed} target(s) missed`);
