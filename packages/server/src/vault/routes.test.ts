import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHttpApp } from '../http/app.js';
import type { Principal } from '../http/route.js';
import { apiKey, fixedKeys } from '../http/test-auth.js';
import type { ServiceContext } from '../service/context.js';
import { openTestContext } from '../service/test-context.js';
import { forEachDialect } from '../store/test-dialects.js';
import { createSubjectService, type SubjectService } from '../subjects/index.js';
import { createVaultService, vaultRoutes } from './index.js';

const SST = 'shengshitong';
const XPP = 'xiaopiaopiao-merchant';

const KEYS: Record<string, Principal> = {
  writer: apiKey('key_writer', SST, ['vault:write']),
  reader: apiKey('key_reader', SST, ['vault:read']),
  plain: apiKey('key_plain', SST, ['vault:read-plain']),
  eraser: apiKey('key_eraser', SST, ['vault:erase']),
  decider: apiKey('key_decider', SST, ['decide']),
  other: apiKey('key_other', XPP, ['vault:write', 'vault:read', 'vault:read-plain', 'vault:erase']),
  admin: apiKey('key_admin', null, ['admin']),
};
const auth = fixedKeys(KEYS);
const as = (name: keyof typeof KEYS | 'nobody') => ({ authorization: `Bearer ${name}` });

const PROFILE = { 'basic.name': '张三', 'contact.phone': '13812345678', 'contact.email': 'zhang.san@example.com' };

