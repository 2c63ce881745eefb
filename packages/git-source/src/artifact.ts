import { createHash } from 'node:crypto';
import { lstat, realpath } from 'node:fs/promises';
import { posix } from 'node:path';
import {
  type ArtifactLimits,
  createIgnoreMatcher,
  inParallel,
  type ResolvedArtifactLimits,
  resolveArtifactLimits,
  SOURCE_IGNORE_FILE,
  type StoredFile,
} from '@gitops-kit/core';
import type { TreeFile } from './engine.js';
import { ArtifactProblem } from './errors.js';

/** The limits of a Git artifact unless the options say otherwise (a repository may be large). */
export const DEFAULT_LIMITS: ResolvedArtifactLimits = Object.freeze({
  maxFiles: 100_000,
  maxTotalBytes: 1024 * 1024 * 1024,
  maxFileBytes: 100 * 1024 * 1024,
});

function limitsOf(limits: ArtifactLimits | undefined): ResolvedArtifactLimits {
  return resolveArtifactLimits(limits, DEFAULT_LIMITS).limits;
}

/** Options for {@link selectFiles}. */
export interface SelectOptions {
  /** Extra ignore patterns (`.sourceignore` syntax) evaluated last. */
  readonly ignore?: readonly string[] | string | undefined;
  /** Whether to apply the default exclusions (default true). */
  readonly defaultIgnores?: boolean | undefined;
  /** Reads a blob (for `.sourceignore` files and symbolic link targets). */
  readonly readBlob: (oid: string) => Promise<Uint8Array>;
  readonly limits?: ArtifactLimits | undefined;
  /** Decisions of earlier selections with the same options, reused while the rules are the same. */
  readonly decisions?: IgnoreDecisions | undefined;
}

/**
 * Remembers which paths the ignore rules excluded, keyed by the `.sourceignore` files (path and
 * blob) they came from. Give one to {@link selectFiles} per set of options: a new commit that
 * changes no `.sourceignore` file then matches only its new paths against the rules.
 */
export class IgnoreDecisions {
  /** The `.sourceignore` files the decisions were made with. */
  rules: string | undefined;
  /** Path to whether it is ignored. */
  readonly ignored = new Map<string, boolean>();
}

/**
 * Picks the files of a tree that go into the artifact: applies the ignore rules (defaults,
 * `.sourceignore` files, extra patterns), drops submodules, refuses symbolic links that leave the
 * tree, and enforces the count and (known) size limits before anything is written.
 */
export async function selectFiles(files: readonly TreeFile[], options: SelectOptions): Promise<TreeFile[]> {
  const limits = limitsOf(options.limits);
  const matcher = createIgnoreMatcher({
    defaults: options.defaultIgnores ?? true,
    ...(options.ignore !== undefined ? { patterns: options.ignore } : {}),
  });
  const depth = (p: string): number => p.split('/').length;
  const ignoreFiles = files
    .filter((f) => f.path === SOURCE_IGNORE_FILE || f.path.endsWith(`/${SOURCE_IGNORE_FILE}`))
    .sort((a, b) => depth(a.path) - depth(b.path));
  for (const file of ignoreFiles) {
    const dir = posix.dirname(file.path);
    // Rules in a folder that shallower rules exclude never count, as git never reads them.
    if (dir !== '.' && matcher.ignores(dir, true)) continue;
    matcher.add(dir === '.' ? '' : dir, new TextDecoder().decode(await options.readBlob(file.oid)));
  }
  for (const file of files) checkPath(file.path);
  const decisions = options.decisions;
  const rules = ignoreFiles.map((f) => `${f.path} ${f.oid}`).join('\n');
  if (decisions && decisions.rules !== rules) {
    decisions.rules = rules;
    decisions.ignored.clear();
  }
  const ignored = (path: string): boolean => {
    let known = decisions?.ignored.get(path);
    if (known === undefined) {
      known = matcher.ignores(path, false);
      decisions?.ignored.set(path, known);
    }
    return known;
  };
  const chosen = files.filter((f) => f.mode !== '160000' && !ignored(f.path));
  // Forget paths that left the tree long ago, so the memory stays proportional to the tree.
  if (decisions && decisions.ignored.size > 2 * files.length + 1000) {
    const current = new Map(files.map((f) => [f.path, ignored(f.path)] as const));
    decisions.ignored.clear();
    for (const [path, value] of current) decisions.ignored.set(path, value);
  }
  if (chosen.length > limits.maxFiles) {
    throw new ArtifactProblem(
      'limit',
      `the artifact would hold ${chosen.length} files, more than the limit of ${limits.maxFiles}`,
    );
  }
  let total = 0;
  for (const file of chosen) {
    if (file.size === undefined) continue;
    checkFileSize(file.path, file.size, limits.maxFileBytes);
    total += file.size;
  }
  if (total > limits.maxTotalBytes) {
    throw new ArtifactProblem(
      'limit',
      `the artifact would hold ${total} bytes, more than the limit of ${limits.maxTotalBytes}`,
    );
  }
  for (const file of chosen) {
    if (file.mode !== '120000') continue;
    const target = new TextDecoder().decode(await options.readBlob(file.oid));
    checkLinkTarget(file.path, target);
  }
  return chosen;
}

