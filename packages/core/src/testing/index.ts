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
