import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import { ErrorCodes, SourceError } from '../errors.js';
import { linkOrCopy, type StoredFile } from './artifact-links.js';
import { type PrepareSpareOptions, SPARE_PREFIX, SpareCopies } from './artifact-spare.js';
import { digestOfHashes, pathExists } from './walk.js';

/**
 * The one artifact store of every source (GitSource, S3Source, DirectorySource, and custom ones).
 *
 *   <root>/<name>/          an artifact: complete before it gets its name, never changed afterwards
 *   <root>/<name>.json      its record: revision, digest, publication time, file keys, source data
 *   <root>/.staging-<hex>/  a build in progress
 *
 * Publishing writes the record first and then renames the staging folder into place, so a crash
 * at any point leaves either the old state, a record without a folder (read as absent), or the
 * whole new artifact: never a half artifact under a name. Unchanged files are hard links to the
 * previous artifact's (see `artifact-links`), so a new revision costs only what changed.
 */

/** The record kept beside each artifact folder, so a restarted process can reuse the artifact. */
export interface ArtifactRecord<D = unknown> {
  /** Folder name under the store root. */
  readonly name: string;
  /** The revision people read (`main@sha1:<commit>`, `sha256:<digest>`). */
  readonly revision: string;
  /** The content digest (`sha256:<hex>`). */
  readonly digest: string;
  /** When it was published or last reused (ms since the epoch): keep-N keeps the newest. */
  readonly publishedAt: number;
  /** The files with a key that changes when their content does, so the next artifact can link the unchanged ones. */
  readonly files?: readonly StoredFile[] | undefined;
  /** Whatever else the source needs again after a restart (audit metadata, object index). */
  readonly data?: D | undefined;
}

/** What {@link ArtifactStore.publish} is told about a complete staging folder. */
export interface PublishRequest<D = unknown> {
  /** Folder name: letters, digits, `-`, `_` and `.`, not starting with `.`. */
  readonly name: string;
  /** The revision to record (`main@sha1:<commit>`, `sha256:<digest>`). */
  readonly revision: string;
  /** The content digest (`sha256:<hex>`) the source computed over the staged files. */
  readonly digest: string;
  /** The files with their content keys, so the next artifact can hard-link the unchanged ones; default none. */
  readonly files?: readonly StoredFile[] | undefined;
  /** Source data stored in the record and given back after a restart (audit metadata, object index). */
  readonly data?: D | undefined;
}

/** Options for {@link ArtifactStore.collectGarbage}. */
export interface CollectGarbageOptions {
  /**
   * Artifacts kept, the current one included (at least 1). This is how every source counts
   * `keepArtifacts`: `2` keeps the current artifact and the one before it.
   */
  readonly keep: number;
  /** The current artifact: always kept and counted first. */
  readonly current?: string | undefined;
  /** Names kept besides the count, because someone may still read them (the `previous` artifact). */
  readonly protect?: readonly (string | undefined)[] | undefined;
  /** Which artifacts this caller manages (a store shared by several settings); default all. */
  readonly owns?: ((name: string) => boolean) | undefined;
  /** Staging folders older than this are removed; default the store's stale age. `0` removes every one (a store used by one process). */
  readonly staleStagingMs?: number | undefined;
}

/** One file given to {@link ArtifactStore.write}. */
export interface ArtifactFileInput {
  /** Relative `/` path inside the artifact; `..`, absolute paths and empty parts are refused. */
  readonly path: string;
  /** The file's bytes; a string is written as UTF-8. */
  readonly content: Uint8Array | string;
  /** Write it executable (`0o555`); files are read-only (`0o444`) otherwise. */
  readonly executable?: boolean | undefined;
}

/** Options for {@link ArtifactStore.write}. */
export interface WriteArtifactOptions<D = unknown> {
  /**
   * The revision to record; default the content digest. A function gets the content digest, for
   * revisions that name it (`v7@sha256:<hex>`). An artifact of the same name and digest already in
   * the store keeps the revision it was published with.
   */
  readonly revision?: string | ((digest: string) => string) | undefined;
  /** Folder name; default the digest's hex. */
  readonly name?: string | undefined;
  /** The artifact to reuse unchanged files from; default the newest one in the store. */
  readonly base?: string | undefined;
  /** Source data stored in the record (see {@link ArtifactRecord.data}). */
  readonly data?: D | undefined;
  /** Aborts the write between files; the staging folder is removed. */
  readonly signal?: AbortSignal | undefined;
}

