export * from './consent/index.js';
export * from './crypto/index.js';
export * from './errors.js';
