/**
 * Recipients (third parties, SDKs, processors): PIPL 23 makes the recipient's identity, purposes,
 * categories and method part of what the person agrees to, so any widening of them is material.
 */
import type { PathSegment } from '../load.js';
import type { RecipientDecl } from '../schema.js';
import {
  both,
  categoryList,
  type DiffContext,
  diffRest,
  matchBy,
  type Pair,
  purposeList,
  quote,
  recipientRef,
  same,
  setDiff,
  textIn,
} from './context.js';
import { compareFrequency, describeFrequency } from './frequency.js';
import type { Bilingual, ChangeKind, Lang } from './types.js';

/** Entrusted processing < provision to another processor (SDK, API, file) < public disclosure. */
const METHOD_RANK: Record<RecipientDecl['method'], number> = { entrusted: 0, sdk: 1, api: 1, 'file-transfer': 1, 'public-disclosure': 2 };
/** An entrusted processor acts on instructions; every other kind decides for itself. */
const KIND_RANK: Record<RecipientDecl['kind'], number> = { processor: 0, sdk: 1, controller: 1, authority: 1, affiliate: 1 };
/** How the person agrees: separate consent > bundled with the policy > none or unstated. */
const CONSENT_RANK = { separate: 2, bundled: 1, none: 0 } as const;

const METHOD_LABELS: Record<RecipientDecl['method'], Bilingual> = {
  sdk: { zh: 'SDK 收集', en: 'collection by an SDK' },
  api: { zh: '接口传输', en: 'API transfer' },
  entrusted: { zh: '委托处理', en: 'entrusted processing' },
  'file-transfer': { zh: '文件传输', en: 'file transfer' },
  'public-disclosure': { zh: '公开披露', en: 'public disclosure' },
};
const CONSENT_LABELS: Record<string, Bilingual> = {
  separate: { zh: '单独同意', en: 'separate consent' },
  bundled: { zh: '随隐私政策一并同意', en: 'consent bundled with the policy' },
  none: { zh: '不征得同意', en: 'no consent' },
};

function consentLabel(c: RecipientDecl['consent'], l: Lang): string {
  return c ? (CONSENT_LABELS[c]?.[l] ?? c) : l === 'zh' ? '未说明' : 'unstated';
}

export function diffRecipients(ctx: DiffContext): void {
  const { pairs, removed, added } = matchBy(ctx.old.recipients, ctx.new.recipients, (r) => r.id);
  for (const { item, index } of added) {
    ctx.add(
      'recipient.added',
      ['recipients', index],
      true,
      both((l) =>
        l === 'zh'
          ? `新增${recipientRef(ctx.new, item.id, l)}，为${purposeList(ctx.new, item.purposes, l)}接收${categoryList(ctx.new, item.categories, l)}`
          : `New ${recipientRef(ctx.new, item.id, l)} receiving ${categoryList(ctx.new, item.categories, l)} for ${purposeList(ctx.new, item.purposes, l)}`,
      ),
      { recipients: [item.id], purposes: item.purposes },
    );
  }
  for (const { item, index } of removed) {
    ctx.add(
      'recipient.removed',
      ['recipients', index],
      false,
      both((l) =>
        l === 'zh'
          ? `删除${recipientRef(ctx.old, item.id, l)}（共享范围缩小）`
          : `Removed ${recipientRef(ctx.old, item.id, l)} (narrowing)`,
      ),
    );
  }
  for (const pair of pairs) diffRecipient(ctx, pair);
}

