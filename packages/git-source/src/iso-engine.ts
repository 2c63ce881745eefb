import * as nodeFs from 'node:fs';
import { dirname, join } from 'node:path';

import type { HttpClient } from 'isomorphic-git';
import type { FetchRequest, GitEngine, GitObject, RemoteContext, TreeFile } from './engine.js';
import { TransportError } from './errors.js';
import { fetchPackDirect } from './fetch-pack.js';
import { createHttpClient } from './http-client.js';
import { git } from './lazy-git.js';
import { listRefsDirect } from './ls-refs.js';
import { indexPack } from './pack-index.js';
import { type PackedObject, PackObjects, type PackSession } from './pack-reader.js';
import type { RemoteRef } from './ref.js';
import { parseTree, TreeListingCache } from './tree-cache.js';

/** The `node:fs` shape this engine uses (isomorphic-git's `fs` plus the promise API for artifacts). */
export type NodeFs = typeof nodeFs;

/** Files written at once: enough to overlap inflating with disk writes, few enough to bound memory. */
const WRITE_CONCURRENCY = 16;

/** Writes a file under a temporary name and renames it, so no reader sees it half written. */
async function writeAtomically(
  fsp: NodeFs['promises'],
  path: string,
  data: Uint8Array | string,
): Promise<void> {
  const temporary = `${path}.${process.pid}.tmp`;
  await fsp.writeFile(temporary, data);
  await fsp.rename(temporary, path);
}

/** `fs.writeFile` with a callback: a third faster than the promise API for many small files. */
function writeFile(fs: NodeFs, path: string, data: Uint8Array, mode: number): Promise<void> {
  return new Promise((resolve, reject) =>
    fs.writeFile(path, data, { mode }, (error) => (error ? reject(error) : resolve())),
  );
}

/** Maps isomorphic-git and socket errors to a {@link TransportError}. */
function transportError(error: unknown): unknown {
  if (!(error instanceof Error)) return error;
  if (error instanceof TransportError || error.name === 'AbortError') return error;
  const code = (error as { code?: string }).code;
  const status = (error as { data?: { statusCode?: number } }).data?.statusCode;
  if (code === 'HttpError' && (status === 401 || status === 403)) {
    return new TransportError('auth', `the server refused the credentials (HTTP ${status})`);
  }
  if (code === 'HttpError' && status === 404)
    return new TransportError('not-found', 'repository not found (HTTP 404)');
  if (code === 'HttpError') return new TransportError('network', `the server answered HTTP ${status}`);
  if (code === 'SmartHttpError')
    return new TransportError('protocol', 'the server does not speak smart HTTP');
  if (code && /^E[A-Z]+/.test(code)) return new TransportError('network', `${error.message}`);
  return error;
}

/**
 * The default engine: isomorphic-git, pure JavaScript, runs everywhere Node runs. A fetch of one
 * commit at a depth (what a branch or tag source does) is one protocol v2 request whose pack is
 * indexed here with node:zlib (`fetch-pack.ts`, `pack-index.ts`); other fetches (pinned commits,
 * history for earlier revisions, servers without v2) go through isomorphic-git's `fetch`. Objects
 * are read straight out of the packs (`pack-reader.ts`), loose ones through isomorphic-git.
 */
export class IsomorphicGitEngine implements GitEngine {
  /** This engine's name, `isomorphic-git` (see {@link GitEngine.name}). */
  readonly name = 'isomorphic-git' as const;
  readonly #fs: NodeFs;
  /** isomorphic-git's object and pack cache, shared across calls (packs are parsed once). */
  readonly #cache: Record<string, unknown> = {};
  /** The last tree listing per repository, so the next one reads only changed folders. */
  readonly #listings = new Map<string, TreeListingCache>();
  /** URLs whose server did not answer a direct `ls-refs` request. */
  readonly #noDirectListing = new Set<string>();
  /** URLs whose server did not answer a direct v2 `fetch` request. */
  readonly #noDirectFetch = new Set<string>();
  /** Per repository, its packs read directly (see `pack-reader.ts`): isomorphic-git's per-object reads are slow. */
  readonly #packs = new Map<string, PackObjects>();

  /** @param fs a `node:fs`-compatible module (injected for tests). */
  constructor(fs: NodeFs = nodeFs) {
    this.#fs = fs;
  }

  /**
   * Lists refs with protocol v2 `ls-refs` and a prefix: first as one direct request (see
   * `listRefsDirect`), else as isomorphic-git does it (capabilities first, v1 when the server
   * lacks v2). A server that failed the direct request is not asked that way again.
   */
  async listRemoteRefs(context: RemoteContext, prefix: string | undefined): Promise<RemoteRef[]> {
    const http = createHttpClient({
      headers: context.headers,
      caCert: context.caCert,
      signal: context.signal,
      idleTimeoutMs: context.timeoutMs,
    });
    try {
      if (!this.#noDirectListing.has(context.url)) {
        const direct = await listRefsDirect(http, context.url, prefix);
        if (direct) return direct;
        this.#noDirectListing.add(context.url);
      }
      const refs = await git.listServerRefs({
        http,
        url: context.url,
        protocolVersion: 2,
        peelTags: true,
        ...(prefix ? { prefix } : {}),
      });
      return refs.map((r) => ({ name: r.ref, oid: r.oid, peeled: r.peeled }));
    } catch (error) {
      throw transportError(error);
    } finally {
      http.close();
    }
  }

