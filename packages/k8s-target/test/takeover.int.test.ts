import type { KubeObject } from '@gitops-kit/core';
import type { KubeClient } from '@gitops-kit/k8s-target';
import { describe, expect, it } from 'vitest';
import { configMap, getObject, kubeTarget, namespace, sync, uniqueName } from './kube-helpers.js';

/**
 * Taking over what kubectl wrote (`takeOver`, Flux's cleanup before apply) on a real apiserver: an
 * object made by `kubectl apply` loses what the source no longer declares, and fields added by
 * `kubectl edit` are reverted; without the option they stay, and a `Merge` object keeps them.
 */

const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';
const emptyInventory = { entries: [] };
const signal = () => AbortSignal.timeout(60_000);

/** Creates a ConfigMap as `kubectl apply` (client-side) does: its manager and annotation. */
async function kubectlApplied(admin: KubeClient, ns: string, name: string, data: Record<string, string>) {
  const body = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: ns }, data };
  await admin.request({
    method: 'POST',
    path: `/api/v1/namespaces/${ns}/configmaps`,
    query: { fieldManager: 'kubectl-client-side-apply' },
    body: { ...body, metadata: { ...body.metadata, annotations: { [LAST_APPLIED]: JSON.stringify(body) } } },
  });
}

/** A `kubectl edit` that adds a data key and a label. */
async function kubectlEdit(admin: KubeClient, ns: string, name: string) {
  await admin.request({
    method: 'PATCH',
    path: `/api/v1/namespaces/${ns}/configmaps/${name}`,
    query: { fieldManager: 'kubectl-edit' },
    contentType: 'application/merge-patch+json',
    body: { metadata: { labels: { 'added-by': 'hand' } }, data: { extra: 'by hand' } },
  });
}

const managers = (object: KubeObject | undefined): string[] =>
  ((object?.metadata.managedFields ?? []) as { manager?: string; operation?: string }[])
    .map((e) => `${e.manager}/${e.operation}`)
    .sort();

describe('KubernetesTarget takeOver (living cluster)', () => {
  it('takes over an object kubectl applied and reverts fields kubectl edit added', async () => {
    const { target, admin } = await kubeTarget({ takeOver: true });
    const ns = uniqueName('takeover');
    await admin.request({ method: 'POST', path: '/api/v1/namespaces', body: namespace(ns) });
    await kubectlApplied(admin, ns, 'settings', { a: '1', old: 'no longer in Git' });
    const path = `/api/v1/namespaces/${ns}/configmaps/settings`;

    const first = await sync(target, [namespace(ns), configMap(ns, 'settings', { a: '1' })], emptyInventory);
    const planned = first.plan.objects.find((o) => o.ref.name === 'settings');
    expect(planned?.action).toBe('update');
    expect(planned?.changes.map((c) => c.path)).toEqual(
      expect.arrayContaining([
        '/metadata/managedFields',
        `/metadata/annotations/${LAST_APPLIED.replace('/', '~1')}`,
        '/data/old',
      ]),
    );
    let live = await getObject(admin, path);
    expect(live?.data).toEqual({ a: '1' });
    expect(live?.metadata.annotations?.[LAST_APPLIED]).toBeUndefined();
    expect(managers(live)).not.toContain('kubectl-client-side-apply/Update');

    await kubectlEdit(admin, ns, 'settings');
    const plan = await target.plan(
      first.plan.objects.map((o) => o.manifest),
      first.inventory,
      { signal: signal() },
    );
    const edited = plan.objects.find((o) => o.ref.name === 'settings');
    expect(edited).toMatchObject({ action: 'update', drifted: true });
    expect(edited?.changes.map((c) => c.path)).toEqual(
      expect.arrayContaining(['/data/extra', '/metadata/labels/added-by']),
    );
    await target.validate(plan, { signal: signal() });
    await target.apply(plan, { signal: signal() });
    live = await getObject(admin, path);
    expect(live?.data).toEqual({ a: '1' });
    expect(live?.metadata.labels?.['added-by']).toBeUndefined();
    expect(managers(live)).not.toContain('kubectl-edit/Update');

    // Nothing left to take: the next pass writes nothing.
    const again = await sync(
      target,
      first.plan.objects.map((o) => o.manifest),
      first.inventory,
    );
    expect(again.writes).toBe(0);
  });

  it('leaves kubectl fields alone without the option, and on a Merge object with it', async () => {
    const { target: plain, admin } = await kubeTarget();
    const ns = uniqueName('takeover-off');
    await admin.request({ method: 'POST', path: '/api/v1/namespaces', body: namespace(ns) });
    const merged = configMap(ns, 'merged', { a: '1' });
    merged.metadata.annotations = { 'gitops-kit.dev/ssa': 'Merge' };
    const set = [namespace(ns), configMap(ns, 'plain', { a: '1' }), merged];
    const first = await sync(plain, set, emptyInventory);
    await kubectlEdit(admin, ns, 'plain');
    await kubectlEdit(admin, ns, 'merged');
    const unchanged = await sync(plain, set, first.inventory);
    expect(unchanged.writes).toBe(0);

    const { target: taking } = await kubeTarget({ name: plain.name, takeOver: true });
    const plan = await taking.plan(
      first.plan.objects.map((o) => o.manifest),
      first.inventory,
      { signal: signal() },
    );
    expect(plan.objects.find((o) => o.ref.name === 'merged')?.action).toBe('unchanged');
    expect(plan.objects.find((o) => o.ref.name === 'plain')?.action).toBe('update');
    await taking.validate(plan, { signal: signal() });
    await taking.apply(plan, { signal: signal() });
    expect((await getObject(admin, `/api/v1/namespaces/${ns}/configmaps/plain`))?.data).toEqual({ a: '1' });
    expect((await getObject(admin, `/api/v1/namespaces/${ns}/configmaps/merged`))?.data).toEqual({
      a: '1',
      extra: 'by hand',
    });
  });
});
