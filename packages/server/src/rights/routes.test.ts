/**
 * The rights routes over HTTP: the person with a subject token, staff with scoped API keys, the
 * one-time code and download routes without credentials; every bad input gets its 4xx.
 */
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { generateTokenKeyPair, signSubjectToken } from '../auth/subject-token.js';
import { createHttpApp } from '../http/app.js';
import { createKeyAuthenticator } from '../keys/authenticator.js';
import { createKeyService } from '../keys/service.js';
import { forEachDialect } from '../store/test-dialects.js';
import { rightsRoutes } from './routes.js';
import { openRightsHarness, type RightsHarness, XPP } from './test-support.js';
import { unzip } from './zip.js';

forEachDialect('rights routes', (dialect) => {
  let h: RightsHarness;
  let app: FastifyInstance;
  const tokens: Record<string, string> = {};
  const pair = generateTokenKeyPair();
  let alice = '';
  let bob = '';

  const subjectToken = (sub: string, now = Date.now()) => signSubjectToken(pair.privateKeyPem, 'k1', { app: XPP, sub, now });
  const call = (method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, auth?: string, payload?: unknown) =>
    app.inject({
      method,
      url,
      ...(auth !== undefined ? { headers: { authorization: `Bearer ${auth}` } } : {}),
      ...(payload !== undefined ? { payload: payload as object } : {}),
    });

  beforeAll(async () => {
    h = await openRightsHarness(dialect.database);
    const keys = createKeyService(h.ctx);
    const make = async (name: string, appId: string | null, scopes: string[]) =>
      (await keys.create({ appId, name, scopes, creator: null, actor: 'test' })).token;
    tokens.staff = await make('staff', XPP, ['rights:read', 'rights:write']);
    tokens.reader = await make('reader', XPP, ['rights:read']);
    tokens.other = await make('other-app', 'shengshitong', ['rights:read', 'rights:write']);
    tokens.admin = await make('admin', null, ['admin']);
    await keys.setSubjectTokenKey({ appId: XPP, kid: 'k1', publicKey: pair.publicKeyPem, actor: 'test' });
    const auth = await createKeyAuthenticator(h.ctx);
    app = await createHttpApp({ routes: rightsRoutes(h.ctx, { rights: h.rights }), auth, version: 'test', rateLimit: false });
    for (const [ext, phone] of [
      ['1', '13812345678'],
      ['2', '13987654321'],
    ] as const) {
      const s = await h.subjects.ensure(h.ctx.db, { appId: XPP, kind: 'account', externalId: ext });
      await h.vault.put(XPP, s.id, { 'contact.phone': phone }, { id: 'key_test00000001' });
      if (ext === '1') alice = s.id;
      else bob = s.id;
    }
    await h.vault.flush();
  });
  afterAll(async () => {
    await app.close();
    await h.close();
  });

  it('the person: submit with a token, follow it, download the package once', async () => {
    const t = subjectToken('1');
    const res = await call('POST', `/v1/apps/${XPP}/subjects/${alice}/rights/requests`, t, { type: 'access' });
    expect(res.statusCode).toBe(201);
    const body = res.json();
    expect(body.request).toMatchObject({ type: 'access', state: 'in_progress', delayed: false, download: false });
    expect(body.request.verifyReason).toBeUndefined();
    const id = body.id as string;

    const dup = await call('POST', `/v1/apps/${XPP}/subjects/${alice}/rights/requests`, t, { type: 'access' });
    expect(dup.statusCode).toBe(409);
    expect(dup.json().error.details[0].existingId).toBe(id);
    // What the conflict is about, named where the request has it.
    expect(dup.json().error.details[0].path).toBe('$.body.type');

    await h.drain();
    const status = await call('GET', `/v1/apps/${XPP}/subjects/${alice}/rights/requests/${id}`, t);
    expect(status.statusCode).toBe(200);
    expect(status.json()).toMatchObject({ state: 'completed', download: true, progress: { done: 4, total: 4 } });
    const list = await call('GET', `/v1/apps/${XPP}/subjects/${alice}/rights/requests`, t);
    expect(list.json().requests.map((r: { id: string }) => r.id)).toContain(id);

    const link = await call('POST', `/v1/apps/${XPP}/subjects/${alice}/rights/requests/${id}/download-link`, t);
    expect(link.statusCode).toBe(201);
    const dl = await call('GET', link.json().path);
    expect(dl.statusCode).toBe(200);
    expect(dl.headers['content-type']).toBe('application/zip');
    expect(String(dl.headers['content-disposition'])).toContain(`${id}.zip`);
    const files = unzip(dl.rawPayload);
    expect(files.has('package.json')).toBe(true);
    expect(JSON.parse(files.get('package.json')?.toString('utf8') ?? '{}').data.vault[0].value).toBe('13812345678');
    expect((await call('GET', link.json().path)).statusCode).toBe(404);
    expect((await call('GET', '/v1/rights/downloads/not-a-token')).statusCode).toBe(404);
  });

  it('refuses expired tokens, other subjects, other apps and missing scopes', async () => {
    const expired = subjectToken('1', Date.now() - 3600_000);
    expect((await call('POST', `/v1/apps/${XPP}/subjects/${alice}/rights/requests`, expired, { type: 'copy' })).statusCode).toBe(401);
    expect((await call('POST', `/v1/apps/${XPP}/subjects/${alice}/rights/requests`, undefined, { type: 'copy' })).statusCode).toBe(401);
    const bobs = subjectToken('2');
    const other = await call('POST', `/v1/apps/${XPP}/subjects/${alice}/rights/requests`, bobs, { type: 'copy' });
    expect(other.statusCode).toBe(403);
    expect((await call('GET', `/v1/apps/${XPP}/rights/requests`, bobs)).statusCode).toBe(403);
    expect((await call('GET', `/v1/apps/${XPP}/rights/requests`, tokens.other)).statusCode).toBe(403);
    expect((await call('POST', `/v1/apps/${XPP}/subjects/${bob}/rights/requests`, tokens.reader, { type: 'copy' })).statusCode).toBe(403);
    const list = await call('GET', `/v1/apps/${XPP}/subjects/${bob}/rights/requests`, tokens.reader);
    expect(list.statusCode).toBe(200);
    expect(
      (await call('POST', `/v1/apps/${XPP}/subjects/${bob}/rights/restriction/lift`, bobs, { reason: 'please lift it' })).statusCode,
    ).toBe(409);
    expect(
      (await call('POST', `/v1/apps/${XPP}/subjects/${alice}/rights/restriction/lift`, bobs, { reason: 'please lift it' })).statusCode,
    ).toBe(403);
  });

  it('rejects bad input with the JSON path, unknown subjects and requests with 404', async () => {
    const t = subjectToken('2');
    const cases: [unknown, string][] = [
      [{ type: 'everything' }, '$.body.type'],
      [{ type: 'access', extra: 1 }, '$.body'],
      [{ type: 'correction', corrections: { 'contact.phone': '' } }, '$.body.corrections["contact.phone"]'],
      // A value the vault would refuse when the request runs is refused at submission.
      [{ type: 'correction', corrections: { 'contact.phone': '12' } }, '$.body.corrections["contact.phone"]'],
      [{ type: 'access', exportFirst: true }, '$.body.exportFirst'],
      [{ type: 'consent_withdrawal', withdraw: [{ purpose: 7 }] }, '$.body.withdraw[0].purpose'],
    ];
    const before = (await call('GET', `/v1/apps/${XPP}/subjects/${bob}/rights/requests`, tokens.staff)).body;
    for (const [payload, path] of cases) {
      const r = await call('POST', `/v1/apps/${XPP}/subjects/${bob}/rights/requests`, t, payload);
      expect(r.statusCode, JSON.stringify(payload)).toBe(400);
      expect(
        r
          .json()
          .error.details.map((d: { path: string }) => d.path)
          .join(' '),
      ).toContain(path);
    }
    expect((await call('GET', `/v1/apps/${XPP}/subjects/${bob}/rights/requests`, tokens.staff)).body).toBe(before);
    const bad = await app.inject({
      method: 'POST',
      url: `/v1/apps/${XPP}/subjects/${bob}/rights/requests`,
      headers: { authorization: `Bearer ${t}`, 'content-type': 'application/json' },
      payload: '{"type":',
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.code).toBe('invalid_json');
    const unknown = await call('POST', `/v1/apps/${XPP}/subjects/sub_aaaaaaaaaaaaaaaaaaaaaaaaaa/rights/requests`, tokens.staff, {
      type: 'access',
    });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().error.code).toBe('unknown_subject');
    expect((await call('GET', `/v1/apps/${XPP}/rights/requests/rrq_aaaaaaaaaaaaaaaaaaaaaaaa`, tokens.staff)).statusCode).toBe(404);
    expect((await call('GET', `/v1/apps/${XPP}/rights/requests/nope`, tokens.staff)).statusCode).toBe(400);
    expect((await call('GET', `/v1/apps/${XPP}/rights/requests?state=bogus`, tokens.staff)).statusCode).toBe(400);
    // An empty filter is a mistake, not "match nothing".
    const empty = await call('GET', `/v1/apps/${XPP}/rights/requests?state=`, tokens.staff);
    expect(empty.statusCode).toBe(400);
    expect(empty.json().error.details[0]).toMatchObject({ path: '$.query.state' });
    expect(empty.json().error.details[0].message).toContain('give at least one of received');
    expect((await call('GET', `/v1/apps/${XPP}/rights/requests?overdue=maybe`, tokens.staff)).statusCode).toBe(400);
    const cancel = await call('POST', `/v1/apps/${XPP}/subjects/${bob}/rights/requests`, t, { type: 'account_cancellation' });
    expect(cancel.statusCode).toBe(412);
    expect(cancel.json().error.details[0].warning.zh).toContain('不可恢复');
  });

  it('staff: enter a request for the person, send a code, the person enters it; list, show, dry-run, reject', async () => {
    const created = await call('POST', `/v1/apps/${XPP}/subjects/${bob}/rights/requests`, tokens.staff, { type: 'deletion' });
    expect(created.statusCode).toBe(201);
    const id = created.json().id as string;
    expect(created.json().request.state).toBe('received');

    const received: string[] = [];
    const { startReceiver } = await import('./test-support.js');
    const receiver = await startReceiver();
    try {
      const hook = await call('PUT', `/v1/apps/${XPP}/rights/webhooks/verification`, tokens.staff, { url: receiver.url });
      expect(hook.statusCode).toBe(200);
      expect(hook.json().secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(
        (await call('PUT', `/v1/apps/${XPP}/rights/webhooks/verification`, tokens.staff, { url: 'http://example.com/x' })).statusCode,
      ).toBe(400);
      expect(
        (await call('PUT', `/v1/apps/${XPP}/rights/webhooks/recipient`, tokens.staff, { url: receiver.url, recipient: 'nobody' }))
          .statusCode,
      ).toBe(422);
      // The cloud metadata service, a private network: refused, the configured endpoint unchanged.
      for (const url of ['https://169.254.169.254/latest/meta-data', 'https://10.0.0.8/hook', 'https://[fd00::1]/hook']) {
        const refused = await call('PUT', `/v1/apps/${XPP}/rights/webhooks/verification`, tokens.staff, { url });
        expect(refused.statusCode, url).toBe(400);
        expect(refused.json().error.code).toBe('validation_failed');
        expect(refused.json().error.details[0].path).toBe('$.body.url');
        expect(refused.json().error.message).toContain('PIPA_WEBHOOK_ALLOW_NETWORKS');
      }
      const kept = await call('GET', `/v1/apps/${XPP}/rights/webhooks`, tokens.reader);
      expect(JSON.stringify(kept.json())).toContain(receiver.url);
      const listed = await call('GET', `/v1/apps/${XPP}/rights/webhooks`, tokens.reader);
      expect(JSON.stringify(listed.json())).not.toContain('secret');

      expect((await call('POST', `/v1/apps/${XPP}/rights/requests/${id}/code`, tokens.staff, { channel: 'sms' })).statusCode).toBe(202);
      await h.drain();
      for (const c of receiver.calls) received.push((JSON.parse(c.body) as { code: string }).code);
    } finally {
      await receiver.close();
    }
    const code = received[0] ?? '';
    const wrong = await call('POST', `/v1/apps/${XPP}/rights/requests/${id}/verify`, undefined, {
      code: code === '123456' ? '654321' : '123456',
    });
    expect(wrong.statusCode).toBe(403);
    expect((await call('POST', `/v1/apps/${XPP}/rights/requests/${id}/verify`, undefined, { code: '12' })).statusCode).toBe(400);

    const dry = await call('POST', `/v1/apps/${XPP}/rights/requests/${id}/dry-run`, tokens.staff);
    expect(dry.statusCode).toBe(200);
    expect(dry.json().tasks[0]).toMatchObject({ key: 'erase:dataset:xpp-demo', error: null });
    expect((await call('POST', `/v1/apps/${XPP}/rights/requests/${id}/dry-run`, tokens.reader)).statusCode).toBe(403);

    const ok = await call('POST', `/v1/apps/${XPP}/rights/requests/${id}/verify`, undefined, { code });
    expect(ok.statusCode).toBe(200);
    expect(ok.json().state).toBe('in_progress');

    const list = await call('GET', `/v1/apps/${XPP}/rights/requests?state=in_progress&type=deletion`, tokens.reader);
    expect(list.json().requests.map((r: { id: string }) => r.id)).toContain(id);
    expect((await call('GET', `/v1/apps/${XPP}/rights/requests?overdue=true`, tokens.reader)).json().requests).toEqual([]);
    const show = await call('GET', `/v1/apps/${XPP}/rights/requests/${id}`, tokens.reader);
    expect(show.json().request.verification).toBe('code');
    expect(show.json().transitions.map((t: { to: string }) => t.to)).toEqual(['received', 'identity_verified', 'in_progress']);

    const reject = await call('POST', `/v1/apps/${XPP}/rights/requests/${id}/reject`, tokens.staff, {
      code: 'legal-hold',
      reason: { zh: '该账户涉及未结清的交易纠纷', en: 'The account has an unsettled transaction dispute' },
    });
    expect(reject.statusCode).toBe(200);
    expect(reject.json().request.state).toBe('rejected');
    const seen = await call('GET', `/v1/apps/${XPP}/subjects/${bob}/rights/requests/${id}`, subjectToken('2'));
    expect(seen.json().rejection).toEqual({
      code: 'legal-hold',
      reason: { zh: '该账户涉及未结清的交易纠纷', en: 'The account has an unsettled transaction dispute' },
    });
    const late = await call('POST', `/v1/apps/${XPP}/rights/requests/${id}/approve`, tokens.staff, { reason: 'too late now' });
    expect(late.statusCode).toBe(409);
    expect(late.json().error.details[0].path).toBe('$.params.request');
    expect((await call('POST', '/v1/rights/sweep', tokens.staff)).statusCode).toBe(403);
    expect((await call('POST', '/v1/rights/sweep', tokens.admin)).statusCode).toBe(200);
  });

  it('are in the OpenAPI document', async () => {
    const doc = (await app.inject({ method: 'GET', url: '/openapi.json' })).json() as { paths: Record<string, unknown> };
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        '/v1/apps/{app}/subjects/{subject}/rights/requests',
        '/v1/apps/{app}/rights/requests/{request}/dry-run',
        '/v1/rights/downloads/{token}',
      ]),
    );
  });
});
