/** Lawful-authority access to data kept under legal hold (docs/rights.md). */
export * from './routes.js';
export * from './service.js';
