/**
 * Phases, waves and hooks on the living test cluster (kube-controller-manager runs the Job and
 * Deployment controllers, kwok completes Job Pods and makes Deployment Pods Ready, an image tagged
 * `does-not-exist` never starts). Every wait is the Reconciler's own: no test sleeps.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ErrorCodes,
  type HealthOptions,
  type HealthReport,
  HelmRenderer,
  type KubeObject,
  MemoryStateStore,
  type ObjectRef,
  type Plan,
  RawRenderer,
  Reconciler,
  type ReconcilerOptions,
  type Renderer,
  type Target,
  type TargetCallOptions,
} from '@gitops-kit/core';
import { MemorySource } from '@gitops-kit/core/testing';
import { KubeClient, KubernetesTarget } from '@gitops-kit/k8s-target';
import { testenv } from '@gitops-kit/testenv';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { namespace, uniqueName } from './kube-helpers.js';

const sources: MemorySource[] = [];
afterEach(async () => {
  await Promise.all(sources.splice(0).map((s) => s.cleanup()));
});

let client: KubeClient;
beforeAll(async () => {
  client = KubeClient.fromKubeConfig((await testenv.kube()).kubeConfig());
});

function yaml(...objects: KubeObject[]): string {
  return objects.map((o) => stringify(o)).join('---\n');
}

function source(files: Record<string, string>): MemorySource {
  const s = new MemorySource({ files });
  sources.push(s);
  return s;
}

async function newNamespace(): Promise<string> {
  const ns = uniqueName('life');
  await client.request({ method: 'POST', path: '/api/v1/namespaces', body: namespace(ns) });
  return ns;
}

function job(
  ns: string,
  name: string,
  annotations: Record<string, string>,
  options: { image?: string; generate?: boolean } = {},
): KubeObject {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { ...(options.generate ? { generateName: `${name}-` } : { name }), namespace: ns, annotations },
    spec: {
      backoffLimit: 0,
      activeDeadlineSeconds: 3,
      template: {
        spec: { restartPolicy: 'Never', containers: [{ name: 'run', image: options.image ?? 'busybox:1' }] },
      },
    },
  } as unknown as KubeObject;
}

/**
 * A Deployment of one replica. An image tagged `does-not-exist` gets a 3 s progress deadline (the
 * controller gives up quickly); others keep 30 s, so right after a rollback the controller does not
 * judge the good template by the bad one's stale `ProgressDeadlineExceeded` condition.
 */
function deploy(
  ns: string,
  name: string,
  image: string,
  annotations: Record<string, string> = {},
): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: ns, annotations },
    spec: {
      replicas: 1,
      progressDeadlineSeconds: image.endsWith(':does-not-exist') ? 3 : 30,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { containers: [{ name: 'app', image }] },
      },
    },
  };
}

async function get(path: string): Promise<KubeObject | undefined> {
  try {
    return await client.request<KubeObject>({ method: 'GET', path });
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode === 404) return undefined;
    throw error;
  }
}

const jobPath = (ns: string, name: string) => `/apis/batch/v1/namespaces/${ns}/jobs/${name}`;
const deployPath = (ns: string, name: string) => `/apis/apps/v1/namespaces/${ns}/deployments/${name}`;

async function jobsOf(ns: string): Promise<KubeObject[]> {
  const list = await client.request<{ items: KubeObject[] }>({
    method: 'GET',
    path: `/apis/batch/v1/namespaces/${ns}/jobs`,
  });
  return list.items;
}

/**
 * The real target, with the order of its apply calls and of the health readings recorded (what was
 * written when, and what the reconciler saw before it went on).
 */
class RecordingTarget implements Target {
  readonly name: string;
  readonly log: string[] = [];
  readonly inner: KubernetesTarget;

  constructor(inner: KubernetesTarget) {
    this.inner = inner;
    this.name = inner.name;
  }
  plan: Target['plan'] = (m, i, o) => this.inner.plan(m, i, o);
  validate: Target['validate'] = (p, o) => this.inner.validate(p, o);
  prune: Target['prune'] = (e, o) => this.inner.prune(e, o);
  listOwned: NonNullable<Target['listOwned']> = (o) => this.inner.listOwned(o);
  async apply(plan: Plan, options: TargetCallOptions) {
    const writes = plan.objects.filter((o) => o.action !== 'unchanged').map((o) => o.ref.name);
    if (writes.length > 0) this.log.push(`apply ${writes.join(',')}`);
    return this.inner.apply(plan, options);
  }
  async health(refs: readonly ObjectRef[], options: HealthOptions): Promise<HealthReport> {
    const report = await this.inner.health(refs, options);
    this.log.push(`health ${report.objects.map((o) => `${o.ref.name}=${o.status}`).join(',')}`);
    return report;
  }
}

