import { createHash } from 'node:crypto';
import type { FetchInit, FetchLike } from '@gitops-kit/registry-source';

/** One request the fake saw. */
export interface SeenRequest {
  readonly method: string;
  readonly url: string;
  readonly authorization: string | undefined;
}

/** How the fake registry authenticates. */
export type FakeAuth =
  | { readonly mode: 'none' }
  | { readonly mode: 'basic'; readonly username: string; readonly password: string }
  | {
      readonly mode: 'bearer';
      /** Credentials the token service wants; anonymous tokens when absent. */
      readonly username?: string;
      readonly password?: string;
      /** Seconds the tokens live (default 300). */
      readonly expiresIn?: number;
    };

const sha256 = (bytes: Uint8Array): string => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

/**
 * An in-memory registry behind a {@link FetchLike}, for unit tests of the client's logic: manifests
 * by tag and digest, blobs, tag lists with pagination, basic or bearer auth by the token spec, and
 * knobs to misbehave (altered bytes, redirects). Integration tests use the real registry.
 */
export class FakeRegistry {
  readonly host = 'registry.test';
  readonly tokenHost = 'auth.test';
  readonly requests: SeenRequest[] = [];
  readonly manifests = new Map<string, { bytes: Buffer; mediaType: string }>();
  readonly tags = new Map<string, Map<string, string>>();
  readonly blobs = new Map<string, Buffer>();
  /** Bytes served in place of a blob's (a corrupting proxy). */
  readonly corruptBlobs = new Map<string, Buffer>();
  /** Bytes served in place of a manifest's, keeping its announced digest. */
  readonly corruptManifests = new Map<string, Buffer>();
  /** Blobs served through a redirect to this host. */
  redirectBlobsTo: string | undefined;
  /** Tags per page of a tag list (default all in one). */
  pageSize = Number.POSITIVE_INFINITY;
  /** Throw this as a network error on every request. */
  down: Error | undefined;
  #tokenSerial = 0;
  readonly #validTokens = new Set<string>();

  constructor(readonly auth: FakeAuth = { mode: 'none' }) {}

  /** Stores a blob and returns its digest. */
  putBlob(bytes: Buffer): string {
    const digest = sha256(bytes);
    this.blobs.set(digest, bytes);
    return digest;
  }

  /** Stores an artifact (its blobs and manifest) under a tag and returns the manifest digest. */
  putArtifact(
    repository: string,
    tag: string | undefined,
    artifact: { config: Buffer; manifest: Buffer; layer?: Buffer; payload?: Buffer },
  ): string {
    for (const blob of [artifact.config, artifact.layer, artifact.payload]) if (blob) this.putBlob(blob);
    return this.putManifestBytes(repository, tag, artifact.manifest);
  }

  /** Stores a manifest under a tag of a repository and returns its digest. */
  putManifest(repository: string, tag: string | undefined, manifest: unknown, mediaType?: string): string {
    const bytes = Buffer.from(JSON.stringify(manifest));
    const digest = sha256(bytes);
    const type =
      mediaType ??
      (manifest as { mediaType?: string }).mediaType ??
      'application/vnd.oci.image.manifest.v1+json';
    this.manifests.set(`${repository}@${digest}`, { bytes, mediaType: type });
    if (tag !== undefined) {
      const tags = this.tags.get(repository) ?? new Map<string, string>();
      this.tags.set(repository, tags);
      tags.set(tag, digest);
    }
    return digest;
  }

  /** Stores raw manifest bytes (exactly as given) under a tag and returns their digest. */
  putManifestBytes(repository: string, tag: string | undefined, bytes: Buffer): string {
    const digest = sha256(bytes);
    const mediaType =
      (JSON.parse(bytes.toString()) as { mediaType?: string }).mediaType ??
      'application/vnd.oci.image.manifest.v1+json';
    this.manifests.set(`${repository}@${digest}`, { bytes, mediaType });
    if (tag !== undefined) {
      const tags = this.tags.get(repository) ?? new Map<string, string>();
      this.tags.set(repository, tags);
      tags.set(tag, digest);
    }
    return digest;
  }

  /** The number of requests by method and path kind since the last {@link reset}. */
  count(filter: (r: SeenRequest) => boolean = () => true): number {
    return this.requests.filter(filter).length;
  }

  /** Forgets the requests seen. */
  reset(): void {
    this.requests.length = 0;
  }

