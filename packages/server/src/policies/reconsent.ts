/**
 * Re-consent marks: after a material policy change, grants for the purposes and recipients the diff
 * affected that were recorded before the change (under another version) no longer count. The marks
 * live in the consent projection (`markReconsent`), which is rebuilt at every start, so they are
 * derived from the stored versions: every material version with a diff marks what it affected, as of
 * its publication time. Idempotent: applying the marks twice changes nothing.
 *
 * Called by the policy service after a publication, by the policy sync on a notification from
 * another node, and by the consent loader after it has filled the projection at start.
 */
import { affectedOf, type ServiceContext } from '../service/context.js';

/** Apply the re-consent marks of one app's material versions (every app when `appId` is omitted). Returns the marks applied. */
export async function applyReconsentMarks(ctx: ServiceContext, appId?: string): Promise<number> {
  let q = ctx.db
    .selectFrom('policy_versions')
    .select(['app_id', 'version', 'diff', 'published_at'])
    .where('material', '=', 1)
    .where('diff', 'is not', null)
    .orderBy('app_id')
    .orderBy('published_at', 'asc');
  if (appId !== undefined) q = q.where('app_id', '=', appId);
  const rows = await q.execute();
  let applied = 0;
  for (const row of rows) {
    const affected = affectedOf(row.diff);
    if (affected === undefined) continue;
    const { purposes, recipients } = affected;
    if (purposes.length === 0 && recipients.length === 0) continue;
    ctx.consent.markReconsent(row.app_id, purposes, recipients, row.version, row.published_at);
    applied++;
  }
  return applied;
}