  /** Initialises a bare repository with an `origin` remote (isomorphic-git needs its refspec). */
  async ensureRepo(gitdir: string, url: string): Promise<void> {
    if (this.#fs.existsSync(join(gitdir, 'config'))) return;
    await git.init({ fs: this.#fs, gitdir, bare: true });
    await git.addRemote({ fs: this.#fs, gitdir, remote: 'origin', url, force: true });
  }

  /** Whether the object can be read (loose or packed). */
  async hasObject(gitdir: string, oid: string): Promise<boolean> {
    if (await this.#session(gitdir, async (packs) => packs.locate(oid) !== undefined)) return true;
    try {
      await git.readObject({ fs: this.#fs, gitdir, oid, format: 'deflated', cache: this.#cache });
      return true;
    } catch {
      return false;
    }
  }

  /** Fetches one ref shallowly (or everything), sending what the repository has as `have`s. */
  async fetch(context: RemoteContext, gitdir: string, request: FetchRequest): Promise<void> {
    const http = createHttpClient({
      headers: context.headers,
      caCert: context.caCert,
      signal: context.signal,
      idleTimeoutMs: context.timeoutMs,
      thinPack: true,
    });
    try {
      if (request.commit && request.refName && request.depth && !this.#noDirectFetch.has(context.url)) {
        const done = await this.#fetchDirect(http, context, gitdir, request).catch((error: unknown) => {
          // The server refused the request as sent (an object it will not serve by id, say):
          // isomorphic-git's fetch, which asks by ref, may still work.
          if (error instanceof TransportError && error.kind === 'protocol') return undefined;
          throw error;
        });
        if (done) return;
        if (done === false) this.#noDirectFetch.add(context.url);
      }
      const result = await git.fetch({
        fs: this.#fs,
        http,
        gitdir,
        url: context.url,
        cache: this.#cache,
        tags: false,
        singleBranch: request.refName !== undefined,
        ...(request.refName ? { ref: request.refName, remoteRef: request.refName } : {}),
        ...(request.depth ? { depth: request.depth } : {}),
        ...(context.onProgress
          ? { onProgress: (p) => context.onProgress?.({ phase: p.phase, loaded: p.loaded, total: p.total }) }
          : {}),
      });
      // isomorphic-git offers as `have` only the local ref of the same name: keep it, so the next
      // fetch of this ref transfers only what changed.
      if (request.refName && result.fetchHead) {
        await git.writeRef({
          fs: this.#fs,
          gitdir,
          ref: request.refName,
          value: result.fetchHead,
          force: true,
        });
      }
    } catch (error) {
      throw transportError(error);
    } finally {
      http.close();
    }
  }

  /**
   * Fetches the commit with one protocol v2 request (see `fetch-pack.ts`) and indexes the pack
   * here (see `pack-index.ts`); false when the server does not speak v2.
   */
  async #fetchDirect(
    http: HttpClient,
    context: RemoteContext,
    gitdir: string,
    request: FetchRequest,
  ): Promise<boolean> {
    const refName = request.refName as string;
    const fsp = this.#fs.promises;
    const haves: string[] = [];
    try {
      let local = await git.resolveRef({ fs: this.#fs, gitdir, ref: refName });
      const object = await this.readObject(gitdir, local);
      // A tag ref: offer the commit it names, which is what negotiation is about.
      if (object.type === 'tag')
        local = /^object ([0-9a-f]{40})$/m.exec(new TextDecoder().decode(object.content))?.[1] ?? local;
      if (await this.hasObject(gitdir, local)) haves.push(local);
    } catch {
      // No local ref yet: a first clone.
    }
    const shallowFile = join(gitdir, 'shallow');
    const shallows = new Set(
      (await fsp.readFile(shallowFile, 'utf8').catch(() => ''))
        .split('\n')
        .map((line) => line.trim())
        .filter((line) => /^[0-9a-f]{40}$/.test(line)),
    );
    const want = request.tagObject ?? (request.commit as string);
    const response = await fetchPackDirect(http, context.url, {
      want,
      depth: request.depth as number,
      haves,
      shallows: [...shallows],
    });
    if (!response) return false;
    context.onProgress?.({ phase: 'indexing pack', loaded: 0 });
    const indexed = await this.#session(gitdir, (packs) =>
      indexPack(response.pack, async (oid) => {
        const object = await this.#read(packs, gitdir, oid).catch(() => undefined);
        if (!object) return undefined;
        const content = Buffer.from(
          object.content.buffer,
          object.content.byteOffset,
          object.content.byteLength,
        );
        return { type: object.type as PackedObject['type'], content };
      }),
    );
    if (indexed.count > 0) {
      // The pack first, then its index: readers look for indexes and skip one whose pack is missing.
      const base = join(gitdir, 'objects', 'pack', `pack-${indexed.checksum}`);
      await fsp.mkdir(dirname(base), { recursive: true });
      await writeAtomically(fsp, `${base}.pack`, response.pack);
      await writeAtomically(fsp, `${base}.idx`, indexed.idx);
    }
    for (const oid of response.shallow) shallows.add(oid);
    for (const oid of response.unshallow) shallows.delete(oid);
    if (shallows.size > 0) await writeAtomically(fsp, shallowFile, `${[...shallows].join('\n')}\n`);
    else await fsp.rm(shallowFile, { force: true });
    await git.writeRef({ fs: this.#fs, gitdir, ref: refName, value: want, force: true });
    return true;
  }

  /** Reads a raw object's content. */
  async readObject(gitdir: string, oid: string): Promise<GitObject> {
    return this.#session(gitdir, (packs) => this.#read(packs, gitdir, oid));
  }

  /** Resolves a folder path under a tree. */
  async subtree(gitdir: string, treeOid: string, path: string): Promise<string | undefined> {
    return this.#session(gitdir, async (packs) => {
      let oid = treeOid;
      for (const name of path.split('/').filter((part) => part !== '')) {
        const object = await this.#read(packs, gitdir, oid).catch(() => undefined);
        if (object?.type !== 'tree') return undefined;
        const entry = parseTree(object.content).find((e) => e.path === name);
        if (entry?.type !== 'tree') return undefined;
        oid = entry.oid;
      }
      return oid;
    });
  }

  /**
   * Lists a tree recursively, one object read per folder, sibling folders together; folders whose
   * ids did not change since the last listing are not read again.
   */
  async listFiles(gitdir: string, treeOid: string, signal: AbortSignal): Promise<TreeFile[]> {
    let cache = this.#listings.get(gitdir);
    if (!cache) {
      cache = new TreeListingCache();
      this.#listings.set(gitdir, cache);
    }
    const listings = cache;
    return this.#session(gitdir, (packs) =>
      listings.list(
        treeOid,
        async (oid) => parseTree(await this.#readTyped(packs, gitdir, oid, 'tree')),
        signal,
      ),
    );
  }

  /** Reads a blob's bytes. */
  async readBlob(gitdir: string, oid: string): Promise<Uint8Array> {
    return this.#session(gitdir, (packs) => this.#readTyped(packs, gitdir, oid, 'blob'));
  }

  /** Runs `work` with a reader over the repository's packs (opened once for all its reads). */
  #session<T>(gitdir: string, work: (packs: PackSession) => Promise<T>): Promise<T> {
    let packs = this.#packs.get(gitdir);
    if (!packs) {
      packs = new PackObjects(gitdir, this.#fs);
      this.#packs.set(gitdir, packs);
    }
    return packs.session(work);
  }

  /** An object from the packs, or through isomorphic-git when it is not packed (a loose object). */
  async #read(packs: PackSession, gitdir: string, oid: string): Promise<GitObject> {
    const packed = await packs.read(oid);
    if (packed) return packed;
    const result = await git.readObject({ fs: this.#fs, gitdir, oid, format: 'content', cache: this.#cache });
    return { type: result.type, content: result.object as Uint8Array };
  }

  async #readTyped(
    packs: PackSession,
    gitdir: string,
    oid: string,
    type: 'tree' | 'blob',
  ): Promise<Uint8Array> {
    const object = await this.#read(packs, gitdir, oid);
    if (object.type !== type) throw new Error(`object ${oid} is a ${object.type}, not a ${type}`);
    return object.content;
  }

  /**
   * Writes files with one reader over the packs, in pack order (reads go forward through the pack
   * file), a few at a time so that inflating overlaps the disk writes.
   */
  async writeFiles(
    gitdir: string,
    files: readonly TreeFile[],
    destDir: string,
    signal: AbortSignal,
  ): Promise<void> {
    const fsp = this.#fs.promises;
    const dirs = new Set<string>();
    for (const file of files) dirs.add(dirname(join(destDir, file.path)));
    for (const dir of [...dirs].sort()) await fsp.mkdir(dir, { recursive: true });
    await this.#session(gitdir, async (packs) => {
      const offsets = new Map(files.map((f) => [f, packs.offsetOf(f.oid) ?? Number.MAX_SAFE_INTEGER]));
      const ordered = [...files].sort((a, b) => (offsets.get(a) as number) - (offsets.get(b) as number));
      let next = 0;
      const worker = async (): Promise<void> => {
        while (next < ordered.length) {
          signal.throwIfAborted();
          const file = ordered[next++] as TreeFile;
          const target = join(destDir, file.path);
          const blob = await this.#readTyped(packs, gitdir, file.oid, 'blob');
          if (file.mode === '120000') await fsp.symlink(new TextDecoder().decode(blob), target);
          else await writeFile(this.#fs, target, blob, file.mode === '100755' ? 0o755 : 0o644);
        }
      };
      await Promise.all(Array.from({ length: Math.min(WRITE_CONCURRENCY, ordered.length) }, worker));
    });
  }
}
