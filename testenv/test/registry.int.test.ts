import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type RegistryInfo, startRegistry, testenv } from '@gitops-kit/testenv';
import { afterAll, describe, expect, it } from 'vitest';

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** One request to the registry with node:http(s), trusting only the registry's CA. */
function send(
  info: RegistryInfo,
  method: string,
  path: string,
  options: { body?: Buffer; headers?: Record<string, string>; auth?: boolean; ca?: string | null } = {},
): Promise<Answer> {
  const url = path.startsWith('http') ? path : `${info.url}${path}`;
  const headers: Record<string, string> = { ...options.headers };
  if (options.auth !== false && info.username && info.password) {
    headers.authorization = `Basic ${Buffer.from(`${info.username}:${info.password}`).toString('base64')}`;
  }
  if (options.body) headers['content-length'] = String(options.body.length);
  const request = url.startsWith('https:') ? https.request : http.request;
  const ca = options.ca === null ? undefined : (options.ca ?? info.caPem);
  return new Promise((resolve, reject) => {
    // A fresh connection each time: a kept-alive one would outlive a stopped registry.
    const req = request(url, { method, headers, agent: false, ...(ca ? { ca } : {}) }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

const sha256 = (data: Buffer): string => `sha256:${createHash('sha256').update(data).digest('hex')}`;

/** Pushes one blob (monolithic upload: POST then PUT with the digest) and returns its digest. */
async function pushBlob(info: RegistryInfo, repo: string, data: Buffer): Promise<string> {
  const digest = sha256(data);
  const started = await send(info, 'POST', `/v2/${repo}/blobs/uploads/`);
  expect(started.status).toBe(202);
  const location = new URL(String(started.headers.location), info.url);
  location.searchParams.set('digest', digest);
  const put = await send(info, 'PUT', location.toString(), {
    body: data,
    headers: { 'content-type': 'application/octet-stream' },
  });
  expect(put.status).toBe(201);
  return digest;
}

/** Pushes a one-layer OCI image manifest under `tag` and returns the manifest's digest. */
async function pushManifest(info: RegistryInfo, repo: string, tag: string): Promise<string> {
  const config = Buffer.from('{}');
  const layer = Buffer.from(`layer of ${tag}\n`);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: {
        mediaType: 'application/vnd.oci.empty.v1+json',
        digest: await pushBlob(info, repo, config),
        size: config.length,
      },
      layers: [
        {
          mediaType: 'application/octet-stream',
          digest: await pushBlob(info, repo, layer),
          size: layer.length,
        },
      ],
    }),
  );
  const put = await send(info, 'PUT', `/v2/${repo}/manifests/${tag}`, {
    body: manifest,
    headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' },
  });
  expect(put.status).toBe(201);
  expect(put.headers['docker-content-digest']).toBe(sha256(manifest));
  return sha256(manifest);
}

describe('testenv registry', () => {
  const own: Array<() => Promise<void>> = [];
  afterAll(async () => {
    for (const stop of own) await stop();
  });

  it('serves HTTPS with its own CA and requires basic auth', async () => {
    const info = await testenv.registry();
    expect(info.version).toBe('v3.1.2');
    expect(info.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(info.host).toBe(info.url.slice('https://'.length));
    expect(info.caPem).toContain('BEGIN CERTIFICATE');
    expect(info.username).toBeTruthy();

    const anonymous = await send(info, 'GET', '/v2/', { auth: false });
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers['www-authenticate']).toMatch(/^Basic realm=/);
    const wrong = await send(info, 'GET', '/v2/', {
      auth: false,
      headers: { authorization: `Basic ${Buffer.from(`${info.username}:nope`).toString('base64')}` },
    });
    expect(wrong.status).toBe(401);
    expect((await send(info, 'GET', '/v2/')).status).toBe(200);
    // Without the CA the certificate is not trusted.
    await expect(send(info, 'GET', '/v2/', { ca: null })).rejects.toThrow(
      /self[- ]signed|unable to verify|certificate/i,
    );
  });

  it('stores a manifest and its blobs, lists tags and answers HEAD with the digest', async () => {
    const info = await testenv.registry();
    const repo = `smoke/app-${Date.now().toString(36)}`;
    const v1 = await pushManifest(info, repo, 'v1.0.0');
    const v2 = await pushManifest(info, repo, 'v1.1.0');
    expect(v2).not.toBe(v1);
    const head = await send(info, 'HEAD', `/v2/${repo}/manifests/v1.0.0`, {
      headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
    });
    expect(head.status).toBe(200);
    expect(head.headers['docker-content-digest']).toBe(v1);
    const tags = await send(info, 'GET', `/v2/${repo}/tags/list`);
    expect(JSON.parse(tags.body.toString()).tags.sort()).toEqual(['v1.0.0', 'v1.1.0']);
  });

  it('offers a plain-HTTP registry without auth', async () => {
    const info = await testenv.registry({ plain: true });
    expect(info.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(info.plainHttp).toBe(true);
    expect(info.caPem).toBeUndefined();
    expect(info.username).toBeUndefined();
    expect((await send(info, 'GET', '/v2/')).status).toBe(200);
    await pushManifest(info, 'plain/app', 'latest');
  });

  it('starts a registry of its own that a test can stop', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'registry-own-'));
    own.push(() => rm(dir, { recursive: true, force: true }));
    const registry = await startRegistry(dir);
    own.push(() => registry.stop());
    const shared = await testenv.registry();
    expect(registry.info.url).not.toBe(shared.url);
    expect(registry.info.password).not.toBe(shared.password);
    expect((await send(registry.info, 'GET', '/v2/')).status).toBe(200);
    await registry.stop();
    await expect(send(registry.info, 'GET', '/v2/')).rejects.toThrow(/ECONNREFUSED/);
  });
});
