import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPolicyService, createSubjectService, createVaultService, heldCategories, openServiceContext } from '@pipa/server';
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
    const subjects = createSubjectService(ctx);
    const subject = (await subjects.ensure(ctx.db, { appId: APP, kind: 'account' })).id;
    const vault = createVaultService(ctx, { subjects });
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
