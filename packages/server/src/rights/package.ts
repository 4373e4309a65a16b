/**
 * The package a person downloads after an access, copy or portability request (and, without data,
 * after an explanation request): one ZIP with
 *
 * - `package.json`: everything, machine-readable (format `pipa-access-package`, version 1);
 * - `data/vault.csv` and `data/<dataset>/<table>.csv`: one CSV per source (UTF-8 with BOM, RFC 4180);
 * - `report.zh-CN.html` and `report.en.html`: what is held, why (the declared purposes and their
 *   lawful basis), since when, shared with whom, the person's consents and who accessed the data.
 *
 * Pure: the caller collects the data (vault, connectors, consent ledger, audit log) and this module
 * only lays it out.
 */
import { type Declaration, type Text, taxonomyCategory } from '@pipa/policy';
import type { Bilingual, RequestType } from './types.js';
import { type ZipEntry, zip } from './zip.js';

export type Cell = string | number | boolean | null;

export interface CollectedVault {
  fields: { category: string; value: string; since: number | null; updatedAt: number | null }[];
}

export interface CollectedDataset {
  dataset: string;
  tables: { table: string; categories: Readonly<Record<string, string>>; rows: readonly Readonly<Record<string, Cell>>[] }[];
}

export interface ConsentRecord {
  purpose: string;
  recipient: string | null;
  action: string;
  separate: boolean;
  method: string;
  policyVersion: string;
  at: number;
}

export interface AccessRecord {
  at: number;
  actor: string;
  action: string;
  purpose: string | null;
  categories: string[];
  outcome: string;
}

export interface PackageInput {
  request: { id: string; type: RequestType; receivedAt: number };
  generatedAt: number;
  declaration: Declaration;
  policyVersion: string;
  subject: { id: string; kind: string; status: string; createdAt: number };
  /** Absent for an explanation request. */
  vault?: CollectedVault;
  datasets?: readonly CollectedDataset[];
  consents: readonly ConsentRecord[];
  history: readonly AccessRecord[];
}

type Lang = 'zh' | 'en';

function textIn(t: Text | undefined, lang: Lang): string {
  if (t === undefined) return '';
  if (typeof t === 'string') return t;
  return lang === 'en' ? (t.en ?? t.zh) : t.zh;
}

export function categoryLabel(declaration: Declaration, id: string): Bilingual {
  const declared = declaration.categories.find((c) => c.id === id);
  if (declared?.label !== undefined) return { zh: textIn(declared.label, 'zh'), en: textIn(declared.label, 'en') };
  const t = taxonomyCategory(id);
  return t !== undefined ? { zh: t.zh, en: t.en } : { zh: id, en: id };
}

const BASIS: Record<string, Bilingual> = {
  consent: { zh: '个人同意', en: 'Your consent' },
  contract: { zh: '订立、履行合同所必需', en: 'Necessary to conclude or perform a contract with you' },
  'legal-duty': { zh: '履行法定职责或法定义务所必需', en: 'Necessary to fulfil a legal duty or obligation' },
  'public-health-emergency': {
    zh: '应对突发公共卫生事件或保护生命健康和财产安全所必需',
    en: 'Public health emergency or protection of life, health and property',
  },
  'news-public-interest': {
    zh: '为公共利益实施新闻报道、舆论监督',
    en: 'News reporting and public-opinion supervision in the public interest',
  },
  'public-data': { zh: '处理已合法公开的个人信息', en: 'Personal information already lawfully made public' },
  'other-law': { zh: '法律、行政法规规定的其他情形', en: 'Other cases provided by law' },
};

const ACTION: Record<string, Bilingual> = {
  grant: { zh: '同意', en: 'granted' },
  withdraw: { zh: '撤回', en: 'withdrawn' },
  deny: { zh: '拒绝', en: 'refused' },
};

/** What the package says about each held category: where it is and which purposes and recipients use it. */
interface Holding {
  category: string;
  label: Bilingual;
  sources: string[];
  since: number | null;
  purposes: { id: string; name: Bilingual; basis: Bilingual | null }[];
  recipients: { id: string; name: Bilingual; company: Bilingual | null }[];
}

