import type { RemoteRef } from './ref.js';

/** Which implementation talks to the server and reads objects. */
export type EngineName = 'isomorphic-git' | 'native';

/** One file of a tree, as listed by an engine. */
export interface TreeFile {
  /** Path relative to the tree root, `/` separators. */
  readonly path: string;
  /** Git mode: `100644`, `100755`, `120000` (symbolic link) or `160000` (submodule). */
  readonly mode: string;
  /** The blob's (or, for a submodule, the commit's) object id: 40 hex characters of sha1. */
  readonly oid: string;
  /** Size in bytes, when the engine knows it without reading the blob. */
  readonly size?: number | undefined;
}

/** Progress of a long clone or fetch. */
export interface GitProgress {
  /** What is going on, in words (`listing refs`, `fetching`, `writing files`, `done`). */
  readonly phase: string;
  /** Units done in this phase (objects or files, depending on the phase). */
  readonly loaded: number;
  /** Units the phase has in all, when known. */
  readonly total?: number | undefined;
}

/** A raw Git object as {@link GitEngine.readObject} returns it. */
export interface GitObject {
  /** The object type: `commit`, `tag`, `tree` or `blob`. */
  readonly type: string;
  /** The object's bytes without the `<type> <size>\0` header. */
  readonly content: Uint8Array;
}

/** Transport settings for one call. */
export interface RemoteContext {
  /** Repository URL without credentials. */
  readonly url: string;
  /** Credential and extra headers. */
  readonly headers: Readonly<Record<string, string>>;
  /** PEM certificate(s) of the authorities to trust for HTTPS (from {@link GitAuth.caCert}); absent for the defaults. */
  readonly caCert?: string | undefined;
  /** Aborts the call; engines stop their requests or kill their process. */
  readonly signal: AbortSignal;
  /** Called as the call progresses, for logs or progress bars. */
  readonly onProgress?: ((progress: GitProgress) => void) | undefined;
  /**
   * Milliseconds the server may stay silent (no connection, no answer, a stalled transfer) before
   * the call fails with a `TransportError` of kind `timeout`. Engines must enforce it.
   */
  readonly timeoutMs?: number | undefined;
}

/** What to fetch. */
export interface FetchRequest {
  /** A full ref name (`refs/heads/main`); absent to fetch every branch and tag. */
  readonly refName?: string | undefined;
  /** Shallow depth; absent for full history. */
  readonly depth?: number | undefined;
  /**
   * The commit `refName` was just seen at. An engine may ask the server for it directly (saving the
   * ref listing a fetch by name does) and must then store it under `refName`.
   */
  readonly commit?: string | undefined;
  /**
   * The annotated tag object `refName` points at, when it is one: an engine that asks for
   * `commit` directly asks for this object instead (it brings the commit), and stores it under
   * `refName`.
   */
  readonly tagObject?: string | undefined;
}

/**
 * The operations a {@link GitSource} needs from Git. isomorphic-git (the default, pure JavaScript)
 * and the native `git` program implement it; everything else (refs, ignore rules, limits,
 * signatures, artifacts) is shared code on top.
 */
export interface GitEngine {
  /** Which engine this is (`isomorphic-git` or `native`); the repository cache is kept apart per engine. */
  readonly name: EngineName;
  /** Lists the server's refs under `prefix` (all when absent), with annotated tags peeled. */
  listRemoteRefs(context: RemoteContext, prefix: string | undefined): Promise<RemoteRef[]>;
  /** Creates the bare repository when it does not exist yet. */
  ensureRepo(gitdir: string, url: string): Promise<void>;
  /** Whether the object is in the local repository. */
  hasObject(gitdir: string, oid: string): Promise<boolean>;
  /** Fetches from the server into the local repository (incrementally when it holds history). */
  fetch(context: RemoteContext, gitdir: string, request: FetchRequest): Promise<void>;
  /** Reads a raw object (commit, tag) without its `<type> <size>\0` header. */
  readObject(gitdir: string, oid: string): Promise<GitObject>;
  /** The tree id at `path` under `treeOid`, or undefined if it is missing or not a folder. */
  subtree(gitdir: string, treeOid: string, path: string): Promise<string | undefined>;
  /** Every non-folder entry under a tree, recursively. */
  listFiles(gitdir: string, treeOid: string, signal: AbortSignal): Promise<TreeFile[]>;
  /** Reads a blob. */
  readBlob(gitdir: string, oid: string): Promise<Uint8Array>;
  /** Writes the given files (regular files, executables, symbolic links) under `destDir`. */
  writeFiles(gitdir: string, files: readonly TreeFile[], destDir: string, signal: AbortSignal): Promise<void>;
}
