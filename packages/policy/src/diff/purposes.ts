/**
 * Purposes and their retention rules.
 *
 * Retention semantics used for the comparison. Each rule of a purpose is a promise: "category C,
 * processed for this purpose, is deleted (or anonymised) `period` after `trigger`"; without a period
 * the promise is "at the trigger itself" (period zero). A category can carry several promises (one
 * per trigger); the data goes at the earliest of them. Hence, per purpose and category:
 * - same trigger in both versions: compare the periods (`P3Y` > `P6M`; none < any period), so
 *   "until account cancellation" -> "3 years after account cancellation" is longer (material), and
 *   the reverse is shorter (editorial);
 * - a trigger that disappears removes a deletion event: material, because for a person whom that
 *   event would have reached first the data now stays longer (`retention.trigger-removed`), and when
 *   no rule is left at all the retention disappears (`retention.removed`);
 * - a trigger that appears adds a deletion event: editorial (`retention.added`).
 * Replacing one trigger by another (account cancellation -> 3 years after collection) is therefore
 * material: the two are not comparable, and a person who cancels early would be kept longer.
 */
import type { PathSegment } from '../load.js';
import type { PurposeDecl, Retention } from '../schema.js';
import { both, categoryList, type DiffContext, diffRest, matchBy, type Pair, purposeRef, setDiff, sourceRef } from './context.js';
import { compareDurations, formatDuration } from './duration.js';
import type { ChangeKind, Lang } from './types.js';

const BASIS_LABELS: Record<string, { zh: string; en: string }> = {
  consent: { zh: '个人同意', en: 'consent' },
  contract: { zh: '订立、履行合同所必需', en: 'necessary for a contract' },
  'legal-duty': { zh: '履行法定职责或义务所必需', en: 'legal duty' },
  'public-health-emergency': { zh: '应对突发公共卫生事件', en: 'public-health emergency' },
  'news-public-interest': { zh: '新闻报道、舆论监督等公共利益', en: 'news reporting and public interest' },
  'public-data': { zh: '处理已合法公开的个人信息', en: 'lawfully public data' },
  'other-law': { zh: '法律、行政法规规定的其他情形', en: 'other law' },
};

export function basisLabel(b: string | undefined, lang: Lang): string {
  if (b === undefined) return lang === 'zh' ? '未说明' : 'unstated';
  return BASIS_LABELS[b]?.[lang] ?? b;
}

const TRIGGER_LABELS: Record<Retention['trigger'], { zh: string; en: string }> = {
  collection: { zh: '收集', en: 'collection' },
  'purpose-fulfilled': { zh: '处理目的实现', en: 'the purpose is fulfilled' },
  'account-cancellation': { zh: '注销账号', en: 'account cancellation' },
  'consent-withdrawn': { zh: '撤回同意', en: 'consent is withdrawn' },
  'contract-end': { zh: '合同终止', en: 'the contract ends' },
  'service-end': { zh: '停止提供服务', en: 'the service ends' },
  'last-activity': { zh: '最后一次使用', en: 'last activity' },
};

/** "注销账号后3年" / "3 years after account cancellation"; without a period "注销账号时" / "at account cancellation". */
export function describeRetention(trigger: Retention['trigger'], period: string | undefined, lang: Lang): string {
  const t = TRIGGER_LABELS[trigger][lang];
  if (period === undefined || compareDurations(period, undefined) === 0) return lang === 'zh' ? `${t}时` : `at ${t}`;
  return lang === 'zh' ? `${t}后${formatDuration(period, 'zh')}` : `${formatDuration(period, 'en')} after ${t}`;
}

