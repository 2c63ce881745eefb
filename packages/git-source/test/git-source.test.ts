import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { SourceError } from '@gitops-kit/core';
import {
  type FetchRequest,
  type GitEngine,
  GitErrorCodes,
  GitSource,
  type RemoteContext,
  type RemoteRef,
  type TreeFile,
} from '@gitops-kit/git-source';
import { afterAll, describe, expect, it } from 'vitest';
import { removeTempDirs, tempDir } from './support/helpers.js';

afterAll(removeTempDirs);

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);

/** An engine over an in-memory repository, counting calls, for logic without a server. */
class MemoryEngine implements GitEngine {
  readonly name = 'isomorphic-git' as const;
  refs: RemoteRef[] = [];
  readonly objects = new Map<string, { type: string; content: Uint8Array }>();
  readonly trees = new Map<string, TreeFile[]>();
  readonly blobs = new Map<string, string>();
  local = new Set<string>();
  calls: string[] = [];
  failWith: Error | undefined;

  async listRemoteRefs(_context: RemoteContext, prefix: string | undefined): Promise<RemoteRef[]> {
    this.calls.push(`ls ${prefix}`);
    if (this.failWith) throw this.failWith;
    return this.refs.filter((r) => !prefix || r.name.startsWith(prefix));
  }
  async ensureRepo(): Promise<void> {}
  async hasObject(_gitdir: string, oid: string): Promise<boolean> {
    return this.local.has(oid);
  }
  async fetch(_context: RemoteContext, _gitdir: string, request: FetchRequest): Promise<void> {
    this.calls.push(`fetch ${request.refName} ${request.depth}`);
    for (const oid of this.objects.keys()) this.local.add(oid);
  }
  async readObject(_gitdir: string, oid: string): Promise<{ type: string; content: Uint8Array }> {
    const object = this.objects.get(oid);
    if (!object) throw new Error(`missing ${oid}`);
    return object;
  }
  async subtree(): Promise<string | undefined> {
    return undefined;
  }
  async listFiles(_gitdir: string, treeOid: string): Promise<TreeFile[]> {
    return this.trees.get(treeOid) ?? [];
  }
  async readBlob(_gitdir: string, oid: string): Promise<Uint8Array> {
    return new TextEncoder().encode(this.blobs.get(oid) ?? '');
  }
  async writeFiles(_gitdir: string, files: readonly TreeFile[], destDir: string): Promise<void> {
    this.calls.push(`write ${files.length}`);
    for (const file of files) {
      await mkdir(dirname(join(destDir, file.path)), { recursive: true });
      await writeFile(join(destDir, file.path), this.blobs.get(file.oid) ?? '');
    }
  }

  /** Adds a commit whose tree holds the given files, and points `main` at it. */
  commit(oid: string, files: Record<string, string>): void {
    const tree = `t${oid.slice(1)}`;
    this.trees.set(
      tree,
      Object.entries(files).map(([path, content]) => {
        const blob = `blob-${content}`;
        this.blobs.set(blob, content);
        return { path, mode: '100644', oid: blob };
      }),
    );
    const text = `tree ${tree}\nauthor Ann <ann@example.com> 1700000000 +0000\ncommitter Ann <ann@example.com> 1700000000 +0000\n\nmsg ${oid.slice(0, 4)}\n`;
    this.objects.set(oid, { type: 'commit', content: new TextEncoder().encode(text) });
    this.refs = [{ name: 'refs/heads/main', oid }];
  }
}

