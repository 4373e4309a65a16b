/** Individual rights, deletion, account cancellation and answer times: PIPL 44–50, GB/T 35273 8.5, 8.7. */
import type { Declaration, ResponseTime, RightKind } from '../../schema.js';
import { gbt, pipl } from '../citations.js';
import {
  allText,
  bi,
  calendarDays,
  cap,
  categoryList,
  collectedCategories,
  joinList,
  purposeRef,
  responseTimeText,
  textIn,
  truncate,
} from '../facts.js';
import type { LintLang, LintRuleDef } from '../types.js';

const RIGHT_LABEL: Record<RightKind, { zh: string; en: string }> = {
  access: { zh: '查阅', en: 'access' },
  copy: { zh: '复制', en: 'copy' },
  portability: { zh: '转移', en: 'portability' },
  correction: { zh: '更正（补充）', en: 'correction' },
  deletion: { zh: '删除', en: 'deletion' },
  cancellation: { zh: '注销账号', en: 'account cancellation' },
  withdrawal: { zh: '撤回同意', en: 'withdrawal of consent' },
  explanation: { zh: '要求解释说明', en: 'explanation' },
  restriction: { zh: '限制或拒绝处理', en: 'restriction' },
  complaint: { zh: '投诉举报', en: 'complaint' },
};

function rightLabel(r: RightKind, lang: LintLang): string {
  return RIGHT_LABEL[r][lang];
}

/** PIPL 45–47: the rights every declaration offers. */
const REQUIRED_RIGHTS: readonly { right: RightKind; zh: string; en: string }[] = [
  { right: 'access', zh: '第四十五条', en: 'art. 45' },
  { right: 'copy', zh: '第四十五条', en: 'art. 45' },
  { right: 'correction', zh: '第四十六条', en: 'art. 46' },
  { right: 'deletion', zh: '第四十七条', en: 'art. 47' },
];

/** Words that make deletion depend on the operator breaking the law or the agreement. */
const LAW_BREAKING = /违反法律|违法|违反.{0,12}约定|违规|in breach|breach of (the )?law|breaks? the law|violat|unlawful|illegal/i;
/** Words of the other PIPL 47 grounds: purpose achieved, retention over, service stopped, consent withdrawn, account cancelled. */
const OTHER_GROUNDS =
  /目的.{0,6}(已实现|无法实现|不再必要)|处理目的|保存期限|存储期限|期限.{0,4}届满|停止提供|停止运营|撤回.{0,2}同意|注销|purpose (has been |is )?(achieved|fulfilled|met)|no longer necessary|retention period|period (has )?(expired|ended)|stop(s|ped)? providing|withdraw(s|n)? (your )?consent|withdrawal of consent|cancel/i;

/** Rights answered within `time` (own or the default). */
function timeOf(d: Declaration, i: number): { time: ResponseTime; path: (string | number)[] } | undefined {
  const own = d.rights?.list[i]?.responseTime;
  if (own) return { time: own, path: ['rights', 'list', i, 'responseTime'] };
  const def = d.rights?.responseTime;
  if (def) return { time: def, path: ['rights', 'responseTime'] };
  return undefined;
}

/** More than 15 working days: 15 working days span at most 21 calendar days (three weeks). */
function over15WorkingDays(t: ResponseTime): boolean {
  if (t.unit === 'working-days') return t.value > 15;
  return calendarDays(t) > 21;
}

