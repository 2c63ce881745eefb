import { ErrorCodes, GitOpsError } from '../errors.js';
import { emptyInventory } from '../plan.js';
import { type ObjectRef, refKey } from '../refs.js';
import { checkStoredState } from '../state/decode.js';
import type { Artifact, InventoryEntry, Manifest, StoredState } from '../types.js';
import type { ResolvedOptions } from './options.js';
import { ownsTargetAlone } from './target-owners.js';

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

/** Why a reconciler rebuilt its inventory instead of trusting the stored state. */
export type RecoveryReason = 'StateMissing' | 'StateEmpty' | 'StateUnreadable' | 'StateReplaced';

/** What loading the state found wrong, and what the target's owned objects added back. */
export interface StateRecovery {
  /**
   * What was wrong: no state stored (`StateMissing`), a stored inventory with no entries
   * (`StateEmpty`), a state that could not be read or decoded (`StateUnreadable`), or, while this
   * process runs, a state changed or deleted by another writer (`StateReplaced`).
   */
  readonly reason: RecoveryReason;
  /** Says what happened, naming the store entry (and the read error for `StateUnreadable`). */
  readonly message: string;
  /** Objects carrying our ownership mark that the target listed. */
  readonly found: number;
  /** Those the loaded state did not name: now in the inventory again. */
  readonly added: readonly ObjectRef[];
}

/**
 * Loads the stored state once. A store that has nothing for this name, an emptied or unreadable
 * state, are checked against the target's owned objects (when the target can list them) so a lost
 * state object is never taken for a first run (invariant 4). A store that fails while the target
 * cannot list makes the pass fail before anything is fetched or written.
 */
export async function loadState(
  options: ResolvedOptions,
  memory: ReconcilerMemory,
  signal: AbortSignal,
): Promise<StateRecovery | undefined> {
  if (memory.loaded) return undefined;
  const recovery = await readState(options, memory, signal, false);
  memory.loaded = true;
  return recovery;
}

/**
 * Asks the store (when it can tell cheaply) whether the state is still the one last loaded or
 * saved; when it was deleted or replaced, loads it again, keeps every object this process knew of,
 * adds the target's owned objects and makes the next save write.
 */
export async function refreshState(
  options: ResolvedOptions,
  memory: ReconcilerMemory,
  signal: AbortSignal,
): Promise<StateRecovery | undefined> {
  const { stateStore, name } = options;
  if (stateStore.unchanged === undefined || (await stateStore.unchanged(name, { signal }))) return undefined;
  return readState(options, memory, signal, true);
}

async function readState(
  options: ResolvedOptions,
  memory: ReconcilerMemory,
  signal: AbortSignal,
  running: boolean,
): Promise<StateRecovery | undefined> {
  const { stateStore, target, name } = options;
  let state: StoredState | undefined;
  let unreadable: string | undefined;
  try {
    state = checkStoredState(await stateStore.load(name, { signal }), `state store entry "${name}"`);
  } catch (error) {
    // Only a state that was read and is not a gitops-kit state is recovered; a failed read (a
    // timeout, a 503, a 403) fails the pass and is tried again, so the stored history and the last
    // healthy revision are never overwritten because of a passing fault. Without a way to list what
    // we own, even an invalid state stops the pass: guessing could orphan or prune.
    const invalid = error instanceof GitOpsError && error.code === ErrorCodes.StateInvalid;
    if (!invalid || !canListOwned(options) || signal.aborted) throw error;
    unreadable = error.message;
  }
  const reason: RecoveryReason | undefined =
    unreadable !== undefined
      ? 'StateUnreadable'
      : state === undefined
        ? 'StateMissing'
        : running
          ? 'StateReplaced'
          : state.inventory.entries.length === 0
            ? 'StateEmpty'
            : undefined;
  // While running, what this process applied stays known whatever the store now says.
  const known = memory.stored.inventory.entries;
  const base: StoredState = state ?? memory.stored;
  let entries = mergeEntries(base.inventory.entries, known);
  let found = 0;
  let added: ObjectRef[] = [];
  if (reason !== undefined && target.listOwned !== undefined && canListOwned(options)) {
    const owned = await target.listOwned({ signal });
    found = owned.length;
    const present = new Set(entries.map((e) => refKey(e.ref)));
    // Hook objects carry our mark too, but are tracked by their record, not the prunable inventory.
    for (const refs of Object.values(base.hooks ?? {})) for (const ref of refs) present.add(refKey(ref));
    added = owned.filter((ref) => !present.has(refKey(ref)));
    // The digest is unknown: the next plan writes these again or prunes them.
    entries = [...entries, ...added.map((ref) => ({ ref, digest: '' }))];
  }
  const next: StoredState =
    entries.length === base.inventory.entries.length ? base : { ...base, inventory: { entries } };
  memory.stored = next;
  if (reason === undefined && next === state) {
    memory.lastSaved = JSON.stringify(state);
    memory.savedRef = state;
  } else {
    // Whatever the store holds is not what we now know: the next save writes.
    memory.lastSaved = undefined;
    memory.savedRef = undefined;
  }
  if (reason === undefined) return undefined;
  const lost = running || unreadable !== undefined;
  if (!lost && added.length === 0) return undefined;
  return { reason, message: recoveryMessage(reason, name, unreadable, found, added.length), found, added };
}

/**
 * Whether the target can list what this reconciler owns: it has `listOwned`, its ownership mark
 * carries this reconciler's name (`Target.owner`, default its name), and no reconciler of another
 * name uses the same instance (see {@link ownsTargetAlone}).
 */
function canListOwned(options: ResolvedOptions): boolean {
  const { target, name } = options;
  return (
    target.listOwned !== undefined && (target.owner ?? target.name) === name && ownsTargetAlone(target, name)
  );
}

/** `base` with the entries of `extra` it lacks appended (base wins for shared references). */
function mergeEntries(
  base: readonly InventoryEntry[],
  extra: readonly InventoryEntry[],
): readonly InventoryEntry[] {
  if (extra.length === 0) return base;
  const present = new Set(base.map((e) => refKey(e.ref)));
  const missing = extra.filter((e) => !present.has(refKey(e.ref)));
  return missing.length === 0 ? base : [...base, ...missing];
}

function recoveryMessage(
  reason: RecoveryReason,
  name: string,
  unreadable: string | undefined,
  found: number,
  added: number,
): string {
  const what = {
    StateMissing: `The state of ${name} is missing from its store`,
    StateEmpty: `The stored inventory of ${name} is empty`,
    StateUnreadable: `The state of ${name} could not be read (${unreadable ?? ''})`,
    StateReplaced: `The state of ${name} was changed or deleted by another writer`,
  }[reason];
  const objects = `${found} object${found === 1 ? '' : 's'} carry its ownership mark`;
  return `${what}; ${objects}, ${added} of them missing from the state were added back to the inventory; the state will be written again`;
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
