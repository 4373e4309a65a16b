/**
 * The smaller sections: app, controller, versions, consent model, categories, sources, permissions,
 * cookies, minors, security, incidents, storage and cross-border, disclosure, change notices, PIA,
 * datasets.
 */
import type { PathSegment } from '../load.js';
import type { CategoryDecl, Declaration, PermissionDecl, SourceDecl } from '../schema.js';
import { taxonomyCategory } from '../taxonomy.js';
import {
  both,
  canonical,
  categoryLabel,
  categoryList,
  type DiffContext,
  diffRest,
  matchBy,
  type Pair,
  permissionRef,
  purposeList,
  quote,
  recipientRef,
  same,
  setDiff,
  sourceRef,
  textIn,
} from './context.js';
import { compareFrequency, describeFrequency } from './frequency.js';
import type { Bilingual, ChangeKind, Lang } from './types.js';

const NONE: Bilingual = { zh: '', en: '' };

export function diffApp(ctx: DiffContext): void {
  diffRest(ctx, ctx.old.app, ctx.new.app, ['app'], ['app'], [], { zh: '应用', en: 'App' });
}

export function diffController(ctx: DiffContext): void {
  const o = ctx.old.controller;
  const n = ctx.new.controller;
  if (o.legalName !== undefined && n.legalName !== undefined && !same(o.legalName, n.legalName)) {
    // GB/T 35273-2020 5.5: a change of the controller (merger, transfer) is a material change of the policy.
    ctx.add(
      'controller.changed',
      ['controller', 'legalName'],
      true,
      both((l) =>
        l === 'zh'
          ? `个人信息处理者由${quote(textIn(o.legalName, l), l)}变更为${quote(textIn(n.legalName, l), l)}`
          : `The personal-information processor changed from ${quote(textIn(o.legalName, l), l)} to ${quote(textIn(n.legalName, l), l)}`,
      ),
      'all',
    );
  }
  const handled = o.legalName !== undefined && n.legalName !== undefined ? ['legalName'] : [];
  diffRest(ctx, o, n, ['controller'], ['controller'], handled, { zh: '个人信息处理者', en: 'Controller' });
}

export function diffVersions(ctx: DiffContext): void {
  const { pairs, removed, added } = matchBy(ctx.old.versions, ctx.new.versions, (v) => v.version);
  for (const { item, index } of added) {
    ctx.add(
      'version.added',
      ['versions', index],
      false,
      both((l) => (l === 'zh' ? `新增版本 ${item.version}` : `New version ${item.version}`)),
    );
  }
  for (const { item, index } of removed) {
    ctx.add(
      'version.removed',
      ['versions', index],
      false,
      both((l) => (l === 'zh' ? `删除版本记录 ${item.version}` : `Version entry ${item.version} removed`)),
    );
  }
  for (const p of pairs) {
    diffRest(ctx, p.old, p.new, ['versions', p.oldIndex], ['versions', p.newIndex], ['version'], {
      zh: `版本 ${p.new.version}`,
      en: `Version ${p.new.version}`,
    });
  }
}

export function diffConsentModel(ctx: DiffContext): void {
  const o = ctx.old.consent ?? {};
  const n = ctx.new.consent ?? {};
  const gone = ctx.new.consent === undefined;
  const path = (key: string): PathSegment[] => (gone ? ['consent'] : ['consent', key]);
  const weak = (key: string, zh: string, en: string) =>
    ctx.add(
      'consent.weakened',
      path(key),
      true,
      both((l) => (l === 'zh' ? `同意机制变弱：${zh}` : `Weaker consent: ${en}`)),
      'all',
    );
  const strong = (key: string, zh: string, en: string) =>
    ctx.add(
      'consent.strengthened',
      path(key),
      false,
      both((l) => (l === 'zh' ? `同意机制加强：${zh}` : `Stronger consent: ${en}`)),
    );
  // Flags where true is the weaker model.
  const bad = [
    ['impliedByUse', '使用即视为同意', 'using the service counts as consent'],
    ['preTicked', '默认勾选同意', 'consent boxes are pre-ticked'],
    ['acceptsFutureChanges', '预先同意今后的修改', 'future changes are accepted in advance'],
    ['refuseAllOrNothing', '拒绝任何一项即无法使用服务', 'refusing any part blocks the whole service'],
  ] as const;
  for (const [key, zh, en] of bad) {
    if (Boolean(o[key]) === Boolean(n[key])) continue;
    if (n[key]) weak(key, zh, en);
    else strong(key, `不再${zh}`, `no longer: ${en}`);
  }
  if (Boolean(o.firstLaunchDialog) !== Boolean(n.firstLaunchDialog)) {
    if (o.firstLaunchDialog) weak('firstLaunchDialog', '首次启动不再弹窗告知隐私政策', 'no privacy-policy dialog at first launch any more');
    else strong('firstLaunchDialog', '首次启动弹窗告知隐私政策', 'a privacy-policy dialog at first launch');
  }
  if (o.reaskAfterHours !== n.reaskAfterHours) {
    const from = o.reaskAfterHours;
    const to = n.reaskAfterHours;
    const zh = `拒绝后再次询问的间隔由 ${from ?? '未说明'} 小时改为 ${to ?? '未说明'} 小时`;
    const en = `re-ask interval after a refusal changed from ${from ?? 'unstated'} to ${to ?? 'unstated'} hours`;
    if (from !== undefined && (to === undefined || to < from)) weak('reaskAfterHours', zh, en);
    else strong('reaskAfterHours', zh, en);
  }
}

