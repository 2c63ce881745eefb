import { GitOpsError } from '@gitops-kit/core';

/** The stable codes of this package's errors. */
export const MetricsErrorCodes = {
  /** A metric of the same name is already registered on the registry given. */
  AlreadyRegistered: 'METRICS_ALREADY_REGISTERED',
  /** The `/metrics` server could not listen. */
  ServeFailed: 'METRICS_SERVE_FAILED',
} as const;

/** An error of `@gitops-kit/metrics`. */
export class MetricsError extends GitOpsError {
  constructor(code: string, message: string, options: { readonly cause?: unknown } = {}) {
    super('reconcile', code, message, options);
  }
}
