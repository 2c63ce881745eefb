import { setMaxListeners } from 'node:events';
import {
  ApplyError,
  type ApplyResult,
  buildPlan,
  type Clock,
  ConflictError,
  digestObject,
  formatLocation,
  GitOpsError,
  groupOf,
  HealthError,
  type HealthReport,
  type Inventory,
  type InventoryEntry,
  type KubeObject,
  type Manifest,
  type ObjectHealth,
  type ObjectRef,
  type Plan,
  type PlannedObject,
  type PlanOptions,
  type PruneResult,
  pruneCandidates,
  refKey,
  refOf,
  sleep,
  summarizeHealth,
  systemClock,
  type Target,
  type TargetCallOptions,
  ValidationError,
  type ValidationIssue,
} from '@gitops-kit/core';
import { KubeConfig } from '@kubernetes/client-node';
import { creationChanges, diffDesired } from './compare.js';
import { builtinScope, Discovery, type ResourceInfo, resourcePath, UnknownKindError } from './discovery.js';
import { describeApiError, isConflictError, isImmutableError, K8sErrorCodes, locationOf } from './errors.js';
import { findCondition } from './health/fields.js';
import { assessHealth } from './health/index.js';
import type { CustomHealthChecks } from './health/types.js';
import { type Impersonation, isStatus, KubeApiError, KubeClient } from './kube-client.js';
import { removedFields } from './managed-fields.js';
import {
  isOwnedBy,
  isPruneDisabled,
  OWNER_ANNOTATION,
  OWNER_LABEL,
  ownerLabelValue,
  recreateAllowed,
} from './ownership.js';
import { mapAll, mapSettled } from './pool.js';
import {
  assertRestrictions,
  checkRestrictions,
  type Restrictions,
  VALIDATION_RESTRICTED,
} from './restrictions.js';
import { isCrd, isNamespace, type Stage, stageOf } from './stages.js';
import { ConfigMapStateStore, type ConfigMapStateStoreOptions } from './state-store.js';

/** How deletes propagate to dependants (`Background` by default). */
export type PropagationPolicy = 'Background' | 'Foreground' | 'Orphan';

/** Options for {@link KubernetesTarget}. */
export interface KubernetesTargetOptions {
  /** The owner's name: stored on every applied object and used as the target's name. */
  readonly name: string;
  /** Credentials and cluster; default: the default loading rules (`$KUBECONFIG`, `~/.kube/config`, in-cluster). */
  readonly kubeConfig?: KubeConfig | undefined;
  /** A ready client (tests, or to share counters); wins over `kubeConfig` and `impersonate`. */
  readonly client?: KubeClient | undefined;
  /** Act as this user and groups (`Impersonate-User`, `Impersonate-Group`). */
  readonly impersonate?: Impersonation | undefined;
  /** What this target may write; checked before any request. */
  readonly restrictions?: Restrictions | undefined;
  /** Server-side apply field manager (default `gitops-kit`). */
  readonly fieldManager?: string | undefined;
  /** Take fields owned by other managers (`force=true`, default true), which is how drift is reverted. */
  readonly force?: boolean | undefined;
  /** Namespace for namespaced objects that set none (default `default`). */
  readonly targetNamespace?: string | undefined;
  /** Requests in flight at once within a stage (default 16). */
  readonly concurrency?: number | undefined;
  /** Propagation policy of prune deletes (default `Background`). */
  readonly propagationPolicy?: PropagationPolicy | undefined;
  /**
   * Delete and create again an object whose change the apiserver refuses as immutable (default
   * false). The annotation `gitops-kit.dev/force: enabled|disabled` decides per object.
   */
  readonly recreateOnImmutable?: boolean | undefined;
  /** Custom health checks per kind, for {@link KubernetesTarget.health}. */
  readonly healthChecks?: CustomHealthChecks | undefined;
  /**
   * How live objects are listed: `cluster` one list per kind across namespaces, `namespace` one list
   * per kind and namespace, `auto` (default) cluster-wide unless `allowedNamespaces` restricts the
   * namespaces (a tenant usually may not list cluster-wide).
   */
  readonly listScope?: 'auto' | 'cluster' | 'namespace' | undefined;
  /** How long to wait for CRDs to be Established and Namespaces to exist (default 60 s). */
  readonly establishTimeoutMs?: number | undefined;
  /** Poll interval of those waits (default 200 ms). */
  readonly pollIntervalMs?: number | undefined;
  /** Time of those waits (default the system clock), injected so tests can pass a manual clock. */
  readonly clock?: Clock | undefined;
}

/** One desired object, resolved: what is sent, where, and in which stage. */
interface Prepared {
  readonly manifest: Manifest;
  readonly ref: ObjectRef;
  readonly info: ResourceInfo;
  /** The apply body: the manifest with the default namespace and our ownership marks. */
  readonly body: KubeObject;
  readonly digest: string;
  readonly stage: Stage;
  /** The kind is defined by a CRD of this set that the server does not serve yet. */
  readonly pending: boolean;
}

/** What the target remembers about a plan it made, between plan, validate and apply. */
interface PlanState {
  readonly byKey: Map<string, Prepared>;
  /** Objects the dry-run allowed to be deleted and created again (immutable changes). */
  readonly recreate: Set<string>;
  validated: boolean;
}

