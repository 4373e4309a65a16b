/** Output forms of a diff: the fixed JSON shape and a readable text report (zh or en). */
import type { DeclarationDiff, Lang } from './types.js';

export interface DiffJson {
  changes: { kind: string; path: string; material: boolean; summary: string }[];
  reconsent: boolean;
}

/** `{"changes":[{"kind","path","material","summary"}],"reconsent":true|false}` with summaries in one language. */
export function diffToJson(diff: DeclarationDiff, lang: Lang = 'zh'): DiffJson {
  return {
    changes: diff.changes.map((c) => ({ kind: c.kind, path: c.path, material: c.material, summary: c.summary[lang] })),
    reconsent: diff.reconsent,
  };
}

export interface DiffTextOptions {
  lang?: Lang;
  /** Shown in the heading, e.g. the file names or versions. */
  from?: string;
  to?: string;
}

export function formatDiffText(diff: DeclarationDiff, opts: DiffTextOptions = {}): string {
  const lang = opts.lang ?? 'zh';
  const zh = lang === 'zh';
  const lines: string[] = [];
  if (opts.from !== undefined && opts.to !== undefined) lines.push(`${opts.from} → ${opts.to}`);
  if (diff.changes.length === 0) {
    lines.push(zh ? '两个版本之间没有变更。' : 'No changes between the two versions.');
    return `${lines.join('\n')}\n`;
  }
  const material = diff.changes.filter((c) => c.material);
  const editorial = diff.changes.filter((c) => !c.material);
  const section = (title: string, list: typeof diff.changes, mark: string) => {
    if (list.length === 0) return;
    lines.push('', `${title} (${list.length})`);
    for (const c of list) {
      lines.push(`  ${mark} ${c.summary[lang]}`);
      lines.push(`      ${c.kind}  ${c.path}`);
    }
  };
  section(
    zh ? '实质性变更：需要重新征得同意或显著告知' : 'Material changes: consent must be asked again (or prominent notice given)',
    material,
    '!',
  );
  section(zh ? '编辑性变更' : 'Editorial changes', editorial, '·');
  lines.push('');
  if (diff.reconsent) {
    const p = diff.affected.purposes.join(', ') || (zh ? '无' : 'none');
    const r = diff.affected.recipients.join(', ') || (zh ? '无' : 'none');
    lines.push(
      zh
        ? `需要重新征得同意。受影响的目的：${p}；受影响的接收方：${r}`
        : `Re-consent required. Affected purposes: ${p}; affected recipients: ${r}`,
    );
  } else {
    lines.push(zh ? '没有实质性变更，无需重新征得同意。' : 'No material change: no re-consent needed.');
  }
  return `${lines.join('\n')}\n`;
}
