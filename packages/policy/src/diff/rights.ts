/**
 * Rights of the person (PIPL 44-50): fewer rights, a lost channel, a slower answer, new conditions
 * or verification, a lost dispute route or withdrawal statement, a harder account cancellation are
 * material. The answer time of a right is its own `responseTime` or the section default.
 */
import type { PathSegment } from '../load.js';
import type { Declaration, ResponseTime, RightDecl } from '../schema.js';
import { both, canonical, categoryList, type DiffContext, diffRest, matchBy, type Pair, setDiff, textIn } from './context.js';
import type { Bilingual, Lang } from './types.js';

type Rights = NonNullable<Declaration['rights']>;
type Cancellation = NonNullable<Rights['cancellation']>;

const RIGHT_LABELS: Record<RightDecl['right'], Bilingual> = {
  access: { zh: '查阅权', en: 'right of access' },
  copy: { zh: '复制权', en: 'right to a copy' },
  portability: { zh: '可携带权', en: 'right to portability' },
  correction: { zh: '更正补充权', en: 'right to correction' },
  deletion: { zh: '删除权', en: 'right to deletion' },
  cancellation: { zh: '注销账号', en: 'account cancellation' },
  withdrawal: { zh: '撤回同意', en: 'withdrawal of consent' },
  explanation: { zh: '要求解释说明', en: 'right to an explanation' },
  restriction: { zh: '限制或拒绝处理', en: 'right to restrict processing' },
  complaint: { zh: '投诉举报', en: 'complaint' },
};

export function rightLabel(r: RightDecl['right'], l: Lang): string {
  return RIGHT_LABELS[r][l];
}

/** Upper estimate in calendar days: a working week is 5 of 7 days. */
export function responseDays(t: ResponseTime): number {
  switch (t.unit) {
    case 'hours':
      return t.value / 24;
    case 'working-days':
      return (t.value * 7) / 5;
    default:
      return t.value;
  }
}

export function describeResponseTime(t: ResponseTime | undefined, l: Lang): string {
  if (!t) return l === 'zh' ? '未承诺' : 'no promise';
  const zh = { days: '天', 'working-days': '个工作日', hours: '小时' } as const;
  const en = { days: 'day', 'working-days': 'working day', hours: 'hour' } as const;
  return l === 'zh' ? `${t.value}${zh[t.unit]}` : `${t.value} ${en[t.unit]}${t.value === 1 ? '' : 's'}`;
}

/** -1 when a is faster than b, 1 when slower, 0 when the same. */
function compareResponse(a: ResponseTime, b: ResponseTime): -1 | 0 | 1 {
  if (a.unit === b.unit) return a.value === b.value ? 0 : a.value < b.value ? -1 : 1;
  const da = responseDays(a);
  const db = responseDays(b);
  return da === db ? 0 : da < db ? -1 : 1;
}

export function diffRights(ctx: DiffContext): void {
  const or = ctx.old.rights;
  const nr = ctx.new.rights;
  if (!or && !nr) return;
  const { pairs, removed, added } = matchBy(or?.list, nr?.list, (r) => r.right);
  for (const { item, index } of removed) {
    ctx.add(
      'right.removed',
      ['rights', 'list', index],
      true,
      both((l) => (l === 'zh' ? `删除${rightLabel(item.right, l)}` : `Removed the ${rightLabel(item.right, l)}`)),
      'all',
    );
  }
  for (const { item, index } of added) {
    ctx.add(
      'right.added',
      ['rights', 'list', index],
      false,
      both((l) => (l === 'zh' ? `新增${rightLabel(item.right, l)}` : `Added the ${rightLabel(item.right, l)}`)),
    );
  }
  let defaultReported = false;
  for (const pair of pairs) {
    if (diffRight(ctx, pair, or, nr)) defaultReported = true;
  }
  if (!defaultReported && canonical(or?.responseTime) !== canonical(nr?.responseTime)) {
    // The default changed but no right relies on it in both versions: report the statement itself.
    ctx.add(
      'field.changed',
      ['rights', 'responseTime'],
      false,
      both((l) =>
        l === 'zh'
          ? `权利请求的默认答复时限由${describeResponseTime(or?.responseTime, l)}改为${describeResponseTime(nr?.responseTime, l)}`
          : `Default answer time for rights requests changed from ${describeResponseTime(or?.responseTime, l)} to ${describeResponseTime(nr?.responseTime, l)}`,
      ),
    );
  }

  const textGone = (
    key: 'externalDispute' | 'withdrawal',
    kind: 'rights.dispute-route-removed' | 'rights.withdrawal-removed',
    zh: string,
    en: string,
  ) => {
    if (or?.[key] !== undefined && nr?.[key] === undefined)
      ctx.add(
        kind,
        ['rights', key],
        true,
        both((l) => (l === 'zh' ? zh : en)),
        'all',
      );
  };
  textGone(
    'externalDispute',
    'rights.dispute-route-removed',
    '不再说明外部争议解决途径（诉讼、监管投诉）',
    'The external dispute route (court, regulator) is no longer stated',
  );
  textGone('withdrawal', 'rights.withdrawal-removed', '不再说明如何撤回同意', 'How to withdraw consent is no longer stated');

  diffCancellation(ctx, or?.cancellation, nr?.cancellation);

  const handled = ['list', 'responseTime', 'cancellation'];
  if (or?.externalDispute !== undefined && nr?.externalDispute === undefined) handled.push('externalDispute');
  if (or?.withdrawal !== undefined && nr?.withdrawal === undefined) handled.push('withdrawal');
  diffRest(ctx, or, nr, ['rights'], ['rights'], handled, { zh: '', en: '' });
}