function checkFileSize(path: string, size: number, max: number): void {
  if (size > max)
    throw new ArtifactProblem('limit', `file is ${size} bytes, more than the limit of ${max}`, path);
}

/**
 * Refuses a tree path that could leave the artifact folder when written: git never makes entries
 * named `.`, `..` or empty, or with a backslash or NUL, but a hostile server can send them.
 */
export function checkPath(path: string): void {
  const bad = path.split('/').some((part) => part === '' || part === '.' || part === '..');
  if (bad || path.includes('\\') || path.includes('\0')) {
    throw new ArtifactProblem('unsafe', 'the tree holds a path that would leave the artifact', path);
  }
}

/** Refuses a link whose target is absolute or climbs out of the tree (judged by its text). */
export function checkLinkTarget(path: string, target: string): void {
  if (target.startsWith('/') || /^[a-zA-Z]:[\\/]/.test(target) || target.includes('\\')) {
    throw new ArtifactProblem('unsafe', `symbolic link points outside the artifact (${target})`, path);
  }
  const resolved = posix.normalize(posix.join(posix.dirname(path), target));
  if (resolved === '..' || resolved.startsWith('../')) {
    throw new ArtifactProblem('unsafe', `symbolic link points outside the artifact (${target})`, path);
  }
}

/**
 * Checks the written artifact: every symbolic link must resolve inside it (chains of links can
 * escape where each text alone looks harmless), and sizes the engine did not know must fit.
 */
export async function checkWritten(
  dir: string,
  files: readonly TreeFile[],
  limits: ArtifactLimits | undefined,
): Promise<Map<string, number>> {
  const max = limitsOf(limits);
  const root = await realpath(dir);
  let total = 0;
  let unknownSizes = false;
  const measured = new Map<string, number>();
  const check = async (file: TreeFile): Promise<void> => {
    const abs = posix.join(dir, file.path);
    if (file.mode === '120000') {
      let real: string | undefined;
      try {
        real = await realpath(abs);
      } catch {
        real = undefined; // A dangling link inside the tree reads as missing: harmless.
      }
      if (real !== undefined && real !== root && !real.startsWith(`${root}/`)) {
        throw new ArtifactProblem('unsafe', 'symbolic link resolves outside the artifact', file.path);
      }
      return;
    }
    if (file.size !== undefined) {
      total += file.size;
      return;
    }
    unknownSizes = true;
    const size = (await lstat(abs)).size;
    checkFileSize(file.path, size, max.maxFileBytes);
    measured.set(file.path, size);
    total += size;
  };
  // Only links and files of unknown size need a system call: skip the rest without an await each.
  const pending = files.filter((f) => f.mode === '120000' || f.size === undefined);
  for (const file of files) if (file.mode !== '120000' && file.size !== undefined) total += file.size;
  // Many small stat calls: keep several in flight rather than one after another.
  await inParallel(pending, check);
  if (unknownSizes && total > max.maxTotalBytes) {
    throw new ArtifactProblem(
      'limit',
      `the artifact holds ${total} bytes, more than the limit of ${max.maxTotalBytes}`,
    );
  }
  return measured;
}

/**
 * The content digest of an artifact: SHA-256 over `mode oid path` lines of its files in path
 * order. Blob ids are content hashes, so equal digests mean equal files, without reading them.
 */
export function digestFiles(files: readonly TreeFile[]): string {
  const hash = createHash('sha256');
  const sorted = [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  for (const file of sorted) hash.update(`${file.mode} ${file.oid} ${file.path}\n`);
  return `sha256:${hash.digest('hex')}`;
}

/** The key a store records for a tree file: mode and blob id, which change when its content does. */
export function fileKey(file: Pick<TreeFile, 'mode' | 'oid'>): string {
  return `${file.mode} ${file.oid}`;
}

/** The file list recorded beside an artifact, sizes included where known. */
export function storedFiles(files: readonly TreeFile[], measured: ReadonlyMap<string, number>): StoredFile[] {
  return files.map((f): StoredFile => {
    const size = f.size ?? measured.get(f.path);
    return size === undefined ? [f.path, fileKey(f)] : [f.path, fileKey(f), size];
  });
}

/** Whether a recorded file is a plain file a hard link can carry (not a symbolic link or submodule). */
export function isLinkable(file: StoredFile): boolean {
  return !file[1].startsWith('120000 ') && !file[1].startsWith('160000 ');
}

/**
 * Gives listed files the sizes a previous artifact recorded for the same path, mode and blob, so
 * an engine that lists trees without sizes (isomorphic-git) needs no `lstat` for unchanged files.
 */
export function withKnownSizes(files: readonly TreeFile[], previous: readonly StoredFile[]): TreeFile[] {
  if (files.every((f) => f.size !== undefined)) return [...files];
  const sizes = new Map<string, number>();
  for (const entry of previous) {
    if (entry[2] !== undefined) sizes.set(`${entry[1]} ${entry[0]}`, entry[2]);
  }
  if (sizes.size === 0) return [...files];
  return files.map((file) => {
    if (file.size !== undefined) return file;
    const size = sizes.get(`${fileKey(file)} ${file.path}`);
    return size === undefined ? file : { ...file, size };
  });
}