function sensitive(c: CategoryDecl | undefined): boolean {
  if (!c) return false;
  return c.sensitive ?? taxonomyCategory(c.id)?.sensitive ?? false;
}

/** Purposes and recipients of the new declaration that use a category. */
function users(d: Declaration, cat: string): { purposes: string[]; recipients: string[] } {
  return {
    purposes: d.purposes.filter((p) => p.categories.includes(cat)).map((p) => p.id),
    recipients: (d.recipients ?? []).filter((r) => r.categories.includes(cat) || r.background?.categories.includes(cat)).map((r) => r.id),
  };
}

export function diffCategories(ctx: DiffContext): void {
  const { pairs, removed, added } = matchBy(ctx.old.categories, ctx.new.categories, (c) => c.id);
  const label = (d: Declaration, id: string, l: Lang) =>
    l === 'zh' ? `${quote(categoryLabel(d, id, l), l)}（${id}）` : `${quote(categoryLabel(d, id, l), l)} (${id})`;
  for (const { item, index } of added) {
    if (sensitive(item)) {
      ctx.add(
        'category.sensitive-added',
        ['categories', index],
        true,
        both((l) =>
          l === 'zh' ? `新增敏感个人信息类别${label(ctx.new, item.id, l)}` : `New sensitive category ${label(ctx.new, item.id, l)}`,
        ),
        users(ctx.new, item.id),
      );
    } else {
      ctx.add(
        'category.added',
        ['categories', index],
        false,
        both((l) =>
          l === 'zh'
            ? `新增个人信息类别${label(ctx.new, item.id, l)}（由目的使用时另行列为实质性变更）`
            : `New category ${label(ctx.new, item.id, l)} (its use by a purpose is reported as material)`,
        ),
      );
    }
  }
  for (const { item, index } of removed) {
    ctx.add(
      'category.removed',
      ['categories', index],
      false,
      both((l) =>
        l === 'zh'
          ? `删除个人信息类别${label(ctx.old, item.id, l)}（处理范围缩小）`
          : `Removed category ${label(ctx.old, item.id, l)} (narrowing)`,
      ),
    );
  }
  for (const p of pairs) {
    const was = sensitive(p.old);
    const now = sensitive(p.new);
    const path: PathSegment[] = ['categories', p.newIndex, 'sensitive'];
    if (!was && now) {
      ctx.add(
        'category.sensitive-raised',
        path,
        true,
        both((l) => (l === 'zh' ? `${label(ctx.new, p.new.id, l)}改为敏感个人信息` : `${label(ctx.new, p.new.id, l)} is now sensitive`)),
        users(ctx.new, p.new.id),
      );
    } else if (was && !now) {
      ctx.add(
        'category.sensitive-lowered',
        p.new.sensitive === undefined ? ['categories', p.oldIndex, 'sensitive'] : path,
        true,
        both((l) =>
          l === 'zh'
            ? `${label(ctx.new, p.new.id, l)}不再作为敏感个人信息处理（保护降低）`
            : `${label(ctx.new, p.new.id, l)} is no longer treated as sensitive (less protection)`,
        ),
        users(ctx.new, p.new.id),
      );
    }
    diffRest(ctx, p.old, p.new, ['categories', p.oldIndex], ['categories', p.newIndex], ['id', 'sensitive'], {
      zh: `类别${label(ctx.new, p.new.id, 'zh')}`,
      en: `Category ${label(ctx.new, p.new.id, 'en')}`,
    });
  }
}

