/**
 * The activity routes over HTTP on SQLite and PostgreSQL: one subject (`POST …/subjects/{subject}/activity`)
 * and a batch (`POST …/subjects/activity`) with real API keys; every bad input a 4xx with the error shape
 * and nothing written; a request with the person's subject token counts as activity too.
 */
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { countAuditEvents } from '../audit/audit-log.js';
import { generateTokenKeyPair, signSubjectToken } from '../auth/subject-token.js';
import { createConsentLedger } from '../consent/ledger.js';
import { consentRoutes } from '../consent/routes.js';
import { createHttpApp } from '../http/app.js';
import { createKeyAuthenticator, type KeyAuthenticator } from '../keys/authenticator.js';
import { createKeyService } from '../keys/service.js';
import type { ServiceContext } from '../service/context.js';
import { openTestContext } from '../service/test-context.js';
import { forEachDialect } from '../store/test-dialects.js';
import { ACTIVITY_CLOCK_SKEW_MS, MAX_ACTIVITY_BATCH } from './activity.js';
import { subjectRoutes } from './routes.js';
import { createSubjectService, type SubjectService } from './service.js';

const XPP = 'xiaopiaopiao-merchant';
const SST = 'shengshitong';
const T0 = Date.UTC(2025, 4, 1, 2);
const MIN = 60_000;

