import { type KubeObject, RawRenderer, Reconciler, type ReconcilerEvents, valueAt } from '@gitops-kit/core';
import { MemorySource } from '@gitops-kit/core/testing';
import { type Impersonation, KubeClient, KubernetesTarget } from '@gitops-kit/k8s-target';
import { testenv } from '@gitops-kit/testenv';
import { afterEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { configMap, deployment, getObject, namespace, uniqueName } from './kube-helpers.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((c) => c()));
});

/**
 * A started reconciler with `watch` over a namespace, a Deployment and a ConfigMap; a 10-minute
 * interval; its target acts as `impersonate` when given.
 */
async function watched(impersonate?: Impersonation) {
  const kube = await testenv.kube();
  const ns = uniqueName('watch');
  const objects: KubeObject[] = [
    namespace(ns),
    deployment(ns, 'web', 1),
    configMap(ns, 'settings', { a: '1' }),
  ];
  const source = new MemorySource({ files: { 'set.yaml': objects.map((o) => stringify(o)).join('---\n') } });
  const target = new KubernetesTarget({
    name: uniqueName('w'),
    kubeConfig: kube.kubeConfig(),
    watch: true,
    impersonate,
  });
  const reconciler = new Reconciler({
    name: target.name,
    source,
    renderer: new RawRenderer(),
    target,
    interval: 600_000,
  });
  const drifted: ReconcilerEvents['drifted'][] = [];
  reconciler.on('drifted', (event) => drifted.push(event));
  reconciler.start();
  await within(30_000, () => reconciler.status.history.length > 0);
  cleanups.push(async () => {
    await reconciler.stop();
    target.close();
    await source.cleanup();
  });
  return { ns, target, reconciler, drifted, admin: KubeClient.fromKubeConfig(kube.kubeConfig()) };
}

/** A user bound cluster-wide to every verb on everything, or every verb but `watch`. */
async function userWho(admin: KubeClient, canWatch: boolean): Promise<Impersonation> {
  const user = uniqueName(canWatch ? 'watcher' : 'no-watch');
  const verbs = canWatch ? ['*'] : ['get', 'list', 'create', 'update', 'patch', 'delete', 'deletecollection'];
  await admin.request({
    method: 'POST',
    path: '/apis/rbac.authorization.k8s.io/v1/clusterroles',
    body: {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: user },
      rules: [{ apiGroups: ['*'], resources: ['*'], verbs }],
    },
  });
  await admin.request({
    method: 'POST',
    path: '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings',
    body: {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: user },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: user },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: user }],
    },
  });
  return { user };
}

/** Waits until `check` holds, polling every 50 ms, for at most `ms`; returns the time it took. */
async function within(ms: number, check: () => Promise<boolean> | boolean): Promise<number> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > ms) throw new Error(`not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return Date.now() - started;
}

describe('instant revert by watch (living cluster)', () => {
  it('reverts a kubectl-edit of an owned object within seconds, without a pass, and names the editor', async () => {
    const { ns, reconciler, drifted, admin } = await watched();
    const path = `/apis/apps/v1/namespaces/${ns}/deployments/web`;
    const passes = reconciler.status.history.length;
    // As `kubectl edit` sends it: a strategic merge patch under field manager kubectl-edit.
    await admin.request({
      method: 'PATCH',
      path,
      query: { fieldManager: 'kubectl-edit' },
      body: { spec: { template: { spec: { containers: [{ name: 'main', image: 'nginx:hacked' }] } } } },
      contentType: 'application/strategic-merge-patch+json',
    });
    const took = await within(10_000, async () => {
      const live = await getObject(admin, path);
      return valueAt(live, '/spec/template/spec/containers/0/image') === 'nginx:1.27';
    });
    expect(took).toBeLessThan(10_000);
    await within(2_000, () => drifted.length > 0);
    expect(drifted[0]).toMatchObject({ repaired: true, changedBy: ['kubectl-edit'] });
    const entry = reconciler.status.history[0];
    expect(reconciler.status.history.length).toBe(passes + 1);
    expect(entry?.reason).toContain(`apps/v1 Deployment ${ns}/web changed by kubectl-edit`);
  });

  it('creates a hand-deleted object again, and leaves a change the plan would not revert', async () => {
    const { ns, drifted, admin, target } = await watched();
    const path = `/api/v1/namespaces/${ns}/configmaps/settings`;
    await admin.request({ method: 'DELETE', path });
    await within(10_000, async () => (await getObject(admin, path)) !== undefined);
    expect((await getObject(admin, path))?.data).toEqual({ a: '1' });
    await within(2_000, () => drifted.length === 1);
    expect(drifted[0]?.objects.map((o) => o.name)).toEqual(['settings']);

    // A label nobody declared is no drift: nothing is written.
    const writes = target.client.counters.writes;
    await admin.request({
      method: 'PATCH',
      path,
      query: { fieldManager: 'kubectl-label' },
      body: { metadata: { labels: { extra: 'yes' } } },
      contentType: 'application/merge-patch+json',
    });
    await new Promise((r) => setTimeout(r, 1_000));
    expect(target.client.counters.writes).toBe(writes);
    expect(drifted).toHaveLength(1);
    expect(target.watchCounters.watches).toBeGreaterThanOrEqual(3);
  });

  it('watches as the impersonated user: one who may not watch gets no instant revert', async () => {
    const admin = KubeClient.fromKubeConfig((await testenv.kube()).kubeConfig());
    const edit = (ns: string) =>
      admin.request({
        method: 'PATCH',
        path: `/api/v1/namespaces/${ns}/configmaps/settings`,
        query: { fieldManager: 'kubectl-edit' },
        body: { data: { a: 'by hand' } },
        contentType: 'application/merge-patch+json',
      });
    const value = async (ns: string) =>
      valueAt(await getObject(admin, `/api/v1/namespaces/${ns}/configmaps/settings`), '/data/a');

    const allowed = await watched(await userWho(admin, true));
    await within(10_000, () => allowed.target.watchCounters.watches >= 3);
    await edit(allowed.ns);
    await within(10_000, async () => (await value(allowed.ns)) === '1');

    // Before watches were impersonated, they ran as the KubeConfig's admin and reverted this too.
    const refused = await watched(await userWho(admin, false));
    await within(10_000, () => refused.target.watchCounters.watches >= 6);
    expect(refused.target.watchCounters.lists).toBeGreaterThanOrEqual(3);
    await edit(refused.ns);
    await new Promise((r) => setTimeout(r, 2_000));
    expect(await value(refused.ns)).toBe('by hand');
    expect(refused.drifted).toEqual([]);
  });
});
