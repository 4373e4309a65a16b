/**
 * Every area's routes, collected in one place (the service contract: each area exports
 * `<area>Routes(ctx, services)`). Add an area here when it lands.
 */
import { auditRoutes } from '../audit-routes/routes.js';
import type { AnyRoute } from '../http/route.js';
import { keyRoutes } from '../keys/routes.js';
import { applyReconsentMarks } from '../policies/reconsent.js';
import { policyRoutes } from '../policies/routes.js';
import type { ServiceContext } from '../service/context.js';
import type { PipaServices } from './create.js';

export async function areaRoutes(ctx: ServiceContext, services: PipaServices): Promise<AnyRoute[]> {
  return [...policyRoutes(ctx, services), ...keyRoutes(ctx, services), ...auditRoutes(ctx)];
}

export interface StartedAreas {
  /** For /readyz: the consent projection has been filled. */
  projectionLoaded: () => boolean;
}

/** Start what the areas keep in memory (at server start, before listening). */
export async function startAreas(ctx: ServiceContext): Promise<StartedAreas> {
  await applyReconsentMarks(ctx);
  return { projectionLoaded: () => true };
}