function sourceUsers(d: Declaration, s: SourceDecl): string[] {
  const listed = d.purposes.filter((p) => p.sources?.includes(s.id)).map((p) => p.id);
  if (listed.length > 0) return listed;
  return d.purposes.filter((p) => p.categories.some((c) => s.categories.includes(c))).map((p) => p.id);
}

export function diffSources(ctx: DiffContext): void {
  const { pairs, removed, added } = matchBy(ctx.old.sources, ctx.new.sources, (s) => s.id);
  for (const { item, index } of added) {
    ctx.add(
      'source.added',
      ['sources', index],
      true,
      both((l) =>
        l === 'zh'
          ? `新增${sourceRef(item.id, l)}（${item.kind}），收集${categoryList(ctx.new, item.categories, l)}${item.background ? '，含后台收集' : ''}`
          : `New ${sourceRef(item.id, l)} (${item.kind}) collecting ${categoryList(ctx.new, item.categories, l)}${item.background ? ', in the background too' : ''}`,
      ),
      { purposes: sourceUsers(ctx.new, item) },
    );
  }
  for (const { item, index } of removed) {
    ctx.add(
      'source.removed',
      ['sources', index],
      false,
      both((l) => (l === 'zh' ? `删除${sourceRef(item.id, l)}（处理范围缩小）` : `Removed ${sourceRef(item.id, l)} (narrowing)`)),
    );
  }
  for (const p of pairs) diffSource(ctx, p);
}

function diffSource(ctx: DiffContext, m: Pair<SourceDecl>): void {
  const o = m.old;
  const n = m.new;
  const base: PathSegment[] = ['sources', m.newIndex];
  const ref = (l: Lang) => sourceRef(n.id, l);
  const affects = { purposes: sourceUsers(ctx.new, n) };
  const mat = (kind: ChangeKind, key: string, zh: string, en: string) =>
    ctx.add(
      kind,
      [...base, key],
      true,
      both((l) => (l === 'zh' ? `${ref(l)}${zh}` : `${ref(l)}: ${en}`)),
      affects,
    );
  const narrow = (key: string, zh: string, en: string) =>
    ctx.add(
      'source.narrowed',
      [...base, key],
      false,
      both((l) => (l === 'zh' ? `${ref(l)}${zh}（处理范围缩小）` : `${ref(l)}: ${en} (narrowing)`)),
    );

  const cats = setDiff(o.categories, n.categories);
  if (cats.added.length > 0)
    mat(
      'source.category-added',
      'categories',
      `新增收集${categoryList(ctx.new, cats.added, 'zh')}`,
      `now also collects ${categoryList(ctx.new, cats.added, 'en')}`,
    );
  if (cats.removed.length > 0) {
    ctx.add(
      'source.category-removed',
      [...base, 'categories'],
      false,
      both((l) =>
        l === 'zh'
          ? `${ref(l)}不再收集${categoryList(ctx.old, cats.removed, l)}（处理范围缩小）`
          : `${ref(l)} no longer collects ${categoryList(ctx.old, cats.removed, l)} (narrowing)`,
      ),
    );
  }
  if (o.kind !== n.kind)
    mat('source.kind-changed', 'kind', `收集方式由 ${o.kind} 改为 ${n.kind}`, `collection method changed from ${o.kind} to ${n.kind}`);
  if (!o.background && n.background) mat('source.background-added', 'background', '新增后台收集', 'now also collects in the background');
  if (o.background && !n.background) narrow('background', '不再在后台收集', 'no longer collects in the background');
  const freq = compareFrequency(n.frequency, o.frequency);
  const freqText = (l: Lang) => `${describeFrequency(o.frequency, l)} → ${describeFrequency(n.frequency, l)}`;
  if (freq > 0)
    mat('source.frequency-increased', 'frequency', `收集频率提高（${freqText('zh')}）`, `collects more often (${freqText('en')})`);
  if (freq < 0) narrow('frequency', `收集频率降低（${freqText('zh')}）`, `collects less often (${freqText('en')})`);
  const handled = ['id', 'categories', 'kind', 'background'];
  if (freq !== 0) handled.push('frequency');
  diffRest(ctx, o, n, ['sources', m.oldIndex], base, handled, both(ref));
}

