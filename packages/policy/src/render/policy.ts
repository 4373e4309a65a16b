/**
 * The privacy policy, written from the declaration with one template sentence per field. The
 * sections come in the order Chinese readers know (collection and use, cookies, sharing, storage,
 * security, rights, minors, updates, contact). Whatever the declaration leaves out is said to be
 * not stated, never filled in.
 */
import type { Declaration, PurposeDecl, RecipientDecl, Retention } from '../schema.js';
import {
  anchor,
  appName,
  categoryInline,
  categoryList,
  cellGap,
  chineseNumber,
  colon,
  date,
  declared,
  duration,
  frequency,
  gap,
  isSensitive,
  joinInline,
  labelled,
  lbl,
  permissionRef,
  plain,
  purposeRef,
  purposeRefs,
  type RenderContext,
  recipientRef,
  renderContext,
  responseTime,
  s,
  safeUrl,
  sep,
  stop,
  strong,
  textOf,
  txt,
  unique,
} from './context.js';
import { baseDocument, documentName } from './document.js';
import {
  CANCELLATION_AFTER_LABELS,
  CANCELLATION_EFFECT_LABELS,
  CHANGE_NOTIFICATION_LABELS,
  CHANNEL_LABELS,
  CROSS_BORDER_ROUTE_LABELS,
  INCIDENT_CHANNEL_LABELS,
  INCIDENT_CONTENT_LABELS,
  LAWFUL_BASIS_LABELS,
  MARKETING_CHANNEL_LABELS,
  PLATFORM_LABELS,
  RECIPIENT_CONSENT_LABELS,
  RECIPIENT_KIND_LABELS,
  RETENTION_ACTION_LABELS,
  RETENTION_TRIGGER_LABELS,
  RIGHT_LABELS,
  SECURITY_MEASURE_LABELS,
  SHARE_METHOD_LABELS,
  SOURCE_KIND_LABELS,
} from './labels.js';
import { recipientNotes, recipientPolicy } from './lists.js';
import type { Block, Inline, ListItem, RenderedDocument, RenderLang, Section, Table } from './types.js';

type Recipient = RecipientDecl;

const para = (...content: Inline[]): Block => ({ type: 'paragraph', content });
const list = (items: (Inline[] | ListItem)[], ordered = false): Block => ({
  type: 'list',
  ordered,
  items: items.map((i) => (Array.isArray(i) ? { content: i } : i)),
});
const sub = (id: string, title: string | { text: string; lang?: RenderLang }, blocks: Block[]): Block =>
  typeof title === 'string'
    ? { type: 'section', id, title, blocks }
    : { type: 'section', id, title: title.text, ...(title.lang ? { lang: title.lang } : {}), blocks };

/** Section numbering: 一、/ 1. for sections, （一）/ 1.1 for subsections. */
function sectionTitle(ctx: RenderContext, n: number, zh: string, en: string): string {
  return ctx.lang === 'zh' ? `${chineseNumber(n)}、${zh}` : `${n}. ${en}`;
}

function subTitle(ctx: RenderContext, section: number, n: number, text: string): string {
  return ctx.lang === 'zh' ? `（${chineseNumber(n)}）${text}` : `${section}.${n} ${text}`;
}

/** A declared name as a title, with its language when an en document falls back to zh. */
function textTitle(ctx: RenderContext, t: Parameters<typeof textOf>[0]): { text: string; lang?: RenderLang } {
  const { text, fallback } = textOf(t, ctx.lang);
  return fallback ? { text, lang: 'zh' } : { text };
}

/** A sentence: runs followed by the full stop of the language. */
function sentence(ctx: RenderContext, ...runs: Inline[]): Inline[] {
  const last = runs[runs.length - 1];
  if (last && /[。.!?！？]$/.test(last.text)) return runs;
  return [...runs, plain(stop(ctx))];
}

export function buildPolicy(d: Declaration, lang: RenderLang): RenderedDocument {
  const ctx = renderContext(d, lang);
  const doc = baseDocument(ctx, 'policy');
  doc.sections = [
    introSection(ctx),
    collectionSection(ctx, 1),
    cookieSection(ctx, 2),
    sharingSection(ctx, 3),
    storageSection(ctx, 4),
    securitySection(ctx, 5),
    rightsSection(ctx, 6),
    minorsSection(ctx, 7),
    changesSection(ctx, 8),
    contactSection(ctx, 9),
  ];
  return doc;
}

// ---------------------------------------------------------------------------------------------
// 引言

function introSection(ctx: RenderContext): Section {
  const d = ctx.d;
  const app = appName(ctx);
  const blocks: Block[] = [];
  const products = d.app.products.map((p) => {
    const platforms = p.platforms.map((x) => lbl(ctx, PLATFORM_LABELS[x])).join(sep(ctx));
    return [txt(ctx, p.name), plain(s(ctx, `（${platforms}）`, ` (${platforms})`))];
  });
  blocks.push(
    para(
      plain(s(ctx, `本政策适用于${app}，包括：`, `This policy applies to ${app}, namely: `)),
      ...joinInline(products, sep(ctx)),
      plain(stop(ctx)),
    ),
  );
  const who: Inline[] = d.controller.legalName
    ? sentence(
        ctx,
        txt(ctx, d.controller.legalName),
        plain(s(ctx, '（以下简称“我们”）是您个人信息的处理者', ' (“we”) is the handler of your personal information')),
      )
    : [gap(ctx, '个人信息处理者的名称', 'the name of the handler of your personal information')];
  blocks.push(para(...who));
  if (d.controller.operatorNote) blocks.push(para(txt(ctx, d.controller.operatorNote)));
  blocks.push(
    para(
      ...(d.app.basicFunction
        ? labelled(ctx, s(ctx, '基本功能', 'Basic function'), sentence(ctx, txt(ctx, d.app.basicFunction)))
        : [gap(ctx, `${app}的基本功能`, `the basic function of ${app}`)]),
    ),
  );
  blocks.push(
    para(
      plain(s(ctx, '除本政策外，我们还公布了', 'Besides this policy we publish the ')),
      { type: 'ref', text: documentName('collection-list', ctx.lang), document: 'collection-list' },
      plain(sep(ctx)),
      { type: 'ref', text: documentName('sharing-list', ctx.lang), document: 'sharing-list' },
      plain(s(ctx, '和', ' and the ')),
      { type: 'ref', text: documentName('permissions', ctx.lang), document: 'permissions' },
      plain(stop(ctx)),
    ),
  );
  blocks.push(
    para(
      plain(
        s(
          ctx,
          '本政策中的敏感个人信息以加粗并标注“敏感”的方式提示，请您特别关注。本政策没有说明的事项，会明确标示为“本政策未说明”。',
          'Sensitive personal information is shown in bold and marked “sensitive” in this policy; please read it with particular care. Whatever this policy does not state is marked “Not stated in this policy”.',
        ),
      ),
    ),
  );
  return { id: 'intro', title: s(ctx, '引言', 'Introduction'), blocks };
}

// ---------------------------------------------------------------------------------------------
// 一、我们如何收集和使用您的个人信息

