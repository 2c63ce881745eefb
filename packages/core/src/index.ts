export * from './clock.js';
export * from './diff/index.js';
export * from './digest.js';
export * from './errors.js';
export * from './health.js';
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
export * from './source/directory-source.js';
export * from './source/ignore.js';
export { findSecrets } from './source/leak-search.js';
export { RedactedCause, Redactor, redactCause } from './source/redactor.js';
export * from './source/walk.js';
export * from './state/memory-state-store.js';
export type * from './types.js';
export * from './webhook/index.js';