export function diffPermissions(ctx: DiffContext): void {
  const { pairs, removed, added } = matchBy(ctx.old.permissions, ctx.new.permissions, (p) => p.id);
  for (const { item, index } of added) {
    const sys = [...(item.android ?? []), ...(item.ios ?? [])];
    ctx.add(
      'permission.added',
      ['permissions', index],
      true,
      both((l) =>
        l === 'zh'
          ? `新增${permissionRef(ctx.new, item.id, l)}${sys.length ? `（${sys.join('、')}）` : ''}，用于${purposeList(ctx.new, item.purposes, l)}`
          : `New ${permissionRef(ctx.new, item.id, l)}${sys.length ? ` (${sys.join(', ')})` : ''} for ${purposeList(ctx.new, item.purposes, l)}`,
      ),
      { purposes: item.purposes },
    );
  }
  for (const { item, index } of removed) {
    ctx.add(
      'permission.removed',
      ['permissions', index],
      false,
      both((l) =>
        l === 'zh'
          ? `删除${permissionRef(ctx.old, item.id, l)}（处理范围缩小）`
          : `Removed ${permissionRef(ctx.old, item.id, l)} (narrowing)`,
      ),
    );
  }
  for (const p of pairs) diffPermission(ctx, p);
}

function diffPermission(ctx: DiffContext, m: Pair<PermissionDecl>): void {
  const o = m.old;
  const n = m.new;
  const base: PathSegment[] = ['permissions', m.newIndex];
  const oldBase: PathSegment[] = ['permissions', m.oldIndex];
  const ref = (l: Lang) => permissionRef(ctx.new, n.id, l);
  const affects = { purposes: n.purposes };
  const mat = (kind: ChangeKind, key: string, zh: string, en: string, purposes = n.purposes) =>
    ctx.add(
      kind,
      [...base, key],
      true,
      both((l) => (l === 'zh' ? `${ref(l)}${zh}` : `${ref(l)}: ${en}`)),
      { ...affects, purposes },
    );
  const narrow = (path: PathSegment[], zh: string, en: string) =>
    ctx.add(
      'permission.narrowed',
      path,
      false,
      both((l) => (l === 'zh' ? `${ref(l)}${zh}（处理范围缩小）` : `${ref(l)}: ${en} (narrowing)`)),
    );

  for (const os of ['android', 'ios'] as const) {
    const d = setDiff(o[os], n[os]);
    if (d.added.length > 0)
      mat('permission.system-permission-added', os, `新增系统权限 ${d.added.join('、')}`, `new system permission ${d.added.join(', ')}`);
    if (d.removed.length > 0) {
      ctx.add(
        'permission.system-permission-removed',
        [...(n[os] ? base : oldBase), os],
        false,
        both((l) =>
          l === 'zh'
            ? `${ref(l)}不再申请 ${d.removed.join('、')}（处理范围缩小）`
            : `${ref(l)} no longer requests ${d.removed.join(', ')} (narrowing)`,
        ),
      );
    }
  }
  const ps = setDiff(o.purposes, n.purposes);
  if (ps.added.length > 0)
    mat(
      'permission.purpose-added',
      'purposes',
      `新增用于${purposeList(ctx.new, ps.added, 'zh')}`,
      `now also used for ${purposeList(ctx.new, ps.added, 'en')}`,
      ps.added,
    );
  if (ps.removed.length > 0)
    narrow(
      [...base, 'purposes'],
      `不再用于${purposeList(ctx.old, ps.removed, 'zh')}`,
      `no longer used for ${purposeList(ctx.old, ps.removed, 'en')}`,
    );
  const cs = setDiff(o.categories, n.categories);
  if (cs.added.length > 0)
    mat(
      'permission.category-added',
      'categories',
      `新增获取${categoryList(ctx.new, cs.added, 'zh')}`,
      `now also obtains ${categoryList(ctx.new, cs.added, 'en')}`,
    );
  if (cs.removed.length > 0)
    narrow(
      [...(n.categories ? base : oldBase), 'categories'],
      `不再获取${categoryList(ctx.old, cs.removed, 'zh')}`,
      `no longer obtains ${categoryList(ctx.old, cs.removed, 'en')}`,
    );

  const flag = (
    key: 'requestedAtLaunch' | 'enabledByDefault',
    kind: ChangeKind,
    zhOn: string,
    enOn: string,
    zhOff: string,
    enOff: string,
  ) => {
    if (Boolean(o[key]) === Boolean(n[key])) return;
    if (n[key]) mat(kind, key, zhOn, enOn);
    else narrow([...(n[key] === undefined ? oldBase : base), key], zhOff, enOff);
  };
  flag(
    'requestedAtLaunch',
    'permission.requested-at-launch',
    '改为在安装或首次启动时申请',
    'now requested at install or first launch',
    '改为在使用功能时申请',
    'now requested when the feature is used',
  );
  flag(
    'enabledByDefault',
    'permission.enabled-by-default',
    '改为默认开启',
    'now enabled by default',
    '不再默认开启',
    'no longer enabled by default',
  );
  // `optional: false` (or unstated after being optional) makes the permission a condition of the service.
  if (o.optional === true && n.optional !== true)
    mat('permission.made-required', 'optional', '不再可选，拒绝将影响基本功能', 'no longer optional: refusing affects the basic function');
  if (o.optional !== true && n.optional === true) narrow([...base, 'optional'], '改为可选', 'is now optional');
  diffRest(
    ctx,
    o,
    n,
    oldBase,
    base,
    ['id', 'android', 'ios', 'purposes', 'categories', 'requestedAtLaunch', 'enabledByDefault', 'optional'],
    both(ref),
  );
}

