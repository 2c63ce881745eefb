import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type Artifact,
  AutoRenderer,
  type ChartDependencyRequest,
  type ChartDependencyResolver,
  type ClusterCapabilities,
  ErrorCodes,
  HelmRenderer,
  type KubeObject,
  RawRenderer,
  Reconciler,
  type Renderer,
  type RenderOptions,
  type RunFunction,
  withRenderCache,
} from '@gitops-kit/core';
import { FakeCluster, MemorySource } from '@gitops-kit/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeTree } from './fixtures/render/charts.js';
import { ok, renderError } from './support/render-support.js';

const signal = new AbortController().signal;

const CHART = {
  'app/Chart.yaml': [
    'apiVersion: v2',
    'name: app',
    'version: 1.0.0',
    'dependencies:',
    '  - name: redis',
    '    version: ^17.0.0',
    '    repository: https://charts.example.com/stable',
    '  - name: common',
    '    version: 2.x',
    '    repository: oci://registry.example.com/charts',
    '    alias: lib',
    '  - name: vendored',
    '    version: 0.1.0',
    '    repository: https://charts.example.com/stable',
    '  - name: sibling',
    '    version: 0.1.0',
    '    repository: file://../sibling',
    '',
  ].join('\n'),
  'app/Chart.lock': [
    'dependencies:',
    '  - name: redis',
    '    repository: https://charts.example.com/stable',
    '    version: 17.3.1',
    'digest: sha256:abc',
    'generated: "2026-01-01T00:00:00Z"',
    '',
  ].join('\n'),
  'app/templates/cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n',
  'app/charts/vendored/Chart.yaml': 'apiVersion: v2\nname: vendored\nversion: 0.1.0\n',
  'sibling/Chart.yaml': 'apiVersion: v2\nname: sibling\nversion: 0.1.0\n',
};

let dir: string;
let artifact: Artifact;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'helm-deps-unit-'));
  await writeTree(dir, CHART);
  await writeFile(join(dir, 'redis.tgz'), 'archive-bytes');
  artifact = { revision: 'r', digest: 'sha256:d', dir, meta: {} };
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const OUTPUT =
  '---\n# Source: app/templates/cm.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n';

describe('HelmRenderer chart dependencies', () => {
  it('refuses a chart whose dependencies are missing when no resolver is configured, naming them', async () => {
    const error = await renderError(
      new HelmRenderer({ releaseName: 'r', path: 'app', binary: '/h', run: async () => ok(OUTPUT) }).render(
        artifact,
        { signal },
      ),
    );
    expect(error.code).toBe(ErrorCodes.RenderHelmDependencyMissing);
    expect(error.location?.file).toBe('app/Chart.yaml');
    expect(error.message).toContain('redis ^17.0.0 from https://charts.example.com/stable');
    expect(error.message).toContain('common 2.x from oci://registry.example.com/charts');
    // Vendored and file:// dependencies are not missing.
    expect(error.message).not.toContain('vendored');
    expect(error.message).not.toContain('sibling');
  });

  it('asks the resolver for the missing ones and renders a copy with a completed charts/ folder', async () => {
    const requests: ChartDependencyRequest[] = [];
    let charts: string[] = [];
    const resolver: ChartDependencyResolver = {
      cacheKey: 'test-resolver',
      async resolve(request) {
        requests.push(request);
        return request.missing.map((d) => ({
          name: d.name,
          version: d.name === 'redis' ? '17.3.1' : '2.0.0',
          archive: join(dir, 'redis.tgz'),
        }));
      },
    };
    const run: RunFunction = async (request) => {
      const chartDir = request.args[2] as string;
      charts = (await readdir(join(chartDir, 'charts'))).sort();
      return ok(OUTPUT);
    };
    const renderer = new HelmRenderer({
      releaseName: 'r',
      path: 'app',
      binary: '/h',
      run,
      dependencies: resolver,
    });
    const manifests = await renderer.render(artifact, { signal });
    expect(manifests[0]?.origin.file).toBe('app/templates/cm.yaml');
    expect(requests).toHaveLength(1);
    expect(requests[0]?.chart).toEqual({ name: 'app', version: '1.0.0' });
    expect(requests[0]?.chartFile).toBe('app/Chart.yaml');
    expect(requests[0]?.missing.map((d) => d.name)).toEqual(['redis', 'common']);
    expect(requests[0]?.dependencies).toHaveLength(4);
    expect(requests[0]?.lock?.dependencies).toEqual([
      { name: 'redis', version: '17.3.1', repository: 'https://charts.example.com/stable' },
    ]);
    expect(charts).toEqual(['common-2.0.0.tgz', 'redis-17.3.1.tgz', 'sibling', 'vendored']);
    // The artifact is untouched.
    expect((await readdir(join(dir, 'app', 'charts'))).sort()).toEqual(['vendored']);
  });

  it('renders charts without dependencies in place (no copy)', async () => {
    await writeTree(dir, { 'plain/Chart.yaml': 'apiVersion: v2\nname: plain\nversion: 1.0.0\n' });
    let chartDir = '';
    const run: RunFunction = async (request) => {
      chartDir = request.args[2] as string;
      return ok(OUTPUT.replace('app/', 'plain/'));
    };
    await new HelmRenderer({ releaseName: 'r', path: 'plain', binary: '/h', run }).render(artifact, {
      signal,
    });
    expect(chartDir).toBe(join(dir, 'plain'));
  });
});

