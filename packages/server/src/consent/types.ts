/**
 * Types of the consent ledger's in-memory side: the events the ledger records, the per-purpose
 * state the projection keeps, and the decision request and answer. Design: docs/decisions.md.
 */

export const CONSENT_ACTIONS = ['grant', 'withdraw', 'deny'] as const;
export type ConsentAction = (typeof CONSENT_ACTIONS)[number];

/** Who gave the consent: the person, a guardian for a minor, or the operator's backend through the API. */
export const CONSENT_METHODS = ['user', 'guardian', 'api'] as const;
export type ConsentMethod = (typeof CONSENT_METHODS)[number];

export interface GuardianInfo {
  name?: string;
  /** Relation to the minor (父母, 监护人 …). */
  relation?: string;
  /** Hash of the evidence that the guardian is the guardian. */
  evidenceHash?: string;
}

/**
 * One entry of the consent ledger (the `consent_events` table without its chain columns). A grant,
 * withdrawal or refusal by one subject, for one purpose, optionally for the provision of the purpose's
 * data to one recipient.
 */
export interface ConsentEvent {
  /** `cev_…` */
  id: string;
  appId: string;
  /** Account subject (`sub_…`) or a device subject that consents before an account exists. */
  subjectId: string;
  purpose: string;
  /** Absent: consent to the purpose itself. Present: consent to providing the purpose's data to this recipient. */
  recipient?: string;
  action: ConsentAction;
  /** The consent was given separately (单独同意), not bundled with the policy as a whole. */
  separate: boolean;
  method: ConsentMethod;
  guardian?: GuardianInfo;
  /** The declaration version the person saw. */
  policyVersion: string;
  evidenceHash?: string;
  /** When the ledger recorded it, ms since the epoch. */
  at: number;
}

/** The latest state of one (subject, purpose, recipient | none) in the projection. */
export interface ConsentState {
  action: ConsentAction;
  separate: boolean;
  method: ConsentMethod;
  policyVersion: string;
  at: number;
}

export const SUBJECT_STATUSES = ['active', 'frozen', 'erased'] as const;
/** `frozen`: cancellation requested (processing stops at once); `erased`: the subject's data is gone. */
export type SubjectStatus = (typeof SUBJECT_STATUSES)[number];

export interface SubjectInfo {
  status: SubjectStatus;
  /** `YYYY-MM-DD`; absent = unknown; `null` in `setSubject` clears it. */
  birthDate?: string | null;
}

export interface DecisionRequest {
  subject: string;
  purpose: string;
  categories: readonly string[];
  recipient?: string;
}

/** What the app has to ask the person for before asking again. */
export const DECISION_NEEDS = ['consent', 'separate-consent', 'guardian-consent', 'reconsent'] as const;
export type DecisionNeeds = (typeof DECISION_NEEDS)[number];

export const REASON_CODES = [
  'purpose.undeclared',
  'category.undeclared-for-purpose',
  'recipient.undeclared',
  'recipient.purpose-not-declared',
  'recipient.category-not-declared',
  'subject.erased',
  'subject.frozen',
  'consent.missing',
  'consent.withdrawn',
  'consent.denied',
  'consent.reconsent-required',
  'consent.guardian-required',
  'consent.separate-required',
  'consent.granted',
  'basis.contract',
  'basis.legal-duty',
  'basis.public-health-emergency',
  'basis.news-public-interest',
  'basis.public-data',
  'basis.other-law',
] as const;
/** Stable, machine-readable: add new codes, never rename one. */
export type ReasonCode = (typeof REASON_CODES)[number];

export interface Reason {
  readonly code: ReasonCode;
  readonly zh: string;
  readonly en: string;
}

/**
 * The answer. Decisions are interned per compiled policy and frozen: the same outcome for the same
 * purpose, recipient and category is the same object, so deciding allocates nothing.
 */
export interface Decision {
  readonly allow: boolean;
  readonly reason: Reason;
  /** JSON paths into the declaration that the decision rests on (`$.purposes[2]`, `$.recipients[1].consent`). */
  readonly clause: readonly string[];
  /** On a deny the app can cure by asking the person: what to ask for. */
  readonly needs?: DecisionNeeds;
  /** The requested category a category rule (or the sensitive-data rule) failed on. */
  readonly category?: string;
}
