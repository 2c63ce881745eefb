import { modulesOf as from, modulesLoadedByImport } from '@gitops-kit/testenv';
import { describe, expect, it } from 'vitest';

describe('k8s-target loads @kubernetes/client-node only to build a KubeConfig', () => {
  it('importing the package and building a target load neither client-node nor the diff printer', async () => {
    const urls = await modulesLoadedByImport(
      ['@gitops-kit/k8s-target'],
      "new m0.KubernetesTarget({ name: 'x' });",
    );
    expect(from(urls, '@kubernetes/client-node')).toEqual([]);
    expect(from(urls, 'diff')).toEqual([]);
    expect(from(urls, 'yaml')).toEqual([]);
  }, 60_000);

  it('a cluster Secret turned into a KubeConfig loads it', async () => {
    const urls = await modulesLoadedByImport(
      ['@gitops-kit/k8s-target'],
      "m0.parseClusterSecret({ metadata: { name: 'c' }, stringData: { server: 'https://127.0.0.1:1', name: 'c' } });",
    );
    expect(from(urls, '@kubernetes/client-node').length).toBeGreaterThan(0);
  }, 60_000);
});
