import {
  ApplyError,
  ConflictError,
  emptyInventory,
  type KubeObject,
  ValidationError,
} from '@gitops-kit/core';
import { FORCE_ANNOTATION, OWNER_LABEL, ownerLabelValue, PRUNE_ANNOTATION } from '@gitops-kit/k8s-target';
import { testenv } from '@gitops-kit/testenv';
import { KubernetesObjectApi, PatchStrategy } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import {
  configMap,
  deployment,
  getObject,
  kubeTarget,
  manifests,
  namespace,
  sync,
  uniqueName,
} from './kube-helpers.js';

const signal = (): AbortSignal => AbortSignal.timeout(60_000);

describe('KubernetesTarget (real apiserver)', () => {
  it('creates, then finds everything unchanged with one list per kind and no writes, then updates one object', async () => {
    const { target, admin } = await kubeTarget();
    const ns = uniqueName('crud');
    const set = [namespace(ns), configMap(ns, 'settings', { color: 'blue' }), deployment(ns, 'web', 2)];

    const first = await sync(target, set, emptyInventory);
    expect(first.plan.create.map((o) => o.ref.kind)).toEqual(['Namespace', 'ConfigMap', 'Deployment']);
    expect(first.writes).toBe(3);
    const live = await getObject(admin, `/api/v1/namespaces/${ns}/configmaps/settings`);
    expect(live?.metadata.labels?.[OWNER_LABEL]).toBe(ownerLabelValue(target.name));

    target.client.resetCounters();
    const again = await sync(target, set, first.inventory);
    expect(again.plan.unchanged).toHaveLength(3);
    expect(again.plan.drifted).toHaveLength(0);
    expect(again.writes).toBe(0);
    // One list per kind (Namespace, ConfigMap, Deployment); discovery is cached.
    expect(target.client.counters).toEqual({ requests: 3, writes: 0, dryRuns: 0 });
    expect(again.plan.unchanged[1]?.live?.metadata.name).toBe('settings');

    const changed = [namespace(ns), configMap(ns, 'settings', { color: 'green' }), deployment(ns, 'web', 2)];
    const third = await sync(target, changed, again.inventory);
    expect(third.plan.update.map((o) => o.ref.kind)).toEqual(['ConfigMap']);
    expect(third.plan.update[0]?.changes).toEqual([{ path: '/data/color', before: 'blue', after: 'green' }]);
    expect(third.writes).toBe(1);
    expect((await getObject(admin, `/api/v1/namespaces/${ns}/configmaps/settings`))?.data).toEqual({
      color: 'green',
    });
  });

  it('sends bodies as rendered: a field the client models do not know reaches the apiserver', async () => {
    const { target } = await kubeTarget();
    const ns = uniqueName('raw');
    await sync(target, [namespace(ns)], emptyInventory);
    const object = deployment(ns, 'web');
    const podSpec = (object.spec as { template: { spec: Record<string, unknown> } }).template.spec;
    podSpec.notInTheModels = true;
    // Through @kubernetes/client-node the field is dropped before it is sent: the dry-run passes.
    const api = KubernetesObjectApi.makeApiClient((await testenv.kube()).kubeConfig());
    await expect(
      api.patch(structuredClone(object), undefined, 'All', 'models', true, PatchStrategy.ServerSideApply),
    ).resolves.toBeDefined();
    // What we send: the apiserver sees it (and refuses it, naming the field).
    const plan = await target.plan(manifests([object]), emptyInventory, { signal: signal() });
    const error = await target.validate(plan, { signal: signal() }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as Error).message).toContain('.spec.template.spec.notInTheModels');
    expect((error as Error).message).toContain('deployment-web.yaml:1');
  });

  it('applies a CRD and its custom resource in one set', async () => {
    const { target, admin } = await kubeTarget();
    const ns = uniqueName('crd');
    const group = `${uniqueName('g')}.example.com`;
    const crd: KubeObject = {
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
            schema: {
              openAPIV3Schema: {
                type: 'object',
                properties: { spec: { type: 'object', properties: { size: { type: 'integer' } } } },
              },
            },
          },
        ],
      },
    };
    const widget: KubeObject = {
      apiVersion: `${group}/v1`,
      kind: 'Widget',
      metadata: { name: 'w1', namespace: ns },
      spec: { size: 3 },
    };
    // The custom resource comes first in the files: staging puts the CRD and Namespace first.
    const first = await sync(target, [widget, crd, namespace(ns)], emptyInventory);
    expect(first.plan.objects.map((o) => o.ref.kind)).toEqual([
      'CustomResourceDefinition',
      'Namespace',
      'Widget',
    ]);
    expect((await getObject(admin, `/apis/${group}/v1/namespaces/${ns}/widgets/w1`))?.spec).toEqual({
      size: 3,
    });
    const again = await sync(target, [widget, crd, namespace(ns)], first.inventory);
    expect(again.writes).toBe(0);
    expect(again.plan.unchanged).toHaveLength(3);
  });

  it('names an unknown kind and its manifest', async () => {
    const { target } = await kubeTarget();
    const object: KubeObject = {
      apiVersion: 'nothing.example.com/v1',
      kind: 'Ghost',
      metadata: { name: 'g', namespace: 'default' },
    };
    const error = await target
      .plan(manifests([object]), emptyInventory, { signal: signal() })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as Error).message).toContain('ghost-g.yaml:1');
    expect((error as Error).message).toContain('Ghost');
  });

  it('prunes what left the set, keeps annotated objects and never deletes a foreign object', async () => {
    const { target, admin } = await kubeTarget();
    const ns = uniqueName('prune');
    const kept = configMap(ns, 'kept', { a: '1' });
    kept.metadata.annotations = { [PRUNE_ANNOTATION]: 'disabled' };
    const first = await sync(
      target,
      [
        namespace(ns),
        configMap(ns, 'stays', { a: '1' }),
        configMap(ns, 'goes', { a: '1' }),
        kept,
        configMap(ns, 'foreign', { a: '1' }),
      ],
      emptyInventory,
    );
    // Someone replaces "foreign" by an object of their own with the same name and no ownership mark.
    await admin.request({ method: 'DELETE', path: `/api/v1/namespaces/${ns}/configmaps/foreign` });
    await admin.request({
      method: 'POST',
      path: `/api/v1/namespaces/${ns}/configmaps`,
      body: configMap(ns, 'foreign', { theirs: 'yes' }),
    });

    const next = await target.plan(
      manifests([namespace(ns), configMap(ns, 'stays', { a: '1' })]),
      first.inventory,
      {
        signal: signal(),
      },
    );
    expect(next.prune.map((e) => e.ref.name).sort()).toEqual(['foreign', 'goes', 'kept']);
    const result = await target.prune(next.prune, { signal: signal() });
    expect(result.deleted.map((r) => r.name)).toEqual(['goes']);
    expect(result.skipped.map((s) => s.ref.name).sort()).toEqual(['foreign', 'kept']);
    expect(result.failed).toEqual([]);
    expect(await getObject(admin, `/api/v1/namespaces/${ns}/configmaps/goes`)).toBeUndefined();
    expect(await getObject(admin, `/api/v1/namespaces/${ns}/configmaps/kept`)).toBeDefined();
    expect((await getObject(admin, `/api/v1/namespaces/${ns}/configmaps/foreign`))?.data).toEqual({
      theirs: 'yes',
    });
  });

  it('detects a change by another field manager as drift and reverts it', async () => {
    const { target, admin } = await kubeTarget();
    const ns = uniqueName('drift');
    const set = [namespace(ns), deployment(ns, 'web', 2)];
    const first = await sync(target, set, emptyInventory);
    await admin.request({
      method: 'PATCH',
      path: `/apis/apps/v1/namespaces/${ns}/deployments/web`,
      query: { fieldManager: 'someone-else' },
      body: { spec: { replicas: 5 } },
      contentType: 'application/merge-patch+json',
    });
    const plan = await target.plan(manifests(set), first.inventory, { signal: signal() });
    expect(plan.drifted.map((o) => o.ref.name)).toEqual(['web']);
    expect(plan.drifted[0]?.changes).toEqual([{ path: '/spec/replicas', before: 5, after: 2 }]);
    const healed = await sync(target, set, first.inventory);
    expect(healed.writes).toBe(1);
    const live = await getObject(admin, `/apis/apps/v1/namespaces/${ns}/deployments/web`);
    expect(live?.spec).toMatchObject({ replicas: 2 });
    expect(
      (await target.plan(manifests(set), healed.inventory, { signal: signal() })).unchanged,
    ).toHaveLength(2);
  });

  it('validates the whole set before writing: every refusal is reported and nothing is written', async () => {
    const { target, admin } = await kubeTarget();
    const ns = uniqueName('dry');
    await sync(target, [namespace(ns)], emptyInventory);
    const bad1 = configMap(ns, 'Bad_Name', { a: '1' });
    const bad2 = deployment(ns, 'web');
    (bad2.spec as { replicas: number }).replicas = -1;
    const good = configMap(ns, 'good', { a: '1' });
    const plan = await target.plan(manifests([good, bad1, bad2]), emptyInventory, { signal: signal() });
    target.client.resetCounters();
    const error = await target.validate(plan, { signal: signal() }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationError);
    const issues = (error as ValidationError).issues;
    expect(issues.map((i) => i.location?.file).sort()).toEqual([
      'configmap-Bad_Name.yaml',
      'deployment-web.yaml',
    ]);
    expect(target.client.counters.writes).toBe(0);
    // apply() validates too when it was not done: it refuses before the first write.
    const plan2 = await target.plan(manifests([good, bad1]), emptyInventory, { signal: signal() });
    await expect(target.apply(plan2, { signal: signal() })).rejects.toBeInstanceOf(ValidationError);
    expect(target.client.counters.writes).toBe(0);
    expect(await getObject(admin, `/api/v1/namespaces/${ns}/configmaps/good`)).toBeUndefined();
  });

  it('refuses what the restrictions do not allow before any request', async () => {
    const { target } = await kubeTarget({
      restrictions: { allowedNamespaces: ['tenant-a'], deniedKinds: ['/Secret'], allowClusterScoped: false },
    });
    const set = manifests([
      configMap('tenant-a', 'ok', { a: '1' }),
      configMap('tenant-b', 'elsewhere', { a: '1' }),
      namespace('tenant-c'),
      { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's', namespace: 'tenant-a' } },
    ]);
    const error = await target.plan(set, emptyInventory, { signal: signal() }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).issues.map((i) => i.location?.file)).toEqual([
      'configmap-elsewhere.yaml',
      'namespace-tenant-c.yaml',
      'secret-s.yaml',
    ]);
    expect(target.client.counters.requests).toBe(0);
  });

  it('recreates an object whose change is refused as immutable, only when allowed', async () => {
    const { target, admin } = await kubeTarget();
    const ns = uniqueName('immutable');
    const first = await sync(target, [namespace(ns), deployment(ns, 'web')], emptyInventory);
    const before = await getObject(admin, `/apis/apps/v1/namespaces/${ns}/deployments/web`);
    const changed = deployment(ns, 'web');
    const spec = changed.spec as {
      selector: { matchLabels: Record<string, string> };
      template: { metadata: { labels: Record<string, string> } };
    };
    spec.selector.matchLabels = { app: 'web', tier: 'front' };
    spec.template.metadata.labels = { app: 'web', tier: 'front' };

    const refused = await sync(target, [namespace(ns), changed], first.inventory).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ValidationError);
    expect((refused as Error).message).toContain('immutable');

    changed.metadata.annotations = { [FORCE_ANNOTATION]: 'enabled' };
    const result = await sync(target, [namespace(ns), changed], first.inventory);
    expect(result.plan.update.map((o) => o.ref.name)).toEqual(['web']);
    const after = await getObject(admin, `/apis/apps/v1/namespaces/${ns}/deployments/web`);
    expect(after?.metadata.uid).not.toBe(before?.metadata.uid);
    expect(after?.spec).toMatchObject({ selector: { matchLabels: { app: 'web', tier: 'front' } } });
  });

  it('shows fields no longer declared as removed, and finds an applied set unchanged without its inventory', async () => {
    const { target, admin } = await kubeTarget();
    const ns = uniqueName('removed');
    const first = await sync(target, [namespace(ns), configMap(ns, 'c', { a: '1', b: '2' })], emptyInventory);
    const plan = await target.plan(
      manifests([namespace(ns), configMap(ns, 'c', { a: '1' })]),
      first.inventory,
      {
        signal: signal(),
      },
    );
    expect(plan.update.map((o) => o.ref.name)).toEqual(['c']);
    expect(plan.update[0]?.changes).toEqual([{ path: '/data/b', before: '2' }]);
    await target.validate(plan, { signal: signal() });
    const result = await target.apply(plan, { signal: signal() });
    expect(result.writes).toBe(1);
    expect((await getObject(admin, `/api/v1/namespaces/${ns}/configmaps/c`))?.data).toEqual({ a: '1' });

    // The inventory is lost: what is live, marked as ours and as declared is still unchanged.
    const again = await sync(target, [namespace(ns), configMap(ns, 'c', { a: '1' })], emptyInventory);
    expect(again.plan.unchanged).toHaveLength(2);
    expect(again.writes).toBe(0);
  });

  it('acts as an impersonated user, whose permissions the apiserver enforces', async () => {
    const { target } = await kubeTarget({ impersonate: { user: uniqueName('nobody'), groups: ['tenants'] } });
    const error = await sync(target, [configMap('default', 'x', { a: '1' })], emptyInventory).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ApplyError);
    expect((error as ApplyError).code).toBe('APPLY_READ_FAILED');
    expect((error as Error).message).toMatch(/Forbidden/);
    expect(target.client.counters.writes).toBe(0);
  });

  it('with force off, reports a field owned by another manager as a conflict naming the manifest', async () => {
    const { target, admin } = await kubeTarget({ force: false });
    const ns = uniqueName('conflict');
    const set = [namespace(ns), configMap(ns, 'c', { color: 'blue' })];
    const first = await sync(target, set, emptyInventory);
    await admin.request({
      method: 'PATCH',
      path: `/api/v1/namespaces/${ns}/configmaps/c`,
      query: { fieldManager: 'someone-else' },
      body: { data: { color: 'red' } },
      contentType: 'application/merge-patch+json',
    });
    const plan = await target.plan(manifests(set), first.inventory, { signal: signal() });
    expect(plan.drifted.map((o) => o.ref.name)).toEqual(['c']);
    const error = await target.validate(plan, { signal: signal() }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConflictError);
    expect((error as Error).message).toContain('configmap-c.yaml:2');
    expect((error as Error).message).toContain('someone-else');
  });

  it('reports a delete the apiserver refuses as failed, leaving the object in place', async () => {
    const { target, admin } = await kubeTarget();
    const ns = uniqueName('nodelete');
    const first = await sync(target, [namespace(ns), configMap(ns, 'a', { v: '1' })], emptyInventory);
    const user = uniqueName('reader');
    await admin.request({
      method: 'POST',
      path: `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/roles`,
      body: {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'Role',
        metadata: { name: 'read' },
        rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'list'] }],
      },
    });
    await admin.request({
      method: 'POST',
      path: `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/rolebindings`,
      body: {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'RoleBinding',
        metadata: { name: 'read' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'read' },
        subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: user }],
      },
    });
    // The same owner, acting as a user who may read but not delete.
    const { target: reader } = await kubeTarget({ name: target.name, impersonate: { user } });
    const entry = first.inventory.entries.find((e) => e.ref.name === 'a');
    if (!entry) throw new Error('no inventory entry for a');
    const result = await reader.prune([entry], { signal: signal() });
    expect(result.deleted).toEqual([]);
    expect(result.failed.map((f) => f.entry)).toEqual([entry]);
    expect(result.failed[0]?.message).toMatch(/Forbidden/);
    expect(await getObject(admin, `/api/v1/namespaces/${ns}/configmaps/a`)).toBeDefined();
  });

  it('plans only the changed field when a list key field is server-defaulted (a port without protocol)', async () => {
    const { target } = await kubeTarget();
    const ns = uniqueName('ports');
    const web = deployment(ns, 'web', 1);
    const spec = web.spec as {
      replicas: number;
      template: { spec: { containers: Record<string, unknown>[] } };
    };
    const container = spec.template.spec.containers[0] as Record<string, unknown>;
    container.ports = [{ containerPort: 80 }];
    const first = await sync(target, [namespace(ns), web], emptyInventory);

    const scaled = structuredClone(web);
    (scaled.spec as { replicas: number }).replicas = 3;
    const plan = await target.plan(manifests([namespace(ns), scaled]), first.inventory, { signal: signal() });
    expect(plan.update.map((o) => o.changes)).toEqual([[{ path: '/spec/replicas', before: 1, after: 3 }]]);
  });
});
