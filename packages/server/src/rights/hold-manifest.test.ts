/**
 * The hold manifest written by an erasure, on both dialects, with the 小票票 demo tables in SQLite and
 * a `vouchers` table whose primary key is a phone number (personal information): after a cancellation
 * the held rows are recorded (keys, end of the hold, subject, request) with the task's completion, the
 * task's stored result carries no key, a personal key is sealed and referred to by a keyed hash, and
 * a sealed key cannot be moved to another table.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { forEachDialect } from '../store/test-dialects.js';
import { heldRows, manifestHeaders, withoutHeldRows } from './hold-manifest.js';
import { openRightsHarness, type RightsHarness, XPP } from './test-support.js';

const BASIS = { zh: '《电子商务法》第三十一条', en: 'E-Commerce Law art. 31' };
const PHONE = '13812345678';

forEachDialect('hold manifest', (dialect) => {
  let h: RightsHarness;
  let gone: string;
  let requestId: string;
  let today: string;

  beforeAll(async () => {
    h = await openRightsHarness(dialect.database, {
      declaration: (d) => {
        d.datasets?.[0]?.tables?.push({
          name: 'vouchers',
          subject: { column: 'phone', key: 'phone' },
          primaryKey: 'phone',
          fields: { phone: 'contact.phone', amount: 'finance.transactions', issued_on: 'finance.transactions' },
          erasure: { default: 'delete-row' },
          legalRetention: { period: 'P3Y', basis: BASIS, columns: ['phone', 'amount', 'issued_on'], from: 'issued_on' },
        } as never);
      },
    });
    today = new Date(h.ctx.clock()).toISOString().slice(0, 10);
    await h.demo.exec('CREATE TABLE vouchers (phone varchar(32) PRIMARY KEY, amount varchar(16), issued_on varchar(32))');
    await h.demo.exec(
      `INSERT INTO vouchers (phone, amount, issued_on) VALUES ('${PHONE}', '9.90', '${today}'), ('13987654321', '5.00', '${today}')`,
    );
    gone = (await h.subjects.ensure(h.ctx.db, { appId: XPP, kind: 'account', externalId: '1' })).id;
    await h.vault.put(XPP, gone, { 'contact.phone': PHONE }, { id: 'key_app000000001' });
    await h.vault.flush();
    requestId = await h.cancelAccount(gone);
    expect((await h.rights.get(XPP, requestId)).request.state).toBe('completed');
  });
  afterAll(async () => {
    await h?.close();
  });

  it('records every held row with the end of its hold, the subject and the request; the task result keeps no key', async () => {
    const rows = await heldRows(h.ctx, XPP, { subjectId: gone });
    const orders = rows.filter((r) => r.table === 'orders');
    // orders 11 (2024-05-20) and 12 (2024-06-15) of merchant 1, held three years from created_at
    expect(orders.map((r) => [r.key, r.heldUntil])).toEqual(
      [
        [11, '2027-05-20'],
        [12, '2027-06-15'],
      ].filter(([, until]) => String(until) > today),
    );
    for (const r of rows) expect(r).toMatchObject({ dataset: 'xpp-demo', subjectId: gone, requestId });
    const vouchers = rows.filter((r) => r.table === 'vouchers');
    expect(vouchers.map((r) => r.key)).toEqual([PHONE]);
    expect(vouchers[0]?.heldUntil).toBe(`${Number(today.slice(0, 4)) + 3}${today.slice(4)}`);

    const { tasks } = await h.rights.get(XPP, requestId);
    const erase = tasks.find((t) => t.target === 'dataset:xpp-demo');
    expect(erase?.result).toMatchObject({ holdManifest: { rows: rows.length } });
    expect(JSON.stringify(erase?.result)).not.toContain('heldRows');
    expect(JSON.stringify(erase?.result)).not.toContain(PHONE);

    const headers = (await manifestHeaders(h.ctx.db, XPP, gone)).get('xpp-demo');
    expect(headers).toHaveLength(1);
    expect(headers?.[0]).toMatchObject({ requestId, unreached: [] });
    expect(headers?.[0]?.tables).toEqual([
      { table: 'orders', held: orders.length, recorded: orders.length },
      { table: 'vouchers', held: 1, recorded: 1 },
    ]);
  });

  it('stores no personal information in plain text: a phone number as primary key is sealed and referred to by a keyed hash', async () => {
    const stored = await h.ctx.db.selectFrom('legal_hold_rows').selectAll().where('subject_id', '=', gone).execute();
    const voucher = stored.find((r) => r.table_name === 'vouchers');
    expect(voucher?.row_ref).toMatch(/^h:[0-9a-f]{64}$/);
    expect(voucher?.key_sealed).not.toBeNull();
    expect(Buffer.from(voucher?.key_sealed ?? []).includes(Buffer.from(PHONE))).toBe(false);
    for (const r of stored.filter((x) => x.table_name === 'orders')) expect(r.key_sealed).toBeNull();
    expect(JSON.stringify(stored.map(({ key_sealed: _k, ...r }) => r))).not.toContain(PHONE);

    // A sealed key moved to another table does not open (the table is bound into the ciphertext).
    await h.ctx.db
      .updateTable('legal_hold_rows')
      .set({ table_name: 'orders' })
      .where('row_ref', '=', voucher?.row_ref ?? '')
      .execute();
    await expect(heldRows(h.ctx, XPP, { subjectId: gone })).rejects.toThrow();
    await h.ctx.db
      .updateTable('legal_hold_rows')
      .set({ table_name: 'vouchers' })
      .where('row_ref', '=', voucher?.row_ref ?? '')
      .execute();
    expect((await heldRows(h.ctx, XPP, { subjectId: gone })).find((r) => r.table === 'vouchers')?.key).toBe(PHONE);
  });

  it('strips held rows from a report', () => {
    const report = {
      dataset: 'd',
      dryRun: false,
      at: '2026-01-01T00:00:00.000Z',
      tables: [{ table: 't', rows: 1, actions: [], heldRows: [{ key: 1, until: '2029-01-01' }] }],
    };
    expect(withoutHeldRows(report).tables[0]).toEqual({ table: 't', rows: 1, actions: [] });
  });
});
