import { type KubeObject, OWNER_ANNOTATION, OWNER_LABEL } from '@gitops-kit/core';
import { ownerLabelValue } from '@gitops-kit/k8s-target';
import { describe, expect, it } from 'vitest';
import { call, configMap, corePath, scriptedTarget } from './support/objects.js';

/** A ConfigMap as a given writer left it. */
function marked(
  name: string,
  owner: string,
  how: { annotation?: boolean; controlledBy?: string },
): KubeObject {
  const object = configMap('shop', name);
  object.metadata.labels = { [OWNER_LABEL]: ownerLabelValue(owner) };
  if (how.annotation) object.metadata.annotations = { [OWNER_ANNOTATION]: owner };
  if (how.controlledBy) {
    object.metadata.ownerReferences = [
      { apiVersion: 'v1', kind: 'Service', name: how.controlledBy, uid: 'u1', controller: true },
    ];
  }
  return object;
}

describe('KubernetesTarget.listOwned', () => {
  it('lists what we applied (label and annotation), not copies of our label made by controllers', async () => {
    const { server, target } = scriptedTarget();
    server.script(
      (r) => r.path === '/apis',
      () =>
        ({
          groups: ['apps', 'rbac.authorization.k8s.io', 'storage.k8s.io', 'apiextensions.k8s.io'].map(
            (g) => ({
              name: g,
              preferredVersion: { groupVersion: `${g}/v1` },
            }),
          ),
        }) as unknown as KubeObject,
      100,
    );
    const owner = target.name;
    server.seed(corePath('configmaps', 'shop', 'ours'), marked('ours', owner, { annotation: true }));
    // An Endpoints-like copy: the label came along, the annotation did not.
    server.seed(corePath('configmaps', 'shop', 'copied'), marked('copied', owner, {}));
    // Made by a controller that copied everything.
    server.seed(
      corePath('configmaps', 'shop', 'made'),
      marked('made', owner, { annotation: true, controlledBy: 'web' }),
    );
    server.seed(
      corePath('configmaps', 'shop', 'other'),
      marked('other', 'someone-else', { annotation: true }),
    );

    const refs = await target.listOwned(call());
    expect(refs).toEqual([{ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'shop', name: 'ours' }]);
  });
});