/** Options for {@link ArtifactStore}. */
export interface ArtifactStoreOptions {
  /** The folder that holds the artifacts (created on first use). */
  readonly root: string;
  /**
   * Where the records are kept; default `root` itself (`<root>/<name>.json`). A caller that
   * promised its users a folder holding nothing but artifacts puts them elsewhere.
   */
  readonly recordsDir?: string | undefined;
  /** Staging folders older than this are leftovers of a crashed build and removed by garbage collection (default 1 hour). */
  readonly staleStagingMs?: number | undefined;
}

const STAGING_PREFIX = '.staging-';
const RECORD_SUFFIX = '.json';
const NAME = /^[A-Za-z0-9_][A-Za-z0-9._-]*$/;

function isMissing(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

function isRecord(value: unknown, name: string): value is ArtifactRecord {
  if (!value || typeof value !== 'object') return false;
  const v = value as Partial<ArtifactRecord>;
  return (
    v.name === name &&
    typeof v.revision === 'string' &&
    typeof v.digest === 'string' &&
    typeof v.publishedAt === 'number' &&
    (v.files === undefined || Array.isArray(v.files))
  );
}

/** Refuses a path that would leave the artifact folder when written. */
function checkRelativePath(path: string): void {
  const bad = path.split('/').some((part) => part === '' || part === '.' || part === '..');
  if (bad || path.includes('\\') || path.includes('\0')) {
    throw new SourceError(ErrorCodes.SourceUnsafePath, 'the path would leave the artifact folder', {
      location: { file: path },
    });
  }
}

/**
 * Immutable artifact folders with staging, hard-linked reuse, atomic publish, keep-N and garbage
 * collection. One store per root folder; several stores of one process or of several processes may
 * share a root (names must then differ per source settings, see {@link CollectGarbageOptions.owns}).
 */
export class ArtifactStore<D = unknown> {
  /** The folder that holds the artifacts. */
  readonly root: string;
  readonly #recordsDir: string;
  readonly #staleStagingMs: number;
  readonly #spares: SpareCopies;

  /** A store in `options.root`; nothing is touched until the first call. */
  constructor(options: ArtifactStoreOptions) {
    this.root = resolve(options.root);
    this.#recordsDir = resolve(options.recordsDir ?? options.root);
    this.#staleStagingMs = options.staleStagingMs ?? 60 * 60 * 1000;
    this.#spares = new SpareCopies(this.root);
  }

  /** The folder of artifact `name` (whether or not it exists). */
  dirOf(name: string): string {
    if (!NAME.test(name)) {
      throw new SourceError(
        ErrorCodes.SourceUnsafePath,
        `artifact name ${JSON.stringify(name)} is not a plain folder name`,
      );
    }
    return join(this.root, name);
  }

  /** A fresh, empty staging folder inside the store (same file system, so publish is a rename). */
  async stage(): Promise<string> {
    await mkdir(this.root, { recursive: true });
    return mkdtemp(join(this.root, STAGING_PREFIX));
  }

  /**
   * Prepares, in the background (after `delayMs`, default 1 s), a hard-linked copy of artifact
   * `name` that {@link takeSpare} later turns into a staging folder in one rename: the next build
   * then only removes and writes what changed. One pending copy per store; a new call replaces the
   * pending one unless it is for the same artifact.
   */
  prepareSpare(name: string, files: readonly StoredFile[], options?: PrepareSpareOptions): void {
    this.#spares.prepare(name, this.dirOf(name), files, options);
  }

  /** Whether a spare copy is pending in this process (see {@link prepareSpare}). */
  hasPendingSpare(): boolean {
    return this.#spares.isPending();
  }

  /**
   * Moves the spare copy of artifact `name` (of this process or another sharing the store) onto the
   * empty staging folder `staging`; false when there is none (link the files then, or write them).
   */
  takeSpare(name: string, staging: string): Promise<boolean> {
    this.dirOf(name);
    return this.#spares.take(name, staging);
  }

  /** Finishes background work now (the pending spare copy): call before removing the store folder. */
  settled(): Promise<void> {
    return this.#spares.settled();
  }

  /** Removes a staging folder made by {@link stage} (after a failed build, or when the build was not needed). */
  async discard(staging: string): Promise<void> {
    await rm(staging, { recursive: true, force: true });
  }

  /**
   * Makes a complete staging folder artifact `name`: a leftover of that name is removed, the
   * record is written (atomically), then the folder is renamed into place. When another build
   * published the same name with the same digest first, that one is kept and `staging` discarded.
   */
  async publish(staging: string, request: PublishRequest<D>): Promise<ArtifactRecord<D>> {
    const dir = this.dirOf(request.name);
    const existing = await this.#readRecord(request.name);
    const present = await pathExists(dir);
    if (existing && existing.digest === request.digest && present) {
      await this.discard(staging);
      return this.touch(request.name);
    }
    // A leftover under this name goes, unless a concurrent publish of the same content is under
    // way (its record is written, its rename not yet): then the rename below settles it.
    if (present && existing?.digest !== request.digest) await this.remove(request.name);
    const record: ArtifactRecord<D> = {
      name: request.name,
      revision: request.revision,
      digest: request.digest,
      publishedAt: Date.now(),
      ...(request.files === undefined ? {} : { files: request.files }),
      ...(request.data === undefined ? {} : { data: request.data }),
    };
    await this.#writeRecord(record);
    try {
      await rename(staging, dir);
    } catch (error) {
      // A concurrent publish of the same content won the race: its folder is as good as ours.
      const theirs = await this.get(request.name);
      if (theirs && theirs.digest === request.digest) {
        await this.discard(staging);
        return theirs;
      }
      throw error;
    }
    return record;
  }

  /** The record of artifact `name` when both the record and the folder exist. */
  async get(name: string): Promise<ArtifactRecord<D> | undefined> {
    const record = await this.#readRecord(name);
    if (!record || !(await pathExists(this.dirOf(name)))) return undefined;
    return record;
  }

  /** The record of `name` as written, whether or not its folder exists. */
  async #readRecord(name: string): Promise<ArtifactRecord<D> | undefined> {
    let parsed: unknown;
    try {
      parsed = JSON.parse(await readFile(this.#recordOf(name), 'utf8'));
    } catch {
      return undefined; // Missing or damaged: the artifact is built again.
    }
    return isRecord(parsed, name) ? (parsed as ArtifactRecord<D>) : undefined;
  }

  /** Marks a reused artifact as the newest, so keep-N keeps it; returns its updated record. */
  async touch(name: string): Promise<ArtifactRecord<D>> {
    const record = await this.get(name);
    if (!record) throw new SourceError(ErrorCodes.SourceNotFound, `artifact ${name} is not in ${this.root}`);
    const touched = { ...record, publishedAt: Math.max(Date.now(), record.publishedAt + 1) };
    await this.#writeRecord(touched);
    return touched;
  }

  /** Every complete artifact (record and folder), newest first; `owns` narrows the list. */
  async list(owns: (name: string) => boolean = () => true): Promise<ArtifactRecord<D>[]> {
    let names: string[];
    try {
      names = await readdir(this.#recordsDir);
    } catch (error) {
      if (isMissing(error)) return [];
      throw error;
    }
    const records: ArtifactRecord<D>[] = [];
    for (const entry of names) {
      if (!entry.endsWith(RECORD_SUFFIX)) continue;
      const name = entry.slice(0, -RECORD_SUFFIX.length);
      if (!NAME.test(name) || !owns(name)) continue;
      const record = await this.get(name);
      if (record) records.push(record);
    }
    return records.sort((a, b) => b.publishedAt - a.publishedAt || (a.name < b.name ? -1 : 1));
  }

  /** Deletes artifact `name` (record first, so a crash halfway leaves a folder nobody reads). */
  async remove(name: string): Promise<void> {
    const dir = this.dirOf(name);
    await rm(this.#recordOf(name), { force: true });
    await rm(dir, { recursive: true, force: true });
  }

  /**
   * Keeps the current artifact, the newest others up to `keep` in all, and the protected ones;
   * removes the other artifacts this caller owns, folders or records left alone by a crash, spare
   * copies of owned artifacts other than the current one, and staging folders older than the stale
   * age. Returns the names removed.
   */
  async collectGarbage(options: CollectGarbageOptions): Promise<string[]> {
    const keep = Math.max(1, Math.floor(options.keep));
    const owns = options.owns ?? (() => true);
    const kept = new Set<string>();
    if (options.current !== undefined) kept.add(options.current);
    for (const name of options.protect ?? []) if (name !== undefined) kept.add(name);
    const records = await this.list(owns);
    let counted = options.current !== undefined ? 1 : 0;
    for (const record of records) {
      if (record.name === options.current) continue;
      if (counted < keep) {
        counted++;
        kept.add(record.name);
      }
    }
    const removed: string[] = [];
    const entries: string[] = [];
    const now = Date.now();
    const staleMs = options.staleStagingMs ?? this.#staleStagingMs;
    for (const folder of new Set([this.root, this.#recordsDir])) {
      let names: string[];
      try {
        names = await readdir(folder);
      } catch (error) {
        if (isMissing(error)) continue;
        throw error;
      }
      for (const entry of names) {
        if (!entry.startsWith(STAGING_PREFIX)) {
          entries.push(entry);
          continue;
        }
        const info = await stat(join(folder, entry)).catch(() => undefined);
        // 0 means every one, whatever its time: a file time has sub-millisecond digits and can
        // read a fraction ahead of Date.now().
        if (info && (staleMs === 0 || now - info.mtimeMs >= staleMs))
          await rm(join(folder, entry), { recursive: true, force: true });
      }
    }
    for (const entry of entries) {
      // Spare copies of owned artifacts other than the current one will never be taken.
      if (entry.startsWith(SPARE_PREFIX)) {
        const of = entry.slice(SPARE_PREFIX.length);
        if (of.includes('.partial-')) continue; // A copy under way: it removes itself if it fails.
        if (options.current !== undefined && NAME.test(of) && owns(of) && of !== options.current)
          await rm(join(this.root, entry), { recursive: true, force: true });
        continue;
      }
      const name = entry.endsWith(RECORD_SUFFIX) ? entry.slice(0, -RECORD_SUFFIX.length) : entry;
      if (!NAME.test(name) || !owns(name) || kept.has(name) || removed.includes(name)) continue;
      await this.remove(name);
      removed.push(name);
    }
    return removed;
  }

  /**
   * Writes a set of files (an array, or an async stream of entries) as an immutable artifact with
   * a content digest (`sha256:<hex>` over the paths and contents, not times or modes) and a revision: files whose content a base
   * artifact already holds are hard-linked from it, the others written read-only. When an artifact
   * of that name and digest exists it is returned as it is. For custom sources; the built-in ones
   * use {@link stage} and {@link publish} directly.
   */
  async write(
    files: Iterable<ArtifactFileInput> | AsyncIterable<ArtifactFileInput>,
    options: WriteArtifactOptions<D> = {},
  ): Promise<ArtifactRecord<D>> {
    const base = options.base !== undefined ? await this.get(options.base) : (await this.list())[0];
    const reusable = new Map<string, string>();
    for (const [path, key] of base?.files ?? []) {
      if (!reusable.has(key)) reusable.set(key, join(this.dirOf(base?.name as string), ...path.split('/')));
    }
    const staging = await this.stage();
    try {
      const hashes: [string, string][] = [];
      const stored: StoredFile[] = [];
      const seen = new Set<string>();
      for await (const file of files) {
        options.signal?.throwIfAborted();
        checkRelativePath(file.path);
        if (seen.has(file.path)) {
          throw new SourceError(ErrorCodes.SourceUnsafePath, 'the path is given twice', {
            location: { file: file.path },
          });
        }
        seen.add(file.path);
        const bytes = typeof file.content === 'string' ? Buffer.from(file.content) : file.content;
        const sha = createHash('sha256').update(bytes).digest('hex');
        const key = `${file.executable ? '555' : '444'} ${sha}`;
        const target = join(staging, ...file.path.split('/'));
        if (!target.startsWith(`${staging}${sep}`)) checkRelativePath('..');
        await mkdir(dirname(target), { recursive: true });
        const from = reusable.get(key);
        let linked = false;
        if (from) {
          linked = await linkOrCopy(from, target).then(
            () => true,
            () => false,
          );
        }
        if (!linked) await writeFile(target, bytes, { mode: file.executable ? 0o555 : 0o444 });
        hashes.push([file.path, sha]);
        stored.push([file.path, key, bytes.length]);
      }
      const digest = digestOfHashes(hashes);
      const name = options.name ?? digest.slice('sha256:'.length);
      const existing = await this.get(name);
      if (existing && existing.digest === digest) {
        await this.discard(staging);
        return this.touch(name);
      }
      return await this.publish(staging, {
        name,
        revision:
          typeof options.revision === 'function' ? options.revision(digest) : (options.revision ?? digest),
        digest,
        files: stored,
        ...(options.data === undefined ? {} : { data: options.data }),
      });
    } catch (error) {
      await this.discard(staging);
      throw error;
    }
  }

  #recordOf(name: string): string {
    this.dirOf(name);
    return join(this.#recordsDir, `${name}${RECORD_SUFFIX}`);
  }

  /** Writes a record through a temporary file renamed over the old one, so a reader never sees half a record. */
  async #writeRecord(record: ArtifactRecord<D>): Promise<void> {
    await mkdir(this.#recordsDir, { recursive: true });
    const target = this.#recordOf(record.name);
    const temporary = `${join(this.#recordsDir, STAGING_PREFIX)}${randomBytes(6).toString('hex')}${RECORD_SUFFIX}`;
    await writeFile(temporary, JSON.stringify(record));
    await rename(temporary, target);
  }
}
