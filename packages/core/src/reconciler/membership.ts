import type { Reconciler } from './reconciler.js';

/** A reconciler joined or left a {@link Manager}. */
export interface MembershipChange {
  /** `added` by `Manager.add`, `removed` by `Manager.remove` (after its last pass ended). */
  readonly type: 'added' | 'removed';
  /** The reconciler concerned. */
  readonly reconciler: Reconciler;
}

/** Receives membership changes of a manager. */
export type MembershipListener = (change: MembershipChange) => void;

/**
 * The listeners of a manager's membership changes: subscribers such as metrics learn of
 * reconcilers added later and forget the series of removed ones (Flux kept stale gauges until a
 * restart, flux2 #4139). A throwing listener is ignored, so it can never break `add` or `remove`.
 */
export class Membership {
  readonly #listeners = new Set<MembershipListener>();

  /** Adds a listener; returns the function that removes it. */
  listen(listener: MembershipListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Tells every listener. */
  notify(change: MembershipChange): void {
    for (const listener of this.#listeners) {
      try {
        listener(change);
      } catch {
        // A subscriber's defect must not fail Manager.add or Manager.remove.
      }
    }
  }
}
