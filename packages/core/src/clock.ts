/** Time, injected: the system clock in production, a manual clock in tests. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Runs `callback` after `ms` milliseconds; returns a function that cancels it. */
  setTimer(ms: number, callback: () => void): () => void;
  /**
   * Optional: a wait of `ms` that work is blocked on, used by {@link sleep} instead of `setTimer`
   * when present. A test clock uses it to tell waits from plain timers (the testing kit's
   * `ManualClock` drives them, and fails a wait nobody drives instead of hanging).
   */
  sleep?(ms: number, signal?: AbortSignal): Promise<void>;
}

/**
 * The real clock. Its timers are ordinary Node.js timers: a started reconciler keeps its process up
 * until `stop()`, and a script that awaits one pass is not cut off while the pass waits for health.
 */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer(ms, callback) {
    const handle = setTimeout(callback, ms);
    return () => clearTimeout(handle);
  },
};

/** The reason of an aborted signal as an Error. */
export function abortReason(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  return reason instanceof Error ? reason : new Error(String(reason ?? 'aborted'));
}

/**
 * Waits `ms` on `clock` (through its own `sleep` when it has one); rejects with the signal's reason
 * as soon as `signal` aborts.
 */
export function sleep(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  if (clock.sleep) return clock.sleep(ms, signal);
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(abortReason(signal));
      return;
    }
    const onAbort = (): void => {
      cancel();
      reject(abortReason(signal as AbortSignal));
    };
    const cancel = clock.setTimer(ms, () => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    });
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
