import { existsSync } from 'node:fs';
import { chmod, lstat, readdir, readFile, readlink, rm, symlink } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { type Artifact, SourceError } from '@gitops-kit/core';
import { type EngineName, GitErrorCodes, GitSource, type GitSourceOptions } from '@gitops-kit/git-source';
import { type GitEnv, testenv } from '@gitops-kit/testenv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { annotatedTag, removeTempDirs, signHead, tempDir, testKey, WorkClone } from './support/helpers.js';

let git: GitEnv;
let counter = 0;

beforeAll(async () => {
  git = await testenv.git();
});
afterAll(removeTempDirs);

const signal = (): AbortSignal => new AbortController().signal;

/** A new repository on the server with a work clone to drive it. */
async function repo(): Promise<{ url: string; work: WorkClone }> {
  const { url } = await git.createRepo(`gs-${process.pid}-${++counter}`);
  const work = await WorkClone.create(url, git.username, git.password);
  return { url, work };
}

async function source(url: string, options: Partial<GitSourceOptions> = {}): Promise<GitSource> {
  return new GitSource({
    url,
    cacheDir: await tempDir('cache'),
    auth: { basic: { username: git.username, password: git.password } },
    ...options,
  });
}

async function files(dir: string, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(join(dir, prefix), { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory()) out.push(...(await files(dir, rel)));
    else out.push(rel);
  }
  return out.sort();
}

async function expectSourceError(promise: Promise<unknown>, code: string): Promise<SourceError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(SourceError);
  expect((error as SourceError).code).toBe(code);
  return error as SourceError;
}

