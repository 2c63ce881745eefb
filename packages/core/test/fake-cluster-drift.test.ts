import { emptyInventory, type Inventory, type KubeObject, type Manifest } from '@gitops-kit/core';
import { FakeCluster } from '@gitops-kit/core/testing';
import { describe, expect, it } from 'vitest';

const opts = { signal: new AbortController().signal };
const ns: KubeObject = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } };
const web = { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'shop', name: 'web' };

function deployment(replicas: number, image: string, annotations?: Record<string, string>): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'shop', ...(annotations ? { annotations } : {}) },
    spec: { replicas, image },
  };
}

const manifests = (objects: KubeObject[]): Manifest[] =>
  objects.map((object) => ({ object, origin: { file: 'x.yaml', documentIndex: 0, line: 1 } }));

async function sync(cluster: FakeCluster, objects: KubeObject[], inventory: Inventory = emptyInventory) {
  const plan = await cluster.plan(manifests(objects), inventory, opts);
  const result = await cluster.apply(plan, opts);
  return { plan, inventory: { entries: result.applied }, writes: result.writes };
}

/** Someone else sets a field of the live Deployment, as an HPA or `kubectl edit` would. */
function edit(cluster: FakeCluster, spec: Record<string, unknown>): void {
  const live = cluster.get(web);
  if (!live) throw new Error('no live Deployment');
  cluster.add({ ...live, spec: { ...(live.spec as object), ...spec } });
}

describe('FakeCluster drift control, as the Kubernetes target', () => {
  it('ignore rules: an ignored field changed by others is no drift and is not written back', async () => {
    const cluster = new FakeCluster({
      ignore: [{ paths: ['/spec/replicas'], target: { kind: 'Deployment' } }],
    });
    const first = await sync(cluster, [ns, deployment(3, 'web:1')]);
    edit(cluster, { replicas: 9 });
    const again = await sync(cluster, [ns, deployment(3, 'web:1')], first.inventory);
    expect(again.plan.drifted).toHaveLength(0);
    expect(again.writes).toBe(0);
    edit(cluster, { image: 'hacked' });
    const third = await sync(cluster, [ns, deployment(3, 'web:1')], again.inventory);
    expect(third.plan.drifted.map((o) => o.ref.name)).toEqual(['web']);
    expect(cluster.get(web)?.spec).toEqual({ replicas: 9, image: 'web:1' });
  });

  it('reports a rule that matches nothing as unused', async () => {
    const cluster = new FakeCluster({ ignore: [{ paths: ['/spec/paused'] }] });
    const { plan } = await sync(cluster, [ns, deployment(1, 'web:1')]);
    expect(plan.unusedIgnoreRules?.map((r) => r.description)).toEqual([
      'ignore[0] /spec/paused of every object',
    ]);
  });

  it('IfNotPresent: created once, never updated; Ignore: never applied, never pruned', async () => {
    const cluster = new FakeCluster();
    const once = deployment(1, 'web:1', { 'kustomize.toolkit.fluxcd.io/ssa': 'IfNotPresent' });
    const first = await sync(cluster, [ns, once]);
    expect(first.plan.create).toHaveLength(2);
    const changed = deployment(5, 'web:2', { 'kustomize.toolkit.fluxcd.io/ssa': 'IfNotPresent' });
    const second = await sync(cluster, [ns, changed], first.inventory);
    expect(second.writes).toBe(0);
    expect(cluster.get(web)?.spec).toEqual({ replicas: 1, image: 'web:1' });

    const ignored = deployment(7, 'web:3', { 'gitops-kit.dev/ssa': 'Ignore' });
    const third = await sync(cluster, [ns, ignored], second.inventory);
    expect(third.writes).toBe(0);
    // Marked Ignore live, then gone from the set: prune leaves it.
    const live = cluster.get(web) as KubeObject;
    cluster.add({ ...live, metadata: { ...live.metadata, annotations: { 'gitops-kit.dev/ssa': 'Ignore' } } });
    const plan = await cluster.plan(manifests([ns]), third.inventory, opts);
    const pruned = await cluster.prune(plan.prune, opts);
    expect(pruned.skipped.map((s) => s.reason)).toEqual(['kept by annotation gitops-kit.dev/ssa: Ignore']);
  });

  it('Merge: a field someone else changed stays theirs; our other fields are still applied', async () => {
    const cluster = new FakeCluster();
    const merge = { 'gitops-kit.dev/ssa': 'Merge' };
    const first = await sync(cluster, [ns, deployment(3, 'web:1', merge)]);
    edit(cluster, { replicas: 6 });
    const same = await sync(cluster, [ns, deployment(3, 'web:1', merge)], first.inventory);
    expect(same.writes).toBe(0);
    const next = await sync(cluster, [ns, deployment(3, 'web:2', merge)], same.inventory);
    expect(next.writes).toBe(1);
    expect(cluster.get(web)?.spec).toEqual({ replicas: 6, image: 'web:2' });
  });
});
