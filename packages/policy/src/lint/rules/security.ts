/**
 * Security measures, DPO, impact assessment, incident notices and liability: PIPL 51, 52, 55–57, 69;
 * GB/T 35273 6.1–6.3 and 10.2.
 */
import type { Declaration } from '../../schema.js';
import { CAC_DPO, gbt, pipl } from '../citations.js';
import { bi, categoryList, excerpt, isThirdParty, joinList, sensitiveCategoriesInUse, textIn } from '../facts.js';
import type { LintLang, LintRuleDef } from '../types.js';

type NoticeItem = 'what-happened' | 'impact' | 'categories' | 'cause' | 'measures' | 'self-protection' | 'remedies' | 'contact';

const NOTICE_LABEL: Record<NoticeItem, { zh: string; en: string }> = {
  'what-happened': { zh: '事件基本情况', en: 'what happened' },
  impact: { zh: '可能造成的危害', en: 'possible harm' },
  categories: { zh: '涉及的个人信息种类', en: 'categories concerned' },
  cause: { zh: '原因', en: 'cause' },
  measures: { zh: '已采取的补救措施', en: 'measures taken' },
  'self-protection': { zh: '个人可采取的减轻危害措施', en: 'what the person can do' },
  remedies: { zh: '对个人的补救措施', en: 'remedies for the person' },
  contact: { zh: '处理者的联系方式', en: 'contact' },
};

/** PIPL 57: 种类、原因和可能造成的危害；补救措施和个人可以采取的减轻危害的措施；联系方式. */
const PIPL57_ITEMS: readonly NoticeItem[] = ['categories', 'cause', 'impact', 'measures', 'self-protection', 'contact'];
/** GB/T 35273 10.2 adds: 基本情况 and 对个人信息主体的补救措施. */
const GBT102_ITEMS: readonly NoticeItem[] = ['what-happened', 'remedies'];

function noticeList(items: readonly NoticeItem[], lang: LintLang): string {
  return joinList(
    items.map((i) => NOTICE_LABEL[i][lang]),
    lang,
    10,
  );
}

function encryptsAtRest(d: Declaration): boolean {
  return d.security?.measures.includes('encryption-at-rest') === true || d.security?.encryptionAtRest !== undefined;
}

/** Why a PIA is needed (PIPL 55), in the given language; empty when it is not. */
function piaTriggers(d: Declaration, lang: LintLang): string[] {
  const zh = lang === 'zh';
  const out: string[] = [];
  const sensitive = sensitiveCategoriesInUse(d);
  if (sensitive.length > 0)
    out.push(
      zh ? `处理敏感个人信息（${categoryList(d, sensitive, lang, 3)}）` : `sensitive information (${categoryList(d, sensitive, lang, 3)})`,
    );
  const provided = (d.recipients ?? []).filter((r) => r.kind !== 'authority' && !r.deidentified);
  if (provided.length > 0) {
    const third = provided.some(isThirdParty);
    out.push(
      zh
        ? `${third ? '向第三方提供' : '委托处理'}个人信息（${provided.length} 个接收方）`
        : `${third ? 'provision to third parties' : 'entrusted processing'} (${provided.length} recipient(s))`,
    );
  }
  if (d.disclosure?.public?.occurs) out.push(zh ? '公开个人信息' : 'public disclosure');
  if (d.purposes.some((p) => p.automatedDecision)) out.push(zh ? '自动化决策' : 'automated decisions');
  if ((d.storage?.crossBorder?.length ?? 0) > 0 || d.recipients?.some((r) => r.crossBorder))
    out.push(zh ? '向境外提供' : 'cross-border provision');
  return out;
}

/** The words of a disclaimer, strongest first, to quote the sentence that carries it. */
const DISCLAIMER: readonly RegExp[] = [
  /不负责|不承担|概不|免除|免责|不予赔偿|not (be )?(liable|responsible)|disclaim|nor do we compensate|no liability/i,
  /不能保证|不保证|cannot guarantee/i,
];

