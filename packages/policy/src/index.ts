export * from './diff/index.js';
export * from './init/index.js';
export * from './lint/index.js';
export * from './load.js';
export * from './nec.js';
export * from './render/index.js';
export * from './schema.js';
export * from './taxonomy.js';
export { didYouMean, editDistance } from './util/suggest.js';
