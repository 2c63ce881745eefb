import { randomBytes } from 'node:crypto';
import type { Inventory, KubeObject, Manifest, Plan } from '@gitops-kit/core';
import { KubeClient, KubernetesTarget, type KubernetesTargetOptions } from '@gitops-kit/k8s-target';
import { testenv } from '@gitops-kit/testenv';
import { manifests } from './support/objects.js';

export { configMap, deployment, manifests, namespace } from './support/objects.js';

/** Helpers shared by the k8s-target integration tests (real apiserver from testenv). */

/** A unique name with a prefix, valid as a Namespace name. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}

/** A target against the test apiserver, and a separate client for checks. */
export async function kubeTarget(
  options: Partial<KubernetesTargetOptions> = {},
): Promise<{ target: KubernetesTarget; admin: KubeClient }> {
  const kube = await testenv.kube();
  const target = new KubernetesTarget({
    name: uniqueName('owner'),
    kubeConfig: kube.kubeConfig(),
    ...options,
  });
  const admin = KubeClient.fromKubeConfig(kube.kubeConfig());
  return { target, admin };
}

/** Plans, validates and applies; returns the plan, the new inventory and the writes made. */
export async function sync(
  target: KubernetesTarget,
  objects: readonly KubeObject[] | readonly Manifest[],
  inventory: Inventory,
): Promise<{ plan: Plan; inventory: Inventory; writes: number }> {
  const signal = AbortSignal.timeout(60_000);
  const set =
    objects.length > 0 && 'origin' in (objects[0] as object)
      ? (objects as Manifest[])
      : manifests(objects as KubeObject[]);
  const plan = await target.plan(set, inventory, { signal });
  await target.validate(plan, { signal });
  const result = await target.apply(plan, { signal });
  return { plan, inventory: { entries: result.applied }, writes: result.writes };
}

/** GETs an object, or undefined when it does not exist. */
export async function getObject(admin: KubeClient, path: string): Promise<KubeObject | undefined> {
  try {
    return await admin.request<KubeObject>({ method: 'GET', path });
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode === 404) return undefined;
    throw error;
  }
}

/** Names (sorted) of the ConfigMaps in `ns` that carry the owner label of `owner`. */
export async function ownedConfigMapNames(admin: KubeClient, ns: string, owner: string): Promise<string[]> {
  const list = await admin.request<{ items: KubeObject[] }>({
    method: 'GET',
    path: `/api/v1/namespaces/${ns}/configmaps`,
    query: { labelSelector: `gitops-kit.dev/owner=${owner}` },
  });
  return list.items.map((o) => o.metadata.name).sort();
}