function collectionSection(ctx: RenderContext, n: number): Section {
  const d = ctx.d;
  const blocks: Block[] = [
    para(
      plain(
        s(
          ctx,
          '我们出于以下目的收集和使用您的个人信息。每个目的收集的个人信息、场景和依据如下；逐项列表见',
          'We collect and use your personal information for the purposes below, each with the information it needs, when it is collected, and on what basis. The item-by-item list is the ',
        ),
      ),
      { type: 'ref', text: documentName('collection-list', ctx.lang), document: 'collection-list' },
      plain(stop(ctx)),
    ),
  ];
  let i = 0;
  for (const p of d.purposes) {
    const name = textTitle(ctx, p.name);
    blocks.push(sub(anchor.purpose(p.id), { ...name, text: subTitle(ctx, n, ++i, name.text) }, purposeBlocks(ctx, p)));
  }
  blocks.push(sub('sensitive-pi', subTitle(ctx, n, ++i, s(ctx, '敏感个人信息', 'Sensitive personal information')), sensitiveBlocks(ctx)));
  blocks.push(sub('permissions', subTitle(ctx, n, ++i, s(ctx, '系统权限', 'System permissions')), permissionBlocks(ctx)));
  blocks.push(sub('sources', subTitle(ctx, n, ++i, s(ctx, '信息来源与收集方式', 'Where the information comes from')), sourceBlocks(ctx)));
  blocks.push(sub('consent', subTitle(ctx, n, ++i, s(ctx, '如何征得您的同意', 'How we ask for your consent')), consentBlocks(ctx)));
  return {
    id: 'collection',
    title: sectionTitle(ctx, n, '我们如何收集和使用您的个人信息', 'How we collect and use your personal information'),
    blocks,
  };
}

function purposeBlocks(ctx: RenderContext, p: PurposeDecl): Block[] {
  const d = ctx.d;
  const blocks: Block[] = [];
  if (p.description) blocks.push(para(txt(ctx, p.description)));
  const facts: Inline[][] = [];
  facts.push(labelled(ctx, s(ctx, '收集的个人信息', 'Personal information'), sentence(ctx, ...categoryList(ctx, p.categories))));
  facts.push(
    p.scenario
      ? labelled(ctx, s(ctx, '收集场景', 'When'), sentence(ctx, txt(ctx, p.scenario)))
      : [gap(ctx, '收集上述个人信息的场景', 'when this information is collected')],
  );
  const sources = (p.sources ?? []).map((id) => d.sources?.find((x) => x.id === id)).filter((x) => x !== undefined);
  if (sources.length > 0) {
    facts.push(
      labelled(
        ctx,
        s(ctx, '收集方式', 'How'),
        sentence(
          ctx,
          ...joinInline(
            sources.map((src) => {
              const runs: Inline[] = [plain(lbl(ctx, SOURCE_KIND_LABELS[src.kind]))];
              if (src.provider) runs.push(plain(s(ctx, '（', ' (')), txt(ctx, src.provider), plain(s(ctx, '）', ')')));
              if (src.background) runs.push(plain(s(ctx, '，应用在后台运行时仍会收集', ', also while the app runs in the background')));
              return runs;
            }),
            s(ctx, '；', '; '),
          ),
        ),
      ),
    );
  }
  facts.push(
    p.basis
      ? labelled(ctx, s(ctx, '处理依据', 'Lawful basis'), sentence(ctx, plain(lbl(ctx, LAWFUL_BASIS_LABELS[p.basis]))))
      : [gap(ctx, '处理上述个人信息的法律依据', 'the lawful basis for processing this information')],
  );
  if (p.required === true) facts.push([plain(s(ctx, '此目的为实现基本功能所必需。', 'This purpose is needed for the basic function.'))]);
  if (p.required === false)
    facts.push([
      plain(s(ctx, '此目的不属于基本功能所必需（扩展功能）。', 'This purpose is not needed for the basic function (an optional feature).')),
    ]);
  if (p.separateConsent === true) facts.push([plain(s(ctx, '我们会就此单独征得您的同意。', 'We ask for your separate consent to this.'))]);
  if (p.separateConsent === false)
    facts.push([plain(s(ctx, '我们不会就此单独征得您的同意。', 'We do not ask for separate consent to this.'))]);
  if (p.marketing) facts.push(...marketingFacts(ctx, p.marketing));
  if (p.automatedDecision) {
    facts.push([
      plain(
        s(
          ctx,
          '此目的涉及自动化决策。您有权要求我们予以说明，并有权拒绝仅通过自动化决策的方式作出对您个人权益有重大影响的决定。',
          'This purpose involves automated decision-making. You may ask us to explain it, and you may refuse decisions that significantly affect your rights and interests when they are made by automated means alone.',
        ),
      ),
    ]);
  }
  if (p.wakesOtherApps)
    facts.push([
      plain(s(ctx, '此目的涉及唤醒或关联启动其他应用或进程。', 'This purpose involves waking or starting other apps or processes.')),
    ]);
  const sensitive = unique(p.categories).filter((id) => isSensitive(ctx, id));
  if (p.necessity) {
    facts.push(
      labelled(
        ctx,
        sensitive.length > 0
          ? s(ctx, '处理的必要性及对您个人权益的影响', 'Why it is necessary and how it affects you')
          : s(ctx, '必要性', 'Why it is necessary'),
        sentence(ctx, txt(ctx, p.necessity)),
      ),
    );
  } else if (sensitive.length > 0) {
    facts.push([
      gap(
        ctx,
        `处理${plainList(ctx, sensitive)}等敏感个人信息的必要性以及对您个人权益的影响`,
        `why processing the sensitive information (${plainList(ctx, sensitive)}) is necessary and how it affects your rights and interests`,
      ),
    ]);
  }
  facts.push(...retentionFacts(ctx, p.retention, p.categories));
  const permissions = (d.permissions ?? []).filter((x) => x.purposes.includes(p.id));
  if (permissions.length > 0) {
    facts.push(
      labelled(
        ctx,
        s(ctx, '相关系统权限', 'System permissions'),
        sentence(
          ctx,
          ...joinInline(
            permissions.map((x) => [permissionRef(ctx, x.id, 'policy')]),
            sep(ctx),
          ),
        ),
      ),
    );
  }
  const recipients = (d.recipients ?? []).filter((r) => r.purposes.includes(p.id));
  if (recipients.length > 0) {
    facts.push(
      labelled(
        ctx,
        s(ctx, '涉及的第三方', 'Third parties involved'),
        sentence(
          ctx,
          ...joinInline(
            recipients.map((r) => [recipientRef(ctx, r.id)]),
            sep(ctx),
          ),
        ),
      ),
    );
  }
  blocks.push(list(facts));
  return blocks;
}

function plainList(ctx: RenderContext, ids: readonly string[]): string {
  return ids.map((id) => (categoryInline(ctx, id) as { text: string }).text).join(sep(ctx));
}

function marketingFacts(ctx: RenderContext, m: NonNullable<PurposeDecl['marketing']>): Inline[][] {
  const facts: Inline[][] = [];
  facts.push([
    plain(
      m.personalised
        ? s(
            ctx,
            '我们会基于上述个人信息向您提供个性化推荐或营销信息。',
            'We use this information to send you personalised recommendations or marketing.',
          )
        : s(
            ctx,
            '我们向您发送的推广信息不基于您的个人特征（非个性化）。',
            'The promotional messages we send you are not based on your personal characteristics (not personalised).',
          ),
    ),
  ]);
  if (m.channels?.length) {
    facts.push(
      labelled(
        ctx,
        s(ctx, '发送渠道', 'Channels'),
        sentence(ctx, plain(m.channels.map((c) => lbl(ctx, MARKETING_CHANNEL_LABELS[c])).join(sep(ctx)))),
      ),
    );
  }
  if (m.personalised) {
    if (m.nonPersonalisedOption === true)
      facts.push([
        plain(
          s(ctx, '我们同时提供不针对您个人特征的选项。', 'We also offer an option that is not based on your personal characteristics.'),
        ),
      ]);
    else if (m.nonPersonalisedOption === false)
      facts.push([
        plain(s(ctx, '我们不提供不针对您个人特征的选项。', 'We offer no option that is not based on your personal characteristics.')),
      ]);
    else
      facts.push([gap(ctx, '是否提供不针对您个人特征的选项', 'whether an option not based on your personal characteristics is offered')]);
  }
  facts.push(
    m.optOut
      ? labelled(ctx, s(ctx, '拒绝方式', 'How to refuse'), sentence(ctx, txt(ctx, m.optOut)))
      : [gap(ctx, '如何拒绝接收此类信息', 'how to refuse these messages')],
  );
  return facts;
}

