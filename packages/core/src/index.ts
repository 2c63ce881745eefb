export * from './clock.js';
export * from './diff/index.js';
export * from './digest.js';
export * from './errors.js';
export * from './health.js';
export * from './plan.js';
export * from './refs.js';
export * from './source/ignore.js';
export type * from './types.js';
