/**
 * The "two lists" the MIIT asks for (个人信息收集清单, 第三方信息共享清单) and the permissions list
 * (权限申请清单), built from the declaration: one row per category × purpose, per recipient and per
 * permission. Each document carries its rows twice: as a table to show and as plain data (`rows`).
 */
import type { Declaration } from '../schema.js';
import {
  anchor,
  categoryData,
  categoryInline,
  categoryList,
  cellGap,
  declared,
  frequency,
  lbl,
  plain,
  purposeRef,
  purposeRefs,
  type RenderContext,
  renderContext,
  s,
  safeUrl,
  sep,
  stop,
  str,
  txt,
  unique,
  yesNo,
} from './context.js';
import { baseDocument, documentName } from './document.js';
import { LAWFUL_BASIS_LABELS, RECIPIENT_CONSENT_LABELS, RECIPIENT_KIND_LABELS, SHARE_METHOD_LABELS } from './labels.js';
import type {
  CollectionRow,
  Inline,
  PermissionRow,
  RenderedDocument,
  RenderLang,
  SharingRow,
  Table,
  TableColumn,
  TableRow,
} from './types.js';

const SENSITIVE_NOTE = {
  zh: '敏感个人信息以加粗并标注“敏感”的方式提示。',
  en: 'Sensitive personal information is shown in bold and marked “sensitive”.',
};

function aboutSection(ctx: RenderContext, intro: string, extra: Inline[][] = []) {
  return {
    id: 'about',
    title: s(ctx, '关于本清单', 'About this list'),
    blocks: [
      {
        type: 'paragraph' as const,
        content: [
          plain(intro),
          plain(s(ctx, ' 详见', ' See the ')),
          { type: 'ref' as const, text: documentName('policy', ctx.lang), document: 'policy' as const },
          plain(stop(ctx)),
        ],
      },
      { type: 'paragraph' as const, content: [plain(s(ctx, SENSITIVE_NOTE.zh, SENSITIVE_NOTE.en))] },
      ...extra.map((content) => ({ type: 'paragraph' as const, content })),
    ],
  };
}

function tableSection(ctx: RenderContext, table: Table) {
  return { id: 'items', title: s(ctx, '清单', 'The list'), blocks: [{ type: 'table' as const, table }] };
}

function columns(ctx: RenderContext, defs: [key: string, zh: string, en: string][]): TableColumn[] {
  return defs.map(([key, zh, en]) => ({ key, label: s(ctx, zh, en) }));
}

function orGap(ctx: RenderContext, runs: Inline[] | null): Inline[] {
  return runs && runs.length > 0 ? runs : [cellGap(ctx)];
}

// ---------------------------------------------------------------------------------------------
// 个人信息收集清单

export function collectionRows(d: Declaration, lang: RenderLang): CollectionRow[] {
  const ctx = renderContext(d, lang);
  const rows: CollectionRow[] = [];
  const used = new Set<string>();
  for (const p of d.purposes) {
    for (const id of unique(p.categories)) {
      used.add(id);
      rows.push({
        id: anchor.collection(p.id, id),
        category: categoryData(ctx, id),
        purpose: { id: p.id, label: str(ctx, p.name) ?? p.id },
        scenario: str(ctx, p.scenario),
        basis: p.basis ? { id: p.basis, label: lbl(ctx, LAWFUL_BASIS_LABELS[p.basis]) } : null,
        required: p.required ?? null,
      });
    }
  }
  // A declared category that no purpose uses: the list shows it, with the purpose not stated.
  for (const c of d.categories) {
    if (used.has(c.id)) continue;
    rows.push({
      id: anchor.collection(null, c.id),
      category: categoryData(ctx, c.id),
      purpose: null,
      scenario: null,
      basis: null,
      required: null,
    });
  }
  return rows;
}

