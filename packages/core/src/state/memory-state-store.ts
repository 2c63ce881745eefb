import type { StateStore, StateStoreOptions, StoredState } from '../types.js';

/**
 * A {@link StateStore} in process memory: the default of a Reconciler, and handy in tests (two
 * reconcilers sharing one store behave like a process that restarted). States are copied in and
 * out, so neither the caller nor the store can change the other's copy.
 */
export class MemoryStateStore implements StateStore {
  readonly #states = new Map<string, StoredState>();
  /** A number per key that changes with every write or delete, and the one this store last saw. */
  readonly #versions = new Map<string, number>();
  readonly #seen = new Map<string, number>();
  #nextVersion = 1;
  #saves = 0;

  /** Returns a copy of the state saved under `key`, or undefined. */
  async load(key: string, options: StateStoreOptions = {}): Promise<StoredState | undefined> {
    options.signal?.throwIfAborted();
    const state = this.#states.get(key);
    this.#see(key);
    return state === undefined ? undefined : structuredClone(state);
  }

  /** Saves a copy of `state` under `key`. */
  async save(key: string, state: StoredState, options: StateStoreOptions = {}): Promise<void> {
    options.signal?.throwIfAborted();
    this.#put(key, structuredClone(state));
    this.#see(key);
    this.#saves++;
  }

  /** Whether the state under `key` is still the one this store last loaded or saved. */
  async unchanged(key: string, options: StateStoreOptions = {}): Promise<boolean> {
    options.signal?.throwIfAborted();
    return this.#versions.get(key) === this.#seen.get(key);
  }

  /**
   * Writes a value under `key` as another process or a person would: `unchanged` reports false
   * afterwards. Any value is accepted, so tests can store an emptied or malformed state.
   */
  write(key: string, value: unknown): void {
    this.#put(key, structuredClone(value) as StoredState);
  }

  #put(key: string, state: StoredState): void {
    this.#states.set(key, state);
    this.#versions.set(key, this.#nextVersion++);
  }

  #see(key: string): void {
    const version = this.#versions.get(key);
    if (version === undefined) this.#seen.delete(key);
    else this.#seen.set(key, version);
  }

  /** A copy of the state under `key`, read synchronously (for assertions). */
  get(key: string): StoredState | undefined {
    const state = this.#states.get(key);
    return state === undefined ? undefined : structuredClone(state);
  }

  /** Forgets the state under `key` (as a person deleting the state object would). */
  delete(key: string): boolean {
    this.#versions.delete(key);
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
