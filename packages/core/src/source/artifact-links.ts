import { spawn } from 'node:child_process';
import { copyFile, link, mkdir, rm, rmdir } from 'node:fs/promises';
import { posix } from 'node:path';

/**
 * Hard links between artifact folders. Artifacts are read-only and a file is never written through
 * a link (a changed file is removed first and written anew), so two artifacts may share inodes: an
 * unchanged file costs no bytes and no copy.
 */

/** One file of an artifact as a store records it: `[path, key]` and the size when known. */
export type StoredFile =
  | readonly [path: string, key: string]
  | readonly [path: string, key: string, size: number];

/** Runs `work` on every item, a bounded number at a time (file-system calls queue in libuv anyway). */
export async function inParallel<T>(
  items: readonly T[],
  work: (item: T) => Promise<unknown>,
  width = 32,
): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await work(items[next++] as T);
  };
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, worker));
}

/**
 * Puts `from`'s content at `to`: a hard link (no bytes copied), or a copy where links are not
 * possible (another file system). Throws ENOENT when `from` is gone and EEXIST when `to` exists.
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

/**
 * Hard-links a whole folder with one `cp -RPl` (symbolic links are linked as links). One native
 * process makes thousands of links several times faster than as many `link` calls from Node.
 * Resolves false when `cp` is missing or fails.
 */
function copyLinks(from: string, dest: string): Promise<boolean> {
  return new Promise((resolve) => {
    const child = spawn('cp', ['-RPl', '--', `${from}/.`, dest], { stdio: 'ignore' });
    child.on('error', () => resolve(false));
    child.on('close', (code) => resolve(code === 0));
  });
}

/**
 * Fills the existing empty folder `dest` with hard links to every regular file of an artifact
 * (`cp -RPl` where there is one, else one `link` per file from Node). Then
 * {@link removeChanged} removes what the next artifact does not share. Returns false when linking
 * is not possible (another file system), leaving `dest` empty so the caller writes every file.
 * @param isRegular whether a recorded file is a regular file Node may link (default: all are)
 */
export async function linkAll(
  fromDir: string,
  files: readonly StoredFile[],
  dest: string,
  isRegular: (file: StoredFile) => boolean = () => true,
): Promise<boolean> {
  if (process.platform !== 'win32' && (await copyLinks(fromDir, dest))) return true;
  await rm(dest, { recursive: true, force: true });
  await mkdir(dest, { recursive: true });
  const regular = files.filter(isRegular);
  const dirs = new Set<string>();
  for (const [path] of regular) dirs.add(posix.dirname(path));
  try {
    await inParallel([...dirs], (dir) => mkdir(posix.join(dest, dir), { recursive: true }));
    await inParallel(regular, ([path]) => link(posix.join(fromDir, path), posix.join(dest, path)));
    return true;
  } catch {
    await rm(dest, { recursive: true, force: true });
    await mkdir(dest, { recursive: true });
    return false;
  }
}

/**
 * Turns a folder filled by {@link linkAll} from `previous` into the next artifact minus the files
 * still to write: removes linked files whose key changed or that left (and folders left empty), and
 * returns the paths of `next` that must be written. A file for which `reusable` is false is always
 * written again (a symbolic link whose target must be checked on the way, for instance).
 */
export async function removeChanged(
  dest: string,
  previous: readonly StoredFile[],
  next: readonly (readonly [path: string, key: string])[],
  reusable: (file: StoredFile) => boolean = () => true,
): Promise<Set<string>> {
  const wanted = new Map<string, string>();
  for (const [path, key] of next) wanted.set(path, key);
  const linked = new Set<string>();
  const emptied = new Set<string>();
  const gone: string[] = [];
  for (const file of previous) {
    const [path, key] = file;
    if (reusable(file) && wanted.get(path) === key) {
      linked.add(path);
      continue;
    }
    gone.push(path);
    emptied.add(posix.dirname(path));
  }
  await inParallel(gone, (path) => rm(posix.join(dest, path), { force: true }));
  // Folders that lost their files go too, deepest first, so the result equals a fresh write.
  for (const dir of [...emptied].sort((a, b) => b.length - a.length)) {
    for (let d = dir; d !== '.' && d !== ''; d = posix.dirname(d)) {
      try {
        await rmdir(posix.join(dest, d));
      } catch {
        break; // Not empty (or already gone): its parents are not empty either.
      }
    }
  }
  const toWrite = new Set<string>();
  for (const [path] of next) if (!linked.has(path)) toWrite.add(path);
  return toWrite;
}