export function buildCollectionList(d: Declaration, lang: RenderLang): RenderedDocument<CollectionRow> {
  const ctx = renderContext(d, lang);
  const doc = baseDocument<CollectionRow>(ctx, 'collection-list');
  const rows = collectionRows(d, lang);
  const seen = new Set<string>();
  const tableRows: TableRow[] = rows.map((r) => {
    const purpose = r.purpose ? ctx.purposes.get(r.purpose.id) : undefined;
    const anchors: string[] = [];
    if (r.purpose && !seen.has(r.purpose.id)) {
      seen.add(r.purpose.id);
      anchors.push(anchor.purpose(r.purpose.id));
    }
    return {
      id: r.id,
      ...(anchors.length > 0 ? { anchors } : {}),
      cells: {
        category: [categoryInline(ctx, r.category.id)],
        purpose: r.purpose ? [purposeRef(ctx, r.purpose.id)] : [cellGap(ctx)],
        scenario: purpose?.scenario ? [txt(ctx, purpose.scenario)] : [cellGap(ctx)],
      },
    };
  });
  const table: Table = {
    id: 'collection-table',
    caption: documentName('collection-list', lang),
    columns: columns(ctx, [
      ['category', '个人信息种类', 'Personal information'],
      ['purpose', '使用目的', 'Purpose'],
      ['scenario', '使用场景', 'When it is collected'],
    ]),
    rows: tableRows,
  };
  const orphans = rows.filter((r) => r.purpose === null).length;
  const extra: Inline[][] = [];
  if (orphans > 0) {
    extra.push([
      {
        type: 'gap',
        text: s(
          ctx,
          `有 ${orphans} 种个人信息已声明，但本政策未说明其使用目的。`,
          `${orphans} declared ${orphans === 1 ? 'category has' : 'categories have'} no purpose stated in this policy.`,
        ),
      },
    ]);
  }
  doc.sections = [
    aboutSection(
      ctx,
      s(
        ctx,
        '本清单逐项列明我们收集的个人信息、使用目的和使用场景，每一行对应一种个人信息和一个使用目的。',
        'This list names each category of personal information we collect with its purpose and when it is collected; each row is one category for one purpose.',
      ),
      extra,
    ),
    tableSection(ctx, table),
  ];
  doc.rows = rows;
  return doc;
}

// ---------------------------------------------------------------------------------------------
// 第三方信息共享清单

function contactText(ctx: RenderContext, c: NonNullable<NonNullable<Declaration['recipients']>[number]['contact']>): string | null {
  const parts: string[] = [];
  const name = str(ctx, c.name);
  if (name) parts.push(name);
  if (c.phone?.length) parts.push(`${s(ctx, '电话', 'phone')} ${c.phone.join(' / ')}`);
  if (c.email?.length) parts.push(`${s(ctx, '邮箱', 'email')} ${c.email.join(' / ')}`);
  const address = str(ctx, c.address);
  if (address) parts.push(`${s(ctx, '地址', 'address')} ${address}`);
  if (c.web) parts.push(c.web);
  const channel = str(ctx, c.channel);
  if (channel) parts.push(channel);
  return parts.length > 0 ? parts.join(s(ctx, '；', '; ')) : null;
}

export function sharingRows(d: Declaration, lang: RenderLang): SharingRow[] {
  const ctx = renderContext(d, lang);
  return (d.recipients ?? []).map((r) => ({
    id: anchor.recipient(r.id),
    recipient: { id: r.id, label: str(ctx, r.name) ?? r.id },
    kind: { id: r.kind, label: lbl(ctx, RECIPIENT_KIND_LABELS[r.kind]) },
    company: str(ctx, r.company),
    contact: r.contact ? contactText(ctx, r.contact) : null,
    categories: unique(r.categories).map((id) => categoryData(ctx, id)),
    purposes: unique(r.purposes).map((id) => ({ id, label: str(ctx, ctx.purposes.get(id)?.name) ?? id })),
    purposeText: str(ctx, r.purposeText),
    scenario: str(ctx, r.scenario),
    method: { id: r.method, label: lbl(ctx, SHARE_METHOD_LABELS[r.method]) },
    deidentified: r.deidentified,
    consent: r.consent ? { id: r.consent, label: lbl(ctx, RECIPIENT_CONSENT_LABELS[r.consent]) } : null,
    policy: { title: str(ctx, r.policyTitle), url: r.policyUrl ?? null },
    background: r.background
      ? {
          categories: unique(r.background.categories).map((id) => categoryData(ctx, id)),
          frequency: frequency(ctx, r.background.frequency),
          reason: str(ctx, r.background.reason),
        }
      : null,
    crossBorder: r.crossBorder ?? null,
    wakesOtherApps: r.wakesOtherApps ?? null,
    selfStart: r.selfStart ?? null,
  }));
}

/** The recipient's policy: a link when a URL is declared, its title otherwise. */
export function recipientPolicy(ctx: RenderContext, r: NonNullable<Declaration['recipients']>[number]): Inline[] | null {
  const title = r.policyTitle ? txt(ctx, r.policyTitle) : null;
  if (r.policyUrl) {
    const href = safeUrl(r.policyUrl);
    const text = title?.text ?? r.policyUrl;
    if (href) return [{ type: 'link', text, href, ...(title?.lang ? { lang: title.lang } : {}) }];
    return [declared(ctx, r.policyUrl)];
  }
  return title ? [title] : null;
}

