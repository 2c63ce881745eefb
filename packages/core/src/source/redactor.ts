import { GitOpsError } from '../errors.js';

/**
 * The one redactor of every source. Rule: every non-empty secret is replaced by `***` wherever it
 * appears, whatever its length. A short secret mangles a message more than a long one, but a message
 * that shows a credential, however short, is a leak; readability loses. URL user info
 * (`https://user:pass@host`) is removed as well, since HTTP libraries and the git program echo URLs.
 */
export class Redactor {
  readonly #secrets: string[];

  /** @param secrets values that must never appear in output (empty strings are ignored). */
  constructor(secrets: readonly (string | undefined)[]) {
    const set = new Set<string>();
    for (const secret of secrets) {
      if (!secret) continue;
      set.add(secret);
      // Encoded forms that clients put in headers and URLs.
      set.add(encodeURIComponent(secret));
    }
    // Longest first, so a secret that contains another is replaced whole.
    this.#secrets = [...set].sort((a, b) => b.length - a.length);
  }

  /**
   * The text with URL user info, every known secret, and the credential parts of authorization
   * values (`Bearer …`, `Basic …`, AWS `Credential=…` and `Signature=…`, which change per request
   * and so cannot be known in advance) replaced by `***`.
   */
  redact(text: string): string {
    let out = text.replace(/([a-z][a-z0-9+.-]*:\/\/)[^/@\s]*@/gi, '$1');
    for (const secret of this.#secrets) out = out.split(secret).join('***');
    return out
      .replace(/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/g, '$1 ***')
      .replace(/\b((?:X-Amz-)?(?:Credential|Signature|Security-Token))=[^\s,&;"'<]+/gi, '$1=***');
  }
}

/**
 * What is kept of a client's error as the `cause` of ours: its code, HTTP status and redacted
 * message, nothing else. Client errors carry raw requests and responses (an S3 error holds the
 * request's `authorization` header at `$response.body.req._header`), so they never go into a chain.
 */
export class RedactedCause extends GitOpsError {
  /** The HTTP status the client reported, when it did. */
  readonly status: number | undefined;

  /**
   * @param code the client's own code or error name (`ECONNRESET`, `AccessDenied`), or `SOURCE_CAUSE`
   * @param message already redacted
   */
  constructor(code: string, message: string, status?: number) {
    super('source', code, message);
    this.status = status;
  }
}

interface ErrorFields {
  readonly name?: unknown;
  readonly code?: unknown;
  readonly message?: unknown;
  readonly $metadata?: { readonly httpStatusCode?: unknown };
  readonly statusCode?: unknown;
  readonly status?: unknown;
  readonly cause?: unknown;
}

/** The first string among `values`. */
function firstString(...values: unknown[]): string | undefined {
  return values.find((v): v is string => typeof v === 'string' && v.length > 0);
}

/**
 * Copies what is safe of anything thrown into a {@link RedactedCause}: code (or name), status and
 * the message through `redactor`; the copy's own cause is the same treatment of the original's cause
 * (a few levels deep), so the chain keeps its story without any object of the client.
 */
export function redactCause(error: unknown, redactor: Redactor, depth = 3): RedactedCause {
  const fields: ErrorFields = error && typeof error === 'object' ? (error as ErrorFields) : {};
  const message = redactor.redact(
    firstString(fields.message) ?? (typeof error === 'string' ? error : String(error)),
  );
  const code = firstString(fields.code, fields.name) ?? 'SOURCE_CAUSE';
  const statusValue = fields.$metadata?.httpStatusCode ?? fields.statusCode ?? fields.status;
  const status = typeof statusValue === 'number' ? statusValue : undefined;
  const copy = new RedactedCause(redactor.redact(code), message, status);
  if (depth > 1 && fields.cause !== undefined && fields.cause !== error) {
    Object.defineProperty(copy, 'cause', {
      value: redactCause(fields.cause, redactor, depth - 1),
      enumerable: false,
      writable: true,
      configurable: true,
    });
  }
  return copy;
}
