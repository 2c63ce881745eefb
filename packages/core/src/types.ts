/**
 * The contracts of gitops-kit. Core knows nothing of Git, S3 or Kubernetes: a Source gives an
 * Artifact, a Renderer turns it into Manifests, a Target plans, applies, prunes and reports health,
 * and a StateStore keeps the inventory between processes. Everything here is plain data.
 */

import type { ErrorLocation } from './errors.js';
import type { UnusedIgnoreRule } from './kube/ignore-rules.js';
import type { ReconcilerEventName, ReconcilerListener } from './reconciler/events.js';
import type { ObjectRef } from './refs.js';

/** Object metadata: the fields gitops-kit reads; everything else passes through untouched. */
export interface ObjectMeta {
  /** The object's name (required: gitops-kit reconciles objects with a stable identity). */
  name: string;
  /** The namespace; absent for cluster-scoped objects and for namespaced ones that take the target's default. */
  namespace?: string;
  /** Labels, as Kubernetes stores them. */
  labels?: Record<string, string>;
  /** Annotations, as Kubernetes stores them. */
  annotations?: Record<string, string>;
  [field: string]: unknown;
}

/** A Kubernetes-style object as rendered: `apiVersion`, `kind`, `metadata` and any other fields. */
export interface KubeObject {
  /** `group/version`, or `v1` for the core group. */
  apiVersion: string;
  /** The kind, such as `Deployment`. */
  kind: string;
  /** Name, namespace, labels, annotations and whatever else the object's metadata holds. */
  metadata: ObjectMeta;
  [field: string]: unknown;
}

/** Where a manifest came from, so every error can point at it. */
export interface ManifestOrigin {
  /** Path relative to the artifact root, with `/` separators. */
  readonly file: string;
  /** Zero-based index of the document inside the file (multi-document YAML, or a `List` item). */
  readonly documentIndex: number;
  /** One-based line of the document's (or item's) first line. */
  readonly line: number;
}

/** One desired object and its origin. */
export interface Manifest {
  /** The object as rendered. */
  readonly object: KubeObject;
  /** The file, document and line it came from. */
  readonly origin: ManifestOrigin;
}

/** Audit-trail metadata of an artifact. */
export interface ArtifactMeta {
  /** Who made the change (`Name <email>` for Git, the uploader for S3). */
  readonly author?: string;
  /** Who committed it, when it differs from the author (Git). */
  readonly committer?: string;
  /** The commit message or an equivalent note. */
  readonly message?: string;
  /** When the change was made, ISO 8601. */
  readonly time?: string;
  /** Whether the revision's signature was verified; absent when verification is off. */
  readonly verified?: boolean;
  /** Who signed it, when verified (key id or user id). */
  readonly signer?: string;
  /** Where it came from, without credentials (a URL, a bucket, a folder). */
  readonly origin?: string;
}

/** An immutable snapshot of the desired state on local disk. */
export interface Artifact {
  /** A revision people can read: `main@sha1:<commit>`, `sha256:<digest>`. */
  readonly revision: string;
  /** A digest of the content: same revision and digest means nothing to render again. */
  readonly digest: string;
  /** Absolute path of the folder holding the files. Treat it as read-only. */
  readonly dir: string;
  /** Audit-trail metadata: author, message, time, signature. */
  readonly meta: ArtifactMeta;
}

/** What a change notification (a webhook, a bucket event) says about where something changed. */
export interface SourceChange {
  /** Repository or endpoint URL, without credentials. */
  readonly url?: string;
  /** Branch or tag name, or a full ref (`refs/heads/main`). */
  readonly ref?: string;
  /** Bucket name for object stores. */
  readonly bucket?: string;
}

/** Options for {@link Source.fetch}. */
export interface FetchOptions {
  /** Aborts the fetch: the source stops its network and disk work and rejects with the reason. */
  readonly signal: AbortSignal;
  /** The artifact the previous fetch produced: a source may return it again when nothing changed. */
  readonly previous?: Artifact | undefined;
}

