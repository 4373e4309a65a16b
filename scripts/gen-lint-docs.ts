/**
 * Writes docs/lint-rules.md from LINT_RULES: `npx tsx scripts/gen-lint-docs.ts`.
 * `--check` writes nothing and exits 1 when the committed file is stale.
 * Reads the policy sources directly so that no build is needed first.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { lintRulesMarkdown } from '../packages/policy/src/lint/docs.js';

const target = fileURLToPath(new URL('../docs/lint-rules.md', import.meta.url));
const markdown = lintRulesMarkdown();

if (process.argv.includes('--check')) {
  let current = '';
  try {
    current = readFileSync(target, 'utf8');
  } catch {
    // missing counts as stale
  }
  if (current !== markdown) {
    process.stderr.write('docs/lint-rules.md is stale: run `npx tsx scripts/gen-lint-docs.ts`\n');
    process.exit(1);
  }
  process.stdout.write('docs/lint-rules.md is up to date\n');
} else {
  writeFileSync(target, markdown);
  process.stdout.write(`wrote docs/lint-rules.md (${markdown.split('\n').length} lines)\n`);
}
