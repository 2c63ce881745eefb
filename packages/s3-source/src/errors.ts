import { ErrorCodes, Redactor, redactCause, SourceError } from '@gitops-kit/core';

/** Error codes of S3Source beyond the shared `SOURCE_*` codes of core. */
export const S3ErrorCodes = {
  /** The server refused the credentials or the request (401/403). */
  AccessDenied: 'SOURCE_S3_ACCESS_DENIED',
  /** An object changed or vanished between the listing and its download (412/404). Retried internally. */
  ObjectChanged: 'SOURCE_S3_OBJECT_CHANGED',
  /** The bucket kept changing during every attempt to build a consistent artifact. */
  Unstable: 'SOURCE_S3_UNSTABLE',
  /** `versionsAt` was asked of a bucket whose listing has no versions. */
  NotVersioned: 'SOURCE_S3_NOT_VERSIONED',
  /** The endpoint did not answer (or a body stalled) within `requestTimeoutMs`. */
  Timeout: 'SOURCE_S3_TIMEOUT',
  /** The fetch was aborted through its signal (with a reason that is not an error). */
  Aborted: 'SOURCE_S3_ABORTED',
} as const;

/** What the error mapper needs to write a useful message without secrets. */
export interface ErrorContext {
  /** The endpoint as shown to people (no credentials). */
  readonly endpoint: string;
  readonly bucket: string;
  /** What was being done: `listing objects`, `reading "key"`. */
  readonly action: string;
  /** Values that must never appear in a message (secret key, session token, access key id). */
  readonly secrets: readonly string[];
}

interface ErrorShape {
  name?: unknown;
  code?: unknown;
  message?: unknown;
  $metadata?: { httpStatusCode?: unknown };
  $fault?: unknown;
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'UND_ERR_SOCKET',
]);

const AUTH_NAMES = new Set([
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'AccessDenied',
  'InvalidToken',
  'ExpiredToken',
  'TokenRefreshRequired',
  'CredentialsProviderError',
]);

/** Replaces every secret value in `text` with `***`, by core's one rule (see `Redactor`). */
export function scrub(text: string, secrets: readonly string[]): string {
  return new Redactor(secrets).redact(text);
}

function describeNetwork(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current && typeof current === 'object'; depth++) {
    const shape = current as ErrorShape & { cause?: unknown; errors?: unknown };
    if (typeof shape.code === 'string' && NETWORK_CODES.has(shape.code)) return shape.code;
    if (shape.name === 'TimeoutError') return 'timed out';
    if (Array.isArray(shape.errors) && shape.errors.length > 0) current = shape.errors[0];
    else current = shape.cause;
  }
  return undefined;
}

/**
 * Turns an SDK or network error into a `SourceError` with a stable code and a message that says
 * what failed, where, and what to check. The message never carries credentials: it is built from the
 * error's name and status, and the server's own message is scrubbed of every secret we know. The
 * cause is a redacted copy, never the SDK's error.
 */
export function toSourceError(error: unknown, context: ErrorContext): SourceError {
  if (error instanceof SourceError) return error;
  const shape = (error && typeof error === 'object' ? error : {}) as ErrorShape;
  const name = typeof shape.name === 'string' ? shape.name : 'Error';
  const status =
    typeof shape.$metadata?.httpStatusCode === 'number' ? shape.$metadata.httpStatusCode : undefined;
  const redactor = new Redactor(context.secrets);
  const serverMessage = redactor.redact(typeof shape.message === 'string' ? shape.message : String(error));
  const where = `S3 endpoint ${context.endpoint}, bucket "${context.bucket}"`;
  // Only code, status and the redacted message: the SDK's error holds the raw request and
  // response, its `authorization` header included (`$response.body.req._header`).
  const options = { cause: redactCause(error, redactor) };

  if (AUTH_NAMES.has(name) || status === 401 || status === 403) {
    return new SourceError(
      S3ErrorCodes.AccessDenied,
      `${where} refused the request while ${context.action}: ${name}${status ? ` (HTTP ${status})` : ''}. ` +
        'Check the access key id, the secret access key and the bucket policy.',
      options,
    );
  }
  if (name === 'NoSuchBucket') {
    return new SourceError(ErrorCodes.SourceNotFound, `${where}: the bucket does not exist`, options);
  }
  const network = describeNetwork(error);
  if (network) {
    return new SourceError(
      ErrorCodes.SourceFetchFailed,
      `cannot reach ${where} while ${context.action}: ${network}`,
      options,
    );
  }
  return new SourceError(
    ErrorCodes.SourceFetchFailed,
    `${where} failed while ${context.action}: ${name}${status ? ` (HTTP ${status})` : ''}: ${serverMessage}`,
    options,
  );
}