  /** The transport to give the client. */
  readonly fetch: FetchLike = async (url: string, init: FetchInit): Promise<Response> => {
    init.signal?.throwIfAborted();
    const authorization = init.headers.authorization;
    this.requests.push({ method: init.method, url, authorization });
    if (this.down) throw this.down;
    const target = new URL(url);
    if (target.host === this.tokenHost) return this.#token(target, authorization);
    if (target.host !== this.host) {
      const blob = this.blobs.get(target.pathname.slice(1));
      return blob ? new Response(blob, { status: 200 }) : new Response('no', { status: 404 });
    }
    const denied = this.#check(authorization, target);
    if (denied) return denied;
    return this.#serve(target, init);
  };

  #check(authorization: string | undefined, target: URL): Response | undefined {
    const auth = this.auth;
    if (auth.mode === 'none') return undefined;
    if (auth.mode === 'basic') {
      const expected = `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`;
      if (authorization === expected) return undefined;
      return new Response('{"errors":[{"code":"UNAUTHORIZED"}]}', {
        status: 401,
        headers: { 'www-authenticate': 'Basic realm="fake"' },
      });
    }
    const token = /^Bearer (.+)$/.exec(authorization ?? '')?.[1];
    if (token && this.#validTokens.has(token)) return undefined;
    const repository = /^\/v2\/(.+)\/(?:manifests|blobs|tags)\//.exec(target.pathname)?.[1] ?? '';
    return new Response('{"errors":[{"code":"UNAUTHORIZED"}]}', {
      status: 401,
      headers: {
        'www-authenticate': `Bearer realm="https://${this.tokenHost}/token",service="${this.host}",scope="repository:${repository}:pull"`,
      },
    });
  }

  #token(target: URL, authorization: string | undefined): Response {
    const auth = this.auth;
    if (auth.mode !== 'bearer') return new Response('no', { status: 404 });
    if (auth.username !== undefined) {
      const expected = `Basic ${Buffer.from(`${auth.username}:${auth.password ?? ''}`).toString('base64')}`;
      if (authorization !== expected) return new Response('{"details":"bad"}', { status: 401 });
    }
    if (target.searchParams.get('service') !== this.host || !target.searchParams.get('scope')) {
      return new Response('{"details":"no service or scope"}', { status: 400 });
    }
    const token = `tok-${++this.#tokenSerial}`;
    this.#validTokens.add(token);
    return Response.json({ token, expires_in: auth.expiresIn ?? 300 });
  }

  /** Invalidates every token issued so far (they expired at the server). */
  expireTokens(): void {
    this.#validTokens.clear();
  }

  #serve(target: URL, init: FetchInit): Response {
    const path = target.pathname;
    const manifest = /^\/v2\/(.+)\/manifests\/([^/]+)$/.exec(path);
    if (manifest?.[1] && manifest[2]) {
      const [repository, ref] = [manifest[1], manifest[2]];
      const digest = ref.includes(':') ? ref : this.tags.get(repository)?.get(ref);
      const found = digest ? this.manifests.get(`${repository}@${digest}`) : undefined;
      if (!digest || !found) return new Response('{"errors":[{"code":"MANIFEST_UNKNOWN"}]}', { status: 404 });
      const bytes = this.corruptManifests.get(digest) ?? found.bytes;
      const headers = {
        'docker-content-digest': digest,
        'content-type': found.mediaType,
        'content-length': String(bytes.length),
      };
      return new Response(init.method === 'HEAD' ? null : bytes, { status: 200, headers });
    }
    const blob = /^\/v2\/(.+)\/blobs\/([^/]+)$/.exec(path);
    if (blob?.[2]) {
      const digest = blob[2];
      const bytes = this.blobs.get(digest);
      if (!bytes) return new Response('{"errors":[{"code":"BLOB_UNKNOWN"}]}', { status: 404 });
      if (this.redirectBlobsTo) {
        return new Response(null, {
          status: 307,
          headers: { location: `https://${this.redirectBlobsTo}/${digest}?sig=secret` },
        });
      }
      const served = this.corruptBlobs.get(digest) ?? bytes;
      return new Response(served, { status: 200, headers: { 'content-length': String(served.length) } });
    }
    const tags = /^\/v2\/(.+)\/tags\/list$/.exec(path);
    if (tags?.[1]) {
      const repository = tags[1];
      const all = [...(this.tags.get(repository)?.keys() ?? [])].sort();
      const last = target.searchParams.get('last');
      const from = last ? all.indexOf(last) + 1 : 0;
      const page = all.slice(from, from + this.pageSize);
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (from + page.length < all.length) {
        headers.link = `</v2/${repository}/tags/list?n=${this.pageSize}&last=${page[page.length - 1]}>; rel="next"`;
      }
      return new Response(JSON.stringify({ name: repository, tags: page }), { status: 200, headers });
    }
    return new Response('not found', { status: 404 });
  }
}
