import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { ErrorCodes, GitOpsError, SourceError } from '../errors.js';
import type { Artifact, FetchOptions, Source } from '../types.js';
import { createIgnoreMatcher, type IgnoreMatcherOptions } from './ignore.js';
import { digestDirectory, digestOfHashes, throwIfAborted, type WalkedFile } from './walk.js';

/** Options for {@link DirectorySource}. */
export interface DirectorySourceOptions {
  /** The folder to serve. */
  readonly path: string;
  /** Default exclusions and extra patterns (`.sourceignore` syntax), as for every source. */
  readonly ignore?: IgnoreMatcherOptions;
  /** Read `.sourceignore` files found in the folder (default true). */
  readonly readIgnoreFiles?: boolean;
  /**
   * Where snapshots are written, one sub-folder per digest. Default: a new temporary folder owned
   * by this source (removed by {@link DirectorySource.dispose}).
   */
  readonly artifactsDir?: string;
  /** Refuse folders with more files than this (default 10,000). */
  readonly maxFiles?: number;
  /** Refuse folders with more bytes than this (default 256 MiB). */
  readonly maxTotalBytes?: number;
}

/** Whether a path exists. */
async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

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
  #artifactsDir: string | undefined;
  readonly #ownsArtifactsDir: boolean;
  /** Snapshots this source wrote, so old ones can be removed. */
  readonly #written = new Set<string>();

  /** @param options the folder, ignore rules, limits and where snapshots go. */
  constructor(options: DirectorySourceOptions) {
    this.#path = resolve(options.path);
    this.#options = options;
    this.#artifactsDir = options.artifactsDir === undefined ? undefined : resolve(options.artifactsDir);
    this.#ownsArtifactsDir = options.artifactsDir === undefined;
    this.description = `directory ${this.#path}`;
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
      if (previous && previous.digest === scan.digest && (await exists(previous.dir))) return previous;
      const { digest, dir } = await this.#snapshot(scan.files, scan.digest, signal);
      await this.#removeOld(dir, previous?.dir);
      const newest = scan.files.reduce((max, f) => Math.max(max, f.mtimeMs), 0);
      return {
        revision: digest,
        digest,
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

  /** Removes the snapshots folder when this source created it. */
  async dispose(): Promise<void> {
    if (this.#ownsArtifactsDir && this.#artifactsDir) {
      await rm(this.#artifactsDir, { recursive: true, force: true });
      this.#artifactsDir = undefined;
      this.#written.clear();
    }
  }

  async #scan(signal: AbortSignal): Promise<{ digest: string; files: readonly WalkedFile[] }> {
    const matcher = createIgnoreMatcher(this.#options.ignore);
    const result = await digestDirectory(this.#path, {
      matcher,
      ignoreFile: this.#options.readIgnoreFiles === false ? false : undefined,
      maxFiles: this.#options.maxFiles ?? 10_000,
      signal,
    });
    const limit = this.#options.maxTotalBytes ?? 256 * 1024 * 1024;
    const total = result.files.reduce((sum, f) => sum + f.size, 0);
    if (total > limit) {
      throw new SourceError(
        ErrorCodes.SourceLimitExceeded,
        `folder ${this.#path} holds ${total} bytes, over the limit of ${limit}`,
      );
    }
    return result;
  }

  async #artifactsRoot(): Promise<string> {
    if (!this.#artifactsDir) this.#artifactsDir = await mkdtemp(join(tmpdir(), 'gitops-kit-dir-'));
    await mkdir(this.#artifactsDir, { recursive: true });
    return this.#artifactsDir;
  }

  /**
   * Copies the files into `<artifactsDir>/<hex>`. The digest is taken again from the bytes copied,
   * so a file edited during the copy cannot give a snapshot whose name lies about its content.
   */
  async #snapshot(
    files: readonly WalkedFile[],
    expected: string,
    signal: AbortSignal,
  ): Promise<{ digest: string; dir: string }> {
    const root = await this.#artifactsRoot();
    const existing = join(root, expected.slice('sha256:'.length));
    if (await exists(existing)) return { digest: expected, dir: existing };
    const staging = join(root, `.staging-${randomBytes(6).toString('hex')}`);
    try {
      const hashes: [string, string][] = [];
      for (let i = 0; i < files.length; i += 16) {
        throwIfAborted(signal);
        const batch = files.slice(i, i + 16);
        await Promise.all(
          batch.map(async (file) => {
            const bytes = await readFile(file.absolute);
            const target = join(staging, ...file.path.split('/'));
            await mkdir(dirname(target), { recursive: true });
            // The mode comes from the walk: no second stat per file.
            const executable = (file.mode & 0o111) !== 0;
            // Read-only copies: renderers must treat artifacts as immutable, and this enforces it.
            await writeFile(target, bytes, { mode: executable ? 0o555 : 0o444 });
            hashes.push([file.path, createHash('sha256').update(bytes).digest('hex')]);
          }),
        );
      }
      await mkdir(staging, { recursive: true });
      const digest = digestOfHashes(hashes);
      const dir = join(root, digest.slice('sha256:'.length));
      if (await exists(dir)) {
        await rm(staging, { recursive: true, force: true });
      } else {
        // A concurrent fetch may have written the same snapshot in the meantime: theirs is as good.
        await rename(staging, dir).catch(async (error: unknown) => {
          if (!(await exists(dir))) throw error;
          await rm(staging, { recursive: true, force: true });
        });
      }
      this.#written.add(dir);
      return { digest, dir };
    } catch (error) {
      await rm(staging, { recursive: true, force: true });
      throw error;
    }
  }

  /** Removes snapshots this source wrote earlier, except the current and the previous one. */
  async #removeOld(current: string, previous: string | undefined): Promise<void> {
    for (const dir of [...this.#written]) {
      if (dir === current || dir === previous) continue;
      this.#written.delete(dir);
      // Files are read-only; the folders are not, so removal works without chmod.
      await rm(dir, { recursive: true, force: true }).catch(() => undefined);
    }
  }
}
