/**
 * Every area of the service, wired in one place (the service contract: each area exports a service
 * factory and `<area>Routes(ctx, services)`): one instance of each service per process, shared by the
 * areas that need it (subjects by consent, vault and rights; the ledger and vault by rights), so their
 * caches stay coherent.
 *
 * `startAreas` starts what lives in memory or in the background: the consent projection (filled from
 * the ledger, kept current across nodes) with the policies' re-consent marks, and the durable job
 * runner with the rights and retention handlers and the retention schedule.
 */
import { auditRoutes } from '../audit-routes/routes.js';
import { type ConsentLedger, createConsentLedger } from '../consent/ledger.js';
import { loadConsentProjection, startConsentSync } from '../consent/ledger-sync.js';
import { consentRoutes } from '../consent/routes.js';
import { decisionRoutes } from '../decisions/routes.js';
import { createDecisionsService, type DecisionsService } from '../decisions/service.js';
import type { AnyRoute } from '../http/route.js';
import { createJobQueue } from '../jobs/queue.js';
import { createJobRunner, type JobRunnerEvent } from '../jobs/runner.js';
import { keyRoutes } from '../keys/routes.js';
import { createKeyService, type KeyService } from '../keys/service.js';
import { lawfulAccessRoutes } from '../lawful-access/routes.js';
import { applyReconsentMarks } from '../policies/reconsent.js';
import { policyRoutes } from '../policies/routes.js';
import { createPolicyService, type PolicyService } from '../policies/service.js';
import { retentionRoutes } from '../retention/routes.js';
import { retentionJobHandlers, startRetentionScheduler } from '../retention/schedule.js';
import { createRetentionService, type RetentionService } from '../retention/service.js';
import { createRightsArea, type RightsArea } from '../rights/area.js';
import type { ServiceContext } from '../service/context.js';
import { subjectRoutes } from '../subjects/routes.js';
import { createSubjectService, type SubjectService } from '../subjects/service.js';
import { vaultRoutes } from '../vault/routes.js';
import { createVaultService, type VaultService } from '../vault/service.js';

export interface PipaServices {
  policies: PolicyService;
  keys: KeyService;
  subjects: SubjectService;
  consent: ConsentLedger;
  decisions: DecisionsService;
  vault: VaultService;
  retention: RetentionService;
  rights: RightsArea;
}

export interface AreaOptions {
  /** Where connectors read their connection variables (rights, retention). Default `process.env`. */
  env?: Readonly<Record<string, string | undefined>>;
}

export function createAreaServices(ctx: ServiceContext, options: AreaOptions = {}): PipaServices {
  const subjects = createSubjectService(ctx);
  const consent = createConsentLedger(ctx, { subjects });
  const vault = createVaultService(ctx, { subjects });
  return {
    policies: createPolicyService(ctx),
    keys: createKeyService(ctx),
    subjects,
    consent,
    decisions: createDecisionsService(ctx),
    vault,
    retention: createRetentionService(ctx),
    rights: createRightsArea(ctx, { subjects, vault, ledger: consent, ...(options.env !== undefined ? { env: options.env } : {}) }),
  };
}

export function areaRoutes(ctx: ServiceContext, services: PipaServices): AnyRoute[] {
  return [
    ...policyRoutes(ctx, services),
    ...subjectRoutes(ctx, services),
    ...consentRoutes(ctx, services),
    ...decisionRoutes(ctx, services),
    ...vaultRoutes(ctx, services),
    ...services.rights.routes(),
    ...retentionRoutes(ctx, services),
    ...lawfulAccessRoutes(ctx, services),
    ...keyRoutes(ctx, services),
    ...auditRoutes(ctx),
  ];
}

export interface StartAreasOptions {
  /** Run the durable job runner (rights requests, retention sweeps) in this process. Default true. */
  jobs?: boolean;
  /** Jobs run at once by this node. Default 4. */
  jobConcurrency?: number;
  onError?: (error: Error, context: string) => void;
  onJobEvent?: (event: JobRunnerEvent) => void;
}

export interface StartedAreas {
  /** For /readyz: the consent projection has been filled. */
  projectionLoaded: () => boolean;
}

/** Start what the areas keep in memory or run in the background (at server start, before listening). */
export async function startAreas(ctx: ServiceContext, services: PipaServices, options: StartAreasOptions = {}): Promise<StartedAreas> {
  let loaded = false;
  await loadConsentProjection(ctx);
  await startConsentSync(ctx);
  // The consent loader applies the marks too; this keeps them whatever the loader does (idempotent).
  await applyReconsentMarks(ctx);
  loaded = true;

  if (options.jobs !== false) {
    const queue = createJobQueue({ database: ctx.database, clock: { now: ctx.clock } });
    const runner = createJobRunner({
      database: ctx.database,
      queue,
      handlers: { ...services.rights.handlers, ...retentionJobHandlers(ctx, queue) },
      ...(options.jobConcurrency !== undefined ? { concurrency: options.jobConcurrency } : {}),
      ...(options.onJobEvent !== undefined ? { onEvent: options.onJobEvent } : {}),
    });
    const stopScheduler = await startRetentionScheduler(ctx, queue, {
      onError: (err, appId) =>
        options.onError?.(err instanceof Error ? err : new Error(String(err)), `scheduling the retention sweep of ${appId}`),
    });
    await runner.start();
    ctx.onClose(async () => {
      stopScheduler();
      await runner.stop();
    });
  }
  return { projectionLoaded: () => loaded };
}
