/** The key under which the global setup provides {@link ControlInfo} to test workers. */
export const PROVIDED_KEY = 'gitopsKitTestenv';

/** How a test worker reaches the global setup's control server, which starts servers on demand. */
export interface ControlInfo {
  /** e.g. `http://127.0.0.1:40001`. */
  url: string;
  /** Sent as `authorization: Bearer <token>`. */
  token: string;
}

declare module 'vitest' {
  /** What testenv's global setup hands to the test workers through `project.provide`. */
  export interface ProvidedContext {
    gitopsKitTestenv: ControlInfo;
  }
}