/** Returns true when it reported a change of the section default answer time. */
function diffRight(ctx: DiffContext, m: Pair<RightDecl>, or: Rights | undefined, nr: Rights | undefined): boolean {
  const o = m.old;
  const n = m.new;
  const base: PathSegment[] = ['rights', 'list', m.newIndex];
  const oldBase: PathSegment[] = ['rights', 'list', m.oldIndex];
  const label = (l: Lang) => rightLabel(n.right, l);

  const ch = matchBy(o.channels, n.channels, (c) => c.kind);
  for (const { item, index } of ch.removed) {
    ctx.add(
      'right.channel-removed',
      [...oldBase, 'channels', index],
      true,
      both((l) =>
        l === 'zh'
          ? `${label(l)}不再提供 ${item.kind} 渠道${item.detail ? `（${textIn(item.detail, l)}）` : ''}`
          : `The ${label(l)} can no longer be exercised through ${item.kind}${item.detail ? ` (${textIn(item.detail, l)})` : ''}`,
      ),
      'all',
    );
  }
  for (const { item, index } of ch.added) {
    ctx.add(
      'right.channel-added',
      [...base, 'channels', index],
      false,
      both((l) => (l === 'zh' ? `${label(l)}新增 ${item.kind} 渠道` : `The ${label(l)} can also be exercised through ${item.kind}`)),
    );
  }
  for (const c of ch.pairs) {
    diffRest(ctx, c.old, c.new, [...oldBase, 'channels', c.oldIndex], [...base, 'channels', c.newIndex], ['kind'], both(label));
  }

  const ot = o.responseTime ?? or?.responseTime;
  const nt = n.responseTime ?? nr?.responseTime;
  // Where the new answer time is stated: the right itself, the section default, or (gone) the old right.
  const onDefault = !n.responseTime && (nr?.responseTime !== undefined || (!o.responseTime && or?.responseTime !== undefined));
  const timePath: PathSegment[] = n.responseTime
    ? [...base, 'responseTime']
    : onDefault
      ? ['rights', 'responseTime']
      : [...oldBase, 'responseTime'];
  const defaultReported = onDefault && canonical(ot) !== canonical(nt);
  const times = (l: Lang) => `${describeResponseTime(ot, l)} → ${describeResponseTime(nt, l)}`;
  if (ot && !nt) {
    ctx.add(
      'right.response-time-removed',
      timePath,
      true,
      both((l) =>
        l === 'zh' ? `${label(l)}不再承诺答复时限（${times(l)}）` : `The ${label(l)} no longer has a promised answer time (${times(l)})`,
      ),
      'all',
    );
  } else if (!ot && nt) {
    ctx.add(
      'right.response-time-added',
      timePath,
      false,
      both((l) =>
        l === 'zh'
          ? `${label(l)}新增答复时限：${describeResponseTime(nt, l)}`
          : `The ${label(l)} now has an answer time: ${describeResponseTime(nt, l)}`,
      ),
    );
  } else if (ot && nt) {
    const cmp = compareResponse(nt, ot);
    if (cmp > 0) {
      ctx.add(
        'right.response-slower',
        timePath,
        true,
        both((l) => (l === 'zh' ? `${label(l)}的答复时限延长（${times(l)}）` : `The ${label(l)} is answered more slowly (${times(l)})`)),
        'all',
      );
    } else if (cmp < 0) {
      ctx.add(
        'right.response-faster',
        timePath,
        false,
        both((l) => (l === 'zh' ? `${label(l)}的答复时限缩短（${times(l)}）` : `The ${label(l)} is answered faster (${times(l)})`)),
      );
    } else if (canonical(ot) !== canonical(nt)) {
      ctx.add(
        'field.changed',
        timePath,
        false,
        both((l) => (l === 'zh' ? `${label(l)}的答复时限改写为（${times(l)}）` : `The ${label(l)} answer time restated (${times(l)})`)),
      );
    }
  }

  if (n.conditions !== undefined && canonical(o.conditions) !== canonical(n.conditions)) {
    ctx.add(
      'right.conditions-changed',
      [...base, 'conditions'],
      true,
      both((l) =>
        l === 'zh'
          ? `${label(l)}的行使条件${o.conditions === undefined ? '新增' : '修改'}为：“${textIn(n.conditions, l)}”`
          : `The ${label(l)} ${o.conditions === undefined ? 'now has conditions' : 'has new conditions'}: "${textIn(n.conditions, l)}"`,
      ),
      'all',
    );
  } else if (o.conditions !== undefined && n.conditions === undefined) {
    ctx.add(
      'right.conditions-removed',
      [...oldBase, 'conditions'],
      false,
      both((l) => (l === 'zh' ? `${label(l)}不再附加行使条件` : `The ${label(l)} no longer has conditions`)),
    );
  }

  const ver = setDiff(o.verification, n.verification);
  if (ver.added.length > 0) {
    ctx.add(
      'right.verification-added',
      [...base, 'verification'],
      true,
      both((l) =>
        l === 'zh'
          ? `${label(l)}新增身份验证要求：${categoryList(ctx.new, ver.added, l)}`
          : `The ${label(l)} now requires verification with ${categoryList(ctx.new, ver.added, l)}`,
      ),
      'all',
    );
  }
  if (ver.removed.length > 0) {
    ctx.add(
      'field.changed',
      [...(n.verification ? base : oldBase), 'verification'],
      false,
      both((l) =>
        l === 'zh'
          ? `${label(l)}不再要求以${categoryList(ctx.old, ver.removed, l)}验证身份`
          : `The ${label(l)} no longer requires verification with ${categoryList(ctx.old, ver.removed, l)}`,
      ),
    );
  }
  diffRest(ctx, o, n, oldBase, base, ['right', 'channels', 'responseTime', 'conditions', 'verification'], both(label));
  return defaultReported;
}

