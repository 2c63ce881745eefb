/**
 * `@gitops-kit/core/testing`: the testing kit. `MemorySource` (commits in memory), `FakeCluster` (an
 * in-memory Target with ownership, prune and scripted health) and `ManualClock` (time that moves
 * only when the test says), so a reconciler is unit-tested in milliseconds without servers.
 *
 * @packageDocumentation
 * @module @gitops-kit/core/testing
 */
export {
  type ClusterOperation,
  FakeCluster,
  type FakeClusterOptions,
  type HealthOutcome,
  type HealthRule,
  type HealthSelector,
  OWNER_LABEL,
  PRUNE_ANNOTATION,
  PRUNE_DISABLED,
} from './fake-cluster.js';
export { ManualClock, type ManualClockOptions, whileTimePasses } from './manual-clock.js';
export {
  type CommitOptions,
  type MemoryCommit,
  MemorySource,
  type MemorySourceOptions,
} from './memory-source.js';
