/**
 * Decisions: `(subject, purpose, categories, recipient?) -> allow | deny + reason + clause`, single and
 * batch, audited per `ctx.auditDecisions`. Engine: consent/decide.ts; design: docs/decisions.md.
 */

export { DecisionSchema, decisionRoutes } from './routes.js';
export { createDecisionsService, type DecisionMeta, type DecisionsService, MAX_DECISION_BATCH } from './service.js';
