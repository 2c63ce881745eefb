import * as nodeFs from 'node:fs';
import { dirname, join } from 'node:path';
import type { FetchRequest, GitEngine, GitObject, RemoteContext, TreeFile } from './engine.js';
import { TransportError } from './errors.js';
import { createHttpClient } from './http-client.js';
import { git } from './lazy-git.js';
import { listRefsDirect } from './ls-refs.js';
import type { RemoteRef } from './ref.js';
import { TreeListingCache } from './tree-cache.js';

/** The `node:fs` shape this engine uses (isomorphic-git's `fs` plus the promise API for artifacts). */
export type NodeFs = typeof nodeFs;

/** Files written at once: enough to overlap inflating with disk writes, few enough to bound memory. */
const WRITE_CONCURRENCY = 16;

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
 * The default engine: isomorphic-git, pure JavaScript, runs everywhere Node runs. It buffers each
 * packfile in memory and indexes it in JavaScript, so first clones of big repositories are slower
 * than with the native engine; polls and small fetches are cheap.
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

  /** Reads a raw object's content. */
  async readObject(gitdir: string, oid: string): Promise<GitObject> {
    const result = await git.readObject({ fs: this.#fs, gitdir, oid, format: 'content', cache: this.#cache });
    return { type: result.type, content: result.object as Uint8Array };
  }

  /** Resolves a folder path under a tree. */
  async subtree(gitdir: string, treeOid: string, path: string): Promise<string | undefined> {
    try {
      const result = await git.readTree({
        fs: this.#fs,
        gitdir,
        oid: treeOid,
        filepath: path,
        cache: this.#cache,
      });
      return result.oid;
    } catch {
      return undefined;
    }
  }

  /**
   * Lists a tree recursively with `readTree`, one object read per folder, sibling folders
   * together; folders whose ids did not change since the last listing are not read again.
   */
  async listFiles(gitdir: string, treeOid: string, signal: AbortSignal): Promise<TreeFile[]> {
    let cache = this.#listings.get(gitdir);
    if (!cache) {
      cache = new TreeListingCache();
      this.#listings.set(gitdir, cache);
    }
    return cache.list(
      treeOid,
      async (oid) => {
        const { tree } = await git.readTree({ fs: this.#fs, gitdir, oid, cache: this.#cache });
        return tree.map((e) => ({ path: e.path, mode: e.mode, oid: e.oid, type: e.type }));
      },
      signal,
    );
  }

  /** Reads a blob's bytes. */
  async readBlob(gitdir: string, oid: string): Promise<Uint8Array> {
    const { blob } = await git.readBlob({ fs: this.#fs, gitdir, oid, cache: this.#cache });
    return blob;
  }

  /** Writes files by reading each blob from the pack, a few at a time. */
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
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < files.length) {
        signal.throwIfAborted();
        const file = files[next++] as TreeFile;
        const target = join(destDir, file.path);
        const blob = await this.readBlob(gitdir, file.oid);
        if (file.mode === '120000') await fsp.symlink(new TextDecoder().decode(blob), target);
        else await fsp.writeFile(target, blob, { mode: file.mode === '100755' ? 0o755 : 0o644 });
      }
    };
    await Promise.all(Array.from({ length: Math.min(WRITE_CONCURRENCY, files.length) }, worker));
  }
}
