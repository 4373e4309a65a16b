/**
 * The declaration of an app's privacy policy, `pipa: 1`.
 *
 * Shape rules:
 * - Objects are strict: an unknown key is an error (it is almost always a typo).
 * - Everything a policy may leave unsaid is optional, so that a declaration can say exactly what a
 *   real policy says and no more; lint reports what is missing.
 * - Text that a person reads is `Text`: a plain string (zh-CN) or `{ zh, en }`.
 * - Ids are kebab-case or dotted (`contact.phone`, `push-notifications`); references between
 *   sections use ids and are checked by `load` (unknown ids fail with "did you mean …").
 */
import { z } from 'zod';

const ID_RE = /^[a-z0-9]+(?:[.-][a-z0-9]+)*$/;
export const Id = z.string().regex(ID_RE, 'must be a lower-case id such as "contact.phone" or "push-service"');

export const Text = z.union([z.string().min(1), z.strictObject({ zh: z.string().min(1), en: z.string().min(1).optional() })]);
export type Text = z.infer<typeof Text>;

/** ISO 8601 calendar date, YAML may give it as a date or a string. */
export const DateStr = z.preprocess(
  (v) => (v instanceof Date ? v.toISOString().slice(0, 10) : v),
  z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a date YYYY-MM-DD'),
);

/** ISO 8601 duration limited to years, months, days (P3Y, P6M, P180D, P1Y6M). */
export const Duration = z.string().regex(/^P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?$/, 'must be an ISO 8601 duration such as P3Y, P6M or P30D');

export const Url = z.string().url();
export const Email = z.string().email();
export const Phone = z.string().regex(/^[+\d][\d\s-]{4,}$/, 'must be a phone number such as 400-8331-369 or +86 24 8627 7299');

export const Contact = z.strictObject({
  name: Text.optional(),
  title: Text.optional(),
  phone: z.array(Phone).optional(),
  email: z.array(Email).optional(),
  address: Text.optional(),
  web: Url.optional(),
  channel: Text.optional(),
});
export type Contact = z.infer<typeof Contact>;

export const Platform = z.enum(['android', 'ios', 'harmonyos', 'h5', 'web', 'mini-program', 'desktop']);

export const LawfulBasis = z.enum([
  'consent',
  'contract',
  'legal-duty',
  'public-health-emergency',
  'news-public-interest',
  'public-data',
  'other-law',
]);
export type LawfulBasis = z.infer<typeof LawfulBasis>;

export const RetentionTrigger = z.enum([
  'collection',
  'purpose-fulfilled',
  'account-cancellation',
  'consent-withdrawn',
  'contract-end',
  'service-end',
  'last-activity',
]);

export const Retention = z.strictObject({
  /** Which of the purpose's categories; omitted = all of them. */
  categories: z.array(Id).optional(),
  /** How long after the trigger; omitted with `trigger` = until the trigger itself. */
  period: Duration.optional(),
  trigger: RetentionTrigger,
  /** What happens at the end. */
  action: z.enum(['delete', 'anonymise']).default('delete'),
  note: Text.optional(),
});
export type Retention = z.infer<typeof Retention>;

export const Frequency = z.union([
  z.enum(['once', 'on-use', 'on-launch', 'continuous']),
  z.strictObject({ every: z.string().regex(/^PT?\d+[SMHD]$/, 'must be an ISO 8601 duration such as PT15M or PT1H') }),
]);

export const SourceKind = z.enum([
  'registration-form',
  'user-input',
  'cookie',
  'device-api',
  'sdk',
  'log',
  'third-party',
  'support',
  'public-sources',
]);

export const CategoryDecl = z.strictObject({
  /** A taxonomy id (`contact.phone`) or a custom id starting with `custom.`. */
  id: Id,
  /** Required for custom categories; overrides the taxonomy label otherwise. */
  label: Text.optional(),
  /** A custom category must say; a taxonomy category may be raised to sensitive, never lowered. */
  sensitive: z.boolean().optional(),
  /** Declared as encrypted at rest (GBT-6.1). */
  encrypted: z.boolean().optional(),
  /** Declared as masked on display (GBT-7.2). */
  masked: z.boolean().optional(),
  note: Text.optional(),
});
export type CategoryDecl = z.infer<typeof CategoryDecl>;

