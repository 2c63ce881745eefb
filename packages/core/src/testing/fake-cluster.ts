import { abortReason, type Clock, systemClock } from '../clock.js';
import { diffObjects, diffValues } from '../diff/diff.js';
import { projectOnto, unionShape } from '../diff/project.js';
import { isRecord, jsonEqual } from '../diff/values.js';
import { digestObject } from '../digest.js';
import {
  ApplyError,
  ErrorCodes,
  type ErrorLocation,
  ValidationError,
  type ValidationIssue,
} from '../errors.js';
import { summarizeHealth } from '../health.js';
import { applyPolicyOf, keptByApplyPolicy } from '../kube/apply-policy.js';
import {
  applyTierOf,
  CLUSTER_SCOPED_KINDS,
  isPruneDisabled,
  OWNER_LABEL,
  PRUNE_ANNOTATION,
  PRUNE_DISABLED,
} from '../kube/conventions.js';
import {
  checkIgnoreRules,
  type IgnoreRule,
  resolveIgnored,
  unusedIgnoreRules,
  valueAt,
  withoutPointers,
  withValueAt,
} from '../kube/ignore-rules.js';
import { readSyncOptions } from '../lifecycle/annotations.js';
import { keptByAnnotation } from '../lifecycle/policy.js';
import { buildPlan, pruneCandidates } from '../plan.js';
import { formatRef, type ObjectRef, refKey, refOf } from '../refs.js';
import type {
  ApplyResult,
  DriftNotice,
  FieldChange,
  HealthReport,
  HealthStatus,
  Inventory,
  InventoryEntry,
  KubeObject,
  Manifest,
  ObjectHealth,
  Plan,
  PlannedObject,
  PlanOptions,
  PruneResult,
  RepairResult,
  Target,
  TargetCallOptions,
} from '../types.js';
import { applyMerge } from './apply-merge.js';
import { BUILT_IN_NAMESPACES, invalidLabel, invalidName, invalidNamespace } from './kube-rules.js';

// The ownership marks are the real target's (one home in kube/conventions), re-exported for tests.
export { OWNER_LABEL, PRUNE_ANNOTATION, PRUNE_DISABLED };

/** Options for {@link FakeCluster}. */
export interface FakeClusterOptions {
  /** The target's name in status and logs. Default `fake-cluster`. */
  readonly name?: string;
  /** Who owns what this target applies: the value of {@link OWNER_LABEL}. Default `gitops-kit`. */
  readonly owner?: string;
  /** Namespace of namespaced objects that have none. Default `default`. */
  readonly defaultNamespace?: string;
  /** Cluster-scoped kinds besides the built-in ones (your CRDs' cluster-scoped kinds). */
  readonly clusterScopedKinds?: readonly string[];
  /** Objects that exist before the first apply (not owned unless they carry the owner label). */
  readonly objects?: readonly KubeObject[];
  /** Clock for `creationTimestamp`. Default the system clock. */
  readonly clock?: Clock;
  /**
   * Reconcilers watch this cluster by default (`Target.watch`): a hand change (`edit`, `add`,
   * `remove`) of an applied object is reported to `watchDrift` listeners at once.
   */
  readonly watch?: boolean;
  /**
   * Ignore rules, as the Kubernetes target reads them: fields at their JSON pointers are left as
   * they are live (not compared, not written once the object exists). The fake cluster keeps no
   * managed fields, so `managers` rules match only objects given with `metadata.managedFields`.
   */
  readonly ignore?: readonly IgnoreRule[];
}

/** One write or delete the fake cluster performed, in order. */
export interface ClusterOperation {
  /** `apply` for a create or update, `delete` for a delete. */
  readonly op: 'apply' | 'delete';
  /** The object written or deleted. */
  readonly ref: ObjectRef;
}

/** Which objects a health rule is for: one object, every object of a kind, or a predicate. */
export type HealthSelector = ObjectRef | string | ((object: KubeObject) => boolean);

/** A health status, with an optional message. */
export type HealthOutcome =
  | HealthStatus
  | {
      /** The status the object reports. */
      readonly status: HealthStatus;
      /** Why, in words; default a message naming the status. */
      readonly message?: string;
    };

