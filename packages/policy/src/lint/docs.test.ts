import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { lintRulesMarkdown } from './docs.js';
import { LINT_RULES } from './lint.js';

describe('docs/lint-rules.md', () => {
  const file = new URL('../../../../docs/lint-rules.md', import.meta.url);

  it('is generated from LINT_RULES and up to date (run `npx tsx scripts/gen-lint-docs.ts`)', () => {
    expect(readFileSync(file, 'utf8')).toBe(lintRulesMarkdown());
  });

  it('has one table row per rule with its severity and citation', () => {
    const md = lintRulesMarkdown();
    for (const r of LINT_RULES) {
      const row = md.split('\n').find((l) => l.startsWith(`| \`${r.key}\` `));
      expect(row, r.key).toBeDefined();
      expect(row).toMatch(new RegExp(`\\| ${r.severity} +\\|`));
      expect(row).toContain(r.citation.en);
    }
  });
});
