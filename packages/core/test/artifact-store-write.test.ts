import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ArtifactStore } from '@gitops-kit/core';
import { afterEach, describe, expect, it } from 'vitest';

const roots: string[] = [];
afterEach(async () => {
  for (const root of roots.splice(0)) await rm(root, { recursive: true, force: true });
});

async function store(): Promise<ArtifactStore> {
  const root = await mkdtemp(join(tmpdir(), 'store-write-'));
  roots.push(root);
  return new ArtifactStore({ root });
}

describe('ArtifactStore.write for custom sources', () => {
  it('takes a revision that names the content digest', async () => {
    const s = await store();
    const record = await s.write([{ path: 'a.yaml', content: 'a: 1\n' }], {
      revision: (digest) => `v7@${digest}`,
    });
    expect(record.revision).toBe(`v7@${record.digest}`);
    expect(record.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(await readFile(join(s.dirOf(record.name), 'a.yaml'), 'utf8')).toBe('a: 1\n');
  });

  it('gives the same artifact for the same content, whatever revision is asked the second time', async () => {
    const s = await store();
    const first = await s.write([{ path: 'a.yaml', content: 'a: 1\n' }], { revision: 'one' });
    const second = await s.write([{ path: 'a.yaml', content: 'a: 1\n' }], { revision: (d) => `two@${d}` });
    expect(second.name).toBe(first.name);
    expect(second.revision).toBe('one');
  });
});
