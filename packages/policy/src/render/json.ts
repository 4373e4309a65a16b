/**
 * JSON: the document model as it is, plus the plain text of every paragraph and list item, so that
 * a front end can render the structure or just show the text. `schema` names the shape's version.
 */
import { plainText } from './context.js';
import type { Block, RenderedDocument } from './types.js';

export const RENDER_JSON_SCHEMA = 'pipa.render/1';

type JsonBlock =
  | { type: 'paragraph'; text: string; content: unknown }
  | { type: 'list'; ordered: boolean; items: { id?: string; text: string; content: unknown }[] }
  | { type: 'table'; table: unknown }
  | { type: 'section'; id: string; title: string; lang?: string; blocks: JsonBlock[] };

function jsonBlocks(doc: RenderedDocument<unknown>, bs: readonly Block[]): JsonBlock[] {
  return bs.map((b): JsonBlock => {
    switch (b.type) {
      case 'paragraph':
        return { type: 'paragraph', text: plainText(b.content, doc.lang), content: b.content };
      case 'list':
        return {
          type: 'list',
          ordered: b.ordered,
          items: b.items.map((i) => ({ ...(i.id ? { id: i.id } : {}), text: plainText(i.content, doc.lang), content: i.content })),
        };
      case 'table':
        return { type: 'table', table: b.table };
      case 'section':
        return { type: 'section', id: b.id, title: b.title, ...(b.lang ? { lang: b.lang } : {}), blocks: jsonBlocks(doc, b.blocks) };
    }
    return b;
  });
}

export function documentToJson(doc: RenderedDocument<unknown>): string {
  const out = {
    schema: RENDER_JSON_SCHEMA,
    document: doc.document,
    lang: doc.lang,
    title: doc.title,
    app: doc.app,
    version: doc.version,
    meta: doc.meta.map((m) => ({ label: m.label, text: plainText(m.value, doc.lang), value: m.value })),
    sections: doc.sections.map((s) => ({ id: s.id, title: s.title, blocks: jsonBlocks(doc, s.blocks) })),
    ...(doc.rows ? { rows: doc.rows } : {}),
  };
  return `${JSON.stringify(out, null, 2)}\n`;
}
