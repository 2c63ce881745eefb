import {
  ApplyError,
  type ApplyResult,
  type ClusterCapabilities,
  type DriftNotice,
  ErrorCodes,
  HealthError,
  type HealthOptions,
  type HealthReport,
  type Inventory,
  type InventoryEntry,
  type Manifest,
  type ObjectRef,
  type ObservedReconciler,
  OptionError,
  type Plan,
  type PlanOptions,
  type PruneResult,
  type RepairResult,
  type Target,
  type TargetCallOptions,
} from '@gitops-kit/core';
import { applyPlan } from './apply.js';
import { scoped, typedReadError, verbError } from './call.js';
import { CapabilitiesCache } from './capabilities.js';
import { readHealth } from './check-health.js';
import { kubeConnection } from './connection.js';
import { createContext, type TargetContext } from './context.js';
import { defaultCredentialsConnection } from './default-transport.js';
import { DriftWatch } from './drift-watch.js';
import { validateNow } from './dry-run.js';
import { K8sErrorCodes } from './errors.js';
import type { WatchCounters } from './kind-watch.js';
import type { KubeClient } from './kube-client.js';
import { KubeEventRecorder } from './kube-events.js';
import { listOwned } from './list-owned.js';
import type { KubernetesTargetOptions } from './options.js';
import { recordOutcomes } from './outcome-events.js';
import { planSet } from './plan.js';
import { deferredKeys, PlanMemory } from './plan-state.js';
import { type PreventionStatus, readPreventionStatus } from './prevention.js';
import { pruneEntries } from './prune.js';
import type { ApiRequestListener } from './request-hook.js';
import { ConfigMapStateStore, type ConfigMapStateStoreOptions } from './state-store.js';
import { connectionWatchStream, type WatchStream } from './watch-stream.js';

/**
 * A {@link Target} for Kubernetes: server-side apply in tiers, validation by server-side dry-run,
 * inventory-based prune with ownership marks, drift detection that costs one list per kind, and
 * health by kstatus rules. Bodies are sent exactly as rendered (see {@link KubeClient}).
 *
 * This class is the façade: each verb lives in its own module (`plan`, `dry-run`, `apply`,
 * `prune`, `check-health`) over one `TargetContext` resolved from the options once.
 */
export class KubernetesTarget implements Target {
  readonly name: string;
  /** The HTTP client; its `counters` tell how many requests and writes were made. */
  readonly client: KubeClient;
  /** Whether reconcilers using this target watch it by default (the `watch` option). */
  readonly watch: boolean;
  readonly #context: TargetContext;
  readonly #plans = new PlanMemory();
  readonly #stream: (() => WatchStream) | undefined;
  #drift: DriftWatch | undefined;
  readonly #capabilities: CapabilitiesCache;
  /** Writes the Kubernetes Events of outcomes; undefined with `events: false`. */
  readonly events: KubeEventRecorder | undefined;

  /** Resolves the options once; builds a client from the KubeConfig unless one is given. */
  constructor(options: KubernetesTargetOptions) {
    this.#context = createContext(options);
    this.name = this.#context.name;
    this.client = this.#context.client;
    this.watch = options.watch ?? false;
    const { watchStream, kubeConfig, client, impersonate } = options;
    // Watches get an agent of their own (each holds a socket for minutes) and act as the same
    // impersonated user as every other request of the target.
    const watchConnection = { impersonate, maxSockets: Number.POSITIVE_INFINITY };
    this.#stream = watchStream
      ? () => watchStream
      : kubeConfig
        ? () => connectionWatchStream(kubeConnection(kubeConfig, watchConnection))
        : client
          ? undefined
          : () => connectionWatchStream(defaultCredentialsConnection(watchConnection));
    this.#capabilities = new CapabilitiesCache(this.client, 5 * 60_000, () => this.#context.clock.now());
    const { clock, fieldManager } = this.#context;
    this.events =
      options.events === false
        ? undefined
        : new KubeEventRecorder(this.client, clock, fieldManager, options.events ?? {});
  }

