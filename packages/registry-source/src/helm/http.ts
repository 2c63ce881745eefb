import type { IncomingHttpHeaders } from 'node:http';
import { createNodeFetch, type FetchLike } from '../oci/http.js';

/** Credentials for a chart repository: basic auth or a bearer token. */
export type RepositoryAuth =
  | {
      /** Basic-auth user name. */
      readonly username: string;
      /** Basic-auth password. */
      readonly password: string;
    }
  | {
      /** Bearer token (`Authorization: Bearer <token>`). */
      readonly token: string;
    };

/** Requests and bytes a source or resolver used, for tests and benchmarks. */
export interface RegistryRequestStats {
  /** HTTP requests sent (redirects count as requests). */
  readonly requests: number;
  /** Response body bytes received. */
  readonly bytes: number;
}

/** Counts requests and body bytes. Internal. */
export class RequestCounter {
  requests = 0;
  bytes = 0;

  /** A copy of the counts so far. */
  snapshot(): RegistryRequestStats {
    return { requests: this.requests, bytes: this.bytes };
  }
}

/** Connection settings of one repository. Internal. */
export interface HttpSettings {
  /** Credentials, sent to the repository's own origin only (unless `passCredentials`). */
  readonly auth?: RepositoryAuth | undefined;
  /** Send the credentials to other hosts too (charts served from another origin). */
  readonly passCredentials?: boolean | undefined;
  /** PEM CA certificates to trust instead of the system's. */
  readonly ca?: string | Buffer | undefined;
  /** Per-request timeout in ms (default 30 s). */
  readonly timeoutMs?: number | undefined;
  /** The counter to add to. */
  readonly counter: RequestCounter;
}

/** One HTTP response with its body read. Internal. */
export interface HttpResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
  /** The URL that answered, after redirects. */
  readonly url: string;
}

/** Options of one request. Internal. */
export interface RequestOptions {
  readonly method?: 'GET' | 'HEAD';
  readonly headers?: Readonly<Record<string, string>>;
  readonly signal?: AbortSignal | undefined;
  /** Bodies larger than this are refused (default 64 MiB). */
  readonly maxBytes?: number;
  /** The origin the credentials belong to (default: the URL's). */
  readonly credentialsOrigin?: string;
}

/** Thrown when a request could not be completed (network, TLS, timeout, too large). */
export class HttpFailure extends Error {
  /** A short reason without credentials (`ECONNREFUSED`, `timed out`, `self-signed certificate`). */
  readonly reason: string;

  constructor(reason: string) {
    super(reason);
    this.reason = reason;
  }
}

const MAX_REDIRECTS = 5;

/** The header value of the credentials. */
export function authorization(auth: RepositoryAuth): string {
  return 'token' in auth
    ? `Bearer ${auth.token}`
    : `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`;
}

/** A URL as shown to people: no user name, password or query string credentials. */
export function displayUrl(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.username = '';
    parsed.password = '';
    parsed.search = '';
    return parsed.toString();
  } catch {
    return url.replace(/\/\/[^@/]*@/, '//');
  }
}

/** Sends one request, following redirects, and reads the body. Never throws with a credential in it. */
export async function send(
  url: string,
  settings: HttpSettings,
  options: RequestOptions = {},
): Promise<HttpResponse> {
  const origin = options.credentialsOrigin ?? new URL(url).origin;
  let current = url;
  for (let hop = 0; ; hop++) {
    const sameOrigin = new URL(current).origin === origin;
    const headers: Record<string, string> = { 'user-agent': 'gitops-kit', ...options.headers };
    if (settings.auth && (sameOrigin || settings.passCredentials))
      headers.authorization = authorization(settings.auth);
    const response = await once(current, headers, settings, options);
    const location = response.headers.location;
    if (response.status >= 300 && response.status < 400 && response.status !== 304 && location) {
      if (hop >= MAX_REDIRECTS) throw new HttpFailure(`more than ${MAX_REDIRECTS} redirects`);
      current = new URL(location, current).toString();
      continue;
    }
    return { ...response, url: current };
  }
}

/** One transport per settings: the package's node:http(s) fetch, with the settings' CA and timeout. */
const transports = new WeakMap<HttpSettings, FetchLike>();

function transportOf(settings: HttpSettings): FetchLike {
  let transport = transports.get(settings);
  if (!transport) {
    transport = createNodeFetch({
      caPem: settings.ca === undefined ? undefined : settings.ca.toString(),
      idleTimeoutMs: settings.timeoutMs ?? 30_000,
    });
    transports.set(settings, transport);
  }
  return transport;
}

async function once(
  url: string,
  headers: Record<string, string>,
  settings: HttpSettings,
  options: RequestOptions,
): Promise<Omit<HttpResponse, 'url'>> {
  const parsed = new URL(url);
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
    throw new HttpFailure(`unsupported scheme ${parsed.protocol}`);
  }
  const maxBytes = options.maxBytes ?? 64 * 1024 * 1024;
  options.signal?.throwIfAborted();
  settings.counter.requests++;
  let response: Response;
  try {
    response = await transportOf(settings)(url, {
      method: options.method ?? 'GET',
      headers,
      signal: options.signal,
      redirect: 'manual',
    });
  } catch (error) {
    if (options.signal?.aborted) throw options.signal.reason;
    throw failure(error);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    if (response.body) {
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        size += chunk.length;
        settings.counter.bytes += chunk.length;
        if (size > maxBytes) {
          await response.body.cancel().catch(() => undefined);
          throw new HttpFailure(`the response is larger than ${maxBytes} bytes`);
        }
        chunks.push(Buffer.from(chunk));
      }
    }
  } catch (error) {
    if (options.signal?.aborted) throw options.signal.reason;
    throw failure(error);
  }
  const responseHeaders: IncomingHttpHeaders = {};
  response.headers.forEach((value, key) => {
    responseHeaders[key] = value;
  });
  return { status: response.status, headers: responseHeaders, body: Buffer.concat(chunks) };
}

/** The short reason of a network error: its code or message, never the request. */
function failure(error: unknown): HttpFailure {
  if (error instanceof HttpFailure) return error;
  const shape = error as { code?: unknown; message?: unknown };
  const code = typeof shape.code === 'string' ? shape.code : undefined;
  const message = typeof shape.message === 'string' ? shape.message : String(error);
  return new HttpFailure(code && !message.includes(code) ? `${code}: ${message}` : message);
}
