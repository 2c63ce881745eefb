import { ErrorCodes, ReconcileError } from '../errors.js';

/**
 * Delay before the next pass after `failures` consecutive failures: `retryInterval` doubled per
 * failure after the first, capped at `maxRetryInterval`. No jitter, so a retry schedule can be read
 * (and tested) exactly.
 */
export function retryDelay(failures: number, retryInterval: number, maxRetryInterval: number): number {
  const exponent = Math.max(0, failures - 1);
  // 2^exponent overflows to Infinity for absurd counts; the cap keeps the result finite.
  return Math.min(retryInterval * 2 ** exponent, maxRetryInterval);
}

/**
 * Delay before the next scheduled pass after a success: `interval` spread by up to `jitter` of itself
 * either way, so many reconcilers started together do not poll their sources in lockstep.
 */
export function intervalDelay(interval: number, jitter: number, random: () => number): number {
  const spread = interval * jitter * (2 * random() - 1);
  return Math.max(0, Math.round(interval + spread));
}

/**
 * Turns the reason of an aborted pass signal into the error the pass reports: the timeout and stop
 * reasons are already `ReconcileError`s; anything else (a caller's own reason) becomes `Aborted`.
 */
export function abortError(signal: AbortSignal): ReconcileError {
  const reason: unknown = signal.reason;
  if (reason instanceof ReconcileError) return reason;
  return new ReconcileError(ErrorCodes.Aborted, 'The reconcile was aborted by its caller', { cause: reason });
}
