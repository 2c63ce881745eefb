import { ApplyError, type KubeObject } from '@gitops-kit/core';
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

const crd: KubeObject = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: 'widgets.example.com' },
  spec: {
    group: 'example.com',
    scope: 'Namespaced',
    names: { kind: 'Widget', plural: 'widgets' },
    versions: [{ name: 'v1', served: true }],
  },
};
const crdPath = '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.example.com';
const widget: KubeObject = {
  apiVersion: 'example.com/v1',
  kind: 'Widget',
  metadata: { name: 'w', namespace: 'shop' },
};

describe('KubernetesTarget apply', () => {
  it('writes tier by tier (cluster definitions, *Class kinds, the rest) and never writes unchanged objects', async () => {
    const { server, target } = scriptedTarget();
    const objects = [
      deployment('shop', 'web'),
      configMap('shop', 'cfg'),
      storageClass('fast'),
      clusterRole('reader'),
      namespace('shop'),
    ];
    const { result, inventory } = await sync(target, objects);
    expect(server.writes()).toEqual([
      'PATCH /apis/rbac.authorization.k8s.io/v1/clusterroles/reader',
      'PATCH /api/v1/namespaces/shop',
      'PATCH /apis/storage.k8s.io/v1/storageclasses/fast',
      'PATCH /apis/apps/v1/namespaces/shop/deployments/web',
      'PATCH /api/v1/namespaces/shop/configmaps/cfg',
    ]);
    expect(result.writes).toBe(5);
    expect(result.applied.map((e) => e.ref.name)).toEqual(['reader', 'shop', 'fast', 'web', 'cfg']);
    const query = server.requests.find((r) => r.method === 'PATCH' && !r.dryRun)?.query;
    expect(query).toMatchObject({ fieldManager: 'gitops-kit', force: 'true' });

    server.requests.length = 0;
    const again = await sync(target, objects, inventory);
    expect(again.plan.objects.every((o) => o.action === 'unchanged')).toBe(true);
    expect(server.writes()).toEqual([]);
    expect(again.result).toEqual({ applied: result.applied, writes: 0 });
  });

  it('keeps at most `concurrency` requests in flight within a tier', async () => {
    const { server, target } = scriptedTarget({ concurrency: 3 });
    server.seed('/api/v1/namespaces/shop', namespace('shop'));
    const objects = Array.from({ length: 10 }, (_, i) => configMap('shop', `cm-${i}`));
    const plan = await target.plan(manifests(objects), emptyInventory, call());
    await target.validate(plan, call());
    server.delay((r) => (r.method === 'PATCH' ? 5 : 0));
    server.maxInFlight = 0;
    await target.apply(plan, call());
    expect(server.writes()).toHaveLength(10);
    expect(server.maxInFlight).toBe(3);
  });

  it('on a failed write, still writes the rest of its tier, stops before the next, and reports what was applied', async () => {
    const { server, target } = scriptedTarget();
    server.fail((r) => !r.dryRun && r.method === 'PATCH' && r.path.endsWith('/configmaps/bad'), {
      status: 422,
      reason: 'Invalid',
      message: 'ConfigMap "bad" is invalid: data: too long',
    });
    const first = await sync(target, [namespace('shop'), configMap('shop', 'same')]);
    const plan = await target.plan(
      manifests([
        namespace('shop'),
        configMap('shop', 'same'),
        storageClass('fast'),
        configMap('shop', 'a'),
        configMap('shop', 'bad'),
        configMap('shop', 'b'),
      ]),
      first.inventory,
      call(),
    );
    server.requests.length = 0;
    const error = await target.apply(plan, call()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApplyError);
    expect(error).toMatchObject({ code: 'APPLY_FAILED', stage: 'apply' });
    expect((error as Error).message).toContain('1 object failed to apply');
    expect((error as Error).message).toContain('configmap-bad.yaml:5');
    expect((error as Error).message).toContain('Invalid: ConfigMap "bad" is invalid');
    expect(server.writes()).toEqual([
      'PATCH /apis/storage.k8s.io/v1/storageclasses/fast',
      'PATCH /api/v1/namespaces/shop/configmaps/a',
      'PATCH /api/v1/namespaces/shop/configmaps/bad',
      'PATCH /api/v1/namespaces/shop/configmaps/b',
    ]);
    // Unchanged objects and every successful write are ours; the failed one is not.
    expect((error as ApplyError).applied.map((e) => e.ref.name).sort()).toEqual([
      'a',
      'b',
      'fast',
      'same',
      'shop',
    ]);
  });

  it('does not write the next tier when a write of an earlier tier failed', async () => {
    const { server, target } = scriptedTarget();
    server.fail((r) => r.method === 'PATCH' && !r.dryRun && r.path.endsWith('/storageclasses/fast'), {
      status: 403,
      reason: 'Forbidden',
      message: 'storageclasses is forbidden',
    });
    server.seed('/api/v1/namespaces/shop', namespace('shop'));
    const plan = await target.plan(
      manifests([configMap('shop', 'cfg'), storageClass('fast')]),
      emptyInventory,
      call(),
    );
    const error = await target.apply(plan, call()).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'APPLY_FAILED' });
    expect((error as ApplyError).location?.file).toBe('storageclass-fast.yaml');
    expect(server.writes()).toEqual(['PATCH /apis/storage.k8s.io/v1/storageclasses/fast']);
    expect((error as ApplyError).applied).toEqual([]);
  });

  it('waits for a CRD of the set to be Established and served before dry-running and writing its objects', async () => {
    const { server, target } = scriptedTarget({ pollIntervalMs: 1 });
    server.seed('/api/v1/namespaces/shop', namespace('shop'));
    let reads = 0;
    // The CRD reports Established on its second read; its kind is served only after that.
    server.script(
      (r) => r.method === 'GET' && r.path === crdPath,
      () => {
        const live = server.get(crdPath);
        if (!live) return undefined; // not applied yet: the server's own 404
        reads++;
        if (reads < 2) return live;
        server.discovery['/apis/example.com/v1'] = [{ name: 'widgets', kind: 'Widget', namespaced: true }];
        return { ...live, status: { conditions: [{ type: 'Established', status: 'True' }] } };
      },
    );
    const plan = await target.plan(manifests([widget, crd]), emptyInventory, call());
    await target.validate(plan, call());
    expect(server.dryRuns()).toEqual([crdPath]);
    server.requests.length = 0;
    await target.apply(plan, call());
    const sequence = server.requests
      .filter((r) => r.method === 'PATCH' || r.path === crdPath || r.path === '/apis/example.com/v1')
      .map((r) => `${r.method}${r.dryRun ? ' dry' : ''} ${r.path}`);
    expect(sequence).toEqual([
      `PATCH ${crdPath}`,
      `GET ${crdPath}`,
      `GET ${crdPath}`,
      'GET /apis/example.com/v1',
      'PATCH dry /apis/example.com/v1/namespaces/shop/widgets/w',
      'PATCH /apis/example.com/v1/namespaces/shop/widgets/w',
    ]);
  });

  it('times out with APPLY_NOT_ESTABLISHED when a CRD never becomes Established', async () => {
    const { server, target } = scriptedTarget({ pollIntervalMs: 2, establishTimeoutMs: 20 });
    const plan = await target.plan(manifests([crd]), emptyInventory, call());
    const error = await target.apply(plan, call()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApplyError);
    expect(error).toMatchObject({ code: 'APPLY_NOT_ESTABLISHED' });
    expect((error as Error).message).toContain('timed out after 20 ms waiting for CRD widgets.example.com');
    expect(server.requests.filter((r) => r.method === 'GET' && r.path === crdPath).length).toBeGreaterThan(1);
  });

  it('refuses to write into a Namespace that is terminating', async () => {
    const { server, target } = scriptedTarget();
    server.script(
      (r) => r.method === 'PATCH' && !r.dryRun && r.path === '/api/v1/namespaces/shop',
      (r) => ({ ...(r.body as KubeObject), status: { phase: 'Terminating' } }),
    );
    const plan = await target.plan(
      manifests([namespace('shop'), configMap('shop', 'cfg')]),
      emptyInventory,
      call(),
    );
    const error = await target.apply(plan, call()).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'APPLY_NOT_ESTABLISHED' });
    expect((error as Error).message).toContain('namespace shop is terminating');
    expect(server.writes()).toEqual(['PATCH /api/v1/namespaces/shop']);
  });

  it('deletes and creates again an object refused as immutable when allowed', async () => {
    const { server, target } = scriptedTarget({ recreateOnImmutable: true, pollIntervalMs: 1 });
    server.seed('/api/v1/namespaces/shop', namespace('shop'));
    const first = await sync(target, [configMap('shop', 'cfg', { a: '1' })]);
    const path = corePath('configmaps', 'shop', 'cfg');
    const uid = server.get(path)?.metadata.uid;
    server.fail(
      (r) => r.method === 'PATCH' && r.path === path,
      {
        status: 422,
        reason: 'Invalid',
        message: 'ConfigMap "cfg" is invalid: data: Forbidden: field is immutable when `immutable` is set',
      },
      1,
    );
    await sync(target, [configMap('shop', 'cfg', { a: '2' })], first.inventory);
    expect(server.writes().slice(-2)).toEqual([`DELETE ${path}`, `PATCH ${path}`]);
    expect(server.get(path)?.data).toEqual({ a: '2' });
    expect(server.get(path)?.metadata.uid).not.toBe(uid);
  });

  it('does not recreate an immutable object without permission: the refusal is a validation error', async () => {
    const { server, target } = scriptedTarget();
    server.seed('/api/v1/namespaces/shop', namespace('shop'));
    const first = await sync(target, [configMap('shop', 'cfg', { a: '1' })]);
    const path = corePath('configmaps', 'shop', 'cfg');
    server.fail((r) => r.method === 'PATCH' && r.path === path, {
      status: 422,
      reason: 'Invalid',
      message: 'ConfigMap "cfg" is invalid: data: Forbidden: field is immutable',
    });
    const plan = await target.plan(
      manifests([configMap('shop', 'cfg', { a: '2' })]),
      first.inventory,
      call(),
    );
    await expect(target.validate(plan, call())).rejects.toMatchObject({ code: 'VALIDATION_DRY_RUN_FAILED' });
    expect(server.writes()).not.toContain(`DELETE ${path}`);
  });

  it('600 refused writes make a short message grouped by reason; the error keeps every one', async () => {
    const { server, target } = scriptedTarget();
    server.fail((r) => !r.dryRun && r.method === 'PATCH' && r.path.includes('/configmaps/'), {
      status: 403,
      reason: 'Forbidden',
      message: 'configmaps is forbidden: exceeded quota: compute, requested: count/configmaps=1',
    });
    const objects = [namespace('shop'), ...Array.from({ length: 600 }, (_, i) => configMap('shop', `c${i}`))];
    const plan = await target.plan(manifests(objects), emptyInventory, call());
    await target.validate(plan, call());
    const error = (await target.apply(plan, call()).catch((e: unknown) => e)) as ApplyError;

    expect(error).toBeInstanceOf(ApplyError);
    expect(error.message.length).toBeLessThan(800);
    expect(error.message).toContain('600 objects failed to apply');
    expect(error.message).toContain('(600 objects: ');
    expect(error.message).toContain('and 597 more');
    expect(error.issues).toHaveLength(600);
    expect(error.applied.map((e) => e.ref.kind)).toEqual(['Namespace']);
  });
});
