import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  ArtifactStore,
  GitOpsError,
  linkAll,
  RedactedCause,
  Redactor,
  redactCause,
  removeChanged,
  resolveArtifactLimits,
} from '@gitops-kit/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { digestOfHashes } from '../src/source/walk.js';

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'artifact-store-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

async function tree(dir: string, prefix = ''): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const entry of await readdir(join(dir, prefix), { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory()) Object.assign(out, await tree(dir, rel));
    else out[rel] = await readFile(join(dir, rel), 'utf8');
  }
  return out;
}

const files = (map: Record<string, string>) =>
  Object.entries(map).map(([path, content]) => ({ path, content }));

describe('ArtifactStore.write', () => {
  it('writes an immutable artifact with a content digest and the revision asked for', async () => {
    const store = new ArtifactStore({ root });
    const record = await store.write(files({ 'a.yaml': 'a', 'dir/b.yaml': 'b' }), { revision: 'v1' });
    const sha = (text: string) => createHash('sha256').update(text).digest('hex');
    expect(record.digest).toBe(
      digestOfHashes([
        ['a.yaml', sha('a')],
        ['dir/b.yaml', sha('b')],
      ]),
    );
    expect(record.revision).toBe('v1');
    expect(await tree(store.dirOf(record.name))).toEqual({ 'a.yaml': 'a', 'dir/b.yaml': 'b' });
    expect(((await stat(join(store.dirOf(record.name), 'a.yaml'))).mode & 0o777).toString(8)).toBe('444');
    // Equal content is the same artifact.
    const again = await store.write(files({ 'dir/b.yaml': 'b', 'a.yaml': 'a' }), { revision: 'v1' });
    expect(again.name).toBe(record.name);
    expect((await readdir(root)).filter((n) => n.startsWith('.staging-'))).toEqual([]);
  });

  it('reuses unchanged files of the base artifact by hard link and leaves the base untouched', async () => {
    const store = new ArtifactStore({ root });
    const first = await store.write(
      files({ 'keep.yaml': 'same', 'change.yaml': 'before', 'gone.yaml': 'x' }),
    );
    const second = await store.write(
      files({ 'keep.yaml': 'same', 'change.yaml': 'after', 'moved/keep.yaml': 'same' }),
    );
    const ino = async (name: string, path: string) => (await stat(join(store.dirOf(name), path))).ino;
    expect(await ino(second.name, 'keep.yaml')).toBe(await ino(first.name, 'keep.yaml'));
    // Content-addressed: the same bytes under another path are linked too.
    expect(await ino(second.name, 'moved/keep.yaml')).toBe(await ino(first.name, 'keep.yaml'));
    expect(await ino(second.name, 'change.yaml')).not.toBe(await ino(first.name, 'change.yaml'));
    expect(await tree(store.dirOf(first.name))).toEqual({
      'keep.yaml': 'same',
      'change.yaml': 'before',
      'gone.yaml': 'x',
    });
    expect(await tree(store.dirOf(second.name))).toEqual({
      'keep.yaml': 'same',
      'change.yaml': 'after',
      'moved/keep.yaml': 'same',
    });
  });

  it('refuses paths that would leave the artifact, and leaves no staging behind', async () => {
    const store = new ArtifactStore({ root });
    for (const path of ['../x', '/etc/passwd', 'a/../../x', 'a//b', '']) {
      await expect(store.write(files({ [path]: 'x' }))).rejects.toMatchObject({ code: 'SOURCE_UNSAFE_PATH' });
    }
    expect(await readdir(root)).toEqual([]);
  });
});

