import {
  type Artifact,
  type Manifest,
  parseManifests,
  RenderCache,
  type Renderer,
  withRenderCache,
} from '@gitops-kit/core';
import { describe, expect, it } from 'vitest';

const signal = new AbortController().signal;
const artifact = (digest: string): Artifact => ({ revision: digest, digest, dir: '/', meta: {} });

/** A renderer that counts its runs and can be told to fail. */
function counting(key: string | undefined): Renderer & { runs: number; fail: boolean } {
  const r = {
    name: 'counting',
    runs: 0,
    fail: false,
    async render(a: Artifact): Promise<Manifest[]> {
      r.runs++;
      if (r.fail) throw new Error('boom');
      return parseManifests(
        `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: for-${a.digest}\n`,
        'a.yaml',
      );
    },
    ...(key === undefined ? {} : { cacheKey: async () => key }),
  };
  return r;
}

describe('withRenderCache', () => {
  it('renders an unchanged digest once', async () => {
    const inner = counting('k');
    const cached = withRenderCache(inner);
    const first = await cached.render(artifact('d1'), { signal });
    const second = await cached.render(artifact('d1'), { signal });
    expect(inner.runs).toBe(1);
    expect(second).toEqual(first);
    expect(cached.cache.hits).toBe(1);
    await cached.render(artifact('d2'), { signal });
    expect(inner.runs).toBe(2);
  });

  it('keys by renderer options too', async () => {
    const cache = new RenderCache();
    const a = counting('options-a');
    const b = counting('options-b');
    await withRenderCache(a, cache).render(artifact('d'), { signal });
    await withRenderCache(b, cache).render(artifact('d'), { signal });
    expect([a.runs, b.runs]).toEqual([1, 1]);
    expect(cache.size).toBe(2);
  });

  it('hands out copies, so a caller editing its manifests does not change the cache', async () => {
    const cached = withRenderCache(counting('k'));
    const first = await cached.render(artifact('d'), { signal });
    first[0]!.object.metadata.name = 'edited';
    const second = await cached.render(artifact('d'), { signal });
    expect(second[0]?.object.metadata.name).toBe('for-d');
  });

  it('shares one run between concurrent renders, and does not cache failures', async () => {
    const inner = counting('k');
    const cached = withRenderCache(inner);
    await Promise.all([cached.render(artifact('d'), { signal }), cached.render(artifact('d'), { signal })]);
    expect(inner.runs).toBe(1);
    const failing = counting('k');
    failing.fail = true;
    const c2 = withRenderCache(failing);
    await expect(c2.render(artifact('x'), { signal })).rejects.toThrow('boom');
    failing.fail = false;
    await c2.render(artifact('x'), { signal });
    expect(failing.runs).toBe(2);
  });

  it('passes through renderers without a cache key', async () => {
    const inner = counting(undefined);
    const cached = withRenderCache(inner);
    await cached.render(artifact('d'), { signal });
    await cached.render(artifact('d'), { signal });
    expect(inner.runs).toBe(2);
    expect(cached.cacheKey).toBeUndefined();
  });

  it('drops the least recently used entry when full', async () => {
    const inner = counting('k');
    const cached = withRenderCache(inner, new RenderCache({ maxEntries: 2 }));
    for (const d of ['a', 'b', 'a', 'c', 'a', 'b']) await cached.render(artifact(d), { signal });
    // a, b, (a hit), c evicts b, (a hit), b again.
    expect(inner.runs).toBe(4);
  });
});