/** Something that produces artifacts: a Git repository, a bucket, a folder, memory. */
export interface Source {
  /** A description without credentials, for logs and status (`git https://host/repo.git@main`). */
  readonly description: string;
  /** Fetches the current artifact. Throws a `SourceError` when it cannot. */
  fetch(options: FetchOptions): Promise<Artifact>;
  /**
   * Optional: fetches the artifact of an earlier revision, exactly as {@link fetch} returned it then
   * (Git: that commit; S3: the object versions of that time; memory: that commit). The reconciler
   * uses it to roll back after a restart, for `rollbackTo` and for `reconcile({ revision })`. Throws a
   * `SourceError` with code `SOURCE_REVISION_UNAVAILABLE` when the revision cannot be served any more
   * (a force-pushed commit, expired object versions, a folder source, which keeps no history).
   */
  fetchRevision?(revision: string, options: FetchOptions): Promise<Artifact>;
  /** Whether a change notification concerns this source (used by webhook receivers). */
  matches?(change: SourceChange): boolean;
  /**
   * Optional: the reconciler will not read `artifact` again, because a fetch gave another one
   * (another folder) in its place. A source that keeps artifacts on disk may delete it now (for
   * example `ArtifactStore.remove`). Called once per replaced artifact, never for the current one,
   * without waiting for it; what it throws is ignored. A source shared by several reconcilers is
   * told by each of them: delete only what none of them still holds.
   */
  release?(artifact: Artifact): Promise<void>;
}

/** What a cluster serves, as Helm's `.Capabilities` reads it (`--kube-version`, `--api-versions`). */
export interface ClusterCapabilities {
  /** The server's version, `v1.32.13` or `1.32.13`. */
  readonly kubeVersion: string;
  /** Every served `group/version` and `group/version/Kind` (core group: `v1`, `v1/Pod`). */
  readonly apiVersions: readonly string[];
}

/** Options for {@link Renderer.render}. */
export interface RenderOptions {
  /** Aborts the render (tools are killed). */
  readonly signal: AbortSignal;
  /**
   * The target cluster's version and API versions, when the reconciler's target offers them
   * ({@link Target.capabilities}): Helm passes them as `--kube-version` and `--api-versions`.
   */
  readonly capabilities?: ClusterCapabilities | undefined;
}

/** Turns an artifact into manifests: raw YAML, Kustomize, Helm, or your own. */
export interface Renderer {
  /** A short name for logs and status (`raw`, `kustomize`, `helm`). */
  readonly name: string;
  /** Renders the artifact. Throws a `RenderError` naming the file, document and line. */
  render(artifact: Artifact, options: RenderOptions): Promise<Manifest[]>;
  /**
   * A key for the renderer's options and tool version. With the artifact digest it keys the render
   * cache; return the same key only when the output for the same artifact would be the same.
   */
  cacheKey?(options: RenderOptions): Promise<string>;
  /**
   * Optional: whether the renderer reads `RenderOptions.capabilities` (Helm does). The reconciler
   * asks the target for the cluster's capabilities only for such renderers, so raw and Kustomize
   * passes cost no discovery requests.
   */
  readonly usesClusterCapabilities?: boolean;
}

/** One object owned by a reconciler, with the digest of what was applied. */
export interface InventoryEntry {
  /** The object, with the namespace the target used. */
  readonly ref: ObjectRef;
  /** Digest of the desired object as last applied (see `digestObject`). */
  readonly digest: string;
  /**
   * Its sync wave when applied, for sets with waves (prune goes highest wave first, as in Argo CD);
   * absent for wave 0 and for sets without lifecycle annotations.
   */
  readonly wave?: number;
  /** `argocd.argoproj.io/sync-options: PruneLast=true` when applied: pruned after every other object. */
  readonly pruneLast?: boolean;
}

