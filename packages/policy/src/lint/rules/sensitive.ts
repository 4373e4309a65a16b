/** Personalised marketing and automated decisions, sensitive personal information, minors: PIPL 24, 28–31. */
import { pipl } from '../citations.js';
import { bi, cap, categoryList, isSensitive, joinList, purposeRef, reliesOnConsent } from '../facts.js';
import type { LintRuleDef } from '../types.js';

export const SENSITIVE_RULES: LintRuleDef[] = [
  {
    key: 'PIPL-24/non-personalised-option',
    severity: 'error',
    title: bi('个性化推送须同时提供不针对个人特征的选项', 'Personalised marketing offers a non-personalised option'),
    citation: pipl('第二十四条第二款', 'art. 24(2)'),
    hint: bi(
      '同时提供不针对个人特征的选项（marketing.nonPersonalisedOption: true），例如关闭“个性化推荐”后按通用规则推送。',
      'Offer a non-personalised option as well (marketing.nonPersonalisedOption: true), e.g. generic content when personalised recommendations are off.',
    ),
    check(d, report) {
      d.purposes.forEach((p, i) => {
        if (p.marketing?.personalised !== true || p.marketing.nonPersonalisedOption === true) return;
        report(['purposes', i, 'marketing', 'nonPersonalisedOption'], (l) =>
          l === 'zh'
            ? `${purposeRef(p, l)}基于${categoryList(d, p.categories, l)}进行个性化推送，但没有提供不针对个人特征的选项。`
            : `${cap(purposeRef(p, l))} personalises marketing on ${categoryList(d, p.categories, l)} without a non-personalised option.`,
        );
      });
    },
  },
  {
    key: 'PIPL-24/opt-out',
    severity: 'error',
    title: bi('个性化推送须提供便捷的拒绝方式', 'Personalised marketing offers an easy way to refuse'),
    citation: pipl('第二十四条第二款', 'art. 24(2)'),
    hint: bi(
      '在 marketing.optOut 写明拒绝的方式（如“我的-设置-关闭个性化推荐”）。',
      'Say in marketing.optOut how to refuse (e.g. Me > Settings > turn off personalised recommendations).',
    ),
    check(d, report) {
      d.purposes.forEach((p, i) => {
        if (p.marketing?.personalised !== true || p.marketing.optOut) return;
        report(['purposes', i, 'marketing', 'optOut'], (l) =>
          l === 'zh'
            ? `${purposeRef(p, l)}进行个性化推送，但未说明个人如何拒绝。`
            : `${cap(purposeRef(p, l))} sends personalised marketing but does not say how to refuse it.`,
        );
      });
    },
  },
  {
    key: 'PIPL-24/automated-explanation',
    severity: 'warning',
    title: bi('自动化决策须可要求说明并可拒绝', 'Automated decisions can be explained and refused'),
    citation: pipl('第二十四条第三款', 'art. 24(3)'),
    hint: bi(
      '在 rights.list 加入 right: explanation 及其渠道，说明个人如何要求解释和拒绝仅通过自动化决策作出的决定。',
      'Add right: explanation with channels to rights.list so that people can ask for an explanation and refuse decisions made solely by automated means.',
    ),
    check(d, report) {
      const auto = d.purposes.filter((p) => p.automatedDecision === true);
      if (auto.length === 0 || d.rights?.list.some((r) => r.right === 'explanation')) return;
      const i = d.purposes.findIndex((p) => p.automatedDecision === true);
      report(['purposes', i, 'automatedDecision'], (l) =>
        l === 'zh'
          ? `${joinList(
              auto.map((p) => purposeRef(p, l)),
              l,
            )}使用自动化决策，但声明没有提供要求说明和拒绝的渠道。`
          : `${cap(
              joinList(
                auto.map((p) => purposeRef(p, l)),
                l,
              ),
            )} make automated decisions, but there is no channel to ask for an explanation or refuse.`,
      );
    },
  },
  {
    key: 'PIPL-28/necessity',
    severity: 'error',
    title: bi(
      '处理敏感个人信息须说明必要性和对个人的影响',
      'Sensitive personal information comes with a statement of necessity and impact',
    ),
    citation: pipl('第二十八条、第三十条', 'arts. 28 and 30'),
    hint: bi(
      '在该目的的 necessity 写明为何必须处理这些敏感个人信息、对个人权益的影响，以及拒绝后的替代方式。',
      "Say in the purpose's necessity why the sensitive information is needed, its impact on the person, and what the alternative is if they refuse.",
    ),
    check(d, report) {
      d.purposes.forEach((p, i) => {
        const sensitive = p.categories.filter((c) => isSensitive(d, c));
        if (sensitive.length === 0 || p.necessity) return;
        report(['purposes', i, 'necessity'], (l) =>
          l === 'zh'
            ? `${purposeRef(p, l)}处理敏感个人信息${categoryList(d, sensitive, l)}，但未说明其必要性及对个人权益的影响。`
            : `${cap(purposeRef(p, l))} processes sensitive personal information (${categoryList(d, sensitive, l)}) without a statement of necessity and impact.`,
        );
      });
    },
  },
  {
    key: 'PIPL-28/separate-consent',
    severity: 'error',
    title: bi('处理敏感个人信息须取得单独同意', 'Sensitive personal information needs separate consent'),
    citation: pipl('第二十九条', 'art. 29'),
    hint: bi(
      '在使用该功能时单独征得同意（不与隐私政策捆绑），并声明 separateConsent: true。',
      'Ask for consent on its own when the feature is used, not bundled with the policy, and declare separateConsent: true.',
    ),
    check(d, report) {
      d.purposes.forEach((p, i) => {
        const sensitive = p.categories.filter((c) => isSensitive(d, c));
        if (sensitive.length === 0 || !reliesOnConsent(p) || p.separateConsent === true) return;
        report(['purposes', i, 'separateConsent'], (l) =>
          l === 'zh'
            ? `${purposeRef(p, l)}处理敏感个人信息${categoryList(d, sensitive, l)}，未取得单独同意。`
            : `${cap(purposeRef(p, l))} processes sensitive personal information (${categoryList(d, sensitive, l)}) without separate consent.`,
        );
      });
    },
  },
  {
    key: 'PIPL-31/minors-missing',
    severity: 'error',
    title: bi('说明未成年人个人信息的处理规则', 'Say how minors are handled'),
    citation: pipl('第三十一条', 'art. 31'),
    hint: bi(
      '加上 minors：未成年人年龄界限（ageThreshold）、监护人同意（guardianConsent: true）和不满十四周岁儿童的专门处理规则（under14Rules）。',
      'Add minors: the age threshold, guardian consent (guardianConsent: true) and the dedicated rules for children under 14 (under14Rules).',
    ),
    check(d, report) {
      if (d.minors) return;
      report(['minors'], (l) =>
        l === 'zh'
          ? '声明没有未成年人条款：没有监护人同意，也没有不满十四周岁儿童个人信息的专门处理规则。'
          : 'The declaration has no minors clause: no guardian consent and no dedicated rules for children under 14.',
      );
    },
  },
  {
    key: 'PIPL-31/under-14-rules',
    severity: 'error',
    title: bi('制定不满十四周岁儿童个人信息的专门处理规则', 'Dedicated rules for children under 14'),
    citation: pipl('第三十一条第二款', 'art. 31(2)'),
    hint: bi(
      '在 minors.under14Rules 给出《儿童个人信息保护规则》的链接或正文。',
      'Link or include the dedicated rules for children under 14 in minors.under14Rules.',
    ),
    check(d, report) {
      const m = d.minors;
      if (!m || m.under14Rules) return;
      report(['minors', 'under14Rules'], (l) => {
        if (m.ageThreshold > 14) {
          return l === 'zh'
            ? `未成年人条款以 ${m.ageThreshold} 周岁为界，但没有针对不满十四周岁儿童的专门处理规则。`
            : `The minors clause uses an age threshold of ${m.ageThreshold} but has no dedicated rules for children under 14.`;
        }
        return l === 'zh' ? '没有不满十四周岁儿童个人信息的专门处理规则。' : 'There are no dedicated rules for children under 14.';
      });
    },
  },
  {
    key: 'PIPL-31/guardian-consent',
    severity: 'error',
    title: bi('不满十四周岁须取得监护人同意', 'Under 14 needs a guardian’s consent'),
    citation: pipl('第三十一条第一款', 'art. 31(1)'),
    hint: bi(
      '声明取得父母或其他监护人的同意（minors.guardianConsent: true）。',
      "Declare that a parent's or guardian's consent is obtained (minors.guardianConsent: true).",
    ),
    check(d, report) {
      const m = d.minors;
      if (!m || m.guardianConsent === true) return;
      report(['minors', 'guardianConsent'], (l) =>
        l === 'zh'
          ? '未成年人条款没有要求取得父母或其他监护人的同意。'
          : 'The minors clause does not require the consent of a parent or guardian.',
      );
    },
  },
  {
    key: 'PIPL-31/threshold-below-14',
    severity: 'error',
    title: bi('未成年人年龄界限不得低于十四周岁', 'The minors threshold is not below 14'),
    citation: pipl('第二十八条、第三十一条', 'arts. 28 and 31'),
    hint: bi('把 minors.ageThreshold 设为 14 或更高。', 'Set minors.ageThreshold to 14 or more.'),
    check(d, report) {
      const m = d.minors;
      if (!m || m.ageThreshold >= 14) return;
      report(['minors', 'ageThreshold'], (l) =>
        l === 'zh'
          ? `未成年人年龄界限为 ${m.ageThreshold} 周岁：${m.ageThreshold} 至 13 周岁的儿童会被当作无需监护人同意处理。`
          : `The age threshold is ${m.ageThreshold}: children aged ${m.ageThreshold} to 13 would be treated as needing no guardian consent.`,
      );
    },
  },
];
