/**
 * The scan report: findings compared with the declaration, and its four renderings (text, JSON,
 * SARIF 2.1.0, standalone HTML).
 */
import { DETECTOR_LABELS, type DetectorType } from '@pipa/detect';
import { type Declaration, taxonomyCategory } from '@pipa/policy';
import type { FindingGroup, TargetResult } from './types.js';

export type PolicyRule = 'undeclared' | 'unencrypted';

export interface PolicyFinding {
  rule: PolicyRule;
  category: string;
  /** Where it was found: `target` and `field`. */
  locations: { target: string; field?: string; type: DetectorType; count: number }[];
  message: { zh: string; en: string };
}

export interface ScanReport {
  version: 1;
  policy?: string;
  targets: TargetResult[];
  findings: PolicyFinding[];
  summary: {
    targets: number;
    scanned: number;
    skipped: number;
    errors: number;
    detections: number;
    categories: string[];
    undeclared: number;
    unencrypted: number;
  };
}

function categoryLabel(id: string): string {
  const t = taxonomyCategory(id);
  return t ? `${t.zh} (${id})` : id;
}

/** Is `category` declared as encrypted at rest (per category, or by the security section's scope)? */
export function declaredEncrypted(decl: Declaration, category: string): boolean {
  const c = decl.categories.find((x) => x.id === category);
  if (c?.encrypted === true) return true;
  if (c?.encrypted === false) return false;
  const scope = decl.security?.encryptionAtRest?.scope;
  if (!scope) return false;
  if (scope === 'all') return true;
  if (scope === 'sensitive') return isSensitive(decl, category);
  return scope.includes(category);
}

export function isSensitive(decl: Declaration | undefined, category: string): boolean {
  const c = decl?.categories.find((x) => x.id === category);
  return c?.sensitive === true || taxonomyCategory(category)?.sensitive === true;
}

/** Compare findings with the declaration; without one, every category found is undeclared. */
export function compareWithPolicy(targets: readonly TargetResult[], decl: Declaration | undefined): PolicyFinding[] {
  const byCat = new Map<string, PolicyFinding['locations']>();
  for (const t of targets) {
    for (const g of t.groups) {
      const list = byCat.get(g.category) ?? [];
      list.push({ target: t.target, ...(g.field !== undefined ? { field: g.field } : {}), type: g.type, count: g.count });
      byCat.set(g.category, list);
    }
  }
  const declared = new Set(decl?.categories.map((c) => c.id) ?? []);
  const out: PolicyFinding[] = [];
  for (const [category, locations] of [...byCat].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
    const label = categoryLabel(category);
    if (!declared.has(category)) {
      out.push({
        rule: 'undeclared',
        category,
        locations,
        message: decl
          ? { zh: `发现未在声明中列出的个人信息：${label}`, en: `personal information not in the declaration: ${category}` }
          : { zh: `发现个人信息（未提供声明）：${label}`, en: `personal information found (no declaration given): ${category}` },
      });
    } else if (decl && isSensitive(decl, category) && declaredEncrypted(decl, category)) {
      out.push({
        rule: 'unencrypted',
        category,
        locations,
        message: {
          zh: `声明为加密存储的敏感个人信息以明文存在：${label}`,
          en: `sensitive personal information declared as encrypted at rest is stored in plain text: ${category}`,
        },
      });
    }
  }
  return out;
}

export function buildReport(targets: TargetResult[], decl: Declaration | undefined, policyFile: string | undefined): ScanReport {
  const findings = compareWithPolicy(targets, decl);
  const cats = new Set<string>();
  let detections = 0;
  for (const t of targets)
    for (const g of t.groups) {
      cats.add(g.category);
      detections += g.count;
    }
  return {
    version: 1,
    ...(policyFile ? { policy: policyFile } : {}),
    targets,
    findings,
    summary: {
      targets: targets.length,
      scanned: targets.filter((t) => t.status === 'scanned').length,
      skipped: targets.filter((t) => t.status === 'skipped').length,
      errors: targets.filter((t) => t.status === 'error').length,
      detections,
      categories: [...cats].sort(),
      undeclared: findings.filter((f) => f.rule === 'undeclared').length,
      unencrypted: findings.filter((f) => f.rule === 'unencrypted').length,
    },
  };
}

function where(t: TargetResult, g: FindingGroup): string {
  if (g.field !== undefined) return g.line !== undefined ? `${g.field} (第 ${g.line} 行起 / from line ${g.line})` : g.field;
  return g.line !== undefined ? `${t.target}:${g.line}:${g.column ?? 1}` : '';
}

