import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Redactor, SourceError } from '@gitops-kit/core';
import {
  checkLinkTarget,
  commitOfRevision,
  digestFiles,
  type FetchRequest,
  formatRevision,
  type GitEngine,
  GitErrorCodes,
  GitSource,
  normaliseRepoUrl,
  parseCommit,
  parseTag,
  type RemoteContext,
  type RemoteRef,
  resolveRef,
  type TreeFile,
  verifyDetached,
} from '@gitops-kit/git-source';
import { readKeys } from 'openpgp';
import { afterAll, describe, expect, it } from 'vitest';
import { IgnoreDecisions, selectFiles, withKnownSizes } from '../src/artifact.js';
import { authHeaders, splitUrlCredentials } from '../src/auth.js';
import { withThinPack } from '../src/http-client.js';
import { lsRefsRequest, parseLsRefs } from '../src/ls-refs.js';
import { parseTree, TreeListingCache } from '../src/tree-cache.js';
import { removeTempDirs, signPayload, tempDir, testKey } from './helpers.js';

afterAll(removeTempDirs);

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);
const C = 'c'.repeat(40);

describe('revisions', () => {
  it('formats and parses Flux revisions', () => {
    expect(formatRevision('main', A)).toBe(`main@sha1:${A}`);
    expect(formatRevision(undefined, A)).toBe(`sha1:${A}`);
    expect(commitOfRevision(`v1.2.0@sha1:${B}`)).toBe(B);
    expect(commitOfRevision(`sha1:${B}`)).toBe(B);
    expect(commitOfRevision('sha256:abc')).toBeUndefined();
  });
});

describe('resolveRef', () => {
  const remote: RemoteRef[] = [
    { name: 'refs/heads/main', oid: A },
    { name: 'refs/tags/v1.0.0', oid: B },
    { name: 'refs/tags/v1.2.0', oid: C, peeled: A },
    { name: 'refs/tags/v1.3.0-rc.1', oid: B },
    { name: 'refs/tags/2.0.0', oid: B },
    { name: 'refs/tags/not-semver', oid: C },
  ];
  it('resolves branches and tags, peeling annotated tags', () => {
    expect(resolveRef({ branch: 'main' }, remote)).toMatchObject({ revisionName: 'main', commit: A });
    expect(resolveRef({ branch: 'refs/heads/main' }, remote)).toMatchObject({
      revisionName: 'refs/heads/main',
    });
    expect(resolveRef({ tag: 'v1.2.0' }, remote)).toEqual({
      revisionName: 'v1.2.0',
      fullName: 'refs/tags/v1.2.0',
      commit: A,
      tagObject: C,
    });
    expect(resolveRef({ branch: 'gone' }, remote)).toBeUndefined();
  });
  it('picks the highest tag in a semver range, without pre-releases', () => {
    expect(resolveRef({ semver: '^1.0.0' }, remote)).toMatchObject({ revisionName: 'v1.2.0', commit: A });
    expect(resolveRef({ semver: '*' }, remote)).toMatchObject({ revisionName: '2.0.0', commit: B });
    expect(resolveRef({ semver: '>=3' }, remote)).toBeUndefined();
  });
  it('passes a pinned commit through', () => {
    expect(resolveRef({ commit: A.toUpperCase() }, [])).toMatchObject({ revisionName: undefined, commit: A });
  });
});

describe('credentials', () => {
  it('builds headers and never lets secrets through the redactor', () => {
    expect(authHeaders({ bearerToken: 'tok' })).toEqual({ Authorization: 'Bearer tok' });
    const basic = authHeaders({ basic: { username: 'u', password: 'p@ss' }, headers: { 'X-Extra': 'v' } });
    expect(basic).toEqual({
      'X-Extra': 'v',
      Authorization: `Basic ${Buffer.from('u:p@ss').toString('base64')}`,
    });
    const redactor = new Redactor(['s3cret-token']);
    expect(redactor.redact('GET https://user:pw@host/x failed with s3cret-token')).toBe(
      'GET https://host/x failed with ***',
    );
  });
  it('moves credentials out of URLs and normalises URLs for matching', () => {
    expect(splitUrlCredentials('https://me:p%40ss@git.example.com/o/r.git')).toEqual({
      url: 'https://git.example.com/o/r.git',
      basic: { username: 'me', password: 'p@ss' },
    });
    const same = [
      'https://git.example.com/o/r.git',
      'http://Git.Example.com/o/r/',
      'git@git.example.com:o/r.git',
      'ssh://git@git.example.com/o/r',
    ];
    expect(new Set(same.map(normaliseRepoUrl)).size).toBe(1);
    expect(normaliseRepoUrl('https://git.example.com/o/other.git')).not.toBe(
      normaliseRepoUrl(same[0] as string),
    );
  });
});