/** The objects a reconciler owns, in apply order. */
export interface Inventory {
  /** One entry per owned object. */
  readonly entries: readonly InventoryEntry[];
}

/** What a plan will do to one object. */
export type ChangeAction = 'create' | 'update' | 'unchanged';

/** One changed field. Values of secrets are masked by the target before they get here. */
export interface FieldChange {
  /** A JSON-pointer-like path: `/spec/replicas`, `/data/password`. */
  readonly path: string;
  /** The live value; absent when the field is added. */
  readonly before?: unknown;
  /** The desired value; absent when the field is removed. */
  readonly after?: unknown;
}

/**
 * Where a planned object runs in a pass (Argo CD sync phases and waves, Helm hooks; see the core
 * README's "Phases, waves and hooks").
 */
export interface PlannedLifecycle {
  /** The first phase it runs in, or undefined when it does not run in this pass (`notRun` says why). */
  readonly phase: 'PreSync' | 'Sync' | 'PostSync' | 'SyncFail' | 'PreDelete' | 'PostDelete' | undefined;
  /** Its wave inside the phase (lower first). */
  readonly wave: number;
  /** A hook: applied in its phase, waited for, deleted by its policy, never in the prunable inventory. */
  readonly hook: boolean;
  /** Its name was generated for this pass from `metadata.generateName`. */
  readonly generatedName?: boolean;
  /** Why it does not run in this pass (a hook of another operation, `Skip`), when it does not. */
  readonly notRun?: string;
}

/** One desired object in a plan. */
export interface PlannedObject {
  /** The reference with the namespace the target will use (defaults applied). */
  readonly ref: ObjectRef;
  /** Whether the object is created, updated or left as it is. */
  readonly action: ChangeAction;
  /** The desired object and where it came from. */
  readonly manifest: Manifest;
  /** Digest of the desired object (stored in the inventory after apply). */
  readonly digest: string;
  /** True when the live object differs from what we last applied although the desired state did not change. */
  readonly drifted: boolean;
  /** Field-level changes from live to desired (empty for `unchanged`). */
  readonly changes: readonly FieldChange[];
  /**
   * The live object as the target last read it, when it exists (for printable diffs). Not masked:
   * printers mask secret values themselves.
   */
  readonly live?: KubeObject | undefined;
  /** Its phase and wave in the pass, set by the reconciler's plan (targets leave it out). */
  readonly lifecycle?: PlannedLifecycle | undefined;
  /**
   * Fields left alone by ignore rules or the object's apply policy (`Merge`), as JSON pointers
   * into the desired and the live object: not compared, not printed, not sent (see `IgnoreRule`).
   */
  readonly ignored?:
    | {
        /** Pointers into the desired object. */
        readonly desired: readonly string[];
        /** Pointers into the live object (list items at their live position). */
        readonly live: readonly string[];
      }
    | undefined;
}

/** What a reconcile would change, as a value: print it, test it, or apply it. */
export interface Plan {
  /** Every desired object in apply order. */
  readonly objects: readonly PlannedObject[];
  /** The objects that do not exist yet. */
  readonly create: readonly PlannedObject[];
  /** The objects whose live state differs from the desired state. */
  readonly update: readonly PlannedObject[];
  /** The objects that need no write. */
  readonly unchanged: readonly PlannedObject[];
  /** The updates caused by drift (a subset of `update`). */
  readonly drifted: readonly PlannedObject[];
  /** Inventory entries missing from the desired set, in delete order (reverse of apply order). */
  readonly prune: readonly InventoryEntry[];
  /** Ignore rules the target was given that matched no field of any object (a typo, a stale rule). */
  readonly unusedIgnoreRules?: readonly UnusedIgnoreRule[] | undefined;
}

/** Options for {@link Target.plan}. */
export interface PlanOptions {
  /** Aborts the live reads. */
  readonly signal: AbortSignal;
}

