import {
  ApplyError,
  emptyInventory,
  type Inventory,
  type KubeObject,
  type Manifest,
  type ObjectRef,
  ValidationError,
} from '@gitops-kit/core';
import { FakeCluster, OWNER_LABEL, PRUNE_ANNOTATION } from '@gitops-kit/core/testing';
import { describe, expect, it } from 'vitest';

const signal = new AbortController().signal;
const opts = { signal };

function manifest(object: KubeObject, line = 1): Manifest {
  return { object, origin: { file: 'app.yaml', documentIndex: line - 1, line } };
}

const namespace = (name: string): KubeObject => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
const configMap = (name: string, data: Record<string, string>, ns = 'shop'): KubeObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace: ns },
  data,
});
const deployment = (name: string, replicas: number, image = 'web:1'): KubeObject => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name, namespace: 'shop', labels: { app: name } },
  spec: { replicas, template: { spec: { containers: [{ name, image }] } } },
});
const ref = (object: KubeObject): ObjectRef => ({
  apiVersion: object.apiVersion,
  kind: object.kind,
  namespace: object.metadata.namespace,
  name: object.metadata.name,
});

/** plan → validate → apply, returning the plan and the next inventory, as a reconciler would. */
async function sync(cluster: FakeCluster, objects: KubeObject[], inventory: Inventory = emptyInventory) {
  const plan = await cluster.plan(
    objects.map((o, i) => manifest(o, i + 1)),
    inventory,
    opts,
  );
  await cluster.validate(plan, opts);
  const result = await cluster.apply(plan, opts);
  const pruned = await cluster.prune(plan.prune, opts);
  return { plan, result, pruned, inventory: { entries: result.applied } };
}

