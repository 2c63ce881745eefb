/**
 * Lifecycle: Argo CD sync phases, waves and hooks, and Helm hooks, as pure data and functions.
 *
 * - `annotations.ts` reads the annotations as Argo CD and Helm read them (stricter on bad values).
 * - `phases.ts` names the phases and operations.
 * - `descriptor.ts` gives one object's lifecycle for one operation (install, upgrade, rollback, uninstall).
 * - `schedule.ts` orders a pass: phases, waves, gates, where pruning happens, SyncFail hooks.
 * - `format.ts` prints a schedule for plans and logs.
 * - `policy.ts` decides hook deletion by policy, keep-on-delete, and prune order.
 * - `completion.ts` says when a hook object has finished (kstatus health does not: a failed Pod is
 *   `Current` there).
 *
 * Where gitops-kit differs from the tools on purpose:
 * - Install vs upgrade: Argo CD renders charts with `helm template`, cannot tell them apart, and runs
 *   pre-install and pre-upgrade hooks on every sync. gitops-kit knows from the stored state
 *   (`syncOperationFor`): install hooks run once, upgrade hooks on later revisions, rollback hooks on
 *   a rollback, delete hooks only on uninstall, `test` hooks never on a sync.
 * - Bad values: both tools ignore an annotation value they do not know (an Argo hook `presync` never
 *   runs, wave `"one"` is 0, a Helm hook `pre-instal` drops the object); here it is a `RenderError`
 *   with a `LifecycleErrorCodes` code naming file, line and object.
 * - Readiness decides: Argo CD adds a fixed delay between waves; gitops-kit waits for the gate only.
 * - Helm runs hooks of one event one at a time; gitops-kit writes a wave's hooks together, in kind
 *   order, like Argo CD (use distinct weights to sequence them).
 * - CRD hooks are never deleted by policy (Helm's guard), for Argo CD hooks too.
 *
 * Phase 2, wiring (after the target split, the shared Kubernetes conventions and the status rewrite
 * are merged):
 * - Plan: `Target.plan` stays as it is; the Reconciler (or a `planLifecycle` helper next to
 *   `buildPlan`) runs `scheduleLifecycle(plan.objects, operation, { compare, wait })`, and the Plan
 *   gains `phase`/`wave`/`hook` per object from the descriptor, which `formatPlanDiff` and the plan
 *   CLI print. `compare` becomes the conventions module's kind comparator. Hooks are planned like any
 *   object but excluded from `pruneCandidates` and from the stored inventory (`schedule.owned` is the
 *   desired set for pruning, so a `Skip` object is neither applied nor pruned). The renderer's
 *   "object has no metadata.name" check must let a `generateName` through (and the duplicate check
 *   must key such objects by `hookKey`, not by an absent name); `describeLifecycle` then refuses it
 *   on ordinary objects. `Target.plan` must plan a `generateName` hook as a `create` with no live
 *   object to read.
 * - Reconciler pass: validate the whole plan once (hooks included), then for each step: for hooks,
 *   `beforeHookCreation` (delete earlier objects, wait until gone), then `Target.apply` of the
 *   step's objects as a sub-plan (`buildPlan(step objects, [])`); then poll `Target.health` on the
 *   gate's refs until `Current`, bounded by the pass timeout and signal. Hook refs are read with
 *   `hookCompletion` instead of the health rules (kstatus calls a failed Pod `Current`): the health
 *   call gains an option listing the refs to read as hooks, and both targets map `succeeded` /
 *   `failed` / `running` to `Current` / `Failed` / `InProgress`. At `pruneAt`: prune with
 *   `orderPrune` batches, skipping what `retention(live annotations, 'prune')` keeps. A failed or
 *   timed-out gate fails the pass with the step's phase and wave in the error, runs
 *   `schedule.onFailure` (SyncFail hooks, gated `complete`; their own failure is reported, not
 *   thrown over the first), then applies `deleteHookAfter(..., 'failed')`. After each successful
 *   gate, `deleteHookAfter(..., 'succeeded')` for its hooks. New typed events: `phaseStarted`,
 *   `hookStarted`, `hookCompleted`, `hookFailed`, `waveApplied` (each with revision, phase, wave).
 * - Target: nothing new beyond apply/health/prune of subsets (and the hook option of health), plus a
 *   delete of hook objects (a prune of refs that are not in the inventory, without the inventory
 *   bookkeeping) and a create that reports the name the server assigned (`ApplyResult.applied`
 *   carries it). Hook names created are stored with the state under `hookKey(manifest)`, so delete
 *   policies find them after a restart.
 * - State: `InventoryEntry` gains an optional `wave` (and `pruneLast`), so `orderPrune` still knows
 *   them once the manifest is gone (else the live object's annotation is read). For `install`
 *   detection, `lastAppliedRevision` is recorded once the Sync phase applied, and the prospective
 *   inventory of invariant 4 is written before the first Sync-phase write rather than before the
 *   PreSync hooks, so a first install whose PreSync hook failed is still an install next time.
 * - FakeCluster: the same schedule through the same Reconciler code, so parity is by construction;
 *   its health rules make hooks complete at once unless a test says otherwise (a HealthRule that
 *   fails a Job); `generateName` gets `<prefix><counter>`; its stage order comes from the shared
 *   conventions module, as the real target's does.
 * - `uninstall`: `Reconciler.uninstall()` renders the last applied revision (fetch at revision) for
 *   its delete hooks, schedules with `'uninstall'`: PreDelete steps, then delete every inventory entry
 *   in `orderPrune` order except what `retention(live annotations, 'uninstall')` keeps, wait until
 *   gone, then PostDelete steps; finally clear the stored state. Without a revision to render, it
 *   deletes with no hooks and says so in its result.
 * - Rollback after restart: the state already persists `lastHealthyRevision`; `Source` gains an
 *   optional `fetchRevision?(revision, options)` (Git: the commit; S3: the object versions of that
 *   time; MemorySource: the commit). On a failed rollout after a restart the Reconciler fetches the
 *   last healthy revision with it and schedules with `'rollback'`; a source without it reports a
 *   typed refusal. `rollbackTo(revision)` and `reconcile({ revision })` use the same path;
 *   `rollbackTo` persists the held revision with the state until a new revision arrives or the
 *   caller releases it, so a restart keeps holding it.
 */
export * from './annotations.js';
export * from './codes.js';
export * from './completion.js';
export * from './descriptor.js';
export * from './format.js';
export * from './phases.js';
export * from './policy.js';
export * from './schedule.js';
