import { type Draft, Immer } from 'immer';
import type { PlanSummary } from '../plan.js';
import type { Condition, HistoryEntry, Inventory } from '../types.js';

/** The condition types a reconciler reports, in the order they appear in `conditions`. */
export type ConditionType = 'Ready' | 'Reconciling' | 'Stalled' | 'Healthy';

/** The observable state of a reconciler: a frozen value, replaced (never mutated) on every change. */
export interface ReconcilerStatus {
  /** The reconciler's name, as given in its options. */
  readonly name: string;
  /** `Ready`, `Reconciling`, `Stalled` and `Healthy`, as Kubernetes conditions. */
  readonly conditions: readonly Condition[];
  /** The revision of the newest artifact fetched. */
  readonly lastFetchedRevision: string | undefined;
  /** The revision the newest pass tried to apply. */
  readonly lastAttemptedRevision: string | undefined;
  /** The revision whose objects are applied now. */
  readonly lastAppliedRevision: string | undefined;
  /** The newest revision seen healthy (with `wait`). */
  readonly lastHealthyRevision: string | undefined;
  /** The objects this reconciler owns. */
  readonly inventory: Inventory;
  /** Outcomes, newest first, at most `historyLimit`. Repeats of the newest outcome are not added again. */
  readonly history: readonly HistoryEntry[];
  /** Consecutive failed passes (0 after a success). */
  readonly failures: number;
  /** When the next scheduled pass runs (ISO 8601), if one is scheduled. */
  readonly nextRunAt: string | undefined;
  /** True between `suspend()` and `resume()`: scheduled passes do not run, explicit ones still do. */
  readonly suspended: boolean;
  /** Counts of the newest plan. */
  readonly lastPlan: PlanSummary | undefined;
}

/** A private Immer instance: the global Immer settings of the embedding program do not matter here. */
const immer = new Immer({ autoFreeze: true });

/** A recipe that changes a status draft: what the named transitions of `transitions.ts` return. */
export type StatusRecipe = (draft: Draft<ReconcilerStatus>) => void;

/** Applies a recipe; returns the same object when nothing changed, so callers can skip a `status` event. */
export function produceStatus(status: ReconcilerStatus, recipe: StatusRecipe): ReconcilerStatus {
  return immer.produce(status, recipe);
}

/** Finds a condition of a status. */
export function getCondition(status: ReconcilerStatus, type: ConditionType): Condition | undefined {
  return status.conditions.find((c) => c.type === type);
}

/**
 * Whether a status is Ready at its newest revision: `Ready=True` and the applied revision is the one
 * fetched last. This is what `dependsOn` waits for.
 */
export function isReadyAtLatest(status: ReconcilerStatus): boolean {
  return (
    getCondition(status, 'Ready')?.status === 'True' &&
    status.lastAppliedRevision !== undefined &&
    status.lastAppliedRevision === status.lastFetchedRevision
  );
}

/**
 * Adds an outcome to a history, newest first, bounded by `limit`. When the newest entry already
 * records the same revision, digest, outcome and reason, nothing is added: periodic passes that
 * confirm the same state would otherwise push real changes out of a short history.
 */
export function addHistory(
  history: readonly HistoryEntry[],
  entry: HistoryEntry,
  limit: number,
): readonly HistoryEntry[] {
  // A drift correction is always its own entry: each one is a change someone made on the target.
  // A pass outcome is compared with the newest outcome, past the drift entries above it, so a
  // correction does not make every later pass that confirms the same state add a copy.
  const newest = entry.kind === 'drift' ? undefined : history.find((h) => h.kind !== 'drift');
  if (
    newest &&
    newest.revision === entry.revision &&
    newest.digest === entry.digest &&
    newest.outcome === entry.outcome &&
    newest.reason === entry.reason
  ) {
    // The same array when nothing changes, so immer sees no change and no status event fires.
    return history.length > limit ? history.slice(0, limit) : history;
  }
  return [entry, ...history].slice(0, limit);
}
