export { assessHealth, assessObjectHealth, healthCheckKey } from './assess.js';
export {
  alwaysCurrent,
  crdHealth,
  daemonSetHealth,
  deploymentHealth,
  jobHealth,
  type KindRule,
  type KindRuleContext,
  kindRules,
  podHealth,
  pvcHealth,
  replicaSetHealth,
  serviceHealth,
  statefulSetHealth,
  UNSCHEDULABLE_GRACE_MS,
} from './kinds.js';
export type { AssessHealthOptions, CustomHealthCheck, CustomHealthChecks, HealthResult } from './types.js';
