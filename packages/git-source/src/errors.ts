import { type ErrorLocation, SourceError } from '@gitops-kit/core';

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
  /** The URL scheme is not supported by the chosen engine (SSH with isomorphic-git). */
  UnsupportedUrl: 'SOURCE_GIT_UNSUPPORTED_URL',
  /** The native engine was chosen but no `git` program was found. */
  GitMissing: 'SOURCE_GIT_PROGRAM_MISSING',
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
} as const;

/**
 * Removes credentials from text: user info in URLs, and every secret value the source knows
 * (password, token, header values, and their base64 forms). Applied to every message that leaves
 * the package, because HTTP libraries and the git program echo URLs and headers in their errors.
 */
export class Redactor {
  readonly #secrets: string[];

  /** @param secrets values that must never appear in output (empty strings are ignored). */
  constructor(secrets: readonly string[]) {
    this.#secrets = [...new Set(secrets.filter((s) => s.length >= 3))].sort((a, b) => b.length - a.length);
  }

  /** The text with URL user info and every known secret replaced by `***`. */
  redact(text: string): string {
    let out = text.replace(/([a-z][a-z0-9+.-]*:\/\/)[^/@\s]*@/gi, '$1');
    for (const secret of this.#secrets) out = out.split(secret).join('***');
    return out;
  }
}

/** Creates a `SourceError` with a redacted message; the cause is kept only as a redacted copy. */
export function gitError(
  code: string,
  message: string,
  redactor: Redactor,
  cause?: unknown,
  location?: ErrorLocation,
): SourceError {
  const safeCause = cause === undefined ? undefined : new Error(redactor.redact(describe(cause)));
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
