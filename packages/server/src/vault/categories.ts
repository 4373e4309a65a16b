/**
 * What the vault knows about each category of personal information: how a value is checked before
 * it is stored, how it is shown masked (Chinese display conventions, DESIGN.md "Cryptography"), and
 * whether it gets a blind index for lookups. Categories are the declaration's category ids (taxonomy
 * ids of @pipa/policy, or `custom.*`). Rules are keyed by category id; a category without a rule of
 * its own is free text, masked by its sensitivity.
 *
 * Messages never repeat the value: it is personal information, and errors are logged.
 */
import { isIP } from 'node:net';
import { generaliseAge, maskAddress, maskEmail, maskMiddle, maskName, maskValue } from '@pipa/detect';
import { parseIdNumber } from '../consent/id-number.js';
import { type NormaliserKind, normaliseEmail, normalisePhone } from '../crypto/blind-index.js';

/** What a category's values look like (decides the check). */
export type ValueKind =
  | 'mobile'
  | 'phone'
  | 'email'
  | 'id-card'
  | 'document'
  | 'date'
  | 'age'
  | 'postcode'
  | 'bank-account'
  | 'ip'
  | 'mac'
  | 'device-number'
  | 'text';

/** How a category is masked for display. */
export type MaskKind =
  | 'phone'
  | 'landline'
  | 'id-card'
  | 'document'
  | 'name'
  | 'email'
  | 'address'
  | 'bank-card'
  | 'birth-date'
  | 'age'
  | 'postcode'
  | 'ip'
  | 'mac'
  | 'licence-plate'
  | 'device-id'
  /** Shown as stored (attributes that identify no one alone); a declaration's `masked: true` overrides. */
  | 'none'
  /** `******` whatever the value: nothing of it, not even its length. */
  | 'hidden'
  /** First character and `***`. */
  | 'initial';

export interface CategoryRule {
  readonly value: ValueKind;
  readonly mask: MaskKind;
  /** Blind-index normaliser: the category can be looked up by value. */
  readonly index?: NormaliserKind;
}

/** Lookup kinds of the API and the category each searches. */
export const LOOKUP_KINDS = {
  phone: 'contact.phone',
  idNumber: 'identity.id-card',
  email: 'contact.email',
} as const;
export type LookupKind = keyof typeof LOOKUP_KINDS;

const RULES: Readonly<Record<string, CategoryRule>> = {
  'contact.phone': { value: 'mobile', mask: 'phone', index: 'phone' },
  'contact.landline': { value: 'phone', mask: 'landline' },
  'contact.email': { value: 'email', mask: 'email', index: 'email' },
  'contact.address': { value: 'text', mask: 'address' },
  'contact.postcode': { value: 'postcode', mask: 'postcode' },
  'basic.name': { value: 'text', mask: 'name' },
  'basic.birth-date': { value: 'date', mask: 'birth-date' },
  'basic.age': { value: 'age', mask: 'age' },
  'basic.gender': { value: 'text', mask: 'none' },
  'basic.nationality': { value: 'text', mask: 'none' },
  'identity.document-type': { value: 'text', mask: 'none' },
  'identity.id-card': { value: 'id-card', mask: 'id-card', index: 'id-number' },
  'identity.passport': { value: 'document', mask: 'document' },
  'identity.driving-licence': { value: 'document', mask: 'document' },
  'identity.hk-macao-permit': { value: 'document', mask: 'document' },
  'identity.residence-permit': { value: 'document', mask: 'document' },
  'identity.social-security-card': { value: 'document', mask: 'document' },
  'identity.military-id': { value: 'document', mask: 'document' },
  'identity.work-id': { value: 'document', mask: 'document' },
  'finance.bank-account': { value: 'bank-account', mask: 'bank-card' },
  'account.password': { value: 'text', mask: 'hidden' },
  'network.ip': { value: 'ip', mask: 'ip' },
  'device.id.mac': { value: 'mac', mask: 'mac' },
  'device.id.imei': { value: 'device-number', mask: 'device-id' },
  'device.id.meid': { value: 'device-number', mask: 'device-id' },
  'device.model': { value: 'text', mask: 'none' },
  'device.os': { value: 'text', mask: 'none' },
  'network.carrier': { value: 'text', mask: 'none' },
  'online.language': { value: 'text', mask: 'none' },
  'other.licence-plate': { value: 'text', mask: 'licence-plate' },
};

