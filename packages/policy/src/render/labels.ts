/**
 * zh and en labels of every enum value the rendered documents show, in one place. Each table is
 * checked against the schema's enum (`satisfies Record<…>`), so a new enum value that has no label
 * fails the build.
 */
import type { z } from 'zod';
import type {
  ChannelKind,
  Declaration,
  LawfulBasis,
  Platform,
  PurposeDecl,
  RecipientDecl,
  RecipientKind,
  ResponseTime,
  RetentionTrigger,
  RightKind,
  SecurityMeasure,
  ShareMethod,
  SourceKind,
} from '../schema.js';
import type { RenderLang } from './types.js';

export interface Bilingual {
  zh: string;
  en: string;
}

type Each<T> = T extends readonly (infer U)[] ? U : never;
type Rights = NonNullable<Declaration['rights']>;
type Cancellation = NonNullable<Rights['cancellation']>;
type Storage = NonNullable<Declaration['storage']>;

export type MarketingChannel = Each<NonNullable<NonNullable<PurposeDecl['marketing']>['channels']>>;
export type RecipientConsent = NonNullable<RecipientDecl['consent']>;
export type IncidentChannel = Each<NonNullable<Declaration['incidents']>['channels']>;
export type IncidentContent = Each<NonNullable<NonNullable<Declaration['incidents']>['content']>>;
export type ChangeNotification = Each<NonNullable<NonNullable<Declaration['changes']>['notification']>>;
export type CrossBorderRoute = NonNullable<Each<NonNullable<Storage['crossBorder']>>['route']>;
export type FrequencyKeyword = 'once' | 'on-use' | 'on-launch' | 'continuous';

export const PLATFORM_LABELS = {
  android: { zh: 'Android', en: 'Android' },
  ios: { zh: 'iOS', en: 'iOS' },
  harmonyos: { zh: '鸿蒙（HarmonyOS）', en: 'HarmonyOS' },
  h5: { zh: 'H5页面', en: 'H5 web pages' },
  web: { zh: '网站', en: 'Website' },
  'mini-program': { zh: '小程序', en: 'Mini program' },
  desktop: { zh: '桌面客户端', en: 'Desktop client' },
} as const satisfies Record<z.infer<typeof Platform>, Bilingual>;

/** PIPL art. 13 (1)-(7). */
export const LAWFUL_BASIS_LABELS = {
  consent: { zh: '取得您的同意', en: 'Your consent' },
  contract: {
    zh: '为订立、履行您作为一方当事人的合同所必需',
    en: 'Necessary to conclude or perform a contract to which you are a party',
  },
  'legal-duty': { zh: '为履行法定职责或者法定义务所必需', en: 'Necessary to fulfil a statutory duty or obligation' },
  'public-health-emergency': {
    zh: '为应对突发公共卫生事件，或者紧急情况下为保护自然人的生命健康和财产安全所必需',
    en: 'Necessary to respond to a public-health emergency, or to protect life, health and property in an emergency',
  },
  'news-public-interest': {
    zh: '为公共利益实施新闻报道、舆论监督等行为，在合理的范围内处理',
    en: 'News reporting or public-opinion supervision in the public interest, within a reasonable scope',
  },
  'public-data': {
    zh: '在合理的范围内处理您自行公开或者其他已经合法公开的个人信息',
    en: 'Personal information you made public or that was otherwise lawfully made public, within a reasonable scope',
  },
  'other-law': { zh: '法律、行政法规规定的其他情形', en: 'Another case provided by laws and administrative regulations' },
} as const satisfies Record<LawfulBasis, Bilingual>;

/** The event a retention period runs from, as a noun phrase ("…之日" / "after …"). */
export const RETENTION_TRIGGER_LABELS = {
  collection: { zh: '收集', en: 'collection' },
  'purpose-fulfilled': { zh: '处理目的实现', en: 'the purpose is achieved' },
  'account-cancellation': { zh: '您注销账号', en: 'you cancel your account' },
  'consent-withdrawn': { zh: '您撤回同意', en: 'you withdraw your consent' },
  'contract-end': { zh: '合同终止', en: 'the contract ends' },
  'service-end': { zh: '我们停止提供服务', en: 'we stop providing the service' },
  'last-activity': { zh: '您最后一次使用服务', en: 'your last use of the service' },
} as const satisfies Record<z.infer<typeof RetentionTrigger>, Bilingual>;

export const RETENTION_ACTION_LABELS = {
  delete: { zh: '删除', en: 'deleted' },
  anonymise: { zh: '匿名化处理', en: 'anonymised' },
} as const satisfies Record<'delete' | 'anonymise', Bilingual>;

