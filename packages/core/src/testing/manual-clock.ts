import { abortReason, type Clock } from '../clock.js';
import { ClockNotAdvancedError } from '../errors.js';

interface Timer {
  readonly id: number;
  readonly at: number;
  readonly callback: () => void;
  /** Set for a wait made by {@link ManualClock.sleep}: what rejects it when nobody drives the clock. */
  readonly wait?: { readonly ms: number; readonly fail: (error: Error) => void };
}

/** Options of a {@link ManualClock}. */
export interface ManualClockOptions {
  /** Milliseconds since the epoch the clock starts at (default 2026-01-01T00:00:00Z). */
  readonly start?: number;
  /**
   * Real milliseconds a wait (a health poll, a retry sleep) may stay pending while nothing advances
   * the clock, before it rejects with a {@link ClockNotAdvancedError} instead of hanging the test
   * (default 2000; `false` to wait forever).
   */
  readonly undrivenTimeout?: number | false;
}

/** The default real-time grace of an undriven wait: well inside a test runner's default timeout. */
const UNDRIVEN_TIMEOUT_MS = 2_000;

/** Lets pending promise callbacks and I/O callbacks run, so async work reacts to a fired timer. */
function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * A clock that moves only when a test says so. Timers fire in time order during {@link advance},
 * and async work started by a timer gets to run before the next one fires.
 *
 * Waits made through `sleep(clock, …)` (the reconciler's health polls, a target's polls) are timers
 * someone is blocked on: {@link whileTimePasses} advances the clock to them, and when nothing at all
 * advances the clock for `undrivenTimeout` real milliseconds, the wait rejects with a
 * {@link ClockNotAdvancedError} that says how to drive it, so a forgotten `advance` fails fast
 * rather than hanging until the test runner gives up. Plain timers (`setTimer`: schedules, pass
 * timeouts) never reject: nobody waits on them.
 */
export class ManualClock implements Clock {
  #now: number;
  #timers: Timer[] = [];
  #nextId = 1;
  readonly #undrivenTimeout: number | false;
  /** Real time (performance.now) of the last advance; an advance in progress counts as now. */
  #lastDriven = performance.now();
  #advancing = 0;
  #watchdog: ReturnType<typeof setTimeout> | undefined;

  /**
   * @param options the start time in milliseconds since the epoch (default 2026-01-01T00:00:00Z),
   *   or {@link ManualClockOptions}.
   */
  constructor(options: number | ManualClockOptions = {}) {
    const resolved = typeof options === 'number' ? { start: options } : options;
    this.#now = resolved.start ?? Date.parse('2026-01-01T00:00:00Z');
    this.#undrivenTimeout = resolved.undrivenTimeout ?? UNDRIVEN_TIMEOUT_MS;
  }

  /** The current manual time in milliseconds since the epoch. */
  now(): number {
    return this.#now;
  }

