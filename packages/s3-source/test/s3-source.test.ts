import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCodes } from '@gitops-kit/core';
import { S3ErrorCodes, S3Source, type S3SourceOptions } from '@gitops-kit/s3-source';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { computeRevision } from '../src/object-index.js';
import { failure, filesOf } from './support/files.js';
import { MemoryBucket } from './support/memory-bucket.js';

const signal = new AbortController().signal;

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/** The revision of what the bucket holds now under `prefix`, computed independently of the source. */
async function expectedRevision(
  bucket: MemoryBucket,
  prefix = '',
  skip: (key: string) => boolean = () => false,
) {
  const entries: { key: string; etag: string; size: number }[] = [];
  for await (const page of bucket.listObjects(prefix)) {
    for (const o of page) if (!skip(o.key)) entries.push(o);
  }
  bucket.calls.list = 0;
  return computeRevision(entries);
}

describe('S3Source over a bucket client', () => {
  let cacheDir: string;
  let bucket: MemoryBucket;
  const source = (options: Partial<S3SourceOptions> = {}): S3Source =>
    new S3Source({ bucket: 'configs', bucketClient: bucket, cacheDir, ...options });

  beforeEach(async () => {
    cacheDir = await mkdtemp(join(tmpdir(), 's3-source-test-'));
    bucket = new MemoryBucket();
  });
  afterEach(async () => {
    await rm(cacheDir, { recursive: true, force: true });
  });

  it('downloads every object on the first fetch and names the artifact by its index', async () => {
    bucket.put('a.yaml', 'kind: A\n');
    bucket.put('nested/b.yaml', 'kind: B\n', { author: 'alice@example.com' });
    const artifact = await source().fetch({ signal });
    expect(await filesOf(artifact.dir)).toEqual({ 'a.yaml': 'kind: A\n', 'nested/b.yaml': 'kind: B\n' });
    expect(artifact.revision).toBe(await expectedRevision(bucket));
    expect(artifact.revision).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(artifact.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(bucket.calls.get).toBe(2);
    expect(bucket.bodiesClosed).toBe(bucket.bodiesOpened);
  });

  it('records the newest LastModified and its uploader from object metadata', async () => {
    bucket.put('old.yaml', 'x', { author: 'bob' });
    bucket.put('new.yaml', 'y', { 'uploaded-by': 'ci-pipeline' });
    const artifact = await source().fetch({ signal });
    expect(artifact.meta.time).toBe(bucket.now().toISOString());
    expect(artifact.meta.author).toBe('ci-pipeline');
    expect(artifact.meta.origin).toContain('s3://configs/');
  });

  it('lists and downloads nothing more when nothing changed, also after a restart', async () => {
    bucket.pageSize = 2;
    for (let i = 0; i < 5; i++) bucket.put(`f${i}.yaml`, `n: ${i}\n`);
    const first = await source().fetch({ signal });
    const s = source();
    bucket.calls.get = 0;
    bucket.calls.list = 0;
    const again = await s.fetch({ signal });
    expect(again).toEqual(first);
    expect(bucket.calls.get).toBe(0);
    expect(bucket.calls.list).toBe(3); // 5 keys in pages of 2: the listing is the whole cost
    const third = await s.fetch({ signal, previous: again });
    expect(third.dir).toBe(first.dir);
    expect(bucket.calls.get).toBe(0);
  });

  it('downloads only changed and new objects, drops deleted ones, keeps the previous artifact', async () => {
    bucket.put('keep.yaml', 'same');
    bucket.put('change.yaml', 'before');
    bucket.put('gone.yaml', 'bye');
    const s = source();
    const first = await s.fetch({ signal });
    bucket.put('change.yaml', 'after');
    bucket.put('new/added.yaml', 'hello');
    bucket.delete('gone.yaml');
    bucket.gets.length = 0;
    const second = await s.fetch({ signal });
    expect(bucket.gets.sort()).toEqual(['change.yaml', 'new/added.yaml']);
    expect(await filesOf(second.dir)).toEqual({
      'keep.yaml': 'same',
      'change.yaml': 'after',
      'new/added.yaml': 'hello',
    });
    expect(second.revision).not.toBe(first.revision);
    expect(second.revision).toBe(await expectedRevision(bucket));
    // The previous artifact is untouched on disk (an artifact never changes once handed out).
    expect(await filesOf(first.dir)).toEqual({
      'keep.yaml': 'same',
      'change.yaml': 'before',
      'gone.yaml': 'bye',
    });
  });

  it('keeps only keepArtifacts artifacts on disk', async () => {
    const s = source({ keepArtifacts: 2 });
    bucket.put('a', '1');
    const one = await s.fetch({ signal });
    bucket.put('a', '2');
    const two = await s.fetch({ signal });
    bucket.put('a', '3');
    const three = await s.fetch({ signal });
    expect(await exists(one.dir)).toBe(false);
    expect(await exists(two.dir)).toBe(true);
    expect(await exists(three.dir)).toBe(true);
  });

  it('reuses a kept artifact when the bucket returns to an earlier state', async () => {
    const s = source();
    bucket.put('a', '1');
    bucket.put('b', '1');
    const first = await s.fetch({ signal });
    bucket.put('c', 'x');
    const second = await s.fetch({ signal });
    expect(second.revision).not.toBe(first.revision);
    bucket.delete('c');
    bucket.gets.length = 0;
    const back = await s.fetch({ signal });
    expect(back.revision).toBe(first.revision);
    expect(back.dir).toBe(first.dir);
    expect(bucket.gets).toEqual([]);
  });

  it('gives the same content digest to a re-upload of the same bytes under a new ETag', async () => {
    const s = source();
    bucket.put('a.yaml', 'same bytes');
    const first = await s.fetch({ signal });
    bucket.put('a.yaml', 'same bytes');
    const second = await s.fetch({ signal });
    expect(second.revision).not.toBe(first.revision);
    expect(second.digest).toBe(first.digest);
  });

  it('serves only the prefix, at the artifact root', async () => {
    bucket.put('apps/prod/web.yaml', 'web');
    bucket.put('apps/prod/db/db.yaml', 'db');
    bucket.put('apps/production.yaml', 'not mine');
    bucket.put('apps/staging/web.yaml', 'not mine');
    const artifact = await source({ prefix: 'apps/prod' }).fetch({ signal });
    expect(await filesOf(artifact.dir)).toEqual({ 'web.yaml': 'web', 'db/db.yaml': 'db' });
    expect(artifact.revision).toBe(await expectedRevision(bucket, 'apps/prod/'));
  });

  it('skips folder markers', async () => {
    bucket.put('apps/', '');
    bucket.put('apps/a.yaml', 'a');
    const artifact = await source().fetch({ signal });
    expect(await filesOf(artifact.dir)).toEqual({ 'apps/a.yaml': 'a' });
  });

  describe('ignore rules', () => {
    it('applies the defaults, the .sourceignore files of the bucket and the option', async () => {
      bucket.put('.sourceignore', '*.md\n');
      bucket.put('team/.sourceignore', 'drafts/\n');
      bucket.put('README.md', 'docs');
      bucket.put('logo.png', 'png');
      bucket.put('.github/workflows/ci.yaml', 'ci');
      bucket.put('team/drafts/x.yaml', 'draft');
      bucket.put('team/app.yaml', 'app');
      bucket.put('secret.enc', 'no');
      bucket.put('keep.yaml', 'yes');
      const artifact = await source({ ignore: ['*.enc'] }).fetch({ signal });
      expect(await filesOf(artifact.dir)).toEqual({ 'team/app.yaml': 'app', 'keep.yaml': 'yes' });
      // The revision covers only what is in the artifact.
      expect(artifact.revision).toBe(
        await expectedRevision(bucket, '', (key) => !['team/app.yaml', 'keep.yaml'].includes(key)),
      );
    });

    it('lets the option re-include what the defaults exclude, and can turn defaults off', async () => {
      bucket.put('logo.png', 'png');
      bucket.put('a.yaml', 'a');
      expect(
        Object.keys(await filesOf((await source({ ignore: '!logo.png' }).fetch({ signal })).dir)).sort(),
      ).toEqual(['a.yaml', 'logo.png']);
    });

    it('reads a .sourceignore again only when its ETag changes', async () => {
      bucket.put('.sourceignore', '*.txt\n');
      bucket.put('a.txt', 'a');
      bucket.put('b.yaml', 'b');
      const s = source();
      const first = await s.fetch({ signal });
      expect(await filesOf(first.dir)).toEqual({ 'b.yaml': 'b' });
      bucket.gets.length = 0;
      await s.fetch({ signal });
      expect(bucket.gets).toEqual([]);
      bucket.put('.sourceignore', '*.yaml\n');
      const second = await s.fetch({ signal });
      expect(bucket.gets.sort()).toEqual(['.sourceignore', 'a.txt']);
      expect(await filesOf(second.dir)).toEqual({ 'a.txt': 'a' });
    });
  });

  describe('safety', () => {
    it('refuses keys that would escape the artifact, naming the key', async () => {
      bucket.put('ok.yaml', 'ok');
      bucket.put('apps/../../etc/passwd', 'x');
      const error = await failure(source().fetch({ signal }));
      expect(error.code).toBe(ErrorCodes.SourceUnsafePath);
      expect(error.message).toContain('"apps/../../etc/passwd"');
      expect(bucket.calls.get).toBe(0);
    });

    it('refuses backslashes and absolute keys', async () => {
      bucket.put('a\\b.yaml', 'x');
      expect((await failure(source().fetch({ signal }))).message).toMatch(/backslash/);
      const other = new MemoryBucket();
      other.put('/abs.yaml', 'x');
      const error = await failure(
        new S3Source({ bucket: 'b', bucketClient: other, cacheDir }).fetch({ signal }),
      );
      expect(error.message).toMatch(/absolute path/);
    });

    it('enforces the object count, object size and total size limits before downloading', async () => {
      for (let i = 0; i < 3; i++) bucket.put(`f${i}`, '12345');
      const count = await failure(source({ limits: { maxObjects: 2 } }).fetch({ signal }));
      expect(count.code).toBe(ErrorCodes.SourceLimitExceeded);
      expect(count.message).toMatch(/3 objects .* exceed limits\.maxObjects \(2\)/);
      const size = await failure(source({ limits: { maxObjectSize: 4 } }).fetch({ signal }));
      expect(size.message).toMatch(/"f0" is 5 bytes, above limits.maxObjectSize \(4\)/);
      const total = await failure(source({ limits: { maxTotalBytes: 14 } }).fetch({ signal }));
      expect(total.message).toMatch(/total 15 bytes, above limits.maxTotalBytes \(14\)/);
      expect(bucket.calls.get).toBe(0);
    });

    it('does not count ignored objects against the limits', async () => {
      for (let i = 0; i < 3; i++) bucket.put(`f${i}.png`, 'x');
      bucket.put('a.yaml', 'a');
      const artifact = await source({ limits: { maxObjects: 1 } }).fetch({ signal });
      expect(await filesOf(artifact.dir)).toEqual({ 'a.yaml': 'a' });
    });
  });

  describe('consistency', () => {
    it('lists again when an object changes between listing and download', async () => {
      bucket.put('a.yaml', 'a1');
      bucket.put('b.yaml', 'b1');
      let changed = false;
      bucket.beforeGet = (key) => {
        if (key === 'b.yaml' && !changed) {
          changed = true;
          bucket.put('b.yaml', 'b2');
        }
      };
      const artifact = await source().fetch({ signal });
      expect(await filesOf(artifact.dir)).toEqual({ 'a.yaml': 'a1', 'b.yaml': 'b2' });
      expect(artifact.revision).toBe(await expectedRevision(bucket));
      // a.yaml was downloaded once and reused by the second attempt.
      expect(bucket.gets.filter((k) => k === 'a.yaml')).toHaveLength(1);
      expect(bucket.bodiesClosed).toBe(bucket.bodiesOpened);
    });

    it('lists again when an object is deleted between listing and download', async () => {
      bucket.put('a.yaml', 'a');
      bucket.put('b.yaml', 'b');
      bucket.beforeGet = (key) => {
        if (key === 'b.yaml') bucket.delete('b.yaml');
      };
      const artifact = await source({ concurrency: 1 }).fetch({ signal });
      expect(await filesOf(artifact.dir)).toEqual({ 'a.yaml': 'a' });
      expect(artifact.revision).toBe(await expectedRevision(bucket));
    });

    it('gives up with SOURCE_S3_UNSTABLE when the bucket keeps changing, keeping the last artifact', async () => {
      bucket.put('a.yaml', 'a');
      const s = source({ consistencyAttempts: 2 });
      const good = await s.fetch({ signal });
      bucket.put('a.yaml', 'b');
      let n = 0;
      bucket.beforeGet = (key) => {
        bucket.put(key, `moving ${n++}`);
      };
      const error = await failure(s.fetch({ signal }));
      expect(error.code).toBe(S3ErrorCodes.Unstable);
      expect(await filesOf(good.dir)).toEqual({ 'a.yaml': 'a' });
      expect(bucket.bodiesClosed).toBe(bucket.bodiesOpened);
      const leftovers = (await readdir(cacheDir)).filter((name) => name.startsWith('staging-'));
      expect(leftovers).toEqual([]);
      // Builds now stage inside the artifact store.
      const staged = (await readdir(join(cacheDir, 'artifacts'))).filter((name) =>
        name.startsWith('.staging-'),
      );
      expect(staged).toEqual([]);
    });
  });

  it('describes itself without credentials and matches notifications for its bucket', () => {
    const s = new S3Source({
      endpoint: 'https://user:pw@minio.example:9000/',
      bucket: 'configs',
      prefix: 'prod',
      credentials: { accessKeyId: 'AKIA', secretAccessKey: 'very-secret' },
      cacheDir,
    });
    expect(s.description).toBe('s3 https://minio.example:9000/configs/prod/');
    expect(s.matches({ bucket: 'configs' })).toBe(true);
    expect(s.matches({ bucket: 'other' })).toBe(false);
    expect(s.matches({ bucket: 'configs', url: 'https://minio.example:9000' })).toBe(true);
    expect(s.matches({ bucket: 'configs', url: 'https://elsewhere:9000' })).toBe(false);
    s.destroy();
  });

  it('stops at an abort, closing every body and leaving no partial artifact', async () => {
    for (let i = 0; i < 20; i++) bucket.put(`f${i}.yaml`, `n: ${i}\n`);
    const controller = new AbortController();
    bucket.beforeGet = (key) => {
      if (key === 'f5.yaml') controller.abort(new Error('stop now'));
    };
    await expect(source({ concurrency: 4 }).fetch({ signal: controller.signal })).rejects.toThrow('stop now');
    expect(bucket.bodiesClosed).toBe(bucket.bodiesOpened);
    expect((await readdir(cacheDir)).filter((name) => name.startsWith('staging-'))).toEqual([]);
    expect(await readdir(join(cacheDir, 'artifacts'))).toEqual([]);
  });

  describe('changeMarker', () => {
    it('ends a poll with one conditional HEAD while the marker is unchanged', async () => {
      bucket.put('a.yaml', 'a1');
      bucket.put('published', 'run 1');
      const s = source({ changeMarker: 'published' });
      const first = await s.fetch({ signal });
      expect(await filesOf(first.dir)).toEqual({ 'a.yaml': 'a1' }); // the marker is not content
      expect(bucket.calls).toEqual({ list: 1, listVersions: 0, get: 1, head: 1 });

      const again = await source({ changeMarker: 'published' }).fetch({ signal }); // a restart, too
      expect(again).toEqual(first);
      expect(bucket.calls).toEqual({ list: 1, listVersions: 0, get: 1, head: 2 });

      bucket.put('a.yaml', 'a2');
      bucket.put('published', 'run 2');
      const next = await s.fetch({ signal });
      expect(await filesOf(next.dir)).toEqual({ 'a.yaml': 'a2' });
      expect(bucket.calls.list).toBe(2);
      expect(next.revision).toBe(await expectedRevision(bucket, '', (key) => key === 'published'));
    });

    it('keeps the marker it saw when the artifact of an unchanged marker was gone from disk', async () => {
      bucket.put('a.yaml', 'a1');
      bucket.put('published', 'run 1');
      const s = source({ changeMarker: 'published' });
      const first = await s.fetch({ signal });
      await rm(first.dir, { recursive: true, force: true });
      const rebuilt = await s.fetch({ signal }); // marker unchanged, artifact missing: list and build
      expect(await filesOf(rebuilt.dir)).toEqual({ 'a.yaml': 'a1' });
      expect(bucket.calls.list).toBe(2);
      await s.fetch({ signal }); // the marker is still known: one HEAD, no listing
      expect(bucket.calls).toEqual({ list: 2, listVersions: 0, get: 2, head: 3 });
    });

    it('does not see changes made without touching the marker (the documented contract)', async () => {
      bucket.put('a.yaml', 'a1');
      bucket.put('published', 'run 1');
      const s = source({ changeMarker: 'published' });
      const first = await s.fetch({ signal });
      bucket.put('a.yaml', 'sneaky');
      expect((await s.fetch({ signal })).revision).toBe(first.revision);
    });

    it('lists every time while the marker is missing, and ignores a marker seen with other settings', async () => {
      bucket.put('a.yaml', 'a1');
      const s = source({ changeMarker: 'published' });
      await s.fetch({ signal });
      await s.fetch({ signal });
      expect(bucket.calls.list).toBe(2);

      bucket.put('published', 'run 1');
      bucket.put('b.md', 'docs');
      await s.fetch({ signal });
      const other = await source({ changeMarker: 'published', ignore: '*.md' }).fetch({ signal });
      expect(await filesOf(other.dir)).toEqual({ 'a.yaml': 'a1' });
      expect(bucket.calls.list).toBe(4);
    });
  });

  describe('versionsAt', () => {
    it('builds the artifact from the versions current at the time', async () => {
      bucket.put('a.yaml', 'a1');
      bucket.put('b.yaml', 'b1');
      const s = source();
      const past = await s.fetch({ signal });
      const then = bucket.now();
      bucket.put('a.yaml', 'a2');
      bucket.delete('b.yaml');
      bucket.put('c.yaml', 'c1');
      const now = await s.fetch({ signal });
      expect(await filesOf(now.dir)).toEqual({ 'a.yaml': 'a2', 'c.yaml': 'c1' });

      s.setVersionsAt(then);
      bucket.gets.length = 0;
      const back = await s.fetch({ signal });
      expect(back.revision).toBe(past.revision);
      expect(back.dir).toBe(past.dir);
      expect(bucket.gets).toEqual([]); // still in the cache
      expect(back.meta.message).toContain(`as of ${then.toISOString()}`);
    });

    it('downloads past versions by version id when they are not cached', async () => {
      bucket.put('a.yaml', 'a1', { author: 'first' });
      const then = bucket.now();
      bucket.put('a.yaml', 'a2');
      const artifact = await source({ versionsAt: then }).fetch({ signal });
      expect(await filesOf(artifact.dir)).toEqual({ 'a.yaml': 'a1' });
      expect(artifact.meta.author).toBe('first');
      expect(bucket.calls.listVersions).toBeGreaterThan(0);
      expect(bucket.calls.list).toBe(0);
    });
  });
});
