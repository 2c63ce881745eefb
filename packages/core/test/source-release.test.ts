import type { Artifact, FetchOptions, Source } from '@gitops-kit/core';
import { MemorySource } from '@gitops-kit/core/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { configMap, rig } from './support/reconciler-fixtures.js';

/** A MemorySource that records what the reconciler releases. */
class ReleasingSource implements Source {
  readonly description: string;
  readonly released: string[] = [];
  readonly inner: MemorySource;

  constructor(inner: MemorySource) {
    this.inner = inner;
    this.description = inner.description;
  }

  fetch(options: FetchOptions): Promise<Artifact> {
    return this.inner.fetch(options);
  }

  async release(artifact: Artifact): Promise<void> {
    this.released.push(artifact.revision);
  }
}

const sources: MemorySource[] = [];
afterEach(async () => {
  for (const s of sources.splice(0)) await s.cleanup();
});

const settled = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('Source.release', () => {
  it('is told once when a fetch replaced an artifact, never for the current one', async () => {
    const inner = new MemorySource({ files: { 'a.yaml': configMap('a') } });
    sources.push(inner);
    const source = new ReleasingSource(inner);
    const r = rig(undefined, { source });
    const first = inner.head?.revision;
    await r.reconciler.reconcile();
    await r.reconciler.reconcile(); // same artifact: nothing to release
    await settled();
    expect(source.released).toEqual([]);

    inner.setFile('a.yaml', configMap('a', 'v2')).commit();
    await r.reconciler.reconcile();
    await settled();
    expect(source.released).toEqual([first]);

    await r.reconciler.reconcile();
    await settled();
    expect(source.released).toEqual([first]);
  });

  it('a release that throws does not fail the pass', async () => {
    const inner = new MemorySource({ files: { 'a.yaml': configMap('a') } });
    sources.push(inner);
    const source = new ReleasingSource(inner);
    source.release = async () => {
      throw new Error('disk gone');
    };
    const r = rig(undefined, { source });
    await r.reconciler.reconcile();
    inner.setFile('a.yaml', configMap('a', 'v2')).commit();
    const result = await r.reconciler.reconcile();
    await settled();
    expect(result.outcome).toBe('succeeded');
  });
});
