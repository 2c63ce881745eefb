/**
 * The order of a pass as data: for each phase in order, for each wave ascending, the objects to write
 * and what must hold before the next step; where pruning happens; and the SyncFail hooks to run when
 * the pass fails. Pure: the Reconciler (phase 2) walks it with the Target.
 */
import { groupOf } from '../refs.js';
import type { Manifest } from '../types.js';
import { describeLifecycle, type LifecycleDescriptor } from './descriptor.js';
import { type LifecycleOperation, type LifecyclePhase, lifecyclePhaseOrder } from './phases.js';

/** Anything that carries a manifest: a `PlannedObject`, or `{ manifest }`. */
export interface Schedulable {
  /** The rendered object, with its origin for errors. */
  readonly manifest: Manifest;
}

/**
 * One object in a step, with its lifecycle for the operation. `lifecycle.wave` is what the annotations
 * say; the step's `wave` is where it runs (they differ for a Namespace or CRD pulled earlier).
 */
export interface ScheduledObject<T extends Schedulable> {
  /** The object as given to the schedule. */
  readonly item: T;
  /** What its annotations say. */
  readonly lifecycle: LifecycleDescriptor;
}

/**
 * What must hold before the next step starts. `complete`: the step's hooks completed (Job `Complete`,
 * Pod `Succeeded`, other kinds healthy) and its other objects are healthy; `healthy`: the objects are
 * healthy; `none`: go on once the writes are done.
 */
export type StepGateKind = 'none' | 'healthy' | 'complete';

/** The gate after a step: its kind and the objects it reads (empty for `none`). */
export interface StepGate<T extends Schedulable> {
  /** What the next step waits for. */
  readonly kind: StepGateKind;
  /** The objects read until they are healthy (or complete, for hooks); empty for `none`. */
  readonly objects: readonly ScheduledObject<T>[];
}

/** One step: the objects of one wave of one phase, written together in kind order. */
export interface LifecycleStep<T extends Schedulable> {
  /** The phase the step belongs to. */
  readonly phase: LifecyclePhase;
  /** Its wave inside the phase (lower runs first). */
  readonly wave: number;
  /** What the step writes, in kind order. */
  readonly objects: readonly ScheduledObject<T>[];
  /** What must be true before the next step starts. */
  readonly gate: StepGate<T>;
}

/** An object that does not run in this operation, and why (a `Skip`, a hook of another operation). */
export interface NotRun<T extends Schedulable> {
  /** The object as given to the schedule. */
  readonly item: T;
  /** What its annotations say. */
  readonly lifecycle: LifecycleDescriptor;
  /** Why it does not run now, for plans and logs. */
  readonly reason: string;
}

/** The order of one pass. */
export interface LifecycleSchedule<T extends Schedulable> {
  /** The operation the schedule is for (install, upgrade, rollback or uninstall). */
  readonly operation: LifecycleOperation;
  /** The steps, in the order they run. */
  readonly steps: readonly LifecycleStep<T>[];
  /**
   * Where deletion happens: after `steps[0..pruneAt)` and before `steps[pruneAt..]`. On a sync it is
   * after the Sync phase and before PostSync (PostSync hooks see the final set, as in Argo CD); on an
   * uninstall it is after PreDelete, and PostDelete waits until the deleted objects are gone.
   */
  readonly pruneAt: number;
  /** SyncFail hooks by wave, run when a step fails (empty on uninstall). */
  readonly onFailure: readonly LifecycleStep<T>[];
  /** Objects that belong to the prunable inventory's desired set: every non-hook, `Skip` ones included. */
  readonly owned: readonly T[];
  /** Objects that do not run in this operation, with the reason. */
  readonly notRun: readonly NotRun<T>[];
}

/** Options of {@link scheduleLifecycle}. */
export interface ScheduleOptions {
  /**
   * Kind order inside a wave (CRDs and Namespaces first). Core has no shared kind-order function yet,
   * so the default keeps the caller's order, which for `Plan.objects` is already the target's apply
   * order; pass the shared Kubernetes conventions comparator once it exists.
   */
  readonly compare?: (a: Manifest, b: Manifest) => number;
  /** Wait for each wave to be healthy before the next even when it has no hooks (the Reconciler's `wait`). */
  readonly wait?: boolean;
}

