/**
 * `@gitops-kit/k8s-target`: a gitops-kit Target for Kubernetes, with server-side apply in tiers,
 * validation by dry-run, an inventory kept in the cluster, prune, drift, plan and health.
 *
 * The public surface, named one by one; every other module is internal (tests import it by path).
 *
 * @packageDocumentation
 * @module @gitops-kit/k8s-target
 */

// The ownership marks are core's Kubernetes conventions, re-exported for users of this package.
export {
  FLUX_SSA_ANNOTATION,
  FORCE_ANNOTATION,
  OWNER_ANNOTATION,
  OWNER_LABEL,
  PRUNE_ANNOTATION,
  SSA_ANNOTATION,
} from '@gitops-kit/core';
export {
  CLUSTER_SECRET_TYPE,
  CLUSTER_SECRET_TYPE_LABEL,
  type ClusterSecretConnection,
  ClusterSecretGenerator,
  type ClusterSecretGeneratorOptions,
  type ClusterSecretMetadata,
  type ClusterSecretObject,
  normalizeClusterName,
  type ParseClusterSecretOptions,
  parseClusterSecret,
} from './cluster-secrets.js';
export { MASKED } from './compare.js';
export { Discovery, type ResourceInfo, resourcePath } from './discovery.js';
export {
  K8sErrorCodes,
  KubeApiError,
  LeaseConflictError,
  type StatusCause,
  UnknownKindError,
} from './errors.js';
export { assessHealth, assessObjectHealth } from './health/assess.js';
export type {
  AssessHealthOptions,
  CustomHealthCheck,
  CustomHealthChecks,
  HealthResult,
} from './health/types.js';
export type { WatchCounters } from './kind-watch.js';
export {
  type Impersonation,
  KubeClient,
  type KubeClientConstructorOptions,
  type KubeClientOptions,
  type KubeRequest,
  type RequestCounters,
  type Transport,
} from './kube-client.js';
export {
  type KubeEventInput,
  type KubeEventOptions,
  KubeEventRecorder,
  type RecorderCounters,
  type RecordOutcome,
} from './kube-events.js';
export {
  kubeLeaseStore,
  type LeaderCallbacks,
  LeaderElector,
  type LeaderElectorOptions,
  type LeaseRecord,
  type LeaseStore,
  microTime,
  type StoredLease,
} from './leader-election.js';
export type { KubernetesTargetOptions, PropagationPolicy } from './options.js';
export { recordOutcomes } from './outcome-events.js';
export { isOwnedBy, ownerLabelValue } from './ownership.js';
export { type PreventionOptions, type PreventionStatus, preventionName } from './prevention.js';
export { type FormatPlanDiffOptions, formatPlanDiff, planSummaryLine } from './print-diff.js';
export {
  type ApiRequestListener,
  type ApiRequestRecord,
  type ApiVerb,
  RequestListeners,
  verbOf,
} from './request-hook.js';
export {
  assertRestrictions,
  checkRestrictions,
  type RestrictedItem,
  type Restrictions,
  VALIDATION_RESTRICTED,
} from './restrictions.js';
export {
  kubeShardLeaseStore,
  leasePeers,
  memberLeaseName,
  type NamedLease,
  ownerLeaseName,
  SHARD_GROUP_LABEL,
  SHARD_ROLE_LABEL,
  SHARD_VALUE_ANNOTATION,
  ShardCoordinator,
  type ShardCoordinatorOptions,
  type ShardLeaseStore,
  type ShardValue,
} from './shard-leases.js';
export { ConfigMapStateStore, type ConfigMapStateStoreOptions, stateObjectName } from './state-store.js';
export { type FieldManagerMatch, KUBECTL_TAKEOVER, type TakeOverOptions } from './takeover.js';
export { KubernetesTarget } from './target.js';
export type { WatchEvent, WatchStream } from './watch-stream.js';
