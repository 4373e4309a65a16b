export { lintRulesMarkdown } from './docs.js';
export {
  fileToUri,
  formatLintText,
  type LintJson,
  type LintTextOptions,
  lintToJson,
  lintToSarif,
  type SarifLog,
  type SarifOptions,
} from './format.js';
export { LINT_RULES, lintDeclaration, lintRule, regulationOf } from './lint.js';
export {
  type LintBilingual,
  type LintFinding,
  type LintLang,
  type LintOptions,
  type LintResult,
  type LintRule,
  type LintSeverity,
  type LintSummary,
  REGULATION_IDS,
  type RegulationId,
} from './types.js';
