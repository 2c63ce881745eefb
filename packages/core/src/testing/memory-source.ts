import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, normalize, sep } from 'node:path';
import { type Clock, systemClock } from '../clock.js';
import { ErrorCodes, SourceError } from '../errors.js';
import type { Artifact, FetchOptions, Source, SourceChange } from '../types.js';

/** Options of a {@link MemorySource}. */
export interface MemorySourceOptions {
  /** Branch name used in revisions (`<branch>@sha1:<hex>`) and by `matches` (default `main`). */
  readonly branch?: string;
  /** A URL-like name, for `description`, `meta.origin` and `matches` (default `memory://source`). */
  readonly url?: string;
  /** Files of a first commit, made at construction when given. */
  readonly files?: Readonly<Record<string, string>>;
  /** Author of commits that name none (default `Test <test@example.com>`). */
  readonly author?: string;
  /** Time of commits (default: the system clock). */
  readonly clock?: Clock;
  /** Parent folder of the per-revision folders (default: the OS temp folder). */
  readonly tmpDir?: string;
}

/** Options of {@link MemorySource.commit}. */
export interface CommitOptions {
  /** The commit's author (`Name <email>`); default the source's `author` option. */
  readonly author?: string;
  /** The commit message; default `Update`. It takes part in the commit's sha. */
  readonly message?: string;
}

/** One commit of a memory source. */
export interface MemoryCommit {
  /** The revision an artifact of this commit carries, as GitSource spells it: `<branch>@sha1:<sha>`. */
  readonly revision: string;
  /** A sha1 of the files, the parent and the message: equal content and history give equal shas. */
  readonly sha: string;
  /** The sha of the commit before it; undefined for the first commit. */
  readonly parent: string | undefined;
  /** The committed files: relative `/` path to text content. */
  readonly files: Readonly<Record<string, string>>;
  /** Who made the commit (`Name <email>`). */
  readonly author: string;
  /** The commit message. */
  readonly message: string;
  /** When it was committed, ISO 8601, read from the source's clock. */
  readonly time: string;
}

/** Checks a file path: relative, `/`-separated, inside the artifact folder. */
function checkPath(path: string): string {
  const clean = normalize(path).split(sep).join('/');
  if (clean.startsWith('/') || clean === '..' || clean.startsWith('../') || clean === '.' || clean === '') {
    throw new SourceError(ErrorCodes.SourceUnsafePath, `Not a relative path inside the artifact: ${path}`);
  }
  return clean;
}

/**
 * A repository URL reduced to what names the repository: `host[:port]/path`, host in lower case,
 * without scheme, credentials, default port, trailing `/` or `.git`. An scp-style address
 * (`git@github.com:org/repo.git`) reads as `ssh://git@github.com/org/repo.git` first.
 */
