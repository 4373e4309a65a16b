/**
 * HTTP routes of rights requests.
 *
 * The person (subject token; an API key of the app with `rights:write` may act for them, e.g. from a
 * customer-service desk): submit, list and read their requests, cancel, get a download link, and
 * enter a one-time code (that route needs no credential: the code is one).
 * Staff (API keys with `rights:read` / `rights:write`): list with filters (overdue, waiting, state,
 * type), show with tasks and transitions, verify (approve) with a reason, send a code, reject with a
 * reason the person sees, cancel, run again, dry-run; the operator's webhooks; the download itself
 * is `GET /v1/rights/downloads/{token}` (the token is the credential, usable once).
 */
import { z } from 'zod';
import { actorOf, assertAppAccess, assertSubjectAccess } from '../auth/access.js';
import { PipaError } from '../errors.js';
import { type AnyRoute, defineRoute, type Principal } from '../http/route.js';
import { APP_ID } from '../policies/routes.js';
import type { ServiceContext } from '../service/context.js';
import { inRequest } from '../subjects/routes.js';
import type { RightsActor } from './ports.js';
import type { ListQuery } from './repo.js';
import type { RequestDetail, RightsService } from './service.js';
import { CODE_CHANNELS, REQUEST_STATES, REQUEST_TYPES, type RightsRequest, TASK_KINDS, TASK_STATES } from './types.js';

const SUBJECT_ID = z.string().regex(/^sub_[a-z2-7]{10,52}$/, 'must be a subject id such as sub_…');
const REQUEST_ID = z.string().regex(/^rrq_[a-z2-7]{24}$/, 'must be a request id such as rrq_…');
const Bilingual = z.object({ zh: z.string(), en: z.string() });

const Deadline = z.object({
  value: z.number(),
  unit: z.enum(['days', 'working-days', 'hours']),
  source: z.enum(['right', 'rights', 'law']),
  lastDay: z.string().optional(),
  warnings: z.array(z.string()).optional(),
});

const Waiting = z.object({
  task: z.string(),
  kind: z.string(),
  target: z.string(),
  message: z.string(),
  where: z.string().nullable(),
  attempts: z.number(),
  retrying: z.boolean(),
  since: z.number(),
});

const Payload = z.object({
  withdraw: z.array(z.object({ purpose: z.string(), recipient: z.string().nullable().optional() })).optional(),
  corrections: z
    .array(z.string())
    .optional()
    .meta({ description: 'The categories corrected (the new values are sealed, never returned).' }),
  exportFirst: z.boolean().optional(),
  confirmedIrreversible: z.boolean().optional(),
});

const StaffRequest = z.object({
  id: z.string(),
  appId: z.string(),
  subjectId: z.string(),
  type: z.enum(REQUEST_TYPES),
  state: z.enum(REQUEST_STATES),
  submittedBy: z.string(),
  verification: z.enum(['token', 'code', 'staff']).nullable(),
  verifiedAt: z.number().nullable(),
  verifiedBy: z.string().nullable(),
  verifyReason: z.string().nullable(),
  receivedAt: z.number(),
  dueAt: z.number(),
  deadline: Deadline,
  remindAt: z.number().nullable(),
  remindedAt: z.number().nullable(),
  overdue: z.boolean(),
  overdueAt: z.number().nullable(),
  closedAt: z.number().nullable(),
  rejection: z.object({ code: z.string(), reason: Bilingual }).nullable(),
  payload: Payload,
  waiting: Waiting.nullable(),
  result: z.unknown(),
  createdAt: z.number(),
  updatedAt: z.number(),
});

const Task = z.object({
  id: z.string(),
  seq: z.number(),
  kind: z.enum(TASK_KINDS),
  target: z.string(),
  state: z.enum(TASK_STATES),
  dependsOn: z.array(z.string()),
  jobId: z.string().nullable(),
  attempts: z.number(),
  lastError: z.object({ message: z.string(), where: z.string().nullable(), at: z.number() }).nullable(),
  result: z.unknown(),
  startedAt: z.number().nullable(),
  finishedAt: z.number().nullable(),
});

const Transition = z.object({
  seq: z.number(),
  from: z.enum(REQUEST_STATES).nullable(),
  to: z.enum(REQUEST_STATES),
  actor: z.string(),
  reason: z.string().nullable(),
  at: z.number(),
});

const StaffDetail = z.object({ request: StaffRequest, tasks: z.array(Task), transitions: z.array(Transition) });

