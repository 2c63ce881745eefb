import { setMaxListeners } from 'node:events';
import { GitOpsError, type Stage } from '@gitops-kit/core';
import { describeApiError, KubeApiError } from './errors.js';

/**
 * Runs `work` with a signal of our own that follows the caller's. Requests in flight each listen
 * to the signal; on our own signal the listener limit can be lifted without touching the caller's.
 */
export async function scoped<T>(signal: AbortSignal, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  setMaxListeners(0, controller.signal);
  const onAbort = (): void => controller.abort(signal.reason);
  if (signal.aborted) onAbort();
  else signal.addEventListener('abort', onAbort, { once: true });
  try {
    return await work(controller.signal);
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

/**
 * A typed error for a read that failed: gitops-kit errors of the verbs and aborts pass through;
 * API and connection errors are wrapped by `wrap` with a message naming the apiserver's reason.
 */
export function typedReadError(
  error: unknown,
  signal: AbortSignal,
  wrap: (message: string) => GitOpsError,
): unknown {
  if ((error instanceof GitOpsError && !(error instanceof KubeApiError)) || signal.aborted) return error;
  return wrap(`reading live objects failed: ${describeApiError(error)}`);
}

/**
 * An API error that escaped a verb, as the Reconciler reported it before API errors were
 * GitOpsErrors: the verb's stage and code, the server's message, the API error as cause. Other
 * errors pass through.
 */
export function verbError(error: unknown, stage: Stage, code: string): unknown {
  if (!(error instanceof KubeApiError)) return error;
  return new GitOpsError(stage, code, error.message, { cause: error });
}
