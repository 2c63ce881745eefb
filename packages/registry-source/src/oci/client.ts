import { Redactor } from '@gitops-kit/core';
import { RegistryError, RegistryErrorCodes } from '../errors.js';
import { networkReason, RegistryAuth, type RegistryCredentials, secretsOf } from './auth.js';
import { parseChallenges } from './challenge.js';
import { DigestVerifier, digestOf, isDigest } from './digest.js';
import { createNodeFetch, type FetchInit, type FetchLike } from './http.js';
import { type ImageIndex, type ImageManifest, MANIFEST_ACCEPT, parseManifest } from './manifest.js';
import { readCapped } from './read-capped.js';
import { apiHost, type OciReference } from './reference.js';
import { RegistryStats, type RegistryStatsSnapshot } from './stats.js';
import { nextTagsPage } from './tags.js';

/** A repository on a registry (an {@link OciReference} without tag and digest will do). */
export type Repository = Pick<OciReference, 'registry' | 'repository'>;

/** How to connect to a registry: shared by the client and the sources built on it. */
export interface RegistryConnectionOptions {
  /** Credentials (basic, or a bearer token); anonymous when absent. */
  readonly credentials?: RegistryCredentials | undefined;
  /** PEM certificate authorities to trust (for a registry with a private CA). */
  readonly caPem?: string | readonly string[] | undefined;
  /** Skip TLS verification (tests against throwaway registries only). */
  readonly insecureSkipTlsVerify?: boolean | undefined;
  /** Talk plain HTTP instead of HTTPS (`helm --plain-http`, Flux's `spec.insecure`). */
  readonly plainHttp?: boolean | undefined;
  /** Your own transport (undici's `fetch` with a dispatcher, a test double); `caPem` is then yours to apply. */
  readonly fetch?: FetchLike | undefined;
}

/** Options of {@link RegistryClient}. */
export interface RegistryClientOptions extends RegistryConnectionOptions {
  /** Give up on a silent socket after this long (ms, default 30 s; the built-in transport only). */
  readonly idleTimeoutMs?: number | undefined;
  /** Largest manifest accepted (bytes, default 4 MiB, as distribution's own limit). */
  readonly maxManifestBytes?: number | undefined;
  /** Most tags read from a tag list, all pages together (default 100,000). */
  readonly maxTags?: number | undefined;
  /** More values that must never appear in a message (besides the credentials). */
  readonly secrets?: readonly string[] | undefined;
  /** `User-Agent` header (default `gitops-kit`). */
  readonly userAgent?: string | undefined;
}

/** Options of one call. */
export interface CallOptions {
  /** Aborts the request. */
  readonly signal?: AbortSignal | undefined;
  /** How the reference is shown in messages (default `registry/repository`). */
  readonly reference?: string | undefined;
}

/** What a manifest `HEAD` tells. */
export interface ManifestHead {
  /** The manifest's digest (`Docker-Content-Digest`), when the registry sent it. */
  readonly digest: string | undefined;
  /** Its media type (`Content-Type`). */
  readonly mediaType: string | undefined;
  /** Its size (`Content-Length`), when sent. */
  readonly size: number | undefined;
}

/** A manifest read and verified. */
export interface FetchedManifest {
  /** The digest of the bytes (checked against the one asked for or announced). */
  readonly digest: string;
  /** The raw bytes (signatures are made over them). */
  readonly bytes: Buffer;
  /** The parsed document. */
  readonly manifest: ImageManifest | ImageIndex;
}

/** Options of a blob download. */
export interface BlobOptions extends CallOptions {
  /** Refuse a blob larger than this many bytes (checked against the announced size and as it streams). */
  readonly maxBytes: number;
  /** The size the manifest announced: a blob of another size is refused. */
  readonly expectedSize?: number | undefined;
}

const DEFAULT_MAX_MANIFEST = 4 * 1024 * 1024;
const DEFAULT_MAX_TAGS = 100_000;
const MAX_REDIRECTS = 5;

/**
 * A client of the OCI distribution API (`/v2/`): manifest `HEAD` and `GET` with digest
 * verification, blob `GET` streamed through a digest check and a size limit, and tag lists with
 * pagination. Authorization follows the distribution token spec (see {@link RegistryAuth}); redirects
 * are followed without credentials to another host. Every failure is a {@link RegistryError} whose
 * message names the reference and URL and never a credential.
 */
export class RegistryClient {
  readonly #fetch: FetchLike;
  readonly #close: (() => void) | undefined;
  readonly #auth: RegistryAuth;
  readonly #redactor: Redactor;
  readonly #plainHttp: boolean;
  readonly #maxManifest: number;
  readonly #maxTags: number;
  readonly #userAgent: string;
  readonly #stats = new RegistryStats();

