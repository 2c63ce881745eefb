import type { Clock, IgnoreRule } from '@gitops-kit/core';
import type { KubeConfig } from '@kubernetes/client-node';
import type { CustomHealthChecks } from './health/types.js';
import type { Impersonation, KubeClient } from './kube-client.js';
import type { KubeEventOptions } from './kube-events.js';
import type { PreventionOptions } from './prevention.js';
import type { Restrictions } from './restrictions.js';
import type { TakeOverOptions } from './takeover.js';
import type { WatchStream } from './watch-stream.js';

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
  /**
   * How long one request may wait with nothing arriving from the server (default 60 s), so a hung
   * apiserver fails the pass with a typed error instead of holding it (ignored with `client`).
   */
  readonly requestTimeoutMs?: number | undefined;
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
  /** Requests in flight at once within an apply tier (default 16). */
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
  /**
   * Fields to leave to others (an HPA's `spec.replicas`), by JSON pointer or field manager, for
   * the objects a target selector picks: never sent on update, never compared, never drift. A rule
   * that matches nothing is listed in the plan's `unusedIgnoreRules`. See the README's "Drift control".
   */
  readonly ignore?: readonly IgnoreRule[] | undefined;
  /**
   * Take over what `kubectl` wrote, as Flux does: before an object is applied, the `managedFields`
   * entries of kubectl's managers (`kubectl-edit`, `kubectl-client-side-apply`, …) and
   * `before-first-apply` become ours and kubectl's last-applied annotation goes, so the apply
   * removes fields added by hand that the source does not declare. `true` takes Flux's defaults;
   * objects with the `Merge` policy or touched by an ignore rule are left alone. Default off:
   * fields nobody declared are then no drift.
   */
  readonly takeOver?: TakeOverOptions | boolean | undefined;
  /**
   * Revert hand edits and deletions within seconds (reconcilers using this target watch by
   * default): one watch per applied kind, see `watchDrift`. Default false.
   */
  readonly watch?: boolean | undefined;
  /** How watches are streamed (default: through the KubeConfig); for tests and custom transports. */
  readonly watchStream?: WatchStream | undefined;
  /**
   * Drift prevention: apply, with the set, a ValidatingAdmissionPolicy and binding that make the
   * apiserver refuse UPDATE and DELETE of our objects by anyone but the reconciler, the cluster's
   * controllers and a break-glass group (`true` for the defaults). Pruned with the set when
   * turned off; see `preventionStatus`. Default off.
   */
  readonly prevention?: boolean | PreventionOptions | undefined;
  /**
   * Kubernetes Events (events.k8s.io/v1) for each reconciler's outcomes, regarding its state
   * object (default on, for reconcilers whose state store is this target's `stateStore(...)`);
   * `false` turns them off.
   */
  readonly events?: false | KubeEventOptions | undefined;
}