/** The facts worth a reader's attention beyond the columns: background collection, waking other apps … */
export function recipientNotes(ctx: RenderContext, r: NonNullable<Declaration['recipients']>[number]): Inline[][] {
  const notes: Inline[][] = [];
  if (r.background) {
    const f = frequency(ctx, r.background.frequency);
    const note: Inline[] = [
      plain(s(ctx, '应用在后台运行时仍会收集：', 'Keeps collecting while the app runs in the background: ')),
      ...categoryList(ctx, r.background.categories),
    ];
    if (f) note.push(plain(s(ctx, `（${f}）`, ` (${f})`)));
    if (r.background.reason) note.push(plain(s(ctx, '，用于', ', to ')), txt(ctx, r.background.reason));
    notes.push(note);
  }
  if (r.wakesOtherApps) notes.push([plain(s(ctx, '会唤醒或关联启动其他应用或进程', 'Wakes or starts other apps or processes'))]);
  if (r.selfStart) notes.push([plain(s(ctx, '存在自启动或关联启动行为', 'Starts by itself or together with other apps'))]);
  if (r.crossBorder === true) notes.push([plain(s(ctx, '接收方位于中国境外', 'The recipient is outside mainland China'))]);
  if (r.contracted === true) notes.push([plain(s(ctx, '已与其签订协议并进行监督', 'Bound by contract and supervised by us'))]);
  return notes;
}

export function buildSharingList(d: Declaration, lang: RenderLang): RenderedDocument<SharingRow> {
  const ctx = renderContext(d, lang);
  const doc = baseDocument<SharingRow>(ctx, 'sharing-list');
  const rows = sharingRows(d, lang);
  const dot = s(ctx, '；', '; ');
  const tableRows: TableRow[] = (d.recipients ?? []).map((r) => {
    const contact = r.contact ? contactText(ctx, r.contact) : null;
    const notes = recipientNotes(ctx, r);
    const notesCell: Inline[] = [];
    notesCell.push(
      ...(contact
        ? [plain(`${s(ctx, '联系方式：', 'Contact: ')}${contact}`)]
        : [{ type: 'gap' as const, text: s(ctx, '本政策未说明其联系方式', 'Contact not stated in this policy') }]),
    );
    for (const n of notes) notesCell.push(plain(dot), ...n);
    const purpose: Inline[] = r.purposeText ? [txt(ctx, r.purposeText), plain(s(ctx, '（', ' ('))] : [];
    purpose.push(...purposeRefs(ctx, r.purposes));
    if (r.purposeText) purpose.push(plain(s(ctx, '）', ')')));
    return {
      id: anchor.recipient(r.id),
      cells: {
        recipient: [
          txt(ctx, r.name),
          plain(s(ctx, `（${lbl(ctx, RECIPIENT_KIND_LABELS[r.kind])}）`, ` (${lbl(ctx, RECIPIENT_KIND_LABELS[r.kind])})`)),
        ],
        company: r.company ? [txt(ctx, r.company)] : [cellGap(ctx)],
        categories: categoryList(ctx, r.categories),
        purpose,
        scenario: r.scenario ? [txt(ctx, r.scenario)] : [cellGap(ctx)],
        method: [plain(lbl(ctx, SHARE_METHOD_LABELS[r.method]))],
        deidentified: [plain(yesNo(ctx, r.deidentified))],
        consent: r.consent ? [plain(lbl(ctx, RECIPIENT_CONSENT_LABELS[r.consent]))] : [cellGap(ctx)],
        policy: orGap(ctx, recipientPolicy(ctx, r)),
        notes: notesCell,
      },
    };
  });
  const table: Table = {
    id: 'sharing-table',
    caption: documentName('sharing-list', lang),
    columns: columns(ctx, [
      ['recipient', '第三方名称', 'Recipient'],
      ['company', '第三方公司名称', 'Company'],
      ['categories', '共享的个人信息', 'Personal information'],
      ['purpose', '使用目的', 'Purpose'],
      ['scenario', '使用场景', 'When'],
      ['method', '共享方式', 'Method'],
      ['deidentified', '是否去标识化', 'De-identified'],
      ['consent', '同意方式', 'Consent'],
      ['policy', '第三方隐私政策', "Recipient's privacy policy"],
      ['notes', '其他说明', 'Notes'],
    ]),
    rows: tableRows,
  };
  const extra: Inline[][] = [];
  if (d.recipients === undefined)
    extra.push([
      {
        type: 'gap',
        text: s(
          ctx,
          '本政策未说明是否向第三方提供个人信息。',
          'Not stated in this policy: whether personal information is provided to third parties.',
        ),
      },
    ]);
  else if (d.recipients.length === 0)
    extra.push([
      plain(
        s(
          ctx,
          '我们不向第三方提供您的个人信息，也未嵌入收集个人信息的第三方SDK。',
          'We do not provide your personal information to third parties and embed no third-party SDK that collects it.',
        ),
      ),
    ]);
  doc.sections = [
    aboutSection(
      ctx,
      s(
        ctx,
        '本清单列明接收您个人信息的第三方，以及嵌入我们产品、直接收集您个人信息的第三方SDK：名称、公司、个人信息种类、使用目的、使用场景和共享方式。',
        'This list names the third parties that receive your personal information and the third-party SDKs embedded in our products that collect it directly: name, company, categories, purpose, when, and method.',
      ),
      extra,
    ),
    tableSection(ctx, table),
  ];
  doc.rows = rows;
  return doc;
}

