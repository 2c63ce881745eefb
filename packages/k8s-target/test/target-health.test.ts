import { HealthError, type KubeObject, type ObjectRef } from '@gitops-kit/core';
import { OWNER_LABEL } from '@gitops-kit/k8s-target';
import { describe, expect, it } from 'vitest';
import { call, configMap, corePath, deployment, scriptedTarget } from './support/objects.js';

const ref = (object: KubeObject): ObjectRef => ({
  apiVersion: object.apiVersion,
  kind: object.kind,
  name: object.metadata.name,
  ...(object.metadata.namespace ? { namespace: object.metadata.namespace } : {}),
});

function withStatus(object: KubeObject, status: Record<string, unknown>): KubeObject {
  return {
    ...object,
    metadata: { ...object.metadata, generation: 1, labels: { [OWNER_LABEL]: 'shop' } },
    status: { observedGeneration: 1, ...status },
  };
}

const ready = {
  replicas: 1,
  updatedReplicas: 1,
  readyReplicas: 1,
  availableReplicas: 1,
  conditions: [{ type: 'Available', status: 'True' }],
};

describe('KubernetesTarget health', () => {
  it('reads each kind with one labeled list and reports each object by kstatus rules', async () => {
    const { server, target } = scriptedTarget();
    server.seed(
      '/apis/apps/v1/namespaces/shop/deployments/web',
      withStatus(deployment('shop', 'web'), ready),
    );
    server.seed(
      '/apis/apps/v1/namespaces/shop/deployments/api',
      withStatus(deployment('shop', 'api'), { ...ready, readyReplicas: 0, availableReplicas: 0 }),
    );
    server.seed(corePath('configmaps', 'shop', 'cfg'), withStatus(configMap('shop', 'cfg'), {}));
    const report = await target.health(
      [ref(deployment('shop', 'web')), ref(deployment('shop', 'api')), ref(configMap('shop', 'cfg'))],
      call(),
    );
    expect(report.status).toBe('InProgress');
    expect(report.objects.map((o) => [o.ref.name, o.status])).toEqual([
      ['web', 'Current'],
      ['api', 'InProgress'],
      ['cfg', 'Current'],
    ]);
    expect(
      server.requests.filter((r) => !r.path.match(/^\/apis?\/[^/]+(\/[^/]+)?$/)).map((r) => r.path),
    ).toEqual(['/apis/apps/v1/namespaces/shop/deployments', '/api/v1/namespaces/shop/configmaps']);
    expect(server.writes()).toEqual([]);
  });

  it('reports Failed when one object failed, and NotFound for missing objects and unserved kinds', async () => {
    const { server, target } = scriptedTarget();
    server.seed(
      '/apis/apps/v1/namespaces/shop/deployments/web',
      withStatus(deployment('shop', 'web'), {
        conditions: [
          { type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded', message: 'too slow' },
        ],
      }),
    );
    const report = await target.health(
      [
        ref(deployment('shop', 'web')),
        ref(configMap('shop', 'missing')),
        { apiVersion: 'example.com/v1', kind: 'Widget', namespace: 'shop', name: 'w' },
      ],
      call(),
    );
    expect(report.status).toBe('Failed');
    expect(report.objects.map((o) => [o.ref.name, o.status, o.message])).toEqual([
      ['web', 'Failed', expect.stringContaining('too slow')],
      ['missing', 'NotFound', 'object not found'],
      ['w', 'NotFound', 'kind Widget is not served'],
    ]);
  });

  it('applies custom health checks before the built-in rules', async () => {
    const { server, target } = scriptedTarget({
      healthChecks: {
        ConfigMap: (o) =>
          (o.data as Record<string, string> | undefined)?.broken
            ? { status: 'Failed', message: 'broken' }
            : undefined,
      },
    });
    server.seed(
      corePath('configmaps', 'shop', 'cfg'),
      withStatus(configMap('shop', 'cfg', { broken: 'yes' }), {}),
    );
    const report = await target.health([ref(configMap('shop', 'cfg'))], call());
    expect(report.objects[0]).toMatchObject({ status: 'Failed', message: 'broken' });
  });

  it('wraps a failed read in a HealthError naming the reason', async () => {
    const { server, target } = scriptedTarget();
    server.fail((r) => r.path.endsWith('/deployments'), {
      status: 403,
      reason: 'Forbidden',
      message: 'no list',
    });
    const error = await target.health([ref(deployment('shop', 'web'))], call()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HealthError);
    expect(error).toMatchObject({ code: 'HEALTH_READ_FAILED', stage: 'health' });
    expect((error as Error).message).toContain('Forbidden: no list');
  });
});

describe('KubernetesTarget health of hooks', () => {
  it('reads refs given as hooks by completion: a failed Pod is Failed, not settled', async () => {
    const { server, target } = scriptedTarget();
    const pod = (name: string): KubeObject => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, namespace: 'shop' },
    });
    server.seed(corePath('pods', 'shop', 'hook'), withStatus(pod('hook'), { phase: 'Failed' }));
    server.seed(corePath('pods', 'shop', 'plain'), withStatus(pod('plain'), { phase: 'Failed' }));
    const hookRef = ref(pod('hook'));
    const report = await target.health([hookRef, ref(pod('plain'))], { ...call(), hooks: [hookRef] });
    expect(report.objects.map((o) => [o.ref.name, o.status, o.message])).toEqual([
      ['hook', 'Failed', 'Pod failed'],
      ['plain', 'Current', 'Pod has completed, but not successfully'],
    ]);
  });
});
