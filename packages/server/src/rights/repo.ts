/**
 * Rows of the rights tables and the state machine's one write path: `transition` checks the move
 * against `TRANSITIONS`, changes the row only if it is still in the expected state (a concurrent
 * change loses), numbers the transition and appends the audit event, all in the caller's transaction.
 */
import type { Kysely } from 'kysely';
import type { AuditLog } from '../audit/audit-log.js';
import { PipaError } from '../errors.js';
import type { Row, RowUpdate, Schema } from '../store/schema.js';
import {
  type Deadline,
  isOpen,
  REQUEST_STATES,
  REQUEST_TYPES,
  type RequestPayload,
  type RequestState,
  type RequestTransition,
  type RequestType,
  type RightsRequest,
  type RightsTask,
  TASK_KINDS,
  TASK_STATES,
  type TaskKind,
  type TaskState,
  TRANSITIONS,
  VERIFICATION_METHODS,
  type VerificationMethod,
  type Waiting,
} from './types.js';

const num = (v: number | string | bigint): number => Number(v);
const numOrNull = (v: number | string | bigint | null): number | null => (v === null ? null : Number(v));

function parseJson<T>(text: string | null, fallback: T): T {
  if (text === null) return fallback;
  try {
    return JSON.parse(typeof text === 'string' ? text : JSON.stringify(text)) as T;
  } catch {
    return fallback;
  }
}

function oneOf<T extends string>(values: readonly T[], v: string, what: string): T {
  if ((values as readonly string[]).includes(v)) return v as T;
  throw new PipaError('internal', `stored ${what} ${JSON.stringify(v)} is unknown`);
}

export function requestFromRow(r: Row<'rights_requests'>, now: number): RightsRequest {
  const dueAt = num(r.due_at);
  const closedAt = numOrNull(r.closed_at);
  const open = isOpen(r.state);
  return {
    id: r.id,
    appId: r.app_id,
    subjectId: r.subject_id,
    type: oneOf(REQUEST_TYPES, r.type, 'request type'),
    state: oneOf(REQUEST_STATES, r.state, 'request state'),
    submittedBy: r.submitted_by,
    verification: r.verification === null ? null : oneOf(VERIFICATION_METHODS, r.verification, 'verification'),
    verifiedAt: numOrNull(r.verified_at),
    verifiedBy: r.verified_by,
    verifyReason: r.verify_reason,
    receivedAt: num(r.received_at),
    dueAt,
    deadline: parseJson<Deadline>(r.deadline, { value: 0, unit: 'days', source: 'law' }),
    remindAt: numOrNull(r.remind_at),
    remindedAt: numOrNull(r.reminded_at),
    // Overdue: still open after the deadline, or closed after it.
    overdue: open ? now >= dueAt : closedAt !== null && closedAt > dueAt,
    overdueAt: numOrNull(r.overdue_at),
    closedAt,
    rejection:
      r.reject_code === null ? null : { code: r.reject_code, reason: { zh: r.reject_zh ?? '', en: r.reject_en ?? r.reject_zh ?? '' } },
    payload: parseJson<RequestPayload>(r.payload, {}),
    waiting: parseJson<Waiting | null>(r.waiting, null),
    result: parseJson<unknown>(r.result, null),
    createdAt: num(r.created_at),
    updatedAt: num(r.updated_at),
  };
}

export function taskFromRow(r: Row<'rights_tasks'>): RightsTask {
  return {
    id: r.id,
    seq: num(r.seq),
    kind: oneOf<TaskKind>(TASK_KINDS, r.kind, 'task kind'),
    target: r.target,
    state: oneOf<TaskState>(TASK_STATES, r.state, 'task state'),
    dependsOn: parseJson<string[]>(r.depends_on, []),
    jobId: r.job_id,
    attempts: num(r.attempts),
    lastError: parseJson<RightsTask['lastError']>(r.last_error, null),
    result: parseJson<unknown>(r.result, null),
    startedAt: numOrNull(r.started_at),
    finishedAt: numOrNull(r.finished_at),
  };
}

export async function getRequestRow(db: Kysely<Schema>, id: string): Promise<Row<'rights_requests'> | undefined> {
  return db.selectFrom('rights_requests').selectAll().where('id', '=', id).executeTakeFirst();
}

/** The request of that app, or `not_found` (also when it belongs to another app: ids are not an oracle). */
export async function requireRequestRow(db: Kysely<Schema>, appId: string, id: string): Promise<Row<'rights_requests'>> {
  const row = await getRequestRow(db, id);
  if (row === undefined || row.app_id !== appId) {
    throw new PipaError('not_found', `no rights request ${id} in app ${appId}`, [
      { path: 'request', message: `未找到请求 ${id} / no request ${id}` },
    ]);
  }
  return row;
}

export async function listTransitions(db: Kysely<Schema>, requestId: string): Promise<RequestTransition[]> {
  const rows = await db.selectFrom('rights_transitions').selectAll().where('request_id', '=', requestId).orderBy('seq', 'asc').execute();
  return rows.map((r) => ({
    seq: num(r.seq),
    from: r.from_state === null ? null : oneOf(REQUEST_STATES, r.from_state, 'state'),
    to: oneOf(REQUEST_STATES, r.to_state, 'state'),
    actor: r.actor,
    reason: r.reason,
    at: num(r.at),
  }));
}

export async function listTasks(db: Kysely<Schema>, requestId: string): Promise<RightsTask[]> {
  const rows = await db.selectFrom('rights_tasks').selectAll().where('request_id', '=', requestId).orderBy('seq', 'asc').execute();
  return rows.map(taskFromRow);
}

