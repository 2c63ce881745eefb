import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { basename, join } from 'node:path';
import {
  type Artifact,
  type ArtifactLimits,
  type ArtifactMeta,
  ArtifactStore,
  ErrorCodes,
  type FetchOptions,
  GitOpsError,
  linkAll,
  Redactor,
  removeChanged,
  type Source,
  type SourceChange,
  SourceError,
  type StoredFile,
} from '@gitops-kit/core';
import type { Key } from 'openpgp';
import {
  checkWritten,
  digestFiles,
  fileKey,
  IgnoreDecisions,
  isLinkable,
  selectFiles,
  storedFiles,
  withKnownSizes,
} from './artifact.js';
import { authHeaders, type GitAuth, normaliseRepoUrl, secretsOf, splitUrlCredentials } from './auth.js';
import type { EngineName, GitEngine, GitProgress, RemoteContext, TreeFile } from './engine.js';
import { ArtifactProblem, describe, GitErrorCodes, gitError, TransportError } from './errors.js';
import { IsomorphicGitEngine, type NodeFs } from './iso-engine.js';
import { NativeGitEngine } from './native-engine.js';
import { formatPerson, type ParsedObject, parseCommit, parsePerson, parseTag } from './objects.js';
import {
  describeRef,
  fullRefName,
  type GitRef,
  type ResolvedRef,
  refKind,
  refPrefix,
  resolveRef,
  validRange,
} from './ref.js';
import { commitOfRevision, formatRevision } from './revision.js';
import { readPublicKeys, type VerifiedSignature, type VerifyMode, verifyDetached } from './signature.js';

/** A fetch depth that means all history (what `git fetch --unshallow` asks for). */
const FULL_HISTORY = 2_147_483_647;
/** Signature verification settings. */
export interface GitVerifyOptions {
  /** `off`, `head` (the commit's signature) or `tag` (the annotated tag's signature). */
  readonly mode: VerifyMode;
  /** Armored OpenPGP public keys trusted to sign. */
  readonly publicKeys: readonly string[];
}

/** Options for {@link GitSource}. */
export interface GitSourceOptions {
  /** Repository URL: `https://host/owner/repo.git` (credentials in it are moved to `auth`). */
  readonly url: string;
  /** What to follow; default `{ branch: 'main' }`. */
  readonly ref?: GitRef;
  /** Only this folder of the repository becomes the artifact. */
  readonly path?: string;
  /** A persistent folder for the repository cache and the artifacts. */
  readonly cacheDir: string;
  /** Credentials and TLS settings for the server; default none (a public repository). */
  readonly auth?: GitAuth;
  /** OpenPGP signature verification of the commit or tag; default none (`mode: 'off'`). */
  readonly verify?: GitVerifyOptions;
  /** Extra ignore patterns (`.sourceignore` syntax), evaluated after every other rule. */
  readonly ignore?: readonly string[] | string;
  /** Apply Flux's default exclusions (default true). */
  readonly defaultIgnores?: boolean;
  /**
   * Bounds of one artifact, checked before any file is written: default 100,000 files, 100 MiB
   * per file (`maxFileBytes`) and 1 GiB in all (`maxTotalBytes`).
   */
  readonly limits?: ArtifactLimits;
  /** `isomorphic-git` (default), `native` (the git program), or an engine of your own. */
  readonly engine?: EngineName | GitEngine;
  /**
   * Artifacts kept on disk, the current one included (default 2, at least 1), counted as every
   * source counts them; the `previous` artifact given to a fetch is kept too, so its readers finish.
   */
  readonly keepArtifacts?: number;
  /** Progress of long clones and fetches. */
  readonly onProgress?: (progress: GitProgress) => void;
  /**
   * Milliseconds the server may stay silent (connecting, answering, or in the middle of a
   * transfer) before the fetch fails with `SOURCE_GIT_TIMEOUT` (default 60000). The fetch as a
   * whole is bounded by the signal (the Reconciler's timeout).
   */
  readonly timeoutMs?: number;
  /** `node:fs` for the isomorphic-git engine (injected in tests). */
  readonly fs?: NodeFs;
}

/** What the store records beside each artifact besides revision, digest and files. */
interface GitArtifactData {
  readonly meta: ArtifactMeta;
}

