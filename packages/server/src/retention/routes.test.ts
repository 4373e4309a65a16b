/**
 * HTTP routes of retention sweeps on both dialects: dry run by default, a run stored and listed,
 * scopes and app binding, every bad input answered with nothing written.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createHttpApp } from '../http/app.js';
import type { Principal } from '../http/route.js';
import { apiKey, fixedKeys } from '../http/test-auth.js';
import type { ServiceContext } from '../service/context.js';
import { openTestContext, publishForTest } from '../service/test-context.js';
import { forEachDialect } from '../store/test-dialects.js';
import { createSubjectService } from '../subjects/index.js';
import { createVaultService } from '../vault/index.js';
import { recordCategories } from '../vault/record.js';
import { createRetentionService, type RetentionReport, retentionRoutes } from './index.js';
import { RET_APP, RET_DB_ENV, RET_DB_SCHEMA, retentionDeclaration } from './test-fixtures.js';

const XPP = 'xiaopiaopiao-merchant';
const KEYS: Record<string, Principal> = {
  writer: apiKey('key_rights_w', RET_APP, ['rights:write']),
  reader: apiKey('key_rights_r', RET_APP, ['rights:read']),
  auditor: apiKey('key_audit', RET_APP, ['audit:read']),
  vault: apiKey('key_vault', RET_APP, ['vault:write', 'vault:erase']),
  other: apiKey('key_other', XPP, ['rights:write', 'rights:read']),
  admin: apiKey('key_admin', null, ['admin']),
};
const auth = fixedKeys(KEYS);
const as = (name: string) => ({ authorization: `Bearer ${name}` });

forEachDialect('retention routes', (dctx) => {
  let ctx: ServiceContext;
  let app: FastifyInstance;
  let dir: string;
  let now = Date.UTC(2025, 4, 1, 8);
  let subject: string;
  const base = `/v1/apps/${RET_APP}/retention`;

  const state = async () => {
    const n = async (t: 'audit_events' | 'retention_reports') =>
      Number((await ctx.db.selectFrom(t).select(sql<number>`count(*)`.as('n')).executeTakeFirstOrThrow()).n);
    await ctx.auditBatcher.flush();
    const records = await ctx.db.selectFrom('vault_records').select('fields').execute();
    const fields = records.reduce((k, r) => k + Object.keys(JSON.parse(r.fields) as object).length, 0);
    return { fields, audit: await n('audit_events'), reports: await n('retention_reports') };
  };

  beforeAll(async () => {
    ctx = await openTestContext(dctx.database, { examples: ['xiaopiaopiao'], clock: () => now });
    await publishForTest(ctx, retentionDeclaration());
    dir = mkdtempSync(join(tmpdir(), 'pipa-retention-http-'));
    const file = join(dir, 'shop.db');
    const db = new Database(file);
    db.exec(RET_DB_SCHEMA);
    db.close();
    const retention = createRetentionService(ctx, { env: { [RET_DB_ENV]: file, XPP_DB_URL: file } });
    app = await createHttpApp({ routes: retentionRoutes(ctx, { retention }), auth, version: 'test', rateLimit: false, logger: false });
    const subjects = createSubjectService(ctx);
    const vault = createVaultService(ctx, { subjects });
    subject = (await subjects.ensure(ctx.db, { appId: RET_APP, kind: 'account' })).id;
    await vault.put(RET_APP, subject, { 'basic.gender': '女' }, { id: 'key_vault', scopes: new Set(['vault:write']) }); // no consent
    now += 2 * 86_400_000;
  });
  afterAll(async () => {
    await app.close();
    rmSync(dir, { recursive: true, force: true });
    await ctx.close();
  });

  it('POST sweep is a dry run by default: the report, nothing changed or stored', async () => {
    const before = await state();
    for (const payload of [undefined, {}, { dryRun: true }]) {
      const res = await app.inject({
        method: 'POST',
        url: `${base}/sweep`,
        headers: as('writer'),
        ...(payload !== undefined ? { payload } : {}),
      });
      expect(res.statusCode, res.body).toBe(200);
      const r = res.json() as RetentionReport;
      expect(r).toMatchObject({ id: null, dryRun: true, app: RET_APP, trigger: 'api', actor: 'key_rights_w', policyVersion: '1' });
      expect(r.removed).toEqual([
        { category: 'basic.gender', purpose: 'survey', action: 'delete', reason: 'consent-missing', rule: null, subjects: 1, fields: 1 },
      ]);
      expect(r.datasets.map((d) => d.dataset)).toEqual(['ret-db', 'ret-masked']);
    }
    expect(await state()).toEqual(before);
  });

  it('POST sweep with dryRun false removes, stores and is listed; GET returns the stored report', async () => {
    const res = await app.inject({
      method: 'POST',
      url: `${base}/sweep`,
      headers: { ...as('admin'), 'x-request-id': 'req_sweep_http' },
      payload: { dryRun: false },
    });
    expect(res.statusCode, res.body).toBe(200);
    const r = res.json() as RetentionReport;
    expect(r.id).toMatch(/^rsw_/);
    expect(r.totals).toEqual({ fields: 1, subjects: 1, datasetRows: 0 });
    expect(await recordCategories(ctx.db, subject)).toEqual([]);

    for (const who of ['reader', 'writer', 'auditor', 'admin']) {
      const list = await app.inject({ method: 'GET', url: `${base}/reports`, headers: as(who) });
      expect(list.statusCode, list.body).toBe(200);
      expect(list.json()).toMatchObject({
        reports: [{ id: r.id, removedFields: 1, removedSubjects: 1, trigger: 'api', actor: 'key_admin' }],
        next: null,
      });
    }
    const one = await app.inject({ method: 'GET', url: `${base}/reports/${r.id}`, headers: as('reader') });
    expect(one.statusCode).toBe(200);
    expect(one.json()).toEqual(r);
    const page = await app.inject({ method: 'GET', url: `${base}/reports?limit=1`, headers: as('reader') });
    expect(page.json()).toMatchObject({ next: null });
  });

  it('refuses callers without the scope or bound to another app (nothing written)', async () => {
    const before = await state();
    const cases: [string, string, string, number][] = [
      ['POST', `${base}/sweep`, 'reader', 403],
      ['POST', `${base}/sweep`, 'auditor', 403],
      ['POST', `${base}/sweep`, 'vault', 403],
      ['POST', `${base}/sweep`, 'other', 403],
      ['POST', `${base}/sweep`, 'nobody', 401],
      ['GET', `${base}/reports`, 'vault', 403],
      ['GET', `${base}/reports`, 'other', 403],
      ['GET', `${base}/reports`, 'nobody', 401],
    ];
    for (const [method, url, who, status] of cases) {
      const res = await app.inject({
        method: method as 'GET' | 'POST',
        url,
        headers: as(who),
        ...(method === 'POST' ? { payload: { dryRun: false } } : {}),
      });
      expect(res.statusCode, `${method} ${url} as ${who}: ${res.body}`).toBe(status);
    }
    expect(await state()).toEqual(before);
  });

  it('answers every bad input with its path, nothing written', async () => {
    const before = await state();
    const bad: [string, string, unknown, number, string][] = [
      ['POST', `${base}/sweep`, { dryRun: 'no' }, 400, '$.body.dryRun'],
      ['POST', `${base}/sweep`, { dryRun: false, extra: 1 }, 400, '$.body'],
      ['POST', `${base}/sweep`, [], 400, '$.body'],
      ['POST', '/v1/apps/Not_An_App/retention/sweep', { dryRun: false }, 400, '$.params.app'],
      ['POST', '/v1/apps/no-such-app/retention/sweep', { dryRun: false }, 404, ''],
      ['GET', `${base}/reports?limit=0`, undefined, 400, '$.query.limit'],
      ['GET', `${base}/reports?limit=101`, undefined, 400, '$.query.limit'],
      ['GET', `${base}/reports?before=yesterday`, undefined, 400, '$.query.before'],
      ['GET', `${base}/reports?page=2`, undefined, 400, '$.query'],
      ['GET', `${base}/reports/not-a-report`, undefined, 400, '$.params.id'],
      ['GET', `${base}/reports/rsw_aaaaaaaaaaaaaaaaaaaaaaaaaa`, undefined, 404, '$.params.id'],
      ['GET', '/v1/apps/no-such-app/retention/reports', undefined, 404, ''],
    ];
    for (const [method, url, payload, status, path] of bad) {
      const res = await app.inject({
        method: method as 'GET' | 'POST',
        url,
        headers: as('admin'),
        ...(payload !== undefined ? { payload: payload as object } : {}),
      });
      expect(res.statusCode, `${method} ${url}: ${res.body}`).toBe(status);
      const body = res.json() as { error: { code: string; details?: { path?: string }[] } };
      if (path !== '') expect(JSON.stringify(body.error.details ?? []), `${method} ${url}`).toContain(path);
    }
    expect(await state()).toEqual(before);
  });
});
