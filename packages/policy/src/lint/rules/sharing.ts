/**
 * Recipients, SDKs, public disclosure, cross-border provision and storage location:
 * PIPL 23, 25, 36, 38; GB/T 35273 9.7; TC260 SDK guide; MIIT 337; T/TAF installed-apps list.
 */
import type { Declaration, PermissionDecl } from '../../schema.js';
import { gbt, MIIT_337, pipl, TAF_APPLIST, TC260_SDK } from '../citations.js';
import {
  bi,
  cap,
  categoryList,
  isAppList,
  isThirdParty,
  joinList,
  purposeById,
  purposeRef,
  recipientRef,
  reliesOnConsent,
  textIn,
} from '../facts.js';
import type { LintLang, LintRuleDef } from '../types.js';

// ---------------------------------------------------------------------------------------------
// system permissions that guard categories (for SDK-1/permissions)

type PermissionGroup = 'location' | 'phone' | 'contacts' | 'call-log-sms' | 'storage' | 'camera' | 'microphone' | 'app-list';

const GROUP_LABEL: Record<PermissionGroup, { zh: string; en: string }> = {
  location: { zh: '位置', en: 'location' },
  phone: { zh: '电话（读取手机状态和身份）', en: 'phone (read phone state)' },
  contacts: { zh: '通讯录', en: 'contacts' },
  'call-log-sms': { zh: '通话记录、短信', en: 'call log and SMS' },
  storage: { zh: '存储、相册', en: 'storage and photos' },
  camera: { zh: '相机', en: 'camera' },
  microphone: { zh: '麦克风', en: 'microphone' },
  'app-list': { zh: '读取应用列表', en: 'read installed apps' },
};

/** The permission groups that let an app (or an SDK inside it) read a category; any one of them suffices. */
const CATEGORY_GROUPS: Record<string, readonly PermissionGroup[]> = {
  'location.precise': ['location'],
  'location.coarse': ['location'],
  'location.track': ['location'],
  'location.cell': ['location'],
  'location.bluetooth': ['location'],
  'device.phone-state': ['phone'],
  'device.sim': ['phone'],
  'device.id.imei': ['phone'],
  'device.id.meid': ['phone'],
  'device.id.imsi': ['phone'],
  'device.id.serial': ['phone'],
  'device.id.iccid': ['phone'],
  'contacts.address-book': ['contacts'],
  'communication.records': ['call-log-sms'],
  'communication.content': ['call-log-sms'],
  'device.storage': ['storage'],
  'media.photos': ['storage', 'camera'],
  'media.videos': ['storage', 'camera'],
  'media.audio': ['microphone'],
  'device.installed-apps': ['app-list'],
};

const ANDROID_GROUPS: readonly [RegExp, PermissionGroup][] = [
  [/LOCATION/, 'location'],
  [/PHONE_STATE|PHONE_NUMBERS/, 'phone'],
  [/CONTACTS/, 'contacts'],
  [/CALL_LOG|SMS/, 'call-log-sms'],
  [/EXTERNAL_STORAGE|READ_MEDIA_/, 'storage'],
  [/CAMERA/, 'camera'],
  [/RECORD_AUDIO/, 'microphone'],
  [/QUERY_ALL_PACKAGES|GET_INSTALLED_APPS/, 'app-list'],
];

const IOS_GROUPS: readonly [RegExp, PermissionGroup][] = [
  [/Location/, 'location'],
  [/Contacts/, 'contacts'],
  [/PhotoLibrary/, 'storage'],
  [/Camera/, 'camera'],
  [/Microphone/, 'microphone'],
];

function groupsOf(perm: PermissionDecl): Set<PermissionGroup> {
  const out = new Set<PermissionGroup>();
  for (const c of perm.categories ?? []) for (const g of CATEGORY_GROUPS[c] ?? []) out.add(g);
  for (const name of perm.android ?? []) for (const [re, g] of ANDROID_GROUPS) if (re.test(name)) out.add(g);
  for (const name of perm.ios ?? []) for (const [re, g] of IOS_GROUPS) if (re.test(name)) out.add(g);
  return out;
}

function declaredGroups(d: Declaration): Set<PermissionGroup> {
  const out = new Set<PermissionGroup>();
  for (const p of d.permissions ?? []) for (const g of groupsOf(p)) out.add(g);
  return out;
}

function groupList(groups: readonly PermissionGroup[], lang: LintLang): string {
  return joinList(
    groups.map((g) => GROUP_LABEL[g][lang]),
    lang,
  );
}

