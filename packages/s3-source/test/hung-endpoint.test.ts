import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findSecrets, SourceError } from '@gitops-kit/core';
import { S3ErrorCodes, S3Source } from '@gitops-kit/s3-source';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import * as endpoints from '../../core/test/support/endpoints.js';

/** Real sockets on 127.0.0.1: a server that accepts and never answers is what a hung endpoint is. */

const credentials = {
  accessKeyId: 'AKIAHUNGTESTKEY00001',
  secretAccessKey: 'hung/Secret+Access/Key/0000000000000000',
};
const listXml = (keys: readonly [string, number][]): string =>
  `<?xml version="1.0" encoding="UTF-8"?><ListBucketResult><Name>configs</Name><Prefix></Prefix><KeyCount>${keys.length}</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated>${keys
    .map(
      ([key, size]) =>
        `<Contents><Key>${key}</Key><LastModified>2026-01-01T00:00:00.000Z</LastModified><ETag>&quot;e1&quot;</ETag><Size>${size}</Size></Contents>`,
    )
    .join('')}</ListBucketResult>`;

let cacheDir: string;
const sources: S3Source[] = [];

beforeEach(async () => {
  cacheDir = await mkdtemp(join(tmpdir(), 's3-hung-'));
});
afterEach(async () => {
  for (const s of sources.splice(0)) s.destroy();
  await endpoints.closeEndpoints();
  await rm(cacheDir, { recursive: true, force: true });
});

function source(endpoint: string, extra: Partial<ConstructorParameters<typeof S3Source>[0]> = {}): S3Source {
  const s = new S3Source({ endpoint, bucket: 'configs', credentials, cacheDir, ...extra });
  sources.push(s);
  return s;
}

describe('S3Source against a hung endpoint', () => {
  it('fails with SOURCE_S3_TIMEOUT within requestTimeoutMs when the server never answers', async () => {
    const hung = await endpoints.hungEndpoint();
    const s = source(hung.url, { requestTimeoutMs: 400, maxAttempts: 1 });
    const { error, ms } = await endpoints.timed(s.fetch({ signal: new AbortController().signal }));
    expect(error).toBeInstanceOf(SourceError);
    expect((error as SourceError).code).toBe(S3ErrorCodes.Timeout);
    expect((error as SourceError).message).toContain('did not answer within 400 ms while listing objects');
    expect(hung.connections()).toBeGreaterThan(0);
    expect(ms).toBeLessThan(3000);
  });

  it('bounds the request with its retries included, not per attempt', async () => {
    const hung = await endpoints.hungEndpoint();
    const s = source(hung.url, { requestTimeoutMs: 400, maxAttempts: 5 });
    const { error, ms } = await endpoints.timed(s.fetch({ signal: new AbortController().signal }));
    expect((error as SourceError).code).toBe(S3ErrorCodes.Timeout);
    expect(ms).toBeLessThan(3000);
  });

  it('ends at the caller’s abort before the timeout', async () => {
    const hung = await endpoints.hungEndpoint();
    const s = source(hung.url, { requestTimeoutMs: 60_000, maxAttempts: 1 });
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('stop now')), 200);
    const { error, ms } = await endpoints.timed(s.fetch({ signal: controller.signal }));
    expect((error as Error).message).toContain('stop now');
    expect(ms).toBeLessThan(3000);
  });

  it('fails with SOURCE_S3_TIMEOUT when an object body stalls after its headers', async () => {
    const url = await endpoints.httpEndpoint((req, res) => {
      req.resume();
      if ((req.url ?? '').includes('list-type=2')) {
        res.writeHead(200, { 'content-type': 'application/xml' });
        res.end(listXml([['app.yaml', 10]]));
        return;
      }
      // Headers and two bytes of ten, then nothing.
      res.writeHead(200, { 'content-length': '10', etag: '"e1"' });
      res.write('ab');
    });
    const s = source(url, { requestTimeoutMs: 400, maxAttempts: 1 });
    const { error, ms } = await endpoints.timed(s.fetch({ signal: new AbortController().signal }));
    expect((error as SourceError).code).toBe(S3ErrorCodes.Timeout);
    expect((error as SourceError).message).toContain('while reading "app.yaml"');
    expect(ms).toBeLessThan(3000);
  });
});

describe('S3Source errors carry no credentials', () => {
  it('keeps neither the access key id, the secret nor the signature anywhere in the error and its causes', async () => {
    let authorization = '';
    const url = await endpoints.httpEndpoint((req, res) => {
      authorization = req.headers.authorization ?? '';
      req.resume();
      res.writeHead(403, { 'content-type': 'application/xml' });
      // Servers echo what they were sent; MinIO and AWS put the access key id in the error.
      res.end(
        `<?xml version="1.0" encoding="UTF-8"?><Error><Code>SignatureDoesNotMatch</Code><Message>signature for ${credentials.accessKeyId} does not match; you sent ${authorization}</Message><AWSAccessKeyId>${credentials.accessKeyId}</AWSAccessKeyId><RequestId>1</RequestId></Error>`,
      );
    });
    const s = source(url, { maxAttempts: 1 });
    const { error } = await endpoints.timed(s.fetch({ signal: new AbortController().signal }));
    expect((error as SourceError).code).toBe(S3ErrorCodes.AccessDenied);
    const signature = /Signature=([0-9a-f]+)/.exec(authorization)?.[1];
    expect(signature).toMatch(/^[0-9a-f]{64}$/);
    const needles = [credentials.accessKeyId, credentials.secretAccessKey, signature as string];
    expect(findSecrets(error, needles)).toEqual([]);
    // The search does find what is there: the same search over the SDK's own error would.
    expect(findSecrets({ cause: { header: authorization } }, needles).length).toBeGreaterThan(0);

    // Nor does the Reconciler's `failed` event, its status or its result.
    expect(await endpoints.leaksOfFailedPass(source(url, { maxAttempts: 1 }), needles)).toEqual([]);
  });
});
