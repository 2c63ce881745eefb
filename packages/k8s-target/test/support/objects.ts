import type { Inventory, KubeObject, Manifest } from '@gitops-kit/core';
import { KubernetesTarget, type KubernetesTargetOptions } from '@gitops-kit/k8s-target';
import { ScriptedApiServer } from './scripted-apiserver.js';

/**
 * Objects and a target over a scripted apiserver, for the KubernetesTarget unit tests. The object
 * builders are shared with the integration tests (`kube-helpers.ts`).
 */

export const emptyInventory: Inventory = { entries: [] };

/** Call options with a signal that cannot hang a test. */
export const call = (): { signal: AbortSignal } => ({ signal: AbortSignal.timeout(5_000) });

/** Manifests from objects, each with its own file and line so messages can be checked for them. */
export function manifests(objects: readonly KubeObject[]): Manifest[] {
  return objects.map((object, i) => ({
    object,
    origin: {
      file: `${object.kind.toLowerCase()}-${object.metadata.name}.yaml`,
      documentIndex: 0,
      line: i + 1,
    },
  }));
}

/** A Namespace object. */
export function namespace(name: string): KubeObject {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name } };
}

/** A ConfigMap object (no namespace when `ns` is undefined). */
export function configMap(
  ns: string | undefined,
  name: string,
  data: Record<string, string> = {},
): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: ns === undefined ? { name } : { name, namespace: ns },
    data,
  };
}

/** A ClusterRole object. */
export function clusterRole(name: string): KubeObject {
  return { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name }, rules: [] };
}

/** A StorageClass object. */
export function storageClass(name: string): KubeObject {
  return {
    apiVersion: 'storage.k8s.io/v1',
    kind: 'StorageClass',
    metadata: { name },
    provisioner: 'example.com/disk',
  };
}

/** A Deployment object. */
export function deployment(ns: string, name: string, replicas = 1, image = 'nginx:1.27'): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: ns },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          containers: [{ name: 'main', image, resources: { limits: { cpu: '0.5', memory: '64Mi' } } }],
        },
      },
    },
  };
}

/** The path of a namespaced core object (`/api/v1/namespaces/ns/<resource>/name`). */
export const corePath = (resource: string, ns: string, name: string): string =>
  `/api/v1/namespaces/${ns}/${resource}/${name}`;

/** A target named `shop` over a fresh scripted apiserver. */
export function scriptedTarget(options: Partial<KubernetesTargetOptions> = {}): {
  server: ScriptedApiServer;
  target: KubernetesTarget;
} {
  const server = new ScriptedApiServer();
  const target = new KubernetesTarget({ name: 'shop', client: server.client, ...options });
  return { server, target };
}

/** Plans, validates and applies, as the Reconciler does. */
export async function sync(
  target: KubernetesTarget,
  objects: readonly KubeObject[],
  inventory = emptyInventory,
) {
  const plan = await target.plan(manifests(objects), inventory, call());
  await target.validate(plan, call());
  const result = await target.apply(plan, call());
  return { plan, result, inventory: { entries: result.applied } };
}

/** The object with `argocd.argoproj.io/sync-options: <options>` added to its annotations. */
export function withSyncOptions(object: KubeObject, options: string): KubeObject {
  const annotations = { ...object.metadata.annotations, 'argocd.argoproj.io/sync-options': options };
  return { ...object, metadata: { ...object.metadata, annotations } };
}
