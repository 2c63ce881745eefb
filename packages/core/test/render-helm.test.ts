import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type Artifact,
  ErrorCodes,
  HelmRenderer,
  RenderError,
  type RunFunction,
  type RunRequest,
} from '@gitops-kit/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { helmOutputManifests, templateLocation } from '../src/render/helm.js';
import { BROKEN_CHART, WEBAPP_CHART, writeTree } from './fixtures/render/charts.js';
import { ok, renderError } from './support/render-support.js';

const signal = new AbortController().signal;

let dir: string;
let artifact: Artifact;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'helm-unit-'));
  await writeTree(dir, { ...WEBAPP_CHART, ...BROKEN_CHART });
  artifact = { revision: 'r', digest: 'sha256:d', dir, meta: {} };
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const OUTPUT = [
  '---',
  '# Source: webapp/crds/widgets.yaml',
  'apiVersion: apiextensions.k8s.io/v1',
  'kind: CustomResourceDefinition',
  'metadata:',
  '  name: widgets.example.com',
  '---',
  '# Source: webapp/charts/db/templates/pvc.yaml',
  'apiVersion: v1',
  'kind: PersistentVolumeClaim',
  'metadata:',
  '  name: shop-db',
  '---',
  '# Source: webapp/templates/config.yaml',
  'apiVersion: v1',
  'kind: ConfigMap',
  'metadata:',
  '  name: a',
  '---',
  '# Source: webapp/templates/config.yaml',
  'apiVersion: v1',
  'kind: ConfigMap',
  'metadata:',
  '  name: b',
  '',
].join('\n');