describe('ArtifactStore publish and crashes', () => {
  it('never shows a half artifact: a failed build leaves nothing under a name', async () => {
    const store = new ArtifactStore({ root });
    async function* failing() {
      yield { path: 'a.yaml', content: 'a' };
      throw new Error('disk on fire');
    }
    await expect(store.write(failing())).rejects.toThrow('disk on fire');
    expect(await readdir(root)).toEqual([]);
  });

  it('removes every staging folder with staleStagingMs 0, even one whose time reads ahead of the clock', async () => {
    const store = new ArtifactStore({ root });
    const staging = await store.stage();
    // A file time has sub-millisecond digits: within the same millisecond it reads later than
    // Date.now(). A second ahead makes that case certain.
    const ahead = new Date(Date.now() + 1000);
    await utimes(staging, ahead, ahead);
    await store.collectGarbage({ keep: 1, staleStagingMs: 0 });
    expect(await readdir(root)).toEqual([]);
  });

  it('reads a record whose folder never arrived (a crash between the two) as absent, and collects it', async () => {
    const store = new ArtifactStore({ root });
    // The rename of a staging folder that is not there fails after the record is written:
    // exactly the state a crash between the two steps leaves.
    await expect(
      store.publish(join(root, '.staging-vanished'), { name: 'one', revision: 'r', digest: 'sha256:1' }),
    ).rejects.toThrow();
    expect(await readdir(root)).toEqual(['one.json']);
    expect(await store.get('one')).toBeUndefined();
    expect(await store.list()).toEqual([]);
    expect(await store.collectGarbage({ keep: 2 })).toEqual(['one']);
    expect(await readdir(root)).toEqual([]);
  });

  it('removes staging left by a crashed build once it is stale, never a fresh one', async () => {
    const store = new ArtifactStore({ root, staleStagingMs: 60_000 });
    const staging = await store.stage();
    await writeFile(join(staging, 'half.yaml'), 'half');
    await store.collectGarbage({ keep: 1 });
    expect(await readdir(root)).toHaveLength(1);
    await store.collectGarbage({ keep: 1, staleStagingMs: 0 });
    expect(await readdir(root)).toEqual([]);
  });

  it('replaces a leftover folder of the same name instead of trusting it', async () => {
    const store = new ArtifactStore({ root });
    await mkdir(join(root, 'name'), { recursive: true });
    await writeFile(join(root, 'name', 'stale.yaml'), 'stale');
    const staging = await store.stage();
    await writeFile(join(staging, 'fresh.yaml'), 'fresh');
    await store.publish(staging, { name: 'name', revision: 'r', digest: 'sha256:2' });
    expect(await tree(join(root, 'name'))).toEqual({ 'fresh.yaml': 'fresh' });
  });

  it('leaves only whole artifacts when the publishing process is killed at random points', async () => {
    const script = fileURLToPath(new URL('./support/publish-forever.ts', import.meta.url));
    let published = 0;
    // Killed a few milliseconds (fixed, varied) after its n-th publication: mid-write, mid-record,
    // mid-rename or mid-collection, wherever it happens to be.
    for (const delay of [0, 3, 7, 12, 20]) {
      const child = spawn(process.execPath, ['--import', 'tsx', script, root], {
        stdio: ['ignore', 'pipe', 'ignore'],
      });
      await new Promise<void>((resolve) => {
        child.stdout.on('data', (chunk: Buffer) => {
          published += chunk.toString().split('\n').filter(Boolean).length;
          resolve();
        });
        child.on('exit', () => resolve());
      });
      await new Promise((resolve) => setTimeout(resolve, delay));
      child.kill('SIGKILL');
      await new Promise((resolve) => child.on('exit', resolve));
    }
    expect(published).toBeGreaterThanOrEqual(5);
    const store = new ArtifactStore({ root });
    const records = await store.list();
    for (const record of records) {
      // Every listed artifact holds exactly its recorded files, with the bytes its digest names.
      const content = await tree(store.dirOf(record.name));
      const sha = (text: string) => createHash('sha256').update(text).digest('hex');
      expect(Object.keys(content).sort()).toEqual((record.files ?? []).map(([path]) => path).sort());
      expect(digestOfHashes(Object.entries(content).map(([path, text]) => [path, sha(text)] as const))).toBe(
        record.digest,
      );
    }
    await store.collectGarbage({ keep: 1000, staleStagingMs: 0 });
    const left = await readdir(root);
    // Nothing but whole artifacts and their records stays.
    expect(left.filter((n) => n.startsWith('.'))).toEqual([]);
    expect(left.filter((n) => !n.endsWith('.json')).sort()).toEqual(records.map((r) => r.name).sort());
  }, 30_000);
});

