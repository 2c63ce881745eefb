import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Artifact, emptyInventory, HelmRenderer, RawRenderer, Reconciler } from '@gitops-kit/core';
import { KubernetesTarget } from '@gitops-kit/k8s-target';
import { type KubeEnv, startChartRepository, testenv } from '@gitops-kit/testenv';
import { CoreV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planFolder } from '../src/plan-folder.js';

const root = resolve(fileURLToPath(new URL('../../..', import.meta.url)));
const signal = new AbortController().signal;

interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the CLI from its sources (tsx with the workspace paths), as a user would run dist/main.js. */
function runCli(args: readonly string[], env: Record<string, string> = {}): Promise<CliResult> {
  const tsx = join(root, 'node_modules', '.bin', 'tsx');
  return new Promise((done) => {
    execFile(
      tsx,
      ['--tsconfig', join(root, 'tsconfig.test.json'), join(root, 'examples/plan/src/main.ts'), ...args],
      { cwd: root, env: { ...process.env, KUBECONFIG: '', ...env } },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        done({ code, stdout, stderr });
      },
    );
  });
}

const files = (ns: string, opts: { mode: string; password: string; withOld: boolean }) => ({
  'namespace.yaml': `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${ns}\n`,
  'app.yaml': `apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  namespace: ${ns}
data:
  mode: "${opts.mode}"
  feature: "yes"
---
apiVersion: v1
kind: Secret
metadata:
  name: db
  namespace: ${ns}
stringData:
  password: ${opts.password}
`,
  ...(opts.withOld
    ? {
        'old.yaml': `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: old\n  namespace: ${ns}\ndata:\n  a: b\n`,
      }
    : {}),
});

describe('examples/plan against a real apiserver', () => {
  let kube: KubeEnv;
  let dir: string;
  const ns = `plan-${randomBytes(4).toString('hex')}`;
  const name = ns;

  async function writeFolder(content: Record<string, string>): Promise<void> {
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true });
    for (const [file, text] of Object.entries(content)) await writeFile(join(dir, file), text);
  }

  const artifact = (): Artifact => ({ revision: 'local', digest: 'local', dir, meta: {} });

  beforeAll(async () => {
    kube = await testenv.kube();
    dir = join(await mkdtemp(join(tmpdir(), 'plan-int-')), 'shop');
    await writeFolder(files(ns, { mode: 'on', password: 'first-secret', withOld: true }));
    // A first reconcile, done by hand: apply and store the inventory where the CLI will read it.
    const target = new KubernetesTarget({ name, kubeConfig: kube.kubeConfig() });
    const manifests = await new RawRenderer().render(artifact(), { signal });
    const plan = await target.plan(manifests, emptyInventory, { signal });
    await target.validate(plan, { signal });
    const result = await target.apply(plan, { signal });
    await target
      .stateStore({ namespace: ns })
      .save(name, { inventory: { entries: [...result.applied] } }, { signal });
  });

  afterAll(async () => {
    await rm(resolve(dir, '..'), { recursive: true, force: true });
  });

  const cliArgs = (): string[] => [
    dir,
    '--kubeconfig',
    kube.kubeconfigPath,
    '--namespace',
    ns,
    '--name',
    name,
  ];

  it('exits 0 and prints only the summary when the cluster matches the folder', async () => {
    const result = await runCli(cliArgs());
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toBe('Plan: 0 to create, 0 to update, 0 to prune, 0 drifted, 4 unchanged\n');
  });

  it('exits 2 with a diff of updates, masked secrets and prunes, and writes nothing', async () => {
    await writeFolder(files(ns, { mode: 'off', password: 'second-secret', withOld: false }));
    const core = kube.kubeConfig().makeApiClient(CoreV1Api);
    const before = await core.readNamespacedConfigMap({ name: 'settings', namespace: ns });

    const result = await runCli([...cliArgs(), '--no-color']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(2);
    expect(result.stdout).toContain('Plan: 0 to create, 2 to update, 1 to prune, 0 drifted, 1 unchanged');
    expect(result.stdout).toContain(`~ update v1 ConfigMap ${ns}/settings  (app.yaml:1)`);
    expect(result.stdout).toContain('-  mode: "on"\n+  mode: "off"');
    expect(result.stdout).toContain(`~ update v1 Secret ${ns}/db  (app.yaml:10)`);
    expect(result.stdout).toContain('-  password: "***"\n+  password: "*** (changed)"');
    expect(result.stdout).toContain(`- prune v1 ConfigMap ${ns}/old`);
    for (const value of ['first-secret', 'second-secret', 'Zmlyc3Qtc2VjcmV0', 'c2Vjb25kLXNlY3JldA==']) {
      expect(result.stdout).not.toContain(value);
    }
    expect(result.stdout).not.toContain('managedFields');
    expect(result.stdout).not.toContain('resourceVersion');

    const after = await core.readNamespacedConfigMap({ name: 'settings', namespace: ns });
    expect(after.metadata?.resourceVersion).toBe(before.metadata?.resourceVersion);
    const old = await core.readNamespacedConfigMap({ name: 'old', namespace: ns });
    expect(old.data).toEqual({ a: 'b' });
  });

  it('reports a change made in the cluster by hand as drift', async () => {
    await writeFolder(files(ns, { mode: 'on', password: 'first-secret', withOld: true }));
    const core = kube.kubeConfig().makeApiClient(CoreV1Api);
    await core.patchNamespacedConfigMap(
      { name: 'settings', namespace: ns, body: [{ op: 'replace', path: '/data/mode', value: 'manual' }] },
      undefined,
    );
    const target = new KubernetesTarget({ name, kubeConfig: kube.kubeConfig() });
    const result = await planFolder({
      artifact: artifact(),
      target,
      stateStore: target.stateStore({ namespace: ns }),
      name,
      signal,
    });
    expect(result.exitCode).toBe(2);
    expect(result.text).toContain('Plan: 0 to create, 1 to update, 0 to prune, 1 drifted, 3 unchanged');
    expect(result.text).toContain('(drifted: changed outside gitops-kit)');
    expect(result.text).toContain('-  mode: manual\n+  mode: "on"');
  });

  it('exits 1 with the location of a broken manifest', async () => {
    await writeFolder({ 'bad.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: [unclosed\n' });
    const result = await runCli(cliArgs());
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('bad.yaml');
    expect(result.stdout).toBe('');
  });
});