function holdingsOf(input: PackageInput): Holding[] {
  const d = input.declaration;
  const byCategory = new Map<string, { sources: Set<string>; since: number | null }>();
  const add = (category: string, source: string, since: number | null) => {
    let h = byCategory.get(category);
    if (h === undefined) {
      h = { sources: new Set(), since: null };
      byCategory.set(category, h);
    }
    h.sources.add(source);
    if (since !== null && (h.since === null || since < h.since)) h.since = since;
  };
  for (const f of input.vault?.fields ?? []) add(f.category, 'pipa vault', f.since);
  for (const ds of input.datasets ?? []) {
    for (const t of ds.tables) {
      if (t.rows.length === 0) continue;
      for (const [column, category] of Object.entries(t.categories)) add(category, `${ds.dataset}.${t.table}.${column}`, null);
    }
  }
  const out: Holding[] = [];
  for (const [category, h] of [...byCategory.entries()].sort((a, b) => a[0].localeCompare(b[0]))) {
    out.push({
      category,
      label: categoryLabel(d, category),
      sources: [...h.sources].sort(),
      since: h.since ?? input.subject.createdAt,
      purposes: d.purposes
        .filter((p) => p.categories.includes(category))
        .map((p) => ({
          id: p.id,
          name: { zh: textIn(p.name, 'zh'), en: textIn(p.name, 'en') },
          basis: p.basis !== undefined ? (BASIS[p.basis] ?? null) : null,
        })),
      recipients: (d.recipients ?? [])
        .filter((r) => r.categories.includes(category))
        .map((r) => ({
          id: r.id,
          name: { zh: textIn(r.name, 'zh'), en: textIn(r.name, 'en') },
          company: r.company !== undefined ? { zh: textIn(r.company, 'zh'), en: textIn(r.company, 'en') } : null,
        })),
    });
  }
  return out;
}

// ---------------------------------------------------------------- CSV

function csvCell(v: Cell): string {
  if (v === null) return '';
  let s = String(v);
  // A spreadsheet would run a cell that starts with = @ or a sign followed by a formula: keep it text.
  if (typeof v === 'string' && (/^[=@\t\r]/.test(s) || /^[+-](?![\d\s().-]*$)/.test(s))) s = `'${s}`;
  return /[",\r\n]/.test(s) || s !== s.trim() ? `"${s.replaceAll('"', '""')}"` : s;
}

export function toCsv(header: readonly string[], rows: readonly (readonly Cell[])[]): string {
  const lines = [header.map(csvCell).join(','), ...rows.map((r) => r.map(csvCell).join(','))];
  return `\uFEFF${lines.join('\r\n')}\r\n`;
}

// ---------------------------------------------------------------- HTML

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function when(ms: number | null, lang: Lang): string {
  if (ms === null) return lang === 'zh' ? '未知' : 'unknown';
  // China time, to the minute.
  const d = new Date(ms + 8 * 3600_000);
  return `${d.toISOString().slice(0, 16).replace('T', ' ')} (UTC+8)`;
}

const L = {
  title: { zh: '个人信息副本与说明', en: 'Your personal information: copy and explanation' },
  explanationTitle: { zh: '个人信息处理规则说明', en: 'Explanation of how your personal information is processed' },
  intro: {
    zh: '本报告应您的请求生成，列明我们持有的您的个人信息、处理目的和依据、自何时起持有、向谁提供、您的同意记录以及访问记录。机器可读的完整数据见同一压缩包中的 package.json 与 data/ 目录。',
    en: 'This report was produced at your request. It lists the personal information we hold about you, why and on what basis we process it, since when, who it is shared with, your consents and who accessed it. The complete machine-readable data is in package.json and the data/ folder of the same archive.',
  },
  request: { zh: '请求编号', en: 'Request' },
  generated: { zh: '生成时间', en: 'Generated' },
  controller: { zh: '个人信息处理者', en: 'Controller' },
  held: { zh: '我们持有的信息', en: 'What we hold' },
  category: { zh: '类别', en: 'Category' },
  where: { zh: '存放位置', en: 'Where' },
  since: { zh: '自何时起', en: 'Since' },
  why: { zh: '处理目的与依据', en: 'Purposes and basis' },
  sharedWith: { zh: '向谁提供', en: 'Shared with' },
  values: { zh: '具体内容', en: 'The data' },
  value: { zh: '内容', en: 'Value' },
  none: { zh: '无', en: 'None' },
  consents: { zh: '同意记录', en: 'Your consents' },
  purpose: { zh: '目的', en: 'Purpose' },
  recipient: { zh: '接收方', en: 'Recipient' },
  action: { zh: '操作', en: 'Action' },
  time: { zh: '时间', en: 'Time' },
  version: { zh: '政策版本', en: 'Policy version' },
  separate: { zh: '单独同意', en: 'Separate consent' },
  history: { zh: '访问记录', en: 'Who accessed your information' },
  actor: { zh: '访问者', en: 'Who' },
  rules: { zh: '处理规则', en: 'Processing rules' },
  basis: { zh: '法律依据', en: 'Lawful basis' },
  categories: { zh: '涉及的信息', en: 'Information concerned' },
  automated: { zh: '自动化决策', en: 'Automated decision-making' },
  retention: { zh: '保存期限', en: 'Retention' },
  recipients: { zh: '接收方', en: 'Recipients' },
  method: { zh: '提供方式', en: 'How' },
  yes: { zh: '是', en: 'yes' },
  no: { zh: '否', en: 'no' },
  rows: { zh: '行', en: 'rows' },
  unstated: { zh: '政策未说明', en: 'not stated by the policy' },
} satisfies Record<string, Bilingual>;

function table(headers: string[], rows: string[][]): string {
  if (rows.length === 0) return '';
  return `<table><thead><tr>${headers.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows
    .map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join('')}</tr>`)
    .join('')}</tbody></table>`;
}

function actorLabel(actor: string, lang: Lang): string {
  if (actor === 'subject') return lang === 'zh' ? '您本人' : 'you';
  if (actor === 'system' || actor.startsWith('job:')) return lang === 'zh' ? '系统' : 'the system';
  if (actor.startsWith('key_')) return lang === 'zh' ? `应用服务（${actor}）` : `the app's service (${actor})`;
  if (actor.startsWith('user:')) return lang === 'zh' ? `工作人员（${actor.slice(5)}）` : `staff (${actor.slice(5)})`;
  return actor;
}

