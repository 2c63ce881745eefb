export * from './clock.js';
export * from './diff/index.js';
export * from './digest.js';
export * from './errors.js';
export * from './health.js';
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
export * from './plan.js';
export * from './reconciler/index.js';
export * from './refs.js';
export * from './render/cache.js';
export * from './render/codes.js';
export * from './render/detect.js';
export * from './render/duplicates.js';
export * from './render/helm.js';
export * from './render/kustomize.js';
export * from './render/parse.js';
export * from './render/process.js';
export * from './render/raw.js';
export * from './render/substitute.js';
export * from './render/tool.js';
export * from './source/directory-source.js';
export * from './source/ignore.js';
export * from './source/walk.js';
export * from './state/memory-state-store.js';
export type * from './types.js';
export * from './webhook/index.js';