export const FREQUENCY_LABELS = {
  once: { zh: '仅一次', en: 'once' },
  'on-launch': { zh: '每次启动时', en: 'at each launch' },
  'on-use': { zh: '每次使用相关功能时', en: 'each time the feature is used' },
  continuous: { zh: '持续收集', en: 'continuously' },
} as const satisfies Record<FrequencyKeyword, Bilingual>;

export const SOURCE_KIND_LABELS = {
  'registration-form': { zh: '注册时由您填写', en: 'Filled in by you at registration' },
  'user-input': { zh: '由您在使用服务时主动提供', en: 'Provided by you while using the service' },
  cookie: { zh: '通过Cookie和同类技术自动收集', en: 'Collected automatically through cookies and similar technologies' },
  'device-api': { zh: '经您授权后从设备读取', en: 'Read from the device with your permission' },
  sdk: { zh: '由嵌入的第三方SDK收集', en: 'Collected by an embedded third-party SDK' },
  log: { zh: '在您使用服务时自动记录（日志）', en: 'Recorded automatically while you use the service (logs)' },
  'third-party': { zh: '从第三方获取', en: 'Obtained from third parties' },
  support: { zh: '在客服与支持过程中提供', en: 'Provided in customer service and support' },
  'public-sources': { zh: '从合法公开的来源获取', en: 'Obtained from lawfully public sources' },
} as const satisfies Record<z.infer<typeof SourceKind>, Bilingual>;

export const MARKETING_CHANNEL_LABELS = {
  push: { zh: '推送通知', en: 'push notifications' },
  sms: { zh: '短信', en: 'text messages' },
  email: { zh: '电子邮件', en: 'email' },
  phone: { zh: '电话', en: 'phone calls' },
  post: { zh: '邮寄', en: 'post' },
  'in-app': { zh: '应用内消息', en: 'in-app messages' },
} as const satisfies Record<MarketingChannel, Bilingual>;

export const RECIPIENT_KIND_LABELS = {
  sdk: { zh: '第三方SDK', en: 'Third-party SDK' },
  processor: { zh: '受托处理者', en: 'Entrusted processor' },
  controller: { zh: '其他个人信息处理者', en: 'Another personal-information handler' },
  authority: { zh: '国家机关', en: 'Public authority' },
  affiliate: { zh: '关联公司', en: 'Affiliated company' },
} as const satisfies Record<z.infer<typeof RecipientKind>, Bilingual>;

export const SHARE_METHOD_LABELS = {
  sdk: { zh: '嵌入SDK，由SDK直接收集', en: 'Embedded SDK that collects directly' },
  api: { zh: '接口传输', en: 'Transfer through an API' },
  entrusted: { zh: '委托处理', en: 'Entrusted processing' },
  'file-transfer': { zh: '文件传输', en: 'File transfer' },
  'public-disclosure': { zh: '公开披露', en: 'Public disclosure' },
} as const satisfies Record<z.infer<typeof ShareMethod>, Bilingual>;

export const RECIPIENT_CONSENT_LABELS = {
  separate: { zh: '单独同意', en: 'Separate consent' },
  bundled: { zh: '随本政策一并同意（未单独征得同意）', en: 'Bundled with this policy (no separate consent)' },
  none: { zh: '不征得同意', en: 'No consent asked' },
} as const satisfies Record<RecipientConsent, Bilingual>;

export const RIGHT_LABELS = {
  access: { zh: '查阅您的个人信息', en: 'Access your personal information' },
  copy: { zh: '复制您的个人信息', en: 'Get a copy of your personal information' },
  portability: { zh: '将您的个人信息转移至您指定的处理者', en: 'Port your personal information to a handler you name' },
  correction: { zh: '更正、补充您的个人信息', en: 'Correct or complete your personal information' },
  deletion: { zh: '删除您的个人信息', en: 'Delete your personal information' },
  cancellation: { zh: '注销账号', en: 'Cancel your account' },
  withdrawal: { zh: '撤回同意', en: 'Withdraw your consent' },
  explanation: { zh: '要求我们解释说明个人信息处理规则', en: 'Ask us to explain our rules for processing personal information' },
  restriction: { zh: '限制或者拒绝我们处理您的个人信息', en: 'Restrict or refuse the processing of your personal information' },
  complaint: { zh: '投诉、举报', en: 'Complain or report' },
} as const satisfies Record<RightKind, Bilingual>;

export const CHANNEL_LABELS = {
  'in-app': { zh: '应用内', en: 'In the app' },
  'customer-service': { zh: '客服', en: 'Customer service' },
  phone: { zh: '电话', en: 'Phone' },
  email: { zh: '电子邮件', en: 'Email' },
  web: { zh: '网站', en: 'Website' },
  post: { zh: '信函', en: 'Letter' },
  'in-person': { zh: '现场办理', en: 'In person' },
  api: { zh: '接口', en: 'API' },
} as const satisfies Record<z.infer<typeof ChannelKind>, Bilingual>;