const commitText = (extra: string): string =>
  `tree ${A}\nparent ${B}\nauthor Ann <ann@example.com> 1700000000 +0100\ncommitter Bob <bob@example.com> 1700000060 +0000\n${extra}\nthe message\n\nbody\n`;

describe('objects and signatures', () => {
  it('cuts the signed payload out of a commit and verifies it', async () => {
    const key = await testKey('Signer');
    const unsigned = commitText('');
    const signature = (await signPayload(unsigned, key)).trim();
    const signed = unsigned.replace(
      '\n\nthe message',
      `\ngpgsig ${signature.split('\n').join('\n ')}\n\nthe message`,
    );
    const parsed = parseCommit(new TextEncoder().encode(signed));
    expect(new TextDecoder().decode(parsed.payload)).toBe(unsigned);
    expect(parsed.signature?.trim()).toBe(signature);
    expect(parsed.headers.get('author')).toBe('Ann <ann@example.com> 1700000000 +0100');
    expect(parsed.message).toBe('the message\n\nbody\n');

    const keys = await readKeys({ armoredKeys: key.publicKey });
    expect(await verifyDetached(parsed.payload, parsed.signature as string, keys)).toMatchObject({
      userId: expect.stringContaining('Signer'),
    });
    const tampered = new TextEncoder().encode(unsigned.replace('body', 'evil'));
    expect(await verifyDetached(tampered, parsed.signature as string, keys)).toBeUndefined();
    const stranger = await readKeys({ armoredKeys: (await testKey('Stranger')).publicKey });
    expect(await verifyDetached(parsed.payload, parsed.signature as string, stranger)).toBeUndefined();
    expect(await verifyDetached(parsed.payload, 'not a signature', keys)).toBeUndefined();
  });

  it('reads an unsigned commit as its own payload, and a tag signature from the message end', async () => {
    const unsigned = commitText('');
    const plain = parseCommit(new TextEncoder().encode(unsigned));
    expect(plain.signature).toBeUndefined();
    expect(new TextDecoder().decode(plain.payload)).toBe(unsigned);

    const body = `object ${A}\ntype commit\ntag v1\ntagger T <t@e> 1700000000 +0000\n\nRelease\n`;
    const key = await testKey('Tagger');
    const signature = await signPayload(body, key);
    const tag = parseTag(new TextEncoder().encode(body + signature));
    expect(new TextDecoder().decode(tag.payload)).toBe(body);
    expect(tag.message).toBe('Release\n');
    const keys = await readKeys({ armoredKeys: key.publicKey });
    expect(await verifyDetached(tag.payload, tag.signature as string, keys)).toBeDefined();
  });
});

describe('selectFiles', () => {
  const blobs = new Map<string, string>([
    ['ign-root', 'docs/\n!docs/keep.md\n'],
    ['ign-apps', '*.tmp\n'],
    ['ign-docs', '*\n'],
    ['link-in', 'web.yaml'],
    ['link-out', '../../etc/passwd'],
  ]);
  const readBlob = async (oid: string): Promise<Uint8Array> =>
    new TextEncoder().encode(blobs.get(oid) ?? 'x');
  const file = (path: string, oid = 'blob', mode = '100644', size?: number): TreeFile => ({
    path,
    mode,
    oid,
    size,
  });

  it('applies defaults, scoped .sourceignore files and extra patterns; drops submodules', async () => {
    const files = [
      file('.sourceignore', 'ign-root'),
      file('apps/.sourceignore', 'ign-apps'),
      file('docs/.sourceignore', 'ign-docs'),
      file('apps/web.yaml'),
      file('apps/x.tmp'),
      file('x.tmp'),
      file('docs/guide.md'),
      file('.github/workflows/ci.yml'),
      file('img/logo.png'),
      file('vendor/lib', C, '160000'),
      file('secret.env'),
    ];
    const chosen = await selectFiles(files, { readBlob, ignore: '*.env' });
    expect(chosen.map((f) => f.path)).toEqual([
      '.sourceignore',
      'apps/.sourceignore',
      'apps/web.yaml',
      'x.tmp',
    ]);
    const noDefaults = await selectFiles([file('img/logo.png')], { readBlob, defaultIgnores: false });
    expect(noDefaults).toHaveLength(1);
  });

  it('refuses escaping symbolic links and enforces limits', async () => {
    await expect(
      selectFiles([file('apps/web.yaml'), file('apps/alias', 'link-in', '120000')], { readBlob }),
    ).resolves.toHaveLength(2);
    await expect(
      selectFiles([file('apps/escape', 'link-out', '120000')], { readBlob }),
    ).rejects.toMatchObject({ kind: 'unsafe' });
    expect(() => checkLinkTarget('a/b', '/etc/passwd')).toThrow(/outside/);
    expect(() => checkLinkTarget('a/b', '../c')).not.toThrow();
    expect(() => checkLinkTarget('a/b', '../../c')).toThrow(/outside/);
    await expect(
      selectFiles([file('a'), file('b')], { readBlob, limits: { maxFiles: 1 } }),
    ).rejects.toMatchObject({ kind: 'limit' });
    await expect(
      selectFiles([file('a', 'x', '100644', 10)], { readBlob, limits: { maxFileBytes: 5 } }),
    ).rejects.toMatchObject({ kind: 'limit' });
  });

  it('digests content independent of listing order', () => {
    const one = [file('a', A), file('b', B)];
    expect(digestFiles(one)).toBe(digestFiles([...one].reverse()));
    expect(digestFiles(one)).not.toBe(digestFiles([file('a', A), file('b', C)]));
  });
});

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

