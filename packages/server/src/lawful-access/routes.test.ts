/**
 * Lawful-authority access to held data on both dialects, with the 小票票 demo tables in SQLite plus an
 * `invoices` table found by pipa's subject id and kept under legal hold: after an account cancellation
 * the ordinary reads get nothing, the lawful access without its basis or reason is refused with nothing
 * written, with them it returns only the held rows and columns — the orders, found only through the
 * deleted merchant by phone, through the hold manifest — recorded and audited; scopes, other apps,
 * active and unknown subjects are refused; a dataset that cannot be read is 503, the access recorded
 * as failed.
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createHttpApp } from '../http/app.js';
import type { Principal } from '../http/route.js';
import { apiKey, fixedKeys } from '../http/test-auth.js';
import { createConnector } from '../rights/connectors/index.js';
import { DEMO_ENV, openRightsHarness, type RightsHarness, XPP } from '../rights/test-support.js';
import { forEachDialect } from '../store/test-dialects.js';
import { lawfulAccessRoutes } from './index.js';

const KEYS: Record<string, Principal> = {
  admin: apiKey('key_admin', XPP, ['admin']),
  rights: apiKey('key_rights', XPP, ['rights:read', 'rights:write', 'vault:read-plain', 'vault:read']),
  auditor: apiKey('key_audit', XPP, ['audit:read']),
  other: apiKey('key_other', 'shengshitong', ['admin']),
};
const auth = fixedKeys(KEYS);
const as = (name: string) => ({ authorization: `Bearer ${name}` });
const BASIS = { zh: '《中华人民共和国税收征收管理法》第二十四条', en: 'Tax Collection Administration Law art. 24' };
const LAWFUL = {
  authority: '某市公安局',
  legalBasis: '《中华人民共和国刑事诉讼法》第五十四条',
  reason: '调取交易记录',
  reference: '公（刑）调证字〔2026〕001号',
};

const daysAgo = (days: number) => new Date(Date.now() - days * 86_400_000).toISOString().slice(0, 10);
const ORDER_DAYS = [daysAgo(365), daysAgo(30)] as const;

forEachDialect('lawful-authority access to held data', (dialect) => {
  let h: RightsHarness;
  let app: FastifyInstance;
  let gone: string;
  let active: string;

  const counts = async () => {
    await h.ctx.auditBatcher.flush();
    const n = async (t: 'lawful_accesses' | 'audit_events') =>
      Number((await h.ctx.db.selectFrom(t).select(sql<number>`count(*)`.as('n')).executeTakeFirstOrThrow()).n);
    return { accesses: await n('lawful_accesses'), audit: await n('audit_events') };
  };

  beforeAll(async () => {
    h = await openRightsHarness(dialect.database, {
      declaration: (d) => {
        d.datasets?.[0]?.tables?.push({
          name: 'invoices',
          subject: { column: 'subject_ref', key: 'subject-id' },
          primaryKey: 'id',
          fields: { buyer_phone: 'contact.phone', amount: 'finance.transactions', issued_on: 'finance.transactions' },
          erasure: { default: 'delete-row', columns: { buyer_phone: 'set-null' } },
          legalRetention: { period: 'P3Y', basis: BASIS, columns: ['subject_ref', 'amount', 'issued_on'], from: 'issued_on' },
        } as never);
      },
    });
    await h.demo.exec(
      'CREATE TABLE invoices (id integer PRIMARY KEY, subject_ref varchar(64), buyer_phone varchar(32), amount varchar(16), issued_on varchar(32))',
    );
    gone = (await h.subjects.ensure(h.ctx.db, { appId: XPP, kind: 'account', externalId: '1' })).id;
    active = (await h.subjects.ensure(h.ctx.db, { appId: XPP, kind: 'account', externalId: '2' })).id;
    await h.vault.put(XPP, gone, { 'contact.phone': '13812345678', 'basic.name': '王小明' }, { id: 'key_app000000001' });
    await h.vault.put(XPP, active, { 'contact.phone': '13987654321', 'basic.name': '李四' }, { id: 'key_app000000001' });
    await h.vault.flush();
    const today = new Date(h.ctx.clock()).toISOString().slice(0, 10);
    // The merchant's orders: a year and a month old, held three years from their date.
    await h.demo.exec(`UPDATE {orders} SET created_at = '${ORDER_DAYS[0]} 12:00:00' WHERE id = 11`);
    await h.demo.exec(`UPDATE {orders} SET created_at = '${ORDER_DAYS[1]} 12:00:00' WHERE id = 12`);
    await h.demo.exec(
      `INSERT INTO invoices (id, subject_ref, buyer_phone, amount, issued_on) VALUES
         (1, '${gone}', '13700000001', '120.50', '${today}'), (2, '${gone}', '13700000002', '80.00', '${today}'),
         (3, '${active}', '13700000003', '55.00', '${today}')`,
    );
    const requestId = await h.cancelAccount(gone);
    expect((await h.rights.get(XPP, requestId)).request.state).toBe('completed');
    expect((await h.subjects.require(h.ctx.db, XPP, gone)).status).toBe('erased');
    app = await createHttpApp({
      routes: lawfulAccessRoutes(h.ctx, { subjects: h.subjects }, { env: h.env }),
      auth,
      version: 'test',
      rateLimit: false,
      logger: false,
    });
  });
  afterAll(async () => {
    await app?.close();
    await h?.close();
  });

  const url = (subject: string, app_ = XPP) => `/v1/apps/${app_}/subjects/${subject}/legal-hold/access`;

  it('after the cancellation the ordinary reads get nothing; the rows are still held in the dataset', async () => {
    const reader = { id: 'key_rights', scopes: new Set(['vault:read']) };
    // The same read works for the active subject, and finds nothing of the cancelled one.
    expect(Object.keys((await h.vault.read(XPP, active, reader)).fields).sort()).toEqual(['basic.name', 'contact.phone']);
    const read = await h.vault.read(XPP, gone, reader);
    expect(read.status).toBe('erased');
    expect(read.fields).toEqual({});
    const dataset = h.ctx.policies.require(XPP).declaration.datasets?.[0];
    if (dataset === undefined) throw new Error('no dataset');
    const connector = createConnector(dataset, { env: h.env });
    try {
      // The keys an ordinary access would use are gone with the vault (phone, external id): nothing is found by them.
      const byPhone = await connector.collect({ phone: '13812345678', 'external-id': '1' });
      expect(byPhone.tables.every((t) => t.rows.length === 0)).toBe(true);
    } finally {
      await connector.close();
    }
    expect(await h.demo.rows('SELECT id, buyer_phone, amount FROM invoices ORDER BY id')).toEqual([
      { id: '1', buyer_phone: null, amount: '120.50' },
      { id: '2', buyer_phone: null, amount: '80.00' },
      { id: '3', buyer_phone: '13700000003', amount: '55.00' },
    ]);
  });

  it('without an authority, legal basis or reason (or with empty, too long or unknown fields): 400, nothing written', async () => {
    const before = await counts();
    const bad: Record<string, unknown>[] = [
      {},
      { authority: LAWFUL.authority, reason: LAWFUL.reason },
      { authority: LAWFUL.authority, legalBasis: LAWFUL.legalBasis },
      { legalBasis: LAWFUL.legalBasis, reason: LAWFUL.reason },
      { ...LAWFUL, legalBasis: '' },
      { ...LAWFUL, reason: '   ' },
      { ...LAWFUL, legalBasis: 'x'.repeat(501) },
      { ...LAWFUL, reason: 'x'.repeat(2001) },
      { ...LAWFUL, authority: 'x'.repeat(201) },
      { ...LAWFUL, reference: 'x'.repeat(201) },
      { ...LAWFUL, legalBasis: 42 },
      { ...LAWFUL, extra: 'no' },
    ];
    for (const payload of bad) {
      const res = await app.inject({ method: 'POST', url: url(gone), headers: as('admin'), payload });
      expect(res.statusCode, JSON.stringify(payload).slice(0, 80)).toBe(400);
      expect(res.json().error.code).toBe('validation_failed');
      expect(res.body).not.toContain('120.50');
    }
    expect(await counts()).toEqual(before);
  });

  it('wrong scope, another app, an active subject, an unknown subject: refused, nothing written', async () => {
    const before = await counts();
    for (const [who, target, status] of [
      ['rights', url(gone), 403],
      ['auditor', url(gone), 403],
      ['other', url(gone), 403],
      ['admin', url(active), 403],
      ['admin', url('sub_aaaaaaaaaaaaaaaaaaaaaaaaaa'), 404],
      ['nobody', url(gone), 401],
    ] as const) {
      const res = await app.inject({ method: 'POST', url: target, headers: as(who), payload: LAWFUL });
      expect(res.statusCode, `${who} ${target}`).toBe(status);
      expect(res.body).not.toContain('120.50');
      expect(res.body).not.toContain('55.00');
    }
    expect(await counts()).toEqual(before);
  });

  it('with authority, basis and reason: only the held rows and columns, recorded and audited', async () => {
    const before = await counts();
    const res = await app.inject({ method: 'POST', url: url(gone), headers: as('admin'), payload: LAWFUL });
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json();
    expect(body.access).toMatchObject({ appId: XPP, subjectId: gone, ...LAWFUL, actor: 'key_admin' });
    expect(body.access.id).toMatch(/^lha_/);
    expect(body.datasets).toHaveLength(1);
    const [ds] = body.datasets;
    expect(ds.dataset).toBe('xpp-demo');
    // orders: held, found only through merchants by phone (both gone): read by primary key from the hold
    // manifest, only the held columns. invoices: held, found by the subject id, only the held columns
    // (buyer_phone was set null and is not returned).
    expect(ds.tables).toEqual([
      {
        table: h.demo.table('orders'),
        categories: { amount: 'finance.transactions', created_at: 'finance.transactions' },
        rows: [
          { amount: 120.5, created_at: `${ORDER_DAYS[0]} 12:00:00` },
          { amount: 80, created_at: `${ORDER_DAYS[1]} 12:00:00` },
        ],
        legalHold: { basis: expect.objectContaining({ en: expect.stringContaining('E-Commerce Law') }), period: 'P3Y' },
      },
      {
        table: 'invoices',
        categories: { amount: 'finance.transactions', issued_on: 'finance.transactions' },
        rows: expect.arrayContaining([
          { amount: '120.50', issued_on: expect.any(String) },
          { amount: '80.00', issued_on: expect.any(String) },
        ]),
        legalHold: { basis: BASIS, period: 'P3Y' },
      },
    ]);
    expect(ds.tables[1].rows).toHaveLength(2);
    expect(ds.unreached).toEqual([]);
    expect(ds.expired).toEqual([]);
    expect(res.body).not.toContain('55.00');
    expect(res.body).not.toContain('13700000001');
    expect(res.body).not.toContain('13812345678');
    expect(body.access).toMatchObject({
      outcome: 'disclosed',
      result: {
        datasets: [
          {
            dataset: 'xpp-demo',
            tables: [
              { table: h.demo.table('orders'), rows: 2 },
              { table: 'invoices', rows: 2 },
            ],
            expired: [],
            unreached: [],
          },
        ],
      },
    });

    const after = await counts();
    expect(after.accesses).toBe(before.accesses + 1);
    const events = (await h.ctx.audit.events({ appId: XPP, limit: 1000 })).filter((e) => e.action === 'legal-hold.read');
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ actor: 'key_admin', outcome: 'ok' });
    expect(events[0]?.details).toMatchObject({ access: body.access.id, legalBasis: LAWFUL.legalBasis, reason: LAWFUL.reason });
    expect(JSON.stringify(events[0])).not.toContain(gone);
    expect(JSON.stringify(events[0])).not.toContain('120.50');
    const disclosed = (await h.ctx.audit.events({ appId: XPP, limit: 1000 })).filter((e) => e.action === 'legal-hold.disclosed');
    expect(disclosed).toHaveLength(1);
    expect(disclosed[0]?.details).toMatchObject({ access: body.access.id, datasets: body.access.result.datasets });
    expect(JSON.stringify(disclosed[0])).not.toContain('120.5');
    expect(JSON.stringify(disclosed[0])).not.toContain(gone);
  });

  it('GET accesses lists who read whose held data, when, on which basis (audit:read only)', async () => {
    const res = await app.inject({ method: 'GET', url: `/v1/apps/${XPP}/legal-hold/accesses`, headers: as('auditor') });
    expect(res.statusCode, res.body).toBe(200);
    const list = res.json().accesses;
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({ subjectId: gone, ...LAWFUL, actor: 'key_admin', outcome: 'disclosed' });
    expect(typeof list[0].at).toBe('number');
    const bySubject = await app.inject({
      method: 'GET',
      url: `/v1/apps/${XPP}/legal-hold/accesses?subject=${active}`,
      headers: as('auditor'),
    });
    expect(bySubject.json().accesses).toEqual([]);
    for (const [who, status, query] of [
      ['rights', 403, ''],
      ['other', 403, ''],
      ['auditor', 400, '?limit=0'],
      ['auditor', 400, '?subject=nope'],
      ['auditor', 400, '?unknown=1'],
    ] as const) {
      const r = await app.inject({ method: 'GET', url: `/v1/apps/${XPP}/legal-hold/accesses${query}`, headers: as(who) });
      expect(r.statusCode, `${who}${query}`).toBe(status);
    }
    const unknownApp = await app.inject({ method: 'GET', url: '/v1/apps/no-such-app/legal-hold/accesses', headers: as('auditor') });
    expect(unknownApp.statusCode).toBe(403);
  });
  it('a dataset that cannot be read (its database is gone): 503 unavailable naming the dataset and tables; the access stays recorded as failed and audited, nothing returned', async () => {
    const before = await counts();
    const saved = h.env[DEMO_ENV];
    h.env[DEMO_ENV] = join(tmpdir(), `pipa-missing-${Date.now()}.db`); // no such file: the connector never creates one
    let res: Awaited<ReturnType<FastifyInstance['inject']>>;
    try {
      res = await app.inject({ method: 'POST', url: url(gone), headers: as('admin'), payload: LAWFUL });
    } finally {
      h.env[DEMO_ENV] = saved;
    }
    expect(res.statusCode, res.body).toBe(503);
    const { error } = res.json();
    expect(error.code).toBe('unavailable');
    expect(error.message).toContain('dataset xpp-demo');
    expect(error.message).toContain('invoices');
    expect(error.details[0]).toMatchObject({ dataset: 'xpp-demo', connectorCode: 'connector_unavailable', retryable: true });
    expect([...error.details[0].tables].sort()).toEqual([h.demo.table('orders'), 'invoices'].sort());
    expect(res.body).not.toContain('120.5');
    expect(res.body).not.toContain('pipa-missing');

    const after = await counts();
    expect(after.accesses).toBe(before.accesses + 1);
    const list = await app.inject({ method: 'GET', url: `/v1/apps/${XPP}/legal-hold/accesses?limit=1`, headers: as('auditor') });
    const [access] = list.json().accesses;
    expect(access).toMatchObject({ ...LAWFUL, outcome: 'failed', result: { code: 'connector_unavailable', dataset: 'xpp-demo' } });
    const events = (await h.ctx.audit.events({ appId: XPP, limit: 1000 })).filter(
      (e) => (e.details as { access?: string } | null)?.access === access.id,
    );
    expect(events.map((e) => [e.action, e.outcome])).toEqual([
      ['legal-hold.read', 'ok'],
      ['legal-hold.read-failed', 'failed'],
    ]);

    // Once the database is back the same request is answered.
    const again = await app.inject({ method: 'POST', url: url(gone), headers: as('admin'), payload: LAWFUL });
    expect(again.statusCode, again.body).toBe(200);
  });
});
