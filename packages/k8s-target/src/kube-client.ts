import { type Clock, sleep, systemClock } from '@gitops-kit/core';
import type { KubeConfig } from '@kubernetes/client-node';
import { shortenApiMessage } from './api-message.js';
import { type Connection, kubeConnection } from './connection.js';
import type { KubeCredentials } from './default-credentials.js';
import { KubeApiError, type StatusCause } from './errors.js';
import { type ApiRequestListener, RequestListeners } from './request-hook.js';
import { DEFAULT_MAX_RETRIES, retryAfterMs } from './retry-after.js';

/**
 * A small HTTP layer over the Kubernetes API. It exists because @kubernetes/client-node (1.2+)
 * serializes built-in kinds through its generated models and silently drops fields they do not
 * know: apply bodies must reach the apiserver exactly as rendered. The KubeConfig still does what
 * it is good at (loading, TLS material, tokens, exec plugins); this layer sends raw JSON over one
 * keep-alive agent, counts requests and writes, honours an AbortSignal, waits and sends again when
 * the apiserver answers 429 with `Retry-After`, and turns `Status` bodies into {@link KubeApiError}s.
 */

/** Who to act as: the `Impersonate-User` and `Impersonate-Group` headers. */
export interface Impersonation {
  /** The user to act as (`Impersonate-User`), such as `system:serviceaccount:team-a:deployer`. */
  readonly user: string;
  /** The groups to act with (`Impersonate-Group`); default none. */
  readonly groups?: readonly string[];
}

/** Options for {@link KubeClient}. */
export interface KubeClientOptions {
  /** Act as another user (requires the `impersonate` verb for the KubeConfig's user). */
  readonly impersonate?: Impersonation | undefined;
  /** Concurrent connections to the apiserver (default 16). */
  readonly maxSockets?: number | undefined;
  /** Called before every request (restrictions are checked before, so tests can assert none are sent). */
  readonly onRequest?: ((request: KubeRequest) => void) | undefined;
  /**
   * How long a request may wait for the server with nothing arriving (default 60 s): a hung
   * apiserver or a dropped connection fails the request with reason `Timeout` instead of holding
   * the pass until its own timeout.
   */
  readonly requestTimeoutMs?: number | undefined;
  /**
   * How many times one request is sent again when the apiserver answers 429 (or 500–504) with
   * `Retry-After`, as client-go does (default 10; 0 turns it off). Each wait is what the server
   * asked for, at most 10 s, and ends early when the request's signal aborts.
   */
  readonly maxRetries?: number | undefined;
}

/** The default of {@link KubeClientOptions.requestTimeoutMs}. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 60_000;

/** One request to the apiserver. */
export interface KubeRequest {
  /** The HTTP method. */
  readonly method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** The path, starting with `/api` or `/apis`, without a query string. */
  readonly path: string;
  /** Query parameters; `undefined` values are left out. */
  readonly query?: Readonly<Record<string, string | undefined>> | undefined;
  /** A JSON value sent as the body, serialized with `JSON.stringify` and nothing else. */
  readonly body?: unknown;
  /** Content type of the body (default `application/json`). */
  readonly contentType?: string | undefined;
  /** The Accept header (default `application/json`), e.g. to ask for metadata only. */
  readonly accept?: string | undefined;
  /** Aborts the request. */
  readonly signal?: AbortSignal | undefined;
}

/** Counters of the requests a {@link KubeClient} sent. */
export interface RequestCounters {
  /** Every request, reads and writes. */
  requests: number;
  /** Requests that change state: non-GET and not a dry-run. */
  writes: number;
  /** Dry-run requests (they change nothing). */
  dryRuns: number;
}

