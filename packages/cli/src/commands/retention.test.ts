import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPolicyService, createSubjectService, createVaultService, heldCategories, openServiceContext } from '@pipa/server';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../test-util.js';

const MASTER_KEY = Buffer.alloc(32, 9).toString('base64');
const APP = 'cli-retention';
const DAY = 86_400_000;

const DECLARATION = {
  pipa: 1,
  app: { id: APP, name: '清理演示', products: [{ name: '清理演示', platforms: ['android'] }] },
  controller: { legalName: '演示科技有限公司' },
  versions: [{ version: '1' }],
  categories: [{ id: 'basic.gender' }, { id: 'contact.phone' }],
  purposes: [
    { id: 'survey', name: { zh: '问卷', en: 'Survey' }, basis: 'consent', categories: ['basic.gender'] },
    { id: 'account', name: { zh: '账号', en: 'Account' }, basis: 'contract', categories: ['contact.phone'] },
  ],
  datasets: [
    {
      id: 'shop',
      engine: 'sqlite',
      connectionEnv: 'CLI_SHOP_DB',
      tables: [
        {
          name: 'orders',
          subject: { column: 'phone', key: 'phone' },
          fields: { phone: 'contact.phone' },
          erasure: { default: 'delete-row' },
          legalRetention: { period: 'P3Y', basis: '电子商务法第三十一条', from: 'created_at' },
        },
      ],
    },
  ],
};

let dir: string;
const env = { PIPA_MASTER_KEY: MASTER_KEY };
const fields = async () => {
  const ctx = await openServiceContext({ dataDir: dir, env });
  try {
    return await heldCategories(
      ctx.db,
      APP,
      (await ctx.db.selectFrom('subjects').select('id').where('app_id', '=', APP).execute()).map((r) => r.id),
    );
  } finally {
    await ctx.close();
  }
};

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pipa-retention-cli-'));
  const at = Date.now() - 3 * DAY;
  // The fields are written three days ago (the context's clock), through the vault as an app would.
  const ctx = await openServiceContext({ dataDir: dir, env, clock: () => at });
  try {
    await createPolicyService(ctx).publish({ appId: APP, declaration: DECLARATION, force: true, reason: 'test', actor: 'cli' });
    const subject = 'sub_clitestaaaaaaaaaaaaaaaaaa';
    await ctx.db
      .insertInto('subjects')
      .values({
        id: subject,
        app_id: APP,
        kind: 'account',
        external_id: null,
        linked_to: null,
        status: 'active',
        birth_date: null,
        created_at: at,
        updated_at: at,
        frozen_at: null,
        erased_at: null,
        last_active_at: null,
      })
      .execute();
    const vault = createVaultService(ctx, { subjects: createSubjectService(ctx) });
    await vault.put(APP, subject, { 'basic.gender': '男', 'contact.phone': '13812345678' }, { id: 'key_test' });
  } finally {
    await ctx.close();
  }
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('pipa retention sweep', () => {
  it('--dry-run prints what would go and changes nothing', async () => {
    const r = await runCli(['retention', 'sweep', '--app', APP, '--dry-run', '--data-dir', dir], { env });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('dry run, nothing changed');
    expect(r.stdout).toMatch(/basic\.gender {2}purpose survey {2}delete {2}consent-missing {2}1 person\(s\), 1 field\(s\)/);
    expect(r.stdout).toContain('limit not-reachable-by-subject-id (orders)');
    expect(r.stdout).toContain('report not stored (dry run)');
    expect(await fields()).toEqual(['basic.gender', 'contact.phone'].sort());
  });

  it('--json runs the sweep: the report is stored, the field without a basis is gone, the contract one stays', async () => {
    const r = await runCli(['retention', 'sweep', '--app', APP, '--json', '--data-dir', dir], { env });
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as { id: string; dryRun: boolean; trigger: string; actor: string; totals: { fields: number } };
    expect(report).toMatchObject({ dryRun: false, trigger: 'cli', actor: 'cli', totals: { fields: 1 } });
    expect(report.id).toMatch(/^rsw_/);
    expect(await fields()).toEqual(['contact.phone']);
    const again = await runCli(['retention', 'sweep', '--app', APP, '--data-dir', dir], { env });
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('removed: nothing');
    expect(again.stdout).toMatch(/report: rsw_\S+ \(stored/);
  });

  it('prints what the sweep did with the hold manifest: a held order whose hold ended is deleted and removed from it', async () => {
    const shop = join(dir, 'shop.db');
    const db = new Database(shop);
    db.exec("CREATE TABLE orders (id INTEGER PRIMARY KEY, phone TEXT, created_at TEXT); INSERT INTO orders VALUES (7, NULL, '2020-01-01')");
    db.close();
    const ctx = await openServiceContext({ dataDir: dir, env });
    try {
      const at = Date.UTC(2020, 5, 1);
      await ctx.db
        .insertInto('legal_hold_rows')
        .values({
          app_id: APP,
          dataset: 'shop',
          table_name: 'orders',
          row_ref: '7',
          key_sealed: null,
          subject_id: 'sub_clitestaaaaaaaaaaaaaaaaaa',
          request_id: 'rrq_cli',
          held_since: at,
          held_until: '2023-01-01',
          created_at: at,
          updated_at: at,
        })
        .execute();
    } finally {
      await ctx.close();
    }
    const shopEnv = { ...env, CLI_SHOP_DB: shop };
    const dry = await runCli(['retention', 'sweep', '--app', APP, '--dry-run', '--data-dir', dir], { env: shopEnv });
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toContain(
      'hold manifest: 1 row(s) would be expired (0 no longer in the dataset), 0 still held, 0 left for the next sweep',
    );
    const run = await runCli(['retention', 'sweep', '--app', APP, '--data-dir', dir], { env: shopEnv });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('hold manifest: 1 row(s) expired and removed');
    const check = new Database(shop);
    expect(check.prepare('SELECT id FROM orders').all()).toEqual([]);
    check.close();
    const after = await runCli(['retention', 'sweep', '--app', APP, '--data-dir', dir], { env: shopEnv });
    expect(after.stdout).not.toContain('法定保存清单 / hold manifest:');
  });

  it('refuses bad input with exit 2', async () => {
    const none = await runCli(['retention', 'sweep', '--data-dir', dir], { env });
    expect(none.code).toBe(2);
    const bad = await runCli(['retention', 'sweep', '--app', 'Bad App', '--data-dir', dir], { env });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--app must be an app id');
    const unknown = await runCli(['retention', 'sweep', '--app', 'no-such-app', '--data-dir', dir], { env });
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('no-such-app');
    const nowhere = await runCli(['retention', 'sweep', '--app', APP, '--data-dir', join(dir, 'missing')], { env });
    expect(nowhere.code).toBe(2);
    expect(nowhere.stderr).toContain('no database');
  });
});
