/**
 * docs/lint-rules.md is generated from LINT_RULES by `npx tsx scripts/gen-lint-docs.ts`; a test
 * fails when the committed file differs from `lintRulesMarkdown()`.
 */
import { LINT_RULES } from './lint.js';
import type { LintSeverity } from './types.js';

function cell(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

/** Display width as the formatter counts it: East Asian wide and full-width characters take two columns. */
function width(s: string): number {
  let w = 0;
  for (const ch of s) {
    const c = ch.codePointAt(0) ?? 0;
    const wide =
      (c >= 0x1100 && c <= 0x115f) ||
      (c >= 0x2e80 && c <= 0xa4cf && c !== 0x303f) ||
      (c >= 0xac00 && c <= 0xd7a3) ||
      (c >= 0xf900 && c <= 0xfaff) ||
      (c >= 0xfe30 && c <= 0xfe4f) ||
      (c >= 0xff00 && c <= 0xff60) ||
      (c >= 0xffe0 && c <= 0xffe6) ||
      (c >= 0x20000 && c <= 0x3fffd);
    w += wide ? 2 : 1;
  }
  return w;
}

/** A Markdown table with padded columns, as Biome formats it (so that `biome check` leaves the file alone). */
function table(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const widths = header.map((h, i) => Math.max(3, width(h), ...rows.map((r) => width(r[i] ?? ''))));
  const line = (cells: readonly string[]) => `| ${cells.map((c, i) => c + ' '.repeat((widths[i] ?? 0) - width(c))).join(' | ')} |`;
  return [line(header), `| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |`, ...rows.map(line)];
}

export function lintRulesMarkdown(): string {
  const count = (s: LintSeverity) => LINT_RULES.filter((r) => r.severity === s).length;
  const ids = new Set(LINT_RULES.map((r) => r.id));
  const out: string[] = [
    '# Lint rules',
    '',
    '<!-- Generated from LINT_RULES by `npx tsx scripts/gen-lint-docs.ts`. Do not edit by hand. -->',
    '',
    '`pipa lint FILE [--format text|json|sarif] [--lang zh|en]` checks a declaration against the rules below.',
    'Exit code 0: no error findings; 1: at least one error finding; 2: the file is invalid (the load',
    'errors are printed as `file:line:col`). `lintDeclaration` and `LINT_RULES` are exported by',
    '`@pipa/policy` for the server, which blocks publishing on error findings.',
    '',
    '## Rule keys',
    '',
    'Every rule has a stable key `<REGULATION-ID>/<slug>`, e.g. `PIPL-17/retention`. The part before the',
    'slash is a requirement id of the regulations table (`PIPL-13` … `TAF-APPLIST`); several rules may',
    'share one id. Keys are never renamed or reused: a rule that changes meaning gets a new key. Findings',
    '(API, JSON and SARIF `ruleId`) carry the key; `regulationOf(key)` gives the id.',
    '',
    'Severities: **error** is a breach of PIPL, of the MIIT and CAC app rules, or of a GB/T 35273',
    'requirement that those rules enforce (cancellation, complaint channel, answer times); it blocks',
    'publishing. **warning** is a gap against a recommended standard or a likely problem to review.',
    '**info** says that a fact is missing, so a check could not run.',
    '',
    'Each finding has the rule key, severity, JSON path (`$.recipients[1].consent`, which may name a',
    'field that is absent), line and column (of the path, or of its nearest existing ancestor), message,',
    'citation and a hint how to fix, in Chinese (default) or English.',
    '',
    'JSON output: `{"findings":[{"rule","severity","path","line","column","message","citation","hint"}],',
    '"summary":{"error","warning","info"}}`. SARIF output is SARIF 2.1.0 with every rule in',
    '`runs[0].tool.driver.rules`.',
    '',
    '## Rules',
    '',
    `${LINT_RULES.length} rules over ${ids.size} requirement ids: ${count('error')} error, ${count('warning')} warning, ${count('info')} info.`,
    '',
    ...table(
      ['Rule', 'Severity', 'What it checks', '检查内容', 'Citation'],
      LINT_RULES.map((r) => [`\`${r.key}\``, r.severity, cell(r.title.en), cell(r.title.zh), cell(r.citation.en)]),
    ),
  ];
  out.push('');
  return out.join('\n');
}
