/**
 * Rights requests: the value sets, the state machine and the shapes the service, the routes and the
 * CLI share.
 *
 * ```
 *   received ──verify──▶ identity_verified ──plan──▶ in_progress ──(every task done)──▶ completed
 *      │                        │                        │
 *      ├──────────reject────────┴────────────────────────┴──▶ rejected (a reason the person sees, zh/en)
 *      └──────────cancel────────┴───────(staff only)─────┴──▶ cancelled
 * ```
 *
 * A request submitted with a subject token is verified by it (the operator's backend vouched for the
 * person) and goes on to `in_progress` in the same transaction; a request entered by staff waits in
 * `received` until a one-time code or a member of staff verifies it.
 */
import type { RightKind } from '@pipa/policy';

export const REQUEST_TYPES = [
  'access',
  'copy',
  'portability',
  'correction',
  'deletion',
  'account_cancellation',
  'consent_withdrawal',
  'explanation',
  'restriction',
] as const;
export type RequestType = (typeof REQUEST_TYPES)[number];

export const REQUEST_STATES = ['received', 'identity_verified', 'in_progress', 'completed', 'rejected', 'cancelled'] as const;
export type RequestState = (typeof REQUEST_STATES)[number];

export const OPEN_STATES: readonly RequestState[] = ['received', 'identity_verified', 'in_progress'];
export const CLOSED_STATES: readonly RequestState[] = ['completed', 'rejected', 'cancelled'];

/** Allowed moves. Anything else is a `conflict`. */
export const TRANSITIONS: Readonly<Record<RequestState, readonly RequestState[]>> = {
  received: ['identity_verified', 'rejected', 'cancelled'],
  identity_verified: ['in_progress', 'rejected', 'cancelled'],
  in_progress: ['completed', 'rejected', 'cancelled'],
  completed: [],
  rejected: [],
  cancelled: [],
};

export function isOpen(state: string): boolean {
  return (OPEN_STATES as readonly string[]).includes(state);
}

/** The declaration's right (`rights.list[].right`) each request type answers. */
export const RIGHT_OF_TYPE: Readonly<Record<RequestType, RightKind>> = {
  access: 'access',
  copy: 'copy',
  portability: 'portability',
  correction: 'correction',
  deletion: 'deletion',
  account_cancellation: 'cancellation',
  consent_withdrawal: 'withdrawal',
  explanation: 'explanation',
  restriction: 'restriction',
};

/** Types whose result is a package the person downloads. */
export const PACKAGE_TYPES: readonly RequestType[] = ['access', 'copy', 'portability', 'explanation'];

export const VERIFICATION_METHODS = ['token', 'code', 'staff'] as const;
export type VerificationMethod = (typeof VERIFICATION_METHODS)[number];

/** The categories a one-time code can be sent to, and the channel names the webhook receives. */
export const CODE_CHANNELS = { sms: 'contact.phone', email: 'contact.email' } as const;
export type CodeChannel = keyof typeof CODE_CHANNELS;

export const TASK_KINDS = ['freeze', 'collect', 'package', 'erase', 'correct', 'withdraw', 'notify', 'restrict', 'finish'] as const;
export type TaskKind = (typeof TASK_KINDS)[number];

export const TASK_STATES = ['queued', 'running', 'succeeded', 'failed', 'cancelled'] as const;
export type TaskState = (typeof TASK_STATES)[number];

/** Job kinds of the runner (one per task kind, plus the code sender and the deadline sweep). */
export const JOB_KIND = {
  task: 'rights.task',
  sendCode: 'rights.send-code',
  staffNotice: 'rights.staff-notice',
  sweep: 'rights.sweep',
} as const;

/** Where the deadline came from. */
export interface Deadline {
  value: number;
  unit: 'days' | 'working-days' | 'hours';
  /** `right`: the right's own response time; `rights`: the declaration's default; `law`: GB/T 35273 8.7 (30 days). */
  source: 'right' | 'rights' | 'law';
  /** The last day of the period (Shanghai date), set when the deadline was computed. */
  lastDay?: string;
  /** The calendar's assumptions (a year without holiday data). */
  warnings?: string[];
}

/** Text the person reads. */
export interface Bilingual {
  zh: string;
  en: string;
}

/** Why a request waits: the last failure of one of its tasks. Never personal information. */
export interface Waiting {
  task: string;
  kind: TaskKind;
  target: string;
  message: string;
  where: string | null;
  attempts: number;
  /** True: the runner tries again after a backoff; false: it will not (staff must retry, cancel or reject). */
  retrying: boolean;
  since: number;
}

export interface RequestTransition {
  seq: number;
  from: RequestState | null;
  to: RequestState;
  actor: string;
  reason: string | null;
  at: number;
}

export interface RightsTask {
  id: string;
  seq: number;
  kind: TaskKind;
  target: string;
  state: TaskState;
  dependsOn: string[];
  jobId: string | null;
  attempts: number;
  lastError: { message: string; where: string | null; at: number } | null;
  result: unknown;
  startedAt: number | null;
  finishedAt: number | null;
}

/** A request as staff and the person see it (no personal information: the correction values stay sealed). */
export interface RightsRequest {
  id: string;
  appId: string;
  subjectId: string;
  type: RequestType;
  state: RequestState;
  submittedBy: string;
  verification: VerificationMethod | null;
  verifiedAt: number | null;
  verifiedBy: string | null;
  verifyReason: string | null;
  receivedAt: number;
  dueAt: number;
  deadline: Deadline;
  remindAt: number | null;
  remindedAt: number | null;
  overdue: boolean;
  overdueAt: number | null;
  closedAt: number | null;
  rejection: { code: string; reason: Bilingual } | null;
  payload: RequestPayload;
  waiting: Waiting | null;
  result: unknown;
  createdAt: number;
  updatedAt: number;
}

/** Non-personal parameters of a request. */
export interface RequestPayload {
  /** consent_withdrawal: purposes (null recipient) and purpose/recipient pairs. */
  withdraw?: { purpose: string; recipient?: string | null }[];
  /** correction: the categories corrected (the values are sealed). */
  corrections?: string[];
  /** account_cancellation / deletion: collect a copy first (erasure runs after the package is built). */
  exportFirst?: boolean;
  /** account_cancellation: the person confirmed the irreversible warning. */
  confirmedIrreversible?: boolean;
}
