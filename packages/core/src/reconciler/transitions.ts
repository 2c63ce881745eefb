/**
 * Every change of a reconciler's status, as named transitions. Each returns a recipe that the
 * reconciler hands to `produceStatus` (a private Immer instance), so the status stays a frozen value
 * replaced on every change, and no other module edits a status draft. Condition reasons are defined
 * once, in {@link ConditionReasons}.
 */
import { castDraft, type Draft, freeze } from 'immer';
import type { PlanSummary } from '../plan.js';
import type { Condition, HistoryEntry, Inventory, StoredState } from '../types.js';
import type { ConditionType, ReconcilerStatus, StatusRecipe } from './status.js';

/**
 * The reasons a reconciler writes into its conditions and into the results of passes that did not
 * run. A failed pass uses the name of its error code instead (`reasonOf`: `HealthFailed`,
 * `EmptySetRefused`, …).
 */
export const ConditionReasons = {
  /** Nothing reconciled or checked yet. */
  Pending: 'Pending',
  /** A pass runs, or the health wait runs. */
  Progressing: 'Progressing',
  /** The newest pass applied the fetched revision (and, with `wait`, it became healthy): Ready=True. */
  ReconciliationSucceeded: 'ReconciliationSucceeded',
  /** The fetched revision never became healthy and the last healthy one is applied instead. */
  RolledBack: 'RolledBack',
  /** `suspend()` was called: scheduled passes do not run (Reconciling=False). */
  Suspended: 'Suspended',
  /** `resume()` was called after a suspension: scheduled passes run again. */
  Resumed: 'Resumed',
  /** Every applied object is Current (Healthy=True). */
  Healthy: 'Healthy',
  /** An applied object reported Failed (Healthy=False). */
  HealthCheckFailed: 'HealthCheckFailed',
  /** The applied objects were not all Current within `healthTimeout` (Healthy=False). */
  HealthCheckTimeout: 'HealthCheckTimeout',
  /** Health checks are off (`wait: false`). */
  NotChecked: 'NotChecked',
  /** A `Manager` defers the pass until its `dependsOn` are Ready. */
  DependencyNotReady: 'DependencyNotReady',
  /** Results only: the reconciler was stopped before the pass ran. */
  Stopped: 'Stopped',
  /** Results only: the caller or a stop aborted the pass before it started. */
  Aborted: 'Aborted',
  /** Results only: a defect inside the pass (the error says what). */
  Failed: 'Failed',
} as const;

/** One of {@link ConditionReasons}. */
export type ConditionReason = (typeof ConditionReasons)[keyof typeof ConditionReasons];

const R = ConditionReasons;

/**
 * Sets a condition on a draft. `lastTransitionTime` moves only when the status value changes, as in
 * Kubernetes, so "Ready since" stays meaningful across passes that confirm the same state.
 */
function setCondition(
  draft: Draft<ReconcilerStatus>,
  type: ConditionType,
  status: Condition['status'],
  reason: string,
  message: string,
  at: string,
): void {
  const existing = draft.conditions.find((c) => c.type === type);
  if (!existing) {
    draft.conditions.push({ type, status, reason, message, lastTransitionTime: at });
    return;
  }
  if (existing.status !== status) existing.lastTransitionTime = at;
  existing.status = status;
  existing.reason = reason;
  existing.message = message;
}

/**
 * Puts an inventory into a draft. Entries are copied so freezing the status never freezes objects a
 * target or store still holds.
 */
function setInventory(draft: Draft<ReconcilerStatus>, inventory: Inventory): void {
  draft.inventory = castDraft({
    entries: inventory.entries.map((e) => ({ ref: { ...e.ref }, digest: e.digest })),
  });
}

/** Reconciling=False after a pass, or Suspended when the reconciler was suspended meanwhile. */
function settleReconciling(
  draft: Draft<ReconcilerStatus>,
  suspended: boolean,
  reason: string,
  message: string,
  at: string,
): void {
  if (suspended) setCondition(draft, 'Reconciling', 'False', R.Suspended, 'Reconciliation is suspended', at);
  else setCondition(draft, 'Reconciling', 'False', reason, message, at);
}

