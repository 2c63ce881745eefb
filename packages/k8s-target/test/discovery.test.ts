import {
  Discovery,
  KubeClient,
  type KubeRequest,
  resourcePath,
  UnknownKindError,
} from '@gitops-kit/k8s-target';
import { describe, expect, it } from 'vitest';

/** An apiserver's discovery documents, served from a table; the set of served kinds can change. */
function discoveryServer(served: Record<string, { name: string; kind: string; namespaced: boolean }[]>) {
  const seen: string[] = [];
  const client = new KubeClient(async (request: KubeRequest) => {
    seen.push(request.path);
    const resources = served[request.path];
    if (!resources)
      return {
        statusCode: 404,
        text: JSON.stringify({
          kind: 'Status',
          reason: 'NotFound',
          message: 'the server could not find the requested resource',
        }),
      };
    return { statusCode: 200, text: JSON.stringify({ kind: 'APIResourceList', resources }) };
  });
  return { client, seen, served };
}

describe('Discovery', () => {
  it('reads one group-version once, skipping subresources', async () => {
    const { client, seen } = discoveryServer({
      '/apis/apps/v1': [
        { name: 'deployments', kind: 'Deployment', namespaced: true },
        { name: 'deployments/status', kind: 'Deployment', namespaced: true },
        { name: 'statefulsets', kind: 'StatefulSet', namespaced: true },
      ],
      '/api/v1': [{ name: 'namespaces', kind: 'Namespace', namespaced: false }],
    });
    const discovery = new Discovery(client);
    const deployment = await discovery.resolve('apps/v1', 'Deployment');
    await discovery.resolve('apps/v1', 'StatefulSet');
    const ns = await discovery.resolve('v1', 'Namespace');
    expect(seen).toEqual(['/apis/apps/v1', '/api/v1']);
    expect(resourcePath(deployment, 'shop', 'web')).toBe('/apis/apps/v1/namespaces/shop/deployments/web');
    expect(resourcePath(ns, 'ignored', 'shop')).toBe('/api/v1/namespaces/shop');
  });

  it('reads a group-version again for a kind it lacks (a CRD installed since), then names what is missing', async () => {
    const server = discoveryServer({ '/apis/example.com/v1': [] });
    const discovery = new Discovery(server.client);
    expect(await discovery.lookup('example.com/v1', 'Widget')).toBeUndefined();
    server.served['/apis/example.com/v1'] = [{ name: 'widgets', kind: 'Widget', namespaced: true }];
    expect((await discovery.resolve('example.com/v1', 'Widget')).resource).toBe('widgets');
    const error = await discovery.resolve('missing.example.com/v1', 'Ghost').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnknownKindError);
    expect((error as Error).message).toContain('missing.example.com/v1 is not served');
  });
});