interface ListGroup {
  readonly info: ResourceInfo;
  /** Undefined for a cluster-wide list. */
  readonly namespace: string | undefined;
  readonly members: readonly { readonly ref: ObjectRef }[];
}

/** One object to read on its own. */
interface SingleRead {
  readonly info: ResourceInfo;
  readonly ref: ObjectRef;
}

const LIST_PAGE = 500;
/** Above this many objects missing from a labeled list, one unlabeled list is cheaper than GETs. */
const MAX_SINGLE_GETS = 8;

/**
 * A {@link Target} for Kubernetes: server-side apply in stages, validation by server-side dry-run,
 * inventory-based prune with ownership marks, drift detection that costs one list per kind, and
 * health by kstatus rules. Bodies are sent exactly as rendered (see {@link KubeClient}).
 */
export class KubernetesTarget implements Target {
  readonly name: string;
  /** The HTTP client; its `counters` tell how many requests and writes were made. */
  readonly client: KubeClient;
  readonly #discovery: Discovery;
  readonly #options: KubernetesTargetOptions;
  readonly #fieldManager: string;
  readonly #force: boolean;
  readonly #concurrency: number;
  readonly #clock: Clock;
  readonly #ownerLabel: string;
  readonly #plans = new WeakMap<Plan, PlanState>();

  constructor(options: KubernetesTargetOptions) {
    if (!options.name) throw new Error('KubernetesTarget needs a name');
    this.name = options.name;
    this.#options = options;
    this.client =
      options.client ??
      KubeClient.fromKubeConfig(options.kubeConfig ?? defaultKubeConfig(), {
        impersonate: options.impersonate,
        maxSockets: options.concurrency ?? 16,
      });
    this.#discovery = new Discovery(this.client);
    this.#fieldManager = options.fieldManager ?? 'gitops-kit';
    this.#force = options.force ?? true;
    this.#concurrency = options.concurrency ?? 16;
    this.#clock = options.clock ?? systemClock;
    this.#ownerLabel = ownerLabelValue(options.name);
  }

  /** A {@link ConfigMapStateStore} using this target's client (and so its credentials and counters). */
  stateStore(options: ConfigMapStateStoreOptions): ConfigMapStateStore {
    return new ConfigMapStateStore(this.client, { fieldManager: this.#fieldManager, ...options });
  }

  /**
   * Compares the desired set with the live objects and the inventory. Costs one list per kind (and
   * namespace, when lists are per namespace), plus single reads for objects missing from them.
   */
  plan(manifests: readonly Manifest[], inventory: Inventory, options: PlanOptions): Promise<Plan> {
    return scoped(options.signal, (signal) =>
      this.#plan(manifests, inventory, signal).catch((error: unknown) => {
        throw typed(
          error,
          signal,
          (message) => new ApplyError(K8sErrorCodes.ReadFailed, message, { cause: error }),
        );
      }),
    );
  }

