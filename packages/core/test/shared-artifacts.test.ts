import type { Artifact, FetchOptions, Manifest, Source } from '@gitops-kit/core';
import { shareRenderer, shareSource } from '@gitops-kit/core';
import { ManualClock } from '@gitops-kit/core/testing';
import { describe, expect, it } from 'vitest';

function countingSource(): Source & { fetches: number; released: string[]; next: () => void } {
  let n = 0;
  const source = {
    description: 'counting',
    fetches: 0,
    released: [] as string[],
    next: () => {
      n++;
    },
    async fetch(options: FetchOptions): Promise<Artifact> {
      source.fetches++;
      await new Promise((resolve) => setTimeout(resolve, 5));
      options.signal.throwIfAborted();
      return { revision: `r${n}`, digest: `d${n}`, dir: `/tmp/a${n}`, meta: {} };
    },
    async release(artifact: Artifact): Promise<void> {
      source.released.push(artifact.dir);
    },
  };
  return source;
}

const signal = (): AbortSignal => AbortSignal.timeout(5000);

describe('shareSource', () => {
  it('makes concurrent fetches and fetches within the window one fetch', async () => {
    const clock = new ManualClock();
    const source = countingSource();
    const shared = shareSource(source, { clock, freshForMs: 1000 });
    const all = await Promise.all(Array.from({ length: 10 }, () => shared.fetch({ signal: signal() })));
    expect(source.fetches).toBe(1);
    expect(new Set(all.map((a) => a.dir)).size).toBe(1);
    await clock.advance(500);
    await shared.fetch({ signal: signal() });
    expect(source.fetches).toBe(1);
    await clock.advance(600);
    source.next();
    expect((await shared.fetch({ signal: signal() })).revision).toBe('r1');
    expect(source.fetches).toBe(2);
  });

  it('releases an artifact only when every holder released it, and never the newest', async () => {
    const clock = new ManualClock();
    const source = countingSource();
    const shared = shareSource(source, { clock, freshForMs: 10 });
    const [a, b] = await Promise.all([
      shared.fetch({ signal: signal() }),
      shared.fetch({ signal: signal() }),
    ]);
    await clock.advance(20);
    source.next();
    await shared.fetch({ signal: signal() });
    await shared.release?.(a as Artifact);
    expect(source.released).toEqual([]);
    await shared.release?.(b as Artifact);
    expect(source.released).toEqual(['/tmp/a0']);
  });

  it('aborts the shared fetch only when every waiter aborted', async () => {
    const source = countingSource();
    const shared = shareSource(source);
    const first = new AbortController();
    const one = shared.fetch({ signal: first.signal });
    const two = shared.fetch({ signal: signal() });
    first.abort(new Error('gone'));
    await expect(one).rejects.toThrow('gone');
    expect((await two).revision).toBe('r0');
  });
});

describe('shareRenderer', () => {
  it('renders once per digest and key and hands out the same manifests', async () => {
    let renders = 0;
    const manifests = [
      { object: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a' } } },
    ] as Manifest[];
    const renderer = shareRenderer({
      name: 'raw',
      render: async () => {
        renders++;
        return manifests;
      },
      cacheKey: async () => 'k',
    });
    const artifact: Artifact = { revision: 'r', digest: 'd', dir: '/tmp/x', meta: {} };
    const [x, y] = await Promise.all([
      renderer.render(artifact, { signal: signal() }),
      renderer.render(artifact, { signal: signal() }),
    ]);
    expect(renders).toBe(1);
    expect(x).toBe(y);
    await renderer.render({ ...artifact, digest: 'other' }, { signal: signal() });
    expect(renders).toBe(2);
  });

  it('does not keep a failed render', async () => {
    let calls = 0;
    const renderer = shareRenderer({
      name: 'raw',
      render: async () => {
        calls++;
        if (calls === 1) throw new Error('broken');
        return [];
      },
      cacheKey: async () => 'k',
    });
    const artifact: Artifact = { revision: 'r', digest: 'd', dir: '/tmp/x', meta: {} };
    await expect(renderer.render(artifact, { signal: signal() })).rejects.toThrow('broken');
    await expect(renderer.render(artifact, { signal: signal() })).resolves.toEqual([]);
  });
});