describe('withThinPack', () => {
  const pkt = (line: string): string => `${(line.length + 4).toString(16).padStart(4, '0')}${line}`;
  it('adds thin-pack to the first want line of an incremental request only', () => {
    const want = pkt(`want ${A} multi_ack_detailed ofs-delta\n`);
    const incremental = Buffer.from(`${want}${pkt('deepen 1\n')}0000${pkt(`have ${B}\n`)}${pkt('done\n')}`);
    const out = withThinPack(incremental).toString();
    const first = pkt(`want ${A} multi_ack_detailed ofs-delta thin-pack\n`);
    expect(out).toBe(`${first}${incremental.toString().slice(want.length)}`);
    const clone = Buffer.from(`${want}0000${pkt('done\n')}`);
    expect(withThinPack(clone)).toBe(clone);
    expect(withThinPack(Buffer.from('garbage have '))).toEqual(Buffer.from('garbage have '));
  });
});

describe('checkPath', () => {
  it('refuses tree paths that would leave the artifact', async () => {
    const readBlob = async (): Promise<Uint8Array> => new Uint8Array();
    for (const path of ['../x', 'a/../../x', 'a//b', './a', 'a\\..\\b', '']) {
      await expect(selectFiles([{ path, mode: '100644', oid: A }], { readBlob })).rejects.toMatchObject({
        kind: 'unsafe',
      });
    }
    await expect(
      selectFiles([{ path: 'a/..b/c.yaml', mode: '100644', oid: A }], { readBlob }),
    ).resolves.toHaveLength(1);
  });
});

describe('TreeListingCache', () => {
  // Trees by id: each entry is [name, mode, id]; modes 040000 are folders.
  const trees: Record<string, [string, string, string][]> = {
    root1: [
      ['a', '040000', 'treeA1'],
      ['b', '040000', 'treeB'],
      ['top.yaml', '100644', A],
    ],
    root2: [
      ['a', '040000', 'treeA2'],
      ['b', '040000', 'treeB'],
      ['top.yaml', '100644', A],
    ],
    treeA1: [['one.yaml', '100644', B]],
    treeA2: [
      ['one.yaml', '100644', C],
      ['two', '120000', B],
    ],
    treeB: [
      ['deep', '040000', 'treeD'],
      ['x.yaml', '100755', C],
    ],
    treeD: [['y.yaml', '100644', A]],
  };
  const read = (log: string[]) => async (oid: string) => {
    log.push(oid);
    return (trees[oid] ?? []).map(([path, mode, id]) => ({
      path,
      mode,
      oid: id,
      type: mode === '040000' ? ('tree' as const) : ('blob' as const),
    }));
  };

  it('lists like a fresh walk while reading only the folders whose ids changed', async () => {
    const cache = new TreeListingCache();
    const first: string[] = [];
    const one = await cache.list('root1', read(first), new AbortController().signal);
    expect(one.map((f) => f.path)).toEqual(['a/one.yaml', 'b/deep/y.yaml', 'b/x.yaml', 'top.yaml']);
    expect(first.sort()).toEqual(['root1', 'treeA1', 'treeB', 'treeD']);

    const second: string[] = [];
    const two = await cache.list('root2', read(second), new AbortController().signal);
    expect(second.sort()).toEqual(['root2', 'treeA2']);
    const fresh = await new TreeListingCache().list('root2', read([]), new AbortController().signal);
    expect(two).toEqual(fresh);
    expect(two.find((f) => f.path === 'a/two')).toEqual({ path: 'a/two', mode: '120000', oid: B });

    // Going back reads the folders the last listing no longer had.
    const third: string[] = [];
    expect(await cache.list('root1', read(third), new AbortController().signal)).toEqual(one);
    expect(third.sort()).toEqual(['root1', 'treeA1']);
  });

  it('takes a seeded whole-tree listing, sizes included', async () => {
    const cache = new TreeListingCache();
    expect(cache.empty).toBe(true);
    cache.seed('root1', [
      { path: 'a', mode: '040000', oid: 'treeA1', type: 'tree' },
      { path: 'a/one.yaml', mode: '100644', oid: B, type: 'blob', size: 3 },
      { path: 'b', mode: '040000', oid: 'treeB', type: 'tree' },
      { path: 'b/deep', mode: '040000', oid: 'treeD', type: 'tree' },
      { path: 'b/deep/y.yaml', mode: '100644', oid: A, type: 'blob', size: 5 },
      { path: 'b/x.yaml', mode: '100755', oid: C, type: 'blob', size: 7 },
      { path: 'top.yaml', mode: '100644', oid: A, type: 'blob', size: 5 },
    ]);
    const log: string[] = [];
    const two = await cache.list('root2', read(log), new AbortController().signal);
    expect(log.sort()).toEqual(['root2', 'treeA2']);
    expect(two.find((f) => f.path === 'b/deep/y.yaml')?.size).toBe(5);
    expect(two.find((f) => f.path === 'a/one.yaml')?.size).toBeUndefined();
  });

  it('parses raw tree objects', () => {
    const entry = (mode: string, name: string, hex: string): Buffer =>
      Buffer.concat([Buffer.from(`${mode} ${name}\0`), Buffer.from(hex, 'hex')]);
    const raw = Buffer.concat([
      entry('40000', 'dir', A),
      entry('100755', 'run.sh', B),
      entry('160000', 'sub', C),
    ]);
    expect(parseTree(raw)).toEqual([
      { path: 'dir', mode: '040000', oid: A, type: 'tree' },
      { path: 'run.sh', mode: '100755', oid: B, type: 'blob' },
      { path: 'sub', mode: '160000', oid: C, type: 'commit' },
    ]);
    expect(() => parseTree(Buffer.from('100644 cut'))).toThrow(/malformed/);
  });
});

