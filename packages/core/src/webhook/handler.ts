import type { IncomingMessage, ServerResponse } from 'node:http';
import { ErrorCodes, WebhookConfigError } from '../errors.js';
import type { Source, SourceChange } from '../types.js';
import {
  genericChange,
  githubChange,
  gitlabChange,
  parseBody,
  sourceChanges,
  type WebhookChange,
} from './payload.js';
import { constantTimeEqual, verifyHmacSha256 } from './verify.js';

/** Something that can be triggered by a change: a `Reconciler` fits. */
export interface WebhookReconciler {
  /** The name reported in the outcome. */
  readonly name: string;
  /** The source whose `matches` decides whether a change concerns it. */
  readonly source: Source;
  /** Asks for a pass soon; the result is not awaited. */
  trigger(): unknown;
}

/** Something that triggers whatever a change concerns and names what it triggered: a `Manager` fits. */
export interface WebhookDispatcher {
  /** Triggers every reconciler the change concerns and returns their names. */
  triggerMatching(change: SourceChange): string[];
}

/** The providers a request can come from. */
export type WebhookProvider = 'github' | 'gitlab' | 'generic';

/** What the handler did with one request (for logs and metrics; it never holds secrets). */
export interface WebhookOutcome {
  /** The provider the request came from (absent when it was refused before the provider was known). */
  readonly provider: WebhookProvider | undefined;
  /** HTTP status sent. */
  readonly status: number;
  /** Why the request was refused or ignored, when it was. */
  readonly reason?: string;
  /** What the request said changed, when it was authentic and understood. */
  readonly change?: WebhookChange;
  /** Names of the reconcilers triggered. */
  readonly triggered: readonly string[];
}

/** Options for {@link createWebhookHandler}: at least one of `github`, `gitlab` and `generic` is required. */
export interface WebhookHandlerOptions {
  /** A `Manager`, or a list of reconcilers (read on every request, so it may change). */
  readonly targets: WebhookDispatcher | readonly WebhookReconciler[] | (() => Iterable<WebhookReconciler>);
  /** GitHub: the webhook secret that signs `X-Hub-Signature-256` (must not be empty). */
  readonly github?: {
    /** The secret configured on the GitHub webhook. */
    readonly secret: string;
  };
  /** GitLab: the secret token sent as `X-Gitlab-Token` (must not be empty). */
  readonly gitlab?: {
    /** The secret token configured on the GitLab webhook. */
    readonly token: string;
  };
  /**
   * Any other sender: an HMAC-SHA256 of the body with `secret`, hex, optionally prefixed `sha256=`,
   * in the header `header` (default `x-signature-256`). The body is JSON `{ "url"?, "ref"? }`.
   * The secret must not be empty.
   */
  readonly generic?: {
    /** The HMAC key. */
    readonly secret: string;
    /** The header holding the signature (default `x-signature-256`). */
    readonly header?: string;
  };
  /** Largest accepted body in bytes (default 1 MiB); larger requests get 413. */
  readonly maxBodyBytes?: number;
  /** Called once per request with what was done. */
  readonly onOutcome?: (outcome: WebhookOutcome) => void;
}

/** A `node:http` request listener that also resolves when the request is handled. */
export type WebhookHandler = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

/** The body was larger than allowed. */
class BodyTooLarge extends Error {}

function readBody(req: IncomingMessage, max: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? '0');
    if (declared > max) {
      reject(new BodyTooLarge());
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > max) {
        req.removeAllListeners('data');
        req.resume();
        reject(new BodyTooLarge());
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
}

function providerOf(req: IncomingMessage): WebhookProvider {
  if (header(req, 'x-github-event') !== undefined || header(req, 'x-hub-signature-256') !== undefined)
    return 'github';
  if (header(req, 'x-gitlab-event') !== undefined || header(req, 'x-gitlab-token') !== undefined)
    return 'gitlab';
  return 'generic';
}

function isDispatcher(targets: WebhookHandlerOptions['targets']): targets is WebhookDispatcher {
  return typeof (targets as WebhookDispatcher).triggerMatching === 'function';
}

/** Triggers every target whose source matches one of the changes, each at most once. */
function dispatch(targets: WebhookHandlerOptions['targets'], changes: readonly SourceChange[]): string[] {
  const triggered = new Set<string>();
  if (isDispatcher(targets)) {
    // A Manager triggers as it matches; a reconciler matched by two URLs is triggered twice and
    // coalesces the second request into the first.
    for (const change of changes) for (const name of targets.triggerMatching(change)) triggered.add(name);
    return [...triggered];
  }
  const list = typeof targets === 'function' ? [...targets()] : targets;
  for (const reconciler of list) {
    if (triggered.has(reconciler.name)) continue;
    if (changes.some((change) => reconciler.source.matches?.(change) ?? false)) {
      triggered.add(reconciler.name);
      void Promise.resolve(reconciler.trigger()).catch(() => undefined);
    }
  }
  return [...triggered];
}

/** The credentials of the configured providers, read once so a later edit of the options cannot empty them. */
interface Credentials {
  readonly github?: string;
  readonly gitlab?: string;
  readonly generic?: { readonly secret: string; readonly header: string };
}

