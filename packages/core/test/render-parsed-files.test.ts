import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Artifact } from '@gitops-kit/core';
import { RawRenderer } from '@gitops-kit/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gitops-kit-parsed-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function artifact(at: string): Artifact {
  return { revision: 'r', digest: 'd', dir: at, meta: {} } as Artifact;
}

const cm = (name: string, value: string): string =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\ndata:\n  key: ${value}\n`;

describe('RawRenderer: unchanged files are not parsed again', () => {
  it('reuses the manifests of files whose bytes did not change and parses the changed one', async () => {
    await writeFile(join(dir, 'a.yaml'), cm('a', 'one'));
    await writeFile(join(dir, 'b.yaml'), cm('b', 'one'));
    const renderer = new RawRenderer();
    const signal = AbortSignal.timeout(5000);
    const first = await renderer.render(artifact(dir), { signal });

    await writeFile(join(dir, 'b.yaml'), cm('b', 'two'));
    const second = await renderer.render(artifact(dir), { signal });

    expect(second[0]).toBe(first[0]);
    expect(second[1]).not.toBe(first[1]);
    expect(second[1]?.object.data).toEqual({ key: 'two' });
    expect(second[1]?.origin).toEqual(first[1]?.origin);
  });

  it('parses the same bytes under another path again (origins name the file)', async () => {
    await writeFile(join(dir, 'a.yaml'), cm('a', 'one'));
    const renderer = new RawRenderer();
    const signal = AbortSignal.timeout(5000);
    const first = await renderer.render(artifact(dir), { signal });
    await rm(join(dir, 'a.yaml'));
    await writeFile(join(dir, 'c.yaml'), cm('a', 'one'));

    const second = await renderer.render(artifact(dir), { signal });

    expect(second[0]).not.toBe(first[0]);
    expect(second[0]?.origin.file).toBe('c.yaml');
  });
});
