/**
 * HTML: one standalone page per document. Inline CSS only (no scripts, fonts or external assets; a
 * Content-Security-Policy meta says so to the browser), mobile-first (tables scroll, and stack into
 * labelled cards on narrow screens), accessible (lang, one h1, heading levels by depth, table
 * captions and header scopes, a skip link, a table of contents, contrast above 4.5:1, sensitive
 * information marked with text, not colour alone). Every declared string is escaped.
 */
import { documentName } from './document.js';
import type { Block, Inline, RenderDocumentKind, RenderedDocument, RenderLang, Section, Table } from './types.js';

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escape text for HTML content and attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);
}

export function htmlLang(lang: RenderLang): string {
  return lang === 'zh' ? 'zh-CN' : 'en';
}

export function renderFileName(kind: RenderDocumentKind, format: 'html' | 'md' | 'json'): string {
  return `${kind}.${format}`;
}

/** The stylesheet of every page (also used by the site index). */
export const RENDER_CSS = `
:root{--fg:#1b1b1b;--muted:#4a4f57;--bg:#fff;--line:#c5cad1;--head:#eef1f5;--link:#0a4fb4;--gap-bg:#fff3c4;--gap-fg:#4a3600;--gap-line:#8a6a00;--sens-fg:#8b0000;--sens-bg:#fdeaea}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%;text-size-adjust:100%}
body{margin:0;background:var(--bg);color:var(--fg);font:16px/1.7 system-ui,-apple-system,"PingFang SC","Hiragino Sans GB","Microsoft YaHei","Noto Sans CJK SC",sans-serif}
.page{max-width:72rem;margin:0 auto;padding:1rem 1.25rem 3rem}
a{color:var(--link);text-underline-offset:.15em}
a:focus-visible,[tabindex]:focus-visible{outline:3px solid var(--link);outline-offset:2px}
.skip-link{position:absolute;left:.5rem;top:-10rem;background:var(--fg);color:#fff;padding:.5rem 1rem;z-index:10}
.skip-link:focus{top:.5rem;color:#fff}
.doc-nav ul{list-style:none;margin:0;padding:0;display:flex;flex-wrap:wrap;gap:.25rem 1rem;font-size:.95rem}
.doc-nav [aria-current=page]{font-weight:700;color:var(--fg);text-decoration:none}
h1{font-size:1.75rem;line-height:1.3;margin:1rem 0 .5rem}
h2{font-size:1.35rem;line-height:1.35;margin:2rem 0 .75rem;padding-bottom:.25rem;border-bottom:2px solid var(--line)}
h3{font-size:1.15rem;margin:1.5rem 0 .5rem}
h4,h5,h6{font-size:1.05rem;margin:1.25rem 0 .5rem}
.meta{display:flex;flex-wrap:wrap;gap:.25rem 1.5rem;margin:0 0 1rem;color:var(--muted)}
.meta div{display:flex;gap:.5rem}.meta dt{font-weight:600}.meta dd{margin:0}
.toc{border:1px solid var(--line);border-radius:6px;padding:.5rem 1.25rem;margin:1rem 0}
.toc h2{border:0;margin:.5rem 0;font-size:1.1rem}
.toc ol{margin:.25rem 0 .5rem;padding-left:1.25rem}
.gap{font-style:normal;background:var(--gap-bg);color:var(--gap-fg);border-bottom:2px dotted var(--gap-line);padding:0 .2em}
.pi-sensitive{font-weight:700}
.mark-sensitive{display:inline-block;margin:0 .25em;padding:0 .35em;font-size:.8em;line-height:1.5;font-weight:700;color:var(--sens-fg);background:var(--sens-bg);border:1px solid var(--sens-fg);border-radius:3px}
.vh{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);clip-path:inset(50%);white-space:nowrap}
code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.85em;overflow-wrap:anywhere;background:var(--head);padding:0 .2em;border-radius:3px}
.table-wrap{overflow-x:auto;margin:1rem 0;border:1px solid var(--line);border-radius:6px}
table{border-collapse:collapse;width:100%;min-width:36rem}
caption{text-align:left;font-weight:700;padding:.5rem .75rem}
th,td{border-top:1px solid var(--line);padding:.5rem .75rem;text-align:left;vertical-align:top;overflow-wrap:anywhere}
thead th{background:var(--head);white-space:nowrap}
tbody th{font-weight:600}
tr:target,li:target,section:target>h3,section:target>h4{background:#e7f0ff}
footer{margin-top:3rem;padding-top:1rem;border-top:1px solid var(--line);color:var(--muted);font-size:.9rem}
@media (max-width:40rem){
.page{padding:.75rem .9rem 2rem}
h1{font-size:1.45rem}
.table-wrap{border:0;overflow:visible}
table{min-width:0}
table,thead,tbody,tr,th,td{display:block}
thead tr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);clip-path:inset(50%)}
tbody tr{border:1px solid var(--line);border-radius:6px;margin:.75rem 0;padding:.25rem 0}
tbody th,tbody td{border:0;padding:.3rem .75rem}
tbody th{background:var(--head)}
tbody td::before,tbody th::before{content:attr(data-label);display:block;font-size:.85rem;font-weight:600;color:var(--muted)}
}
@media print{.skip-link,.doc-nav,.toc{display:none}a{color:inherit}}
`
  .trim()
  .replace(/\n/g, '');

const CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'";

export interface HtmlPageOptions {
  lang: RenderLang;
  title: string;
  /** Already-escaped HTML of the page body (inside `.page`, after the skip link). */
  body: string;
  /** `<link rel="alternate">` targets: already relative, escaped here. */
  alternates?: { lang: RenderLang; href: string }[];
}

/** A complete standalone page around a body. */
export function renderHtmlPage(o: HtmlPageOptions): string {
  const alt = (o.alternates ?? [])
    .map((a) => `<link rel="alternate" hreflang="${htmlLang(a.lang)}" href="${escapeHtml(a.href)}">`)
    .join('');
  return (
    `<!doctype html>\n<html lang="${htmlLang(o.lang)}">\n<head>\n<meta charset="utf-8">\n` +
    `<meta name="viewport" content="width=device-width, initial-scale=1">\n` +
    `<meta http-equiv="Content-Security-Policy" content="${CSP}">\n` +
    `<meta name="generator" content="pipa">\n<meta name="referrer" content="no-referrer">\n` +
    `<title>${escapeHtml(o.title)}</title>\n${alt}<style>${RENDER_CSS}</style>\n</head>\n<body>\n` +
    `<a class="skip-link" href="#main">${o.lang === 'zh' ? '跳到正文' : 'Skip to content'}</a>\n<div class="page">\n${o.body}\n</div>\n</body>\n</html>\n`
  );
}

interface HtmlContext {
  doc: RenderedDocument<unknown>;
  lang: RenderLang;
}

function langAttr(ctx: HtmlContext, lang: RenderLang | undefined): string {
  return lang && lang !== ctx.lang ? ` lang="${htmlLang(lang)}"` : '';
}

function refHref(ctx: HtmlContext, document: RenderDocumentKind, target: string | undefined): string {
  const hash = target ? `#${target}` : '';
  if (document === ctx.doc.document) return hash || '#main';
  return `${renderFileName(document, 'html')}${hash}`;
}

function inline(ctx: HtmlContext, runs: readonly Inline[]): string {
  let out = '';
  for (const r of runs) {
    switch (r.type) {
      case 'text':
        out += r.lang && r.lang !== ctx.lang ? `<span${langAttr(ctx, r.lang)}>${escapeHtml(r.text)}</span>` : escapeHtml(r.text);
        break;
      case 'strong':
        out += `<strong${langAttr(ctx, r.lang)}>${escapeHtml(r.text)}</strong>`;
        break;
      case 'category':
        if (r.sensitive) {
          const mark =
            ctx.lang === 'zh'
              ? '<span class="vh">（</span>敏感<span class="vh">）</span>'
              : '<span class="vh">(</span>sensitive<span class="vh">)</span>';
          out += `<strong class="pi-sensitive"${langAttr(ctx, r.lang)}>${escapeHtml(r.text)}</strong><span class="mark-sensitive">${mark}</span>`;
        } else {
          out += r.lang && r.lang !== ctx.lang ? `<span${langAttr(ctx, r.lang)}>${escapeHtml(r.text)}</span>` : escapeHtml(r.text);
        }
        break;
      case 'link':
        out += `<a href="${escapeHtml(r.href)}" rel="noopener noreferrer external"${langAttr(ctx, r.lang)}>${escapeHtml(r.text)}</a>`;
        break;
      case 'ref':
        out += `<a href="${escapeHtml(refHref(ctx, r.document, r.target))}"${langAttr(ctx, r.lang)}>${escapeHtml(r.text)}</a>`;
        break;
      case 'gap':
        out += `<em class="gap">${escapeHtml(r.text)}</em>`;
        break;
      case 'code':
        out += `<code>${escapeHtml(r.text)}</code>`;
        break;
    }
  }
  return out;
}

function idAttr(id: string | undefined): string {
  return id ? ` id="${escapeHtml(id)}"` : '';
}

function table(ctx: HtmlContext, t: Table): string {
  const captionId = `${t.id}-caption`;
  const head = t.columns.map((c) => `<th scope="col">${escapeHtml(c.label)}</th>`).join('');
  const rows = t.rows
    .map((row) => {
      const anchors = (row.anchors ?? []).map((a) => `<span id="${escapeHtml(a)}"></span>`).join('');
      const cells = t.columns
        .map((c, i) => {
          const content = inline(ctx, row.cells[c.key] ?? []);
          const label = ` data-label="${escapeHtml(c.label)}"`;
          return i === 0 ? `<th scope="row"${label}>${anchors}${content}</th>` : `<td${label}>${content}</td>`;
        })
        .join('');
      return `<tr${idAttr(row.id)}>${cells}</tr>`;
    })
    .join('\n');
  return (
    `<div class="table-wrap" role="region" aria-labelledby="${escapeHtml(captionId)}" tabindex="0">\n` +
    `<table id="${escapeHtml(t.id)}"><caption id="${escapeHtml(captionId)}">${escapeHtml(t.caption)}</caption>\n` +
    `<thead><tr>${head}</tr></thead>\n<tbody>\n${rows}\n</tbody></table>\n</div>`
  );
}