describe('examples/plan renders a chart as the reconciler does', () => {
  const ns = `plan-helm-${randomBytes(4).toString('hex')}`;
  const name = 'web-prod';
  let kube: KubeEnv;
  let dir: string;
  let env: Record<string, string>;

  const chart: Record<string, string> = {
    'Chart.yaml': 'apiVersion: v2\nname: web\nversion: 1.0.0\n',
    'values.yaml': 'mode: dev\nreplicas: 1\n',
    'values-prod.yaml': 'mode: prod\n',
    'templates/config.yaml': [
      'apiVersion: v1',
      'kind: ConfigMap',
      'metadata:',
      '  name: {{ .Release.Name }}-config',
      '  namespace: {{ .Release.Namespace }}',
      'data:',
      '  mode: {{ .Values.mode | quote }}',
      '  replicas: {{ .Values.replicas | quote }}',
      '',
    ].join('\n'),
    'templates/extra.yaml':
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-extra\n  namespace: {{ .Release.Namespace }}\n',
  };

  beforeAll(async () => {
    kube = await testenv.kube();
    const tools = await testenv.tools();
    env = { PATH: `${dirname(tools.helm)}:${process.env.PATH ?? ''}` };
    dir = join(await mkdtemp(join(tmpdir(), 'plan-helm-')), 'web');
    for (const [file, text] of Object.entries(chart)) {
      await mkdir(dirname(join(dir, file)), { recursive: true });
      await writeFile(join(dir, file), text);
    }
    const admin = new KubernetesTarget({ name: 'plan-setup', kubeConfig: kube.kubeConfig() });
    await admin.client.request({
      method: 'POST',
      path: '/api/v1/namespaces',
      body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } },
    });
    // The reconciler releases the chart as "shop" with the production values.
    const target = new KubernetesTarget({ name, kubeConfig: kube.kubeConfig(), targetNamespace: ns });
    const reconciler = new Reconciler({
      name,
      source: { description: 'folder', fetch: async () => ({ revision: 'r1', digest: 'd1', dir, meta: {} }) },
      renderer: new HelmRenderer({
        binary: tools.helm,
        releaseName: 'shop',
        namespace: ns,
        valuesFiles: ['values-prod.yaml'],
      }),
      target,
      stateStore: target.stateStore({ namespace: ns }),
    });
    const result = await reconciler.reconcile();
    expect(result.error?.message).toBeUndefined();
  });

  afterAll(async () => {
    await rm(resolve(dir, '..'), { recursive: true, force: true });
  });

  const base = (): string[] => [
    dir,
    '--kubeconfig',
    kube.kubeconfigPath,
    '--namespace',
    ns,
    '--name',
    name,
    '--no-color',
  ];

  it('plans 0 changes for the unchanged chart with the release name and values file the reconciler uses', async () => {
    const result = await runCli([...base(), '--release-name', 'shop', '--values', 'values-prod.yaml'], env);
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe('Plan: 0 to create, 0 to update, 0 to prune, 0 drifted, 2 unchanged\n');
    expect(result.code).toBe(0);

    // The old behaviour (release named after --name, no values file) plans a different release.
    const forced = await runCli(base(), env);
    expect(forced.code).toBe(2);
    expect(forced.stdout).toContain('Plan: 2 to create, 0 to update, 2 to prune');
  });

  it('reads the same settings from a config file and plans an inline value change', async () => {
    const config = join(dir, '..', 'plan.yaml');
    await writeFile(
      config,
      [
        `folder: web`,
        `name: ${name}`,
        `namespace: ${ns}`,
        'renderer: helm',
        'helm:',
        '  releaseName: shop',
        '  valuesFiles: [values-prod.yaml]',
        '',
      ].join('\n'),
    );
    const same = await runCli(['--config', config, '--kubeconfig', kube.kubeconfigPath, '--no-color'], env);
    expect(same.stderr).toBe('');
    expect(same.code).toBe(0);

    const changed = await runCli(
      ['--config', config, '--kubeconfig', kube.kubeconfigPath, '--no-color', '--set', 'replicas=3'],
      env,
    );
    expect(changed.code).toBe(2);
    expect(changed.stdout).toContain('Plan: 0 to create, 1 to update, 0 to prune');
    expect(changed.stdout).toContain(`~ update v1 ConfigMap ${ns}/shop-config`);
    expect(changed.stdout).toContain('-  replicas: "1"\n+  replicas: "3"');
  });

  it('fetches chart dependencies into a cache with --dependency-cache, and says what is missing without it', async () => {
    const repo = await startChartRepository();
    try {
      const lib = join(dir, '..', 'lib-src', 'lib');
      await mkdir(join(lib, 'templates'), { recursive: true });
      await writeFile(join(lib, 'Chart.yaml'), 'apiVersion: v2\nname: lib\nversion: 1.0.0\n');
      await writeFile(
        join(lib, 'templates', 'cm.yaml'),
        'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-lib\n  namespace: {{ .Release.Namespace }}\n',
      );
      await repo.publish(lib);
      const app = join(dir, '..', 'with-deps');
      await mkdir(join(app, 'templates'), { recursive: true });
      await writeFile(
        join(app, 'Chart.yaml'),
        `apiVersion: v2\nname: app\nversion: 1.0.0\ndependencies:\n  - name: lib\n    version: ^1.0.0\n    repository: ${repo.url}\n`,
      );
      const args = [
        app,
        '--kubeconfig',
        kube.kubeconfigPath,
        '--namespace',
        ns,
        '--name',
        'with-deps',
        '--no-color',
      ];
      const missing = await runCli(args, env);
      expect(missing.code).toBe(1);
      expect(missing.stderr).toContain('RENDER_HELM_DEPENDENCY_MISSING');
      expect(missing.stderr).toContain(`lib ^1.0.0 from ${repo.url}`);

      const planned = await runCli([...args, '--dependency-cache', join(dir, '..', 'chart-cache')], env);
      expect(planned.stderr).toBe('');
      expect(planned.code).toBe(2);
      expect(planned.stdout).toContain(`+ create v1 ConfigMap ${ns}/with-deps-lib`);
      expect(await readdir(app)).not.toContain('charts');
    } finally {
      await repo.close();
    }
  });
});
