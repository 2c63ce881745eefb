import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { ErrorCodes, GitOpsError, SourceError } from '../errors.js';
import type { Artifact, FetchOptions, Source } from '../types.js';
import {
  type ArtifactLimits,
  type ResolvedArtifactLimits,
  resolveArtifactLimits,
} from './artifact-limits.js';
import { type ArtifactFileInput, ArtifactStore } from './artifact-store.js';
import { createIgnoreMatcher, type IgnoreMatcherOptions } from './ignore.js';
import { digestDirectory, pathExists, throwIfAborted, type WalkedFile } from './walk.js';

/** Options for {@link DirectorySource}. */
export interface DirectorySourceOptions {
  /** The folder to serve. */
  readonly path: string;
  /** Default exclusions and extra patterns (`.sourceignore` syntax), as for every source. */
  readonly ignore?: IgnoreMatcherOptions;
  /** Read `.sourceignore` files found in the folder (default true). */
  readonly readIgnoreFiles?: boolean;
  /**
   * Where snapshots are written, one sub-folder per digest (and nothing else). Default: a new
   * temporary folder owned by this source (removed by {@link DirectorySource.dispose}).
   */
  readonly artifactsDir?: string;
  /** Caps on files and bytes (defaults: 10,000 files, 256 MiB in all, 256 MiB per file). */
  readonly limits?: ArtifactLimits;
  /** Snapshots kept, the current one included (default 2, at least 1); the `previous` one is kept too. */
  readonly keepArtifacts?: number;
  /** Refuse folders with more files than this. @deprecated use `limits.maxFiles`. */
  readonly maxFiles?: number;
  /** Refuse folders with more bytes than this. @deprecated use `limits.maxTotalBytes`. */
  readonly maxTotalBytes?: number;
}

const DEFAULT_LIMITS: ResolvedArtifactLimits = {
  maxFiles: 10_000,
  maxFileBytes: 256 * 1024 * 1024,
  maxTotalBytes: 256 * 1024 * 1024,
};

/**
 * A local folder as a source, for demos, tests and users without a Git server. Every fetch takes
 * a content digest of the folder (honouring ignore rules); when it changed, the files are copied
 * into an immutable snapshot folder named by the digest, so renders never see a half-edited tree.
 * The revision is `sha256:<digest>`; an unchanged folder returns the previous artifact as it is.
 */
export class DirectorySource implements Source {
  readonly description: string;
  readonly #path: string;
  readonly #options: DirectorySourceOptions;
  readonly #limits: ResolvedArtifactLimits;
  readonly #keep: number;
  #artifactsDir: string | undefined;
  readonly #ownsArtifactsDir: boolean;
  /** The store's records live apart, so `artifactsDir` holds nothing but snapshots. */
  #store: ArtifactStore | undefined;
  #recordsDir: string | undefined;
  /** Snapshots this source wrote: the only ones its garbage collection may remove. */
  readonly #written = new Set<string>();

