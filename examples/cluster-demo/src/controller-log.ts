import { type KubeConfig, type KubernetesObject, Watch } from '@kubernetes/client-node';

/**
 * What the cluster's own controllers did, seen through watches on one namespace: the ReplicaSets
 * the deployment controller creates and scales, the Pods the scheduler places on nodes and the
 * kubelets (kwok here) start, and the Deployment conditions the controller sets. The demo prints
 * what changed since it last asked, next to each step of the story.
 */

/** One ReplicaSet as the demo shows it. */
export interface ReplicaSetView {
  readonly name: string;
  readonly image: string;
  /** `spec.replicas`, as the deployment controller set it. */
  readonly desired: number;
  /** Pods of the ReplicaSet that are Ready. */
  readonly ready: number;
  /** Nodes its Ready Pods run on. */
  readonly nodes: readonly string[];
  /** Why a Pod is waiting (e.g. `ImagePullBackOff`), when one is. */
  readonly waiting?: string;
}

interface ReplicaSetObject extends KubernetesObject {
  spec?: { replicas?: number; template?: { spec?: { containers?: Array<{ image?: string }> } } };
}

interface PodObject extends KubernetesObject {
  spec?: { nodeName?: string };
  status?: {
    conditions?: Array<{ type: string; status: string }>;
    containerStatuses?: Array<{ state?: { waiting?: { reason?: string } } }>;
  };
}

interface DeploymentObject extends KubernetesObject {
  status?: { conditions?: Array<{ type: string; status: string; reason?: string }> };
}

interface ReplicaSetTrack {
  image: string;
  /** Every distinct `spec.replicas` since the last report, in order. */
  desiredSeen: number[];
}

const ownerOf = (object: KubernetesObject): string | undefined =>
  object.metadata?.ownerReferences?.find((o) => o.controller)?.name;

/** Watches a namespace's ReplicaSets, Pods and Deployments and reports what changed. */
export class ControllerLog {
  readonly #namespace: string;
  readonly #watch: Watch;
  readonly #replicaSets = new Map<string, ReplicaSetTrack>();
  readonly #pods = new Map<string, PodObject>();
  readonly #conditions = new Map<string, string>();
  #reported = new Map<string, ReplicaSetView>();
  #reportedConditions = new Map<string, string>();
  readonly #aborts: AbortController[] = [];

  /** @param kubeConfig the cluster; @param namespace the namespace to watch. */
  constructor(kubeConfig: KubeConfig, namespace: string) {
    this.#namespace = namespace;
    this.#watch = new Watch(kubeConfig);
  }

  /** Starts the three watches (a namespace that does not exist yet simply has nothing). */
  async start(): Promise<void> {
    const ns = this.#namespace;
    const on = async <T extends KubernetesObject>(
      path: string,
      handle: (type: string, object: T) => void,
    ) => {
      const abort = await this.#watch.watch(
        path,
        {},
        (type: string, object: T) => handle(type, object),
        () => {},
      );
      this.#aborts.push(abort);
    };
    await on<ReplicaSetObject>(`/apis/apps/v1/namespaces/${ns}/replicasets`, (type, rs) => {
      const name = rs.metadata?.name ?? '';
      if (type === 'DELETED') {
        this.#replicaSets.delete(name);
        return;
      }
      const track = this.#replicaSets.get(name) ?? {
        image: rs.spec?.template?.spec?.containers?.[0]?.image ?? '?',
        desiredSeen: [],
      };
      const desired = rs.spec?.replicas ?? 0;
      if (track.desiredSeen.at(-1) !== desired) track.desiredSeen.push(desired);
      this.#replicaSets.set(name, track);
    });
    await on<PodObject>(`/api/v1/namespaces/${ns}/pods`, (type, pod) => {
      const name = pod.metadata?.name ?? '';
      if (type === 'DELETED') this.#pods.delete(name);
      else this.#pods.set(name, pod);
    });
    await on<DeploymentObject>(`/apis/apps/v1/namespaces/${ns}/deployments`, (type, d) => {
      if (type === 'DELETED') return;
      for (const c of d.status?.conditions ?? []) {
        this.#conditions.set(`Deployment ${d.metadata?.name} ${c.type}`, `${c.status} (${c.reason ?? ''})`);
      }
    });
  }

  /** The ReplicaSets now, oldest name first. */
  replicaSets(): ReplicaSetView[] {
    return [...this.#replicaSets.entries()]
      .map(([name, track]) => this.#view(name, track))
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  #view(name: string, track: ReplicaSetTrack): ReplicaSetView {
    const pods = [...this.#pods.values()].filter((p) => ownerOf(p) === name);
    const ready = pods.filter((p) =>
      p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
    );
    const waiting = pods
      .map((p) => p.status?.containerStatuses?.[0]?.state?.waiting?.reason)
      .find((reason) => reason !== undefined);
    return {
      name,
      image: track.image,
      desired: track.desiredSeen.at(-1) ?? 0,
      ready: ready.length,
      nodes: [...new Set(ready.map((p) => p.spec?.nodeName ?? '?'))].sort(),
      ...(waiting ? { waiting } : {}),
    };
  }

  /** Lines saying what changed since the last call: ReplicaSets created and scaled, Pods Ready, conditions. */
  report(): string[] {
    const lines: string[] = [];
    const now = new Map<string, ReplicaSetView>();
    for (const [name, track] of this.#replicaSets) {
      const view = this.#view(name, track);
      now.set(name, view);
      const before = this.#reported.get(name);
      const scaled = [...(before ? [before.desired] : []), ...track.desiredSeen].filter(
        (n, i, all) => i === 0 || all[i - 1] !== n,
      );
      const changed =
        !before ||
        scaled.length > 1 ||
        before.ready !== view.ready ||
        before.waiting !== view.waiting ||
        before.nodes.join() !== view.nodes.join();
      if (!changed) continue;
      const parts = [
        before ? undefined : 'created by the deployment controller',
        scaled.length > 1 || !before ? `scaled ${scaled.join(' → ')}` : undefined,
        `${view.ready}/${view.desired} Pods Ready${view.nodes.length > 0 ? ` on ${view.nodes.join(', ')}` : ''}`,
        view.waiting ? `a Pod waits: ${view.waiting}` : undefined,
      ].filter(Boolean);
      lines.push(`ReplicaSet ${name} (${view.image}): ${parts.join('; ')}`);
      track.desiredSeen = [view.desired];
    }
    for (const [key, value] of this.#conditions) {
      if (this.#reportedConditions.get(key) !== value) lines.push(`${key}=${value}`);
    }
    this.#reported = now;
    this.#reportedConditions = new Map(this.#conditions);
    return lines;
  }

  /** Stops the watches. */
  stop(): void {
    for (const abort of this.#aborts.splice(0)) abort.abort();
  }
}
