/** The parts every document shares: its title, the version lines under it, and the document names. */
import { appName, currentVersion, date, gap, plain, type RenderContext, s, txt } from './context.js';
import type { Inline, RenderDocumentKind, RenderedDocument, RenderLang } from './types.js';

/** Short names of the documents (navigation, index). */
export function documentName(kind: RenderDocumentKind, lang: RenderLang): string {
  const names: Record<RenderDocumentKind, [string, string]> = {
    index: ['文档目录', 'All documents'],
    policy: ['隐私政策', 'Privacy policy'],
    'collection-list': ['个人信息收集清单', 'Personal information collection list'],
    'sharing-list': ['第三方信息共享清单', 'Third-party sharing list'],
    permissions: ['权限申请清单', 'Permissions list'],
  };
  const [zh, en] = names[kind];
  return lang === 'zh' ? zh : en;
}

export function documentTitle(ctx: RenderContext, kind: RenderDocumentKind): string {
  const app = appName(ctx);
  switch (kind) {
    case 'index':
      return s(ctx, `${app}隐私政策与清单`, `${app}: privacy policy and lists`);
    case 'policy':
      return s(ctx, `${app}隐私政策`, `${app} Privacy Policy`);
    default:
      return s(ctx, `${app}${documentName(kind, 'zh')}`, `${app}: ${documentName(kind, 'en').toLowerCase()}`);
  }
}

export function baseDocument<Row = never>(ctx: RenderContext, kind: RenderDocumentKind): RenderedDocument<Row> {
  const version = currentVersion(ctx.d);
  const meta: { label: string; value: Inline[] }[] = [
    { label: s(ctx, '版本', 'Version'), value: [plain(version.version)] },
    {
      label: s(ctx, '发布日期', 'Published'),
      value: [version.published ? plain(date(ctx, version.published)) : gap(ctx, '发布日期', 'the publication date')],
    },
    {
      label: s(ctx, '生效日期', 'Effective'),
      value: [version.effective ? plain(date(ctx, version.effective)) : gap(ctx, '生效日期', 'the effective date')],
    },
    {
      label: s(ctx, '个人信息处理者', 'Personal-information handler'),
      value: [
        ctx.d.controller.legalName
          ? txt(ctx, ctx.d.controller.legalName)
          : gap(ctx, '个人信息处理者的名称', 'the name of the personal-information handler'),
      ],
    },
  ];
  return {
    document: kind,
    lang: ctx.lang,
    title: documentTitle(ctx, kind),
    app: { id: ctx.d.app.id, name: appName(ctx) },
    version,
    meta,
    sections: [],
  };
}