function diffRecipient(ctx: DiffContext, m: Pair<RecipientDecl>): void {
  const o = m.old;
  const n = m.new;
  const base: PathSegment[] = ['recipients', m.newIndex];
  const oldBase: PathSegment[] = ['recipients', m.oldIndex];
  const ref = (l: Lang) => recipientRef(ctx.new, n.id, l);
  const affects = { recipients: [n.id] };
  const material = (kind: ChangeKind, key: string, zh: string, en: string, purposes?: string[]) =>
    ctx.add(
      kind,
      [...base, key],
      true,
      both((l) => (l === 'zh' ? `${ref(l)}${zh}` : `${ref(l)}: ${en}`)),
      purposes ? { ...affects, purposes } : affects,
    );
  const narrowed: { zh: string; en: string; path: PathSegment[] }[] = [];
  const narrow = (key: string, zh: string, en: string, gone = false) => narrowed.push({ zh, en, path: [...(gone ? oldBase : base), key] });

  const cats = setDiff(o.categories, n.categories);
  if (cats.added.length > 0) {
    material(
      'recipient.category-added',
      'categories',
      `新增接收${categoryList(ctx.new, cats.added, 'zh')}`,
      `now also receives ${categoryList(ctx.new, cats.added, 'en')}`,
    );
  }
  if (cats.removed.length > 0) {
    narrow(
      'categories',
      `不再接收${categoryList(ctx.old, cats.removed, 'zh')}`,
      `no longer receives ${categoryList(ctx.old, cats.removed, 'en')}`,
    );
  }
  const purposes = setDiff(o.purposes, n.purposes);
  if (purposes.added.length > 0) {
    material(
      'recipient.purpose-added',
      'purposes',
      `新增用于${purposeList(ctx.new, purposes.added, 'zh')}`,
      `now also used for ${purposeList(ctx.new, purposes.added, 'en')}`,
      purposes.added,
    );
  }
  if (purposes.removed.length > 0) {
    narrow(
      'purposes',
      `不再用于${purposeList(ctx.old, purposes.removed, 'zh')}`,
      `no longer used for ${purposeList(ctx.old, purposes.removed, 'en')}`,
    );
  }

  if (o.method !== n.method) {
    const mz = `共享方式由“${METHOD_LABELS[o.method].zh}”改为“${METHOD_LABELS[n.method].zh}”`;
    const me = `method changed from ${METHOD_LABELS[o.method].en} to ${METHOD_LABELS[n.method].en}`;
    if (METHOD_RANK[n.method] > METHOD_RANK[o.method]) material('recipient.method-widened', 'method', mz, me);
    else if (METHOD_RANK[n.method] < METHOD_RANK[o.method]) narrow('method', mz, me);
    else
      ctx.add(
        'field.changed',
        [...base, 'method'],
        false,
        both((l) => (l === 'zh' ? `${ref(l)}${mz}` : `${ref(l)}: ${me}`)),
      );
  }
  if (o.kind !== n.kind) {
    const kz = `类型由 ${o.kind} 改为 ${n.kind}`;
    const ke = `kind changed from ${o.kind} to ${n.kind}`;
    if (KIND_RANK[n.kind] > KIND_RANK[o.kind])
      material('recipient.kind-widened', 'kind', `${kz}（不再是受托处理者）`, `${ke} (no longer an entrusted processor)`);
    else if (KIND_RANK[n.kind] < KIND_RANK[o.kind]) narrow('kind', `${kz}（改为受托处理者）`, `${ke} (now an entrusted processor)`);
    else
      ctx.add(
        'field.changed',
        [...base, 'kind'],
        false,
        both((l) => (l === 'zh' ? `${ref(l)}${kz}` : `${ref(l)}: ${ke}`)),
      );
  }
  if (o.deidentified && !n.deidentified)
    material(
      'recipient.identified',
      'deidentified',
      '改为接收可识别的个人信息（原为去标识化）',
      'now receives identified data (was de-identified)',
    );
  if (!o.deidentified && n.deidentified) narrow('deidentified', '改为接收去标识化信息', 'now receives de-identified data only');

  const oc = o.consent ? CONSENT_RANK[o.consent] : 0;
  const nc = n.consent ? CONSENT_RANK[n.consent] : 0;
  if (o.consent !== n.consent) {
    const z = `同意方式由“${consentLabel(o.consent, 'zh')}”改为“${consentLabel(n.consent, 'zh')}”`;
    const e = `consent changed from ${consentLabel(o.consent, 'en')} to ${consentLabel(n.consent, 'en')}`;
    if (nc < oc) material('recipient.consent-weakened', 'consent', z, e);
    else if (nc > oc) narrow('consent', z, e);
    else
      ctx.add(
        'field.changed',
        [...(n.consent ? base : oldBase), 'consent'],
        false,
        both((l) => (l === 'zh' ? `${ref(l)}${z}` : `${ref(l)}: ${e}`)),
      );
  }

  diffBackground(ctx, m, base, oldBase, narrow);

  const flag = (
    key: 'wakesOtherApps' | 'selfStart' | 'crossBorder',
    kind: ChangeKind,
    zhOn: string,
    enOn: string,
    zhOff: string,
    enOff: string,
  ) => {
    if (Boolean(o[key]) === Boolean(n[key])) return;
    if (n[key]) material(kind, key, zhOn, enOn);
    else narrow(key, zhOff, enOff, n[key] === undefined);
  };
  flag(
    'wakesOtherApps',
    'recipient.wakes-other-apps',
    '会唤醒或关联启动其他应用',
    'now wakes or starts other apps',
    '不再唤醒其他应用',
    'no longer wakes other apps',
  );
  flag(
    'selfStart',
    'recipient.self-start',
    '会自启动或关联启动',
    'now starts itself or is started by association',
    '不再自启动',
    'no longer starts itself',
  );
  flag(
    'crossBorder',
    'recipient.cross-border-added',
    '位于境外（个人信息出境）',
    'is now outside mainland China (cross-border)',
    '不再位于境外',
    'no longer outside mainland China',
  );

  if (o.company !== undefined && n.company !== undefined && !same(o.company, n.company)) {
    material(
      'recipient.company-changed',
      'company',
      `的公司由${quote(textIn(o.company, 'zh'), 'zh')}改为${quote(textIn(n.company, 'zh'), 'zh')}`,
      `company changed from ${quote(textIn(o.company, 'en'), 'en')} to ${quote(textIn(n.company, 'en'), 'en')}`,
    );
  }

  for (const x of narrowed) {
    ctx.add(
      'recipient.narrowed',
      x.path,
      false,
      both((l) => (l === 'zh' ? `${ref(l)}${x.zh}（共享范围缩小）` : `${ref(l)}: ${x.en} (narrowing)`)),
    );
  }

  const handled = [
    'id',
    'categories',
    'purposes',
    'method',
    'kind',
    'deidentified',
    'consent',
    'background',
    'wakesOtherApps',
    'selfStart',
    'crossBorder',
  ];
  if (o.company !== undefined && n.company !== undefined) handled.push('company');
  diffRest(ctx, o, n, oldBase, base, handled, both(ref));
}