export function diffCookies(ctx: DiffContext): void {
  const o = ctx.old.cookies;
  const n = ctx.new.cookies;
  if (!o && !n) return;
  const purposes = n?.purposes ?? [];
  if (!o?.used && n?.used) {
    ctx.add(
      'cookies.added',
      ['cookies', 'used'],
      true,
      both((l) => (l === 'zh' ? '新增使用 Cookie 或同类技术' : 'Cookies or similar technologies are now used')),
      { purposes },
    );
  } else if (o?.used && !n?.used) {
    ctx.add(
      'cookies.narrowed',
      n ? ['cookies', 'used'] : ['cookies'],
      false,
      both((l) => (l === 'zh' ? '不再使用 Cookie（处理范围缩小）' : 'Cookies are no longer used (narrowing)')),
    );
  }
  if (o?.used && n?.used) {
    const wider: Bilingual[] = [];
    const narrower: Bilingual[] = [];
    const cs = setDiff(o.categories, n.categories);
    if (cs.added.length)
      wider.push({
        zh: `新增通过 Cookie 收集${categoryList(ctx.new, cs.added, 'zh')}`,
        en: `cookies now also collect ${categoryList(ctx.new, cs.added, 'en')}`,
      });
    if (cs.removed.length)
      narrower.push({
        zh: `不再通过 Cookie 收集${categoryList(ctx.old, cs.removed, 'zh')}`,
        en: `cookies no longer collect ${categoryList(ctx.old, cs.removed, 'en')}`,
      });
    const ps = setDiff(o.purposes, n.purposes);
    if (ps.added.length)
      wider.push({
        zh: `Cookie 新增用于${purposeList(ctx.new, ps.added, 'zh')}`,
        en: `cookies now also used for ${purposeList(ctx.new, ps.added, 'en')}`,
      });
    if (ps.removed.length)
      narrower.push({
        zh: `Cookie 不再用于${purposeList(ctx.old, ps.removed, 'zh')}`,
        en: `cookies no longer used for ${purposeList(ctx.old, ps.removed, 'en')}`,
      });
    if (!o.thirdParty && n.thirdParty) wider.push({ zh: '新增第三方 Cookie', en: 'third-party cookies now used' });
    if (o.thirdParty && !n.thirdParty) narrower.push({ zh: '不再使用第三方 Cookie', en: 'no third-party cookies any more' });
    if (o.canRefuse && !n.canRefuse) wider.push({ zh: '不再可以拒绝 Cookie', en: 'cookies can no longer be refused' });
    if (!o.canRefuse && n.canRefuse) narrower.push({ zh: '可以拒绝 Cookie', en: 'cookies can now be refused' });
    if (wider.length) {
      ctx.add(
        'cookies.widened',
        ['cookies'],
        true,
        both((l) => [...wider, ...narrower].map((w) => w[l]).join(l === 'zh' ? '；' : '; ')),
        { purposes },
      );
    } else if (narrower.length) {
      ctx.add(
        'cookies.narrowed',
        ['cookies'],
        false,
        both((l) => `${narrower.map((w) => w[l]).join(l === 'zh' ? '；' : '; ')}${l === 'zh' ? '（处理范围缩小）' : ' (narrowing)'}`),
      );
    }
  }
  diffRest(ctx, o, n, ['cookies'], ['cookies'], ['used', 'categories', 'purposes', 'thirdParty', 'canRefuse'], {
    zh: 'Cookie',
    en: 'Cookies',
  });
}

