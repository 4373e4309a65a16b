/**
 * The rights area in one call, for the server and the CLI: the service on the real vault, consent
 * ledger, subjects, job queue, connectors and holiday calendar, its job handlers and its routes.
 * Pass the vault, ledger and subjects the process already has, so that one instance of each serves
 * every area (their caches stay coherent); the missing ones are created here.
 */
import { createConsentLedger } from '../consent/ledger.js';
import type { AnyRoute } from '../http/route.js';
import type { JobHandlers } from '../jobs/runner.js';
import type { ServiceContext } from '../service/context.js';
import { createSubjectService } from '../subjects/index.js';
import { createVaultService } from '../vault/index.js';
import { createRightsDeps, type RightsDepsInput } from './adapters.js';
import type { RightsDeps } from './ports.js';
import { rightsRoutes } from './routes.js';
import { createRightsService, type RightsOptions, type RightsService } from './service.js';

export interface RightsAreaInput extends Partial<Omit<RightsDepsInput, 'env'>> {
  /** Where the connectors read their connection variables. Default `process.env`. */
  env?: Readonly<Record<string, string | undefined>>;
  options?: RightsOptions;
}

export interface RightsArea {
  readonly service: RightsService;
  readonly deps: RightsDeps;
  /** Give them to the job runner (`createJobRunner({ handlers })`). */
  readonly handlers: JobHandlers;
  routes(): AnyRoute[];
}

export function createRightsArea(ctx: ServiceContext, input: RightsAreaInput = {}): RightsArea {
  const subjects = input.subjects ?? createSubjectService(ctx);
  const vault = input.vault ?? createVaultService(ctx, { subjects });
  const ledger = input.ledger ?? createConsentLedger(ctx, { subjects });
  const env = input.env ?? process.env;
  const deps = createRightsDeps(ctx, { ...input, subjects, vault, ledger, env });
  const service = createRightsService(ctx, deps, { env, ...input.options });
  return { service, deps, handlers: service.handlers, routes: () => rightsRoutes(ctx, { rights: service }) };
}
