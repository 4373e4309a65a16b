/** The detectors of @pipa/detect. Each maps to one taxonomy category id of @pipa/policy. */
export const DETECTOR_TYPES = [
  'id-card',
  'foreign-permanent-residence',
  'residence-permit',
  'phone',
  'landline',
  'bank-card',
  'credit-code',
  'passport',
  'hk-macao-permit',
  'licence-plate',
  'email',
  'ipv4',
  'ipv6',
  'mac',
  'imei',
  'imsi',
  'meid',
  'idfa',
  'idfv',
  'oaid',
  'android-id',
  'url-credentials',
  'name',
  'address',
] as const;

export type DetectorType = (typeof DETECTOR_TYPES)[number];

/**
 * Taxonomy category of each detector. Kept as strings on purpose: @pipa/detect does not import
 * @pipa/policy (dependency direction); a test in @pipa/policy checks that every id exists.
 */
export const DETECTOR_CATEGORIES: Readonly<Record<DetectorType, string>> = {
  'id-card': 'identity.id-card',
  'foreign-permanent-residence': 'identity.residence-permit',
  'residence-permit': 'identity.residence-permit',
  phone: 'contact.phone',
  landline: 'contact.landline',
  'bank-card': 'finance.bank-account',
  'credit-code': 'identity.credit-code',
  passport: 'identity.passport',
  'hk-macao-permit': 'identity.hk-macao-permit',
  'licence-plate': 'other.licence-plate',
  email: 'contact.email',
  ipv4: 'network.ip',
  ipv6: 'network.ip',
  mac: 'device.id.mac',
  imei: 'device.id.imei',
  imsi: 'device.id.imsi',
  meid: 'device.id.meid',
  idfa: 'device.id.idfa',
  idfv: 'device.id.idfv',
  oaid: 'device.id.oaid',
  'android-id': 'device.id.android-id',
  'url-credentials': 'account.password',
  name: 'basic.name',
  address: 'contact.address',
};

/** Labels for people (zh first, en second). */
export const DETECTOR_LABELS: Readonly<Record<DetectorType, { zh: string; en: string }>> = {
  'id-card': { zh: '居民身份证号', en: 'Resident ID card number' },
  'foreign-permanent-residence': { zh: '外国人永久居留身份证号', en: 'Foreign permanent residence ID number' },
  'residence-permit': { zh: '港澳台居民居住证号', en: 'HK/Macao/Taiwan residence permit number' },
  phone: { zh: '手机号', en: 'Mobile phone number' },
  landline: { zh: '固定电话', en: 'Landline number' },
  'bank-card': { zh: '银行卡号', en: 'Bank card number' },
  'credit-code': { zh: '统一社会信用代码', en: 'Unified social credit code' },
  passport: { zh: '护照号', en: 'Passport number' },
  'hk-macao-permit': { zh: '港澳台通行证号', en: 'HK/Macao/Taiwan travel permit number' },
  'licence-plate': { zh: '机动车号牌', en: 'Vehicle licence plate' },
  email: { zh: '电子邮件地址', en: 'Email address' },
  ipv4: { zh: 'IPv4 地址', en: 'IPv4 address' },
  ipv6: { zh: 'IPv6 地址', en: 'IPv6 address' },
  mac: { zh: 'MAC 地址', en: 'MAC address' },
  imei: { zh: 'IMEI', en: 'IMEI' },
  imsi: { zh: 'IMSI', en: 'IMSI' },
  meid: { zh: 'MEID', en: 'MEID' },
  idfa: { zh: 'IDFA', en: 'IDFA' },
  idfv: { zh: 'IDFV', en: 'IDFV' },
  oaid: { zh: 'OAID', en: 'OAID' },
  'android-id': { zh: 'Android ID', en: 'Android ID' },
  'url-credentials': { zh: '含口令的 URL', en: 'URL with credentials' },
  name: { zh: '姓名', en: 'Person name' },
  address: { zh: '地址', en: 'Postal address' },
};

/** Detectors whose value carries a checksum or a fixed structure that is validated. */
export const VALIDATED_TYPES: readonly DetectorType[] = [
  'id-card',
  'foreign-permanent-residence',
  'residence-permit',
  'bank-card',
  'credit-code',
  'imei',
  'imsi',
  'phone',
  'landline',
  'email',
  'ipv4',
  'ipv6',
  'mac',
  'licence-plate',
  'url-credentials',
];

export function isDetectorType(s: string): s is DetectorType {
  return (DETECTOR_TYPES as readonly string[]).includes(s);
}

/** One finding. Offsets are UTF-16 code-unit offsets into the text that was scanned. */
export interface Detection {
  type: DetectorType;
  /** Taxonomy category id (`contact.phone`). */
  category: string;
  start: number;
  end: number;
  /** The matched text exactly as it appears in the input. */
  text: string;
  /** Canonical form: digits only for numbers (ID `X` upper-case), lower-case e-mail, … */
  normalized: string;
  /** 0..1; detections under `minScore` (default 0.5) are not reported. */
  score: number;
  /** Why the score is what it is, e.g. `checksum:mod11-2`, `context:身份证`, `full-width`. */
  reasons: string[];
}

export interface DetectOptions {
  /** Report detections with score >= minScore. Default 0.5. */
  minScore?: number;
  /** Run only these detectors. Default: all. */
  types?: readonly DetectorType[];
  /** Characters before a match searched for context words. Default 24. */
  windowBefore?: number;
  /** Characters after a match searched for context words. Default 8. */
  windowAfter?: number;
  /**
   * Extra context that applies to the whole text, typically the field name or column header of a
   * structured value (`phone`, `身份证号`). It counts as a context word found next to every match.
   */
  fieldContext?: string;
  /** Latest plausible birth year of an ID number. Default: the current year. */
  maxBirthYear?: number;
}
