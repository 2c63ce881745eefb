/** The observability example as a library: what `main.ts` runs. */
export { jsonLogger } from './json-logger.js';
export { type Observability, type ObservabilityOptions, startObservability } from './observability.js';