describe('HelmRenderer (unit, injected run)', () => {
  it('builds `helm template` arguments with values files, inline values and capabilities', async () => {
    const calls: { request: RunRequest; inline: string }[] = [];
    const run: RunFunction = async (request) => {
      const values = request.args.filter((_, i) => request.args[i - 1] === '--values');
      const last = values[values.length - 1];
      calls.push({ request, inline: last?.endsWith('values.json') ? await readFile(last, 'utf8') : '' });
      return ok(OUTPUT);
    };
    const renderer = new HelmRenderer({
      path: 'charts/webapp',
      releaseName: 'shop',
      namespace: 'prod',
      valuesFiles: ['values-prod.yaml'],
      values: { replicaCount: 5, nested: { on: 'yes' } },
      kubeVersion: '1.31.0',
      apiVersions: ['monitoring.coreos.com/v1', 'example.com/v1'],
      binary: '/opt/helm',
      run,
    });
    await renderer.render(artifact, { signal });
    const { request, inline } = calls[0]!;
    expect(request.command).toBe('/opt/helm');
    const args = [...request.args];
    const inlinePath = args[args.length - 7]!;
    expect(args).toEqual([
      'template',
      'shop',
      join(dir, 'charts/webapp'),
      '--namespace',
      'prod',
      '--include-crds',
      '--skip-tests',
      '--values',
      join(dir, 'charts/webapp/values-prod.yaml'),
      '--values',
      inlinePath,
      '--kube-version',
      '1.31.0',
      '--api-versions',
      'monitoring.coreos.com/v1',
      '--api-versions',
      'example.com/v1',
    ]);
    expect(JSON.parse(inline)).toEqual({ replicaCount: 5, nested: { on: 'yes' } });
    // Helm runs with private folders: none of the user's repositories or registry logins.
    expect(request.env.HELM_REPOSITORY_CONFIG?.startsWith(request.env.HOME ?? '-')).toBe(true);
    expect(request.env.HELM_REGISTRY_CONFIG?.startsWith(request.env.HOME ?? '-')).toBe(true);
    expect(request.env.HELM_CACHE_HOME?.startsWith(request.env.HOME ?? '-')).toBe(true);
  });

  it('can leave out CRDs and keep test hooks', () => {
    const renderer = new HelmRenderer({ releaseName: 'r', includeCrds: false, skipTests: false });
    expect(renderer.templateArgs('/chart', [])).toEqual(['template', 'r', '/chart']);
  });

  it('maps `# Source:` comments to files in the artifact', async () => {
    const run: RunFunction = async () => ok(OUTPUT);
    const manifests = await new HelmRenderer({
      path: 'charts/webapp',
      releaseName: 'shop',
      binary: 'h',
      run,
    }).render(artifact, { signal });
    expect(manifests.map((m) => [m.object.metadata.name, m.origin])).toEqual([
      ['widgets.example.com', { file: 'charts/webapp/crds/widgets.yaml', documentIndex: 0, line: 1 }],
      ['shop-db', { file: 'charts/webapp/charts/db/templates/pvc.yaml', documentIndex: 0, line: 1 }],
      ['a', { file: 'charts/webapp/templates/config.yaml', documentIndex: 0, line: 1 }],
      ['b', { file: 'charts/webapp/templates/config.yaml', documentIndex: 1, line: 1 }],
    ]);
  });

  it('points bad YAML in the output at the template that wrote it', () => {
    const bad = [
      '---',
      '# Source: webapp/templates/ok.yaml',
      'apiVersion: v1',
      'kind: ConfigMap',
      'metadata:',
      '  name: ok',
      '---',
      '# Source: webapp/templates/bad.yaml',
      'apiVersion: v1',
      'kind: [oops',
      '',
    ].join('\n');
    let error: unknown;
    try {
      helmOutputManifests(bad, 'charts/webapp', 'charts/webapp/Chart.yaml');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(RenderError);
    expect((error as RenderError).location?.file).toBe('charts/webapp/templates/bad.yaml');
    expect((error as RenderError).code).toBe(ErrorCodes.RenderYamlInvalid);
  });

  it('reads the template and line from a Helm template error', async () => {
    expect(
      templateLocation('template: broken/templates/bad.yaml:4:65: executing …', 'charts/broken'),
    ).toEqual({
      file: 'charts/broken/templates/bad.yaml',
      line: 4,
      column: 65,
    });
    const run: RunFunction = async () => ({
      code: 1,
      stdout: '',
      stderr: `Error: template: broken/templates/bad.yaml:4:12: executing "broken/templates/bad.yaml" at <required "x" .Values.x>: error calling required: x\n\nUse --debug flag to render out invalid YAML\n`,
      timedOut: false,
      outputLimited: false,
    });
    const error = await renderError(
      new HelmRenderer({ path: 'broken', releaseName: 'r', binary: 'h', run }).render(artifact, { signal }),
    );
    expect(error.code).toBe(ErrorCodes.RenderToolFailed);
    expect(error.location).toEqual({ file: 'broken/templates/bad.yaml', line: 4, column: 12 });
    expect(error.message).toBe(
      'broken/templates/bad.yaml:4:12: helm template failed: template: broken/templates/bad.yaml:4:12: executing "broken/templates/bad.yaml" at <required "x" .Values.x>: error calling required: x',
    );
  });

  it('says how to provide a missing binary', async () => {
    const run: RunFunction = async () => {
      throw Object.assign(new Error('spawn helm ENOENT'), { code: 'ENOENT' });
    };
    const error = await renderError(
      new HelmRenderer({ path: 'broken', releaseName: 'r', binary: 'helm', run }).render(artifact, {
        signal,
      }),
    );
    expect(error.code).toBe(ErrorCodes.RenderToolMissing);
    expect(error.message).toContain('install Helm 3');
    expect(error.message).toContain('binary: "/path/to/helm"');
  });

  it('refuses a folder without Chart.yaml, missing values files and values files out of the artifact', async () => {
    const run: RunFunction = async () => ok('');
    expect(
      (
        await renderError(
          new HelmRenderer({ releaseName: 'r', binary: 'h', run }).render(artifact, { signal }),
        )
      ).code,
    ).toBe(ErrorCodes.RenderPathNotFound);
    const missing = await renderError(
      new HelmRenderer({
        path: 'charts/webapp',
        releaseName: 'r',
        valuesFiles: ['nope.yaml'],
        binary: 'h',
        run,
      }).render(artifact, {
        signal,
      }),
    );
    expect(missing.message).toContain('values file "charts/webapp/nope.yaml" not found');
    const outside = await renderError(
      new HelmRenderer({
        path: 'charts/webapp',
        releaseName: 'r',
        valuesFiles: ['../../../../etc/passwd'],
        binary: 'h',
        run,
      }).render(artifact, { signal }),
    );
    expect(outside.code).toBe(ErrorCodes.RenderPathNotFound);
  });

  it('keys the cache by binary, version and options, asking the version once', async () => {
    const calls: RunRequest[] = [];
    const run: RunFunction = async (request) => {
      calls.push(request);
      return ok('v3.22.0');
    };
    const a = new HelmRenderer({ releaseName: 'a', binary: '/h', run });
    const key = await a.cacheKey({ signal });
    await a.cacheKey({ signal });
    expect(calls.map((c) => c.args)).toEqual([['version', '--template', '{{.Version}}']]);
    expect(key).toContain('v3.22.0');
    expect(await new HelmRenderer({ releaseName: 'b', binary: '/h', run }).cacheKey({ signal })).not.toBe(
      key,
    );
  });

  it('asks for the version again after a failed attempt', async () => {
    let versionCalls = 0;
    const run: RunFunction = async () => {
      versionCalls++;
      return versionCalls === 1 ? { ...ok(''), code: 1, stderr: 'Error: boom' } : ok('v3.22.0');
    };
    const renderer = new HelmRenderer({ releaseName: 'a', binary: '/h', run });
    await expect(renderer.version()).rejects.toMatchObject({ code: ErrorCodes.RenderToolFailed });
    expect(await renderer.version()).toBe('v3.22.0');
    expect(await renderer.version()).toBe('v3.22.0');
    expect(versionCalls).toBe(2);
  });

  it('needs a release name', () => {
    expect(() => new HelmRenderer({ releaseName: '' })).toThrow(/releaseName/);
  });
});
