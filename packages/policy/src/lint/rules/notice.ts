/** What the notice must say: PIPL 17, GB/T 35273 5.5, the MIIT "two lists" and 认定方法 二. */
import { gbt, MIIT_292, miitMethod, pipl } from '../citations.js';
import { bi, cap, categoryLabel, categoryList, permissionRef, purposeCategories, purposeRef, q, recipientRef } from '../facts.js';
import type { LintRuleDef } from '../types.js';

export const NOTICE_RULES: LintRuleDef[] = [
  {
    key: 'PIPL-17/controller-name',
    severity: 'error',
    title: bi('写明个人信息处理者的名称', 'Name the controller'),
    citation: pipl('第十七条第一款第（一）项', 'art. 17(1)(1)'),
    hint: bi(
      '在 controller.legalName 写明处理者的法定名称（营业执照上的全称）。',
      'Put the legal name of the controller in controller.legalName.',
    ),
    check(d, report) {
      if (d.controller.legalName) return;
      report(['controller', 'legalName'], (l) =>
        l === 'zh' ? '声明未写明个人信息处理者的名称。' : 'The declaration does not name the controller.',
      );
    },
  },
  {
    key: 'PIPL-17/controller-contact',
    severity: 'error',
    title: bi('写明处理者的联系方式', "Give the controller's contact"),
    citation: pipl('第十七条第一款第（一）项', 'art. 17(1)(1)'),
    hint: bi(
      '在 controller.phone 或 controller.email 写明可以联系到处理者的电话或电子邮件。',
      'Give a phone number or email address in controller.phone or controller.email.',
    ),
    check(d, report) {
      const c = d.controller;
      const any = (c.phone?.length ?? 0) + (c.email?.length ?? 0) + (c.dpo?.phone?.length ?? 0) + (c.dpo?.email?.length ?? 0);
      if (any > 0) return;
      report(['controller', 'phone'], (l) =>
        l === 'zh'
          ? '声明未写明处理者的联系电话或电子邮件。'
          : 'The declaration gives no phone number or email address for the controller.',
      );
    },
  },
  {
    key: 'PIPL-17/retention',
    severity: 'error',
    title: bi('每个目的的每类个人信息都有保存期限', 'Every category of every purpose has a retention period'),
    citation: pipl('第十七条第一款第（二）项、第十九条', 'arts. 17(1)(2) and 19'),
    hint: bi(
      '为该目的加上 retention：触发条件（trigger，如 account-cancellation、purpose-fulfilled）、期限（period，如 P6M）和到期处理（delete 或 anonymise）。',
      'Add retention to the purpose: a trigger (e.g. account-cancellation, purpose-fulfilled), a period (e.g. P6M) and what happens at the end (delete or anonymise).',
    ),
    check(d, report) {
      d.purposes.forEach((p, i) => {
        const entries = p.retention ?? [];
        if (entries.some((r) => r.categories === undefined)) return;
        const covered = new Set(entries.flatMap((r) => r.categories ?? []));
        const missing = p.categories.filter((c) => !covered.has(c));
        if (missing.length === 0) return;
        report(['purposes', i, 'retention'], (l) => {
          if (entries.length === 0) {
            return l === 'zh'
              ? `${purposeRef(p, l)}未说明${categoryList(d, missing, l)}的保存期限。`
              : `${cap(purposeRef(p, l))} states no retention period for ${categoryList(d, missing, l)}.`;
          }
          return l === 'zh'
            ? `${purposeRef(p, l)}的保存期限未覆盖${categoryList(d, missing, l)}。`
            : `The retention of ${purposeRef(p, l)} does not cover ${categoryList(d, missing, l)}.`;
        });
      });
    },
  },
  {
    key: 'PIPL-17/effective-date',
    severity: 'error',
    title: bi('写明当前版本的发布或生效日期', 'The current version has a publication or effective date'),
    citation: pipl('第十七条', 'art. 17'),
    hint: bi(
      '在 versions 的最后一项写明 published（发布日期）和 effective（生效日期），格式 YYYY-MM-DD。',
      'Give the last entry of versions a published and an effective date (YYYY-MM-DD).',
    ),
    check(d, report) {
      const i = d.versions.length - 1;
      const v = d.versions[i];
      if (!v || v.effective || v.published) return;
      report(['versions', i, 'effective'], (l) =>
        l === 'zh'
          ? `当前版本“${v.version}”没有发布日期和生效日期：用户无法知道哪一版政策在何时适用。`
          : `The current version "${v.version}" has neither a publication nor an effective date: users cannot tell which text applies when.`,
      );
    },
  },
  {
    key: 'PIPL-17/rights-channel',
    severity: 'error',
    title: bi('说明行使个人权利的方式和程序', 'Say how rights are exercised'),
    citation: pipl('第十七条第一款第（三）项', 'art. 17(1)(3)'),
    hint: bi(
      '在 rights.list 为查阅、复制、更正、删除、注销、撤回同意等权利各写明渠道（channels）和答复时限。',
      'List in rights.list the channels and answer times for access, copy, correction, deletion, cancellation and withdrawal.',
    ),
    check(d, report) {
      const rights = d.rights?.list.filter((r) => r.right !== 'complaint') ?? [];
      if (rights.length > 0) return;
      report(d.rights ? ['rights', 'list'] : ['rights'], (l) =>
        l === 'zh'
          ? '声明未说明个人行使查阅、复制、更正、删除等权利的方式和程序（仅有投诉渠道或完全没有）。'
          : 'The declaration does not say how a person exercises the rights of access, copy, correction or deletion (at most a complaint channel).',
      );
    },
  },
  {
    key: 'PIPL-17/change-notice',
    severity: 'warning',
    title: bi('说明政策变更如何告知', 'Say how changes to the policy are notified'),
    citation: pipl('第十七条第二款', 'art. 17(2)'),
    hint: bi(
      '在 changes.notification 写明变更的告知方式（pop-up、in-app、push、email、sms、website）。',
      'List in changes.notification how changes are notified (pop-up, in-app, push, email, sms, website).',
    ),
    check(d, report) {
      if ((d.changes?.notification?.length ?? 0) > 0) return;
      report(['changes', 'notification'], (l) =>
        l === 'zh' ? '声明未说明政策变更时如何告知个人。' : 'The declaration does not say how people are told about changes to the policy.',
      );
    },
  },
  {
    key: 'PIPL-17/cookie-purpose',
    severity: 'warning',
    title: bi('说明 Cookie 收集信息的目的', 'Say what cookies are used for'),
    citation: pipl('第十七条第一款第（二）项', 'art. 17(1)(2)'),
    hint: bi('在 cookies.purposes 列出 Cookie 所服务的目的。', 'List in cookies.purposes the purposes the cookies serve.'),
    check(d, report) {
      const c = d.cookies;
      if (!c?.used || (c.purposes?.length ?? 0) > 0) return;
      report(['cookies', 'purposes'], (l) =>
        l === 'zh'
          ? `通过 Cookie 收集${categoryList(d, c.categories ?? [], l) || '信息'}，但未说明目的。`
          : `Cookies collect ${categoryList(d, c.categories ?? [], l) || 'information'} for no stated purpose.`,
      );
    },
  },
  {
    key: 'PIPL-17/category-without-purpose',
    severity: 'warning',
    title: bi('每个声明的类别都有处理目的', 'Every declared category has a purpose'),
    citation: pipl('第十七条第一款第（二）项', 'art. 17(1)(2)'),
    hint: bi(
      '把该类别加入使用它的目的（purposes[].categories），或在不再处理时从 categories 删除。',
      'Add the category to the purpose that uses it (purposes[].categories), or remove it from categories when it is not processed.',
    ),
    check(d, report) {
      const used = purposeCategories(d);
      const verification = new Set([
        ...(d.rights?.cancellation?.verification ?? []),
        ...(d.rights?.list.flatMap((r) => r.verification ?? []) ?? []),
      ]);
      d.categories.forEach((c, i) => {
        if (used.has(c.id) || verification.has(c.id)) return;
        report(['categories', i], (l) =>
          l === 'zh'
            ? `声明了${q(categoryLabel(d, c.id, l), l)}（${c.id}），但没有任何目的说明为何处理它。`
            : `${q(categoryLabel(d, c.id, l), l)} (${c.id}) is declared but no purpose says why it is processed.`,
        );
      });
    },
  },
  {
    key: 'GBT-5.5/complaint-channel',
    severity: 'error',
    title: bi('公布投诉、举报渠道', 'Publish a complaint channel'),
    citation: gbt('5.5'),
    hint: bi(
      '在 controller.complaint 写明投诉、举报的方式，或在 rights.list 加入 right: complaint 及其渠道。',
      'Describe the complaint channel in controller.complaint, or add right: complaint with channels to rights.list.',
    ),
    check(d, report) {
      if (d.controller.complaint || d.rights?.list.some((r) => r.right === 'complaint')) return;
      report(['controller', 'complaint'], (l) =>
        l === 'zh'
          ? '声明未公布个人信息安全投诉、举报渠道（认定方法第六条亦要求）。'
          : 'The declaration publishes no complaint channel (also 认定方法 item 6).',
      );
    },
  },
  {
    key: 'GBT-5.5/refusal-consequences',
    severity: 'warning',
    title: bi('说明拒绝提供信息或权限的后果', 'Say what happens when a permission is refused'),
    citation: gbt('5.5'),
    hint: bi(
      '在该权限的 ifDenied 写明拒绝后哪些功能不可用、哪些不受影响。',
      "Say in the permission's ifDenied what stops working and what keeps working.",
    ),
    check(d, report) {
      d.permissions?.forEach((perm, i) => {
        if (perm.ifDenied) return;
        report(['permissions', i, 'ifDenied'], (l) =>
          l === 'zh'
            ? `${permissionRef(perm, l)}未说明拒绝授权的后果。`
            : `${cap(permissionRef(perm, l))} does not say what happens if it is refused.`,
        );
      });
    },
  },
  {
    key: 'GBT-5.5/storage-location',
    severity: 'warning',
    title: bi('说明个人信息的存储地点', 'Say where personal information is stored'),
    citation: gbt('5.5'),
    hint: bi(
      '在 storage.location 写明存储地点（如“中华人民共和国境内”）。',
      'Say in storage.location where the data is stored (e.g. mainland China).',
    ),
    check(d, report) {
      if (d.app.stateOrgan || d.app.publicAffairs || d.storage?.location) return;
      report(['storage', 'location'], (l) =>
        l === 'zh' ? '声明未说明个人信息的存储地点。' : 'The declaration does not say where personal information is stored.',
      );
    },
  },
  {
    key: 'MIIT-292/collection-scenario',
    severity: 'warning',
    title: bi('个人信息收集清单：每个目的写明使用场景', 'Collection list: every purpose has a scenario'),
    citation: MIIT_292,
    hint: bi(
      '在该目的的 scenario 写明何时、在什么功能中收集（如“下单时”）。',
      "Say in the purpose's scenario when and in which feature the data is collected (e.g. when ordering).",
    ),
    check(d, report) {
      d.purposes.forEach((p, i) => {
        if (p.scenario) return;
        report(['purposes', i, 'scenario'], (l) =>
          l === 'zh'
            ? `${purposeRef(p, l)}未写明使用场景，个人信息收集清单不完整。`
            : `${cap(purposeRef(p, l))} has no scenario, so the collection list is incomplete.`,
        );
      });
    },
  },
  {
    key: 'MIIT-292/sharing-scenario',
    severity: 'warning',
    title: bi('第三方信息共享清单：每个接收方写明使用场景', 'Sharing list: every recipient has a scenario'),
    citation: MIIT_292,
    hint: bi(
      '在该接收方的 scenario 写明在什么功能、什么时候提供（如“开启消息推送后”）。',
      "Say in the recipient's scenario in which feature and when the data is provided.",
    ),
    check(d, report) {
      d.recipients?.forEach((r, i) => {
        if (r.scenario || r.kind === 'authority') return;
        report(['recipients', i, 'scenario'], (l) =>
          l === 'zh'
            ? `${recipientRef(r, l)}未写明共享的使用场景，第三方信息共享清单不完整。`
            : `${cap(recipientRef(r, l))} has no scenario, so the sharing list is incomplete.`,
        );
      });
    },
  },
  {
    key: 'MIIT-2/sdk-purpose-text',
    severity: 'warning',
    title: bi('逐一写明每个 SDK 收集信息的目的', 'State the purpose of each SDK'),
    citation: miitMethod('二', '2'),
    hint: bi(
      '在该 SDK 的 purposeText 用一句话写明它收集这些信息做什么。',
      "Say in the SDK's purposeText in one sentence what it collects the data for.",
    ),
    check(d, report) {
      d.recipients?.forEach((r, i) => {
        if (r.kind !== 'sdk' || r.purposeText) return;
        report(['recipients', i, 'purposeText'], (l) =>
          l === 'zh'
            ? `${recipientRef(r, l)}收集${categoryList(d, r.categories, l)}，但未写明其自身的使用目的。`
            : `${cap(recipientRef(r, l))} collects ${categoryList(d, r.categories, l)} but its own purpose is not stated.`,
        );
      });
    },
  },
];
