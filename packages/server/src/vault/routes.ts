/**
 * HTTP routes of the vault (`/v1/apps/{app}/subjects/{subject}/pi`, `/v1/apps/{app}/pi/lookup`).
 * Scopes: vault:write (PUT, PATCH), vault:read (masked GET, lookup), vault:read-plain (GET with
 * `view=plain`, which also needs a declared purpose), vault:erase (DELETE). An app-bound key acts on
 * its app only. Responses carry ids, categories and (masked unless asked and allowed) values.
 */
import { z } from 'zod';
import { actorOf, assertAppAccess } from '../auth/access.js';
import { PipaError } from '../errors.js';
import { type AnyRoute, defineRoute, type Principal } from '../http/route.js';
import type { ServiceContext } from '../service/context.js';
import { isSubjectId } from '../subjects/service.js';
import { MAX_VALUE_LENGTH } from './categories.js';
import type { VaultActor, VaultService } from './service.js';

const APP_ID = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[a-z0-9]+(?:[.-][a-z0-9]+)*$/, 'must be a lower-case app id such as "shengshitong"');
const SUBJECT_ID = z.string().refine(isSubjectId, 'must be a subject id (sub_ followed by lower-case base32)');
const CATEGORY_ID = z.string().min(1).max(128);
const PURPOSE_ID = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[a-z0-9]+(?:[.-][a-z0-9]+)*$/, 'must be a purpose id of the declaration');
/** Categories in one request. */
const MAX_FIELDS = 200;

const SubjectParams = z.object({ app: APP_ID, subject: SUBJECT_ID });
const AppParams = z.object({ app: APP_ID });

const fieldsOf = <V extends z.ZodType>(value: V) =>
  z
    .record(CATEGORY_ID, value)
    .refine((r) => Object.keys(r).length > 0, 'give at least one category')
    .refine((r) => Object.keys(r).length <= MAX_FIELDS, `at most ${MAX_FIELDS} categories per request`);

const Value = z.string().max(MAX_VALUE_LENGTH);
const PutBody = z
  .strictObject({
    fields: fieldsOf(Value).meta({ description: 'Category id → value. The whole record: categories left out are deleted.' }),
  })
  .meta({ description: 'Replace the subject’s personal information.' });
const PatchBody = z
  .strictObject({
    fields: fieldsOf(Value.nullable()).meta({ description: 'Category id → value; null deletes the category; others stay.' }),
  })
  .meta({ description: 'Change some categories.' });

const WriteResult = z.object({
  appId: z.string(),
  subjectId: z.string(),
  mode: z.enum(['merge', 'replace']),
  written: z.array(z.string()),
  removed: z.array(z.string()),
  suite: z.string(),
  keyVersion: z.number(),
  at: z.number(),
  auditSeq: z.number(),
});

const ReadQuery = z.strictObject({
  view: z.enum(['masked', 'plain']).optional(),
  purpose: PURPOSE_ID.optional().meta({ description: 'Required with view=plain: the declared purpose the values are needed for.' }),
  categories: z
    .string()
    .max(4096)
    .optional()
    // `categories=` would otherwise answer an empty record, as if the subject held nothing.
    .refine((s) => s === undefined || s.split(',').some((c) => c !== ''), 'give at least one category id, or leave categories out for all')
    .transform((s) => (s === undefined ? undefined : s.split(',').filter((c) => c !== '')))
    .meta({ description: 'Comma-separated category ids; default all stored (plain: those the purpose uses, others masked).' }),
});

const Field = z.object({
  value: z.string(),
  masked: z.boolean(),
  updatedAt: z.number(),
  from: z.string().meta({ description: 'The subject holding the field: this one or a linked device.' }),
});
const RecordOut = z.object({
  appId: z.string(),
  subjectId: z.string(),
  kind: z.enum(['account', 'device']),
  status: z.enum(['active', 'frozen', 'erased']),
  view: z.enum(['masked', 'plain']),
  purpose: z.string().nullable(),
  devices: z.array(z.string()),
  fields: z.record(z.string(), Field),
});

const LookupBody = z
  .strictObject({
    phone: z.string().min(1).max(64).optional(),
    idNumber: z.string().min(1).max(64).optional(),
    email: z.string().min(1).max(320).optional(),
  })
  .refine((b) => [b.phone, b.idNumber, b.email].filter((v) => v !== undefined).length === 1, {
    message: 'give exactly one of phone, idNumber, email',
  })
  .meta({ description: 'Exactly one of phone, idNumber, email. Searched through the blind index; nothing is decrypted.' });
const LookupOut = z.object({
  matches: z.array(
    z.object({
      subjectId: z.string(),
      kind: z.enum(['account', 'device']),
      linkedTo: z.string().nullable(),
      status: z.enum(['active', 'frozen', 'erased']),
      category: z.string(),
    }),
  ),
});

