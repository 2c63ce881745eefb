import { formatRef, type KubeObject, type ObjectRef, type Target } from '@gitops-kit/core';
import { FakeCluster } from '@gitops-kit/core/testing';

/** A JSON merge patch (RFC 7386): objects merge, `null` deletes, anything else replaces. */
export type MergePatch = { readonly [field: string]: unknown };

/**
 * Where the demo reconciles to, and how it plays the person with kubectl: the in-memory
 * `FakeCluster`, or a real cluster through `KubernetesTarget`.
 */
export interface DemoCluster {
  readonly target: Target;
  /** One line for people: what this cluster is. */
  readonly description: string;
  /** How often the health wait polls, and how long it waits (milliseconds). */
  readonly healthPollInterval: number;
  readonly healthTimeout: number;
  /** Changes a live object by hand, as `kubectl patch --type merge` would. */
  editByHand(ref: ObjectRef, patch: MergePatch): Promise<void>;
  /** Reads a live object. */
  read(ref: ObjectRef): Promise<KubeObject | undefined>;
}

/** Applies a merge patch to a copy of `target`. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) return patch;
  const base: Record<string, unknown> =
    typeof target === 'object' && target !== null && !Array.isArray(target)
      ? { ...(target as Record<string, unknown>) }
      : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete base[key];
    else base[key] = mergePatch(base[key], value);
  }
  return base;
}

/** Whether a Deployment runs an image that does not exist (the demo's failed rollout). */
function runsMissingImage(object: KubeObject): boolean {
  return JSON.stringify(object.spec ?? {}).includes(':does-not-exist');
}

/**
 * The in-memory cluster. It plays kubelet too: a Deployment reports one "in progress" reading after
 * each write and then becomes ready, unless its image does not exist, in which case it fails.
 */
export function fakeCluster(): DemoCluster & { readonly cluster: FakeCluster } {
  const cluster = new FakeCluster({ name: 'fake-cluster', owner: 'quickstart' });
  cluster.setHealth('Deployment', (_object, reading) =>
    reading < 2 ? { status: 'InProgress', message: 'Deployment is rolling out' } : 'Current',
  );
  cluster.setHealth(runsMissingImage, {
    status: 'Failed',
    message: 'ImagePullBackOff: image "nginx:does-not-exist" not found',
  });
  return {
    cluster,
    target: cluster,
    description: 'the in-memory FakeCluster from @gitops-kit/core/testing',
    healthPollInterval: 20,
    healthTimeout: 2_000,
    async editByHand(ref, patch) {
      cluster.edit(ref, (draft) => mergePatch(draft, patch) as KubeObject);
    },
    async read(ref) {
      return cluster.get(ref);
    },
  };
}

/**
 * A real cluster from `KUBECONFIG`. Hand edits are merge patches sent by this process, as
 * `kubectl patch` would send them. Health is read by kstatus rules, so the cluster needs its
 * controllers running (and image pulls) for the Deployment to become ready. The adapter is loaded
 * only here, so the in-memory path does not pay for the Kubernetes client's start-up.
 */
export async function kubernetesCluster(): Promise<DemoCluster> {
  const { Discovery, KubeApiError, KubernetesTarget, resourcePath } = await import('@gitops-kit/k8s-target');
  const target = new KubernetesTarget({ name: 'quickstart', fieldManager: 'gitops-kit-quickstart' });
  const discovery = new Discovery(target.client);
  const pathOf = async (ref: ObjectRef): Promise<string> =>
    resourcePath(await discovery.resolve(ref.apiVersion, ref.kind), ref.namespace, ref.name);
  return {
    target,
    description: `the cluster of KUBECONFIG=${process.env.KUBECONFIG}`,
    healthPollInterval: 1_000,
    // Longer than the sample's progressDeadlineSeconds (30 s), after which a bad image fails.
    healthTimeout: 60_000,
    async editByHand(ref, patch) {
      await target.client.request({
        method: 'PATCH',
        path: await pathOf(ref),
        query: { fieldManager: 'kubectl-edit' },
        body: patch,
        contentType: 'application/merge-patch+json',
      });
    },
    async read(ref) {
      try {
        return await target.client.request<KubeObject>({ method: 'GET', path: await pathOf(ref) });
      } catch (error) {
        if (error instanceof KubeApiError && error.statusCode === 404) return undefined;
        throw new Error(`could not read ${formatRef(ref)}`, { cause: error });
      }
    },
  };
}
