export * from './clock.js';
export * from './diff/index.js';
export * from './digest.js';
export * from './errors.js';
export * from './health.js';
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
export * from './plan.js';
export * from './reconciler/index.js';
export * from './refs.js';
export * from './render/cache.js';
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
export { checkStoredState, decodeStoredState } from './state/decode.js';
export * from './state/memory-state-store.js';
export type * from './types.js';
export { type PollOptions, poll } from './wait.js';
export * from './webhook/index.js';