describe.each<EngineName>(['isomorphic-git', 'native'])('GitSource (%s engine)', (engine) => {
  it('fetchRevision serves an earlier commit of the branch, also to a new process, and refuses an unknown one', async () => {
    const { url, work } = await repo();
    await work.write('app.yaml', 'v: 1\n');
    const first = await work.commit('one');
    await work.push('main');
    await work.write('app.yaml', 'v: 2\n');
    await work.commit('two');
    await work.push('main');
    const cacheDir = await tempDir('cache');
    const src = await source(url, { engine, cacheDir });
    const head = await src.fetch({ signal: signal() });
    expect(await readFile(join(head.dir, 'app.yaml'), 'utf8')).toBe('v: 2\n');
    // A restarted process: a new source on the same cache asks for the revision it recorded.
    const later = await source(url, { engine, cacheDir });
    const old = await later.fetchRevision(`main@sha1:${first}`, { signal: signal() });
    expect(old.revision).toBe(`main@sha1:${first}`);
    expect(old.meta.message).toBe('one');
    expect(await readFile(join(old.dir, 'app.yaml'), 'utf8')).toBe('v: 1\n');
    expect(await readFile(join(head.dir, 'app.yaml'), 'utf8')).toBe('v: 2\n');
    await expectSourceError(
      later.fetchRevision(`main@sha1:${'0'.repeat(40)}`, { signal: signal() }),
      'SOURCE_REVISION_UNAVAILABLE',
    );
  });

  it('follows a branch: revision, files, metadata, and a cheap poll that rebuilds nothing', async () => {
    const { url, work } = await repo();
    await work.write('apps/web.yaml', 'kind: ConfigMap\n');
    await work.write('README.md', '# hi\n');
    const first = await work.commit('first commit');
    await work.push('main');

    const src = await source(url, { engine });
    const a = await src.fetch({ signal: signal() });
    expect(a.revision).toBe(`main@sha1:${first}`);
    expect(await files(a.dir)).toEqual(['README.md', 'apps/web.yaml']);
    expect(a.meta.author).toBe('Test Author <author@example.com>');
    expect(a.meta.committer).toBe('Test Author <author@example.com>');
    expect(a.meta.message).toBe('first commit');
    expect(a.meta.time).toMatch(/^2023-11-14T/);
    expect(a.meta.origin).toBe(url);
    expect(a.meta.verified).toBeUndefined();

    const again = await src.fetch({ signal: signal(), previous: a });
    expect(again).toBe(a);

    // A new process (new source, same cache) reuses the artifact on disk.
    const restarted = new GitSource({
      url,
      cacheDir: join(a.dir, '..', '..'),
      auth: { bearerToken: git.token },
      engine,
    });
    const reused = await restarted.fetch({ signal: signal() });
    expect(reused.dir).toBe(a.dir);
    expect(reused.digest).toBe(a.digest);

    await work.write('apps/web.yaml', 'kind: ConfigMap\nmetadata: {name: web}\n');
    const second = await work.commit('second commit');
    await work.push('main');
    const b = await src.fetch({ signal: signal(), previous: a });
    expect(b.revision).toBe(`main@sha1:${second}`);
    expect(b.dir).not.toBe(a.dir);
    expect(b.digest).not.toBe(a.digest);
    expect(await readFile(join(b.dir, 'apps/web.yaml'), 'utf8')).toContain('name: web');
    // The previous artifact stays as it was.
    expect(await readFile(join(a.dir, 'apps/web.yaml'), 'utf8')).toBe('kind: ConfigMap\n');
  });

  it('follows a tag, the highest tag in a semver range, and a pinned commit; sub-path', async () => {
    const { url, work } = await repo();
    await work.write('deploy/a.yaml', 'v: 1\n');
    await work.write('other/x.txt', 'x\n');
    const c1 = await work.commit('one');
    await work.git('tag', 'v1.0.0');
    await work.write('deploy/a.yaml', 'v: 2\n');
    const c2 = await work.commit('two');
    const tagObject = await annotatedTag(work, 'v1.2.0', c2);
    await work.write('deploy/a.yaml', 'v: 3\n');
    const c3 = await work.commit('three');
    await work.git('tag', 'v2.0.0');
    await work.push('main', '--tags');
    expect(tagObject).toMatch(/^[0-9a-f]{40}$/);

    const tag = await (await source(url, { engine, ref: { tag: 'v1.0.0' } })).fetch({ signal: signal() });
    expect(tag.revision).toBe(`v1.0.0@sha1:${c1}`);

    const range = await (await source(url, { engine, ref: { semver: '^1.0.0' } })).fetch({
      signal: signal(),
    });
    expect(range.revision).toBe(`v1.2.0@sha1:${c2}`);
    expect(await readFile(join(range.dir, 'deploy/a.yaml'), 'utf8')).toBe('v: 2\n');

    const pinned = await (await source(url, { engine, ref: { commit: c1 } })).fetch({ signal: signal() });
    expect(pinned.revision).toBe(`sha1:${c1}`);
    expect(await readFile(join(pinned.dir, 'deploy/a.yaml'), 'utf8')).toBe('v: 1\n');

    const sub = await (await source(url, { engine, path: 'deploy' })).fetch({ signal: signal() });
    expect(sub.revision).toBe(`main@sha1:${c3}`);
    expect(await files(sub.dir)).toEqual(['a.yaml']);

    await expectSourceError(
      (await source(url, { engine, path: 'nope' })).fetch({ signal: signal() }),
      GitErrorCodes.PathNotFound,
    );
    await expectSourceError(
      (await source(url, { engine, ref: { semver: '>=5' } })).fetch({ signal: signal() }),
      GitErrorCodes.RefNotFound,
    );
    const missing = 'f'.repeat(40);
    await expectSourceError(
      (await source(url, { engine, ref: { commit: missing } })).fetch({ signal: signal() }),
      GitErrorCodes.RefNotFound,
    );
  });

  it('authenticates with basic auth and a bearer token, and never leaks credentials', async () => {
    const { url, work } = await repo();
    await work.write('a.yaml', 'a: 1\n');
    await work.commit('c');
    await work.push('main');

    const bearer = await source(url, { engine, auth: { bearerToken: git.token } });
    await expect(bearer.fetch({ signal: signal() })).resolves.toMatchObject({
      revision: expect.stringMatching(/^main@sha1:/),
    });

    const inUrl = new URL(url);
    inUrl.username = git.username;
    inUrl.password = git.password;
    const fromUrl = await source(inUrl.toString(), { engine, auth: undefined });
    expect(fromUrl.description).not.toContain(git.password);
    await expect(fromUrl.fetch({ signal: signal() })).resolves.toBeDefined();

    const wrongPassword = 'definitely-wrong-password';
    const bad = await source(url, {
      engine,
      auth: { basic: { username: git.username, password: wrongPassword } },
    });
    const error = await expectSourceError(bad.fetch({ signal: signal() }), GitErrorCodes.AuthFailed);
    const text = `${error.message} ${String((error.cause as Error | undefined)?.message)} ${error.stack}`;
    expect(text).not.toContain(wrongPassword);
    expect(text).not.toContain(Buffer.from(`${git.username}:${wrongPassword}`).toString('base64'));

    const badToken = 'bad-token-value-123';
    const none = await source(url, { engine, auth: { bearerToken: badToken } });
    const tokenError = await expectSourceError(none.fetch({ signal: signal() }), GitErrorCodes.AuthFailed);
    expect(`${tokenError.message} ${tokenError.stack}`).not.toContain(badToken);
  });

  it('handles a force-push, a moved tag and a deleted branch (last artifact kept)', async () => {
    const { url, work } = await repo();
    await work.write('a.yaml', 'a: 1\n');
    await work.commit('one');
    await work.write('a.yaml', 'a: 2\n');
    await work.commit('two');
    await work.git('tag', 'v1.0.0');
    await work.git('branch', 'feature');
    await work.push('main', 'feature', '--tags');

    const src = await source(url, { engine });
    const before = await src.fetch({ signal: signal() });

    // Rewrite history: drop the last commit and make a different one.
    await work.git('reset', '--hard', 'HEAD~1');
    await work.write('a.yaml', 'a: rewritten\n');
    const rewritten = await work.commit('rewritten');
    await work.push('--force', 'main');
    const after = await src.fetch({ signal: signal(), previous: before });
    expect(after.revision).toBe(`main@sha1:${rewritten}`);
    expect(await readFile(join(after.dir, 'a.yaml'), 'utf8')).toBe('a: rewritten\n');

    // Move a tag.
    const tagged = await source(url, { engine, ref: { tag: 'v1.0.0' } });
    const t1 = await tagged.fetch({ signal: signal() });
    await work.git('tag', '-f', 'v1.0.0', rewritten);
    await work.push('--force', '--tags');
    const t2 = await tagged.fetch({ signal: signal(), previous: t1 });
    expect(t2.revision).toBe(`v1.0.0@sha1:${rewritten}`);

    // Delete a branch: a clear error, the last artifact still there.
    const feature = await source(url, { engine, ref: { branch: 'feature' } });
    const f1 = await feature.fetch({ signal: signal() });
    await work.push('--delete', 'feature');
    const error = await expectSourceError(
      feature.fetch({ signal: signal(), previous: f1 }),
      GitErrorCodes.RefNotFound,
    );
    expect(error.message).toContain('feature not found');
    expect(existsSync(join(f1.dir, 'a.yaml'))).toBe(true);
  });
});

