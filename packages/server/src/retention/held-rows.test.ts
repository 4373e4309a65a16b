/**
 * Rows kept under legal hold in a table reachable only by a phone join, end to end, with pipa's store on
 * SQLite and PostgreSQL and the operator's demo tables in SQLite, PostgreSQL and MariaDB (when their
 * URLs are set): an account cancellation holds the merchant's orders (joined through `merchants`, found
 * by phone; the merchant row is deleted and the phone crypto-shredded); lawful access returns them
 * through the hold manifest; once the first hold ends (test clock) it is left out as expired, the
 * retention sweep deletes that order and removes it from the manifest; after the second hold nothing
 * is returned any more. Faults: a database that cannot be reached (a closed port) is 503 for lawful
 * access and a reported error for the sweep, which keeps the manifest; rows of a table the declaration
 * no longer holds are reported; bad options are refused.
 */
import { expect, it } from 'vitest';
import { createLawfulAccessService } from '../lawful-access/index.js';
import { addPeriod, parsePeriod } from '../rights/connectors/index.js';
import { DEMO_ENV, type DemoEngine, MYSQL_TEST_ENV, openRightsHarness, type RightsHarness, XPP } from '../rights/test-support.js';
import { forEachDialect, TEST_POSTGRES_ENV } from '../store/test-dialects.js';
import { planSweep, runSweep } from './sweep.js';

const ENGINES: DemoEngine[] = [
  'sqlite',
  ...(process.env[TEST_POSTGRES_ENV] ? (['postgres'] as const) : []),
  ...(process.env[MYSQL_TEST_ENV] ? (['mysql'] as const) : []),
];
const PHONE = '13812345678';
const LAWFUL = {
  authority: '某市公安局',
  legalBasis: '《中华人民共和国刑事诉讼法》第五十四条',
  reason: '调取交易记录',
  actor: 'key_admin',
};
const DAY = 86_400_000;

const ymd = (ms: number) => new Date(ms).toISOString().slice(0, 10);
const heldUntil = (day: string) =>
  ymd(addPeriod(new Date(`${day}T00:00:00Z`), parsePeriod('P3Y') ?? { years: 3, months: 0, days: 0 }).getTime());

/** A URL of the engine that nothing listens on (a closed port), or a SQLite file that does not exist. */
function unreachable(engine: DemoEngine): string {
  if (engine === 'mysql') return 'mysql://root@127.0.0.1:1/test';
  if (engine === 'postgres') return 'postgres://postgres@127.0.0.1:1/pipa_test';
  return `/tmp/pipa-no-such-dir-${Date.now()}/xpp.db`;
}

async function cancelled(h: RightsHarness): Promise<{ subject: string; days: [string, string] }> {
  const now = h.ctx.clock();
  // The merchant's two orders: two years and one year old, so held for one and for two more years.
  const days: [string, string] = [ymd(now - 730 * DAY), ymd(now - 365 * DAY)];
  await h.demo.exec(`UPDATE {orders} SET created_at = '${days[0]} 12:00:00' WHERE id = 11`);
  await h.demo.exec(`UPDATE {orders} SET created_at = '${days[1]} 12:00:00' WHERE id = 12`);
  const subject = (await h.subjects.ensure(h.ctx.db, { appId: XPP, kind: 'account', externalId: '1' })).id;
  await h.vault.put(XPP, subject, { 'contact.phone': PHONE }, { id: 'key_app000000001' });
  await h.vault.flush();
  const requestId = await h.cancelAccount(subject);
  expect((await h.rights.get(XPP, requestId)).request.state).toBe('completed');
  expect((await h.subjects.require(h.ctx.db, XPP, subject)).status).toBe('erased');
  return { subject, days };
}

