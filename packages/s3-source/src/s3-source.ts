import { createHash, randomUUID } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join, posix, resolve, sep } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import {
  type Artifact,
  type ArtifactLimits,
  type ArtifactMeta,
  createIgnoreMatcher,
  type DeprecatedLimitAliases,
  ErrorCodes,
  type FetchOptions,
  GitOpsError,
  type LimitNames,
  linkOrCopy,
  Redactor,
  type ResolvedArtifactLimits,
  redactCause,
  resolveArtifactLimits,
  SOURCE_IGNORE_FILE,
  type Source,
  type SourceChange,
  SourceError,
} from '@gitops-kit/core';
import type { BucketClient, ListedObject, ListedVersion } from './bucket-client.js';
import {
  ArtifactCache,
  artifactId,
  type CachedArtifact,
  type CachedEntry,
  type CachedIgnoreFile,
  type CacheState,
} from './cache.js';
import { downloadObject, openListedObject, runPool } from './download.js';
import { S3ErrorCodes } from './errors.js';
import { checkLayout, isFolderMarker, normalisePrefix, relativePathOf } from './keys.js';
import {
  computeContentDigest,
  computeRevision,
  contentKey,
  type IndexEntry,
  selectVersionsAt,
  sortEntries,
} from './object-index.js';
import { RequestCounter, type RequestStats } from './request-stats.js';
import {
  createS3Client,
  displayEndpoint,
  S3BucketClient,
  type S3ConnectionOptions,
} from './s3-bucket-client.js';

/**
 * Limits that protect the process from a bucket that is larger than expected: core's
 * `ArtifactLimits` (defaults: `maxFiles` 10,000 objects after ignore rules, `maxFileBytes` 32 MiB,
 * `maxTotalBytes` 256 MiB), plus the old spellings `maxObjects` and `maxObjectSize` (deprecated).
 */
export type S3SourceLimits = ArtifactLimits & DeprecatedLimitAliases;

/** Options of {@link S3Source}. */
export interface S3SourceOptions extends S3ConnectionOptions {
  /** Only objects under this folder (`apps/prod` or `apps/prod/`); they appear at the artifact root. */
  readonly prefix?: string | undefined;
  /**
   * A folder that survives restarts, used by this source alone. Default: a folder under the OS
   * temporary directory named after endpoint, bucket and prefix.
   */
  readonly cacheDir?: string | undefined;
  /** Build the artifact from the object versions current at this time (versioned buckets). */
  readonly versionsAt?: Date | undefined;
  /** Extra ignore patterns (`.sourceignore` syntax), evaluated after the bucket's `.sourceignore` files. */
  readonly ignore?: string | readonly string[] | undefined;
  /** Apply Flux's default exclusions (VCS files, images, archives, CI folders). Default true. */
  readonly defaultIgnores?: boolean | undefined;
  /** Caps on object count and sizes, checked before anything is downloaded (defaults in {@link S3SourceLimits}). */
  readonly limits?: S3SourceLimits | undefined;
  /** Downloads in flight at once (default 8). */
  readonly concurrency?: number | undefined;
  /** Artifacts kept on disk, the current one included (default 2, at least 1). */
  readonly keepArtifacts?: number | undefined;
  /** Object metadata keys (`x-amz-meta-<key>`) naming the uploader, first found wins. */
  readonly authorMetadataKeys?: readonly string[] | undefined;
  /** Listings tried when objects keep changing during the download (default 3). */
  readonly consistencyAttempts?: number | undefined;
  /**
   * Key of an object your publisher rewrites (any content) after every change to the bucket, as its
   * last step. A poll then first sends one `HEAD` with `If-None-Match`; while the marker is
   * unchanged the poll ends there, without listing. Changes made without touching the marker are not
   * seen until it changes. Not used with `versionsAt`. The marker is not part of the artifact.
   */
  readonly changeMarker?: string | undefined;
  /** Use this S3 client (its configuration is yours) instead of one built from the options. */
  readonly client?: S3Client | undefined;
  /** Use this bucket client instead of S3 (for unit tests of the source's logic). */
  readonly bucketClient?: BucketClient | undefined;
}

const DEFAULT_LIMITS: ResolvedArtifactLimits = {
  maxFileBytes: 32 * 1024 * 1024,
  maxFiles: 10_000,
  maxTotalBytes: 256 * 1024 * 1024,
};
const DEFAULT_AUTHOR_KEYS = ['author', 'uploaded-by', 'uploader'];
/** `.sourceignore` files larger than this are refused: they are rules, not content. */
const MAX_IGNORE_FILE = 256 * 1024;

