/**
 * Object references: how gitops-kit names a Kubernetes-style object without knowing Kubernetes.
 * Identity is (group, kind, namespace, name): the version is not part of it, as in Flux and Argo CD,
 * so moving a Deployment from `apps/v1beta1` to `apps/v1` is an update, not a delete and create.
 */

/** A reference to one object. */
export interface ObjectRef {
  /** `group/version`, or `version` for the core group (`v1`). */
  readonly apiVersion: string;
  /** The kind, such as `Deployment`. */
  readonly kind: string;
  /** Absent for cluster-scoped objects and for namespaced objects that take the default namespace. */
  readonly namespace?: string | undefined;
  /** The object's name. */
  readonly name: string;
}

/** The API group of an `apiVersion` (`apps/v1` → `apps`, `v1` → the empty string). */
export function groupOf(apiVersion: string): string {
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? '' : apiVersion.slice(0, slash);
}

/** A stable identity key: `group/kind/namespace/name` (version excluded). */
export function refKey(ref: ObjectRef): string {
  return `${groupOf(ref.apiVersion)}/${ref.kind}/${ref.namespace ?? ''}/${ref.name}`;
}

/** A reference as people read it: `apps/v1 Deployment shop/web`, or `v1 Namespace shop`. */
export function formatRef(ref: ObjectRef): string {
  const name = ref.namespace ? `${ref.namespace}/${ref.name}` : ref.name;
  return `${ref.apiVersion} ${ref.kind} ${name}`;
}

/** Picks the reference fields out of any object with `apiVersion`, `kind` and `metadata`. */
export function refOf(object: {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string | undefined };
}): ObjectRef {
  const ref: ObjectRef = { apiVersion: object.apiVersion, kind: object.kind, name: object.metadata.name };
  return object.metadata.namespace ? { ...ref, namespace: object.metadata.namespace } : ref;
}
