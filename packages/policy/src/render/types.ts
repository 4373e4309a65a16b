/**
 * The document model that every output format is written from. `build*` functions turn a
 * declaration into these documents; `html`, `markdown` and `json` serialise them. A front end can
 * render the JSON form directly: sections with ids and titles, blocks of paragraphs, lists and
 * tables, and inline runs that say what each piece is (a category and whether it is sensitive, a
 * link, a reference to another document, a gap the declaration leaves).
 */

export type RenderLang = 'zh' | 'en';
export type RenderFormat = 'html' | 'md' | 'json';

/** The documents of one app, in the order of the index. */
export const RENDER_DOCUMENTS = ['index', 'policy', 'collection-list', 'sharing-list', 'permissions'] as const;
export type RenderDocumentKind = (typeof RENDER_DOCUMENTS)[number];

/** A run of inline content. `lang` is set when the text is not in the document's language. */
export type Inline =
  | { type: 'text'; text: string; lang?: RenderLang }
  | { type: 'strong'; text: string; lang?: RenderLang }
  /** A personal-information category; sensitive ones are shown bold with a visible marker. */
  | { type: 'category'; id: string; text: string; sensitive: boolean; lang?: RenderLang }
  /** An external link (only http and https; the declared URL). */
  | { type: 'link'; text: string; href: string; lang?: RenderLang }
  /** A link inside the document set: `document` and an optional anchor `target`. */
  | { type: 'ref'; text: string; document: RenderDocumentKind; target?: string; lang?: RenderLang }
  /** Something the declaration does not state; said plainly, never invented. */
  | { type: 'gap'; text: string }
  /** A technical identifier (an Android permission name). */
  | { type: 'code'; text: string };

export interface ListItem {
  id?: string;
  content: Inline[];
}

export interface TableColumn {
  key: string;
  label: string;
}

export interface TableRow {
  id?: string;
  /** Extra anchors that point at this row (the first row of a purpose in the collection list). */
  anchors?: string[];
  /** One cell per column key. */
  cells: Record<string, Inline[]>;
}

export interface Table {
  id: string;
  caption: string;
  columns: TableColumn[];
  rows: TableRow[];
}

export type Block =
  | { type: 'paragraph'; content: Inline[] }
  | { type: 'list'; ordered: boolean; items: ListItem[] }
  | { type: 'table'; table: Table }
  /** `lang`: the title's language when it is not the document's (a zh-only name in an en document). */
  | { type: 'section'; id: string; title: string; lang?: RenderLang; blocks: Block[] };

export interface Section {
  id: string;
  title: string;
  lang?: RenderLang;
  blocks: Block[];
}

export interface DocumentVersion {
  version: string;
  published: string | null;
  effective: string | null;
}

export interface RenderedDocument<Row = never> {
  document: RenderDocumentKind;
  lang: RenderLang;
  title: string;
  app: { id: string; name: string };
  version: DocumentVersion;
  /** Lines under the title: version, dates, controller. */
  meta: { label: string; value: Inline[] }[];
  sections: Section[];
  /** The list documents also carry their rows as plain data objects. */
  rows?: Row[];
}

export interface RenderOptions {
  lang?: RenderLang;
  format?: RenderFormat;
  /** A link to the same document in the other language: `prefix` + file name (e.g. `../en/`). */
  alternate?: { lang: RenderLang; prefix: string };
  /** A link back to a page that lists every app (the site index), relative to the document. */
  home?: string;
}

// ---------------------------------------------------------------------------------------------
// Row data of the lists (the JSON `rows`)

export interface CategoryInfo {
  id: string;
  label: string;
  sensitive: boolean;
}

export interface NamedRef {
  id: string;
  label: string;
}

export interface CollectionRow {
  id: string;
  category: CategoryInfo;
  /** null: the category is declared but no purpose uses it. */
  purpose: NamedRef | null;
  scenario: string | null;
  basis: NamedRef | null;
  required: boolean | null;
}

export interface SharingRow {
  id: string;
  recipient: NamedRef;
  kind: NamedRef;
  company: string | null;
  contact: string | null;
  categories: CategoryInfo[];
  purposes: NamedRef[];
  purposeText: string | null;
  scenario: string | null;
  method: NamedRef;
  deidentified: boolean;
  consent: NamedRef | null;
  policy: { title: string | null; url: string | null };
  background: { categories: CategoryInfo[]; frequency: string | null; reason: string | null } | null;
  crossBorder: boolean | null;
  wakesOtherApps: boolean | null;
  selfStart: boolean | null;
}

export interface PermissionRow {
  id: string;
  name: string;
  android: string[];
  ios: string[];
  purposes: NamedRef[];
  categories: CategoryInfo[];
  requestedWhen: string | null;
  requestedAtLaunch: boolean | null;
  optional: boolean | null;
  ifDenied: string | null;
  enabledByDefault: boolean | null;
}
