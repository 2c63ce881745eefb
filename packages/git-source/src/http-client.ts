import http from 'node:http';
import https from 'node:https';
import type { GitHttpRequest, GitHttpResponse, HttpClient } from 'isomorphic-git';
import { TransportError } from './errors.js';

/** Options for {@link createHttpClient}. */
export interface HttpClientOptions {
  /** Headers added to every request (credentials live here, not in URLs). */
  readonly headers?: Readonly<Record<string, string>>;
  /** PEM certificate authority to trust for HTTPS. */
  readonly caCert?: string;
  /** Aborts every request in flight, and refuses new ones, once it fires. */
  readonly signal?: AbortSignal;
  /**
   * Gives up on a request whose socket stays silent this long (ms, default 60 s): no connection,
   * no answer, or a stalled body. Fails with a `TransportError` of kind `timeout`.
   */
  readonly idleTimeoutMs?: number | undefined;
  /**
   * Asks for thin packs in fetches that send `have` lines. isomorphic-git leaves `thin-pack` out
   * of its requests, and without it a server answers a shallow fetch with the whole tree again;
   * isomorphic-git does resolve thin packs against the objects it already has.
   */
  readonly thinPack?: boolean;
}

/**
 * Adds `thin-pack` to the capabilities of an upload-pack request (on its first `want` line) when
 * the request carries `have` lines. Anything unexpected leaves the body unchanged.
 */
export function withThinPack(body: Buffer): Buffer {
  const text = body.toString('latin1');
  if (!text.includes('have ') || text.length < 4) return body;
  const length = Number.parseInt(text.slice(0, 4), 16);
  if (!Number.isFinite(length) || length <= 4 || length > text.length) return body;
  const first = text.slice(4, length);
  if (!first.startsWith('want ') || first.includes(' thin-pack')) return body;
  const line = first.endsWith('\n') ? `${first.slice(0, -1)} thin-pack\n` : `${first} thin-pack`;
  const header = (line.length + 4).toString(16).padStart(4, '0');
  return Buffer.concat([Buffer.from(header + line, 'latin1'), body.subarray(length)]);
}

async function collect(body: GitHttpRequest['body']): Promise<Buffer | undefined> {
  if (body === undefined) return undefined;
  const chunks: Uint8Array[] = [];
  const source = body as unknown;
  if (source instanceof Uint8Array) return Buffer.from(source);
  if (typeof (source as AsyncIterable<Uint8Array>)[Symbol.asyncIterator] === 'function') {
    for await (const chunk of source as AsyncIterable<Uint8Array>) chunks.push(chunk);
  } else if (typeof (source as Iterable<Uint8Array>)[Symbol.iterator] === 'function') {
    for (const chunk of source as Iterable<Uint8Array>) chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/**
 * An isomorphic-git HTTP client on `node:http`/`node:https`: it adds the credential headers, trusts
 * a custom CA, follows redirects on GET, and aborts requests when the signal fires (isomorphic-git
 * itself takes no signal). Connections are kept alive across the requests of one fetch.
 */
export function createHttpClient(options: HttpClientOptions = {}): HttpClient & { close(): void } {
  const httpAgent = new http.Agent({ keepAlive: true });
  const httpsAgent = new https.Agent({ keepAlive: true, ...(options.caCert ? { ca: options.caCert } : {}) });
  const idle = options.idleTimeoutMs ?? 60_000;

  async function request(req: GitHttpRequest, redirects = 0): Promise<GitHttpResponse> {
    options.signal?.throwIfAborted();
    let body = await collect(req.body);
    const url = new URL(req.url);
    if (body && options.thinPack && url.pathname.endsWith('/git-upload-pack')) body = withThinPack(body);
    const secure = url.protocol === 'https:';
    const headers: Record<string, string> = { ...(req.headers ?? {}), ...(options.headers ?? {}) };
    if (body) headers['content-length'] = String(body.length);
    return new Promise<GitHttpResponse>((resolve, reject) => {
      const outgoing = (secure ? https : http).request(url, {
        method: req.method ?? 'GET',
        headers,
        agent: secure ? httpsAgent : httpAgent,
        ...(options.signal ? { signal: options.signal } : {}),
      });
      // The socket's idle timer runs through connection, waiting and the body read afterwards.
      outgoing.setTimeout(idle, () =>
        outgoing.destroy(new TransportError('timeout', `no answer from ${url.host} within ${idle} ms`)),
      );
      outgoing.on('error', reject);
      outgoing.on('response', (res) => {
        const status = res.statusCode ?? 0;
        const location = res.headers.location;
        if (status >= 300 && status < 400 && location && (req.method ?? 'GET') === 'GET' && redirects < 5) {
          res.resume();
          const next = new URL(location, url);
          // Never carry credentials to another host.
          if (next.host !== url.host) {
            reject(
              new Error(`redirected to another host (${next.host}); refusing to send credentials there`),
            );
            return;
          }
          request({ ...req, url: next.toString() }, redirects + 1).then(resolve, reject);
          return;
        }
        const responseHeaders: Record<string, string> = {};
        for (const [key, value] of Object.entries(res.headers)) {
          if (value !== undefined) responseHeaders[key] = Array.isArray(value) ? value.join(', ') : value;
        }
        resolve({
          url: url.toString(),
          method: req.method ?? 'GET',
          statusCode: status,
          statusMessage: res.statusMessage ?? '',
          headers: responseHeaders,
          body: res[Symbol.asyncIterator]() as AsyncIterableIterator<Uint8Array>,
        });
      });
      outgoing.end(body);
    });
  }

  return {
    request: (req) => request(req),
    close: () => {
      httpAgent.destroy();
      httpsAgent.destroy();
    },
  };
}