export const SourceDecl = z.strictObject({
  id: Id,
  kind: SourceKind,
  description: Text.optional(),
  categories: z.array(Id).min(1),
  /** Collection continues while the app runs in the background. */
  background: z.boolean().default(false),
  frequency: Frequency.optional(),
  /** For third-party sources: who provides the data. */
  provider: Text.optional(),
});
export type SourceDecl = z.infer<typeof SourceDecl>;

export const Marketing = z.strictObject({
  personalised: z.boolean(),
  /** A non-personalised option is offered (PIPL-24). */
  nonPersonalisedOption: z.boolean().optional(),
  /** How the user refuses; absent = no refusal channel stated. */
  optOut: Text.optional(),
  channels: z.array(z.enum(['push', 'sms', 'email', 'phone', 'post', 'in-app'])).optional(),
});

export const PurposeDecl = z.strictObject({
  id: Id,
  name: Text,
  description: Text.optional(),
  /** PIPL 13. Absent = the policy does not say (lint reports it). */
  basis: LawfulBasis.optional(),
  /** Needed for the basic function (true) or an optional extra (false). */
  required: z.boolean().optional(),
  categories: z.array(Id).min(1),
  /** When and where the data is collected (the 收集清单 "scenario"). */
  scenario: Text.optional(),
  sources: z.array(Id).optional(),
  retention: z.array(Retention).optional(),
  marketing: Marketing.optional(),
  /** Automated decision-making (PIPL 24, 55). */
  automatedDecision: z.boolean().optional(),
  /** Statement of necessity and impact on the person (required for sensitive PI, PIPL 30). */
  necessity: Text.optional(),
  /** Consent obtained separately (单独同意) for this purpose. */
  separateConsent: z.boolean().optional(),
  /** Declared as only "to improve service/experience" (MIIT-4). */
  improvementOnly: z.boolean().optional(),
  /** Permission / SDK start behaviour that wakes other apps (MIIT-26). */
  wakesOtherApps: z.boolean().optional(),
});
export type PurposeDecl = z.infer<typeof PurposeDecl>;

export const PermissionDecl = z.strictObject({
  id: Id,
  name: Text,
  android: z.array(z.string().regex(/^[A-Za-z0-9_.]+$/)).optional(),
  ios: z.array(z.string().regex(/^NS[A-Za-z]+UsageDescription$|^[A-Za-z0-9_.]+$/)).optional(),
  purposes: z.array(Id).min(1),
  categories: z.array(Id).optional(),
  /** When the app asks (the user action that triggers it). */
  requestedWhen: Text.optional(),
  /** Requested at install or first launch, before the feature is used (MIIT-26). */
  requestedAtLaunch: z.boolean().optional(),
  optional: z.boolean().optional(),
  ifDenied: Text.optional(),
  /** Enabled by default / pre-ticked (MIIT-3). */
  enabledByDefault: z.boolean().optional(),
});
export type PermissionDecl = z.infer<typeof PermissionDecl>;

export const RecipientKind = z.enum(['sdk', 'processor', 'controller', 'authority', 'affiliate']);
export const ShareMethod = z.enum(['sdk', 'api', 'entrusted', 'file-transfer', 'public-disclosure']);