  async #plan(manifests: readonly Manifest[], inventory: Inventory, signal: AbortSignal): Promise<Plan> {
    const prepared = await this.#prepare(manifests, signal);
    const live = await this.#readLive(prepared, signal);
    const stored = new Map(inventory.entries.map((entry) => [refKey(entry.ref), entry.digest]));
    const ordered = [...prepared].sort((a, b) => a.stage - b.stage);
    const objects: PlannedObject[] = ordered.map((item) => {
      const key = refKey(item.ref);
      const current = live.get(key);
      const previous = stored.get(key);
      const base = { ref: item.ref, manifest: item.manifest, digest: item.digest };
      if (!current) {
        return {
          ...base,
          action: 'create',
          drifted: previous !== undefined,
          changes: creationChanges(item.body),
        };
      }
      const changes = diffDesired(item.body, current);
      if (changes.length === 0 && previous === item.digest) {
        return { ...base, action: 'unchanged', drifted: false, changes: [], live: current };
      }
      // The desired object changed since the last apply (or we have no record of it): fields we
      // applied before and no longer declare will be removed, so they are changes too.
      const removed = previous === item.digest ? [] : removedFields(item.body, current, this.#fieldManager);
      if (changes.length === 0 && removed.length === 0 && isOwnedBy(current, this.name)) {
        // Already exactly as declared and marked as ours (an inventory lost or written elsewhere).
        return { ...base, action: 'unchanged', drifted: false, changes: [], live: current };
      }
      return {
        ...base,
        action: 'update',
        drifted: previous === item.digest && changes.length > 0,
        changes: [...changes, ...removed],
        live: current,
      };
    });
    const plan = buildPlan(
      objects,
      pruneCandidates(
        inventory,
        prepared.map((p) => p.ref),
      ),
    );
    this.#plans.set(plan, {
      byKey: new Map(prepared.map((p) => [refKey(p.ref), p])),
      recreate: new Set(),
      validated: false,
    });
    return plan;
  }

  /**
   * Validates every object the plan writes with a server-side dry-run, all at once, and reports every
   * refusal together, each naming its manifest. Objects that need something the plan creates first
   * (a Namespace, a CRD) are checked locally here and dry-run by {@link apply} once it exists.
   */
  validate(plan: Plan, options: TargetCallOptions): Promise<void> {
    return scoped(options.signal, async (signal) => {
      const state = await this.#stateOf(plan, signal);
      const writes = plan.objects.filter((o) => o.action !== 'unchanged');
      await this.#validateNow(writes, deferredKeys(writes, state), state, signal);
    });
  }

  /** Dry-runs the writes that need nothing the plan creates first, and marks the plan validated. */
  async #validateNow(
    writes: readonly PlannedObject[],
    deferred: ReadonlySet<string>,
    state: PlanState,
    signal: AbortSignal,
  ): Promise<void> {
    await this.#dryRun(
      writes.filter((o) => !deferred.has(refKey(o.ref))),
      state,
      signal,
    );
    state.validated = true;
  }

  /**
   * Applies the plan's created and updated objects in stages (CRDs, Namespaces and other cluster
   * definitions first, then `*Class` kinds, then the rest), waiting for CRDs to be Established and
   * Namespaces to exist between stages. Unchanged objects are not written.
   */
  apply(plan: Plan, options: TargetCallOptions): Promise<ApplyResult> {
    return scoped(options.signal, (signal) => this.#apply(plan, signal));
  }

  async #apply(plan: Plan, signal: AbortSignal): Promise<ApplyResult> {
    const state = await this.#stateOf(plan, signal);
    const writes = plan.objects.filter((o) => o.action !== 'unchanged');
    const deferred = deferredKeys(writes, state);
    if (!state.validated) await this.#validateNow(writes, deferred, state, signal);
    const written: InventoryEntry[] = [];
    const writesBefore = this.client.counters.writes;
    const appliedSoFar = (): InventoryEntry[] => {
      const done = new Set(written.map((e) => refKey(e.ref)));
      return plan.objects
        .filter((o) => o.action === 'unchanged' || done.has(refKey(o.ref)))
        .map((o) => ({ ref: o.ref, digest: o.digest }));
    };
    for (const stage of [0, 1, 2] as const) {
      const items = writes.filter((o) => this.#prepared(state, o).stage === stage);
      // Objects that waited for a Namespace or CRD are dry-run, all together, once stage 0 exists.
      const late = writes.filter(
        (o) =>
          deferred.has(refKey(o.ref)) &&
          (stage === 1
            ? this.#prepared(state, o).stage >= 1
            : this.#prepared(state, o).stage === 0 && stage === 0),
      );
      if (late.length > 0) {
        try {
          await this.#dryRun(late, state, signal);
        } catch (error) {
          const message = error instanceof Error ? error.message : String(error);
          throw new ApplyError(K8sErrorCodes.DryRunFailed, message, {
            cause: error,
            applied: appliedSoFar(),
          });
        }
      }
      const results = await mapSettled(items, this.#concurrency, async (object) => {
        const item = this.#prepared(state, object);
        const response = await this.#applyOne(item, state, signal);
        written.push({ ref: object.ref, digest: object.digest });
        return { item, response };
      });
      const failures: { object: PlannedObject; error: unknown }[] = [];
      results.forEach((result, i) => {
        if (result.status === 'rejected')
          failures.push({ object: items[i] as PlannedObject, error: result.reason });
      });
      if (failures.length > 0) {
        signal.throwIfAborted();
        const lines = failures.map(
          ({ object, error }) =>
            `${formatLocation(locationOf(object.manifest, object.ref))}: ${describeApiError(error)}`,
        );
        const code = failures.every((f) => isConflictError(f.error))
          ? K8sErrorCodes.FieldConflict
          : K8sErrorCodes.ApplyFailed;
        const first = failures[0] as { object: PlannedObject; error: unknown };
        throw new ApplyError(
          code,
          `${failures.length} object${failures.length === 1 ? '' : 's'} failed to apply:\n  ${lines.join('\n  ')}`,
          {
            cause: first.error,
            applied: appliedSoFar(),
            ...(failures.length === 1
              ? { location: locationOf(first.object.manifest, first.object.ref) }
              : {}),
          },
        );
      }
      if (stage === 0) {
        const applied = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
        try {
          await this.#waitEstablished(applied, signal);
        } catch (error) {
          if (error instanceof ApplyError || signal.aborted) throw error;
          throw new ApplyError(K8sErrorCodes.NotEstablished, describeApiError(error), {
            cause: error,
            applied: appliedSoFar(),
          });
        }
      }
    }
    return {
      applied: plan.objects.map((o) => ({ ref: o.ref, digest: o.digest })),
      writes: this.client.counters.writes - writesBefore,
    };
  }

  /**
   * Deletes inventory entries, in reverse stage order, only when the live object still carries our
   * ownership mark and is not kept by `gitops-kit.dev/prune: disabled`. Failed deletes are reported
   * (they stay in the inventory); objects outside the restrictions are left alone.
   */
  prune(entries: readonly InventoryEntry[], options: TargetCallOptions): Promise<PruneResult> {
    return scoped(options.signal, (signal) => this.#prune(entries, signal));
  }

  async #prune(entries: readonly InventoryEntry[], signal: AbortSignal): Promise<PruneResult> {
    const deleted: ObjectRef[] = [];
    const skipped: { ref: ObjectRef; reason: string }[] = [];
    const failed: { entry: InventoryEntry; message: string }[] = [];
    for (const stage of [2, 1, 0] as const) {
      const items = entries.filter((e) => stageOf(e.ref.apiVersion, e.ref.kind) === stage);
      await mapAll(items, this.#concurrency, async (entry) => {
        try {
          const outcome = await this.#pruneOne(entry, signal);
          if (outcome === 'deleted') deleted.push(entry.ref);
          else skipped.push({ ref: entry.ref, reason: outcome });
        } catch (error) {
          signal.throwIfAborted();
          failed.push({ entry, message: describeApiError(error) });
        }
      });
    }
    return { deleted, skipped, failed };
  }

  /**
   * One health reading of the given objects by kstatus rules: one list per kind (and namespace
   * when lists are per namespace), single reads only for objects missing from those lists.
   */
  health(refs: readonly ObjectRef[], options: TargetCallOptions): Promise<HealthReport> {
    return scoped(options.signal, (signal) =>
      this.#health(refs, signal).catch((error: unknown) => {
        throw typed(
          error,
          signal,
          (message) => new HealthError(K8sErrorCodes.HealthReadFailed, message, { cause: error }),
        );
      }),
    );
  }

  async #health(refs: readonly ObjectRef[], signal: AbortSignal): Promise<HealthReport> {
    const groups = new Map<string, { info: ResourceInfo | undefined; refs: ObjectRef[] }>();
    for (const ref of refs) {
      const key = `${ref.apiVersion}|${ref.kind}`;
      let group = groups.get(key);
      if (!group) {
        group = { info: undefined, refs: [] };
        groups.set(key, group);
      }
      group.refs.push(ref);
    }
    await mapAll([...groups.values()], this.#concurrency, async (group) => {
      const first = group.refs[0] as ObjectRef;
      group.info = await this.#discovery.lookup(first.apiVersion, first.kind, signal);
    });
    const live = new Map<string, KubeObject>();
    const listGroups: ListGroup[] = [];
    for (const group of groups.values()) {
      if (!group.info) continue;
      const info = group.info;
      listGroups.push(
        ...this.#listGroups(
          info,
          group.refs.map((ref) => ({ ref })),
        ),
      );
    }
    await this.#fetchLive(listGroups, live, signal);
    const objects: ObjectHealth[] = refs.map((ref) => {
      const object = live.get(refKey(ref));
      if (!object) {
        const served = groups.get(`${ref.apiVersion}|${ref.kind}`)?.info !== undefined;
        return {
          ref,
          status: 'NotFound',
          message: served ? 'object not found' : `kind ${ref.kind} is not served`,
        };
      }
      return { ref, ...assessHealth(object, { checks: this.#options.healthChecks }) };
    });
    return summarizeHealth(objects);
  }

  // ---- preparation ----

  /** Resolves, checks and marks every manifest. Restrictions are checked before any request. */
  async #prepare(manifests: readonly Manifest[], signal: AbortSignal): Promise<Prepared[]> {
    const issues: ValidationIssue[] = [];
    for (const manifest of manifests) {
      const o = manifest.object as Partial<KubeObject>;
      if (
        typeof o.apiVersion !== 'string' ||
        typeof o.kind !== 'string' ||
        typeof o.metadata?.name !== 'string'
      ) {
        issues.push({
          message: 'an object needs apiVersion, kind and metadata.name',
          location: {
            file: manifest.origin.file,
            line: manifest.origin.line,
            documentIndex: manifest.origin.documentIndex,
          },
        });
      }
    }
    if (issues.length > 0) throw new ValidationError(K8sErrorCodes.InvalidObject, issues);

    const crds = crdsOf(manifests);
    const defaultNamespace = this.#options.targetNamespace ?? 'default';
    const restrictions = this.#options.restrictions;

    // Restrictions first, from what is known without asking the server: the kind rules always,
    // the namespace and scope rules where the scope is known (built-in kinds, CRDs of the set).
    if (restrictions) {
      const kindRules: Restrictions = {
        allowedKinds: restrictions.allowedKinds,
        deniedKinds: restrictions.deniedKinds,
      };
      const early: ValidationIssue[] = [];
      for (const manifest of manifests) {
        const { object } = manifest;
        const group = groupOf(object.apiVersion);
        const namespaced =
          builtinScope(group, object.kind) ?? crds.get(`${group}/${object.kind}`)?.namespaced;
        if (namespaced === undefined) {
          early.push(
            ...checkRestrictions(
              [{ ref: refOf(object), namespaced: false, origin: manifest.origin }],
              kindRules,
            ),
          );
        } else {
          const namespace = namespaced ? (object.metadata.namespace ?? defaultNamespace) : undefined;
          early.push(
            ...checkRestrictions(
              [{ ref: refFor(object, namespace), namespaced, origin: manifest.origin }],
              restrictions,
            ),
          );
        }
      }
      if (early.length > 0) throw new ValidationError(VALIDATION_RESTRICTED, early);
    }

    // Discovery: one request per group-version, in parallel.
    const kinds = new Map<string, { apiVersion: string; kind: string; manifests: Manifest[] }>();
    for (const manifest of manifests) {
      const key = `${manifest.object.apiVersion}|${manifest.object.kind}`;
      const entry = kinds.get(key) ?? {
        apiVersion: manifest.object.apiVersion,
        kind: manifest.object.kind,
        manifests: [],
      };
      entry.manifests.push(manifest);
      kinds.set(key, entry);
    }
    const resolved = new Map<string, { info: ResourceInfo; pending: boolean }>();
    await mapAll(
      [...kinds.entries()],
      this.#concurrency,
      async ([key, { apiVersion, kind, manifests: users }]) => {
        const found = await this.#discovery.lookup(apiVersion, kind, signal);
        if (found) {
          resolved.set(key, { info: found, pending: false });
          return;
        }
        const slash = apiVersion.indexOf('/');
        const crd = crds.get(`${groupOf(apiVersion)}/${kind}`);
        if (crd && slash > 0 && crd.versions.includes(apiVersion.slice(slash + 1))) {
          resolved.set(key, {
            info: {
              group: crd.group,
              version: apiVersion.slice(slash + 1),
              kind,
              resource: crd.plural,
              namespaced: crd.namespaced,
            },
            pending: true,
          });
          return;
        }
        try {
          resolved.set(key, {
            info: await this.#discovery.resolve(apiVersion, kind, signal),
            pending: false,
          });
        } catch (error) {
          if (!(error instanceof UnknownKindError)) throw error;
          for (const manifest of users) {
            issues.push({ message: error.message, location: locationOf(manifest, refOf(manifest.object)) });
          }
        }
      },
    );
    if (issues.length > 0) throw new ValidationError(K8sErrorCodes.UnknownKind, issues);

    const prepared = manifests.map((manifest): Prepared => {
      const { object } = manifest;
      const { info, pending } = resolved.get(`${object.apiVersion}|${object.kind}`) as {
        info: ResourceInfo;
        pending: boolean;
      };
      const namespace = info.namespaced ? (object.metadata.namespace ?? defaultNamespace) : undefined;
      const body = this.#markedBody(object, namespace);
      return {
        manifest,
        ref: refFor(object, namespace),
        info,
        body,
        digest: digestObject(body),
        stage: stageOf(object.apiVersion, object.kind),
        pending,
      };
    });
    if (restrictions) {
      assertRestrictions(
        prepared.map((p) => ({ ref: p.ref, namespaced: p.info.namespaced, origin: p.manifest.origin })),
        restrictions,
      );
    }
    return prepared;
  }

  /** The body we send: the rendered object, its namespace defaulted (or dropped when cluster-scoped), our marks added. */
  #markedBody(object: KubeObject, namespace: string | undefined): KubeObject {
    const metadata: KubeObject['metadata'] = { ...object.metadata };
    if (namespace === undefined) delete metadata.namespace;
    else metadata.namespace = namespace;
    metadata.labels = { ...(object.metadata.labels ?? {}), [OWNER_LABEL]: this.#ownerLabel };
    metadata.annotations = { ...(object.metadata.annotations ?? {}), [OWNER_ANNOTATION]: this.name };
    return { ...object, metadata };
  }

  async #stateOf(plan: Plan, signal: AbortSignal): Promise<PlanState> {
    const known = this.#plans.get(plan);
    if (known) return known;
    // A plan built elsewhere (or copied): resolve its manifests again.
    const prepared = await this.#prepare(
      plan.objects.map((o) => o.manifest),
      signal,
    );
    const state: PlanState = {
      byKey: new Map(prepared.map((p) => [refKey(p.ref), p])),
      recreate: new Set(),
      validated: false,
    };
    this.#plans.set(plan, state);
    return state;
  }

  #prepared(state: PlanState, object: PlannedObject): Prepared {
    const item = state.byKey.get(refKey(object.ref));
    if (!item) throw new Error(`internal: ${refKey(object.ref)} is not in the plan`);
    return item;
  }

  // ---- reading live state ----

  /** The list requests that cover `members`: cluster-wide per kind, or per namespace. */
  #listGroups(info: ResourceInfo, members: readonly { readonly ref: ObjectRef }[]): ListGroup[] {
    if (!info.namespaced) return [{ info, namespace: undefined, members }];
    const byNamespace = new Map<string, { ref: ObjectRef }[]>();
    for (const member of members) {
      const ns = member.ref.namespace ?? '';
      const same = byNamespace.get(ns);
      if (same) same.push(member);
      else byNamespace.set(ns, [member]);
    }
    const scope = this.#options.listScope ?? 'auto';
    const clusterWide =
      scope === 'cluster' ||
      (scope === 'auto' && !this.#options.restrictions?.allowedNamespaces && byNamespace.size > 1);
    if (clusterWide) return [{ info, namespace: undefined, members }];
    return [...byNamespace.entries()].map(([namespace, group]) => ({ info, namespace, members: group }));
  }

  async #readLive(prepared: readonly Prepared[], signal: AbortSignal): Promise<Map<string, KubeObject>> {
    const byKind = new Map<string, Prepared[]>();
    for (const item of prepared) {
      if (item.pending) continue; // its kind is not served yet: nothing can exist
      const key = `${item.info.group}/${item.info.version}/${item.info.resource}`;
      const members = byKind.get(key);
      if (members) members.push(item);
      else byKind.set(key, [item]);
    }
    const groups = [...byKind.values()].flatMap((members) =>
      this.#listGroups((members[0] as Prepared).info, members),
    );
    const live = new Map<string, KubeObject>();
    await this.#fetchLive(groups, live, signal);
    return live;
  }

  /**
   * Fills `live` with the objects of `groups`: one labeled list per group, then, for members the
   * list did not return (new, or not marked as ours), single GETs or one unlabeled list.
   */
  async #fetchLive(
    groups: readonly ListGroup[],
    live: Map<string, KubeObject>,
    signal: AbortSignal,
  ): Promise<void> {
    const selector = `${OWNER_LABEL}=${this.#ownerLabel}`;
    const missing: ListGroup[] = [];
    await mapAll(groups, this.#concurrency, async (group) => {
      let items: KubeObject[];
      try {
        items = await this.#list(group.info, group.namespace, selector, signal);
      } catch (error) {
        if (group.namespace === undefined && group.info.namespaced && isStatus(error, 403)) {
          // Not allowed to list across namespaces: fall back to one list per namespace.
          const perNamespace = this.#splitByNamespace(group);
          await this.#fetchLive(perNamespace, live, signal);
          return;
        }
        throw error;
      }
      for (const item of items) live.set(liveKey(group.info, item), item);
      const absent = group.members.filter((m) => !live.has(refKey(m.ref)));
      if (absent.length > 0) missing.push({ ...group, members: absent });
    });
    const gets: SingleRead[] = [];
    const lists: ListGroup[] = [];
    for (const group of missing) {
      if (group.members.length <= MAX_SINGLE_GETS)
        gets.push(...group.members.map((m) => ({ info: group.info, ref: m.ref })));
      else lists.push(...this.#splitByNamespace(group));
    }
    await mapAll<SingleRead | ListGroup, void>([...lists, ...gets], this.#concurrency, async (work) => {
      if ('members' in work) {
        const items = await this.#list(work.info, work.namespace, undefined, signal);
        const wanted = new Set(work.members.map((m) => refKey(m.ref)));
        for (const item of items) {
          const key = liveKey(work.info, item);
          if (wanted.has(key)) live.set(key, item);
        }
        return;
      }
      try {
        const object = await this.client.request<KubeObject>({
          method: 'GET',
          path: resourcePath(work.info, work.ref.namespace, work.ref.name),
          signal,
        });
        live.set(refKey(work.ref), withKind(object, work.info));
      } catch (error) {
        if (!isStatus(error, 404)) throw error;
      }
    });
  }

  #splitByNamespace(group: ListGroup): ListGroup[] {
    if (!group.info.namespaced || group.namespace !== undefined) return [group];
    const byNamespace = new Map<string, { ref: ObjectRef }[]>();
    for (const member of group.members) {
      const ns = member.ref.namespace ?? '';
      const same = byNamespace.get(ns);
      if (same) same.push(member);
      else byNamespace.set(ns, [member]);
    }
    return [...byNamespace.entries()].map(([namespace, members]) => ({
      info: group.info,
      namespace,
      members,
    }));
  }

  async #list(
    info: ResourceInfo,
    namespace: string | undefined,
    labelSelector: string | undefined,
    signal: AbortSignal,
  ): Promise<KubeObject[]> {
    const items: KubeObject[] = [];
    let token: string | undefined;
    do {
      const page = await this.client.request<{ items?: KubeObject[]; metadata?: { continue?: string } }>({
        method: 'GET',
        path: resourcePath(info, namespace),
        query: { labelSelector, limit: String(LIST_PAGE), continue: token },
        signal,
      });
      for (const item of page.items ?? []) items.push(withKind(item, info));
      token = page.metadata?.continue || undefined;
    } while (token);
    return items;
  }

  // ---- writing ----

  #applyRequest(item: Prepared, signal: AbortSignal, dryRun: boolean): Promise<KubeObject> {
    return this.client.request<KubeObject>({
      method: 'PATCH',
      path: resourcePath(item.info, item.ref.namespace, item.ref.name),
      query: {
        fieldManager: this.#fieldManager,
        force: this.#force ? 'true' : undefined,
        dryRun: dryRun ? 'All' : undefined,
      },
      body: item.body,
      contentType: 'application/apply-patch+yaml',
      signal,
    });
  }

  /**
   * Dry-runs objects, all of them, and throws one error listing every refusal: a ConflictError
   * when every refusal is a field-manager conflict, else a ValidationError.
   */
  async #dryRun(objects: readonly PlannedObject[], state: PlanState, signal: AbortSignal): Promise<void> {
    const results = await mapSettled(objects, this.#concurrency, (object) =>
      this.#applyRequest(this.#prepared(state, object), signal, true),
    );
    signal.throwIfAborted();
    const issues: ValidationIssue[] = [];
    const errors: unknown[] = [];
    results.forEach((result, i) => {
      if (result.status === 'fulfilled') return;
      const object = objects[i] as PlannedObject;
      const item = this.#prepared(state, object);
      if (
        isImmutableError(result.reason) &&
        recreateAllowed(item.body, this.#options.recreateOnImmutable ?? false)
      ) {
        state.recreate.add(refKey(object.ref));
        return;
      }
      if (!(result.reason instanceof KubeApiError)) throw result.reason;
      errors.push(result.reason);
      issues.push({
        message: describeApiError(result.reason),
        location: locationOf(object.manifest, object.ref),
      });
    });
    if (issues.length === 0) return;
    if (errors.every(isConflictError)) {
      const lines = issues.map((issue) => `${formatLocation(issue.location)}: ${issue.message}`);
      throw new ConflictError(
        K8sErrorCodes.FieldConflict,
        `${issues.length} object${issues.length === 1 ? '' : 's'} conflict with other field managers (force is off):\n  ${lines.join('\n  ')}`,
        { cause: errors[0] },
      );
    }
    throw new ValidationError(K8sErrorCodes.DryRunFailed, issues, { cause: errors[0] });
  }

  /**
   * Deletes the object at `path` with the configured propagation policy; with `uid`, only if the
   * object there is still that one (a precondition: the server answers 409 otherwise).
   */
  async #delete(path: string, signal: AbortSignal, uid?: unknown): Promise<void> {
    await this.client.request({
      method: 'DELETE',
      path,
      body: {
        apiVersion: 'v1',
        kind: 'DeleteOptions',
        propagationPolicy: this.#options.propagationPolicy ?? 'Background',
        ...(uid === undefined ? {} : { preconditions: { uid } }),
      },
      signal,
    });
  }

  async #applyOne(item: Prepared, state: PlanState, signal: AbortSignal): Promise<KubeObject> {
    const key = refKey(item.ref);
    if (!state.recreate.has(key)) {
      try {
        return await this.#applyRequest(item, signal, false);
      } catch (error) {
        if (
          !isImmutableError(error) ||
          !recreateAllowed(item.body, this.#options.recreateOnImmutable ?? false)
        ) {
          throw error;
        }
      }
    }
    // Refused as immutable and allowed to recreate: delete, wait until gone, apply again.
    const path = resourcePath(item.info, item.ref.namespace, item.ref.name);
    try {
      await this.#delete(path, signal);
    } catch (error) {
      if (!isStatus(error, 404)) throw error;
    }
    await this.#poll(
      signal,
      async () => {
        try {
          await this.client.request({ method: 'GET', path, signal });
          return false;
        } catch (error) {
          if (isStatus(error, 404)) return true;
          throw error;
        }
      },
      `${item.ref.kind} ${item.ref.name} to be deleted before it is created again`,
    );
    return this.#applyRequest(item, signal, false);
  }

  /** Waits until the CRDs of stage 0 are Established and served, and its Namespaces exist. */
  async #waitEstablished(
    applied: readonly { item: Prepared; response: KubeObject }[],
    signal: AbortSignal,
  ): Promise<void> {
    await mapAll(applied, this.#concurrency, async ({ item, response }) => {
      if (isCrd(item.ref.apiVersion, item.ref.kind)) {
        let current = response;
        const path = resourcePath(item.info, undefined, item.ref.name);
        await this.#poll(
          signal,
          async () => {
            if (established(current)) return true;
            current = await this.client.request<KubeObject>({ method: 'GET', path, signal });
            return established(current);
          },
          `CRD ${item.ref.name} to be Established`,
        );
        const spec = (item.body as { spec?: CrdSpec }).spec;
        const kind = spec?.names?.kind;
        for (const version of servedVersions(spec)) {
          const apiVersion = `${spec?.group}/${version}`;
          this.#discovery.invalidate(apiVersion);
          if (!kind) continue;
          await this.#poll(
            signal,
            async () => {
              if (await this.#discovery.lookup(apiVersion, kind, signal)) return true;
              this.#discovery.invalidate(apiVersion);
              return false;
            },
            `${kind} in ${apiVersion} to be served`,
          );
        }
      } else if (isNamespace(item.ref.apiVersion, item.ref.kind)) {
        const phase = (response as { status?: { phase?: string } }).status?.phase;
        if (phase === 'Terminating') {
          throw new ApplyError(K8sErrorCodes.NotEstablished, `namespace ${item.ref.name} is terminating`, {
            location: locationOf(item.manifest, item.ref),
          });
        }
      }
    });
  }

  async #poll(signal: AbortSignal, done: () => Promise<boolean>, what: string): Promise<void> {
    const timeout = this.#options.establishTimeoutMs ?? 60_000;
    const interval = this.#options.pollIntervalMs ?? 200;
    const deadline = this.#clock.now() + timeout;
    while (!(await done())) {
      if (this.#clock.now() >= deadline) {
        throw new ApplyError(
          K8sErrorCodes.NotEstablished,
          `timed out after ${timeout} ms waiting for ${what}`,
        );
      }
      await sleep(this.#clock, interval, signal);
    }
  }

  async #pruneOne(entry: InventoryEntry, signal: AbortSignal): Promise<string> {
    const { ref } = entry;
    const restrictions = this.#options.restrictions;
    const info = await this.#discovery.lookup(ref.apiVersion, ref.kind, signal);
    if (!info) return `kind ${ref.kind} is no longer served`;
    if (restrictions) {
      const refused = checkRestrictions([{ ref, namespaced: info.namespaced }], restrictions);
      if (refused.length > 0) return (refused[0] as ValidationIssue).message;
    }
    const path = resourcePath(info, ref.namespace, ref.name);
    let live: KubeObject;
    try {
      live = await this.client.request<KubeObject>({ method: 'GET', path, signal });
    } catch (error) {
      if (isStatus(error, 404)) return 'not found';
      throw error;
    }
    if (!isOwnedBy(live, this.name)) return `not owned by ${this.name} (no ownership mark)`;
    if (isPruneDisabled(live)) return 'kept by annotation gitops-kit.dev/prune: disabled';
    if (typeof live.metadata.deletionTimestamp === 'string') return 'deleted';
    try {
      // Only the object we inspected: a replacement with the same name is not ours to delete.
      await this.#delete(path, signal, live.metadata.uid);
    } catch (error) {
      if (isStatus(error, 404)) return 'deleted';
      if (isStatus(error, 409)) return 'replaced by another object since it was read';
      throw error;
    }
    return 'deleted';
  }
}

