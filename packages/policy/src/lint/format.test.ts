import { describe, expect, it } from 'vitest';
import { loadDeclaration } from '../load.js';
import { fileToUri, formatLintText, lintToJson, lintToSarif } from './format.js';
import { LINT_RULES, lintDeclaration } from './lint.js';

const TEXT = `pipa: 1
app:
  id: demo
  name: 演示
  products:
    - name: 演示
      platforms: [android]
  type: none
controller:
  legalName: 演示科技有限公司
  phone: ["400-000-0000"]
versions:
  - version: "1.0"
    effective: 2025-01-01
consent:
  impliedByUse: true
categories:
  - id: contact.phone
purposes:
  - id: account
    name: 账号
    categories: [contact.phone]
recipients:
  - id: stats
    name: 统计SDK
    kind: sdk
    purposes: [account]
    categories: [contact.phone]
    method: sdk
    consent: bundled
`;

const loaded = loadDeclaration(TEXT, 'demo/policy.yaml');
const result = lintDeclaration(loaded);

describe('lintToJson', () => {
  it('has exactly the documented shape', () => {
    const json = lintToJson(result);
    expect(Object.keys(json)).toEqual(['findings', 'summary']);
    expect(Object.keys(json.summary)).toEqual(['error', 'warning', 'info']);
    expect(json.findings.length).toBe(result.findings.length);
    for (const f of json.findings) {
      expect(Object.keys(f)).toEqual(['rule', 'severity', 'path', 'line', 'column', 'message', 'citation', 'hint']);
    }
    expect(json.summary.error).toBe(json.findings.filter((f) => f.severity === 'error').length);
    expect(json.summary.warning + json.summary.info + json.summary.error).toBe(json.findings.length);
    // It survives a JSON round trip unchanged (no undefined, no class instances).
    expect(JSON.parse(JSON.stringify(json))).toEqual(json);
  });
});

describe('formatLintText', () => {
  it('writes file:line:col severity rule message, the hint, and a summary', () => {
    const text = formatLintText(result, { file: 'demo/policy.yaml' });
    expect(text).toContain(
      'demo/policy.yaml:16:17 error PIPL-14/implied-consent 政策规定使用服务即视为同意：同意须在充分知情的前提下自愿、明确作出，使用行为本身不构成同意。\n    修改建议：删除“使用即视为同意”的条款',
    );
    const lines = text.trimEnd().split('\n');
    const { error, warning, info } = result.summary;
    expect(lines.at(-1)).toBe(`demo/policy.yaml：共 ${result.findings.length} 项，错误 ${error}，警告 ${warning}，提示 ${info}。`);
    const heads = lines.filter((l) => l.startsWith('demo/policy.yaml:'));
    expect(heads).toHaveLength(result.findings.length);
    for (const h of heads) expect(h).toMatch(/^demo\/policy\.yaml:\d+:\d+ (error|warning|info) [A-Z0-9.-]+\/[a-z0-9-]+ \S/);
  });

  it('speaks English on request and says so when there is nothing to report', () => {
    const en = lintDeclaration(loaded, { lang: 'en' });
    const text = formatLintText(en, { lang: 'en', file: 'x.yaml' });
    expect(text).toContain('    fix: ');
    expect(text).toMatch(/x\.yaml: \d+ finding\(s\): \d+ error\(s\), \d+ warning\(s\), \d+ info\.\n$/);
    expect(formatLintText({ findings: [], summary: { error: 0, warning: 0, info: 0 } }, { lang: 'en', file: 'x.yaml' })).toBe(
      'x.yaml: no findings.\n',
    );
    expect(formatLintText({ findings: [], summary: { error: 0, warning: 0, info: 0 } }, { file: 'x.yaml' })).toBe(
      'x.yaml：没有发现问题。\n',
    );
  });
});