function retentionSentence(ctx: RenderContext, r: Retention): Inline[] {
  const event = lbl(ctx, RETENTION_TRIGGER_LABELS[r.trigger]);
  const action = lbl(ctx, RETENTION_ACTION_LABELS[r.action]);
  const subject: Inline[] = r.categories
    ? [...categoryList(ctx, r.categories), plain(colon(ctx))]
    : [plain(s(ctx, '上述个人信息', 'The information above is '))];
  let rule: string;
  if (ctx.lang === 'zh') {
    if (r.period) rule = `自${event}之日起保存${duration(ctx, r.period)}，期满后${action}`;
    else if (r.trigger === 'collection') rule = `收集后不予保存，即时${action}`;
    else rule = `保存至${event}时，随后${action}`;
  } else {
    if (r.period) rule = `kept for ${duration(ctx, r.period)} after ${event}, then ${action}`;
    else if (r.trigger === 'collection') rule = `not kept: ${action} on collection`;
    else rule = `kept until ${event}, then ${action}`;
  }
  const out: Inline[] = [...subject, plain(rule)];
  if (r.note) out.push(plain(s(ctx, '（', ' (')), txt(ctx, r.note), plain(s(ctx, '）', ')')));
  out.push(plain(stop(ctx)));
  return out;
}

function retentionFacts(ctx: RenderContext, rules: readonly Retention[] | undefined, categories: readonly string[]): Inline[][] {
  if (!rules || rules.length === 0) return [[gap(ctx, '上述个人信息的保存期限', 'how long this information is kept')]];
  const facts = rules.map((r) => labelled(ctx, s(ctx, '保存期限', 'Retention'), retentionSentence(ctx, r)));
  // Categories of the purpose that no rule names, when every rule is limited to some categories.
  if (rules.every((r) => r.categories)) {
    const covered = new Set(rules.flatMap((r) => r.categories ?? []));
    const rest = unique(categories).filter((id) => !covered.has(id));
    if (rest.length > 0) facts.push([gap(ctx, `${plainList(ctx, rest)}的保存期限`, `how long ${plainList(ctx, rest)} is kept`)]);
  }
  return facts;
}

function sensitiveBlocks(ctx: RenderContext): Block[] {
  const d = ctx.d;
  const blocks: Block[] = [
    para(
      plain(
        s(
          ctx,
          '敏感个人信息是一旦泄露或者非法使用，容易导致自然人的人格尊严受到侵害或者人身、财产安全受到危害的个人信息，包括生物识别、宗教信仰、特定身份、医疗健康、金融账户、行踪轨迹等信息，以及不满十四周岁未成年人的个人信息（《中华人民共和国个人信息保护法》第二十八条）。',
          'Sensitive personal information is personal information that, once leaked or unlawfully used, can easily harm a person’s dignity or endanger their personal or property safety, including biometrics, religious belief, specific identity, medical health, financial accounts and location tracks, and any personal information of a child under fourteen (Personal Information Protection Law of the PRC, art. 28).',
        ),
      ),
    ),
  ];
  const rows: Table['rows'] = [];
  const used = new Set<string>();
  for (const p of d.purposes) {
    for (const id of unique(p.categories)) {
      if (!isSensitive(ctx, id)) continue;
      used.add(id);
      rows.push({
        cells: {
          category: [categoryInline(ctx, id)],
          purpose: [purposeRef(ctx, p.id)],
          necessity: p.necessity ? [txt(ctx, p.necessity)] : [cellGap(ctx)],
          separate:
            p.separateConsent === undefined ? [cellGap(ctx)] : [plain(p.separateConsent ? s(ctx, '是', 'Yes') : s(ctx, '否', 'No'))],
        },
      });
    }
  }
  for (const c of d.categories) {
    if (used.has(c.id) || !isSensitive(ctx, c.id)) continue;
    rows.push({
      cells: { category: [categoryInline(ctx, c.id)], purpose: [cellGap(ctx)], necessity: [cellGap(ctx)], separate: [cellGap(ctx)] },
    });
  }
  if (rows.length === 0) {
    blocks.push(para(plain(s(ctx, '我们不处理敏感个人信息。', 'We do not process sensitive personal information.'))));
    return blocks;
  }
  blocks.push(
    para(
      plain(
        s(
          ctx,
          '我们处理的敏感个人信息、处理目的、处理的必要性以及对您个人权益的影响，以及是否单独征得您的同意，如下表所示。',
          'The table below names the sensitive personal information we process, the purpose, why it is necessary and how it affects your rights and interests, and whether we ask for your separate consent.',
        ),
      ),
    ),
  );
  blocks.push({
    type: 'table',
    table: {
      id: 'sensitive-table',
      caption: s(ctx, '我们处理的敏感个人信息', 'Sensitive personal information we process'),
      columns: [
        { key: 'category', label: s(ctx, '敏感个人信息', 'Sensitive information') },
        { key: 'purpose', label: s(ctx, '处理目的', 'Purpose') },
        { key: 'necessity', label: s(ctx, '必要性及对个人权益的影响', 'Necessity and effect on you') },
        { key: 'separate', label: s(ctx, '是否单独同意', 'Separate consent') },
      ],
      rows,
    },
  });
  const shared = (d.recipients ?? [])
    .map((r) => ({ r, cats: unique(r.categories).filter((id) => isSensitive(ctx, id)) }))
    .filter((x) => x.cats.length > 0);
  if (shared.length > 0) {
    blocks.push(
      para(
        ...labelled(
          ctx,
          s(ctx, '向第三方提供的敏感个人信息', 'Sensitive information provided to third parties'),
          sentence(
            ctx,
            ...joinInline(
              shared.map((x) => [
                recipientRef(ctx, x.r.id),
                plain(s(ctx, '（', ' (')),
                ...categoryList(ctx, x.cats),
                plain(s(ctx, '）', ')')),
              ]),
              s(ctx, '；', '; '),
            ),
          ),
        ),
      ),
    );
  }
  return blocks;
}

function permissionBlocks(ctx: RenderContext): Block[] {
  const perms = ctx.d.permissions;
  if (perms === undefined) return [para(gap(ctx, '我们申请的系统权限', 'the system permissions the app requests'))];
  if (perms.length === 0) return [para(plain(s(ctx, '我们不申请任何系统权限。', 'We request no system permissions.')))];
  const blocks: Block[] = [
    para(
      plain(
        s(
          ctx,
          '我们的应用会申请以下系统权限；Android 与 iOS 的权限标识见',
          'Our app asks for the system permissions below; their Android and iOS identifiers are in the ',
        ),
      ),
      { type: 'ref', text: documentName('permissions', ctx.lang), document: 'permissions' },
      plain(stop(ctx)),
    ),
  ];
  blocks.push({
    type: 'table',
    table: {
      id: 'permissions-summary',
      caption: s(ctx, '系统权限', 'System permissions'),
      columns: [
        { key: 'name', label: s(ctx, '权限', 'Permission') },
        { key: 'purpose', label: s(ctx, '使用目的', 'Purpose') },
        { key: 'when', label: s(ctx, '申请时机', 'When it is requested') },
        { key: 'ifDenied', label: s(ctx, '拒绝授权的影响', 'If you refuse') },
      ],
      rows: perms.map((p) => ({
        id: anchor.permission(p.id),
        cells: {
          name: [txt(ctx, p.name), ...(p.optional === false ? [plain(s(ctx, '（必需）', ' (required)'))] : [])],
          purpose: purposeRefs(ctx, p.purposes),
          when: [
            ...(p.requestedWhen ? [txt(ctx, p.requestedWhen)] : [cellGap(ctx)]),
            ...(p.requestedAtLaunch ? [plain(s(ctx, '（在安装或首次启动时即申请）', ' (asked at installation or first launch)'))] : []),
          ],
          ifDenied: p.ifDenied ? [txt(ctx, p.ifDenied)] : [cellGap(ctx)],
        },
      })),
    },
  });
  if (perms.some((p) => p.enabledByDefault === true)) {
    const on = perms.filter((p) => p.enabledByDefault === true).map((p) => [permissionRef(ctx, p.id, 'policy')]);
    blocks.push(para(...labelled(ctx, s(ctx, '默认开启的权限', 'Permissions on by default'), sentence(ctx, ...joinInline(on, sep(ctx))))));
  }
  return blocks;
}