export function renderReport(input: PackageInput, lang: Lang): string {
  const d = input.declaration;
  const holdings = holdingsOf(input);
  const t = (b: Bilingual) => b[lang];
  const explanationOnly = input.request.type === 'explanation';
  const parts: string[] = [];
  parts.push(`<h1>${esc(t(explanationOnly ? L.explanationTitle : L.title))}</h1>`);
  parts.push(`<p>${esc(t(L.intro))}</p>`);
  parts.push(
    `<dl><dt>${esc(t(L.controller))}</dt><dd>${esc(textIn(d.controller.legalName ?? d.app.name, lang))}</dd><dt>${esc(t(L.request))}</dt><dd>${esc(
      input.request.id,
    )}</dd><dt>${esc(t(L.generated))}</dt><dd>${esc(when(input.generatedAt, lang))}</dd><dt>${esc(t(L.version))}</dt><dd>${esc(
      input.policyVersion,
    )}</dd></dl>`,
  );

  if (!explanationOnly) {
    parts.push(`<h2>${esc(t(L.held))}</h2>`);
    parts.push(
      table(
        [t(L.category), t(L.where), t(L.since), t(L.why), t(L.sharedWith)],
        holdings.map((h) => [
          `${esc(t(h.label))}<br><code>${esc(h.category)}</code>`,
          h.sources.map((s) => `<code>${esc(s)}</code>`).join('<br>'),
          esc(when(h.since, lang)),
          h.purposes.length === 0
            ? esc(t(L.unstated))
            : h.purposes.map((p) => `${esc(t(p.name))}${p.basis !== null ? ` — ${esc(t(p.basis))}` : ''}`).join('<br>'),
          h.recipients.length === 0
            ? esc(t(L.none))
            : h.recipients.map((r) => `${esc(t(r.name))}${r.company !== null ? ` (${esc(t(r.company))})` : ''}`).join('<br>'),
        ]),
      ) || `<p>${esc(t(L.none))}</p>`,
    );

    parts.push(`<h2>${esc(t(L.values))}</h2>`);
    const vaultRows = (input.vault?.fields ?? []).map((f) => [
      esc(t(categoryLabel(d, f.category))),
      `<code>pipa vault</code>`,
      esc(f.value),
    ]);
    const datasetRows: string[][] = [];
    for (const ds of input.datasets ?? []) {
      for (const tb of ds.tables) {
        for (const row of tb.rows) {
          for (const [column, category] of Object.entries(tb.categories)) {
            const v = row[column];
            datasetRows.push([
              esc(t(categoryLabel(d, category))),
              `<code>${esc(`${ds.dataset}.${tb.table}.${column}`)}</code>`,
              esc(v === null || v === undefined ? '' : String(v)),
            ]);
          }
        }
      }
    }
    parts.push(table([t(L.category), t(L.where), t(L.value)], [...vaultRows, ...datasetRows]) || `<p>${esc(t(L.none))}</p>`);
  }

  parts.push(`<h2>${esc(t(L.rules))}</h2>`);
  parts.push(
    table(
      [t(L.purpose), t(L.basis), t(L.categories), t(L.automated), t(L.retention)],
      d.purposes.map((p) => [
        esc(textIn(p.name, lang)),
        esc(p.basis !== undefined ? t(BASIS[p.basis] ?? { zh: p.basis, en: p.basis }) : t(L.unstated)),
        p.categories.map((c) => esc(t(categoryLabel(d, c)))).join('、'),
        esc(p.automatedDecision === true ? t(L.yes) : t(L.no)),
        esc(
          (p.retention ?? [])
            .map((r) => `${r.period ?? ''} ${r.trigger}${r.note !== undefined ? ` (${textIn(r.note, lang)})` : ''}`.trim())
            .join('; ') || t(L.unstated),
        ),
      ]),
    ),
  );
  if ((d.recipients ?? []).length > 0) {
    parts.push(`<h2>${esc(t(L.recipients))}</h2>`);
    parts.push(
      table(
        [t(L.recipient), t(L.purpose), t(L.categories), t(L.method)],
        (d.recipients ?? []).map((r) => [
          `${esc(textIn(r.name, lang))}${r.company !== undefined ? `<br>${esc(textIn(r.company, lang))}` : ''}`,
          esc(r.purposeText !== undefined ? textIn(r.purposeText, lang) : r.purposes.join(', ')),
          r.categories.map((c) => esc(t(categoryLabel(d, c)))).join('、'),
          esc(r.method),
        ]),
      ),
    );
  }

  parts.push(`<h2>${esc(t(L.consents))}</h2>`);
  parts.push(
    table(
      [t(L.time), t(L.purpose), t(L.recipient), t(L.action), t(L.separate), t(L.version)],
      input.consents.map((c) => {
        const purpose = d.purposes.find((p) => p.id === c.purpose);
        const recipient = c.recipient === null ? undefined : (d.recipients ?? []).find((r) => r.id === c.recipient);
        return [
          esc(when(c.at, lang)),
          esc(purpose !== undefined ? textIn(purpose.name, lang) : c.purpose),
          esc(c.recipient === null ? '—' : recipient !== undefined ? textIn(recipient.name, lang) : c.recipient),
          esc(t(ACTION[c.action] ?? { zh: c.action, en: c.action })),
          esc(c.separate ? t(L.yes) : t(L.no)),
          esc(c.policyVersion),
        ];
      }),
    ) || `<p>${esc(t(L.none))}</p>`,
  );

  if (!explanationOnly) {
    parts.push(`<h2>${esc(t(L.history))}</h2>`);
    parts.push(
      table(
        [t(L.time), t(L.actor), t(L.action), t(L.purpose), t(L.categories)],
        input.history.map((h) => [
          esc(when(h.at, lang)),
          esc(actorLabel(h.actor, lang)),
          `<code>${esc(h.action)}</code>${h.outcome !== 'ok' ? ` (${esc(h.outcome)})` : ''}`,
          esc(h.purpose ?? '—'),
          h.categories.map((c) => esc(t(categoryLabel(d, c)))).join('、'),
        ]),
      ) || `<p>${esc(t(L.none))}</p>`,
    );
  }

  const title = esc(t(explanationOnly ? L.explanationTitle : L.title));
  return `<!doctype html>
<html lang="${lang === 'zh' ? 'zh-CN' : 'en'}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${title}</title>
<style>body{font-family:system-ui,-apple-system,"PingFang SC","Microsoft YaHei",sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;line-height:1.5;color:#222}table{border-collapse:collapse;width:100%;margin:.5rem 0 1.5rem}th,td{border:1px solid #ccc;padding:.3rem .5rem;text-align:left;vertical-align:top}th{background:#f3f3f3}code{font-size:.85em}dl{display:grid;grid-template-columns:max-content auto;gap:.2rem 1rem}dt{font-weight:600}</style>
</head><body>
${parts.join('\n')}
</body></html>
`;
}

