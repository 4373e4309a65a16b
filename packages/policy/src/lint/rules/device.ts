/**
 * Permissions, background collection, device identifiers, waking other apps and the NEC necessary
 * sets: 认定方法 三, MIIT 164 and 26, GB/T 41391, NEC.
 */

import { type NecType, necType } from '../../nec.js';
import type { Declaration, PurposeDecl, RecipientDecl, SourceDecl } from '../../schema.js';
import { GB41391, MIIT_26, MIIT_164, miitMethod, NEC } from '../citations.js';
import {
  bi,
  cap,
  categoryList,
  effectivelyRequired,
  isImmutableDeviceId,
  isLocation,
  isSecurityPurpose,
  permissionRef,
  purposeById,
  purposeRef,
  recipientRef,
  textIn,
  truncate,
} from '../facts.js';
import type { LintLang, LintRuleDef } from '../types.js';

type Frequency = SourceDecl['frequency'];

function frequencyText(f: Frequency, lang: LintLang): string {
  if (f === undefined) return lang === 'zh' ? '（频率未说明）' : '(frequency unstated)';
  if (typeof f === 'object') return lang === 'zh' ? `每 ${f.every} 一次` : `every ${f.every}`;
  const zh = { once: '一次', 'on-use': '使用时', 'on-launch': '每次启动时', continuous: '持续' } as const;
  const en = { once: 'once', 'on-use': 'on use', 'on-launch': 'at every launch', continuous: 'continuously' } as const;
  return lang === 'zh' ? zh[f] : en[f];
}

function sourceRef(s: SourceDecl, lang: LintLang): string {
  const who = s.provider ? textIn(s.provider, lang) : '';
  if (lang === 'zh') return `收集来源 ${s.id}${who ? `（${who}）` : ''}`;
  return `source ${s.id}${who ? ` (${who})` : ''}`;
}

interface Background {
  path: (string | number)[];
  who: (lang: LintLang) => string;
  categories: readonly string[];
  frequency: Frequency;
  reason?: (lang: LintLang) => string;
}

function backgroundCollections(d: Declaration): Background[] {
  const out: Background[] = [];
  d.sources?.forEach((s, i) => {
    if (!s.background) return;
    out.push({ path: ['sources', i, 'background'], who: (l) => sourceRef(s, l), categories: s.categories, frequency: s.frequency });
  });
  d.recipients?.forEach((r: RecipientDecl, i) => {
    const bg = r.background;
    if (!bg) return;
    const reason = bg.reason;
    out.push({
      path: ['recipients', i, 'background'],
      who: (l) => recipientRef(r, l),
      categories: bg.categories,
      frequency: bg.frequency,
      ...(reason ? { reason: (l: LintLang) => truncate(textIn(reason, l), 48) } : {}),
    });
  });
  return out;
}

/** The background collections MIIT-164 treats as errors: immutable ids at all, location continuously. */
function severeCategories(b: Background): string[] {
  return b.categories.filter((c) => isImmutableDeviceId(c) || (isLocation(c) && b.frequency === 'continuous'));
}

function necOf(d: Declaration): NecType | undefined {
  return d.app.type ? necType(d.app.type) : undefined;
}

/** Bases that collection required by law rests on: NEC limits what consent-type functions demand, not legal duties. */
function legalMandate(p: PurposeDecl): boolean {
  return p.basis === 'legal-duty' || p.basis === 'other-law' || p.basis === 'public-health-emergency';
}

function necessaryText(d: Declaration, nec: NecType, lang: LintLang): string {
  const name = lang === 'zh' ? nec.zh : nec.en;
  if (nec.necessary.length === 0) {
    return lang === 'zh'
      ? `应用类型为${name}，其基本功能（${nec.basicFunction}）无须个人信息即可使用`
      : `The app type is ${name}, whose basic function needs no personal information`;
  }
  return lang === 'zh'
    ? `应用类型为${name}，其基本功能（${nec.basicFunction}）的必要个人信息仅为${categoryList(d, nec.necessary, lang, 10)}`
    : `The app type is ${name}, whose basic function needs only ${categoryList(d, nec.necessary, lang, 10)}`;
}