function sourceBlocks(ctx: RenderContext): Block[] {
  const sources = ctx.d.sources;
  if (!sources || sources.length === 0)
    return [para(gap(ctx, '个人信息的来源和收集方式', 'where the personal information comes from and how it is collected'))];
  return [
    list(
      sources.map((src) => {
        const runs: Inline[] = [strong(lbl(ctx, SOURCE_KIND_LABELS[src.kind]))];
        if (src.provider) runs.push(plain(s(ctx, '（', ' (')), txt(ctx, src.provider), plain(s(ctx, '）', ')')));
        runs.push(plain(colon(ctx)));
        if (src.description) runs.push(txt(ctx, src.description), plain(s(ctx, '。', '. ')));
        runs.push(...labelled(ctx, s(ctx, '涉及', 'Covers'), sentence(ctx, ...categoryList(ctx, src.categories))));
        const f = frequency(ctx, src.frequency);
        if (f) runs.push(plain(s(ctx, '', ' ')), ...labelled(ctx, s(ctx, '频率', 'Frequency'), sentence(ctx, plain(f))));
        if (src.background)
          runs.push(plain(s(ctx, '应用在后台运行时仍会收集。', ' Collection continues while the app runs in the background.')));
        return runs;
      }),
    ),
  ];
}

function consentBlocks(ctx: RenderContext): Block[] {
  const c = ctx.d.consent;
  if (!c) return [para(gap(ctx, '如何征得您的同意', 'how your consent is asked for'))];
  const facts: Inline[][] = [];
  if (c.firstLaunchDialog === true)
    facts.push([
      plain(
        s(
          ctx,
          '首次启动时，我们以弹窗方式向您展示本政策；在您同意前，我们不会收集您的个人信息。',
          'At first launch we show you this policy in a dialog; we collect no personal information before you agree.',
        ),
      ),
    ]);
  if (c.firstLaunchDialog === false)
    facts.push([plain(s(ctx, '首次启动时，我们不会以弹窗方式展示本政策。', 'We do not show this policy in a dialog at first launch.'))]);
  if (c.impliedByUse === true)
    facts.push([
      plain(
        s(
          ctx,
          '本政策规定：您使用我们的服务，即视为同意本政策。',
          'This policy states that using our service counts as agreeing to this policy.',
        ),
      ),
    ]);
  if (c.preTicked === true) facts.push([plain(s(ctx, '同意选项默认处于勾选状态。', 'The consent box is ticked by default.'))]);
  if (c.preTicked === false) facts.push([plain(s(ctx, '同意选项不会默认勾选。', 'The consent box is not ticked by default.'))]);
  if (c.acceptsFutureChanges === true)
    facts.push([
      plain(s(ctx, '本政策规定：您同意我们日后对本政策的修改。', 'This policy states that you agree in advance to future changes to it.')),
    ]);
  if (c.refuseAllOrNothing === true)
    facts.push([
      plain(
        s(
          ctx,
          '本政策规定：如您不同意本政策的任何内容，将无法使用我们的服务。',
          'This policy states that if you disagree with any part of it you cannot use our service.',
        ),
      ),
    ]);
  if (c.reaskAfterHours !== undefined)
    facts.push([
      plain(
        s(
          ctx,
          `在您拒绝后，我们至少间隔${c.reaskAfterHours}小时才会再次询问。`,
          `After you refuse, we wait at least ${c.reaskAfterHours} hours before asking again.`,
        ),
      ),
    ]);
  facts.push([
    plain(s(ctx, '撤回同意的方式见', 'How to withdraw your consent: see ')),
    { type: 'ref', text: s(ctx, '您的权利', 'Your rights'), document: 'policy', target: 'rights' },
    plain(stop(ctx)),
  ]);
  return [list(facts)];
}

// ---------------------------------------------------------------------------------------------
// 二、Cookie和同类技术

function cookieSection(ctx: RenderContext, n: number): Section {
  const c = ctx.d.cookies;
  const title = sectionTitle(ctx, n, '我们如何使用Cookie和同类技术', 'How we use cookies and similar technologies');
  if (!c)
    return {
      id: 'cookies',
      title,
      blocks: [para(gap(ctx, '是否使用Cookie和同类技术', 'whether cookies and similar technologies are used'))],
    };
  if (!c.used)
    return {
      id: 'cookies',
      title,
      blocks: [para(plain(s(ctx, '我们不使用Cookie和同类技术。', 'We do not use cookies or similar technologies.')))],
    };
  const facts: Inline[][] = [];
  facts.push(
    c.categories?.length
      ? labelled(
          ctx,
          s(ctx, '通过Cookie收集的个人信息', 'Information collected through cookies'),
          sentence(ctx, ...categoryList(ctx, c.categories)),
        )
      : [gap(ctx, '通过Cookie收集哪些个人信息', 'which information cookies collect')],
  );
  facts.push(
    c.purposes?.length
      ? labelled(ctx, s(ctx, '使用目的', 'Purpose'), sentence(ctx, ...purposeRefs(ctx, c.purposes)))
      : [gap(ctx, '使用Cookie的目的', 'what cookies are used for')],
  );
  if (c.canRefuse === true) {
    facts.push(
      c.howToRefuse
        ? labelled(ctx, s(ctx, '您可以拒绝Cookie', 'You can refuse cookies'), sentence(ctx, txt(ctx, c.howToRefuse)))
        : [plain(s(ctx, '您可以拒绝Cookie。', 'You can refuse cookies. ')), gap(ctx, '拒绝Cookie的具体方式', 'how to refuse them')],
    );
  } else if (c.canRefuse === false) {
    facts.push([plain(s(ctx, '本政策规定您无法拒绝Cookie。', 'This policy states that you cannot refuse cookies.'))]);
  } else {
    facts.push([gap(ctx, '您能否以及如何拒绝Cookie', 'whether and how you can refuse cookies')]);
  }
  if (c.ifRefused) facts.push(labelled(ctx, s(ctx, '拒绝Cookie的影响', 'If you refuse'), sentence(ctx, txt(ctx, c.ifRefused))));
  if (c.thirdParty === true)
    facts.push([plain(s(ctx, '第三方也会通过Cookie收集您的信息。', 'Third parties also collect information through cookies.'))]);
  if (c.thirdParty === false)
    facts.push([
      plain(s(ctx, '我们不允许第三方通过Cookie收集您的信息。', 'We do not let third parties collect information through cookies.')),
    ]);
  return { id: 'cookies', title, blocks: [list(facts)] };
}

// ---------------------------------------------------------------------------------------------
// 三、共享、委托处理、转让、公开披露

function recipientGroup(r: Recipient): 'entrusted' | 'sdk' | 'provision' {
  if (r.kind === 'sdk') return 'sdk';
  if (r.kind === 'processor' || r.method === 'entrusted') return 'entrusted';
  return 'provision';
}