/** How long after a build the spare copy for the next build starts (see `#prepareSpare`). */
const SPARE_DELAY_MS = 1000;

/** One fetch at a time per repository folder, across every source of this process. */
const locks = new Map<string, Promise<unknown>>();

async function withLock<T>(key: string, work: () => Promise<T>): Promise<T> {
  const before = locks.get(key) ?? Promise.resolve();
  const run = before.then(work, work);
  const settled = run.catch(() => undefined);
  locks.set(key, settled);
  try {
    return await run;
  } finally {
    if (locks.get(key) === settled) locks.delete(key);
  }
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/**
 * A {@link Source} that follows a Git repository over HTTP(S): a branch, a tag, the highest tag in
 * a semver range, or a pinned commit. It keeps a shallow clone in `cacheDir`, asks the server only
 * for the one ref on each poll, and builds a new artifact only when the commit (or the settings)
 * changed. Artifacts are written to fresh folders and never modified, so the previous one stays
 * usable while a fetch fails.
 */
export class GitSource implements Source {
  readonly description: string;
  /** The repository URL without credentials. */
  readonly url: string;
  /** What the source follows (branch, tag, semver range or commit), as given or `{ branch: 'main' }`. */
  readonly ref: GitRef;
  readonly #options: GitSourceOptions;
  readonly #engine: GitEngine;
  readonly #headers: Record<string, string>;
  readonly #redactor: Redactor;
  readonly #repoDir: string;
  readonly #store: ArtifactStore<GitArtifactData>;
  readonly #settingsKey: string;
  #keys: Promise<Key[]> | undefined;
  #last: Artifact | undefined;
  /** Ignore decisions of earlier builds (the options are fixed, the `.sourceignore` files may change). */
  readonly #decisions = new IgnoreDecisions();

  /** Validates the options; throws `SourceError` (`SOURCE_GIT_INVALID_OPTIONS`) when they are wrong. */
  constructor(options: GitSourceOptions) {
    const split = splitUrlCredentials(options.url);
    const auth: GitAuth | undefined =
      split.basic && !options.auth?.basic && !options.auth?.bearerToken
        ? { ...(options.auth ?? {}), basic: split.basic }
        : options.auth;
    this.url = split.url;
    this.ref = options.ref ?? { branch: 'main' };
    this.#options = { ...options, ...(auth ? { auth } : {}) };
    this.#headers = authHeaders(auth);
    this.#redactor = new Redactor([...secretsOf(auth), ...(split.basic ? [split.basic.password] : [])]);
    this.description = `git ${this.url}@${describeRef(this.ref)}${options.path ? ` path ${options.path}` : ''}`;

    const invalid = (message: string): never => {
      throw gitError(GitErrorCodes.InvalidOptions, message, this.#redactor);
    };
    if ('semver' in this.ref && !validRange(this.ref.semver))
      invalid(`invalid semver range "${this.ref.semver}"`);
    if ('commit' in this.ref && !/^[0-9a-f]{40}$/i.test(this.ref.commit))
      invalid('a pinned commit must be a full 40-character SHA-1');
    if (options.timeoutMs !== undefined && !(options.timeoutMs > 0))
      invalid(`timeoutMs must be a number of milliseconds > 0, got ${String(options.timeoutMs)}`);
    if (options.verify && options.verify.mode !== 'off' && options.verify.publicKeys.length === 0) {
      invalid('signature verification needs at least one public key');
    }
    if (options.verify?.mode === 'tag' && !('tag' in this.ref || 'semver' in this.ref)) {
      invalid('tag signature verification needs a tag or semver ref');
    }
    const isSsh = /^ssh:\/\//i.test(this.url) || /^[^@/:]+@[^:/]+:/.test(this.url);
    const engine = options.engine ?? 'isomorphic-git';
    if (typeof engine === 'string') {
      if (isSsh && engine === 'isomorphic-git') {
        invalid('SSH URLs need the native engine (engine: "native"); isomorphic-git speaks HTTP(S) only');
      }
      if (!isSsh && !/^https?:\/\//i.test(this.url)) invalid('the URL must start with https:// or http://');
    }
    this.#engine =
      typeof engine === 'string'
        ? engine === 'native'
          ? new NativeGitEngine()
          : new IsomorphicGitEngine(options.fs)
        : engine;

    const repoKey = sha256(`${this.#engine.name}\n${normaliseRepoUrl(this.url)}`).slice(0, 16);
    // Pinned commits need full history; branches and tags live in a shallow clone.
    this.#repoDir = join(options.cacheDir, 'repos', `${repoKey}${'commit' in this.ref ? '-full' : ''}.git`);
    this.#store = new ArtifactStore({ root: join(options.cacheDir, 'artifacts') });
    this.#settingsKey = sha256(
      JSON.stringify([
        this.url,
        describeRef(this.ref),
        options.path ?? '',
        options.ignore ?? null,
        options.defaultIgnores ?? true,
        options.limits ?? null,
        options.verify?.mode ?? 'off',
        options.verify?.publicKeys ?? [],
      ]),
    ).slice(0, 16);
  }

  /** The engine in use (`isomorphic-git` or `native`). */
  get engine(): EngineName {
    return this.#engine.name;
  }

  /**
   * Whether a change notification concerns this source: the URL (normalised, without
   * credentials) must match when given, and the ref (short or full name) must be the followed
   * branch or tag, or any tag for a semver range. A pinned commit never changes.
   */
  matches(change: SourceChange): boolean {
    if (change.bucket !== undefined) return false;
    if (
      change.url !== undefined &&
      normaliseRepoUrl(splitUrlCredentials(change.url).url) !== normaliseRepoUrl(this.url)
    ) {
      return false;
    }
    if (change.ref === undefined) return true;
    const kind = refKind(this.ref);
    if (kind === 'commit') return false;
    if (kind === 'semver') return change.ref.startsWith('refs/tags/') || !change.ref.startsWith('refs/');
    const full = fullRefName(this.ref) as string;
    const short = full.replace(/^refs\/(heads|tags)\//, '');
    return change.ref === full || change.ref === short;
  }

  /**
   * Fetches the current artifact. When the ref still points at the commit of the last artifact
   * (this process's, `previous`, or one on disk from an earlier process) and the settings are the
   * same, only the ref is asked for and that artifact is returned as it is.
   */
  async fetch(options: FetchOptions): Promise<Artifact> {
    const { signal } = options;
    try {
      signal.throwIfAborted();
      return await withLock(this.#repoDir, () => this.#fetch(options));
    } catch (error) {
      if (signal.aborted)
        throw gitError(GitErrorCodes.Aborted, `fetch of ${this.url} aborted`, this.#redactor, signal.reason);
      throw this.#toSourceError(error);
    }
  }

  /**
   * Fetches the artifact of an earlier revision (`main@sha1:<commit>`, as {@link fetch} wrote it):
   * that commit, built with these settings, so a rollback after a restart applies exactly what was
   * applied then. A commit the server no longer has (force-pushed away, garbage-collected) is a
   * `SourceError` with code `SOURCE_REVISION_UNAVAILABLE`.
   */
  async fetchRevision(revision: string, options: FetchOptions): Promise<Artifact> {
    const { signal } = options;
    const commit = commitOfRevision(revision);
    if (commit === undefined) {
      throw new SourceError(
        ErrorCodes.SourceRevisionUnavailable,
        `${this.url}: ${JSON.stringify(revision)} is not a Git revision (<ref>@sha1:<commit>)`,
      );
    }
    const at = revision.lastIndexOf('@');
    const pinned: ResolvedRef = {
      revisionName: at > 0 ? revision.slice(0, at) : undefined,
      fullName: undefined,
      commit,
    };
    try {
      signal.throwIfAborted();
      // The newest artifact stays protected from garbage collection and serves as the link base.
      const base = { ...options, previous: options.previous ?? this.#last };
      return await withLock(this.#repoDir, () => this.#fetch(base, pinned));
    } catch (error) {
      if (signal.aborted)
        throw gitError(GitErrorCodes.Aborted, `fetch of ${this.url} aborted`, this.#redactor, signal.reason);
      const typed = this.#toSourceError(error);
      if ((typed as { code?: unknown }).code === GitErrorCodes.RefNotFound) {
        throw new SourceError(
          ErrorCodes.SourceRevisionUnavailable,
          `${this.url} can no longer serve revision ${revision}: ${typed.message}`,
          { cause: typed },
        );
      }
      throw typed;
    }
  }

  async #fetch({ signal, previous }: FetchOptions, pinned?: ResolvedRef): Promise<Artifact> {
    const context: RemoteContext = {
      url: this.url,
      headers: this.#headers,
      caCert: this.#options.auth?.caCert,
      signal,
      onProgress: this.#options.onProgress,
      timeoutMs: this.#options.timeoutMs ?? 60_000,
    };
    await mkdir(this.#store.root, { recursive: true });
    await this.#engine.ensureRepo(this.#repoDir, this.url);

    let resolved: ResolvedRef | undefined;
    const byCommit = 'commit' in this.ref || pinned !== undefined;
    // An earlier commit is fetched with the whole history of the followed ref (it may be far
    // behind the tip, and the repository here may be a depth-1 clone).
    let historyOf: string | undefined;
    if (pinned) {
      resolved = pinned;
      if (!('commit' in this.ref)) {
        const refs = await this.#engine.listRemoteRefs(context, refPrefix(this.ref));
        historyOf = resolveRef(this.ref, refs)?.fullName;
      }
    } else if ('commit' in this.ref) {
      resolved = resolveRef(this.ref, []);
    } else {
      this.#phase('listing refs');
      const refs = await this.#engine.listRemoteRefs(context, refPrefix(this.ref));
      resolved = resolveRef(this.ref, refs);
    }
    if (!resolved) {
      throw gitError(
        GitErrorCodes.RefNotFound,
        `${describeRef(this.ref)} not found in ${this.url}`,
        this.#redactor,
      );
    }
    const verifyTag = this.#options.verify?.mode === 'tag';
    const name = `${resolved.commit}${verifyTag && resolved.tagObject ? `-${resolved.tagObject.slice(0, 12)}` : ''}-${this.#settingsKey}`;
    const revision = formatRevision(resolved.revisionName, resolved.commit);

    const reused = await this.#reuse(name, revision, previous);
    if (reused) {
      // A restarted process: get the next artifact's links ready while nothing is asked of us.
      if (!this.#store.hasPendingSpare()) {
        const base = await this.#baseFor(reused);
        if (base) this.#prepareSpare(base.dir, base.files);
      }
      return reused;
    }

    signal.throwIfAborted();
    const scratch = await this.#store.stage();
    // The previous artifact's files, hard-linked ahead of time (after the previous build) when that
    // copy is ready; otherwise linked now while the network is busy. What changed is removed again
    // once the new tree is known.
    const base = await this.#baseFor(previous);
    let linking: Promise<boolean> = Promise.resolve(false);
    if (base && (await this.#store.takeSpare(basename(base.dir), scratch))) linking = Promise.resolve(true);
    else if (base) linking = linkAll(base.dir, base.files, scratch, isLinkable);
    try {
      const needed = [resolved.commit, ...(verifyTag && resolved.tagObject ? [resolved.tagObject] : [])];
      if (!(await this.#hasAll(needed))) {
        this.#phase('fetching');
        await this.#engine.fetch(context, this.#repoDir, {
          refName: historyOf ?? resolved.fullName,
          depth: historyOf ? FULL_HISTORY : byCommit ? undefined : 1,
          ...(byCommit ? {} : { commit: resolved.commit, tagObject: resolved.tagObject }),
        });
        if (!(await this.#hasAll(needed))) {
          throw gitError(
            GitErrorCodes.RefNotFound,
            `${describeRef(this.ref)} (${resolved.commit}) not found in ${this.url}`,
            this.#redactor,
          );
        }
      }
      signal.throwIfAborted();
      const linked = (await linking) && base ? base.files : undefined;
      const [artifact, files] = await this.#build(
        name,
        revision,
        resolved,
        signal,
        scratch,
        linked,
        base?.files,
      );
      this.#last = artifact;
      await this.#collectGarbage(artifact, previous);
      this.#prepareSpare(artifact.dir, files);
      return artifact;
    } finally {
      await linking.catch(() => false);
      await this.#store.discard(scratch);
    }
  }

  async #hasAll(oids: readonly string[]): Promise<boolean> {
    for (const oid of oids) if (!(await this.#engine.hasObject(this.#repoDir, oid))) return false;
    return true;
  }

  /** The existing artifact for this commit and settings, when there is one. */
  async #reuse(
    name: string,
    revision: string,
    previous: Artifact | undefined,
  ): Promise<Artifact | undefined> {
    const dir = this.#store.dirOf(name);
    for (const candidate of [this.#last, previous]) {
      if (candidate && candidate.dir === dir && candidate.revision === revision && existsSync(dir))
        return candidate;
    }
    const stored = await this.#store.get(name);
    if (!stored || stored.revision !== revision || !stored.data) return undefined;
    // Back in use after a restart: the newest, as far as keep-N is concerned.
    await this.#store.touch(name);
    const artifact: Artifact = { revision, digest: stored.digest, dir, meta: stored.data.meta };
    this.#last = artifact;
    return artifact;
  }

  async #build(
    name: string,
    revision: string,
    resolved: ResolvedRef,
    signal: AbortSignal,
    scratch: string,
    linked: readonly StoredFile[] | undefined,
    baseFiles: readonly StoredFile[] | undefined,
  ): Promise<[Artifact, readonly StoredFile[]]> {
    const commit = parseCommit((await this.#engine.readObject(this.#repoDir, resolved.commit)).content);
    const signed = await this.#verify(commit, resolved);

    let tree = commit.headers.get('tree') as string;
    const subPath = this.#options.path?.replace(/^\/+|\/+$/g, '').replace(/^\.\/?/, '');
    if (subPath) {
      const sub = await this.#engine.subtree(this.#repoDir, tree, subPath);
      if (!sub)
        throw gitError(
          GitErrorCodes.PathNotFound,
          `path "${subPath}" not found at ${revision}`,
          this.#redactor,
        );
      tree = sub;
    }
    this.#phase('listing files');
    let listed = await this.#engine.listFiles(this.#repoDir, tree, signal);
    if (baseFiles) listed = withKnownSizes(listed, baseFiles);
    const files = await selectFiles(listed, {
      ignore: this.#options.ignore,
      defaultIgnores: this.#options.defaultIgnores,
      limits: this.#options.limits,
      decisions: this.#decisions,
      readBlob: (oid) => this.#engine.readBlob(this.#repoDir, oid),
    });

    const dir = this.#store.dirOf(name);
    const toWrite = linked ? await this.#keepUnchanged(scratch, linked, files) : files;
    this.#phase('writing files', toWrite.length, files.length);
    await this.#engine.writeFiles(this.#repoDir, toWrite, scratch, signal);
    this.#phase('checking files');
    const measured = await checkWritten(scratch, files, this.#options.limits);
    const author = parsePerson(commit.headers.get('author'));
    const committer = parsePerson(commit.headers.get('committer'));
    const meta: ArtifactMeta = {
      author: formatPerson(author),
      committer: formatPerson(committer),
      message: commit.message.trim(),
      time: committer?.time ?? author?.time,
      ...(signed === undefined ? {} : { verified: true, signer: signed.userId ?? signed.keyId }),
      origin: this.url,
    };
    const artifact: Artifact = { revision, digest: digestFiles(files), dir, meta };
    const recorded = storedFiles(files, measured);
    await this.#store.publish(scratch, {
      name,
      revision,
      digest: artifact.digest,
      files: recorded,
      data: { meta },
    });
    this.#phase('done', files.length, files.length);
    return [artifact, recorded];
  }

  /**
   * Removes from a folder filled with links to the previous artifact what changed or left, and
   * returns the files still to write (new, changed, and every symbolic link, whose target is
   * checked on the way).
   */
  async #keepUnchanged(
    scratch: string,
    linked: readonly StoredFile[],
    files: readonly TreeFile[],
  ): Promise<TreeFile[]> {
    const next = files.map((f) => [f.path, fileKey(f)] as const);
    const toWrite = await removeChanged(scratch, linked, next, isLinkable);
    return files.filter((f) => toWrite.has(f.path));
  }

  /**
   * Has the store hard-link the files of a fresh artifact into a spare folder in the background
   * (see `ArtifactStore.prepareSpare`), so the next build (a new commit) starts from a full folder.
   */
  #prepareSpare(artifactDir: string, files: readonly StoredFile[]): void {
    this.#store.prepareSpare(basename(artifactDir), files, {
      delayMs: SPARE_DELAY_MS,
      isRegular: isLinkable,
    });
  }

  /**
   * Finishes background work now: the spare copy of the last artifact (see the README) is made at
   * once if it was still waiting to start, and awaited. Call it before removing the cache folder;
   * fetches never need it.
   */
  async settled(): Promise<void> {
    await this.#store.settled();
  }

  /** Reports the phase of a fetch to the progress callback. */
  #phase(phase: string, loaded = 0, total?: number): void {
    this.#options.onProgress?.({ phase, loaded, ...(total === undefined ? {} : { total }) });
  }

  /** The previous artifact of these settings with its file list, to link unchanged files from. */
  async #baseFor(
    previous: Artifact | undefined,
  ): Promise<{ dir: string; files: readonly StoredFile[] } | undefined> {
    const candidate = this.#last ?? previous;
    if (!candidate || join(candidate.dir, '..') !== this.#store.root) return undefined;
    const stored = await this.#store.get(basename(candidate.dir)).catch(() => undefined);
    return stored?.files ? { dir: candidate.dir, files: stored.files } : undefined;
  }

  /** Verifies the configured signature; returns the signer, undefined when verification is off. */
  async #verify(commit: ParsedObject, resolved: ResolvedRef): Promise<VerifiedSignature | undefined> {
    const mode = this.#options.verify?.mode ?? 'off';
    if (mode === 'off') return undefined;
    let target: ParsedObject = commit;
    let what = `commit ${resolved.commit}`;
    if (mode === 'tag') {
      if (!resolved.tagObject) {
        throw gitError(
          GitErrorCodes.SignatureMissing,
          `${resolved.revisionName} is a lightweight tag: there is no tag signature to verify`,
          this.#redactor,
        );
      }
      target = parseTag((await this.#engine.readObject(this.#repoDir, resolved.tagObject)).content);
      what = `tag ${resolved.revisionName}`;
    }
    if (!target.signature)
      throw gitError(GitErrorCodes.SignatureMissing, `${what} is not signed`, this.#redactor);
    this.#keys ??= readPublicKeys(this.#options.verify?.publicKeys ?? []);
    let keys: Key[];
    try {
      keys = await this.#keys;
    } catch (error) {
      this.#keys = undefined;
      throw gitError(
        GitErrorCodes.InvalidOptions,
        'the public keys for signature verification cannot be read',
        this.#redactor,
        error,
      );
    }
    const verified = await verifyDetached(target.payload, target.signature, keys);
    if (!verified) {
      throw gitError(
        GitErrorCodes.SignatureInvalid,
        `the signature of ${what} does not verify against the given keys`,
        this.#redactor,
      );
    }
    return verified;
  }

  /**
   * Deletes old artifacts of these settings through the store (keep-N, the current one included,
   * and `previous`), and spare copies that will never be taken (of artifacts other than the current).
   */
  async #collectGarbage(current: Artifact, previous: Artifact | undefined): Promise<void> {
    const suffix = `-${this.#settingsKey}`;
    await this.#store.collectGarbage({
      keep: this.#options.keepArtifacts ?? 2,
      current: basename(current.dir),
      protect: [
        previous && join(previous.dir, '..') === this.#store.root ? basename(previous.dir) : undefined,
      ],
      owns: (name) => name.endsWith(suffix),
    });
  }

  #toSourceError(error: unknown): Error {
    if (error instanceof ArtifactProblem) {
      return gitError(
        error.code,
        error.message.slice(error.file ? error.file.length + 2 : 0),
        this.#redactor,
        undefined,
        error.file ? { file: error.file } : undefined,
      );
    }
    if (error instanceof TransportError) {
      if (error.kind === 'timeout') {
        return gitError(GitErrorCodes.Timeout, `${this.url}: ${error.message}`, this.#redactor);
      }
      if (error.kind === 'auth') {
        return gitError(
          GitErrorCodes.AuthFailed,
          `authentication to ${this.url} failed: ${error.message}`,
          this.#redactor,
        );
      }
      return gitError(
        GitErrorCodes.FetchFailed,
        `cannot fetch ${this.url}: ${error.message}`,
        this.#redactor,
      );
    }
    if (error instanceof GitOpsError) return error;
    return gitError(
      GitErrorCodes.FetchFailed,
      `cannot fetch ${this.url}: ${describe(error)}`,
      this.#redactor,
      error,
    );
  }
}