const EraseBody = z.strictObject({ confirm: z.boolean().meta({ description: 'Must be true: erasure cannot be undone.' }) });
const Receipt = z.object({
  appId: z.string(),
  subjectId: z.string(),
  subjects: z.array(z.string()),
  erasedAt: z.number(),
  categories: z.array(z.string()),
  fieldsDeleted: z.number(),
  keysShredded: z.number(),
  kekVersions: z.array(z.number()),
  backups: z.enum(['complete', 'pending-kek-retirement']).meta({
    description: 'pending-kek-retirement: backups taken before the erasure hold the wrapped keys until kekVersions are retired',
  }),
  storage: z.enum(['complete', 'overwritten', 'pending-kek-retirement']).meta({
    description:
      "The store's own files. overwritten (SQLite): the deleted bytes are overwritten and the log emptied within seconds; pending-kek-retirement (PostgreSQL): dead tuples may hold the wrapped keys until their space is reused or kekVersions are retired; complete: nothing was shredded",
  }),
  alreadyErased: z.boolean(),
  auditSeq: z.number(),
});

function actorFrom(principal: Principal | null, requestId: string): VaultActor {
  return {
    id: actorOf(principal),
    scopes: principal?.kind === 'api-key' ? principal.scopes : new Set<string>(),
    requestId,
  };
}

export function vaultRoutes(_ctx: ServiceContext, services: { vault: VaultService }): AnyRoute[] {
  const { vault } = services;
  return [
    defineRoute({
      method: 'PUT',
      url: '/v1/apps/:app/subjects/:subject/pi',
      operationId: 'replaceSubjectPi',
      summary: 'Store a subject’s personal information (replace)',
      description:
        'Only categories the app declares; values are checked by type (phone, ID number, e-mail …), encrypted per field under the subject’s data key, blind-indexed for lookups, and audited (categories, never values). Acknowledged once durable.',
      tags: ['vault'],
      auth: 'api-key',
      scopes: ['vault:write'],
      params: SubjectParams,
      body: PutBody,
      response: WriteResult,
      handler: async ({ params, body, principal, requestId }) => {
        assertAppAccess(principal, params.app);
        return vault.put(params.app, params.subject, body.fields, actorFrom(principal, requestId), { mode: 'replace' });
      },
    }),
    defineRoute({
      method: 'PATCH',
      url: '/v1/apps/:app/subjects/:subject/pi',
      operationId: 'updateSubjectPi',
      summary: 'Change some categories of a subject’s personal information',
      tags: ['vault'],
      auth: 'api-key',
      scopes: ['vault:write'],
      params: SubjectParams,
      body: PatchBody,
      response: WriteResult,
      handler: async ({ params, body, principal, requestId }) => {
        assertAppAccess(principal, params.app);
        return vault.put(params.app, params.subject, body.fields, actorFrom(principal, requestId), { mode: 'merge' });
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/apps/:app/subjects/:subject/pi',
      operationId: 'readSubjectPi',
      summary: 'Read a subject’s personal information (masked, or plain for a declared purpose)',
      description:
        'Masked by default (138****5678, 4101**********123X, 张* …; scope vault:read). `view=plain&purpose=…` (scope vault:read-plain) returns plain values of the categories the purpose uses, when the decision engine allows the purpose for this subject; audited with the purpose. An account’s record includes the fields of devices linked to it.',
      tags: ['vault'],
      auth: 'api-key',
      scopes: ['vault:read', 'vault:read-plain'],
      params: SubjectParams,
      query: ReadQuery,
      response: RecordOut,
      handler: async ({ params, query, principal, requestId }) => {
        assertAppAccess(principal, params.app);
        if (query.view !== 'plain' && query.purpose !== undefined) {
          throw new PipaError('validation_failed', 'purpose is only used with view=plain', [
            { path: '$.query.purpose', message: 'add view=plain, or leave purpose out' },
          ]);
        }
        return vault.read(params.app, params.subject, actorFrom(principal, requestId), {
          view: query.view ?? 'masked',
          ...(query.purpose !== undefined ? { purpose: query.purpose } : {}),
          ...(query.categories !== undefined ? { categories: query.categories } : {}),
        });
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/v1/apps/:app/pi/lookup',
      operationId: 'lookupSubjects',
      summary: 'Find subjects by phone, ID number or e-mail (blind index)',
      tags: ['vault'],
      auth: 'api-key',
      scopes: ['vault:read'],
      params: AppParams,
      body: LookupBody,
      response: LookupOut,
      handler: async ({ params, body, principal, requestId }) => {
        assertAppAccess(principal, params.app);
        const matches = await vault.lookup(
          params.app,
          {
            ...(body.phone !== undefined ? { phone: body.phone } : {}),
            ...(body.idNumber !== undefined ? { idNumber: body.idNumber } : {}),
            ...(body.email !== undefined ? { email: body.email } : {}),
          },
          actorFrom(principal, requestId),
        );
        return { matches };
      },
    }),
    defineRoute({
      method: 'DELETE',
      url: '/v1/apps/:app/subjects/:subject/pi',
      operationId: 'eraseSubjectPi',
      summary: 'Erase a subject (crypto-shred its data key, delete its fields)',
      description:
        'Irreversible: send {"confirm": true}. Deletes the wrapped data key and every field of the subject and of devices linked to it, marks them erased, and returns a receipt. Backups stay unreadable once the master key versions in `kekVersions` are retired.',
      tags: ['vault'],
      auth: 'api-key',
      scopes: ['vault:erase'],
      params: SubjectParams,
      body: EraseBody,
      response: Receipt,
      handler: async ({ params, body, principal, requestId }) => {
        assertAppAccess(principal, params.app);
        return vault.erase(params.app, params.subject, { confirm: body.confirm }, actorFrom(principal, requestId));
      },
    }),
  ];
}