export function diffMinors(ctx: DiffContext): void {
  const o = ctx.old.minors;
  const n = ctx.new.minors;
  if (!o && !n) return;
  if (o && !n) {
    ctx.add(
      'minors.removed',
      ['minors'],
      true,
      both((l) =>
        l === 'zh' ? `删除未成年人保护规则（原为未满 ${o.ageThreshold} 周岁）` : `Minors' protection removed (was under ${o.ageThreshold})`,
      ),
      'all',
    );
    return;
  }
  if (!o && n) {
    ctx.add(
      'minors.added',
      ['minors'],
      false,
      both((l) =>
        l === 'zh' ? `新增未成年人保护规则（未满 ${n.ageThreshold} 周岁）` : `Minors' protection added (under ${n.ageThreshold})`,
      ),
    );
    return;
  }
  if (!o || !n) return;
  if (n.ageThreshold < o.ageThreshold) {
    ctx.add(
      'minors.threshold-lowered',
      ['minors', 'ageThreshold'],
      true,
      both((l) =>
        l === 'zh'
          ? `未成年人年龄门槛由 ${o.ageThreshold} 周岁降低为 ${n.ageThreshold} 周岁`
          : `Minors' age threshold lowered from ${o.ageThreshold} to ${n.ageThreshold}`,
      ),
      'all',
    );
  } else if (n.ageThreshold > o.ageThreshold) {
    ctx.add(
      'minors.threshold-raised',
      ['minors', 'ageThreshold'],
      false,
      both((l) =>
        l === 'zh'
          ? `未成年人年龄门槛由 ${o.ageThreshold} 周岁提高为 ${n.ageThreshold} 周岁`
          : `Minors' age threshold raised from ${o.ageThreshold} to ${n.ageThreshold}`,
      ),
    );
  }
  const narrow = (key: string, zh: string, en: string) =>
    ctx.add(
      'minors.narrowed',
      ['minors', key],
      false,
      both((l) => (l === 'zh' ? zh : en)),
    );
  if (o.guardianConsent && !n.guardianConsent) {
    ctx.add(
      'minors.guardian-consent-removed',
      ['minors', 'guardianConsent'],
      true,
      both((l) => (l === 'zh' ? '不再要求监护人同意' : 'Guardian consent is no longer required')),
      'all',
    );
  } else if (!o.guardianConsent && n.guardianConsent) {
    narrow('guardianConsent', '新增监护人同意要求', 'Guardian consent is now required');
  }
  if (o.under14Rules !== undefined && n.under14Rules === undefined) {
    ctx.add(
      'minors.rules-removed',
      ['minors', 'under14Rules'],
      true,
      both((l) => (l === 'zh' ? '删除不满十四周岁儿童个人信息保护规则' : 'The rules for children under 14 were removed')),
      'all',
    );
  }
  if (!o.directedAtChildren && n.directedAtChildren) {
    ctx.add(
      'minors.directed-at-children',
      ['minors', 'directedAtChildren'],
      true,
      both((l) => (l === 'zh' ? '应用改为面向儿童' : 'The app is now directed at children')),
      'all',
    );
  } else if (o.directedAtChildren && !n.directedAtChildren) {
    narrow('directedAtChildren', '应用不再面向儿童', 'The app is no longer directed at children');
  }
  const handled = ['ageThreshold', 'guardianConsent', 'directedAtChildren'];
  if (o.under14Rules !== undefined && n.under14Rules === undefined) handled.push('under14Rules');
  diffRest(ctx, o, n, ['minors'], ['minors'], handled, { zh: '未成年人保护', en: 'Minors' });
}

export function diffSecurity(ctx: DiffContext): void {
  const o = ctx.old.security;
  const n = ctx.new.security;
  if (!o && !n) return;
  const ms = setDiff(o?.measures, n?.measures);
  if (ms.removed.length) {
    ctx.add(
      'security.measure-removed',
      n ? ['security', 'measures'] : ['security'],
      false,
      both((l) =>
        l === 'zh' ? `不再声明安全措施：${ms.removed.join('、')}` : `Security measures no longer declared: ${ms.removed.join(', ')}`,
      ),
    );
  }
  if (ms.added.length) {
    ctx.add(
      'security.measure-added',
      ['security', 'measures'],
      false,
      both((l) => (l === 'zh' ? `新增安全措施：${ms.added.join('、')}` : `New security measures: ${ms.added.join(', ')}`)),
    );
  }
  diffRest(ctx, o, n, ['security'], ['security'], ['measures'], { zh: '安全措施', en: 'Security' });
}