describe('FakeCluster plan', () => {
  it('plans creates in stage order: Namespaces and CRDs, then *Class kinds, then the rest in file order', async () => {
    const cluster = new FakeCluster();
    const crd: KubeObject = {
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: 'widgets.example.com' },
    };
    const storageClass: KubeObject = {
      apiVersion: 'storage.k8s.io/v1',
      kind: 'StorageClass',
      metadata: { name: 'fast' },
    };
    const plan = await cluster.plan(
      [deployment('web', 1), configMap('cfg', {}), storageClass, namespace('shop'), crd].map((o, i) =>
        manifest(o, i + 1),
      ),
      emptyInventory,
      opts,
    );
    expect(plan.objects.map((o) => `${o.ref.kind}/${o.ref.name}`)).toEqual([
      'Namespace/shop',
      'CustomResourceDefinition/widgets.example.com',
      'StorageClass/fast',
      'Deployment/web',
      'ConfigMap/cfg',
    ]);
    expect(plan.create).toHaveLength(5);
    expect(plan.objects.every((o) => o.live === undefined)).toBe(true);
    expect(cluster.size).toBe(0);
    expect(cluster.operations).toEqual([]);
  });

  it('defaults the namespace of namespaced objects and drops it from cluster-scoped ones', async () => {
    const cluster = new FakeCluster({ defaultNamespace: 'team-a' });
    const plan = await cluster.plan(
      [
        manifest({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cfg' } }),
        manifest({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'x', namespace: 'oops' } }),
      ],
      emptyInventory,
      opts,
    );
    expect(plan.objects.map((o) => o.ref)).toEqual([
      { apiVersion: 'v1', kind: 'Namespace', name: 'x' },
      { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'team-a', name: 'cfg' },
    ]);
  });

  it('plans unchanged after apply, updates with field changes, and prunes what left the set', async () => {
    const cluster = new FakeCluster();
    const first = await sync(cluster, [
      namespace('shop'),
      configMap('old', { a: '1' }),
      deployment('web', 2),
    ]);
    expect(first.result.writes).toBe(3);
    expect(cluster.get(ref(deployment('web', 2)))?.metadata.labels?.[OWNER_LABEL]).toBe('gitops-kit');

    const again = await cluster.plan(
      [namespace('shop'), configMap('old', { a: '1' }), deployment('web', 2)].map((o) => manifest(o)),
      first.inventory,
      opts,
    );
    expect(again.unchanged).toHaveLength(3);
    expect(again.objects.every((o) => o.changes.length === 0)).toBe(true);

    const next = await cluster.plan(
      [namespace('shop'), deployment('web', 3), configMap('new', { b: '2' })].map((o) => manifest(o)),
      first.inventory,
      opts,
    );
    expect(next.update.map((o) => o.ref.name)).toEqual(['web']);
    expect(next.update[0]?.drifted).toBe(false);
    expect(next.update[0]?.changes).toEqual([{ path: '/spec/replicas', before: 2, after: 3 }]);
    expect(next.update[0]?.live?.metadata.uid).toBeDefined();
    expect(next.create.map((o) => o.ref.name)).toEqual(['new']);
    expect(next.prune.map((e) => e.ref.name)).toEqual(['old']);
  });

  it('detects drift when someone edits a managed field by hand, but not for fields others add', async () => {
    const cluster = new FakeCluster();
    const objects = [namespace('shop'), deployment('web', 2)];
    const { inventory } = await sync(cluster, objects);
    const web = ref(deployment('web', 2));

    cluster.edit(web, (draft) => {
      draft.metadata.annotations = { 'someone/else': 'added' };
      draft.status = { readyReplicas: 2 };
    });
    const quiet = await cluster.plan(
      objects.map((o) => manifest(o)),
      inventory,
      opts,
    );
    expect(quiet.unchanged).toHaveLength(2);

    cluster.edit<KubeObject & { spec: { replicas: number } }>(web, (draft) => {
      draft.spec.replicas = 5;
    });
    const drifted = await cluster.plan(
      objects.map((o) => manifest(o)),
      inventory,
      opts,
    );
    expect(drifted.drifted.map((o) => o.ref.name)).toEqual(['web']);
    expect(drifted.update[0]?.changes).toEqual([{ path: '/spec/replicas', before: 5, after: 2 }]);

    await cluster.apply(drifted, opts);
    const live = cluster.get(web);
    expect(live?.spec).toEqual(deployment('web', 2).spec);
    expect(live?.metadata.annotations).toEqual({ 'someone/else': 'added' });
  });

  it('Replace=true writes the manifest whole: fields others added are gone, status stays', async () => {
    const cluster = new FakeCluster();
    const replaced = (data: Record<string, string>): KubeObject => {
      const object = configMap('cfg', data);
      object.metadata.annotations = { 'argocd.argoproj.io/sync-options': 'Replace=true' };
      return object;
    };
    const { inventory } = await sync(cluster, [namespace('shop'), replaced({ a: '1' })]);
    const cfg = ref(configMap('cfg', {}));
    cluster.edit(cfg, (draft) => {
      draft.metadata.labels = { ...draft.metadata.labels, 'someone/else': 'added' };
      draft.status = { seen: true };
    });
    await sync(cluster, [namespace('shop'), replaced({ a: '2' })], inventory);
    const live = cluster.get(cfg);
    expect(live?.data).toEqual({ a: '2' });
    expect(live?.metadata.labels?.['someone/else']).toBeUndefined();
    expect(live?.metadata.labels?.[OWNER_LABEL]).toBeDefined();
    expect(live?.status).toEqual({ seen: true });
  });

  it('reports a hand-deleted object as a drifted create', async () => {
    const cluster = new FakeCluster();
    const objects = [namespace('shop'), configMap('cfg', { a: '1' })];
    const { inventory } = await sync(cluster, objects);
    expect(cluster.remove(ref(configMap('cfg', {})))).toBe(true);
    const plan = await cluster.plan(
      objects.map((o) => manifest(o)),
      inventory,
      opts,
    );
    expect(plan.create.map((o) => [o.ref.name, o.drifted])).toEqual([['cfg', true]]);
  });

  it('removes fields that were applied before and are no longer desired', async () => {
    const cluster = new FakeCluster();
    const { inventory } = await sync(cluster, [namespace('shop'), configMap('cfg', { a: '1', b: '2' })]);
    const plan = await cluster.plan(
      [namespace('shop'), configMap('cfg', { a: '1' })].map((o) => manifest(o)),
      inventory,
      opts,
    );
    expect(plan.update[0]?.changes).toEqual([{ path: '/data/b', before: '2' }]);
    await cluster.apply(plan, opts);
    expect(cluster.get(ref(configMap('cfg', {})))?.data).toEqual({ a: '1' });
  });

  it('masks Secret values in plan changes', async () => {
    const cluster = new FakeCluster();
    const secret = (value: string): KubeObject => ({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'db', namespace: 'default' },
      stringData: { password: value },
    });
    const { inventory } = await sync(cluster, [secret('hunter2')]);
    const plan = await cluster.plan([manifest(secret('s3cret'))], inventory, opts);
    expect(plan.update[0]?.changes).toEqual([{ path: '/stringData/password', before: '***', after: '***' }]);
    expect(JSON.stringify(plan.objects.map((o) => o.changes))).not.toContain('s3cret');
  });
});

