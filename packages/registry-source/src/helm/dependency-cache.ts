import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { IndexValidators } from './http-repository.js';

/** A cached repository index: its text and the validators of the response that gave it. */
export interface CachedIndex {
  readonly text: string;
  readonly validators: IndexValidators;
}

function key(...parts: string[]): string {
  return createHash('sha256').update(parts.join('\n')).digest('hex').slice(0, 32);
}

async function writeAtomic(path: string, content: Buffer | string): Promise<void> {
  const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  await writeFile(tmp, content);
  await rename(tmp, path).catch(async (error: unknown) => {
    await rm(tmp, { force: true });
    throw error;
  });
}

/**
 * The dependency resolver's folder: chart archives by digest (`archives/<hex>.tgz`, written once,
 * never changed), which digest a chart version of a repository has (`refs/`), and the last index
 * of each repository (`indexes/`, for ranges resolved offline). Writes are atomic (temp + rename),
 * so processes may share it.
 */
export class DependencyCache {
  readonly root: string;

  constructor(root: string) {
    this.root = root;
  }

  /** The archive path of a digest (whether or not it exists). */
  archivePath(digest: string): string {
    return join(this.root, 'archives', `${digest.replace(/^sha256:/, '')}.tgz`);
  }

  /**
   * The cached archive of a chart version of a repository, when both its record and bytes are here;
   * with `digest` (what the repository's index now says), only when the cached archive has it: a
   * version published again with other bytes is downloaded again, as `helm dependency build` would.
   */
  async find(
    repository: string,
    chart: string,
    version: string,
    digest?: string | undefined,
  ): Promise<string | undefined> {
    const record = await readFile(
      join(this.root, 'refs', `${key(repository, chart, version)}.json`),
      'utf8',
    ).catch(() => undefined);
    if (!record) return undefined;
    const cached = (JSON.parse(record) as { digest?: unknown }).digest;
    if (typeof cached !== 'string') return undefined;
    if (digest && bareDigest(digest) !== bareDigest(cached)) return undefined;
    const path = this.archivePath(cached);
    return (await stat(path).catch(() => undefined))?.isFile() ? path : undefined;
  }

  /** Stores a verified archive and records it as that chart version of the repository. */
  async put(
    repository: string,
    chart: string,
    version: string,
    digest: string,
    archive: Buffer,
  ): Promise<string> {
    await mkdir(join(this.root, 'archives'), { recursive: true });
    await mkdir(join(this.root, 'refs'), { recursive: true });
    const path = this.archivePath(digest);
    if (!(await stat(path).catch(() => undefined))) await writeAtomic(path, archive);
    await writeAtomic(
      join(this.root, 'refs', `${key(repository, chart, version)}.json`),
      JSON.stringify({ repository, chart, version, digest }),
    );
    return path;
  }

  /** The last index of a repository, when one was kept. */
  async index(repository: string): Promise<CachedIndex | undefined> {
    const text = await readFile(join(this.root, 'indexes', `${key(repository)}.json`), 'utf8').catch(
      () => undefined,
    );
    return text ? (JSON.parse(text) as CachedIndex) : undefined;
  }

  /** Keeps a repository's index. */
  async putIndex(repository: string, index: CachedIndex): Promise<void> {
    await mkdir(join(this.root, 'indexes'), { recursive: true });
    await writeAtomic(join(this.root, 'indexes', `${key(repository)}.json`), JSON.stringify(index));
  }
}

/** A sha256 digest as lower-case hex, with or without its `sha256:` prefix. */
function bareDigest(digest: string): string {
  return digest.toLowerCase().replace(/^sha256:/, '');
}
