import { type ErrorLocation, formatRef, GitOpsError, type Manifest, type ObjectRef } from '@gitops-kit/core';

/**
 * Every error code of the Kubernetes target, and its error classes. The verbs throw the core
 * stage classes (`ValidationError`, `ApplyError`, `HealthError`, ...) with these codes; the
 * classes below are for failures of the HTTP layer, discovery and leader election, and extend
 * core's `GitOpsError` like every other gitops-kit error.
 */
export const K8sErrorCodes = {
  /** A manifest names a kind the server does not serve. */
  UnknownKind: 'VALIDATION_UNKNOWN_KIND',
  /** A manifest lacks `apiVersion`, `kind` or `metadata.name`. */
  InvalidObject: 'VALIDATION_INVALID_OBJECT',
  /** Restrictions refused manifests (checked before any request). */
  Restricted: 'VALIDATION_RESTRICTED',
  /** The server-side dry-run refused objects. */
  DryRunFailed: 'VALIDATION_DRY_RUN_FAILED',
  /** Another field manager owns fields we want to change and `force` is off. */
  FieldConflict: 'CONFLICT_FIELD_MANAGER',
  /** Writing objects failed. */
  ApplyFailed: 'APPLY_FAILED',
  /** A CRD did not become Established, or a Namespace did not appear, in time. */
  NotEstablished: 'APPLY_NOT_ESTABLISHED',
  /** Reading live objects for a plan failed (permissions, connection). */
  ReadFailed: 'APPLY_READ_FAILED',
  /** The KubeConfig names no current cluster. */
  InvalidKubeConfig: 'APPLY_INVALID_KUBECONFIG',
  /** Reading live objects for a health check failed. */
  HealthReadFailed: 'HEALTH_READ_FAILED',
  /**
   * Reading the state object failed. The same code the core Reconciler gives any failed load: an
   * API error is wrapped here (a KubeApiError is itself a GitOpsError and would pass through).
   */
  StateLoadFailed: 'RECONCILE_STATE_LOAD_FAILED',
  /** Writing the state object failed (its namespace is missing, RBAC); the message names the object. */
  StateSaveFailed: 'RECONCILE_STATE_SAVE_FAILED',
  /** The state object holds something that is not a gitops-kit state (not gzip, not JSON, wrong shape). */
  StateInvalid: 'RECONCILE_STATE_INVALID',
  /** The state is too large for one ConfigMap or Secret. */
  StateTooLarge: 'STATE_TOO_LARGE',
  /** Another writer changed or created the Lease first. */
  LeaseConflict: 'LEASE_CONFLICT',
  /** A Kubernetes Event could not be written (reported to `events.onError`; passes go on). */
  EventWriteFailed: 'EVENT_WRITE_FAILED',
} as const;

/**
 * The code of a failed API request: `KUBE_` and the `Status` reason in upper snake case
 * (`KUBE_NOT_FOUND`, `KUBE_CONFLICT`, `KUBE_INVALID`, `KUBE_FORBIDDEN`, `KUBE_CONNECTION_FAILED`).
 */
export function kubeApiCode(reason: string): string {
  return `KUBE_${reason.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()}`;
}

/** A cause listed in a `Status` body (`details.causes`). */
export interface StatusCause {
  /** A machine-readable reason (`FieldValueInvalid`, `FieldValueRequired`, ...). */
  readonly reason?: string;
  /** What is wrong with the field, in words. */
  readonly message?: string;
  /** The field path the cause is about (`spec.replicas`). */
  readonly field?: string;
}

/** A failed request: the HTTP status and, when the server sent one, its `Status` reason and message. */
export class KubeApiError extends GitOpsError {
  /** The HTTP status code (0 when no response arrived). */
  readonly statusCode: number;
  /** The `Status.reason` (`NotFound`, `Conflict`, `Invalid`, `Forbidden`, …) or `Unknown`. */
  readonly reason: string;
  /** The field-level causes of the `Status` body (`details.causes`), empty when it listed none. */
  readonly causes: readonly StatusCause[];

  /**
   * The code is `KUBE_` and `reason` in upper snake case (`KUBE_NOT_FOUND` for `NotFound`;
   * `KUBE_UNKNOWN` when the server said nothing we can read).
   */
  constructor(statusCode: number, reason: string, message: string, causes: readonly StatusCause[] = []) {
    super('apply', kubeApiCode(reason), message);
    this.statusCode = statusCode;
    this.reason = reason;
    this.causes = causes;
  }
}

/** An `apiVersion`/`kind` the server does not serve. */
export class UnknownKindError extends GitOpsError {
  /** The `apiVersion` the manifest names (`example.com/v1`). */
  readonly apiVersion: string;
  /** The kind the manifest names. */
  readonly kind: string;

  constructor(apiVersion: string, kind: string, detail: string) {
    super(
      'validation',
      K8sErrorCodes.UnknownKind,
      `the server has no kind ${kind} in ${apiVersion} (${detail}); is its CRD installed?`,
    );
    this.apiVersion = apiVersion;
    this.kind = kind;
  }
}

/** Thrown by a `LeaseStore`'s create and update when another writer got there first. */
export class LeaseConflictError extends GitOpsError {
  constructor(message: string, options: { readonly cause?: unknown } = {}) {
    super('reconcile', K8sErrorCodes.LeaseConflict, message, options);
  }
}

/** Whether an error is a {@link KubeApiError} with the given HTTP status. */
export function isStatus(error: unknown, statusCode: number): error is KubeApiError {
  return error instanceof KubeApiError && error.statusCode === statusCode;
}

/** The location of a manifest, for errors: file, line, document and the object reference. */
export function locationOf(manifest: Manifest | undefined, ref: ObjectRef): ErrorLocation {
  if (!manifest) return { object: formatRef(ref) };
  return {
    file: manifest.origin.file,
    line: manifest.origin.line,
    documentIndex: manifest.origin.documentIndex,
    object: formatRef(ref),
  };
}

/** A short description of an API error for people: `Invalid: <server message>`. */
export function describeApiError(error: unknown): string {
  if (error instanceof KubeApiError) return `${error.reason}: ${error.message}`;
  return error instanceof Error ? error.message : String(error);
}

/** Whether the apiserver refused a change because a field is immutable. */
export function isImmutableError(error: unknown): boolean {
  return (
    error instanceof KubeApiError &&
    error.statusCode === 422 &&
    /immutable|may not change once set|cannot be changed|cannot change/i.test(error.message)
  );
}

/** Whether the apiserver refused an apply because another field manager owns a field. */
export function isConflictError(error: unknown): boolean {
  return error instanceof KubeApiError && error.statusCode === 409 && error.reason === 'Conflict';
}