/**
 * The rule of a category. `sensitive` is the category's sensitivity in the app's declaration (which
 * may raise a taxonomy category's); `declaredMasked` its `masked` flag.
 */
export function categoryRule(id: string, sensitive: boolean, declaredMasked: boolean | undefined): CategoryRule {
  const own = RULES[id];
  let rule: CategoryRule;
  if (own !== undefined) rule = own;
  else if (id.startsWith('device.id.')) rule = { value: 'text', mask: 'device-id' };
  else rule = { value: 'text', mask: sensitive ? 'hidden' : 'initial' };
  // A category shown as stored is masked after all when the declaration promises masking (GBT-7.2),
  // or when the app declares it sensitive.
  if (rule.mask === 'none' && (declaredMasked === true || sensitive)) rule = { ...rule, mask: sensitive ? 'hidden' : 'initial' };
  return rule;
}

// ---- checks ---------------------------------------------------------------------------------------

/** Why a value was refused, in English and Chinese; never containing the value. */
export interface ValueProblem {
  en: string;
  zh: string;
}

/** Longest value (UTF-16 code units) of any category. */
export const MAX_VALUE_LENGTH = 4096;

// C0 controls except tab, line feed, carriage return; DEL; C1 controls.
// biome-ignore lint/suspicious/noControlCharactersInRegex: that is the point
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/;

function isRealDate(y: number, m: number, d: number): boolean {
  const t = new Date(Date.UTC(y, m - 1, d));
  return t.getUTCFullYear() === y && t.getUTCMonth() === m - 1 && t.getUTCDate() === d;
}

let todayCache = { day: Number.NaN, text: '' };

/** Today's date (UTC+8, where the person's calendar is) as YYYY-MM-DD (formatted once a day: every write of a birth date asks). */
function chinaToday(now: number): string {
  const shifted = now + 8 * 3_600_000;
  const day = Math.floor(shifted / 86_400_000);
  if (day !== todayCache.day) todayCache = { day, text: new Date(shifted).toISOString().slice(0, 10) };
  return todayCache.text;
}

/**
 * Check a value of `kind`; undefined when it is acceptable. `now` (ms) refuses birth dates in the
 * future. Values are stored as given (the blind index normalises its own copy).
 */
