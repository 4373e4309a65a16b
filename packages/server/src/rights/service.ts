/**
 * The rights service: a person's requests (access, copy, portability, correction, deletion, account
 * cancellation, consent withdrawal, explanation, restriction) from submission to completion, inside
 * the deadline the declaration promises. Design: docs/rights.md.
 *
 * - Submission checks the subject, the payload against the declaration, and that the person has no
 *   open request of the same type (409 with the existing id; a unique index makes it hold under
 *   concurrent submissions). The deadline is fixed at receipt and keeps running whatever happens.
 * - Verification: a subject token (the operator's backend vouched for the person), a one-time code
 *   delivered by the operator's webhook to a phone or e-mail the person already gave, or staff with a
 *   recorded reason. A verified request is planned (plan.ts) and its tasks enqueued on the durable job
 *   runner in the same transaction; account cancellation and restriction freeze the subject in that
 *   transaction too, so decisions deny from that moment.
 * - Every transition, task outcome, code, download and webhook is an audit event (ids, never values).
 */
import { createHash, createHmac, randomBytes, randomInt, timingSafeEqual } from 'node:crypto';
import type { Declaration } from '@pipa/policy';
import type { Kysely } from 'kysely';
import { type ErrorDetail, PipaError, pathStep, shownId } from '../errors.js';
import { isJobError } from '../jobs/errors.js';
import type { JobHandlers } from '../jobs/runner.js';
import type { ServiceContext } from '../service/context.js';
import type { Row, Schema } from '../store/schema.js';
import { withTransaction } from '../store/transaction.js';
import { refreshAfterCommit } from '../subjects/index.js';
import { vaultValueProblem } from '../vault/service.js';
import type { ReminderSpec } from './calendar.js';
import { deadlineOf, scheduleOf } from './deadline.js';
import { createEgressPolicy, createGuardedFetch, WEBHOOK_ALLOW_ENV } from './egress.js';
import { createTaskExecutor, type DryRunResult } from './executor.js';
import {
  consentsOf,
  newId,
  newRequestKey,
  RIGHTS_SECRETS,
  recipientsToNotify,
  requireDeclaredCategory,
  rightsSecret,
  seal,
  subjectGroup,
  unseal,
} from './internal.js';
import { buildPlan } from './plan.js';
import type { RightsActor, RightsDeps } from './ports.js';
import {
  getRequestRow,
  type ListQuery,
  listRequestRows,
  listTasks,
  listTransitions,
  requestFromRow,
  requireRequestRow,
  transition,
} from './repo.js';
import {
  type Bilingual,
  CODE_CHANNELS,
  type CodeChannel,
  isOpen,
  JOB_KIND,
  PACKAGE_TYPES,
  type RequestPayload,
  type RequestTransition,
  type RequestType,
  type RightsRequest,
  type RightsTask,
} from './types.js';
import { checkWebhookUrl, deliverWebhook } from './webhook.js';

export interface RightsOptions {
  /** A verification code is valid this long. Default 10 minutes. */
  codeTtlMs?: number;
  /** Wrong codes before a new one is needed. Default 5. */
  codeMaxAttempts?: number;
  /** Codes sent per request at most. Default 5. */
  codeMaxSends?: number;
  /** A download link is valid this long. Default 24 hours. */
  downloadTtlMs?: number;
  /** The package (and the request key) is shredded this long after the request completed. Default 7 days. */
  packageRetentionMs?: number;
  /** When staff are reminded of an open request (rights/calendar.ts). Default: half-way, and the morning of the last working day. */
  reminders?: readonly ReminderSpec[];
  /** Attempts per task before it needs staff. Default 8. */
  taskMaxAttempts?: number;
  /** One attempt of a task may take this long. Default 10 minutes. */
  taskTimeoutMs?: number;
  /** Per webhook attempt. Default 10 s. */
  webhookTimeoutMs?: number;
  /**
   * Networks beyond the public internet that webhooks may reach (CIDRs or addresses, egress.ts).
   * Default: the environment's `PIPA_WEBHOOK_ALLOW_NETWORKS`, else none.
   */
  webhookAllowNetworks?: string | readonly string[];
  /** The scheduled sweep (reminders, overdue flags, package shredding) runs this often. Default 15 minutes. */
  sweepIntervalMs?: number;
  /** Environment the connectors read their connection variables from. Default `process.env`. */
  env?: Readonly<Record<string, string | undefined>>;
  /** Random bytes (ids, tokens). Default the CSPRNG. */
  random?: (n: number) => Buffer;
}

export interface SubmitInput {
  appId: string;
  subjectId: string;
  type: RequestType;
  /** consent_withdrawal: what to withdraw (empty or absent: everything granted). */
  withdraw?: readonly { purpose: string; recipient?: string | null }[];
  /** correction: new values by category. */
  corrections?: Readonly<Record<string, string>>;
  /** deletion / account_cancellation: build a copy first. */
  exportFirst?: boolean;
  /** account_cancellation: the person confirmed the irreversible warning. */
  confirmIrreversible?: boolean;
  /** `token`: the person, through a subject token (verified by it). `staff`: entered by staff, verified later. */
  via: 'token' | 'staff';
  actor: RightsActor;
}

export interface RequestDetail {
  request: RightsRequest;
  tasks: RightsTask[];
  transitions: RequestTransition[];
}

export interface CodeRequestResult {
  requestId: string;
  channel: CodeChannel;
  /** How many codes were sent for this request (this one included). */
  sends: number;
  maxSends: number;
}

export interface DownloadLink {
  token: string;
  /** Path of the download route (`GET`), relative to the server's base URL. */
  path: string;
  expiresAt: number;
}

export interface WebhookInfo {
  kind: 'verification' | 'staff' | 'recipient';
  recipient: string | null;
  url: string;
  createdAt: number;
  updatedAt: number;
}

export interface SweepResult {
  reminded: number;
  overdue: number;
  shredded: number;
}

export interface RightsService {
  submit(input: SubmitInput): Promise<RequestDetail>;
  get(appId: string, requestId: string): Promise<RequestDetail>;
  /** Any app's request (the operator's CLI, which holds the database anyway). */
  find(requestId: string): Promise<RequestDetail | undefined>;
  list(query: ListQuery): Promise<RightsRequest[]>;
  /** Staff verification with a recorded reason; the request starts at once. */
  verifyByStaff(appId: string, requestId: string, reason: string, actor: RightsActor): Promise<RequestDetail>;
  /** Send a one-time code through the operator's verification webhook. */
  requestCode(appId: string, requestId: string, channel: CodeChannel, actor: RightsActor): Promise<CodeRequestResult>;
  /** The person enters the code; the request is verified and starts. */
  confirmCode(appId: string, requestId: string, code: string, actor: RightsActor): Promise<RequestDetail>;
  reject(appId: string, requestId: string, rejection: { code: string; reason: Bilingual }, actor: RightsActor): Promise<RequestDetail>;
  /** The person (before the work started, or for a request that erases nothing) or staff. */
  cancel(appId: string, requestId: string, actor: RightsActor & { staff: boolean }, reason?: string): Promise<RequestDetail>;
  /** Staff: run the tasks that need staff (dead after their attempts) again. Returns the tasks requeued. */
  retry(appId: string, requestId: string, actor: RightsActor): Promise<string[]>;
  /** What the request would touch, touching nothing. */
  dryRun(appId: string, requestId: string, actor: RightsActor): Promise<DryRunResult>;
  createDownloadLink(appId: string, requestId: string, actor: RightsActor): Promise<DownloadLink>;
  /** The one-time download: the package (a ZIP). */
  download(token: string, actor: RightsActor): Promise<{ requestId: string; filename: string; body: Buffer }>;
  setWebhook(
    appId: string,
    kind: WebhookInfo['kind'],
    recipient: string | null,
    url: string,
    actor: RightsActor,
  ): Promise<WebhookInfo & { secret: string }>;
  listWebhooks(appId: string): Promise<WebhookInfo[]>;
  deleteWebhook(appId: string, kind: WebhookInfo['kind'], recipient: string | null, actor: RightsActor): Promise<void>;
  /**
   * End a restriction (PIPL 44): the subject frozen by a completed restriction request becomes active
   * again. Refused while an account cancellation of the subject is open.
   */
  liftRestriction(appId: string, subjectId: string, reason: string, actor: RightsActor): Promise<void>;
  /** Reminders, overdue flags, shredding of expired packages. */
  sweep(now?: number): Promise<SweepResult>;
  /** Enqueue the recurring sweep job (idempotent). */
  scheduleSweep(): Promise<void>;
  /** The job handlers to give the runner. */
  readonly handlers: JobHandlers;
}

