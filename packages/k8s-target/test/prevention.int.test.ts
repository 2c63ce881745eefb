import { emptyInventory, type KubeObject } from '@gitops-kit/core';
import { KubeApiError, KubeClient } from '@gitops-kit/k8s-target';
import { testenv } from '@gitops-kit/testenv';
import { describe, expect, it } from 'vitest';
import { configMap, getObject, kubeTarget, namespace, sync, uniqueName } from './kube-helpers.js';

/** A client acting as another user (`Impersonate-User`, `Impersonate-Group`), as a developer's kubectl would. */
async function as(user: string, groups: string[] = []): Promise<KubeClient> {
  return KubeClient.fromKubeConfig((await testenv.kube()).kubeConfig(), { impersonate: { user, groups } });
}

const edit = (client: KubeClient, path: string, data: Record<string, string>): Promise<KubeObject> =>
  client.request<KubeObject>({
    method: 'PATCH',
    path,
    query: { fieldManager: 'kubectl-edit' },
    body: { data },
    contentType: 'application/merge-patch+json',
  });

/** Lets the groups edit and delete ConfigMaps in `ns` (RBAC, so only the policy can refuse them). */
async function allowConfigMaps(admin: KubeClient, ns: string, groups: string[]): Promise<void> {
  const rbac = '/apis/rbac.authorization.k8s.io/v1';
  await admin.request({
    method: 'POST',
    path: `${rbac}/namespaces/${ns}/roles`,
    body: {
      metadata: { name: 'edit-configmaps' },
      rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'patch', 'update', 'delete'] }],
    },
  });
  await admin.request({
    method: 'POST',
    path: `${rbac}/namespaces/${ns}/rolebindings`,
    body: {
      metadata: { name: 'edit-configmaps' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'edit-configmaps' },
      subjects: groups.map((name) => ({ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name })),
    },
  });
}

/** Waits until the policy is in force (the apiserver reads new policies within a second or so). */
async function untilRefused(client: KubeClient, path: string): Promise<unknown> {
  const started = Date.now();
  for (;;) {
    const error = await edit(client, path, { color: 'probe' }).then(
      () => undefined,
      (e: unknown) => e,
    );
    if (error && String((error as Error).message).includes('managed by')) return error;
    if (Date.now() - started > 15_000) throw new Error('the policy never refused an edit');
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('drift prevention (living cluster)', () => {
  it('refuses another user’s edit and delete with our message; the reconciler and the break-glass group still write', async () => {
    const { target, admin } = await kubeTarget({ prevention: { breakGlassGroups: ['oncall'] } });
    const ns = uniqueName('prevent');
    const set = (color: string) => [namespace(ns), configMap(ns, 'settings', { color })];
    let state = await sync(target, set('blue'), emptyInventory);
    expect(state.plan.create.map((o) => o.ref.kind)).toEqual([
      'Namespace',
      'ValidatingAdmissionPolicy',
      'ValidatingAdmissionPolicyBinding',
      'ConfigMap',
    ]);
    const path = `/api/v1/namespaces/${ns}/configmaps/settings`;
    await allowConfigMaps(admin, ns, ['developers', 'oncall']);
    const alice = await as('alice', ['developers']);

    const refused = await untilRefused(alice, path);
    expect(refused).toBeInstanceOf(KubeApiError);
    expect((refused as KubeApiError).statusCode).toBe(403);
    expect((refused as Error).message).toContain(
      `ConfigMap ${ns}/settings is managed by reconciler ${target.name}`,
    );
    expect((refused as Error).message).toContain('change its source (Git) instead of the cluster');
    const deleted = await alice.request({ method: 'DELETE', path }).catch((e: unknown) => e);
    expect((deleted as KubeApiError).statusCode).toBe(403);
    expect((await target.preventionStatus({ signal: AbortSignal.timeout(10_000) })).active).toBe(true);

    // The reconciler's own apply still works.
    state = await sync(target, set('green'), state.inventory);
    expect(state.writes).toBe(1);
    expect((await getObject(admin, path))?.data).toEqual({ color: 'green' });

    // The break-glass group can edit.
    const oncall = await as('bob', ['oncall']);
    await edit(oncall, path, { color: 'emergency' });
    expect((await getObject(admin, path))?.data).toEqual({ color: 'emergency' });

    // Turned off, the policy and binding are pruned with the set, and edits pass again.
    const { target: plain } = await kubeTarget({ name: target.name });
    const off = await plain.plan(
      set('green').map((object) => ({ object, origin: { file: 'x.yaml', documentIndex: 0, line: 1 } })),
      state.inventory,
      { signal: AbortSignal.timeout(30_000) },
    );
    expect(off.prune.map((e) => e.ref.kind).sort()).toEqual([
      'ValidatingAdmissionPolicy',
      'ValidatingAdmissionPolicyBinding',
    ]);
    await plain.prune(off.prune, { signal: AbortSignal.timeout(30_000) });
    expect((await plain.preventionStatus({ signal: AbortSignal.timeout(10_000) })).active).toBe(false);
  });
});