describe('GitSource logic (in-memory engine)', () => {
  const signal = (): AbortSignal => new AbortController().signal;
  const make = async (engine: MemoryEngine, token = 'tok-secret-123'): Promise<GitSource> =>
    new GitSource({
      url: 'https://git.example.com/o/r.git',
      cacheDir: await tempDir('unit'),
      engine,
      auth: { bearerToken: token },
    });

  it('fetches once, then polls without fetching or writing while the ref stays', async () => {
    const engine = new MemoryEngine();
    engine.commit(A, { 'a.yaml': 'one', 'b.yaml': 'two' });
    const source = await make(engine);
    const first = await source.fetch({ signal: signal() });
    expect(first.revision).toBe(`main@sha1:${A}`);
    expect(await readFile(join(first.dir, 'a.yaml'), 'utf8')).toBe('one');
    expect(engine.calls).toEqual(['ls refs/heads/main', 'fetch refs/heads/main 1', 'write 2']);

    engine.calls = [];
    expect(await source.fetch({ signal: signal(), previous: first })).toBe(first);
    expect(engine.calls).toEqual(['ls refs/heads/main']);

    engine.commit(B, { 'a.yaml': 'one', 'b.yaml': 'changed' });
    engine.calls = [];
    const second = await source.fetch({ signal: signal(), previous: first });
    expect(second.revision).toBe(`main@sha1:${B}`);
    // Only the changed file is written; the other is linked from the previous artifact.
    expect(engine.calls).toEqual(['ls refs/heads/main', 'fetch refs/heads/main 1', 'write 1']);
    expect(await readFile(join(second.dir, 'a.yaml'), 'utf8')).toBe('one');
    expect(await readFile(join(second.dir, 'b.yaml'), 'utf8')).toBe('changed');
  });

  it('matches webhook changes by normalised URL and ref', async () => {
    const source = await make(new MemoryEngine());
    expect(source.matches({ url: 'https://git.example.com/o/r', ref: 'refs/heads/main' })).toBe(true);
    expect(source.matches({ url: 'git@git.example.com:o/r.git', ref: 'main' })).toBe(true);
    expect(source.matches({ url: 'https://git.example.com/o/r.git', ref: 'refs/heads/dev' })).toBe(false);
    expect(source.matches({ url: 'https://git.example.com/o/other.git' })).toBe(false);
    expect(source.matches({ bucket: 'b' })).toBe(false);
  });

  it('redacts credentials an engine echoes, and reports a missing ref', async () => {
    const engine = new MemoryEngine();
    const token = 'tok-secret-123';
    engine.failWith = new Error(
      `request with Authorization: Bearer ${token} to https://me:pw@git.example.com failed`,
    );
    const source = await make(engine, token);
    const error = await source.fetch({ signal: signal() }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SourceError);
    expect((error as SourceError).code).toBe(GitErrorCodes.FetchFailed);
    expect(`${(error as Error).message} ${String((error as Error).cause)}`).not.toMatch(/tok-secret-123|pw@/);

    engine.failWith = undefined;
    const missing = await source.fetch({ signal: signal() }).catch((e: unknown) => e);
    expect((missing as SourceError).code).toBe(GitErrorCodes.RefNotFound);
  });

  it('stops with a typed error when aborted, and validates options', async () => {
    const engine = new MemoryEngine();
    engine.commit(A, { 'a.yaml': 'one' });
    const source = await make(engine);
    const controller = new AbortController();
    controller.abort(new Error('shutting down'));
    await expect(source.fetch({ signal: controller.signal })).rejects.toMatchObject({
      code: GitErrorCodes.Aborted,
    });
    expect(
      () => new GitSource({ url: 'https://h/r.git', cacheDir: '/tmp/x', ref: { semver: 'not a range' } }),
    ).toThrow(/semver/);
    expect(
      () => new GitSource({ url: 'https://h/r.git', cacheDir: '/tmp/x', ref: { commit: 'abc' } }),
    ).toThrow(/40-character/);
    expect(
      () =>
        new GitSource({
          url: 'https://h/r.git',
          cacheDir: '/tmp/x',
          verify: { mode: 'head', publicKeys: [] },
        }),
    ).toThrow(/public key/);
    expect(() => new GitSource({ url: 'ftp://h/r.git', cacheDir: '/tmp/x' })).toThrow(/https/);
  });
});