/** Options for the writing calls of a {@link Target}. */
export interface TargetCallOptions {
  /** Aborts the call; writes already made stay made and are reported. */
  readonly signal: AbortSignal;
}

/** Options for {@link Target.health}. */
export interface HealthOptions extends TargetCallOptions {
  /**
   * Objects among the refs that are hooks: they are read by whether they ran to completion (Job
   * `Complete`, Pod `Succeeded`, see `hookCompletion`) rather than by health rules, which call a
   * failed Pod `Current`. Targets that do not know the option read them by health rules.
   */
  readonly hooks?: readonly ObjectRef[];
}

/** What {@link Target.apply} did. */
export interface ApplyResult {
  /** Every desired object, now owned, with the digest applied: the next inventory. */
  readonly applied: readonly InventoryEntry[];
  /** How many write requests were made (0 when everything was unchanged). */
  readonly writes: number;
}

/** What {@link Target.prune} did. */
export interface PruneResult {
  /** The objects deleted. */
  readonly deleted: readonly ObjectRef[];
  /** Left in place and released from the inventory (kept by annotation, or no longer ours). */
  readonly skipped: readonly {
    /** The object left in place. */
    readonly ref: ObjectRef;
    /** Why it was left. */
    readonly reason: string;
  }[];
  /** Deletes that failed: these entries stay in the inventory and are tried again next time. */
  readonly failed: readonly {
    /** The entry that could not be deleted. */
    readonly entry: InventoryEntry;
    /** Why (the server's message, without secrets). */
    readonly message: string;
  }[];
}

/** Health of an object, after kstatus. */
export type HealthStatus = 'Current' | 'InProgress' | 'Failed' | 'Terminating' | 'NotFound' | 'Unknown';

/** Health of one object. */
export interface ObjectHealth {
  /** The object read. */
  readonly ref: ObjectRef;
  /** Its status after the kstatus rules (or a custom check). */
  readonly status: HealthStatus;
  /** Why, in words (`2 of 3 replicas ready`). */
  readonly message: string;
}

/** Health of a set: `Failed` if any failed, `Current` if all are current, else `InProgress`. */
export interface HealthReport {
  /** The status of the whole set. */
  readonly status: 'Current' | 'InProgress' | 'Failed';
  /** Each object's health, in the order asked. */
  readonly objects: readonly ObjectHealth[];
}

