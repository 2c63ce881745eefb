import {
  access,
  chmod,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  rm,
  stat,
  symlink,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createIgnoreMatcher, DirectorySource, ErrorCodes, RawRenderer, SourceError } from '@gitops-kit/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { digestDirectory, walkFiles } from '../src/source/walk.js';

const signal = new AbortController().signal;
const cm = (name: string): string => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n`;

async function write(root: string, rel: string, text: string): Promise<void> {
  const path = join(root, rel);
  await mkdir(join(path, '..'), { recursive: true });
  await writeFile(path, text);
}

async function listTree(dir: string): Promise<string[]> {
  return (await walkFiles(dir)).map((f) => f.path);
}

describe('DirectorySource', () => {
  let work: string;
  let folder: string;
  let artifacts: string;
  const sources: DirectorySource[] = [];
  const source = (
    options: Partial<ConstructorParameters<typeof DirectorySource>[0]> = {},
  ): DirectorySource => {
    const s = new DirectorySource({ path: folder, artifactsDir: artifacts, ...options });
    sources.push(s);
    return s;
  };

  beforeEach(async () => {
    work = await mkdtemp(join(tmpdir(), 'dir-source-'));
    folder = join(work, 'repo');
    artifacts = join(work, 'artifacts');
    await write(folder, 'apps/a.yaml', cm('a'));
    await write(folder, 'apps/b.yml', cm('b'));
    await write(folder, 'README.md', '# hello\n');
    await write(folder, '.git/HEAD', 'ref: refs/heads/main\n');
    await write(folder, '.github/workflows/ci.yaml', 'on: push\n');
    await write(folder, 'logo.png', 'not really a png');
    await write(folder, 'apps/drafts/wip.yaml', cm('wip'));
    await write(folder, 'apps/.sourceignore', 'drafts/\n');
  });
  afterEach(async () => {
    for (const s of sources.splice(0)) await s.dispose();
    await rm(work, { recursive: true, force: true });
  });

  it('snapshots the folder honouring default, .sourceignore and extra ignore rules', async () => {
    const artifact = await source({ ignore: { patterns: ['*.md'] } }).fetch({ signal });
    expect(await listTree(artifact.dir)).toEqual(['apps/.sourceignore', 'apps/a.yaml', 'apps/b.yml']);
    expect(artifact.revision).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(artifact.digest).toBe(artifact.revision);
    expect(artifact.meta.origin).toBe(folder);
    expect(artifact.meta.time).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(artifact.dir.startsWith(artifacts)).toBe(true);
    expect(await readFile(join(artifact.dir, 'apps/a.yaml'), 'utf8')).toBe(cm('a'));
    // The digest describes the snapshot's own content.
    expect((await digestDirectory(artifact.dir)).digest).toBe(artifact.digest);
  });

  it('writes read-only files, keeping the executable bit', async () => {
    await write(folder, 'scripts/run.sh', '#!/bin/sh\n');
    await chmod(join(folder, 'scripts/run.sh'), 0o755);
    const artifact = await source().fetch({ signal });
    expect((await stat(join(artifact.dir, 'apps/a.yaml'))).mode & 0o222).toBe(0);
    expect((await stat(join(artifact.dir, 'apps/a.yaml'))).mode & 0o111).toBe(0);
    expect((await stat(join(artifact.dir, 'scripts/run.sh'))).mode & 0o777).toBe(0o555);
  });

  it('serves a revision only while the folder holds it: it keeps no history', async () => {
    const s = source();
    const first = await s.fetch({ signal });
    expect((await s.fetchRevision(first.revision, { signal })).revision).toBe(first.revision);
    await write(folder, 'apps/a.yaml', cm('a2'));
    const error = await s.fetchRevision(first.revision, { signal }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SourceError);
    expect((error as SourceError).code).toBe(ErrorCodes.SourceRevisionUnavailable);
    expect((error as SourceError).message).toContain('keeps no history');
  });

  it('returns the previous artifact when nothing changed, and a new one when something did', async () => {
    const s = source();
    const first = await s.fetch({ signal });
    expect(await s.fetch({ signal, previous: first })).toBe(first);
    // Ignored files do not count as changes.
    await write(folder, 'apps/drafts/wip.yaml', cm('still-wip'));
    await write(folder, 'diagram.png', 'x');
    expect(await s.fetch({ signal, previous: first })).toBe(first);

    await write(folder, 'apps/a.yaml', cm('a2'));
    const second = await s.fetch({ signal, previous: first });
    expect(second.revision).not.toBe(first.revision);
    expect(second.dir).not.toBe(first.dir);
    expect(await readFile(join(first.dir, 'apps/a.yaml'), 'utf8')).toBe(cm('a'));

    // A third revision removes the first snapshot (neither current nor previous).
    await write(folder, 'apps/c.yaml', cm('c'));
    const third = await s.fetch({ signal, previous: second });
    await expect(access(first.dir)).rejects.toThrow();
    await access(second.dir);
    expect((await readdir(artifacts)).sort()).toEqual(
      [second.dir, third.dir].map((d) => d.slice(artifacts.length + 1)).sort(),
    );
  });

  it('links unchanged files from the previous snapshot and keeps keepArtifacts snapshots, the current one included', async () => {
    const s = source({ keepArtifacts: 1 });
    const first = await s.fetch({ signal });
    await write(folder, 'apps/c.yaml', cm('c'));
    // No `previous`: only the current snapshot stays.
    const second = await s.fetch({ signal });
    await expect(access(first.dir)).rejects.toThrow();
    await write(folder, 'apps/d.yaml', cm('d'));
    const third = await s.fetch({ signal, previous: second });
    const ino = async (dir: string) => (await stat(join(dir, 'apps/a.yaml'))).ino;
    expect(await ino(third.dir)).toBe(await ino(second.dir));
    // The previous artifact is kept besides the count: someone may still read it.
    await access(second.dir);
    expect((await readdir(artifacts)).sort()).toEqual(
      [second.dir, third.dir].map((d) => d.slice(artifacts.length + 1)).sort(),
    );
  });

  it('takes the limits type every source takes', async () => {
    const error = await source({ limits: { maxFileBytes: 5 } })
      .fetch({ signal })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: ErrorCodes.SourceLimitExceeded });
    expect((error as Error).message).toMatch(/over the limit of 5/);
    expect(
      await source({ limits: { maxFiles: 1 } })
        .fetch({ signal })
        .catch((e: unknown) => e),
    ).toMatchObject({ code: ErrorCodes.SourceLimitExceeded });
  });

  it('changes revision on renames and deletes, and gives equal content the same revision', async () => {
    const s = source();
    const first = await s.fetch({ signal });
    await rm(join(folder, 'apps/b.yml'));
    await write(folder, 'apps/b2.yml', cm('b'));
    const renamed = await s.fetch({ signal, previous: first });
    expect(renamed.revision).not.toBe(first.revision);

    const copy = join(work, 'copy');
    await write(copy, 'apps/a.yaml', cm('a'));
    await write(copy, 'apps/b2.yml', cm('b'));
    await write(copy, 'apps/.sourceignore', 'drafts/\n');
    await write(copy, 'README.md', '# hello\n');
    const other = new DirectorySource({ path: copy });
    sources.push(other);
    expect((await other.fetch({ signal })).revision).toBe(renamed.revision);
  });

  it('re-fetches when the previous snapshot is gone', async () => {
    const s = source();
    const first = await s.fetch({ signal });
    await rm(first.dir, { recursive: true, force: true });
    const again = await s.fetch({ signal, previous: first });
    expect(again).not.toBe(first);
    expect(again.revision).toBe(first.revision);
    expect(await listTree(again.dir)).toContain('apps/a.yaml');
  });

  it('can skip .sourceignore files and the defaults', async () => {
    const artifact = await source({ readIgnoreFiles: false, ignore: { defaults: false } }).fetch({ signal });
    const files = await listTree(artifact.dir);
    expect(files).toContain('apps/drafts/wip.yaml');
    expect(files).toContain('.git/HEAD');
    expect(files).toContain('logo.png');
  });

  it('feeds the raw renderer', async () => {
    const artifact = await source().fetch({ signal });
    const manifests = await new RawRenderer().render(artifact, { signal });
    expect(manifests.map((m) => `${m.origin.file} ${m.object.metadata.name}`)).toEqual([
      'apps/a.yaml a',
      'apps/b.yml b',
    ]);
  });

  it('refuses a missing folder, too many files, too many bytes and links out of the folder', async () => {
    const missing = await new DirectorySource({ path: join(work, 'nope') })
      .fetch({ signal })
      .catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(SourceError);
    expect(missing).toMatchObject({ code: ErrorCodes.SourceNotFound });

    expect(
      await source({ maxFiles: 1 })
        .fetch({ signal })
        .catch((e: unknown) => e),
    ).toMatchObject({
      code: ErrorCodes.SourceLimitExceeded,
    });
    expect(
      await source({ maxTotalBytes: 10 })
        .fetch({ signal })
        .catch((e: unknown) => e),
    ).toMatchObject({
      code: ErrorCodes.SourceLimitExceeded,
    });

    const outside = join(work, 'outside.yaml');
    await writeFile(outside, cm('secret'));
    await symlink(outside, join(folder, 'apps', 'leak.yaml'));
    const unsafe = await source()
      .fetch({ signal })
      .catch((e: unknown) => e);
    expect(unsafe).toBeInstanceOf(SourceError);
    expect(unsafe).toMatchObject({ code: ErrorCodes.SourceUnsafePath, location: { file: 'apps/leak.yaml' } });
  });

  it('copies files reached through links inside the folder', async () => {
    await symlink(join(folder, 'apps'), join(folder, 'alias'));
    const artifact = await source().fetch({ signal });
    expect(await listTree(artifact.dir)).toEqual(expect.arrayContaining(['alias/a.yaml', 'apps/a.yaml']));
  });

  it('stops when aborted', async () => {
    const controller = new AbortController();
    controller.abort();
    expect(
      await source()
        .fetch({ signal: controller.signal })
        .catch((e: unknown) => e),
    ).toMatchObject({
      code: ErrorCodes.Aborted,
    });
  });

  it('removes its own snapshot folder on dispose', async () => {
    const s = new DirectorySource({ path: folder });
    const artifact = await s.fetch({ signal });
    await access(artifact.dir);
    await s.dispose();
    await expect(access(artifact.dir)).rejects.toThrow();
  });
});

describe('walkFiles and digestDirectory', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'walk-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads .sourceignore files on the way down and sorts paths', async () => {
    await write(dir, 'b.yaml', 'b');
    await write(dir, 'a/z.yaml', 'z');
    await write(dir, 'a/skip.yaml', 's');
    await write(dir, 'a/.sourceignore', 'skip.yaml\n');
    await write(dir, 'A.yaml', 'A');
    const files = await walkFiles(dir, { matcher: createIgnoreMatcher() });
    expect(files.map((f) => f.path)).toEqual(['A.yaml', 'a/.sourceignore', 'a/z.yaml', 'b.yaml']);
  });

  it('does not loop on a link to a parent folder', async () => {
    await write(dir, 'sub/a.yaml', 'a');
    await symlink(dir, join(dir, 'sub', 'up'));
    expect((await walkFiles(dir)).map((f) => f.path)).toEqual(['sub/a.yaml']);
  });

  it('digests content and paths, not timestamps', async () => {
    await write(dir, 'x.yaml', 'one');
    const a = await digestDirectory(dir);
    await write(dir, 'x.yaml', 'one');
    expect((await digestDirectory(dir)).digest).toBe(a.digest);
    await write(dir, 'x.yaml', 'two');
    expect((await digestDirectory(dir)).digest).not.toBe(a.digest);
    expect(a.files[0]?.sha256).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe('DirectorySource under concurrency', () => {
  it('gives concurrent fetches of one folder the same snapshot', async () => {
    const work = await mkdtemp(join(tmpdir(), 'dir-source-race-'));
    try {
      await write(join(work, 'repo'), 'a.yaml', cm('a'));
      const s = new DirectorySource({ path: join(work, 'repo'), artifactsDir: join(work, 'artifacts') });
      const results = await Promise.all(Array.from({ length: 5 }, () => s.fetch({ signal })));
      expect(new Set(results.map((r) => r.dir)).size).toBe(1);
      expect(await listTree(results[0]!.dir)).toEqual(['a.yaml']);
      expect((await readdir(join(work, 'artifacts'))).filter((n) => n.startsWith('.staging'))).toEqual([]);
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  });
});