export const SECURITY_RULES: LintRuleDef[] = [
  {
    key: 'PIPL-51/no-security',
    severity: 'error',
    title: bi('说明安全保护措施', 'State the security measures'),
    citation: pipl('第五十一条', 'art. 51'),
    hint: bi(
      '加上 security：measures（encryption-at-rest、encryption-in-transit、access-control、incident-plan、staff-training 等）。',
      'Add security with its measures (encryption-at-rest, encryption-in-transit, access-control, incident-plan, staff-training …).',
    ),
    check(d, report) {
      if (d.security) return;
      report(['security'], (l) =>
        l === 'zh' ? '声明没有说明任何个人信息安全保护措施。' : 'The declaration states no security measures at all.',
      );
    },
  },
  {
    key: 'PIPL-51/access-control',
    severity: 'error',
    title: bi('对个人信息实行访问控制', 'Access to personal information is controlled'),
    citation: pipl('第五十一条第（三）项', 'art. 51(3)'),
    hint: bi(
      '实施并声明访问控制（security.measures 加入 access-control）。',
      'Control and declare access (add access-control to security.measures).',
    ),
    check(d, report) {
      if (!d.security || d.security.measures.includes('access-control')) return;
      report(['security', 'measures'], (l) =>
        l === 'zh' ? '安全措施中没有访问控制（合理确定操作权限）。' : 'The security measures include no access control.',
      );
    },
  },
  {
    key: 'PIPL-51/encryption-at-rest',
    severity: 'error',
    title: bi('敏感个人信息加密存储', 'Sensitive personal information is encrypted at rest'),
    citation: pipl('第五十一条第（三）项', 'art. 51(3)'),
    hint: bi(
      '对敏感个人信息加密存储并声明算法和范围（security.encryptionAtRest: { algorithm: AES-256-GCM 或 SM4, scope: sensitive }）。',
      'Encrypt sensitive data at rest and declare the algorithm and scope (security.encryptionAtRest: { algorithm: AES-256-GCM or SM4, scope: sensitive }).',
    ),
    check(d, report) {
      if (!d.security || encryptsAtRest(d)) return;
      const sensitive = sensitiveCategoriesInUse(d);
      if (sensitive.length === 0) return;
      report(['security', 'encryptionAtRest'], (l) =>
        l === 'zh'
          ? `处理敏感个人信息${categoryList(d, sensitive, l)}，但没有声明加密存储。`
          : `Sensitive information (${categoryList(d, sensitive, l)}) is processed but no encryption at rest is declared.`,
      );
    },
  },
  {
    key: 'PIPL-51/incident-plan',
    severity: 'warning',
    title: bi('制定个人信息安全事件应急预案', 'An incident response plan exists'),
    citation: pipl('第五十一条第（五）项', 'art. 51(5)'),
    hint: bi(
      '制定并定期演练应急预案（security.measures 加入 incident-plan）。',
      'Write and rehearse an incident response plan (add incident-plan to security.measures).',
    ),
    check(d, report) {
      if (!d.security || d.security.measures.includes('incident-plan')) return;
      report(['security', 'measures'], (l) =>
        l === 'zh' ? '安全措施中没有个人信息安全事件应急预案。' : 'The security measures include no incident response plan.',
      );
    },
  },
  {
    key: 'PIPL-51/training',
    severity: 'info',
    title: bi('定期对从业人员进行安全教育和培训', 'Staff are trained regularly'),
    citation: pipl('第五十一条第（四）项', 'art. 51(4)'),
    hint: bi(
      '定期开展安全教育和培训（security.measures 加入 staff-training）。',
      'Train staff regularly (add staff-training to security.measures).',
    ),
    check(d, report) {
      if (!d.security || d.security.measures.includes('staff-training')) return;
      report(['security', 'measures'], (l) =>
        l === 'zh' ? '安全措施中没有从业人员安全教育和培训。' : 'The security measures include no staff training.',
      );
    },
  },
  {
    key: 'GBT-6.1/sensitive-not-encrypted',
    severity: 'warning',
    title: bi('每类敏感个人信息都在加密存储范围内', 'Every sensitive category is within the encryption scope'),
    citation: gbt('6.3'),
    hint: bi(
      '把该类别加入 security.encryptionAtRest.scope（或设 scope: sensitive），并在类别上声明 encrypted: true。',
      'Add the category to security.encryptionAtRest.scope (or use scope: sensitive) and mark it encrypted: true.',
    ),
    check(d, report) {
      if (!encryptsAtRest(d)) return;
      const scope = d.security?.encryptionAtRest?.scope;
      const inUse = new Set(sensitiveCategoriesInUse(d));
      d.categories.forEach((c, i) => {
        if (!inUse.has(c.id)) return;
        const covered =
          c.encrypted !== false &&
          (c.encrypted === true || scope === 'all' || scope === 'sensitive' || (Array.isArray(scope) && scope.includes(c.id)));
        if (covered) return;
        report(['categories', i, 'encrypted'], (l) =>
          l === 'zh'
            ? `敏感个人信息${categoryList(d, [c.id], l)}不在声明的加密存储范围内。`
            : `Sensitive ${categoryList(d, [c.id], l)} is outside the declared encryption at rest.`,
        );
      });
    },
  },
  {
    key: 'GBT-6.1/in-transit',
    severity: 'warning',
    title: bi('敏感个人信息加密传输', 'Sensitive personal information is encrypted in transit'),
    citation: gbt('6.3'),
    hint: bi(
      '声明传输加密（security.encryptionInTransit: TLS 1.2+，measures 加入 encryption-in-transit）。',
      'Declare encryption in transit (security.encryptionInTransit: TLS 1.2+, and encryption-in-transit in measures).',
    ),
    check(d, report) {
      if (!d.security || d.security.measures.includes('encryption-in-transit') || d.security.encryptionInTransit) return;
      const sensitive = sensitiveCategoriesInUse(d);
      if (sensitive.length === 0) return;
      report(['security', 'encryptionInTransit'], (l) =>
        l === 'zh'
          ? `传输敏感个人信息${categoryList(d, sensitive, l)}，但没有声明加密传输。`
          : `Sensitive information (${categoryList(d, sensitive, l)}) is transmitted but no encryption in transit is declared.`,
      );
    },
  },
  {
    key: 'PIPL-52/dpo',
    severity: 'error',
    title: bi('处理 100 万人以上的，指定并公开个人信息保护负责人', 'From one million individuals, appoint a DPO and publish the contact'),
    citation: CAC_DPO,
    hint: bi(
      '在 controller.dpo 写明个人信息保护负责人及其电话或邮箱，并按网信部门要求报送。',
      'Name the DPO in controller.dpo with a phone or email, and report it to the CAC as required.',
    ),
    check(d, report) {
      const n = d.app.individuals;
      const dpo = d.controller.dpo;
      if (n === undefined || n < 1_000_000) return;
      if (dpo && (dpo.phone?.length ?? 0) + (dpo.email?.length ?? 0) > 0) return;
      report(['controller', 'dpo'], (l) =>
        l === 'zh'
          ? `处理约 ${n.toLocaleString('en-US')} 人的个人信息，但${dpo ? '个人信息保护负责人没有公开联系方式' : '没有指定个人信息保护负责人'}。`
          : `Personal information of about ${n.toLocaleString('en-US')} people is processed, but ${dpo ? 'the DPO has no published contact' : 'no DPO is appointed'}.`,
      );
    },
  },
  {
    key: 'PIPL-52/individuals-unstated',
    severity: 'info',
    title: bi('说明处理个人信息的人数量级', 'State how many individuals are concerned'),
    citation: CAC_DPO,
    hint: bi(
      '在 app.individuals 写明处理个人信息的人数量级，以判断是否须指定个人信息保护负责人。',
      'Give the order of magnitude of individuals in app.individuals, so that the DPO duty can be checked.',
    ),
    check(d, report) {
      const dpo = d.controller.dpo;
      if (d.app.individuals !== undefined || (dpo && (dpo.phone?.length ?? 0) + (dpo.email?.length ?? 0) > 0)) return;
      report(['app', 'individuals'], (l) =>
        l === 'zh'
          ? '未说明处理个人信息的人数，也没有个人信息保护负责人：无法判断是否达到 100 万人的指定门槛。'
          : 'Neither the number of individuals nor a DPO is declared: the one-million threshold cannot be checked.',
      );
    },
  },
  {
    key: 'PIPL-55/pia',
    severity: 'error',
    title: bi('事前进行个人信息保护影响评估', 'A personal-information impact assessment is done beforehand'),
    citation: pipl('第五十五条、第五十六条', 'arts. 55 and 56'),
    hint: bi(
      '在处理前完成个人信息保护影响评估，记录保存至少 3 年，并声明 pia: { done: true, date, scope }。',
      'Carry out the impact assessment before processing, keep the record 3 years, and declare pia: { done: true, date, scope }.',
    ),
    check(d, report) {
      if (d.pia?.done === true) return;
      const zh = piaTriggers(d, 'zh');
      if (zh.length === 0) return;
      report(d.pia ? ['pia', 'done'] : ['pia'], (l) =>
        l === 'zh'
          ? `声明没有个人信息保护影响评估，而以下处理须事前评估：${joinList(zh, l, 6)}。`
          : `No impact assessment is declared, yet these need one beforehand: ${joinList(piaTriggers(d, 'en'), l, 6)}.`,
      );
    },
  },
  {
    key: 'PIPL-55/pia-date',
    severity: 'warning',
    title: bi('记录影响评估的日期', 'Record the date of the impact assessment'),
    citation: pipl('第五十六条', 'art. 56'),
    hint: bi(
      '在 pia.date 写明评估日期（报告和处理记录至少保存 3 年）。',
      'Give pia.date (the report and records are kept at least 3 years).',
    ),
    check(d, report) {
      if (d.pia?.done !== true || d.pia.date) return;
      report(['pia', 'date'], (l) =>
        l === 'zh' ? '影响评估已完成，但没有记录日期。' : 'The impact assessment is done, but its date is not recorded.',
      );
    },
  },
  {
    key: 'PIPL-57/incident-notice',
    severity: 'error',
    title: bi('承诺发生安全事件时通知个人', 'Promise to notify people of incidents'),
    citation: pipl('第五十七条', 'art. 57'),
    hint: bi(
      '加上 incidents：通知渠道（channels）、通知内容（content）和向监管部门报告（reportsToRegulator: true）。',
      'Add incidents: the channels, the content of the notice and reporting to the regulator (reportsToRegulator: true).',
    ),
    check(d, report) {
      if (d.incidents) return;
      report(['incidents'], (l) =>
        l === 'zh'
          ? '声明没有说明发生个人信息泄露、篡改、丢失时如何通知个人和监管部门。'
          : 'The declaration does not say how people and regulators are told of a leak, alteration or loss of personal information.',
      );
    },
  },
  {
    key: 'PIPL-57/notice-content',
    severity: 'error',
    title: bi('安全事件通知包含法定内容', 'Incident notices carry what the law requires'),
    citation: pipl('第五十七条第一款', 'art. 57(1)'),
    hint: bi(
      '在 incidents.content 加入 categories、cause、impact、measures、self-protection 和 contact。',
      'Add categories, cause, impact, measures, self-protection and contact to incidents.content.',
    ),
    check(d, report) {
      if (!d.incidents) return;
      const have = new Set(d.incidents.content ?? []);
      const missing = PIPL57_ITEMS.filter((i) => !have.has(i));
      if (missing.length === 0) return;
      report(['incidents', 'content'], (l) =>
        l === 'zh'
          ? `安全事件通知缺少法定内容：${noticeList(missing, l)}。`
          : `Incident notices lack what the law requires: ${noticeList(missing, l)}.`,
      );
    },
  },
  {
    key: 'GBT-10.2/notice-content',
    severity: 'warning',
    title: bi('安全事件告知包含事件情况和补救措施', 'Incident notices say what happened and the remedies'),
    citation: gbt('10.2'),
    hint: bi('在 incidents.content 加入 what-happened 和 remedies。', 'Add what-happened and remedies to incidents.content.'),
    check(d, report) {
      if (!d.incidents) return;
      const have = new Set(d.incidents.content ?? []);
      const missing = GBT102_ITEMS.filter((i) => !have.has(i));
      if (missing.length === 0) return;
      report(['incidents', 'content'], (l) =>
        l === 'zh' ? `安全事件告知缺少：${noticeList(missing, l)}。` : `Incident notices lack: ${noticeList(missing, l)}.`,
      );
    },
  },
  {
    key: 'GBT-10.2/regulator',
    severity: 'warning',
    title: bi('按规定向监管部门报告安全事件', 'Incidents are reported to the regulator'),
    citation: gbt('10.2'),
    hint: bi(
      '承诺按监管部门要求报告事件处置情况（incidents.reportsToRegulator: true）。',
      'Promise to report incidents to the regulator (incidents.reportsToRegulator: true).',
    ),
    check(d, report) {
      if (!d.incidents || d.incidents.reportsToRegulator === true) return;
      report(['incidents', 'reportsToRegulator'], (l) =>
        l === 'zh'
          ? '声明没有承诺向监管部门报告个人信息安全事件。'
          : 'The declaration does not promise to report incidents to the regulator.',
      );
    },
  },
  {
    key: 'PIPL-69/liability-disclaimer',
    severity: 'error',
    title: bi('不得免除个人信息泄露的责任', 'No disclaimer of liability for breaches'),
    citation: pipl('第六十九条', 'art. 69'),
    hint: bi(
      '删除免责条款：处理者不能证明自己没有过错的，应当承担损害赔偿等侵权责任。',
      'Remove the disclaimer: a controller that cannot prove it was not at fault is liable for the damage.',
    ),
    check(d, report) {
      const text = d.security?.liabilityDisclaimer;
      if (!text) return;
      report(['security', 'liabilityDisclaimer'], (l) =>
        l === 'zh'
          ? `政策声明对个人信息被未经授权接触造成的损失不负责（“${excerpt(textIn(text, l), DISCLAIMER, 48)}”）：侵害个人信息权益的，处理者不能证明自己没有过错即应承担责任。`
          : `The policy disclaims liability for unauthorised access to personal information ("${excerpt(textIn(text, l), DISCLAIMER, 80)}"): a controller that cannot prove it was not at fault is liable.`,
      );
    },
  },
];
