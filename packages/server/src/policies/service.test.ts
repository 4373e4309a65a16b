import { readFileSync } from 'node:fs';
import { loadDeclaration } from '@pipa/policy';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { countAuditEvents } from '../audit/audit-log.js';
import { PipaError } from '../errors.js';
import type { ServiceContext } from '../service/context.js';
import { EXAMPLE_FILES, openTestContext } from '../service/test-context.js';
import { forEachDialect } from '../store/test-dialects.js';
import { applyReconsentMarks } from './reconsent.js';
import { createPolicyService, type PolicyService } from './service.js';
import { startPolicySync } from './sync.js';
import { ALIAS_BOMB, APP, V1, V2, V3, V4 } from './test-fixtures.js';

async function failure(p: Promise<unknown>): Promise<PipaError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof PipaError) return err;
    throw err;
  }
  throw new Error('expected a PipaError');
}

forEachDialect('policy service', (dctx) => {
  let ctx: ServiceContext;
  let policies: PolicyService;
  const counts = async () => ({
    versions: Number(
      (
        await dctx.db
          .selectFrom('policy_versions')
          .select((eb) => eb.fn.countAll().as('n'))
          .executeTakeFirstOrThrow()
      ).n,
    ),
    audit: await countAuditEvents(dctx.db),
  });

  beforeAll(async () => {
    ctx = await openTestContext(dctx.database, { examples: [] });
    policies = createPolicyService(ctx);
  });
  afterAll(async () => {
    await ctx.close();
  });

  it('publishes a first version from YAML: creates the app, makes it current, audits it', async () => {
    const r = await policies.publish({ appId: APP, source: V1, actor: 'key_test', requestId: 'req_12345678' });
    expect(r.created).toBe(true);
    expect(r.diff).toBeNull();
    expect(r.version).toMatchObject({ version: '1.0', material: true, current: true, forcedReason: null, publishedBy: 'key_test' });
    expect(r.version.lint.errors).toBe(0);
    expect(ctx.policies.require(APP).version).toBe('1.0');
    const app = await dctx.db.selectFrom('apps').selectAll().where('id', '=', APP).executeTakeFirstOrThrow();
    expect(app.current_version).toBe('1.0');
    const [event] = await ctx.audit.events({ appId: APP });
    expect(event).toMatchObject({ action: 'policy.publish', actor: 'key_test', outcome: 'ok', requestId: 'req_12345678' });
    expect(event?.details).toMatchObject({ version: '1.0', previous: null, material: true, created: true });
    const stored = await policies.current(APP);
    expect(stored.source).toBe(V1);
    expect(stored.declaration.app.id).toBe(APP);
  });

  it('refuses a version that exists with 409 and writes nothing', async () => {
    const before = await counts();
    const err = await failure(policies.publish({ appId: APP, source: V1, actor: 'key_test' }));
    expect(err.code).toBe('conflict');
    expect(err.status).toBe(409);
    expect(await counts()).toEqual(before);
  });

  it('publishes a material change (as JSON): stores the diff, moves the material version, marks re-consent', async () => {
    const declaration = JSON.parse(JSON.stringify(loadDeclaration(V2).declaration)) as unknown;
    const r = await policies.publish({ appId: APP, declaration, actor: 'key_test' });
    expect(r.created).toBe(false);
    expect(r.version).toMatchObject({ version: '2.0', material: true });
    expect(r.diff?.from).toBe('1.0');
    expect(r.diff?.reconsent).toBe(true);
    expect(r.diff?.affected).toEqual({ purposes: ['push-notifications'], recipients: [] });
    expect(r.diff?.changes.map((c) => c.kind)).toContain('purpose.category-added');
    const p = ctx.policies.require(APP);
    expect(p.version).toBe('2.0');
    expect(p.materialVersion).toBe('2.0');
    expect(ctx.consent.appState(APP)?.purposeMarks.get('push-notifications')).toEqual({ sinceVersion: '2.0', at: r.version.publishedAt });
    expect((await policies.version(APP, '2.0')).source).toBeNull();
  });

  it('publishes an editorial change: not material, the material version stays', async () => {
    const r = await policies.publish({ appId: APP, source: V3, actor: 'key_test' });
    expect(r.version.material).toBe(false);
    expect(r.diff?.reconsent).toBe(false);
    expect(ctx.policies.require(APP)).toMatchObject({ version: '3.0', materialVersion: '2.0' });
  });

  it('lists history newest first, one version, the current one and diffs', async () => {
    const history = await policies.history(APP);
    expect(history.map((h) => [h.version, h.current, h.material])).toEqual([
      ['3.0', true, false],
      ['2.0', false, true],
      ['1.0', false, true],
    ]);
    expect((await policies.current(APP)).version).toBe('3.0');
    expect(await policies.diff(APP, '1.0')).toEqual({ from: null, to: '1.0', diff: null });
    const d = await policies.diff(APP, '2.0');
    expect(d.from).toBe('1.0');
    expect(d.diff?.changes.find((c) => c.kind === 'purpose.category-added')?.summary.en).toBeTruthy();
    expect((await policies.listApps()).map((a) => a.id)).toEqual([APP]);
    expect(await policies.listApps([])).toEqual([]);
  });

  it('answers unknown apps and versions with 404', async () => {
    expect((await failure(policies.history('no-such-app'))).code).toBe('unknown_app');
    expect((await failure(policies.current('no-such-app'))).status).toBe(404);
    expect((await failure(policies.version(APP, '9.9'))).code).toBe('not_found');
    expect((await failure(policies.getApp('no-such-app'))).code).toBe('unknown_app');
  });

  it('rejects bad input with validation_failed, naming the position, and writes nothing', async () => {
    const before = await counts();
    const yaml = await failure(policies.publish({ appId: APP, source: 'pipa: 1\napp: [unclosed', actor: 'k' }));
    expect(yaml.code).toBe('validation_failed');
    expect(yaml.details?.[0]).toMatchObject({ path: '$.body.source', line: 2 });
    // The message says where the first problem is, so a CLI or a log line alone is enough to fix it.
    expect(yaml.message).toMatch(/^the declaration is invalid: \$\.body\.source:2:\d+( \(.*\))?: \S/);
    const schema = await failure(policies.publish({ appId: APP, source: V1.replace('basis: contract', 'basis: contrakt'), actor: 'k' }));
    expect(schema.code).toBe('validation_failed');
    expect(schema.details?.some((d) => String(d.declarationPath).startsWith('$.purposes[') && typeof d.line === 'number')).toBe(true);
    const json = await failure(policies.publish({ appId: APP, declaration: { pipa: 1, app: { id: APP } }, actor: 'k' }));
    expect(json.code).toBe('validation_failed');
    expect(json.details?.every((d) => String(d.path).startsWith('$.body.declaration'))).toBe(true);
    expect(json.message).toMatch(
      /^the declaration is invalid: \$\.body\.declaration\.app\.name: required field is missing; \d+ more problems in details$/,
    );
    const notObject = await failure(policies.publish({ appId: APP, declaration: [1, 2], actor: 'k' }));
    expect(notObject.code).toBe('validation_failed');
    const other = await failure(policies.publish({ appId: 'other-app', source: V1, actor: 'k' }));
    expect(other.code).toBe('validation_failed');
    expect(other.details?.[0]?.message).toContain('other-app');
    const both = await failure(policies.publish({ appId: APP, source: V1, declaration: {}, actor: 'k' }));
    expect(both.code).toBe('validation_failed');
    const neither = await failure(policies.publish({ appId: APP, actor: 'k' }));
    expect(neither.code).toBe('validation_failed');
    const noReason = await failure(policies.publish({ appId: APP, source: V1, force: true, reason: '   ', actor: 'k' }));
    expect(noReason.details?.[0]?.path).toBe('$.body.reason');
    expect(await counts()).toEqual(before);
    expect(await dctx.db.selectFrom('apps').select('id').where('id', '=', 'other-app').executeTakeFirst()).toBeUndefined();
  });

  it('rejects a "billion laughs" alias bomb with validation_failed at the alias, quickly, and writes nothing', async () => {
    const before = await counts();
    const started = performance.now();
    const err = await failure(policies.publish({ appId: APP, source: ALIAS_BOMB, actor: 'k' }));
    expect(performance.now() - started).toBeLessThan(1000);
    expect(err.code).toBe('validation_failed');
    expect(err.status).toBe(400);
    expect(err.details).toEqual([
      {
        path: '$.body.source',
        declarationPath: '$',
        line: expect.any(Number),
        column: expect.any(Number),
        message: expect.stringMatching(/^YAML: too many alias expansions at \*a\d /),
      },
    ]);
    expect(err.message).toMatch(/^the declaration is invalid: \$\.body\.source:\d+:\d+: YAML: too many alias expansions/);
    expect(await counts()).toEqual(before);
  });

  it('blocks lint errors with 422 and the findings; force with a reason publishes and audits the reason', async () => {
    const source = readFileSync(EXAMPLE_FILES.shengshitong, 'utf8');
    const before = await counts();
    const blocked = await failure(policies.publish({ appId: 'shengshitong', source, actor: 'key_dpo', lang: 'en' }));
    expect(blocked.code).toBe('lint_errors');
    expect(blocked.status).toBe(422);
    expect(blocked.details?.length).toBeGreaterThan(10);
    expect(blocked.details?.[0]).toMatchObject({ severity: 'error' });
    expect(typeof blocked.details?.[0]?.rule).toBe('string');
    expect(typeof blocked.details?.[0]?.line).toBe('number');
    expect(await counts()).toEqual(before);
    expect(await dctx.db.selectFrom('apps').select('id').where('id', '=', 'shengshitong').executeTakeFirst()).toBeUndefined();

    const r = await policies.publish({
      appId: 'shengshitong',
      source,
      actor: 'key_dpo',
      force: true,
      reason: 'seed policy published as written',
    });
    expect(r.version.forcedReason).toBe('seed policy published as written');
    expect(r.version.lint.errors).toBeGreaterThan(10);
    const events = await ctx.audit.events({ appId: 'shengshitong' });
    expect(events).toHaveLength(1);
    const details = events[0]?.details as { forced: boolean; reason: string; overriddenRules: string[] };
    expect(details.forced).toBe(true);
    expect(details.reason).toBe('seed policy published as written');
    expect(details.overriddenRules.length).toBeGreaterThan(0);
    expect((await ctx.audit.verify()).ok).toBe(true);
  });

  it('re-applies marks from the stored versions (what the consent loader calls at start)', async () => {
    const fresh = await openTestContext(dctx.database, { examples: [] });
    try {
      expect(fresh.consent.appState(APP)?.purposeMarks.get('push-notifications')).toBeUndefined();
      expect(await applyReconsentMarks(fresh, APP)).toBe(1);
      expect(fresh.consent.appState(APP)?.purposeMarks.get('push-notifications')?.sinceVersion).toBe('2.0');
      expect(await applyReconsentMarks(fresh)).toBe(1);
    } finally {
      await fresh.close();
    }
  });

  it('another node reloads the policy and applies the marks when notified', async () => {
    if (!dctx.caps.listenNotify) return; // SQLite: one node; notifications stay in the process (covered above).
    const otherDb = await dctx.connect();
    const other = await openTestContext(otherDb, { examples: [] });
    try {
      const sync = await startPolicySync(other);
      expect(other.policies.require(APP).version).toBe('3.0');
      const r = await policies.publish({ appId: APP, source: V4, actor: 'key_test' });
      expect(r.version.material).toBe(true);
      const deadline = Date.now() + 5000;
      while (other.policies.get(APP)?.version !== '4.0' && Date.now() < deadline) await new Promise((res) => setTimeout(res, 20));
      await sync.idle();
      expect(other.policies.require(APP)).toMatchObject({ version: '4.0', materialVersion: '4.0' });
      expect(other.consent.appState(APP)?.purposeMarks.get('push-notifications')?.sinceVersion).toBe('4.0');
    } finally {
      await other.close();
    }
  });
});