  /** @param options the folder, ignore rules, limits and where snapshots go. */
  constructor(options: DirectorySourceOptions) {
    this.#path = resolve(options.path);
    this.#options = options;
    this.#limits = resolveArtifactLimits(
      {
        ...(options.maxFiles === undefined ? {} : { maxFiles: options.maxFiles }),
        ...(options.maxTotalBytes === undefined ? {} : { maxTotalBytes: options.maxTotalBytes }),
        ...options.limits,
      },
      DEFAULT_LIMITS,
    ).limits;
    this.#keep = Math.max(1, options.keepArtifacts ?? 2);
    this.#artifactsDir = options.artifactsDir === undefined ? undefined : resolve(options.artifactsDir);
    this.#ownsArtifactsDir = options.artifactsDir === undefined;
    this.description = `directory ${this.#path}`;
  }

  /**
   * A folder keeps no history: the revision is served only while the folder still holds it (the
   * current content digests to it); any other is a `SourceError` with code
   * `SOURCE_REVISION_UNAVAILABLE`. So a reconciler over a folder cannot roll back after a restart,
   * and says why.
   */
  async fetchRevision(revision: string, options: FetchOptions): Promise<Artifact> {
    const current = await this.fetch(options);
    if (current.revision === revision) return current;
    throw new SourceError(
      ErrorCodes.SourceRevisionUnavailable,
      `${this.description} keeps no history: revision ${revision} is gone (it now holds ${current.revision})`,
    );
  }

  /** Digests the folder and returns the previous artifact when unchanged, or a new snapshot. */
  async fetch(options: FetchOptions): Promise<Artifact> {
    const { signal, previous } = options;
    throwIfAborted(signal);
    const info = await stat(this.#path).catch(() => undefined);
    if (!info?.isDirectory()) {
      const what = info ? 'is not a folder' : 'does not exist';
      throw new SourceError(ErrorCodes.SourceNotFound, `folder ${this.#path} ${what}`);
    }
    try {
      const scan = await this.#scan(signal);
      if (previous && previous.digest === scan.digest && (await pathExists(previous.dir))) return previous;
      const store = await this.#openStore();
      const record = await store.write(this.#read(scan.files), { signal });
      this.#written.add(record.name);
      const dir = store.dirOf(record.name);
      await store.collectGarbage({
        keep: this.#keep,
        current: record.name,
        protect: [
          previous && resolve(previous.dir, '..') === store.root ? basename(previous.dir) : undefined,
        ],
        owns: (name) => this.#written.has(name),
      });
      for (const name of this.#written) if (!(await store.get(name))) this.#written.delete(name);
      const newest = scan.files.reduce((max, f) => Math.max(max, f.mtimeMs), 0);
      return {
        revision: record.digest,
        digest: record.digest,
        dir,
        meta: { origin: this.#path, ...(newest > 0 ? { time: new Date(newest).toISOString() } : {}) },
      };
    } catch (error) {
      if (error instanceof GitOpsError) throw error;
      const message = error instanceof Error ? error.message : String(error);
      throw new SourceError(ErrorCodes.SourceFetchFailed, `reading folder ${this.#path} failed: ${message}`, {
        cause: error,
      });
    }
  }

  /** Removes the snapshots folder when this source created it, and the store's records. */
  async dispose(): Promise<void> {
    if (this.#ownsArtifactsDir && this.#artifactsDir) {
      await rm(this.#artifactsDir, { recursive: true, force: true });
      this.#artifactsDir = undefined;
      this.#written.clear();
    }
    if (this.#recordsDir) await rm(this.#recordsDir, { recursive: true, force: true });
    this.#recordsDir = undefined;
    this.#store = undefined;
  }

  async #scan(signal: AbortSignal): Promise<{ digest: string; files: readonly WalkedFile[] }> {
    const matcher = createIgnoreMatcher(this.#options.ignore);
    const result = await digestDirectory(this.#path, {
      matcher,
      ignoreFile: this.#options.readIgnoreFiles === false ? false : undefined,
      maxFiles: this.#limits.maxFiles,
      signal,
    });
    const limit = this.#limits.maxTotalBytes;
    let total = 0;
    for (const file of result.files) {
      if (file.size > this.#limits.maxFileBytes) {
        throw new SourceError(
          ErrorCodes.SourceLimitExceeded,
          `file is ${file.size} bytes, over the limit of ${this.#limits.maxFileBytes}`,
          { location: { file: file.path } },
        );
      }
      total += file.size;
    }
    if (total > limit) {
      throw new SourceError(
        ErrorCodes.SourceLimitExceeded,
        `folder ${this.#path} holds ${total} bytes, over the limit of ${limit}`,
      );
    }
    return result;
  }

  async #openStore(): Promise<ArtifactStore> {
    if (!this.#artifactsDir) this.#artifactsDir = await mkdtemp(join(tmpdir(), 'gitops-kit-dir-'));
    if (!this.#store) {
      // A folder the user named holds snapshots only (as documented); records go to a temporary
      // folder then (removed by dispose). A folder of our own keeps them beside the snapshots.
      if (!this.#ownsArtifactsDir)
        this.#recordsDir = await mkdtemp(join(tmpdir(), 'gitops-kit-dir-records-'));
      this.#store = new ArtifactStore({ root: this.#artifactsDir, recordsDir: this.#recordsDir });
    }
    return this.#store;
  }

  /**
   * The files as the store writes them, read 16 at a time. The store takes the digest again from
   * the bytes it writes, so a file edited during the copy cannot give a snapshot whose name lies
   * about its content. The executable bit comes from the walk: no second stat per file.
   */
  async *#read(files: readonly WalkedFile[]): AsyncIterable<ArtifactFileInput> {
    for (let i = 0; i < files.length; i += 16) {
      const batch = files.slice(i, i + 16);
      const contents = await Promise.all(batch.map((file) => readFile(file.absolute)));
      for (const [index, file] of batch.entries()) {
        yield { path: file.path, content: contents[index] as Buffer, executable: (file.mode & 0o111) !== 0 };
      }
    }
  }
}
