import { groupOf } from '../refs.js';
import type { KubeObject } from '../types.js';

/**
 * The Kubernetes conventions gitops-kit follows, in one place: the ownership marks it writes on
 * every object, the order in which kinds are applied, and the scope of well-known built-in kinds.
 * Pure data and pure functions (core never talks to a cluster): the Kubernetes target and the
 * testing kit's FakeCluster both read them, so what a unit test sees is what a cluster gets.
 */

// ---- ownership marks ----

/** Label naming the owner (as a label value): "our objects of a kind" is one cheap list request. */
export const OWNER_LABEL = 'gitops-kit.dev/owner';
/** Annotation holding the owner's full name, which a label value may be too short to hold. */
export const OWNER_ANNOTATION = 'gitops-kit.dev/owner-name';
/** Annotation that keeps an object from being pruned when set to {@link PRUNE_DISABLED}. */
export const PRUNE_ANNOTATION = 'gitops-kit.dev/prune';
/** The value of {@link PRUNE_ANNOTATION} that keeps an object (compared without case). */
export const PRUNE_DISABLED = 'disabled';
/**
 * Annotation that allows delete-and-recreate when the apiserver refuses a change as immutable:
 * `enabled` (or `true`) allows it, `disabled` (or `false`) forbids it whatever the default.
 */
export const FORCE_ANNOTATION = 'gitops-kit.dev/force';

/** Whether an object is kept from pruning by {@link PRUNE_ANNOTATION}. */
export function isPruneDisabled(object: KubeObject): boolean {
  return object.metadata.annotations?.[PRUNE_ANNOTATION]?.toLowerCase() === PRUNE_DISABLED;
}

// ---- apply order ----

/**
 * An apply tier, after fluxcd/pkg ssa's staged apply: 0 = definitions the rest depends on (CRDs,
 * Namespaces, cluster RBAC, webhooks, APIServices), applied first and waited for; 1 = kinds
 * ending in `Class` (StorageClass, IngressClass, PriorityClass: referenced by the rest);
 * 2 = everything else. (Not to be confused with reconcile stages, nor with sync waves.)
 */
export type ApplyTier = 0 | 1 | 2;

/** The tiers in apply order. Prune walks them in reverse, so dependants go before what they need. */
export const APPLY_TIERS: readonly ApplyTier[] = Object.freeze([0, 1, 2] as const);

/** The kinds of tier 0, as `group/Kind` (the core group is empty: `/Namespace`). */
const FIRST_TIER: ReadonlySet<string> = new Set([
  'apiextensions.k8s.io/CustomResourceDefinition',
  '/Namespace',
  'rbac.authorization.k8s.io/ClusterRole',
  'rbac.authorization.k8s.io/ClusterRoleBinding',
  'admissionregistration.k8s.io/MutatingWebhookConfiguration',
  'admissionregistration.k8s.io/ValidatingWebhookConfiguration',
  'apiregistration.k8s.io/APIService',
]);

/** The apply tier of a kind: 0 cluster definitions, 1 `*Class` kinds, 2 everything else. */
export function applyTierOf(apiVersion: string, kind: string): ApplyTier {
  if (FIRST_TIER.has(`${groupOf(apiVersion)}/${kind}`)) return 0;
  if (kind.endsWith('Class')) return 1;
  return 2;
}

/** Whether a kind is a CustomResourceDefinition. */
export function isCrd(apiVersion: string, kind: string): boolean {
  return kind === 'CustomResourceDefinition' && groupOf(apiVersion) === 'apiextensions.k8s.io';
}

/** Whether a kind is a core Namespace. */
export function isNamespace(apiVersion: string, kind: string): boolean {
  return kind === 'Namespace' && apiVersion === 'v1';
}

// ---- scope of built-in kinds ----

/**
 * The scope of well-known built-in kinds (`group/Kind` → namespaced), so scope is known without
 * asking a server: restrictions are checked before any request, and FakeCluster defaults
 * namespaces the way the apiserver does. Kinds not listed are resolved by discovery.
 */
const BUILTIN_SCOPE: Readonly<Record<string, boolean>> = Object.freeze({
  '/Namespace': false,
  '/Node': false,
  '/PersistentVolume': false,
  '/ComponentStatus': false,
  '/ConfigMap': true,
  '/Secret': true,
  '/Service': true,
  '/ServiceAccount': true,
  '/Pod': true,
  '/PersistentVolumeClaim': true,
  '/Endpoints': true,
  '/LimitRange': true,
  '/ResourceQuota': true,
  '/ReplicationController': true,
  'apps/Deployment': true,
  'apps/StatefulSet': true,
  'apps/DaemonSet': true,
  'apps/ReplicaSet': true,
  'batch/Job': true,
  'batch/CronJob': true,
  'networking.k8s.io/Ingress': true,
  'networking.k8s.io/NetworkPolicy': true,
  'networking.k8s.io/IngressClass': false,
  'policy/PodDisruptionBudget': true,
  'autoscaling/HorizontalPodAutoscaler': true,
  'coordination.k8s.io/Lease': true,
  'rbac.authorization.k8s.io/Role': true,
  'rbac.authorization.k8s.io/RoleBinding': true,
  'rbac.authorization.k8s.io/ClusterRole': false,
  'rbac.authorization.k8s.io/ClusterRoleBinding': false,
  'apiextensions.k8s.io/CustomResourceDefinition': false,
  'certificates.k8s.io/CertificateSigningRequest': false,
  'storage.k8s.io/StorageClass': false,
  'storage.k8s.io/CSIDriver': false,
  'storage.k8s.io/CSINode': false,
  'storage.k8s.io/VolumeAttachment': false,
  'scheduling.k8s.io/PriorityClass': false,
  'node.k8s.io/RuntimeClass': false,
  'flowcontrol.apiserver.k8s.io/FlowSchema': false,
  'flowcontrol.apiserver.k8s.io/PriorityLevelConfiguration': false,
  'admissionregistration.k8s.io/ValidatingWebhookConfiguration': false,
  'admissionregistration.k8s.io/MutatingWebhookConfiguration': false,
  'admissionregistration.k8s.io/ValidatingAdmissionPolicy': false,
  'admissionregistration.k8s.io/ValidatingAdmissionPolicyBinding': false,
  'apiregistration.k8s.io/APIService': false,
});

/** Whether a well-known built-in kind is namespaced, or undefined when it is not in the table. */
export function builtinScope(group: string, kind: string): boolean | undefined {
  return BUILTIN_SCOPE[`${group}/${kind}`];
}

/** The names of the built-in kinds that have no namespace, whatever their group, sorted. */
export const CLUSTER_SCOPED_KINDS: readonly string[] = Object.freeze(
  Object.entries(BUILTIN_SCOPE)
    .filter(([, namespaced]) => !namespaced)
    .map(([key]) => key.slice(key.indexOf('/') + 1))
    .sort(),
);