describe('FakeCluster validate', () => {
  it('lists every problem at once with file, line and object', async () => {
    const cluster = new FakeCluster();
    cluster.failValidation({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'shop', name: 'cfg' }, 'quota');
    const plan = await cluster.plan(
      [
        manifest(namespace('shop'), 1),
        manifest(configMap('cfg', {}), 2),
        manifest(configMap('Bad_Name', {}), 3),
        manifest(configMap('lost', {}, 'nowhere'), 4),
        manifest({ apiVersion: 'v1', kind: 'Service', metadata: { name: '1svc', namespace: 'shop' } }, 5),
        manifest({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'l', labels: { app: 'a b' } } }, 6),
      ],
      emptyInventory,
      opts,
    );
    const error = await cluster.validate(plan, opts).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationError);
    const issues = (error as ValidationError).issues;
    expect(issues.map((i) => [i.location?.line, i.location?.object])).toEqual([
      [2, 'v1 ConfigMap shop/cfg'],
      [3, 'v1 ConfigMap shop/Bad_Name'],
      [4, 'v1 ConfigMap nowhere/lost'],
      [5, 'v1 Service shop/1svc'],
      [6, 'v1 ConfigMap default/l'],
    ]);
    expect(issues[0]?.message).toBe('quota');
    expect(issues[2]?.message).toContain('namespace "nowhere" not found');
    expect((error as ValidationError).message).toContain('app.yaml:3');
    expect(cluster.operations).toEqual([]);
  });

  it('refuses the same object twice, and knows extra cluster-scoped kinds', async () => {
    const cluster = new FakeCluster({ clusterScopedKinds: ['ClusterIssuer'] });
    const issuer: KubeObject = {
      apiVersion: 'cert-manager.io/v1',
      kind: 'ClusterIssuer',
      metadata: { name: 'letsencrypt', namespace: 'ignored' },
    };
    const plan = await cluster.plan(
      [
        manifest(issuer, 1),
        manifest(configMap('a', {}, 'default'), 2),
        manifest(configMap('a', {}, 'default'), 3),
      ],
      emptyInventory,
      opts,
    );
    expect(plan.objects[0]?.ref).toEqual({
      apiVersion: 'cert-manager.io/v1',
      kind: 'ClusterIssuer',
      name: 'letsencrypt',
    });
    const error = (await cluster.validate(plan, opts).catch((e: unknown) => e)) as ValidationError;
    expect(error.issues).toEqual([
      {
        message: 'the same object appears more than once in the set',
        location: { file: 'app.yaml', documentIndex: 2, line: 3, object: 'v1 ConfigMap default/a' },
      },
    ]);
  });

  it('accepts namespaces that exist or are in the set, and RBAC names with colons', async () => {
    const cluster = new FakeCluster({ objects: [namespace('existing')] });
    const plan = await cluster.plan(
      [
        manifest(namespace('shop')),
        manifest(configMap('a', {}, 'shop')),
        manifest(configMap('b', {}, 'existing')),
        manifest(configMap('c', {}, 'kube-system')),
        manifest({
          apiVersion: 'rbac.authorization.k8s.io/v1',
          kind: 'ClusterRole',
          metadata: { name: 'x:y' },
        }),
      ],
      emptyInventory,
      opts,
    );
    await expect(cluster.validate(plan, opts)).resolves.toBeUndefined();
  });
});

describe('FakeCluster apply', () => {
  it('writes nothing for unchanged objects and logs every write', async () => {
    const cluster = new FakeCluster();
    const objects = [namespace('shop'), configMap('a', { x: '1' }), configMap('b', { x: '1' })];
    const { inventory } = await sync(cluster, objects);
    cluster.clearOperations();
    const plan = await cluster.plan(
      [namespace('shop'), configMap('a', { x: '2' }), configMap('b', { x: '1' })].map((o) => manifest(o)),
      inventory,
      opts,
    );
    const result = await cluster.apply(plan, opts);
    expect(result.writes).toBe(1);
    expect(result.applied.map((e) => e.ref.name)).toEqual(['shop', 'a', 'b']);
    expect(cluster.operations).toEqual([
      { op: 'apply', ref: { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'shop', name: 'a' } },
    ]);
    const live = cluster.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'shop', name: 'a' });
    expect(live?.metadata.generation).toBe(2);
    expect(live?.metadata.resourceVersion).toEqual(expect.any(String));
  });

  it('throws ApplyError listing what was written before the failing object', async () => {
    const cluster = new FakeCluster();
    cluster.failApply(
      { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'shop', name: 'b' },
      'admission denied',
    );
    const plan = await cluster.plan(
      [namespace('shop'), configMap('a', {}), configMap('b', {}), configMap('c', {})].map((o, i) =>
        manifest(o, i + 1),
      ),
      emptyInventory,
      opts,
    );
    const error = await cluster.apply(plan, opts).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApplyError);
    expect((error as ApplyError).applied.map((e) => e.ref.name)).toEqual(['shop', 'a']);
    expect((error as ApplyError).message).toContain('admission denied');
    expect((error as ApplyError).location?.line).toBe(3);
    expect(cluster.list().map((o) => o.metadata.name)).toEqual(['shop', 'a']);

    cluster.clearFailures();
    await expect(cluster.apply(plan, opts)).resolves.toMatchObject({ writes: 4 });
  });

  it('refuses to write into a namespace that does not exist', async () => {
    const cluster = new FakeCluster();
    const plan = await cluster.plan([manifest(configMap('a', {}, 'ghost'))], emptyInventory, opts);
    await expect(cluster.apply(plan, opts)).rejects.toThrow(/namespace "ghost" not found/);
    expect(cluster.size).toBe(0);
  });

  it('stops when the signal is aborted', async () => {
    const cluster = new FakeCluster();
    const plan = await cluster.plan([manifest(namespace('shop'))], emptyInventory, opts);
    const controller = new AbortController();
    controller.abort(new Error('stop'));
    await expect(cluster.apply(plan, { signal: controller.signal })).rejects.toThrow('stop');
    expect(cluster.size).toBe(0);
  });
});