  /**
   * Watches what this target applied (one watch per resource, by owner label) and calls
   * `onDrift` when someone else changes an object in a way the next plan would revert, or deletes
   * it; fields left to others by ignore rules or policies are no drift. Returns the function that
   * stops it. Needs a KubeConfig (or `watchStream`).
   */
  watchDrift(onDrift: (notice: DriftNotice) => void): () => void {
    return this.#driftWatch().subscribe(onDrift);
  }

  /** Applies the given objects again as the last apply sent them, when they still drift. */
  repair(refs: readonly ObjectRef[], options: TargetCallOptions): Promise<RepairResult> {
    return scoped(options.signal, async (signal) => {
      try {
        return await this.#driftWatch().repair(refs, signal);
      } catch (error) {
        throw verbError(error, 'apply', ErrorCodes.ApplyFailed);
      }
    });
  }

  /** Request counts of the drift watches (zero until watched). */
  get watchCounters(): Readonly<WatchCounters> {
    return this.#drift?.counters ?? { watches: 0, lists: 0, relists: 0 };
  }

  /**
   * Whether drift prevention is in force: its policy and binding exist and the apiserver has read
   * the policy's current version (inactive when the `prevention` option is off and they were pruned).
   */
  preventionStatus(options: TargetCallOptions): Promise<PreventionStatus> {
    return scoped(options.signal, (signal) => readPreventionStatus(this.#context, signal));
  }

  /** Stops the drift watches. */
  close(): void {
    this.#drift?.close();
  }

  #driftWatch(): DriftWatch {
    if (this.#drift) return this.#drift;
    if (!this.#stream) {
      throw new OptionError(
        ['watchStream'],
        `KubernetesTarget ${this.name}: watching needs a kubeConfig or a watchStream`,
      );
    }
    this.#drift = new DriftWatch(this.#context, this.#stream());
    return this.#drift;
  }

  /**
   * The cluster's version and every served `group/version` and `group/version/Kind` (three
   * discovery requests, kept five minutes): the reconciler renders Helm charts with them, so
   * `.Capabilities` checks see this cluster (see the README's "Cluster capabilities").
   */
  capabilities(options: TargetCallOptions): Promise<ClusterCapabilities> {
    return scoped(options.signal, (signal) =>
      this.#capabilities.get(signal).catch((error: unknown) => {
        throw typedReadError(
          error,
          signal,
          (message) => new ApplyError(K8sErrorCodes.ReadFailed, message, { cause: error }),
        );
      }),
    );
  }

  /**
   * Called by each Reconciler built with this target: with events on and a state store made by
   * {@link stateStore}, its outcomes become Kubernetes Events regarding its state object.
   */
  observe(reconciler: ObservedReconciler): void {
    const store = reconciler.stateStore;
    if (!this.events || !(store instanceof ConfigMapStateStore)) return;
    recordOutcomes(reconciler, this.events, store.objectRef(reconciler.name));
  }

  /**
   * Calls `listener` after every apiserver request with its verb, status code and duration
   * (`@gitops-kit/metrics`: `target.onApiRequest(metrics.kubernetesRequests(target.name))`).
   * Returns the function that stops it.
   */
  onApiRequest(listener: ApiRequestListener): () => void {
    return this.client.onResponse(listener);
  }

