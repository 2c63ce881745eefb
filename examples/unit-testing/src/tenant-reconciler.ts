import {
  type Clock,
  RawRenderer,
  Reconciler,
  type Source,
  type StateStore,
  type Target,
} from '@gitops-kit/core';
import { type Tenant, TenantPolicyRenderer, tenantNamespace } from './tenant-policy.js';

/** What {@link tenantReconciler} needs; production passes a GitSource and a KubernetesTarget. */
export interface TenantReconcilerOptions {
  readonly tenant: Tenant;
  readonly source: Source;
  readonly target: Target;
  readonly stateStore?: StateStore;
  /** Tests pass a `ManualClock`. */
  readonly clock?: Clock;
}

/** How often a tenant's repository is reconciled (and drift reverted). */
export const TENANT_INTERVAL = 60_000;
/** How long a tenant's rollout may take before it is rolled back. */
export const TENANT_HEALTH_TIMEOUT = 5 * 60_000;
/**
 * The deadline of one pass. A pass that rolls back waits for health twice (the bad release, then
 * the good one again), so it must be longer than two health timeouts.
 */
export const TENANT_PASS_TIMEOUT = 15 * 60_000;

/**
 * The platform's reconciler for one tenant: raw YAML from the tenant's repository, checked and
 * decorated by the platform's rules, reconciled every minute, waited on, and rolled back when a
 * release does not become healthy within five minutes.
 */
export function tenantReconciler(options: TenantReconcilerOptions): Reconciler {
  return new Reconciler({
    name: tenantNamespace(options.tenant),
    source: options.source,
    renderer: new TenantPolicyRenderer(new RawRenderer(), options.tenant),
    target: options.target,
    ...(options.stateStore ? { stateStore: options.stateStore } : {}),
    ...(options.clock ? { clock: options.clock } : {}),
    interval: TENANT_INTERVAL,
    jitter: 0,
    prune: true,
    wait: true,
    rollback: true,
    healthPollInterval: 5_000,
    healthTimeout: TENANT_HEALTH_TIMEOUT,
    timeout: TENANT_PASS_TIMEOUT,
  });
}
