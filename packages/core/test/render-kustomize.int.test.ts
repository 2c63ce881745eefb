// biome-ignore-all lint/suspicious/noTemplateCurlyInString: substitution input, not templates
import { fileURLToPath } from 'node:url';
import {
  type Artifact,
  DirectorySource,
  ErrorCodes,
  KustomizeRenderer,
  type Manifest,
  type RenderError,
  type RunFunction,
  withRenderCache,
  withSubstitution,
} from '@gitops-kit/core';
import { type ToolsEnv, testenv } from '@gitops-kit/testenv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runProcess } from '../src/render/process.js';
import { renderError } from './support/render-support.js';

const fixtures = fileURLToPath(new URL('./fixtures/render/kustomize', import.meta.url));
const signal = new AbortController().signal;

let tools: ToolsEnv;
let source: DirectorySource;
let artifact: Artifact;
beforeAll(async () => {
  tools = await testenv.tools();
  // The artifact is a read-only snapshot, as in a real reconcile.
  source = new DirectorySource({ path: fixtures });
  artifact = await source.fetch({ signal });
});
afterAll(async () => {
  await source.dispose();
});

const byName = (manifests: Manifest[], kind: string, name: string): Manifest => {
  const found = manifests.find((m) => m.object.kind === kind && m.object.metadata.name === name);
  if (!found)
    throw new Error(`no ${kind} ${name} in ${manifests.map((m) => m.object.metadata.name).join(', ')}`);
  return found;
};

/** Counts how often the real binary runs a build. */
function countingRun(): { run: RunFunction; builds: () => number } {
  let builds = 0;
  return {
    run: async (request) => {
      if (request.args[0] === 'build' || request.args[0] === 'kustomize') builds++;
      return runProcess(request);
    },
    builds: () => builds,
  };
}

