/**
 * HTTP tests of the subjects, consent and decisions routes together (the flow an app's backend
 * follows), with real API keys and subject tokens: every bad-input class gets the right 4xx with the
 * one error shape, and nothing is written.
 */
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countAuditEvents } from '../audit/audit-log.js';
import { generateTokenKeyPair, signSubjectToken } from '../auth/subject-token.js';
import { decisionRoutes } from '../decisions/routes.js';
import { createDecisionsService } from '../decisions/service.js';
import { createHttpApp } from '../http/app.js';
import { createKeyAuthenticator } from '../keys/authenticator.js';
import { createKeyService } from '../keys/service.js';
import type { ServiceContext } from '../service/context.js';
import { openTestContext } from '../service/test-context.js';
import { forEachDialect } from '../store/test-dialects.js';
import { subjectRoutes } from '../subjects/routes.js';
import { createSubjectService } from '../subjects/service.js';
import { idNumberCheckChar } from './id-number.js';
import { createConsentLedger } from './ledger.js';
import { loadConsentProjection } from './ledger-sync.js';
import { consentRoutes } from './routes.js';

const XPP = 'xiaopiaopiao-merchant';
const SST = 'shengshitong';
const HASH = 'c'.repeat(64);

interface Snapshot {
  subjects: number;
  consent: number;
  audit: number;
  subjectRows: string;
}

async function snapshot(ctx: ServiceContext): Promise<Snapshot> {
  const count = async (t: 'subjects' | 'consent_events') =>
    Number((await ctx.db.selectFrom(t).select(sql<number>`count(*)`.as('n')).executeTakeFirstOrThrow()).n);
  const rows = await ctx.db.selectFrom('subjects').selectAll().orderBy('id').execute();
  return {
    subjects: await count('subjects'),
    consent: await count('consent_events'),
    audit: await countAuditEvents(ctx.db),
    subjectRows: JSON.stringify(rows),
  };
}