/** The audit action of arriving in a state. */
export const STATE_ACTION: Readonly<Record<RequestState, string>> = {
  received: 'rights.received',
  identity_verified: 'rights.verified',
  in_progress: 'rights.started',
  completed: 'rights.completed',
  rejected: 'rights.rejected',
  cancelled: 'rights.cancelled',
};

export interface TransitionInput {
  to: RequestState;
  actor: string;
  /** Recorded with the transition (a code or staff's reason; never personal information). */
  reason?: string | null;
  at: number;
  /** Other columns to set in the same update. */
  set?: RowUpdate<'rights_requests'>;
  /** Extra audit details. */
  details?: Record<string, string | number | boolean | null>;
  httpRequestId?: string | null;
}

/**
 * Move `row` to `input.to`. Throws `conflict` when the move is not allowed or the row changed state
 * in the meantime. Returns the updated row.
 */
export async function transition(
  trx: Kysely<Schema>,
  audit: AuditLog,
  row: Row<'rights_requests'>,
  input: TransitionInput,
): Promise<Row<'rights_requests'>> {
  const from = oneOf(REQUEST_STATES, row.state, 'state');
  if (!TRANSITIONS[from].includes(input.to)) {
    throw new PipaError('conflict', `request ${row.id} is ${from} and cannot become ${input.to}`, [
      {
        path: 'state',
        message: `请求当前状态为 ${from}，不能变为 ${input.to} / the request is ${from} and cannot become ${input.to}`,
        state: from,
      },
    ]);
  }
  const closing = !isOpen(input.to);
  const set: RowUpdate<'rights_requests'> = {
    ...input.set,
    state: input.to,
    updated_at: input.at,
    ...(closing ? { open_key: null, closed_at: input.at, waiting: null, remind_at: null } : {}),
  };
  const updated = await trx
    .updateTable('rights_requests')
    .set(set)
    .where('id', '=', row.id)
    .where('state', '=', from)
    .returningAll()
    .executeTakeFirst();
  if (updated === undefined) {
    throw new PipaError('conflict', `request ${row.id} changed state meanwhile; reload it`, [
      { path: 'state', message: '请求状态已被其他操作改变，请刷新 / the request changed meanwhile; reload it' },
    ]);
  }
  const last = await trx
    .selectFrom('rights_transitions')
    .select((eb) => eb.fn.max('seq').as('seq'))
    .where('request_id', '=', row.id)
    .executeTakeFirst();
  const seq = (last?.seq === null || last?.seq === undefined ? 0 : Number(last.seq)) + 1;
  await trx
    .insertInto('rights_transitions')
    .values({
      request_id: row.id,
      seq,
      from_state: from,
      to_state: input.to,
      actor: input.actor,
      reason: input.reason ?? null,
      at: input.at,
    })
    .execute();
  await audit.append(trx, {
    actor: input.actor,
    action: STATE_ACTION[input.to],
    appId: row.app_id,
    subject: row.subject_id,
    requestId: input.httpRequestId ?? null,
    details: { request: row.id, type: row.type, from, to: input.to, ...(input.reason ? { reason: input.reason } : {}), ...input.details },
  });
  return updated;
}

export interface ListQuery {
  appId?: string;
  subjectId?: string;
  states?: readonly RequestState[];
  types?: readonly RequestType[];
  /** Only requests past their deadline (open ones now, closed ones closed late). */
  overdue?: boolean;
  /** Only open requests due before this time (ms). */
  dueBefore?: number;
  /** Only requests waiting on a failed task. */
  waiting?: boolean;
  /** Page: requests received before this one (id of the last request of the previous page). */
  after?: string;
  /** Default 50, at most 500. */
  limit?: number;
}

export async function listRequestRows(db: Kysely<Schema>, query: ListQuery, now: number): Promise<Row<'rights_requests'>[]> {
  const limit = Math.min(Math.max(query.limit ?? 50, 1), 500);
  let q = db.selectFrom('rights_requests').selectAll();
  if (query.appId !== undefined) q = q.where('app_id', '=', query.appId);
  if (query.subjectId !== undefined) q = q.where('subject_id', '=', query.subjectId);
  if (query.states !== undefined && query.states.length > 0) q = q.where('state', 'in', [...query.states]);
  if (query.types !== undefined && query.types.length > 0) q = q.where('type', 'in', [...query.types]);
  if (query.overdue === true) {
    q = q.where((eb) =>
      eb.or([
        eb.and([eb('closed_at', 'is', null), eb('due_at', '<=', now)]),
        eb.and([eb('closed_at', 'is not', null), eb('closed_at', '>', eb.ref('due_at'))]),
      ]),
    );
  } else if (query.overdue === false) {
    q = q.where((eb) =>
      eb.or([
        eb.and([eb('closed_at', 'is', null), eb('due_at', '>', now)]),
        eb.and([eb('closed_at', 'is not', null), eb('closed_at', '<=', eb.ref('due_at'))]),
      ]),
    );
  }
  if (query.dueBefore !== undefined) q = q.where('closed_at', 'is', null).where('due_at', '<', query.dueBefore);
  if (query.waiting === true) q = q.where('waiting', 'is not', null);
  if (query.after !== undefined) {
    const cursor = await db.selectFrom('rights_requests').select(['received_at', 'id']).where('id', '=', query.after).executeTakeFirst();
    if (cursor !== undefined) {
      const at = num(cursor.received_at);
      q = q.where((eb) => eb.or([eb('received_at', '<', at), eb.and([eb('received_at', '=', at), eb('id', '<', cursor.id)])]));
    }
  }
  return q.orderBy('received_at', 'desc').orderBy('id', 'desc').limit(limit).execute();
}

/** Verification methods accepted by the routes. */
export function isVerificationMethod(v: string): v is VerificationMethod {
  return (VERIFICATION_METHODS as readonly string[]).includes(v);
}
