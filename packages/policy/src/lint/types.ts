/**
 * Types of the lint: rules over a declaration, their findings and the summary.
 *
 * Rule keys: every rule has a stable key `<REGULATION-ID>/<slug>`, e.g. `PIPL-17/retention`.
 * The part before the slash is one of the requirement ids of REGULATIONS.md (`PIPL-13` …
 * `TAF-APPLIST`); several rules may share a regulation id. Keys are never renamed or reused: a rule
 * that changes meaning gets a new key. Findings, JSON and SARIF output carry the key; the
 * regulation id is its prefix (`regulationOf(key)`).
 */
import type { PathSegment } from '../load.js';
import type { Declaration } from '../schema.js';

export type LintLang = 'zh' | 'en';
export type LintSeverity = 'error' | 'warning' | 'info';

export interface LintBilingual {
  zh: string;
  en: string;
}

/** The requirement ids of REGULATIONS.md that lint rules cite. */
export const REGULATION_IDS = [
  'PIPL-13',
  'PIPL-14',
  'PIPL-15',
  'PIPL-16',
  'PIPL-17',
  'PIPL-23',
  'PIPL-24',
  'PIPL-25',
  'PIPL-28',
  'PIPL-31',
  'PIPL-36',
  'PIPL-38',
  'PIPL-44',
  'PIPL-47',
  'PIPL-51',
  'PIPL-52',
  'PIPL-55',
  'PIPL-57',
  'PIPL-69',
  'GBT-5.3',
  'GBT-5.5',
  'GBT-6.1',
  'GBT-7.2',
  'GBT-8.5',
  'GBT-8.7',
  'GBT-9.7',
  'GBT-10.2',
  'MIIT-1',
  'MIIT-2',
  'MIIT-3',
  'MIIT-4',
  'MIIT-5',
  'MIIT-6',
  'MIIT-164',
  'MIIT-292',
  'MIIT-337',
  'MIIT-26',
  'NEC',
  'GB41391-ID',
  'SDK-1',
  'TAF-APPLIST',
] as const;
export type RegulationId = (typeof REGULATION_IDS)[number];

/** What a rule reports through: a JSON path in the declaration, a message and optionally a specific hint. */
export type LintReport = (path: readonly PathSegment[], message: (lang: LintLang) => string, hint?: (lang: LintLang) => string) => void;

/** A rule as written in `rules/*.ts`. */
export interface LintRuleDef {
  /** Stable key `<REGULATION-ID>/<slug>`. */
  key: string;
  severity: LintSeverity;
  /** One line: what the rule checks. */
  title: LintBilingual;
  /** The law or standard and article (zh and en). */
  citation: LintBilingual;
  /** The default hint how to fix; a finding may carry a more specific one. */
  hint: LintBilingual;
  check: (d: Declaration, report: LintReport) => void;
}

/** A rule as exported (`LINT_RULES`): what the server, the docs and SARIF need. */
export interface LintRule {
  key: string;
  /** The REGULATIONS.md id the rule rests on. */
  id: RegulationId;
  severity: LintSeverity;
  title: LintBilingual;
  citation: LintBilingual;
  hint: LintBilingual;
}

export interface LintFinding {
  /** The rule key, `PIPL-17/retention`. */
  rule: string;
  /** The REGULATIONS.md id, `PIPL-17`. */
  id: RegulationId;
  severity: LintSeverity;
  /** JSON path in the declaration, `$.recipients[1].consent` (may name an absent field). */
  path: string;
  line: number;
  column: number;
  message: string;
  citation: string;
  hint: string;
}

export interface LintSummary {
  error: number;
  warning: number;
  info: number;
}

export interface LintResult {
  findings: LintFinding[];
  summary: LintSummary;
}

export interface LintOptions {
  /** Language of messages, citations and hints; default zh. */
  lang?: LintLang;
}