forEachDialect('subjects, consent and decisions over HTTP', (dctx) => {
  let ctx: ServiceContext;
  let app: FastifyInstance;
  const tokens: Record<string, string> = {};
  let subjectToken: (subject: string, appId?: string) => string;

  beforeAll(async () => {
    ctx = await openTestContext(dctx.database, { auditDecisions: 'denied' });
    const subjects = createSubjectService(ctx);
    const consent = createConsentLedger(ctx, { subjects });
    const decisions = createDecisionsService(ctx);
    await loadConsentProjection(ctx);
    const keys = createKeyService(ctx);
    const key = async (name: string, appId: string | null, scopes: string[]) =>
      (await keys.create({ appId, name, scopes, creator: null, actor: 'test' })).token;
    tokens.admin = await key('admin', null, ['admin']);
    tokens.writer = await key('writer', XPP, ['consent:write', 'vault:write']);
    tokens.reader = await key('reader', XPP, ['consent:read']);
    tokens.decider = await key('decider', XPP, ['decide']);
    tokens.vaultOnly = await key('vault', XPP, ['vault:write']);
    tokens.otherApp = await key('other', SST, ['consent:write', 'consent:read', 'decide', 'vault:write']);
    tokens.nothing = await key('nothing', XPP, ['policy:read']);
    const pair = generateTokenKeyPair();
    await keys.setSubjectTokenKey({ appId: XPP, kid: 'k1', publicKey: pair.publicKeyPem, actor: 'test' });
    subjectToken = (subject, appId = XPP) => signSubjectToken(pair.privateKeyPem, 'k1', { app: appId, sub: subject });
    const auth = await createKeyAuthenticator(ctx);
    app = await createHttpApp({
      routes: [...subjectRoutes(ctx, { subjects }), ...consentRoutes(ctx, { consent }), ...decisionRoutes(ctx, { decisions })],
      auth,
      version: 'test',
      bodyLimit: 256 * 1024,
      rateLimit: false,
    });
  });
  afterAll(async () => {
    await app.close();
    await ctx.close();
  });

  const call = (method: 'GET' | 'POST', url: string, token: string | undefined, payload?: unknown) => {
    const headers: Record<string, string> = token !== undefined ? { authorization: `Bearer ${token}` } : {};
    if (payload === undefined) return app.inject({ method, url, headers });
    if (typeof payload === 'string')
      return app.inject({ method, url, headers: { ...headers, 'content-type': 'application/json' }, payload });
    return app.inject({ method, url, headers, payload: payload as object });
  };

  const grantBody = (extra: Record<string, unknown> = {}) => ({
    action: 'grant',
    consents: [{ purpose: 'push-notifications' }, { purpose: 'push-notifications', recipient: 'getui' }],
    separate: true,
    method: 'user',
    policyVersion: ctx.policies.require(XPP).version,
    evidenceHash: HASH,
    ...extra,
  });

  let account = '';
  let device = '';

  it('the happy path: create subjects, record consent, decide, link the device, read state and history', async () => {
    const a = await call('POST', `/v1/apps/${XPP}/subjects`, tokens.writer, {
      kind: 'account',
      externalId: 'acct-1',
      birthDate: '1990-05-01',
    });
    expect(a.statusCode).toBe(200);
    const acc = a.json();
    expect(acc).toMatchObject({ appId: XPP, kind: 'account', externalId: 'acct-1', status: 'active', hasBirthDate: true, linkedTo: null });
    expect(a.body).not.toContain('1990');
    account = acc.id;
    const again = await call('POST', `/v1/apps/${XPP}/subjects`, tokens.vaultOnly, { kind: 'account', externalId: 'acct-1' });
    expect(again.json().id).toBe(account);
    const d = await call('POST', `/v1/apps/${XPP}/subjects`, tokens.writer, { kind: 'device', externalId: 'oaid-1' });
    device = d.json().id;

    const rec = await call('POST', `/v1/apps/${XPP}/subjects/${device}/consents`, tokens.writer, grantBody());
    expect(rec.statusCode).toBe(201);
    const events = rec.json().events;
    expect(events).toHaveLength(2);
    expect(events[1]).toMatchObject({
      subject: device,
      purpose: 'push-notifications',
      recipient: 'getui',
      action: 'grant',
      separate: true,
      method: 'user',
      evidenceHash: HASH,
    });
    expect(events[1].hash).toMatch(/^[0-9a-f]{64}$/);

    const dec = await call('POST', `/v1/apps/${XPP}/decisions`, tokens.decider, {
      subject: device,
      purpose: 'push-notifications',
      categories: ['device.model'],
      recipient: 'getui',
    });
    expect(dec.statusCode).toBe(200);
    expect(dec.json()).toMatchObject({ allow: true, reason: { code: 'consent.granted' } });
    expect(dec.json().clause.length).toBeGreaterThan(0);

    const link = await call('POST', `/v1/apps/${XPP}/subjects/${device}/link`, tokens.writer, { account });
    expect(link.statusCode).toBe(200);
    expect(link.json()).toMatchObject({ id: device, linkedTo: account });
    const batch = await call('POST', `/v1/apps/${XPP}/decisions/batch`, tokens.decider, {
      requests: [
        { subject: account, purpose: 'push-notifications', categories: ['device.model'], recipient: 'getui' },
        { subject: account, purpose: 'payment', categories: ['finance.payment-account'] },
        { subject: account, purpose: 'mind-reading', categories: [] },
      ],
    });
    expect(batch.statusCode).toBe(200);
    expect(batch.json().decisions.map((x: { reason: { code: string } }) => x.reason.code)).toEqual([
      'consent.granted',
      'consent.missing',
      'purpose.undeclared',
    ]);
    expect(batch.json().decisions[1].needs).toBe('separate-consent');

    const found = await call('GET', `/v1/apps/${XPP}/subjects?kind=device&externalId=oaid-1`, tokens.reader);
    expect(found.json()).toMatchObject({ id: device, linkedTo: account });
    const got = await call('GET', `/v1/apps/${XPP}/subjects/${account}`, tokens.reader);
    expect(got.json().id).toBe(account);

    const state = await call('GET', `/v1/apps/${XPP}/subjects/${account}/consents`, tokens.reader);
    expect(state.json()).toMatchObject({ subject: account, canonical: account, status: 'active', devices: [device] });
    expect(state.json().consents).toHaveLength(2);
    const hist = await call('GET', `/v1/apps/${XPP}/subjects/${account}/consents/history?limit=1`, tokens.reader);
    expect(hist.json().events).toHaveLength(1);
    expect(hist.json().nextBefore).toBe(hist.json().events[0].seq);
  });

  it('the person withdraws, reads state and history with a subject token (own subject only)', async () => {
    const tok = subjectToken(account);
    const st = await call('GET', `/v1/apps/${XPP}/subjects/${account}/consents`, tok);
    expect(st.statusCode).toBe(200);
    const h = await call('GET', `/v1/apps/${XPP}/subjects/${account}/consents/history`, tok);
    expect(h.statusCode).toBe(200);
    const w = await call('POST', `/v1/apps/${XPP}/subjects/${account}/consents/withdraw`, tok, { recipients: ['getui'] });
    expect(w.statusCode).toBe(200);
    expect(
      w
        .json()
        .events.map((e: { purpose: string; method: string }) => `${e.purpose}:${e.method}`)
        .sort(),
    ).toEqual(['push-keepalive:user', 'push-notifications:user']);
    const dec = await call('POST', `/v1/apps/${XPP}/decisions`, tokens.decider, {
      subject: device,
      purpose: 'push-notifications',
      categories: ['device.model'],
      recipient: 'getui',
    });
    expect(dec.json()).toMatchObject({ allow: false, reason: { code: 'consent.withdrawn' } });
    // Everything, by the operator.
    const all = await call('POST', `/v1/apps/${XPP}/subjects/${account}/consents/withdraw`, tokens.writer, {});
    expect(all.json().events.map((e: { purpose: string; method: string }) => `${e.purpose}:${e.method}`)).toEqual([
      'push-notifications:api',
    ]);
  });

  it('guardian consent for a 10-year-old over HTTP: the name and the ID number never come back', async () => {
    const s = (await call('POST', `/v1/apps/${SST}/subjects`, tokens.otherApp, { kind: 'account', externalId: 'kid-1' })).json();
    const y = new Date(ctx.clock()).getUTCFullYear() - 10;
    const body17 = `11010120${String(y).slice(2)}0302456`;
    const idNumber = body17 + idNumberCheckChar(body17);
    const base = {
      action: 'grant',
      consents: [{ purpose: 'service-messages' }],
      separate: true,
      method: 'user',
      policyVersion: ctx.policies.require(SST).version,
      idNumber,
    };
    const before = await snapshot(ctx);
    const refused = await call('POST', `/v1/apps/${SST}/subjects/${s.id}/consents`, tokens.otherApp, base);
    expect(refused.statusCode).toBe(400);
    expect(refused.json().error).toMatchObject({ code: 'validation_failed', details: [{ path: '$.body.method', clause: '$.minors' }] });
    expect(await snapshot(ctx)).toEqual(before);
    const ok = await call('POST', `/v1/apps/${SST}/subjects/${s.id}/consents`, tokens.otherApp, {
      ...base,
      method: 'guardian',
      guardian: { name: '李雷', relation: '父亲', evidenceHash: HASH },
    });
    expect(ok.statusCode).toBe(201);
    expect(ok.json().events[0]).toMatchObject({ method: 'guardian', guardian: { relation: '父亲', evidenceHash: HASH } });
    expect(ok.body).not.toContain('李雷');
    expect(ok.body).not.toContain(idNumber);
    const hist = await call('GET', `/v1/apps/${SST}/subjects/${s.id}/consents/history`, tokens.otherApp);
    expect(hist.body).not.toContain('李雷');
  });

  describe('bad input: the right 4xx, the error shape, nothing written', () => {
    type Case = {
      name: string;
      method: 'GET' | 'POST';
      url: () => string;
      token: () => string | undefined;
      body?: () => unknown;
      status: number;
      code: string;
      path?: string;
    };
    const R = () => `/v1/apps/${XPP}/subjects/${account}`;
    const cases: Case[] = [
      // Subjects.
      {
        name: 'create: malformed JSON',
        method: 'POST',
        url: () => `/v1/apps/${XPP}/subjects`,
        token: () => tokens.writer,
        body: () => '{"kind": "account",',
        status: 400,
        code: 'invalid_json',
      },
      {
        name: 'create: wrong type',
        method: 'POST',
        url: () => `/v1/apps/${XPP}/subjects`,
        token: () => tokens.writer,
        body: () => ({ kind: 'account', externalId: 42 }),
        status: 400,
        code: 'validation_failed',
        path: '$.body.externalId',
      },
      {
        name: 'create: bad kind',
        method: 'POST',
        url: () => `/v1/apps/${XPP}/subjects`,
        token: () => tokens.writer,
        body: () => ({ kind: 'robot' }),
        status: 400,
        code: 'validation_failed',
        path: '$.body.kind',
      },
      {
        name: 'create: unknown field',
        method: 'POST',
        url: () => `/v1/apps/${XPP}/subjects`,
        token: () => tokens.writer,
        body: () => ({ kind: 'account', phone: '13800138000' }),
        status: 400,
        code: 'validation_failed',
      },
      {
        name: 'create: impossible birth date',
        method: 'POST',
        url: () => `/v1/apps/${XPP}/subjects`,
        token: () => tokens.writer,
        body: () => ({ kind: 'account', externalId: 'b', birthDate: '2010-02-30' }),
        status: 400,
        code: 'validation_failed',
        path: '$.body.birthDate',
      },
      {
        name: 'create: unknown app',
        method: 'POST',
        url: () => '/v1/apps/no-such-app/subjects',
        token: () => tokens.admin,
        body: () => ({ kind: 'account' }),
        status: 404,
        code: 'unknown_app',
        path: '$.params.app',
      },
      {
        name: 'create: bad app id',
        method: 'POST',
        url: () => '/v1/apps/NO_SUCH/subjects',
        token: () => tokens.admin,
        body: () => ({ kind: 'account' }),
        status: 400,
        code: 'validation_failed',
        path: '$.params.app',
      },
      {
        name: 'create: missing key',
        method: 'POST',
        url: () => `/v1/apps/${XPP}/subjects`,
        token: () => undefined,
        body: () => ({ kind: 'account' }),
        status: 401,
        code: 'unauthenticated',
      },
      {
        name: 'create: wrong key',
        method: 'POST',
        url: () => `/v1/apps/${XPP}/subjects`,
        token: () => 'pipa_aaaaaaaaaaaa_' + 'A'.repeat(43),
        body: () => ({ kind: 'account' }),
        status: 401,
        code: 'unauthenticated',
      },
      {
        name: 'create: wrong scope',
        method: 'POST',
        url: () => `/v1/apps/${XPP}/subjects`,
        token: () => tokens.decider,
        body: () => ({ kind: 'account' }),
        status: 403,
        code: 'forbidden',
      },
      {
        name: 'create: key of another app',
        method: 'POST',
        url: () => `/v1/apps/${XPP}/subjects`,
        token: () => tokens.otherApp,
        body: () => ({ kind: 'account' }),
        status: 403,
        code: 'forbidden',
      },
      {
        name: 'create: subject token',
        method: 'POST',
        url: () => `/v1/apps/${XPP}/subjects`,
        token: () => subjectToken(account),
        body: () => ({ kind: 'account' }),
        status: 403,
        code: 'forbidden',
      },
      {
        name: 'get: unknown subject',
        method: 'GET',
        url: () => `/v1/apps/${XPP}/subjects/sub_nosuchsubjectatall`,
        token: () => tokens.reader,
        status: 404,
        code: 'unknown_subject',
        path: '$.params.subject',
      },
      {
        name: 'get: malformed subject id',
        method: 'GET',
        url: () => `/v1/apps/${XPP}/subjects/12345`,
        token: () => tokens.reader,
        status: 400,
        code: 'validation_failed',
        path: '$.params.subject',
      },
      {
        name: 'find: no such external id',
        method: 'GET',
        url: () => `/v1/apps/${XPP}/subjects?kind=account&externalId=nobody`,
        token: () => tokens.reader,
        status: 404,
        code: 'unknown_subject',
        path: '$.query.externalId',
      },
      {
        name: 'find: missing kind',
        method: 'GET',
        url: () => `/v1/apps/${XPP}/subjects?externalId=x`,
        token: () => tokens.reader,
        status: 400,
        code: 'validation_failed',
        path: '$.query.kind',
      },
      {
        name: 'link: unknown account',
        method: 'POST',
        url: () => `/v1/apps/${XPP}/subjects/${device}/link`,
        token: () => tokens.writer,
        body: () => ({ account: 'sub_nosuchaccountatall' }),
        status: 404,
        code: 'unknown_subject',
        path: '$.body.account',
      },
      {
        name: 'link: account as device',
        method: 'POST',
        url: () => `${R()}/link`,
        token: () => tokens.writer,
        body: () => ({ account }),
        status: 400,
        code: 'validation_failed',
        path: '$.params.subject',
      },
      {
        name: 'link: wrong scope',
        method: 'POST',
        url: () => `/v1/apps/${XPP}/subjects/${device}/link`,
        token: () => tokens.reader,
        body: () => ({ account }),
        status: 403,
        code: 'forbidden',
      },
      // Consent.
      {
        name: 'record: malformed JSON',
        method: 'POST',
        url: () => `${R()}/consents`,
        token: () => tokens.writer,
        body: () => '{"action":',
        status: 400,
        code: 'invalid_json',
      },
      {
        name: 'record: wrong type',
        method: 'POST',
        url: () => `${R()}/consents`,
        token: () => tokens.writer,
        body: () => ({ ...grantBody(), separate: 'yes' }),
        status: 400,
        code: 'validation_failed',
        path: '$.body.separate',
      },
      {
        name: 'record: bad action',
        method: 'POST',
        url: () => `${R()}/consents`,
        token: () => tokens.writer,
        body: () => ({ ...grantBody(), action: 'maybe' }),
        status: 400,
        code: 'validation_failed',
        path: '$.body.action',
      },
      {
        name: 'record: no consents',
        method: 'POST',
        url: () => `${R()}/consents`,
        token: () => tokens.writer,
        body: () => ({ ...grantBody(), consents: [] }),
        status: 400,
        code: 'validation_failed',
        path: '$.body.consents',
      },
      {
        name: 'record: unknown purpose',
        method: 'POST',
        url: () => `${R()}/consents`,
        token: () => tokens.writer,
        body: () => grantBody({ consents: [{ purpose: 'payment' }, { purpose: 'mind-reading' }] }),
        status: 422,
        code: 'unknown_purpose',
        path: '$.body.consents[1].purpose',
      },
      {
        name: 'record: unknown recipient',
        method: 'POST',
        url: () => `${R()}/consents`,
        token: () => tokens.writer,
        body: () => grantBody({ consents: [{ purpose: 'payment', recipient: 'nsa' }] }),
        status: 422,
        code: 'unknown_recipient',
        path: '$.body.consents[0].recipient',
      },
      {
        name: 'record: recipient not for the purpose',
        method: 'POST',
        url: () => `${R()}/consents`,
        token: () => tokens.writer,
        body: () => grantBody({ consents: [{ purpose: 'payment', recipient: 'getui' }] }),
        status: 422,
        code: 'unknown_recipient',
        path: '$.body.consents[0].recipient',
      },
      {
        name: 'record: unpublished policy version',
        method: 'POST',
        url: () => `${R()}/consents`,
        token: () => tokens.writer,
        body: () => grantBody({ policyVersion: '1999' }),
        status: 400,
        code: 'validation_failed',
        path: '$.body.policyVersion',
      },
      {
        name: 'record: bad evidence hash',
        method: 'POST',
        url: () => `${R()}/consents`,
        token: () => tokens.writer,
        body: () => grantBody({ evidenceHash: 'abc' }),
        status: 400,
        code: 'validation_failed',
        path: '$.body.evidenceHash',
      },
      {
        name: 'record: guardian without method',
        method: 'POST',
        url: () => `${R()}/consents`,
        token: () => tokens.writer,
        body: () => grantBody({ guardian: { name: 'x', relation: 'y', evidenceHash: HASH } }),
        status: 400,
        code: 'validation_failed',
        path: '$.body.guardian',
      },
      {
        name: 'record: invalid ID number',
        method: 'POST',
        url: () => `${R()}/consents`,
        token: () => tokens.writer,
        body: () => grantBody({ idNumber: '110101201401011234' }),
        status: 400,
        code: 'validation_failed',
        path: '$.body.idNumber',
      },
      {
        name: 'record: unknown subject',
        method: 'POST',
        url: () => `/v1/apps/${XPP}/subjects/sub_nosuchsubjectatall/consents`,
        token: () => tokens.writer,
        body: () => grantBody(),
        status: 404,
        code: 'unknown_subject',
        path: '$.params.subject',
      },
      {
        name: 'record: subject of another app',
        method: 'POST',
        url: () => `/v1/apps/${SST}/subjects/${account}/consents`,
        token: () => tokens.otherApp,
        body: () => ({ ...grantBody(), consents: [{ purpose: 'service-messages' }], policyVersion: ctx.policies.require(SST).version }),
        status: 404,
        code: 'unknown_subject',
        path: '$.params.subject',
      },
      {
        name: 'record: unknown app',
        method: 'POST',
        url: () => `/v1/apps/no-such-app/subjects/${account}/consents`,
        token: () => tokens.admin,
        body: () => grantBody(),
        status: 404,
        code: 'unknown_app',
        path: '$.params.app',
      },
      {
        name: 'record: missing key',
        method: 'POST',
        url: () => `${R()}/consents`,
        token: () => undefined,
        body: () => grantBody(),
        status: 401,
        code: 'unauthenticated',
      },
      {
        name: 'record: wrong scope',
        method: 'POST',
        url: () => `${R()}/consents`,
        token: () => tokens.reader,
        body: () => grantBody(),
        status: 403,
        code: 'forbidden',
      },
      {
        name: 'record: key of another app',
        method: 'POST',
        url: () => `${R()}/consents`,
        token: () => tokens.otherApp,
        body: () => grantBody(),
        status: 403,
        code: 'forbidden',
      },
      {
        name: 'record: subject token',
        method: 'POST',
        url: () => `${R()}/consents`,
        token: () => subjectToken(account),
        body: () => grantBody(),
        status: 403,
        code: 'forbidden',
      },
      {
        name: 'record: oversized body',
        method: 'POST',
        url: () => `${R()}/consents`,
        token: () => tokens.writer,
        body: () => grantBody({ evidenceHash: 'a'.repeat(300_000) }),
        status: 413,
        code: 'payload_too_large',
      },
      {
        name: 'withdraw: unknown purpose',
        method: 'POST',
        url: () => `${R()}/consents/withdraw`,
        token: () => tokens.writer,
        body: () => ({ purposes: ['mind-reading'] }),
        status: 422,
        code: 'unknown_purpose',
        path: '$.body.purposes[0]',
      },
      {
        name: 'withdraw: unknown recipient',
        method: 'POST',
        url: () => `${R()}/consents/withdraw`,
        token: () => tokens.writer,
        body: () => ({ recipients: ['nsa'] }),
        status: 422,
        code: 'unknown_recipient',
        path: '$.body.recipients[0]',
      },
      {
        name: 'withdraw: wrong type',
        method: 'POST',
        url: () => `${R()}/consents/withdraw`,
        token: () => tokens.writer,
        body: () => ({ purposes: 'payment' }),
        status: 400,
        code: 'validation_failed',
        path: '$.body.purposes',
      },
      {
        name: 'withdraw: another subject’s token',
        method: 'POST',
        url: () => `${R()}/consents/withdraw`,
        token: () => subjectToken(device),
        body: () => ({}),
        status: 403,
        code: 'forbidden',
        path: '$.params.subject',
      },
      {
        name: 'withdraw: token of another app',
        method: 'POST',
        url: () => `${R()}/consents/withdraw`,
        token: () => subjectToken(account, SST),
        body: () => ({}),
        status: 401,
        code: 'unauthenticated',
      },
      {
        name: 'withdraw: subject token as api',
        method: 'POST',
        url: () => `${R()}/consents/withdraw`,
        token: () => subjectToken(account),
        body: () => ({ method: 'api' }),
        status: 403,
        code: 'forbidden',
        path: '$.body.method',
      },
      {
        name: 'withdraw: wrong scope',
        method: 'POST',
        url: () => `${R()}/consents/withdraw`,
        token: () => tokens.reader,
        body: () => ({}),
        status: 403,
        code: 'forbidden',
      },
      {
        name: 'state: another subject’s token',
        method: 'GET',
        url: () => `${R()}/consents`,
        token: () => subjectToken(device),
        status: 403,
        code: 'forbidden',
      },
      {
        name: 'state: wrong scope',
        method: 'GET',
        url: () => `${R()}/consents`,
        token: () => tokens.decider,
        status: 403,
        code: 'forbidden',
      },
      {
        name: 'state: unknown subject',
        method: 'GET',
        url: () => `/v1/apps/${XPP}/subjects/sub_nosuchsubjectatall/consents`,
        token: () => tokens.reader,
        status: 404,
        code: 'unknown_subject',
        path: '$.params.subject',
      },
      {
        name: 'history: bad limit',
        method: 'GET',
        url: () => `${R()}/consents/history?limit=0`,
        token: () => tokens.reader,
        status: 400,
        code: 'validation_failed',
        path: '$.query.limit',
      },
      {
        name: 'history: key of another app',
        method: 'GET',
        url: () => `${R()}/consents/history`,
        token: () => tokens.otherApp,
        status: 403,
        code: 'forbidden',
      },
      // Decisions.
      {
        name: 'decide: malformed JSON',
        method: 'POST',
        url: () => `/v1/apps/${XPP}/decisions`,
        token: () => tokens.decider,
        body: () => '{',
        status: 400,
        code: 'invalid_json',
      },
      {
        name: 'decide: wrong type',
        method: 'POST',
        url: () => `/v1/apps/${XPP}/decisions`,
        token: () => tokens.decider,
        body: () => ({ subject: account, purpose: 'payment', categories: 'x' }),
        status: 400,
        code: 'validation_failed',
        path: '$.body.categories',
      },
      {
        name: 'decide: malformed subject',
        method: 'POST',
        url: () => `/v1/apps/${XPP}/decisions`,
        token: () => tokens.decider,
        body: () => ({ subject: 'bob', purpose: 'payment', categories: [] }),
        status: 400,
        code: 'validation_failed',
        path: '$.body.subject',
      },
      {
        name: 'decide: unknown app',
        method: 'POST',
        url: () => '/v1/apps/no-such-app/decisions',
        token: () => tokens.admin,
        body: () => ({ subject: account, purpose: 'payment', categories: [] }),
        status: 404,
        code: 'unknown_app',
      },
      {
        name: 'decide: missing key',
        method: 'POST',
        url: () => `/v1/apps/${XPP}/decisions`,
        token: () => undefined,
        body: () => ({ subject: account, purpose: 'payment', categories: [] }),
        status: 401,
        code: 'unauthenticated',
      },
      {
        name: 'decide: wrong scope',
        method: 'POST',
        url: () => `/v1/apps/${XPP}/decisions`,
        token: () => tokens.writer,
        body: () => ({ subject: account, purpose: 'payment', categories: [] }),
        status: 403,
        code: 'forbidden',
      },
      {
        name: 'decide: key of another app',
        method: 'POST',
        url: () => `/v1/apps/${XPP}/decisions`,
        token: () => tokens.otherApp,
        body: () => ({ subject: account, purpose: 'payment', categories: [] }),
        status: 403,
        code: 'forbidden',
      },
      {
        name: 'batch: too many',
        method: 'POST',
        url: () => `/v1/apps/${XPP}/decisions/batch`,
        token: () => tokens.decider,
        body: () => ({ requests: Array.from({ length: 1001 }, () => ({ subject: account, purpose: 'payment', categories: [] })) }),
        status: 400,
        code: 'validation_failed',
        path: '$.body.requests',
      },
      {
        name: 'batch: empty',
        method: 'POST',
        url: () => `/v1/apps/${XPP}/decisions/batch`,
        token: () => tokens.decider,
        body: () => ({ requests: [] }),
        status: 400,
        code: 'validation_failed',
        path: '$.body.requests',
      },
      {
        name: 'batch: one bad item',
        method: 'POST',
        url: () => `/v1/apps/${XPP}/decisions/batch`,
        token: () => tokens.decider,
        body: () => ({
          requests: [
            { subject: account, purpose: 'payment', categories: [] },
            { subject: account, purpose: 3, categories: [] },
          ],
        }),
        status: 400,
        code: 'validation_failed',
        path: '$.body.requests[1].purpose',
      },
    ];
    for (const c of cases) {
      it(c.name, async () => {
        const before = await snapshot(ctx);
        const r = await call(c.method, c.url(), c.token(), c.body?.());
        expect(r.statusCode, r.body).toBe(c.status);
        const body = r.json();
        expect(Object.keys(body)).toEqual(['error']);
        expect(body.error.code).toBe(c.code);
        expect(typeof body.error.message).toBe('string');
        expect(body.error.requestId).toBe(r.headers['x-request-id']);
        expect(r.body).not.toMatch(/at .+\.ts:\d+/);
        if (c.path !== undefined) expect(body.error.details.map((d: { path: string }) => d.path)).toContain(c.path);
        // A message that names a path names it as the request has it.
        if (String(body.error.message).startsWith('$.')) expect(body.error.message).toMatch(/^\$\.(body|params|query)\b/);
        expect(await snapshot(ctx)).toEqual(before);
      });
    }
  });
});
