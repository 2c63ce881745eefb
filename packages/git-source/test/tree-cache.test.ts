import { describe, expect, it } from 'vitest';
import { parseTree, TreeListingCache } from '../src/tree-cache.js';

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);
const C = 'c'.repeat(40);

describe('TreeListingCache', () => {
  // Trees by id: each entry is [name, mode, id]; modes 040000 are folders.
  const trees: Record<string, [string, string, string][]> = {
    root1: [
      ['a', '040000', 'treeA1'],
      ['b', '040000', 'treeB'],
      ['top.yaml', '100644', A],
    ],
    root2: [
      ['a', '040000', 'treeA2'],
      ['b', '040000', 'treeB'],
      ['top.yaml', '100644', A],
    ],
    treeA1: [['one.yaml', '100644', B]],
    treeA2: [
      ['one.yaml', '100644', C],
      ['two', '120000', B],
    ],
    treeB: [
      ['deep', '040000', 'treeD'],
      ['x.yaml', '100755', C],
    ],
    treeD: [['y.yaml', '100644', A]],
  };
  const read = (log: string[]) => async (oid: string) => {
    log.push(oid);
    return (trees[oid] ?? []).map(([path, mode, id]) => ({
      path,
      mode,
      oid: id,
      type: mode === '040000' ? ('tree' as const) : ('blob' as const),
    }));
  };

  it('lists like a fresh walk while reading only the folders whose ids changed', async () => {
    const cache = new TreeListingCache();
    const first: string[] = [];
    const one = await cache.list('root1', read(first), new AbortController().signal);
    expect(one.map((f) => f.path)).toEqual(['a/one.yaml', 'b/deep/y.yaml', 'b/x.yaml', 'top.yaml']);
    expect(first.sort()).toEqual(['root1', 'treeA1', 'treeB', 'treeD']);

    const second: string[] = [];
    const two = await cache.list('root2', read(second), new AbortController().signal);
    expect(second.sort()).toEqual(['root2', 'treeA2']);
    const fresh = await new TreeListingCache().list('root2', read([]), new AbortController().signal);
    expect(two).toEqual(fresh);
    expect(two.find((f) => f.path === 'a/two')).toEqual({ path: 'a/two', mode: '120000', oid: B });

    // Going back reads the folders the last listing no longer had.
    const third: string[] = [];
    expect(await cache.list('root1', read(third), new AbortController().signal)).toEqual(one);
    expect(third.sort()).toEqual(['root1', 'treeA1']);
  });

  it('takes a seeded whole-tree listing, sizes included', async () => {
    const cache = new TreeListingCache();
    expect(cache.empty).toBe(true);
    cache.seed('root1', [
      { path: 'a', mode: '040000', oid: 'treeA1', type: 'tree' },
      { path: 'a/one.yaml', mode: '100644', oid: B, type: 'blob', size: 3 },
      { path: 'b', mode: '040000', oid: 'treeB', type: 'tree' },
      { path: 'b/deep', mode: '040000', oid: 'treeD', type: 'tree' },
      { path: 'b/deep/y.yaml', mode: '100644', oid: A, type: 'blob', size: 5 },
      { path: 'b/x.yaml', mode: '100755', oid: C, type: 'blob', size: 7 },
      { path: 'top.yaml', mode: '100644', oid: A, type: 'blob', size: 5 },
    ]);
    const log: string[] = [];
    const two = await cache.list('root2', read(log), new AbortController().signal);
    expect(log.sort()).toEqual(['root2', 'treeA2']);
    expect(two.find((f) => f.path === 'b/deep/y.yaml')?.size).toBe(5);
    expect(two.find((f) => f.path === 'a/one.yaml')?.size).toBeUndefined();
  });

  it('parses raw tree objects', () => {
    const entry = (mode: string, name: string, hex: string): Buffer =>
      Buffer.concat([Buffer.from(`${mode} ${name}\0`), Buffer.from(hex, 'hex')]);
    const raw = Buffer.concat([
      entry('40000', 'dir', A),
      entry('100755', 'run.sh', B),
      entry('160000', 'sub', C),
    ]);
    expect(parseTree(raw)).toEqual([
      { path: 'dir', mode: '040000', oid: A, type: 'tree' },
      { path: 'run.sh', mode: '100755', oid: B, type: 'blob' },
      { path: 'sub', mode: '160000', oid: C, type: 'commit' },
    ]);
    expect(() => parseTree(Buffer.from('100644 cut'))).toThrow(/malformed/);
  });
});
