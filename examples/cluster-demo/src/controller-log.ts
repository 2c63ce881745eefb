import {
  AppsV1Api,
  CoreV1Api,
  type KubeConfig,
  type KubernetesObject,
  type V1Deployment,
  type V1Pod,
  type V1ReplicaSet,
  Watch,
} from '@kubernetes/client-node';

/**
 * What the cluster's own controllers did, for the demo to print after each reconcile: the
 * ReplicaSets the deployment controller creates and scales, the Pods the scheduler places and the
 * kubelets (kwok here) make Ready or leave waiting, and the Deployment conditions the controller
 * sets. A snapshot (one list per kind) taken when a reconcile ends gives the state at that moment;
 * watches give what happened in between. Watch events are cut by resourceVersion at the snapshot,
 * so an event shows up in the report of the reconcile it belongs to or not at all, never in the next.
 */

/** One ReplicaSet as the demo shows it. */
export interface ReplicaSetView {
  readonly name: string;
  readonly image: string;
  /** `spec.replicas`, as the deployment controller set it. */
  readonly desired: number;
  /** Its Pods that are Ready, and the Nodes they run on. */
  readonly ready: number;
  readonly nodes: readonly string[];
}

/** The namespace's ReplicaSets, Pods and Deployments at one moment. */
export interface Snapshot {
  /** The resourceVersion of the lists: events up to it are part of this moment. */
  readonly resourceVersion: number;
  readonly replicaSets: readonly ReplicaSetView[];
  /** `Deployment <name> <type>` → `<status> (<reason>)`. */
  readonly conditions: ReadonlyMap<string, string>;
}

/** Something a watch saw: a ReplicaSet scaled, a Pod waiting, a condition set. */
interface Happening {
  readonly resourceVersion: number;
  readonly key: string;
  readonly value: string;
}

const rvOf = (object: KubernetesObject): number => Number(object.metadata?.resourceVersion ?? 0);
const ownerOf = (object: KubernetesObject): string | undefined =>
  object.metadata?.ownerReferences?.find((o) => o.controller)?.name;
const imageOf = (rs: V1ReplicaSet): string => rs.spec?.template?.spec?.containers?.[0]?.image ?? '?';

/** Values in order without repeats next to each other. */
function collapse(values: readonly string[]): string[] {
  return values.filter((value, i) => i === 0 || values[i - 1] !== value);
}

/** Watches a namespace's ReplicaSets, Pods and Deployments and reports what changed between snapshots. */
export class ControllerLog {
  readonly #namespace: string;
  readonly #apps: AppsV1Api;
  readonly #core: CoreV1Api;
  readonly #watch: Watch;
  readonly #aborts: AbortController[] = [];
  #happenings: Happening[] = [];
  #last: Snapshot = { resourceVersion: 0, replicaSets: [], conditions: new Map() };

  /** @param kubeConfig the cluster; @param namespace the namespace to watch. */
  constructor(kubeConfig: KubeConfig, namespace: string) {
    this.#namespace = namespace;
    this.#apps = kubeConfig.makeApiClient(AppsV1Api);
    this.#core = kubeConfig.makeApiClient(CoreV1Api);
    this.#watch = new Watch(kubeConfig);
  }