describe('FakeCluster prune', () => {
  it('deletes only owned objects, keeps annotated ones and reports failed deletes', async () => {
    const foreign = configMap('foreign', {});
    const cluster = new FakeCluster({ objects: [namespace('shop'), foreign] });
    const { inventory } = await sync(cluster, [
      configMap('gone', {}),
      configMap('kept', {}),
      configMap('stuck', {}),
      configMap('vanished', {}),
    ]);
    // A replacement object may be returned instead of changing the draft.
    cluster.edit(ref(configMap('kept', {})), (draft) => ({
      ...draft,
      metadata: { ...draft.metadata, annotations: { [PRUNE_ANNOTATION]: 'disabled' } },
    }));
    cluster.failDelete(ref(configMap('stuck', {})));
    cluster.remove(ref(configMap('vanished', {})));
    const entries = [...inventory.entries, { ref: ref(foreign), digest: 'sha256:old' }];
    cluster.clearOperations();

    const result = await cluster.prune(entries, opts);
    expect(result.deleted.map((r) => r.name)).toEqual(['gone', 'vanished']);
    expect(result.skipped.map((s) => [s.ref.name, s.reason])).toEqual([
      ['kept', 'kept by annotation gitops-kit.dev/prune: disabled'],
      ['foreign', expect.stringContaining('not owned')],
    ]);
    expect(result.failed.map((f) => f.entry.ref.name)).toEqual(['stuck']);
    expect(cluster.operations).toEqual([{ op: 'delete', ref: ref(configMap('gone', {})) }]);
    expect(cluster.list({ kind: 'ConfigMap' }).map((o) => o.metadata.name)).toEqual([
      'foreign',
      'kept',
      'stuck',
    ]);
  });

  it('does not prune objects applied by another owner', async () => {
    const cluster = new FakeCluster({ owner: 'team-a' });
    const { inventory } = await sync(cluster, [namespace('shop'), configMap('a', {})]);
    const other = new FakeCluster({ owner: 'team-b', objects: cluster.list() });
    const result = await other.prune(inventory.entries, opts);
    expect(result.deleted).toEqual([]);
    expect(result.skipped).toHaveLength(2);
  });
});

describe('FakeCluster health', () => {
  it('is Current for existing objects and NotFound for missing ones', async () => {
    const cluster = new FakeCluster();
    await sync(cluster, [namespace('shop'), deployment('web', 1)]);
    const report = await cluster.health([ref(deployment('web', 1)), ref(configMap('nope', {}))], opts);
    expect(report.objects.map((o) => o.status)).toEqual(['Current', 'NotFound']);
    expect(report.status).toBe('InProgress');
    expect((await cluster.health([ref(deployment('web', 1))], opts)).status).toBe('Current');
  });

  it('simulates rollouts by kind, reference or predicate, newest rule first', async () => {
    const cluster = new FakeCluster();
    await sync(cluster, [namespace('shop'), deployment('web', 1, 'web:bad'), deployment('api', 1)]);
    const web = ref(deployment('web', 1));
    const api = ref(deployment('api', 1));

    cluster.setHealth('Deployment', (_object, reading) => (reading < 3 ? 'InProgress' : 'Current'));
    cluster.setHealth((o) => JSON.stringify(o.spec).includes(':bad'), {
      status: 'Failed',
      message: 'ImagePullBackOff',
    });
    const first = await cluster.health([web, api], opts);
    expect(first.status).toBe('Failed');
    expect(first.objects).toEqual([
      { ref: web, status: 'Failed', message: 'ImagePullBackOff' },
      { ref: api, status: 'InProgress', message: 'rollout in progress (simulated)' },
    ]);
    await cluster.health([api], opts);
    expect((await cluster.health([api], opts)).status).toBe('Current');

    cluster.setHealth(api, 'Unknown');
    expect((await cluster.health([api], opts)).objects[0]?.status).toBe('Unknown');
    cluster.clearHealth();
    expect((await cluster.health([web, api], opts)).status).toBe('Current');
  });
});