export const RIGHTS_RULES: LintRuleDef[] = [
  {
    key: 'PIPL-44/missing-right',
    severity: 'error',
    title: bi('提供查阅、复制、更正、删除个人信息的权利', 'Offer access, copy, correction and deletion'),
    citation: pipl('第四十四条至第四十七条', 'arts. 44–47'),
    hint: bi(
      '在 rights.list 为该权利加一项：right 和至少一个渠道（channels，如 in-app 页面路径或邮箱）。',
      'Add the right to rights.list with at least one channel (e.g. an in-app path or an email address).',
    ),
    check(d, report) {
      const have = new Set(d.rights?.list.map((r) => r.right) ?? []);
      for (const r of REQUIRED_RIGHTS) {
        if (have.has(r.right)) continue;
        report(
          d.rights ? ['rights', 'list'] : ['rights'],
          (l) =>
            l === 'zh'
              ? `声明没有提供${rightLabel(r.right, l)}个人信息的权利及其渠道（个人信息保护法${r.zh}）。`
              : `The declaration offers no right of ${rightLabel(r.right, l)} and no channel for it (PIPL ${r.en}).`,
          (l) =>
            l === 'zh'
              ? `在 rights.list 加入 right: ${r.right} 及其渠道（channels）。`
              : `Add right: ${r.right} with its channels to rights.list.`,
        );
      }
    },
  },
  {
    key: 'PIPL-47/deletion-conditions',
    severity: 'error',
    title: bi('删除权不得仅限于处理者违法的情形', 'Deletion is not limited to the operator breaking the law'),
    citation: pipl('第四十七条', 'art. 47'),
    hint: bi(
      '删除条件应包含个人信息保护法第四十七条的全部情形：目的已实现或不再必要、停止提供服务或保存期限届满、撤回同意、违法或违约处理；法律规定的保存期限内只存储和采取安全措施。',
      'List every ground of PIPL art. 47: purpose achieved or no longer needed, service stopped or retention over, consent withdrawn, processing unlawful or against the agreement; within a legal retention period only store and protect.',
    ),
    check(d, report) {
      d.rights?.list.forEach((r, i) => {
        if (r.right !== 'deletion' || !r.conditions) return;
        const text = allText(r.conditions);
        if (!LAW_BREAKING.test(text) || OTHER_GROUNDS.test(text)) return;
        report(['rights', 'list', i, 'conditions'], (l) =>
          l === 'zh'
            ? `删除权仅限于处理者违反法律法规或约定的情形（“${truncate(textIn(r.conditions, l), 40)}”）；目的已实现、保存期限届满、停止提供服务、撤回同意时也应删除。`
            : `Deletion is limited to the operator breaking the law or the agreement ("${truncate(textIn(r.conditions, l), 60)}"); data must also be deleted when the purpose is met, retention ends, the service stops or consent is withdrawn.`,
        );
      });
    },
  },
  {
    key: 'PIPL-47/delete-on-withdrawal',
    severity: 'warning',
    title: bi('撤回同意后删除', 'Delete when consent is withdrawn'),
    citation: pipl('第四十七条第一款第（三）项', 'art. 47(1)(3)'),
    hint: bi(
      '为以同意为基础的目的加上 retention 项 trigger: consent-withdrawn（撤回同意即删除或匿名化）。',
      'Give the consent-based purpose a retention entry with trigger: consent-withdrawn (delete or anonymise on withdrawal).',
    ),
    check(d, report) {
      d.purposes.forEach((p, i) => {
        if (p.basis !== 'consent' || !p.retention || p.retention.length === 0) return;
        if (p.retention.some((r) => r.trigger === 'consent-withdrawn')) return;
        report(['purposes', i, 'retention'], (l) =>
          l === 'zh'
            ? `${purposeRef(p, l)}以同意为基础，但保存期限中没有“撤回同意后删除”。`
            : `${cap(purposeRef(p, l))} rests on consent, but its retention does not delete on withdrawal of consent.`,
        );
      });
    },
  },
  {
    key: 'GBT-8.5/cancellation-missing',
    severity: 'error',
    title: bi('提供注销账号的功能', 'Offer account cancellation'),
    citation: gbt('8.5'),
    hint: bi(
      '在 rights.list 加入 right: cancellation 及其渠道（如“我的-设置-注销账号”），并在 rights.cancellation 说明注销后删除或匿名化。',
      'Add right: cancellation with a channel (e.g. Me > Settings > Cancel account) to rights.list, and say in rights.cancellation that data is deleted or anonymised afterwards.',
    ),
    check(d, report) {
      if (d.rights?.list.some((r) => r.right === 'cancellation')) return;
      report(d.rights ? ['rights', 'list'] : ['rights'], (l) =>
        l === 'zh'
          ? '声明没有提供注销账号的功能（认定方法第六条亦要求）。'
          : 'The declaration offers no account cancellation (also 认定方法 item 6).',
      );
    },
  },
  {
    key: 'GBT-8.5/manual-handling',
    severity: 'error',
    title: bi('人工处理注销须在 15 个工作日内完成', 'Manual cancellation finishes within 15 working days'),
    citation: gbt('8.5'),
    hint: bi(
      '把注销的答复时限设为不超过 15 个工作日（responseTime: { value: 15, unit: working-days }），或实现即时注销（effect: immediate）。',
      'Answer cancellations within 15 working days (responseTime: { value: 15, unit: working-days }) or cancel at once (effect: immediate).',
    ),
    check(d, report) {
      const i = d.rights?.list.findIndex((r) => r.right === 'cancellation') ?? -1;
      if (i < 0) return;
      const t = timeOf(d, i);
      if (t) {
        if (!over15WorkingDays(t.time)) return;
        const time = t.time;
        report(t.path, (l) =>
          l === 'zh'
            ? `注销账号的处理时限为 ${responseTimeText(time, l)}，超过 15 个工作日。`
            : `Account cancellation takes up to ${responseTimeText(time, l)}, more than 15 working days.`,
        );
        return;
      }
      if (d.rights?.cancellation?.effect !== 'after-review') return;
      report(['rights', 'list', i, 'responseTime'], (l) =>
        l === 'zh'
          ? '注销账号需人工审核，但没有承诺处理时限（不超过 15 个工作日）。'
          : 'Account cancellation is reviewed by staff, but no time limit (15 working days at most) is promised.',
      );
    },
  },
  {
    key: 'GBT-8.5/verification-excess',
    severity: 'error',
    title: bi('注销时的身份核验不得要求额外的个人信息', 'Cancellation verification asks for nothing the app does not already have'),
    citation: gbt('8.5'),
    hint: bi(
      '核验只使用已收集的信息（如注册手机号验证码），从 verification 中删除未收集的类别。',
      'Verify with data the app already holds (e.g. an SMS code to the registered phone) and remove the other categories from verification.',
    ),
    check(d, report) {
      const collected = collectedCategories(d);
      const check = (ids: readonly string[] | undefined, base: (string | number)[]) => {
        ids?.forEach((id, j) => {
          if (collected.has(id)) return;
          report([...base, j], (l) =>
            l === 'zh'
              ? `注销账号时要求核验${categoryList(d, [id], l)}，但没有任何目的或来源收集它。`
              : `Cancelling the account requires ${categoryList(d, [id], l)}, which no purpose or source collects.`,
          );
        });
      };
      check(d.rights?.cancellation?.verification, ['rights', 'cancellation', 'verification']);
      d.rights?.list.forEach((r, i) => {
        if (r.right === 'cancellation') check(r.verification, ['rights', 'list', i, 'verification']);
      });
    },
  },
  {
    key: 'GBT-8.5/afterwards',
    severity: 'warning',
    title: bi('说明注销后删除或匿名化', 'Say that data is deleted or anonymised after cancellation'),
    citation: gbt('8.5'),
    hint: bi(
      '在 rights.cancellation.afterwards 写 delete、anonymise 或 delete-or-anonymise。',
      'Set rights.cancellation.afterwards to delete, anonymise or delete-or-anonymise.',
    ),
    check(d, report) {
      if (!d.rights?.list.some((r) => r.right === 'cancellation') || d.rights.cancellation?.afterwards) return;
      report(['rights', 'cancellation', 'afterwards'], (l) =>
        l === 'zh'
          ? '声明未说明注销账号后删除或匿名化个人信息。'
          : 'The declaration does not say that data is deleted or anonymised after cancellation.',
      );
    },
  },
  {
    key: 'GBT-8.5/preconditions',
    severity: 'warning',
    title: bi('注销不设不合理的条件', 'No unreasonable conditions on cancellation'),
    citation: gbt('8.5'),
    hint: bi(
      '只保留确有必要的条件（如未完成的交易），并说明处理方式；删除其他条件。',
      'Keep only conditions that are truly necessary (e.g. open transactions) and say how they are resolved; drop the rest.',
    ),
    check(d, report) {
      const pre = d.rights?.cancellation?.preconditions ?? [];
      if (pre.length === 0) return;
      report(['rights', 'cancellation', 'preconditions'], (l) =>
        l === 'zh'
          ? `注销账号设有 ${pre.length} 项前提条件（${joinList(
              pre.map((p) => `“${truncate(textIn(p, l), 24)}”`),
              l,
              3,
            )}）：请确认每一项都必要，不得为注销设置不合理的障碍。`
          : `Cancellation has ${pre.length} precondition(s) (${joinList(
              pre.map((p) => `"${truncate(textIn(p, l), 40)}"`),
              l,
              3,
            )}): make sure each is necessary; cancellation may not be made needlessly hard.`,
      );
    },
  },
  {
    key: 'GBT-8.7/response-time-missing',
    severity: 'warning',
    title: bi('承诺答复个人请求的时限', 'Promise an answer time for requests'),
    citation: gbt('8.7'),
    hint: bi(
      '在 rights.responseTime 写明默认答复时限（不超过 30 天，如 { value: 15, unit: working-days }）。',
      'Give a default answer time in rights.responseTime (30 days at most, e.g. { value: 15, unit: working-days }).',
    ),
    check(d, report) {
      if (!d.rights || d.rights.responseTime) return;
      const without = d.rights.list.filter((r) => !r.responseTime).map((r) => r.right);
      if (without.length === 0) return;
      report(['rights', 'responseTime'], (l) =>
        l === 'zh'
          ? `没有承诺答复时限的权利请求：${joinList(
              without.map((r) => rightLabel(r, l)),
              l,
            )}。`
          : `No answer time is promised for: ${joinList(
              without.map((r) => rightLabel(r, l)),
              l,
            )}.`,
      );
    },
  },
  {
    key: 'GBT-8.7/response-time-exceeds',
    severity: 'error',
    title: bi('30 天内答复个人请求', 'Answer requests within 30 days'),
    citation: gbt('8.7'),
    hint: bi('把答复时限缩短到 30 天以内。', 'Shorten the answer time to 30 days or less.'),
    check(d, report) {
      const def = d.rights?.responseTime;
      if (def && calendarDays(def) > 30) {
        report(['rights', 'responseTime'], (l) =>
          l === 'zh'
            ? `默认答复时限为 ${responseTimeText(def, l)}，超过 30 天。`
            : `The default answer time is ${responseTimeText(def, l)}, more than 30 days.`,
        );
      }
      d.rights?.list.forEach((r, i) => {
        const t = r.responseTime;
        if (!t || calendarDays(t) <= 30) return;
        report(['rights', 'list', i, 'responseTime'], (l) =>
          l === 'zh'
            ? `${rightLabel(r.right, l)}请求的答复时限为 ${responseTimeText(t, l)}，超过 30 天。`
            : `Requests for ${rightLabel(r.right, l)} are answered within ${responseTimeText(t, l)}, more than 30 days.`,
        );
      });
    },
  },
  {
    key: 'GBT-8.7/external-dispute',
    severity: 'warning',
    title: bi('说明外部争议解决途径', 'Name an external dispute route'),
    citation: gbt('8.7'),
    hint: bi(
      '在 rights.externalDispute 写明对答复不满意时的外部途径（向网信、工信等部门投诉，或向人民法院起诉）。',
      'Say in rights.externalDispute where people can turn when not satisfied (a complaint to the CAC or MIIT, or a court).',
    ),
    check(d, report) {
      if (d.rights?.externalDispute) return;
      report(['rights', 'externalDispute'], (l) =>
        l === 'zh'
          ? '声明未说明对答复不满意时的外部争议解决途径（监管部门投诉或诉讼）。'
          : 'The declaration names no external dispute route (a regulator or a court) for people not satisfied with the answer.',
      );
    },
  },
];
