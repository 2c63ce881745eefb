import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ArtifactStore } from '@gitops-kit/core';
import { contentKey, type IndexEntry } from './object-index.js';

/** An object of a cached artifact, with what its download told us. */
export interface CachedEntry extends IndexEntry {
  /** Hex sha256 of the file. */
  readonly sha256: string;
  /** The uploader, from the object's metadata, when present. */
  readonly author?: string | undefined;
}

/** One artifact kept on disk. */
export interface CachedArtifact {
  /** Folder name under `artifacts/`. */
  readonly id: string;
  readonly revision: string;
  readonly digest: string;
  readonly prefix: string;
  readonly entries: readonly CachedEntry[];
}

/** A `.sourceignore` read from the bucket, remembered by key and ETag so polls need not read it again. */
export interface CachedIgnoreFile {
  readonly etag: string;
  readonly text: string;
}

/** The change marker as last seen, and the artifact built after seeing it. */
export interface CachedMarker {
  readonly key: string;
  readonly etag: string;
  /** The artifact that was current when the marker had this ETag. */
  readonly id: string;
  /** The source settings it was seen with (prefix, ignore rules): other settings, other artifact. */
  readonly config: string;
}

/** What the artifact store records for an S3 artifact besides revision and digest. */
export interface CachedArtifactData {
  readonly prefix: string;
  readonly entries: readonly CachedEntry[];
}

/** The content of `state.json`: what is remembered between fetches apart from the artifacts. */
export interface CacheState {
  readonly version: 2;
  /** The kept artifacts, newest first (read from the artifact store). */
  artifacts: CachedArtifact[];
  /** By content key (key, ETag, size). */
  ignoreFiles: Record<string, CachedIgnoreFile>;
  marker?: CachedMarker | undefined;
}

const STATE_FILE = 'state.json';

/** The artifact folder name for a revision under a prefix (the same objects under another prefix lay out differently). */
export function artifactId(revision: string, prefix: string): string {
  return createHash('sha256').update(`${prefix}\n${revision}`).digest('hex').slice(0, 40);
}

function isState(value: unknown): value is Omit<CacheState, 'artifacts'> {
  if (!value || typeof value !== 'object') return false;
  const v = value as Partial<CacheState>;
  return v.version === 2 && !!v.ignoreFiles && typeof v.ignoreFiles === 'object';
}

/**
 * The persistent cache folder of an S3Source:
 *
 *   <cacheDir>/state.json          ignore files and the change marker as last seen
 *   <cacheDir>/artifacts/          core's artifact store: one folder per kept artifact (files
 *                                  hard-linked between them), its record, and builds in progress
 */
export class ArtifactCache {
  /** The cache folder. */
  readonly root: string;
  readonly #store: ArtifactStore<CachedArtifactData>;

  /** A cache in `root` (created on first use). */
  constructor(root: string) {
    this.root = root;
    this.#store = new ArtifactStore({ root: join(root, 'artifacts') });
  }

  /** The folder of artifact `id`. */
  artifactDir(id: string): string {
    return this.#store.dirOf(id);
  }

  /**
   * Loads the state with the artifacts the store holds, and removes what a crash may have left
   * (builds in progress: the cache belongs to this source alone). A missing or unreadable state
   * starts empty (the next fetch lists ignore files again).
   */
  async load(): Promise<CacheState> {
    await mkdir(this.#store.root, { recursive: true });
    let state: CacheState = { version: 2, artifacts: [], ignoreFiles: {} };
    try {
      const parsed: unknown = JSON.parse(await readFile(join(this.root, STATE_FILE), 'utf8'));
      if (isState(parsed)) state = { ...parsed, artifacts: [] };
    } catch {
      // No state yet, or a damaged one: start over.
    }
    await this.#store.collectGarbage({ keep: Number.MAX_SAFE_INTEGER, staleStagingMs: 0 });
    // Builds in progress of versions before the artifact store lived beside the state file.
    for (const name of await readdir(this.root)) {
      if (name.startsWith('staging-')) await rm(join(this.root, name), { recursive: true, force: true });
    }
    state.artifacts = await this.artifacts();
    return state;
  }

  /** The artifacts on disk, newest first. */
  async artifacts(): Promise<CachedArtifact[]> {
    const records = await this.#store.list();
    return records.flatMap((r) =>
      r.data ? [{ id: r.name, revision: r.revision, digest: r.digest, ...r.data }] : [],
    );
  }

  /** Writes the state atomically (a temporary file renamed over the old one); the artifacts are the store's. */
  async save(state: CacheState): Promise<void> {
    const target = join(this.root, STATE_FILE);
    const temporary = `${target}.${randomBytes(4).toString('hex')}.tmp`;
    const { artifacts: _kept, ...rest } = state;
    await writeFile(temporary, JSON.stringify(rest));
    await rename(temporary, target);
  }

  /** A fresh staging folder for one fetch. */
  createStaging(): Promise<string> {
    return this.#store.stage();
  }

  /** Publishes a complete tree as `artifact`, replacing a leftover folder of that name. */
  async commit(tree: string, artifact: CachedArtifact): Promise<string> {
    await this.#store.publish(tree, {
      name: artifact.id,
      revision: artifact.revision,
      digest: artifact.digest,
      files: artifact.entries.map((e) => [e.path, contentKey(e), e.size] as const),
      data: { prefix: artifact.prefix, entries: artifact.entries },
    });
    return this.artifactDir(artifact.id);
  }

  /** Marks a reused artifact as the newest. */
  async touch(id: string): Promise<void> {
    await this.#store.touch(id);
  }

  /** Whether artifact `id`'s folder (and record) exists. */
  async has(id: string): Promise<boolean> {
    return (await this.#store.get(id)) !== undefined;
  }

  /** Deletes a staging folder made by {@link createStaging}. */
  async removeStaging(dir: string): Promise<void> {
    await this.#store.discard(dir);
  }

  /**
   * Keeps `keep` artifacts, the current one included, and the one a caller may still read;
   * removes the rest. Returns the ids removed.
   */
  collectGarbage(keep: number, current: string, inUse: string | undefined): Promise<string[]> {
    return this.#store.collectGarbage({ keep, current, protect: [inUse] });
  }
}