/** What the person sees of their request: no staff notes, no internal error messages. */
const PersonRequest = z.object({
  id: z.string(),
  type: z.enum(REQUEST_TYPES),
  state: z.enum(REQUEST_STATES),
  receivedAt: z.number(),
  dueAt: z.number(),
  deadline: Deadline,
  overdue: z.boolean(),
  closedAt: z.number().nullable(),
  rejection: z.object({ code: z.string(), reason: Bilingual }).nullable(),
  delayed: z
    .boolean()
    .meta({ description: 'Part of the work waits for a system that cannot be reached; it is retried, the deadline stands.' }),
  progress: z.object({ done: z.number(), total: z.number() }),
  download: z.boolean().meta({ description: 'A package is ready: ask for a download link.' }),
});

function personView(d: RequestDetail) {
  const r = d.request;
  return {
    id: r.id,
    type: r.type,
    state: r.state,
    receivedAt: r.receivedAt,
    dueAt: r.dueAt,
    deadline: r.deadline,
    overdue: r.overdue,
    closedAt: r.closedAt,
    rejection: r.rejection,
    delayed: r.waiting !== null,
    progress: { done: d.tasks.filter((t) => t.state === 'succeeded').length, total: d.tasks.length },
    download: r.state === 'completed' && (r.result as { package?: boolean } | null)?.package === true,
  };
}

/** A request in the person's list (the list does not load tasks). */
const PersonSummary = PersonRequest.omit({ progress: true });

function personSummary(r: RightsRequest) {
  return {
    id: r.id,
    type: r.type,
    state: r.state,
    receivedAt: r.receivedAt,
    dueAt: r.dueAt,
    deadline: r.deadline,
    overdue: r.overdue,
    closedAt: r.closedAt,
    rejection: r.rejection,
    delayed: r.waiting !== null,
    download: r.state === 'completed' && (r.result as { package?: boolean } | null)?.package === true,
  };
}

const SubmitBody = z.strictObject({
  type: z.enum(REQUEST_TYPES),
  withdraw: z
    .array(z.strictObject({ purpose: z.string().min(1).max(100), recipient: z.string().min(1).max(100).nullable().optional() }))
    .max(100)
    .optional()
    .meta({ description: 'consent_withdrawal: purposes (and recipients) to withdraw; empty or absent: everything granted.' }),
  corrections: z
    .record(z.string().min(1).max(100), z.string().min(1).max(1000))
    .optional()
    .meta({ description: 'correction: the new value by category id.' }),
  exportFirst: z.boolean().optional().meta({ description: 'deletion / account_cancellation: build a copy to download before erasing.' }),
  confirmIrreversible: z
    .boolean()
    .optional()
    .meta({ description: 'account_cancellation: the person read the irreversible warning (412 with the warning without it).' }),
});

const DownloadLinkResponse = z.object({ token: z.string(), path: z.string(), expiresAt: z.number() });

function actorFrom(principal: Principal | null, requestId: string): RightsActor {
  return { id: actorOf(principal), httpRequestId: requestId };
}

function staffActor(principal: Principal | null, requestId: string): RightsActor & { staff: boolean } {
  return { ...actorFrom(principal, requestId), staff: principal?.kind === 'api-key' };
}

const csv = <T extends string>(values: readonly T[]) =>
  z
    .string()
    .transform((s) => s.split(',').filter((x) => x !== ''))
    // `state=` would otherwise filter on nothing and answer an empty list.
    .pipe(z.array(z.enum(values as [T, ...T[]])).min(1, `give at least one of ${values.join(', ')}, or leave the parameter out`));

const bool = z.enum(['true', 'false']).transform((v) => v === 'true');