/** The index of one listing, ready to build or compare. */
interface ListingResult {
  readonly entries: readonly IndexEntry[];
  readonly revision: string;
}

function isSourceIgnore(path: string): boolean {
  return path === SOURCE_IGNORE_FILE || path.endsWith(`/${SOURCE_IGNORE_FILE}`);
}

function limitError(message: string): SourceError {
  return new SourceError(ErrorCodes.SourceLimitExceeded, message);
}

function isChanged(error: unknown): boolean {
  return error instanceof SourceError && error.code === S3ErrorCodes.ObjectChanged;
}

/**
 * A Source over any S3-compatible bucket. Every fetch lists the objects under the prefix, applies
 * the ignore rules, and names the result `sha256:<digest of the (key, ETag, size) index>`. When that
 * revision is already on disk the fetch downloads nothing; otherwise only objects the cache does not
 * hold are downloaded, each checked against the listed ETag, and the artifact is assembled from
 * hard links in a fresh folder, so the artifact always holds exactly the objects its revision names.
 */
export class S3Source implements Source {
  /** `s3 <endpoint>/<bucket>/<prefix>`, without credentials. */
  readonly description: string;
  readonly #bucket: string;
  readonly #prefix: string;
  readonly #endpoint: string;
  readonly #client: BucketClient;
  /** The S3 client this source built (and so closes), if it built one. */
  readonly #ownClient: S3Client | undefined;
  readonly #counter = new RequestCounter();
  readonly #redactor: Redactor;
  readonly #cache: ArtifactCache;
  readonly #ignore: string | readonly string[] | undefined;
  readonly #defaultIgnores: boolean;
  readonly #limits: ResolvedArtifactLimits;
  /** The option names the limits were given under, for messages. */
  readonly #limitNames: LimitNames;
  readonly #concurrency: number;
  readonly #keep: number;
  readonly #authorKeys: readonly string[];
  readonly #attempts: number;
  readonly #marker: string | undefined;
  /** What the marker shortcut must match: the settings that shape the artifact. */
  readonly #config: string;
  #versionsAt: Date | undefined;
  #state: CacheState | undefined;
  #queue: Promise<unknown> = Promise.resolve();