export function checkValue(kind: ValueKind, value: string, now: number): ValueProblem | undefined {
  if (value.trim() === '') return { en: 'is empty', zh: '不能为空' };
  if (value.length > MAX_VALUE_LENGTH) {
    return { en: `is longer than ${MAX_VALUE_LENGTH} characters`, zh: `超过 ${MAX_VALUE_LENGTH} 个字符` };
  }
  if (CONTROL.test(value)) return { en: 'contains control characters', zh: '含有控制字符' };
  switch (kind) {
    case 'mobile': {
      let e164: string;
      try {
        e164 = normalisePhone(value);
      } catch {
        return {
          en: 'is not a mobile phone number (11 digits starting with 1, e.g. 138 1234 5678, or +<country code> <number>)',
          zh: '不是手机号码（以 1 开头的 11 位数字，例如 138 1234 5678，或 +国家代码 号码）',
        };
      }
      if (e164.startsWith('+86') && !/^\+861[3-9]\d{9}$/.test(e164)) {
        return { en: 'is a landline number, not a mobile phone number', zh: '是固定电话号码，不是手机号码' };
      }
      return undefined;
    }
    case 'phone':
      try {
        normalisePhone(value);
        return undefined;
      } catch {
        return {
          en: 'is not a phone number with an area or country code (e.g. 010-12345678 or +86 24 8627 7299)',
          zh: '不是带区号或国家代码的电话号码（例如 010-12345678 或 +86 24 8627 7299）',
        };
      }
    case 'email':
      try {
        const e = normaliseEmail(value);
        const domain = e.slice(e.lastIndexOf('@') + 1);
        if (!/^[^.@\s]+(\.[^.@\s]+)+$/.test(domain) || e.length > 254) throw new Error('domain');
        return undefined;
      } catch {
        return { en: 'is not an e-mail address (name@example.com)', zh: '不是电子邮箱地址（name@example.com）' };
      }
    case 'id-card': {
      const r = parseIdNumber(value.normalize('NFKC'), undefined);
      return r.ok ? undefined : { en: `is not a valid resident identity card number: ${r.en}`, zh: `不是有效的居民身份证号码：${r.zh}` };
    }
    case 'document':
      return /^[0-9A-Za-z][0-9A-Za-z -]{3,29}$/.test(value.normalize('NFKC').trim())
        ? undefined
        : { en: 'is not a document number (4 to 30 letters and digits)', zh: '不是证件号码（4 到 30 位字母和数字）' };
    case 'date': {
      const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
      if (m === null || !isRealDate(Number(m[1]), Number(m[2]), Number(m[3]))) {
        return { en: 'is not a date in the form YYYY-MM-DD', zh: '不是 YYYY-MM-DD 格式的日期' };
      }
      if (value > chinaToday(now)) return { en: 'is in the future', zh: '晚于今天' };
      if (value < '1880-01-01') return { en: 'is before 1880', zh: '早于 1880 年' };
      return undefined;
    }
    case 'age':
      return /^\d{1,3}$/.test(value) && Number(value) <= 150
        ? undefined
        : { en: 'is not an age in whole years (0 to 150)', zh: '不是以周岁计的年龄（0 到 150）' };
    case 'postcode':
      return /^[0-9A-Za-z][0-9A-Za-z -]{1,9}$/.test(value)
        ? undefined
        : { en: 'is not a postcode (e.g. 110000)', zh: '不是邮政编码（例如 110000）' };
    case 'bank-account': {
      const digits = value.replace(/[\s-]/g, '');
      return /^\d{8,32}$/.test(digits)
        ? undefined
        : { en: 'is not a bank account or card number (8 to 32 digits)', zh: '不是银行账号或卡号（8 到 32 位数字）' };
    }
    case 'ip':
      return isIP(value) !== 0 ? undefined : { en: 'is not an IPv4 or IPv6 address', zh: '不是 IPv4 或 IPv6 地址' };
    case 'mac':
      return /^[0-9A-Fa-f]{2}([:-])[0-9A-Fa-f]{2}(\1[0-9A-Fa-f]{2}){4}$/.test(value) || /^[0-9A-Fa-f]{12}$/.test(value)
        ? undefined
        : { en: 'is not a MAC address (e.g. 00:1A:2B:3C:4D:5E)', zh: '不是 MAC 地址（例如 00:1A:2B:3C:4D:5E）' };
    case 'device-number':
      return /^[0-9A-Fa-f]{14,16}$/.test(value)
        ? undefined
        : { en: 'is not a device number (14 to 16 digits)', zh: '不是设备识别码（14 到 16 位）' };
    case 'text':
      return undefined;
  }
}

// ---- masks ----------------------------------------------------------------------------------------

const HIDDEN = '******';

function firstChar(value: string): string {
  const first = [...value.trim()][0] ?? '';
  return `${first}***`;
}

/** Mask a stored value for display. Never throws: a value that fits no pattern is masked harder. */
export function maskFor(kind: MaskKind, value: string): string {
  switch (kind) {
    case 'none':
      return value;
    case 'hidden':
      return HIDDEN;
    case 'initial':
      return firstChar(value);
    case 'phone':
      return maskValue('phone', value);
    case 'landline':
      return maskValue('landline', value);
    case 'id-card':
      return maskMiddle(value, 4, 4);
    case 'document': {
      const n = value.replace(/[^0-9A-Za-z]/g, '').length;
      return n >= 8 ? maskMiddle(value, 2, 3) : maskMiddle(value, 1, 1);
    }
    case 'name':
      return maskName(value);
    case 'email':
      return maskEmail(value.trim());
    case 'address':
      return maskAddress(value);
    case 'bank-card':
      return maskValue('bank-card', value);
    case 'birth-date':
      // Year only: 1990-**-**.
      return `${value.slice(0, 4)}-**-**`;
    case 'age': {
      const age = Number(value);
      return Number.isInteger(age) && age >= 0 ? generaliseAge(age) : HIDDEN;
    }
    case 'postcode':
      return maskMiddle(value, 2, 0);
    case 'ip':
      return isIP(value) === 4 ? maskValue('ipv4', value) : isIP(value) === 6 ? maskValue('ipv6', value) : HIDDEN;
    case 'mac':
      return maskMiddle(value, 6, 0);
    case 'licence-plate':
      return maskValue('licence-plate', value);
    case 'device-id': {
      const n = value.replace(/[^0-9A-Za-z]/g, '').length;
      return n >= 12 ? maskMiddle(value, 4, 4) : maskMiddle(value, 0, 2);
    }
  }
}
