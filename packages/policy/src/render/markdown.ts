/**
 * Markdown (CommonMark + GFM tables). Lists become tables; anchors are `<a id>` tags (ids are
 * declaration ids, `[a-z0-9.-]`); every declared string is escaped so that it stays text.
 */
import { documentName } from './document.js';
import { renderFileName } from './html.js';
import type { Block, Inline, RenderDocumentKind, RenderedDocument, RenderLang, Table } from './types.js';

/** Escape text so that Markdown shows it as written (no markup, no HTML, no table breaks). */
export function escapeMarkdown(text: string): string {
  return text.replace(/\r?\n|\r/g, ' ').replace(/[\\`*_[\]<>|#~&!{}]/g, (c) => `\\${c}`);
}

/** Escape the start of a line that Markdown would read as a list item, a heading or a quote. */
function guardLineStart(line: string): string {
  return line.replace(/^(\s*)(\d+)([.)])/, '$1$2\\$3').replace(/^(\s*)([-+=])/, '$1\\$2');
}

function mdHref(href: string): string {
  return href.replace(/[()<>\s]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`);
}

function anchorTag(id: string | undefined): string {
  return id ? `<a id="${id.replace(/[^A-Za-z0-9._-]/g, '')}"></a>` : '';
}

interface MdContext {
  doc: RenderedDocument<unknown>;
  lang: RenderLang;
}

function refHref(ctx: MdContext, document: RenderDocumentKind, target: string | undefined): string {
  const hash = target ? `#${target}` : '';
  if (document === ctx.doc.document) return hash || '#';
  return `${renderFileName(document, 'md')}${hash}`;
}

function inline(ctx: MdContext, runs: readonly Inline[]): string {
  let out = '';
  for (const r of runs) {
    switch (r.type) {
      case 'text':
        out += escapeMarkdown(r.text);
        break;
      case 'strong':
        out += `**${escapeMarkdown(r.text.trim())}**${r.text.endsWith(' ') ? ' ' : ''}`;
        break;
      case 'category':
        out += r.sensitive ? `**${escapeMarkdown(r.text)}**${ctx.lang === 'zh' ? '（敏感）' : ' (sensitive)'}` : escapeMarkdown(r.text);
        break;
      case 'link':
        out += `[${escapeMarkdown(r.text)}](${mdHref(r.href)})`;
        break;
      case 'ref':
        out += `[${escapeMarkdown(r.text)}](${mdHref(refHref(ctx, r.document, r.target))})`;
        break;
      case 'gap':
        out += `*${escapeMarkdown(r.text)}*`;
        break;
      case 'code':
        out += `\`${r.text.replace(/[`\r\n]/g, '')}\``;
        break;
    }
  }
  return out;
}

function table(ctx: MdContext, t: Table): string {
  const lines: string[] = [];
  lines.push(`${anchorTag(t.id)}**${escapeMarkdown(t.caption)}**`, '');
  lines.push(`| ${t.columns.map((c) => escapeMarkdown(c.label)).join(' | ')} |`);
  lines.push(`|${t.columns.map(() => ' --- ').join('|')}|`);
  for (const row of t.rows) {
    const anchors = [row.id, ...(row.anchors ?? [])].map(anchorTag).join('');
    const cells = t.columns.map((c, i) => `${i === 0 ? anchors : ''}${inline(ctx, row.cells[c.key] ?? [])}`);
    lines.push(`| ${cells.join(' | ')} |`);
  }
  return lines.join('\n');
}

function blocks(ctx: MdContext, bs: readonly Block[], level: number): string[] {
  const out: string[] = [];
  for (const b of bs) {
    switch (b.type) {
      case 'paragraph':
        out.push(guardLineStart(inline(ctx, b.content)));
        break;
      case 'list':
        out.push(
          b.items
            .map((item, i) => `${b.ordered ? `${i + 1}.` : '-'} ${anchorTag(item.id)}${guardLineStart(inline(ctx, item.content))}`)
            .join('\n'),
        );
        break;
      case 'table':
        out.push(table(ctx, b.table));
        break;
      case 'section':
        out.push(`${anchorTag(b.id)}\n${'#'.repeat(Math.min(level, 6))} ${escapeMarkdown(b.title)}`);
        out.push(...blocks(ctx, b.blocks, level + 1));
        break;
    }
  }
  return out;
}

export function documentToMarkdown(
  doc: RenderedDocument<unknown>,
  opts: { alternate?: { lang: RenderLang; prefix: string } } = {},
): string {
  const ctx: MdContext = { doc, lang: doc.lang };
  const zh = doc.lang === 'zh';
  const out: string[] = [];
  out.push(`# ${escapeMarkdown(doc.title)}`);
  const nav = (['index', 'policy', 'collection-list', 'sharing-list', 'permissions'] as const).map((kind) =>
    kind === doc.document
      ? `**${escapeMarkdown(documentName(kind, doc.lang))}**`
      : `[${escapeMarkdown(documentName(kind, doc.lang))}](${renderFileName(kind, 'md')})`,
  );
  if (opts.alternate)
    nav.push(
      `[${opts.alternate.lang === 'zh' ? '中文' : 'English'}](${mdHref(`${opts.alternate.prefix}${renderFileName(doc.document, 'md')}`)})`,
    );
  out.push(nav.join(' · '));
  out.push(doc.meta.map((m) => `- **${escapeMarkdown(m.label)}**${zh ? '：' : ': '}${inline(ctx, m.value)}`).join('\n'));
  if (doc.sections.length > 1) {
    const toc = doc.sections.map((s, i) => `${i + 1}. [${escapeMarkdown(s.title)}](#${s.id})`).join('\n');
    out.push(`## ${zh ? '目录' : 'Contents'}\n\n${toc}`);
  }
  for (const s of doc.sections) {
    out.push(`${anchorTag(s.id)}\n## ${escapeMarkdown(s.title)}`);
    out.push(...blocks(ctx, s.blocks, 3));
  }
  out.push(
    `---\n\n${escapeMarkdown(
      zh
        ? `本文件由 pipa 根据${doc.app.name}的隐私政策声明（版本 ${doc.version.version}）生成。`
        : `Generated by pipa from the privacy policy declaration of ${doc.app.name} (version ${doc.version.version}).`,
    )}`,
  );
  return `${out.join('\n\n')}\n`;
}
