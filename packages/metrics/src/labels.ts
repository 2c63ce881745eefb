/** The Flux-compatible identity labels every per-reconciler series carries. */
export interface IdentityLabels {
  /** The kind of object reconciled; a gitops-kit value (default `Reconciler`). */
  readonly kind: string;
  /** The reconciler's name (the part after `/` when the name is `namespace/name`). */
  readonly name: string;
  /** The namespace: the part before `/` in a `namespace/name` reconciler name, else the default. */
  readonly namespace: string;
}

/**
 * The identity labels of a reconciler: Flux's `kind`, `name`, `namespace`. A name of the form
 * `team-a/web` gives namespace `team-a` and name `web`, so Flux dashboards that group by namespace
 * work; any other name keeps `defaultNamespace`.
 */
export function identityOf(reconcilerName: string, kind: string, defaultNamespace: string): IdentityLabels {
  const slash = reconcilerName.indexOf('/');
  if (slash > 0 && slash < reconcilerName.length - 1) {
    return { kind, namespace: reconcilerName.slice(0, slash), name: reconcilerName.slice(slash + 1) };
  }
  return { kind, namespace: defaultNamespace, name: reconcilerName };
}
