import type { HealthStatus, KubeObject } from '@gitops-kit/core';

/** The health of one live object and why, as people read it. */
export interface HealthResult {
  /** `Current`, `InProgress`, `Failed`, ... as kstatus computes it. */
  readonly status: HealthStatus;
  /** Why, in words (`2 of 3 replicas ready`). */
  readonly message: string;
}

/**
 * A health rule for one kind. Return a result to decide, or `undefined` to fall through to the
 * built-in rules (so a check can handle only the cases it knows about).
 */
export type CustomHealthCheck = (object: KubeObject) => HealthResult | undefined;

/**
 * Custom health checks keyed by `group/Kind` (`example.com/Widget`, `apps/Deployment`); kinds of
 * the core group are keyed by `Kind` alone (`Service`), as kstatus does.
 */
export type CustomHealthChecks = Readonly<Record<string, CustomHealthCheck>>;

/** Options for {@link assessHealth}. */
export interface AssessHealthOptions {
  /** Checks that run before the built-in kind rules. */
  readonly checks?: CustomHealthChecks | undefined;
  /** The current time in milliseconds since the epoch (default `Date.now()`), for time-based rules. */
  readonly now?: number | undefined;
}