/** A policy title in 《》 (zh) or quotes (en), unless it already has them. */
function wrapTitle(t: string, lang: LintLang): string {
  const bare = t.replace(/^《(.*)》$/, '$1');
  return lang === 'zh' ? `《${bare}》` : `"${bare}"`;
}

// ---------------------------------------------------------------------------------------------

export const SHARING_RULES: LintRuleDef[] = [
  {
    key: 'PIPL-23/recipient-company',
    severity: 'error',
    title: bi('写明第三方（含 SDK）的公司名称', 'Name the company behind each third party and SDK'),
    citation: pipl('第二十三条', 'art. 23'),
    hint: bi(
      '在该接收方的 company 写明接收个人信息的法律主体全称（如 SDK 提供方的公司名称）。',
      "Put the legal entity that receives the data in the recipient's company (for an SDK, its provider).",
    ),
    check(d, report) {
      d.recipients?.forEach((r, i) => {
        if (!isThirdParty(r) || r.company) return;
        report(['recipients', i, 'company'], (l) =>
          l === 'zh'
            ? `${recipientRef(r, l)}接收${categoryList(d, r.categories, l)}，但未写明接收方的公司名称。`
            : `${cap(recipientRef(r, l))} receives ${categoryList(d, r.categories, l)} but the company behind it is not named.`,
        );
      });
    },
  },
  {
    key: 'PIPL-23/recipient-contact',
    severity: 'error',
    title: bi('写明第三方（含 SDK）的联系方式', 'Give the contact of each third party and SDK'),
    citation: pipl('第二十三条', 'art. 23'),
    hint: bi(
      '在该接收方的 contact 写明电话、邮箱或网址，或在 policyUrl 给出载有联系方式的隐私政策链接。',
      "Give a phone, email or web contact in the recipient's contact, or a link (policyUrl) to its privacy policy that carries one.",
    ),
    check(d, report) {
      d.recipients?.forEach((r, i) => {
        if (!isThirdParty(r) || r.contact || r.policyUrl) return;
        const title = r.policyTitle;
        report(['recipients', i, 'contact'], (l) => {
          if (title) {
            return l === 'zh'
              ? `${recipientRef(r, l)}只给出了${wrapTitle(textIn(title, l), l)}的名称，没有联系方式或可访问的链接，个人无法联系接收方。`
              : `${cap(recipientRef(r, l))} names ${wrapTitle(textIn(title, l), l)} but gives no contact and no link: people cannot reach the recipient.`;
          }
          return l === 'zh'
            ? `${recipientRef(r, l)}既无联系方式也无隐私政策链接，个人无法联系接收方。`
            : `${cap(recipientRef(r, l))} has neither a contact nor a privacy-policy link: people cannot reach the recipient.`;
        });
      });
    },
  },
  {
    key: 'PIPL-23/separate-consent',
    severity: 'error',
    title: bi(
      '向第三方（含 SDK）提供个人信息须取得单独同意',
      'Providing personal information to a third party or SDK needs separate consent',
    ),
    citation: pipl('第二十三条', 'art. 23'),
    hint: bi(
      '向该接收方提供前单独征得同意（不与隐私政策整体捆绑），并声明 consent: separate；若已去标识化且接收方无法复原，声明 deidentified: true。',
      'Ask for consent to this provision on its own, not bundled with the policy, and declare consent: separate; if the data is de-identified so that the recipient cannot re-identify anyone, declare deidentified: true.',
    ),
    check(d, report) {
      d.recipients?.forEach((r, i) => {
        if (!isThirdParty(r) || r.deidentified || r.consent === 'separate' || r.consent === 'none') return;
        const purposes = r.purposes.flatMap((id) => purposeById(d, id) ?? []);
        if (!purposes.some(reliesOnConsent)) return;
        report(['recipients', i, 'consent'], (l) => {
          const how =
            r.consent === 'bundled'
              ? l === 'zh'
                ? '仅随隐私政策整体同意（bundled）'
                : 'only bundled with the policy'
              : l === 'zh'
                ? '未说明如何取得同意'
                : 'with no stated way of obtaining consent';
          return l === 'zh'
            ? `向${recipientRef(r, l)}提供${categoryList(d, r.categories, l)}，${how}，没有单独同意。`
            : `${cap(recipientRef(r, l))} receives ${categoryList(d, r.categories, l)} ${how}, without separate consent.`;
        });
      });
    },
  },
  {
    key: 'PIPL-25/public-disclosure',
    severity: 'error',
    title: bi('公开个人信息须取得单独同意', 'Public disclosure needs separate consent'),
    citation: pipl('第二十五条', 'art. 25'),
    hint: bi(
      '公开披露前单独征得同意（disclosure.public.separateConsent: true）；不再公开披露时写 occurs: false。',
      'Obtain separate consent before any public disclosure (disclosure.public.separateConsent: true), or declare occurs: false.',
    ),
    check(d, report) {
      const pub = d.disclosure?.public;
      if (pub?.occurs && pub.separateConsent !== true) {
        report(['disclosure', 'public', 'separateConsent'], (l) =>
          l === 'zh'
            ? '政策允许公开披露个人信息，但没有承诺事先取得单独同意（“明确同意”“事先同意”均不是单独同意）。'
            : 'The policy allows public disclosure of personal information without promising separate consent beforehand ("explicit" or "prior" consent is not separate consent).',
        );
      }
      d.recipients?.forEach((r, i) => {
        if (r.method !== 'public-disclosure' || r.consent === 'separate') return;
        report(['recipients', i, 'consent'], (l) =>
          l === 'zh'
            ? `通过${recipientRef(r, l)}公开${categoryList(d, r.categories, l)}，没有单独同意。`
            : `${cap(recipientRef(r, l))} makes ${categoryList(d, r.categories, l)} public without separate consent.`,
        );
      });
    },
  },
  {
    key: 'PIPL-36/storage-location',
    severity: 'error',
    title: bi('国家机关和管理公共事务的组织在境内存储', 'State organs and public-affairs bodies store in China'),
    citation: pipl('第三十六条、第三十七条', 'arts. 36 and 37'),
    hint: bi('在 storage.location 写明存储于中华人民共和国境内。', 'State in storage.location that the data is stored in mainland China.'),
    check(d, report) {
      if (!(d.app.stateOrgan || d.app.publicAffairs) || d.storage?.location) return;
      report(['storage', 'location'], (l) => {
        const who = d.app.stateOrgan
          ? l === 'zh'
            ? '国家机关'
            : 'a state organ'
          : l === 'zh'
            ? '管理公共事务的组织'
            : 'a body managing public affairs';
        return l === 'zh'
          ? `处理者是${who}，个人信息应当在境内存储，但声明未说明存储地点。`
          : `The controller is ${who} and must store personal information in China, but no storage location is stated.`;
      });
    },
  },
  {
    key: 'PIPL-36/cross-border',
    severity: 'error',
    title: bi(
      '国家机关和管理公共事务的组织向境外提供须经安全评估',
      'State organs and public-affairs bodies provide abroad only after a security assessment',
    ),
    citation: pipl('第三十六条、第三十七条', 'arts. 36 and 37'),
    hint: bi(
      '取消向境外提供，或写明经安全评估（storage.crossBorder[].route: security-assessment）。',
      'Stop the provision abroad, or declare the security assessment it passed (storage.crossBorder[].route: security-assessment).',
    ),
    check(d, report) {
      if (!(d.app.stateOrgan || d.app.publicAffairs)) return;
      d.storage?.crossBorder?.forEach((x, i) => {
        if (x.route === 'security-assessment') return;
        report(['storage', 'crossBorder', i, 'route'], (l) =>
          l === 'zh'
            ? `管理公共事务的处理者向${x.country}提供${categoryList(d, x.categories, l)}，未经安全评估。`
            : `A public-affairs controller provides ${categoryList(d, x.categories, l)} to ${x.country} without a security assessment.`,
        );
      });
    },
  },
  {
    key: 'PIPL-38/route',
    severity: 'error',
    title: bi('向境外提供须有合法途径', 'Cross-border provision has a legal route'),
    citation: pipl('第三十八条', 'art. 38'),
    hint: bi(
      '写明出境途径（route）：security-assessment（安全评估）、certification（认证）、standard-contract（标准合同）或 other-law。',
      'Give the route: security-assessment, certification, standard-contract or other-law.',
    ),
    check(d, report) {
      d.storage?.crossBorder?.forEach((x, i) => {
        if (x.route) return;
        report(['storage', 'crossBorder', i, 'route'], (l) =>
          l === 'zh'
            ? `向${x.country}提供${categoryList(d, x.categories, l)}，未说明出境的合法途径。`
            : `The provision of ${categoryList(d, x.categories, l)} to ${x.country} has no stated legal route.`,
        );
      });
    },
  },
  {
    key: 'PIPL-38/separate-consent',
    severity: 'error',
    title: bi('向境外提供须取得单独同意', 'Cross-border provision needs separate consent'),
    citation: pipl('第三十九条', 'art. 39'),
    hint: bi(
      '告知境外接收方的名称、联系方式、目的、方式和类别，并取得单独同意（separateConsent: true）。',
      'Tell the foreign recipient, its contact, purpose, method and categories, and obtain separate consent (separateConsent: true).',
    ),
    check(d, report) {
      d.storage?.crossBorder?.forEach((x, i) => {
        if (x.separateConsent === true) return;
        report(['storage', 'crossBorder', i, 'separateConsent'], (l) =>
          l === 'zh'
            ? `向${x.country}提供${categoryList(d, x.categories, l)}，未取得单独同意。`
            : `The provision of ${categoryList(d, x.categories, l)} to ${x.country} has no separate consent.`,
        );
      });
    },
  },
  {
    key: 'PIPL-38/undeclared-transfer',
    severity: 'error',
    title: bi('境外接收方须在出境清单中声明', 'A recipient abroad is declared in storage.crossBorder'),
    citation: pipl('第三十八条、第三十九条', 'arts. 38 and 39'),
    hint: bi(
      '在 storage.crossBorder 为该接收方加一项：recipient、country、categories、route 和 separateConsent。',
      'Add an entry to storage.crossBorder for the recipient: recipient, country, categories, route and separateConsent.',
    ),
    check(d, report) {
      const declared = new Set((d.storage?.crossBorder ?? []).flatMap((x) => (x.recipient ? [x.recipient] : [])));
      d.recipients?.forEach((r, i) => {
        if (r.crossBorder !== true || declared.has(r.id)) return;
        report(['recipients', i, 'crossBorder'], (l) =>
          l === 'zh'
            ? `${recipientRef(r, l)}位于境外，但 storage.crossBorder 中没有它的出境途径和单独同意。`
            : `${cap(recipientRef(r, l))} is abroad, but storage.crossBorder has no route or separate consent for it.`,
        );
      });
    },
  },
  {
    key: 'GBT-9.7/not-contracted',
    severity: 'warning',
    title: bi('与接入的第三方和 SDK 签订协议并审核', 'Contract and audit embedded third parties and SDKs'),
    citation: gbt('9.7'),
    hint: bi(
      '与该接收方签订数据处理协议，约定安全责任并定期审核（contracted: true）。',
      'Sign a data-processing agreement with the recipient that sets security duties, and audit it (contracted: true).',
    ),
    check(d, report) {
      d.recipients?.forEach((r, i) => {
        if (r.kind === 'authority' || r.contracted !== false) return;
        report(['recipients', i, 'contracted'], (l) =>
          l === 'zh'
            ? `${recipientRef(r, l)}未与处理者签订协议、未经审核。`
            : `${cap(recipientRef(r, l))} is neither contracted nor audited.`,
        );
      });
    },
  },
  {
    key: 'GBT-9.7/contract-unstated',
    severity: 'info',
    title: bi('说明是否与第三方和 SDK 签订协议', 'Say whether third parties and SDKs are contracted'),
    citation: gbt('9.7'),
    hint: bi('声明 contracted: true（已签订协议并审核）或 false。', 'Declare contracted: true (contracted and audited) or false.'),
    check(d, report) {
      d.recipients?.forEach((r, i) => {
        if (r.kind === 'authority' || r.contracted !== undefined) return;
        report(['recipients', i, 'contracted'], (l) =>
          l === 'zh'
            ? `未说明是否与${recipientRef(r, l)}签订协议并进行审核。`
            : `It is not stated whether ${recipientRef(r, l)} is contracted and audited.`,
        );
      });
    },
  },
  {
    key: 'SDK-1/permissions',
    severity: 'warning',
    title: bi('SDK 收集需要系统权限的信息时，声明对应的权限', 'Declare the permissions an SDK needs for what it collects'),
    citation: TC260_SDK,
    hint: bi(
      '在 permissions 中声明该 SDK 所需的系统权限、申请时机和目的，并在 SDK 调用前取得同意。',
      'Declare in permissions the system permission the SDK needs, when it is asked for and why, and obtain consent before the SDK calls it.',
    ),
    check(d, report) {
      const have = declaredGroups(d);
      d.recipients?.forEach((r, i) => {
        if (r.kind !== 'sdk') return;
        const cats: string[] = [];
        const missing = new Set<PermissionGroup>();
        for (const c of r.categories) {
          const groups = CATEGORY_GROUPS[c];
          if (!groups || groups.some((g) => have.has(g))) continue;
          cats.push(c);
          const first = groups[0];
          if (first) missing.add(first);
        }
        if (cats.length === 0) return;
        report(['recipients', i, 'categories'], (l) =>
          l === 'zh'
            ? `${recipientRef(r, l)}收集${categoryList(d, cats, l)}，这需要${groupList([...missing], l)}权限，但声明中没有对应的权限。`
            : `${cap(recipientRef(r, l))} collects ${categoryList(d, cats, l)}, which needs the ${groupList([...missing], l)} permission, but no such permission is declared.`,
        );
      });
    },
  },
  {
    key: 'SDK-1/privacy-policy',
    severity: 'warning',
    title: bi('给出每个 SDK 的隐私政策', "Give each SDK's privacy policy"),
    citation: TC260_SDK,
    hint: bi('在该 SDK 的 policyUrl 给出其隐私政策链接。', "Link the SDK's privacy policy in policyUrl."),
    check(d, report) {
      d.recipients?.forEach((r, i) => {
        if (r.kind !== 'sdk' || r.policyUrl || r.policyTitle) return;
        report(['recipients', i, 'policyUrl'], (l) =>
          l === 'zh' ? `${recipientRef(r, l)}没有给出隐私政策。` : `${cap(recipientRef(r, l))} has no privacy policy.`,
        );
      });
    },
  },
  {
    key: 'MIIT-337/app-list-shared',
    severity: 'error',
    title: bi('不得私自向第三方共享软件安装列表', 'No sharing of the installed-apps list without separate consent'),
    citation: MIIT_337,
    hint: bi(
      '停止向该接收方提供软件安装列表；确有必要的，仅在设备本地处理，或取得单独同意（consent: separate）。',
      'Stop giving the installed-apps list to this recipient; if it is truly needed, process it on the device or obtain separate consent (consent: separate).',
    ),
    check(d, report) {
      d.recipients?.forEach((r, i) => {
        if (!isThirdParty(r) || r.consent === 'separate') return;
        const j = r.categories.findIndex(isAppList);
        const cat = r.categories[j];
        if (cat === undefined) return;
        report(['recipients', i, 'categories', j], (l) => {
          const purposes = r.purposes.flatMap((id) => purposeById(d, id) ?? []);
          const ps = joinList(
            purposes.map((p) => purposeRef(p, l)),
            l,
          );
          return l === 'zh'
            ? `软件安装列表被提供给${recipientRef(r, l)}（用于${ps}），没有单独同意。`
            : `The installed-apps list goes to ${recipientRef(r, l)} (for ${ps}) without separate consent.`;
        });
      });
    },
  },
  {
    key: 'TAF-APPLIST/wake-other-apps',
    severity: 'error',
    title: bi('软件安装列表不得用于唤醒其他应用', 'The installed-apps list is not used to wake other apps'),
    citation: TAF_APPLIST,
    hint: bi(
      '停止用软件安装列表唤醒或拉活其他应用（wakesOtherApps: false）；软件安装列表仅用于应用管理、安全检测、调起其他应用或统计，并尽量在本地处理。',
      'Stop using the installed-apps list to wake other apps (wakesOtherApps: false); use it only for app management, security scanning, invoking another app or statistics, preferably on the device.',
    ),
    check(d, report) {
      d.purposes.forEach((p, i) => {
        if (p.wakesOtherApps !== true || !p.categories.some(isAppList)) return;
        report(['purposes', i, 'wakesOtherApps'], (l) =>
          l === 'zh'
            ? `${purposeRef(p, l)}使用软件安装列表唤醒（促活）其他应用或进程。`
            : `${cap(purposeRef(p, l))} uses the installed-apps list to wake other apps or processes.`,
        );
      });
      d.recipients?.forEach((r, i) => {
        if (r.wakesOtherApps !== true || !r.categories.some(isAppList)) return;
        report(['recipients', i, 'wakesOtherApps'], (l) =>
          l === 'zh'
            ? `${recipientRef(r, l)}获取软件安装列表并用它唤醒（促活）其他应用或进程。`
            : `${cap(recipientRef(r, l))} receives the installed-apps list and uses it to wake other apps or processes.`,
        );
      });
    },
  },
];
