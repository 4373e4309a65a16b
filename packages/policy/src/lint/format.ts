/** Output forms of a lint: the fixed JSON shape, terminal text and SARIF 2.1.0. */
import { LINT_RULES } from './lint.js';
import type { LintLang, LintResult, LintSeverity } from './types.js';

export interface LintJson {
  findings: {
    rule: string;
    severity: LintSeverity;
    path: string;
    line: number;
    column: number;
    message: string;
    citation: string;
    hint: string;
  }[];
  summary: { error: number; warning: number; info: number };
}

/** `{"findings":[{"rule","severity","path","line","column","message","citation","hint"}],"summary":{"error","warning","info"}}` */
export function lintToJson(result: LintResult): LintJson {
  return {
    findings: result.findings.map((f) => ({
      rule: f.rule,
      severity: f.severity,
      path: f.path,
      line: f.line,
      column: f.column,
      message: f.message,
      citation: f.citation,
      hint: f.hint,
    })),
    summary: { error: result.summary.error, warning: result.summary.warning, info: result.summary.info },
  };
}

export interface LintTextOptions {
  lang?: LintLang;
  /** File name shown before every position; default `<input>`. */
  file?: string;
}

/** `file:line:col severity rule message`, then the hint and the citation indented, then a summary line. */
export function formatLintText(result: LintResult, opts: LintTextOptions = {}): string {
  const lang = opts.lang ?? 'zh';
  const zh = lang === 'zh';
  const file = opts.file ?? '<input>';
  const lines: string[] = [];
  for (const f of result.findings) {
    lines.push(`${file}:${f.line}:${f.column} ${f.severity} ${f.rule} ${f.message}`);
    lines.push(`    ${zh ? '修改建议：' : 'fix: '}${f.hint}`);
    lines.push(`    ${zh ? '依据：' : 'see: '}${f.citation}  (${f.path})`);
  }
  const { error, warning, info } = result.summary;
  if (result.findings.length > 0) lines.push('');
  if (result.findings.length === 0) {
    lines.push(zh ? `${file}：没有发现问题。` : `${file}: no findings.`);
  } else {
    lines.push(
      zh
        ? `${file}：共 ${result.findings.length} 项，错误 ${error}，警告 ${warning}，提示 ${info}。`
        : `${file}: ${result.findings.length} finding(s): ${error} error(s), ${warning} warning(s), ${info} info.`,
    );
  }
  return `${lines.join('\n')}\n`;
}

// ---------------------------------------------------------------------------------------------
// SARIF 2.1.0

export interface SarifOptions {
  lang?: LintLang;
  /** The analysed file as the user named it; relative paths stay relative URIs. */
  file?: string;
  toolVersion?: string;
}

const SARIF_LEVEL: Record<LintSeverity, 'error' | 'warning' | 'note'> = { error: 'error', warning: 'warning', info: 'note' };

/** A file path as a URI reference: relative paths stay relative, absolute ones become file: URIs. */
export function fileToUri(file: string): string {
  const slashed = file.replace(/\\/g, '/');
  const encoded = encodeURI(slashed).replace(/[?#]/g, (c) => encodeURIComponent(c));
  if (/^[A-Za-z]:\//.test(slashed)) return `file:///${encoded}`;
  if (slashed.startsWith('/')) return `file://${encoded}`;
  return encoded;
}

export interface SarifLog {
  $schema: string;
  version: '2.1.0';
  runs: SarifRun[];
}

interface SarifRun {
  tool: {
    driver: {
      name: string;
      informationUri?: string;
      version?: string;
      semanticVersion?: string;
      rules: {
        id: string;
        name: string;
        shortDescription: { text: string };
        fullDescription: { text: string };
        help: { text: string };
        defaultConfiguration: { level: 'error' | 'warning' | 'note' };
        properties: { regulation: string; citation: string; tags: string[] };
      }[];
    };
  };
  columnKind: 'utf16CodeUnits';
  artifacts: { location: { uri: string } }[];
  results: {
    ruleId: string;
    ruleIndex: number;
    level: 'error' | 'warning' | 'note';
    message: { text: string };
    locations: {
      physicalLocation: { artifactLocation: { uri: string; index: number }; region: { startLine: number; startColumn: number } };
      logicalLocations: { fullyQualifiedName: string; kind: string }[];
    }[];
    properties: { path: string; citation: string; hint: string };
  }[];
}

function ruleName(key: string): string {
  // SARIF `name` is an identifier-like label: `PIPL-17/retention` -> `Pipl17Retention`.
  return key
    .split(/[^A-Za-z0-9]+/)
    .filter((s) => s.length > 0)
    .map((s) => s.charAt(0).toUpperCase() + s.slice(1).toLowerCase())
    .join('');
}

export function lintToSarif(result: LintResult, opts: SarifOptions = {}): SarifLog {
  const lang = opts.lang ?? 'zh';
  const uri = fileToUri(opts.file ?? '<input>');
  const index = new Map(LINT_RULES.map((r, i) => [r.key, i]));
  return {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'pipa',
            ...(opts.toolVersion ? { version: opts.toolVersion, semanticVersion: opts.toolVersion } : {}),
            rules: LINT_RULES.map((r) => ({
              id: r.key,
              name: ruleName(r.key),
              shortDescription: { text: r.title[lang] },
              fullDescription: { text: `${r.title[lang]} — ${r.citation[lang]}` },
              help: { text: r.hint[lang] },
              defaultConfiguration: { level: SARIF_LEVEL[r.severity] },
              properties: { regulation: r.id, citation: r.citation[lang], tags: [r.id, 'privacy'] },
            })),
          },
        },
        columnKind: 'utf16CodeUnits',
        artifacts: [{ location: { uri } }],
        results: result.findings.map((f) => ({
          ruleId: f.rule,
          ruleIndex: index.get(f.rule) ?? -1,
          level: SARIF_LEVEL[f.severity],
          message: { text: f.message },
          locations: [
            {
              physicalLocation: { artifactLocation: { uri, index: 0 }, region: { startLine: f.line, startColumn: f.column } },
              logicalLocations: [{ fullyQualifiedName: f.path, kind: 'member' }],
            },
          ],
          properties: { path: f.path, citation: f.citation, hint: f.hint },
        })),
      },
    ],
  };
}
