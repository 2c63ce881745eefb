import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { pinnedVersions, testenv } from '@gitops-kit/testenv';
import {
  ApiextensionsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  type V1CustomResourceDefinition,
} from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';

const exec = promisify(execFile);
const group = 'testenv.gitops-kit.dev';

function widgetCrd(): V1CustomResourceDefinition {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `widgets.${group}` },
    spec: {
      group,
      scope: 'Namespaced',
      names: { plural: 'widgets', singular: 'widget', kind: 'Widget', listKind: 'WidgetList' },
      versions: [
        {
          name: 'v1',
          served: true,
          storage: true,
          subresources: { status: {} },
          schema: {
            openAPIV3Schema: {
              type: 'object',
              properties: {
                spec: { type: 'object', properties: { size: { type: 'integer' } }, required: ['size'] },
                status: { type: 'object', properties: { ready: { type: 'boolean' } } },
              },
            },
          },
        },
      ],
    },
  };
}

/** Polls until the CRD is Established (the API server's own CRD controller sets it). */
async function waitEstablished(api: ApiextensionsV1Api, name: string): Promise<void> {
  for (let attempt = 0; attempt < 300; attempt++) {
    const crd = await api.readCustomResourceDefinition({ name });
    if (crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True')) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`CRD ${name} never became Established`);
}

describe('testenv kube', () => {
  it('reports the pinned Kubernetes version', async () => {
    const kube = await testenv.kube();
    if (kube.existingCluster) {
      expect(kube.version).toMatch(/^v1\.\d+\.\d+/);
    } else {
      expect(kube.version).toBe(pinnedVersions().kube);
      expect(kube.etcdVersion).toBe(pinnedVersions().etcd);
      expect(kube.server).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    }
  });

  it('creates and reads back a ConfigMap in the default namespace', async () => {
    const core = (await testenv.kube()).kubeConfig().makeApiClient(CoreV1Api);
    const name = `smoke-${Date.now().toString(36)}`;
    await core.createNamespacedConfigMap({
      namespace: 'default',
      body: { metadata: { name }, data: { greeting: 'hello' } },
    });
    const read = await core.readNamespacedConfigMap({ name, namespace: 'default' });
    expect(read.data).toEqual({ greeting: 'hello' });
    expect(read.metadata?.uid).toBeTruthy();
    await core.deleteNamespacedConfigMap({ name, namespace: 'default' });
  });

  it('serves a CRD and its custom resources, with a status subresource', async () => {
    const kc = (await testenv.kube()).kubeConfig();
    const crds = kc.makeApiClient(ApiextensionsV1Api);
    const objects = kc.makeApiClient(CustomObjectsApi);
    const crd = widgetCrd();
    await crds.createCustomResourceDefinition({ body: crd });
    try {
      await waitEstablished(crds, crd.metadata!.name!);
      const target = { group, version: 'v1', namespace: 'default', plural: 'widgets' };
      await objects.createNamespacedCustomObject({
        ...target,
        body: { apiVersion: `${group}/v1`, kind: 'Widget', metadata: { name: 'w1' }, spec: { size: 3 } },
      });
      // No controller owns Widgets, even in the living cluster: the test writes their status.
      const created = (await objects.getNamespacedCustomObject({ ...target, name: 'w1' })) as Record<
        string,
        unknown
      >;
      await objects.replaceNamespacedCustomObjectStatus({
        ...target,
        name: 'w1',
        body: { ...created, status: { ready: true } },
      });
      const read = (await objects.getNamespacedCustomObject({ ...target, name: 'w1' })) as {
        spec: { size: number };
        status: { ready: boolean };
      };
      expect(read.spec.size).toBe(3);
      expect(read.status.ready).toBe(true);
      // The schema is enforced by the real API server.
      await expect(
        objects.createNamespacedCustomObject({
          ...target,
          body: { apiVersion: `${group}/v1`, kind: 'Widget', metadata: { name: 'w2' }, spec: {} },
        }),
      ).rejects.toMatchObject({ code: 422 });
    } finally {
      await crds.deleteCustomResourceDefinition({ name: crd.metadata!.name! });
    }
  });

  it('works with kubectl and enforces RBAC for other users', async () => {
    const kube = await testenv.kube();
    const { kubectl } = await testenv.tools();
    const args = ['--kubeconfig', kube.kubeconfigPath];
    const ns = await exec(kubectl, [...args, 'get', 'namespace', 'default', '-o', 'name']);
    expect(ns.stdout.trim()).toBe('namespace/default');
    const admin = await exec(kubectl, [...args, 'auth', 'can-i', 'delete', 'secrets']);
    expect(admin.stdout.trim()).toBe('yes');
    // A user with no bindings is denied by the RBAC authorizer (kubectl exits 1 on "no").
    const nobody = await exec(kubectl, [
      ...args,
      'auth',
      'can-i',
      'delete',
      'secrets',
      '--as',
      'nobody',
    ]).catch((error: { stdout: string }) => ({ stdout: error.stdout }));
    expect(nobody.stdout.trim()).toBe('no');
  });
});
