export {};
export * from './health/index.js';
export * from './restrictions.js';