function recipientBlock(ctx: RenderContext, r: Recipient): Block {
  const facts: Inline[][] = [];
  facts.push(labelled(ctx, s(ctx, '类型', 'Type'), sentence(ctx, plain(lbl(ctx, RECIPIENT_KIND_LABELS[r.kind])))));
  facts.push(
    r.company
      ? labelled(ctx, s(ctx, '公司名称', 'Company'), sentence(ctx, txt(ctx, r.company)))
      : [gap(ctx, '其公司名称', 'its company name')],
  );
  const purpose: Inline[] = [];
  if (r.purposeText) purpose.push(txt(ctx, r.purposeText), plain(s(ctx, '（', ' (')));
  purpose.push(...purposeRefs(ctx, r.purposes));
  if (r.purposeText) purpose.push(plain(s(ctx, '）', ')')));
  facts.push(labelled(ctx, s(ctx, '使用目的', 'Purpose'), sentence(ctx, ...purpose)));
  facts.push(labelled(ctx, s(ctx, '个人信息', 'Personal information'), sentence(ctx, ...categoryList(ctx, r.categories))));
  const method: Inline[] = [plain(lbl(ctx, SHARE_METHOD_LABELS[r.method]))];
  if (r.deidentified) method.push(plain(s(ctx, '，经去标识化处理', ', de-identified')));
  facts.push(labelled(ctx, s(ctx, '方式', 'Method'), sentence(ctx, ...method)));
  facts.push(
    r.scenario ? labelled(ctx, s(ctx, '场景', 'When'), sentence(ctx, txt(ctx, r.scenario))) : [gap(ctx, '其使用场景', 'when this happens')],
  );
  facts.push(
    r.consent
      ? labelled(ctx, s(ctx, '同意方式', 'Consent'), sentence(ctx, plain(lbl(ctx, RECIPIENT_CONSENT_LABELS[r.consent]))))
      : [gap(ctx, '如何就此征得您的同意', 'how your consent to this is asked for')],
  );
  const contact = r.contact;
  if (contact && (contact.phone?.length || contact.email?.length || contact.address || contact.web || contact.channel || contact.name)) {
    const parts: Inline[][] = [];
    if (contact.name) parts.push([txt(ctx, contact.name)]);
    if (contact.phone?.length) parts.push([plain(`${s(ctx, '电话', 'phone')} ${contact.phone.join(' / ')}`)]);
    if (contact.email?.length) parts.push([plain(`${s(ctx, '邮箱', 'email')} ${contact.email.join(' / ')}`)]);
    if (contact.address) parts.push([plain(`${s(ctx, '地址', 'address')} `), txt(ctx, contact.address)]);
    if (contact.web) parts.push(linkOrText(contact.web));
    if (contact.channel) parts.push([txt(ctx, contact.channel)]);
    facts.push(labelled(ctx, s(ctx, '联系方式', 'Contact'), sentence(ctx, ...joinInline(parts, s(ctx, '；', '; ')))));
  } else {
    facts.push([gap(ctx, '其联系方式', 'how to contact it')]);
  }
  const policy = recipientPolicy(ctx, r);
  facts.push(
    policy ? labelled(ctx, s(ctx, '隐私政策', 'Privacy policy'), sentence(ctx, ...policy)) : [gap(ctx, '其隐私政策', 'its privacy policy')],
  );
  for (const note of recipientNotes(ctx, r)) facts.push(sentence(ctx, ...note));
  return sub(anchor.recipient(r.id), textTitle(ctx, r.name), [list(facts)]);
}

function linkOrText(url: string): Inline[] {
  const href = safeUrl(url);
  return href ? [{ type: 'link', text: url, href }] : [plain(url)];
}

function sharingSection(ctx: RenderContext, n: number): Section {
  const d = ctx.d;
  const blocks: Block[] = [];
  const recipients = d.recipients;
  if (recipients === undefined)
    blocks.push(para(gap(ctx, '是否向第三方提供您的个人信息', 'whether your personal information is provided to third parties')));
  else if (recipients.length === 0)
    blocks.push(
      para(
        plain(
          s(
            ctx,
            '我们不向第三方提供您的个人信息，也未嵌入收集个人信息的第三方SDK。',
            'We do not provide your personal information to third parties and embed no third-party SDK that collects it.',
          ),
        ),
      ),
    );
  else
    blocks.push(
      para(
        plain(
          s(
            ctx,
            '以下第三方会接收您的个人信息，或通过嵌入我们产品的SDK直接收集您的个人信息；汇总见',
            'The third parties below receive your personal information or collect it directly through SDKs embedded in our products; the summary is the ',
          ),
        ),
        { type: 'ref', text: documentName('sharing-list', ctx.lang), document: 'sharing-list' },
        plain(stop(ctx)),
      ),
    );
  let i = 0;
  const groups: ['entrusted' | 'provision' | 'sdk', string, string][] = [
    ['entrusted', '委托处理', 'Entrusted processing'],
    ['provision', '向其他个人信息处理者提供（共享）', 'Provision to other handlers (sharing)'],
    ['sdk', '第三方SDK', 'Third-party SDKs'],
  ];
  for (const [group, zh, en] of groups) {
    const members = (recipients ?? []).filter((r) => recipientGroup(r) === group);
    if (members.length === 0) continue;
    blocks.push(
      sub(
        group,
        subTitle(ctx, n, ++i, s(ctx, zh, en)),
        members.map((r) => recipientBlock(ctx, r)),
      ),
    );
  }
  const disclosure = d.disclosure;
  // 转让
  const transfer = disclosure?.transfer;
  const transferBlocks: Block[] = [];
  if (!transfer)
    transferBlocks.push(
      para(gap(ctx, '是否以及在何种情形下转让您的个人信息', 'whether and when your personal information is transferred')),
    );
  else if (!transfer.occurs)
    transferBlocks.push(para(plain(s(ctx, '我们不会转让您的个人信息。', 'We do not transfer your personal information.'))));
  else {
    transferBlocks.push(
      para(plain(s(ctx, '我们仅在以下情形转让您的个人信息：', 'We transfer your personal information only in these cases:'))),
    );
    transferBlocks.push(
      transfer.conditions?.length
        ? list(transfer.conditions.map((c) => sentence(ctx, txt(ctx, c))))
        : para(gap(ctx, '转让的具体情形', 'the cases in which it is transferred')),
    );
    if (transfer.notifyRecipientName === true)
      transferBlocks.push(
        para(
          plain(
            s(
              ctx,
              '转让时，我们会告知您接收方的名称和联系方式。',
              'When we transfer it, we tell you the name and contact of the recipient.',
            ),
          ),
        ),
      );
  }
  blocks.push(sub('transfer', subTitle(ctx, n, ++i, s(ctx, '转让', 'Transfer')), transferBlocks));
  // 公开披露
  const pub = disclosure?.public;
  const pubBlocks: Block[] = [];
  if (!pub) pubBlocks.push(para(gap(ctx, '是否公开披露您的个人信息', 'whether your personal information is made public')));
  else if (!pub.occurs)
    pubBlocks.push(para(plain(s(ctx, '我们不会公开披露您的个人信息。', 'We do not make your personal information public.'))));
  else {
    pubBlocks.push(
      para(plain(s(ctx, '我们仅在以下情形公开披露您的个人信息：', 'We make your personal information public only in these cases:'))),
    );
    pubBlocks.push(
      pub.conditions?.length
        ? list(pub.conditions.map((c) => sentence(ctx, txt(ctx, c))))
        : para(gap(ctx, '公开披露的具体情形', 'the cases in which it is made public')),
    );
    if (pub.separateConsent === true)
      pubBlocks.push(
        para(plain(s(ctx, '公开披露前，我们会单独征得您的同意。', 'We ask for your separate consent before making it public.'))),
      );
    else if (pub.separateConsent === false)
      pubBlocks.push(
        para(plain(s(ctx, '公开披露前，我们不会单独征得您的同意。', 'We do not ask for separate consent before making it public.'))),
      );
    else pubBlocks.push(para(gap(ctx, '公开披露前是否单独征得您的同意', 'whether separate consent is asked before making it public')));
  }
  blocks.push(sub('public-disclosure', subTitle(ctx, n, ++i, s(ctx, '公开披露', 'Public disclosure')), pubBlocks));
  if (disclosure?.exceptions?.length) {
    blocks.push(
      sub('exceptions', subTitle(ctx, n, ++i, s(ctx, '征得同意的例外', 'Exceptions to consent')), [
        para(
          plain(
            s(
              ctx,
              '以下情形属于共享、转让、公开披露您的个人信息时事先征得您同意的例外：',
              'The cases below are exceptions to asking your consent before sharing, transferring or disclosing your personal information:',
            ),
          ),
        ),
        list(disclosure.exceptions.map((e) => sentence(ctx, txt(ctx, e)))),
      ]),
    );
  }
  return {
    id: 'sharing',
    title: sectionTitle(
      ctx,
      n,
      '我们如何共享、委托处理、转让、公开披露您的个人信息',
      'How we share, entrust, transfer and disclose your personal information',
    ),
    blocks,
  };
}