forEachDialect('vault routes', (dctx) => {
  let ctx: ServiceContext;
  let subjects: SubjectService;
  let app: FastifyInstance;
  let logs = '';
  let sub: string;
  const pi = (s = sub, a = SST) => `/v1/apps/${a}/subjects/${s}/pi`;

  beforeAll(async () => {
    ctx = await openTestContext(dctx.database);
    subjects = createSubjectService(ctx);
    const vault = createVaultService(ctx, { subjects });
    const sink = new Writable({
      write(chunk, _enc, cb) {
        logs += String(chunk);
        cb();
      },
    });
    app = await createHttpApp({
      routes: vaultRoutes(ctx, { vault }),
      auth,
      version: 'test',
      bodyLimit: 8192,
      rateLimit: false,
      logger: { level: 'info', stream: sink },
    });
    sub = (await subjects.ensure(ctx.db, { appId: SST, kind: 'account' })).id;
  });
  afterAll(async () => {
    await app.close();
    await ctx.close();
  });

  const tables = async () => {
    await ctx.auditBatcher.flush();
    const n = async (t: 'vault_index' | 'data_keys' | 'audit_events' | 'subjects') =>
      Number((await ctx.db.selectFrom(t).select(sql<number>`count(*)`.as('n')).executeTakeFirstOrThrow()).n);
    const records = await ctx.db.selectFrom('vault_records').select(['subject_id', 'fields', 'envelope']).orderBy('subject_id').execute();
    return {
      records: records.map((f) => `${f.subject_id}/${f.fields}/${f.envelope.toString('base64')}`),
      indexes: await n('vault_index'),
      keys: await n('data_keys'),
      audit: await n('audit_events'),
      subjects: await n('subjects'),
    };
  };

  describe('the happy path', () => {
    it('stores, reads masked and plain, looks up, patches and erases, answering only what the schemas list', async () => {
      const put = await app.inject({ method: 'PUT', url: pi(), headers: as('writer'), payload: { fields: PROFILE } });
      expect(put.statusCode).toBe(200);
      expect(Object.keys(put.json()).sort()).toEqual([
        'appId',
        'at',
        'auditSeq',
        'keyVersion',
        'mode',
        'removed',
        'subjectId',
        'suite',
        'written',
      ]);
      expect(put.json()).toMatchObject({ subjectId: sub, mode: 'replace', written: Object.keys(PROFILE).sort() });
      expect(put.body).not.toContain('13812345678');

      const masked = await app.inject({ method: 'GET', url: pi(), headers: as('reader') });
      expect(masked.statusCode).toBe(200);
      expect(masked.json()).toMatchObject({
        subjectId: sub,
        view: 'masked',
        purpose: null,
        fields: {
          'basic.name': { value: '张*', masked: true, from: sub },
          'contact.phone': { value: '138****5678', masked: true },
          'contact.email': { value: 'z***@example.com', masked: true },
        },
      });
      expect(masked.body).not.toContain('13812345678');

      const plain = await app.inject({
        method: 'GET',
        url: `${pi()}?view=plain&purpose=legal-compliance&categories=contact.phone`,
        headers: as('plain'),
      });
      expect(plain.statusCode).toBe(200);
      expect(plain.json().fields).toEqual({ 'contact.phone': expect.objectContaining({ value: '13812345678', masked: false }) });

      const found = await app.inject({
        method: 'POST',
        url: `/v1/apps/${SST}/pi/lookup`,
        headers: as('reader'),
        payload: { phone: '+86 138 1234 5678' },
      });
      expect(found.statusCode).toBe(200);
      expect(found.json()).toEqual({
        matches: [{ subjectId: sub, kind: 'account', linkedTo: null, status: 'active', category: 'contact.phone' }],
      });

      const patch = await app.inject({ method: 'PATCH', url: pi(), headers: as('writer'), payload: { fields: { 'contact.email': null } } });
      expect(patch.statusCode).toBe(200);
      expect(patch.json()).toMatchObject({ mode: 'merge', written: [], removed: ['contact.email'] });

      const admin = await app.inject({ method: 'GET', url: pi(), headers: as('admin') });
      expect(Object.keys(admin.json().fields).sort()).toEqual(['basic.name', 'contact.phone']);

      const erased = await app.inject({ method: 'DELETE', url: pi(), headers: as('eraser'), payload: { confirm: true } });
      expect(erased.statusCode).toBe(200);
      expect(erased.json()).toMatchObject({ subjectId: sub, subjects: [sub], fieldsDeleted: 2, keysShredded: 1, alreadyErased: false });
      expect(erased.json()).toMatchObject({
        backups: 'pending-kek-retirement',
        storage: ctx.database.dialect === 'sqlite' ? 'overwritten' : 'pending-kek-retirement',
      });
      const after = await app.inject({ method: 'GET', url: pi(), headers: as('reader') });
      expect(after.json()).toMatchObject({ status: 'erased', fields: {} });
      // Personal information never reaches the logs.
      for (const v of Object.values(PROFILE)) expect(logs).not.toContain(v);
    });
  });

  describe('bad input: the right 4xx, the one error shape, nothing written', () => {
    let live: string;
    beforeAll(async () => {
      live = (await subjects.ensure(ctx.db, { appId: SST, kind: 'account' })).id;
      const r = await app.inject({ method: 'PUT', url: pi(live), headers: as('writer'), payload: { fields: PROFILE } });
      expect(r.statusCode).toBe(200);
    });

    type Case = {
      name: string;
      method: 'GET' | 'PUT' | 'PATCH' | 'POST' | 'DELETE';
      url: () => string;
      headers?: Record<string, string>;
      payload?: unknown;
      raw?: string;
      status: number;
      code: string;
      path?: string;
      /** A refused plain read is itself audited (outcome denied). */
      audited?: boolean;
    };
    const lookupUrl = (a = SST) => `/v1/apps/${a}/pi/lookup`;
    const big = 'x'.repeat(9000);
    const cases: Case[] = [
      // malformed JSON
      { name: 'PUT malformed JSON', method: 'PUT', url: () => pi(live), raw: '{"fields": {', status: 400, code: 'invalid_json' },
      { name: 'PATCH malformed JSON', method: 'PATCH', url: () => pi(live), raw: '{fields}', status: 400, code: 'invalid_json' },
      { name: 'lookup malformed JSON', method: 'POST', url: () => lookupUrl(), raw: '[', status: 400, code: 'invalid_json' },
      { name: 'DELETE malformed JSON', method: 'DELETE', url: () => pi(live), raw: '{"confirm": tru', status: 400, code: 'invalid_json' },
      // wrong types and shapes
      {
        name: 'PUT fields not an object',
        method: 'PUT',
        url: () => pi(live),
        payload: { fields: 'x' },
        status: 400,
        code: 'validation_failed',
        path: '$.body.fields',
      },
      {
        name: 'PUT value not a string',
        method: 'PUT',
        url: () => pi(live),
        payload: { fields: { 'basic.name': 5 } },
        status: 400,
        code: 'validation_failed',
      },
      {
        name: 'PUT null in a replace',
        method: 'PUT',
        url: () => pi(live),
        payload: { fields: { 'basic.name': null } },
        status: 400,
        code: 'validation_failed',
      },
      { name: 'PUT no fields', method: 'PUT', url: () => pi(live), payload: { fields: {} }, status: 400, code: 'validation_failed' },
      { name: 'PUT missing body', method: 'PUT', url: () => pi(live), status: 400, code: 'validation_failed' },
      {
        name: 'PUT extra property',
        method: 'PUT',
        url: () => pi(live),
        payload: { fields: { 'basic.name': '王五' }, x: 1 },
        status: 400,
        code: 'validation_failed',
      },
      {
        name: 'PATCH value an array',
        method: 'PATCH',
        url: () => pi(live),
        payload: { fields: { 'basic.name': ['a'] } },
        status: 400,
        code: 'validation_failed',
      },
      {
        name: 'PUT bad phone',
        method: 'PUT',
        url: () => pi(live),
        payload: { fields: { 'contact.phone': '12345' } },
        status: 400,
        code: 'validation_failed',
        path: '$.body.fields["contact.phone"]',
      },
      {
        name: 'GET bad view',
        method: 'GET',
        url: () => `${pi(live)}?view=raw`,
        status: 400,
        code: 'validation_failed',
        path: '$.query.view',
      },
      {
        name: 'GET purpose without plain',
        method: 'GET',
        url: () => `${pi(live)}?purpose=legal-compliance`,
        status: 400,
        code: 'validation_failed',
        path: '$.query.purpose',
      },
      {
        name: 'GET plain without purpose',
        method: 'GET',
        url: () => `${pi(live)}?view=plain`,
        headers: as('plain'),
        status: 400,
        code: 'validation_failed',
        path: '$.query.purpose',
      },
      {
        name: 'lookup phone a number',
        method: 'POST',
        url: () => lookupUrl(),
        payload: { phone: 13812345678 },
        status: 400,
        code: 'validation_failed',
      },
      {
        name: 'lookup two keys',
        method: 'POST',
        url: () => lookupUrl(),
        payload: { phone: '13812345678', email: 'a@b.cn' },
        status: 400,
        code: 'validation_failed',
      },
      {
        name: 'lookup bad phone',
        method: 'POST',
        url: () => lookupUrl(),
        payload: { phone: 'call me' },
        status: 400,
        code: 'validation_failed',
        path: '$.body.phone',
      },
      {
        name: 'DELETE confirm a string',
        method: 'DELETE',
        url: () => pi(live),
        payload: { confirm: 'yes' },
        status: 400,
        code: 'validation_failed',
        path: '$.body.confirm',
      },
      { name: 'DELETE no body', method: 'DELETE', url: () => pi(live), status: 400, code: 'validation_failed' },
      {
        name: 'DELETE confirm false',
        method: 'DELETE',
        url: () => pi(live),
        payload: { confirm: false },
        status: 412,
        code: 'precondition_failed',
      },
      {
        name: 'malformed subject id',
        method: 'PUT',
        url: () => pi('sub_NOT-VALID'),
        payload: { fields: { 'basic.name': '王五' } },
        status: 400,
        code: 'validation_failed',
        path: '$.params.subject',
      },
      {
        name: 'malformed app id',
        method: 'GET',
        url: () => pi(live, 'Bad_App'),
        headers: as('admin'),
        status: 400,
        code: 'validation_failed',
        path: '$.params.app',
      },
      // unknown app / subject / category / purpose
      {
        name: 'PUT unknown app',
        method: 'PUT',
        url: () => pi(live, 'no-such-app'),
        headers: as('admin'),
        payload: { fields: { 'basic.name': '王五' } },
        status: 404,
        code: 'unknown_app',
        path: '$.params.app',
      },
      {
        name: 'GET unknown app',
        method: 'GET',
        url: () => pi(live, 'no-such-app'),
        headers: as('admin'),
        status: 404,
        code: 'unknown_app',
        path: '$.params.app',
      },
      {
        name: 'lookup unknown app',
        method: 'POST',
        url: () => lookupUrl('no-such-app'),
        headers: as('admin'),
        payload: { phone: '13812345678' },
        status: 404,
        code: 'unknown_app',
        path: '$.params.app',
      },
      {
        name: 'DELETE unknown app',
        method: 'DELETE',
        url: () => pi(live, 'no-such-app'),
        headers: as('admin'),
        payload: { confirm: true },
        status: 404,
        code: 'unknown_app',
        path: '$.params.app',
      },
      {
        name: 'PUT unknown subject',
        method: 'PUT',
        url: () => pi('sub_aaaaaaaaaaaaaaaaaaaaaaaaaa'),
        payload: { fields: { 'basic.name': '王五' } },
        status: 404,
        code: 'unknown_subject',
      },
      { name: 'GET unknown subject', method: 'GET', url: () => pi('sub_aaaaaaaaaaaaaaaaaaaaaaaaaa'), status: 404, code: 'unknown_subject' },
      {
        name: 'DELETE unknown subject',
        method: 'DELETE',
        url: () => pi('sub_aaaaaaaaaaaaaaaaaaaaaaaaaa'),
        payload: { confirm: true },
        status: 404,
        code: 'unknown_subject',
      },
      {
        name: 'PUT unknown category',
        method: 'PUT',
        url: () => pi(live),
        payload: { fields: { 'contact.phon': '13812345678' } },
        status: 422,
        code: 'unknown_category',
        path: '$.body.fields["contact.phon"]',
      },
      {
        name: 'PATCH unknown category',
        method: 'PATCH',
        url: () => pi(live),
        payload: { fields: { 'identity.id-card': '110101199003071233' } },
        status: 422,
        code: 'unknown_category',
      },
      { name: 'GET unknown category', method: 'GET', url: () => `${pi(live)}?categories=basic.nam`, status: 422, code: 'unknown_category' },
      {
        name: 'GET with an empty categories filter',
        method: 'GET',
        url: () => `${pi(live)}?categories=,`,
        status: 400,
        code: 'validation_failed',
        path: '$.query.categories',
      },
      {
        name: 'lookup undeclared category',
        method: 'POST',
        url: () => lookupUrl(XPP),
        headers: as('other'),
        payload: { email: 'a@b.cn' },
        status: 422,
        code: 'unknown_category',
      },
      {
        name: 'GET unknown purpose',
        method: 'GET',
        url: () => `${pi(live)}?view=plain&purpose=marketing`,
        headers: as('plain'),
        status: 422,
        code: 'unknown_purpose',
        path: '$.query.purpose',
      },
      {
        name: 'GET purpose not covering the category',
        method: 'GET',
        url: () => `${pi(live)}?view=plain&purpose=service-messages&categories=basic.name`,
        headers: as('plain'),
        status: 403,
        code: 'forbidden',
        audited: true,
      },
      // oversized body
      {
        name: 'PUT oversized',
        method: 'PUT',
        url: () => pi(live),
        payload: { fields: { 'basic.name': big } },
        status: 413,
        code: 'payload_too_large',
      },
      { name: 'lookup oversized', method: 'POST', url: () => lookupUrl(), payload: { phone: big }, status: 413, code: 'payload_too_large' },
      // missing or wrong key
      {
        name: 'PUT without a key',
        method: 'PUT',
        url: () => pi(live),
        headers: {},
        payload: { fields: { 'basic.name': '王五' } },
        status: 401,
        code: 'unauthenticated',
      },
      { name: 'GET with a wrong key', method: 'GET', url: () => pi(live), headers: as('nobody'), status: 401, code: 'unauthenticated' },
      {
        name: 'DELETE without a key',
        method: 'DELETE',
        url: () => pi(live),
        headers: {},
        payload: { confirm: true },
        status: 401,
        code: 'unauthenticated',
      },
      {
        name: 'lookup with a wrong key',
        method: 'POST',
        url: () => lookupUrl(),
        headers: { authorization: 'Basic abc' },
        payload: { phone: '13812345678' },
        status: 401,
        code: 'unauthenticated',
      },
      // wrong scope
      {
        name: 'PUT with a read key',
        method: 'PUT',
        url: () => pi(live),
        headers: as('reader'),
        payload: { fields: { 'basic.name': '王五' } },
        status: 403,
        code: 'forbidden',
      },
      {
        name: 'PATCH with a decide key',
        method: 'PATCH',
        url: () => pi(live),
        headers: as('decider'),
        payload: { fields: { 'basic.name': '王五' } },
        status: 403,
        code: 'forbidden',
      },
      { name: 'GET with a write key', method: 'GET', url: () => pi(live), headers: as('writer'), status: 403, code: 'forbidden' },
      {
        name: 'GET plain with a read key',
        method: 'GET',
        url: () => `${pi(live)}?view=plain&purpose=legal-compliance`,
        headers: as('reader'),
        status: 403,
        code: 'forbidden',
      },
      {
        name: 'lookup with a write key',
        method: 'POST',
        url: () => lookupUrl(),
        headers: as('writer'),
        payload: { phone: '13812345678' },
        status: 403,
        code: 'forbidden',
      },
      {
        name: 'DELETE with a write key',
        method: 'DELETE',
        url: () => pi(live),
        headers: as('writer'),
        payload: { confirm: true },
        status: 403,
        code: 'forbidden',
      },
      // an app-bound key on another app
      {
        name: 'PUT with another app’s key',
        method: 'PUT',
        url: () => pi(live),
        headers: as('other'),
        payload: { fields: { 'basic.name': '王五' } },
        status: 403,
        code: 'forbidden',
        path: '$.params.app',
      },
      { name: 'GET with another app’s key', method: 'GET', url: () => pi(live), headers: as('other'), status: 403, code: 'forbidden' },
      {
        name: 'lookup with another app’s key',
        method: 'POST',
        url: () => lookupUrl(),
        headers: as('other'),
        payload: { phone: '13812345678' },
        status: 403,
        code: 'forbidden',
      },
      {
        name: 'DELETE with another app’s key',
        method: 'DELETE',
        url: () => pi(live),
        headers: as('other'),
        payload: { confirm: true },
        status: 403,
        code: 'forbidden',
      },
    ];

    it.each(cases)('$name -> $status $code', async (c) => {
      const defaults: Record<Case['method'], keyof typeof KEYS> = {
        GET: 'reader',
        PUT: 'writer',
        PATCH: 'writer',
        POST: 'reader',
        DELETE: 'eraser',
      };
      const headers = c.headers ?? as(defaults[c.method]);
      const before = await tables();
      const res = await app.inject({
        method: c.method,
        url: c.url(),
        headers: c.raw !== undefined || c.payload !== undefined ? { ...headers, 'content-type': 'application/json' } : headers,
        ...(c.raw !== undefined ? { payload: c.raw } : c.payload !== undefined ? { payload: JSON.stringify(c.payload) } : {}),
      });
      expect(res.statusCode, res.body).toBe(c.status);
      const body = res.json() as { error: { code: string; message: string; requestId: string; details?: { path?: string }[] } };
      expect(Object.keys(body)).toEqual(['error']);
      expect(body.error.code).toBe(c.code);
      expect(body.error.requestId).toBe(res.headers['x-request-id']);
      expect(typeof body.error.message).toBe('string');
      expect(res.body).not.toMatch(/at .*\.(ts|js):\d+/); // no stack trace
      if (c.path !== undefined) expect(body.error.details?.map((d) => d.path)).toContain(c.path);
      for (const v of Object.values(PROFILE)) expect(res.body).not.toContain(v);
      const after = await tables();
      expect(after.records).toEqual(before.records);
      expect(after.indexes).toBe(before.indexes);
      expect(after.keys).toBe(before.keys);
      expect(after.subjects).toBe(before.subjects);
      expect(after.audit).toBe(before.audit + (c.audited === true ? 1 : 0));
    });

    it('never repeats an unknown id that looks like personal information, and still names a mistyped one', async () => {
      const put = await app.inject({ method: 'PUT', url: pi(live), headers: as('writer'), payload: { fields: { '13812345678': 'x' } } });
      expect(put.statusCode).toBe(422);
      expect(put.body).not.toContain('13812345678');
      expect(put.json().error.message).toContain('(value not shown: not an id)');
      const read = await app.inject({ method: 'GET', url: `${pi(live)}?view=plain&purpose=13700001111`, headers: as('plain') });
      expect(read.statusCode).toBe(422);
      expect(read.body).not.toContain('13700001111');
      const named = await app.inject({ method: 'GET', url: `${pi(live)}?view=masked&categories=王小明`, headers: as('reader') });
      expect(named.statusCode).toBe(422);
      expect(named.body).not.toContain('王小明');
      const typo = await app.inject({
        method: 'PUT',
        url: pi(live),
        headers: as('writer'),
        payload: { fields: { 'contact.phon': '13812345678' } },
      });
      expect(typo.json().error.message).toBe('app shengshitong declares no category contact.phon; did you mean contact.phone?');
    });

    it('left the stored record intact', async () => {
      const r = await app.inject({ method: 'GET', url: pi(live), headers: as('reader') });
      expect(Object.keys(r.json().fields).sort()).toEqual(Object.keys(PROFILE).sort());
      for (const v of Object.values(PROFILE)) expect(logs).not.toContain(v);
    });
  });

  it('documents the routes in the OpenAPI document', async () => {
    const doc = (await app.inject({ method: 'GET', url: '/openapi.json' })).json() as { paths: Record<string, Record<string, unknown>> };
    expect(Object.keys(doc.paths['/v1/apps/{app}/subjects/{subject}/pi'] ?? {}).sort()).toEqual(['delete', 'get', 'patch', 'put']);
    expect(Object.keys(doc.paths['/v1/apps/{app}/pi/lookup'] ?? {})).toEqual(['post']);
  });
});
