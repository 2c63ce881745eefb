import { isCrd, type KubeObject, type Manifest } from '@gitops-kit/core';
import { findCondition } from './health/fields.js';

/** The fields of a CustomResourceDefinition's spec the target reads. */
export interface CrdSpec {
  group?: string;
  scope?: string;
  names?: { kind?: string; plural?: string };
  versions?: { name?: string; served?: boolean }[];
}

/** A kind defined by a CRD of the set: where it will be served. */
export interface DefinedKind {
  readonly group: string;
  readonly plural: string;
  readonly namespaced: boolean;
  readonly versions: readonly string[];
}

/** The versions a CRD serves. */
export function servedVersions(spec: CrdSpec | undefined): string[] {
  return (spec?.versions ?? []).filter((v) => v.served !== false && v.name).map((v) => v.name as string);
}

/** The kinds the set's CRDs define: `group/Kind` → scope, plural and served versions. */
export function crdsOf(manifests: readonly Manifest[]): Map<string, DefinedKind> {
  const crds = new Map<string, DefinedKind>();
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

/** Whether a CRD reports its `Established` condition True. */
export function established(crd: KubeObject): boolean {
  return findCondition(crd, 'Established')?.status === 'True';
}
