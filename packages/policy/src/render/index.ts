export { escapeHtml, type HtmlPageOptions, RENDER_CSS, renderFileName, renderHtmlPage } from './html.js';
export { RENDER_JSON_SCHEMA } from './json.js';
export {
  CHANNEL_LABELS,
  LAWFUL_BASIS_LABELS,
  PLATFORM_LABELS,
  RECIPIENT_CONSENT_LABELS,
  RECIPIENT_KIND_LABELS,
  RIGHT_LABELS,
  SECURITY_MEASURE_LABELS,
  SHARE_METHOD_LABELS,
} from './labels.js';
export { collectionRows, permissionRows, sharingRows } from './lists.js';
export { escapeMarkdown } from './markdown.js';
export {
  buildRenderDocument,
  renderAll,
  renderCollectionList,
  renderIndex,
  renderPermissions,
  renderPolicy,
  renderSharingList,
  serializeDocument,
} from './render.js';
export {
  type Block as RenderBlock,
  type CategoryInfo as RenderCategoryInfo,
  type CollectionRow,
  type Inline as RenderInline,
  type PermissionRow,
  RENDER_DOCUMENTS,
  type RenderDocumentKind,
  type RenderedDocument,
  type RenderFormat,
  type RenderLang,
  type RenderOptions,
  type Section as RenderSection,
  type SharingRow,
  type Table as RenderTable,
} from './types.js';