function reconciler(
  ns: string,
  src: MemorySource,
  target: Target,
  store: MemoryStateStore,
  extra: Partial<ReconcilerOptions> = {},
  renderer: Renderer = new RawRenderer(),
): Reconciler {
  return new Reconciler({
    name: ns,
    source: src,
    renderer,
    target,
    stateStore: store,
    healthPollInterval: 200,
    healthTimeout: 30_000,
    timeout: 60_000,
    ...extra,
  });
}

async function kubeTarget(ns: string): Promise<KubernetesTarget> {
  return new KubernetesTarget({ name: ns, kubeConfig: (await testenv.kube()).kubeConfig() });
}

describe('Phases, waves and hooks on the living cluster', () => {
  it('runs a PreSync Job to completion before the Deployment is created', async () => {
    const ns = await newNamespace();
    const src = source({
      'app.yaml': yaml(
        job(ns, 'migrate', { 'argocd.argoproj.io/hook': 'PreSync' }),
        deploy(ns, 'web', 'app:1'),
      ),
    });
    const target = new RecordingTarget(await kubeTarget(ns));
    const result = await reconciler(ns, src, target, new MemoryStateStore()).reconcile();
    expect(result.outcome, result.message).toBe('succeeded');
    const migrate = (await get(jobPath(ns, 'migrate'))) as KubeObject & {
      status?: { completionTime?: string };
    };
    const web = await get(deployPath(ns, 'web'));
    expect(migrate.status?.completionTime).toBeDefined();
    expect(Date.parse(String(web?.metadata.creationTimestamp))).toBeGreaterThanOrEqual(
      Date.parse(String(migrate.status?.completionTime)),
    );
    // The Deployment was written only after a reading saw the Job complete.
    const completed = target.log.findIndex((line) => line === 'health migrate=Current');
    expect(completed).toBeGreaterThan(-1);
    expect(target.log.indexOf('apply web')).toBeGreaterThan(completed);
  });

  it('applies waves 1, 2, 3 in order, each healthy before the next with wait', async () => {
    const ns = await newNamespace();
    const wave = (n: number) => ({ 'argocd.argoproj.io/sync-wave': String(n) });
    const src = source({
      'app.yaml': yaml(
        deploy(ns, 'three', 'app:1', wave(3)),
        deploy(ns, 'one', 'app:1', wave(1)),
        deploy(ns, 'two', 'app:1', wave(2)),
      ),
    });
    const target = new RecordingTarget(await kubeTarget(ns));
    const result = await reconciler(ns, src, target, new MemoryStateStore(), { wait: true }).reconcile();
    expect(result.outcome, result.message).toBe('succeeded');
    const applies = target.log.filter((line) => line.startsWith('apply'));
    expect(applies).toEqual(['apply one', 'apply two', 'apply three']);
    // Before each later wave was written, the earlier one was read healthy.
    expect(target.log.indexOf('health one=Current')).toBeLessThan(target.log.indexOf('apply two'));
    expect(target.log.indexOf('health two=Current')).toBeLessThan(target.log.indexOf('apply three'));
  });

  it('deletes a HookSucceeded Job after success; BeforeHookCreation replaces a changed Job on the next sync', async () => {
    const ns = await newNamespace();
    const files = (image: string) => ({
      'app.yaml': yaml(
        job(ns, 'once', {
          'argocd.argoproj.io/hook': 'PreSync',
          'argocd.argoproj.io/hook-delete-policy': 'HookSucceeded',
        }),
        job(ns, 'every', { 'argocd.argoproj.io/hook': 'PostSync' }, { image }),
        deploy(ns, 'web', 'app:1'),
      ),
    });
    const src = source(files('busybox:1'));
    const store = new MemoryStateStore();
    const r = reconciler(ns, src, await kubeTarget(ns), store);
    expect((await r.reconcile()).outcome).toBe('succeeded');
    expect(await get(jobPath(ns, 'once'))).toBeUndefined();
    const first = await get(jobPath(ns, 'every'));
    expect(first).toBeDefined();
    // A new revision changes the hook Job's (immutable) template: deleted and created again.
    src.setFiles(files('busybox:2')).commit({ message: 'v2' });
    const second = await r.reconcile();
    expect(second.outcome, second.message).toBe('succeeded');
    const replaced = (await get(jobPath(ns, 'every'))) as KubeObject & {
      spec: { template: { spec: { containers: { image: string }[] } } };
    };
    expect(replaced.metadata.uid).not.toBe(first?.metadata.uid);
    expect(replaced.spec.template.spec.containers[0]?.image).toBe('busybox:2');
    expect(store.get(ns)?.inventory.entries.map((e) => e.ref.kind)).toEqual(['Deployment']);
  });

  it('stops before any Sync write when a PreSync hook fails, and runs the SyncFail hook', async () => {
    const ns = await newNamespace();
    const src = source({
      'app.yaml': yaml(
        job(ns, 'migrate', { 'argocd.argoproj.io/hook': 'PreSync' }, { image: 'busybox:does-not-exist' }),
        job(ns, 'notify', { 'argocd.argoproj.io/hook': 'SyncFail' }),
        deploy(ns, 'web', 'app:1'),
      ),
    });
    const result = await reconciler(ns, src, await kubeTarget(ns), new MemoryStateStore()).reconcile();
    expect(result.outcome).toBe('failed');
    expect(result.error?.code).toBe(ErrorCodes.HookFailed);
    expect(result.message).toContain('PreSync wave 0');
    expect(await get(deployPath(ns, 'web'))).toBeUndefined();
    const notify = (await get(jobPath(ns, 'notify'))) as KubeObject & { status?: { succeeded?: number } };
    expect(notify?.status?.succeeded).toBe(1);
  });

  it('gives a generateName hook a new object on each sync and deletes the one before', async () => {
    const ns = await newNamespace();
    const files = (value: string) => ({
      'app.yaml': yaml(job(ns, 'seed', { 'argocd.argoproj.io/hook': 'PostSync' }, { generate: true }), {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'cfg', namespace: ns },
        data: { value },
      }),
    });
    const src = source(files('1'));
    const store = new MemoryStateStore();
    const r = reconciler(ns, src, await kubeTarget(ns), store);
    expect((await r.reconcile()).outcome).toBe('succeeded');
    const first = (await jobsOf(ns)).map((j) => j.metadata.name);
    expect(first).toHaveLength(1);
    expect(first[0]).toMatch(/^seed-[a-z0-9]{5}$/);
    src.setFiles(files('2')).commit({ message: 'v2' });
    expect((await r.reconcile()).outcome).toBe('succeeded');
    const second = (await jobsOf(ns))
      .filter((j) => !j.metadata.deletionTimestamp)
      .map((j) => j.metadata.name);
    expect(second).toHaveLength(1);
    expect(second[0]).not.toBe(first[0]);
    expect(store.get(ns)?.hooks?.[`batch/Job/${ns}/seed-*`]?.map((ref) => ref.name)).toEqual(second);
  });

  it('rolls a failed rollout back after a process restart, and rollbackTo applies a revision from history', async () => {
    const ns = await newNamespace();
    const src = source({ 'app.yaml': yaml(deploy(ns, 'web', 'app:1')) });
    const store = new MemoryStateStore();
    const options = { wait: true, rollback: true } as const;
    const first = reconciler(ns, src, await kubeTarget(ns), store, options);
    expect((await first.reconcile()).outcome).toBe('succeeded');
    const v1 = src.head?.revision as string;
    await first.stop();
    src.setFiles({ 'app.yaml': yaml(deploy(ns, 'web', 'app:does-not-exist')) }).commit({ message: 'bad' });
    // A new process: it knows the last healthy revision only from the stored state.
    const restarted = reconciler(ns, src, await kubeTarget(ns), store, options);
    const result = await restarted.reconcile();
    expect(result.outcome, result.message).toBe('rolledBack');
    expect(result.appliedRevision).toBe(v1);
    const image = async () =>
      (
        (await get(deployPath(ns, 'web'))) as unknown as {
          spec: { template: { spec: { containers: { image: string }[] } } };
        }
      ).spec.template.spec.containers[0]?.image;
    expect(await image()).toBe('app:1');

    src.setFiles({ 'app.yaml': yaml(deploy(ns, 'web', 'app:2')) }).commit({ message: 'v2' });
    expect((await restarted.reconcile()).outcome).toBe('succeeded');
    expect(await image()).toBe('app:2');
    const rolled = await restarted.rollbackTo(v1);
    expect(rolled.outcome, rolled.message).toBe('rolledBack');
    expect(await image()).toBe('app:1');
    // Held while the source still serves v2.
    expect((await restarted.reconcile()).appliedRevision).toBe(v1);
    expect(await image()).toBe('app:1');
  });
});