/** Parses a response body into a KubeApiError, reading a `Status` object when there is one. */
export function errorFromResponse(statusCode: number, text: string): KubeApiError {
  let reason = httpReason(statusCode);
  let message = text.trim().slice(0, 500) || `HTTP ${statusCode}`;
  let causes: StatusCause[] = [];
  try {
    const parsed = JSON.parse(text) as {
      kind?: unknown;
      reason?: unknown;
      message?: unknown;
      details?: { causes?: unknown };
    };
    if (parsed && parsed.kind === 'Status') {
      if (typeof parsed.reason === 'string' && parsed.reason) reason = parsed.reason;
      if (typeof parsed.message === 'string' && parsed.message) message = shortenApiMessage(parsed.message);
      if (Array.isArray(parsed.details?.causes)) {
        causes = (parsed.details.causes as StatusCause[]).map((cause) =>
          typeof cause.message === 'string' ? { ...cause, message: shortenApiMessage(cause.message) } : cause,
        );
      }
    }
  } catch {
    // Not JSON (a proxy's HTML page, say): keep the text.
  }
  return new KubeApiError(statusCode, reason, message, causes);
}

function httpReason(statusCode: number): string {
  switch (statusCode) {
    case 400:
      return 'BadRequest';
    case 401:
      return 'Unauthorized';
    case 403:
      return 'Forbidden';
    case 404:
      return 'NotFound';
    case 409:
      return 'Conflict';
    case 422:
      return 'Invalid';
    case 429:
      return 'TooManyRequests';
    default:
      return statusCode >= 500 ? 'InternalError' : 'Unknown';
  }
}

/** The transport a {@link KubeClient} uses: one request in, status and text out. Injected in unit tests. */
export type Transport = (request: KubeRequest) => Promise<{
  /** The HTTP status code of the answer. */
  readonly statusCode: number;
  /** The answer's body as text (JSON from the apiserver), empty when it had none. */
  readonly text: string;
  /** The answer's `Retry-After` header, when it had one. */
  readonly retryAfter?: string | undefined;
}>;

/** Options of the {@link KubeClient} constructor. */
export interface KubeClientConstructorOptions {
  /** Called before every request, as {@link KubeClientOptions.onRequest}. */
  readonly onRequest?: ((request: KubeRequest) => void) | undefined;
  /** As {@link KubeClientOptions.maxRetries} (default 10). */
  readonly maxRetries?: number | undefined;
  /** The clock the waits before a retry run on (default the system clock). */
  readonly clock?: Clock | undefined;
}

/**
 * A client for the Kubernetes API that sends bodies exactly as given. Build it from a KubeConfig
 * with {@link KubeClient.fromKubeConfig}, or from a transport in unit tests.
 */
export class KubeClient {
  /** Counters since creation or the last {@link resetCounters}. */
  readonly counters: RequestCounters = { requests: 0, writes: 0, dryRuns: 0 };
  readonly #transport: Transport;
  readonly #onRequest: ((request: KubeRequest) => void) | undefined;
  readonly #listeners = new RequestListeners();
  readonly #maxRetries: number;
  readonly #clock: Clock;

  constructor(transport: Transport, options: KubeClientConstructorOptions = {}) {
    this.#transport = transport;
    this.#onRequest = options.onRequest;
    this.#maxRetries = Math.max(0, options.maxRetries ?? DEFAULT_MAX_RETRIES);
    this.#clock = options.clock ?? systemClock;
  }

  /** A client that authenticates as the KubeConfig's current context, over a keep-alive agent. */
  static fromKubeConfig(kubeConfig: KubeConfig, options: KubeClientOptions = {}): KubeClient {
    return new KubeClient(kubeConfigTransport(kubeConfig, options), {
      onRequest: options.onRequest,
      maxRetries: options.maxRetries,
    });
  }

  /**
   * Calls `listener` after every request with its verb, status code (0 without an answer) and
   * duration, e.g. for `gitops_kit_kubernetes_requests_total`. Returns the function that stops it.
   */
  onResponse(listener: ApiRequestListener): () => void {
    return this.#listeners.add(listener);
  }

  /** Sets every counter back to zero. */
  resetCounters(): void {
    this.counters.requests = 0;
    this.counters.writes = 0;
    this.counters.dryRuns = 0;
  }