const CANCELLATION_WARNING: Bilingual = {
  zh: '注销帐号不可恢复：注销后您的个人信息将被删除或匿名化处理，法律法规要求保存的信息除外；已完成的订单、资产和权益将无法找回。请确认后再次提交（confirmIrreversible: true）。',
  en: 'Cancelling the account cannot be undone: your personal information will be deleted or anonymised, except what the law requires us to keep; completed orders, assets and entitlements cannot be recovered. Confirm and submit again (confirmIrreversible: true).',
};

const MAX_CORRECTION_LENGTH = 1000;

export function createRightsService(ctx: ServiceContext, deps: RightsDeps, options: RightsOptions = {}): RightsService {
  const db = ctx.db;
  const random = options.random ?? randomBytes;
  const codeTtlMs = options.codeTtlMs ?? 10 * 60_000;
  const codeMaxAttempts = options.codeMaxAttempts ?? 5;
  const codeMaxSends = options.codeMaxSends ?? 5;
  const downloadTtlMs = options.downloadTtlMs ?? 24 * 3600_000;
  const packageRetentionMs = options.packageRetentionMs ?? 7 * 24 * 3600_000;
  const taskMaxAttempts = options.taskMaxAttempts ?? 8;
  const taskTimeoutMs = options.taskTimeoutMs ?? 10 * 60_000;
  const webhookTimeoutMs = options.webhookTimeoutMs ?? 10_000;
  const sweepIntervalMs = options.sweepIntervalMs ?? 15 * 60_000;
  const env = options.env ?? process.env;
  const egress = createEgressPolicy(options.webhookAllowNetworks ?? env[WEBHOOK_ALLOW_ENV] ?? []);
  const doFetch = deps.fetch ?? createGuardedFetch(egress);

  const detail = async (conn: Kysely<Schema>, row: Row<'rights_requests'>): Promise<RequestDetail> => ({
    request: requestFromRow(row, ctx.clock()),
    tasks: await listTasks(conn, row.id),
    transitions: await listTransitions(conn, row.id),
  });

  const declarationOf = (appId: string): Declaration => ctx.policies.require(appId).declaration;

  /**
   * After a commit that froze or unfroze the subject: apply it to this node's decision projection at
   * once (the subjects service's notification does it too, a tick later; other nodes by LISTEN/NOTIFY).
   * A failure to read it back does not fail the committed request (subjects/sync.ts refreshAfterCommit).
   */
  const applyStatus = async (request: { subjectId: string; type: RequestType }): Promise<void> => {
    if (request.type !== 'account_cancellation' && request.type !== 'restriction') return;
    await refreshAfterCommit(ctx, [request.subjectId]);
  };
  const applied = async (d: RequestDetail): Promise<RequestDetail> => {
    await applyStatus(d.request);
    return d;
  };

  // ------------------------------------------------------------------ submission

  function checkPayload(
    input: SubmitInput,
    declaration: Declaration,
  ): { payload: RequestPayload; corrections: Record<string, string> | null } {
    const payload: RequestPayload = {};
    let corrections: Record<string, string> | null = null;
    const notFor = (field: string) =>
      new PipaError('validation_failed', `${field} is not used by a ${input.type} request`, [
        { path: `$.body.${field}`, message: `${input.type} 请求不接受 ${field} / a ${input.type} request takes no ${field}` },
      ]);
    if (input.withdraw !== undefined && input.type !== 'consent_withdrawal') throw notFor('withdraw');
    if (input.corrections !== undefined && input.type !== 'correction') throw notFor('corrections');
    if (input.exportFirst !== undefined && input.type !== 'deletion' && input.type !== 'account_cancellation') throw notFor('exportFirst');
    if (input.confirmIrreversible !== undefined && input.type !== 'account_cancellation') throw notFor('confirmIrreversible');

    if (input.type === 'consent_withdrawal') {
      const items = input.withdraw ?? [];
      items.forEach((item, i) => {
        const purpose = declaration.purposes.find((p) => p.id === item.purpose);
        if (purpose === undefined) {
          throw new PipaError(
            'unknown_purpose',
            `$.body.withdraw[${i}].purpose: app ${declaration.app.id} declares no purpose ${shownId(item.purpose)}`,
            [
              {
                path: `$.body.withdraw[${i}].purpose`,
                message: `未声明的目的 ${shownId(item.purpose)} / undeclared purpose ${shownId(item.purpose)}`,
              },
            ],
          );
        }
        if (item.recipient !== undefined && item.recipient !== null) {
          const r = (declaration.recipients ?? []).find((x) => x.id === item.recipient);
          if (r === undefined || !r.purposes.includes(item.purpose)) {
            throw new PipaError(
              'unknown_recipient',
              `$.body.withdraw[${i}].recipient: recipient ${shownId(item.recipient)} is not declared for purpose ${item.purpose}`,
              [
                {
                  path: `$.body.withdraw[${i}].recipient`,
                  message: `接收方 ${shownId(item.recipient)} 未就该目的声明 / recipient not declared for this purpose`,
                },
              ],
            );
          }
        }
      });
      payload.withdraw = items.map((x) => ({ purpose: x.purpose, recipient: x.recipient ?? null }));
    }
    if (input.type === 'correction') {
      const entries = Object.entries(input.corrections ?? {});
      if (entries.length === 0) {
        throw new PipaError('validation_failed', '$.body.corrections: name at least one category to correct', [
          { path: '$.body.corrections', message: '至少更正一项 / correct at least one category' },
        ]);
      }
      // The vault's rule for each category (a mobile number, an ID number with its check character …):
      // a value the vault would refuse is refused now, not when the request runs.
      const policy = ctx.policies.require(input.appId);
      const now = ctx.clock();
      const problems: ErrorDetail[] = [];
      for (const [category, value] of entries) {
        const path = `$.body.corrections${pathStep(category)}`;
        requireDeclaredCategory(declaration, category, path);
        if (typeof value !== 'string' || value.trim() === '' || value.length > MAX_CORRECTION_LENGTH) {
          throw new PipaError('validation_failed', `${path}: must be a non-empty text of at most ${MAX_CORRECTION_LENGTH} characters`, [
            {
              path,
              message: `须为不超过 ${MAX_CORRECTION_LENGTH} 字的非空文本 / must be non-empty, at most ${MAX_CORRECTION_LENGTH} characters`,
            },
          ]);
        }
        const problem = vaultValueProblem(policy, category, value, path, now);
        if (problem !== undefined) problems.push(problem);
      }
      if (problems.length > 0) {
        const first = problems[0] as ErrorDetail;
        throw new PipaError(
          'validation_failed',
          problems.length === 1 ? `${first.path}: ${first.message}` : `${problems.length} corrections are not valid values`,
          problems,
        );
      }
      corrections = Object.fromEntries(entries);
      payload.corrections = entries.map(([c]) => c).sort();
    }
    if (input.type === 'deletion' || input.type === 'account_cancellation') {
      if (input.exportFirst === true) payload.exportFirst = true;
    }
    if (input.type === 'account_cancellation') {
      if (input.confirmIrreversible !== true) {
        const c = declaration.rights?.cancellation;
        const preconditions = (c?.preconditions ?? []).map((p) =>
          typeof p === 'string' ? { zh: p, en: p } : { zh: p.zh, en: p.en ?? p.zh },
        );
        throw new PipaError('precondition_failed', CANCELLATION_WARNING.en, [
          {
            path: '$.body.confirmIrreversible',
            message: `${CANCELLATION_WARNING.zh} / ${CANCELLATION_WARNING.en}`,
            warning: CANCELLATION_WARNING,
            preconditions,
            afterwards: c?.afterwards ?? 'delete-or-anonymise',
          },
        ]);
      }
      payload.confirmedIrreversible = true;
    }
    return { payload, corrections };
  }

  async function submit(input: SubmitInput): Promise<RequestDetail> {
    const declaration = declarationOf(input.appId);
    const subject = await deps.subjects.require(db, input.appId, input.subjectId);
    if (subject.status === 'erased') {
      throw new PipaError('conflict', `subject ${subject.id} is erased: there is nothing left to request`, [
        { path: 'subject', message: '该用户的个人信息已删除 / the subject has been erased' },
      ]);
    }
    const { payload, corrections } = checkPayload(input, declaration);
    const now = ctx.clock();
    const id = newId('rrq', random);
    const declared = deadlineOf(declaration, input.type);
    const schedule = scheduleOf(deps.calendar, now, declared, now, options.reminders);
    const deadline = { ...declared, lastDay: schedule.lastDay, ...(schedule.warnings.length > 0 ? { warnings: schedule.warnings } : {}) };
    const dueAt = schedule.dueAt;
    const keyWrapped = await newRequestKey(ctx, input.appId, id);
    const sealed =
      corrections === null
        ? null
        : await seal(ctx, input.appId, id, keyWrapped, 'corrections', Buffer.from(JSON.stringify(corrections), 'utf8'));
    const openKey = `${input.appId}|${input.subjectId}|${input.type}`;
    try {
      return await applied(
        await withTransaction(db, async (trx) => {
          const existing = await trx.selectFrom('rights_requests').select('id').where('open_key', '=', openKey).executeTakeFirst();
          if (existing !== undefined) throw duplicate(existing.id, input.type);
          let row = await trx
            .insertInto('rights_requests')
            .values({
              id,
              app_id: input.appId,
              subject_id: input.subjectId,
              type: input.type,
              state: 'received',
              open_key: openKey,
              submitted_by: input.actor.id,
              verification: null,
              verified_at: null,
              verified_by: null,
              verify_reason: null,
              received_at: now,
              due_at: dueAt,
              deadline: JSON.stringify(deadline),
              remind_at: schedule.nextReminder,
              reminded_at: null,
              overdue_at: null,
              closed_at: null,
              reject_code: null,
              reject_zh: null,
              reject_en: null,
              payload: JSON.stringify(payload),
              sealed,
              key_wrapped: keyWrapped,
              waiting: null,
              result: null,
              created_at: now,
              updated_at: now,
            })
            .returningAll()
            .executeTakeFirstOrThrow();
          await trx
            .insertInto('rights_transitions')
            .values({ request_id: id, seq: 1, from_state: null, to_state: 'received', actor: input.actor.id, reason: input.via, at: now })
            .execute();
          await ctx.audit.append(trx, {
            actor: input.actor.id,
            action: 'rights.received',
            appId: input.appId,
            subject: input.subjectId,
            categories: payload.corrections ?? [],
            requestId: input.actor.httpRequestId ?? null,
            details: {
              request: id,
              type: input.type,
              via: input.via,
              dueAt,
              deadline: `${deadline.value} ${deadline.unit} (${deadline.source})`,
            },
          });
          // Every open request has the deadline sweep ahead of it (it re-enqueues itself; the key makes this a no-op).
          await scheduleSweep(trx);
          if (input.via === 'token') {
            row = await transition(trx, ctx.audit, row, {
              to: 'identity_verified',
              actor: input.actor.id,
              reason: 'subject-token',
              at: now,
              set: { verification: 'token', verified_at: now, verified_by: input.actor.id },
              httpRequestId: input.actor.httpRequestId ?? null,
            });
            row = await start(trx, row, input.actor, now);
          }
          return detail(trx, row);
        }),
      );
    } catch (err) {
      if (err instanceof PipaError) throw err;
      // A concurrent submission won the unique index on open_key.
      const existing = await db.selectFrom('rights_requests').select('id').where('open_key', '=', openKey).executeTakeFirst();
      if (existing !== undefined) throw duplicate(existing.id, input.type);
      throw err;
    }
  }

  function duplicate(existingId: string, type: RequestType): PipaError {
    return new PipaError('conflict', `an open ${type} request of this subject exists: ${existingId}`, [
      { path: 'type', message: `已有处理中的同类请求 ${existingId} / an open request of this type exists: ${existingId}`, existingId },
    ]);
  }

  /** identity_verified -> in_progress: freeze where needed, plan, enqueue. In the caller's transaction. */
  async function start(trx: Kysely<Schema>, row: Row<'rights_requests'>, actor: RightsActor, now: number): Promise<Row<'rights_requests'>> {
    const declaration = declarationOf(row.app_id);
    const type = requestFromRow(row, now).type;
    const payload = requestFromRow(row, now).payload;
    if (type === 'account_cancellation' || type === 'restriction') {
      await deps.subjects.setStatus(trx, row.app_id, row.subject_id, 'frozen', { actor: actor.id, requestId: actor.httpRequestId ?? null });
    }
    const recipients =
      type === 'account_cancellation'
        ? recipientsToNotify(declaration, await consentsOf(trx, row.app_id, await subjectGroup(trx, row.app_id, row.subject_id)))
        : [];
    const plan = buildPlan({ type, payload, declaration, recipients });
    const ids = new Map<string, { taskId: string; jobId: string }>();
    let seq = 0;
    for (const spec of plan) {
      seq++;
      const taskId = newId('rtk', random);
      const after = spec.after.map((k) => {
        const dep = ids.get(k);
        if (dep === undefined) throw new PipaError('internal', `plan: ${spec.key} runs after unknown task ${k}`);
        return dep;
      });
      const { job } = await deps.queue.enqueue(trx, {
        kind: JOB_KIND.task,
        payload: { requestId: row.id, taskId },
        groupId: row.id,
        dedupeKey: `rights:${taskId}`,
        after: after.map((a) => a.jobId),
        maxAttempts: spec.kind === 'finish' ? 20 : taskMaxAttempts,
        timeoutMs: taskTimeoutMs,
        priority: type === 'account_cancellation' ? 10 : 0,
      });
      await trx
        .insertInto('rights_tasks')
        .values({
          id: taskId,
          request_id: row.id,
          seq,
          kind: spec.kind,
          target: spec.target,
          state: 'queued',
          depends_on: JSON.stringify(after.map((a) => a.taskId)),
          job_id: job.id,
          last_error: null,
          result: null,
          started_at: null,
          finished_at: null,
          created_at: now,
          updated_at: now,
        })
        .execute();
      ids.set(spec.key, { taskId, jobId: job.id });
    }
    return transition(trx, ctx.audit, row, {
      to: 'in_progress',
      actor: actor.id,
      at: now,
      details: { tasks: plan.length, ...(type === 'account_cancellation' || type === 'restriction' ? { frozen: true } : {}) },
      httpRequestId: actor.httpRequestId ?? null,
    });
  }

  // ------------------------------------------------------------------ verification

  async function verifyByStaff(appId: string, requestId: string, reason: string, actor: RightsActor): Promise<RequestDetail> {
    const text = reason.trim();
    if (text.length < 3 || text.length > 500) {
      throw new PipaError('validation_failed', '$.body.reason: staff verification needs a reason of 3 to 500 characters', [
        { path: '$.body.reason', message: '人工核验须记录 3 至 500 字的理由 / a reason of 3 to 500 characters is required' },
      ]);
    }
    return applied(
      await withTransaction(db, async (trx) => {
        let row = await requireRequestRow(trx, appId, requestId);
        const now = ctx.clock();
        row = await transition(trx, ctx.audit, row, {
          to: 'identity_verified',
          actor: actor.id,
          reason: text,
          at: now,
          set: { verification: 'staff', verified_at: now, verified_by: actor.id, verify_reason: text },
          httpRequestId: actor.httpRequestId ?? null,
        });
        row = await start(trx, row, actor, now);
        return detail(trx, row);
      }),
    );
  }

  async function codeHash(requestId: string, code: string): Promise<Buffer> {
    const key = await rightsSecret(ctx, RIGHTS_SECRETS.code);
    return createHmac('sha256', key).update(`${requestId}:${code}`, 'utf8').digest();
  }

  async function requestCode(appId: string, requestId: string, channel: CodeChannel, actor: RightsActor): Promise<CodeRequestResult> {
    const category = CODE_CHANNELS[channel];
    const declaration = declarationOf(appId);
    const row0 = await requireRequestRow(db, appId, requestId);
    if (row0.state !== 'received') {
      throw new PipaError('conflict', `request ${requestId} is ${row0.state}: only a received request is verified`, [
        { path: 'state', message: '该请求无需核验 / the request needs no verification', state: row0.state },
      ]);
    }
    // GB/T 35273 8.5: verify with what the app already holds, never ask for more.
    if (!declaration.categories.some((c) => c.id === category)) {
      throw new PipaError('precondition_failed', `app ${appId} does not collect ${category}: a code cannot be sent by ${channel}`, [
        {
          path: '$.body.channel',
          message: `应用未收集${channel === 'sms' ? '手机号' : '电子邮箱'}，不能以此核验 / the app does not collect ${category}`,
        },
      ]);
    }
    const held = await deps.vault.categories(db, appId, row0.subject_id);
    if (!held.includes(category)) {
      throw new PipaError('precondition_failed', `the subject has no ${category} on record: choose another channel or staff verification`, [
        {
          path: '$.body.channel',
          message: `该用户未留存${channel === 'sms' ? '手机号' : '电子邮箱'} / no ${category} on record for this subject`,
        },
      ]);
    }
    const hook = await db
      .selectFrom('rights_webhooks')
      .select('url')
      .where('app_id', '=', appId)
      .where('kind', '=', 'verification')
      .where('recipient', '=', '')
      .executeTakeFirst();
    if (hook === undefined) {
      throw new PipaError('precondition_failed', `app ${appId} has no verification webhook: configure one or verify by staff`, [
        { path: 'webhook', message: '未配置核验码发送地址 / no verification webhook is configured' },
      ]);
    }
    // The code itself is made by the sender job (so a retry sends a fresh one and nothing secret waits in
    // the queue); until then the stored hash matches no code.
    const placeholder = await codeHash(requestId, randomBytes(16).toString('hex'));
    return withTransaction(db, async (trx) => {
      const row = await requireRequestRow(trx, appId, requestId);
      if (row.state !== 'received') throw new PipaError('conflict', `request ${requestId} is ${row.state}`);
      const now = ctx.clock();
      const existing = await trx.selectFrom('rights_codes').selectAll().where('request_id', '=', requestId).executeTakeFirst();
      const sends = (existing?.sends ?? 0) + 1;
      if (sends > codeMaxSends) {
        throw new PipaError('rate_limited', `request ${requestId} has had ${codeMaxSends} codes: verify by staff`, [
          { path: 'code', message: `核验码发送次数已达上限 ${codeMaxSends} 次 / ${codeMaxSends} codes were sent already` },
        ]);
      }

      if (existing === undefined) {
        await trx
          .insertInto('rights_codes')
          .values({
            request_id: requestId,
            channel: category,
            code_hash: placeholder,
            expires_at: now,
            attempts: 0,
            max_attempts: codeMaxAttempts,
            sends,
            sent_at: now,
            consumed_at: null,
          })
          .execute();
      } else {
        await trx
          .updateTable('rights_codes')
          .set({ channel: category, code_hash: placeholder, expires_at: now, attempts: 0, sends, sent_at: now, consumed_at: null })
          .where('request_id', '=', requestId)
          .execute();
      }
      await deps.queue.enqueue(trx, {
        kind: JOB_KIND.sendCode,
        payload: { requestId, send: sends },
        groupId: requestId,
        dedupeKey: `rights:code:${requestId}:${sends}`,
        maxAttempts: 5,
        timeoutMs: webhookTimeoutMs * 2,
        priority: 50,
      });
      await ctx.audit.append(trx, {
        actor: actor.id,
        action: 'rights.code-requested',
        appId,
        subject: row.subject_id,
        categories: [category],
        requestId: actor.httpRequestId ?? null,
        details: { request: requestId, channel, send: sends },
      });
      return { requestId, channel, sends, maxSends: codeMaxSends };
    });
  }

  async function confirmCode(appId: string, requestId: string, code: string, actor: RightsActor): Promise<RequestDetail> {
    if (!/^\d{6}$/.test(code)) {
      throw new PipaError('validation_failed', '$.body.code: a code is six digits', [
        { path: '$.body.code', message: '核验码为 6 位数字 / a code is six digits' },
      ]);
    }
    const given = await codeHash(requestId, code);
    const outcome = await withTransaction(db, async (trx) => {
      let row = await requireRequestRow(trx, appId, requestId);
      const c = await trx.selectFrom('rights_codes').selectAll().where('request_id', '=', requestId).executeTakeFirst();
      const now = ctx.clock();
      if (row.state !== 'received' || c === undefined || c.consumed_at !== null) {
        throw new PipaError('conflict', `request ${requestId} has no code waiting`, [
          { path: 'code', message: '没有待核验的核验码 / no code is waiting' },
        ]);
      }
      if (c.attempts >= c.max_attempts) {
        throw new PipaError('rate_limited', 'too many wrong codes: ask for a new code', [
          { path: '$.body.code', message: '错误次数过多，请重新获取核验码 / too many wrong codes; ask for a new one' },
        ]);
      }
      if (Number(c.expires_at) <= now) {
        throw new PipaError('precondition_failed', 'the code has expired: ask for a new code', [
          { path: '$.body.code', message: '核验码已过期，请重新获取 / the code has expired; ask for a new one' },
        ]);
      }
      const stored = Buffer.from(c.code_hash);
      if (stored.length !== given.length || !timingSafeEqual(stored, given)) {
        await trx
          .updateTable('rights_codes')
          .set({ attempts: c.attempts + 1 })
          .where('request_id', '=', requestId)
          .execute();
        await ctx.audit.append(trx, {
          actor: actor.id,
          action: 'rights.code-rejected',
          appId,
          subject: row.subject_id,
          outcome: 'denied',
          requestId: actor.httpRequestId ?? null,
          details: { request: requestId, attempt: c.attempts + 1 },
        });
        return { wrong: true as const, left: c.max_attempts - c.attempts - 1 };
      }
      await trx.updateTable('rights_codes').set({ consumed_at: now }).where('request_id', '=', requestId).execute();
      row = await transition(trx, ctx.audit, row, {
        to: 'identity_verified',
        actor: actor.id,
        reason: 'one-time-code',
        at: now,
        set: { verification: 'code', verified_at: now, verified_by: actor.id },
        details: { channel: c.channel },
        httpRequestId: actor.httpRequestId ?? null,
      });
      row = await start(trx, row, actor, now);
      return { wrong: false as const, detail: await detail(trx, row) };
    });
    if (outcome.wrong) {
      throw new PipaError('forbidden', `wrong code; ${outcome.left} attempts left`, [
        {
          path: '$.body.code',
          message: `核验码错误，还可尝试 ${outcome.left} 次 / wrong code, ${outcome.left} attempts left`,
          attemptsLeft: outcome.left,
        },
      ]);
    }
    return applied(outcome.detail);
  }

  /** The code sender job: make a code, store its HMAC, post it to the operator. */
  async function sendCode(requestId: string, signal: AbortSignal): Promise<{ delivered: boolean; status?: number }> {
    const row = await getRequestRow(db, requestId);
    const c = await db.selectFrom('rights_codes').selectAll().where('request_id', '=', requestId).executeTakeFirst();
    if (row === undefined || c === undefined || row.state !== 'received' || c.consumed_at !== null) return { delivered: false };
    const hook = await webhookOf(row.app_id, 'verification', '');
    if (hook === undefined) return { delivered: false };
    const code = String(randomInt(0, 1_000_000)).padStart(6, '0');
    const now = ctx.clock();
    const expiresAt = now + codeTtlMs;
    const hash = await codeHash(requestId, code);
    await withTransaction(db, async (trx) => {
      await trx
        .updateTable('rights_codes')
        .set({ code_hash: hash, expires_at: expiresAt, attempts: 0, sent_at: now })
        .where('request_id', '=', requestId)
        .execute();
      await ctx.audit.append(trx, {
        actor: `job:${JOB_KIND.sendCode}`,
        action: 'rights.code-sent',
        appId: row.app_id,
        subject: row.subject_id,
        categories: [c.channel],
        details: { request: requestId, send: c.sends },
      });
    });
    const subject = await db.selectFrom('subjects').select(['external_id']).where('id', '=', row.subject_id).executeTakeFirst();
    const channel = (Object.entries(CODE_CHANNELS).find(([, cat]) => cat === c.channel)?.[0] ?? 'sms') as CodeChannel;
    const r = await deliverWebhook(
      hook,
      'rights.code',
      `${requestId}:code:${c.sends}`,
      {
        event: 'rights.code',
        app: row.app_id,
        requestId,
        subjectId: row.subject_id,
        externalId: subject?.external_id ?? null,
        channel,
        category: c.channel,
        code,
        expiresAt: new Date(expiresAt).toISOString(),
      },
      { fetch: doFetch, timeoutMs: webhookTimeoutMs, signal, now: ctx.clock },
    );
    return { delivered: true, status: r.status };
  }

  // ------------------------------------------------------------------ closing

  /**
   * Mark the request's unfinished tasks cancelled and lift the freeze this request put on the subject.
   * Returns the jobs to cancel once the transaction has committed (a task that starts meanwhile sees
   * the closed request and does nothing).
   */
  async function stopWork(trx: Kysely<Schema>, row: Row<'rights_requests'>, actor: RightsActor): Promise<string[]> {
    const tasks = await trx.selectFrom('rights_tasks').select(['id', 'job_id', 'state']).where('request_id', '=', row.id).execute();
    const jobs: string[] = [];
    for (const t of tasks) {
      if (t.state === 'succeeded' || t.state === 'cancelled') continue;
      if (t.job_id !== null) jobs.push(t.job_id);
      await trx.updateTable('rights_tasks').set({ state: 'cancelled', updated_at: ctx.clock() }).where('id', '=', t.id).execute();
    }
    if (row.state === 'in_progress' && (row.type === 'account_cancellation' || row.type === 'restriction')) {
      const other = await trx
        .selectFrom('rights_requests')
        .select('id')
        .where('app_id', '=', row.app_id)
        .where('subject_id', '=', row.subject_id)
        .where('state', '=', 'in_progress')
        .where('type', 'in', ['account_cancellation', 'restriction'])
        .where('id', '!=', row.id)
        .executeTakeFirst();
      const subject = await deps.subjects.get(trx, row.app_id, row.subject_id);
      if (other === undefined && subject?.status === 'frozen') {
        await deps.subjects.setStatus(trx, row.app_id, row.subject_id, 'active', {
          actor: actor.id,
          requestId: actor.httpRequestId ?? null,
        });
      }
    }
    return jobs;
  }

  async function cancelJobs(jobIds: readonly string[], reason: string): Promise<void> {
    for (const id of jobIds) {
      try {
        await deps.queue.cancel(id, reason);
      } catch (err) {
        // Already finished or cancelled (with a job it depended on): nothing to stop.
        if (!isJobError(err, 'invalid_state') && !isJobError(err, 'unknown_job')) throw err;
      }
    }
  }

  async function erasureStarted(trx: Kysely<Schema>, requestId: string): Promise<boolean> {
    const started = await trx
      .selectFrom('rights_tasks')
      .select('id')
      .where('request_id', '=', requestId)
      .where('kind', 'in', ['erase', 'correct', 'withdraw', 'notify'])
      // A failed attempt changed nothing (each target changes in one transaction); a running one may be changing now.
      .where('state', 'in', ['running', 'succeeded'])
      .executeTakeFirst();
    return started !== undefined;
  }

  async function reject(
    appId: string,
    requestId: string,
    rejection: { code: string; reason: Bilingual },
    actor: RightsActor,
  ): Promise<RequestDetail> {
    if (!/^[a-z][a-z0-9-]{1,63}$/.test(rejection.code)) {
      throw new PipaError('validation_failed', '$.body.code: a lower-case code such as "identity-not-confirmed"', [
        { path: '$.body.code', message: '须为小写代码，如 identity-not-confirmed / a lower-case code' },
      ]);
    }
    const { result, jobs } = await withTransaction(db, async (trx) => {
      let row = await requireRequestRow(trx, appId, requestId);
      if (row.state === 'in_progress' && (await erasureStarted(trx, requestId))) {
        throw new PipaError('conflict', `request ${requestId} has already changed data; it can no longer be rejected`, [
          { path: 'state', message: '该请求已开始修改数据，不能再拒绝 / the request has already changed data' },
        ]);
      }
      const jobs = await stopWork(trx, row, actor);
      row = await transition(trx, ctx.audit, row, {
        to: 'rejected',
        actor: actor.id,
        reason: rejection.code,
        at: ctx.clock(),
        set: { reject_code: rejection.code, reject_zh: rejection.reason.zh, reject_en: rejection.reason.en, sealed: null },
        httpRequestId: actor.httpRequestId ?? null,
      });
      await shred(trx, row.id);
      return { result: await detail(trx, row), jobs };
    });
    await cancelJobs(jobs, `request ${requestId} rejected`);
    return applied(result);
  }

  async function cancel(
    appId: string,
    requestId: string,
    actor: RightsActor & { staff: boolean },
    reason?: string,
  ): Promise<RequestDetail> {
    const { result, jobs } = await withTransaction(db, async (trx) => {
      let row = await requireRequestRow(trx, appId, requestId);
      if (row.state === 'in_progress') {
        if (await erasureStarted(trx, requestId)) {
          throw new PipaError('conflict', `request ${requestId} has already changed data; it can no longer be cancelled`, [
            { path: 'state', message: '该请求已开始修改数据，不能再撤销 / the request has already changed data' },
          ]);
        }
        if (!actor.staff && (row.type === 'deletion' || row.type === 'account_cancellation' || row.type === 'correction')) {
          throw new PipaError('conflict', `request ${requestId} is in progress: ask the operator's customer service to stop it`, [
            { path: 'state', message: '请求处理中，请联系客服撤销 / the request is in progress; contact customer service' },
          ]);
        }
      }
      const jobs = await stopWork(trx, row, actor);
      row = await transition(trx, ctx.audit, row, {
        to: 'cancelled',
        actor: actor.id,
        reason: reason ?? (actor.staff ? 'staff' : 'subject'),
        at: ctx.clock(),
        set: { sealed: null },
        httpRequestId: actor.httpRequestId ?? null,
      });
      await shred(trx, row.id);
      return { result: await detail(trx, row), jobs };
    });
    await cancelJobs(jobs, `request ${requestId} cancelled`);
    return applied(result);
  }

  /**
   * Drop the request key and everything sealed with it; the SQLite log is then emptied of their old
   * page images (store/database.ts scrubLog: it runs after this transaction, which holds the writer).
   */
  async function shred(trx: Kysely<Schema>, requestId: string): Promise<void> {
    await trx.deleteFrom('rights_artifacts').where('request_id', '=', requestId).execute();
    await trx.updateTable('rights_requests').set({ key_wrapped: null, sealed: null }).where('id', '=', requestId).execute();
    void ctx.database.scrubLog();
  }

  async function retry(appId: string, requestId: string, actor: RightsActor): Promise<string[]> {
    const row = await requireRequestRow(db, appId, requestId);
    if (row.state !== 'in_progress') {
      throw new PipaError('conflict', `request ${requestId} is ${row.state}: only a request in progress has tasks to retry`, [
        { path: 'state', message: '只有处理中的请求可以重试 / only a request in progress can be retried' },
      ]);
    }
    const tasks = await db
      .selectFrom('rights_tasks')
      .select(['id', 'job_id'])
      .where('request_id', '=', requestId)
      .where('state', '=', 'failed')
      .execute();
    const out: string[] = [];
    for (const t of tasks) {
      if (t.job_id === null) continue;
      const job = await deps.queue.get(t.job_id);
      if (job?.state !== 'dead') continue;
      await deps.queue.retry(t.job_id);
      await withTransaction(db, async (trx) => {
        await trx.updateTable('rights_tasks').set({ state: 'queued', updated_at: ctx.clock() }).where('id', '=', t.id).execute();
        await ctx.audit.append(trx, {
          actor: actor.id,
          action: 'rights.retry',
          appId,
          subject: row.subject_id,
          requestId: actor.httpRequestId ?? null,
          details: { request: requestId, task: t.id },
        });
      });
      out.push(t.id);
    }
    return out;
  }

  // ------------------------------------------------------------------ downloads

  const tokenHash = (token: string) => createHash('sha256').update(token, 'utf8').digest();

  async function createDownloadLink(appId: string, requestId: string, actor: RightsActor): Promise<DownloadLink> {
    return withTransaction(db, async (trx) => {
      const row = await requireRequestRow(trx, appId, requestId);
      const hasPackage = await trx
        .selectFrom('rights_artifacts')
        .select('name')
        .where('request_id', '=', requestId)
        .where('name', '=', 'package')
        .executeTakeFirst();
      if (row.state !== 'completed' || row.key_wrapped === null || hasPackage === undefined) {
        const expired = row.state === 'completed' && (PACKAGE_TYPES as readonly string[]).includes(row.type);
        throw new PipaError(
          'precondition_failed',
          expired
            ? `the package of request ${requestId} has expired: submit a new request`
            : `request ${requestId} has no package to download`,
          [
            {
              path: 'request',
              message: expired
                ? '下载包已过期，请重新提交请求 / the package has expired; submit a new request'
                : '该请求没有可下载的内容 / nothing to download',
            },
          ],
        );
      }
      const now = ctx.clock();
      const token = random(32).toString('base64url');
      const expiresAt = Math.min(now + downloadTtlMs, Number(row.closed_at ?? now) + packageRetentionMs);
      await trx
        .insertInto('rights_downloads')
        .values({
          id: newId('rdl', random),
          request_id: requestId,
          token_hash: tokenHash(token),
          expires_at: expiresAt,
          used_at: null,
          created_at: now,
          created_by: actor.id,
        })
        .execute();
      await ctx.audit.append(trx, {
        actor: actor.id,
        action: 'rights.download-link',
        appId,
        subject: row.subject_id,
        requestId: actor.httpRequestId ?? null,
        details: { request: requestId, expiresAt },
      });
      return { token, path: `/v1/rights/downloads/${token}`, expiresAt };
    });
  }

  async function download(token: string, actor: RightsActor): Promise<{ requestId: string; filename: string; body: Buffer }> {
    const gone = () =>
      new PipaError('not_found', 'this download link is unknown, used or expired', [
        { path: 'token', message: '下载链接无效、已使用或已过期 / the link is unknown, used or expired' },
      ]);
    if (!/^[A-Za-z0-9_-]{43}$/.test(token)) throw gone();
    return withTransaction(db, async (trx) => {
      const now = ctx.clock();
      const link = await trx.selectFrom('rights_downloads').selectAll().where('token_hash', '=', tokenHash(token)).executeTakeFirst();
      if (link === undefined || link.used_at !== null || Number(link.expires_at) <= now) throw gone();
      const claimed = await trx
        .updateTable('rights_downloads')
        .set({ used_at: now })
        .where('id', '=', link.id)
        .where('used_at', 'is', null)
        .executeTakeFirst();
      if (Number(claimed.numUpdatedRows) !== 1) throw gone();
      const row = await getRequestRow(trx, link.request_id);
      const artifact = await trx
        .selectFrom('rights_artifacts')
        .select('ciphertext')
        .where('request_id', '=', link.request_id)
        .where('name', '=', 'package')
        .executeTakeFirst();
      if (row === undefined || row.key_wrapped === null || artifact === undefined) throw gone();
      const body = await unseal(ctx, row.app_id, row.id, row.key_wrapped, 'package', artifact.ciphertext);
      await ctx.audit.append(trx, {
        actor: actor.id,
        action: 'rights.download',
        appId: row.app_id,
        subject: row.subject_id,
        requestId: actor.httpRequestId ?? null,
        details: { request: row.id, bytes: body.length },
      });
      return { requestId: row.id, filename: `pipa-${row.type}-${row.id}.zip`, body };
    });
  }

  // ------------------------------------------------------------------ webhooks

  async function webhookOf(appId: string, kind: string, recipient: string): Promise<{ url: string; secret: Buffer } | undefined> {
    const row = await db
      .selectFrom('rights_webhooks')
      .selectAll()
      .where('app_id', '=', appId)
      .where('kind', '=', kind)
      .where('recipient', '=', recipient)
      .executeTakeFirst();
    if (row === undefined) return undefined;
    return {
      url: row.url,
      secret: await ctx.keyring.unwrapSecret(row.secret_wrapped, `${RIGHTS_SECRETS.webhook}:${appId}:${kind}:${recipient}`),
    };
  }

  async function setWebhook(
    appId: string,
    kind: WebhookInfo['kind'],
    recipient: string | null,
    url: string,
    actor: RightsActor,
  ): Promise<WebhookInfo & { secret: string }> {
    const declaration = declarationOf(appId);
    const target = checkWebhookUrl(url, '$.body.url', egress);
    if (kind === 'recipient') {
      if (recipient === null || !(declaration.recipients ?? []).some((r) => r.id === recipient)) {
        throw new PipaError(
          'unknown_recipient',
          `app ${appId} declares no recipient ${recipient === null ? '(none)' : shownId(recipient)}`,
          [{ path: '$.body.recipient', message: `未声明的接收方 ${recipient === null ? '' : shownId(recipient)} / undeclared recipient` }],
        );
      }
    } else if (recipient !== null) {
      throw new PipaError('validation_failed', `$.body.recipient: only a recipient webhook names a recipient`, [
        { path: '$.body.recipient', message: '仅接收方通知地址需要 recipient / only recipient webhooks take a recipient' },
      ]);
    }
    const rec = recipient ?? '';
    const { secret, wrapped } = await ctx.keyring.generateSecret(`${RIGHTS_SECRETS.webhook}:${appId}:${kind}:${rec}`);
    const now = ctx.clock();
    return withTransaction(db, async (trx) => {
      const existing = await trx
        .selectFrom('rights_webhooks')
        .select('created_at')
        .where('app_id', '=', appId)
        .where('kind', '=', kind)
        .where('recipient', '=', rec)
        .executeTakeFirst();
      if (existing === undefined) {
        await trx
          .insertInto('rights_webhooks')
          .values({ app_id: appId, kind, recipient: rec, url: target, secret_wrapped: wrapped, created_at: now, updated_at: now })
          .execute();
      } else {
        await trx
          .updateTable('rights_webhooks')
          .set({ url: target, secret_wrapped: wrapped, updated_at: now })
          .where('app_id', '=', appId)
          .where('kind', '=', kind)
          .where('recipient', '=', rec)
          .execute();
      }
      await ctx.audit.append(trx, {
        actor: actor.id,
        action: 'rights.webhook-set',
        appId,
        requestId: actor.httpRequestId ?? null,
        details: { kind, recipient: recipient ?? null, host: new URL(target).host },
      });
      return {
        kind,
        recipient,
        url: target,
        createdAt: existing === undefined ? now : Number(existing.created_at),
        updatedAt: now,
        secret: secret.toString('base64url'),
      };
    });
  }

  async function listWebhooks(appId: string): Promise<WebhookInfo[]> {
    declarationOf(appId);
    const rows = await db
      .selectFrom('rights_webhooks')
      .select(['kind', 'recipient', 'url', 'created_at', 'updated_at'])
      .where('app_id', '=', appId)
      .orderBy('kind')
      .orderBy('recipient')
      .execute();
    return rows.map((r) => ({
      kind: r.kind as WebhookInfo['kind'],
      recipient: r.recipient === '' ? null : r.recipient,
      url: r.url,
      createdAt: Number(r.created_at),
      updatedAt: Number(r.updated_at),
    }));
  }

  async function deleteWebhook(appId: string, kind: WebhookInfo['kind'], recipient: string | null, actor: RightsActor): Promise<void> {
    await withTransaction(db, async (trx) => {
      const r = await trx
        .deleteFrom('rights_webhooks')
        .where('app_id', '=', appId)
        .where('kind', '=', kind)
        .where('recipient', '=', recipient ?? '')
        .executeTakeFirst();
      if (Number(r.numDeletedRows) === 0)
        throw new PipaError('not_found', `no ${kind} webhook${recipient ? ` for ${recipient}` : ''} in app ${appId}`);
      await ctx.audit.append(trx, {
        actor: actor.id,
        action: 'rights.webhook-deleted',
        appId,
        requestId: actor.httpRequestId ?? null,
        details: { kind, recipient },
      });
    });
  }

  async function liftRestriction(appId: string, subjectId: string, reason: string, actor: RightsActor): Promise<void> {
    const text = reason.trim();
    if (text.length < 3 || text.length > 500) {
      throw new PipaError('validation_failed', '$.body.reason: a reason of 3 to 500 characters is required', [
        { path: '$.body.reason', message: '须写明 3 至 500 字的理由 / a reason of 3 to 500 characters is required' },
      ]);
    }
    await withTransaction(db, async (trx) => {
      const subject = await deps.subjects.require(trx, appId, subjectId);
      const cancelling = await trx
        .selectFrom('rights_requests')
        .select('id')
        .where('app_id', '=', appId)
        .where('subject_id', '=', subjectId)
        .where('type', '=', 'account_cancellation')
        .where('closed_at', 'is', null)
        .executeTakeFirst();
      if (cancelling !== undefined) {
        throw new PipaError('conflict', `subject ${subjectId} has an open account cancellation (${cancelling.id})`, [
          {
            path: 'subject',
            message: `注销处理中，不能解除限制 / an account cancellation is open: ${cancelling.id}`,
            existingId: cancelling.id,
          },
        ]);
      }
      const restricted = await trx
        .selectFrom('rights_requests')
        .select('id')
        .where('app_id', '=', appId)
        .where('subject_id', '=', subjectId)
        .where('type', '=', 'restriction')
        .where('state', 'in', ['in_progress', 'completed'])
        .orderBy('received_at', 'desc')
        .executeTakeFirst();
      if (subject.status !== 'frozen' || restricted === undefined) {
        throw new PipaError('conflict', `subject ${subjectId} is not restricted`, [
          { path: 'subject', message: '该用户的处理未被限制 / the processing of this subject is not restricted' },
        ]);
      }
      await deps.subjects.setStatus(trx, appId, subjectId, 'active', { actor: actor.id, requestId: actor.httpRequestId ?? null });
      await ctx.audit.append(trx, {
        actor: actor.id,
        action: 'rights.restriction-lifted',
        appId,
        subject: subjectId,
        requestId: actor.httpRequestId ?? null,
        details: { request: restricted.id, reason: text },
      });
    });
    await applyStatus({ subjectId, type: 'restriction' });
  }

  // ------------------------------------------------------------------ sweep

  async function staffNotice(requestId: string, event: 'reminder' | 'overdue', signal: AbortSignal): Promise<{ delivered: boolean }> {
    const row = await getRequestRow(db, requestId);
    if (row === undefined) return { delivered: false };
    const hook = await webhookOf(row.app_id, 'staff', '');
    if (hook === undefined) return { delivered: false };
    const r = requestFromRow(row, ctx.clock());
    await deliverWebhook(
      hook,
      event === 'reminder' ? 'rights.reminder' : 'rights.overdue',
      `${requestId}:${event}:${event === 'reminder' ? Number(row.reminded_at) : Number(row.overdue_at)}`,
      {
        event: `rights.${event}`,
        app: r.appId,
        request: {
          id: r.id,
          type: r.type,
          state: r.state,
          receivedAt: new Date(r.receivedAt).toISOString(),
          dueAt: new Date(r.dueAt).toISOString(),
          waiting: r.waiting,
        },
      },
      { fetch: doFetch, timeoutMs: webhookTimeoutMs, signal, now: ctx.clock },
    );
    return { delivered: true };
  }

  async function sweep(at?: number): Promise<SweepResult> {
    const now = at ?? ctx.clock();
    let reminded = 0;
    let overdue = 0;
    let shredded = 0;
    const due = await db
      .selectFrom('rights_requests')
      .selectAll()
      .where('closed_at', 'is', null)
      .where('remind_at', '<=', now)
      .limit(500)
      .execute();
    for (const r of due) {
      const request = requestFromRow(r, now);
      const next = scheduleOf(deps.calendar, request.receivedAt, request.deadline, now, options.reminders).nextReminder;
      const done = await withTransaction(db, async (trx) => {
        const u = await trx
          .updateTable('rights_requests')
          .set({ reminded_at: now, remind_at: next })
          .where('id', '=', r.id)
          .where('remind_at', '=', Number(r.remind_at))
          .where('closed_at', 'is', null)
          .executeTakeFirst();
        if (Number(u.numUpdatedRows) !== 1) return false;
        await ctx.audit.append(trx, {
          actor: 'system',
          action: 'rights.reminder',
          appId: r.app_id,
          subject: r.subject_id,
          details: { request: r.id, type: r.type, dueAt: Number(r.due_at) },
        });
        await deps.queue.enqueue(trx, {
          kind: JOB_KIND.staffNotice,
          payload: { requestId: r.id, event: 'reminder' },
          dedupeKey: `rights:reminder:${r.id}:${Number(r.remind_at)}`,
          groupId: r.id,
          maxAttempts: 10,
        });
        return true;
      });
      if (done) reminded++;
    }
    const late = await db
      .selectFrom('rights_requests')
      .selectAll()
      .where('closed_at', 'is', null)
      .where('due_at', '<=', now)
      .where('overdue_at', 'is', null)
      .limit(500)
      .execute();
    for (const r of late) {
      const done = await withTransaction(db, async (trx) => {
        const u = await trx
          .updateTable('rights_requests')
          .set({ overdue_at: now })
          .where('id', '=', r.id)
          .where('overdue_at', 'is', null)
          .where('closed_at', 'is', null)
          .executeTakeFirst();
        if (Number(u.numUpdatedRows) !== 1) return false;
        await ctx.audit.append(trx, {
          actor: 'system',
          action: 'rights.overdue',
          appId: r.app_id,
          subject: r.subject_id,
          outcome: 'failed',
          details: { request: r.id, type: r.type, state: r.state, dueAt: Number(r.due_at) },
        });
        await deps.queue.enqueue(trx, {
          kind: JOB_KIND.staffNotice,
          payload: { requestId: r.id, event: 'overdue' },
          dedupeKey: `rights:overdue:${r.id}`,
          groupId: r.id,
          maxAttempts: 10,
        });
        return true;
      });
      if (done) overdue++;
    }
    const old = await db
      .selectFrom('rights_requests')
      .select(['id', 'app_id', 'subject_id'])
      .where('closed_at', '<=', now - packageRetentionMs)
      .where('key_wrapped', 'is not', null)
      .limit(500)
      .execute();
    for (const r of old) {
      await withTransaction(db, async (trx) => {
        await shred(trx, r.id);
        await ctx.audit.append(trx, {
          actor: 'system',
          action: 'rights.package-shredded',
          appId: r.app_id,
          subject: r.subject_id,
          details: { request: r.id },
        });
      });
      shredded++;
    }
    return { reminded, overdue, shredded };
  }

  async function scheduleSweep(conn: Kysely<Schema> = db): Promise<void> {
    const now = ctx.clock();
    const slot = Math.floor(now / sweepIntervalMs) + 1;
    await deps.queue.enqueue(conn, {
      kind: JOB_KIND.sweep,
      runAt: slot * sweepIntervalMs,
      dedupeKey: `rights:sweep:${slot}`,
      maxAttempts: 3,
    });
  }

  // ------------------------------------------------------------------ tasks

  const executor = createTaskExecutor(ctx, deps, {
    env,
    webhookTimeoutMs,
    fetch: doFetch,
    webhookOf,
    shred,
  });

  const handlers: JobHandlers = {
    [JOB_KIND.task]: { run: (job) => executor.run(job), backoff: { baseMs: 2000, maxMs: 10 * 60_000 } },
    [JOB_KIND.sendCode]: {
      run: async (job) => {
        const p = job.job.payload as { requestId?: unknown };
        if (typeof p.requestId !== 'string') return { delivered: false };
        return sendCode(p.requestId, job.signal);
      },
      backoff: { baseMs: 1000, maxMs: 30_000 },
    },
    [JOB_KIND.staffNotice]: {
      run: async (job) => {
        const p = job.job.payload as { requestId?: unknown; event?: unknown };
        if (typeof p.requestId !== 'string' || (p.event !== 'reminder' && p.event !== 'overdue')) return { delivered: false };
        return staffNotice(p.requestId, p.event, job.signal);
      },
    },
    [JOB_KIND.sweep]: {
      run: async () => {
        const result = await sweep();
        await scheduleSweep();
        return result;
      },
    },
  };

  return {
    submit,
    async get(appId, requestId) {
      return detail(db, await requireRequestRow(db, appId, requestId));
    },
    async find(requestId) {
      const row = await getRequestRow(db, requestId);
      return row === undefined ? undefined : detail(db, row);
    },
    async list(query) {
      if (query.appId !== undefined) declarationOf(query.appId);
      const now = ctx.clock();
      return (await listRequestRows(db, query, now)).map((r) => requestFromRow(r, now));
    },
    verifyByStaff,
    requestCode,
    confirmCode,
    reject,
    cancel,
    retry,
    async dryRun(appId, requestId, actor) {
      const row = await requireRequestRow(db, appId, requestId);
      if (!isOpen(row.state)) {
        throw new PipaError('conflict', `request ${requestId} is ${row.state}: nothing left to run`, [
          { path: 'state', message: '请求已结束 / the request is closed' },
        ]);
      }
      const consents = await consentsOf(db, appId, await subjectGroup(db, appId, row.subject_id));
      const declaration = declarationOf(appId);
      const r = requestFromRow(row, ctx.clock());
      const recipients = r.type === 'account_cancellation' ? recipientsToNotify(declaration, consents) : [];
      const plan = buildPlan({ type: r.type, payload: r.payload, declaration, recipients });
      return executor.dryRun(row, plan, actor);
    },
    createDownloadLink,
    download,
    liftRestriction,
    setWebhook,
    listWebhooks,
    deleteWebhook,
    sweep,
    scheduleSweep: () => scheduleSweep(),
    handlers,
  };
}
