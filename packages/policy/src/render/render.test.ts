import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadDeclaration } from '../load.js';
import { ChannelKind, type Declaration, LawfulBasis, RecipientKind, RightKind, SecurityMeasure, ShareMethod } from '../schema.js';
import { escapeHtml } from './html.js';
import {
  CHANNEL_LABELS,
  LAWFUL_BASIS_LABELS,
  RECIPIENT_KIND_LABELS,
  RIGHT_LABELS,
  SECURITY_MEASURE_LABELS,
  SHARE_METHOD_LABELS,
} from './labels.js';
import { escapeMarkdown } from './markdown.js';
import {
  buildRenderDocument,
  renderAll,
  renderCollectionList,
  renderIndex,
  renderPermissions,
  renderPolicy,
  renderSharingList,
} from './render.js';
import type { CollectionRow, PermissionRow, RenderLang, SharingRow } from './types.js';

const fixture = (name: string): Declaration =>
  loadDeclaration(readFileSync(new URL(`./fixtures/${name}.yaml`, import.meta.url), 'utf8'), `${name}.yaml`).declaration;

const FULL = fixture('full');
const MINIMAL = fixture('minimal');
const HOSTILE = fixture('hostile');

const ids = (html: string) => [...html.matchAll(/\sid="([^"]*)"/g)].map((m) => m[1] ?? '');
const hrefs = (html: string) => [...html.matchAll(/\shref="([^"]*)"/g)].map((m) => (m[1] ?? '').replace(/&amp;/g, '&'));
const headingLevels = (html: string) => [...html.matchAll(/<h([1-6])[\s>]/g)].map((m) => Number(m[1]));
/** Text content of a page: tags removed, entities decoded. */
const textOf = (html: string) =>
  html
    .replace(/<style>[\s\S]*?<\/style>/g, '')
    .replace(/<[^>]+>/g, '')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&');

