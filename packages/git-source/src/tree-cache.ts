import type { TreeFile } from './engine.js';

/** One entry of a tree object. */
export interface TreeEntry {
  readonly path: string;
  readonly mode: string;
  readonly oid: string;
  readonly type: 'tree' | 'blob' | 'commit';
}

/** A listed tree: its files (paths relative to it) and the ids of its direct sub-folders. */
interface ListedTree {
  readonly files: readonly TreeFile[];
  readonly subtrees: readonly string[];
}

/**
 * Lists trees recursively and remembers every folder of the last listing by its object id. A tree
 * id names its whole content, so when a new commit changes a few files, only the folders on their
 * paths are read again; every other folder's listing is taken from the previous one as it is.
 */
export class TreeListingCache {
  #trees = new Map<string, ListedTree>();

  /** Whether a listing is remembered (else a whole-tree listing is cheaper than walking). */
  get empty(): boolean {
    return this.#trees.size === 0;
  }

  /**
   * Remembers a recursive listing made elsewhere (`git ls-tree -r -t`): `entries` holds the
   * folders (type `tree`) with their ids as well as the files, paths relative to `root`.
   */
  seed(root: string, entries: readonly (TreeEntry & { readonly size?: number | undefined })[]): void {
    const folders = new Map<string, { oid: string; files: TreeFile[]; subtrees: string[] }>();
    folders.set('', { oid: root, files: [], subtrees: [] });
    for (const entry of entries) {
      if (entry.type === 'tree') folders.set(entry.path, { oid: entry.oid, files: [], subtrees: [] });
    }
    for (const entry of entries) {
      const slash = entry.path.lastIndexOf('/');
      const parent = folders.get(slash < 0 ? '' : entry.path.slice(0, slash));
      if (!parent) return; // Not a complete listing: remember nothing.
      if (entry.type === 'tree') {
        parent.subtrees.push(entry.oid);
        continue;
      }
      // A file belongs to the listing of each folder above it, relative to that folder.
      for (let dir = entry.path; ; ) {
        const cut = dir.lastIndexOf('/');
        dir = cut < 0 ? '' : dir.slice(0, cut);
        const folder = folders.get(dir);
        if (!folder) return;
        const path = dir === '' ? entry.path : entry.path.slice(dir.length + 1);
        folder.files.push(
          entry.size === undefined
            ? { path, mode: entry.mode, oid: entry.oid }
            : { path, mode: entry.mode, oid: entry.oid, size: entry.size },
        );
        if (dir === '') break;
      }
    }
    const trees = new Map<string, ListedTree>();
    for (const folder of folders.values())
      trees.set(folder.oid, { files: folder.files, subtrees: folder.subtrees });
    this.#trees = trees;
  }

  /**
   * Every non-folder entry under `root`, sorted by path. `readTree` reads one tree object; it is
   * called only for folders that were not in the previous listing.
   */
  async list(
    root: string,
    readTree: (oid: string) => Promise<readonly TreeEntry[]>,
    signal: AbortSignal,
  ): Promise<TreeFile[]> {
    const previous = this.#trees;
    const next = new Map<string, ListedTree>();
    // Keeps a reused folder and everything under it for the listing after this one.
    const carry = (oid: string): void => {
      const listed = previous.get(oid);
      if (!listed || next.has(oid)) return;
      next.set(oid, listed);
      for (const sub of listed.subtrees) carry(sub);
    };
    const visit = async (oid: string): Promise<ListedTree> => {
      const known = next.get(oid) ?? previous.get(oid);
      if (known) {
        carry(oid);
        return known;
      }
      signal.throwIfAborted();
      const entries = await readTree(oid);
      // Sibling folders are read together.
      const children = await Promise.all(
        entries.map((entry) => (entry.type === 'tree' ? visit(entry.oid) : undefined)),
      );
      const files: TreeFile[] = [];
      const subtrees: string[] = [];
      entries.forEach((entry, i) => {
        const child = children[i];
        if (!child) {
          files.push({ path: entry.path, mode: entry.mode, oid: entry.oid });
          return;
        }
        subtrees.push(entry.oid);
        for (const file of child.files) {
          files.push(
            file.size === undefined
              ? { path: `${entry.path}/${file.path}`, mode: file.mode, oid: file.oid }
              : { path: `${entry.path}/${file.path}`, mode: file.mode, oid: file.oid, size: file.size },
          );
        }
      });
      const listed: ListedTree = { files, subtrees };
      next.set(oid, listed);
      return listed;
    };
    const listed = await visit(root);
    this.#trees = next;
    return [...listed.files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  }
}

/** Parses a raw tree object: `<mode> <name>\0<20-byte id>` entries. */
export function parseTree(content: Uint8Array): TreeEntry[] {
  const buffer = Buffer.from(content.buffer, content.byteOffset, content.byteLength);
  const entries: TreeEntry[] = [];
  let at = 0;
  while (at < buffer.length) {
    const space = buffer.indexOf(32, at);
    const nul = buffer.indexOf(0, space + 1);
    if (space < 0 || nul < 0 || nul + 21 > buffer.length) throw new Error('malformed tree object');
    const rawMode = buffer.toString('latin1', at, space);
    const mode = rawMode.padStart(6, '0');
    const path = buffer.toString('utf8', space + 1, nul);
    const oid = buffer.toString('hex', nul + 1, nul + 21);
    const type = mode === '040000' ? 'tree' : mode === '160000' ? 'commit' : 'blob';
    entries.push({ path, mode, oid, type });
    at = nul + 21;
  }
  return entries;
}
