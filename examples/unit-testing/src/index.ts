export {
  POLICY_VIOLATION,
  policyViolations,
  TEAM_LABEL,
  type Tenant,
  TenantPolicyRenderer,
  tenantNamespace,
} from './tenant-policy.js';
export {
  TENANT_HEALTH_TIMEOUT,
  TENANT_INTERVAL,
  TENANT_PASS_TIMEOUT,
  type TenantReconcilerOptions,
  tenantReconciler,
} from './tenant-reconciler.js';