export const RecipientDecl = z.strictObject({
  id: Id,
  /** Product or SDK name (友盟SDK). */
  name: Text,
  kind: RecipientKind,
  company: Text.optional(),
  contact: Contact.optional(),
  purposes: z.array(Id).min(1),
  /** The purpose as the policy words it for this recipient. */
  purposeText: Text.optional(),
  categories: z.array(Id).min(1),
  method: ShareMethod,
  scenario: Text.optional(),
  deidentified: z.boolean().default(false),
  /** How the person agrees to this provision: separately, bundled with the policy, or not at all. */
  consent: z.enum(['separate', 'bundled', 'none']).optional(),
  policyUrl: z.string().min(1).optional(),
  /** The recipient's policy as the text names it when it gives no link (《友盟平台服务协议》). */
  policyTitle: Text.optional(),
  /** Collection by the recipient while the app is in the background. */
  background: z
    .strictObject({
      categories: z.array(Id).min(1),
      frequency: Frequency.optional(),
      reason: Text.optional(),
    })
    .optional(),
  /** The recipient uses the data to start or wake other apps or processes (促活). */
  wakesOtherApps: z.boolean().optional(),
  /** Self-start / associated start of the SDK (SDK-1, MIIT-26). */
  selfStart: z.boolean().optional(),
  /** Recipient is outside mainland China. */
  crossBorder: z.boolean().optional(),
  /** Contracted and audited by the operator (GBT-9.7). */
  contracted: z.boolean().optional(),
});
export type RecipientDecl = z.infer<typeof RecipientDecl>;

export const CookieDecl = z.strictObject({
  used: z.boolean(),
  categories: z.array(Id).optional(),
  purposes: z.array(Id).optional(),
  canRefuse: z.boolean().optional(),
  howToRefuse: Text.optional(),
  ifRefused: Text.optional(),
  thirdParty: z.boolean().optional(),
});

export const MinorsDecl = z.strictObject({
  /** The age under which the policy treats a person as a minor. */
  ageThreshold: z.number().int().min(1).max(25),
  guardianConsent: z.boolean().optional(),
  /** Dedicated rules for children under 14 (PIPL 31): a link or a text. */
  under14Rules: Text.optional(),
  /** The app is directed at children. */
  directedAtChildren: z.boolean().optional(),
  verification: Text.optional(),
});

export const RightKind = z.enum([
  'access',
  'copy',
  'portability',
  'correction',
  'deletion',
  'cancellation',
  'withdrawal',
  'explanation',
  'restriction',
  'complaint',
]);
export type RightKind = z.infer<typeof RightKind>;

export const ChannelKind = z.enum(['in-app', 'customer-service', 'phone', 'email', 'web', 'post', 'in-person', 'api']);

export const ResponseTime = z.strictObject({
  value: z.number().int().positive(),
  unit: z.enum(['days', 'working-days', 'hours']),
});
export type ResponseTime = z.infer<typeof ResponseTime>;

export const RightDecl = z.strictObject({
  right: RightKind,
  channels: z.array(z.strictObject({ kind: ChannelKind, detail: Text.optional() })).min(1),
  responseTime: ResponseTime.optional(),
  /** Conditions the policy sets on the right (e.g. deletion only when the operator broke the law). */
  conditions: Text.optional(),
  /** What the person must provide to verify identity. */
  verification: z.array(Id).optional(),
  note: Text.optional(),
});
export type RightDecl = z.infer<typeof RightDecl>;

export const RightsDecl = z.strictObject({
  list: z.array(RightDecl),
  /** Default answer time for every right without its own. */
  responseTime: ResponseTime.optional(),
  /** External dispute route (court, regulator) (GBT-8.7). */
  externalDispute: Text.optional(),
  cancellation: z
    .strictObject({
      effect: z.enum(['immediate', 'after-review']).optional(),
      irreversibleWarning: z.boolean().optional(),
      afterwards: z.enum(['delete', 'anonymise', 'delete-or-anonymise']).optional(),
      /** Conditions that make cancellation hard (settled orders, no disputes …). */
      preconditions: z.array(Text).optional(),
      verification: z.array(Id).optional(),
    })
    .optional(),
  /** Withdrawal of consent is as easy as giving it; how. */
  withdrawal: Text.optional(),
});

export const SecurityMeasure = z.enum([
  'encryption-at-rest',
  'encryption-in-transit',
  'access-control',
  'masking',
  'de-identification',
  'firewall',
  'audit-logging',
  'staff-training',
  'confidentiality-rules',
  'incident-plan',
  'pia',
  'backup',
  'classification',
]);

