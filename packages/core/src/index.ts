/**
 * The public surface of `@gitops-kit/core`: the contracts (`Source`, `Renderer`, `Target`,
 * `StateStore`), the `Reconciler` and `Manager`, the renderers, `DirectorySource`, errors, events,
 * the webhook receiver and the plan, diff and masking helpers a custom Target or Source calls.
 *
 * Everything else is plumbing: the project's own packages reach it through
 * `@gitops-kit/core/internal` (not for users, no compatibility promise) and core's tests import it
 * by path. One export statement per module, sorted by path, so additions merge without conflicts.
 *
 * @packageDocumentation
 * @module @gitops-kit/core
 */
export { abortReason, type Clock, sleep, systemClock } from './clock.js';
export { alignDeclared } from './diff/align.js';
export { type DiffOptions, diffObjects, diffValues } from './diff/diff.js';
export { type FormatPlanOptions, formatChanges, formatPlan, formatPlanSummary } from './diff/format.js';
export {
  isSecret,
  MASKED_CHANGED_VALUE,
  MASKED_VALUE,
  type MaskPredicate,
  maskFor,
  maskNothing,
  maskSecretValues,
} from './diff/mask.js';
export { maskPlanSecrets } from './diff/mask-plan.js';
export { projectOnto, unionShape } from './diff/project.js';
export { digestObject } from './digest.js';
export {
  ApplyError,
  ClockNotAdvancedError,
  ConflictError,
  ConformanceError,
  ErrorCodes,
  type ErrorLocation,
  FleetError,
  FleetErrorCodes,
  formatLocation,
  GitOpsError,
  type GitOpsErrorOptions,
  HealthError,
  OptionError,
  PruneError,
  ReconcileError,
  RenderError,
  SourceError,
  type Stage,
  ValidationError,
  type ValidationIssue,
  WebhookConfigError,
} from './errors.js';
export {
  type ClusterDefinition,
  type ClusterGenerator,
  type ClusterValues,
  defineCluster,
  type FleetCluster,
  type LabelExpression,
  type LabelSelector,
  matchesSelector,
  selectorQuery,
} from './fleet/cluster.js';
export {
  FLUX_SHARD_LABEL,
  Fleet,
  type FleetMember,
  type FleetOptions,
  labelShard,
  type MemberContext,
  type MemberFactory,
  observationOf,
  type SyncResult,
} from './fleet/fleet.js';
export {
  type ClusterBehind,
  type ClusterError,
  type ClusterFacts,
  type ClusterHealth,
  type ClusterWave,
  clustersNotAt,
  describeCluster,
  type FleetClusterStatus,
  type FleetStatus,
} from './fleet/fleet-status.js';
export {
  assertUnique,
  type FolderFs,
  type GeneratorSelectorOptions,
  type KubeconfigConnection,
  type KubeconfigFolderOptions,
  kubeconfigFolderGenerator,
  listGenerator,
} from './fleet/generators.js';
export {
  type FleetPeers,
  MemoryPeers,
  type PeerObservation,
  type SeenObservation,
} from './fleet/peers.js';
export { RevisionBroker, type RevisionBrokerOptions, type RevisionPolicy } from './fleet/revision-broker.js';
export {
  type ClusterObservation,
  checkStrategy,
  type PlannedWave,
  planWaves,
  type RolloutCluster,
  RolloutEngine,
  type RolloutPhase,
  type RolloutStatus,
  type RolloutStrategy,
  type StepResult,
  type WaveFailure,
  type WavePhase,
  type WaveSpec,
  type WaveStatus,
} from './fleet/rollout-engine.js';
export { assignShards, countMoved, type ShardOptions } from './fleet/shard-ring.js';
export { summarizeHealth } from './health.js';
export {
  type ApplyPolicy,
  applyPolicyOf,
  FLUX_SSA_ANNOTATION,
  keptByApplyPolicy,
  SSA_ANNOTATION,
} from './kube/apply-policy.js';
export {
  APPLY_TIERS,
  type ApplyTier,
  applyTierOf,
  builtinScope,
  CLUSTER_SCOPED_KINDS,
  FORCE_ANNOTATION,
  isCrd,
  isNamespace,
  isPruneDisabled,
  OWNER_ANNOTATION,
  OWNER_LABEL,
  PRUNE_ANNOTATION,
  PRUNE_DISABLED,
} from './kube/conventions.js';
export {
  checkIgnoreRules,
  describeIgnoreRule,
  type IgnoredFields,
  type IgnoreRule,
  type IgnoreTarget,
  isIgnoredPointer,
  matchesIgnoreTarget,
  parseSelector,
  resolveIgnored,
  type UnusedIgnoreRule,
  unusedIgnoreRules,
  valueAt,
  withoutPointers,
  withValueAt,
} from './kube/ignore-rules.js';
export {
  type ArgoHookType,
  beforeHookCreation,
  type DeletionContext,
  defaultSyncOptions,
  deleteHookAfter,
  describeLifecycle,
  describeObject,
  formatSchedule,
  type HelmHookEvent,
  type HookAnnotations,
  type HookCompletion,
  type HookCompletionReport,
  type HookCreation,
  type HookDeletePolicy,
  type HookOutcome,
  hookCompletion,
  hookKey,
  keptByAnnotation,
  LifecycleAnnotations,
  type LifecycleDescriptor,
  LifecycleErrorCodes,
  type LifecycleName,
  type LifecycleOperation,
  type LifecyclePhase,
  type LifecycleSchedule,
  type LifecycleStep,
  lifecycleLocation,
  lifecyclePhaseOrder,
  type NotRun,
  type ObjectSyncOptions,
  type OperationState,
  orderPrune,
  type PruneCandidate,
  type RawAnnotations,
  type Retention,
  readDeletePolicies,
  readHooks,
  readKeepPolicy,
  readSyncOptions,
  readWave,
  retention,
  type Schedulable,
  type ScheduledObject,
  type ScheduleOptions,
  type StepGate,
  type StepGateKind,
  scheduleLifecycle,
  syncOperationFor,
} from './lifecycle/index.js';
export {
  buildPlan,
  emptyInventory,
  mergeInventory,
  type PlanSummary,
  planHasChanges,
  pruneCandidates,
  summarizePlan,
} from './plan.js';
export {
  type EventBase,
  RECONCILER_EVENT_NAMES,
  type ReconcilerEventName,
  type ReconcilerEvents,
  type ReconcilerListener,
} from './reconciler/events.js';
export { type Gate, Semaphore } from './reconciler/gate.js';
export { nameGenerated } from './reconciler/hook-names.js';
export {
  attachLogger,
  type LogFields,
  type LoggedReconciler,
  type Logger,
  type LogMethod,
} from './reconciler/logging.js';
export {
  type AddOptions,
  DependencyNotReadyReason,
  Manager,
  type ManagerOptions,
} from './reconciler/manager.js';
export type { MembershipChange, MembershipListener } from './reconciler/membership.js';
export type { RecoveryReason, StateRecovery } from './reconciler/memory.js';
export type { ListenerErrorHandler, ReconcilerOptions } from './reconciler/options.js';
export { type LifecyclePlan, planLifecycle } from './reconciler/plan-lifecycle.js';
export {
  type Deferral,
  type ReconcileCallOptions,
  type ReconcileResult,
  Reconciler,
  type ReconcilerBinding,
  type StopOptions,
  type UninstallResult,
} from './reconciler/reconciler.js';
export { PASS_STAGES, type PassStage } from './reconciler/stage-timing.js';
export {
  type ConditionType,
  getCondition,
  isReadyAtLatest,
  type ReconcilerStatus,
} from './reconciler/status.js';
export { type ConditionReason, ConditionReasons } from './reconciler/transitions.js';
export { formatRef, groupOf, type ObjectRef, refKey, refOf } from './refs.js';
export {
  type CachedRenderer,
  RenderCache,
  type RenderCacheOptions,
  withRenderCache,
} from './render/cache.js';
export {
  AutoRenderer,
  type AutoRendererOptions,
  detectRenderer,
  type RendererKind,
} from './render/detect.js';
export { assertNoDuplicates } from './render/duplicates.js';
export { HelmRenderer, type HelmRendererOptions } from './render/helm.js';
export type {
  ChartDependency,
  ChartDependencyRequest,
  ChartDependencyResolver,
  ChartLock,
  ChartLockEntry,
  ResolvedChartDependency,
} from './render/helm-dependencies.js';
export { KustomizeRenderer, type KustomizeRendererOptions } from './render/kustomize.js';
export { DEFAULT_MAX_ALIAS_COUNT, type ParseManifestsOptions, parseManifests } from './render/parse.js';
export type { RunFunction, RunRequest, RunResult } from './render/process.js';
export {
  DEFAULT_MAX_FILE_BYTES,
  DEFAULT_MAX_TOTAL_BYTES,
  type ManifestReadOptions,
  RawRenderer,
  type RawRendererOptions,
} from './render/raw.js';
export { type SharedRendererOptions, shareRenderer } from './render/shared-renderer.js';
export {
  SUBSTITUTE_ANNOTATION,
  type SubstituteOptions,
  substituteVariables,
  withSubstitution,
} from './render/substitute.js';
export { DEFAULT_TOOL_TIMEOUT_MS, type ToolRendererOptions } from './render/tool.js';
export {
  type ArtifactLimits,
  type DeprecatedLimitAliases,
  type LimitNames,
  type LimitsInUse,
  type ResolvedArtifactLimits,
  resolveArtifactLimits,
} from './source/artifact-limits.js';
export { inParallel, linkAll, linkOrCopy, removeChanged, type StoredFile } from './source/artifact-links.js';
export {
  type ArtifactFileInput,
  type ArtifactRecord,
  ArtifactStore,
  type ArtifactStoreOptions,
  type CollectGarbageOptions,
  type PublishRequest,
  type WriteArtifactOptions,
} from './source/artifact-store.js';
export { DirectorySource, type DirectorySourceOptions } from './source/directory-source.js';
export {
  createIgnoreMatcher,
  DEFAULT_IGNORE_PATTERNS,
  type IgnoreMatcher,
  type IgnoreMatcherOptions,
  SOURCE_IGNORE_FILE,
} from './source/ignore.js';
export { findSecrets } from './source/leak-search.js';
export { RedactedCause, Redactor, redactCause } from './source/redactor.js';
export { type SharedSourceOptions, shareSource } from './source/shared-source.js';
export { checkStoredState, decodeStoredState } from './state/decode.js';
export { MemoryStateStore } from './state/memory-state-store.js';
export type {
  ApplyResult,
  Artifact,
  ArtifactMeta,
  ChangeAction,
  ClusterCapabilities,
  Condition,
  DriftNotice,
  FetchOptions,
  FieldChange,
  HealthOptions,
  HealthReport,
  HealthStatus,
  HistoryCause,
  HistoryCauseObject,
  HistoryEntry,
  Inventory,
  InventoryEntry,
  KubeObject,
  Manifest,
  ManifestOrigin,
  ObjectHealth,
  ObjectMeta,
  ObservedReconciler,
  Plan,
  PlannedLifecycle,
  PlannedObject,
  PlanOptions,
  PruneResult,
  ReconcileOutcome,
  Renderer,
  RenderOptions,
  RepairResult,
  Source,
  SourceChange,
  StateStore,
  StateStoreOptions,
  StoredState,
  Target,
  TargetCallOptions,
} from './types.js';
export { type PollOptions, poll } from './wait.js';
export {
  createWebhookHandler,
  type WebhookDispatcher,
  type WebhookHandler,
  type WebhookHandlerOptions,
  type WebhookOutcome,
  type WebhookProvider,
  type WebhookReconciler,
} from './webhook/handler.js';
export type { WebhookChange } from './webhook/payload.js';