describe.each<EngineName>(['isomorphic-git', 'native'])(
  'GitSource incremental builds (%s engine)',
  (engine) => {
    it('builds each new commit from the last artifact exactly as a fresh fetch would, never touching it', async () => {
      const { url, work } = await repo();
      await work.write('apps/web.yaml', 'web 1\n');
      await work.write('apps/db/db.yaml', 'db 1\n');
      await work.write('tools/run.sh', 'echo 1\n');
      await work.write('drop/me.yaml', 'x\n');
      await work.write('.sourceignore', '*.tmp\n');
      await work.write('keep.tmp', 'ignored at first\n');
      await symlink('web.yaml', join(work.dir, 'apps/alias.yaml'));
      await work.commit('one');
      await work.push('main');

      const src = await source(url, { engine });
      const contents = async (dir: string): Promise<Record<string, string>> => {
        const out: Record<string, string> = {};
        for (const file of await files(dir)) {
          const abs = join(dir, file);
          const info = await lstat(abs);
          out[file] = info.isSymbolicLink()
            ? `-> ${await readlink(abs)}`
            : `${info.mode & 0o111 ? 'x ' : ''}${await readFile(abs, 'utf8')}`;
        }
        return out;
      };
      let last = await src.fetch({ signal: signal() });
      const steps: (() => Promise<void>)[] = [
        // A changed file, a folder emptied, an executable bit, a new folder.
        async () => {
          await work.write('apps/web.yaml', 'web 2\n');
          await rm(join(work.dir, 'drop'), { recursive: true });
          await chmod(join(work.dir, 'tools/run.sh'), 0o755);
          await work.write('new/deep/file.yaml', 'new\n');
        },
        // The ignore rules change: what they excluded comes back, other files go.
        async () => {
          await work.write('.sourceignore', 'apps/db/\n');
        },
        // A changed link and a file replaced by a link.
        async () => {
          await rm(join(work.dir, 'apps/alias.yaml'));
          await symlink('db/db.yaml', join(work.dir, 'apps/alias.yaml'));
          await rm(join(work.dir, 'new/deep/file.yaml'));
          await symlink('../../apps/web.yaml', join(work.dir, 'new/deep/file.yaml'));
        },
      ];
      for (const step of steps) {
        const before = await contents(last.dir);
        await step();
        const commit = await work.commit('step');
        await work.push('main');
        await src.settled();
        const next = await src.fetch({ signal: signal(), previous: last });
        expect(next.revision).toBe(`main@sha1:${commit}`);
        // A source with an empty cache writes the same files with the same digest.
        const fresh = await (await source(url, { engine })).fetch({ signal: signal() });
        expect(next.digest).toBe(fresh.digest);
        expect(await contents(next.dir)).toEqual(await contents(fresh.dir));
        // The previous artifact is as it was (a reader may still be using it).
        expect(await contents(last.dir)).toEqual(before);
        last = next;
      }
      expect(await contents(last.dir)).toMatchObject({
        'keep.tmp': 'ignored at first\n',
        'tools/run.sh': 'x echo 1\n',
        'apps/alias.yaml': '-> db/db.yaml',
        'new/deep/file.yaml': '-> ../../apps/web.yaml',
      });
      expect(Object.keys(await contents(last.dir))).not.toContain('apps/db/db.yaml');
      await src.settled();
    });
  },
);