  /** Schedules `callback` at now + `ms`; returns a function that cancels it. */
  setTimer(ms: number, callback: () => void): () => void {
    const timer: Timer = { id: this.#nextId++, at: this.#now + Math.max(0, ms), callback };
    this.#timers.push(timer);
    return () => this.#remove(timer.id);
  }

  /**
   * Waits `ms` of manual time; rejects with the signal's reason when it aborts, and with a
   * {@link ClockNotAdvancedError} when nothing advances the clock for `undrivenTimeout` real ms.
   */
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) {
        reject(abortReason(signal));
        return;
      }
      const id = this.#nextId++;
      const onAbort = (): void => finish(abortReason(signal as AbortSignal));
      const finish = (error?: Error): void => {
        this.#remove(id);
        signal?.removeEventListener('abort', onAbort);
        if (error) reject(error);
        else resolve();
      };
      this.#timers.push({
        id,
        at: this.#now + Math.max(0, ms),
        callback: () => finish(),
        wait: { ms, fail: finish },
      });
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#arm();
    });
  }

  /** How many timers are waiting (waits made by {@link sleep} included). */
  get pendingTimers(): number {
    return this.#timers.length;
  }

  /** How many {@link sleep} waits are pending: work that stands still until the clock moves. */
  get pendingWaits(): number {
    return this.#timers.filter((t) => t.wait).length;
  }

  /** The time of the next timer, or undefined when none is waiting. */
  nextTimerAt(): number | undefined {
    return earliest(this.#timers);
  }

  /** The time of the next {@link sleep} wait, or undefined when no work waits on the clock. */
  nextWaitAt(): number | undefined {
    return earliest(this.#timers.filter((t) => t.wait));
  }

  /**
   * Moves time forward by `ms`, firing every timer that falls due on the way (including timers
   * that fired callbacks schedule within the window), and lets async work settle after each.
   */
  async advance(ms: number): Promise<void> {
    this.#advancing++;
    try {
      const end = this.#now + ms;
      await settle();
      for (;;) {
        const due = this.#timers.filter((t) => t.at <= end).sort((a, b) => a.at - b.at || a.id - b.id)[0];
        if (!due) break;
        this.#remove(due.id);
        this.#now = Math.max(this.#now, due.at);
        due.callback();
        await settle();
      }
      this.#now = end;
      await settle();
    } finally {
      this.#advancing--;
      this.#lastDriven = performance.now();
    }
  }

  /** Advances to the next timer and fires it (and any due at the same instant). */
  async runNext(): Promise<void> {
    const at = this.nextTimerAt();
    if (at !== undefined) await this.advance(Math.max(0, at - this.#now));
  }

  #remove(id: number): void {
    this.#timers = this.#timers.filter((t) => t.id !== id);
    if (this.#watchdog !== undefined && this.pendingWaits === 0) {
      clearTimeout(this.#watchdog);
      this.#watchdog = undefined;
    }
  }

  /** Starts the real-time watchdog of undriven waits, if it is not running. */
  #arm(delay = this.#undrivenTimeout): void {
    if (delay === false || this.#watchdog !== undefined) return;
    this.#watchdog = setTimeout(() => this.#check(), delay);
    // The watchdog must never keep a test process alive on its own.
    this.#watchdog.unref?.();
  }

  /** Fails the pending waits when nobody advanced the clock for the whole grace; else looks again later. */
  #check(): void {
    this.#watchdog = undefined;
    const grace = this.#undrivenTimeout;
    if (grace === false || this.pendingWaits === 0) return;
    const idle = performance.now() - this.#lastDriven;
    if (this.#advancing > 0 || idle < grace) {
      this.#arm(Math.max(1, grace - (this.#advancing > 0 ? 0 : idle)));
      return;
    }
    for (const timer of this.#timers.filter((t) => t.wait)) {
      timer.wait?.fail(
        new ClockNotAdvancedError(
          `A wait of ${timer.wait.ms} ms on the ManualClock (due at ${new Date(timer.at).toISOString()}) ` +
            `is pending and nothing advanced the clock for ${Math.round(idle)} ms of real time. ` +
            'Advance it (await clock.advance(ms) or clock.runNext()), or run the work under ' +
            "whileTimePasses(clock, promise) from '@gitops-kit/core/testing'.",
        ),
      );
    }
  }
}

/** The earliest `at` of some timers. */
function earliest(timers: readonly Timer[]): number | undefined {
  return timers.reduce<number | undefined>(
    (min, t) => (min === undefined || t.at < min ? t.at : min),
    undefined,
  );
}

/**
 * Resolves (or rejects) with `work` while the clock stands in for time: whenever the work waits on
 * the clock (a `sleep`: a health poll, a retry), the clock jumps to that wait; otherwise real I/O
 * (a source writing files, a renderer reading them) gets real event-loop turns. Plain timers such
 * as the pass timeout fire only when waits carry time past them, so a deadline is never reached by
 * accident while files are being read, and five minutes of health polling pass in milliseconds.
 */
export async function whileTimePasses<T>(clock: ManualClock, work: Promise<T>): Promise<T> {
  let done = false;
  const settled = work.finally(() => {
    done = true;
  });
  // The caller gets `work`'s own rejection from `settled`; this branch only keeps the loop quiet.
  settled.catch(() => {});
  while (!done) {
    const next = clock.nextWaitAt();
    if (next === undefined) await new Promise((resolve) => setTimeout(resolve, 1));
    else await clock.advance(Math.max(0, next - clock.now()));
  }
  return settled;
}
