import {
  ErrorCodes,
  type KubeObject,
  RawRenderer,
  Reconciler,
  type ReconcilerOptions,
  type StateStore,
  type StoredState,
} from '@gitops-kit/core';
import { MemorySource } from '@gitops-kit/core/testing';
import { ConfigMapStateStore, KubeClient, KubernetesTarget, stateObjectName } from '@gitops-kit/k8s-target';
import { startTestenv, testenv } from '@gitops-kit/testenv';
import { afterEach, describe, expect, it, onTestFinished } from 'vitest';
import { stringify } from 'yaml';
import { configMap, deployment, getObject, namespace, uniqueName } from './kube-helpers.js';

const sources: MemorySource[] = [];
afterEach(async () => {
  await Promise.all(sources.splice(0).map((s) => s.cleanup()));
});

function yamlOf(objects: readonly KubeObject[]): string {
  return objects.map((o) => stringify(o)).join('---\n');
}

function source(files: Record<string, string>): MemorySource {
  const s = new MemorySource({ files });
  sources.push(s);
  return s;
}

async function admin(): Promise<KubeClient> {
  return KubeClient.fromKubeConfig((await testenv.kube()).kubeConfig());
}

/** The ReplicaSets of a namespace: name, image, desired and ready replicas. */
async function replicaSets(
  client: KubeClient,
  ns: string,
): Promise<Array<{ name: string; image?: string; replicas?: number; readyReplicas?: number }>> {
  const list = await client.request<{
    items: Array<
      KubeObject & {
        spec?: { replicas?: number; template?: { spec?: { containers?: Array<{ image?: string }> } } };
        status?: { readyReplicas?: number };
      }
    >;
  }>({ method: 'GET', path: `/apis/apps/v1/namespaces/${ns}/replicasets` });
  return list.items.map((rs) => ({
    name: rs.metadata.name,
    image: rs.spec?.template?.spec?.containers?.[0]?.image,
    replicas: rs.spec?.replicas,
    readyReplicas: rs.status?.readyReplicas ?? 0,
  }));
}

async function newTarget(name: string): Promise<KubernetesTarget> {
  return new KubernetesTarget({ name, kubeConfig: (await testenv.kube()).kubeConfig() });
}

/** The options of a Reconciler of the raw YAML in `source`, applied by `target`. */
function rawOptions(
  name: string,
  source: MemorySource,
  target: KubernetesTarget,
  stateStore: StateStore,
): ReconcilerOptions {
  return { name, source, renderer: new RawRenderer(), target, stateStore };
}

/** A namespace for the state objects, created outside any reconciler. */
async function stateNamespace(client: KubeClient): Promise<string> {
  const ns = uniqueName('state');
  await client.request({ method: 'POST', path: '/api/v1/namespaces', body: namespace(ns) });
  return ns;
}

