import { abortReason } from '../clock.js';
import { OptionError } from '../errors.js';

/** Admits a bounded number of passes at a time. `acquire` resolves with the function that releases the slot. */
export interface Gate {
  /** Waits for a free slot; rejects with the signal's reason if it aborts first. */
  acquire(signal: AbortSignal): Promise<() => void>;
}

interface Waiter {
  readonly admit: (release: () => void) => void;
}

/** A first-come, first-served counting semaphore: the {@link Gate} a `Manager` shares between reconcilers. */
export class Semaphore implements Gate {
  readonly #limit: number;
  #active = 0;
  readonly #waiters: Waiter[] = [];

  /** @param limit how many slots exist (a positive whole number; an {@link OptionError} otherwise). */
  constructor(limit: number) {
    if (!Number.isInteger(limit) || limit < 1) {
      throw new OptionError(['limit'], `Semaphore limit must be a whole number ≥ 1, got ${String(limit)}`);
    }
    this.#limit = limit;
  }

  /** Slots in use. */
  get active(): number {
    return this.#active;
  }

  /** Callers waiting for a slot. */
  get waiting(): number {
    return this.#waiters.length;
  }

  /** Waits for a slot. The returned release function is idempotent. */
  acquire(signal: AbortSignal): Promise<() => void> {
    if (signal.aborted) return Promise.reject(abortReason(signal));
    if (this.#active < this.#limit) {
      this.#active++;
      return Promise.resolve(this.#releaser());
    }
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        admit: (release) => {
          signal.removeEventListener('abort', onAbort);
          resolve(release);
        },
      };
      const onAbort = (): void => {
        const index = this.#waiters.indexOf(waiter);
        if (index >= 0) this.#waiters.splice(index, 1);
        reject(abortReason(signal));
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.#waiters.push(waiter);
    });
  }

  /** A release function that hands the slot to the next waiter, or frees it. */
  #releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.#waiters.shift();
      // The slot passes straight to the next waiter, so nobody can jump the queue in between.
      if (next) next.admit(this.#releaser());
      else this.#active--;
    };
  }
}
