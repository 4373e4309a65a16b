/**
 * @pipa/server server: the assembled HTTP service (`createPipaServer`) and its start-up
 * (`startPipaService`), which `pipa serve` and `pipa start` run.
 */
export {
  type AreaOptions,
  areaRoutes,
  createAreaServices,
  type PipaServices,
  type StartAreasOptions,
  type StartedAreas,
  startAreas,
} from './areas.js';
export { createPipaServer, type PipaServer, type PipaServerOptions, SERVER_VERSION } from './create.js';
export { registerSite, type SiteRenderer } from './site.js';
export {
  EXAMPLE_FORCE_REASON,
  type ExampleOutcome,
  type ExampleSource,
  type RunningService,
  type StartOptions,
  serviceUrl,
  startPipaService,
} from './start.js';