function diffCancellation(ctx: DiffContext, o: Cancellation | undefined, n: Cancellation | undefined): void {
  if (!o && !n) return;
  const oc: Cancellation = o ?? {};
  const nc: Cancellation = n ?? {};
  const path = (key: string, gone: boolean): PathSegment[] => ['rights', 'cancellation', ...(gone && !n ? [] : [key])];
  const harder = (key: string, zh: string, en: string) =>
    ctx.add(
      'cancellation.harder',
      path(key, false),
      true,
      both((l) => (l === 'zh' ? `注销账号更难：${zh}` : `Account cancellation is harder: ${en}`)),
      'all',
    );
  const easier = (key: string, zh: string, en: string, gone = false) =>
    ctx.add(
      'cancellation.easier',
      path(key, gone),
      false,
      both((l) => (l === 'zh' ? `注销账号更容易：${zh}` : `Account cancellation is easier: ${en}`)),
    );

  if (oc.effect !== nc.effect) {
    if (nc.effect === 'after-review') harder('effect', '改为审核后生效', 'takes effect only after review');
    else if (oc.effect === 'after-review')
      easier(
        'effect',
        nc.effect === 'immediate' ? '改为立即生效' : '不再要求审核',
        nc.effect === 'immediate' ? 'takes effect immediately' : 'no review stated',
        nc.effect === undefined,
      );
  }
  const key = (t: unknown) => canonical(typeof t === 'string' ? { zh: t } : t);
  const op = new Map((oc.preconditions ?? []).map((t) => [key(t), t]));
  const np = new Map((nc.preconditions ?? []).map((t) => [key(t), t]));
  const addedPre = [...np.entries()].filter(([k]) => !op.has(k)).map(([, t]) => t);
  const removedPre = [...op.entries()].filter(([k]) => !np.has(k)).map(([, t]) => t);
  if (addedPre.length > 0) {
    harder(
      'preconditions',
      `新增前提条件 ${addedPre.map((t) => `“${textIn(t, 'zh')}”`).join('、')}`,
      `new preconditions ${addedPre.map((t) => `"${textIn(t, 'en')}"`).join(', ')}`,
    );
  }
  if (removedPre.length > 0) {
    easier(
      'preconditions',
      `取消前提条件 ${removedPre.map((t) => `“${textIn(t, 'zh')}”`).join('、')}`,
      `preconditions dropped: ${removedPre.map((t) => `"${textIn(t, 'en')}"`).join(', ')}`,
      nc.preconditions === undefined,
    );
  }
  const ver = setDiff(oc.verification, nc.verification);
  if (ver.added.length > 0) {
    harder(
      'verification',
      `新增验证要求${categoryList(ctx.new, ver.added, 'zh')}`,
      `now verified with ${categoryList(ctx.new, ver.added, 'en')}`,
    );
  }
  if (ver.removed.length > 0) {
    easier(
      'verification',
      `不再要求以${categoryList(ctx.old, ver.removed, 'zh')}验证`,
      `no longer verified with ${categoryList(ctx.old, ver.removed, 'en')}`,
      nc.verification === undefined,
    );
  }
  diffRest(ctx, o, n, ['rights', 'cancellation'], ['rights', 'cancellation'], ['effect', 'preconditions', 'verification'], {
    zh: '注销账号',
    en: 'account cancellation',
  });
}