describe('KustomizeRenderer with the real kustomize', () => {
  it('renders an overlay with strategic-merge and JSON 6902 patches, a hashed configMapGenerator and a component', async () => {
    const manifests = await new KustomizeRenderer({ path: 'overlays/prod', binary: tools.kustomize }).render(
      artifact,
      {
        signal,
      },
    );
    const config = manifests.find((m) => m.object.kind === 'ConfigMap');
    expect(config?.object.metadata.name).toMatch(/^prod-app-config-[a-z0-9]{10}$/);
    expect(config?.object.data).toEqual({ LOG_LEVEL: 'warn', 'app.properties': 'greeting=hello\n' });

    const deploy = byName(manifests, 'Deployment', 'prod-web').object as unknown as {
      metadata: { namespace?: string; annotations?: Record<string, string> };
      spec: { replicas: number; template: { spec: { containers: Record<string, unknown>[] } } };
    };
    expect(deploy.metadata.namespace).toBe('prod');
    expect(deploy.spec.replicas).toBe(3);
    const container = deploy.spec.template.spec.containers[0]!;
    expect(container.image).toBe('nginx:1.27');
    expect(container.env).toEqual([{ name: 'TIER', value: 'production' }]);
    // The generated name, hash included, is written into the reference.
    expect(container.envFrom).toEqual([{ configMapRef: { name: config?.object.metadata.name } }]);
    // The component's patch and resource, and no build metadata left behind.
    expect(deploy.metadata.annotations).toEqual({ 'monitoring.example.com/scrape': 'true' });
    expect(byName(manifests, 'ServiceMonitor', 'prod-web').object.metadata.namespace).toBe('prod');
    for (const m of manifests) {
      expect(m.object.metadata.annotations?.['config.kubernetes.io/origin']).toBeUndefined();
    }
  });

  it('names the source file, document and line of each object', async () => {
    const manifests = await new KustomizeRenderer({ path: 'overlays/prod', binary: tools.kustomize }).render(
      artifact,
      {
        signal,
      },
    );
    const origins = Object.fromEntries(
      manifests.map((m) => [`${m.object.kind}/${m.object.metadata.name}`, m.origin]),
    );
    expect(origins['Deployment/prod-web']).toEqual({
      file: 'base/deployment.yaml',
      documentIndex: 0,
      line: 1,
    });
    expect(origins['Service/prod-web']).toEqual({ file: 'base/service.yaml', documentIndex: 0, line: 2 });
    expect(origins['Namespace/prod']).toEqual({
      file: 'overlays/prod/namespace.yaml',
      documentIndex: 0,
      line: 1,
    });
    expect(origins['ServiceMonitor/prod-web']?.file).toBe('components/monitoring/servicemonitor.yaml');
    const generated = manifests.find((m) => m.object.kind === 'ConfigMap');
    expect(generated?.origin.file).toMatch(/^(base|overlays\/prod)\/kustomization\.yaml$/);
  });

  it('gives the same objects through `kubectl kustomize`', async () => {
    const viaKustomize = await new KustomizeRenderer({
      path: 'overlays/prod',
      binary: tools.kustomize,
    }).render(artifact, {
      signal,
    });
    const viaKubectl = await new KustomizeRenderer({ path: 'overlays/prod', binary: tools.kubectl }).render(
      artifact,
      {
        signal,
      },
    );
    const sortKey = (m: Manifest): string => `${m.object.kind}/${m.object.metadata.name}`;
    const sorted = (ms: Manifest[]) => [...ms].sort((a, b) => sortKey(a).localeCompare(sortKey(b)));
    expect(sorted(viaKubectl)).toEqual(sorted(viaKustomize));
  });

  it('fails a broken kustomization with kustomize’s own message and renders nothing', async () => {
    const error = await renderError(
      new KustomizeRenderer({ path: 'broken', binary: tools.kustomize }).render(artifact, { signal }),
    );
    expect(error).toMatchObject({
      code: ErrorCodes.RenderToolFailed,
      location: { file: 'broken/kustomization.yaml' },
    });
    expect(error.message).toContain('does-not-exist');
    expect(error.message).not.toContain(artifact.dir);
  });

  it('does not run the binary again for an unchanged revision', async () => {
    const counter = countingRun();
    const renderer = withRenderCache(
      new KustomizeRenderer({ path: 'overlays/prod', binary: tools.kustomize, run: counter.run }),
    );
    const first = await renderer.render(artifact, { signal });
    const second = await renderer.render(artifact, { signal });
    expect(counter.builds()).toBe(1);
    expect(second).toEqual(first);
    // A new revision runs it again.
    await renderer.render({ ...artifact, digest: 'sha256:other' }, { signal });
    expect(counter.builds()).toBe(2);
  });

  it('substitutes variables after the build, honouring quotes, defaults, opt-out and strict mode', async () => {
    const kustomize = new KustomizeRenderer({ path: 'overlays/vars', binary: tools.kustomize });
    const renderer = withSubstitution(kustomize, { variables: { ENV: 'prod', TAG: '1.27', PORT: '8080' } });
    const manifests = await renderer.render(artifact, { signal });
    const deploy = byName(manifests, 'Deployment', 'web-prod');
    expect((deploy.object.spec as { replicas: unknown }).replicas).toBe(1);
    expect(JSON.stringify(deploy.object)).toContain('"image":"nginx:1.27"');
    expect(byName(manifests, 'ConfigMap', 'settings').object.data).toEqual({ PORT: '8080' });
    expect(byName(manifests, 'ConfigMap', 'dashboards').object.data).toEqual({ panel: '${datasource}' });

    const strict = withSubstitution(kustomize, { variables: { ENV: 'prod', PORT: '1' }, strict: true });
    const error = await strict.render(artifact, { signal }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toMatchObject({ code: ErrorCodes.RenderUndefinedVariable });
    expect((error as RenderError).message).toContain('apps/v1 Deployment web-${ENV}');
    expect((error as RenderError).message).toContain('${TAG}');
    expect((error as RenderError).location?.file).toBe('overlays/vars/app.yaml');
  });

  it('stops the build when aborted', async () => {
    const controller = new AbortController();
    controller.abort();
    const error = await new KustomizeRenderer({ path: 'overlays/prod', binary: tools.kustomize })
      .render(artifact, { signal: controller.signal })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: ErrorCodes.Aborted });
  });
});