// ---------------------------------------------------------------------------------------------
// 四、存储

function storageSection(ctx: RenderContext, n: number): Section {
  const d = ctx.d;
  const st = d.storage;
  const blocks: Block[] = [];
  blocks.push(
    para(
      ...(st?.location
        ? labelled(ctx, s(ctx, '存储地点', 'Where it is stored'), sentence(ctx, declared(ctx, st.location)))
        : [gap(ctx, '个人信息的存储地点', 'where personal information is stored')]),
    ),
  );
  // Retention: the general statement and every purpose's rule.
  const withRules = d.purposes.filter((p) => p.retention && p.retention.length > 0);
  const without = d.purposes.filter((p) => !p.retention || p.retention.length === 0);
  if (st?.retention) blocks.push(para(...labelled(ctx, s(ctx, '保存期限', 'How long it is kept'), sentence(ctx, txt(ctx, st.retention)))));
  if (withRules.length > 0) {
    blocks.push(para(plain(s(ctx, '各目的的保存期限如下：', 'Retention per purpose:'))));
    blocks.push(
      list(
        withRules.flatMap((p) => (p.retention ?? []).map((r) => [purposeRef(ctx, p.id), plain(colon(ctx)), ...retentionSentence(ctx, r)])),
      ),
    );
  }
  if (!st?.retention && withRules.length === 0) {
    blocks.push(para(gap(ctx, '个人信息的保存期限', 'how long personal information is kept')));
  } else if (without.length > 0) {
    blocks.push(
      para(
        {
          type: 'gap',
          text: s(
            ctx,
            '本政策未说明以下目的所收集个人信息的保存期限：',
            'Not stated in this policy: how long the information of these purposes is kept: ',
          ),
        },
        ...purposeRefs(
          ctx,
          without.map((p) => p.id),
        ),
        plain(stop(ctx)),
      ),
    );
  }
  // Cross-border provision.
  const cross = st?.crossBorder ?? [];
  const crossRecipients = (d.recipients ?? []).filter((r) => r.crossBorder === true && !cross.some((c) => c.recipient === r.id));
  if (cross.length === 0 && crossRecipients.length === 0) {
    blocks.push(
      para(
        plain(
          s(
            ctx,
            '本政策未声明任何向中国境外提供个人信息的情形。',
            'This policy declares no provision of personal information outside mainland China.',
          ),
        ),
      ),
    );
  } else {
    const items: Inline[][] = cross.map((c) => {
      const runs: Inline[] = [];
      runs.push(plain(s(ctx, `向位于${c.country}的`, 'To ')));
      runs.push(c.recipient ? recipientRef(ctx, c.recipient) : plain(s(ctx, '接收方', 'a recipient')));
      if (ctx.lang === 'zh') runs.push(plain('提供'));
      else runs.push(plain(' in '), declared(ctx, c.country), plain(': '));
      runs.push(...categoryList(ctx, c.categories));
      runs.push(plain(s(ctx, '。', '. ')));
      runs.push(
        ...(c.route
          ? labelled(ctx, s(ctx, '出境途径', 'Legal route'), sentence(ctx, plain(lbl(ctx, CROSS_BORDER_ROUTE_LABELS[c.route]))))
          : [gap(ctx, '出境的合法途径', 'the legal route for the transfer')]),
      );
      if (c.separateConsent === true)
        runs.push(plain(s(ctx, '我们会就此单独征得您的同意。', ' We ask for your separate consent to this.')));
      else if (c.separateConsent === false)
        runs.push(plain(s(ctx, '我们不会就此单独征得您的同意。', ' We do not ask for separate consent to this.')));
      return runs;
    });
    for (const r of crossRecipients) {
      items.push([
        recipientRef(ctx, r.id),
        plain(s(ctx, '位于中国境外。', ' is outside mainland China. ')),
        gap(ctx, '向其提供个人信息的出境途径', 'the legal route for providing information to it'),
      ]);
    }
    blocks.push(
      para(plain(s(ctx, '我们向中国境外提供个人信息的情形：', 'We provide personal information outside mainland China as follows:'))),
    );
    blocks.push(list(items));
  }
  return { id: 'storage', title: sectionTitle(ctx, n, '我们如何存储您的个人信息', 'How we store your personal information'), blocks };
}

// ---------------------------------------------------------------------------------------------
// 五、保护

function securitySection(ctx: RenderContext, n: number): Section {
  const d = ctx.d;
  const sec = d.security;
  const blocks: Block[] = [];
  if (!sec || sec.measures.length === 0) blocks.push(para(gap(ctx, '我们采取的安全保护措施', 'the security measures we take')));
  else
    blocks.push(
      para(
        ...labelled(
          ctx,
          s(ctx, '我们采取的安全措施', 'Security measures we take'),
          sentence(ctx, plain(sec.measures.map((m) => lbl(ctx, SECURITY_MEASURE_LABELS[m])).join(sep(ctx)))),
        ),
      ),
    );
  if (sec?.encryptionAtRest) {
    const scope = sec.encryptionAtRest.scope;
    const what: Inline[] =
      scope === 'sensitive'
        ? [plain(s(ctx, '敏感个人信息', 'sensitive personal information'))]
        : scope === 'all'
          ? [plain(s(ctx, '全部个人信息', 'all personal information'))]
          : categoryList(ctx, scope);
    blocks.push(
      para(
        ...labelled(
          ctx,
          s(ctx, '加密存储', 'Encryption at rest'),
          ctx.lang === 'zh'
            ? sentence(ctx, plain(`使用 ${sec.encryptionAtRest.algorithm} 加密存储`), ...what)
            : sentence(ctx, ...what, plain(' is stored encrypted with '), declared(ctx, sec.encryptionAtRest.algorithm)),
        ),
      ),
    );
  }
  if (sec?.encryptionInTransit)
    blocks.push(para(...labelled(ctx, s(ctx, '加密传输', 'Encryption in transit'), sentence(ctx, declared(ctx, sec.encryptionInTransit)))));
  if (sec?.note) blocks.push(para(txt(ctx, sec.note)));
  if (sec?.liabilityDisclaimer)
    blocks.push(para(...labelled(ctx, s(ctx, '关于责任的约定', 'On liability'), [txt(ctx, sec.liabilityDisclaimer)])));
  if (d.pia) {
    const scope = d.pia.scope?.length
      ? joinInline(
          d.pia.scope.map((x) => [txt(ctx, x)]),
          sep(ctx),
        )
      : [];
    if (d.pia.done) {
      blocks.push(
        para(
          plain(
            d.pia.date
              ? s(
                  ctx,
                  `我们已于${date(ctx, d.pia.date)}完成个人信息保护影响评估`,
                  `We completed a personal-information protection impact assessment on ${date(ctx, d.pia.date)}`,
                )
              : s(ctx, '我们已完成个人信息保护影响评估', 'We have completed a personal-information protection impact assessment'),
          ),
          ...(scope.length > 0 ? [plain(s(ctx, '，范围：', ', covering: ')), ...scope] : []),
          plain(stop(ctx)),
        ),
      );
    } else
      blocks.push(
        para(
          plain(s(ctx, '我们尚未完成个人信息保护影响评估。', 'We have not completed a personal-information protection impact assessment.')),
        ),
      );
  }
  // Incidents.
  const inc = d.incidents;
  const incBlocks: Block[] = [];
  if (!inc)
    incBlocks.push(para(gap(ctx, '发生个人信息安全事件时如何告知您', 'how you are told about a personal-information security incident')));
  else {
    const channels = inc.channels.map((c) => lbl(ctx, INCIDENT_CHANNEL_LABELS[c])).join(sep(ctx));
    const content = (inc.content ?? []).map((c) => lbl(ctx, INCIDENT_CONTENT_LABELS[c]));
    incBlocks.push(
      para(
        plain(
          content.length > 0
            ? s(
                ctx,
                `发生个人信息安全事件后，我们将通过${channels}告知您${content.join('、')}。`,
                `After a personal-information security incident we tell you, by ${channels}, ${content.join(', ')}.`,
              )
            : s(
                ctx,
                `发生个人信息安全事件后，我们将通过${channels}告知您。`,
                `After a personal-information security incident we tell you by ${channels}.`,
              ),
        ),
        ...(content.length === 0 ? [gap(ctx, '告知的内容', 'what the notice contains')] : []),
      ),
    );
    if (inc.reportsToRegulator === true)
      incBlocks.push(
        para(
          plain(
            s(
              ctx,
              '我们还将按照监管部门的要求，上报个人信息安全事件的处置情况。',
              'We also report the handling of the incident to the regulators as they require.',
            ),
          ),
        ),
      );
    else if (inc.reportsToRegulator === undefined)
      incBlocks.push(para(gap(ctx, '是否向监管部门报告安全事件', 'whether incidents are reported to the regulators')));
  }
  blocks.push(sub('incidents', subTitle(ctx, n, 1, s(ctx, '个人信息安全事件', 'Security incidents')), incBlocks));
  return { id: 'security', title: sectionTitle(ctx, n, '我们如何保护您的个人信息', 'How we protect your personal information'), blocks };
}

