import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type Artifact,
  DirectorySource,
  ErrorCodes,
  HelmRenderer,
  type Manifest,
  type RenderError,
  type RunFunction,
  withRenderCache,
} from '@gitops-kit/core';
import { type ToolsEnv, testenv } from '@gitops-kit/testenv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runProcess } from '../src/render/process.js';
import { BROKEN_CHART, WEBAPP_CHART, writeTree } from './fixtures/render/charts.js';
import { renderError } from './support/render-support.js';

const signal = new AbortController().signal;

let tools: ToolsEnv;
let folder: string;
let source: DirectorySource;
let artifact: Artifact;
beforeAll(async () => {
  tools = await testenv.tools();
  folder = await mkdtemp(join(tmpdir(), 'helm-int-'));
  await writeTree(folder, { ...WEBAPP_CHART, ...BROKEN_CHART });
  // A read-only snapshot, as a real source gives.
  source = new DirectorySource({ path: folder });
  artifact = await source.fetch({ signal });
});
afterAll(async () => {
  await source.dispose();
  await rm(folder, { recursive: true, force: true });
});

const find = (manifests: Manifest[], kind: string, name: string): Manifest | undefined =>
  manifests.find((m) => m.object.kind === kind && m.object.metadata.name === name);

describe('HelmRenderer with the real helm', () => {
  it('renders a chart with helpers, values files, inline values, CRDs and a vendored dependency, offline', async () => {
    const manifests = await new HelmRenderer({
      binary: tools.helm,
      path: 'charts/webapp',
      releaseName: 'shop',
      namespace: 'prod',
      valuesFiles: ['values-prod.yaml'],
      values: { extra: 'inline', db: { storage: '2Gi' } },
      kubeVersion: '1.31.0',
      apiVersions: ['monitoring.coreos.com/v1'],
    }).render(artifact, { signal });

    expect(manifests.map((m) => `${m.object.kind}/${m.object.metadata.name}`).sort()).toEqual([
      'ConfigMap/shop-webapp-config',
      'ConfigMap/shop-webapp-extra',
      'CustomResourceDefinition/widgets.example.com',
      'Deployment/shop-webapp',
      'PersistentVolumeClaim/shop-db',
    ]);
    const deploy = find(manifests, 'Deployment', 'shop-webapp')!;
    expect(deploy.object.metadata).toMatchObject({
      namespace: 'prod',
      labels: { 'app.kubernetes.io/name': 'webapp', 'app.kubernetes.io/instance': 'shop' },
    });
    expect((deploy.object.spec as { replicas: number }).replicas).toBe(3);
    expect(deploy.origin).toEqual({
      file: 'charts/webapp/templates/deployment.yaml',
      documentIndex: 0,
      line: 1,
    });
    expect(find(manifests, 'ConfigMap', 'shop-webapp-config')?.object.data).toEqual({
      greeting: 'hello from prod',
      kubeVersion: 'v1.31.0',
      monitoring: 'yes',
    });
    expect(find(manifests, 'ConfigMap', 'shop-webapp-extra')?.origin).toEqual({
      file: 'charts/webapp/templates/config.yaml',
      documentIndex: 1,
      line: 1,
    });
    // Parent values reach the vendored subchart; its template is named in the origin.
    const pvc = find(manifests, 'PersistentVolumeClaim', 'shop-db')!;
    expect(pvc.object.spec).toMatchObject({ resources: { requests: { storage: '2Gi' } } });
    expect(pvc.origin.file).toBe('charts/webapp/charts/db/templates/pvc.yaml');
    expect(find(manifests, 'CustomResourceDefinition', 'widgets.example.com')?.origin.file).toBe(
      'charts/webapp/crds/widgets.yaml',
    );
  });

  it('leaves CRDs out when asked, and test hooks in when asked', async () => {
    const manifests = await new HelmRenderer({
      binary: tools.helm,
      path: 'charts/webapp',
      releaseName: 'shop',
      includeCrds: false,
      skipTests: false,
    }).render(artifact, { signal });
    expect(manifests.some((m) => m.object.kind === 'CustomResourceDefinition')).toBe(false);
    expect(find(manifests, 'Pod', 'shop-webapp-test')?.origin.file).toBe(
      'charts/webapp/templates/tests/test-connection.yaml',
    );
  });

  it('fails a broken template with helm’s message, pointing at the template, and renders nothing', async () => {
    const error = await renderError(
      new HelmRenderer({ binary: tools.helm, path: 'broken', releaseName: 'r' }).render(artifact, { signal }),
    );
    expect(error).toMatchObject({
      code: ErrorCodes.RenderToolFailed,
      location: { file: 'broken/templates/bad.yaml', line: 4 },
    });
    expect(error.message).toContain('database');
    expect(error.message).not.toContain(artifact.dir);
  });

  it('says how to provide helm when the binary is missing', async () => {
    const error = await new HelmRenderer({
      binary: join(folder, 'no-helm-here'),
      path: 'charts/webapp',
      releaseName: 'r',
    })
      .render(artifact, { signal })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: ErrorCodes.RenderToolMissing });
    expect((error as RenderError).message).toContain('install Helm 3');
  });

  it('does not run helm again for an unchanged revision', async () => {
    let templates = 0;
    const run: RunFunction = async (request) => {
      if (request.args[0] === 'template') templates++;
      return runProcess(request);
    };
    const renderer = withRenderCache(
      new HelmRenderer({ binary: tools.helm, path: 'charts/webapp', releaseName: 'shop', run }),
    );
    const first = await renderer.render(artifact, { signal });
    const second = await renderer.render(artifact, { signal });
    expect(templates).toBe(1);
    expect(second).toEqual(first);
  });
});