/** Where desired state goes: a cluster, a fake cluster, or your own system. */
export interface Target {
  /** A short name for logs and status (`kubernetes`, `fake-cluster`). */
  readonly name: string;
  /** Compares the desired set with the live state and the inventory. Writes nothing. */
  plan(manifests: readonly Manifest[], inventory: Inventory, options: PlanOptions): Promise<Plan>;
  /** Validates the whole plan (for example a server-side dry-run). Throws `ValidationError`; writes nothing. */
  validate(plan: Plan, options: TargetCallOptions): Promise<void>;
  /** Writes the plan's objects. On failure throws `ApplyError` listing what was written. */
  apply(plan: Plan, options: TargetCallOptions): Promise<ApplyResult>;
  /** Deletes the given inventory entries (only objects that still carry our ownership mark). */
  prune(entries: readonly InventoryEntry[], options: TargetCallOptions): Promise<PruneResult>;
  /** One health reading of the given objects. The reconciler polls it while it waits. */
  health(refs: readonly ObjectRef[], options: HealthOptions): Promise<HealthReport>;
  /**
   * Optional: every live object that carries this target's ownership mark, whether an inventory
   * names it or not. The reconciler asks when the stored state is missing, emptied, unreadable or was
   * replaced behind its back, and adds what it finds to the inventory (as prune candidates when the
   * set lacks them), so a lost state object is never taken for a first run. Targets that cannot
   * answer leave it out; the reconciler then trusts the store alone.
   */
  listOwned?(options: TargetCallOptions): Promise<readonly ObjectRef[]>;
  /**
   * The identity the target's ownership mark carries (default: `name`). The reconciler recovers a
   * lost inventory through {@link listOwned} only when this equals its own name: a mark shared by
   * several reconcilers (one target name used by two of them, or a fixed owner) cannot tell whose
   * objects are whose, and adopting a neighbour's objects would prune them.
   */
  readonly owner?: string;
  /**
   * Optional: the cluster's version and API versions (from discovery). The reconciler passes them
   * to the renderer on every render (`RenderOptions.capabilities`), as Argo CD passes
   * `--kube-version` and `--api-versions` to Helm; a target that cannot tell leaves it out.
   */
  capabilities?(options: TargetCallOptions): Promise<ClusterCapabilities>;
  /**
   * Whether the target was configured to watch what it applied (reconcilers then watch by default,
   * see {@link watchDrift}).
   */
  readonly watch?: boolean;
  /**
   * Optional: watches the objects the target last applied and calls `onDrift` soon after someone
   * else changes or deletes one in a way the next plan would revert (fields left to others by
   * ignore rules or policies are no drift). Returns the function that stops watching. A reconciler
   * with `watch` subscribes once started and answers each notice with {@link repair}, queued with
   * its passes.
   */
  watchDrift?(onDrift: (notice: DriftNotice) => void): () => void;
  /**
   * Optional: applies the given objects again as last applied, without a full pass (no fetch,
   * render or prune). Objects no longer drifted are left alone.
   */
  repair?(refs: readonly ObjectRef[], options: TargetCallOptions): Promise<RepairResult>;
  /**
   * Optional: called once by each Reconciler built with this target, so the target can subscribe
   * to its events (KubernetesTarget writes Kubernetes Events for outcomes regarding the state object).
   */
  observe?(reconciler: ObservedReconciler): void;
}

/** What {@link Target.watchDrift} reports: one object changed or deleted by someone else. */
export interface DriftNotice {
  /** The object. */
  readonly ref: ObjectRef;
  /** True when it was deleted. */
  readonly deleted: boolean;
  /** Who changed it, as far as the target can tell (the field manager of the newest change). */
  readonly changedBy?: string | undefined;
  /** The fields the next plan would set back (masked for Secrets), empty for a deletion. */
  readonly changes: readonly FieldChange[];
}

/** What {@link Target.repair} did. */
export interface RepairResult {
  /** The objects written again. */
  readonly repaired: readonly ObjectRef[];
  /** How many write requests were made. */
  readonly writes: number;
}

/** What a Reconciler hands to {@link Target.observe}: its name, its state store and its events. */
export interface ObservedReconciler {
  /** The reconciler's name (the key of its state in the store). */
  readonly name: string;
  /** Where the reconciler keeps its state (and inventory). */
  readonly stateStore: StateStore;
  /** Adds an event listener (see the Reconciler's events). */
  on<K extends ReconcilerEventName>(event: K, listener: ReconcilerListener<K>): unknown;
}

/** The outcome of one reconcile, as stored in history. */
export type ReconcileOutcome = 'succeeded' | 'failed' | 'rolledBack' | 'skipped';

/** One entry of the audit trail. */
export interface HistoryEntry {
  /** The revision the pass worked on. */
  readonly revision: string;
  /** The artifact's content digest. */
  readonly digest: string;
  /** The change's author, from the artifact metadata. */
  readonly author?: string;
  /** The change's message, from the artifact metadata. */
  readonly message?: string;
  /** How the pass ended. */
  readonly outcome: ReconcileOutcome;
  /** Why it failed or was rolled back, when it did. */
  readonly reason?: string;
  /** ISO 8601 start time. */
  readonly startedAt: string;
  /** How long the pass took. */
  readonly durationMs: number;
  /**
   * `drift` for a drift correction (its own entry, listing what drifted, next to the pass that
   * reverted it); absent for the outcome of a pass.
   */
  readonly kind?: 'drift';
  /** Why the pass failed or was rolled back: the error's code, stage, message and location. */
  readonly cause?: HistoryCause;
  /** A drift entry: the objects that were changed on the target and written back. */
  readonly drifted?: readonly ObjectRef[];
}

