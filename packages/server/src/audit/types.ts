/**
 * The audit event. One shape for every kind of event (DESIGN.md "Audit"): reads of plain personal
 * information, writes, decisions, disclosures, rights-request steps, admin actions.
 *
 * High-volume kinds are recorded as aggregates in the same shape: an event whose `count` is n stands
 * for n events of one kind, e.g. decisions counted per minute:
 *
 *   { actor: 'key_x', action: 'decision.aggregate', appId: 'app', purpose: 'push', categories: ['device.id.oaid'],
 *     outcome: 'denied', count: 37, details: { window: { from: 1718000000000, to: 1718000060000 },
 *     reasons: { 'consent.missing': 30, 'consent.withdrawn': 7 } } }
 *
 * `SUM(count)` grouped by action and outcome then counts decisions whether or not they were sampled.
 */

/** `ok`: done (or allowed); `denied`: refused by a rule, a decision or an authorisation check; `failed`: attempted and failed. */
export const AUDIT_OUTCOMES = ['ok', 'denied', 'failed'] as const;
export type AuditOutcome = (typeof AUDIT_OUTCOMES)[number];

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** What a caller records. */
export interface AuditEventInput {
  /** Who: `key_…` (API key), `user:<id>` (console user), `subject` (the person, through a subject token), `system`, `job:<kind>`. */
  actor: string;
  /** What, dotted lower case: `vault.read`, `vault.write`, `consent.grant`, `decision`, `rights.step`, `policy.publish` … */
  action: string;
  appId?: string | null;
  /** The subject's raw id; the log stores only its pseudonym (needs `pseudonymise`). */
  subject?: string | null;
  /** The subject's audit pseudonym (`psn_…`), when the caller already has it. */
  subjectPseudonym?: string | null;
  /** Categories of personal information concerned (taxonomy ids). Stored sorted and unique. */
  categories?: readonly string[];
  /** Why (the declared purpose id). */
  purpose?: string | null;
  /** Default `ok`. */
  outcome?: AuditOutcome;
  /** Events this one stands for (aggregates). Default 1. */
  count?: number;
  requestId?: string | null;
  /** Anything else worth keeping, as JSON. Never personal information: ids, field names, reasons. */
  details?: JsonValue;
}

/** A recorded event, as read back. */
export interface AuditEvent {
  seq: number;
  /** ms since the epoch. */
  at: number;
  actor: string;
  action: string;
  appId: string | null;
  subjectPseudonym: string | null;
  categories: string[];
  purpose: string | null;
  outcome: string;
  count: number;
  requestId: string | null;
  details: JsonValue | null;
  prevHash: string;
  hash: string;
}

/** The chain fields exactly as stored (JSON columns as their canonical text); what the hash covers. */
export interface AuditRecord {
  seq: number;
  at: number;
  actor: string;
  action: string;
  app_id: string | null;
  subject_pseudonym: string | null;
  categories: string;
  purpose: string | null;
  outcome: string;
  count: number;
  request_id: string | null;
  details: string | null;
  prev_hash: string;
  hash: string;
}

/** Anything with a `now()` in ms since the epoch. */
export interface Clock {
  now(): number;
}