/** The phases that form the main sequence of an operation (SyncFail is apart). */
const SEQUENCE: Record<LifecycleOperation, readonly LifecyclePhase[]> = {
  install: ['PreSync', 'Sync', 'PostSync'],
  upgrade: ['PreSync', 'Sync', 'PostSync'],
  rollback: ['PreSync', 'Sync', 'PostSync'],
  uninstall: ['PreDelete', 'PostDelete'],
};

/** The first phase that runs after deletion. */
const AFTER_PRUNE: Record<LifecycleOperation, LifecyclePhase> = {
  install: 'PostSync',
  upgrade: 'PostSync',
  rollback: 'PostSync',
  uninstall: 'PostDelete',
};

interface Entry<T extends Schedulable> {
  readonly scheduled: ScheduledObject<T>;
  readonly index: number;
  phase: LifecyclePhase;
  wave: number;
  /** Moved into an earlier step because an object there needs it: it goes first in that step. */
  pulled: boolean;
}

/**
 * Builds the schedule of a pass over the given objects (`Plan.objects`, or manifests wrapped as
 * `{ manifest }`). Reads every object's lifecycle first, so a bad annotation or a `generateName` on an
 * ordinary object throws (a `RenderError` naming file, line and object) before anything is scheduled.
 *
 * Order: phase, then wave (ascending), then kind order (`options.compare`), then the caller's order.
 * As in Argo CD, a Namespace or CRD that an earlier step needs (a PreSync Job in the namespace, a
 * custom resource of the CRD's kind in a lower wave) is moved into that earlier step.
 */
export function scheduleLifecycle<T extends Schedulable>(
  items: readonly T[],
  operation: LifecycleOperation,
  options: ScheduleOptions = {},
): LifecycleSchedule<T> {
  const described = items.map((item) => ({ item, lifecycle: describeLifecycle(item.manifest, operation) }));
  const sequence = SEQUENCE[operation];
  const entries: Entry<T>[] = [];
  const failure: Entry<T>[] = [];
  const notRun: NotRun<T>[] = [];
  described.forEach((scheduled, index) => {
    const { lifecycle } = scheduled;
    if (lifecycle.phases.length === 0) {
      notRun.push({ ...scheduled, reason: lifecycle.reason ?? 'does not run in this operation' });
      return;
    }
    for (const phase of lifecycle.phases) {
      const entry = { scheduled, index, phase, wave: lifecycle.wave, pulled: false };
      if (phase === 'SyncFail') failure.push(entry);
      else if (sequence.includes(phase)) entries.push(entry);
    }
  });
  pullDependencies(entries);
  const order = (a: Entry<T>, b: Entry<T>): number =>
    lifecyclePhaseOrder.indexOf(a.phase) - lifecyclePhaseOrder.indexOf(b.phase) ||
    a.wave - b.wave ||
    Number(b.pulled) - Number(a.pulled) ||
    (options.compare?.(a.scheduled.item.manifest, b.scheduled.item.manifest) ?? 0) ||
    a.index - b.index;
  const groups = group(entries.sort(order));
  const steps = gateSteps(groups, AFTER_PRUNE[operation], options.wait ?? false);
  const firstAfterPrune = steps.findIndex((step) => step.phase === AFTER_PRUNE[operation]);
  const onFailure = group(failure.sort(order)).map(
    (step): LifecycleStep<T> => ({ ...step, gate: { kind: 'complete', objects: step.objects } }),
  );
  return {
    operation,
    steps,
    pruneAt: firstAfterPrune < 0 ? steps.length : firstAfterPrune,
    onFailure,
    owned: described.filter(({ lifecycle }) => !lifecycle.hook).map(({ item }) => item),
    notRun,
  };
}

interface Group<T extends Schedulable> {
  readonly phase: LifecyclePhase;
  readonly wave: number;
  readonly objects: ScheduledObject<T>[];
}

