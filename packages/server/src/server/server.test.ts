import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countAuditEvents } from '../audit/audit-log.js';
import { generateTokenKeyPair, signSubjectToken } from '../auth/subject-token.js';
import { ALIAS_BOMB, APP, V1, V2 } from '../policies/test-fixtures.js';
import type { ServiceContext } from '../service/context.js';
import { EXAMPLE_FILES, openTestContext } from '../service/test-context.js';
import { forEachDialect } from '../store/test-dialects.js';
import { createPipaServer, type PipaServer } from './create.js';

interface Reply {
  status: number;
  body: Record<string, unknown> & { error?: { code: string; message: string; requestId: string; details?: { path?: string }[] } };
  raw: string;
  headers: Record<string, unknown>;
}

const XPP = 'xiaopiaopiao-merchant';

forEachDialect('pipa server', (dctx) => {
  let ctx: ServiceContext;
  let server: PipaServer;
  let admin: string;
  let subjectTokenKey: ReturnType<typeof generateTokenKeyPair>;

  const call = async (
    method: 'GET' | 'POST' | 'PUT' | 'DELETE',
    url: string,
    opts: { token?: string; body?: unknown; raw?: string; headers?: Record<string, string> } = {},
  ): Promise<Reply> => {
    const r = await server.app.inject({
      method,
      url,
      headers: {
        ...(opts.token !== undefined ? { authorization: `Bearer ${opts.token}` } : {}),
        ...(opts.raw !== undefined ? { 'content-type': 'application/json' } : {}),
        ...opts.headers,
      },
      ...(opts.body !== undefined ? { payload: opts.body as Record<string, unknown> } : {}),
      ...(opts.raw !== undefined ? { payload: opts.raw } : {}),
    });
    let body: Reply['body'] = {};
    try {
      body = r.json() as Reply['body'];
    } catch {
      body = {};
    }
    return { status: r.statusCode, body, raw: r.body, headers: r.headers };
  };
  const newKey = async (scopes: string[], app: string | null = XPP) => {
    const r = await call('POST', '/v1/keys', { token: admin, body: { app, name: `k-${scopes.join('-')}`, scopes } });
    expect(r.status).toBe(201);
    return r.body.token as string;
  };
  const writes = async () => ({
    audit: await countAuditEvents(dctx.db),
    versions: (await dctx.db.selectFrom('policy_versions').select('version').execute()).length,
    keys: (await dctx.db.selectFrom('api_keys').select('id').execute()).length,
    tokenKeys: (await dctx.db.selectFrom('subject_token_keys').select('kid').execute()).length,
  });

  beforeAll(async () => {
    ctx = await openTestContext(dctx.database);
    server = await createPipaServer(ctx, {
      bodyLimit: 128 * 1024,
      rateLimit: false,
      site: (decls) => Object.fromEntries(decls.flatMap((d) => [[`${d.app.id}/zh/policy.html`, `<!doctype html><h1>${d.app.id}</h1>`]])),
    });
    const boot = await server.services.keys.bootstrapAdminKey();
    admin = boot?.token ?? '';
    subjectTokenKey = generateTokenKeyPair();
    await dctx.db
      .insertInto('subjects')
      .values(
        ['sub_alice000001', 'sub_bob00000001'].map((id, i) => ({
          id,
          app_id: XPP,
          kind: 'account' as const,
          external_id: `u-${i}`,
          linked_to: null,
          status: 'active' as const,
          birth_date: null,
          created_at: 1,
          updated_at: 1,
          frozen_at: null,
          erased_at: null,
        })),
      )
      .execute();
  });
  afterAll(async () => {
    await server.close();
  });

  describe('policies over HTTP', () => {
    it('publishes, lists, reads, diffs', async () => {
      const pub = await call('POST', `/v1/apps/${APP}/policies`, { token: admin, body: { source: V1 } });
      expect(pub.status).toBe(201);
      expect(pub.body).toMatchObject({ created: true, version: { version: '1.0', material: true } });
      const v2 = await call('POST', `/v1/apps/${APP}/policies?lang=en`, { token: admin, body: { source: V2 } });
      expect(v2.status).toBe(201);
      expect((v2.body.diff as { reconsent: boolean }).reconsent).toBe(true);
      const apps = await call('GET', '/v1/apps', { token: admin });
      expect((apps.body.apps as { id: string }[]).map((a) => a.id)).toEqual([APP, 'shengshitong', XPP]);
      const hist = await call('GET', `/v1/apps/${APP}/policies`, { token: admin });
      expect((hist.body.versions as { version: string }[]).map((v) => v.version)).toEqual(['2.0', '1.0']);
      const cur = await call('GET', `/v1/apps/${APP}/policies/current`, { token: admin });
      expect(cur.body).toMatchObject({ version: '2.0', current: true });
      expect((cur.body.declaration as { app: { id: string } }).app.id).toBe(APP);
      const one = await call('GET', `/v1/apps/${APP}/policies/1.0`, { token: admin });
      expect(one.body).toMatchObject({ version: '1.0', current: false, diff: null });
      const diff = await call('GET', `/v1/apps/${APP}/policies/2.0/diff`, { token: admin });
      expect(diff.body).toMatchObject({ from: '1.0', to: '2.0', diff: { reconsent: true } });
      expect((await call('GET', `/v1/apps/${APP}`, { token: admin })).body).toMatchObject({ id: APP, currentVersion: '2.0' });
    });

    it('answers a YAML alias bomb with 400 validation_failed at the alias, not 500, and publishes nothing', async () => {
      const before = await writes();
      const r = await call('POST', `/v1/apps/${APP}/policies`, { token: admin, body: { source: ALIAS_BOMB } });
      expect(r.status).toBe(400);
      expect(r.body.error?.code).toBe('validation_failed');
      expect(r.body.error?.message).toMatch(/^the declaration is invalid: \$\.body\.source:\d+:\d+: YAML: too many alias expansions/);
      expect(r.body.error?.details?.[0]).toMatchObject({ path: '$.body.source', line: expect.any(Number), column: expect.any(Number) });
      expect(await writes()).toEqual(before);
    });

    it('answers every class of bad input with the right 4xx and writes nothing', async () => {
      const reader = await newKey(['policy:read']);
      const writerXpp = await newKey(['policy:write', 'policy:read']);
      const before = await writes();
      const cases: [string, Promise<Reply>, number, string][] = [
        ['malformed JSON', call('POST', `/v1/apps/${APP}/policies`, { token: admin, raw: '{"source": ' }), 400, 'invalid_json'],
        ['wrong types', call('POST', `/v1/apps/${APP}/policies`, { token: admin, body: { source: 42 } }), 400, 'validation_failed'],
        [
          'unknown field',
          call('POST', `/v1/apps/${APP}/policies`, { token: admin, body: { source: V1, extra: 1 } }),
          400,
          'validation_failed',
        ],
        ['bad app id', call('POST', '/v1/apps/Not_An_Id/policies', { token: admin, body: { source: V1 } }), 400, 'validation_failed'],
        ['no declaration', call('POST', `/v1/apps/${APP}/policies`, { token: admin, body: {} }), 400, 'validation_failed'],
        [
          'invalid declaration',
          call('POST', `/v1/apps/${APP}/policies`, { token: admin, body: { source: 'pipa: 2' } }),
          400,
          'validation_failed',
        ],
        ['duplicate version', call('POST', `/v1/apps/${APP}/policies`, { token: admin, body: { source: V2 } }), 409, 'conflict'],
        [
          'lint errors',
          call('POST', '/v1/apps/shengshitong/policies', {
            token: admin,
            body: { source: readFileSync(EXAMPLE_FILES.shengshitong, 'utf8').replace('version: "1"', 'version: "9"') },
          }),
          422,
          'lint_errors',
        ],
        [
          'oversized body',
          call('POST', `/v1/apps/${APP}/policies`, { token: admin, body: { source: 'x'.repeat(200_000) } }),
          413,
          'payload_too_large',
        ],
        ['missing key', call('POST', `/v1/apps/${APP}/policies`, { body: { source: V1 } }), 401, 'unauthenticated'],
        [
          'wrong key',
          call('POST', `/v1/apps/${APP}/policies`, { token: `pipa_aaaaaaaaaaaa_${'B'.repeat(43)}`, body: { source: V1 } }),
          401,
          'unauthenticated',
        ],
        ['wrong scope', call('POST', `/v1/apps/${XPP}/policies`, { token: reader, body: { source: V1 } }), 403, 'forbidden'],
        ['other app', call('POST', `/v1/apps/${APP}/policies`, { token: writerXpp, body: { source: V1 } }), 403, 'forbidden'],
        ['other app read', call('GET', `/v1/apps/${APP}/policies`, { token: writerXpp }), 403, 'forbidden'],
        ['unknown app', call('GET', '/v1/apps/no-such-app/policies', { token: admin }), 404, 'unknown_app'],
        ['unknown version', call('GET', `/v1/apps/${APP}/policies/7.7`, { token: admin }), 404, 'not_found'],
        ['bad lang', call('POST', `/v1/apps/${APP}/policies?lang=fr`, { token: admin, body: { source: V1 } }), 400, 'validation_failed'],
      ];
      for (const [name, pending, status, code] of cases) {
        const r = await pending;
        expect([name, r.status, r.body.error?.code]).toEqual([name, status, code]);
        expect(r.body.error?.requestId).toBe(r.headers['x-request-id']);
      }
      expect(await writes()).toEqual(before);
      const none = await call('POST', `/v1/apps/${APP}/policies`, { token: admin, body: {} });
      expect(none.body.error?.message).toBe('no declaration given: send it as YAML `source` or as a JSON `declaration`');
      // An app-bound key sees only its app in the list.
      expect(((await call('GET', '/v1/apps', { token: reader })).body.apps as { id: string }[]).map((a) => a.id)).toEqual([XPP]);
    });
  });

  describe('keys over HTTP', () => {
    it('creates (token once), lists (no secret), revokes (refused at once)', async () => {
      const created = await call('POST', '/v1/keys', { token: admin, body: { app: XPP, name: 'orders', scopes: ['policy:read'] } });
      expect(created.status).toBe(201);
      const token = created.body.token as string;
      const id = (created.body.key as { id: string }).id;
      expect((await call('GET', '/v1/apps', { token })).status).toBe(200);
      const list = await call('GET', `/v1/keys?app=${XPP}`, { token: admin });
      expect(list.raw).not.toContain(token.slice(18));
      expect(list.raw).not.toContain('"hash"');
      expect((list.body.keys as { id: string }[]).map((k) => k.id)).toContain(id);
      expect((await call('GET', `/v1/keys/${id}`, { token: admin })).body).toMatchObject({ id, name: 'orders' });
      const del = await call('DELETE', `/v1/keys/${id}`, { token: admin });
      expect(del.status).toBe(200);
      expect(typeof (del.body as { revokedAt: unknown }).revokedAt).toBe('number');
      // At once on the node that revoked it (no waiting for the notification).
      expect((await call('GET', '/v1/apps', { token })).status).toBe(401);
    });

    it('refuses bad key requests with the right 4xx and writes nothing', async () => {
      const manager = await newKey(['keys:manage', 'policy:read']);
      const plain = await newKey(['policy:read']);
      const before = await writes();
      const cases: [string, Promise<Reply>, number, string][] = [
        ['no scopes', call('POST', '/v1/keys', { token: admin, body: { name: 'x', scopes: [] } }), 400, 'validation_failed'],
        ['unknown scope', call('POST', '/v1/keys', { token: admin, body: { name: 'x', scopes: ['root'] } }), 400, 'validation_failed'],
        ['no name', call('POST', '/v1/keys', { token: admin, body: { scopes: ['decide'] } }), 400, 'validation_failed'],
        [
          'past expiry',
          call('POST', '/v1/keys', { token: admin, body: { name: 'x', scopes: ['decide'], expiresAt: 1000 } }),
          400,
          'validation_failed',
        ],
        [
          'unknown app',
          call('POST', '/v1/keys', { token: admin, body: { app: 'nope', name: 'x', scopes: ['decide'] } }),
          404,
          'unknown_app',
        ],
        ['malformed JSON', call('POST', '/v1/keys', { token: admin, raw: '[' }), 400, 'invalid_json'],
        ['wrong scope', call('POST', '/v1/keys', { token: plain, body: { name: 'x', scopes: ['policy:read'] } }), 403, 'forbidden'],
        ['escalation', call('POST', '/v1/keys', { token: manager, body: { name: 'x', scopes: ['admin'] } }), 403, 'forbidden'],
        [
          'other app',
          call('POST', '/v1/keys', { token: manager, body: { app: 'shengshitong', name: 'x', scopes: ['policy:read'] } }),
          403,
          'forbidden',
        ],
        [
          'a key spanning apps asked by an app-bound key',
          call('POST', '/v1/keys', { token: manager, body: { app: null, name: 'x', scopes: ['policy:read'] } }),
          403,
          'forbidden',
        ],
        ['list an unknown app', call('GET', '/v1/keys?app=nope', { token: admin }), 404, 'unknown_app'],
        ['bad id', call('DELETE', '/v1/keys/nope', { token: admin }), 400, 'validation_failed'],
        ['unknown id', call('DELETE', '/v1/keys/key_aaaaaaaaaaaa', { token: admin }), 404, 'not_found'],
        ['missing key', call('GET', '/v1/keys', {}), 401, 'unauthenticated'],
        [
          'token key not admin',
          call('PUT', `/v1/apps/${XPP}/subject-token-keys/k1`, { token: manager, body: { publicKey: 'x' } }),
          403,
          'forbidden',
        ],
        [
          'token key not ed25519',
          call('PUT', `/v1/apps/${XPP}/subject-token-keys/k1`, { token: admin, body: { publicKey: 'x' } }),
          400,
          'validation_failed',
        ],
        [
          'token key bad kid',
          call('PUT', `/v1/apps/${XPP}/subject-token-keys/a%20b`, { token: admin, body: { publicKey: 'x' } }),
          400,
          'validation_failed',
        ],
        [
          'token key unknown app',
          call('PUT', '/v1/apps/nope/subject-token-keys/k1', { token: admin, body: { publicKey: subjectTokenKey.publicKeyPem } }),
          404,
          'unknown_app',
        ],
      ];
      for (const [name, pending, status, code] of cases) {
        const r = await pending;
        expect([name, r.status, r.body.error?.code]).toEqual([name, status, code]);
      }
      expect(await writes()).toEqual(before);
      // A bound manager lists only its app's keys; another app's key id is not confirmed.
      const listed = (await call('GET', '/v1/keys', { token: manager })).body.keys as { appId: string }[];
      expect(new Set(listed.map((k) => k.appId))).toEqual(new Set([XPP]));
    });

    it('registers a subject-token key (admin)', async () => {
      const r = await call('PUT', `/v1/apps/${XPP}/subject-token-keys/k1`, {
        token: admin,
        body: { publicKey: subjectTokenKey.publicKeyPem },
      });
      expect(r.status).toBe(200);
      expect(r.body).toMatchObject({ appId: XPP, kid: 'k1', revokedAt: null });
      const list = await call('GET', `/v1/apps/${XPP}/subject-token-keys`, { token: admin });
      expect((list.body.keys as unknown[]).length).toBe(1);
    });
  });

  describe('audit over HTTP', () => {
    it('lists events, verifies the chain, signs and lists checkpoints', async () => {
      const auditor = await newKey(['audit:read'], null);
      const events = await call('GET', '/v1/audit/events?limit=5', { token: auditor });
      expect(events.status).toBe(200);
      expect((events.body.events as { seq: number }[]).map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]);
      expect(events.body.nextAfter).toBe(5);
      const next = await call('GET', '/v1/audit/events?after=5&limit=1', { token: auditor });
      expect((next.body.events as { seq: number }[])[0]?.seq).toBe(6);
      const verify = await call('POST', '/v1/audit/verify', { token: auditor, body: {} });
      expect(verify.body).toMatchObject({ ok: true });
      expect((await call('POST', '/v1/audit/checkpoints', { token: auditor })).status).toBe(403);
      const cp = await call('POST', '/v1/audit/checkpoints', { token: admin });
      expect(cp.status).toBe(201);
      const cps = await call('GET', '/v1/audit/checkpoints', { token: auditor });
      expect((cps.body.checkpoints as unknown[]).length).toBe(1);
      expect((cps.body.signingKey as { publicKey: string }).publicKey).toBe(ctx.checkpointSigner.publicKey);
      // App-bound: only the app's events.
      const bound = await newKey(['audit:read'], APP);
      const mine = (await call('GET', '/v1/audit/events?limit=1000', { token: bound })).body.events as { appId: string }[];
      expect(mine.length).toBeGreaterThan(0);
      expect(new Set(mine.map((e) => e.appId))).toEqual(new Set([APP]));
      const other = await call('GET', `/v1/audit/events?app=${XPP}`, { token: bound });
      expect([other.status, (other.body.error as { details: { path: string }[] }).details[0]?.path]).toEqual([403, '$.query.app']);
      expect((await call('GET', '/v1/audit/events?after=-1', { token: auditor })).status).toBe(400);
      expect((await call('POST', '/v1/audit/verify', { token: auditor, body: { from: 5, to: 2 } })).status).toBe(400);
      // A range beyond the head is a bad request naming the field, never a broken chain (the margins
      // leave room for events the service appends meanwhile).
      const head = (verify.body.head as { seq: number }).seq;
      for (const [body, field] of [
        [{ from: head + 100 }, 'from'],
        [{ from: head + 1000, to: head + 1000 }, 'from'],
        [{ to: head + 100 }, 'to'],
        [{ from: 1, to: head + 1000 }, 'to'],
      ] as const) {
        const beyond = await call('POST', '/v1/audit/verify', { token: auditor, body });
        expect(beyond.status).toBe(400);
        expect(beyond.body).toMatchObject({
          error: {
            code: 'validation_failed',
            details: [{ path: `$.body.${field}`, message: expect.stringMatching(/^is beyond the head \(\d+\)$/) }],
          },
        });
      }
      const atHead = await call('POST', '/v1/audit/verify', { token: auditor, body: { from: head, to: head } });
      expect(atHead.body).toMatchObject({ ok: true, checked: 1 });
    });

    it("answers a subject's access history to the subject's token and to audit:read, nobody else", async () => {
      const key = await newKey(['audit:read']);
      await ctx.audit.append(ctx.db, {
        actor: (await server.services.keys.list({ appId: XPP }))[0]?.id ?? 'system',
        action: 'vault.read',
        appId: XPP,
        subject: 'sub_alice000001',
        categories: ['contact.phone'],
        purpose: 'account',
      });
      const token = signSubjectToken(subjectTokenKey.privateKeyPem, 'k1', { app: XPP, sub: 'u-0' });
      const mine = await call('GET', `/v1/apps/${XPP}/subjects/sub_alice000001/access-history`, { token });
      expect(mine.status).toBe(200);
      const [entry] = mine.body.events as {
        action: string;
        purpose: string;
        categories: string[];
        who: { type: string; name: string | null };
      }[];
      expect(entry).toMatchObject({ action: 'vault.read', purpose: 'account', categories: ['contact.phone'], who: { type: 'api-key' } });
      expect(entry?.who.name).toBeTruthy();
      expect((await call('GET', `/v1/apps/${XPP}/subjects/sub_alice000001/access-history`, { token: key })).status).toBe(200);
      const cases: [Promise<Reply>, number, string][] = [
        [call('GET', `/v1/apps/${XPP}/subjects/sub_bob00000001/access-history`, { token }), 403, 'forbidden'],
        [
          call('GET', `/v1/apps/${XPP}/subjects/sub_alice000001/access-history`, { token: await newKey(['policy:read']) }),
          403,
          'forbidden',
        ],
        [call('GET', `/v1/apps/${XPP}/subjects/sub_nobody000001/access-history`, { token: key }), 404, 'unknown_subject'],
        [call('GET', `/v1/apps/${XPP}/subjects/alice/access-history`, { token: key }), 400, 'validation_failed'],
        [call('GET', `/v1/apps/${XPP}/subjects/sub_alice000001/access-history`, { token: 'a.b.c' }), 401, 'unauthenticated'],
        [call('GET', `/v1/apps/${XPP}/subjects/sub_alice000001/access-history`, {}), 401, 'unauthenticated'],
        [call('GET', `/v1/apps/${XPP}/policies`, { token }), 403, 'forbidden'],
      ];
      for (const [pending, status, code] of cases) {
        const r = await pending;
        expect([r.status, r.body.error?.code]).toEqual([status, code]);
      }
    });
  });

  describe('credentials that do not verify', () => {
    it('are 401 on every route whatever their kind; only a verified credential of the wrong kind is 403', async () => {
      const alice = `/v1/apps/${XPP}/subjects/sub_alice000001`;
      const token = signSubjectToken(subjectTokenKey.privateKeyPem, 'k1', { app: XPP, sub: 'u-0' });
      const forged = signSubjectToken(generateTokenKeyPair().privateKeyPem, 'k1', { app: XPP, sub: 'u-0' });
      const unknownKey = `pipa_aaaaaaaaaaaa_${'B'.repeat(43)}`;
      const cases: [string, Promise<Reply>, number, string][] = [];
      // pi: API key only; consents and access-history: key or subject.
      for (const url of [`${alice}/pi`, `${alice}/consents`, `${alice}/access-history`, `/v1/apps/${XPP}/policies`]) {
        for (const bad of ['nope', 'a.b.c', 'a.b', forged, unknownKey])
          cases.push([`${url} ${bad.slice(0, 12)}`, call('GET', url, { token: bad }), 401, 'unauthenticated']);
        cases.push([`${url} none`, call('GET', url), 401, 'unauthenticated']);
      }
      cases.push([`${alice}/pi subject`, call('GET', `${alice}/pi`, { token }), 403, 'forbidden']);
      cases.push([`policies subject`, call('GET', `/v1/apps/${XPP}/policies`, { token }), 403, 'forbidden']);
      for (const [name, pending, status, code] of cases) {
        const r = await pending;
        expect([name, r.status, r.body.error?.code]).toEqual([name, status, code]);
      }
      expect((await call('GET', `${alice}/access-history`, { token })).status).toBe(200);
    });
  });

  describe('the walk-through (README): publish, register a subject, consent, decide, read masked, erase, access history', () => {
    it('runs end to end through one server', async () => {
      const backend = await newKey(['vault:write', 'vault:read', 'vault:erase', 'consent:write', 'consent:read', 'decide', 'audit:read']);
      const subject = await call('POST', `/v1/apps/${XPP}/subjects`, { token: backend, body: { kind: 'account', externalId: 'walk-1' } });
      expect(subject.status).toBe(200);
      const id = subject.body.id as string;
      const pi = await call('PUT', `/v1/apps/${XPP}/subjects/${id}/pi`, {
        token: backend,
        body: { fields: { 'contact.phone': '13812345678', 'basic.name': '张三' } },
      });
      expect(pi.status).toBe(200);
      const denied = await call('POST', `/v1/apps/${XPP}/decisions`, {
        token: backend,
        body: { subject: id, purpose: 'marketing-contact', categories: ['contact.phone'] },
      });
      expect(denied.body).toMatchObject({ allow: false, needs: 'consent' });
      const grant = await call('POST', `/v1/apps/${XPP}/subjects/${id}/consents`, {
        token: backend,
        body: { action: 'grant', consents: [{ purpose: 'marketing-contact' }], method: 'user', policyVersion: '2022-03-20' },
      });
      expect(grant.status).toBe(201);
      const allowed = await call('POST', `/v1/apps/${XPP}/decisions`, {
        token: backend,
        body: { subject: id, purpose: 'marketing-contact', categories: ['contact.phone'] },
      });
      expect(allowed.body).toMatchObject({ allow: true });
      const masked = await call('GET', `/v1/apps/${XPP}/subjects/${id}/pi`, { token: backend });
      expect(masked.status).toBe(200);
      expect(masked.raw).not.toContain('13812345678');
      expect((masked.body.fields as Record<string, { value: string; masked: boolean }>)['contact.phone']).toMatchObject({
        value: '138****5678',
        masked: true,
      });
      const erased = await call('DELETE', `/v1/apps/${XPP}/subjects/${id}/pi`, { token: backend, body: { confirm: true } });
      expect(erased.status).toBe(200);
      expect(erased.body).toMatchObject({
        subjectId: id,
        keysShredded: 1,
        storage: dctx.dialect === 'sqlite' ? 'overwritten' : 'pending-kek-retirement',
        backups: 'pending-kek-retirement',
      });
      const history = await call('GET', `/v1/apps/${XPP}/subjects/${id}/access-history`, { token: backend });
      const actions = (history.body.events as { action: string }[]).map((e) => e.action);
      expect(actions).toEqual(expect.arrayContaining(['vault.write', 'consent.grant', 'vault.erase']));
    });
  });

  describe('service pages', () => {
    it('serves OpenAPI with every route, /docs, /healthz, /readyz and the site', async () => {
      const doc = (await call('GET', '/openapi.json')).body as { paths: Record<string, unknown> };
      for (const p of [
        '/v1/apps/{app}/policies',
        '/v1/keys',
        '/v1/keys/{id}',
        '/v1/audit/events',
        '/v1/apps/{app}/subjects/{subject}/access-history',
      ]) {
        expect(Object.keys(doc.paths)).toContain(p);
      }
      expect((await call('GET', '/docs')).raw).toContain('publishPolicy');
      expect((await call('GET', '/healthz')).status).toBe(200);
      const ready = await call('GET', '/readyz');
      expect(ready.status).toBe(200);
      expect(ready.body.detail).toContain('reachable');
      const page = await call('GET', `/site/${XPP}/zh/policy.html`);
      expect(page.status).toBe(200);
      expect(page.headers['content-type']).toContain('text/html');
      expect((await call('GET', '/site/../etc/passwd')).status).toBe(404);
      expect((await call('GET', '/')).status).toBe(302);
    });
  });
});