function blocks(ctx: HtmlContext, bs: readonly Block[], level: number): string {
  return bs
    .map((b) => {
      switch (b.type) {
        case 'paragraph':
          return `<p>${inline(ctx, b.content)}</p>`;
        case 'list': {
          const tag = b.ordered ? 'ol' : 'ul';
          return `<${tag}>\n${b.items.map((i) => `<li${idAttr(i.id)}>${inline(ctx, i.content)}</li>`).join('\n')}\n</${tag}>`;
        }
        case 'table':
          return table(ctx, b.table);
        case 'section':
          return section(ctx, b, level);
      }
      return '';
    })
    .join('\n');
}

function section(ctx: HtmlContext, s: Pick<Section, 'id' | 'title' | 'blocks' | 'lang'>, level: number): string {
  const h = Math.min(level, 6);
  const hid = `${s.id}-h`;
  return (
    `<section id="${escapeHtml(s.id)}" aria-labelledby="${escapeHtml(hid)}">\n` +
    `<h${h} id="${escapeHtml(hid)}"${langAttr(ctx, s.lang)}>${escapeHtml(s.title)}</h${h}>\n${blocks(ctx, s.blocks, level + 1)}\n</section>`
  );
}

function toc(ctx: HtmlContext): string {
  const sections = ctx.doc.sections;
  if (sections.length < 2) return '';
  const title = ctx.lang === 'zh' ? '目录' : 'Contents';
  const items = sections
    .map((s) => {
      const subs = s.blocks.filter((b): b is Extract<Block, { type: 'section' }> => b.type === 'section');
      const nested =
        subs.length > 0
          ? `<ol>${subs.map((x) => `<li><a href="#${escapeHtml(x.id)}"${langAttr(ctx, x.lang)}>${escapeHtml(x.title)}</a></li>`).join('')}</ol>`
          : '';
      return `<li><a href="#${escapeHtml(s.id)}">${escapeHtml(s.title)}</a>${nested}</li>`;
    })
    .join('\n');
  return `<nav class="toc" aria-labelledby="toc-h">\n<h2 id="toc-h">${title}</h2>\n<ol>\n${items}\n</ol>\n</nav>`;
}

export interface HtmlRenderOptions {
  alternate?: { lang: RenderLang; prefix: string };
  home?: string;
}

export function documentToHtml(doc: RenderedDocument<unknown>, opts: HtmlRenderOptions = {}): string {
  const ctx: HtmlContext = { doc, lang: doc.lang };
  const zh = doc.lang === 'zh';
  const navItems: string[] = [];
  if (opts.home) navItems.push(`<li><a href="${escapeHtml(opts.home)}">${zh ? '所有应用' : 'All apps'}</a></li>`);
  for (const kind of ['index', 'policy', 'collection-list', 'sharing-list', 'permissions'] as const) {
    const current = kind === doc.document ? ' aria-current="page"' : '';
    navItems.push(`<li><a href="${renderFileName(kind, 'html')}"${current}>${escapeHtml(documentName(kind, doc.lang))}</a></li>`);
  }
  const alternates: { lang: RenderLang; href: string }[] = [];
  if (opts.alternate) {
    const href = `${opts.alternate.prefix}${renderFileName(doc.document, 'html')}`;
    alternates.push({ lang: opts.alternate.lang, href });
    const name = opts.alternate.lang === 'zh' ? '中文' : 'English';
    navItems.push(
      `<li><a href="${escapeHtml(href)}" hreflang="${htmlLang(opts.alternate.lang)}" lang="${htmlLang(opts.alternate.lang)}">${name}</a></li>`,
    );
  }
  const meta = doc.meta.map((m) => `<div><dt>${escapeHtml(m.label)}</dt><dd>${inline(ctx, m.value)}</dd></div>`).join('');
  const body = [
    `<header>`,
    `<nav class="doc-nav" aria-label="${zh ? '文档' : 'Documents'}"><ul>${navItems.join('')}</ul></nav>`,
    `<h1>${escapeHtml(doc.title)}</h1>`,
    `<dl class="meta">${meta}</dl>`,
    `</header>`,
    toc(ctx),
    `<main id="main" tabindex="-1">`,
    doc.sections.map((s) => section(ctx, s, 2)).join('\n'),
    `</main>`,
    `<footer><p>${escapeHtml(
      zh
        ? `本文件由 pipa 根据${doc.app.name}的隐私政策声明（版本 ${doc.version.version}）生成。`
        : `Generated by pipa from the privacy policy declaration of ${doc.app.name} (version ${doc.version.version}).`,
    )}</p></footer>`,
  ]
    .filter((x) => x !== '')
    .join('\n');
  return renderHtmlPage({ lang: doc.lang, title: doc.title, body, alternates });
}
