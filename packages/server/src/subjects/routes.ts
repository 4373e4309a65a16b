/**
 * HTTP routes of subjects: create (idempotent on the app's external id), read, look up by external
 * id, link a device to its account, report activity (a login or use of the app, for `last-activity`
 * retention rules; one subject or a batch). Scopes: `vault:write` or `consent:write` to create, link
 * and report activity; reading also with `vault:read` or `consent:read`. An app-bound key touches
 * only its app.
 *
 * The date of birth is personal information: it can be given here (for the minors rule) but is never
 * returned (`hasBirthDate` says whether it is known); the vault returns it, masked or with the scope.
 */
import { z } from 'zod';
import { actorOf, assertAppAccess } from '../auth/access.js';
import { type ErrorDetail, PipaError } from '../errors.js';
import { type AnyRoute, defineRoute } from '../http/route.js';
import { APP_ID } from '../policies/routes.js';
import type { ServiceContext } from '../service/context.js';
import { MAX_ACTIVITY_BATCH } from './activity.js';
import type { SubjectRecord, SubjectService } from './service.js';

export const SUBJECT_ID = z
  .string()
  .regex(/^sub_[a-z2-7]{10,52}$/, 'must be a pipa subject id (sub_ followed by lower-case base32)')
  .meta({ description: 'pipa subject id', example: 'sub_k5qg2zq7x3m4c6v2b7n5d4f3a2' });
export const EXTERNAL_ID = z.string().min(1).max(256).meta({ description: "The app's own id of the account or device" });
export const BIRTH_DATE = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a date YYYY-MM-DD')
  .meta({ description: 'Date of birth (for the minors rule); never returned' });

export const Subject = z.object({
  id: z.string(),
  appId: z.string(),
  kind: z.enum(['account', 'device']),
  externalId: z.string().nullable(),
  linkedTo: z.string().nullable().meta({ description: 'The account a device is linked to' }),
  status: z.enum(['active', 'frozen', 'erased']),
  hasBirthDate: z.boolean(),
  createdAt: z.number(),
  updatedAt: z.number(),
  frozenAt: z.number().nullable(),
  erasedAt: z.number().nullable(),
  lastActiveAt: z
    .number()
    .nullable()
    .meta({ description: 'When the subject was last active as far as pipa knows (ms); null: never recorded' }),
});

const ACTIVITY_AT = z
  .number()
  .int()
  .min(0)
  .meta({ description: 'When (ms since the epoch); default now. Not before the subject was created, not in the future' });

export function subjectOut(s: SubjectRecord): z.input<typeof Subject> {
  return {
    id: s.id,
    appId: s.appId,
    kind: s.kind,
    externalId: s.externalId,
    linkedTo: s.linkedTo,
    status: s.status,
    hasBirthDate: s.birthDate !== null,
    createdAt: s.createdAt,
    updatedAt: s.updatedAt,
    frozenAt: s.frozenAt,
    erasedAt: s.erasedAt,
    lastActiveAt: s.lastActiveAt,
  };
}

/**
 * Run a service call and rewrite the paths of its validation errors to where the value was in the
 * request (`externalId` → `$.body.externalId`, `$.consents[0]` → `$.body.consents[0]`), in the
 * details and at the start of the message.
 */
export async function inRequest<T>(fn: () => Promise<T>, map: (path: string) => string): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof PipaError && err.details !== undefined) {
      const details: ErrorDetail[] = err.details.map((d) => (d.path === undefined ? d : { ...d, path: map(d.path) }));
      // A message that starts with the path it is about names it as the request has it, too.
      const first = err.details.find((d) => d.path !== undefined)?.path;
      const message =
        first !== undefined && err.message.startsWith(`${first}: `) ? `${map(first)}${err.message.slice(first.length)}` : err.message;
      const moved = new PipaError(err.code, message, details);
      moved.stack = err.stack;
      throw moved;
    }
    throw err;
  }
}

const bodyPath = (path: string): string => {
  if (path === 'app') return '$.params.app';
  if (path === 'subject' || path === '$.subject') return '$.params.subject';
  if (path.startsWith('$.')) return `$.body.${path.slice(2)}`;
  return `$.body.${path}`;
};

const AppParams = z.object({ app: APP_ID });
const SubjectParams = z.object({ app: APP_ID, subject: SUBJECT_ID });
const WRITE: ('vault:write' | 'consent:write')[] = ['vault:write', 'consent:write'];

