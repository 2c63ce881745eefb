import { createHash } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import { parseChallenges } from '@gitops-kit/registry-source';
import type { RegistryInfo } from '@gitops-kit/testenv';

interface Answer {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: Buffer;
}

const sha256 = (bytes: Uint8Array): string => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

/**
 * Pushes blobs and manifests to a real registry through the distribution API (monolithic blob
 * uploads: `POST /blobs/uploads/` then `PUT …?digest=`; `PUT /manifests/<tag>`), with the
 * registry's CA and credentials. A small stand-in for `flux push artifact`, which is not built here.
 */
export class RegistryPusher {
  /** Push tokens by repository, for a registry with token auth. */
  readonly #tokens = new Map<string, string>();

  constructor(readonly info: RegistryInfo) {}

  #basic(): string | undefined {
    const { username, password } = this.info;
    return username && password
      ? `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`
      : undefined;
  }

  /** A request with the right authorization: basic, or a pull+push token fetched on the registry's challenge. */
  async #send(method: string, url: string, body?: Buffer, type?: string): Promise<Answer> {
    const repository = /\/v2\/(.+?)\/(?:blobs|manifests)\//.exec(new URL(url).pathname)?.[1] ?? '';
    const token = this.#tokens.get(repository);
    const first = await this.#raw(method, url, token ? `Bearer ${token}` : this.#basic(), body, type);
    const bearer = parseChallenges(String(first.headers['www-authenticate'] ?? '')).find(
      (c) => c.scheme === 'bearer',
    );
    if (first.status !== 401 || !bearer?.params.realm) return first;
    const realm = new URL(bearer.params.realm);
    realm.searchParams.set('service', bearer.params.service ?? '');
    realm.searchParams.set('scope', `repository:${repository}:pull,push`);
    const answer = await this.#raw('GET', realm.toString(), this.#basic());
    if (answer.status !== 200) throw new Error(`token service: HTTP ${answer.status} ${answer.body}`);
    const fresh = (JSON.parse(answer.body.toString()) as { token: string }).token;
    this.#tokens.set(repository, fresh);
    return this.#raw(method, url, `Bearer ${fresh}`, body, type);
  }

  #raw(
    method: string,
    url: string,
    authorization: string | undefined,
    body?: Buffer,
    type?: string,
  ): Promise<Answer> {
    const headers: Record<string, string> = {};
    if (authorization) headers.authorization = authorization;
    if (body) headers['content-length'] = String(body.length);
    if (type) headers['content-type'] = type;
    const request = url.startsWith('https:') ? https.request : http.request;
    return new Promise((resolve, reject) => {
      const req = request(
        url,
        { method, headers, ...(this.info.caPem ? { ca: this.info.caPem } : {}) },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
          );
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  }

  /** Uploads a blob (skipped when the registry has it) and returns its digest. */
  async blob(repository: string, bytes: Buffer): Promise<string> {
    const digest = sha256(bytes);
    const head = await this.#send('HEAD', `${this.info.url}/v2/${repository}/blobs/${digest}`);
    if (head.status === 200) return digest;
    const started = await this.#send('POST', `${this.info.url}/v2/${repository}/blobs/uploads/`);
    if (started.status !== 202) throw new Error(`upload start: HTTP ${started.status} ${started.body}`);
    const location = new URL(String(started.headers.location), this.info.url);
    location.searchParams.set('digest', digest);
    const put = await this.#send('PUT', location.toString(), bytes, 'application/octet-stream');
    if (put.status !== 201) throw new Error(`blob upload: HTTP ${put.status} ${put.body}`);
    return digest;
  }

  /** Puts manifest bytes under a tag (or only by digest) and returns the digest. */
  async manifest(repository: string, tag: string | undefined, bytes: Buffer): Promise<string> {
    const digest = sha256(bytes);
    const type =
      (JSON.parse(bytes.toString()) as { mediaType?: string }).mediaType ??
      'application/vnd.oci.image.manifest.v1+json';
    const put = await this.#send(
      'PUT',
      `${this.info.url}/v2/${repository}/manifests/${tag ?? digest}`,
      bytes,
      type,
    );
    if (put.status !== 201) throw new Error(`manifest put: HTTP ${put.status} ${put.body}`);
    if (put.headers['docker-content-digest'] !== digest) throw new Error('the registry stored other bytes');
    return digest;
  }

  /** Pushes an artifact's blobs, then its manifest under `tag`; returns the manifest digest. */
  async artifact(
    repository: string,
    tag: string | undefined,
    artifact: { config: Buffer; manifest: Buffer; layer?: Buffer; payload?: Buffer },
  ): Promise<string> {
    for (const blob of [artifact.config, artifact.layer, artifact.payload])
      if (blob) await this.blob(repository, blob);
    return this.manifest(repository, tag, artifact.manifest);
  }

  /** The file the registry keeps a blob's bytes in (filesystem storage), to damage it in a test. */
  blobFile(digest: string): string {
    const hex = digest.slice('sha256:'.length);
    return `${this.info.dataDir}/docker/registry/v2/blobs/sha256/${hex.slice(0, 2)}/${hex}/data`;
  }
}
