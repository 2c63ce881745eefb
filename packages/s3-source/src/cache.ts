import { createHash, randomBytes } from 'node:crypto';
import {
  copyFile,
  link,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  rename,
  rm,
  stat,
  writeFile,
} from 'node:fs/promises';
import { join } from 'node:path';
import type { IndexEntry } from './object-index.js';

/**
 * The persistent cache folder of an S3Source:
 *
 *   <cacheDir>/state.json          what is on disk: the kept artifacts and their object index
 *   <cacheDir>/artifacts/<id>/     one folder per kept artifact, files hard-linked between them
 *   <cacheDir>/staging-<random>/   a build in progress (renamed into artifacts/ when complete)
 *
 * An artifact folder is complete before it gets its name and is never changed afterwards, so an
 * artifact handed out stays valid until it falls out of the kept set.
 */

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

/** The content of `state.json`. */
export interface CacheState {
  readonly version: 1;
  /** Newest first. */
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

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

function isState(value: unknown): value is CacheState {
  if (!value || typeof value !== 'object') return false;
  const v = value as Partial<CacheState>;
  return (
    v.version === 1 && Array.isArray(v.artifacts) && !!v.ignoreFiles && typeof v.ignoreFiles === 'object'
  );
}

/** Reads and writes the cache folder. */
export class ArtifactCache {
  /** The cache folder. */
  readonly root: string;

  /** A cache in `root` (created on first use). */
  constructor(root: string) {
    this.root = root;
  }

  /** The folder of artifact `id`. */
  artifactDir(id: string): string {
    return join(this.root, 'artifacts', id);
  }

  /**
   * Loads the state, keeping only artifacts whose folder exists, and removes what a crash may have
   * left: staging folders and artifact folders the state does not list. A missing or unreadable
   * state starts empty (the next fetch downloads everything again).
   */
  async load(): Promise<CacheState> {
    await mkdir(join(this.root, 'artifacts'), { recursive: true });
    let state: CacheState = { version: 1, artifacts: [], ignoreFiles: {} };
    try {
      const parsed: unknown = JSON.parse(await readFile(join(this.root, STATE_FILE), 'utf8'));
      if (isState(parsed)) state = parsed;
    } catch {
      // No state yet, or a damaged one: start over.
    }
    const kept: CachedArtifact[] = [];
    for (const artifact of state.artifacts) {
      if (await exists(this.artifactDir(artifact.id))) kept.push(artifact);
    }
    state.artifacts = kept;
    const listed = new Set(kept.map((a) => a.id));
    for (const name of await readdir(join(this.root, 'artifacts'))) {
      if (!listed.has(name)) await rm(this.artifactDir(name), { recursive: true, force: true });
    }
    for (const name of await readdir(this.root)) {
      if (name.startsWith('staging-')) await rm(join(this.root, name), { recursive: true, force: true });
    }
    return state;
  }

  /** Writes the state atomically (a temporary file renamed over the old one). */
  async save(state: CacheState): Promise<void> {
    const target = join(this.root, STATE_FILE);
    const temporary = `${target}.${randomBytes(4).toString('hex')}.tmp`;
    await writeFile(temporary, JSON.stringify(state));
    await rename(temporary, target);
  }

  /** A fresh staging folder for one fetch. */
  async createStaging(): Promise<string> {
    return mkdtemp(join(this.root, 'staging-'));
  }

  /** Moves a complete tree into place as artifact `id`, replacing a leftover folder of that name. */
  async commit(tree: string, id: string): Promise<string> {
    const dir = this.artifactDir(id);
    await rm(dir, { recursive: true, force: true });
    await rename(tree, dir);
    return dir;
  }

  /** Whether artifact `id`'s folder exists. */
  has(id: string): Promise<boolean> {
    return exists(this.artifactDir(id));
  }

  /** Deletes a staging folder made by {@link createStaging}. */
  async removeStaging(dir: string): Promise<void> {
    await rm(dir, { recursive: true, force: true });
  }

  /** Deletes artifact `id`'s folder. */
  async remove(id: string): Promise<void> {
    await rm(this.artifactDir(id), { recursive: true, force: true });
  }
}

/**
 * Puts `from`'s content at `to`: a hard link (no bytes copied, the cache's whole point), or a copy
 * where links are not possible. Throws ENOENT when `from` is gone.
 */
export async function linkOrCopy(from: string, to: string): Promise<void> {
  try {
    await link(from, to);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'EEXIST') throw error;
    await copyFile(from, to);
  }
}