export function renderText(r: ScanReport): string {
  const lines: string[] = [];
  for (const t of r.targets) {
    if (t.status === 'skipped') {
      lines.push(`${t.target}: 已跳过 / skipped — ${t.message ?? ''}`);
      continue;
    }
    if (t.status === 'error') {
      lines.push(`${t.target}: 错误 / error — ${t.message ?? ''}`);
      continue;
    }
    for (const w of t.warnings) lines.push(`${t.target}: 警告 / warning — ${w}`);
    if (t.groups.length === 0) continue;
    lines.push(t.target);
    for (const g of [...t.groups].sort((a, b) => (a.field ?? '').localeCompare(b.field ?? '') || b.count - a.count)) {
      const label = DETECTOR_LABELS[g.type];
      const w = where(t, g);
      lines.push(
        `  ${label.zh} / ${label.en} [${g.category}] ×${g.count}  置信度 / confidence ${g.meanScore.toFixed(2)} (max ${g.maxScore.toFixed(2)})  例 / e.g. ${g.examples.join(', ')}${w ? `  @ ${w}` : ''}`,
      );
    }
  }
  if (r.findings.length > 0) {
    lines.push(
      '',
      r.policy ? `与声明 ${r.policy} 比较 / compared with ${r.policy}:` : '未提供声明（--policy）/ no declaration given (--policy):',
    );
    for (const f of r.findings) {
      const rule = f.rule === 'undeclared' ? '未声明 / undeclared' : '未加密 / unencrypted';
      const n = f.locations.reduce((s, l) => s + l.count, 0);
      const m = new Set(f.locations.map((l) => l.target)).size;
      lines.push(`  [${rule}] ${f.message.zh} / ${f.message.en} — 共 ${n} 处，${m} 个目标 / ${n} occurrences in ${m} targets`);
    }
  }
  const s = r.summary;
  lines.push(
    '',
    `扫描 ${s.scanned}/${s.targets} 个目标，跳过 ${s.skipped}，错误 ${s.errors}；发现 ${s.detections} 处个人信息（${s.categories.length} 类），未声明 ${s.undeclared} 类，未加密 ${s.unencrypted} 类`,
    `scanned ${s.scanned}/${s.targets} targets, ${s.skipped} skipped, ${s.errors} errors; ${s.detections} detections in ${s.categories.length} categories, ${s.undeclared} undeclared, ${s.unencrypted} unencrypted`,
  );
  return `${lines.join('\n')}\n`;
}

export function renderJson(r: ScanReport): string {
  return `${JSON.stringify(r, null, 2)}\n`;
}

const SARIF_SCHEMA = 'https://json.schemastore.org/sarif-2.1.0.json';

/** SARIF 2.1.0: one result per finding group (`pii/<type>`, note) and per policy finding (error). */
export function renderSarif(r: ScanReport, toolVersion: string): string {
  const types = new Set<DetectorType>();
  for (const t of r.targets) for (const g of t.groups) types.add(g.type);
  const rules = [
    ...[...types].sort().map((t) => ({
      id: `pii/${t}`,
      name: t,
      shortDescription: { text: `${DETECTOR_LABELS[t].zh} / ${DETECTOR_LABELS[t].en}` },
      defaultConfiguration: { level: 'note' },
    })),
    {
      id: 'policy/undeclared',
      name: 'undeclared-collection',
      shortDescription: { text: '未声明的个人信息 / personal information not in the declaration' },
      defaultConfiguration: { level: 'error' },
    },
    {
      id: 'policy/unencrypted',
      name: 'unencrypted-sensitive',
      shortDescription: { text: '声明加密却以明文存储的敏感个人信息 / sensitive PI declared encrypted but stored in plain text' },
      defaultConfiguration: { level: 'error' },
    },
  ];
  const isFile = (t: TargetResult) =>
    t.kind === 'text' || t.kind === 'csv' || t.kind === 'json' || t.kind === 'ndjson' || t.kind === 'binary';
  const location = (t: TargetResult, g?: { field?: string; line?: number; column?: number }) => {
    const loc: Record<string, unknown> = {};
    if (isFile(t) || t.kind === 'sqlite') {
      const physical: Record<string, unknown> = { artifactLocation: { uri: t.target.split('\\').join('/') } };
      if (g?.line !== undefined) physical.region = { startLine: g.line, ...(g.column !== undefined ? { startColumn: g.column } : {}) };
      loc.physicalLocation = physical;
    }
    if (g?.field !== undefined || !(isFile(t) || t.kind === 'sqlite')) {
      loc.logicalLocations = [
        {
          fullyQualifiedName: g?.field !== undefined ? `${t.target}#${g.field}` : t.target,
          kind: t.kind === 'sqlite' || t.kind === 'postgres' || t.kind === 'mysql' ? 'column' : 'member',
        },
      ];
    }
    return loc;
  };
  const results: unknown[] = [];
  for (const t of r.targets) {
    for (const g of t.groups) {
      results.push({
        ruleId: `pii/${g.type}`,
        level: 'note',
        message: {
          text: `${DETECTOR_LABELS[g.type].zh} / ${DETECTOR_LABELS[g.type].en} ×${g.count} (${g.category}); e.g. ${g.examples.join(', ')}`,
        },
        locations: [location(t, g)],
        properties: { category: g.category, count: g.count, meanScore: g.meanScore, maxScore: g.maxScore },
      });
    }
  }
  const byTarget = new Map(r.targets.map((t) => [t.target, t]));
  for (const f of r.findings) {
    results.push({
      ruleId: `policy/${f.rule}`,
      level: 'error',
      message: { text: `${f.message.zh} / ${f.message.en}` },
      locations: f.locations.slice(0, 50).map((l) => {
        const t = byTarget.get(l.target) as TargetResult;
        const g = t.groups.find((x) => x.type === l.type && x.field === l.field);
        return location(t, g);
      }),
      properties: { category: f.category },
    });
  }
  const sarif = {
    $schema: SARIF_SCHEMA,
    version: '2.1.0',
    runs: [{ tool: { driver: { name: 'pipa scan', version: toolVersion, rules } }, results }],
  };
  return `${JSON.stringify(sarif, null, 2)}\n`;
}

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);
}

