import type { TreeFile } from '@gitops-kit/git-source';
import { describe, expect, it } from 'vitest';
import {
  checkLinkTarget,
  digestFiles,
  IgnoreDecisions,
  selectFiles,
  withKnownSizes,
} from '../src/artifact.js';

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);
const C = 'c'.repeat(40);

describe('selectFiles', () => {
  const blobs = new Map<string, string>([
    ['ign-root', 'docs/\n!docs/keep.md\n'],
    ['ign-apps', '*.tmp\n'],
    ['ign-docs', '*\n'],
    ['link-in', 'web.yaml'],
    ['link-out', '../../etc/passwd'],
  ]);
  const readBlob = async (oid: string): Promise<Uint8Array> =>
    new TextEncoder().encode(blobs.get(oid) ?? 'x');
  const file = (path: string, oid = 'blob', mode = '100644', size?: number): TreeFile => ({
    path,
    mode,
    oid,
    size,
  });

  it('applies defaults, scoped .sourceignore files and extra patterns; drops submodules', async () => {
    const files = [
      file('.sourceignore', 'ign-root'),
      file('apps/.sourceignore', 'ign-apps'),
      file('docs/.sourceignore', 'ign-docs'),
      file('apps/web.yaml'),
      file('apps/x.tmp'),
      file('x.tmp'),
      file('docs/guide.md'),
      file('.github/workflows/ci.yml'),
      file('img/logo.png'),
      file('vendor/lib', C, '160000'),
      file('secret.env'),
    ];
    const chosen = await selectFiles(files, { readBlob, ignore: '*.env' });
    expect(chosen.map((f) => f.path)).toEqual([
      '.sourceignore',
      'apps/.sourceignore',
      'apps/web.yaml',
      'x.tmp',
    ]);
    const noDefaults = await selectFiles([file('img/logo.png')], { readBlob, defaultIgnores: false });
    expect(noDefaults).toHaveLength(1);
  });

  it('refuses escaping symbolic links and enforces limits', async () => {
    await expect(
      selectFiles([file('apps/web.yaml'), file('apps/alias', 'link-in', '120000')], { readBlob }),
    ).resolves.toHaveLength(2);
    await expect(
      selectFiles([file('apps/escape', 'link-out', '120000')], { readBlob }),
    ).rejects.toMatchObject({ kind: 'unsafe' });
    expect(() => checkLinkTarget('a/b', '/etc/passwd')).toThrow(/outside/);
    expect(() => checkLinkTarget('a/b', '../c')).not.toThrow();
    expect(() => checkLinkTarget('a/b', '../../c')).toThrow(/outside/);
    await expect(
      selectFiles([file('a'), file('b')], { readBlob, limits: { maxFiles: 1 } }),
    ).rejects.toMatchObject({ kind: 'limit' });
    await expect(
      selectFiles([file('a', 'x', '100644', 10)], { readBlob, limits: { maxFileBytes: 5 } }),
    ).rejects.toMatchObject({ kind: 'limit' });
  });

  it('digests content independent of listing order', () => {
    const one = [file('a', A), file('b', B)];
    expect(digestFiles(one)).toBe(digestFiles([...one].reverse()));
    expect(digestFiles(one)).not.toBe(digestFiles([file('a', A), file('b', C)]));
  });
});
describe('checkPath', () => {
  it('refuses tree paths that would leave the artifact', async () => {
    const readBlob = async (): Promise<Uint8Array> => new Uint8Array();
    for (const path of ['../x', 'a/../../x', 'a//b', './a', 'a\\..\\b', '']) {
      await expect(selectFiles([{ path, mode: '100644', oid: A }], { readBlob })).rejects.toMatchObject({
        kind: 'unsafe',
      });
    }
    await expect(
      selectFiles([{ path: 'a/..b/c.yaml', mode: '100644', oid: A }], { readBlob }),
    ).resolves.toHaveLength(1);
  });
});
describe('reused selections', () => {
  const file = (path: string, oid = A): TreeFile => ({ path, mode: '100644', oid });
  const blobs: Record<string, string> = { [B]: '*.tmp\n', [C]: '*.yaml\n' };
  const readBlob = async (oid: string) => new TextEncoder().encode(blobs[oid] ?? '');

  it('reuses ignore decisions until a .sourceignore file changes', async () => {
    const decisions = new IgnoreDecisions();
    const listing = [file('.sourceignore', B), file('a.tmp'), file('b.yaml')];
    const paths = async (files: TreeFile[]) =>
      (await selectFiles(files, { readBlob, decisions })).map((f) => f.path);
    expect(await paths(listing)).toEqual(['.sourceignore', 'b.yaml']);
    expect(decisions.ignored.get('a.tmp')).toBe(true);
    expect(await paths([...listing, file('c.tmp')])).toEqual(['.sourceignore', 'b.yaml']);
    // New rules: every earlier decision is dropped.
    expect(await paths([file('.sourceignore', C), file('a.tmp'), file('b.yaml')])).toEqual([
      '.sourceignore',
      'a.tmp',
    ]);
    expect(decisions.ignored.has('c.tmp')).toBe(false);
  });

  it('takes sizes a previous artifact recorded for the same path, mode and blob', () => {
    const sized = withKnownSizes(
      [file('a'), file('b', B), { path: 'c', mode: '100644', oid: C, size: 9 }],
      [
        ['a', `100644 ${A}`, 4],
        ['b', `100644 ${A}`, 6],
        ['c', `100644 ${C}`, 1],
      ],
    );
    expect(sized.map((f) => f.size)).toEqual([4, undefined, 9]);
  });
});