function comparableUrl(url: string): string {
  const trimmed = url.trim();
  const hasScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(trimmed);
  const scp = hasScheme ? null : /^(?:[^@/:]+@)?([^/:]+):\/*(.*)$/.exec(trimmed);
  const text = scp ? `ssh://${scp[1]}/${scp[2]}` : trimmed;
  let place = text;
  try {
    const parsed = new URL(text);
    const port = parsed.port === '' || parsed.port === '22' ? '' : `:${parsed.port}`;
    place = `${parsed.hostname.toLowerCase()}${port}${parsed.pathname}`;
  } catch {
    // Not a URL at all: compare the text itself, trimmed the same way.
  }
  return place.replace(/\/+$/, '').replace(/\.git$/i, '');
}

/** sha256 of the files' paths and contents, in path order: the artifact digest. */
function contentDigest(files: Readonly<Record<string, string>>): string {
  const hash = createHash('sha256');
  for (const path of Object.keys(files).sort()) {
    hash.update(`${path}\0${files[path]}\0`);
  }
  return `sha256:${hash.digest('hex')}`;
}

/**
 * A Git-like {@link Source} held in memory, for unit tests of reconcile logic. Set files, then
 * `commit()` to make a revision (`main@sha1:<40 hex>` from content, parent and message) with an author
 * and a message. `fetch()` returns the newest commit, written to a fresh temporary folder per revision
 * (an Artifact is a folder on disk). Call {@link cleanup} when done.
 */
export class MemorySource implements Source {
  readonly description: string;
  readonly #branch: string;
  readonly #url: string;
  readonly #author: string;
  readonly #clock: Clock;
  readonly #tmpDir: string;
  #working: Record<string, string> = {};
  readonly #commits: MemoryCommit[] = [];
  readonly #artifacts = new Map<string, Promise<Artifact>>();
  readonly #dirs: string[] = [];
  #failures: Error[] = [];
  #fetches = 0;

  /** Creates the source; with `files`, makes a first commit of them. */
  constructor(options: MemorySourceOptions = {}) {
    this.#branch = options.branch ?? 'main';
    this.#url = options.url ?? 'memory://source';
    this.#author = options.author ?? 'Test <test@example.com>';
    this.#clock = options.clock ?? systemClock;
    this.#tmpDir = options.tmpDir ?? tmpdir();
    this.description = `memory ${this.#url}@${this.#branch}`;
    if (options.files) {
      this.setFiles(options.files);
      this.commit({ message: 'Initial commit' });
    }
  }

  /** Replaces every working file (uncommitted until {@link commit}). */
  setFiles(files: Readonly<Record<string, string>>): this {
    this.#working = {};
    for (const [path, content] of Object.entries(files)) this.#working[checkPath(path)] = content;
    return this;
  }

  /** Adds or replaces one working file. */
  setFile(path: string, content: string): this {
    this.#working[checkPath(path)] = content;
    return this;
  }

  /** Removes one working file. */
  removeFile(path: string): this {
    delete this.#working[checkPath(path)];
    return this;
  }

  /** Commits the working files; returns the new revision. */
  commit(options: CommitOptions = {}): string {
    const parent = this.head?.sha;
    const files = { ...this.#working };
    const message = options.message ?? 'Update';
    const hash = createHash('sha1');
    hash.update(`${contentDigest(files)}\0${parent ?? ''}\0${message}`);
    const sha = hash.digest('hex');
    const commit: MemoryCommit = {
      revision: `${this.#branch}@sha1:${sha}`,
      sha,
      parent,
      files,
      author: options.author ?? this.#author,
      message,
      time: new Date(this.#clock.now()).toISOString(),
    };
    this.#commits.push(commit);
    return commit.revision;
  }

  /** The newest commit, if any. */
  get head(): MemoryCommit | undefined {
    return this.#commits.at(-1);
  }

  /** Every commit, oldest first. */
  get commits(): readonly MemoryCommit[] {
    return [...this.#commits];
  }

  /** How many times {@link fetch} was called (including failed calls). */
  get fetchCount(): number {
    return this.#fetches;
  }

  /** Makes the next fetch throw `error` (default: a `SourceError` with code `SOURCE_FETCH_FAILED`). */
  failNextFetch(error?: Error): this {
    this.#failures.push(
      error ?? new SourceError(ErrorCodes.SourceFetchFailed, `${this.description}: fetch failed`),
    );
    return this;
  }

  /** Returns the newest commit as an artifact; the same revision gives the same artifact and folder. */
  async fetch(options: FetchOptions): Promise<Artifact> {
    this.#fetches++;
    options.signal.throwIfAborted();
    const failure = this.#failures.shift();
    if (failure) throw failure;
    const head = this.head;
    if (!head) throw new SourceError(ErrorCodes.SourceNotFound, `${this.description}: nothing committed yet`);
    return this.#artifactOf(head);
  }

  /** The artifact of a commit, written once and reused. */
  #artifactOf(commit: MemoryCommit): Promise<Artifact> {
    let artifact = this.#artifacts.get(commit.revision);
    if (!artifact) {
      artifact = this.#materialize(commit);
      this.#artifacts.set(commit.revision, artifact);
      // A failed write must not be cached: the next fetch tries again.
      artifact.catch(() => this.#artifacts.delete(commit.revision));
    }
    return artifact;
  }

  /**
   * Returns the artifact of an earlier commit, as {@link fetch} returned it then. A revision never
   * committed here is a `SourceError` with code `SOURCE_REVISION_UNAVAILABLE`.
   */
  async fetchRevision(revision: string, options: FetchOptions): Promise<Artifact> {
    options.signal.throwIfAborted();
    const commit = this.#commits.find((c) => c.revision === revision);
    if (!commit) {
      throw new SourceError(
        ErrorCodes.SourceRevisionUnavailable,
        `${this.description}: revision ${revision} was never committed here`,
      );
    }
    return this.#artifactOf(commit);
  }

  /**
   * Whether a change notification names this source's URL (when given) and branch (when given).
   * URLs are compared as GitSource compares them: host case, credentials, a `.git` suffix, a trailing
   * `/` and the scheme do not matter, and `git@host:org/repo` is `host/org/repo`.
   */
  matches(change: SourceChange): boolean {
    if (change.url !== undefined && comparableUrl(change.url) !== comparableUrl(this.#url)) return false;
    if (change.ref === undefined) return change.url !== undefined;
    return change.ref === this.#branch || change.ref === `refs/heads/${this.#branch}`;
  }

  /** Deletes every folder this source wrote. */
  async cleanup(): Promise<void> {
    const dirs = this.#dirs.splice(0);
    this.#artifacts.clear();
    await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
  }

  async #materialize(commit: MemoryCommit): Promise<Artifact> {
    const dir = await mkdtemp(join(this.#tmpDir, 'gitops-kit-memory-source-'));
    this.#dirs.push(dir);
    for (const [path, content] of Object.entries(commit.files)) {
      const file = join(dir, ...path.split('/'));
      await mkdir(dirname(file), { recursive: true });
      await writeFile(file, content);
    }
    return Object.freeze({
      revision: commit.revision,
      digest: contentDigest(commit.files),
      dir,
      meta: Object.freeze({
        author: commit.author,
        committer: commit.author,
        message: commit.message,
        time: commit.time,
        origin: this.#url,
      }),
    });
  }
}