export function subjectRoutes(ctx: ServiceContext, services: { subjects: SubjectService }): AnyRoute[] {
  const { subjects } = services;
  return [
    defineRoute({
      method: 'POST',
      url: '/v1/apps/:app/subjects',
      operationId: 'ensureSubject',
      summary: 'Create a subject (idempotent on the external id)',
      description:
        'Returns the subject for (app, kind, externalId), creating it when absent; without externalId a new subject every time. A device subject can consent before an account exists and is linked later. A date of birth given here is stored for the minors rule (and updated when it differs).',
      tags: ['subjects'],
      auth: 'api-key',
      scopes: WRITE,
      params: AppParams,
      body: z.strictObject({
        kind: z.enum(['account', 'device']),
        externalId: EXTERNAL_ID.optional(),
        birthDate: BIRTH_DATE.optional(),
      }),
      response: Subject,
      handler: async ({ params, body, principal, requestId }) => {
        assertAppAccess(principal, params.app);
        const s = await inRequest(
          () =>
            subjects.ensure(
              ctx.db,
              {
                appId: params.app,
                kind: body.kind,
                ...(body.externalId !== undefined ? { externalId: body.externalId } : {}),
                ...(body.birthDate !== undefined ? { birthDate: body.birthDate } : {}),
              },
              { actor: actorOf(principal), requestId },
            ),
          bodyPath,
        );
        return subjectOut(s);
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/apps/:app/subjects',
      operationId: 'findSubject',
      summary: "Find a subject by the app's external id",
      tags: ['subjects'],
      auth: 'api-key',
      scopes: [...WRITE, 'vault:read', 'consent:read'],
      params: AppParams,
      query: z.strictObject({ kind: z.enum(['account', 'device']), externalId: EXTERNAL_ID }),
      response: Subject,
      handler: async ({ params, query, principal }) => {
        assertAppAccess(principal, params.app);
        ctx.policies.require(params.app);
        const s = await subjects.findByExternalId(ctx.db, params.app, query.kind, query.externalId);
        if (s === undefined) {
          throw new PipaError('unknown_subject', `no ${query.kind} subject with this external id in app ${params.app}`, [
            { path: '$.query.externalId', message: '未找到主体 / no such subject' },
          ]);
        }
        return subjectOut(s);
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/apps/:app/subjects/:subject',
      operationId: 'getSubject',
      summary: 'One subject',
      tags: ['subjects'],
      auth: 'api-key',
      scopes: [...WRITE, 'vault:read', 'consent:read'],
      params: SubjectParams,
      response: Subject,
      handler: async ({ params, principal }) => {
        assertAppAccess(principal, params.app);
        return subjectOut(await inRequest(() => subjects.require(ctx.db, params.app, params.subject), bodyPath));
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/v1/apps/:app/subjects/:subject/link',
      operationId: 'linkDevice',
      summary: 'Link a device subject to its account',
      description:
        "The person signed in on this device: the device's consent history moves to the account, and the device id resolves to the account from now on (decisions, consent, status). Idempotent; a device already linked to another account is a conflict.",
      tags: ['subjects'],
      auth: 'api-key',
      scopes: WRITE,
      params: SubjectParams,
      body: z.strictObject({ account: SUBJECT_ID }),
      response: Subject,
      handler: async ({ params, body, principal, requestId }) => {
        assertAppAccess(principal, params.app);
        await inRequest(
          () => subjects.link(ctx.db, params.app, params.subject, body.account, { actor: actorOf(principal), requestId }),
          (p) => (p === 'device' ? '$.params.subject' : p === 'account' ? '$.body.account' : bodyPath(p)),
        );
        return subjectOut(await subjects.require(ctx.db, params.app, params.subject));
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/v1/apps/:app/subjects/:subject/activity',
      operationId: 'recordSubjectActivity',
      summary: 'Report that the person was active (a login, a use of the app)',
      description:
        'For retention rules counted from the last activity (trigger last-activity). The last activity only moves forward: a report older than the one recorded changes nothing (idempotent). ' +
        'Without a body (or without at) the time is now; a time up to a minute ahead of the server clock counts as now. An erased subject is a conflict.',
      tags: ['subjects'],
      auth: 'api-key',
      scopes: WRITE,
      params: SubjectParams,
      body: z.strictObject({ at: ACTIVITY_AT.optional() }).optional(),
      response: Subject,
      handler: async ({ params, body, principal, requestId }) => {
        assertAppAccess(principal, params.app);
        await inRequest(
          () =>
            subjects.recordActivity(ctx.db, params.app, [{ subject: params.subject, at: body?.at }], {
              actor: actorOf(principal),
              requestId,
            }),
          (p) => (p === '$.subjects[0].subject' ? '$.params.subject' : p === '$.subjects[0].at' ? '$.body.at' : bodyPath(p)),
        );
        return subjectOut(await subjects.require(ctx.db, params.app, params.subject));
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/v1/apps/:app/subjects/activity',
      operationId: 'recordSubjectsActivity',
      summary: `Report that people were active, up to ${MAX_ACTIVITY_BATCH} at once`,
      description:
        'The batch form of recordSubjectActivity (a backend reporting its logins). All or nothing: an unknown or erased subject, or a bad time, refuses the whole report, each such entry named by its path. ' +
        'A subject listed twice takes the later time.',
      tags: ['subjects'],
      auth: 'api-key',
      scopes: WRITE,
      params: AppParams,
      body: z.strictObject({
        subjects: z
          .array(z.strictObject({ subject: SUBJECT_ID, at: ACTIVITY_AT.optional() }))
          .min(1)
          .max(MAX_ACTIVITY_BATCH),
      }),
      response: z.object({
        received: z.number().int().meta({ description: 'Entries received' }),
        advanced: z.number().int().meta({ description: 'Subjects whose last activity moved forward (the others had a later one already)' }),
      }),
      handler: async ({ params, body, principal, requestId }) => {
        assertAppAccess(principal, params.app);
        const r = await inRequest(
          () =>
            subjects.recordActivity(
              ctx.db,
              params.app,
              body.subjects.map((e) => ({ subject: e.subject, at: e.at })),
              { actor: actorOf(principal), requestId },
            ),
          bodyPath,
        );
        return { received: r.received, advanced: r.advanced.length };
      },
    }),
  ];
}
