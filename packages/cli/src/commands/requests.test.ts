import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createRightsArea } from '../../../server/src/rights/area.js';
import { createDemoDatabase, DEMO_ENV, type DemoDatabase, demoDeclaration, XPP } from '../../../server/src/rights/test-support.js';
import { openServiceContext, type ServiceContext } from '../../../server/src/service/context.js';
import { publishForTest, TEST_MASTER_KEY } from '../../../server/src/service/test-context.js';
import { createSubjectService } from '../../../server/src/subjects/index.js';
import { createVaultService } from '../../../server/src/vault/index.js';
import { runCli } from '../test-util.js';

let dir: string;
let dataDir: string;
let demo: DemoDatabase;
let env: Record<string, string>;
let deletion = '';
let access = '';

async function withCtx<T>(fn: (ctx: ServiceContext) => Promise<T>): Promise<T> {
  const ctx = await openServiceContext({ dataDir, env });
  try {
    return await fn(ctx);
  } finally {
    await ctx.close();
  }
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pipa-requests-cli-'));
  dataDir = join(dir, '.pipa');
  demo = await createDemoDatabase('sqlite');
  env = { PIPA_MASTER_KEY: TEST_MASTER_KEY, [DEMO_ENV]: demo.url };
  await withCtx(async (ctx) => {
    await publishForTest(ctx, demoDeclaration(demo));
    const subjects = createSubjectService(ctx);
    const vault = createVaultService(ctx, { subjects });
    const s = await subjects.ensure(ctx.db, { appId: XPP, kind: 'account', externalId: '1' });
    await vault.put(XPP, s.id, { 'contact.phone': '13812345678' }, { id: 'key_test00000001' });
    await vault.flush();
    const area = createRightsArea(ctx, { subjects, vault, env });
    deletion = (
      await area.service.submit({ appId: XPP, subjectId: s.id, type: 'deletion', via: 'staff', actor: { id: 'key_desk00000001' } })
    ).request.id;
    access = (await area.service.submit({ appId: XPP, subjectId: s.id, type: 'access', via: 'staff', actor: { id: 'key_desk00000001' } }))
      .request.id;
  });
}, 60_000);

afterAll(async () => {
  await demo.dispose();
  rmSync(dir, { recursive: true, force: true });
});

const cli = (...args: string[]) => runCli(['requests', ...args, '--data-dir', dataDir], { cwd: dir, env });

it('lists, refuses to run an unverified request, approves with a reason, dry-runs, runs it to completion', async () => {
  const list = await cli('list');
  expect(list.code).toBe(0);
  expect(list.stdout).toContain(deletion);
  expect(list.stdout).toMatch(/deletion\s+received/);

  const early = await cli('run', deletion);
  expect(early.code).toBe(2);
  expect(early.stderr).toContain('approve');

  const approved = await cli('approve', deletion, '--reason', 'checked the ID card at the counter');
  expect(approved.code).toBe(0);
  expect(approved.stdout).toContain('in_progress');
  expect(approved.stdout).toContain('checked the ID card at the counter');

  const dry = await cli('dry-run', deletion);
  expect(dry.code).toBe(0);
  expect(dry.stdout).toContain('erase:dataset:xpp-demo');
  expect(dry.stdout).toContain('"dryRun":true');

  const run = await cli('run', deletion, '--timeout', '60');
  expect(run.code).toBe(0);
  expect(run.stdout).toContain('completed');
  expect(await demo.rows('SELECT id FROM {merchants} ORDER BY id')).toEqual([{ id: '2' }]);

  const show = await cli('show', deletion, '--json');
  expect(JSON.parse(show.stdout).request.state).toBe('completed');
}, 120_000);

it('rejects with the reason the person sees; bad arguments exit 2', async () => {
  // A bad value names the option it came from, not a field of an HTTP body.
  const badCode = await cli('reject', access, '--code', 'Not A Code', '--zh', '无法核实身份');
  expect(badCode.code).toBe(2);
  expect(badCode.stderr).toContain('pipa requests: --code: a lower-case code such as "identity-not-confirmed"');
  expect(badCode.stderr).toContain('  --code 须为小写代码');
  expect(badCode.stderr).not.toContain('$.body');
  const shortReason = await cli('approve', access, '--reason', 'ok');
  expect(shortReason.code).toBe(2);
  expect(shortReason.stderr).toContain('pipa requests: --reason: staff verification needs a reason of 3 to 500 characters');
  expect(shortReason.stderr).not.toContain('$.body');
  const rejected = await cli(
    'reject',
    access,
    '--code',
    'identity-not-confirmed',
    '--zh',
    '无法核实身份',
    '--en',
    'Identity could not be confirmed',
  );
  expect(rejected.code).toBe(0);
  expect(rejected.stdout).toContain('rejected: identity-not-confirmed — 无法核实身份 / Identity could not be confirmed');
  expect((await cli('reject', access, '--code', 'again', '--zh', '再次')).code).toBe(2);
  expect((await cli('show', 'rrq_nope')).code).toBe(2);
  expect((await cli('show', 'rrq_aaaaaaaaaaaaaaaaaaaaaaaa')).code).toBe(2);
  expect((await cli('list', '--state', 'bogus')).code).toBe(2);
  expect((await cli('approve', access)).code).toBe(2);
  const overdue = await cli('list', '--overdue', '--json');
  expect(JSON.parse(overdue.stdout)).toEqual([]);
  const sweep = await cli('sweep');
  expect(sweep.stdout).toMatch(/reminded \d+, overdue \d+, packages shredded \d+/);
  const missing = await runCli(['requests', 'list', '--data-dir', join(dir, 'nowhere')], { cwd: dir, env });
  expect(missing.code).toBe(2);
}, 60_000);
