/**
 * The phases of a pass and the operations that choose them: the vocabulary every other lifecycle
 * module shares.
 */

/**
 * A phase of a pass. A sync runs PreSync → Sync → PostSync, and SyncFail when it failed; an uninstall
 * runs PreDelete → (delete everything owned) → PostDelete. Argo CD's hook types are these plus `Skip`.
 */
export type LifecyclePhase = 'PreSync' | 'Sync' | 'PostSync' | 'SyncFail' | 'PreDelete' | 'PostDelete';

/** The phases in the order a pass runs them (SyncFail only after a failure). */
export const lifecyclePhaseOrder: readonly LifecyclePhase[] = Object.freeze([
  'PreSync',
  'Sync',
  'PostSync',
  'SyncFail',
  'PreDelete',
  'PostDelete',
]);

/**
 * What a pass does, decided by the caller. `install`: nothing of ours was applied yet; `upgrade`: a
 * later revision over an applied one; `rollback`: an earlier revision applied again (after a failed
 * rollout or on request); `uninstall`: everything owned is deleted.
 */
export type LifecycleOperation = 'install' | 'upgrade' | 'rollback' | 'uninstall';