/** Structural checks of SARIF 2.1.0 (the parts of the schema that pipa fills in). */
function checkSarif(log: unknown): string[] {
  const errors: string[] = [];
  const isObj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
  const text = (v: unknown, where: string) => {
    if (!isObj(v) || typeof v.text !== 'string' || v.text.length === 0) errors.push(`${where} must be a message object with text`);
  };
  if (!isObj(log)) return ['log is not an object'];
  if (typeof log.$schema !== 'string' || !/sarif-2\.1\.0/.test(log.$schema)) errors.push('$schema must name SARIF 2.1.0');
  if (log.version !== '2.1.0') errors.push('version must be "2.1.0"');
  if (!Array.isArray(log.runs) || log.runs.length === 0) return [...errors, 'runs must be a non-empty array'];
  log.runs.forEach((run: unknown, r) => {
    if (!isObj(run) || !isObj(run.tool) || !isObj(run.tool.driver)) {
      errors.push(`runs[${r}].tool.driver missing`);
      return;
    }
    const driver = run.tool.driver;
    if (typeof driver.name !== 'string' || driver.name.length === 0) errors.push('driver.name must be a string');
    const rules = Array.isArray(driver.rules) ? driver.rules : [];
    if (rules.length === 0) errors.push('driver.rules must list the rules');
    const ids = new Set<string>();
    rules.forEach((rule: unknown, i) => {
      if (!isObj(rule) || typeof rule.id !== 'string') {
        errors.push(`rules[${i}].id missing`);
        return;
      }
      if (ids.has(rule.id)) errors.push(`rules[${i}].id "${rule.id}" duplicated`);
      ids.add(rule.id);
      text(rule.shortDescription, `rules[${i}].shortDescription`);
      if (typeof rule.helpUri !== 'string') text(rule.fullDescription, `rules[${i}].fullDescription (or helpUri)`);
      const level = isObj(rule.defaultConfiguration) ? rule.defaultConfiguration.level : undefined;
      if (!['none', 'note', 'warning', 'error'].includes(String(level))) errors.push(`rules[${i}].defaultConfiguration.level invalid`);
    });
    if (!Array.isArray(run.results)) {
      errors.push(`runs[${r}].results must be an array`);
      return;
    }
    run.results.forEach((res: unknown, i) => {
      if (!isObj(res)) {
        errors.push(`results[${i}] not an object`);
        return;
      }
      if (typeof res.ruleId !== 'string' || !ids.has(res.ruleId)) errors.push(`results[${i}].ruleId must name a rule of the driver`);
      if (typeof res.ruleIndex === 'number' && (rules[res.ruleIndex] as { id?: string } | undefined)?.id !== res.ruleId)
        errors.push(`results[${i}].ruleIndex does not point at its rule`);
      if (!['none', 'note', 'warning', 'error'].includes(String(res.level))) errors.push(`results[${i}].level invalid`);
      text(res.message, `results[${i}].message`);
      const loc = Array.isArray(res.locations) ? res.locations[0] : undefined;
      const phys = isObj(loc) ? loc.physicalLocation : undefined;
      if (!isObj(phys) || !isObj(phys.artifactLocation) || typeof phys.artifactLocation.uri !== 'string') {
        errors.push(`results[${i}].locations[0].physicalLocation.artifactLocation.uri missing`);
        return;
      }
      const region = phys.region;
      if (!isObj(region) || !Number.isInteger(region.startLine) || (region.startLine as number) < 1)
        errors.push(`results[${i}] region.startLine must be an integer >= 1`);
      if (!isObj(region) || !Number.isInteger(region.startColumn) || (region.startColumn as number) < 1)
        errors.push(`results[${i}] region.startColumn must be an integer >= 1`);
    });
  });
  return errors;
}

describe('lintToSarif', () => {
  it('is a structurally valid SARIF 2.1.0 log with every rule and one result per finding', () => {
    const sarif = lintToSarif(result, { file: 'demo/policy.yaml', toolVersion: '0.1.0' });
    const parsed: unknown = JSON.parse(JSON.stringify(sarif));
    expect(checkSarif(parsed)).toEqual([]);
    const run = sarif.runs[0];
    expect(run?.tool.driver.rules.map((r) => r.id)).toEqual(LINT_RULES.map((r) => r.key));
    expect(run?.results).toHaveLength(result.findings.length);
    const implied = run?.results.find((r) => r.ruleId === 'PIPL-14/implied-consent');
    expect(implied?.level).toBe('error');
    expect(implied?.locations[0]?.physicalLocation).toEqual({
      artifactLocation: { uri: 'demo/policy.yaml', index: 0 },
      region: { startLine: 16, startColumn: 17 },
    });
    expect(implied?.locations[0]?.logicalLocations[0]?.fullyQualifiedName).toBe('$.consent.impliedByUse');
    expect(run?.tool.driver.rules.find((r) => r.id === 'GBT-9.7/contract-unstated')?.defaultConfiguration.level).toBe('note');
  });

  it('the checker itself rejects broken logs', () => {
    const sarif = JSON.parse(JSON.stringify(lintToSarif(result, { file: 'a.yaml' })));
    sarif.version = '2.0.0';
    sarif.runs[0].results[0].ruleId = 'NOPE/x';
    delete sarif.runs[0].results[1].locations[0].physicalLocation.region.startLine;
    delete sarif.runs[0].tool.driver.rules[0].shortDescription;
    const errors = checkSarif(sarif);
    expect(errors).toContain('version must be "2.1.0"');
    expect(errors).toContain('results[0].ruleId must name a rule of the driver');
    expect(errors).toContain('results[1] region.startLine must be an integer >= 1');
    expect(errors).toContain('rules[0].shortDescription must be a message object with text');
  });

  it('turns file paths into URI references', () => {
    expect(fileToUri('examples/小票票/policy.yaml')).toBe('examples/%E5%B0%8F%E7%A5%A8%E7%A5%A8/policy.yaml');
    expect(fileToUri('/srv/app/policy #1.yaml')).toBe('file:///srv/app/policy%20%231.yaml');
    expect(fileToUri('C:\\work\\policy.yaml')).toBe('file:///C:/work/policy.yaml');
  });
});
