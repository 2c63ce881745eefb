import { emptyInventory, type KubeObject, valueAt } from '@gitops-kit/core';
import { describe, expect, it } from 'vitest';
import type { KubeClient } from '../src/kube-client.js';
import { deployment, getObject, kubeTarget, namespace, sync, uniqueName } from './kube-helpers.js';

const deploymentPath = (ns: string, name: string): string =>
  `/apis/apps/v1/namespaces/${ns}/deployments/${name}`;

/** Another writer, as an HPA is: a merge patch of the scale subresource under its own field manager. */
async function scale(admin: KubeClient, ns: string, name: string, replicas: number): Promise<void> {
  await admin.request({
    method: 'PATCH',
    path: `${deploymentPath(ns, name)}/scale`,
    query: { fieldManager: 'hpa-like' },
    body: { spec: { replicas } },
    contentType: 'application/merge-patch+json',
  });
}

/** A hand edit, as `kubectl edit` sends it: a strategic merge patch under field manager `kubectl-edit`. */
async function handEdit(admin: KubeClient, path: string, body: unknown): Promise<KubeObject> {
  return admin.request<KubeObject>({
    method: 'PATCH',
    path,
    query: { fieldManager: 'kubectl-edit' },
    body,
    contentType: 'application/strategic-merge-patch+json',
  });
}

const imageOf = (object: KubeObject | undefined): unknown =>
  valueAt(object, '/spec/template/spec/containers/0/image');
const replicasOf = (object: KubeObject | undefined): unknown => valueAt(object, '/spec/replicas');

describe('drift control (living cluster)', () => {
  it('an ignore rule leaves spec.replicas to another manager: 100 changes, 0 writes, 0 drift; other fields are still reverted', async () => {
    const { target, admin } = await kubeTarget({
      ignore: [
        { paths: ['/spec/replicas'], target: { group: 'apps', kind: 'Deployment' } },
        { paths: ['/spec/paused'], target: { kind: 'StatefulSet' } },
      ],
    });
    const ns = uniqueName('ignore');
    const set = [namespace(ns), deployment(ns, 'web', 2)];
    let state = await sync(target, set, emptyInventory);
    expect(state.plan.unusedIgnoreRules?.map((r) => r.index)).toEqual([1]);

    let writes = 0;
    let drifted = 0;
    for (let i = 1; i <= 100; i++) {
      await scale(admin, ns, 'web', 3 + (i % 5));
      state = await sync(target, set, state.inventory);
      writes += state.writes;
      drifted += state.plan.drifted.length;
    }
    expect({ writes, drifted }).toEqual({ writes: 0, drifted: 0 });
    expect(replicasOf(await getObject(admin, deploymentPath(ns, 'web')))).toBe(3 + (100 % 5));

    // A field nobody ignores is reverted, and the other writer keeps its replicas.
    await handEdit(admin, deploymentPath(ns, 'web'), {
      spec: { template: { spec: { containers: [{ name: 'main', image: 'nginx:hacked' }] } } },
    });
    state = await sync(target, set, state.inventory);
    expect(state.plan.drifted.map((o) => o.ref.name)).toEqual(['web']);
    expect(state.plan.drifted[0]?.changes.map((c) => c.path)).toEqual([
      '/spec/template/spec/containers/0/image',
    ]);
    expect(state.writes).toBe(1);
    const reverted = await getObject(admin, deploymentPath(ns, 'web'));
    expect(imageOf(reverted)).toBe('nginx:1.27');
    expect(replicasOf(reverted)).toBe(3);
  });

  it('a managers rule leaves every field that manager owns (its scale entry included)', async () => {
    const { target, admin } = await kubeTarget({
      ignore: [{ managers: ['hpa-like'], target: { kind: 'Deployment' } }],
    });
    const ns = uniqueName('managers');
    const set = [namespace(ns), deployment(ns, 'web', 2)];
    let state = await sync(target, set, emptyInventory);
    // Before the other manager wrote anything, the rule matches nothing.
    expect(state.plan.unusedIgnoreRules?.map((r) => r.index)).toEqual([0]);
    for (let i = 0; i < 5; i++) {
      await scale(admin, ns, 'web', 4 + i);
      state = await sync(target, set, state.inventory);
      expect({ writes: state.writes, drifted: state.plan.drifted.length }).toEqual({ writes: 0, drifted: 0 });
    }
    expect(state.plan.unusedIgnoreRules).toBeUndefined();
    expect(state.plan.unchanged[1]?.ignored?.live).toEqual(['/spec/replicas']);
  });

  it('an ignored field we alone own is kept at its live value when the object is updated', async () => {
    const { target, admin } = await kubeTarget({ ignore: [{ paths: ['/spec/replicas'] }] });
    const ns = uniqueName('pin');
    const first = await sync(target, [namespace(ns), deployment(ns, 'web', 4)], emptyInventory);
    // Git changes the image; nobody else ever wrote replicas: sending no replicas would reset them to 1.
    await sync(target, [namespace(ns), deployment(ns, 'web', 2, 'nginx:1.28')], first.inventory);
    const live = await getObject(admin, deploymentPath(ns, 'web'));
    expect(imageOf(live)).toBe('nginx:1.28');
    expect(replicasOf(live)).toBe(4);
  });

  it('IfNotPresent objects are created and never updated; Merge leaves fields another manager owns', async () => {
    const { target, admin } = await kubeTarget();
    const ns = uniqueName('policy');
    const once = (data: Record<string, string>, policy: string): KubeObject => ({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name: `cm-${policy.toLowerCase()}`,
        namespace: ns,
        annotations: { 'kustomize.toolkit.fluxcd.io/ssa': policy },
      },
      data,
    });
    const path = (policy: string): string => `/api/v1/namespaces/${ns}/configmaps/cm-${policy.toLowerCase()}`;
    let state = await sync(
      target,
      [namespace(ns), once({ a: '1' }, 'IfNotPresent'), once({ a: '1', b: '1' }, 'Merge')],
      emptyInventory,
    );
    expect(state.plan.create).toHaveLength(3);
    await handEdit(admin, path('IfNotPresent'), { data: { a: 'edited' } });
    await handEdit(admin, path('Merge'), { data: { a: 'edited' } });
    state = await sync(
      target,
      [namespace(ns), once({ a: '2' }, 'IfNotPresent'), once({ a: '1', b: '2' }, 'Merge')],
      state.inventory,
    );
    expect(state.plan.drifted).toHaveLength(0);
    expect(state.writes).toBe(1);
    expect((await getObject(admin, path('IfNotPresent')))?.data).toEqual({ a: 'edited' });
    expect((await getObject(admin, path('Merge')))?.data).toEqual({ a: 'edited', b: '2' });
  });
});