describe('GitSource content rules', () => {
  it('applies default ignores, .sourceignore files and extra patterns', async () => {
    const { url, work } = await repo();
    await work.write('apps/web.yaml', 'a\n');
    await work.write('apps/logo.png', 'png\n');
    await work.write('.github/workflows/ci.yaml', 'ci\n');
    await work.write('bundle.tar.gz', 'gz\n');
    await work.write('docs/guide.md', 'doc\n');
    await work.write('.sourceignore', 'docs/\n');
    await work.write('apps/.sourceignore', '*.tmp\n');
    await work.write('apps/scratch.tmp', 'tmp\n');
    await work.write('root.tmp', 'kept: the apps rule is scoped\n');
    await work.write('secret.env', 'x\n');
    await work.commit('c');
    await work.push('main');
    const a = await (await source(url, { ignore: ['*.env'] })).fetch({ signal: signal() });
    expect(await files(a.dir)).toEqual(['.sourceignore', 'apps/.sourceignore', 'apps/web.yaml', 'root.tmp']);
  });

  it('refuses symbolic links that leave the artifact, and keeps ones inside', async () => {
    const { url, work } = await repo();
    await work.write('apps/web.yaml', 'a\n');
    await work.git('-c', 'core.symlinks=true', 'status');
    await symlink('web.yaml', join(work.dir, 'apps/alias.yaml'));
    await work.commit('inside');
    await work.push('main');
    const src = await source(url);
    const ok = await src.fetch({ signal: signal() });
    expect((await lstat(join(ok.dir, 'apps/alias.yaml'))).isSymbolicLink()).toBe(true);

    await symlink('../../../etc/passwd', join(work.dir, 'apps/escape.yaml'));
    await work.commit('escape');
    await work.push('main');
    await expectSourceError(src.fetch({ signal: signal(), previous: ok }), GitErrorCodes.UnsafePath);

    await work.git('rm', '--quiet', 'apps/escape.yaml');
    await symlink('/etc/passwd', join(work.dir, 'abs.yaml'));
    await work.commit('absolute');
    await work.push('main');
    await expectSourceError(src.fetch({ signal: signal(), previous: ok }), GitErrorCodes.UnsafePath);

    await work.git('rm', '--quiet', 'abs.yaml');
    // Each link looks harmless alone; together they climb out.
    await symlink('.', join(work.dir, 'here'));
    await symlink('here/..', join(work.dir, 'up'));
    await work.commit('chain');
    await work.push('main');
    await expectSourceError(src.fetch({ signal: signal(), previous: ok }), GitErrorCodes.UnsafePath);
  });

  it('enforces file count and size limits', async () => {
    const { url, work } = await repo();
    for (let i = 0; i < 5; i++) await work.write(`f${i}.yaml`, 'x'.repeat(100));
    await work.commit('c');
    await work.push('main');
    await expectSourceError(
      (await source(url, { limits: { maxFiles: 4 } })).fetch({ signal: signal() }),
      GitErrorCodes.LimitExceeded,
    );
    await expectSourceError(
      (await source(url, { limits: { maxFileBytes: 50 } })).fetch({ signal: signal() }),
      GitErrorCodes.LimitExceeded,
    );
    await expectSourceError(
      (await source(url, { limits: { maxTotalBytes: 300 } })).fetch({ signal: signal() }),
      GitErrorCodes.LimitExceeded,
    );
    await expect(
      (await source(url, { limits: { maxFiles: 5, maxTotalBytes: 500 } })).fetch({ signal: signal() }),
    ).resolves.toBeDefined();
  });
});

