import type { KubeObject, ObjectRef } from '@gitops-kit/core';
import { describeConformance, type TargetFixture, targetConformance } from '@gitops-kit/core/conformance';
import { describe, it } from 'vitest';
import { configMap, getObject, kubeTarget, manifests, namespace, uniqueName } from './kube-helpers.js';

// KubernetesTarget on the real apiserver passes the Target kit. Each check gets its own owner
// name and namespace; the namespace is made by an admin client, so the set is only ConfigMaps.

async function kubeFixture(): Promise<TargetFixture & { cleanup: () => Promise<void> }> {
  const { target, admin } = await kubeTarget();
  const ns = uniqueName('conformance');
  await admin.request({ method: 'POST', path: '/api/v1/namespaces', body: namespace(ns) });
  const path = (ref: ObjectRef): string => `/api/v1/namespaces/${ref.namespace ?? ns}/configmaps/${ref.name}`;
  const set = (color: string): KubeObject[] => [
    configMap(ns, 'settings', { color }),
    configMap(ns, 'flags', { beta: 'off' }),
    configMap(ns, 'limits', { cpu: '1' }),
  ];
  return {
    target,
    manifests: manifests(set('blue')),
    changed: manifests(set('green')),
    observe: async () => {
      const list = await admin.request<{ items: KubeObject[] }>({
        method: 'GET',
        path: `/api/v1/namespaces/${ns}/configmaps`,
      });
      // kube-root-ca.crt is written by a controller when one runs: not the target's doing.
      return list.items
        .filter((o) => o.metadata.name !== 'kube-root-ca.crt')
        .map((o) => [o.metadata.name, o.metadata.resourceVersion, o.data, o.metadata.labels])
        .sort();
    },
    exists: async (ref) => (await getObject(admin, path(ref))) !== undefined,
    foreign: async () => {
      await admin.request({
        method: 'POST',
        path: `/api/v1/namespaces/${ns}/configmaps`,
        body: configMap(ns, 'hand-made', { by: 'kubectl' }),
      });
      return { apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: 'hand-made' };
    },
    invalid: manifests([configMap(ns, 'Not_A_Valid_Name', {})]),
    cleanup: async () => {
      await admin.request({ method: 'DELETE', path: `/api/v1/namespaces/${ns}` }).catch(() => undefined);
    },
  };
}

describeConformance({ describe, it }, targetConformance, kubeFixture, {
  name: 'KubernetesTarget (real apiserver) passes the Target kit',
});
