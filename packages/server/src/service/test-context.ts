/**
 * Test helper: a complete service context on the dialect block's database (see store/test-dialects.ts),
 * with a master key from a fixed test environment, and the example apps published directly into
 * `apps` / `policy_versions` (bypassing the policies service, so every service can be tested alone).
 * Imported by tests only (depends on vitest through test-dialects).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Declaration, loadDeclaration } from '@pipa/policy';
import { vi } from 'vitest';
import type { Database } from '../store/database.js';
import { withTransaction } from '../store/transaction.js';
import { openServiceContext, type ServiceContext, type ServiceOptions } from './context.js';

export const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
export const EXAMPLE_FILES = {
  xiaopiaopiao: join(REPO_ROOT, 'examples', 'xiaopiaopiao-merchant', 'policy.yaml'),
  shengshitong: join(REPO_ROOT, 'examples', 'shengshitong', 'policy.yaml'),
} as const;

/** A fixed 32-byte test master key (base64). Never use outside tests. */
export const TEST_MASTER_KEY = Buffer.alloc(32, 7).toString('base64');

export function loadExample(name: keyof typeof EXAMPLE_FILES): Declaration {
  const file = EXAMPLE_FILES[name];
  return loadDeclaration(readFileSync(file, 'utf8'), file).declaration;
}

/** Insert a declaration as the app's current version (no lint, no diff): for service tests. */
export async function publishForTest(
  ctx: ServiceContext,
  declaration: Declaration,
  options: { version?: string; material?: boolean; at?: number } = {},
): Promise<void> {
  const appId = declaration.app.id;
  const version = options.version ?? declaration.versions[declaration.versions.length - 1]?.version ?? '1';
  const at = options.at ?? ctx.clock();
  await withTransaction(ctx.db, async (trx) => {
    const existing = await trx.selectFrom('apps').select('id').where('id', '=', appId).executeTakeFirst();
    if (existing === undefined) {
      await trx
        .insertInto('apps')
        .values({
          id: appId,
          name: typeof declaration.app.name === 'string' ? declaration.app.name : declaration.app.name.zh,
          current_version: null,
          created_at: at,
          updated_at: at,
        })
        .execute();
    }
    await trx
      .insertInto('policy_versions')
      .values({
        app_id: appId,
        version,
        declaration: JSON.stringify(declaration),
        source: null,
        lint_summary: JSON.stringify({ errors: 0, warnings: 0, infos: 0 }),
        material: options.material === false ? 0 : 1,
        diff: null,
        published_at: at,
        published_by: 'test',
        forced_reason: null,
      })
      .execute();
    await trx.updateTable('apps').set({ current_version: version, updated_at: at }).where('id', '=', appId).execute();
  });
  await ctx.policies.reload(appId);
}

/** Open a service context on `database` (not closed by ctx.close()); dispose also removes the data dir. */
export async function openTestContext(
  database: Database,
  options: Omit<ServiceOptions, 'database' | 'env' | 'dataDir'> & { examples?: (keyof typeof EXAMPLE_FILES)[] } = {},
): Promise<ServiceContext> {
  const dataDir = mkdtempSync(join(tmpdir(), 'pipa-ctx-'));
  const { examples = ['xiaopiaopiao', 'shengshitong'], ...rest } = options;
  let ctx: ServiceContext;
  try {
    ctx = await openServiceContext({ ...rest, database, dataDir, env: { PIPA_MASTER_KEY: TEST_MASTER_KEY } });
  } catch (err) {
    // A test that expects the open to fail leaves no data directory behind.
    rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
  ctx.onClose(() => rmSync(dataDir, { recursive: true, force: true }));
  try {
    for (const name of examples) await publishForTest(ctx, loadExample(name));
  } catch (err) {
    await ctx.close();
    throw err;
  }
  return ctx;
}

/**
 * Make the consent projection refuse every subject update (as a failed read-back after a commit would
 * leave it) until `restore`: `error` is what it throws.
 */
export function refuseSubjectUpdates(ctx: ServiceContext): { error: Error; restore: () => void } {
  const error = new Error('projection unavailable');
  const spy = vi.spyOn(ctx.consent, 'setSubject').mockImplementation(() => {
    throw error;
  });
  return { error, restore: () => spy.mockRestore() };
}