/** The status of a reconciler that has not run yet (frozen). */
export function initialStatus(name: string, at: string): ReconcilerStatus {
  const condition = (type: ConditionType, status: Condition['status'], message: string): Condition => ({
    type,
    status,
    reason: R.Pending,
    message,
    lastTransitionTime: at,
  });
  return freeze(
    {
      name,
      conditions: [
        condition('Ready', 'Unknown', 'Not reconciled yet'),
        condition('Reconciling', 'False', 'Not reconciled yet'),
        condition('Stalled', 'False', 'Not reconciled yet'),
        condition('Healthy', 'Unknown', 'Not checked yet'),
      ],
      lastFetchedRevision: undefined,
      lastAttemptedRevision: undefined,
      lastAppliedRevision: undefined,
      lastHealthyRevision: undefined,
      inventory: { entries: [] },
      history: [],
      failures: 0,
      nextRunAt: undefined,
      suspended: false,
      lastPlan: undefined,
    } satisfies ReconcilerStatus as ReconcilerStatus,
    true,
  );
}

/** A state loaded from the store (a restarted process) shows in the status. */
export function storedStateLoaded(stored: StoredState): StatusRecipe {
  return (d) => {
    setInventory(d, stored.inventory);
    d.lastAppliedRevision = stored.lastAppliedRevision;
    d.lastHealthyRevision = stored.lastHealthyRevision;
    d.history = castDraft(stored.history ?? []);
  };
}

/** A watch's drift repair added a history entry; conditions stay as the last pass left them. */
export function driftRepaired(history: readonly HistoryEntry[]): StatusRecipe {
  return (d) => {
    d.history = castDraft(history);
  };
}

/** The pass got through its precondition and gate: Reconciling=True. */
export function passStarted(at: string): StatusRecipe {
  return (d) => setCondition(d, 'Reconciling', 'True', R.Progressing, 'Reconciliation in progress', at);
}

/** The source returned an artifact of `revision`. */
export function revisionFetched(revision: string): StatusRecipe {
  return (d) => {
    d.lastFetchedRevision = revision;
  };
}

/** The pass is going to apply `revision` (it was not held back after a rollback). */
export function revisionAttempted(revision: string): StatusRecipe {
  return (d) => {
    d.lastAttemptedRevision = revision;
  };
}

/** The target planned the set; the status keeps the counts. */
export function planned(summary: PlanSummary): StatusRecipe {
  return (d) => {
    d.lastPlan = summary;
  };
}

/**
 * An inventory was stored: `inventory` when it changed (undefined keeps the status's own copy), and
 * the revision now applied when the apply got that far.
 */
export function inventoryStored(
  inventory: Inventory | undefined,
  appliedRevision: string | undefined,
): StatusRecipe {
  return (d) => {
    if (inventory) setInventory(d, inventory);
    if (appliedRevision !== undefined) d.lastAppliedRevision = appliedRevision;
  };
}

/** The health wait of `revision` starts for `objects` objects: Healthy=Unknown, Progressing. */
export function healthWaiting(revision: string, objects: number, at: string): StatusRecipe {
  return (d) =>
    setCondition(d, 'Healthy', 'Unknown', R.Progressing, `Waiting for ${objects} objects of ${revision}`, at);
}

/** Every applied object is Current: Healthy=True. */
export function healthSucceeded(message: string, at: string): StatusRecipe {
  return (d) => setCondition(d, 'Healthy', 'True', R.Healthy, message, at);
}

/** An object failed (`timedOut` false) or the wait ran out of time: Healthy=False. */
export function healthFailed(timedOut: boolean, message: string, at: string): StatusRecipe {
  const reason = timedOut ? R.HealthCheckTimeout : R.HealthCheckFailed;
  return (d) => setCondition(d, 'Healthy', 'False', reason, message, at);
}

