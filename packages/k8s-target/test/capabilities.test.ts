import { describe, expect, it } from 'vitest';
import { CapabilitiesCache, readCapabilities } from '../src/capabilities.js';
import type { KubeClient, KubeRequest } from '../src/kube-client.js';

const signal = new AbortController().signal;

/** A client answering discovery paths from a table, recording what was asked. */
function client(answers: Record<string, unknown>): { client: KubeClient; asked: KubeRequest[] } {
  const asked: KubeRequest[] = [];
  const fake = {
    async request(request: KubeRequest) {
      asked.push(request);
      const answer = answers[request.path];
      if (answer instanceof Error) throw answer;
      return answer;
    },
  };
  return { client: fake as unknown as KubeClient, asked };
}

const AGGREGATED = {
  '/version': { gitVersion: 'v1.32.13' },
  '/api': {
    kind: 'APIGroupDiscoveryList',
    items: [
      {
        metadata: {},
        versions: [
          {
            version: 'v1',
            resources: [{ responseKind: { kind: 'ConfigMap' } }, { responseKind: { kind: 'Pod' } }],
          },
        ],
      },
    ],
  },
  '/apis': {
    kind: 'APIGroupDiscoveryList',
    items: [
      {
        metadata: { name: 'apps' },
        versions: [{ version: 'v1', resources: [{ responseKind: { kind: 'Deployment' } }] }],
      },
      { metadata: { name: 'autoscaling' }, versions: [{ version: 'v2' }, { version: 'v1' }] },
    ],
  },
};

describe('cluster capabilities', () => {
  it('reads the version and every group/version and group/version/Kind from aggregated discovery', async () => {
    const { client: c, asked } = client(AGGREGATED);
    expect(await readCapabilities(c, signal)).toEqual({
      kubeVersion: 'v1.32.13',
      apiVersions: [
        'apps/v1',
        'apps/v1/Deployment',
        'autoscaling/v1',
        'autoscaling/v2',
        'v1',
        'v1/ConfigMap',
        'v1/Pod',
      ],
    });
    expect(asked.map((r) => r.path).sort()).toEqual(['/api', '/apis', '/version']);
    expect(asked.find((r) => r.path === '/apis')?.accept).toContain('as=APIGroupDiscoveryList');
  });

  it('falls back to the plain group lists (group/versions only) without aggregated discovery', async () => {
    const { client: c } = client({
      '/version': { gitVersion: 'v1.26.0' },
      '/api': { kind: 'APIVersions', versions: ['v1'] },
      '/apis': {
        kind: 'APIGroupList',
        groups: [{ versions: [{ groupVersion: 'apps/v1' }, { groupVersion: 'batch/v1' }] }],
      },
    });
    expect(await readCapabilities(c, signal)).toEqual({
      kubeVersion: 'v1.26.0',
      apiVersions: ['apps/v1', 'batch/v1', 'v1'],
    });
  });

  it('keeps a reading for its TTL and forgets a failed one', async () => {
    let now = 0;
    const answers: Record<string, unknown> = { ...AGGREGATED, '/version': new Error('down') };
    const { client: c, asked } = client(answers);
    const cache = new CapabilitiesCache(c, 1000, () => now);
    await expect(cache.get(signal)).rejects.toThrow('down');
    answers['/version'] = { gitVersion: 'v1.32.13' };
    expect((await cache.get(signal)).kubeVersion).toBe('v1.32.13');
    const before = asked.length;
    now = 999;
    await cache.get(signal);
    expect(asked.length).toBe(before);
    now = 1000;
    await cache.get(signal);
    expect(asked.length).toBe(before + 3);
  });
});
