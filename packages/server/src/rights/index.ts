/**
 * Rights requests (PIPL 44-50, GB/T 35273 8.5/8.7): access, copy, portability, correction, deletion,
 * account cancellation, consent withdrawal, explanation, restriction — verified, planned, run as
 * durable jobs across the vault and the operator's datasets, inside the declared deadline.
 * Design: docs/rights.md.
 *
 * ```ts
 * const rights = createRightsService(ctx, createRightsDeps(ctx, { vault, ledger }));
 * const runner = createJobRunner({ database: ctx.database, handlers: rights.handlers });
 * await runner.start();
 * await rights.scheduleSweep();
 * const routes = rightsRoutes(ctx, { rights });
 * ```
 */

export {
  createRightsDeps,
  type LedgerLike,
  type RightsDepsInput,
  rightsConnectors,
  rightsConsent,
  rightsVault,
  type VaultLike,
} from './adapters.js';
export { createRightsArea, type RightsArea, type RightsAreaInput } from './area.js';
export { type DeadlineCalendar, deadlineOf, LAW_DEADLINE, scheduleOf } from './deadline.js';
export type { DryRunResult, DryRunTask } from './executor.js';
export { type AccessRecord, buildPackage, type ConsentRecord, type PackageInput, packageFiles, renderReport, toCsv } from './package.js';
export { buildPlan, connectorDatasets, type TaskSpec } from './plan.js';
export type { ConnectorFactory, RightsActor, RightsConsent, RightsDeps, RightsVault, VaultErasure, VaultFieldValue } from './ports.js';
export type { ListQuery } from './repo.js';
export { rightsRoutes } from './routes.js';
export {
  type CodeRequestResult,
  createRightsService,
  type DownloadLink,
  type RequestDetail,
  type RightsOptions,
  type RightsService,
  type SubmitInput,
  type SweepResult,
  type WebhookInfo,
} from './service.js';
export * from './types.js';
export {
  checkWebhookUrl,
  DELIVERY_HEADER,
  deliverWebhook,
  EVENT_HEADER,
  SIGNATURE_HEADER,
  SIGNATURE_TOLERANCE_S,
  signWebhook,
  verifyWebhookSignature,
  type WebhookEvent,
} from './webhook.js';
export { unzip, type ZipEntry, zip } from './zip.js';
