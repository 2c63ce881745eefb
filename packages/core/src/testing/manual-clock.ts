import type { Clock } from '../clock.js';

interface Timer {
  readonly id: number;
  readonly at: number;
  readonly callback: () => void;
}

/** Lets pending promise callbacks and I/O callbacks run, so async work reacts to a fired timer. */
function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * A clock that moves only when a test says so. Timers fire in time order during {@link advance},
 * and async work started by a timer gets to run before the next one fires.
 */
export class ManualClock implements Clock {
  #now: number;
  #timers: Timer[] = [];
  #nextId = 1;

  /** @param start milliseconds since the epoch (default 2026-01-01T00:00:00Z). */
  constructor(start: number = Date.parse('2026-01-01T00:00:00Z')) {
    this.#now = start;
  }

  /** The current manual time in milliseconds since the epoch. */
  now(): number {
    return this.#now;
  }

  /** Schedules `callback` at now + `ms`; returns a function that cancels it. */
  setTimer(ms: number, callback: () => void): () => void {
    const timer: Timer = { id: this.#nextId++, at: this.#now + Math.max(0, ms), callback };
    this.#timers.push(timer);
    return () => {
      this.#timers = this.#timers.filter((t) => t.id !== timer.id);
    };
  }

  /** How many timers are waiting. */
  get pendingTimers(): number {
    return this.#timers.length;
  }

  /** The time of the next timer, or undefined when none is waiting. */
  nextTimerAt(): number | undefined {
    return this.#timers.reduce<number | undefined>(
      (min, t) => (min === undefined || t.at < min ? t.at : min),
      undefined,
    );
  }

  /**
   * Moves time forward by `ms`, firing every timer that falls due on the way (including timers
   * that fired callbacks schedule within the window), and lets async work settle after each.
   */
  async advance(ms: number): Promise<void> {
    const end = this.#now + ms;
    await settle();
    for (;;) {
      const due = this.#timers.filter((t) => t.at <= end).sort((a, b) => a.at - b.at || a.id - b.id)[0];
      if (!due) break;
      this.#timers = this.#timers.filter((t) => t.id !== due.id);
      this.#now = Math.max(this.#now, due.at);
      due.callback();
      await settle();
    }
    this.#now = end;
    await settle();
  }

  /** Advances to the next timer and fires it (and any due at the same instant). */
  async runNext(): Promise<void> {
    const at = this.nextTimerAt();
    if (at !== undefined) await this.advance(Math.max(0, at - this.#now));
  }
}