describe('HelmRenderer cluster capabilities', () => {
  const cluster: ClusterCapabilities = {
    kubeVersion: 'v1.32.13',
    apiVersions: ['v1', 'apps/v1', 'apps/v1/Deployment'],
  };

  it('passes the cluster version and API versions the render options carry, unless set or turned off', async () => {
    const r = new HelmRenderer({ releaseName: 'r', path: 'plain' });
    expect(r.templateArgs('/c', [], undefined, cluster)).toEqual([
      'template',
      'r',
      '/c',
      '--include-crds',
      '--skip-tests',
      '--kube-version',
      'v1.32.13',
      '--api-versions',
      'v1',
      '--api-versions',
      'apps/v1',
      '--api-versions',
      'apps/v1/Deployment',
    ]);
    const pinned = new HelmRenderer({ releaseName: 'r', kubeVersion: '1.30.0', apiVersions: ['x/v1'] });
    expect(pinned.templateArgs('/c', [], undefined, cluster).slice(5)).toEqual([
      '--kube-version',
      '1.30.0',
      '--api-versions',
      'x/v1',
    ]);
    const off = new HelmRenderer({ releaseName: 'r', clusterCapabilities: false });
    expect(off.templateArgs('/c', [], undefined, cluster)).not.toContain('--kube-version');
  });

  it('keys the render cache by the capabilities used', async () => {
    const run: RunFunction = async () => ok('v3.22.0');
    const r = new HelmRenderer({ releaseName: 'r', binary: '/h', run });
    const without = await r.cacheKey({ signal });
    const withCluster = await r.cacheKey({ signal, capabilities: cluster });
    expect(withCluster).not.toBe(without);
    expect(await r.cacheKey({ signal, capabilities: { ...cluster, kubeVersion: 'v1.33.0' } })).not.toBe(
      withCluster,
    );
  });

  it('the Reconciler renders with the capabilities its target offers, asked only for renderers that read them', async () => {
    const seen: (ClusterCapabilities | undefined)[] = [];
    let asked = 0;
    const renderer: Renderer = {
      name: 'recording',
      usesClusterCapabilities: true,
      async render(_artifact: Artifact, options: RenderOptions) {
        seen.push(options.capabilities);
        const object: KubeObject = {
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: 'c', namespace: 'default' },
        };
        return [{ object, origin: { file: 'c.yaml', documentIndex: 0, line: 1 } }];
      },
    };
    const target = Object.assign(new FakeCluster(), {
      capabilities: async () => {
        asked++;
        return cluster;
      },
    });
    const source = new MemorySource({ files: { 'c.yaml': 'unused' } });
    const result = await new Reconciler({ name: 'caps', source, renderer, target }).reconcile();
    expect(result.outcome).toBe('succeeded');
    expect(seen).toEqual([cluster]);
    expect(asked).toBe(1);

    // A renderer that does not read them (raw, Kustomize): no discovery asked.
    const plain: (ClusterCapabilities | undefined)[] = [];
    const plainRenderer: Renderer = {
      name: 'plain',
      render: async (a, o) => {
        plain.push(o.capabilities);
        return renderer.render(a, o);
      },
    };
    const other = Object.assign(new FakeCluster(), { capabilities: target.capabilities });
    await new Reconciler({ name: 'no-caps', source, renderer: plainRenderer, target: other }).reconcile();
    expect(plain).toEqual([undefined]);
    expect(asked).toBe(1);
  });

  it('HelmRenderer and its wrappers say whether they read the capabilities', () => {
    expect(new HelmRenderer({ releaseName: 'r' }).usesClusterCapabilities).toBe(true);
    expect(new HelmRenderer({ releaseName: 'r', clusterCapabilities: false }).usesClusterCapabilities).toBe(
      false,
    );
    expect(
      new HelmRenderer({ releaseName: 'r', kubeVersion: '1.30.0', apiVersions: [] }).usesClusterCapabilities,
    ).toBe(false);
    expect(withRenderCache(new HelmRenderer({ releaseName: 'r' })).usesClusterCapabilities).toBe(true);
    expect(withRenderCache(new RawRenderer()).usesClusterCapabilities).toBeUndefined();
    expect(new AutoRenderer().usesClusterCapabilities).toBe(true);
  });
});
