import { createHash } from 'node:crypto';
import type { Dirent } from 'node:fs';
import { readdir, readFile, realpath, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { ErrorCodes, ReconcileError, SourceError } from '../errors.js';
import { type IgnoreMatcher, SOURCE_IGNORE_FILE } from './ignore.js';

/**
 * Walking a folder tree the way sources and the raw renderer need it: relative `/` paths in a
 * stable order, ignore rules (with `.sourceignore` files picked up on the way down), and symbolic
 * links followed only while they stay inside the root, so an artifact can never read
 * `/etc/shadow` through a link.
 */

/** One regular file found by {@link walkFiles}. */
export interface WalkedFile {
  /** Path relative to the root, with `/` separators. */
  readonly path: string;
  /** Absolute path on disk (through symbolic links, as found). */
  readonly absolute: string;
  readonly size: number;
  readonly mtimeMs: number;
  /** File mode bits (type and permissions), as `stat` gives them. */
  readonly mode: number;
}

/** Options for {@link walkFiles}. */
export interface WalkOptions {
  /** Paths this matcher ignores are skipped (folders are not entered). */
  readonly matcher?: IgnoreMatcher;
  /**
   * The per-folder ignore file read into `matcher` on the way down; default `.sourceignore` when a
   * matcher is given, `false` to read none.
   */
  readonly ignoreFile?: string | false;
  /** Only files for which this returns true are listed (folders are always entered). */
  readonly include?: (path: string) => boolean;
  /** Whether to enter sub-folders (default true). */
  readonly recursive?: boolean;
  /** Stop with an error after this many files (default unlimited). */
  readonly maxFiles?: number;
  readonly signal?: AbortSignal;
  /**
   * Builds the error thrown for a symbolic link that leads outside the root, or for too many files.
   * Default: a `SourceError`. The raw renderer passes a `RenderError` factory.
   */
  readonly onError?: (code: WalkErrorKind, path: string, message: string) => Error;
}

/** What went wrong while walking: a link leaving the root, too many files, or a folder that cannot be read. */
export type WalkErrorKind = 'unsafe-link' | 'too-many-files' | 'unreadable';

const SOURCE_CODES: Record<WalkErrorKind, string> = {
  'unsafe-link': ErrorCodes.SourceUnsafePath,
  'too-many-files': ErrorCodes.SourceLimitExceeded,
  unreadable: ErrorCodes.SourceFetchFailed,
};

function defaultError(code: WalkErrorKind, path: string, message: string): Error {
  return new SourceError(SOURCE_CODES[code], message, { location: { file: path } });
}

/** A one-line reason of a failed file-system call (its code, else its message). */
function fsReason(error: unknown): string {
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string') return code;
  return error instanceof Error ? error.message : String(error);
}

/** Throws the reconcile-level abort error when the signal has fired. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) {
    throw new ReconcileError(ErrorCodes.Aborted, 'aborted', { cause: signal.reason });
  }
}

function isInside(root: string, target: string): boolean {
  const rel = relative(root, target);
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !rel.startsWith(sep));
}

/** Lists the regular files under `root`, sorted by relative path (code-unit order). */
export async function walkFiles(root: string, options: WalkOptions = {}): Promise<WalkedFile[]> {
  const onError = options.onError ?? defaultError;
  const ignoreFile = options.ignoreFile ?? (options.matcher ? SOURCE_IGNORE_FILE : false);
  const realRoot = await realpath(root);
  const files: WalkedFile[] = [];
  // `ancestors` holds the real paths of the folders above, so a link back up the tree cannot loop
  // forever; a link to a sibling folder is walked (and copied) like any folder.
  const visit = async (dirAbs: string, dirRel: string, ancestors: ReadonlySet<string>): Promise<void> => {
    throwIfAborted(options.signal);
    let entries: Dirent[];
    try {
      entries = await readdir(dirAbs, { withFileTypes: true });
    } catch (error) {
      throw onError('unreadable', dirRel || '.', `cannot read folder ${dirRel || '.'}: ${fsReason(error)}`);
    }
    if (ignoreFile && options.matcher && entries.some((e) => e.name === ignoreFile && e.isFile())) {
      const rel = dirRel ? `${dirRel}/${ignoreFile}` : ignoreFile;
      const text = await readFile(join(dirAbs, ignoreFile), 'utf8').catch((error: unknown) => {
        throw onError('unreadable', rel, `cannot read ${rel}: ${fsReason(error)}`);
      });
      options.matcher.add(dirRel, text);
    }
    const subdirs: [string, string][] = [];
    await Promise.all(
      entries.map(async (entry) => {
        const rel = dirRel ? `${dirRel}/${entry.name}` : entry.name;
        let abs = join(dirAbs, entry.name);
        let isDir = entry.isDirectory();
        let isFile = entry.isFile();
        if (entry.isSymbolicLink()) {
          const target = await realpath(abs).catch(() => undefined);
          // A dangling link has no content to take.
          if (target === undefined) return;
          if (!isInside(realRoot, target)) {
            throw onError('unsafe-link', rel, `symbolic link ${rel} leads outside the folder`);
          }
          const info = await stat(target);
          isDir = info.isDirectory();
          isFile = info.isFile();
          abs = target;
        }
        if (options.matcher?.ignores(rel, isDir)) return;
        if (isDir) {
          if (options.recursive === false) return;
          const real = await realpath(abs);
          if (ancestors.has(real)) return;
          subdirs.push([real, rel]);
          return;
        }
        if (!isFile) return;
        if (options.include && !options.include(rel)) return;
        const info = await stat(abs);
        files.push({ path: rel, absolute: abs, size: info.size, mtimeMs: info.mtimeMs, mode: info.mode });
        if (options.maxFiles !== undefined && files.length > options.maxFiles) {
          throw onError('too-many-files', rel, `more than ${options.maxFiles} files`);
        }
      }),
    );
    // Folders one after another keeps the number of open directory handles small.
    subdirs.sort((a, b) => (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
    for (const [real, rel] of subdirs) await visit(real, rel, new Set([...ancestors, real]));
  };

  await visit(realRoot, '', new Set([realRoot]));
  return files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** The sha256 (hex) of one file's bytes. */
export async function hashFile(absolute: string): Promise<string> {
  return createHash('sha256')
    .update(await readFile(absolute))
    .digest('hex');
}

/**
 * The content digest of a set of files: `sha256:<hex>` over `<relative path>\0<sha256 of the file>\n`
 * for each file in path order. Renaming, adding, removing or editing any file changes it;
 * timestamps and permissions do not.
 */
export function digestOfHashes(entries: Iterable<readonly [path: string, sha256: string]>): string {
  const sorted = [...entries].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const hash = createHash('sha256');
  for (const [path, sha] of sorted) hash.update(`${path}\0${sha}\n`);
  return `sha256:${hash.digest('hex')}`;
}

/** Options for {@link digestDirectory}. */
export interface DigestDirectoryOptions extends Omit<WalkOptions, 'include'> {}

/** What {@link digestDirectory} found. */
export interface DirectoryDigest {
  /** `sha256:<hex>`, see {@link digestOfHashes}. */
  readonly digest: string;
  readonly files: readonly (WalkedFile & { readonly sha256: string })[];
}

/**
 * The content digest of a folder (honouring ignore rules when a matcher is given): sorted relative
 * paths and each file's sha256. Sources use it as a revision for content without a commit id.
 */
export async function digestDirectory(
  dir: string,
  options: DigestDirectoryOptions = {},
): Promise<DirectoryDigest> {
  const walked = await walkFiles(dir, options);
  const files: (WalkedFile & { sha256: string })[] = [];
  // Hash in small batches: enough parallel reads to hide latency, few open handles.
  for (let i = 0; i < walked.length; i += 16) {
    throwIfAborted(options.signal);
    const batch = walked.slice(i, i + 16);
    const hashes = await Promise.all(batch.map((f) => hashFile(f.absolute)));
    batch.forEach((f, j) => {
      files.push({ ...f, sha256: hashes[j]! });
    });
  }
  return { digest: digestOfHashes(files.map((f) => [f.path, f.sha256] as const)), files };
}

/** Whether anything (file, folder, link target) exists at `path`; errors other than absence count as absent. */
export async function pathExists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}