describe('reused selections', () => {
  const file = (path: string, oid = A): TreeFile => ({ path, mode: '100644', oid });
  const blobs: Record<string, string> = { [B]: '*.tmp\n', [C]: '*.yaml\n' };
  const readBlob = async (oid: string) => new TextEncoder().encode(blobs[oid] ?? '');

  it('reuses ignore decisions until a .sourceignore file changes', async () => {
    const decisions = new IgnoreDecisions();
    const listing = [file('.sourceignore', B), file('a.tmp'), file('b.yaml')];
    const paths = async (files: TreeFile[]) =>
      (await selectFiles(files, { readBlob, decisions })).map((f) => f.path);
    expect(await paths(listing)).toEqual(['.sourceignore', 'b.yaml']);
    expect(decisions.ignored.get('a.tmp')).toBe(true);
    expect(await paths([...listing, file('c.tmp')])).toEqual(['.sourceignore', 'b.yaml']);
    // New rules: every earlier decision is dropped.
    expect(await paths([file('.sourceignore', C), file('a.tmp'), file('b.yaml')])).toEqual([
      '.sourceignore',
      'a.tmp',
    ]);
    expect(decisions.ignored.has('c.tmp')).toBe(false);
  });

  it('takes sizes a previous artifact recorded for the same path, mode and blob', () => {
    const sized = withKnownSizes(
      [file('a'), file('b', B), { path: 'c', mode: '100644', oid: C, size: 9 }],
      [
        ['a', `100644 ${A}`, 4],
        ['b', `100644 ${A}`, 6],
        ['c', `100644 ${C}`, 1],
      ],
    );
    expect(sized.map((f) => f.size)).toEqual([4, undefined, 9]);
  });
});

describe('direct ls-refs', () => {
  const line = (text: string): string => `${(text.length + 4).toString(16).padStart(4, '0')}${text}`;

  it('writes a protocol v2 ls-refs request with peeling and the prefix', () => {
    expect(lsRefsRequest('refs/heads/main').toString()).toBe(
      `0014command=ls-refs\n00010009peel\n001fref-prefix refs/heads/main\n0000`,
    );
  });

  it('reads refs and peeled tags, and refuses anything that is not a complete answer', () => {
    const body = `${line(`${A} refs/heads/main\n`)}${line(`${B} refs/tags/v1 peeled:${C}\n`)}0000`;
    expect(parseLsRefs(Buffer.from(body))).toEqual([
      { name: 'refs/heads/main', oid: A, peeled: undefined },
      { name: 'refs/tags/v1', oid: B, peeled: C },
    ]);
    expect(parseLsRefs(Buffer.from('0000'))).toEqual([]);
    expect(parseLsRefs(Buffer.from(line(`${A} refs/heads/main\n`)))).toBeUndefined(); // no flush
    expect(parseLsRefs(Buffer.from(`${line('ERR upload-pack: not our ref\n')}0000`))).toBeUndefined();
    expect(parseLsRefs(Buffer.from(`${line(`${A} HEAD\0multi_ack thin-pack\n`)}0000`))).toBeUndefined(); // v0
  });
});