export function diffPurposes(ctx: DiffContext): void {
  const { pairs, removed, added } = matchBy(ctx.old.purposes, ctx.new.purposes, (p) => p.id);
  for (const { item, index } of added) {
    ctx.add(
      'purpose.added',
      ['purposes', index],
      true,
      both((l) =>
        l === 'zh'
          ? `新增处理${purposeRef(ctx.new, item.id, l)}，收集${categoryList(ctx.new, item.categories, l)}`
          : `New ${purposeRef(ctx.new, item.id, l)} collecting ${categoryList(ctx.new, item.categories, l)}`,
      ),
      { purposes: [item.id] },
    );
  }
  for (const { item, index } of removed) {
    ctx.add(
      'purpose.removed',
      ['purposes', index],
      false,
      both((l) =>
        l === 'zh' ? `删除${purposeRef(ctx.old, item.id, l)}（处理范围缩小）` : `Removed ${purposeRef(ctx.old, item.id, l)} (narrowing)`,
      ),
    );
  }
  for (const pair of pairs) diffPurpose(ctx, pair);
}

function diffPurpose(ctx: DiffContext, m: Pair<PurposeDecl>): void {
  const o = m.old;
  const n = m.new;
  const base: PathSegment[] = ['purposes', m.newIndex];
  const oldBase: PathSegment[] = ['purposes', m.oldIndex];
  const ref = (l: Lang) => purposeRef(ctx.new, n.id, l);
  const affects = { purposes: [n.id] };

  const cats = setDiff(o.categories, n.categories);
  if (cats.added.length > 0) {
    ctx.add(
      'purpose.category-added',
      [...base, 'categories'],
      true,
      both((l) =>
        l === 'zh'
          ? `${ref(l)}新增个人信息类别${categoryList(ctx.new, cats.added, l)}`
          : `${ref(l)} now also processes ${categoryList(ctx.new, cats.added, l)}`,
      ),
      affects,
    );
  }
  if (cats.removed.length > 0) {
    ctx.add(
      'purpose.category-removed',
      [...base, 'categories'],
      false,
      both((l) =>
        l === 'zh'
          ? `${ref(l)}不再处理${categoryList(ctx.old, cats.removed, l)}（处理范围缩小）`
          : `${ref(l)} no longer processes ${categoryList(ctx.old, cats.removed, l)} (narrowing)`,
      ),
    );
  }

  const srcs = setDiff(o.sources, n.sources);
  if (srcs.added.length > 0) {
    ctx.add(
      'purpose.source-added',
      [...base, 'sources'],
      true,
      both((l) =>
        l === 'zh'
          ? `${ref(l)}新增收集方式：${srcs.added.map((s) => sourceRef(s, l)).join('、')}`
          : `${ref(l)} collects in a new way: ${srcs.added.map((s) => sourceRef(s, l)).join(', ')}`,
      ),
      affects,
    );
  }
  if (srcs.removed.length > 0) {
    ctx.add(
      'purpose.source-removed',
      [...(n.sources ? base : oldBase), 'sources'],
      false,
      both((l) =>
        l === 'zh'
          ? `${ref(l)}不再通过${srcs.removed.map((s) => sourceRef(s, l)).join('、')}收集（处理范围缩小）`
          : `${ref(l)} no longer collects through ${srcs.removed.map((s) => sourceRef(s, l)).join(', ')} (narrowing)`,
      ),
    );
  }

  if (o.basis !== n.basis) {
    const material = (o.basis === 'consent') !== (n.basis === 'consent');
    ctx.add(
      'purpose.basis-changed',
      [...(n.basis === undefined ? oldBase : base), 'basis'],
      material,
      both((l) =>
        l === 'zh'
          ? `${ref(l)}的合法性基础由“${basisLabel(o.basis, l)}”改为“${basisLabel(n.basis, l)}”`
          : `${ref(l)}: lawful basis changed from ${basisLabel(o.basis, l)} to ${basisLabel(n.basis, l)}`,
      ),
      affects,
    );
  }

  const narrowed: { zh: string; en: string }[] = [];
  const narrowPath: PathSegment[][] = [];

  if (Boolean(o.required) !== Boolean(n.required)) {
    if (n.required) {
      ctx.add(
        'purpose.made-required',
        [...base, 'required'],
        true,
        both((l) =>
          l === 'zh'
            ? `${ref(l)}由可选功能改为基本功能所必需，用户不能再单独拒绝`
            : `${ref(l)} is now required for the basic function; users can no longer decline it`,
        ),
        affects,
      );
    } else {
      narrowed.push({ zh: '改为可选', en: 'is now optional' });
      narrowPath.push([...(n.required === undefined ? oldBase : base), 'required']);
    }
  }

  if (Boolean(o.separateConsent) !== Boolean(n.separateConsent)) {
    if (o.separateConsent) {
      ctx.add(
        'purpose.separate-consent-removed',
        [...(n.separateConsent === undefined ? oldBase : base), 'separateConsent'],
        true,
        both((l) =>
          l === 'zh' ? `${ref(l)}不再单独征得同意（改为一揽子同意）` : `${ref(l)} no longer asks for separate consent (bundled instead)`,
        ),
        affects,
      );
    } else {
      narrowed.push({ zh: '改为单独征得同意', en: 'now asks for separate consent' });
      narrowPath.push([...base, 'separateConsent']);
    }
  }

  diffMarketing(ctx, o, n, base, oldBase, narrowed, narrowPath);

  const flag = (
    key: 'automatedDecision' | 'wakesOtherApps',
    kind: ChangeKind,
    zhOn: string,
    enOn: string,
    zhOff: string,
    enOff: string,
  ): void => {
    if (Boolean(o[key]) === Boolean(n[key])) return;
    if (n[key]) {
      ctx.add(
        kind,
        [...base, key],
        true,
        both((l) => (l === 'zh' ? `${ref(l)}${zhOn}` : `${ref(l)} ${enOn}`)),
        affects,
      );
    } else {
      narrowed.push({ zh: zhOff, en: enOff });
      narrowPath.push([...(n[key] === undefined ? oldBase : base), key]);
    }
  };
  flag(
    'automatedDecision',
    'purpose.automated-decision-added',
    '新增自动化决策',
    'now uses automated decision-making',
    '不再使用自动化决策',
    'no longer uses automated decision-making',
  );
  flag(
    'wakesOtherApps',
    'purpose.wakes-other-apps',
    '会唤醒或关联启动其他应用',
    'now wakes or starts other apps',
    '不再唤醒其他应用',
    'no longer wakes other apps',
  );

  for (const [i, what] of narrowed.entries()) {
    ctx.add(
      'purpose.narrowed',
      narrowPath[i] ?? base,
      false,
      both((l) => (l === 'zh' ? `${ref(l)}${what.zh}（处理范围缩小）` : `${ref(l)} ${what.en} (narrowing)`)),
    );
  }

  diffRetention(ctx, o, n, base, oldBase);

  diffRest(
    ctx,
    o,
    n,
    oldBase,
    base,
    [
      'id',
      'categories',
      'sources',
      'basis',
      'required',
      'separateConsent',
      'marketing',
      'automatedDecision',
      'wakesOtherApps',
      'retention',
    ],
    both(ref),
  );
}