/**
 * What a health rule reports: a fixed outcome, or a function of the live object and of how many
 * times its health has been read since it was last written (1 on the first reading), which may
 * return undefined to leave the object to older rules. A function lets a test simulate a rollout
 * that is in progress for two readings and then succeeds, or fails for one image only.
 */
export type HealthRule = HealthOutcome | ((object: KubeObject, reading: number) => HealthOutcome | undefined);

interface LiveEntry {
  object: KubeObject;
  /** The object as we last applied it (with our owner label), absent for objects we never wrote. */
  applied: KubeObject | undefined;
  /** Health readings since the last write. */
  readings: number;
}

interface RegisteredRule {
  readonly matches: (object: KubeObject) => boolean;
  readonly rule: HealthRule;
}

const DEFAULT_MESSAGES: Record<HealthStatus, string> = {
  Current: 'ready',
  InProgress: 'rollout in progress (simulated)',
  Failed: 'rollout failed (simulated)',
  Terminating: 'being deleted (simulated)',
  NotFound: 'not found',
  Unknown: 'health unknown (simulated)',
};

/**
 * An in-memory cluster that implements {@link Target}: plan, validate, apply, prune and health,
 * with hooks to change objects by hand, simulate rollouts and make calls fail. Everything is
 * synchronous underneath, so unit tests of reconcile logic run in milliseconds.
 *
 * It imitates what matters to reconcile logic: namespaces defaulted, cluster-scoped kinds,
 * the real target's apply order (tiers), fields others added kept on apply, drift when someone edits what we
 * manage, prune only of objects carrying our owner label, and a few naming rules a real API
 * server enforces.
 */
export class FakeCluster implements Target {
  readonly name: string;
  /** The owner written in {@link OWNER_LABEL}. */
  readonly owner: string;
  /** Namespace given to namespaced objects that have none. */
  readonly defaultNamespace: string;

  readonly #clusterScoped: Set<string>;
  readonly #clock: Clock;
  readonly #store = new Map<string, LiveEntry>();
  readonly #operations: ClusterOperation[] = [];
  readonly #healthRules: RegisteredRule[] = [];
  readonly #validationFailures = new Map<string, string>();
  readonly #applyFailures = new Map<string, string>();
  readonly #deleteFailures = new Map<string, string>();
  readonly #ignore: readonly IgnoreRule[];
  /** What we last wrote per object (before fields left to others), for drift notices and repairs. */
  readonly #desired = new Map<string, KubeObject>();
  readonly #watchers = new Set<(notice: DriftNotice) => void>();
  /** Whether reconcilers watch this cluster by default. */
  readonly watch: boolean;
  #resourceVersion = 0;
  #uid = 0;

  /** Creates an empty cluster (or one holding `options.objects`). */
  constructor(options: FakeClusterOptions = {}) {
    this.name = options.name ?? 'fake-cluster';
    this.owner = options.owner ?? 'gitops-kit';
    this.defaultNamespace = options.defaultNamespace ?? 'default';
    this.#clusterScoped = new Set([...CLUSTER_SCOPED_KINDS, ...(options.clusterScopedKinds ?? [])]);
    this.#clock = options.clock ?? systemClock;
    checkIgnoreRules(options.ignore ?? []);
    this.#ignore = options.ignore ?? [];
    this.watch = options.watch ?? false;
    for (const object of options.objects ?? []) this.add(object);
  }

  // ---------------------------------------------------------------- Target

