/**
 * @gitops-kit/k8s-target: a gitops-kit Target for Kubernetes, with server-side apply in stages,
 * validation by dry-run, an inventory kept in the cluster, prune, drift, plan and health.
 */
export { diffDesired, MASKED, parseQuantity } from './compare.js';
export { Discovery, type ResourceInfo, resourcePath, UnknownKindError } from './discovery.js';
export { K8sErrorCodes } from './errors.js';
export * from './health/index.js';
export {
  type Impersonation,
  KubeApiError,
  KubeClient,
  type KubeClientOptions,
  type KubeRequest,
  type RequestCounters,
  type Transport,
} from './kube-client.js';
export * from './leader-election.js';
export {
  FORCE_ANNOTATION,
  isOwnedBy,
  OWNER_ANNOTATION,
  OWNER_LABEL,
  ownerLabelValue,
  PRUNE_ANNOTATION,
} from './ownership.js';
export * from './print-diff.js';
export * from './restrictions.js';
export { stageOf } from './stages.js';
export { ConfigMapStateStore, type ConfigMapStateStoreOptions, stateObjectName } from './state-store.js';
export { KubernetesTarget, type KubernetesTargetOptions, type PropagationPolicy } from './target.js';
