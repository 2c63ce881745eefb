import { type Clock, sleep } from './clock.js';

/** Options for {@link poll}. */
export interface PollOptions {
  /** The clock that times the waits (a manual clock in tests). */
  readonly clock: Clock;
  /** Milliseconds between checks, or a function asked before each wait (for jitter). */
  readonly intervalMs: number | (() => number);
  /** Stop checking after this long and resolve undefined (default: never). */
  readonly timeoutMs?: number | undefined;
  /** Aborts the wait: `poll` rejects with the signal's reason. */
  readonly signal?: AbortSignal | undefined;
  /** Wait one interval before the first check (a renewal loop) instead of checking at once. */
  readonly waitFirst?: boolean | undefined;
}

/**
 * Calls `check` until it returns a value other than undefined and resolves with it, waiting on the
 * injected clock between calls; resolves undefined once `timeoutMs` has passed (the last wait is cut
 * to the deadline, so the final check happens at it). The one wait loop of gitops-kit: the target's
 * waits for CRDs and deletions, the Reconciler's health wait, the leader election's retries and
 * renewals use it.
 */
export async function poll<T>(
  check: () => Promise<T | undefined> | T | undefined,
  options: PollOptions,
): Promise<T | undefined> {
  const { clock, signal, timeoutMs } = options;
  const deadline = timeoutMs === undefined ? Number.POSITIVE_INFINITY : clock.now() + timeoutMs;
  const interval = (): number =>
    typeof options.intervalMs === 'function' ? options.intervalMs() : options.intervalMs;
  if (options.waitFirst) await sleep(clock, Math.min(interval(), deadline - clock.now()), signal);
  for (;;) {
    const result = await check();
    if (result !== undefined) return result;
    const left = deadline - clock.now();
    if (left <= 0) return undefined;
    await sleep(clock, Math.min(interval(), left), signal);
  }
}