/** A standalone HTML page (no external resources). */
export function renderHtml(r: ScanReport, generatedAt: string): string {
  const s = r.summary;
  const rows: string[] = [];
  for (const t of r.targets) {
    if (t.status !== 'scanned') {
      rows.push(
        `<tr class="${t.status}"><td>${esc(t.target)}</td><td colspan="6">${t.status === 'error' ? '错误 / error' : '已跳过 / skipped'}: ${esc(t.message ?? '')}</td></tr>`,
      );
      continue;
    }
    for (const g of t.groups) {
      rows.push(
        `<tr><td>${esc(t.target)}</td><td>${esc(g.field ?? (g.line !== undefined ? `${g.line}:${g.column ?? 1}` : ''))}</td><td>${esc(DETECTOR_LABELS[g.type].zh)} / ${esc(DETECTOR_LABELS[g.type].en)}</td><td><code>${esc(g.category)}</code></td><td class="n">${g.count}</td><td class="n">${g.meanScore.toFixed(2)}</td><td>${g.examples.map((e) => `<code>${esc(e)}</code>`).join(' ')}</td></tr>`,
      );
    }
  }
  const findings = r.findings
    .map(
      (f) =>
        `<li class="${f.rule}"><strong>${f.rule === 'undeclared' ? '未声明 / undeclared' : '未加密 / unencrypted'}</strong> ${esc(f.message.zh)} / ${esc(f.message.en)} <span>(${f.locations
          .slice(0, 10)
          .map((l) => esc(l.field ? `${l.target}#${l.field}` : l.target))
          .join(', ')}${f.locations.length > 10 ? ' …' : ''})</span></li>`,
    )
    .join('\n');
  const warnings = r.targets
    .flatMap((t) => t.warnings)
    .map((w) => `<li>${esc(w)}</li>`)
    .join('\n');
  return `<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>pipa scan — 个人信息发现报告 / personal information discovery report</title>
<style>
body{font:14px/1.5 system-ui,-apple-system,"PingFang SC","Microsoft YaHei",sans-serif;margin:2rem;color:#1f2328}
h1{font-size:1.4rem}table{border-collapse:collapse;width:100%}th,td{border:1px solid #d0d7de;padding:.3rem .5rem;text-align:left;vertical-align:top}
th{background:#f6f8fa}td.n{text-align:right}tr.error td{background:#ffebe9}tr.skipped td{color:#656d76}
li.undeclared,li.unencrypted{color:#a40e26}code{font-family:ui-monospace,monospace}.summary{display:flex;gap:1.5rem;flex-wrap:wrap}
.summary div{background:#f6f8fa;border-radius:6px;padding:.5rem 1rem}
</style>
</head>
<body>
<h1>个人信息发现报告 / Personal information discovery report</h1>
<p>${esc(generatedAt)}${r.policy ? ` · 声明 / declaration: <code>${esc(r.policy)}</code>` : ''}</p>
<div class="summary">
<div>目标 / targets: ${s.scanned}/${s.targets}</div><div>跳过 / skipped: ${s.skipped}</div><div>错误 / errors: ${s.errors}</div>
<div>发现 / detections: ${s.detections}</div><div>类别 / categories: ${s.categories.length}</div>
<div>未声明 / undeclared: ${s.undeclared}</div><div>未加密 / unencrypted: ${s.unencrypted}</div>
</div>
<h2>与声明比较 / Compared with the declaration</h2>
<ul>${findings || '<li>无 / none</li>'}</ul>
<h2>发现 / Findings</h2>
<table><thead><tr><th>目标 / target</th><th>位置 / where</th><th>类型 / type</th><th>类别 / category</th><th>数量 / count</th><th>置信度 / confidence</th><th>示例（已脱敏）/ examples (masked)</th></tr></thead>
<tbody>
${rows.join('\n')}
</tbody></table>
${warnings ? `<h2>警告 / Warnings</h2><ul>${warnings}</ul>` : ''}
</body>
</html>
`;
}
