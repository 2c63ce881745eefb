import {
  type ErrorLocation,
  formatRef,
  groupOf,
  type ManifestOrigin,
  type ObjectRef,
  ValidationError,
  type ValidationIssue,
} from '@gitops-kit/core';
import { K8sErrorCodes } from './errors.js';

/**
 * What a reconciler may write, for multi-tenant use (like an Argo CD AppProject or a Flux tenant's
 * service account): checked on the rendered set before anything is sent to the cluster. An unset
 * field restricts nothing; an empty list allows nothing.
 */
export interface Restrictions {
  /** Namespaces namespaced objects may live in. */
  readonly allowedNamespaces?: readonly string[] | undefined;
  /**
   * Kinds that may be written: `Kind` (any group), `group/Kind`, or `group/*` (every kind of a
   * group; the core group is written as an empty group: `/Secret`, `/*`).
   */
  readonly allowedKinds?: readonly string[] | undefined;
  /** Kinds that may not be written, in the same notation; a denial wins over an allowance. */
  readonly deniedKinds?: readonly string[] | undefined;
  /**
   * Whether cluster-scoped objects (Namespaces, CRDs, ClusterRoles, ClusterRoleBindings) may be
   * written. Default: true when `allowedNamespaces` is unset, false when it is set, since a tenant
   * held to its namespaces could otherwise bind itself to `cluster-admin`.
   */
  readonly allowClusterScoped?: boolean | undefined;
}

/** One object to check: its reference (namespace defaults applied), its scope and where it came from. */
export interface RestrictedItem {
  /** The object, with the target's default namespace filled in for namespaced kinds. */
  readonly ref: ObjectRef;
  /** Whether the kind is namespaced (from discovery). */
  readonly namespaced: boolean;
  /** The file and line of the manifest, so a refusal can name them. */
  readonly origin?: ManifestOrigin | undefined;
}

/** The error code of a set refused by {@link assertRestrictions} (`K8sErrorCodes.Restricted`). */
export const VALIDATION_RESTRICTED = K8sErrorCodes.Restricted;

/** Whether a kind pattern (`Kind`, `group/Kind`, `group/*`) matches an object's group and kind. */
export function kindMatches(pattern: string, ref: Pick<ObjectRef, 'apiVersion' | 'kind'>): boolean {
  const slash = pattern.lastIndexOf('/');
  if (slash < 0) return pattern === ref.kind;
  const group = pattern.slice(0, slash);
  const kind = pattern.slice(slash + 1);
  return group === groupOf(ref.apiVersion) && (kind === '*' || kind === ref.kind);
}

function list(values: readonly string[]): string {
  return values.length === 0 ? 'none' : values.join(', ');
}

/** Why one object is refused, or undefined when it is allowed. */
function refusal(item: RestrictedItem, restrictions: Restrictions): string | undefined {
  const { ref } = item;
  const denied = restrictions.deniedKinds?.find((pattern) => kindMatches(pattern, ref));
  if (denied !== undefined) return `kind ${ref.kind} is denied (by "${denied}")`;
  const allowedKinds = restrictions.allowedKinds;
  if (allowedKinds && !allowedKinds.some((pattern) => kindMatches(pattern, ref))) {
    return `kind ${ref.kind} is not allowed (allowed kinds: ${list(allowedKinds)})`;
  }
  if (!item.namespaced) {
    const allowed = restrictions.allowClusterScoped ?? restrictions.allowedNamespaces === undefined;
    if (allowed) return undefined;
    return restrictions.allowClusterScoped === false
      ? 'cluster-scoped objects are not allowed'
      : 'cluster-scoped objects are not allowed while namespaces are restricted (set allowClusterScoped: true to allow them)';
  }
  const allowedNamespaces = restrictions.allowedNamespaces;
  if (allowedNamespaces) {
    if (!ref.namespace) return `no namespace set (allowed namespaces: ${list(allowedNamespaces)})`;
    if (!allowedNamespaces.includes(ref.namespace)) {
      return `namespace "${ref.namespace}" is not allowed (allowed namespaces: ${list(allowedNamespaces)})`;
    }
  }
  return undefined;
}

/**
 * Every object the restrictions refuse, as validation issues naming the manifest file, line and
 * object. Pure: no requests, the caller supplies each kind's scope.
 */
export function checkRestrictions(
  items: readonly RestrictedItem[],
  restrictions: Restrictions,
): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  for (const item of items) {
    const reason = refusal(item, restrictions);
    if (reason === undefined) continue;
    const location: ErrorLocation = {
      ...(item.origin
        ? { file: item.origin.file, line: item.origin.line, documentIndex: item.origin.documentIndex }
        : {}),
      object: formatRef(item.ref),
    };
    issues.push({ message: `refused by restrictions: ${reason}`, location });
  }
  return issues;
}

/**
 * Throws a {@link ValidationError} (code {@link VALIDATION_RESTRICTED}) listing every refused
 * object, so one run shows all of them; returns when the whole set is allowed.
 */
export function assertRestrictions(items: readonly RestrictedItem[], restrictions: Restrictions): void {
  const issues = checkRestrictions(items, restrictions);
  if (issues.length > 0) throw new ValidationError(VALIDATION_RESTRICTED, issues);
}