describe('ArtifactStore keep-N and garbage collection', () => {
  async function publishSeries(store: ArtifactStore, count: number): Promise<string[]> {
    const names: string[] = [];
    for (let i = 0; i < count; i++) {
      names.push((await store.write(files({ 'n.yaml': `n: ${i}` }), { name: `a${i}` })).name);
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    return names;
  }

  it('keeps `keep` artifacts, the current one included, plus the protected ones', async () => {
    const store = new ArtifactStore({ root });
    const [a0, a1, a2, a3] = await publishSeries(store, 4);
    expect(await store.collectGarbage({ keep: 2, current: a3, protect: [a0] })).toEqual([a1]);
    expect((await store.list()).map((r) => r.name)).toEqual([a3, a2, a0]);
    expect(await store.collectGarbage({ keep: 1, current: a3 })).toEqual([a0, a2]);
    expect((await store.list()).map((r) => r.name)).toEqual([a3]);
  });

  it('counts a reused (touched) artifact as the newest', async () => {
    const store = new ArtifactStore({ root });
    const [a0, , a2] = await publishSeries(store, 3);
    await store.touch(a0 as string);
    await store.collectGarbage({ keep: 2, current: a2 });
    expect((await store.list()).map((r) => r.name)).toEqual([a0, a2]);
  });

  it('never removes what it does not own, nor counts keep below one', async () => {
    const store = new ArtifactStore({ root });
    await mkdir(join(root, 'foreign'));
    await mkdir(join(root, '.next-spare'));
    const [m0, m1] = await publishSeries(store, 2);
    await store.collectGarbage({ keep: 0, owns: (name) => name.startsWith('a') });
    expect((await readdir(root)).sort()).toEqual(['.next-spare', 'a1', 'a1.json', 'foreign']);
    expect(m1).toBe('a1');
    expect(m0).toBe('a0');
  });

  it('keeps records apart when asked, so the artifact folder holds nothing else', async () => {
    const records = join(root, 'records');
    const store = new ArtifactStore({ root: join(root, 'artifacts'), recordsDir: records });
    const record = await store.write(files({ 'a.yaml': 'a' }));
    expect(await readdir(join(root, 'artifacts'))).toEqual([record.name]);
    expect(await readdir(records)).toEqual([`${record.name}.json`]);
  });
});

describe('linkAll and removeChanged', () => {
  it('turn a linked copy of the previous artifact into the next one minus the files to write', async () => {
    const store = new ArtifactStore({ root });
    const previous = await store.write(
      files({ 'keep.yaml': 'k', 'change.yaml': 'c1', 'old/only.yaml': 'o', 'link.yaml': 'l' }),
    );
    const staging = await store.stage();
    expect(await linkAll(store.dirOf(previous.name), previous.files ?? [], staging)).toBe(true);
    const key = (path: string) => (previous.files ?? []).find(([p]) => p === path)?.[1] as string;
    const toWrite = await removeChanged(
      staging,
      previous.files ?? [],
      [
        ['keep.yaml', key('keep.yaml')],
        ['change.yaml', 'other'],
        ['link.yaml', key('link.yaml')],
        ['new.yaml', 'new'],
      ],
      ([path]) => path !== 'link.yaml',
    );
    expect([...toWrite].sort()).toEqual(['change.yaml', 'link.yaml', 'new.yaml']);
    expect(await tree(staging)).toEqual({ 'keep.yaml': 'k' });
  });
});

describe('ArtifactStore spare copies', () => {
  it('prepares a linked copy of an artifact in the background, hands it over as staging, and collects stale ones', async () => {
    const store = new ArtifactStore({ root });
    const first = await store.write(files({ 'a.yaml': 'a', 'b/c.yaml': 'c' }), { name: 'first' });
    store.prepareSpare(first.name, first.files ?? [], { delayMs: 60_000 });
    expect(store.hasPendingSpare()).toBe(true);
    // `settled` starts the copy at once instead of waiting for the delay.
    await store.settled();
    expect(await readdir(root)).toContain('.next-first');
    const staging = await store.stage();
    expect(await store.takeSpare(first.name, staging)).toBe(true);
    expect(store.hasPendingSpare()).toBe(false);
    expect(await tree(staging)).toEqual({ 'a.yaml': 'a', 'b/c.yaml': 'c' });
    expect((await stat(join(staging, 'a.yaml'))).ino).toBe(
      (await stat(join(store.dirOf('first'), 'a.yaml'))).ino,
    );
    expect(await store.takeSpare(first.name, await store.stage())).toBe(false);

    store.prepareSpare(first.name, first.files ?? [], { delayMs: 0 });
    await store.settled();
    await store.write(files({ 'a.yaml': 'a2' }), { name: 'second' });
    await store.collectGarbage({ keep: 2, current: 'second' });
    expect((await readdir(root)).filter((n) => n.startsWith('.next-'))).toEqual([]);
  });
});

describe('Redactor (the one rule of every source)', () => {
  it('redacts every non-empty secret, however short', () => {
    const redactor = new Redactor(['ab', 'xyz', 'q', '', undefined, 'long-secret']);
    expect(redactor.redact('ab xyz q long-secret')).toBe('*** *** *** ***');
    expect(redactor.redact('https://user:pw@host/x')).toBe('https://host/x');
  });

  it('redacts the longest secret first and URL-encoded forms', () => {
    const redactor = new Redactor(['pass', 'p@ss word']);
    expect(redactor.redact('p@ss word / p%40ss%20word / pass')).toBe('*** / *** / ***');
  });

  it('redacts credentials it could not know in advance: tokens and request signatures', () => {
    const redactor = new Redactor([]);
    expect(
      redactor.redact(
        'Authorization: AWS4-HMAC-SHA256 Credential=AKIA123/20260101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=0123abcd',
      ),
    ).toBe('Authorization: AWS4-HMAC-SHA256 Credential=***, SignedHeaders=host, Signature=***');
    expect(redactor.redact('Bearer abc.def-ghi and Basic dXNlcjpwdw==')).toBe('Bearer *** and Basic ***');
    expect(redactor.redact('?X-Amz-Signature=feed&X-Amz-Credential=AKIA%2F1')).toBe(
      '?X-Amz-Signature=***&X-Amz-Credential=***',
    );
  });

  it('keeps of a client error only code, status and the redacted message, down the cause chain', () => {
    const inner = Object.assign(new Error('socket said secret-1'), {
      code: 'ECONNRESET',
      socket: { secret: 1 },
    });
    const outer = Object.assign(new Error('request with secret-1 failed', { cause: inner }), {
      name: 'AccessDenied',
      $metadata: { httpStatusCode: 403 },
      $response: { body: { req: { _header: 'authorization: secret-1' } } },
    });
    const copy = redactCause(outer, new Redactor(['secret-1']));
    expect(copy).toBeInstanceOf(RedactedCause);
    expect(copy).toBeInstanceOf(GitOpsError);
    expect(copy).toMatchObject({ code: 'AccessDenied', status: 403, message: 'request with *** failed' });
    expect(Object.keys(copy)).not.toContain('$response');
    expect(copy.cause).toMatchObject({ code: 'ECONNRESET', message: 'socket said ***' });
    expect(Object.keys(copy.cause as object)).not.toContain('socket');
  });
});

describe('resolveArtifactLimits', () => {
  const defaults = { maxFiles: 10, maxFileBytes: 100, maxTotalBytes: 1000 };

  it('fills defaults and accepts the deprecated S3 spellings, naming the option as given', () => {
    expect(resolveArtifactLimits(undefined, defaults)).toEqual({
      limits: defaults,
      names: { maxFiles: 'maxFiles', maxFileBytes: 'maxFileBytes', maxTotalBytes: 'maxTotalBytes' },
    });
    expect(resolveArtifactLimits({ maxObjects: 3, maxObjectSize: 4 }, defaults)).toEqual({
      limits: { maxFiles: 3, maxFileBytes: 4, maxTotalBytes: 1000 },
      names: { maxFiles: 'maxObjects', maxFileBytes: 'maxObjectSize', maxTotalBytes: 'maxTotalBytes' },
    });
    expect(resolveArtifactLimits({ maxFiles: 5, maxObjects: 3 }, defaults).limits.maxFiles).toBe(5);
  });

  it('refuses a negative or non-numeric limit, naming it', () => {
    expect(() => resolveArtifactLimits({ maxFiles: -1 }, defaults)).toThrow(/limits\.maxFiles/);
    expect(() => resolveArtifactLimits({ maxTotalBytes: Number.NaN }, defaults)).toThrow(
      /limits\.maxTotalBytes/,
    );
  });
});
