import { groupOf } from '@gitops-kit/core';

/**
 * Apply stages, after Flux's staged apply: definitions the rest depends on go first and are
 * waited for (CRDs Established, Namespaces present), then kinds ending in `Class`, then the rest.
 * Prune runs the stages in reverse, so what depends on a Namespace or CRD goes before it.
 */
export type Stage = 0 | 1 | 2;

const FIRST_STAGE = new Set([
  'apiextensions.k8s.io/CustomResourceDefinition',
  '/Namespace',
  'rbac.authorization.k8s.io/ClusterRole',
  'rbac.authorization.k8s.io/ClusterRoleBinding',
  'admissionregistration.k8s.io/MutatingWebhookConfiguration',
  'admissionregistration.k8s.io/ValidatingWebhookConfiguration',
  'apiregistration.k8s.io/APIService',
]);

/** The stage of a kind: 0 cluster definitions, 1 `*Class` kinds, 2 everything else. */
export function stageOf(apiVersion: string, kind: string): Stage {
  if (FIRST_STAGE.has(`${groupOf(apiVersion)}/${kind}`)) return 0;
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