export const DEVICE_RULES: LintRuleDef[] = [
  {
    key: 'MIIT-3/permission-default-on',
    severity: 'error',
    title: bi('权限不得默认开启', 'No permission is on by default'),
    citation: miitMethod('三', '3'),
    hint: bi(
      '权限默认关闭，由用户在使用相关功能时主动开启（enabledByDefault: false）。',
      'Keep the permission off until the user turns it on for the feature (enabledByDefault: false).',
    ),
    check(d, report) {
      d.permissions?.forEach((perm, i) => {
        if (perm.enabledByDefault !== true) return;
        report(['permissions', i, 'enabledByDefault'], (l) =>
          l === 'zh'
            ? `${permissionRef(perm, l)}默认开启，未经用户主动同意。`
            : `${cap(permissionRef(perm, l))} is on by default, without the user's own consent.`,
        );
      });
    },
  },
  {
    key: 'MIIT-3/permission-at-launch',
    severity: 'error',
    title: bi('不得在启动或安装时申请权限', 'No permission requests at install or launch'),
    citation: miitMethod('三', '3'),
    hint: bi(
      '在用户使用需要该权限的功能时再申请（requestedAtLaunch: false），并在 requestedWhen 写明时机。',
      'Ask when the user starts the feature that needs it (requestedAtLaunch: false) and say when in requestedWhen.',
    ),
    check(d, report) {
      d.permissions?.forEach((perm, i) => {
        if (perm.requestedAtLaunch !== true) return;
        report(['permissions', i, 'requestedAtLaunch'], (l) =>
          l === 'zh'
            ? `${permissionRef(perm, l)}在安装或首次启动时申请，而不是在使用相关功能时申请。`
            : `${cap(permissionRef(perm, l))} is requested at install or first launch rather than when its feature is used.`,
        );
      });
    },
  },
  {
    key: 'MIIT-26/permission-timing',
    severity: 'warning',
    title: bi('说明权限在什么时候申请', 'Say when each permission is requested'),
    citation: MIIT_26,
    hint: bi(
      '在 requestedWhen 写明触发申请的用户操作（如“首次点击扫码时”）。',
      'Say in requestedWhen which user action triggers the request (e.g. the first tap on Scan).',
    ),
    check(d, report) {
      d.permissions?.forEach((perm, i) => {
        if (perm.requestedWhen || perm.requestedAtLaunch === true) return;
        report(['permissions', i, 'requestedWhen'], (l) =>
          l === 'zh' ? `${permissionRef(perm, l)}未说明申请时机。` : `${cap(permissionRef(perm, l))} does not say when it is requested.`,
        );
      });
    },
  },
  {
    key: 'MIIT-26/wake-other-apps',
    severity: 'error',
    title: bi('不得唤醒、关联启动其他应用', 'No waking or associated start of other apps'),
    citation: MIIT_26,
    hint: bi(
      '停止唤醒或拉活其他应用和进程（wakesOtherApps: false）；关闭 SDK 的关联启动功能。',
      "Stop waking other apps and processes (wakesOtherApps: false); turn off the SDK's associated start.",
    ),
    check(d, report) {
      d.purposes.forEach((p, i) => {
        if (p.wakesOtherApps !== true) return;
        report(['purposes', i, 'wakesOtherApps'], (l) =>
          l === 'zh' ? `${purposeRef(p, l)}唤醒（促活）其他应用或进程。` : `${cap(purposeRef(p, l))} wakes other apps or processes.`,
        );
      });
      d.recipients?.forEach((r, i) => {
        if (r.wakesOtherApps !== true) return;
        report(['recipients', i, 'wakesOtherApps'], (l) =>
          l === 'zh' ? `${recipientRef(r, l)}唤醒（促活）其他应用或进程。` : `${cap(recipientRef(r, l))} wakes other apps or processes.`,
        );
      });
    },
  },
  {
    key: 'MIIT-26/self-start',
    severity: 'error',
    title: bi('SDK 不得自启动或关联启动', 'SDKs do not self-start or start in association'),
    citation: MIIT_26,
    hint: bi(
      '关闭该 SDK 的自启动和关联启动（selfStart: false）。',
      'Turn off self-start and associated start of the SDK (selfStart: false).',
    ),
    check(d, report) {
      d.recipients?.forEach((r, i) => {
        if (r.selfStart !== true) return;
        report(['recipients', i, 'selfStart'], (l) =>
          l === 'zh'
            ? `${recipientRef(r, l)}会自启动或关联启动。`
            : `${cap(recipientRef(r, l))} starts by itself or in association with other apps.`,
        );
      });
    },
  },
  {
    key: 'MIIT-164/background-sensitive',
    severity: 'error',
    title: bi('不得在后台收集设备标识符或持续收集位置', 'No device identifiers or continuous location in the background'),
    citation: MIIT_164,
    hint: bi(
      '停止在应用后台收集不可变设备标识符（IMEI、MAC 等）和持续定位；确需后台收集的，说明必要性、降低频率并单独征得同意。',
      'Stop collecting immutable device identifiers (IMEI, MAC …) and continuous location in the background; where truly needed, justify it, lower the frequency and obtain separate consent.',
    ),
    check(d, report) {
      for (const b of backgroundCollections(d)) {
        const severe = severeCategories(b);
        if (severe.length === 0) continue;
        report(b.path, (l) => {
          const why = b.reason ? (l === 'zh' ? `，理由是“${b.reason(l)}”` : `, "${b.reason(l)}"`) : '';
          return l === 'zh'
            ? `${b.who(l)}在应用后台${frequencyText(b.frequency, l)}收集${categoryList(d, severe, l)}${why}。`
            : `${cap(b.who(l))} collects ${categoryList(d, severe, l)} in the background ${frequencyText(b.frequency, l)}${why}.`;
        });
      }
    },
  },
  {
    key: 'MIIT-164/background-collection',
    severity: 'warning',
    title: bi('后台收集须有必要且频率适当', 'Background collection is necessary and not too frequent'),
    citation: MIIT_164,
    hint: bi(
      '说明后台收集的必要性（background.reason），把频率降到业务所需的最低（如 every: PT1H），或停止后台收集。',
      'Justify the background collection (background.reason), lower its frequency to what the function needs (e.g. every: PT1H), or stop it.',
    ),
    check(d, report) {
      for (const b of backgroundCollections(d)) {
        if (severeCategories(b).length > 0) continue;
        report(b.path, (l) =>
          l === 'zh'
            ? `${b.who(l)}在应用后台${frequencyText(b.frequency, l)}收集${categoryList(d, b.categories, l)}。`
            : `${cap(b.who(l))} collects ${categoryList(d, b.categories, l)} in the background ${frequencyText(b.frequency, l)}.`,
        );
      }
    },
  },
  {
    key: 'MIIT-164/frequency',
    severity: 'warning',
    title: bi('不得持续收集设备标识符或位置', 'No continuous collection of device identifiers or location'),
    citation: MIIT_164,
    hint: bi(
      '把收集频率降到功能所需（once、on-use 或 every: PT1H 等），不可变设备标识符改用可重置标识符（OAID、IDFV）。',
      'Collect only as often as the function needs (once, on-use, every: PT1H …) and use resettable identifiers (OAID, IDFV) instead of immutable ones.',
    ),
    check(d, report) {
      d.sources?.forEach((s, i) => {
        if (s.background || s.frequency !== 'continuous') return;
        const cats = s.categories.filter((c) => isImmutableDeviceId(c) || isLocation(c));
        if (cats.length === 0) return;
        report(['sources', i, 'frequency'], (l) =>
          l === 'zh'
            ? `${sourceRef(s, l)}在应用运行期间持续收集${categoryList(d, cats, l)}，超出功能所需的频率。`
            : `${cap(sourceRef(s, l))} collects ${categoryList(d, cats, l)} continuously while the app runs, more often than any function needs.`,
        );
      });
    },
  },
  {
    key: 'GB41391-ID/non-security-use',
    severity: 'error',
    title: bi('不可变设备标识符仅用于安全目的', 'Immutable device identifiers serve security only'),
    citation: GB41391,
    hint: bi(
      '统计、推送等目的改用可重置的标识符（OAID、IDFV、应用内生成的 ID）；仅在风控、反欺诈等安全目的中使用 IMEI、MAC 等，并在目的名称或说明中写明。',
      'Use resettable identifiers (OAID, IDFV, an app-generated id) for statistics and push; use IMEI, MAC and the like only for security such as fraud prevention, and say so in the purpose.',
    ),
    check(d, report) {
      d.purposes.forEach((p, i) => {
        if (isSecurityPurpose(p)) return;
        const ids = p.categories.filter(isImmutableDeviceId);
        const j = p.categories.findIndex(isImmutableDeviceId);
        if (ids.length === 0) return;
        report(['purposes', i, 'categories', j], (l) =>
          l === 'zh'
            ? `${purposeRef(p, l)}使用不可变设备标识符${categoryList(d, ids, l)}，但该目的不是安全目的。`
            : `${cap(purposeRef(p, l))} uses immutable device identifiers (${categoryList(d, ids, l)}) for a purpose that is not security.`,
        );
      });
    },
  },
  {
    key: 'NEC/beyond-necessary',
    severity: 'error',
    title: bi('基本功能必需的目的不超出必要个人信息范围', 'Required purposes stay within the necessary set of the app type'),
    citation: NEC,
    hint: bi(
      '把超出必要范围的信息移到可选目的（required: false），拒绝时不影响基本功能。',
      'Move the information outside the necessary set into optional purposes (required: false) whose refusal keeps the basic function.',
    ),
    check(d, report) {
      const nec = necOf(d);
      if (!nec) return;
      const necessary = new Set(nec.necessary);
      d.purposes.forEach((p, i) => {
        if (!effectivelyRequired(d, p) || legalMandate(p)) return;
        const extra = p.categories.filter((c) => !necessary.has(c));
        if (extra.length === 0) return;
        const forced = p.required !== true;
        report(['purposes', i, 'categories'], (l) =>
          l === 'zh'
            ? `${necessaryText(d, nec, l)}；${purposeRef(p, l)}${forced ? '因“拒绝任何部分即无法使用”而' : ''}成为使用服务的前提，却收集${categoryList(d, extra, l)}。`
            : `${necessaryText(d, nec, l)}; ${purposeRef(p, l)} is a condition of using the service${forced ? ' (refusing any part blocks the service)' : ''} yet collects ${categoryList(d, extra, l)}.`,
        );
      });
    },
  },
  {
    key: 'NEC/permission-beyond-necessary',
    severity: 'error',
    title: bi('必须授予的权限不超出必要个人信息范围', 'Mandatory permissions stay within the necessary set of the app type'),
    citation: NEC,
    hint: bi(
      '把该权限设为可选（optional: false 改为 true），拒绝时仍可使用基本功能。',
      'Make the permission optional (optional: true) so that the basic function works without it.',
    ),
    check(d, report) {
      const nec = necOf(d);
      if (!nec) return;
      const necessary = new Set(nec.necessary);
      d.permissions?.forEach((perm, i) => {
        if (perm.optional !== false) return;
        const purposes = perm.purposes.flatMap((id) => purposeById(d, id) ?? []);
        if (purposes.length > 0 && purposes.every(legalMandate)) return;
        const cats = perm.categories ?? [...new Set(purposes.flatMap((p) => p.categories))];
        const extra = cats.filter((c) => !necessary.has(c));
        if (extra.length === 0) return;
        report(['permissions', i, 'optional'], (l) =>
          l === 'zh'
            ? `${necessaryText(d, nec, l)}；拒绝${permissionRef(perm, l)}即无法使用服务，而它收集${categoryList(d, extra, l)}。`
            : `${necessaryText(d, nec, l)}; denying ${permissionRef(perm, l)} blocks the service, yet it collects ${categoryList(d, extra, l)}.`,
        );
      });
    },
  },
  {
    key: 'NEC/type-missing',
    severity: 'info',
    title: bi('说明应用类型，以核对必要个人信息范围', 'State the app type so that the necessary set can be checked'),
    citation: NEC,
    hint: bi(
      '在 app.type 写明 39 类应用类型之一（如 performance-ticketing），不属于任何一类时写 none。',
      'Give one of the 39 NEC app types in app.type (e.g. performance-ticketing), or none.',
    ),
    check(d, report) {
      if (d.app.type !== undefined) return;
      report(['app', 'type'], (l) =>
        l === 'zh'
          ? '未说明应用类型，无法核对基本功能的必要个人信息范围。'
          : 'No app type is declared, so the necessary set of the basic function cannot be checked.',
      );
    },
  },
];