describe('KubernetesTarget with the core Reconciler (real apiserver)', () => {
  it('refuses an empty set without allowEmpty, and prunes everything with it', async () => {
    const client = await admin();
    const ns = uniqueName('empty');
    const name = uniqueName('empty');
    const target = await newTarget(name);
    const store = target.stateStore({ namespace: await stateNamespace(client) });
    const src = source({ 'app.yaml': yamlOf([namespace(ns), configMap(ns, 'c', { a: '1' })]) });
    const options = rawOptions(name, src, target, store);
    expect((await new Reconciler(options).reconcile()).outcome).toBe('succeeded');

    src.setFiles({ 'app.yaml': '# nothing here any more\n' }).commit({ message: 'empty' });
    const refused = await new Reconciler(options).reconcile();
    expect(refused.outcome).toBe('failed');
    expect(refused.error?.code).toBe(ErrorCodes.EmptySetRefused);
    expect(await getObject(client, `/api/v1/namespaces/${ns}/configmaps/c`)).toBeDefined();

    const allowed = await new Reconciler({ ...options, allowEmpty: true }).reconcile();
    expect(allowed.outcome).toBe('succeeded');
    expect(await getObject(client, `/api/v1/namespaces/${ns}/configmaps/c`)).toBeUndefined();
  });

  it('resumes from the inventory in the cluster after a restart and prunes what left the set', async () => {
    const client = await admin();
    const ns = uniqueName('restart');
    const name = uniqueName('restart');
    const stateNs = await stateNamespace(client);
    const first = [namespace(ns), configMap(ns, 'a', { v: '1' }), configMap(ns, 'b', { v: '1' })];
    const src = source({ 'app.yaml': yamlOf(first) });
    {
      const target = await newTarget(name);
      const result = await new Reconciler(
        rawOptions(name, src, target, target.stateStore({ namespace: stateNs })),
      ).reconcile();
      expect(result.outcome).toBe('succeeded');
      expect(result.writes).toBe(3);
    }
    const stored = await getObject(
      client,
      `/api/v1/namespaces/${stateNs}/configmaps/${stateObjectName(name)}`,
    );
    const data = (stored?.data ?? {}) as Record<string, string>;
    const state = JSON.parse(data['state.json'] ?? '{}') as StoredState;
    expect(state.inventory.entries.map((e) => e.ref.name)).toEqual([ns, 'a', 'b']);
    expect(state.inventory.entries.every((e) => e.digest.startsWith('sha256:'))).toBe(true);

    // A new process: new target, new store object, same name; "b" left the set.
    src.setFiles({ 'app.yaml': yamlOf([namespace(ns), configMap(ns, 'a', { v: '1' })]) }).commit();
    const target = await newTarget(name);
    const result = await new Reconciler(
      rawOptions(name, src, target, new ConfigMapStateStore(target.client, { namespace: stateNs })),
    ).reconcile();
    expect(result.outcome).toBe('succeeded');
    expect(result.writes).toBe(0);
    expect(result.pruned).toBe(1);
    expect(await getObject(client, `/api/v1/namespaces/${ns}/configmaps/b`)).toBeUndefined();
    expect(await getObject(client, `/api/v1/namespaces/${ns}/configmaps/a`)).toBeDefined();
  });

  it('rolls back when the deployment controller marks a rollout ProgressDeadlineExceeded, and the old ReplicaSet serves again', async () => {
    // A living cluster of its own, as the Prometheus and quickstart tests have: late in a full run
    // the shared one's controllers were seen leaving the bad ReplicaSet's Pod terminating for the
    // whole health timeout (twice in a row), so the rollback never got healthy there.
    const env = await startTestenv({ kube: true, s3: false, git: false, tools: false });
    onTestFinished(() => env.stop());
    const kubeConfig = env.kube?.kubeConfig();
    if (!kubeConfig) throw new Error('testenv started no cluster');
    const client = KubeClient.fromKubeConfig(kubeConfig);
    const ns = uniqueName('rollback');
    const name = uniqueName('rollback');
    const target = new KubernetesTarget({ name, kubeConfig });
    // Only the bad image gets a 3 s progress deadline: the good revision, and the rollback to it,
    // keep the default so two busy cores never fail them.
    const web = (image: string): KubeObject => {
      const object = deployment(ns, 'web', 2, image);
      if (image.endsWith(':does-not-exist'))
        (object.spec as Record<string, unknown>).progressDeadlineSeconds = 3;
      return object;
    };
    const src = source({
      'app.yaml': yamlOf([namespace(ns), configMap(ns, 'c', { version: '1' }), web('nginx:1.27')]),
    });
    const reconciler = new Reconciler({
      ...rawOptions(name, src, target, target.stateStore({ namespace: await stateNamespace(client) })),
      wait: true,
      rollback: true,
      healthPollInterval: 200,
      healthTimeout: 45_000, // a loaded 2-core machine once needed more than 30 s
    });
    const healthy = await reconciler.reconcile();
    expect(healthy.outcome, healthy.message).toBe('succeeded');
    expect(healthy.health).toBe('Current');
    const [good] = await replicaSets(client, ns);
    expect(good?.image).toBe('nginx:1.27');

    // Revision 2 pulls an image that does not exist (kwok's rule for the tag `does-not-exist`): the
    // new ReplicaSet's Pods never get Ready and the deployment controller gives up after 3 s.
    src
      .setFiles({
        'app.yaml': yamlOf([
          namespace(ns),
          configMap(ns, 'c', { version: '2' }),
          web('nginx:does-not-exist'),
          configMap(ns, 'extra', { added: 'by revision 2' }),
        ]),
      })
      .commit({ message: 'bad image' });
    const unhealthy: string[] = [];
    reconciler.on('unhealthy', (e) => {
      unhealthy.push(e.message);
    });
    const result = await reconciler.reconcile();
    expect(result.outcome, result.message).toBe('rolledBack');
    expect(result.appliedRevision).toBe(healthy.revision);
    expect(unhealthy.join('\n')).toMatch(/Deployment .*web/);
    expect(unhealthy.join('\n')).toMatch(/ProgressDeadlineExceeded|progress deadline/i);

    // The old template is live again: the deployment controller scaled the first ReplicaSet back
    // up (its Pods Ready) and the bad one down to zero.
    const live = await getObject(client, `/apis/apps/v1/namespaces/${ns}/deployments/web`);
    const spec = live?.spec as { template: { spec: { containers: Array<{ image: string }> } } };
    expect(spec.template.spec.containers[0]?.image).toBe('nginx:1.27');
    const after = await replicaSets(client, ns);
    expect(after.find((rs) => rs.image === 'nginx:1.27')).toMatchObject({
      name: good?.name,
      replicas: 2,
      readyReplicas: 2,
    });
    expect(after.find((rs) => rs.image === 'nginx:does-not-exist')).toMatchObject({ replicas: 0 });
    expect((await getObject(client, `/api/v1/namespaces/${ns}/configmaps/c`))?.data).toEqual({
      version: '1',
    });
    expect(await getObject(client, `/api/v1/namespaces/${ns}/configmaps/extra`)).toBeUndefined();
  });
});

