import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AutoRenderer, detectRenderer, HelmRenderer, KustomizeRenderer, RawRenderer } from '@gitops-kit/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

describe('detectRenderer', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'detect-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('picks Helm for Chart.yaml, Kustomize for any kustomization file name, else raw', async () => {
    expect(await detectRenderer(dir)).toBe('raw');
    for (const name of ['kustomization.yaml', 'kustomization.yml', 'Kustomization']) {
      const sub = join(dir, name.replace('.', '-'));
      await mkdir(sub);
      await writeFile(join(sub, name), 'resources: []\n');
      expect(await detectRenderer(sub)).toBe('kustomize');
    }
    await writeFile(join(dir, 'kustomization.yaml'), 'resources: []\n');
    await writeFile(join(dir, 'Chart.yaml'), 'apiVersion: v2\nname: x\nversion: 0.1.0\n');
    expect(await detectRenderer(dir)).toBe('helm');
  });

  it('looks only at the folder itself', async () => {
    await mkdir(join(dir, 'sub'));
    await writeFile(join(dir, 'sub', 'Chart.yaml'), 'name: x\n');
    await writeFile(join(dir, 'a.yaml'), 'apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n');
    expect(await detectRenderer(dir)).toBe('raw');
  });

  it('lets AutoRenderer delegate to the detected renderer', async () => {
    await writeFile(join(dir, 'a.yaml'), 'apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n');
    const auto = new AutoRenderer();
    const artifact = { revision: 'r', digest: 'd', dir, meta: {} };
    expect(await auto.rendererFor(artifact)).toBeInstanceOf(RawRenderer);
    expect(
      (await auto.render(artifact, { signal: new AbortController().signal }))[0]?.object.metadata.name,
    ).toBe('a');
    await writeFile(join(dir, 'kustomization.yaml'), 'resources: [a.yaml]\n');
    expect(await auto.rendererFor(artifact)).toBeInstanceOf(KustomizeRenderer);
    await writeFile(join(dir, 'Chart.yaml'), 'name: x\n');
    expect(await auto.rendererFor(artifact)).toBeInstanceOf(HelmRenderer);
  });
});
