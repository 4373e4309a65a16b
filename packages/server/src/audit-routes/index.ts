/** @pipa/server audit routes: events, verification, checkpoints, a subject's access history. */
export { auditRoutes } from './routes.js';