function diffBackground(
  ctx: DiffContext,
  m: Pair<RecipientDecl>,
  base: PathSegment[],
  oldBase: PathSegment[],
  narrow: (key: string, zh: string, en: string, gone?: boolean) => void,
): void {
  const ob = m.old.background;
  const nb = m.new.background;
  const ref = (l: Lang) => recipientRef(ctx.new, m.new.id, l);
  const affects = { recipients: [m.new.id] };
  if (!ob && !nb) return;
  if (!ob && nb) {
    ctx.add(
      'recipient.background-added',
      [...base, 'background'],
      true,
      both((l) =>
        l === 'zh'
          ? `${ref(l)}新增后台收集${categoryList(ctx.new, nb.categories, l)}（频率：${describeFrequency(nb.frequency, l)}）`
          : `${ref(l)} now collects ${categoryList(ctx.new, nb.categories, l)} in the background (frequency: ${describeFrequency(nb.frequency, l)})`,
      ),
      affects,
    );
    return;
  }
  if (ob && !nb) {
    narrow('background', '不再在后台收集', 'no longer collects in the background', true);
    return;
  }
  if (!ob || !nb) return;
  const cats = setDiff(ob.categories, nb.categories);
  const freq = compareFrequency(nb.frequency, ob.frequency);
  const wider: Bilingual[] = [];
  if (cats.added.length > 0)
    wider.push({
      zh: `后台新增收集${categoryList(ctx.new, cats.added, 'zh')}`,
      en: `collects ${categoryList(ctx.new, cats.added, 'en')} in the background too`,
    });
  if (freq > 0)
    wider.push({
      zh: `后台收集频率由${describeFrequency(ob.frequency, 'zh')}提高到${describeFrequency(nb.frequency, 'zh')}`,
      en: `background collection now ${describeFrequency(nb.frequency, 'en')} (was ${describeFrequency(ob.frequency, 'en')})`,
    });
  if (wider.length > 0) {
    ctx.add(
      'recipient.background-widened',
      [...base, 'background'],
      true,
      both((l) => `${ref(l)}${l === 'zh' ? '' : ': '}${wider.map((w) => w[l]).join(l === 'zh' ? '；' : '; ')}`),
      affects,
    );
  }
  if (cats.removed.length > 0)
    narrow(
      'background',
      `后台不再收集${categoryList(ctx.old, cats.removed, 'zh')}`,
      `no longer collects ${categoryList(ctx.old, cats.removed, 'en')} in the background`,
    );
  if (freq < 0)
    narrow(
      'background',
      `后台收集频率降低为${describeFrequency(nb.frequency, 'zh')}`,
      `background collection less often: ${describeFrequency(nb.frequency, 'en')}`,
    );
  const handled = ['categories'];
  if (freq !== 0) handled.push('frequency');
  diffRest(ctx, ob, nb, [...oldBase, 'background'], [...base, 'background'], handled, both(ref));
}
