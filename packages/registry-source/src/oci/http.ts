import http from 'node:http';
import https from 'node:https';
import { Readable } from 'node:stream';

/** What the client passes to a {@link FetchLike}: a subset of `RequestInit`. */
export interface FetchInit {
  /** The client only reads. */
  readonly method: 'GET' | 'HEAD';
  /** Lower-case names: `accept`, `authorization`, `user-agent`. */
  readonly headers: Readonly<Record<string, string>>;
  /** Aborts the request and its body. */
  readonly signal?: AbortSignal | undefined;
  /** Always `manual`: the client follows redirects itself, so credentials never go to another host. */
  readonly redirect: 'manual';
}

/**
 * The transport the registry client uses: the global `fetch`, undici's `fetch` with a dispatcher
 * of your own, or anything that answers a WHATWG `Response`. Given `redirect: 'manual'`, it must
 * return 3xx answers as they are (Node's fetch does).
 */
export type FetchLike = (url: string, init: FetchInit) => Promise<Response>;

/** Options of {@link createNodeFetch}. */
export interface NodeFetchOptions {
  /** PEM certificate authorities to trust for HTTPS (instead of Node's roots when given). */
  readonly caPem?: string | readonly string[] | undefined;
  /** Skip TLS verification. For tests against throwaway registries only. */
  readonly insecureSkipTlsVerify?: boolean | undefined;
  /** Give up on a request whose socket stays silent this long (ms, default 30 s). */
  readonly idleTimeoutMs?: number | undefined;
}

/** A {@link FetchLike} with a `close()` that frees its kept-alive sockets. */
export type ClosableFetch = FetchLike & {
  /** Destroys the kept-alive sockets. */
  close(): void;
};

const NO_BODY = new Set([101, 204, 205, 304]);

/**
 * A {@link FetchLike} on `node:http`/`node:https` that trusts a custom CA (Node 20's global fetch
 * cannot without an undici dispatcher), keeps connections alive across the requests of a poll, and
 * fails a request whose socket goes silent with an `ETIMEDOUT` error.
 */
export function createNodeFetch(options: NodeFetchOptions = {}): ClosableFetch {
  const ca = options.caPem === undefined ? undefined : ([] as string[]).concat(options.caPem);
  const httpAgent = new http.Agent({ keepAlive: true });
  const httpsAgent = new https.Agent({
    keepAlive: true,
    ...(ca ? { ca } : {}),
    ...(options.insecureSkipTlsVerify ? { rejectUnauthorized: false } : {}),
  });
  const idle = options.idleTimeoutMs ?? 30_000;
  const fetchLike = (url: string, init: FetchInit): Promise<Response> =>
    new Promise<Response>((resolve, reject) => {
      const target = new URL(url);
      const secure = target.protocol === 'https:';
      const request = (secure ? https : http).request(target, {
        method: init.method,
        headers: init.headers,
        agent: secure ? httpsAgent : httpAgent,
        ...(init.signal ? { signal: init.signal } : {}),
      });
      request.setTimeout(idle, () => {
        const error = Object.assign(new Error(`no answer from ${target.host} within ${idle} ms`), {
          code: 'ETIMEDOUT',
        });
        request.destroy(error);
      });
      request.on('error', reject);
      request.on('response', (res) => {
        const headers = new Headers();
        for (const [key, value] of Object.entries(res.headers)) {
          if (value === undefined) continue;
          for (const one of ([] as string[]).concat(value)) headers.append(key, one);
        }
        const status = res.statusCode ?? 0;
        const empty = init.method === 'HEAD' || NO_BODY.has(status);
        if (empty) res.resume();
        const body = empty ? null : (Readable.toWeb(res) as unknown as ReadableStream<Uint8Array>);
        resolve(new Response(body, { status, statusText: res.statusMessage ?? '', headers }));
      });
      request.end();
    });
  return Object.assign(fetchLike, {
    close(): void {
      httpAgent.destroy();
      httpsAgent.destroy();
    },
  });
}
