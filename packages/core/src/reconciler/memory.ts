import { emptyInventory } from '../plan.js';
import type { Artifact, Manifest, StoredState } from '../types.js';
import type { ResolvedOptions } from './options.js';

/** A rendered set that was seen healthy: what a rollback applies again. */
export interface HealthySet {
  readonly artifact: Artifact;
  readonly manifests: readonly Manifest[];
}

/**
 * The newest render of a reconciler: one artifact with one renderer configuration, reused while both
 * stay the same. (Not the `RenderCache` class of the renderers, an LRU shared between renderers.)
 */
export interface LastRender {
  readonly revision: string;
  readonly digest: string;
  readonly cacheKey: string;
  readonly manifests: readonly Manifest[];
}

/** What a reconciler remembers between passes. Only `stored` survives a restart (through the store). */
export interface ReconcilerMemory {
  /** The persisted part: inventory, applied and healthy revisions, history. */
  stored: StoredState;
  /** Whether `stored` was loaded from the store yet. */
  loaded: boolean;
  /** The JSON last written to the store, to skip writes that change nothing. */
  lastSaved: string | undefined;
  /** The `stored` value last written (or found equal to what was): skips even the JSON when unchanged. */
  savedRef: StoredState | undefined;
  /** The newest artifact, passed to the source as `previous`. */
  lastArtifact: Artifact | undefined;
  lastRender: LastRender | undefined;
  /** The newest set seen healthy; in memory only. */
  lastHealthy: HealthySet | undefined;
  /** A revision that was rolled back: it is not applied again while the source keeps returning it. */
  held: { readonly revision: string; readonly digest: string } | undefined;
}

/** Memory of a reconciler that has not run. */
export function newMemory(): ReconcilerMemory {
  return {
    stored: { inventory: emptyInventory },
    loaded: false,
    lastSaved: undefined,
    savedRef: undefined,
    lastArtifact: undefined,
    lastRender: undefined,
    lastHealthy: undefined,
    held: undefined,
  };
}

/**
 * Loads the stored state once. A store that has nothing for this name leaves the empty state; a
 * store that fails makes the pass fail before anything is fetched or written.
 */
export async function loadState(
  options: ResolvedOptions,
  memory: ReconcilerMemory,
  signal: AbortSignal,
): Promise<void> {
  if (memory.loaded) return;
  const state = await options.stateStore.load(options.name, { signal });
  if (state) {
    memory.stored = state;
    memory.lastSaved = JSON.stringify(state);
    memory.savedRef = state;
  }
  memory.loaded = true;
}

/**
 * Writes `memory.stored` when it differs from what was last written. No abort signal is passed on
 * purpose: this runs after writes to the target, and an inventory that is not stored is how objects
 * get forgotten, so a save is allowed to finish even when the pass is being aborted.
 */
export async function persistState(options: ResolvedOptions, memory: ReconcilerMemory): Promise<void> {
  const state = memory.stored;
  // The state is replaced, never mutated, so an unchanged reference means nothing to write.
  if (state === memory.savedRef) return;
  const json = JSON.stringify(state);
  if (json !== memory.lastSaved) {
    await options.stateStore.save(options.name, state);
    memory.lastSaved = json;
  }
  memory.savedRef = state;
}