describe('GitSource signature verification', () => {
  it('verifies HEAD commits: good, bad key, missing; fails closed', async () => {
    const { url, work } = await repo();
    const trusted = await testKey('Trusted Signer');
    const stranger = await testKey('Stranger');
    await work.write('a.yaml', 'a: 1\n');
    await work.commit('signed');
    const signed = await signHead(work, trusted);
    await work.push('main');

    const verify = { mode: 'head' as const, publicKeys: [trusted.publicKey] };
    const good = await (await source(url, { verify })).fetch({ signal: signal() });
    expect(good.revision).toBe(`main@sha1:${signed}`);
    expect(good.meta.verified).toBe(true);
    expect(good.meta.signer).toContain('Trusted Signer');

    const wrongKey = await source(url, { verify: { mode: 'head', publicKeys: [stranger.publicKey] } });
    await expectSourceError(wrongKey.fetch({ signal: signal() }), GitErrorCodes.SignatureInvalid);

    // A tampered commit: the signature of another payload.
    await work.git('reset', '--hard', signed);
    await work.write('a.yaml', 'a: 2\n');
    await work.commit('unsigned');
    await work.push('main');
    const src = await source(url, { verify });
    await expectSourceError(src.fetch({ signal: signal() }), GitErrorCodes.SignatureMissing);

    const raw = await work.git('cat-file', 'commit', signed);
    const forged = raw.replace('signed', 'forged');
    const forgedOid = await work.writeObject('commit', `${forged}\n`);
    await work.git('update-ref', 'refs/heads/main', forgedOid);
    await work.push('--force', 'main');
    await expectSourceError(src.fetch({ signal: signal() }), GitErrorCodes.SignatureInvalid);
  });

  it('verifies annotated tags', async () => {
    const { url, work } = await repo();
    const trusted = await testKey('Release Key');
    await work.write('a.yaml', 'a: 1\n');
    const commit = await work.commit('release');
    await annotatedTag(work, 'v1.0.0', commit, trusted);
    await annotatedTag(work, 'v1.1.0', commit);
    await work.git('tag', 'v1.2.0');
    await work.push('main', '--tags');
    const verify = { mode: 'tag' as const, publicKeys: [trusted.publicKey] };

    const good = await (await source(url, { verify, ref: { tag: 'v1.0.0' } })).fetch({ signal: signal() });
    expect(good.revision).toBe(`v1.0.0@sha1:${commit}`);
    expect(good.meta.verified).toBe(true);
    await expectSourceError(
      (await source(url, { verify, ref: { tag: 'v1.1.0' } })).fetch({ signal: signal() }),
      GitErrorCodes.SignatureMissing,
    );
    await expectSourceError(
      (await source(url, { verify, ref: { tag: 'v1.2.0' } })).fetch({ signal: signal() }),
      GitErrorCodes.SignatureMissing,
    );
  });
});

