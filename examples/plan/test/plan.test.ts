import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Artifact, MemoryStateStore, RawRenderer } from '@gitops-kit/core';
import { FakeCluster } from '@gitops-kit/core/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parsePlanArgs, UsageError } from '../src/args.js';
import { loadPlanConfig } from '../src/config.js';
import { type FolderPlan, planFolder } from '../src/plan-folder.js';

const deployment = (replicas: number, image: string): string => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
spec:
  replicas: ${replicas}
  selector:
    matchLabels: { app: web }
  template:
    metadata:
      labels: { app: web }
    spec:
      containers:
        - name: app
          image: ${image}
`;

const configMap = (name: string, value: string): string => `apiVersion: v1
kind: ConfigMap
metadata:
  name: ${name}
  namespace: shop
data:
  mode: "${value}"
`;

/** A fake cluster that has the `shop` namespace. */
function cluster(): FakeCluster {
  return new FakeCluster({ objects: [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } }] });
}

describe('planFolder', () => {
  let dir: string;
  const signal = new AbortController().signal;
  const artifact = (): Artifact => ({ revision: 'local', digest: 'local', dir, meta: {} });

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'plan-example-'));
    await mkdir(join(dir, 'apps'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** Applies the folder as a reconcile would: plan, apply, store the inventory. */
  async function reconcile(target: FakeCluster, store: MemoryStateStore): Promise<void> {
    const manifests = await new RawRenderer().render(artifact(), { signal });
    const state = await store.load('shop', { signal });
    const plan = await target.plan(manifests, state?.inventory ?? { entries: [] }, { signal });
    const result = await target.apply(plan, { signal });
    await store.save('shop', { inventory: { entries: [...result.applied] } }, { signal });
  }

  /** Plans the folder against the cluster and the inventory `name` stored, as the CLI does. */
  function planOf(target: FakeCluster, store: MemoryStateStore, name = 'shop'): Promise<FolderPlan> {
    return planFolder({ artifact: artifact(), target, stateStore: store, name, signal });
  }

  it('exits 2 and shows every object to create on a fresh cluster, writing nothing', async () => {
    await writeFile(
      join(dir, 'apps', 'web.yaml'),
      `${deployment(2, 'nginx:1.26')}---\n${configMap('cfg', 'on')}`,
    );
    const target = cluster();
    const store = new MemoryStateStore();
    const result = await planOf(target, store);
    expect(result.exitCode).toBe(2);
    expect(result.text).toContain('Plan: 2 to create, 0 to update, 0 to prune, 0 drifted, 0 unchanged');
    expect(result.text).toContain('+ create apps/v1 Deployment shop/web  (apps/web.yaml:1)');
    expect(result.text).toContain('+ create v1 ConfigMap shop/cfg  (apps/web.yaml:18)');
    expect(result.text).toContain('+  mode: "on"');
    expect(target.operations).toEqual([]);
    expect(await store.load('shop')).toBeUndefined();
  });

  it('shows each object with its phase and wave, hooks marked, and hooks of another operation as not run', async () => {
    const hook = (name: string, annotations: string): string =>
      `apiVersion: batch/v1\nkind: Job\nmetadata:\n  generateName: ${name}-\n  namespace: shop\n  annotations:\n${annotations}spec:\n  template:\n    spec:\n      restartPolicy: Never\n      containers: [{ name: x, image: busybox }]\n`;
    await writeFile(
      join(dir, 'apps', 'migrate.yaml'),
      hook('migrate', '    argocd.argoproj.io/hook: PreSync\n'),
    );
    await writeFile(join(dir, 'apps', 'drop.yaml'), hook('drop', '    helm.sh/hook: pre-delete\n'));
    await writeFile(
      join(dir, 'apps', 'web.yaml'),
      deployment(2, 'nginx:1.26').replace(
        '  namespace: shop\n',
        '  namespace: shop\n  annotations:\n    argocd.argoproj.io/sync-wave: "2"\n',
      ),
    );
    const result = await planOf(cluster(), new MemoryStateStore());
    expect(result.text).toMatch(
      /\+ create batch\/v1 Job shop\/migrate-\w{5} {2}\(apps\/migrate.yaml:1\) {2}\[PreSync wave 0, hook, name generated per sync\]/,
    );
    expect(result.text).toContain('+ create apps/v1 Deployment shop/web  (apps/web.yaml:1)  [Sync wave 2]');
    expect(result.text).toContain('[not run: Helm pre-delete hook: runs on uninstall]');
  });

  it('exits 0 when the cluster already matches', async () => {
    await writeFile(join(dir, 'apps', 'web.yaml'), deployment(2, 'nginx:1.26'));
    const target = cluster();
    const store = new MemoryStateStore();
    await reconcile(target, store);
    const result = await planOf(target, store);
    expect(result.exitCode).toBe(0);
    expect(result.text).toBe('Plan: 0 to create, 0 to update, 0 to prune, 0 drifted, 1 unchanged\n');
  });

  it('shows updates as a diff and prunes from the stored inventory', async () => {
    await writeFile(join(dir, 'apps', 'web.yaml'), deployment(2, 'nginx:1.26'));
    await writeFile(join(dir, 'apps', 'old.yaml'), configMap('old', 'x'));
    const target = cluster();
    const store = new MemoryStateStore();
    await reconcile(target, store);
    const applied = target.operations.length;

    await writeFile(join(dir, 'apps', 'web.yaml'), deployment(3, 'nginx:1.27'));
    await rm(join(dir, 'apps', 'old.yaml'));
    const result = await planOf(target, store);
    expect(result.exitCode).toBe(2);
    expect(result.text).toContain('Plan: 0 to create, 1 to update, 1 to prune, 0 drifted, 0 unchanged');
    expect(result.text).toContain('-  replicas: 2\n+  replicas: 3');
    expect(result.text).toContain('-          image: nginx:1.26\n+          image: nginx:1.27');
    expect(result.text).toContain('- prune v1 ConfigMap shop/old');
    expect(target.operations).toHaveLength(applied);
  });

  it('compares against the named reconciler’s inventory only', async () => {
    await writeFile(join(dir, 'apps', 'old.yaml'), configMap('old', 'x'));
    const target = cluster();
    const store = new MemoryStateStore();
    await reconcile(target, store);
    await rm(join(dir, 'apps', 'old.yaml'));
    await writeFile(join(dir, 'apps', 'web.yaml'), deployment(1, 'nginx:1.27'));
    const other = await planOf(target, store, 'other');
    expect(other.plan.prune).toEqual([]);
    const same = await planOf(target, store);
    expect(same.plan.prune.map((entry) => entry.ref.name)).toEqual(['old']);
  });
});

describe('parsePlanArgs', () => {
  it('takes a folder and defaults the rest', () => {
    expect(parsePlanArgs(['deploy/prod'])).toEqual({
      folder: join(process.cwd(), 'deploy/prod'),
      kubeconfig: undefined,
      namespace: 'default',
      stateNamespace: 'default',
      name: 'prod',
      color: undefined,
      context: 3,
      render: {
        renderer: 'auto',
        path: undefined,
        helm: {
          releaseName: 'prod',
          valuesFiles: [],
          values: {},
          kubeVersion: undefined,
          apiVersions: undefined,
          includeCrds: undefined,
          skipTests: undefined,
          dependencyCache: undefined,
        },
        kustomize: undefined,
        raw: undefined,
      },
    });
  });

  it('reads every option', () => {
    expect(
      parsePlanArgs([
        '/srv/app',
        '--kubeconfig',
        '/tmp/kc',
        '--namespace',
        'shop',
        '--state-namespace',
        'flux',
        '--name',
        'shop-prod',
        '--context',
        '0',
        '--no-color',
      ]),
    ).toEqual({
      folder: '/srv/app',
      kubeconfig: '/tmp/kc',
      namespace: 'shop',
      stateNamespace: 'flux',
      name: 'shop-prod',
      color: false,
      context: 0,
      render: expect.objectContaining({
        renderer: 'auto',
        helm: expect.objectContaining({ releaseName: 'shop-prod' }),
      }),
    });
    expect(parsePlanArgs(['/srv/app', '--color'])).toMatchObject({ color: true });
    expect(parsePlanArgs(['--help'])).toBe('help');
  });

  it('reads the renderer settings a reconciler uses: release name, values files, inline values, capabilities', () => {
    const parsed = parsePlanArgs([
      '/srv/chart',
      '--name',
      'web',
      '--release-name',
      'shop',
      '--renderer',
      'helm',
      '--path',
      'charts/web',
      '--values',
      'values.yaml',
      '--values',
      'values-prod.yaml',
      '--set',
      'image.tag=v2',
      '--set',
      'replicas=3',
      '--set',
      'debug=false',
      '--kube-version',
      '1.31.0',
      '--api-versions',
      'monitoring.coreos.com/v1',
      '--dependency-cache',
      '/tmp/charts-cache',
    ]);
    expect(parsed).not.toBe('help');
    const { render } = parsed as Exclude<typeof parsed, 'help'>;
    expect(render).toEqual({
      renderer: 'helm',
      path: 'charts/web',
      helm: {
        releaseName: 'shop',
        valuesFiles: ['values.yaml', 'values-prod.yaml'],
        values: { image: { tag: 'v2' }, replicas: 3, debug: false },
        kubeVersion: '1.31.0',
        apiVersions: ['monitoring.coreos.com/v1'],
        includeCrds: undefined,
        skipTests: undefined,
        dependencyCache: '/tmp/charts-cache',
      },
      kustomize: undefined,
      raw: undefined,
    });
  });

  it('takes settings from a config file, flags winning, the folder relative to the file', () => {
    const config = {
      folder: 'deploy/shop',
      name: 'shop-prod',
      namespace: 'shop',
      helm: { releaseName: 'shop', valuesFiles: ['values-prod.yaml'], values: { a: { b: 1 } } },
    };
    const parsed = parsePlanArgs(['--namespace', 'other', '--set', 'a.c=x'], config, '/repo');
    expect(parsed).toMatchObject({
      folder: '/repo/deploy/shop',
      name: 'shop-prod',
      namespace: 'other',
      render: {
        helm: { releaseName: 'shop', valuesFiles: ['values-prod.yaml'], values: { a: { b: 1, c: 'x' } } },
      },
    });
    // The config's values are not changed by --set.
    expect(config.helm.values).toEqual({ a: { b: 1 } });
  });

  it.each([
    [[], /a folder is required/],
    [['a', '--renderer', 'jsonnet'], /--renderer must be one of/],
    [['a', '--set', 'novalue'], /--set needs key=value/],
    [['a', 'b'], /only one folder/],
    [['a', '--context', '1.5'], /--context must be a whole number/],
    [['a', '--frobnicate'], /frobnicate/],
  ])('refuses %o', (argv, message) => {
    expect(() => parsePlanArgs(argv)).toThrow(UsageError);
    expect(() => parsePlanArgs(argv)).toThrow(message);
  });
});

describe('loadPlanConfig', () => {
  it('reads YAML settings and names a mistaken key with its file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'plan-config-'));
    try {
      await writeFile(
        join(dir, 'plan.yaml'),
        'name: web\nhelm:\n  releaseName: shop\n  valuesFiles: [values-prod.yaml]\n',
      );
      expect(await loadPlanConfig(join(dir, 'plan.yaml'))).toEqual({
        name: 'web',
        helm: { releaseName: 'shop', valuesFiles: ['values-prod.yaml'] },
      });
      await writeFile(join(dir, 'bad.yaml'), 'helm:\n  release: shop\n');
      await expect(loadPlanConfig(join(dir, 'bad.yaml'))).rejects.toThrow(
        /bad\.yaml: unknown setting "helm\.release"/,
      );
      await expect(loadPlanConfig(join(dir, 'missing.yaml'))).rejects.toThrow(UsageError);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