function diffMarketing(
  ctx: DiffContext,
  o: PurposeDecl,
  n: PurposeDecl,
  base: PathSegment[],
  oldBase: PathSegment[],
  narrowed: { zh: string; en: string }[],
  narrowPath: PathSegment[][],
): void {
  const om = o.marketing;
  const nm = n.marketing;
  if (!om && !nm) return;
  const ref = (l: Lang) => purposeRef(ctx.new, n.id, l);
  const path: PathSegment[] = [...(nm ? base : oldBase), 'marketing'];
  const wider: { zh: string; en: string }[] = [];
  const narrower: { zh: string; en: string }[] = [];
  if (!om && nm) wider.push({ zh: '新增营销推送', en: 'marketing added' });
  else if (om && !nm) narrower.push({ zh: '不再用于营销', en: 'no longer used for marketing' });
  else if (om && nm) {
    if (nm.personalised && !om.personalised) wider.push({ zh: '营销改为个性化推荐', en: 'marketing is now personalised' });
    if (!nm.personalised && om.personalised) narrower.push({ zh: '营销不再个性化', en: 'marketing no longer personalised' });
    if (om.nonPersonalisedOption && !nm.nonPersonalisedOption)
      wider.push({ zh: '不再提供非个性化选项', en: 'the non-personalised option is gone' });
    if (!om.nonPersonalisedOption && nm.nonPersonalisedOption)
      narrower.push({ zh: '新增非个性化选项', en: 'a non-personalised option is offered' });
    if (om.optOut && !nm.optOut) wider.push({ zh: '不再说明拒绝方式', en: 'no opt-out stated any more' });
    if (!om.optOut && nm.optOut) narrower.push({ zh: '新增拒绝方式', en: 'an opt-out is stated' });
    const ch = setDiff(om.channels, nm.channels);
    if (ch.added.length > 0) wider.push({ zh: `新增营销渠道 ${ch.added.join('、')}`, en: `new marketing channels ${ch.added.join(', ')}` });
    if (ch.removed.length > 0)
      narrower.push({ zh: `不再通过 ${ch.removed.join('、')} 营销`, en: `no marketing through ${ch.removed.join(', ')} any more` });
    if (om.optOut && nm.optOut) {
      diffRest(
        ctx,
        om,
        nm,
        [...oldBase, 'marketing'],
        [...base, 'marketing'],
        ['personalised', 'nonPersonalisedOption', 'channels'],
        both(ref),
      );
    }
  }
  if (wider.length > 0) {
    ctx.add(
      'purpose.marketing-widened',
      path,
      true,
      both((l) => `${ref(l)}${l === 'zh' ? '：' : ': '}${[...wider, ...narrower].map((w) => w[l]).join(l === 'zh' ? '；' : '; ')}`),
      { purposes: [n.id] },
    );
  } else if (narrower.length > 0) {
    narrowed.push({ zh: narrower.map((w) => w.zh).join('；'), en: narrower.map((w) => w.en).join('; ') });
    narrowPath.push(path);
  }
}

