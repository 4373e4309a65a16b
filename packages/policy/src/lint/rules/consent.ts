/** Lawful basis and consent: PIPL 13–16, MIIT 认定方法 一/三/四/五, GB/T 35273 5.3. */
import { gbt, miitMethod, pipl } from '../citations.js';
import {
  bi,
  cap,
  categoryList,
  isThirdParty,
  joinList,
  permissionRef,
  purposeById,
  purposeRef,
  recipientRef,
  reliesOnConsent,
} from '../facts.js';
import type { LintRuleDef } from '../types.js';

export const CONSENT_RULES: LintRuleDef[] = [
  {
    key: 'PIPL-13/basis-missing',
    severity: 'error',
    title: bi('每个处理目的须说明合法性基础', 'Every purpose states its lawful basis'),
    citation: pipl('第十三条', 'art. 13'),
    hint: bi(
      '为该目的写明 basis：consent（同意）、contract（订立、履行合同所必需）、legal-duty（履行法定职责或义务）、public-health-emergency、news-public-interest、public-data 或 other-law。',
      'Give the purpose a basis: consent, contract (necessary for a contract with the person), legal-duty, public-health-emergency, news-public-interest, public-data or other-law.',
    ),
    check(d, report) {
      d.purposes.forEach((p, i) => {
        if (p.basis !== undefined) return;
        report(['purposes', i, 'basis'], (l) =>
          l === 'zh'
            ? `${purposeRef(p, l)}未说明处理${categoryList(d, p.categories, l)}的合法性基础。`
            : `${cap(purposeRef(p, l))} does not state the lawful basis for processing ${categoryList(d, p.categories, l)}.`,
        );
      });
    },
  },
  {
    key: 'PIPL-13/marketing-contract',
    severity: 'error',
    title: bi('营销和“改善体验”不能以合同必需为合法性基础', 'Marketing and "improving the experience" cannot rest on contract necessity'),
    citation: pipl('第十三条第一款第（二）项', 'art. 13(1)(2)'),
    hint: bi(
      '营销推送或改善体验不是订立、履行合同所必需：改为 basis: consent，设 required: false，并提供拒绝方式。',
      'Marketing or improving the experience is not necessary for the contract: use basis: consent, set required: false and offer a way to refuse.',
    ),
    check(d, report) {
      d.purposes.forEach((p, i) => {
        if (p.basis !== 'contract' || (!p.marketing && p.improvementOnly !== true)) return;
        report(['purposes', i, 'basis'], (l) => {
          const what = p.marketing
            ? l === 'zh'
              ? '营销推送'
              : 'marketing'
            : l === 'zh'
              ? '改善服务或体验'
              : 'improving the service or experience';
          return l === 'zh'
            ? `${purposeRef(p, l)}用于${what}，并非订立、履行合同所必需，却以 contract（合同必需）为合法性基础。`
            : `${cap(purposeRef(p, l))} serves ${what}, which is not necessary for a contract, yet rests on contract necessity.`;
        });
      });
    },
  },
  {
    key: 'PIPL-14/implied-consent',
    severity: 'error',
    title: bi('“使用即同意”不是有效同意', '"Using the service means you agree" is not consent'),
    citation: pipl('第十四条', 'art. 14'),
    hint: bi(
      '删除“使用即视为同意”的条款；首次运行时展示隐私政策，由用户主动点击同意后才开始处理（consent.impliedByUse: false, firstLaunchDialog: true）。',
      'Remove the "using means agreeing" clause; show the policy at first launch and start processing only after the user actively agrees (consent.impliedByUse: false, firstLaunchDialog: true).',
    ),
    check(d, report) {
      if (d.consent?.impliedByUse !== true) return;
      report(['consent', 'impliedByUse'], (l) =>
        l === 'zh'
          ? '政策规定使用服务即视为同意：同意须在充分知情的前提下自愿、明确作出，使用行为本身不构成同意。'
          : 'The policy treats use of the service as consent: consent must be informed, voluntary and explicit, and using the service is none of these.',
      );
    },
  },
  {
    key: 'PIPL-14/pre-ticked',
    severity: 'error',
    title: bi('不得默认勾选同意', 'No pre-ticked consent'),
    citation: pipl('第十四条', 'art. 14'),
    hint: bi(
      '同意框默认不勾选，由用户主动勾选或点击（consent.preTicked: false）。',
      'Leave consent boxes unticked so that the user ticks or taps them (consent.preTicked: false).',
    ),
    check(d, report) {
      if (d.consent?.preTicked !== true) return;
      report(['consent', 'preTicked'], (l) =>
        l === 'zh'
          ? '同意选项默认勾选：默认勾选不是明确的同意，也违反认定方法第三条。'
          : 'Consent is pre-ticked: a pre-ticked box is not explicit consent (also 认定方法 item 3).',
      );
    },
  },
  {
    key: 'PIPL-14/future-changes',
    severity: 'error',
    title: bi('不得预先同意今后的修改', 'No consent in advance to future changes'),
    citation: pipl('第十四条第二款', 'art. 14(2)'),
    hint: bi(
      '删除“同意日后对本政策的修改”的条款；处理目的、方式或种类变更时重新取得同意（consent.acceptsFutureChanges: false）。',
      'Remove the clause accepting future changes; ask for consent again when a purpose, method or category changes (consent.acceptsFutureChanges: false).',
    ),
    check(d, report) {
      if (d.consent?.acceptsFutureChanges !== true) return;
      report(['consent', 'acceptsFutureChanges'], (l) =>
        l === 'zh'
          ? '政策要求用户预先同意日后的修改：处理目的、方式或个人信息种类变更的，应当重新取得个人同意。'
          : 'The policy makes the user accept future changes in advance: a change of purpose, method or category needs fresh consent.',
      );
    },
  },
  {
    key: 'PIPL-14/material-change',
    severity: 'warning',
    title: bi('实质性变更应显著告知并重新取得同意', 'Material changes are notified prominently and consent asked again'),
    citation: pipl('第十四条第二款', 'art. 14(2)'),
    hint: bi(
      '承诺实质性变更（新目的、新类别、新接收方）时以弹窗等显著方式告知并重新征得同意（changes.materialChangeNotice: true）。',
      'Promise a prominent notice (e.g. a pop-up) and fresh consent for material changes — new purposes, categories or recipients (changes.materialChangeNotice: true).',
    ),
    check(d, report) {
      if (d.changes?.materialChangeNotice === true) return;
      report(['changes', 'materialChangeNotice'], (l) =>
        l === 'zh'
          ? '声明未承诺在实质性变更时显著告知并重新取得同意。'
          : 'The declaration does not promise a prominent notice and fresh consent for material changes.',
      );
    },
  },
  {
    key: 'MIIT-4/improvement-only',
    severity: 'error',
    title: bi('不得以“改善服务/体验”为由强制同意', '"To improve the service/experience" cannot force consent'),
    citation: miitMethod('四', '4'),
    hint: bi(
      '把该目的设为可单独拒绝的可选功能（required: false，basis: consent），拒绝不影响其他功能；或写明具体的业务功能。',
      'Make the purpose an optional extra the user can refuse on its own (required: false, basis: consent) without losing other functions, or name the concrete function it serves.',
    ),
    check(d, report) {
      d.purposes.forEach((p, i) => {
        if (p.improvementOnly !== true || p.required === false) return;
        report(['purposes', i, 'improvementOnly'], (l) =>
          l === 'zh'
            ? `${purposeRef(p, l)}仅以“改善服务/体验”为由处理${categoryList(d, p.categories, l)}，却未声明为可单独拒绝的可选功能（required: false）。`
            : `${cap(purposeRef(p, l))} processes ${categoryList(d, p.categories, l)} only "to improve the service or experience", yet is not declared an optional extra the user can refuse (required: false).`,
        );
      });
    },
  },
  {
    key: 'MIIT-4/permission-unrelated',
    severity: 'warning',
    title: bi('权限收集的信息应为其目的所用', 'A permission collects only what its purposes use'),
    citation: miitMethod('四', '4'),
    hint: bi(
      '从权限的 categories 中删除其目的用不到的类别，或把这些类别加入相应目的并说明用途。',
      'Remove from the permission the categories its purposes do not use, or add them to a purpose that says why.',
    ),
    check(d, report) {
      d.permissions?.forEach((perm, i) => {
        const used = new Set(perm.purposes.flatMap((id) => purposeById(d, id)?.categories ?? []));
        const extra = (perm.categories ?? []).filter((c) => !used.has(c));
        if (extra.length === 0) return;
        const purposes = perm.purposes.flatMap((id) => purposeById(d, id) ?? []);
        report(['permissions', i, 'categories'], (l) => {
          const ps = joinList(
            purposes.map((p) => purposeRef(p, l)),
            l,
          );
          return l === 'zh'
            ? `${permissionRef(perm, l)}收集${categoryList(d, extra, l)}，但它服务的${ps}并不处理这些信息。`
            : `${cap(permissionRef(perm, l))} collects ${categoryList(d, extra, l)}, which ${ps} does not use.`;
        });
      });
    },
  },
  {
    key: 'PIPL-15/withdrawal-channel',
    severity: 'error',
    title: bi('说明如何撤回同意', 'Say how consent is withdrawn'),
    citation: pipl('第十五条', 'art. 15'),
    hint: bi(
      '在 rights.withdrawal 写明撤回同意的便捷方式（如“我的-设置-隐私-授权管理”），并在 rights.list 加入 right: withdrawal 及其渠道。',
      'Say in rights.withdrawal how consent is withdrawn, as easily as it was given (e.g. Me > Settings > Privacy), and add right: withdrawal with its channels to rights.list.',
    ),
    check(d, report) {
      const consentBased = d.purposes.filter(reliesOnConsent);
      if (consentBased.length === 0) return;
      if (d.rights?.withdrawal || d.rights?.list.some((r) => r.right === 'withdrawal')) return;
      report(['rights', 'withdrawal'], (l) =>
        l === 'zh'
          ? `声明未说明如何撤回同意，而${joinList(
              consentBased.map((p) => purposeRef(p, l)),
              l,
              4,
            )}以同意为基础（或未说明基础）。`
          : `The declaration does not say how consent is withdrawn, yet ${joinList(
              consentBased.map((p) => purposeRef(p, l)),
              l,
              4,
            )} rest on consent (or state no basis).`,
      );
    },
  },
  {
    key: 'PIPL-16/all-or-nothing',
    severity: 'error',
    title: bi('不得因拒绝非必要处理而拒绝提供服务', 'No refusal of service because optional processing is declined'),
    citation: pipl('第十六条', 'art. 16'),
    hint: bi(
      '删除“不同意本政策任何内容即应停止使用”的条款；区分基本功能与可选功能（purposes[].required），拒绝可选功能不影响基本功能。',
      'Remove the "if you disagree with any part, stop using the service" clause; tell basic from optional functions (purposes[].required) so that refusing an extra keeps the basic function.',
    ),
    check(d, report) {
      if (d.consent?.refuseAllOrNothing !== true) return;
      // Purposes plainly outside any basic function: declared optional, marketing, or "improvement" only.
      const extras = d.purposes.filter((p) => p.required === false || p.marketing !== undefined || p.improvementOnly === true);
      report(['consent', 'refuseAllOrNothing'], (l) => {
        const eg =
          extras.length > 0
            ? l === 'zh'
              ? `，包括并非基本功能所必需的${joinList(
                  extras.map((p) => purposeRef(p, l)),
                  l,
                  4,
                )}`
              : `, including ${joinList(
                  extras.map((p) => purposeRef(p, l)),
                  l,
                  4,
                )}, which no basic function needs`
            : '';
        return l === 'zh'
          ? `拒绝政策的任何部分即无法使用服务：用户不能只拒绝基本功能以外的处理${eg}。`
          : `Refusing any part of the policy means the service cannot be used: people cannot refuse only the processing beyond the basic function${eg}.`;
      });
    },
  },
  {
    key: 'PIPL-16/required-permission',
    severity: 'warning',
    title: bi('非基本功能的权限不应是必须授予的', 'A permission for an optional function is not mandatory'),
    citation: pipl('第十六条', 'art. 16'),
    hint: bi(
      '设 optional: true 并写明拒绝后的影响（ifDenied），或把该目的声明为基本功能所必需（required: true）并说明理由。',
      'Set optional: true and say what happens if it is denied (ifDenied), or declare the purpose part of the basic function (required: true) with a reason.',
    ),
    check(d, report) {
      d.permissions?.forEach((perm, i) => {
        if (perm.optional !== false) return;
        const purposes = perm.purposes.flatMap((id) => purposeById(d, id) ?? []);
        if (purposes.some((p) => p.required === true)) return;
        report(['permissions', i, 'optional'], (l) => {
          const ps = joinList(
            purposes.map((p) => purposeRef(p, l)),
            l,
          );
          return l === 'zh'
            ? `${permissionRef(perm, l)}被声明为必须授予，拒绝即无法使用服务，但${ps}并未声明为基本功能所必需。`
            : `${cap(permissionRef(perm, l))} is mandatory — denying it blocks the service — but ${ps} is not declared part of the basic function.`;
        });
      });
    },
  },
  {
    key: 'GBT-5.3/reask-interval',
    severity: 'error',
    title: bi('用户拒绝后 48 小时内不得再次询问', 'No asking again within 48 hours of a refusal'),
    citation: gbt('5.3、附录 C.4', '5.3 and Annex C.4'),
    hint: bi(
      '把 consent.reaskAfterHours 设为 48 或更长；用户主动开启相关功能时除外。',
      'Set consent.reaskAfterHours to 48 or more, except when the user turns the feature on.',
    ),
    check(d, report) {
      const h = d.consent?.reaskAfterHours;
      if (h === undefined || h >= 48) return;
      report(['consent', 'reaskAfterHours'], (l) =>
        l === 'zh'
          ? `用户拒绝后 ${h} 小时即再次询问，少于 48 小时。`
          : `After a refusal the app asks again after ${h} hours, less than 48.`,
      );
    },
  },
  {
    key: 'MIIT-1/first-launch-dialog',
    severity: 'warning',
    title: bi('首次运行时弹窗提示隐私政策', 'The policy pops up at first launch'),
    citation: miitMethod('一', '1'),
    hint: bi(
      '首次运行时以弹窗等明显方式提示阅读隐私政策，同意前不收集个人信息（consent.firstLaunchDialog: true）。',
      'Show the policy in a dialog at first launch and collect nothing before the user agrees (consent.firstLaunchDialog: true).',
    ),
    check(d, report) {
      if (d.consent?.firstLaunchDialog === true) return;
      report(['consent', 'firstLaunchDialog'], (l) =>
        l === 'zh'
          ? '声明未说明首次运行时以弹窗提示用户阅读隐私政策并在同意前不收集个人信息。'
          : 'The declaration does not say that the policy pops up at first launch and nothing is collected before consent.',
      );
    },
  },
  {
    key: 'MIIT-5/no-consent',
    severity: 'error',
    title: bi('未经同意不得向第三方提供（含 SDK）', 'No provision to third parties, SDKs included, without consent'),
    citation: miitMethod('五', '5'),
    hint: bi(
      '向该接收方提供前取得个人的单独同意（consent: separate），或说明其他合法性基础。',
      'Obtain separate consent before providing data to this recipient (consent: separate), or state another lawful basis.',
    ),
    check(d, report) {
      d.recipients?.forEach((r, i) => {
        if (!isThirdParty(r) || r.consent !== 'none') return;
        const purposes = r.purposes.flatMap((id) => purposeById(d, id) ?? []);
        if (!purposes.some(reliesOnConsent)) return;
        report(['recipients', i, 'consent'], (l) =>
          l === 'zh'
            ? `未经同意即向${recipientRef(r, l)}提供${categoryList(d, r.categories, l)}。`
            : `${cap(recipientRef(r, l))} receives ${categoryList(d, r.categories, l)} without any consent.`,
        );
      });
    },
  },
];
