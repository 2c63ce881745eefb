import { ConflictError, ValidationError } from '@gitops-kit/core';
import { OWNER_ANNOTATION, OWNER_LABEL, ownerLabelValue } from '@gitops-kit/k8s-target';
import { describe, expect, it } from 'vitest';
import {
  call,
  clusterRole,
  configMap,
  corePath,
  deployment,
  emptyInventory,
  manifests,
  namespace,
  scriptedTarget,
  storageClass,
  sync,
} from './support/objects.js';

describe('KubernetesTarget plan', () => {
  it('orders the plan by apply tier (cluster definitions, *Class kinds, the rest), file order within', async () => {
    const { target } = scriptedTarget();
    const plan = await target.plan(
      manifests([
        deployment('shop', 'web'),
        configMap('shop', 'cfg'),
        storageClass('fast'),
        clusterRole('reader'),
        namespace('shop'),
      ]),
      emptyInventory,
      call(),
    );
    expect(plan.objects.map((o) => `${o.ref.kind}/${o.ref.name}`)).toEqual([
      'ClusterRole/reader',
      'Namespace/shop',
      'StorageClass/fast',
      'Deployment/web',
      'ConfigMap/cfg',
    ]);
    expect(plan.objects.every((o) => o.action === 'create')).toBe(true);
  });

  it('reads live objects with one labeled list per kind, writes nothing, and classifies each object', async () => {
    const { server, target } = scriptedTarget({ targetNamespace: 'shop' });
    const first = await sync(target, [
      configMap(undefined, 'same', { a: '1' }),
      configMap('shop', 'edit', { a: '1' }),
    ]);
    server.requests.length = 0;
    const plan = await target.plan(
      manifests([
        configMap(undefined, 'same', { a: '1' }),
        configMap('shop', 'edit', { a: '2' }),
        configMap('shop', 'new', { a: '1' }),
      ]),
      first.inventory,
      call(),
    );
    expect(plan.objects.map((o) => [o.ref.name, o.ref.namespace, o.action])).toEqual([
      ['same', 'shop', 'unchanged'],
      ['edit', 'shop', 'update'],
      ['new', 'shop', 'create'],
    ]);
    expect(plan.update[0]?.changes).toEqual([{ path: '/data/a', before: '1', after: '2' }]);
    // One labeled list for the ConfigMaps, one GET for the object the list did not return.
    expect(server.requests.map((r) => `${r.method} ${r.path} ${r.query.labelSelector ?? ''}`)).toEqual([
      `GET /api/v1/namespaces/shop/configmaps ${OWNER_LABEL}=shop`,
      'GET /api/v1/namespaces/shop/configmaps/new ',
    ]);
    expect(target.client.counters.writes).toBe(2);
  });

  it('marks drift when the live object changed but the desired one did not, and lists prune candidates', async () => {
    const { server, target } = scriptedTarget();
    const first = await sync(target, [configMap('shop', 'cfg', { a: '1' }), configMap('shop', 'old')]);
    const path = corePath('configmaps', 'shop', 'cfg');
    const live = server.get(path);
    if (!live) throw new Error('not applied');
    server.seed(path, { ...live, data: { a: 'changed by hand' } });
    const plan = await target.plan(
      manifests([configMap('shop', 'cfg', { a: '1' })]),
      first.inventory,
      call(),
    );
    expect(plan.objects[0]).toMatchObject({ action: 'update', drifted: true });
    expect(plan.prune.map((e) => e.ref.name)).toEqual(['old']);
  });

  it('plans an object deleted by hand as a drifted create', async () => {
    const { server, target } = scriptedTarget();
    const first = await sync(target, [configMap('shop', 'cfg')]);
    server.remove(corePath('configmaps', 'shop', 'cfg'));
    const plan = await target.plan(manifests([configMap('shop', 'cfg')]), first.inventory, call());
    expect(plan.objects[0]).toMatchObject({ action: 'create', drifted: true });
  });

  it('plans an intended object the apply never confirmed (empty digest, not live) as a plain create', async () => {
    const { target } = scriptedTarget();
    const intent = {
      entries: [{ ref: { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'shop', name: 'cfg' }, digest: '' }],
    };
    const plan = await target.plan(manifests([configMap('shop', 'cfg')]), intent, call());
    expect(plan.objects[0]).toMatchObject({ action: 'create', drifted: false });
    expect(plan.drifted).toEqual([]);
  });

  it('sends bodies with the ownership marks, the default namespace, and no namespace on cluster-scoped kinds', async () => {
    const { server, target } = scriptedTarget({ name: 'tenants/shop prod', targetNamespace: 'team' });
    await sync(target, [
      configMap(undefined, 'cfg'),
      { ...namespace('team'), metadata: { name: 'team', namespace: 'x' } },
    ]);
    const cm = server.get(corePath('configmaps', 'team', 'cfg'));
    expect(cm?.metadata.labels?.[OWNER_LABEL]).toBe(ownerLabelValue('tenants/shop prod'));
    expect(cm?.metadata.annotations?.[OWNER_ANNOTATION]).toBe('tenants/shop prod');
    expect(cm?.metadata.namespace).toBe('team');
    expect(server.get('/api/v1/namespaces/team')?.metadata.namespace).toBeUndefined();
  });

  it('refuses objects without apiVersion, kind or name, naming the file', async () => {
    const { server, target } = scriptedTarget();
    const bad = manifests([{ apiVersion: 'v1', kind: 'ConfigMap', metadata: {} } as never]);
    const error = await target.plan(bad, emptyInventory, call()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationError);
    expect(error).toMatchObject({ code: 'VALIDATION_INVALID_OBJECT' });
    expect((error as Error).message).toContain('configmap-undefined.yaml:1');
    expect(server.requests).toEqual([]);
  });

  it('refuses unknown kinds with every manifest named', async () => {
    const { target } = scriptedTarget();
    const widget = {
      apiVersion: 'example.com/v1',
      kind: 'Widget',
      metadata: { name: 'w', namespace: 'shop' },
    };
    const error = await target
      .plan(manifests([widget, configMap('shop', 'cfg')]), emptyInventory, call())
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationError);
    expect(error).toMatchObject({ code: 'VALIDATION_UNKNOWN_KIND' });
    expect((error as Error).message).toContain('widget-w.yaml:1');
  });

  it('checks restrictions before any request is sent', async () => {
    const { server, target } = scriptedTarget({ restrictions: { allowedNamespaces: ['shop'] } });
    const error = await target
      .plan(manifests([configMap('shop', 'ok'), configMap('other', 'no')]), emptyInventory, call())
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'VALIDATION_RESTRICTED' });
    expect((error as Error).message).toContain('configmap-no.yaml:2');
    expect(server.requests).toEqual([]);
  });

  it('wraps a failed live read in an ApplyError naming the reason', async () => {
    const { server, target } = scriptedTarget();
    server.fail((r) => r.path.endsWith('/configmaps'), {
      status: 500,
      reason: 'InternalError',
      message: 'etcd down',
    });
    const error = await target
      .plan(manifests([configMap('shop', 'cfg')]), emptyInventory, call())
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'APPLY_READ_FAILED', stage: 'apply' });
    expect((error as Error).message).toContain('InternalError: etcd down');
  });
});