// ---------------------------------------------------------------------------------------------
// 权限申请清单

export function permissionRows(d: Declaration, lang: RenderLang): PermissionRow[] {
  const ctx = renderContext(d, lang);
  return (d.permissions ?? []).map((p) => ({
    id: anchor.permission(p.id),
    name: str(ctx, p.name) ?? p.id,
    android: p.android ?? [],
    ios: p.ios ?? [],
    purposes: unique(p.purposes).map((id) => ({ id, label: str(ctx, ctx.purposes.get(id)?.name) ?? id })),
    categories: unique(p.categories ?? []).map((id) => categoryData(ctx, id)),
    requestedWhen: str(ctx, p.requestedWhen),
    requestedAtLaunch: p.requestedAtLaunch ?? null,
    optional: p.optional ?? null,
    ifDenied: str(ctx, p.ifDenied),
    enabledByDefault: p.enabledByDefault ?? null,
  }));
}

function codes(ctx: RenderContext, ids: readonly string[] | undefined): Inline[] {
  if (!ids || ids.length === 0) return [plain('—')];
  const out: Inline[] = [];
  ids.forEach((id, i) => {
    if (i > 0) out.push(plain(sep(ctx)));
    out.push({ type: 'code', text: id });
  });
  return out;
}

export function buildPermissionsList(d: Declaration, lang: RenderLang): RenderedDocument<PermissionRow> {
  const ctx = renderContext(d, lang);
  const doc = baseDocument<PermissionRow>(ctx, 'permissions');
  const tableRows: TableRow[] = (d.permissions ?? []).map((p) => {
    const when: Inline[] = p.requestedWhen ? [txt(ctx, p.requestedWhen)] : [cellGap(ctx)];
    if (p.requestedAtLaunch) when.push(plain(s(ctx, '（在安装或首次启动时即申请）', ' (asked at installation or first launch)')));
    const optional: Inline[] =
      p.optional === undefined ? [cellGap(ctx)] : [plain(p.optional ? s(ctx, '可选', 'Optional') : s(ctx, '必需', 'Required'))];
    if (p.enabledByDefault === true) optional.push(plain(s(ctx, '（默认开启）', ' (on by default)')));
    if (p.enabledByDefault === false) optional.push(plain(s(ctx, '（默认不开启）', ' (off by default)')));
    return {
      id: anchor.permission(p.id),
      cells: {
        name: [txt(ctx, p.name)],
        android: codes(ctx, p.android),
        ios: codes(ctx, p.ios),
        purpose: purposeRefs(ctx, p.purposes),
        categories: p.categories?.length ? categoryList(ctx, p.categories) : [cellGap(ctx)],
        when,
        optional,
        ifDenied: p.ifDenied ? [txt(ctx, p.ifDenied)] : [cellGap(ctx)],
      },
    };
  });
  const table: Table = {
    id: 'permissions-table',
    caption: documentName('permissions', lang),
    columns: columns(ctx, [
      ['name', '权限名称', 'Permission'],
      ['android', 'Android 权限', 'Android permission'],
      ['ios', 'iOS 权限', 'iOS permission'],
      ['purpose', '使用目的', 'Purpose'],
      ['categories', '涉及的个人信息', 'Personal information'],
      ['when', '申请时机', 'When it is requested'],
      ['optional', '是否可选', 'Optional'],
      ['ifDenied', '拒绝授权的影响', 'If you refuse'],
    ]),
    rows: tableRows,
  };
  const extra: Inline[][] = [];
  if (d.permissions === undefined)
    extra.push([
      { type: 'gap', text: s(ctx, '本政策未说明申请的系统权限。', 'Not stated in this policy: the system permissions the app requests.') },
    ]);
  else if (d.permissions.length === 0) extra.push([plain(s(ctx, '我们不申请任何系统权限。', 'We request no system permissions.'))]);
  doc.sections = [
    aboutSection(
      ctx,
      s(
        ctx,
        '本清单列明我们的应用申请的系统权限、使用目的、申请时机，以及您拒绝授权的影响。',
        'This list names the system permissions our app requests, what for, when it asks, and what happens if you refuse.',
      ),
      extra,
    ),
    tableSection(ctx, table),
  ];
  doc.rows = permissionRows(d, lang);
  return doc;
}