// ---------------------------------------------------------------------------------------------
// 六、您的权利

const CORE_RIGHTS = ['access', 'copy', 'correction', 'deletion', 'cancellation', 'withdrawal', 'complaint'] as const;

function rightsSection(ctx: RenderContext, n: number): Section {
  const d = ctx.d;
  const r = d.rights;
  const title = sectionTitle(ctx, n, '您的权利', 'Your rights');
  if (!r)
    return {
      id: 'rights',
      title,
      blocks: [para(gap(ctx, '您如何行使对个人信息的权利', 'how you exercise your rights over your personal information'))],
    };
  const blocks: Block[] = [];
  if (r.list.length > 0) {
    blocks.push(para(plain(s(ctx, '您可以通过以下方式行使您的权利：', 'You can exercise your rights as follows:'))));
    const items: ListItem[] = r.list.map((right) => {
      const runs: Inline[] = [strong(lbl(ctx, RIGHT_LABELS[right.right])), plain(colon(ctx))];
      const channels = right.channels.map((c) => {
        const parts: Inline[] = [plain(lbl(ctx, CHANNEL_LABELS[c.kind]))];
        if (c.detail) parts.push(plain(s(ctx, '（', ' (')), txt(ctx, c.detail), plain(s(ctx, '）', ')')));
        return parts;
      });
      runs.push(plain(s(ctx, '通过', 'through ')), ...joinInline(channels, sep(ctx)), plain(stop(ctx)));
      const time = right.responseTime ?? r.responseTime;
      runs.push(
        plain(s(ctx, '', ' ')),
        ...(time
          ? labelled(ctx, s(ctx, '答复时限', 'Answered within'), sentence(ctx, plain(responseTime(ctx, time))))
          : [gap(ctx, '答复期限', 'how soon you get an answer')]),
      );
      if (right.conditions)
        runs.push(plain(s(ctx, '', ' ')), ...labelled(ctx, s(ctx, '条件', 'Conditions'), sentence(ctx, txt(ctx, right.conditions))));
      if (right.verification?.length)
        runs.push(
          plain(s(ctx, '', ' ')),
          ...labelled(ctx, s(ctx, '身份核验需要', 'Identity check uses'), sentence(ctx, ...categoryList(ctx, right.verification))),
        );
      if (right.note) runs.push(plain(s(ctx, '', ' ')), ...sentence(ctx, txt(ctx, right.note)));
      return { id: anchor.right(right.right), content: runs };
    });
    blocks.push({ type: 'list', ordered: false, items });
  }
  const declared = new Set(r.list.map((x) => x.right));
  if (r.withdrawal) declared.add('withdrawal');
  const missing = CORE_RIGHTS.filter((k) => !declared.has(k));
  if (missing.length > 0) {
    blocks.push(
      para({
        type: 'gap',
        text: s(
          ctx,
          `本政策未说明如何行使以下权利：${missing.map((k) => RIGHT_LABELS[k].zh).join('；')}。`,
          `Not stated in this policy: how to exercise these rights: ${missing.map((k) => RIGHT_LABELS[k].en.toLowerCase()).join('; ')}.`,
        ),
      }),
    );
  }
  if (r.withdrawal) blocks.push(para(...labelled(ctx, s(ctx, '撤回同意', 'Withdrawing consent'), sentence(ctx, txt(ctx, r.withdrawal)))));
  if (r.responseTime)
    blocks.push(
      para(
        plain(
          s(
            ctx,
            `除另有说明外，我们将在${responseTime(ctx, r.responseTime)}内答复您的请求。`,
            `Unless stated otherwise, we answer your request within ${responseTime(ctx, r.responseTime)}.`,
          ),
        ),
      ),
    );
  const c = r.cancellation;
  if (c) {
    const facts: Inline[][] = [];
    if (c.effect) facts.push([plain(`${lbl(ctx, CANCELLATION_EFFECT_LABELS[c.effect])}${stop(ctx)}`)]);
    if (c.irreversibleWarning)
      facts.push([
        plain(
          s(
            ctx,
            '注销账号是不可逆的操作，我们会在您注销前提示您。',
            'Cancelling the account cannot be undone; we warn you before you do it.',
          ),
        ),
      ]);
    if (c.afterwards)
      facts.push([
        plain(
          s(
            ctx,
            `注销后，我们将${CANCELLATION_AFTER_LABELS[c.afterwards].zh}。`,
            `After cancellation, ${CANCELLATION_AFTER_LABELS[c.afterwards].en}.`,
          ),
        ),
      ]);
    else facts.push([gap(ctx, '注销后如何处理您的个人信息', 'what happens to your personal information after cancellation')]);
    if (c.preconditions?.length)
      facts.push(
        labelled(
          ctx,
          s(ctx, '注销的前提条件', 'Preconditions'),
          sentence(
            ctx,
            ...joinInline(
              c.preconditions.map((x) => [txt(ctx, x)]),
              s(ctx, '；', '; '),
            ),
          ),
        ),
      );
    if (c.verification?.length)
      facts.push(
        labelled(
          ctx,
          s(ctx, '注销前的身份核验', 'Identity check before cancellation'),
          sentence(ctx, ...categoryList(ctx, c.verification)),
        ),
      );
    blocks.push(sub('cancellation', subTitle(ctx, n, 1, s(ctx, '注销账号', 'Cancelling your account')), [list(facts)]));
  }
  blocks.push(
    para(
      ...(r.externalDispute
        ? labelled(ctx, s(ctx, '外部争议解决途径', 'External dispute resolution'), sentence(ctx, txt(ctx, r.externalDispute)))
        : [gap(ctx, '外部争议解决途径（如向监管部门投诉或向法院提起诉讼）', 'an external route for disputes (a regulator or a court)')]),
    ),
  );
  return { id: 'rights', title, blocks };
}

// ---------------------------------------------------------------------------------------------
// 七、未成年人

