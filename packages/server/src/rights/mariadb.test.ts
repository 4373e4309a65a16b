/**
 * Connector-backed flows against the operator's demo tables in MariaDB (PIPA_TEST_MYSQL_URL, default
 * mysql://root@127.0.0.1:3306/test), pipa's own store on SQLite and PostgreSQL: access and deletion,
 * and a database that is down (the task retries, the request says why, the deadline keeps running).
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { forEachDialect } from '../store/test-dialects.js';
import { recordCategories } from '../vault/record.js';
import { DEMO_ENV, openRightsHarness, type RightsHarness, XPP } from './test-support.js';
import { unzip } from './zip.js';

const PERSON = { id: 'subject' };
const STAFF = { id: 'key_staff00000001' };

forEachDialect('rights with MariaDB datasets', (dialect) => {
  let h: RightsHarness;
  beforeAll(async () => {
    h = await openRightsHarness(dialect.database, { engine: 'mysql', rights: { taskMaxAttempts: 3 } });
  });
  afterAll(async () => {
    await h.close();
  });

  const merchant = async (externalId: string, phone: string) => {
    const s = await h.subjects.ensure(h.ctx.db, { appId: XPP, kind: 'account', externalId });
    await h.vault.put(XPP, s.id, { 'contact.phone': phone }, { id: 'key_app000000001' });
    await h.vault.flush();
    return s.id;
  };

  it('access: the MariaDB rows are in the package', async () => {
    const subjectId = await merchant('1', '13812345678');
    const r = await h.rights.submit({ appId: XPP, subjectId, type: 'portability', via: 'token', actor: PERSON });
    await h.drain();
    expect((await h.rights.get(XPP, r.request.id)).request.state).toBe('completed');
    const link = await h.rights.createDownloadLink(XPP, r.request.id, PERSON);
    const files = unzip((await h.rights.download(link.token, PERSON)).body);
    const pkg = JSON.parse(files.get('package.json')?.toString('utf8') ?? '{}');
    const tables = pkg.data.datasets[0].tables as { table: string; rows: Record<string, unknown>[] }[];
    expect(tables.find((t) => t.table === h.demo.table('merchants'))?.rows[0]?.name).toBe('王小明');
    expect(tables.find((t) => t.table === h.demo.table('login_logs'))?.rows).toHaveLength(2);
    const csv = files.get(`data/xpp-demo/${h.demo.table('orders')}.csv`)?.toString('utf8') ?? '';
    expect(csv.split('\r\n').filter((l) => l !== '')).toHaveLength(3);
  });

  it('a database that is down: retried with backoff, the request says why, the deadline keeps running; staff run it again once it is back', async () => {
    const subjectId = await merchant('2', '13987654321');
    const url = h.env[DEMO_ENV];
    h.env[DEMO_ENV] = 'mysql://root@127.0.0.1:1/test';
    try {
      const r = await h.rights.submit({ appId: XPP, subjectId, type: 'deletion', via: 'token', actor: PERSON });
      const dueAt = r.request.dueAt;
      await h.drain();
      let now = await h.rights.get(XPP, r.request.id);
      expect(now.request.state).toBe('in_progress');
      expect(now.request.waiting).toMatchObject({ kind: 'erase', target: 'dataset:xpp-demo', retrying: true, attempts: 1 });
      expect(now.request.waiting?.message).toMatch(/unreachable|cannot be reached|unavailable|refused/i);
      expect(now.request.dueAt).toBe(dueAt);
      const erase = now.tasks.find((t) => t.target === 'dataset:xpp-demo');
      expect(erase?.state).toBe('queued');
      expect(now.tasks.find((t) => t.target === 'vault')?.state).toBe('queued');
      // Still down for the remaining attempts: the task stops and waits for staff.
      for (let i = 0; i < 3; i++) {
        h.advance(15 * 60_000);
        await h.drain();
      }
      now = await h.rights.get(XPP, r.request.id);
      expect(now.request.waiting).toMatchObject({ retrying: false, attempts: 3 });
      expect(now.tasks.find((t) => t.target === 'dataset:xpp-demo')?.state).toBe('failed');
      expect(now.request.dueAt).toBe(dueAt);
      expect((await h.rights.list({ appId: XPP, waiting: true })).map((x) => x.id)).toContain(r.request.id);
      expect(await h.demo.rows('SELECT id FROM {merchants} WHERE id = 2')).toEqual([{ id: '2' }]);
      expect(await recordCategories(h.ctx.db, subjectId)).toHaveLength(1);

      h.env[DEMO_ENV] = url;
      expect(await h.rights.retry(XPP, r.request.id, STAFF)).toHaveLength(1);
      await h.drain();
      now = await h.rights.get(XPP, r.request.id);
      expect(now.request.state).toBe('completed');
      expect(now.request.waiting).toBeNull();
      expect(await h.demo.rows('SELECT id FROM {merchants} WHERE id = 2')).toEqual([]);
      expect((await h.demo.rows('SELECT id, buyer_phone FROM {orders} WHERE merchant_id = 2')).map((o) => o.buyer_phone)).toEqual([null]);
    } finally {
      h.env[DEMO_ENV] = url;
    }
  });
});