/**
 * Runs `work` with a signal of our own that follows the caller's. Requests in flight each listen
 * to the signal; on our own signal the listener limit can be lifted without touching the caller's.
 */
async function scoped<T>(signal: AbortSignal, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  setMaxListeners(0, controller.signal);
  const onAbort = (): void => controller.abort(signal.reason);
  if (signal.aborted) onAbort();
  else signal.addEventListener('abort', onAbort, { once: true });
  try {
    return await work(controller.signal);
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

/**
 * A typed error for anything a call throws: gitops-kit errors and aborts pass through; API and
 * connection errors are wrapped by `wrap` with a message naming the apiserver's reason.
 */
function typed(error: unknown, signal: AbortSignal, wrap: (message: string) => GitOpsError): unknown {
  if (error instanceof GitOpsError || signal.aborted) return error;
  return wrap(`reading live objects failed: ${describeApiError(error)}`);
}

/** The KubeConfig from the default loading rules. */
function defaultKubeConfig(): KubeConfig {
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromDefault();
  return kubeConfig;
}

function refFor(object: KubeObject, namespace: string | undefined): ObjectRef {
  const ref: ObjectRef = { apiVersion: object.apiVersion, kind: object.kind, name: object.metadata.name };
  return namespace ? { ...ref, namespace } : ref;
}

/** List items have no apiVersion and kind: fill them in. */
function withKind(object: KubeObject, info: ResourceInfo): KubeObject {
  return {
    ...object,
    apiVersion: info.group ? `${info.group}/${info.version}` : info.version,
    kind: info.kind,
  };
}

function liveKey(info: ResourceInfo, object: KubeObject): string {
  return refKey({
    apiVersion: info.group ? `${info.group}/${info.version}` : info.version,
    kind: info.kind,
    namespace: info.namespaced ? object.metadata.namespace : undefined,
    name: object.metadata.name,
  });
}

/** Whether a CRD reports its `Established` condition True. */
function established(crd: KubeObject): boolean {
  return findCondition(crd, 'Established')?.status === 'True';
}

interface CrdSpec {
  group?: string;
  scope?: string;
  names?: { kind?: string; plural?: string };
  versions?: { name?: string; served?: boolean }[];
}

function servedVersions(spec: CrdSpec | undefined): string[] {
  return (spec?.versions ?? []).filter((v) => v.served !== false && v.name).map((v) => v.name as string);
}

/** The kinds the set's CRDs define: `group/Kind` → scope, plural and served versions. */
function crdsOf(
  manifests: readonly Manifest[],
): Map<string, { group: string; plural: string; namespaced: boolean; versions: string[] }> {
  const crds = new Map<string, { group: string; plural: string; namespaced: boolean; versions: string[] }>();
  for (const { object } of manifests) {
    if (!isCrd(object.apiVersion, object.kind)) continue;
    const spec = (object as { spec?: CrdSpec }).spec;
    if (!spec?.group || !spec.names?.kind || !spec.names.plural) continue;
    crds.set(`${spec.group}/${spec.names.kind}`, {
      group: spec.group,
      plural: spec.names.plural,
      namespaced: spec.scope !== 'Cluster',
      versions: servedVersions(spec),
    });
  }
  return crds;
}

/**
 * Objects that cannot be dry-run before the plan's first write: kinds whose CRD is in the set and
 * not served yet, and objects in Namespaces the plan creates.
 */
function deferredKeys(writes: readonly PlannedObject[], state: PlanState): Set<string> {
  const newNamespaces = new Set(
    writes
      .filter((o) => o.action === 'create' && isNamespace(o.ref.apiVersion, o.ref.kind))
      .map((o) => o.ref.name),
  );
  const deferred = new Set<string>();
  for (const object of writes) {
    const item = state.byKey.get(refKey(object.ref));
    if (!item) continue;
    if (item.pending || (item.ref.namespace !== undefined && newNamespaces.has(item.ref.namespace))) {
      deferred.add(refKey(object.ref));
    }
  }
  return deferred;
}
