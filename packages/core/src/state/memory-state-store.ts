import type { StateStore, StateStoreOptions, StoredState } from '../types.js';

/**
 * A {@link StateStore} in process memory: the default of a Reconciler, and handy in tests (two
 * reconcilers sharing one store behave like a process that restarted). States are copied in and
 * out, so neither the caller nor the store can change the other's copy.
 */
export class MemoryStateStore implements StateStore {
  readonly #states = new Map<string, StoredState>();
  #saves = 0;

  /** Returns a copy of the state saved under `key`, or undefined. */
  async load(key: string, options: StateStoreOptions = {}): Promise<StoredState | undefined> {
    options.signal?.throwIfAborted();
    const state = this.#states.get(key);
    return state === undefined ? undefined : structuredClone(state);
  }

  /** Saves a copy of `state` under `key`. */
  async save(key: string, state: StoredState, options: StateStoreOptions = {}): Promise<void> {
    options.signal?.throwIfAborted();
    this.#states.set(key, structuredClone(state));
    this.#saves++;
  }

  /** A copy of the state under `key`, read synchronously (for assertions). */
  get(key: string): StoredState | undefined {
    const state = this.#states.get(key);
    return state === undefined ? undefined : structuredClone(state);
  }

  /** Forgets the state under `key`. */
  delete(key: string): boolean {
    return this.#states.delete(key);
  }

  /** The keys that hold a state. */
  keys(): string[] {
    return [...this.#states.keys()];
  }

  /** How many saves succeeded so far. */
  get saves(): number {
    return this.#saves;
  }
}
