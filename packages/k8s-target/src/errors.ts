import { type ErrorLocation, formatRef, type Manifest, type ObjectRef } from '@gitops-kit/core';
import { KubeApiError } from './kube-client.js';

/** Error codes of the Kubernetes target (the core stage classes carry them). */
export const K8sErrorCodes = {
  /** A manifest names a kind the server does not serve. */
  UnknownKind: 'VALIDATION_UNKNOWN_KIND',
  /** A manifest lacks `apiVersion`, `kind` or `metadata.name`. */
  InvalidObject: 'VALIDATION_INVALID_OBJECT',
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
  /** Reading live objects for a health check failed. */
  HealthReadFailed: 'HEALTH_READ_FAILED',
} as const;

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