  /**
   * Sends a request and returns the parsed JSON body. An answer that asks to be retried (429 or
   * 500–504 with `Retry-After`) is waited out and sent again, up to the client's `maxRetries`;
   * every attempt is counted and reported to {@link onResponse} listeners.
   * @throws {@link KubeApiError} on a non-2xx answer (the last one, when retries ran out).
   */
  async request<T = unknown>(request: KubeRequest): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      const { statusCode, text, retryAfter } = await this.#send(request);
      if (statusCode >= 200 && statusCode < 300) return (text ? JSON.parse(text) : undefined) as T;
      const waitMs = attempt < this.#maxRetries ? retryAfterMs(statusCode, retryAfter, text) : undefined;
      if (waitMs === undefined) throw errorFromResponse(statusCode, text);
      await sleep(this.#clock, waitMs, request.signal);
    }
  }

  /** One attempt: checked, counted, sent and reported. */
  async #send(request: KubeRequest): Promise<Awaited<ReturnType<Transport>>> {
    request.signal?.throwIfAborted();
    this.#onRequest?.(request);
    this.counters.requests++;
    if (request.method !== 'GET') {
      if (request.query?.dryRun) this.counters.dryRuns++;
      else this.counters.writes++;
    }
    const startedAt = Date.now();
    let answer: Awaited<ReturnType<Transport>>;
    try {
      answer = await this.#transport(request);
    } catch (error) {
      this.#listeners.notify(request, 0, startedAt);
      throw error;
    }
    this.#listeners.notify(request, answer.statusCode, startedAt);
    return answer;
  }
}

/** Builds the query string, leaving out undefined values. */
export function queryString(query: KubeRequest['query']): string {
  if (!query) return '';
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) if (value !== undefined) params.set(key, value);
  const text = params.toString();
  return text ? `?${text}` : '';
}

/**
 * The transport {@link KubeClient.fromKubeConfig} uses: node:http(s) over a {@link kubeConnection}
 * with the KubeConfig's credentials. Exported for tests that wrap it (fault injection), not part
 * of the package's surface.
 * @internal
 */
export function kubeConfigTransport(
  kubeConfig: KubeConfig | KubeCredentials,
  options: KubeClientOptions,
): Transport {
  return connectionTransport(kubeConnection(kubeConfig, options), options);
}

/** A transport that sends each request through `connection`. */
export function connectionTransport(connection: Connection, options: KubeClientOptions): Transport {
  return async (request) => {
    const headers: Record<string, string> = { Accept: request.accept ?? 'application/json' };
    let payload: Buffer | undefined;
    if (request.body !== undefined) {
      payload = Buffer.from(JSON.stringify(request.body));
      headers['Content-Type'] = request.contentType ?? 'application/json';
      headers['Content-Length'] = String(payload.length);
    }
    const { send, options: requestOptions } = await connection(
      request.method,
      `${request.path}${queryString(request.query)}`,
      headers,
    );
    return new Promise((resolve, reject) => {
      const req = send(
        { ...requestOptions, ...(request.signal ? { signal: request.signal } : {}) },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => {
            const retryAfter = res.headers['retry-after'];
            resolve({
              statusCode: res.statusCode ?? 0,
              text: Buffer.concat(chunks).toString('utf8'),
              ...(typeof retryAfter === 'string' ? { retryAfter } : {}),
            });
          });
          res.on('error', reject);
          // A response cut short (the server died mid-body, or the idle timeout fired) fails.
          res.on('close', () => {
            if (!res.complete) {
              reject(
                new KubeApiError(
                  0,
                  'ConnectionFailed',
                  `${request.method} ${request.path}: the answer was cut short`,
                ),
              );
            }
          });
        },
      );
      const idleMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
      req.setTimeout(idleMs, () => {
        req.destroy(
          new KubeApiError(0, 'Timeout', `${request.method} ${request.path}: no answer within ${idleMs} ms`),
        );
      });
      req.on('error', (error) => {
        if (request.signal?.aborted) reject(request.signal.reason ?? error);
        else if (error instanceof KubeApiError) reject(error);
        else
          reject(
            new KubeApiError(0, 'ConnectionFailed', `${request.method} ${request.path}: ${error.message}`),
          );
      });
      req.end(payload);
    });
  };
}