  /** Compares the desired set with the live objects and the inventory. Writes nothing. */
  async plan(manifests: readonly Manifest[], inventory: Inventory, options: PlanOptions): Promise<Plan> {
    checkSignal(options.signal);
    const inventoryByKey = new Map(inventory.entries.map((entry) => [this.#key(entry.ref), entry]));
    const ordered = manifests
      .map((manifest, index) => ({ manifest, index, object: this.normalize(manifest.object) }))
      .sort(
        (a, b) =>
          applyTierOf(a.object.apiVersion, a.object.kind) - applyTierOf(b.object.apiVersion, b.object.kind) ||
          a.index - b.index,
      );
    const used: number[] = [];
    const objects = ordered.map(({ manifest, object }): PlannedObject => {
      const ref = refOf(object);
      const digest = digestObject(object);
      const desired = this.#withOwner(object);
      const live = this.#store.get(refKey(ref));
      const sameAsInventory = inventoryByKey.get(refKey(ref))?.digest === digest;
      if (!live && applyPolicyOf(object) === 'Ignore') {
        return { ref, action: 'unchanged', manifest, digest, drifted: false, changes: [] };
      }
      if (!live) {
        this.#keptPointers(desired, undefined, used);
        return {
          ref,
          action: 'create',
          manifest,
          digest,
          drifted: sameAsInventory,
          changes: diffObjects(undefined, desired),
        };
      }
      const base = { ref, manifest, digest, live: structuredClone(live.object) };
      const policy = applyPolicyOf(object);
      if (policy === 'Ignore' || policy === 'IfNotPresent') {
        return { ...base, action: 'unchanged', drifted: false, changes: [] };
      }
      // Fields left to others (ignore rules, `Merge`) are compared on neither side.
      const kept = this.#keptPointers(desired, live, used);
      const wanted = withoutPointers(desired, kept);
      const managed = withoutPointers(
        projectOnto(live.object, unionShape(live.applied ?? {}, desired)),
        kept,
      );
      if (jsonEqual(managed, wanted)) return { ...base, action: 'unchanged', drifted: false, changes: [] };
      return { ...base, action: 'update', drifted: sameAsInventory, changes: diffObjects(managed, wanted) };
    });
    return buildPlan(
      objects,
      pruneCandidates(
        inventory,
        objects.map((o) => o.ref),
      ),
      unusedIgnoreRules(this.#ignore, used),
    );
  }

  /**
   * Refuses, all at once, what a real API server would refuse for simple reasons: invalid names,
   * namespaces or labels, a namespace that neither exists nor is in the set, the same object twice,
   * and anything registered with {@link failValidation}. Writes nothing.
   */
  async validate(plan: Plan, options: TargetCallOptions): Promise<void> {
    checkSignal(options.signal);
    const issues: ValidationIssue[] = [];
    const planned = new Set(plan.objects.filter((o) => o.ref.kind === 'Namespace').map((o) => o.ref.name));
    const seen = new Set<string>();
    for (const object of plan.objects) {
      const { ref } = object;
      const location = locationOf(object);
      const problems: string[] = [];
      const key = refKey(ref);
      if (seen.has(key)) problems.push('the same object appears more than once in the set');
      seen.add(key);
      const nameProblem = invalidName(ref.kind, ref.name);
      if (nameProblem) problems.push(nameProblem);
      if (ref.namespace !== undefined) {
        const namespaceProblem = invalidNamespace(ref.namespace);
        if (namespaceProblem) problems.push(namespaceProblem);
        else if (!planned.has(ref.namespace) && !this.namespaceExists(ref.namespace)) {
          problems.push(
            `namespace "${ref.namespace}" not found (it is neither in the cluster nor in the set)`,
          );
        }
      }
      for (const [labelKey, value] of Object.entries(object.manifest.object.metadata.labels ?? {})) {
        const labelProblem = invalidLabel(labelKey, value);
        if (labelProblem) problems.push(labelProblem);
      }
      const injected = this.#validationFailures.get(key);
      if (injected !== undefined) problems.push(injected);
      for (const message of problems) issues.push({ message, location });
    }
    if (issues.length > 0) throw new ValidationError(ErrorCodes.ValidationFailed, issues);
  }

  /**
   * Writes the plan's created and updated objects in plan order (unchanged ones are not written).
   * Throws {@link ApplyError} at an object registered with {@link failApply}, or whose namespace
   * does not exist, after writing what came before it.
   */
  async apply(plan: Plan, options: TargetCallOptions): Promise<ApplyResult> {
    const applied: InventoryEntry[] = [];
    let writes = 0;
    for (const planned of plan.objects) {
      checkSignal(options.signal);
      if (planned.action !== 'unchanged') {
        const problem = this.#applyProblem(planned.ref);
        if (problem !== undefined) {
          throw new ApplyError(ErrorCodes.ApplyFailed, problem, {
            applied: [...applied],
            location: locationOf(planned),
          });
        }
        const desired = this.#withOwner(this.normalize(planned.manifest.object));
        this.#desired.set(this.#key(planned.ref), desired);
        this.#write(planned.ref, this.#keepOthers(desired));
        writes++;
      }
      applied.push({ ref: planned.ref, digest: planned.digest });
    }
    return { applied, writes };
  }

  /**
   * Deletes the entries' objects that carry our owner label. Objects already gone count as deleted;
   * objects owned by someone else or annotated `gitops-kit.dev/prune: disabled` are skipped; those
   * registered with {@link failDelete} are reported failed.
   */
  async prune(entries: readonly InventoryEntry[], options: TargetCallOptions): Promise<PruneResult> {
    const deleted: ObjectRef[] = [];
    const skipped: { ref: ObjectRef; reason: string }[] = [];
    const failed: { entry: InventoryEntry; message: string }[] = [];
    for (const entry of entries) {
      checkSignal(options.signal);
      const key = this.#key(entry.ref);
      const live = this.#store.get(key);
      if (!live) {
        deleted.push(entry.ref);
        continue;
      }
      const { labels = {} } = live.object.metadata;
      if (labels[OWNER_LABEL] !== this.owner) {
        skipped.push({ ref: entry.ref, reason: `not owned by ${this.owner} (no ${OWNER_LABEL} label)` });
      } else if (isPruneDisabled(live.object)) {
        skipped.push({ ref: entry.ref, reason: `kept by annotation ${PRUNE_ANNOTATION}: ${PRUNE_DISABLED}` });
      } else if (keptReason(live.object) !== undefined) {
        const reason = keptReason(live.object) as string;
        skipped.push({ ref: entry.ref, reason });
      } else if (this.#deleteFailures.has(key)) {
        failed.push({ entry, message: this.#deleteFailures.get(key) ?? 'delete failed' });
      } else {
        this.#store.delete(key);
        this.#desired.delete(key);
        this.#operations.push({ op: 'delete', ref: entry.ref });
        deleted.push(entry.ref);
      }
    }
    return { deleted, skipped, failed };
  }

  /**
   * One health reading: `NotFound` for missing objects; otherwise the newest matching rule set
   * with {@link setHealth}, or `Current`.
   */
  async health(refs: readonly ObjectRef[], options: TargetCallOptions): Promise<HealthReport> {
    checkSignal(options.signal);
    const objects = refs.map((ref): ObjectHealth => {
      const live = this.#store.get(this.#key(ref));
      if (!live) return { ref, status: 'NotFound', message: DEFAULT_MESSAGES.NotFound };
      live.readings++;
      const outcome = this.#healthOf(live);
      const status = typeof outcome === 'string' ? outcome : outcome.status;
      const message = typeof outcome === 'string' ? undefined : outcome.message;
      return { ref, status, message: message ?? DEFAULT_MESSAGES[status] };
    });
    return summarizeHealth(objects);
  }

  /**
   * Every live object carrying our owner label, whether an inventory names it or not: what the
   * reconciler recovers its inventory from when the stored state is lost.
   */
  async listOwned(options: TargetCallOptions): Promise<readonly ObjectRef[]> {
    checkSignal(options.signal);
    return [...this.#store.values()]
      .map((entry) => entry.object)
      .filter((o) => o.metadata.labels?.[OWNER_LABEL] === this.owner)
      .map(refOf);
  }

  /** Calls `onDrift` whenever a hand change makes an applied object differ from what was applied. */
  watchDrift(onDrift: (notice: DriftNotice) => void): () => void {
    const listener = (notice: DriftNotice): void => onDrift(notice);
    this.#watchers.add(listener);
    return () => this.#watchers.delete(listener);
  }

  /** Writes the given objects again as last applied, when they still drift (a deleted one is created). */
  async repair(refs: readonly ObjectRef[], options: TargetCallOptions): Promise<RepairResult> {
    const repaired: ObjectRef[] = [];
    for (const ref of refs) {
      checkSignal(options.signal);
      const key = this.#key(ref);
      const desired = this.#desired.get(key);
      if (!desired || this.#driftOf(key) === undefined) continue;
      this.#write(ref, this.#keepOthers(desired));
      repaired.push(ref);
    }
    return { repaired, writes: repaired.length };
  }

  // ---------------------------------------------------------------- simulation hooks

  /**
   * Changes a live object by hand, as someone with kubectl would: `mutate` gets a copy and may
   * change it in place or return a replacement. Throws when the object does not exist.
   */
  edit<T extends KubeObject = KubeObject>(ref: ObjectRef, mutate: (draft: T) => void): KubeObject {
    const key = this.#key(ref);
    const live = this.#store.get(key);
    if (!live) throw new Error(`FakeCluster.edit: ${formatRef(ref)} does not exist`);
    const draft = structuredClone(live.object) as T;
    // A function typed to return nothing may still return a replacement object.
    const returned: unknown = mutate(draft);
    const next = isRecord(returned) ? (returned as KubeObject) : draft;
    live.object = this.#stamp(next, live.object);
    live.readings = 0;
    this.#notify(key, false);
    return structuredClone(live.object);
  }

  /** Creates or replaces an object by hand (not owned unless it carries the owner label). */
  add(object: KubeObject): KubeObject {
    const normalized = this.normalize(object);
    const key = refKey(refOf(normalized));
    const existing = this.#store.get(key);
    const stamped = this.#stamp(normalized, existing?.object);
    this.#store.set(key, { object: stamped, applied: existing?.applied, readings: 0 });
    this.#notify(key, false);
    return structuredClone(stamped);
  }

  /** Deletes an object by hand; returns whether it existed. */
  remove(ref: ObjectRef): boolean {
    const key = this.#key(ref);
    const existed = this.#store.delete(key);
    if (existed) this.#notify(key, true);
    return existed;
  }

  /**
   * Sets how health readings report the selected objects (a reference, a kind, or a predicate).
   * Newer rules win over older ones; {@link clearHealth} removes them all.
   */
  setHealth(selector: HealthSelector, rule: HealthRule): void {
    this.#healthRules.push({ matches: this.#selectorMatcher(selector), rule });
  }

  /** Removes every health rule: every existing object is `Current` again. */
  clearHealth(): void {
    this.#healthRules.length = 0;
  }

  /** Makes {@link validate} report `message` for this object. */
  failValidation(ref: ObjectRef, message: string): void {
    this.#validationFailures.set(this.#key(ref), message);
  }

  /** Makes {@link apply} throw `ApplyError` with `message` when it comes to write this object. */
  failApply(ref: ObjectRef, message: string): void {
    this.#applyFailures.set(this.#key(ref), message);
  }

  /** Makes {@link prune} report the delete of this object as failed. */
  failDelete(ref: ObjectRef, message = 'delete refused (simulated)'): void {
    this.#deleteFailures.set(this.#key(ref), message);
  }

  /** Removes every failure registered with `failValidation`, `failApply` and `failDelete`. */
  clearFailures(): void {
    this.#validationFailures.clear();
    this.#applyFailures.clear();
    this.#deleteFailures.clear();
  }

  // ---------------------------------------------------------------- reading

  /** A copy of the live object, or undefined. A reference without namespace takes the default one. */
  get(ref: ObjectRef): KubeObject | undefined {
    const live = this.#store.get(this.#key(ref));
    return live ? structuredClone(live.object) : undefined;
  }

  /** Copies of the live objects, optionally only of one kind and/or namespace, in creation order. */
  list(filter: { readonly kind?: string; readonly namespace?: string } = {}): KubeObject[] {
    return [...this.#store.values()]
      .map((entry) => entry.object)
      .filter((o) => filter.kind === undefined || o.kind === filter.kind)
      .filter((o) => filter.namespace === undefined || o.metadata.namespace === filter.namespace)
      .map((o) => structuredClone(o));
  }

  /** How many objects exist. */
  get size(): number {
    return this.#store.size;
  }

  /** Every write and delete so far, in order: assert on it to prove nothing was written. */
  get operations(): readonly ClusterOperation[] {
    return [...this.#operations];
  }

  /** Forgets the operation log (the objects stay). */
  clearOperations(): void {
    this.#operations.length = 0;
  }

  /** Whether a namespace exists: a built-in one, the default one, or a `Namespace` object. */
  namespaceExists(name: string): boolean {
    if (name === this.defaultNamespace || BUILT_IN_NAMESPACES.includes(name)) return true;
    return this.#store.has(refKey({ apiVersion: 'v1', kind: 'Namespace', name }));
  }

  /** Whether objects of a kind have no namespace. */
  isClusterScoped(kind: string): boolean {
    return this.#clusterScoped.has(kind);
  }

  /**
   * A copy of an object as this cluster stores it: namespaced objects without a namespace get the
   * default one; cluster-scoped objects lose any namespace.
   */
  normalize(object: KubeObject): KubeObject {
    const copy = structuredClone(object);
    if (this.isClusterScoped(copy.kind)) delete copy.metadata.namespace;
    else if (!copy.metadata.namespace) copy.metadata.namespace = this.defaultNamespace;
    return copy;
  }

  // ---------------------------------------------------------------- internals

  #key(ref: ObjectRef): string {
    if (this.isClusterScoped(ref.kind)) return refKey({ ...ref, namespace: undefined });
    return refKey({ ...ref, namespace: ref.namespace || this.defaultNamespace });
  }

  #withOwner(object: KubeObject): KubeObject {
    return {
      ...object,
      metadata: { ...object.metadata, labels: { ...object.metadata.labels, [OWNER_LABEL]: this.owner } },
    };
  }

  /**
   * The fields of `desired` left to others, as pointers: those the ignore rules name, and with
   * `Merge` those someone else changed since we applied them (a real server knows them from
   * managed fields; here, a live value that differs from what we applied).
   */
  #keptPointers(desired: KubeObject, live: LiveEntry | undefined, used: number[]): string[] {
    const ignored = resolveIgnored(this.#ignore, desired, live?.object);
    used.push(...ignored.used);
    const kept = new Set(ignored.desired);
    if (live?.applied && applyPolicyOf(desired) === 'Merge') {
      for (const change of diffValues(live.applied, projectOnto(live.object, live.applied)))
        kept.add(change.path);
    }
    return [...kept];
  }

  /** The body to write: on an existing object, the fields left to others take their live values. */
  #keepOthers(desired: KubeObject): KubeObject {
    const live = this.#store.get(this.#key(refOf(desired)));
    if (!live) return desired;
    let body = desired;
    for (const pointer of this.#keptPointers(desired, live, [])) {
      const value = valueAt(live.object, pointer);
      body = value === undefined ? withoutPointers(body, [pointer]) : withValueAt(body, pointer, value);
    }
    return body;
  }

  /** What the next plan would set back on an applied object (empty array: deleted), or undefined. */
  #driftOf(key: string): FieldChange[] | undefined {
    const desired = this.#desired.get(key);
    if (!desired) return undefined;
    const policy = applyPolicyOf(desired);
    if (policy === 'Ignore') return undefined;
    const live = this.#store.get(key);
    if (!live) return [];
    if (policy === 'IfNotPresent') return undefined;
    const kept = this.#keptPointers(desired, live, []);
    const managed = projectOnto(live.object, unionShape(live.applied ?? {}, desired));
    const changes = diffObjects(withoutPointers(managed, kept), withoutPointers(desired, kept));
    return changes.length > 0 ? changes : undefined;
  }

  /** Tells the watchers about a hand change of an applied object that the next plan would revert. */
  #notify(key: string, deleted: boolean): void {
    if (this.#watchers.size === 0) return;
    const changes = this.#driftOf(key);
    const desired = this.#desired.get(key);
    if (changes === undefined || !desired) return;
    const notice: DriftNotice = { ref: refOf(desired), deleted, changedBy: 'fake-cluster', changes };
    for (const watcher of this.#watchers) watcher(notice);
  }

  #applyProblem(ref: ObjectRef): string | undefined {
    const injected = this.#applyFailures.get(this.#key(ref));
    if (injected !== undefined) return injected;
    if (ref.namespace !== undefined && !this.namespaceExists(ref.namespace)) {
      return `namespace "${ref.namespace}" not found`;
    }
    return undefined;
  }

  #write(ref: ObjectRef, desired: KubeObject): void {
    const key = this.#key(ref);
    const existing = this.#store.get(key);
    // `Replace=true` (Argo CD's `kubectl replace`): the object becomes the manifest, fields other
    // writers set are gone; status stays, as a PUT to the main resource leaves it.
    const status = existing?.object.status;
    const merged = replaces(desired)
      ? (structuredClone({ ...desired, ...(status === undefined ? {} : { status }) }) as KubeObject)
      : (applyMerge(existing?.object, existing?.applied, desired) as KubeObject);
    if (existing && jsonEqual(merged, existing.object)) {
      // A server-side apply that changes nothing leaves the object and its resourceVersion as
      // they are (so applying the same plan twice changes nothing): the request still counts.
      this.#store.set(key, { ...existing, applied: structuredClone(desired) });
      this.#operations.push({ op: 'apply', ref });
      return;
    }
    this.#store.set(key, {
      object: this.#stamp(merged, existing?.object),
      applied: structuredClone(desired),
      readings: 0,
    });
    this.#operations.push({ op: 'apply', ref });
  }

  /** Fills the fields a server sets: uid, creationTimestamp, resourceVersion and generation. */
  #stamp(next: KubeObject, previous: KubeObject | undefined): KubeObject {
    const object = structuredClone(next);
    const before = previous?.metadata;
    const specChanged = !previous || !jsonEqual(withoutMetaAndStatus(previous), withoutMetaAndStatus(object));
    const generation = typeof before?.generation === 'number' ? before.generation : 0;
    object.metadata.uid = before?.uid ?? `fake-uid-${++this.#uid}`;
    object.metadata.creationTimestamp =
      before?.creationTimestamp ?? new Date(this.#clock.now()).toISOString().replace(/\.\d{3}Z$/, 'Z');
    object.metadata.resourceVersion = String(++this.#resourceVersion);
    object.metadata.generation = specChanged ? generation + 1 : generation;
    return object;
  }

  #healthOf(live: LiveEntry): HealthOutcome {
    for (let i = this.#healthRules.length - 1; i >= 0; i--) {
      const { matches, rule } = this.#healthRules[i] as RegisteredRule;
      if (!matches(live.object)) continue;
      const outcome = typeof rule === 'function' ? rule(structuredClone(live.object), live.readings) : rule;
      if (outcome !== undefined) return outcome;
    }
    return 'Current';
  }

  #selectorMatcher(selector: HealthSelector): (object: KubeObject) => boolean {
    if (typeof selector === 'function') return selector;
    if (typeof selector === 'string') return (object) => object.kind === selector;
    const key = this.#key(selector);
    return (object) => refKey(refOf(object)) === key;
  }
}

/** `argocd.argoproj.io/sync-options: Replace=true` (a malformed annotation was refused by the renderer). */
function replaces(object: KubeObject): boolean {
  try {
    return readSyncOptions(object.metadata.annotations ?? {}, {}).replace;
  } catch {
    return false;
  }
}

function withoutMetaAndStatus(object: KubeObject): Record<string, unknown> {
  const { metadata: _metadata, status: _status, ...rest } = object;
  return rest;
}

function locationOf(object: PlannedObject): ErrorLocation {
  const { origin } = object.manifest;
  return {
    file: origin.file,
    documentIndex: origin.documentIndex,
    line: origin.line,
    object: formatRef(object.ref),
  };
}

function checkSignal(signal: AbortSignal): void {
  if (signal.aborted) throw abortReason(signal);
}

/** Why prune leaves an object by its annotations (lifecycle or apply policy), or undefined. */
function keptReason(object: KubeObject): string | undefined {
  return keptByAnnotation(object.metadata.annotations) ?? keptByApplyPolicy(object);
}