// ---------------------------------------------------------------- JSON and the archive

function safeName(s: string): string {
  return s.replace(/[^A-Za-z0-9_.-]/g, '_');
}

export function packageJson(input: PackageInput): unknown {
  const d = input.declaration;
  return {
    format: 'pipa-access-package',
    version: 1,
    request: { id: input.request.id, type: input.request.type, receivedAt: new Date(input.request.receivedAt).toISOString() },
    generatedAt: new Date(input.generatedAt).toISOString(),
    controller: { app: d.app.id, name: d.app.name, legalName: d.controller.legalName ?? null },
    policyVersion: input.policyVersion,
    subject: {
      id: input.subject.id,
      kind: input.subject.kind,
      status: input.subject.status,
      since: new Date(input.subject.createdAt).toISOString(),
    },
    holdings: holdingsOf(input).map((h) => ({
      category: h.category,
      label: h.label,
      sources: h.sources,
      since: h.since === null ? null : new Date(h.since).toISOString(),
      purposes: h.purposes.map((p) => p.id),
      recipients: h.recipients.map((r) => r.id),
    })),
    data:
      input.request.type === 'explanation'
        ? null
        : {
            vault: (input.vault?.fields ?? []).map((f) => ({
              category: f.category,
              value: f.value,
              since: f.since === null ? null : new Date(f.since).toISOString(),
              updatedAt: f.updatedAt === null ? null : new Date(f.updatedAt).toISOString(),
            })),
            datasets: (input.datasets ?? []).map((ds) => ({
              dataset: ds.dataset,
              tables: ds.tables.map((t) => ({ table: t.table, categories: t.categories, rows: t.rows })),
            })),
          },
    purposes: d.purposes.map((p) => ({
      id: p.id,
      name: p.name,
      basis: p.basis ?? null,
      categories: p.categories,
      automatedDecision: p.automatedDecision ?? false,
      retention: p.retention ?? [],
    })),
    recipients: (d.recipients ?? []).map((r) => ({
      id: r.id,
      name: r.name,
      company: r.company ?? null,
      kind: r.kind,
      purposes: r.purposes,
      categories: r.categories,
      method: r.method,
    })),
    consents: input.consents.map((c) => ({ ...c, at: new Date(c.at).toISOString() })),
    accessHistory: input.history.map((h) => ({ ...h, at: new Date(h.at).toISOString() })),
  };
}

