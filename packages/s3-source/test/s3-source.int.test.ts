import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { ErrorCodes, RawRenderer, Reconciler } from '@gitops-kit/core';
import { FakeCluster } from '@gitops-kit/core/testing';
import { S3ErrorCodes, S3Source, type S3SourceOptions } from '@gitops-kit/s3-source';
import { type S3Env, s3Client, testenv } from '@gitops-kit/testenv';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { BucketWriter } from './support/bucket-writer.js';
import { failure, filesOf } from './support/files.js';

const signal = new AbortController().signal;

let s3: S3Env;
let client: S3Client;
let cacheRoot: string;
let counter = 0;

beforeAll(async () => {
  s3 = await testenv.s3();
  client = s3Client(s3);
  cacheRoot = await mkdtemp(join(tmpdir(), 's3-source-int-'));
});

afterAll(async () => {
  client?.destroy();
  if (cacheRoot) await rm(cacheRoot, { recursive: true, force: true });
});

async function newBucket(versioning = false): Promise<string> {
  counter += 1;
  const name = `s3src-${process.pid}-${Date.now().toString(36)}-${counter}`;
  await s3.createBucket(name, { versioning });
  return name;
}

function put(bucket: string, key: string, body: string, metadata?: Record<string, string>): Promise<void> {
  return new BucketWriter(client, bucket).put(key, body, metadata);
}

function del(bucket: string, key: string): Promise<void> {
  return new BucketWriter(client, bucket).delete(key);
}

/** The revision of the bucket's current objects, from a listing made by the test itself. */
function listedRevision(bucket: string, keep: (key: string) => boolean = () => true): Promise<string> {
  return new BucketWriter(client, bucket).revision(keep);
}

