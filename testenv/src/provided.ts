import type { TestenvInfo } from './env.js';

/** The key under which the global setup provides {@link TestenvInfo} to test workers. */
export const PROVIDED_KEY = 'gitopsKitTestenv';

declare module 'vitest' {
  /** What testenv's global setup hands to the test workers through `project.provide`. */
  export interface ProvidedContext {
    gitopsKitTestenv: TestenvInfo;
  }
}