describe('ConfigMapStateStore (real apiserver)', () => {
  const state = (entries: number): StoredState => ({
    inventory: {
      entries: Array.from({ length: entries }, (_, i) => ({
        ref: { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'ns', name: `object-${i}` },
        digest: `sha256:${i.toString(16).padStart(64, '0')}`,
      })),
    },
    lastAppliedRevision: 'main@sha1:abc',
  });

  it('round-trips the state and writes nothing when it did not change', async () => {
    const client = await admin();
    const store = new ConfigMapStateStore(client, { namespace: await stateNamespace(client) });
    expect(await store.load('tenant/a')).toBeUndefined();
    client.resetCounters();
    await store.save('tenant/a', state(3));
    await store.save('tenant/a', state(3));
    expect(client.counters.writes).toBe(1);
    expect(await store.load('tenant/a')).toEqual(state(3));
  });

  it('gzips a large state, and keeps it in a Secret when asked', async () => {
    const client = await admin();
    const ns = await stateNamespace(client);
    for (const kind of ['ConfigMap', 'Secret'] as const) {
      const store = new ConfigMapStateStore(client, { namespace: ns, kind, compressAbove: 64 * 1024 });
      const big = state(5_000);
      await store.save('big', big);
      const fresh = new ConfigMapStateStore(client, { namespace: ns, kind });
      expect(await fresh.load('big')).toEqual(big);
      const resource = kind === 'Secret' ? 'secrets' : 'configmaps';
      const raw = await getObject(client, `/api/v1/namespaces/${ns}/${resource}/${stateObjectName('big')}`);
      const keys = Object.keys({ ...(raw?.data as object), ...(raw?.binaryData as object) });
      expect(keys).toEqual(['state.json.gz']);
      // Smaller again: stored as plain JSON, the gzipped key is gone.
      await store.save('big', state(2));
      expect(await fresh.load('big')).toEqual(state(2));
    }
  });
});