/**
 * Checks the providers' credentials once, at creation: an empty secret would make the empty HMAC
 * key (or an empty token) a valid signature, so anyone could trigger; a handler with no provider
 * could never accept anything, which is a mistake rather than a policy.
 */
function credentialsOf(options: WebhookHandlerOptions): Credentials {
  const required = (value: unknown, option: string): string => {
    if (typeof value !== 'string' || value.length === 0) {
      throw new WebhookConfigError(
        ErrorCodes.WebhookSecretEmpty,
        `webhook option ${option} is empty: a request signed with an empty key would be accepted; set a secret or leave the provider out`,
      );
    }
    return value;
  };
  const { github, gitlab, generic } = options;
  if (!github && !gitlab && !generic) {
    throw new WebhookConfigError(
      ErrorCodes.WebhookNoProvider,
      'webhook handler has no provider: set at least one of github.secret, gitlab.token or generic.secret',
    );
  }
  return {
    ...(github ? { github: required(github.secret, 'github.secret') } : {}),
    ...(gitlab ? { gitlab: required(gitlab.token, 'gitlab.token') } : {}),
    ...(generic
      ? {
          generic: {
            secret: required(generic.secret, 'generic.secret'),
            header: generic.header ?? 'x-signature-256',
          },
        }
      : {}),
  };
}

/**
 * A webhook receiver for `node:http` (or anything with the same request and response): GitHub
 * push events signed with `X-Hub-Signature-256`, GitLab events with `X-Gitlab-Token`, and a
 * generic HMAC-SHA256. Credentials are compared in constant time; a request that fails the check
 * gets 401 and triggers nothing. A valid push triggers the reconcilers whose source matches the
 * repository URL and ref. Bodies above the limit get 413 without being read to the end.
 *
 * @throws {WebhookConfigError} `WEBHOOK_SECRET_EMPTY` when a configured provider's secret or token
 * is empty, `WEBHOOK_NO_PROVIDER` when no provider is configured.
 */
export function createWebhookHandler(options: WebhookHandlerOptions): WebhookHandler {
  const credentials = credentialsOf(options);
  const max = options.maxBodyBytes ?? 1024 * 1024;

  return async (req, res) => {
    let provider: WebhookProvider | undefined;
    const finish = (
      status: number,
      body: Record<string, unknown>,
      outcome: Omit<WebhookOutcome, 'status' | 'provider' | 'triggered'> & { triggered?: readonly string[] },
    ): void => {
      if (!res.headersSent) {
        res.writeHead(status, {
          'content-type': 'application/json',
          ...(status === 413 ? { connection: 'close' } : {}),
        });
        res.end(`${JSON.stringify(body)}\n`);
      }
      try {
        options.onOutcome?.({ provider, status, triggered: [], ...outcome });
      } catch {
        // A failing logger must not break the receiver.
      }
    };

    if (req.method !== 'POST') {
      finish(405, { error: 'method not allowed' }, { reason: 'method not allowed' });
      return;
    }
    provider = providerOf(req);
    let body: Buffer;
    try {
      body = await readBody(req, max);
    } catch (error) {
      if (error instanceof BodyTooLarge)
        finish(413, { error: 'body too large' }, { reason: `body larger than ${max} bytes` });
      else finish(400, { error: 'could not read body' }, { reason: 'could not read body' });
      return;
    }

    let authentic = false;
    if (provider === 'github' && credentials.github !== undefined) {
      authentic = verifyHmacSha256(credentials.github, body, header(req, 'x-hub-signature-256'));
    } else if (provider === 'gitlab' && credentials.gitlab !== undefined) {
      authentic = constantTimeEqual(header(req, 'x-gitlab-token') ?? '', credentials.gitlab);
    } else if (provider === 'generic' && credentials.generic) {
      authentic = verifyHmacSha256(credentials.generic.secret, body, header(req, credentials.generic.header));
    }
    if (!authentic) {
      finish(401, { error: 'invalid signature' }, { reason: 'invalid or missing signature' });
      return;
    }

    let payload: unknown;
    try {
      payload = parseBody(body, header(req, 'content-type'));
    } catch {
      finish(400, { error: 'body is not JSON' }, { reason: 'body is not JSON' });
      return;
    }

    let change: WebhookChange;
    if (provider === 'github') {
      const event = header(req, 'x-github-event') ?? 'push';
      if (event !== 'push') {
        finish(200, { ignored: event, triggered: [] }, { reason: `event ${event} ignored` });
        return;
      }
      change = githubChange(payload);
    } else if (provider === 'gitlab') {
      const event = header(req, 'x-gitlab-event') ?? 'Push Hook';
      if (event !== 'Push Hook' && event !== 'Tag Push Hook') {
        finish(200, { ignored: event, triggered: [] }, { reason: `event ${event} ignored` });
        return;
      }
      change = gitlabChange(payload);
    } else {
      change = genericChange(payload);
    }

    const triggered = dispatch(options.targets, sourceChanges(change));
    finish(triggered.length > 0 ? 202 : 200, { triggered }, { change, triggered });
  };
}