interface Deadline {
  period: string | undefined;
  action: Retention['action'];
  ruleIndex: number;
}

/** category -> trigger -> the earliest deletion promise for that trigger. */
function promises(p: PurposeDecl): Map<string, Map<Retention['trigger'], Deadline>> {
  const out = new Map<string, Map<Retention['trigger'], Deadline>>();
  p.retention?.forEach((rule, ruleIndex) => {
    for (const cat of rule.categories ?? p.categories) {
      let byTrigger = out.get(cat);
      if (!byTrigger) {
        byTrigger = new Map();
        out.set(cat, byTrigger);
      }
      const prev = byTrigger.get(rule.trigger);
      if (!prev || compareDurations(rule.period, prev.period) < 0)
        byTrigger.set(rule.trigger, { period: rule.period, action: rule.action, ruleIndex });
    }
  });
  return out;
}

function diffRetention(ctx: DiffContext, o: PurposeDecl, n: PurposeDecl, base: PathSegment[], oldBase: PathSegment[]): void {
  const op = promises(o);
  const np = promises(n);
  const shared = n.categories.filter((c) => o.categories.includes(c));
  // Group identical findings across categories: one change per (kind, rule, trigger, periods).
  const groups = new Map<
    string,
    {
      kind: ChangeKind;
      path: PathSegment[];
      material: boolean;
      trigger: Retention['trigger'];
      from?: Deadline;
      to?: Deadline;
      cats: string[];
    }
  >();
  const note = (
    kind: ChangeKind,
    path: PathSegment[],
    material: boolean,
    trigger: Retention['trigger'],
    cat: string,
    from?: Deadline,
    to?: Deadline,
  ) => {
    const key = [kind, path.join('/'), trigger, from?.period ?? '', to?.period ?? '', from?.action ?? '', to?.action ?? ''].join('|');
    const g = groups.get(key);
    if (g) g.cats.push(cat);
    else groups.set(key, { kind, path, material, trigger, from, to, cats: [cat] });
  };
  for (const cat of shared) {
    const before = op.get(cat) ?? new Map<Retention['trigger'], Deadline>();
    const after = np.get(cat) ?? new Map<Retention['trigger'], Deadline>();
    for (const [trigger, from] of before) {
      const to = after.get(trigger);
      if (to) {
        const cmp = compareDurations(to.period, from.period);
        const path: PathSegment[] = [...base, 'retention', to.ruleIndex];
        if (cmp > 0) note('retention.longer', path, true, trigger, cat, from, to);
        else if (cmp < 0) note('retention.shorter', path, false, trigger, cat, from, to);
        else if (from.action !== to.action) note('retention.action-changed', path, false, trigger, cat, from, to);
      } else if (after.size === 0) {
        note('retention.removed', [...oldBase, 'retention', from.ruleIndex], true, trigger, cat, from);
      } else {
        note('retention.trigger-removed', [...oldBase, 'retention', from.ruleIndex], true, trigger, cat, from);
      }
    }
    for (const [trigger, to] of after) {
      if (!before.has(trigger)) note('retention.added', [...base, 'retention', to.ruleIndex], false, trigger, cat, undefined, to);
    }
  }
  const ref = (l: Lang) => purposeRef(ctx.new, n.id, l);
  for (const g of groups.values()) {
    const cats = (l: Lang) => categoryList(ctx.new, g.cats, l);
    const fromText = (l: Lang) => (g.from ? describeRetention(g.trigger, g.from.period, l) : '');
    const toText = (l: Lang) => (g.to ? describeRetention(g.trigger, g.to.period, l) : '');
    const summary = both((l) => {
      const zh = l === 'zh';
      switch (g.kind) {
        case 'retention.longer':
          return zh
            ? `${ref(l)}中${cats(l)}的保存期限延长：由${fromText(l)}删除改为${toText(l)}删除`
            : `${ref(l)}: ${cats(l)} kept longer: deleted ${toText(l)} instead of ${fromText(l)}`;
        case 'retention.shorter':
          return zh
            ? `${ref(l)}中${cats(l)}的保存期限缩短：由${fromText(l)}删除改为${toText(l)}删除`
            : `${ref(l)}: ${cats(l)} kept for less time: deleted ${toText(l)} instead of ${fromText(l)}`;
        case 'retention.action-changed':
          return zh
            ? `${ref(l)}中${cats(l)}到期后的处理由${actionLabel(g.from?.action, l)}改为${actionLabel(g.to?.action, l)}`
            : `${ref(l)}: ${cats(l)} at the end of retention: ${actionLabel(g.to?.action, l)} instead of ${actionLabel(g.from?.action, l)}`;
        case 'retention.removed':
          return zh
            ? `${ref(l)}中${cats(l)}不再有保存期限（原为${fromText(l)}删除）`
            : `${ref(l)}: ${cats(l)} no longer have a retention period (were deleted ${fromText(l)})`;
        case 'retention.trigger-removed':
          return zh ? `${ref(l)}中${cats(l)}不再于${fromText(l)}删除` : `${ref(l)}: ${cats(l)} are no longer deleted ${fromText(l)}`;
        default:
          return zh ? `${ref(l)}中${cats(l)}新增保存期限：${toText(l)}删除` : `${ref(l)}: ${cats(l)} now deleted ${toText(l)}`;
      }
    });
    ctx.add(g.kind, g.path, g.material, summary, { purposes: [n.id] });
  }
  // Wording of the rules (notes) is editorial.
  const notes = matchBy(o.retention, n.retention, (r) => `${r.trigger}|${[...(r.categories ?? [])].sort().join(',')}`);
  for (const pr of notes.pairs) {
    diffRest(
      ctx,
      pr.old,
      pr.new,
      [...oldBase, 'retention', pr.oldIndex],
      [...base, 'retention', pr.newIndex],
      ['categories', 'period', 'trigger', 'action'],
      both(ref),
    );
  }
}

function actionLabel(a: Retention['action'] | undefined, l: Lang): string {
  if (a === 'anonymise') return l === 'zh' ? '匿名化' : 'anonymised';
  return l === 'zh' ? '删除' : 'deleted';
}