  /** Creates a source; nothing is contacted until the first fetch. */
  constructor(options: S3SourceOptions) {
    if (!options.bucket) throw new SourceError(ErrorCodes.SourceFetchFailed, 'S3Source needs a bucket name');
    this.#bucket = options.bucket;
    this.#prefix = normalisePrefix(options.prefix);
    this.#endpoint = displayEndpoint(options.endpoint, options.region);
    this.#versionsAt = options.versionsAt;
    this.description = `s3 ${this.#endpoint}/${this.#bucket}/${this.#prefix}`;
    const secrets = options.credentials
      ? [
          options.credentials.secretAccessKey,
          options.credentials.accessKeyId,
          options.credentials.sessionToken ?? '',
        ]
      : [];
    this.#redactor = new Redactor(secrets);
    if (options.bucketClient) {
      this.#client = options.bucketClient;
    } else {
      const s3 = options.client ?? createS3Client(options);
      if (!options.client) this.#ownClient = s3;
      this.#client = new S3BucketClient({
        client: s3,
        bucket: this.#bucket,
        endpoint: this.#endpoint,
        secrets,
        counter: this.#counter,
        requestTimeoutMs: options.requestTimeoutMs,
      });
    }
    const cacheDir =
      options.cacheDir ??
      join(
        tmpdir(),
        'gitops-kit-s3',
        createHash('sha256')
          .update(`${this.#endpoint}\n${this.#bucket}\n${this.#prefix}`)
          .digest('hex')
          .slice(0, 16),
      );
    this.#cache = new ArtifactCache(resolve(cacheDir));
    this.#ignore = options.ignore;
    this.#defaultIgnores = options.defaultIgnores ?? true;
    const limits = resolveArtifactLimits(options.limits, DEFAULT_LIMITS);
    this.#limits = limits.limits;
    this.#limitNames = limits.names;
    this.#concurrency = Math.max(1, options.concurrency ?? 8);
    this.#keep = Math.max(1, options.keepArtifacts ?? 2);
    this.#authorKeys = options.authorMetadataKeys ?? DEFAULT_AUTHOR_KEYS;
    this.#attempts = Math.max(1, options.consistencyAttempts ?? 3);
    this.#marker = options.changeMarker || undefined;
    this.#config = JSON.stringify([this.#prefix, this.#ignore ?? null, this.#defaultIgnores, this.#limits]);
  }

  /** The cache folder in use. */
  get cacheDir(): string {
    return this.#cache.root;
  }

  /** The point in time artifacts are built for, or undefined for the current objects. */
  get versionsAt(): Date | undefined {
    return this.#versionsAt;
  }

  /**
   * Builds the next artifacts from the object versions current at `at` (roll back to a past state of
   * a versioned bucket), or from the current objects again when `at` is undefined.
   */
  setVersionsAt(at: Date | undefined): void {
    this.#versionsAt = at;
  }

  /** Requests, requests per operation and body bytes since creation or the last {@link resetStats}. */
  stats(): RequestStats {
    return this.#counter.snapshot();
  }

  /** Sets the request counters back to zero. */
  resetStats(): void {
    this.#counter.reset();
  }

  /** Closes the connections of the S3 client this source created (a client you passed stays open). */
  destroy(): void {
    this.#ownClient?.destroy();
  }

  /** Whether a bucket notification concerns this source: same bucket (and endpoint, when given). */
  matches(change: SourceChange): boolean {
    if (change.bucket !== this.#bucket) return false;
    if (change.url === undefined) return true;
    return displayEndpoint(change.url, undefined) === this.#endpoint;
  }

  /** Fetches the artifact for the bucket's current state (or its state at `versionsAt`). One at a time. */
  fetch(options: FetchOptions): Promise<Artifact> {
    const once = (): Promise<Artifact> =>
      this.#fetch(options.signal, options.previous).catch((error) => this.#wrap(error, options.signal));
    const run = this.#queue.then(once, once);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  /**
   * The artifact of an earlier revision (`sha256:…`, as {@link fetch} named it): from the cache when
   * it is still on disk (a restarted process too), else rebuilt from the object versions of the
   * newest moment at which the prefix listed as that revision. A revision no moment matches
   * (versions expired, or never this bucket's) is a `SourceError` with code
   * `SOURCE_REVISION_UNAVAILABLE`; an unversioned bucket is `S3ErrorCodes.NotVersioned`. One at a
   * time with `fetch`.
   */
  fetchRevision(revision: string, options: FetchOptions): Promise<Artifact> {
    const once = (): Promise<Artifact> =>
      this.#fetchRevision(revision, options.signal, options.previous).catch((error) =>
        this.#wrap(error, options.signal),
      );
    const run = this.#queue.then(once, once);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #fetchRevision(
    revision: string,
    signal: AbortSignal,
    previous: Artifact | undefined,
  ): Promise<Artifact> {
    signal.throwIfAborted();
    this.#state ??= await this.#cache.load();
    const state = this.#state;
    const known = state.artifacts.find((a) => a.id === artifactId(revision, this.#prefix));
    if (known && (await this.#cache.has(known.id))) return this.#toArtifact(known);
    const versions: ListedVersion[] = [];
    for await (const page of this.#client.listObjectVersions(this.#prefix, signal)) versions.push(...page);
    const moments = [...new Set(versions.map((v) => v.lastModified.getTime()))].sort((a, b) => b - a);
    const saved = this.#versionsAt;
    try {
      for (const moment of moments) {
        this.#versionsAt = new Date(moment);
        const listing = await this.#list(state, signal, versions);
        if (listing.revision === revision) return await this.#fetch(signal, previous);
      }
    } finally {
      this.#versionsAt = saved;
    }
    throw new SourceError(
      ErrorCodes.SourceRevisionUnavailable,
      `bucket "${this.#bucket}" cannot serve revision ${revision} under "${this.#prefix}": no moment of its object versions lists as it (versions expired, or it is not this bucket's)`,
    );
  }

  async #fetch(signal: AbortSignal, previous: Artifact | undefined): Promise<Artifact> {
    signal.throwIfAborted();
    this.#state ??= await this.#cache.load();
    const state = this.#state;

    const marker = this.#versionsAt ? undefined : this.#marker;
    let markerEtag: string | undefined;
    if (marker !== undefined) {
      const known =
        state.marker?.key === marker && state.marker.config === this.#config ? state.marker : undefined;
      const head = await this.#client.headObject({ key: marker, ifNoneMatch: known?.etag, signal });
      if (head.status === 'unchanged' && known) {
        const artifact = state.artifacts.find((a) => a.id === known.id);
        if (artifact && (await this.#cache.has(artifact.id))) {
          await this.#toFront(state, artifact);
          return this.#toArtifact(artifact);
        }
      }
      // Unchanged but its artifact is gone from disk: the marker still has the ETag we know.
      markerEtag =
        head.status === 'found' ? head.etag : head.status === 'unchanged' ? known?.etag : undefined;
    }

    let staging: string | undefined;
    // Downloads survive a retried listing, so an object fetched once is not fetched again.
    const downloaded = new Map<string, { file: string; entry: CachedEntry }>();
    try {
      for (let attempt = 1; ; attempt++) {
        const ignoreBefore = JSON.stringify(state.ignoreFiles);
        let listing: ListingResult;
        try {
          listing = await this.#list(state, signal);
        } catch (error) {
          if (isChanged(error) && attempt < this.#attempts) continue;
          throw this.#unstable(error);
        }
        const id = artifactId(listing.revision, this.#prefix);
        let artifact = state.artifacts.find((a) => a.id === id);
        let dirty = JSON.stringify(state.ignoreFiles) !== ignoreBefore;
        let built = false;
        if (artifact && (await this.#cache.has(id))) {
          await this.#toFront(state, artifact);
        } else {
          staging ??= await this.#cache.createStaging();
          try {
            artifact = await this.#build(state, listing, id, staging, attempt, downloaded, signal);
          } catch (error) {
            if (isChanged(error) && attempt < this.#attempts) continue;
            throw this.#unstable(error);
          }
          state.artifacts = [artifact, ...state.artifacts.filter((a) => a.id !== id)];
          built = true;
        }
        if (marker !== undefined) {
          const next =
            markerEtag === undefined
              ? undefined
              : { key: marker, etag: markerEtag, id, config: this.#config };
          if (JSON.stringify(next) !== JSON.stringify(state.marker)) {
            state.marker = next;
            dirty = true;
          }
        }
        if (dirty) await this.#cache.save(state);
        if (built) {
          const inUse = previous && dirname(previous.dir) === dirname(this.#cache.artifactDir(id));
          const removed = await this.#cache.collectGarbage(
            this.#keep,
            id,
            inUse ? basename(previous.dir) : undefined,
          );
          state.artifacts = state.artifacts.filter((a) => !removed.includes(a.id));
        }
        return this.#toArtifact(artifact);
      }
    } finally {
      if (staging) await this.#cache.removeStaging(staging);
    }
  }

  /** Makes `artifact` the newest kept one (in the store too, so keep-N keeps it). */
  async #toFront(state: CacheState, artifact: CachedArtifact): Promise<void> {
    if (state.artifacts[0] === artifact) return;
    state.artifacts = [artifact, ...state.artifacts.filter((a) => a !== artifact)];
    await this.#cache.touch(artifact.id);
  }

  /** Keeps typed errors and aborts as they are; anything else (the cache folder's I/O) becomes a `SourceError`. */
  #wrap(error: unknown, signal: AbortSignal): never {
    if (error instanceof GitOpsError || signal.aborted) throw error;
    const message = error instanceof Error ? error.message : String(error);
    throw new SourceError(
      ErrorCodes.SourceFetchFailed,
      `S3Source cache folder ${this.#cache.root}: ${message}`,
      { cause: redactCause(error, this.#redactor) },
    );
  }

  #unstable(error: unknown): unknown {
    if (!isChanged(error)) return error;
    return new SourceError(
      S3ErrorCodes.Unstable,
      `bucket "${this.#bucket}" kept changing during ${this.#attempts} attempts to download a consistent set of objects; will try again on the next poll`,
      { cause: error },
    );
  }

  /** Lists the bucket (or its versions), checks keys and limits, applies ignore rules: the index. */
  async #list(
    state: CacheState,
    signal: AbortSignal,
    knownVersions?: readonly ListedVersion[],
  ): Promise<ListingResult> {
    const maxListed = this.#limits.maxFiles * 10;
    const listed: ListedObject[] = [];
    const tooMany = (): SourceError =>
      limitError(
        `more than ${maxListed} objects under "${this.#prefix}" in bucket "${this.#bucket}" (10 × limits.${this.#limitNames.maxFiles}); narrow the prefix or raise the limit`,
      );
    if (this.#versionsAt) {
      const versions: ListedVersion[] = [...(knownVersions ?? [])];
      if (knownVersions === undefined) {
        for await (const page of this.#client.listObjectVersions(this.#prefix, signal)) {
          versions.push(...page);
          if (versions.length > maxListed) throw tooMany();
        }
      } else if (versions.length > maxListed) {
        throw tooMany();
      }
      if (versions.length > 0 && versions.every((v) => v.versionId === 'null')) {
        throw new SourceError(
          S3ErrorCodes.NotVersioned,
          `bucket "${this.#bucket}" keeps no object versions, so its state at ${this.#versionsAt.toISOString()} cannot be rebuilt; enable versioning`,
        );
      }
      listed.push(...selectVersionsAt(versions, this.#versionsAt));
    } else {
      for await (const page of this.#client.listObjects(this.#prefix, signal)) {
        listed.push(...page);
        if (listed.length > maxListed) throw tooMany();
      }
    }

    const candidates: IndexEntry[] = [];
    const ignoreFiles: IndexEntry[] = [];
    for (const object of listed) {
      if (!object.key.startsWith(this.#prefix) || isFolderMarker(object.key)) continue;
      if (object.key === this.#marker) continue;
      const path = relativePathOf(object.key, this.#prefix);
      const entry: IndexEntry = {
        key: object.key,
        path,
        etag: object.etag,
        size: object.size,
        lastModified: object.lastModified?.toISOString(),
        versionId: object.versionId,
      };
      (isSourceIgnore(path) ? ignoreFiles : candidates).push(entry);
    }

    const matcher = createIgnoreMatcher({
      defaults: this.#defaultIgnores,
      ...(this.#ignore === undefined ? {} : { patterns: this.#ignore }),
    });
    const texts = await this.#readIgnoreFiles(state, ignoreFiles, signal);
    // Shallower files first, as the matcher expects for a walk from the root.
    for (const { entry, text } of texts) matcher.add(posix.dirname(entry.path), text);

    const entries = sortEntries(candidates.filter((entry) => !matcher.ignores(entry.path, false)));
    checkLayout(entries.map((entry) => entry.path));
    this.#checkLimits(entries);
    return { entries, revision: computeRevision(entries) };
  }

  /** The text of each `.sourceignore`, from the cache when its ETag is known, else downloaded. */
  async #readIgnoreFiles(
    state: CacheState,
    files: readonly IndexEntry[],
    signal: AbortSignal,
  ): Promise<{ entry: IndexEntry; text: string }[]> {
    const result: { entry: IndexEntry; text: string }[] = [];
    const kept: Record<string, CachedIgnoreFile> = {};
    const ordered = [...files].sort((a, b) => a.path.split('/').length - b.path.split('/').length);
    for (const entry of ordered) {
      const key = contentKey(entry);
      let cached = state.ignoreFiles[key];
      if (!cached) {
        if (entry.size > MAX_IGNORE_FILE) {
          throw limitError(
            `${entry.key} is ${entry.size} bytes; an ignore file may have at most ${MAX_IGNORE_FILE}`,
          );
        }
        const response = await openListedObject(this.#client, entry, signal);
        const chunks: Buffer[] = [];
        let size = 0;
        try {
          for await (const chunk of response.body) {
            const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
            size += buffer.length;
            if (size > MAX_IGNORE_FILE)
              throw limitError(`${entry.key} is larger than ${MAX_IGNORE_FILE} bytes`);
            chunks.push(buffer);
          }
        } finally {
          response.body.destroy();
        }
        this.#counter.bytes(size);
        cached = { etag: entry.etag, text: Buffer.concat(chunks).toString('utf8') };
      }
      kept[key] = cached;
      result.push({ entry, text: cached.text });
    }
    state.ignoreFiles = kept;
    return result;
  }

  #checkLimits(entries: readonly IndexEntry[]): void {
    const { maxFiles, maxFileBytes, maxTotalBytes } = this.#limits;
    const names = this.#limitNames;
    if (entries.length > maxFiles) {
      throw limitError(
        `${entries.length} objects under "${this.#prefix}" in bucket "${this.#bucket}" exceed limits.${names.maxFiles} (${maxFiles})`,
      );
    }
    let total = 0;
    for (const entry of entries) {
      if (entry.size > maxFileBytes) {
        throw new SourceError(
          ErrorCodes.SourceLimitExceeded,
          `object ${JSON.stringify(entry.key)} is ${entry.size} bytes, above limits.${names.maxFileBytes} (${maxFileBytes})`,
          { location: { file: entry.path } },
        );
      }
      total += entry.size;
    }
    if (total > maxTotalBytes) {
      throw limitError(
        `the objects under "${this.#prefix}" in bucket "${this.#bucket}" total ${total} bytes, above limits.maxTotalBytes (${maxTotalBytes})`,
      );
    }
  }

  /**
   * Assembles the artifact for `listing` in a fresh folder: objects already on disk (in a kept
   * artifact or downloaded by an earlier attempt) are hard-linked, the rest downloaded; then the
   * folder is renamed into place. The caller records it in the state.
   */
  async #build(
    state: CacheState,
    listing: ListingResult,
    id: string,
    staging: string,
    attempt: number,
    downloaded: Map<string, { file: string; entry: CachedEntry }>,
    signal: AbortSignal,
  ): Promise<CachedArtifact> {
    const tree = join(staging, `tree-${attempt}`);
    const objects = join(staging, 'objects');
    await mkdir(objects, { recursive: true });
    const folders = new Set<string>([tree]);
    for (const entry of listing.entries) folders.add(dirname(this.#fileIn(tree, entry.path)));
    for (const folder of folders) await mkdir(folder, { recursive: true });

    const onDisk = new Map<string, { file: string; entry: CachedEntry }>();
    for (const artifact of state.artifacts) {
      const dir = this.#cache.artifactDir(artifact.id);
      for (const entry of artifact.entries) {
        const key = contentKey(entry);
        if (!onDisk.has(key)) onDisk.set(key, { file: this.#fileIn(dir, entry.path), entry });
      }
    }
    for (const [key, value] of downloaded) onDisk.set(key, value);

    const result = new Map<string, CachedEntry>();
    const missing: IndexEntry[] = [];
    await runPool(listing.entries, 16, signal, async (entry) => {
      const known = onDisk.get(contentKey(entry));
      if (known) {
        try {
          await linkOrCopy(known.file, this.#fileIn(tree, entry.path));
          result.set(entry.key, { ...entry, sha256: known.entry.sha256, author: known.entry.author });
          return;
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
        }
      }
      missing.push(entry);
    });

    await runPool(
      missing,
      this.#concurrency,
      signal,
      async (entry, poolSignal) => {
        const file = join(objects, randomUUID());
        const got = await downloadObject({
          client: this.#client,
          entry,
          file,
          signal: poolSignal,
          onBytes: (count) => this.#counter.bytes(count),
        });
        const author = this.#authorKeys
          .map((k) => got.metadata[k.toLowerCase()])
          .find((v) => v !== undefined);
        const cached: CachedEntry = { ...entry, sha256: got.sha256, author };
        downloaded.set(contentKey(entry), { file, entry: cached });
        await linkOrCopy(file, this.#fileIn(tree, entry.path));
        result.set(entry.key, cached);
      },
      isChanged,
    );

    const entries = listing.entries.map((entry) => result.get(entry.key) as CachedEntry);
    const artifact: CachedArtifact = {
      id,
      revision: listing.revision,
      digest: computeContentDigest(entries),
      prefix: this.#prefix,
      entries,
    };
    await this.#cache.commit(tree, artifact);
    return artifact;
  }

  /** The absolute path of `path` inside `dir`; refuses anything that would land outside it. */
  #fileIn(dir: string, path: string): string {
    const file = resolve(dir, ...path.split('/'));
    if (!file.startsWith(`${dir}${sep}`)) {
      throw new SourceError(
        ErrorCodes.SourceUnsafePath,
        `path ${JSON.stringify(path)} leaves the artifact folder`,
      );
    }
    return file;
  }

  /** Audit metadata: the newest LastModified, who uploaded that object, where it all came from. */
  #meta(entries: readonly CachedEntry[]): ArtifactMeta {
    let newest: CachedEntry | undefined;
    for (const entry of entries) {
      if (entry.lastModified && (!newest?.lastModified || entry.lastModified > newest.lastModified))
        newest = entry;
    }
    const at = this.#versionsAt ? ` as of ${this.#versionsAt.toISOString()}` : '';
    const meta: { -readonly [K in keyof ArtifactMeta]: ArtifactMeta[K] } = {
      origin: `s3://${this.#bucket}/${this.#prefix} at ${this.#endpoint}`,
      message: `${entries.length} object${entries.length === 1 ? '' : 's'}${at}${newest ? `; newest ${newest.path}` : ''}`,
    };
    if (newest?.lastModified) meta.time = newest.lastModified;
    if (newest?.author) meta.author = newest.author;
    return meta;
  }

  #toArtifact(cached: CachedArtifact): Artifact {
    return {
      revision: cached.revision,
      digest: cached.digest,
      dir: this.#cache.artifactDir(cached.id),
      meta: this.#meta(cached.entries),
    };
  }
}
