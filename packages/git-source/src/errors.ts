import { type ErrorLocation, type Redactor, redactCause, SourceError } from '@gitops-kit/core';

/** Stable error codes of the Git source (all thrown as `SourceError`). */
export const GitErrorCodes = {
  /** The server could not be reached or answered with an unexpected error. */
  FetchFailed: 'SOURCE_GIT_FETCH_FAILED',
  /** The server refused the credentials (HTTP 401/403). */
  AuthFailed: 'SOURCE_GIT_AUTH_FAILED',
  /** The branch, tag, semver range or commit does not exist on the server. */
  RefNotFound: 'SOURCE_GIT_REF_NOT_FOUND',
  /** The sub-path does not exist (or is not a folder) at the revision. */
  PathNotFound: 'SOURCE_GIT_PATH_NOT_FOUND',
  /** Signature verification is on and the revision is not signed. */
  SignatureMissing: 'SOURCE_GIT_SIGNATURE_MISSING',
  /** Signature verification is on and the signature does not verify against the given keys. */
  SignatureInvalid: 'SOURCE_GIT_SIGNATURE_INVALID',
  /** The artifact is larger than the limits allow. */
  LimitExceeded: 'SOURCE_LIMIT_EXCEEDED',
  /** A symbolic link points outside the artifact, or a path is unsafe. */
  UnsafePath: 'SOURCE_UNSAFE_PATH',
  /** The options are invalid (no keys for verification, bad semver range, bad URL). */
  InvalidOptions: 'SOURCE_GIT_INVALID_OPTIONS',
  /** The fetch was aborted through its signal. */
  Aborted: 'SOURCE_GIT_ABORTED',
  /** The server did not answer within `timeoutMs` (connection, response, or a stalled transfer). */
  Timeout: 'SOURCE_GIT_TIMEOUT',
  /** A packfile of the local repository cache is corrupt (an object does not match its id). */
  CorruptRepository: 'SOURCE_GIT_REPOSITORY_CORRUPT',
} as const;

/** Why a transport call failed, so the source can pick an error code. */
export type TransportFailure = 'auth' | 'not-found' | 'network' | 'protocol' | 'timeout';

const TRANSPORT_CODES: Record<TransportFailure, string> = {
  auth: GitErrorCodes.AuthFailed,
  'not-found': GitErrorCodes.FetchFailed,
  network: GitErrorCodes.FetchFailed,
  protocol: GitErrorCodes.FetchFailed,
  timeout: GitErrorCodes.Timeout,
};

/**
 * A failure of an engine talking to a server. Messages may contain URLs; the source redacts them
 * and never passes this error on (it becomes a `SourceError` with the code of its kind).
 */
export class TransportError extends SourceError {
  /** The kind of failure. */
  readonly kind: TransportFailure;

  /** @param message what the server or the socket said (may hold URLs: redact before showing) */
  constructor(kind: TransportFailure, message: string) {
    super(TRANSPORT_CODES[kind], message);
    this.kind = kind;
  }
}

/** Why a tree cannot become an artifact: a `SourceError` with `SOURCE_LIMIT_EXCEEDED` or `SOURCE_UNSAFE_PATH`. */
export class ArtifactProblem extends SourceError {
  /** `limit` or `unsafe`. */
  readonly kind: 'limit' | 'unsafe';
  /** The file concerned, when one is. */
  readonly file: string | undefined;

  /** @param file the path in the tree, named in the message */
  constructor(kind: 'limit' | 'unsafe', message: string, file?: string) {
    super(
      kind === 'limit' ? GitErrorCodes.LimitExceeded : GitErrorCodes.UnsafePath,
      message,
      file === undefined ? {} : { location: { file } },
    );
    this.kind = kind;
    this.file = file;
  }
}

/** A pack of the local repository cache whose data does not match its index or its object ids. */
export class PackCorruptError extends SourceError {
  /** @param pack the pack file's name, named in the message; @param detail what is wrong */
  constructor(pack: string, detail: string) {
    super(GitErrorCodes.CorruptRepository, `repository cache, ${pack}: ${detail}`);
  }
}

/**
 * Creates a `SourceError` with a redacted message; the cause is kept only as a redacted copy (code,
 * status, message), never as the object a client threw.
 */
export function gitError(
  code: string,
  message: string,
  redactor: Redactor,
  cause?: unknown,
  location?: ErrorLocation,
): SourceError {
  const safeCause = cause === undefined ? undefined : redactCause(cause, redactor);
  return new SourceError(code, redactor.redact(message), {
    ...(safeCause ? { cause: safeCause } : {}),
    ...(location ? { location } : {}),
  });
}

/** A one-line description of anything thrown. */
export function describe(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return typeof code === 'string' && !error.message.includes(code)
      ? `${error.message} (${code})`
      : error.message;
  }
  return String(error);
}