describe('A Helm chart with hooks, rendered by the real helm, on the living cluster', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lifecycle-chart-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const hookJob = (event: string) =>
    [
      'apiVersion: batch/v1',
      'kind: Job',
      'metadata:',
      `  name: {{ .Release.Name }}-${event}`,
      '  annotations:',
      `    helm.sh/hook: ${event}`,
      'spec:',
      '  backoffLimit: 0',
      '  template:',
      '    spec:',
      '      restartPolicy: Never',
      '      containers:',
      '        - name: run',
      '          image: busybox:{{ .Values.tag }}',
      '',
    ].join('\n');

  function chart(tag: string): Record<string, string> {
    return {
      'chart/Chart.yaml': 'apiVersion: v2\nname: hooked\nversion: 0.1.0\n',
      'chart/values.yaml': `tag: "${tag}"\n`,
      'chart/templates/config.yaml':
        'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-config\ndata:\n  tag: {{ .Values.tag | quote }}\n',
      'chart/templates/pre-install.yaml': hookJob('pre-install'),
      'chart/templates/post-install.yaml': hookJob('post-install'),
      'chart/templates/pre-upgrade.yaml': hookJob('pre-upgrade'),
      'chart/templates/pre-delete.yaml': hookJob('pre-delete'),
    };
  }

  it('install runs pre-install and post-install, upgrade runs pre-upgrade, pre-delete runs only on uninstall', async () => {
    const ns = await newNamespace();
    const tools = await testenv.tools();
    const renderer = new HelmRenderer({
      binary: tools.helm,
      path: 'chart',
      releaseName: 'rel',
      namespace: ns,
    });
    const src = source(chart('1'));
    // helm template leaves the namespace out: the target puts the release's objects in `ns`.
    const target = new KubernetesTarget({
      name: ns,
      kubeConfig: (await testenv.kube()).kubeConfig(),
      targetNamespace: ns,
    });
    const r = reconciler(ns, src, target, new MemoryStateStore(), {}, renderer);
    const names = async () =>
      (await jobsOf(ns))
        .filter((j) => !j.metadata.deletionTimestamp)
        .map((j) => `${j.metadata.name}@${j.metadata.uid}`)
        .sort();
    const install = await r.reconcile();
    expect(install.outcome, install.message).toBe('succeeded');
    const afterInstall = await names();
    expect(afterInstall.map((n) => n.split('@')[0])).toEqual(['rel-post-install', 'rel-pre-install']);

    src.setFiles(chart('2')).commit({ message: 'upgrade' });
    const upgrade = await r.reconcile();
    expect(upgrade.outcome, upgrade.message).toBe('succeeded');
    const afterUpgrade = await names();
    expect(afterUpgrade.map((n) => n.split('@')[0])).toEqual([
      'rel-post-install',
      'rel-pre-install',
      'rel-pre-upgrade',
    ]);
    // The install hooks did not run again: same objects as after the install.
    expect(afterUpgrade.filter((n) => n.includes('-install'))).toEqual(afterInstall);

    const uninstall = await r.uninstall();
    expect(uninstall.hooks).toBe(true);
    expect(uninstall.deleted.map((ref) => ref.name)).toEqual(['rel-config']);
    expect(await get(`/api/v1/namespaces/${ns}/configmaps/rel-config`)).toBeUndefined();
    const preDelete = (await get(jobPath(ns, 'rel-pre-delete'))) as KubeObject & {
      status?: { succeeded?: number };
    };
    expect(preDelete?.status?.succeeded).toBe(1);
  });
});