/** The cause of a history entry's outcome; it never holds a credential or a Secret value. */
export interface HistoryCause {
  /** The error's stable code (`VALIDATION_FAILED`, `HEALTH_FAILED`, ...). */
  readonly code: string;
  /** The error's stage (`source`, `render`, `validation`, `apply`, `prune`, `health`, ...). */
  readonly stage: string;
  /** The error's message, bounded. */
  readonly message: string;
  /** File, line, document and object, where known. */
  readonly location?: ErrorLocation;
  /** The objects at fault (of a failed health check or a rollback), with their status and reason. */
  readonly objects?: readonly HistoryCauseObject[];
}

/** One object named by a {@link HistoryCause}. */
export interface HistoryCauseObject {
  /** The object, when known as a reference (health readings). */
  readonly ref?: ObjectRef;
  /** Its manifest's file, line and object name, when known (validation and apply issues). */
  readonly location?: ErrorLocation;
  /** Its health status, for health causes. */
  readonly status?: string;
  /** Why, in words. */
  readonly message: string;
}

/** What a reconciler persists between processes. */
export interface StoredState {
  /** The objects the reconciler owns. */
  readonly inventory: Inventory;
  /** The revision last applied. */
  readonly lastAppliedRevision?: string;
  /** The revision last seen healthy: what a rollback goes back to. */
  readonly lastHealthyRevision?: string;
  /** The audit trail, newest first (bounded). */
  readonly history?: readonly HistoryEntry[];
  /**
   * Hook objects written and not yet deleted by their policy, by `hookKey` (a generated name is
   * recorded before the object is created). Hooks are not in the prunable inventory; this record is
   * how delete policies find them after a restart, and how a hook written just before a crash is
   * never lost track of.
   */
  readonly hooks?: Readonly<Record<string, readonly ObjectRef[]>>;
  /**
   * A revision applied by `rollbackTo` and held: while the source still returns `sourceRevision`,
   * passes apply `revision`; a new source revision or `release()` ends the hold.
   */
  readonly pinned?: {
    /** The revision held. */
    readonly revision: string;
    /** What the source served when the hold began: a different revision ends it. */
    readonly sourceRevision: string;
  };
}

/** Options for {@link StateStore} calls. */
export interface StateStoreOptions {
  /** Aborts the read or write. */
  readonly signal?: AbortSignal;
}

/** Keeps a reconciler's state (inventory first of all) so a restarted process resumes. */
export interface StateStore {
  /** The state saved under `key`, or undefined when there is none. Throws when it cannot be read. */
  load(key: string, options?: StateStoreOptions): Promise<StoredState | undefined>;
  /** Saves the state of `key`. */
  save(key: string, state: StoredState, options?: StateStoreOptions): Promise<void>;
  /**
   * Optional and cheap: whether the state under `key` is still the one this store last loaded or
   * saved (false when it was deleted or written by someone else). The reconciler asks once per pass
   * and loads again when it is not, so a deleted state object is written again and a changed one
   * is not overwritten blindly.
   */
  unchanged?(key: string, options?: StateStoreOptions): Promise<boolean>;
}

/** A Kubernetes-style condition. */
export interface Condition {
  /** The condition's type: `Ready`, `Reconciling`, `Stalled`, `Healthy`. */
  readonly type: string;
  /** Whether it holds. */
  readonly status: 'True' | 'False' | 'Unknown';
  /** A CamelCase reason for programs. */
  readonly reason: string;
  /** A sentence for people. */
  readonly message: string;
  /** ISO 8601; changes only when `status` changes. */
  readonly lastTransitionTime: string;
}