function minorsSection(ctx: RenderContext, n: number): Section {
  const m = ctx.d.minors;
  const title = sectionTitle(ctx, n, '未成年人的个人信息保护', 'Personal information of minors');
  if (!m)
    return {
      id: 'minors',
      title,
      blocks: [para(gap(ctx, '如何保护未成年人的个人信息', 'how the personal information of minors is protected'))],
    };
  const facts: Inline[][] = [];
  if (m.directedAtChildren) facts.push([plain(s(ctx, '我们的产品面向儿童。', 'Our products are directed at children.'))]);
  if (m.guardianConsent === true)
    facts.push([
      plain(
        s(
          ctx,
          `若您是不满${m.ageThreshold}周岁的未成年人，在使用我们的服务前，应事先取得您的父母或者其他监护人的同意。`,
          `If you are under ${m.ageThreshold}, you need the consent of your parent or other guardian before using our service.`,
        ),
      ),
    ]);
  else if (m.guardianConsent === false)
    facts.push([
      plain(
        s(
          ctx,
          `本政策将不满${m.ageThreshold}周岁的人视为未成年人，但不要求取得其监护人的同意。`,
          `This policy treats people under ${m.ageThreshold} as minors but does not require their guardian’s consent.`,
        ),
      ),
    ]);
  else
    facts.push([
      plain(s(ctx, `本政策将不满${m.ageThreshold}周岁的人视为未成年人。`, `This policy treats people under ${m.ageThreshold} as minors. `)),
      gap(ctx, '是否需要监护人同意', 'whether a guardian’s consent is needed'),
    ]);
  if (m.under14Rules) {
    const t = textOf(m.under14Rules, ctx.lang);
    const href = safeUrl(t.text);
    facts.push(
      labelled(
        ctx,
        s(ctx, '不满十四周岁未成年人个人信息处理规则', 'Rules for children under fourteen'),
        sentence(ctx, href && /^\S+$/.test(t.text) ? { type: 'link', text: t.text, href } : txt(ctx, m.under14Rules)),
      ),
    );
  } else {
    facts.push([
      gap(ctx, '针对不满十四周岁未成年人的专门个人信息处理规则', 'dedicated rules for the personal information of children under fourteen'),
    ]);
  }
  if (m.verification)
    facts.push(
      labelled(ctx, s(ctx, '年龄及监护关系的核验方式', 'How age and guardianship are verified'), sentence(ctx, txt(ctx, m.verification))),
    );
  return { id: 'minors', title, blocks: [list(facts)] };
}

// ---------------------------------------------------------------------------------------------
// 八、更新

function changesSection(ctx: RenderContext, n: number): Section {
  const d = ctx.d;
  const ch = d.changes;
  const blocks: Block[] = [];
  blocks.push(
    para(
      ...(ch?.notification?.length
        ? [
            plain(
              s(
                ctx,
                `本政策更新时，我们将通过${ch.notification.map((x) => CHANGE_NOTIFICATION_LABELS[x].zh).join('、')}通知您。`,
                `When this policy changes, we tell you by ${ch.notification.map((x) => CHANGE_NOTIFICATION_LABELS[x].en).join(', ')}.`,
              ),
            ),
          ]
        : [gap(ctx, '本政策更新时如何通知您', 'how you are told when this policy changes')]),
    ),
  );
  if (ch?.materialChangeNotice === true)
    blocks.push(
      para(plain(s(ctx, '对于重大变更，我们还会提供更为显著的通知。', 'For material changes we also give a more prominent notice.'))),
    );
  if (ch?.noReductionWithoutConsent === true)
    blocks.push(
      para(
        plain(
          s(
            ctx,
            '未经您明确同意，我们不会削减您按照本政策所享有的权利。',
            'We do not reduce your rights under this policy without your explicit consent.',
          ),
        ),
      ),
    );
  blocks.push({
    type: 'table',
    table: {
      id: 'versions-table',
      caption: s(ctx, '版本记录', 'Version history'),
      columns: [
        { key: 'version', label: s(ctx, '版本', 'Version') },
        { key: 'published', label: s(ctx, '发布日期', 'Published') },
        { key: 'effective', label: s(ctx, '生效日期', 'Effective') },
        { key: 'summary', label: s(ctx, '变更摘要', 'Summary of changes') },
      ],
      rows: [...d.versions].reverse().map((v) => ({
        cells: {
          version: [plain(v.version)],
          published: v.published ? [plain(date(ctx, v.published))] : [cellGap(ctx)],
          effective: v.effective ? [plain(date(ctx, v.effective))] : [cellGap(ctx)],
          summary: v.summary ? [txt(ctx, v.summary)] : [plain('—')],
        },
      })),
    },
  });
  return { id: 'changes', title: sectionTitle(ctx, n, '本政策如何更新', 'How this policy is updated'), blocks };
}

// ---------------------------------------------------------------------------------------------
// 九、联系我们

function contactSection(ctx: RenderContext, n: number): Section {
  const c = ctx.d.controller;
  const facts: Inline[][] = [];
  facts.push(
    c.legalName
      ? labelled(ctx, s(ctx, '个人信息处理者', 'Handler'), sentence(ctx, txt(ctx, c.legalName)))
      : [gap(ctx, '个人信息处理者的名称', 'the name of the personal-information handler')],
  );
  const addresses: [string, string, typeof c.registeredAddress][] = [
    ['注册地址', 'Registered address', c.registeredAddress],
    ['办公地址', 'Office address', c.officeAddress],
    ['联系地址', 'Contact address', c.contactAddress],
  ];
  let anyAddress = false;
  for (const [zh, en, v] of addresses) {
    if (!v) continue;
    anyAddress = true;
    facts.push(labelled(ctx, s(ctx, zh, en), sentence(ctx, txt(ctx, v))));
  }
  if (!anyAddress) facts.push([gap(ctx, '我们的地址', 'our address')]);
  if (c.phone?.length) facts.push(labelled(ctx, s(ctx, '电话', 'Phone'), sentence(ctx, plain(c.phone.join(' / ')))));
  if (c.email?.length) facts.push(labelled(ctx, s(ctx, '电子邮箱', 'Email'), sentence(ctx, plain(c.email.join(' / ')))));
  if (!c.phone?.length && !c.email?.length) facts.push([gap(ctx, '联系电话或电子邮箱', 'a phone number or email address')]);
  const dpo = c.dpo;
  if (dpo) {
    const parts: Inline[][] = [];
    if (dpo.name) parts.push([txt(ctx, dpo.name)]);
    if (dpo.title) parts.push([txt(ctx, dpo.title)]);
    if (dpo.phone?.length) parts.push([plain(`${s(ctx, '电话', 'phone')} ${dpo.phone.join(' / ')}`)]);
    if (dpo.email?.length) parts.push([plain(`${s(ctx, '邮箱', 'email')} ${dpo.email.join(' / ')}`)]);
    if (dpo.address) parts.push([plain(`${s(ctx, '地址', 'address')} `), txt(ctx, dpo.address)]);
    if (dpo.web) parts.push(linkOrText(dpo.web));
    if (dpo.channel) parts.push([txt(ctx, dpo.channel)]);
    facts.push(
      labelled(
        ctx,
        s(ctx, '个人信息保护负责人', 'Person responsible for personal information'),
        sentence(ctx, ...joinInline(parts, s(ctx, '；', '; '))),
      ),
    );
    if (!dpo.name) facts.push([gap(ctx, '个人信息保护负责人的姓名', 'the name of the person responsible for personal information')]);
  } else {
    facts.push([gap(ctx, '个人信息保护负责人及其联系方式', 'the person responsible for personal information and how to reach them')]);
  }
  if (c.complaint) facts.push(labelled(ctx, s(ctx, '投诉与咨询', 'Questions and complaints'), sentence(ctx, txt(ctx, c.complaint))));
  const rt = ctx.d.rights?.responseTime;
  if (rt)
    facts.push([
      plain(s(ctx, `我们将在${responseTime(ctx, rt)}内答复您的请求。`, `We answer your request within ${responseTime(ctx, rt)}.`)),
    ]);
  if (ctx.d.app.website) facts.push(labelled(ctx, s(ctx, '网站', 'Website'), linkOrText(ctx.d.app.website)));
  return { id: 'contact', title: sectionTitle(ctx, n, '如何联系我们', 'How to contact us'), blocks: [list(facts)] };
}
