/**
 * The render API: a declaration in, strings out (one per document and format). Pure and
 * isomorphic: the caller writes the files.
 */
import type { Declaration } from '../schema.js';
import { documentToHtml, renderFileName } from './html.js';
import { documentToJson } from './json.js';
import { buildCollectionList, buildPermissionsList, buildSharingList } from './lists.js';
import { documentToMarkdown } from './markdown.js';
import { buildOverview } from './overview.js';
import { buildPolicy } from './policy.js';
import {
  RENDER_DOCUMENTS,
  type RenderDocumentKind,
  type RenderedDocument,
  type RenderFormat,
  type RenderLang,
  type RenderOptions,
} from './types.js';

/** The document model of one document (what the JSON format serialises). */
export function buildRenderDocument(d: Declaration, kind: RenderDocumentKind, lang: RenderLang = 'zh'): RenderedDocument<unknown> {
  switch (kind) {
    case 'policy':
      return buildPolicy(d, lang);
    case 'collection-list':
      return buildCollectionList(d, lang);
    case 'sharing-list':
      return buildSharingList(d, lang);
    case 'permissions':
      return buildPermissionsList(d, lang);
    case 'index':
      return buildOverview(d, lang, buildPolicy(d, lang));
  }
}

/** Serialise a built document in a format. */
export function serializeDocument(
  doc: RenderedDocument<unknown>,
  format: RenderFormat,
  opts: Pick<RenderOptions, 'alternate' | 'home'> = {},
): string {
  switch (format) {
    case 'html':
      return documentToHtml(doc, opts);
    case 'md':
      return documentToMarkdown(doc, opts);
    case 'json':
      return documentToJson(doc);
  }
}

function render(d: Declaration, kind: RenderDocumentKind, opts: RenderOptions): string {
  return serializeDocument(buildRenderDocument(d, kind, opts.lang ?? 'zh'), opts.format ?? 'html', opts);
}

/** The full privacy policy. */
export function renderPolicy(d: Declaration, opts: RenderOptions = {}): string {
  return render(d, 'policy', opts);
}

/** 个人信息收集清单: one row per category × purpose. */
export function renderCollectionList(d: Declaration, opts: RenderOptions = {}): string {
  return render(d, 'collection-list', opts);
}

/** 第三方信息共享清单: one row per recipient. */
export function renderSharingList(d: Declaration, opts: RenderOptions = {}): string {
  return render(d, 'sharing-list', opts);
}

/** 权限申请清单: one row per permission. */
export function renderPermissions(d: Declaration, opts: RenderOptions = {}): string {
  return render(d, 'permissions', opts);
}

/** The index page that links the other documents. */
export function renderIndex(d: Declaration, opts: RenderOptions = {}): string {
  return render(d, 'index', opts);
}

/** Every document of the app in one language and format: `{ "policy.html": "…", … }`. */
export function renderAll(d: Declaration, opts: RenderOptions = {}): Record<string, string> {
  const lang = opts.lang ?? 'zh';
  const format = opts.format ?? 'html';
  const policy = buildPolicy(d, lang);
  const docs: Record<RenderDocumentKind, RenderedDocument<unknown>> = {
    index: buildOverview(d, lang, policy),
    policy,
    'collection-list': buildCollectionList(d, lang),
    'sharing-list': buildSharingList(d, lang),
    permissions: buildPermissionsList(d, lang),
  };
  const out: Record<string, string> = {};
  for (const kind of RENDER_DOCUMENTS) out[renderFileName(kind, format)] = serializeDocument(docs[kind], format, opts);
  return out;
}
