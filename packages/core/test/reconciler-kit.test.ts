import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ErrorCodes, MemoryStateStore, SourceError, type StoredState } from '@gitops-kit/core';
import { ManualClock, MemorySource } from '@gitops-kit/core/testing';
import { afterEach, describe, expect, it } from 'vitest';

const signal = new AbortController().signal;
const sources: MemorySource[] = [];

function source(options: ConstructorParameters<typeof MemorySource>[0] = {}): MemorySource {
  const s = new MemorySource({ clock: new ManualClock(), ...options });
  sources.push(s);
  return s;
}

afterEach(async () => {
  await Promise.all(sources.splice(0).map((s) => s.cleanup()));
});

describe('MemorySource', () => {
  it('makes Git-like revisions from content, parent and message, with author, message and time', async () => {
    const a = source();
    const b = source();
    for (const s of [a, b]) s.setFiles({ 'app/cm.yaml': 'x: 1\n' });
    const ra = a.commit({ message: 'first', author: 'Ann <ann@example.com>' });
    const rb = b.commit({ message: 'first' });
    expect(ra).toMatch(/^main@sha1:[0-9a-f]{40}$/);
    expect(rb).toBe(ra);

    const artifact = await a.fetch({ signal });
    expect(artifact.revision).toBe(ra);
    expect(artifact.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(artifact.meta).toMatchObject({
      author: 'Ann <ann@example.com>',
      message: 'first',
      time: '2026-01-01T00:00:00.000Z',
    });
    expect(await readFile(join(artifact.dir, 'app', 'cm.yaml'), 'utf8')).toBe('x: 1\n');

    const other = a.commit({ message: 'second, same content' });
    expect(other).not.toBe(ra);
    const again = await a.fetch({ signal });
    expect(again.revision).toBe(other);
    expect(again.digest).toBe(artifact.digest);
    expect(a.head?.parent).toBe(a.commits[0]?.sha);
  });

  it('writes each revision to a fresh folder and returns the same artifact for the same revision', async () => {
    const s = source({ files: { 'a.yaml': 'a: 1\n', 'b.yaml': 'b: 1\n' } });
    const first = await s.fetch({ signal });
    expect(await s.fetch({ signal })).toBe(first);
    s.removeFile('b.yaml').commit();
    const second = await s.fetch({ signal });
    expect(second.dir).not.toBe(first.dir);
    expect((await readdir(first.dir)).sort()).toEqual(['a.yaml', 'b.yaml']);
    expect(await readdir(second.dir)).toEqual(['a.yaml']);
    await s.cleanup();
    await expect(stat(first.dir)).rejects.toThrow();
  });

  it('fails on demand, when nothing is committed, and on unsafe paths', async () => {
    const s = source();
    await expect(s.fetch({ signal })).rejects.toMatchObject({ code: ErrorCodes.SourceNotFound });
    s.setFile('a.yaml', 'a: 1\n').commit();
    s.failNextFetch();
    await expect(s.fetch({ signal })).rejects.toBeInstanceOf(SourceError);
    await expect(s.fetch({ signal })).resolves.toMatchObject({ revision: s.head?.revision });
    expect(s.fetchCount).toBe(3);
    expect(() => s.setFile('../escape.yaml', '')).toThrow(SourceError);
    expect(() => s.setFile('/abs.yaml', '')).toThrow(SourceError);
  });

  it('matches change notifications by URL and branch', () => {
    const s = source({ url: 'memory://shop', branch: 'prod' });
    expect(s.matches({ url: 'memory://shop', ref: 'refs/heads/prod' })).toBe(true);
    expect(s.matches({ url: 'memory://shop' })).toBe(true);
    expect(s.matches({ ref: 'prod' })).toBe(true);
    expect(s.matches({ url: 'memory://shop', ref: 'main' })).toBe(false);
    expect(s.matches({ url: 'memory://other' })).toBe(false);
    expect(s.matches({})).toBe(false);
  });
});

describe('MemoryStateStore', () => {
  it('keeps copies, so neither side can change the other', async () => {
    const store = new MemoryStateStore();
    const state: StoredState = {
      inventory: {
        entries: [{ ref: { apiVersion: 'v1', kind: 'ConfigMap', name: 'a' }, digest: 'sha256:1' }],
      },
      lastAppliedRevision: 'main@sha1:1',
    };
    expect(await store.load('x')).toBeUndefined();
    await store.save('x', state);
    (state.inventory.entries as unknown[]).length = 0;
    const loaded = await store.load('x');
    expect(loaded?.inventory.entries).toHaveLength(1);
    (loaded?.inventory.entries as unknown[]).length = 0;
    expect(store.get('x')?.inventory.entries).toHaveLength(1);
    expect(store.keys()).toEqual(['x']);
    expect(store.saves).toBe(1);
    const aborted = new AbortController();
    aborted.abort();
    await expect(store.save('x', state, { signal: aborted.signal })).rejects.toThrow();
  });
});