  /** Starts the watches (a namespace that does not exist yet simply has nothing in it). */
  async start(): Promise<void> {
    const ns = this.#namespace;
    const on = async <T extends KubernetesObject>(
      path: string,
      seen: (object: T) => Array<[string, string]>,
    ) => {
      const abort = await this.#watch.watch(
        path,
        {},
        (type: string, object: T) => {
          if (type === 'DELETED') return;
          for (const [key, value] of seen(object)) {
            this.#happenings.push({ resourceVersion: rvOf(object), key, value });
          }
        },
        () => {},
      );
      this.#aborts.push(abort);
    };
    await on<V1ReplicaSet>(`/apis/apps/v1/namespaces/${ns}/replicasets`, (rs) => [
      [`scaled ${rs.metadata?.name}`, String(rs.spec?.replicas ?? 0)],
    ]);
    await on<V1Pod>(`/api/v1/namespaces/${ns}/pods`, (pod) => {
      const reason = pod.status?.containerStatuses?.[0]?.state?.waiting?.reason;
      const owner = ownerOf(pod);
      return reason && owner ? [[`waited ${owner}`, reason]] : [];
    });
    await on<V1Deployment>(`/apis/apps/v1/namespaces/${ns}/deployments`, (d) =>
      (d.status?.conditions ?? []).map((c) => [
        `Deployment ${d.metadata?.name} ${c.type}`,
        `${c.status} (${c.reason ?? ''})`,
      ]),
    );
  }

  /** Lists the namespace now. Call it when a reconcile ends; {@link report} it when convenient. */
  async snapshot(): Promise<Snapshot> {
    const namespace = this.#namespace;
    const [replicaSets, pods, deployments] = await Promise.all([
      this.#apps.listNamespacedReplicaSet({ namespace }),
      this.#core.listNamespacedPod({ namespace }),
      this.#apps.listNamespacedDeployment({ namespace }),
    ]);
    const views = replicaSets.items.map((rs): ReplicaSetView => {
      const name = rs.metadata?.name ?? '';
      const ready = pods.items.filter(
        (p) =>
          ownerOf(p) === name && p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
      );
      return {
        name,
        image: imageOf(rs),
        desired: rs.spec?.replicas ?? 0,
        ready: ready.length,
        nodes: [...new Set(ready.map((p) => p.spec?.nodeName ?? '?'))].sort(),
      };
    });
    const conditions = new Map<string, string>();
    for (const d of deployments.items) {
      for (const c of d.status?.conditions ?? []) {
        conditions.set(`Deployment ${d.metadata?.name} ${c.type}`, `${c.status} (${c.reason ?? ''})`);
      }
    }
    return {
      resourceVersion: Math.min(
        ...[replicaSets, pods, deployments].map((list) => Number(list.metadata?.resourceVersion ?? 0)),
      ),
      replicaSets: views.sort((a, b) => a.name.localeCompare(b.name)),
      conditions,
    };
  }

  /**
   * Lines saying what happened between the previous snapshot reported and this one: ReplicaSets
   * created and scaled (`scaled 3 → 10 → 3`), their Ready Pods and Nodes, why Pods waited, and the
   * Deployment conditions the controller went through.
   */
  report(now: Snapshot): string[] {
    const before = this.#last;
    const between = this.#happenings.filter(
      (h) => h.resourceVersion > before.resourceVersion && h.resourceVersion <= now.resourceVersion,
    );
    this.#happenings = this.#happenings.filter((h) => h.resourceVersion > now.resourceVersion);
    const seen = (key: string): string[] => between.filter((h) => h.key === key).map((h) => h.value);
    const lines: string[] = [];
    for (const rs of now.replicaSets) {
      const old = before.replicaSets.find((r) => r.name === rs.name);
      const scaled = collapse([
        ...(old ? [String(old.desired)] : []),
        ...seen(`scaled ${rs.name}`),
        String(rs.desired),
      ]);
      const waited = [...new Set(seen(`waited ${rs.name}`))];
      const changed =
        !old ||
        scaled.length > 1 ||
        waited.length > 0 ||
        old.ready !== rs.ready ||
        old.nodes.join() !== rs.nodes.join();
      if (!changed) continue;
      const parts = [
        old ? undefined : 'created by the deployment controller',
        scaled.length > 1 || !old ? `scaled ${scaled.join(' → ')}` : undefined,
        `${rs.ready}/${rs.desired} Pods Ready${rs.nodes.length > 0 ? ` on ${rs.nodes.join(', ')}` : ''}`,
        waited.length > 0 ? `its Pods waited: ${waited.join(', ')}` : undefined,
      ].filter(Boolean);
      lines.push(`ReplicaSet ${rs.name} (${rs.image}): ${parts.join('; ')}`);
    }
    for (const [key, value] of now.conditions) {
      const previous = before.conditions.get(key);
      const path = collapse([...(previous ? [previous] : []), ...seen(key), value]);
      if (path.length > 1 || previous === undefined) lines.push(`${key}: ${path.join(' → ')}`);
    }
    this.#last = now;
    return lines;
  }

  /** Stops the watches. */
  stop(): void {
    for (const abort of this.#aborts.splice(0)) abort.abort();
  }
}