/** `revision` was seen healthy: it is what a rollback would go back to. */
export function revisionHealthy(revision: string): StatusRecipe {
  return (d) => {
    d.lastHealthyRevision = revision;
  };
}

/** What the end of a pass writes besides its conditions. */
export interface PassEnd {
  /** A sentence for people: the condition message. */
  readonly message: string;
  readonly at: string;
  /** The stored history after the pass. */
  readonly history: readonly HistoryEntry[];
  /** Whether the reconciler was suspended while the pass ran. */
  readonly suspended: boolean;
}

/**
 * A pass that applied a revision: failures reset, history copied, Ready and Stalled set (Ready=True
 * for the fetched revision; Ready=False and Stalled=True when the last healthy one replaced it).
 */
function endApplied(d: Draft<ReconcilerStatus>, end: PassEnd, replaced: boolean): void {
  const { message, at } = end;
  const reason = replaced ? R.RolledBack : R.ReconciliationSucceeded;
  d.failures = 0;
  d.history = castDraft(end.history);
  setCondition(d, 'Ready', replaced ? 'False' : 'True', reason, message, at);
  setCondition(d, 'Stalled', replaced ? 'True' : 'False', reason, message, at);
  settleReconciling(d, end.suspended, reason, message, at);
}

/** A pass applied its revision: Ready=True, Stalled=False, failures reset. */
export function passSucceeded(end: PassEnd & { readonly wait: boolean }): StatusRecipe {
  return (d) => {
    endApplied(d, end, false);
    if (!end.wait) setCondition(d, 'Healthy', 'Unknown', R.NotChecked, 'Health checks are off', end.at);
  };
}

/**
 * A pass ended with the last healthy revision applied instead of the fetched one (it rolled back, or
 * holds a rolled-back revision back): Ready=False and Stalled=True, reason RolledBack, failures reset.
 */
export function rolledBack(end: PassEnd): StatusRecipe {
  return (d) => endApplied(d, end, true);
}

/**
 * A pass failed with `reason` (the name of its error code): Ready=False, one more failure. Stalled
 * stays True while `heldRevision`, a rolled-back revision, is held back.
 */
export function passFailed(
  end: PassEnd & { readonly reason: string; readonly heldRevision: string | undefined },
): StatusRecipe {
  return (d) => {
    const { message, at, reason } = end;
    d.failures += 1;
    d.history = castDraft(end.history);
    setCondition(d, 'Ready', 'False', reason, message, at);
    if (end.heldRevision !== undefined) {
      setCondition(d, 'Stalled', 'True', R.RolledBack, `Revision ${end.heldRevision} was rolled back`, at);
    } else {
      setCondition(d, 'Stalled', 'False', reason, message, at);
    }
    settleReconciling(d, end.suspended, reason, message, at);
  };
}

/** A pass was deferred by a precondition (`dependsOn`): Ready=False with the deferral's reason. */
export function passDeferred(reason: string, message: string, at: string): StatusRecipe {
  return (d) => setCondition(d, 'Ready', 'False', reason, message, at);
}

/** The next scheduled pass runs at `at` (ISO 8601), or none is scheduled (undefined). */
export function nextRunScheduled(at: string | undefined): StatusRecipe {
  return (d) => {
    d.nextRunAt = at;
  };
}

/** Scheduled passes stop; Reconciling says Suspended unless a pass is in flight (`idle` false). */
export function suspended(at: string, idle: boolean): StatusRecipe {
  return (d) => {
    d.suspended = true;
    d.nextRunAt = undefined;
    if (idle) setCondition(d, 'Reconciling', 'False', R.Suspended, 'Reconciliation is suspended', at);
  };
}

/** Scheduled passes may run again; Reconciling says Resumed unless a pass is in flight. */
export function resumed(at: string, idle: boolean): StatusRecipe {
  return (d) => {
    d.suspended = false;
    if (idle) setCondition(d, 'Reconciling', 'False', R.Resumed, 'Reconciliation resumed', at);
  };
}
