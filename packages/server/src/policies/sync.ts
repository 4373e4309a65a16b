/**
 * Keeping this node's policies current when another node publishes: LISTEN on `CHANNELS.policy`
 * (payload: the app id), reload that app's policy and apply its re-consent marks; after the LISTEN
 * connection was lost (`resync`), reload every app. Reloads run one at a time, in arrival order, so a
 * slow reload can never overwrite a newer one.
 */
import { CHANNELS, type ServiceContext } from '../service/context.js';
import { applyReconsentMarks } from './reconsent.js';

export interface PolicySyncOptions {
  /** Reported, never thrown: a failed reload leaves the previous policy in force until the next notification. */
  onError?: (error: Error, context: string) => void;
}

export interface PolicySync {
  /** Resolves when every reload queued so far has run (tests). */
  idle(): Promise<void>;
  stop(): Promise<void>;
}

export async function startPolicySync(ctx: ServiceContext, options: PolicySyncOptions = {}): Promise<PolicySync> {
  let queue: Promise<void> = Promise.resolve();
  let stopped = false;
  const enqueue = (appId: string | undefined) => {
    queue = queue.then(async () => {
      if (stopped) return;
      try {
        await ctx.policies.reload(appId);
        await applyReconsentMarks(ctx, appId);
      } catch (err) {
        options.onError?.(err instanceof Error ? err : new Error(String(err)), `reloading the policy of ${appId ?? 'every app'}`);
      }
    });
  };
  const unlisten = await ctx.database.listen(CHANNELS.policy, (event) => {
    if (event.kind === 'resync') enqueue(undefined);
    else if (event.payload !== '') enqueue(event.payload);
  });
  const sync: PolicySync = {
    idle: () => queue,
    async stop() {
      if (stopped) return;
      stopped = true;
      await unlisten();
      await queue;
    },
  };
  ctx.onClose(() => sync.stop());
  return sync;
}