export function rightsRoutes(_ctx: ServiceContext, services: { rights: RightsService }): AnyRoute[] {
  const { rights } = services;

  /** The request of this subject, or not_found (ids of other subjects are not confirmed). */
  const ownRequest = async (app: string, subject: string, id: string): Promise<RequestDetail> => {
    const d = await rights.get(app, id);
    if (d.request.subjectId !== subject)
      throw new PipaError('not_found', `no rights request ${id} for this subject`, [
        { path: '$.params.request', message: 'unknown request' },
      ]);
    return d;
  };

  const routes: AnyRoute[] = [
    // ------------------------------------------------------------------ the person
    defineRoute({
      method: 'POST',
      url: '/v1/apps/:app/subjects/:subject/rights/requests',
      operationId: 'submitRightsRequest',
      summary: 'Submit a rights request (提交个人信息权利请求)',
      description:
        'With a subject token the request is verified by it and starts at once. With an API key (rights:write; customer service entering it for the person) it waits for verification: a one-time code or staff. One open request per subject and type: a second one is 409 with the existing id.',
      tags: ['rights'],
      auth: 'api-key-or-subject',
      scopes: ['rights:write'],
      params: z.object({ app: APP_ID, subject: SUBJECT_ID }),
      body: SubmitBody,
      status: 201,
      response: z.object({ request: PersonRequest, id: z.string() }),
      handler: async ({ params, body, principal, requestId }) => {
        assertSubjectAccess(principal, params.app, params.subject, ['rights:write']);
        const d = await rights.submit({
          appId: params.app,
          subjectId: params.subject,
          type: body.type,
          ...(body.withdraw !== undefined ? { withdraw: body.withdraw } : {}),
          ...(body.corrections !== undefined ? { corrections: body.corrections } : {}),
          ...(body.exportFirst !== undefined ? { exportFirst: body.exportFirst } : {}),
          ...(body.confirmIrreversible !== undefined ? { confirmIrreversible: body.confirmIrreversible } : {}),
          via: principal?.kind === 'subject' ? 'token' : 'staff',
          actor: actorFrom(principal, requestId),
        });
        return { id: d.request.id, request: personView(d) };
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/apps/:app/subjects/:subject/rights/requests',
      operationId: 'listOwnRightsRequests',
      summary: "The person's rights requests, newest first",
      tags: ['rights'],
      auth: 'api-key-or-subject',
      scopes: ['rights:read'],
      params: z.object({ app: APP_ID, subject: SUBJECT_ID }),
      response: z.object({ requests: z.array(PersonSummary) }),
      handler: async ({ params, principal }) => {
        assertSubjectAccess(principal, params.app, params.subject, ['rights:read']);
        const list = await rights.list({ appId: params.app, subjectId: params.subject, limit: 100 });
        return { requests: list.map(personSummary) };
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/apps/:app/subjects/:subject/rights/requests/:request',
      operationId: 'getOwnRightsRequest',
      summary: 'Status of one of the person’s rights requests',
      tags: ['rights'],
      auth: 'api-key-or-subject',
      scopes: ['rights:read'],
      params: z.object({ app: APP_ID, subject: SUBJECT_ID, request: REQUEST_ID }),
      response: PersonRequest,
      handler: async ({ params, principal }) => {
        assertSubjectAccess(principal, params.app, params.subject, ['rights:read']);
        return personView(await ownRequest(params.app, params.subject, params.request));
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/v1/apps/:app/subjects/:subject/rights/requests/:request/cancel',
      operationId: 'cancelOwnRightsRequest',
      summary: 'The person withdraws their request (before it changes any data)',
      tags: ['rights'],
      auth: 'api-key-or-subject',
      scopes: ['rights:write'],
      params: z.object({ app: APP_ID, subject: SUBJECT_ID, request: REQUEST_ID }),
      response: PersonRequest,
      handler: async ({ params, principal, requestId }) => {
        assertSubjectAccess(principal, params.app, params.subject, ['rights:write']);
        await ownRequest(params.app, params.subject, params.request);
        return personView(
          await rights.cancel(
            params.app,
            params.request,
            staffActor(principal, requestId),
            principal?.kind === 'subject' ? 'subject' : 'staff',
          ),
        );
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/v1/apps/:app/subjects/:subject/rights/requests/:request/download-link',
      operationId: 'createRightsDownloadLink',
      summary: 'A one-time download link for the package of a completed request',
      description: 'The token is in this response only; it is usable once and expires (24 hours by default).',
      tags: ['rights'],
      auth: 'api-key-or-subject',
      scopes: ['rights:write'],
      params: z.object({ app: APP_ID, subject: SUBJECT_ID, request: REQUEST_ID }),
      status: 201,
      response: DownloadLinkResponse,
      handler: async ({ params, principal, requestId }) => {
        assertSubjectAccess(principal, params.app, params.subject, ['rights:write']);
        await ownRequest(params.app, params.subject, params.request);
        return rights.createDownloadLink(params.app, params.request, actorFrom(principal, requestId));
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/v1/apps/:app/rights/requests/:request/verify',
      operationId: 'verifyRightsRequestCode',
      summary: 'Enter the one-time code sent for a request (核验码)',
      description: 'No credential: the code is one. Six digits, valid 10 minutes, 5 wrong attempts at most.',
      tags: ['rights'],
      auth: 'none',
      rateLimit: { bucket: 'rights-verify', perMinute: 20 },
      params: z.object({ app: APP_ID, request: REQUEST_ID }),
      body: z.strictObject({ code: z.string().regex(/^\d{6}$/, 'must be six digits') }),
      response: PersonRequest,
      handler: async ({ params, body, requestId }) =>
        personView(await rights.confirmCode(params.app, params.request, body.code, { id: 'subject', httpRequestId: requestId })),
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/rights/downloads/:token',
      operationId: 'downloadRightsPackage',
      summary: 'Download a package (ZIP: package.json, CSV per dataset, zh/en HTML report); the link works once',
      tags: ['rights'],
      auth: 'none',
      rateLimit: { bucket: 'rights-download', perMinute: 30 },
      params: z.object({ token: z.string().min(1).max(100) }),
      response: z.unknown().meta({ description: 'application/zip' }),
      handler: async ({ params, reply, requestId }) => {
        const file = await rights.download(params.token, { id: 'subject', httpRequestId: requestId });
        reply.header('content-type', 'application/zip');
        reply.header('content-disposition', `attachment; filename="${file.filename}"`);
        return file.body;
      },
    }),

    defineRoute({
      method: 'POST',
      url: '/v1/apps/:app/subjects/:subject/rights/restriction/lift',
      operationId: 'liftRightsRestriction',
      summary: 'End a restriction of processing: the subject becomes active again (the person, or staff for them)',
      tags: ['rights'],
      auth: 'api-key-or-subject',
      scopes: ['rights:write'],
      params: z.object({ app: APP_ID, subject: SUBJECT_ID }),
      body: z.strictObject({ reason: z.string().min(3).max(500) }),
      status: 204,
      response: z.null(),
      handler: async ({ params, body, principal, requestId }) => {
        assertSubjectAccess(principal, params.app, params.subject, ['rights:write']);
        await rights.liftRestriction(params.app, params.subject, body.reason, actorFrom(principal, requestId));
        return null;
      },
    }),

    // ------------------------------------------------------------------ staff
    defineRoute({
      method: 'GET',
      url: '/v1/apps/:app/rights/requests',
      operationId: 'listRightsRequests',
      summary: 'Rights requests of an app, newest first, with filters (overdue, waiting, state, type, subject)',
      tags: ['rights'],
      auth: 'api-key',
      scopes: ['rights:read'],
      params: z.object({ app: APP_ID }),
      query: z.object({
        state: csv(REQUEST_STATES).optional().meta({ description: 'Comma-separated states.' }),
        type: csv(REQUEST_TYPES).optional().meta({ description: 'Comma-separated types.' }),
        overdue: bool.optional().meta({ description: 'true: past the deadline (open now, or closed late).' }),
        waiting: bool.optional().meta({ description: 'true: a task failed and the request waits.' }),
        dueBefore: z.coerce.number().int().positive().optional().meta({ description: 'Open requests due before this instant (ms).' }),
        subject: SUBJECT_ID.optional(),
        after: REQUEST_ID.optional().meta({ description: 'Page cursor: the last id of the previous page.' }),
        limit: z.coerce.number().int().min(1).max(500).optional(),
      }),
      response: z.object({ requests: z.array(StaffRequest), next: z.string().nullable() }),
      handler: async ({ params, query, principal }) => {
        assertAppAccess(principal, params.app);
        const q: ListQuery = {
          appId: params.app,
          ...(query.state !== undefined ? { states: query.state } : {}),
          ...(query.type !== undefined ? { types: query.type } : {}),
          ...(query.overdue !== undefined ? { overdue: query.overdue } : {}),
          ...(query.waiting !== undefined ? { waiting: query.waiting } : {}),
          ...(query.dueBefore !== undefined ? { dueBefore: query.dueBefore } : {}),
          ...(query.subject !== undefined ? { subjectId: query.subject } : {}),
          ...(query.after !== undefined ? { after: query.after } : {}),
          limit: query.limit ?? 50,
        };
        const list = await rights.list(q);
        return { requests: list, next: list.length === (query.limit ?? 50) ? (list[list.length - 1]?.id ?? null) : null };
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/apps/:app/rights/requests/:request',
      operationId: 'getRightsRequest',
      summary: 'One request with its tasks and transitions',
      tags: ['rights'],
      auth: 'api-key',
      scopes: ['rights:read'],
      params: z.object({ app: APP_ID, request: REQUEST_ID }),
      response: StaffDetail,
      handler: async ({ params, principal }) => {
        assertAppAccess(principal, params.app);
        return rights.get(params.app, params.request);
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/v1/apps/:app/rights/requests/:request/approve',
      operationId: 'approveRightsRequest',
      summary: 'Staff verification of the person’s identity, with the reason recorded; the request starts',
      tags: ['rights'],
      auth: 'api-key',
      scopes: ['rights:write'],
      params: z.object({ app: APP_ID, request: REQUEST_ID }),
      body: z.strictObject({ reason: z.string().min(3).max(500) }),
      response: StaffDetail,
      handler: async ({ params, body, principal, requestId }) => {
        assertAppAccess(principal, params.app);
        return rights.verifyByStaff(params.app, params.request, body.reason, actorFrom(principal, requestId));
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/v1/apps/:app/rights/requests/:request/code',
      operationId: 'sendRightsRequestCode',
      summary: 'Send a one-time code through the operator’s verification webhook (to a phone or e-mail the person already gave)',
      tags: ['rights'],
      auth: 'api-key',
      scopes: ['rights:write'],
      params: z.object({ app: APP_ID, request: REQUEST_ID }),
      body: z.strictObject({ channel: z.enum(Object.keys(CODE_CHANNELS) as ['sms', 'email']) }),
      status: 202,
      response: z.object({ requestId: z.string(), channel: z.enum(['sms', 'email']), sends: z.number(), maxSends: z.number() }),
      handler: async ({ params, body, principal, requestId }) => {
        assertAppAccess(principal, params.app);
        return rights.requestCode(params.app, params.request, body.channel, actorFrom(principal, requestId));
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/v1/apps/:app/rights/requests/:request/reject',
      operationId: 'rejectRightsRequest',
      summary: 'Reject a request with a reason the person sees (zh and en)',
      tags: ['rights'],
      auth: 'api-key',
      scopes: ['rights:write'],
      params: z.object({ app: APP_ID, request: REQUEST_ID }),
      body: z.strictObject({
        code: z.string().regex(/^[a-z][a-z0-9-]{1,63}$/, 'must be a lower-case code such as identity-not-confirmed'),
        reason: z.strictObject({ zh: z.string().min(2).max(1000), en: z.string().min(2).max(1000) }),
      }),
      response: StaffDetail,
      handler: async ({ params, body, principal, requestId }) => {
        assertAppAccess(principal, params.app);
        return rights.reject(params.app, params.request, { code: body.code, reason: body.reason }, actorFrom(principal, requestId));
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/v1/apps/:app/rights/requests/:request/cancel',
      operationId: 'cancelRightsRequest',
      summary: 'Staff cancel a request (not once it has changed data)',
      tags: ['rights'],
      auth: 'api-key',
      scopes: ['rights:write'],
      params: z.object({ app: APP_ID, request: REQUEST_ID }),
      body: z.strictObject({ reason: z.string().min(3).max(500) }),
      response: StaffDetail,
      handler: async ({ params, body, principal, requestId }) => {
        assertAppAccess(principal, params.app);
        return rights.cancel(params.app, params.request, staffActor(principal, requestId), body.reason);
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/v1/apps/:app/rights/requests/:request/run',
      operationId: 'runRightsRequest',
      summary: 'Run the tasks that stopped after their attempts again (after fixing what their error names)',
      tags: ['rights'],
      auth: 'api-key',
      scopes: ['rights:write'],
      params: z.object({ app: APP_ID, request: REQUEST_ID }),
      response: z.object({ requeued: z.array(z.string()) }),
      handler: async ({ params, principal, requestId }) => {
        assertAppAccess(principal, params.app);
        return { requeued: await rights.retry(params.app, params.request, actorFrom(principal, requestId)) };
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/v1/apps/:app/rights/requests/:request/dry-run',
      operationId: 'dryRunRightsRequest',
      summary: 'What the request would touch (tables, rows, strategies, recipients), touching nothing',
      tags: ['rights'],
      auth: 'api-key',
      scopes: ['rights:write'],
      params: z.object({ app: APP_ID, request: REQUEST_ID }),
      response: z.object({
        requestId: z.string(),
        type: z.string(),
        tasks: z.array(
          z.object({
            key: z.string(),
            kind: z.string(),
            target: z.string(),
            after: z.array(z.string()),
            effect: z.unknown(),
            error: z.string().nullable(),
          }),
        ),
      }),
      handler: async ({ params, principal, requestId }) => {
        assertAppAccess(principal, params.app);
        return rights.dryRun(params.app, params.request, actorFrom(principal, requestId));
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/v1/apps/:app/rights/requests/:request/download-link',
      operationId: 'createRightsDownloadLinkForStaff',
      summary: 'A one-time download link to hand to the person (audited)',
      tags: ['rights'],
      auth: 'api-key',
      scopes: ['rights:write'],
      params: z.object({ app: APP_ID, request: REQUEST_ID }),
      status: 201,
      response: DownloadLinkResponse,
      handler: async ({ params, principal, requestId }) => {
        assertAppAccess(principal, params.app);
        return rights.createDownloadLink(params.app, params.request, actorFrom(principal, requestId));
      },
    }),
    defineRoute({
      method: 'PUT',
      url: '/v1/apps/:app/rights/webhooks/:kind',
      operationId: 'setRightsWebhook',
      summary:
        'Configure a webhook: verification codes, staff reminders, or a recipient’s erasure notices (the secret is in this response only)',
      tags: ['rights'],
      auth: 'api-key',
      scopes: ['rights:write'],
      params: z.object({ app: APP_ID, kind: z.enum(['verification', 'staff', 'recipient']) }),
      body: z.strictObject({ url: z.string().min(8).max(2000), recipient: z.string().min(1).max(100).optional() }),
      response: z.object({
        kind: z.string(),
        recipient: z.string().nullable(),
        url: z.string(),
        createdAt: z.number(),
        updatedAt: z.number(),
        secret: z.string().meta({ description: 'HMAC-SHA256 key of x-pipa-signature (base64url): store it now.' }),
      }),
      handler: async ({ params, body, principal, requestId }) => {
        assertAppAccess(principal, params.app);
        return rights.setWebhook(params.app, params.kind, body.recipient ?? null, body.url, actorFrom(principal, requestId));
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/apps/:app/rights/webhooks',
      operationId: 'listRightsWebhooks',
      summary: 'The configured webhooks (never the secrets)',
      tags: ['rights'],
      auth: 'api-key',
      scopes: ['rights:read'],
      params: z.object({ app: APP_ID }),
      response: z.object({
        webhooks: z.array(
          z.object({ kind: z.string(), recipient: z.string().nullable(), url: z.string(), createdAt: z.number(), updatedAt: z.number() }),
        ),
      }),
      handler: async ({ params, principal }) => {
        assertAppAccess(principal, params.app);
        return { webhooks: await rights.listWebhooks(params.app) };
      },
    }),
    defineRoute({
      method: 'DELETE',
      url: '/v1/apps/:app/rights/webhooks/:kind',
      operationId: 'deleteRightsWebhook',
      summary: 'Remove a webhook',
      tags: ['rights'],
      auth: 'api-key',
      scopes: ['rights:write'],
      params: z.object({ app: APP_ID, kind: z.enum(['verification', 'staff', 'recipient']) }),
      query: z.object({ recipient: z.string().min(1).max(100).optional() }),
      status: 204,
      response: z.null(),
      handler: async ({ params, query, principal, requestId }) => {
        assertAppAccess(principal, params.app);
        await rights.deleteWebhook(params.app, params.kind, query.recipient ?? null, actorFrom(principal, requestId));
        return null;
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/v1/rights/sweep',
      operationId: 'sweepRightsRequests',
      summary: 'Run the deadline sweep now: reminders, overdue flags, shredding of expired packages (it also runs as a scheduled job)',
      tags: ['rights'],
      auth: 'api-key',
      scopes: ['admin'],
      response: z.object({ reminded: z.number(), overdue: z.number(), shredded: z.number() }),
      handler: async () => rights.sweep(),
    }),
  ];
  return routes.map((r) => ({ ...r, handler: (ctx: Parameters<AnyRoute['handler']>[0]) => inRequest(() => r.handler(ctx), httpPath) }));
}

/**
 * The rights service names what a conflict or a lookup is about by a bare field (`state`, `request`,
 * `code` …), which `pipa requests` prints as is; over HTTP each becomes the place in the request that
 * names it (the request whose state conflicts is `$.params.request`).
 */
const HTTP_PATHS: Readonly<Record<string, string>> = {
  request: '$.params.request',
  state: '$.params.request',
  code: '$.params.request',
  subject: '$.params.subject',
  token: '$.params.token',
  type: '$.body.type',
  webhook: '$.params.app',
  app: '$.params.app',
};
const httpPath = (path: string): string => HTTP_PATHS[path] ?? path;