/** The files of the package (before zipping): for tests and for the archive. */
export function packageFiles(input: PackageInput): ZipEntry[] {
  const files: ZipEntry[] = [{ name: 'package.json', data: `${JSON.stringify(packageJson(input), null, 2)}\n` }];
  if (input.request.type !== 'explanation') {
    files.push({
      name: 'data/vault.csv',
      data: toCsv(
        ['category', 'label_zh', 'label_en', 'value', 'since', 'updated_at'],
        (input.vault?.fields ?? []).map((f) => {
          const label = categoryLabel(input.declaration, f.category);
          return [
            f.category,
            label.zh,
            label.en,
            f.value,
            f.since === null ? null : new Date(f.since).toISOString(),
            f.updatedAt === null ? null : new Date(f.updatedAt).toISOString(),
          ];
        }),
      ),
    });
    for (const ds of input.datasets ?? []) {
      for (const t of ds.tables) {
        const columns = Object.keys(t.categories);
        files.push({
          name: `data/${safeName(ds.dataset)}/${safeName(t.table)}.csv`,
          data: toCsv(
            columns,
            t.rows.map((r) => columns.map((c) => r[c] ?? null)),
          ),
        });
      }
    }
  }
  files.push({ name: 'report.zh-CN.html', data: renderReport(input, 'zh') });
  files.push({ name: 'report.en.html', data: renderReport(input, 'en') });
  return files;
}

export function buildPackage(input: PackageInput): Buffer {
  return zip(packageFiles(input), new Date(input.generatedAt));
}