export const SecurityDecl = z.strictObject({
  measures: z.array(SecurityMeasure),
  encryptionAtRest: z
    .strictObject({
      algorithm: z.string().min(1),
      /** `sensitive` = the sensitive categories, `all`, or a list of ids. */
      scope: z.union([z.enum(['sensitive', 'all']), z.array(Id)]),
    })
    .optional(),
  encryptionInTransit: z.string().min(1).optional(),
  note: Text.optional(),
  /** The policy disclaims liability for unauthorised access (PIPL-69). */
  liabilityDisclaimer: Text.optional(),
});

export const IncidentsDecl = z.strictObject({
  channels: z.array(z.enum(['email', 'letter', 'phone', 'push', 'sms', 'announcement', 'in-app'])).min(1),
  content: z
    .array(z.enum(['what-happened', 'impact', 'categories', 'cause', 'measures', 'self-protection', 'remedies', 'contact']))
    .optional(),
  reportsToRegulator: z.boolean().optional(),
});

export const StorageDecl = z.strictObject({
  location: z.string().min(2).optional(),
  retention: Text.optional(),
  crossBorder: z
    .array(
      z.strictObject({
        recipient: Id.optional(),
        country: z.string().min(2),
        categories: z.array(Id).min(1),
        route: z.enum(['security-assessment', 'certification', 'standard-contract', 'other-law']).optional(),
        separateConsent: z.boolean().optional(),
      }),
    )
    .optional(),
});

export const DisclosureDecl = z.strictObject({
  /** Public disclosure of PI happens; with separate consent? (PIPL-25) */
  public: z.strictObject({ occurs: z.boolean(), separateConsent: z.boolean().optional(), conditions: z.array(Text).optional() }).optional(),
  transfer: z
    .strictObject({ occurs: z.boolean(), notifyRecipientName: z.boolean().optional(), conditions: z.array(Text).optional() })
    .optional(),
  exceptions: z.array(Text).optional(),
});

export const ConsentModelDecl = z.strictObject({
  /** "Using the service means you agree" (PIPL-14 says this is not consent). */
  impliedByUse: z.boolean().optional(),
  /** A first-launch dialog shows the policy before any collection (MIIT-1, MIIT-3). */
  firstLaunchDialog: z.boolean().optional(),
  preTicked: z.boolean().optional(),
  /** Consent to future changes given in advance. */
  acceptsFutureChanges: z.boolean().optional(),
  /** Refusing any part means the service cannot be used (PIPL-16). */
  refuseAllOrNothing: z.boolean().optional(),
  /** Minimum hours before asking again after a refusal (GBT-5.3). */
  reaskAfterHours: z.number().int().nonnegative().optional(),
});

export const ChangesDecl = z.strictObject({
  notification: z.array(z.enum(['in-app', 'push', 'email', 'sms', 'website', 'pop-up'])).optional(),
  materialChangeNotice: z.boolean().optional(),
  /** Rights are not reduced without explicit consent. */
  noReductionWithoutConsent: z.boolean().optional(),
});

export const ErasureStrategy = z.enum(['delete-row', 'set-null', 'mask', 'hash', 'generalise', 'legal-hold', 'keep']);
export type ErasureStrategy = z.infer<typeof ErasureStrategy>;

export const DatasetTable = z.strictObject({
  name: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$/, 'must be a table name'),
  /** How to find the subject: a column holding the subject key, or a join from another table. */
  subject: z.union([
    z.strictObject({ column: z.string().min(1), key: z.enum(['subject-id', 'external-id', 'phone', 'email']).default('external-id') }),
    z.strictObject({
      via: z.string().min(1),
      column: z.string().min(1),
      references: z.string().min(1),
    }),
  ]),
  primaryKey: z.string().min(1).default('id'),
  /** Column -> category id. */
  fields: z.record(z.string(), Id),
  erasure: z.strictObject({
    default: ErasureStrategy,
    columns: z.record(z.string(), ErasureStrategy).optional(),
  }),
  writable: z.array(z.string()).optional(),
  /**
   * Kept for a period the law requires, for `basis`: `columns` (omitted = the whole row) stay until
   * `period` after the date in column `from` (omitted = after the erasure); the rest is erased.
   */
  legalRetention: z
    .strictObject({ period: Duration, basis: Text, columns: z.array(z.string()).optional(), from: z.string().min(1).optional() })
    .optional(),
});
export type DatasetTable = z.infer<typeof DatasetTable>;

