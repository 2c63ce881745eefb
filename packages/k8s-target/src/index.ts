export {};
export * from './health/index.js';