  /** A {@link ConfigMapStateStore} using this target's client (and so its credentials and counters). */
  stateStore(options: ConfigMapStateStoreOptions): ConfigMapStateStore {
    return new ConfigMapStateStore(this.client, { fieldManager: this.#context.fieldManager, ...options });
  }

  /**
   * Compares the desired set with the live objects and the inventory. Costs one list per kind (and
   * namespace, when lists are per namespace), plus single reads for objects missing from them.
   */
  plan(manifests: readonly Manifest[], inventory: Inventory, options: PlanOptions): Promise<Plan> {
    return scoped(options.signal, async (signal) => {
      const plan = await planSet(this.#context, this.#plans, manifests, inventory, signal).catch(
        (error: unknown) => {
          throw typedReadError(
            error,
            signal,
            (message) => new ApplyError(K8sErrorCodes.ReadFailed, message, { cause: error }),
          );
        },
      );
      // Objects that left the set are not watched any more, pruned or not (with prune off they
      // are released, as Flux and Argo CD orphan them): a watch never reverts them.
      this.#drift?.forget(plan.prune.map((entry) => entry.ref));
      return plan;
    });
  }

  /**
   * Validates every object the plan writes with a server-side dry-run, all at once, and reports every
   * refusal together, each naming its manifest. Objects that need something the plan creates first
   * (a Namespace, a CRD) are checked locally here and dry-run by {@link apply} once it exists.
   */
  validate(plan: Plan, options: TargetCallOptions): Promise<void> {
    return scoped(options.signal, async (signal) => {
      try {
        const state = await this.#plans.stateOf(this.#context, plan, signal);
        const writes = plan.objects.filter((o) => o.action !== 'unchanged');
        await validateNow(this.#context, writes, deferredKeys(writes, state), state, signal);
      } catch (error) {
        throw verbError(error, 'validation', ErrorCodes.ValidationFailed);
      }
    });
  }

  /**
   * Applies the plan's created and updated objects in apply tiers (CRDs, Namespaces and other
   * cluster definitions first, then `*Class` kinds, then the rest), waiting for CRDs to be
   * Established and Namespaces to exist after the first tier. Unchanged objects are not written.
   */
  apply(plan: Plan, options: TargetCallOptions): Promise<ApplyResult> {
    return scoped(options.signal, async (signal) => {
      try {
        const state = await this.#plans.stateOf(this.#context, plan, signal);
        const drift = this.#drift?.active ? this.#drift : undefined;
        const ended = drift?.applying([...state.byKey.values()]);
        try {
          const result = await applyPlan(this.#context, plan, state, signal);
          ended?.(result.applied.map((entry) => entry.ref));
          return result;
        } catch (error) {
          ended?.(error instanceof ApplyError ? error.applied.map((entry) => entry.ref) : undefined);
          throw error;
        }
      } catch (error) {
        throw verbError(error, 'apply', ErrorCodes.ApplyFailed);
      }
    });
  }

  /**
   * Deletes inventory entries, in reverse tier order, only when the live object still carries our
   * ownership mark and is not kept by `gitops-kit.dev/prune: disabled`. Failed deletes are reported
   * (they stay in the inventory); objects outside the restrictions are left alone.
   */
  prune(entries: readonly InventoryEntry[], options: TargetCallOptions): Promise<PruneResult> {
    this.#drift?.forget(entries.map((e) => e.ref));
    return scoped(options.signal, (signal) => pruneEntries(this.#context, entries, signal));
  }

  /**
   * Every live object carrying this target's ownership mark, in every served resource (one
   * discovery sweep and one labeled list per resource). The reconciler asks when its stored state
   * is missing, emptied or unreadable, so a lost state object is never taken for a first run.
   */
  listOwned(options: TargetCallOptions): Promise<readonly ObjectRef[]> {
    return scoped(options.signal, (signal) =>
      listOwned(this.#context, signal).catch((error: unknown) => {
        throw typedReadError(
          error,
          signal,
          (message) => new ApplyError(K8sErrorCodes.ReadFailed, message, { cause: error }),
        );
      }),
    );
  }

  /**
   * One health reading of the given objects by kstatus rules: one list per kind (and namespace
   * when lists are per namespace), single reads only for objects missing from those lists. Refs
   * in `options.hooks` are read by hook completion (Job `Complete`, Pod `Succeeded`) instead.
   */
  health(refs: readonly ObjectRef[], options: HealthOptions): Promise<HealthReport> {
    return scoped(options.signal, (signal) =>
      readHealth(this.#context, refs, signal, options.hooks).catch((error: unknown) => {
        throw typedReadError(
          error,
          signal,
          (message) => new HealthError(K8sErrorCodes.HealthReadFailed, message, { cause: error }),
        );
      }),
    );
  }
}