/** Consecutive entries of the same phase and wave, as steps without a gate yet. */
function group<T extends Schedulable>(sorted: readonly Entry<T>[]): Group<T>[] {
  const groups: Group<T>[] = [];
  for (const entry of sorted) {
    const last = groups[groups.length - 1];
    if (last && last.phase === entry.phase && last.wave === entry.wave) last.objects.push(entry.scheduled);
    else groups.push({ phase: entry.phase, wave: entry.wave, objects: [entry.scheduled] });
  }
  return groups;
}

/**
 * The gate after each step. A step with hooks waits for them to complete. The last step before the
 * phase that follows deletion (PostSync, PostDelete) waits for its whole phase to be healthy, because
 * PostSync hooks run only once everything synced is healthy (Argo CD's rule). With `wait`, every other
 * step waits for its objects to be healthy. The last step has no gate beyond its hooks: the pass's own
 * health wait follows it.
 */
function gateSteps<T extends Schedulable>(
  groups: readonly Group<T>[],
  afterPrune: LifecyclePhase,
  wait: boolean,
): LifecycleStep<T>[] {
  return groups.map((step, i): LifecycleStep<T> => {
    const next = groups[i + 1];
    const hasHooks = step.objects.some((object) => object.lifecycle.hook);
    if (next && next.phase === afterPrune && step.phase !== afterPrune) {
      const phaseObjects = groups
        .filter((other) => other.phase === step.phase)
        .flatMap((other) => other.objects);
      return { ...step, gate: { kind: hasHooks ? 'complete' : 'healthy', objects: phaseObjects } };
    }
    if (hasHooks) return { ...step, gate: { kind: 'complete', objects: step.objects } };
    if (next && wait) return { ...step, gate: { kind: 'healthy', objects: step.objects } };
    return { ...step, gate: { kind: 'none', objects: [] } };
  });
}

const CRD_GROUP = 'apiextensions.k8s.io';

/** What an entry's object needs to exist first: its namespace, and the CRD of its kind. */
function needs(manifest: Manifest): string[] {
  const { apiVersion, kind, metadata } = manifest.object;
  const keys = [`crd:${groupOf(apiVersion)}/${kind}`];
  if (typeof metadata?.namespace === 'string' && metadata.namespace !== '')
    keys.push(`ns:${metadata.namespace}`);
  return keys;
}

/** What an ordinary Namespace or CRD provides, or undefined for every other object. */
function provides(manifest: Manifest): string | undefined {
  const { apiVersion, kind, metadata, spec } = manifest.object;
  if (kind === 'Namespace' && groupOf(apiVersion) === '') return `ns:${metadata?.name ?? ''}`;
  if (kind === 'CustomResourceDefinition' && groupOf(apiVersion) === CRD_GROUP) {
    const crd = spec as { group?: unknown; names?: { kind?: unknown } } | undefined;
    if (typeof crd?.group === 'string' && typeof crd.names?.kind === 'string') {
      return `crd:${crd.group}/${crd.names.kind}`;
    }
  }
  return undefined;
}

/**
 * Moves an ordinary Namespace or CRD into the earliest step that needs it (Argo CD does the same), so
 * a PreSync Job in a namespace the app itself creates, or a wave -1 custom resource whose CRD sits in
 * wave 0, does not fail for a missing namespace or kind. Objects only ever move earlier.
 */
function pullDependencies<T extends Schedulable>(entries: Entry<T>[]): void {
  const position = (entry: Entry<T>): [number, number] => [
    lifecyclePhaseOrder.indexOf(entry.phase),
    entry.wave,
  ];
  const earlier = (a: [number, number], b: [number, number]): boolean =>
    a[0] < b[0] || (a[0] === b[0] && a[1] < b[1]);
  const earliest = new Map<string, Entry<T>>();
  for (const entry of entries) {
    for (const key of needs(entry.scheduled.item.manifest)) {
      const known = earliest.get(key);
      if (!known || earlier(position(entry), position(known))) earliest.set(key, entry);
    }
  }
  for (const entry of entries) {
    if (entry.scheduled.lifecycle.hook) continue;
    const key = provides(entry.scheduled.item.manifest);
    const first = key === undefined ? undefined : earliest.get(key);
    if (first && earlier(position(first), position(entry))) {
      entry.phase = first.phase;
      entry.wave = first.wave;
      entry.pulled = true;
    }
  }
}