const wait = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('S3Source against a real S3 server', () => {
  let cacheDir: string;
  const source = (bucket: string, options: Partial<S3SourceOptions> = {}): S3Source =>
    new S3Source({
      endpoint: s3.endpoint,
      region: s3.region,
      bucket,
      credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
      cacheDir,
      ...options,
    });

  beforeEach(async () => {
    cacheDir = await mkdtemp(join(cacheRoot, 'cache-'));
  });

  it('syncs new, changed and deleted objects, downloading only what changed', async () => {
    const bucket = await newBucket();
    await put(bucket, 'keep.yaml', 'keep: 1\n');
    await put(bucket, 'change.yaml', 'value: before\n');
    await put(bucket, 'apps/gone.yaml', 'gone: true\n');
    const s = source(bucket);

    const first = await s.fetch({ signal });
    expect(await filesOf(first.dir)).toEqual({
      'keep.yaml': 'keep: 1\n',
      'change.yaml': 'value: before\n',
      'apps/gone.yaml': 'gone: true\n',
    });
    expect(first.revision).toBe(await listedRevision(bucket));
    expect(s.stats().byOperation.GetObject).toBe(3);

    s.resetStats();
    const same = await s.fetch({ signal });
    expect(same).toEqual(first);
    expect(s.stats()).toEqual({ requests: 1, byOperation: { ListObjectsV2: 1 }, bytesDownloaded: 0 });

    await put(bucket, 'change.yaml', 'value: after\n');
    await put(bucket, 'apps/new.yaml', 'new: true\n');
    await del(bucket, 'apps/gone.yaml');
    s.resetStats();
    const next = await s.fetch({ signal });
    expect(await filesOf(next.dir)).toEqual({
      'keep.yaml': 'keep: 1\n',
      'change.yaml': 'value: after\n',
      'apps/new.yaml': 'new: true\n',
    });
    expect(next.revision).toBe(await listedRevision(bucket));
    expect(next.revision).not.toBe(first.revision);
    expect(s.stats().byOperation.GetObject).toBe(2);
    expect(s.stats().bytesDownloaded).toBe('value: after\n'.length + 'new: true\n'.length);
  });

  it('with a change marker, ends a no-change poll after one conditional HEAD', async () => {
    const bucket = await newBucket();
    await put(bucket, 'app/a.yaml', 'a: 1\n');
    await put(bucket, 'app/published', new Date().toISOString());
    const s = source(bucket, { prefix: 'app', changeMarker: 'app/published' });
    const first = await s.fetch({ signal });
    expect(await filesOf(first.dir)).toEqual({ 'a.yaml': 'a: 1\n' });

    s.resetStats();
    expect(await s.fetch({ signal })).toEqual(first);
    // MinIO answers If-None-Match with 304: nothing else is asked.
    expect(s.stats()).toEqual({ requests: 1, byOperation: { HeadObject: 1 }, bytesDownloaded: 0 });

    await put(bucket, 'app/a.yaml', 'a: 2\n');
    await put(bucket, 'app/published', `${new Date().toISOString()} again`);
    s.resetStats();
    const next = await s.fetch({ signal });
    expect(await filesOf(next.dir)).toEqual({ 'a.yaml': 'a: 2\n' });
    expect(s.stats().byOperation).toEqual({ HeadObject: 1, ListObjectsV2: 1, GetObject: 1 });
  });

  it('records the newest LastModified and the uploader from object metadata', async () => {
    const bucket = await newBucket();
    await put(bucket, 'a.yaml', 'a: 1\n', { author: 'someone-else' });
    await put(bucket, 'b.yaml', 'b: 1\n', { author: 'alice@example.com' });
    const artifact = await source(bucket).fetch({ signal });
    const head = await client.send(new ListObjectsV2Command({ Bucket: bucket }));
    const newest = Math.max(...(head.Contents ?? []).map((o) => o.LastModified?.getTime() ?? 0));
    expect(artifact.meta.time).toBe(new Date(newest).toISOString());
    // Both may share a LastModified second; the uploader is that of whichever object is newest.
    expect(['alice@example.com', 'someone-else']).toContain(artifact.meta.author);
    expect(artifact.meta.origin).toBe(`s3://${bucket}/ at ${s3.endpoint}`);
  });

  it('serves only the prefix, at the artifact root', async () => {
    const bucket = await newBucket();
    await put(bucket, 'clusters/prod/app.yaml', 'prod: true\n');
    await put(bucket, 'clusters/prod/infra/db.yaml', 'db: true\n');
    await put(bucket, 'clusters/production.yaml', 'not: mine\n');
    await put(bucket, 'clusters/staging/app.yaml', 'staging: true\n');
    const artifact = await source(bucket, { prefix: 'clusters/prod' }).fetch({ signal });
    expect(await filesOf(artifact.dir)).toEqual({
      'app.yaml': 'prod: true\n',
      'infra/db.yaml': 'db: true\n',
    });
    expect(artifact.revision).toBe(await listedRevision(bucket, (key) => key.startsWith('clusters/prod/')));
  });

  it('applies the default ignores, the bucket .sourceignore and the ignore option', async () => {
    const bucket = await newBucket();
    await put(bucket, '.sourceignore', '# docs are not manifests\n*.md\n');
    await put(bucket, 'apps/.sourceignore', 'tests/\n');
    await put(bucket, 'README.md', '# readme\n');
    await put(bucket, 'logo.png', 'png');
    await put(bucket, 'apps/tests/case.yaml', 'test: true\n');
    await put(bucket, 'apps/app.yaml', 'app: true\n');
    await put(bucket, 'secrets.enc.yaml', 'enc: true\n');
    const s = source(bucket, { ignore: ['*.enc.yaml'] });
    const artifact = await s.fetch({ signal });
    expect(await filesOf(artifact.dir)).toEqual({ 'apps/app.yaml': 'app: true\n' });
    expect(artifact.revision).toBe(await listedRevision(bucket, (key) => key === 'apps/app.yaml'));

    // A poll re-reads no .sourceignore whose ETag is unchanged.
    s.resetStats();
    await s.fetch({ signal });
    expect(s.stats().byOperation.GetObject).toBeUndefined();
  });

  it('rebuilds the state of a versioned bucket at a past time from real object versions', async () => {
    const bucket = await newBucket(true);
    await put(bucket, 'a.yaml', 'a: 1\n', { author: 'alice' });
    await put(bucket, 'b.yaml', 'b: 1\n', { author: 'alice' });
    const s = source(bucket);
    const past = await s.fetch({ signal });
    // LastModified has a resolution of a second on some servers: let the clock move on.
    await wait(1100);
    await put(bucket, 'a.yaml', 'a: 2\n', { author: 'bob' });
    await del(bucket, 'b.yaml');
    await put(bucket, 'c.yaml', 'c: 2\n', { author: 'bob' });
    const now = await s.fetch({ signal });
    expect(await filesOf(now.dir)).toEqual({ 'a.yaml': 'a: 2\n', 'c.yaml': 'c: 2\n' });
    expect(now.meta.author).toBe('bob');

    const at = new Date(past.meta.time as string);
    // A fresh cache: every past version is downloaded by version id.
    cacheDir = await mkdtemp(join(cacheRoot, 'cache-'));
    const rollback = source(bucket, { versionsAt: at });
    const restored = await rollback.fetch({ signal });
    expect(await filesOf(restored.dir)).toEqual({ 'a.yaml': 'a: 1\n', 'b.yaml': 'b: 1\n' });
    expect(restored.revision).toBe(past.revision);
    expect(restored.meta.author).toBe('alice');
    expect(rollback.stats().byOperation.ListObjectVersions).toBeGreaterThanOrEqual(1);
    expect(rollback.stats().byOperation.ListObjectsV2).toBeUndefined();
    expect(rollback.stats().byOperation.GetObject).toBe(2);

    // Back to the present with the same source.
    rollback.setVersionsAt(undefined);
    expect((await rollback.fetch({ signal })).revision).toBe(now.revision);
  });

  it('fetchRevision serves an earlier revision from the object versions, in a fresh cache too', async () => {
    const bucket = await newBucket(true);
    await put(bucket, 'a.yaml', 'a: 1\n');
    const first = await source(bucket).fetch({ signal });
    await wait(1100);
    await put(bucket, 'a.yaml', 'a: 2\n');
    await put(bucket, 'b.yaml', 'b: 2\n');
    // A restarted process with an empty cache asks for the revision it recorded.
    cacheDir = await mkdtemp(join(cacheRoot, 'cache-'));
    const later = source(bucket);
    const now = await later.fetch({ signal });
    expect(await filesOf(now.dir)).toEqual({ 'a.yaml': 'a: 2\n', 'b.yaml': 'b: 2\n' });
    const old = await later.fetchRevision(first.revision, { signal });
    expect(old.revision).toBe(first.revision);
    expect(await filesOf(old.dir)).toEqual({ 'a.yaml': 'a: 1\n' });
    // The present is still what a plain fetch serves.
    expect((await later.fetch({ signal })).revision).toBe(now.revision);
    const error = await failure(later.fetchRevision(`sha256:${'0'.repeat(64)}`, { signal }));
    expect(error.code).toBe(ErrorCodes.SourceRevisionUnavailable);
  });

  it('refuses versionsAt on a bucket that keeps no versions', async () => {
    const bucket = await newBucket(false);
    await put(bucket, 'a.yaml', 'a: 1\n');
    const error = await failure(source(bucket, { versionsAt: new Date() }).fetch({ signal }));
    expect(error.code).toBe(S3ErrorCodes.NotVersioned);
  });

  it('refuses object keys that would escape the artifact folder', async () => {
    const bucket = await newBucket();
    await put(bucket, 'ok.yaml', 'ok: true\n');
    // Which unsafe keys a server stores varies (MinIO keeps only the backslash one); test every one it takes.
    const candidates = ['apps/../../escape.yaml', 'dir\\evil.yaml', '/abs.yaml', 'a//b.yaml'];
    const stored: string[] = [];
    for (const key of candidates) {
      try {
        await put(bucket, key, 'bad: true\n');
        const listing = await client.send(new ListObjectsV2Command({ Bucket: bucket }));
        if ((listing.Contents ?? []).some((o) => o.Key === key)) stored.push(key);
        else await del(bucket, key).catch(() => undefined);
      } catch {
        // The server refused the key itself.
      }
    }
    expect(stored.length).toBeGreaterThan(0);
    for (const key of stored) {
      const only = await newBucket();
      await put(only, 'ok.yaml', 'ok: true\n');
      await put(only, key, 'bad: true\n');
      const s = source(only);
      const error = await failure(s.fetch({ signal }));
      expect(error.code).toBe(ErrorCodes.SourceUnsafePath);
      expect(error.message).toContain(JSON.stringify(key));
      expect(s.stats().byOperation.GetObject).toBeUndefined();
    }
  });

  it('lists again when an object changes between the listing and its download', async () => {
    const bucket = await newBucket();
    await put(bucket, 'a.yaml', 'a: 1\n');
    await put(bucket, 'b.yaml', 'b: 1\n');
    // A second writer that replaces b.yaml right before the source's first read of it.
    const racing = s3Client(s3);
    let raced = false;
    racing.middlewareStack.add(
      (next, context) => async (args) => {
        const input = args.input as { Key?: string };
        if (context.commandName === 'GetObjectCommand' && input.Key === 'b.yaml' && !raced) {
          raced = true;
          await put(bucket, 'b.yaml', 'b: 2, written during the download\n');
        }
        return next(args);
      },
      { step: 'initialize', name: 'raceWriter' },
    );
    try {
      const s = source(bucket, { client: racing });
      const artifact = await s.fetch({ signal });
      expect(raced).toBe(true);
      expect(await filesOf(artifact.dir)).toEqual({
        'a.yaml': 'a: 1\n',
        'b.yaml': 'b: 2, written during the download\n',
      });
      expect(artifact.revision).toBe(await listedRevision(bucket));
      // The stale read was refused by If-Match (412), then the second listing was downloaded.
      expect(s.stats().byOperation.ListObjectsV2).toBe(2);
    } finally {
      racing.destroy();
    }
  });

  it('enforces limits before downloading', async () => {
    const bucket = await newBucket();
    await put(bucket, 'a.yaml', 'x'.repeat(100));
    await put(bucket, 'b.yaml', 'y'.repeat(100));
    const s = source(bucket, { limits: { maxTotalBytes: 150 } });
    const error = await failure(s.fetch({ signal }));
    expect(error.code).toBe(ErrorCodes.SourceLimitExceeded);
    expect(error.message).toContain('maxTotalBytes (150)');
    expect(s.stats().byOperation.GetObject).toBeUndefined();
  });

  it('reports wrong credentials clearly, without the secret', async () => {
    const bucket = await newBucket();
    await put(bucket, 'a.yaml', 'a: 1\n');
    const badSecret = `${s3.secretAccessKey.slice(0, 8)}-wrong-secret-value`;
    const wrongSecret = source(bucket, {
      credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: badSecret },
      maxAttempts: 1,
    });
    const error = await failure(wrongSecret.fetch({ signal }));
    expect(error.code).toBe(S3ErrorCodes.AccessDenied);
    expect(error.message).toMatch(/refused the request while listing objects: SignatureDoesNotMatch/);
    expect(error.message).toContain(bucket);
    const everything = inspect(error, { depth: 10 }) + JSON.stringify(error);
    expect(everything).not.toContain(badSecret);
    expect(everything).not.toContain(s3.secretAccessKey);

    const unknownKey = source(bucket, {
      credentials: { accessKeyId: 'NOSUCHKEY123', secretAccessKey: badSecret },
      maxAttempts: 1,
    });
    const second = await failure(unknownKey.fetch({ signal }));
    expect(second.code).toBe(S3ErrorCodes.AccessDenied);
    expect(second.message).toContain('InvalidAccessKeyId');
    expect(inspect(second, { depth: 10 })).not.toContain(badSecret);
  });

  it('reports a missing bucket as SOURCE_NOT_FOUND', async () => {
    const error = await failure(source(`missing-${Date.now()}`).fetch({ signal }));
    expect(error.code).toBe(ErrorCodes.SourceNotFound);
  });

  it('fails clearly while the server is down and keeps the last artifact', async () => {
    const bucket = await newBucket();
    await put(bucket, 'a.yaml', 'a: 1\n');
    const proxy = new TcpProxy(new URL(s3.endpoint));
    const port = await proxy.listen(0);
    try {
      const s = source(bucket, {
        endpoint: `http://127.0.0.1:${port}`,
        maxAttempts: 1,
        connectionTimeoutMs: 2000,
      });
      const good = await s.fetch({ signal });
      await proxy.close();

      const error = await failure(s.fetch({ signal }));
      expect(error.code).toBe(ErrorCodes.SourceFetchFailed);
      expect(error.message).toMatch(
        /cannot reach S3 endpoint http:\/\/127\.0\.0\.1:\d+, bucket "[^"]+" while listing objects/,
      );
      expect(await filesOf(good.dir)).toEqual({ 'a.yaml': 'a: 1\n' });

      await proxy.listen(port);
      s.resetStats();
      const back = await s.fetch({ signal });
      expect(back).toEqual(good);
      expect(s.stats().byOperation.GetObject).toBeUndefined();
    } finally {
      await proxy.close();
    }
  });

  it('drives a Reconciler into the FakeCluster: create, update, prune, roll back in time', async () => {
    const bucket = await newBucket(true);
    const configMap = (name: string, value: string): string =>
      `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n  namespace: default\ndata:\n  value: "${value}"\n`;
    await put(bucket, 'app/one.yaml', configMap('one', '1'), { author: 'alice' });
    await put(bucket, 'app/two.yaml', configMap('two', '2'), { author: 'alice' });
    await put(bucket, 'app/README.md', '# not a manifest\n');
    const s = source(bucket, { prefix: 'app' });
    const cluster = new FakeCluster();
    const reconciler = new Reconciler({
      name: 's3-app',
      source: s,
      renderer: new RawRenderer(),
      target: cluster,
    });
    const ref = (name: string) => ({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'default', name });
    const dataValue = (name: string): unknown =>
      (cluster.get(ref(name)) as { data?: { value?: string } } | undefined)?.data?.value;

    const first = await reconciler.reconcile();
    expect(first.outcome).toBe('succeeded');
    // README.md is not ignored by default: it is part of the revision (the renderer skips it).
    expect(first.appliedRevision).toBe(await listedRevision(bucket));
    expect([dataValue('one'), dataValue('two')]).toEqual(['1', '2']);
    // The artifact of the first pass (fetched again: nothing changed, so nothing is downloaded).
    const firstTime = new Date((await s.fetch({ signal })).meta.time as string);

    await wait(1100);
    await put(bucket, 'app/one.yaml', configMap('one', '1b'), { author: 'bob' });
    await del(bucket, 'app/two.yaml');
    const second = await reconciler.reconcile();
    expect(second.outcome).toBe('succeeded');
    expect(second.pruned).toBe(1);
    expect(dataValue('one')).toBe('1b');
    expect(cluster.get(ref('two'))).toBeUndefined();

    // Nothing changed: the source downloads nothing and the pass writes nothing.
    s.resetStats();
    const third = await reconciler.reconcile();
    expect(third.outcome).toBe('succeeded');
    expect(third.writes).toBe(0);
    expect(s.stats().byOperation.GetObject).toBeUndefined();

    // Roll back to the bucket as it was at the first reconcile.
    s.setVersionsAt(firstTime);
    const rolledBack = await reconciler.reconcile();
    expect(rolledBack.outcome).toBe('succeeded');
    expect(rolledBack.appliedRevision).toBe(first.appliedRevision);
    expect([dataValue('one'), dataValue('two')]).toEqual(['1', '2']);
  });
});

/** A TCP proxy in front of the S3 server, so a test can take "the server" down and bring it back. */
class TcpProxy {
  #server: Server | undefined;
  readonly #sockets = new Set<Socket>();
  readonly #target: URL;

  constructor(target: URL) {
    this.#target = target;
  }

  listen(port: number): Promise<number> {
    const server = createServer((socket) => {
      const upstream = tcpConnect(Number(this.#target.port), this.#target.hostname);
      for (const s of [socket, upstream]) {
        this.#sockets.add(s);
        s.on('close', () => this.#sockets.delete(s));
        s.on('error', () => {
          socket.destroy();
          upstream.destroy();
        });
      }
      socket.pipe(upstream).pipe(socket);
    });
    this.#server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        const address = server.address();
        resolve(typeof address === 'object' && address ? address.port : port);
      });
    });
  }

  async close(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    for (const socket of this.#sockets) socket.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