/** A TCP proxy in front of the Git server that a test can take down and bring back. */
class TcpProxy {
  #server: Server | undefined;
  readonly #sockets = new Set<Socket>();
  port = 0;

  constructor(readonly targetPort: number) {}

  async start(): Promise<void> {
    this.#server = createServer((client) => {
      const upstream = connect(this.targetPort, '127.0.0.1');
      for (const s of [client, upstream]) {
        this.#sockets.add(s);
        s.on('close', () => this.#sockets.delete(s));
        s.on('error', () => s.destroy());
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve) => this.#server?.listen(this.port, '127.0.0.1', resolve));
    this.port = (this.#server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    await new Promise<void>((resolve) => this.#server?.close(() => resolve()));
  }
}

describe('GitSource when the server is down', () => {
  it('fails with a clear error, keeps the last artifact, and succeeds once the server is back', async () => {
    const { url, work } = await repo();
    await work.write('a.yaml', 'a: 1\n');
    const c1 = await work.commit('one');
    await work.push('main');
    const proxy = new TcpProxy(Number(new URL(url).port));
    await proxy.start();
    const proxied = new URL(url);
    proxied.port = String(proxy.port);
    const src = await source(proxied.toString());
    const a = await src.fetch({ signal: signal() });
    expect(a.revision).toBe(`main@sha1:${c1}`);

    await proxy.stop();
    await work.write('a.yaml', 'a: 2\n');
    const c2 = await work.commit('two');
    await work.push('main');
    const error = await expectSourceError(
      src.fetch({ signal: signal(), previous: a }),
      GitErrorCodes.FetchFailed,
    );
    expect(error.message).toContain(proxied.host);
    expect(error.message).not.toContain(git.password);
    expect(existsSync(join(a.dir, 'a.yaml'))).toBe(true);

    await proxy.start();
    try {
      const b: Artifact = await src.fetch({ signal: signal(), previous: a });
      expect(b.revision).toBe(`main@sha1:${c2}`);
    } finally {
      await proxy.stop();
    }
  });

  it('refuses SSH URLs with the isomorphic-git engine', () => {
    expect(() => new GitSource({ url: 'git@example.com:org/repo.git', cacheDir: '/tmp/x' })).toThrow(
      /native engine/,
    );
  });
});
