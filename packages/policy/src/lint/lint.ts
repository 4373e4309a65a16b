/**
 * `lintDeclaration`: run every rule over a declaration and return findings sorted by position.
 * Isomorphic: the caller loads the declaration (with positions from YAML, or without from JSON).
 */
import { formatPath, type LoadedDeclaration, NO_POSITIONS, type PathSegment, type PositionMap } from '../load.js';
import type { Declaration } from '../schema.js';
import { CONSENT_RULES } from './rules/consent.js';
import { DEVICE_RULES } from './rules/device.js';
import { NOTICE_RULES } from './rules/notice.js';
import { RIGHTS_RULES } from './rules/rights.js';
import { SECURITY_RULES } from './rules/security.js';
import { SENSITIVE_RULES } from './rules/sensitive.js';
import { SHARING_RULES } from './rules/sharing.js';
import {
  type LintFinding,
  type LintLang,
  type LintOptions,
  type LintResult,
  type LintRule,
  type LintRuleDef,
  type LintSeverity,
  REGULATION_IDS,
  type RegulationId,
} from './types.js';

const RULE_DEFS: readonly LintRuleDef[] = [
  ...CONSENT_RULES,
  ...NOTICE_RULES,
  ...SHARING_RULES,
  ...SENSITIVE_RULES,
  ...RIGHTS_RULES,
  ...SECURITY_RULES,
  ...DEVICE_RULES,
];

const KEY_RE = /^([A-Z0-9.-]+)\/[a-z0-9]+(?:-[a-z0-9]+)*$/;

/** The regulation id a rule key rests on: `PIPL-17/retention` -> `PIPL-17`. */
export function regulationOf(key: string): RegulationId {
  const m = KEY_RE.exec(key);
  const id = m?.[1];
  if (!id || !(REGULATION_IDS as readonly string[]).includes(id)) throw new Error(`not a lint rule key: "${key}"`);
  return id as RegulationId;
}

function toRule(def: LintRuleDef): LintRule {
  return { key: def.key, id: regulationOf(def.key), severity: def.severity, title: def.title, citation: def.citation, hint: def.hint };
}

/** Every rule, in a stable order grouped by topic. */
export const LINT_RULES: readonly LintRule[] = RULE_DEFS.map(toRule);

{
  const seen = new Set<string>();
  for (const r of LINT_RULES) {
    if (seen.has(r.key)) throw new Error(`duplicate lint rule key "${r.key}"`);
    seen.add(r.key);
  }
}

const BY_KEY: ReadonlyMap<string, LintRule> = new Map(LINT_RULES.map((r) => [r.key, r]));

export function lintRule(key: string): LintRule | undefined {
  return BY_KEY.get(key);
}

const SEVERITY_ORDER: Record<LintSeverity, number> = { error: 0, warning: 1, info: 2 };

/**
 * Lint a declaration. Give the `LoadedDeclaration` from `loadDeclaration` for line:column positions;
 * a bare `{ declaration }` (e.g. a JSON body) gets 1:1 for every finding.
 */
export function lintDeclaration(loaded: LoadedDeclaration | { declaration: Declaration }, opts: LintOptions = {}): LintResult {
  const lang: LintLang = opts.lang ?? 'zh';
  const positions: PositionMap = 'positions' in loaded ? loaded.positions : NO_POSITIONS;
  const d = loaded.declaration;
  const findings: LintFinding[] = [];
  for (const def of RULE_DEFS) {
    const rule = BY_KEY.get(def.key);
    if (!rule) continue;
    def.check(d, (segments: readonly PathSegment[], message, hint) => {
      const pos = positions.positionOf(segments);
      findings.push({
        rule: def.key,
        id: rule.id,
        severity: def.severity,
        path: formatPath(segments),
        line: pos.line,
        column: pos.column,
        message: message(lang),
        citation: def.citation[lang],
        hint: hint ? hint(lang) : def.hint[lang],
      });
    });
  }
  // Stable sort: same position keeps rule order (grouped by topic), then severity.
  findings.sort((a, b) => a.line - b.line || a.column - b.column || SEVERITY_ORDER[a.severity] - SEVERITY_ORDER[b.severity]);
  return { findings, summary: summarise(findings) };
}

export function summarise(findings: readonly { severity: LintSeverity }[]): { error: number; warning: number; info: number } {
  const s = { error: 0, warning: 0, info: 0 };
  for (const f of findings) s[f.severity] += 1;
  return s;
}