/** Structure every HTML page must have; returns the page's ids for link checks. */
function expectWellFormedPage(html: string, lang: RenderLang): Set<string> {
  expect(html.startsWith('<!doctype html>')).toBe(true);
  expect(html).toContain(`<html lang="${lang === 'zh' ? 'zh-CN' : 'en'}">`);
  expect(html).toContain('<meta name="viewport" content="width=device-width, initial-scale=1">');
  expect(html.match(/<h1[\s>]/g)?.length).toBe(1);
  expect(html).toMatch(/<a class="skip-link" href="#main">/);
  expect(html).toContain('<main id="main"');
  // Heading levels never skip one on the way down.
  const levels = headingLevels(html);
  expect(levels[0]).toBe(1);
  for (let i = 1; i < levels.length; i++) expect((levels[i] ?? 0) - (levels[i - 1] ?? 0)).toBeLessThanOrEqual(1);
  // Every table has a caption and header cells with a scope.
  const tables = html.match(/<table[\s>]/g)?.length ?? 0;
  expect(html.match(/<caption[\s>]/g)?.length ?? 0).toBe(tables);
  expect(html).not.toMatch(/<th(?![^>]*scope=)[\s>]/);
  // Ids are unique.
  const all = ids(html);
  expect(new Set(all).size).toBe(all.length);
  // Standalone: no scripts, no external style sheets, images, fonts or frames.
  expect(html).not.toMatch(/<script/i);
  expect(html).not.toMatch(/<[^>]*\ssrc=/i);
  expect(html).not.toMatch(/<link[^>]*stylesheet/i);
  const styles = [...html.matchAll(/<style>([\s\S]*?)<\/style>/g)].map((m) => m[1] ?? '').join('');
  expect(styles).not.toMatch(/@import|url\(|@font-face/i);
  expect(html).not.toMatch(/<(iframe|img|object|embed|video|audio|form)[\s>]/i);
  return new Set(all);
}

/** Every link points at an id of the same page, at another document of the set, or at a declared URL. */
function expectLinksResolve(files: Record<string, string>, declaredUrls: readonly string[]): void {
  const idsByFile = new Map(Object.entries(files).map(([name, html]) => [name, new Set(ids(html))]));
  for (const [name, html] of Object.entries(files)) {
    for (const href of hrefs(html)) {
      if (/^https?:/.test(href)) {
        expect(declaredUrls, `${name}: external link ${href}`).toContain(href);
        continue;
      }
      const [file, hash] = href.startsWith('#') ? [name, href.slice(1)] : (href.split('#') as [string, string | undefined]);
      expect(idsByFile.has(file), `${name}: link to ${href}`).toBe(true);
      if (hash) expect(idsByFile.get(file)?.has(hash), `${name}: anchor ${href}`).toBe(true);
    }
  }
}

describe('renderAll', () => {
  it('writes the five documents in each format', () => {
    for (const format of ['html', 'md', 'json'] as const) {
      const files = renderAll(FULL, { format });
      expect(Object.keys(files).sort()).toEqual(
        ['collection-list', 'index', 'permissions', 'policy', 'sharing-list'].map((n) => `${n}.${format}`).sort(),
      );
      for (const content of Object.values(files)) expect(content.length).toBeGreaterThan(200);
    }
  });

  it('defaults to zh and html, and the single-document functions give the same text', () => {
    const all = renderAll(FULL);
    expect(all['policy.html']).toBe(renderPolicy(FULL));
    expect(all['collection-list.html']).toBe(renderCollectionList(FULL));
    expect(all['sharing-list.html']).toBe(renderSharingList(FULL));
    expect(all['permissions.html']).toBe(renderPermissions(FULL));
    expect(all['index.html']).toBe(renderIndex(FULL));
    expect(all['policy.html']).toContain('<html lang="zh-CN">');
  });

  it('is a pure function of the declaration', () => {
    expect(renderAll(FULL, { lang: 'en', format: 'json' })).toEqual(renderAll(FULL, { lang: 'en', format: 'json' }));
  });
});

describe('policy (html)', () => {
  for (const lang of ['zh', 'en'] as const) {
    it(`is a well-formed, standalone, linked page set (${lang})`, () => {
      const files = renderAll(FULL, { lang });
      for (const html of Object.values(files)) expectWellFormedPage(html, lang);
      expectLinksResolve(files, ['https://push.example.com/privacy', 'https://shop.example.com', 'https://shop.example.com/children']);
    });
  }

  it('puts the sections in the order Chinese readers know, each with an id and a table of contents', () => {
    const html = renderPolicy(FULL);
    const order = ['intro', 'collection', 'cookies', 'sharing', 'storage', 'security', 'rights', 'minors', 'changes', 'contact'];
    const positions = order.map((id) => html.indexOf(`<section id="${id}"`));
    for (const p of positions) expect(p).toBeGreaterThan(0);
    expect([...positions].sort((a, b) => a - b)).toEqual(positions);
    const titles = [
      '我们如何收集和使用您的个人信息',
      'Cookie和同类技术',
      '我们如何共享、委托处理、转让、公开披露您的个人信息',
      '我们如何存储您的个人信息',
      '我们如何保护您的个人信息',
      '您的权利',
      '未成年人的个人信息保护',
      '本政策如何更新',
      '如何联系我们',
    ];
    for (const t of titles) expect(html).toContain(t);
    const toc = html.slice(html.indexOf('<nav class="toc"'), html.indexOf('</nav>', html.indexOf('<nav class="toc"')));
    for (const id of order) expect(toc).toContain(`href="#${id}"`);
  });

  it('anchors every purpose, recipient and permission', () => {
    const html = renderPolicy(FULL);
    const all = new Set(ids(html));
    for (const p of FULL.purposes) expect(all.has(`purpose-${p.id}`)).toBe(true);
    for (const r of FULL.recipients ?? []) expect(all.has(`recipient-${r.id}`)).toBe(true);
    for (const p of FULL.permissions ?? []) expect(all.has(`permission-${p.id}`)).toBe(true);
  });

  it('generates its sentences from the declared fields (zh and en)', () => {
    const zh = textOf(renderPolicy(FULL));
    expect(zh).toContain('演示科技有限公司（以下简称“我们”）是您个人信息的处理者。');
    expect(zh).toContain('处理依据：为订立、履行您作为一方当事人的合同所必需。');
    expect(zh).toContain('上述个人信息自您注销账号之日起保存30天，期满后删除。');
    expect(zh).toContain('上述个人信息保存至您撤回同意时，随后删除。');
    expect(zh).toContain('上述个人信息自收集之日起保存6个月，期满后匿名化处理。');
    expect(zh).toContain('我们会就此单独征得您的同意。');
    expect(zh).toContain('我们同时提供不针对您个人特征的选项。');
    expect(zh).toContain('存储地点：中华人民共和国境内。');
    expect(zh).toContain('使用 AES-256-GCM 加密存储敏感个人信息。');
    expect(zh).toContain('发生个人信息安全事件后，我们将通过电子邮件、推送通知告知您事件的基本情况、我们已采取或将要采取的处置措施。');
    expect(zh).toContain('若您是不满14周岁的未成年人，在使用我们的服务前，应事先取得您的父母或者其他监护人的同意。');
    expect(zh).toContain('除另有说明外，我们将在15个工作日内答复您的请求。');
    expect(zh).toContain('答复时限：7天。');
    expect(zh).toContain('本政策更新时，我们将通过应用内通知、弹窗提示通知您。');
    expect(zh).toContain('2025年3月15日');
    const en = textOf(renderPolicy(FULL, { lang: 'en' }));
    expect(en).toContain('Demo Technology Co., Ltd. (“we”) is the handler of your personal information.');
    expect(en).toContain('Lawful basis: Necessary to conclude or perform a contract to which you are a party.');
    expect(en).toContain('The information above is kept for 30 days after you cancel your account, then deleted.');
    expect(en).toContain('The information above is kept for 6 months after collection, then anonymised.');
    expect(en).toContain('Unless stated otherwise, we answer your request within 15 working days.');
    expect(en).toContain('15 March 2025');
    // Chinese in an en page only where the declaration has no en text, and then marked as zh.
    const unmarked = renderPolicy(FULL, { lang: 'en' }).replace(/<span lang="zh-CN">[^<]*<\/span>/g, '');
    expect(unmarked).not.toMatch(/[\u4e00-\u9fff]/);
    expect(renderPolicy(FULL, { lang: 'en' })).toContain('<span lang="zh-CN">中华人民共和国境内</span>');
  });

  it('states plainly what the declaration leaves out, and invents nothing', () => {
    const zh = textOf(renderPolicy(MINIMAL));
    for (const gap of [
      '本政策未说明生效日期。',
      '本政策未说明发布日期。',
      '本政策未说明个人信息的存储地点。',
      '本政策未说明个人信息的保存期限。',
      '本政策未说明上述个人信息的保存期限。',
      '本政策未说明处理上述个人信息的法律依据。',
      '本政策未说明个人信息处理者的名称。',
      '本政策未说明如何保护未成年人的个人信息。',
      '本政策未说明是否使用Cookie和同类技术。',
      '本政策未说明是否向第三方提供您的个人信息。',
      '本政策未说明我们采取的安全保护措施。',
      '本政策未说明您如何行使对个人信息的权利。',
      '本政策未说明个人信息保护负责人及其联系方式。',
      '本政策未说明本政策更新时如何通知您。',
    ]) {
      expect(zh).toContain(gap);
    }
    // None of the things a full declaration states appears out of nowhere.
    for (const invented of ['境内', '加密', '内答复', '监护人的同意', '期满后', '单独征得', '生效日期：']) {
      expect(zh).not.toContain(invented);
    }
    expect(zh).not.toMatch(/\d{4}年\d{1,2}月/);
    const en = textOf(renderPolicy(MINIMAL, { lang: 'en' }));
    expect(en).toContain('Not stated in this policy: the effective date.');
    expect(en).toContain('Not stated in this policy: where personal information is stored.');
    expect(en).toContain('Not stated in this policy: how long personal information is kept.');
    // The declared facts replace the gaps.
    const full = textOf(renderPolicy(FULL));
    expect(full).not.toContain('本政策未说明生效日期');
    expect(full).not.toContain('本政策未说明个人信息的存储地点');
    expect(full).not.toContain('本政策未说明个人信息的保存期限');
  });

  it('marks the gaps so that they are seen (class and text, not colour alone)', () => {
    const html = renderPolicy(MINIMAL);
    expect(html).toContain('<em class="gap">本政策未说明个人信息的存储地点。</em>');
  });

  it('highlights sensitive categories with bold and a visible marker, and states the PIPL definition', () => {
    const zh = renderPolicy(FULL);
    expect(zh).toContain(
      '<strong class="pi-sensitive">面部识别特征</strong><span class="mark-sensitive"><span class="vh">（</span>敏感<span class="vh">）</span></span>',
    );
    expect(zh).toContain('<strong class="pi-sensitive">健康备注</strong>');
    expect(zh).not.toContain('<strong class="pi-sensitive">会员等级</strong>');
    expect(zh).not.toContain('<strong class="pi-sensitive">手机号码</strong>');
    expect(zh).toContain('《中华人民共和国个人信息保护法》第二十八条');
    expect(zh).toContain('id="sensitive-table"');
    expect(textOf(zh)).toContain('用于核验本人身份，不用于其他目的');
    const en = renderPolicy(FULL, { lang: 'en' });
    expect(en).toContain(
      '<strong class="pi-sensitive">Facial features</strong><span class="mark-sensitive"><span class="vh">(</span>sensitive<span class="vh">)</span></span>',
    );
    expect(en).toContain('art. 28');
    // A sensitive category without a statement of necessity is a gap.
    const noNecessity = { ...FULL, purposes: FULL.purposes.map((p) => ({ ...p, necessity: undefined })) };
    expect(textOf(renderPolicy(noNecessity))).toContain('本政策未说明处理面部识别特征等敏感个人信息的必要性以及对您个人权益的影响。');
  });

  it('says when no sensitive information is processed', () => {
    expect(textOf(renderPolicy(MINIMAL))).toContain('我们不处理敏感个人信息。');
  });

  it('takes taxonomy labels from the taxonomy and custom labels from the declaration', () => {
    const zh = textOf(renderCollectionList(FULL));
    expect(zh).toContain('匿名设备标识符（OAID）');
    expect(zh).toContain('会员等级');
    const en = textOf(renderCollectionList(FULL, { lang: 'en' }));
    expect(en).toContain('Open anonymous device identifier (OAID)');
    expect(en).toContain('Membership level');
  });

  it('marks zh-only text in an en page with lang="zh-CN"', () => {
    const en = renderPolicy(MINIMAL, { lang: 'en' });
    expect(en).toContain('<h3 id="purpose-login-h" lang="zh-CN">1.1 登录</h3>');
    expect(en).toContain('<a href="#purpose-login" lang="zh-CN">1.1 登录</a>');
    expect(renderCollectionList(MINIMAL, { lang: 'en' })).toContain('<a href="policy.html#purpose-login" lang="zh-CN">登录</a>');
  });

  it('links language alternates and the site home when asked', () => {
    const html = renderPolicy(FULL, { alternate: { lang: 'en', prefix: '../en/' }, home: '../../index.html' });
    expect(html).toContain('<link rel="alternate" hreflang="en" href="../en/policy.html">');
    expect(html).toContain('<a href="../en/policy.html" hreflang="en" lang="en">English</a>');
    expect(html).toContain('<a href="../../index.html">所有应用</a>');
  });
});

describe('escaping', () => {
  for (const lang of ['zh', 'en'] as const) {
    it(`keeps every declared string as text in HTML (${lang})`, () => {
      const files = renderAll(HOSTILE, { lang });
      for (const [name, html] of Object.entries(files)) {
        expect(html, name).not.toMatch(/<script/i);
        expect(html, name).not.toMatch(/<img|<svg|<iframe|<b>|<br>/i);
        expect(html, name).not.toMatch(/<[^>]*\son(error|load|mouseover)=/i);
        expect(html, name).not.toMatch(/href="javascript:/i);
        expect(html, name).not.toContain('href="https://evil.example');
        for (const href of hrefs(html)) expect(href).not.toMatch(/[<>"]/);
        // Structure survives the hostile text.
        expectWellFormedPage(html, lang);
      }
      expect(files['policy.html']).toContain('&lt;script&gt;alert(');
      expect(files['sharing-list.html']).toContain('&lt;/td&gt;&lt;/tr&gt;&lt;/table&gt;');
      expect(textOf(files['policy.html'] ?? '')).toContain('A & B <b>公司</b>');
      // An unsafe policy URL is shown as text, not as a link.
      expect(textOf(files['sharing-list.html'] ?? '')).toContain('javascript:alert(8)');
    });
  }

  it('escapes Markdown so that declared text cannot become markup, HTML or table cells', () => {
    const files = renderAll(HOSTILE, { format: 'md' });
    for (const md of Object.values(files)) {
      expect(md).not.toMatch(/(?<!\\)<(script|img|svg|iframe|b>)/i);
      expect(md).not.toMatch(/(?<!\\)\]\(javascript:/);
    }
    const policy = files['policy.md'] ?? '';
    expect(policy).toContain('\\# heading - item \\| cell');
    expect(policy).toContain('\\[click\\](javascript:alert(3)) \\| \\*\\*bold\\*\\*');
    // Every table row keeps its column count although the text holds pipes.
    const sharing = files['sharing-list.md'] ?? '';
    const rows = sharing.split('\n').filter((l) => l.startsWith('| '));
    const cells = (l: string) => l.replace(/\\\|/g, '').split('|').length;
    for (const r of rows) expect(cells(r)).toBe(cells(rows[0] ?? ''));
  });

  it('escapeHtml and escapeMarkdown cover the special characters', () => {
    expect(escapeHtml(`<a href="x" title='y'>&</a>`)).toBe('&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;');
    expect(escapeMarkdown('a|b *c* _d_ [e](f) <g> `h` #i\nj')).toBe('a\\|b \\*c\\* \\_d\\_ \\[e\\](f) \\<g\\> \\`h\\` \\#i j');
  });

  it('keeps hostile text intact in JSON', () => {
    const doc = JSON.parse(renderPolicy(HOSTILE, { format: 'json' })) as { title: string };
    expect(doc.title).toBe('<script>alert(1)</script>应用隐私政策');
  });
});

describe('collection list', () => {
  it('has one row per category × purpose, and a row for a declared category no purpose uses', () => {
    const doc = buildRenderDocument(FULL, 'collection-list', 'zh');
    const rows = doc.rows as CollectionRow[];
    const expected = FULL.purposes.flatMap((p) => [...new Set(p.categories)].map((c) => `${p.id}/${c}`));
    const used = new Set(FULL.purposes.flatMap((p) => p.categories));
    const orphans = FULL.categories.filter((c) => !used.has(c.id)).map((c) => `-/${c.id}`);
    expect(rows.map((r) => `${r.purpose?.id ?? '-'}/${r.category.id}`)).toEqual([...expected, ...orphans]);
    expect(orphans).toEqual(['-/custom.health-note']);
    const orphan = rows.find((r) => r.category.id === 'custom.health-note');
    expect(orphan).toMatchObject({ purpose: null, scenario: null, category: { label: '健康备注', sensitive: true } });
    const face = rows.find((r) => r.category.id === 'biometric.face');
    expect(face).toMatchObject({
      id: 'collect-face-login--biometric.face',
      purpose: { id: 'face-login', label: '刷脸登录' },
      scenario: '您选择刷脸登录时',
      basis: { id: 'consent', label: '取得您的同意' },
      required: false,
      category: { sensitive: true },
    });
  });

  it('renders category, purpose and scenario columns with row anchors and links into the policy', () => {
    const html = renderCollectionList(FULL);
    expect(html).toContain('<caption id="collection-table-caption">个人信息收集清单</caption>');
    expect(html).toContain('<th scope="col">个人信息种类</th><th scope="col">使用目的</th><th scope="col">使用场景</th>');
    expect(html).toContain(
      '<tr id="collect-account--contact.phone"><th scope="row" data-label="个人信息种类"><span id="purpose-account"></span>手机号码</th>',
    );
    expect(html).toContain('<a href="policy.html#purpose-account">注册和登录</a>');
    // A purpose without a scenario: the cell says so.
    expect(textOf(html)).toContain('本政策未说明');
    const rowCount = html.match(/<tr id=/g)?.length;
    expect(rowCount).toBe((buildRenderDocument(FULL, 'collection-list').rows ?? []).length);
  });

  it('uses a table in Markdown', () => {
    const md = renderCollectionList(FULL, { format: 'md' });
    expect(md).toContain('| 个人信息种类 | 使用目的 | 使用场景 |\n| --- | --- | --- |');
    expect(md).toContain(
      '| <a id="collect-face-login--biometric.face"></a><a id="purpose-face-login"></a>**面部识别特征**（敏感） | [刷脸登录](policy.md#purpose-face-login) | 您选择刷脸登录时 |',
    );
  });
});

describe('sharing list', () => {
  it('has the recipient, company, categories, purpose, scenario, method, de-identification, consent and policy link', () => {
    const html = renderSharingList(FULL);
    for (const label of [
      '第三方名称',
      '第三方公司名称',
      '共享的个人信息',
      '使用目的',
      '使用场景',
      '共享方式',
      '是否去标识化',
      '同意方式',
      '第三方隐私政策',
    ]) {
      expect(html).toContain(`<th scope="col">${label}</th>`);
    }
    expect(html).toContain('<tr id="recipient-demo-push">');
    expect(html).toContain(
      '<a href="https://push.example.com/privacy" rel="noopener noreferrer external">https://push.example.com/privacy</a>',
    );
    const text = textOf(html);
    expect(text).toContain('演示推送有限公司');
    expect(text).toContain('单独同意');
    expect(text).toContain('随本政策一并同意（未单独征得同意）');
    expect(text).toContain('委托处理');
    expect(text).toContain('应用在后台运行时仍会收集：匿名设备标识符（OAID）（持续收集）');
    // The courier names no company, scenario or policy.
    const courier = html.slice(
      html.indexOf('<tr id="recipient-courier">'),
      html.indexOf('</tr>', html.indexOf('<tr id="recipient-courier">')),
    );
    expect(courier.match(/class="gap"/g)?.length).toBeGreaterThanOrEqual(3);
  });

  it('carries its rows as objects in JSON', () => {
    const doc = JSON.parse(renderSharingList(FULL, { format: 'json', lang: 'en' })) as { rows: SharingRow[] };
    const push = doc.rows.find((r) => r.recipient.id === 'demo-push');
    expect(push).toMatchObject({
      id: 'recipient-demo-push',
      kind: { id: 'sdk', label: 'Third-party SDK' },
      company: 'Demo Push Ltd.',
      method: { id: 'sdk' },
      deidentified: false,
      consent: { id: 'separate', label: 'Separate consent' },
      policy: { url: 'https://push.example.com/privacy', title: null },
      background: { frequency: 'continuously' },
    });
    expect(push?.categories.map((c) => c.id)).toEqual(['device.id.oaid', 'location.precise']);
    expect(doc.rows.find((r) => r.recipient.id === 'courier')).toMatchObject({ deidentified: true, company: null, scenario: null });
  });

  it('says when nothing is shared, and when the declaration does not say', () => {
    expect(textOf(renderSharingList(MINIMAL))).toContain('本政策未说明是否向第三方提供个人信息。');
    expect(textOf(renderSharingList({ ...MINIMAL, recipients: [] }))).toContain('我们不向第三方提供您的个人信息');
  });
});

describe('permissions list', () => {
  it('has the permission, its Android and iOS ids, purpose, when, optional and if-denied', () => {
    const html = renderPermissions(FULL);
    expect(html).toContain('<tr id="permission-location">');
    expect(html).toContain('<code>android.permission.ACCESS_FINE_LOCATION</code>');
    expect(html).toContain('<code>NSLocationWhenInUseUsageDescription</code>');
    const text = textOf(html);
    for (const s of ['位置信息', '消息推送', '开启推送时', '可选', '不影响其他功能']) expect(text).toContain(s);
    const doc = JSON.parse(renderPermissions(FULL, { format: 'json' })) as { rows: PermissionRow[] };
    expect(doc.rows[0]).toMatchObject({
      id: 'permission-location',
      android: ['android.permission.ACCESS_FINE_LOCATION'],
      ios: ['NSLocationWhenInUseUsageDescription'],
      purposes: [{ id: 'push', label: '消息推送' }],
      optional: true,
      ifDenied: '不影响其他功能',
    });
  });

  it('says when the declaration names no permissions', () => {
    expect(textOf(renderPermissions(MINIMAL))).toContain('本政策未说明申请的系统权限。');
    expect(textOf(renderPermissions({ ...MINIMAL, permissions: [] }))).toContain('我们不申请任何系统权限。');
  });
});

describe('index', () => {
  it('links the four documents and counts the gaps of the policy', () => {
    const html = renderIndex(MINIMAL);
    for (const f of ['policy.html', 'collection-list.html', 'sharing-list.html', 'permissions.html']) expect(html).toContain(`href="${f}"`);
    expect(textOf(html)).toMatch(/隐私政策中有 \d+ 处标示为“本政策未说明”的事项。/);
    expect(textOf(html)).toContain('申请的系统权限（本政策未说明）。');
  });
});

describe('json', () => {
  it('is a structured document: sections with ids, titles and paragraphs', () => {
    const doc = JSON.parse(renderPolicy(FULL, { format: 'json', lang: 'en' })) as {
      schema: string;
      document: string;
      lang: string;
      title: string;
      version: { version: string; effective: string | null };
      sections: { id: string; title: string; blocks: { type: string; text?: string; id?: string }[] }[];
    };
    expect(doc).toMatchObject({ schema: 'pipa.render/1', document: 'policy', lang: 'en', title: 'Demo Shop Privacy Policy' });
    expect(doc.version).toEqual({ version: '2.0', published: '2025-03-01', effective: '2025-03-15' });
    expect(doc.sections.map((s) => s.id)).toEqual([
      'intro',
      'collection',
      'cookies',
      'sharing',
      'storage',
      'security',
      'rights',
      'minors',
      'changes',
      'contact',
    ]);
    const intro = doc.sections[0];
    expect(intro?.blocks[0]).toMatchObject({
      type: 'paragraph',
      text: 'This policy applies to Demo Shop, namely: Demo Shop app (Android, iOS).',
    });
    const collection = doc.sections[1];
    expect(collection?.blocks.filter((b) => b.type === 'section').map((b) => b.id)).toEqual([
      'purpose-account',
      'purpose-face-login',
      'purpose-push',
      'sensitive-pi',
      'permissions',
      'sources',
      'consent',
    ]);
  });
});

describe('labels', () => {
  it('has a zh and an en label for every enum value', () => {
    const tables: [readonly string[], Record<string, { zh: string; en: string }>][] = [
      [LawfulBasis.options, LAWFUL_BASIS_LABELS],
      [RecipientKind.options, RECIPIENT_KIND_LABELS],
      [ShareMethod.options, SHARE_METHOD_LABELS],
      [RightKind.options, RIGHT_LABELS],
      [ChannelKind.options, CHANNEL_LABELS],
      [SecurityMeasure.options, SECURITY_MEASURE_LABELS],
    ];
    for (const [values, labels] of tables) {
      expect(Object.keys(labels).sort()).toEqual([...values].sort());
      for (const v of values) {
        expect(labels[v]?.zh).toMatch(/[\u4e00-\u9fff]|^[A-Za-z]+$/);
        expect(labels[v]?.en).toMatch(/^[A-Za-z]/);
      }
    }
  });
});
