/** The index document: the other documents of the app with what they hold, and the gaps count. */
import type { Declaration } from '../schema.js';
import { isSensitive, plain, type RenderContext, renderContext, s } from './context.js';
import { baseDocument, documentName } from './document.js';
import type { Block, Inline, RenderedDocument, RenderLang } from './types.js';

/** Every gap in a document (the things the declaration does not state). */
export function countGaps(doc: RenderedDocument<unknown>): number {
  let n = 0;
  const runs = (xs: readonly Inline[]) => {
    for (const x of xs) if (x.type === 'gap') n++;
  };
  const blocks = (bs: readonly Block[]) => {
    for (const b of bs) {
      if (b.type === 'paragraph') runs(b.content);
      else if (b.type === 'list') for (const i of b.items) runs(i.content);
      else if (b.type === 'table') for (const r of b.table.rows) for (const c of Object.values(r.cells)) runs(c);
      else blocks(b.blocks);
    }
  };
  for (const m of doc.meta) runs(m.value);
  for (const sec of doc.sections) blocks(sec.blocks);
  return n;
}

export function buildOverview(d: Declaration, lang: RenderLang, policy: RenderedDocument<unknown>): RenderedDocument {
  const ctx: RenderContext = renderContext(d, lang);
  const doc = baseDocument(ctx, 'index');
  const categories = new Set([...d.categories.map((c) => c.id), ...d.purposes.flatMap((p) => p.categories)]);
  const sensitive = [...categories].filter((id) => isSensitive(ctx, id)).length;
  const pairs = d.purposes.reduce((n, p) => n + new Set(p.categories).size, 0);
  const recipients = d.recipients?.length ?? 0;
  const permissions = d.permissions?.length ?? 0;
  const gaps = countGaps(policy);
  const item = (kind: 'policy' | 'collection-list' | 'sharing-list' | 'permissions', zh: string, en: string): Inline[] => [
    { type: 'ref', text: documentName(kind, lang), document: kind },
    plain(s(ctx, `：${zh}`, `: ${en}`)),
  ];
  const count = (declared: readonly unknown[] | undefined, zh: string, en: string): Inline[] =>
    declared === undefined
      ? [plain(s(ctx, '（', ' (')), { type: 'gap', text: s(ctx, '本政策未说明', 'not stated in this policy') }, plain(s(ctx, '）。', ').'))]
      : [plain(s(ctx, zh, en))];
  doc.sections = [
    {
      id: 'documents',
      title: s(ctx, '文档', 'Documents'),
      blocks: [
        {
          type: 'list',
          ordered: false,
          items: [
            {
              content: item(
                'policy',
                `我们如何处理您的个人信息（${d.purposes.length} 个处理目的）。`,
                `how we process your personal information (${d.purposes.length} ${d.purposes.length === 1 ? 'purpose' : 'purposes'}).`,
              ),
            },
            {
              content: item(
                'collection-list',
                `收集的个人信息、使用目的和场景（${pairs} 项，涉及 ${categories.size} 种个人信息，其中敏感个人信息 ${sensitive} 种）。`,
                `what we collect, what for and when (${pairs} rows, ${categories.size} categories, ${sensitive} of them sensitive).`,
              ),
            },
            {
              content: [
                ...item('sharing-list', '接收或收集您个人信息的第三方', 'third parties that receive or collect your personal information'),
                ...count(d.recipients, `（${recipients} 个）。`, ` (${recipients}).`),
              ],
            },
            {
              content: [
                ...item('permissions', '申请的系统权限', 'system permissions the app requests'),
                ...count(d.permissions, `（${permissions} 项）。`, ` (${permissions}).`),
              ],
            },
          ],
        },
      ],
    },
    {
      id: 'gaps',
      title: s(ctx, '未说明的事项', 'What the policy leaves unsaid'),
      blocks: [
        {
          type: 'paragraph',
          content:
            gaps > 0
              ? [
                  {
                    type: 'gap',
                    text: s(
                      ctx,
                      `隐私政策中有 ${gaps} 处标示为“本政策未说明”的事项。`,
                      `The privacy policy marks ${gaps} ${gaps === 1 ? 'item' : 'items'} “Not stated in this policy”.`,
                    ),
                  },
                ]
              : [plain(s(ctx, '隐私政策说明了本文件所列的全部事项。', 'The privacy policy states every item these documents cover.'))],
        },
      ],
    },
  ];
  return doc;
}