export function diffStorage(ctx: DiffContext): void {
  const o = ctx.old.storage;
  const n = ctx.new.storage;
  if (!o && !n) return;
  if (o?.location !== n?.location) {
    // Stating a location for the first time is editorial; moving the data (or no longer saying where) is material.
    const material = o?.location !== undefined;
    const from = o?.location;
    ctx.add(
      material ? 'storage.location-changed' : 'field.changed',
      n?.location !== undefined ? ['storage', 'location'] : ['storage'],
      material,
      both((l) =>
        l === 'zh'
          ? `存储地点由“${from ?? '未说明'}”改为“${n?.location ?? '未说明'}”`
          : `Storage location changed from ${from ?? 'unstated'} to ${n?.location ?? 'unstated'}`,
      ),
      'all',
    );
  }
  const key = (x: { recipient?: string | undefined; country: string }) => `${x.recipient ?? ''}@${x.country}`;
  const xb = matchBy(o?.crossBorder, n?.crossBorder, key);
  const where = (x: { recipient?: string | undefined; country: string }, d: Declaration, l: Lang) =>
    `${x.country}${x.recipient ? (l === 'zh' ? `（${recipientRef(d, x.recipient, l)}）` : ` (${recipientRef(d, x.recipient, l)})`) : ''}`;
  const affectsOf = (x: { recipient?: string | undefined; categories: string[] }) => ({
    purposes: ctx.new.purposes.filter((p) => p.categories.some((c) => x.categories.includes(c))).map((p) => p.id),
    recipients: x.recipient ? [x.recipient] : [],
  });
  for (const { item, index } of xb.added) {
    ctx.add(
      'cross-border.added',
      ['storage', 'crossBorder', index],
      true,
      both((l) =>
        l === 'zh'
          ? `新增向境外提供：${where(item, ctx.new, l)}，${categoryList(ctx.new, item.categories, l)}`
          : `New cross-border provision to ${where(item, ctx.new, l)}: ${categoryList(ctx.new, item.categories, l)}`,
      ),
      affectsOf(item),
    );
  }
  for (const { item, index } of xb.removed) {
    ctx.add(
      'cross-border.removed',
      ['storage', 'crossBorder', index],
      false,
      both((l) =>
        l === 'zh'
          ? `不再向境外提供：${where(item, ctx.old, l)}（处理范围缩小）`
          : `No more cross-border provision to ${where(item, ctx.old, l)} (narrowing)`,
      ),
    );
  }
  for (const p of xb.pairs) {
    const cs = setDiff(p.old.categories, p.new.categories);
    const wider: Bilingual[] = [];
    if (cs.added.length)
      wider.push({ zh: `新增出境${categoryList(ctx.new, cs.added, 'zh')}`, en: `also ${categoryList(ctx.new, cs.added, 'en')}` });
    if (p.old.separateConsent && !p.new.separateConsent) wider.push({ zh: '不再单独征得同意', en: 'no separate consent any more' });
    const path: PathSegment[] = ['storage', 'crossBorder', p.newIndex];
    if (wider.length) {
      ctx.add(
        'cross-border.widened',
        path,
        true,
        both(
          (l) =>
            `${l === 'zh' ? '向境外提供' : 'Cross-border provision to '}${where(p.new, ctx.new, l)}${l === 'zh' ? '：' : ': '}${wider.map((w) => w[l]).join(l === 'zh' ? '；' : '; ')}`,
        ),
        affectsOf(p.new),
      );
    }
    if (cs.removed.length) {
      ctx.add(
        'cross-border.removed',
        [...path, 'categories'],
        false,
        both((l) =>
          l === 'zh'
            ? `向境外${where(p.new, ctx.new, l)}不再提供${categoryList(ctx.old, cs.removed, l)}（处理范围缩小）`
            : `${categoryList(ctx.old, cs.removed, l)} no longer provided to ${where(p.new, ctx.new, l)} (narrowing)`,
        ),
      );
    }
    const handled = ['recipient', 'country', 'categories'];
    if (p.old.separateConsent && !p.new.separateConsent) handled.push('separateConsent');
    diffRest(ctx, p.old, p.new, ['storage', 'crossBorder', p.oldIndex], path, handled, { zh: '出境', en: 'Cross-border' });
  }
  diffRest(ctx, o, n, ['storage'], ['storage'], ['location', 'crossBorder'], { zh: '存储', en: 'Storage' });
}