forEachDialect('subject activity over HTTP', (dctx) => {
  let ctx: ServiceContext;
  let app: FastifyInstance;
  let auth: KeyAuthenticator;
  let subjects: SubjectService;
  let subjectToken: (subject: string) => string;
  const tokens: Record<string, string> = {};
  let now = T0;

  beforeAll(async () => {
    ctx = await openTestContext(dctx.database, { clock: () => now });
    subjects = createSubjectService(ctx);
    const consent = createConsentLedger(ctx, { subjects });
    const keys = createKeyService(ctx);
    const key = async (name: string, appId: string | null, scopes: string[]) =>
      (await keys.create({ appId, name, scopes, creator: null, actor: 'test' })).token;
    tokens.writer = await key('writer', XPP, ['consent:write']);
    tokens.vault = await key('vault', XPP, ['vault:write']);
    tokens.reader = await key('reader', XPP, ['consent:read', 'vault:read']);
    tokens.otherApp = await key('other', SST, ['consent:write', 'vault:write']);
    const pair = generateTokenKeyPair();
    await keys.setSubjectTokenKey({ appId: XPP, kid: 'k1', publicKey: pair.publicKeyPem, actor: 'test' });
    subjectToken = (subject) => signSubjectToken(pair.privateKeyPem, 'k1', { app: XPP, sub: subject, now });
    auth = await createKeyAuthenticator(ctx, { lastUsedFlushMs: 3_600_000 });
    app = await createHttpApp({
      routes: [...subjectRoutes(ctx, { subjects }), ...consentRoutes(ctx, { consent })],
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

  const call = (url: string, token: string | undefined, payload?: unknown, method: 'GET' | 'POST' = 'POST') => {
    const headers: Record<string, string> = token !== undefined ? { authorization: `Bearer ${token}` } : {};
    if (payload === undefined) return app.inject({ method, url, headers });
    if (typeof payload === 'string')
      return app.inject({ method, url, headers: { ...headers, 'content-type': 'application/json' }, payload });
    return app.inject({ method, url, headers, payload: payload as object });
  };
  const one = (subject: string) => `/v1/apps/${XPP}/subjects/${subject}/activity`;
  const batch = `/v1/apps/${XPP}/subjects/activity`;
  const account = async () => (await subjects.ensure(ctx.db, { appId: XPP, kind: 'account' })).id;
  const lastActive = async (id: string) => (await subjects.require(ctx.db, XPP, id)).lastActiveAt;
  const snapshot = async () => ({
    rows: JSON.stringify(await ctx.db.selectFrom('subjects').selectAll().orderBy('id').execute()),
    audit: await countAuditEvents(ctx.db),
    count: Number((await ctx.db.selectFrom('subjects').select(sql<number>`count(*)`.as('n')).executeTakeFirstOrThrow()).n),
  });
  const expectError = (res: { statusCode: number; json(): unknown }, status: number, code: string, paths?: string[]) => {
    expect(res.statusCode).toBe(status);
    const body = res.json() as { error: { code: string; message: string; requestId: string; details?: { path?: string }[] } };
    expect(body.error.code).toBe(code);
    expect(typeof body.error.message).toBe('string');
    expect(typeof body.error.requestId).toBe('string');
    if (paths !== undefined) expect(body.error.details?.map((d) => d.path)).toEqual(paths);
    expect(JSON.stringify(body)).not.toContain('    at ');
  };

  it('one subject: no body means now, a given time, forward only; the subject shows it', async () => {
    const s = await account();
    now += 10 * MIN;
    const res = await call(one(s), tokens.writer);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ id: s, status: 'active', lastActiveAt: now });
    const got = await call(`/v1/apps/${XPP}/subjects/${s}`, tokens.reader, undefined, 'GET');
    expect(got.json().lastActiveAt).toBe(now);
    // An earlier report changes nothing and is not audited; a later one moves it.
    const audits = await countAuditEvents(ctx.db);
    const older = await call(one(s), tokens.vault, { at: now - 5 * MIN });
    expect(older.statusCode).toBe(200);
    expect(older.json().lastActiveAt).toBe(now);
    expect(await countAuditEvents(ctx.db)).toBe(audits);
    now += MIN;
    const r = await call(one(s), tokens.vault, { at: now - 30_000 }, 'POST');
    expect(r.json().lastActiveAt).toBe(now - 30_000);
    expect(await countAuditEvents(ctx.db)).toBe(audits + 1);
    // An empty object is the same as no body.
    now += MIN;
    expect((await call(one(s), tokens.writer, {})).json().lastActiveAt).toBe(now);
  });

  it('one subject: bad input is a 4xx with the error shape and writes nothing', async () => {
    const s = await account();
    const gone = await account();
    await subjects.setStatus(ctx.db, XPP, gone, 'erased');
    now += 10 * MIN;
    const before = await snapshot();
    expectError(await call(one(s), tokens.writer, { at: 'yesterday' }), 400, 'validation_failed', ['$.body.at']);
    expectError(await call(one(s), tokens.writer, { at: 1.5 }), 400, 'validation_failed', ['$.body.at']);
    expectError(await call(one(s), tokens.writer, { at: -1 }), 400, 'validation_failed', ['$.body.at']);
    expectError(await call(one(s), tokens.writer, '{"at": null}'), 400, 'validation_failed', ['$.body.at']);
    expectError(await call(one(s), tokens.writer, { at: now + ACTIVITY_CLOCK_SKEW_MS + 1 }), 400, 'validation_failed', ['$.body.at']);
    expectError(await call(one(s), tokens.writer, { at: T0 - 1 }), 400, 'validation_failed', ['$.body.at']);
    expectError(await call(one(s), tokens.writer, { at: now, extra: 1 }), 400, 'validation_failed');
    expectError(await call(one(s), tokens.writer, '{"at": '), 400, 'invalid_json');
    expectError(await call(one('sub_nosuchsubjectatall'), tokens.writer), 404, 'unknown_subject', ['$.params.subject']);
    expectError(await call(one('not-a-subject'), tokens.writer), 400, 'validation_failed', ['$.params.subject']);
    expectError(await call(one(gone), tokens.writer), 409, 'conflict', ['$.params.subject']);
    // Another app's subject is unknown here; another app's key, a read-only key, a subject token, no credential are refused.
    const foreign = (await subjects.ensure(ctx.db, { appId: SST, kind: 'account' })).id;
    const afterForeign = await snapshot();
    expectError(await call(one(foreign), tokens.writer), 404, 'unknown_subject');
    expectError(await call(one(s), tokens.otherApp), 403, 'forbidden');
    expectError(await call(one(s), tokens.reader), 403, 'forbidden');
    expectError(await call(one(s), subjectToken(s)), 403, 'forbidden');
    expectError(await call(one(s), undefined), 401, 'unauthenticated');
    expectError(await call(`/v1/apps/no-such-app/subjects/${s}/activity`, tokens.otherApp), 403, 'forbidden');
    expect(before.count + 1).toBe(afterForeign.count);
    expect(await snapshot()).toEqual(afterForeign);
    expect(await lastActive(s)).toBeNull();
  });

  it('a batch: the latest time per subject; all or nothing', async () => {
    const [a, b] = [await account(), await account()];
    const gone = await account();
    await subjects.setStatus(ctx.db, XPP, gone, 'erased');
    now += 10 * MIN;
    const ok = await call(batch, tokens.writer, {
      subjects: [{ subject: a, at: now - MIN }, { subject: b }, { subject: a, at: now - 2 * MIN }],
    });
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toEqual({ received: 3, advanced: 2 });
    expect(await lastActive(a)).toBe(now - MIN);
    expect(await lastActive(b)).toBe(now);
    // Again: idempotent.
    expect((await call(batch, tokens.vault, { subjects: [{ subject: a, at: now - MIN }] })).json()).toEqual({ received: 1, advanced: 0 });

    now += MIN;
    const before = await snapshot();
    expectError(
      await call(batch, tokens.writer, { subjects: [{ subject: a }, { subject: 'sub_nosuchsubjectatall' }] }),
      404,
      'unknown_subject',
      ['$.body.subjects[1].subject'],
    );
    expectError(await call(batch, tokens.writer, { subjects: [{ subject: a }, { subject: gone }] }), 409, 'conflict', [
      '$.body.subjects[1].subject',
    ]);
    expectError(
      await call(batch, tokens.writer, { subjects: [{ subject: a }, { subject: b, at: now + 2 * ACTIVITY_CLOCK_SKEW_MS }] }),
      400,
      'validation_failed',
      ['$.body.subjects[1].at'],
    );
    expectError(await call(batch, tokens.writer, { subjects: [{ subject: a, at: '2025-05-01' }] }), 400, 'validation_failed', [
      '$.body.subjects[0].at',
    ]);
    expectError(await call(batch, tokens.writer, { subjects: [{ subject: b, at: T0 - 1 }] }), 400, 'validation_failed', [
      '$.body.subjects[0].at',
    ]);
    const oversized = { subjects: Array.from({ length: MAX_ACTIVITY_BATCH + 1 }, () => ({ subject: a })) };
    expectError(await call(batch, tokens.writer, oversized), 400, 'validation_failed', ['$.body.subjects']);
    expectError(await call(batch, tokens.writer, { subjects: [] }), 400, 'validation_failed', ['$.body.subjects']);
    expectError(await call(batch, tokens.writer, {}), 400, 'validation_failed', ['$.body.subjects']);
    expectError(await call(batch, tokens.writer), 400, 'validation_failed');
    expectError(await call(batch, tokens.reader, { subjects: [{ subject: a }] }), 403, 'forbidden');
    expectError(await call(batch, tokens.otherApp, { subjects: [{ subject: a }] }), 403, 'forbidden');
    expect(await snapshot()).toEqual(before);
    // The largest batch passes.
    const full = await call(batch, tokens.writer, { subjects: Array.from({ length: MAX_ACTIVITY_BATCH }, () => ({ subject: b })) });
    expect(full.json()).toEqual({ received: MAX_ACTIVITY_BATCH, advanced: 1 });
  });

  it('a request with the person’s subject token is activity (written with the last-used times)', async () => {
    const s = await account();
    now += 10 * MIN;
    const res = await call(`/v1/apps/${XPP}/subjects/${s}/consents`, subjectToken(s), undefined, 'GET');
    expect(res.statusCode).toBe(200);
    const seenAt = now;
    now += MIN;
    // Kept in memory until the flush, not written per request.
    expect(await lastActive(s)).toBeNull();
    await auth.flushLastUsed();
    expect(await lastActive(s)).toBe(seenAt);
    // A refused token is not activity.
    const other = await account();
    const forged = signSubjectToken(generateTokenKeyPair().privateKeyPem, 'k1', { app: XPP, sub: other, now });
    const refused = await call(`/v1/apps/${XPP}/subjects/${other}/consents`, forged, undefined, 'GET');
    expect(refused.statusCode).toBe(401);
    await auth.flushLastUsed();
    expect(await lastActive(other)).toBeNull();
  });
});
