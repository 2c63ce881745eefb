import type { KubeObject, Manifest } from '@gitops-kit/core';

/** A manifest of `app.yaml` whose document index and line follow its position. */
export function manifestAt(object: KubeObject, index = 0, file = 'app.yaml'): Manifest {
  return { object, origin: { file, documentIndex: index, line: index * 10 + 1 } };
}

/** Wraps objects as schedulable items, in order. */
export function items(...objects: KubeObject[]): { manifest: Manifest }[] {
  return objects.map((object, index) => ({ manifest: manifestAt(object, index) }));
}

/** An object of a kind with annotations; `name` ending in `-` becomes a `generateName`. */
export function obj(
  kind: string,
  name: string,
  annotations: Record<string, unknown> = {},
  extra: { apiVersion?: string; namespace?: string | undefined; spec?: unknown } = {},
): KubeObject {
  const apiVersion = extra.apiVersion ?? defaultApiVersion(kind);
  const naming = name.endsWith('-') ? { generateName: name } : { name };
  const metadata = {
    ...naming,
    ...(extra.namespace === undefined ? {} : { namespace: extra.namespace }),
    annotations,
  } as KubeObject['metadata'];
  return { apiVersion, kind, metadata, ...(extra.spec === undefined ? {} : { spec: extra.spec }) };
}

function defaultApiVersion(kind: string): string {
  if (kind === 'Job') return 'batch/v1';
  if (kind === 'Deployment' || kind === 'ReplicaSet') return 'apps/v1';
  if (kind === 'CustomResourceDefinition') return 'apiextensions.k8s.io/v1';
  if (kind.endsWith('Role') || kind.endsWith('RoleBinding')) return 'rbac.authorization.k8s.io/v1';
  return 'v1';
}

/** The names (or generateNames) of the objects of each step, for compact assertions. */
export function names(objects: readonly { item: { manifest: Manifest } }[]): string[] {
  return objects.map(({ item }) => {
    const { name, generateName } = item.manifest.object.metadata as { name?: string; generateName?: string };
    return name ?? `${generateName}*`;
  });
}