export const RESPONSE_UNIT_LABELS = {
  days: { zh: '天', en: 'day' },
  'working-days': { zh: '个工作日', en: 'working day' },
  hours: { zh: '小时', en: 'hour' },
} as const satisfies Record<ResponseTime['unit'], Bilingual>;

export const CANCELLATION_EFFECT_LABELS = {
  immediate: { zh: '注销即时生效', en: 'Cancellation takes effect at once' },
  'after-review': { zh: '注销经审核后生效', en: 'Cancellation takes effect after review' },
} as const satisfies Record<NonNullable<Cancellation['effect']>, Bilingual>;

export const CANCELLATION_AFTER_LABELS = {
  delete: { zh: '删除您的个人信息', en: 'your personal information is deleted' },
  anonymise: { zh: '对您的个人信息进行匿名化处理', en: 'your personal information is anonymised' },
  'delete-or-anonymise': {
    zh: '删除您的个人信息或进行匿名化处理',
    en: 'your personal information is deleted or anonymised',
  },
} as const satisfies Record<NonNullable<Cancellation['afterwards']>, Bilingual>;

export const SECURITY_MEASURE_LABELS = {
  'encryption-at-rest': { zh: '加密存储', en: 'Encryption at rest' },
  'encryption-in-transit': { zh: '加密传输', en: 'Encryption in transit' },
  'access-control': { zh: '访问控制', en: 'Access control' },
  masking: { zh: '脱敏显示', en: 'Masking on display' },
  'de-identification': { zh: '去标识化处理', en: 'De-identification' },
  firewall: { zh: '防火墙', en: 'Firewalls' },
  'audit-logging': { zh: '操作审计日志', en: 'Audit logging' },
  'staff-training': { zh: '员工安全培训', en: 'Staff training' },
  'confidentiality-rules': { zh: '保密制度', en: 'Confidentiality rules' },
  'incident-plan': { zh: '安全事件应急预案', en: 'Incident response plan' },
  pia: { zh: '个人信息保护影响评估', en: 'Personal-information protection impact assessment' },
  backup: { zh: '数据备份', en: 'Backups' },
  classification: { zh: '分类分级管理', en: 'Classification by sensitivity' },
} as const satisfies Record<z.infer<typeof SecurityMeasure>, Bilingual>;

export const INCIDENT_CHANNEL_LABELS = {
  email: { zh: '电子邮件', en: 'email' },
  letter: { zh: '信函', en: 'letter' },
  phone: { zh: '电话', en: 'phone' },
  push: { zh: '推送通知', en: 'push notification' },
  sms: { zh: '短信', en: 'text message' },
  announcement: { zh: '公告', en: 'public announcement' },
  'in-app': { zh: '应用内消息', en: 'in-app message' },
} as const satisfies Record<IncidentChannel, Bilingual>;

export const INCIDENT_CONTENT_LABELS = {
  'what-happened': { zh: '事件的基本情况', en: 'what happened' },
  impact: { zh: '可能的影响', en: 'its possible impact' },
  categories: { zh: '涉及的个人信息种类', en: 'the categories of personal information involved' },
  cause: { zh: '事件原因', en: 'the cause' },
  measures: { zh: '我们已采取或将要采取的处置措施', en: 'the measures we have taken or will take' },
  'self-protection': { zh: '您可自主防范和降低风险的建议', en: 'what you can do to protect yourself' },
  remedies: { zh: '对您的补救措施', en: 'the remedies offered to you' },
  contact: { zh: '联系方式', en: 'whom to contact' },
} as const satisfies Record<IncidentContent, Bilingual>;

export const CHANGE_NOTIFICATION_LABELS = {
  'in-app': { zh: '应用内通知', en: 'in-app notice' },
  push: { zh: '推送通知', en: 'push notification' },
  email: { zh: '电子邮件', en: 'email' },
  sms: { zh: '短信', en: 'text message' },
  website: { zh: '网站公告', en: 'a notice on the website' },
  'pop-up': { zh: '弹窗提示', en: 'pop-up' },
} as const satisfies Record<ChangeNotification, Bilingual>;

export const CROSS_BORDER_ROUTE_LABELS = {
  'security-assessment': { zh: '通过国家网信部门组织的安全评估', en: 'Security assessment by the Cyberspace Administration' },
  certification: { zh: '经专业机构进行个人信息保护认证', en: 'Personal-information protection certification' },
  'standard-contract': { zh: '按照标准合同与境外接收方订立合同', en: 'Standard contract with the overseas recipient' },
  'other-law': { zh: '法律、行政法规规定的其他条件', en: 'Other conditions provided by law' },
} as const satisfies Record<CrossBorderRoute, Bilingual>;

/** Pick the label of `lang`. */
export function label(l: Bilingual, lang: RenderLang): string {
  return lang === 'zh' ? l.zh : l.en;
}