export const DatasetDecl = z.strictObject({
  id: Id,
  engine: z.enum(['postgres', 'mysql', 'sqlite', 'http', 'vault']),
  /** Name of the environment variable holding the connection URL (never the URL itself). */
  connectionEnv: z
    .string()
    .regex(/^[A-Z][A-Z0-9_]*$/, 'must be an environment variable name')
    .optional(),
  /** HTTP connector: environment variable holding the signing secret. Default `<connectionEnv>_SECRET`. */
  secretEnv: z
    .string()
    .regex(/^[A-Z][A-Z0-9_]*$/, 'must be an environment variable name')
    .optional(),
  description: Text.optional(),
  tables: z.array(DatasetTable).optional(),
  /** For the HTTP connector: which categories the endpoint holds. */
  categories: z.array(Id).optional(),
});
export type DatasetDecl = z.infer<typeof DatasetDecl>;

export const AppDecl = z.strictObject({
  id: Id,
  name: Text,
  products: z.array(z.strictObject({ name: Text, platforms: z.array(Platform).min(1), framework: z.string().optional() })).min(1),
  /** One of the 39 NEC types, or `none`. */
  type: z.string().min(1).optional(),
  basicFunction: Text.optional(),
  stateOrgan: z.boolean().default(false),
  publicAffairs: z.boolean().default(false),
  /** Order of magnitude of individuals whose PI is processed (PIPL-52). */
  individuals: z.number().int().nonnegative().optional(),
  website: Url.optional(),
});

export const ControllerDecl = z.strictObject({
  legalName: Text.optional(),
  /** Who runs the app when it is not the controller (technical support, copyright holder). */
  operatorNote: Text.optional(),
  registeredAddress: Text.optional(),
  officeAddress: Text.optional(),
  /** A contact address that the policy does not call registered or office (联系地址). */
  contactAddress: Text.optional(),
  phone: z.array(Phone).optional(),
  email: z.array(Email).optional(),
  /** 个人信息保护负责人 (DPO). */
  dpo: Contact.optional(),
  complaint: Text.optional(),
});

export const VersionDecl = z.strictObject({
  version: z.string().min(1),
  published: DateStr.optional(),
  effective: DateStr.optional(),
  summary: Text.optional(),
});

export const Declaration = z.strictObject({
  pipa: z.literal(1),
  app: AppDecl,
  controller: ControllerDecl,
  versions: z.array(VersionDecl).min(1),
  consent: ConsentModelDecl.optional(),
  categories: z.array(CategoryDecl).min(1),
  sources: z.array(SourceDecl).optional(),
  purposes: z.array(PurposeDecl).min(1),
  permissions: z.array(PermissionDecl).optional(),
  recipients: z.array(RecipientDecl).optional(),
  cookies: CookieDecl.optional(),
  minors: MinorsDecl.optional(),
  rights: RightsDecl.optional(),
  security: SecurityDecl.optional(),
  incidents: IncidentsDecl.optional(),
  storage: StorageDecl.optional(),
  disclosure: DisclosureDecl.optional(),
  changes: ChangesDecl.optional(),
  pia: z.strictObject({ done: z.boolean(), date: DateStr.optional(), scope: z.array(Text).optional() }).optional(),
  datasets: z.array(DatasetDecl).optional(),
});

export type Declaration = z.infer<typeof Declaration>;
export type DeclarationInput = z.input<typeof Declaration>;
