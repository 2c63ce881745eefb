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
 * Wiring (the core README's "Phases, waves and hooks" says it for users):
 * - Plan: the Reconciler (or `planLifecycle` in `reconciler/plan-lifecycle.ts`, for tools that call
 *   `Target.plan` themselves) schedules `plan.objects` with the conventions' apply tiers as the kind
 *   order and puts `phase`/`wave`/`hook` on each `PlannedObject`. A set with one Sync step and no hook
 *   takes the Reconciler's old apply path unchanged.
 * - Pass: `reconciler/lifecycle-run.ts` validates once (hooks to be replaced after their old object
 *   is gone), then per step: `beforeHookCreation` (delete, wait until gone), a sub-plan apply, the gate
 *   polled through `Target.health` with `HealthOptions.hooks` (read by `hookCompletion`), then
 *   `deleteHookAfter`. Prune happens at `pruneAt`; a failed step runs `onFailure`. Hooks run only on a
 *   pass that syncs something (new revision, drift, prune, rollback).
 * - `generateName`: the renderer lets it through on hooks only; the Reconciler picks the name before
 *   the plan (`reconciler/hook-names.ts`), so targets need nothing new. Hook objects are recorded in
 *   `StoredState.hooks` before they are written.
 * - Keep on prune: both targets skip a live prune candidate that `keptByAnnotation` keeps
 *   (`helm.sh/resource-policy: keep`, `Prune=false|confirm`, or a malformed annotation).
 * - Prune order: inventory entries applied through a schedule keep their `wave` and `pruneLast`, and
 *   the prune runs `orderPrune` batches, each gone before the next.
 * - Not wired yet: the per-object sync options `Replace`, `ServerSideApply`, `SkipDryRunOnMissingResource`, `Validate`
 *   (read and checked, not acted on). `Force=true` lets KubernetesTarget delete and create again an
 *   object whose change is refused as immutable, as `gitops-kit.dev/force: enabled` does.
 */
export * from './annotations.js';
export * from './codes.js';
export * from './completion.js';
export * from './descriptor.js';
export * from './format.js';
export * from './phases.js';
export * from './policy.js';
export * from './schedule.js';