forEachDialect(
  'held rows reachable only by a phone join',
  (dialect) => {
    for (const engine of ENGINES) {
      it(`[${engine}] cancellation, lawful access through the manifest, expiry left out, swept after the hold`, async () => {
        const h = await openRightsHarness(dialect.database, { engine });
        try {
          const { subject, days } = await cancelled(h);
          const orders = h.demo.table('orders');
          const until = [heldUntil(days[0]), heldUntil(days[1])] as const;
          // The merchant row is gone, the orders are held with only the held columns.
          expect(await h.demo.rows('SELECT id FROM {merchants} WHERE id = 1')).toEqual([]);
          expect(await h.demo.rows('SELECT id, buyer_phone FROM {orders} WHERE merchant_id = 1 ORDER BY id')).toEqual([
            { id: '11', buyer_phone: null },
            { id: '12', buyer_phone: null },
          ]);
          const lawful = createLawfulAccessService(h.ctx, { subjects: h.subjects, env: h.env });
          const ordersOf = (r: Awaited<ReturnType<typeof lawful.request>>) =>
            r.datasets.find((d) => d.dataset === 'xpp-demo')?.tables.find((t) => t.table === orders);

          const first = await lawful.request(XPP, subject, LAWFUL);
          const ds = first.datasets.find((d) => d.dataset === 'xpp-demo');
          expect(ds?.unreached).toEqual([]);
          expect(ds?.expired).toEqual([]);
          expect(ordersOf(first)?.categories).toEqual({ amount: 'finance.transactions', created_at: 'finance.transactions' });
          expect(ordersOf(first)?.rows.map((r) => String(r.created_at).slice(0, 10))).toEqual([...days]);
          expect(ordersOf(first)?.rows.map((r) => Number(r.amount))).toEqual([120.5, 80]);
          expect(JSON.stringify(first)).not.toContain('13700000001');
          expect(first.access.outcome).toBe('disclosed');

          // The day the first hold ends: that order is left out (expired, not yet swept).
          h.advance(Date.parse(`${until[0]}T01:00:00Z`) - h.ctx.clock());
          const second = await lawful.request(XPP, subject, LAWFUL);
          expect(ordersOf(second)?.rows.map((r) => String(r.created_at).slice(0, 10))).toEqual([days[1]]);
          expect(second.datasets[0]?.expired).toEqual([{ table: orders, until: until[0], rows: 1 }]);

          // The sweep: a dry run changes nothing, the run deletes the order and removes it from the manifest.
          const manifest = () =>
            h.ctx.db
              .selectFrom('legal_hold_rows')
              .select(['row_ref', 'held_until'])
              .where('subject_id', '=', subject)
              .orderBy('row_ref')
              .execute();
          expect(await manifest()).toEqual([
            { row_ref: '11', held_until: until[0] },
            { row_ref: '12', held_until: until[1] },
          ]);
          const dry = await planSweep(h.ctx, XPP, { env: h.env });
          const dryHeld = dry.datasets.find((d) => d.dataset === 'xpp-demo')?.held;
          expect(dryHeld).toEqual({
            due: 1,
            removed: 1,
            missing: 0,
            kept: 0,
            remaining: 0,
            tables: [{ table: orders, removed: 1, missing: 0, kept: 0 }],
          });
          expect((await h.demo.rows('SELECT id FROM {orders} WHERE merchant_id = 1 ORDER BY id')).map((o) => o.id)).toEqual(['11', '12']);
          expect(await manifest()).toHaveLength(2);

          const swept = await runSweep(h.ctx, XPP, { env: h.env, actor: 'key_ops' });
          const sd = swept.datasets.find((d) => d.dataset === 'xpp-demo');
          expect(sd?.held).toEqual(dryHeld);
          expect(sd?.tables.find((t) => t.table === orders)).toMatchObject({ rowsDeleted: 1 });
          expect(swept.totals.datasetRows).toBeGreaterThanOrEqual(1);
          expect(swept.errors).toEqual([]);
          expect((await h.demo.rows('SELECT id FROM {orders} ORDER BY id')).map((o) => o.id)).toEqual(['12', '13']);
          expect(await manifest()).toEqual([{ row_ref: '12', held_until: until[1] }]);
          await h.ctx.auditBatcher.flush();
          const audited = (await h.ctx.audit.events({ appId: XPP, limit: 1000 })).filter((e) => e.action === 'retention.held-rows');
          expect(audited).toHaveLength(1);
          expect(audited[0]).toMatchObject({
            actor: 'key_ops',
            details: { sweep: swept.id, dataset: 'xpp-demo', tables: [{ table: orders, removed: 1, kept: 0 }] },
          });
          expect(JSON.stringify(audited)).not.toContain(subject);
          const sweepEvent = (await h.ctx.audit.events({ appId: XPP, limit: 1000 })).find(
            (e) => e.action === 'retention.sweep' && (e.details as { sweep?: string }).sweep === swept.id,
          );
          expect((sweepEvent?.details as { datasets?: unknown[] } | undefined)?.datasets).toContainEqual(
            expect.objectContaining({ dataset: 'xpp-demo', heldRowsRemoved: 1 }),
          );

          const third = await lawful.request(XPP, subject, LAWFUL);
          expect(ordersOf(third)?.rows).toHaveLength(1);
          expect(third.datasets[0]?.expired).toEqual([]);

          // After the second hold: swept, and nothing is held any more (the manifest accounts for every row).
          h.advance(Date.parse(`${until[1]}T01:00:00Z`) - h.ctx.clock());
          const last = await runSweep(h.ctx, XPP, { env: h.env });
          expect(last.datasets.find((d) => d.dataset === 'xpp-demo')?.held).toMatchObject({ due: 1, removed: 1 });
          expect(await manifest()).toEqual([]);
          const after = await lawful.request(XPP, subject, LAWFUL);
          expect(after.datasets).toEqual([]);
          // The other merchant's order was never touched.
          expect(await h.demo.rows('SELECT id, buyer_phone FROM {orders} ORDER BY id')).toEqual([{ id: '13', buyer_phone: '13700000003' }]);
          // Nothing due: the next sweep does not call the connector for held rows.
          const idle = await runSweep(h.ctx, XPP, { env: {} });
          expect(idle.datasets.find((d) => d.dataset === 'xpp-demo')?.held).toMatchObject({ due: 0, removed: 0 });
        } finally {
          await h.close();
        }
      });

      it(`[${engine}] a database that cannot be reached: lawful access is 503 naming dataset and tables, recorded as failed; the sweep reports it and keeps the manifest`, async () => {
        const h = await openRightsHarness(dialect.database, { engine });
        try {
          const { subject, days } = await cancelled(h);
          const saved = h.env[DEMO_ENV];
          h.env[DEMO_ENV] = unreachable(engine);
          const lawful = createLawfulAccessService(h.ctx, { subjects: h.subjects, env: h.env });
          const err = await lawful.request(XPP, subject, LAWFUL).catch((e: unknown) => e);
          expect(err).toMatchObject({ name: 'PipaError', code: 'unavailable', status: 503 });
          const detail = (err as { details: Record<string, unknown>[] }).details[0];
          expect(detail).toMatchObject({
            dataset: 'xpp-demo',
            tables: [h.demo.table('orders')],
            connectorCode: 'connector_unavailable',
            retryable: true,
          });
          expect((err as Error).message).toContain(`dataset xpp-demo (table ${h.demo.table('orders')})`);
          expect((err as Error).message).not.toContain('127.0.0.1');
          const access = await h.ctx.db
            .selectFrom('lawful_accesses')
            .select(['id', 'outcome', 'result'])
            .where('subject_id', '=', subject)
            .executeTakeFirstOrThrow();
          expect(access.outcome).toBe('failed');
          expect(JSON.parse(access.result ?? '{}')).toEqual({
            code: 'connector_unavailable',
            dataset: 'xpp-demo',
            tables: [h.demo.table('orders')],
          });

          // The sweep on the day the first hold ends, with the database down: reported, the manifest kept.
          h.advance(Date.parse(`${heldUntil(days[0])}T01:00:00Z`) - h.ctx.clock());
          const down = await runSweep(h.ctx, XPP, { env: h.env });
          expect(down.errors).toMatchObject([
            { where: 'dataset:xpp-demo', code: 'connector_unavailable', subjects: [subject], retryable: true },
          ]);
          expect(down.datasets.find((d) => d.dataset === 'xpp-demo')?.held).toMatchObject({ due: 1, removed: 0, remaining: 1 });
          expect(await h.ctx.db.selectFrom('legal_hold_rows').select('row_ref').where('subject_id', '=', subject).execute()).toHaveLength(
            2,
          );

          // Back up: the next sweep does it.
          h.env[DEMO_ENV] = saved;
          const up = await runSweep(h.ctx, XPP, { env: h.env });
          expect(up.errors).toEqual([]);
          expect(up.datasets.find((d) => d.dataset === 'xpp-demo')?.held).toMatchObject({ due: 1, removed: 1, remaining: 0 });
        } finally {
          await h.close();
        }
      });
    }

    it('rows of a table the declaration no longer holds are reported and kept; a row the dataset still holds is kept with its new end; bad options are refused', async () => {
      const h = await openRightsHarness(dialect.database);
      try {
        const { subject, days } = await cancelled(h);
        const orders = h.demo.table('orders');
        const now = h.ctx.clock();
        const row = {
          app_id: XPP,
          dataset: 'xpp-demo',
          subject_id: subject,
          request_id: 'rrq_test',
          held_since: now,
          key_sealed: null,
          created_at: now,
          updated_at: now,
        };
        // A row recorded for a table that is not declared (any more), due today.
        await h.ctx.db
          .insertInto('legal_hold_rows')
          .values({ ...row, table_name: 'ghost_orders', row_ref: '7', held_until: ymd(now) })
          .execute();
        // Order 12 recorded as due today, but its date says it is held two more years.
        await h.ctx.db
          .updateTable('legal_hold_rows')
          .set({ held_until: ymd(now) })
          .where('table_name', '=', orders)
          .where('row_ref', '=', '12')
          .execute();
        // A row that is gone from the dataset.
        await h.ctx.db
          .insertInto('legal_hold_rows')
          .values({ ...row, table_name: orders, row_ref: '999', held_until: ymd(now) })
          .execute();

        const r = await runSweep(h.ctx, XPP, { env: h.env });
        expect(r.errors).toMatchObject([
          { where: 'dataset:xpp-demo/ghost_orders', code: 'undeclared-table', subjects: [subject], retryable: false },
        ]);
        expect(r.datasets.find((d) => d.dataset === 'xpp-demo')?.held).toEqual({
          due: 2,
          removed: 1,
          missing: 1,
          kept: 1,
          remaining: 0,
          tables: [{ table: orders, removed: 1, missing: 1, kept: 1 }],
        });
        const left = await h.ctx.db
          .selectFrom('legal_hold_rows')
          .select(['table_name', 'row_ref', 'held_until'])
          .orderBy('row_ref')
          .execute();
        expect(left).toEqual([
          { table_name: orders, row_ref: '11', held_until: heldUntil(days[0]) },
          { table_name: orders, row_ref: '12', held_until: heldUntil(days[1]) },
          { table_name: 'ghost_orders', row_ref: '7', held_until: ymd(now) },
        ]);
        expect((await h.demo.rows('SELECT id FROM {orders} WHERE merchant_id = 1 ORDER BY id')).map((o) => o.id)).toEqual(['11', '12']);

        // The limit per sweep.
        await h.ctx.db
          .updateTable('legal_hold_rows')
          .set({ held_until: ymd(now) })
          .where('table_name', '=', orders)
          .execute();
        const one = await planSweep(h.ctx, XPP, { env: h.env, maxHeldRows: 1 });
        expect(one.datasets.find((d) => d.dataset === 'xpp-demo')?.held).toMatchObject({ due: 1, remaining: 1 });
        for (const bad of [0, -1, 1.5, 10_001]) {
          await expect(runSweep(h.ctx, XPP, { env: h.env, maxHeldRows: bad })).rejects.toMatchObject({ code: 'validation_failed' });
        }
        expect(await h.ctx.db.selectFrom('legal_hold_rows').select('row_ref').execute()).toHaveLength(3);
      } finally {
        await h.close();
      }
    });
  },
  { perTest: true },
);