  /** A client; nothing is contacted until the first call. */
  constructor(options: RegistryClientOptions = {}) {
    if (options.fetch) {
      this.#fetch = options.fetch;
    } else {
      const own = createNodeFetch({
        caPem: options.caPem,
        insecureSkipTlsVerify: options.insecureSkipTlsVerify,
        idleTimeoutMs: options.idleTimeoutMs,
      });
      this.#fetch = own;
      this.#close = () => own.close();
    }
    this.#redactor = new Redactor([...secretsOf(options.credentials), ...(options.secrets ?? [])]);
    this.#auth = new RegistryAuth({
      credentials: options.credentials,
      fetch: this.#fetch,
      redactor: this.#redactor,
      onRequest: () => this.#stats.request('token'),
    });
    this.#plainHttp = options.plainHttp ?? false;
    this.#maxManifest = options.maxManifestBytes ?? DEFAULT_MAX_MANIFEST;
    this.#maxTags = options.maxTags ?? DEFAULT_MAX_TAGS;
    this.#userAgent = options.userAgent ?? 'gitops-kit';
  }

  /** The redactor of this client's secrets, for messages of callers. */
  get redactor(): Redactor {
    return this.#redactor;
  }

  /** Requests (per operation) and body bytes since creation or {@link resetStats}. */
  stats(): RegistryStatsSnapshot {
    return this.#stats.snapshot();
  }

  /** Sets the counters back to zero. */
  resetStats(): void {
    this.#stats.reset();
  }

  /** Frees the kept-alive connections of the built-in transport (a `fetch` you passed is yours). */
  close(): void {
    this.#close?.();
  }

  /** The API URL of a repository path: `https://host/v2/<repository>/<rest>`. */
  urlOf(repo: Repository, rest: string): string {
    return `${this.#plainHttp ? 'http' : 'https'}://${apiHost(repo.registry)}/v2/${repo.repository}/${rest}`;
  }

  /** `HEAD` of a manifest by tag or digest: its digest without downloading it (one request when authorized). */
  async headManifest(
    repo: Repository,
    tagOrDigest: string,
    options: CallOptions = {},
  ): Promise<ManifestHead> {
    const response = await this.#send('manifest-head', repo, `manifests/${tagOrDigest}`, 'HEAD', options, {
      accept: MANIFEST_ACCEPT,
    });
    const digest = response.headers.get('docker-content-digest') ?? undefined;
    const length = Number(response.headers.get('content-length') ?? Number.NaN);
    return {
      digest: digest && isDigest(digest) ? digest : undefined,
      mediaType: response.headers.get('content-type')?.split(';')[0]?.trim() || undefined,
      size: Number.isSafeInteger(length) ? length : undefined,
    };
  }

  /**
   * `GET` of a manifest by tag or digest. By digest, the bytes must hash to it; by tag, to the
   * `Docker-Content-Digest` the registry sent (when it sent one) and to `expectedDigest` when given
   * (the digest a `HEAD` just reported). A mismatch is `SOURCE_OCI_DIGEST_MISMATCH`.
   */
  async getManifest(
    repo: Repository,
    tagOrDigest: string,
    options: CallOptions & { expectedDigest?: string | undefined } = {},
  ): Promise<FetchedManifest> {
    const shown = this.#shown(repo, options);
    const response = await this.#send('manifest-get', repo, `manifests/${tagOrDigest}`, 'GET', options, {
      accept: MANIFEST_ACCEPT,
    });
    const url = this.#safeUrl(this.urlOf(repo, `manifests/${tagOrDigest}`));
    const bytes = await this.#readAll(response, this.#maxManifest, shown, url, 'manifest', options.signal);
    const announced = response.headers.get('docker-content-digest') ?? undefined;
    const wanted = [
      isDigest(tagOrDigest) ? tagOrDigest : undefined,
      options.expectedDigest,
      announced,
    ].filter((d): d is string => d !== undefined && isDigest(d));
    const actual = digestOf(bytes, wanted[0] ?? 'sha256:');
    for (const digest of wanted) {
      const mine = digest.startsWith(actual.slice(0, actual.indexOf(':') + 1))
        ? actual
        : digestOf(bytes, digest);
      if (mine !== digest) {
        throw new RegistryError(
          RegistryErrorCodes.DigestMismatch,
          `${shown}: the manifest from ${url} hashes to ${mine}, not ${digest}`,
          { reference: shown, url },
        );
      }
    }
    const contentType = response.headers.get('content-type') ?? undefined;
    return { digest: actual, bytes, manifest: parseManifest(bytes, contentType, shown) };
  }

  /**
   * Streams a blob, hashing it as it comes: the iterator throws `SOURCE_OCI_DIGEST_MISMATCH` at the
   * end when the bytes do not hash to `digest`, and `SOURCE_OCI_TOO_LARGE` as soon as they pass
   * `maxBytes` (or the announced size). Consume it to the end, or `return()` it, to free the socket.
   */
  async openBlob(repo: Repository, digest: string, options: BlobOptions): Promise<AsyncIterable<Uint8Array>> {
    const shown = this.#shown(repo, options);
    const url = this.#safeUrl(this.urlOf(repo, `blobs/${digest}`));
    if (!isDigest(digest)) {
      throw new RegistryError(
        RegistryErrorCodes.BadResponse,
        `${shown}: ${JSON.stringify(digest)} is not a digest`,
        {
          reference: shown,
        },
      );
    }
    const limit = Math.min(options.maxBytes, options.expectedSize ?? Number.POSITIVE_INFINITY);
    if (options.expectedSize !== undefined && options.expectedSize > options.maxBytes) {
      throw this.#tooLarge(shown, url, `blob ${digest} is ${options.expectedSize} bytes`, options.maxBytes);
    }
    const response = await this.#send('blob', repo, `blobs/${digest}`, 'GET', options, {});
    const length = Number(response.headers.get('content-length') ?? Number.NaN);
    if (Number.isSafeInteger(length) && length > limit) {
      await response.body?.cancel();
      throw this.#tooLarge(shown, url, `blob ${digest} is ${length} bytes`, limit);
    }
    const body = response.body;
    const stats = this.#stats;
    const tooLarge = (size: number): RegistryError =>
      this.#tooLarge(shown, url, `blob ${digest} passed ${size} bytes`, limit);
    return {
      async *[Symbol.asyncIterator]() {
        const verifier = new DigestVerifier(digest);
        let size = 0;
        if (body) {
          const reader = body.getReader();
          try {
            for (;;) {
              const { done, value } = await reader.read();
              if (done) break;
              size += value.byteLength;
              stats.bytes(value.byteLength);
              if (size > limit) throw tooLarge(size);
              verifier.update(value);
              yield value;
            }
          } finally {
            await reader.cancel().catch(() => undefined);
          }
        }
        const actual = verifier.actual();
        if (actual !== digest) {
          throw new RegistryError(
            RegistryErrorCodes.DigestMismatch,
            `${shown}: blob from ${url} hashes to ${actual}, not ${digest}`,
            { reference: shown, url },
          );
        }
        if (options.expectedSize !== undefined && size !== options.expectedSize) {
          throw new RegistryError(
            RegistryErrorCodes.DigestMismatch,
            `${shown}: blob from ${url} is ${size} bytes, the manifest says ${options.expectedSize}`,
            { reference: shown, url },
          );
        }
      },
    };
  }

  /** A whole blob in memory, verified (for small ones: configs, signature payloads). */
  async getBlob(repo: Repository, digest: string, options: BlobOptions): Promise<Buffer> {
    const chunks: Uint8Array[] = [];
    for await (const chunk of await this.openBlob(repo, digest, options)) chunks.push(chunk);
    return Buffer.concat(chunks);
  }

  /** Every tag of a repository, following `Link: <…>; rel="next"` pages, up to `maxTags`. */
  async listTags(repo: Repository, options: CallOptions = {}): Promise<string[]> {
    const shown = this.#shown(repo, options);
    const tags: string[] = [];
    let rest: string | undefined = 'tags/list';
    // A registry that links a page to itself must not keep the loop going.
    const seen = new Set<string>();
    while (rest !== undefined && !seen.has(rest)) {
      seen.add(rest);
      const response = await this.#send('tags', repo, rest, 'GET', options, { accept: 'application/json' });
      const url = this.#safeUrl(this.urlOf(repo, rest));
      const bytes = await this.#readAll(response, 16 * 1024 * 1024, shown, url, 'tag list', options.signal);
      let doc: { tags?: unknown };
      try {
        doc = JSON.parse(bytes.toString('utf8')) as { tags?: unknown };
      } catch {
        throw new RegistryError(
          RegistryErrorCodes.BadResponse,
          `${shown}: the tag list from ${url} is not JSON`,
          {
            reference: shown,
            url,
          },
        );
      }
      const pageTags = Array.isArray(doc.tags)
        ? doc.tags.filter((t): t is string => typeof t === 'string')
        : [];
      tags.push(...pageTags);
      if (tags.length > this.#maxTags) {
        throw this.#tooLarge(shown, url, `the repository has more than ${this.#maxTags} tags`, this.#maxTags);
      }
      rest = pageTags.length === 0 ? undefined : nextTagsPage(response.headers.get('link'), repo.repository);
    }
    return tags;
  }

  /**
   * One API call with authorization and redirects: sends the known authorization, answers one
   * challenge, follows redirects (credentials only to the registry's own host), and maps failures
   * to typed errors. Returns a 2xx response.
   */
  async #send(
    operation: string,
    repo: Repository,
    rest: string,
    method: FetchInit['method'],
    options: CallOptions,
    extra: Record<string, string>,
  ): Promise<Response> {
    const shown = this.#shown(repo, options);
    const host = apiHost(repo.registry);
    const scope = `repository:${repo.repository}:pull`;
    let url = this.urlOf(repo, rest);
    let answered = false;
    for (let hop = 0; ; hop++) {
      const sameHost = new URL(url).host === host;
      const authorization = sameHost ? this.#auth.header(host, scope) : undefined;
      const headers: Record<string, string> = { 'user-agent': this.#userAgent, ...extra };
      if (authorization) headers.authorization = authorization;
      this.#stats.request(operation);
      let response: Response;
      try {
        response = await this.#fetch(url, { method, headers, signal: options.signal, redirect: 'manual' });
      } catch (error) {
        options.signal?.throwIfAborted();
        const safe = this.#safeUrl(url);
        throw new RegistryError(
          RegistryErrorCodes.Unreachable,
          `${shown}: cannot reach the registry at ${safe}: ${this.#redactor.redact(networkReason(error))}`,
          { reference: shown, url: safe },
        );
      }
      const status = response.status;
      if (status >= 200 && status < 300) return response;
      await response.body?.cancel().catch(() => undefined);
      if (status >= 300 && status < 400 && response.headers.get('location') && hop < MAX_REDIRECTS) {
        url = new URL(response.headers.get('location') as string, url).toString();
        continue;
      }
      if (status === 401 && sameHost && !answered) {
        answered = true;
        const challenges = parseChallenges(response.headers.get('www-authenticate'));
        if (
          await this.#auth.answer(host, scope, challenges, authorization, {
            reference: shown,
            signal: options.signal,
          })
        )
          continue;
      }
      throw this.#statusError(status, shown, this.#safeUrl(url), method, Boolean(authorization));
    }
  }

  #statusError(
    status: number,
    shown: string,
    url: string,
    method: string,
    authorized: boolean,
  ): RegistryError {
    if (status === 401 || status === 403) {
      // Without credentials the request may still carry an anonymous token: it is anonymous access.
      const who = !this.#auth.hasCredentials
        ? 'anonymous access'
        : authorized
          ? 'the credentials'
          : 'the request';
      return new RegistryError(
        RegistryErrorCodes.AuthFailed,
        `${shown}: the registry refused ${who} (HTTP ${status} on ${method} ${url}); check the user name, password or token and their pull access`,
        { reference: shown, url, status },
      );
    }
    if (status === 404) {
      return new RegistryError(
        RegistryErrorCodes.NotFound,
        `${shown}: not found (HTTP 404 on ${method} ${url})`,
        {
          reference: shown,
          url,
          status,
        },
      );
    }
    return new RegistryError(
      status >= 500 || status === 429 ? RegistryErrorCodes.Unreachable : RegistryErrorCodes.BadResponse,
      `${shown}: the registry answered HTTP ${status} on ${method} ${url}`,
      { reference: shown, url, status },
    );
  }

  async #readAll(
    response: Response,
    max: number,
    shown: string,
    url: string,
    what: string,
    signal: AbortSignal | undefined,
  ): Promise<Buffer> {
    return readCapped(response, max, {
      tooLarge: (size, announced) =>
        this.#tooLarge(shown, url, `the ${what} ${announced ? 'is' : 'passed'} ${size} bytes`, max),
      onChunk: (bytes) => this.#stats.bytes(bytes),
      signal,
    });
  }

  #tooLarge(shown: string, url: string, what: string, max: number): RegistryError {
    return new RegistryError(
      RegistryErrorCodes.TooLarge,
      `${shown}: ${what}, more than the limit of ${max} (${url})`,
      {
        reference: shown,
        url,
      },
    );
  }

  #shown(repo: Repository, options: CallOptions): string {
    return this.#redactor.redact(options.reference ?? `${repo.registry}/${repo.repository}`);
  }

  /** A URL for messages: no user info, no query (pre-signed redirect URLs carry secrets there). */
  #safeUrl(url: string): string {
    try {
      const parsed = new URL(url);
      return this.#redactor.redact(`${parsed.protocol}//${parsed.host}${parsed.pathname}`);
    } catch {
      return this.#redactor.redact(url);
    }
  }
}