describe('KubernetesTarget validate', () => {
  it('dry-runs every write but not unchanged objects, and writes nothing', async () => {
    const { server, target } = scriptedTarget();
    const first = await sync(target, [namespace('shop'), configMap('shop', 'a'), configMap('shop', 'b')]);
    server.requests.length = 0;
    const plan = await target.plan(
      manifests([namespace('shop'), configMap('shop', 'a', { x: '1' }), configMap('shop', 'b')]),
      first.inventory,
      call(),
    );
    await target.validate(plan, call());
    expect(server.dryRuns()).toEqual([corePath('configmaps', 'shop', 'a')]);
    expect(server.writes()).toEqual([]);
  });

  it('reports every refusal in one ValidationError, each naming its manifest', async () => {
    const { server, target } = scriptedTarget();
    server.seed('/api/v1/namespaces/shop', namespace('shop'));
    server.fail((r) => r.dryRun && r.path.endsWith('/bad1'), {
      status: 422,
      reason: 'Invalid',
      message: 'ConfigMap "bad1" is invalid: data: too long',
    });
    server.fail((r) => r.dryRun && r.path.endsWith('/bad2'), {
      status: 422,
      reason: 'Invalid',
      message: 'ConfigMap "bad2" is invalid: metadata.labels: bad',
    });
    const plan = await target.plan(
      manifests([configMap('shop', 'bad1'), configMap('shop', 'ok'), configMap('shop', 'bad2')]),
      emptyInventory,
      call(),
    );
    const error = await target.validate(plan, call()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationError);
    expect(error).toMatchObject({ code: 'VALIDATION_DRY_RUN_FAILED' });
    expect((error as ValidationError).issues.map((i) => i.location?.file)).toEqual([
      'configmap-bad1.yaml',
      'configmap-bad2.yaml',
    ]);
    expect(server.writes()).toEqual([]);
  });

  it('reports a ConflictError when every refusal is a field-manager conflict', async () => {
    const { server, target } = scriptedTarget({ force: false });
    server.seed('/api/v1/namespaces/shop', namespace('shop'));
    server.fail((r) => r.dryRun, {
      status: 409,
      reason: 'Conflict',
      message: 'Apply failed with 1 conflict',
    });
    const plan = await target.plan(manifests([configMap('shop', 'a')]), emptyInventory, call());
    const error = await target.validate(plan, call()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConflictError);
    expect(error).toMatchObject({ code: 'CONFLICT_FIELD_MANAGER' });
    expect(server.dryRuns()[0]).toBe(corePath('configmaps', 'shop', 'a'));
    const query = server.requests.find((r) => r.dryRun)?.query;
    expect(query).toMatchObject({ fieldManager: 'gitops-kit', dryRun: 'All' });
    expect(query?.force).toBeUndefined();
  });

  it('defers objects in a Namespace the plan creates to the apply, after the Namespace exists', async () => {
    const { server, target } = scriptedTarget();
    const plan = await target.plan(
      manifests([namespace('new'), configMap('new', 'cfg')]),
      emptyInventory,
      call(),
    );
    await target.validate(plan, call());
    expect(server.dryRuns()).toEqual(['/api/v1/namespaces/new']);
    await target.apply(plan, call());
    const order = server.requests
      .filter((r) => r.method === 'PATCH')
      .map((r) => `${r.dryRun ? 'dry' : 'apply'} ${r.path}`);
    expect(order).toEqual([
      'dry /api/v1/namespaces/new',
      'apply /api/v1/namespaces/new',
      'dry /api/v1/namespaces/new/configmaps/cfg',
      'apply /api/v1/namespaces/new/configmaps/cfg',
    ]);
  });
});
