import { ErrorCodes, SourceError } from '@gitops-kit/core';

/**
 * Object keys become file paths in the artifact, so every key is checked before anything is written:
 * a key that could escape the artifact folder, or that a file system would read differently from the
 * bucket, is refused with an error naming the key.
 */

/**
 * Normalises a prefix to a folder: no leading `/`, a trailing `/` unless empty. `apps/prod` and
 * `/apps/prod/` both become `apps/prod/`, so `apps/production/x` is not under it.
 */
export function normalisePrefix(prefix: string | undefined): string {
  if (!prefix) return '';
  const trimmed = prefix.replace(/^\/+/, '').replace(/\/+$/, '');
  if (trimmed === '') return '';
  const problem = pathProblem(trimmed);
  if (problem) {
    throw new SourceError(ErrorCodes.SourceUnsafePath, `prefix ${JSON.stringify(prefix)} ${problem}`);
  }
  return `${trimmed}/`;
}

/** Whether a key is a "folder" placeholder (consoles create empty objects ending in `/`). */
export function isFolderMarker(key: string): boolean {
  return key.endsWith('/');
}

/** Why a relative path is unsafe as a file path, or undefined when it is fine. */
function pathProblem(path: string): string | undefined {
  if (path.includes('\\')) return 'contains a backslash';
  if (path.includes('\0')) return 'contains a NUL character';
  if (path.startsWith('/')) return 'is an absolute path';
  if (/^[A-Za-z]:/.test(path)) return 'starts with a drive letter';
  for (const segment of path.split('/')) {
    if (segment === '..') return 'contains a ".." segment';
    if (segment === '.') return 'contains a "." segment';
    if (segment === '') return 'contains an empty segment ("//")';
  }
  return undefined;
}

/**
 * Returns the path of `key` relative to `prefix` (which must be normalised and a prefix of `key`),
 * or throws a `SourceError` with code `SOURCE_UNSAFE_PATH` when the key cannot safely be a file.
 */
export function relativePathOf(key: string, prefix: string): string {
  const rel = key.slice(prefix.length);
  const problem = pathProblem(rel);
  if (problem) {
    throw new SourceError(
      ErrorCodes.SourceUnsafePath,
      `object key ${JSON.stringify(key)} ${problem}; refusing to write it into the artifact`,
      { location: { file: rel } },
    );
  }
  return rel;
}

/**
 * Refuses a set of paths in which one path is also a folder of another (`a` and `a/b`): a file
 * system cannot hold both. Throws `SOURCE_UNSAFE_PATH` naming both keys.
 */
export function checkLayout(paths: readonly string[]): void {
  const files = new Set(paths);
  for (const path of paths) {
    let slash = path.indexOf('/');
    while (slash > 0) {
      const folder = path.slice(0, slash);
      if (files.has(folder)) {
        throw new SourceError(
          ErrorCodes.SourceUnsafePath,
          `object ${JSON.stringify(folder)} is also a folder of ${JSON.stringify(path)}; a file system cannot hold both`,
          { location: { file: folder } },
        );
      }
      slash = path.indexOf('/', slash + 1);
    }
  }
}