export function diffDisclosure(ctx: DiffContext): void {
  const o = ctx.old.disclosure;
  const n = ctx.new.disclosure;
  if (!o && !n) return;
  const op = o?.public;
  const np = n?.public;
  if (!op?.occurs && np?.occurs) {
    ctx.add(
      'disclosure.public-added',
      ['disclosure', 'public', 'occurs'],
      true,
      both((l) => {
        const sep = np.separateConsent;
        if (l === 'zh') return `新增公开披露个人信息${sep ? '（单独征得同意）' : sep === false ? '（不单独征得同意）' : ''}`;
        return `Personal information is now publicly disclosed${sep ? ' (with separate consent)' : sep === false ? ' (without separate consent)' : ''}`;
      }),
      'all',
    );
  } else if (op?.occurs && !np?.occurs) {
    ctx.add(
      'disclosure.narrowed',
      np ? ['disclosure', 'public', 'occurs'] : ['disclosure'],
      false,
      both((l) => (l === 'zh' ? '不再公开披露个人信息（处理范围缩小）' : 'No public disclosure any more (narrowing)')),
    );
  }
  if (op?.occurs && np?.occurs && op.separateConsent && !np.separateConsent) {
    ctx.add(
      'disclosure.separate-consent-removed',
      ['disclosure', 'public', 'separateConsent'],
      true,
      both((l) => (l === 'zh' ? '公开披露不再单独征得同意' : 'Public disclosure no longer asks for separate consent')),
      'all',
    );
  }
  const ot = o?.transfer;
  const nt = n?.transfer;
  if (!ot?.occurs && nt?.occurs) {
    ctx.add(
      'disclosure.transfer-added',
      ['disclosure', 'transfer', 'occurs'],
      true,
      both((l) => (l === 'zh' ? '新增转让个人信息' : 'Personal information may now be transferred')),
      'all',
    );
  } else if (ot?.occurs && !nt?.occurs) {
    ctx.add(
      'disclosure.narrowed',
      nt ? ['disclosure', 'transfer', 'occurs'] : ['disclosure'],
      false,
      both((l) => (l === 'zh' ? '不再转让个人信息（处理范围缩小）' : 'No transfer any more (narrowing)')),
    );
  }
  const publicHandled = ['occurs'];
  if (!op?.occurs && np?.occurs) publicHandled.push('separateConsent');
  if (op?.occurs && np?.occurs && op.separateConsent && !np.separateConsent) publicHandled.push('separateConsent');
  diffRest(ctx, op, np, ['disclosure', 'public'], ['disclosure', 'public'], publicHandled, { zh: '公开披露', en: 'Public disclosure' });
  diffRest(ctx, ot, nt, ['disclosure', 'transfer'], ['disclosure', 'transfer'], ['occurs'], { zh: '转让', en: 'Transfer' });
  diffRest(ctx, o, n, ['disclosure'], ['disclosure'], ['public', 'transfer'], NONE);
}

export function diffOthers(ctx: DiffContext): void {
  diffRest(ctx, ctx.old.incidents, ctx.new.incidents, ['incidents'], ['incidents'], [], { zh: '安全事件告知', en: 'Incident notices' });
  diffRest(ctx, ctx.old.changes, ctx.new.changes, ['changes'], ['changes'], [], { zh: '变更告知', en: 'Change notices' });
  diffRest(ctx, ctx.old.pia, ctx.new.pia, ['pia'], ['pia'], [], { zh: '个人信息保护影响评估', en: 'PIA' });
  const ds = matchBy(ctx.old.datasets, ctx.new.datasets, (d) => d.id);
  for (const { item, index } of ds.added) {
    ctx.add(
      'dataset.added',
      ['datasets', index],
      false,
      both((l) => (l === 'zh' ? `新增数据集 ${item.id}（${item.engine}）` : `New dataset ${item.id} (${item.engine})`)),
    );
  }
  for (const { item, index } of ds.removed) {
    ctx.add(
      'dataset.removed',
      ['datasets', index],
      false,
      both((l) => (l === 'zh' ? `删除数据集 ${item.id}` : `Dataset ${item.id} removed`)),
    );
  }
  for (const p of ds.pairs) {
    if (canonical(p.old) === canonical(p.new)) continue;
    const keys = [...new Set([...Object.keys(p.old), ...Object.keys(p.new)])].filter(
      (k) => canonical((p.old as Record<string, unknown>)[k]) !== canonical((p.new as Record<string, unknown>)[k]),
    );
    ctx.add(
      'dataset.changed',
      ['datasets', p.newIndex],
      false,
      both((l) =>
        l === 'zh'
          ? `数据集 ${p.new.id} 的配置已修改（${keys.join('、')}）`
          : `Dataset ${p.new.id} configuration changed (${keys.join(', ')})`,
      ),
    );
  }
}
