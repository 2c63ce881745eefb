// biome-ignore-all lint/suspicious/noTemplateCurlyInString: substitution input, not templates
import { readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type Artifact,
  ErrorCodes,
  KustomizeRenderer,
  type RunFunction,
  type RunRequest,
  type RunResult,
} from '@gitops-kit/core';
import { describe, expect, it } from 'vitest';
import { substituteVariables } from '../src/render/substitute.js';
import { ok, renderError } from './support/render-support.js';

const fixtures = fileURLToPath(new URL('./fixtures/render/kustomize-unit', import.meta.url));
const artifact: Artifact = { revision: 'r', digest: 'sha256:d', dir: fixtures, meta: {} };
const signal = new AbortController().signal;

/** A fake kustomize: answers `version`, and for `build` returns what `build` computes from the request. */
function fakeKustomize(build: (request: RunRequest, wrapper: string) => RunResult | Promise<RunResult>): {
  run: RunFunction;
  calls: RunRequest[];
} {
  const calls: RunRequest[] = [];
  const run: RunFunction = async (request) => {
    calls.push(request);
    if (request.args[0] === 'version') return ok('v5.8.2\n');
    const target = request.args[1]!;
    const wrapper = await readFile(join(target, 'kustomization.yaml'), 'utf8').catch(() => '');
    return build(request, wrapper);
  };
  return { run, calls };
}

/** What `kustomize build` prints for the overlay fixture, with origin annotations relative to `target`. */
function overlayOutput(target: string): string {
  const rel = (p: string): string => relative(target, join(fixtures, p));
  return [
    'apiVersion: v1',
    'kind: Service',
    'metadata:',
    '  annotations:',
    '    config.kubernetes.io/origin: |',
    `      path: ${rel('base/svc.yaml')}`,
    '  name: prod-admin',
    '---',
    'apiVersion: v1',
    'kind: Service',
    'metadata:',
    '  annotations:',
    '    keep: me',
    '    config.kubernetes.io/origin: |',
    `      path: ${rel('base/svc.yaml')}`,
    '  name: prod-web',
    '---',
    'apiVersion: v1',
    'kind: ConfigMap',
    'metadata:',
    '  annotations:',
    '    config.kubernetes.io/origin: |',
    `      configuredIn: ${rel('overlay/kustomization.yaml')}`,
    '      configuredBy:',
    '        apiVersion: builtin',
    '        kind: ConfigMapGenerator',
    '  name: prod-cfg-5h8k7c2t9m',
    '---',
    'apiVersion: apps/v1',
    'kind: Deployment',
    'metadata:',
    '  annotations:',
    '    config.kubernetes.io/origin: |',
    `      path: ${rel('base/deploy.yaml')}`,
    '  name: prod-web',
    'spec: {}',
    '',
  ].join('\n');
}

describe('KustomizeRenderer (unit, injected run)', () => {
  it('builds through a wrapper asking for origin annotations, with a scrubbed environment and no shell', async () => {
    process.env.GITOPS_KIT_TEST_SECRET = 'do-not-leak';
    try {
      const fake = fakeKustomize((request) => ok(overlayOutput(request.args[1]!)));
      const renderer = new KustomizeRenderer({
        path: 'overlay',
        binary: '/opt/bin/kustomize',
        run: fake.run,
      });
      await renderer.render(artifact, { signal });
      const build = fake.calls.find((c) => c.args[0] === 'build')!;
      expect(build.command).toBe('/opt/bin/kustomize');
      expect(build.args).toEqual(['build', build.args[1], '--load-restrictor', 'LoadRestrictionsRootOnly']);
      expect(build.args[1]).not.toContain(fixtures);
      expect(build.signal).toBe(signal);
      expect(build.timeoutMs).toBe(60_000);
      expect(Object.values(build.env)).not.toContain('do-not-leak');
      expect(build.env.KUBECONFIG).not.toBe(process.env.KUBECONFIG);
      expect(build.env.HOME?.startsWith(build.cwd ?? '-')).toBe(true);
    } finally {
      delete process.env.GITOPS_KIT_TEST_SECRET;
    }
  });

  it('writes a wrapper kustomization that points at the real one and never touches the artifact', async () => {
    let seen = '';
    const fake = fakeKustomize((request, wrapper) => {
      seen = wrapper;
      return ok(overlayOutput(request.args[1]!));
    });
    await new KustomizeRenderer({ path: 'overlay', binary: 'kustomize', run: fake.run }).render(artifact, {
      signal,
    });
    expect(seen).toContain('buildMetadata: [originAnnotations]');
    const target = fake.calls.find((c) => c.args[0] === 'build')!.args[1]!;
    expect(seen).toContain(JSON.stringify(relative(target, join(fixtures, 'overlay'))));
  });

  it('names the source file and document of each object, and strips the origin annotation', async () => {
    const fake = fakeKustomize((request) => ok(overlayOutput(request.args[1]!)));
    const manifests = await new KustomizeRenderer({
      path: 'overlay',
      binary: 'kustomize',
      run: fake.run,
    }).render(artifact, { signal });
    expect(manifests.map((m) => [m.object.metadata.name, m.origin])).toEqual([
      ['prod-admin', { file: 'base/svc.yaml', documentIndex: 1, line: 7 }],
      ['prod-web', { file: 'base/svc.yaml', documentIndex: 0, line: 2 }],
      ['prod-cfg-5h8k7c2t9m', { file: 'overlay/kustomization.yaml', documentIndex: 0, line: 1 }],
      ['prod-web', { file: 'base/deploy.yaml', documentIndex: 0, line: 1 }],
    ]);
    expect(manifests[0]?.object.metadata.annotations).toBeUndefined();
    expect(manifests[1]?.object.metadata.annotations).toEqual({ keep: 'me' });
  });

  it('keeps the quotes of the source file that kustomize drops, for substitution', async () => {
    const fake = fakeKustomize((request) =>
      ok(
        [
          'apiVersion: v1',
          'data:',
          '  COUNT: ${COUNT}',
          '  PORT: ${PORT}',
          'kind: ConfigMap',
          'metadata:',
          '  annotations:',
          '    config.kubernetes.io/origin: |',
          `      path: ${relative(request.args[1]!, join(fixtures, 'vars/cm.yaml'))}`,
          '  name: settings',
          '',
        ].join('\n'),
      ),
    );
    const manifests = await new KustomizeRenderer({
      path: 'vars',
      binary: 'kustomize',
      run: fake.run,
    }).render(artifact, { signal });
    const [out] = substituteVariables(manifests, { variables: { PORT: '8080', COUNT: '3' } });
    expect(out?.object.data).toEqual({ PORT: '8080', COUNT: 3 });
  });

  it('can build the folder directly, without origins', async () => {
    const fake = fakeKustomize(() => ok('apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n'));
    const manifests = await new KustomizeRenderer({
      path: 'base',
      origins: false,
      binary: 'kustomize',
      run: fake.run,
    }).render(artifact, { signal });
    expect(fake.calls.find((c) => c.args[0] === 'build')?.args[1]).toBe(join(fixtures, 'base'));
    expect(manifests[0]?.origin).toEqual({ file: 'base/kustomization.yaml', documentIndex: 0, line: 1 });
  });

  it('uses `kubectl kustomize` and passes build options', async () => {
    const calls: RunRequest[] = [];
    const run: RunFunction = async (request) => {
      calls.push(request);
      if (request.args[0] === 'version')
        return ok('{"clientVersion":{"gitVersion":"v1.32.4"},"kustomizeVersion":"v5.5.0"}');
      return ok('');
    };
    const renderer = new KustomizeRenderer({
      path: 'base',
      binary: '/usr/bin/kubectl',
      loadRestrictor: 'none',
      enableHelm: true,
      helmCommand: '/opt/helm',
      run,
    });
    expect(await renderer.render(artifact, { signal })).toEqual([]);
    expect(calls[0]?.args.slice(2)).toEqual([
      '--load-restrictor',
      'LoadRestrictionsNone',
      '--enable-helm',
      '--helm-command',
      '/opt/helm',
    ]);
    expect(calls[0]?.args[0]).toBe('kustomize');
    expect(await renderer.cacheKey({ signal })).toContain('kubectl v1.32.4 kustomize v5.5.0');
  });

  it('asks the version once and keys the cache by binary, version and options', async () => {
    const fake = fakeKustomize(() => ok(''));
    const a = new KustomizeRenderer({ path: 'base', binary: '/k', run: fake.run });
    const key = await a.cacheKey({ signal });
    expect(await a.cacheKey({ signal })).toBe(key);
    expect(fake.calls.filter((c) => c.args[0] === 'version')).toHaveLength(1);
    expect(key).toContain('v5.8.2');
    const b = new KustomizeRenderer({ path: 'base', binary: '/k', loadRestrictor: 'none', run: fake.run });
    expect(await b.cacheKey({ signal })).not.toBe(key);
  });

  it('carries kustomize’s own message when the build fails', async () => {
    const fake = fakeKustomize((request) => ({
      code: 1,
      stdout: '',
      stderr: `Error: accumulating resources: accumulation err='accumulating resources from '${relative(request.args[1]!, join(fixtures, 'base'))}': '${join(fixtures, 'base')}' must resolve to a file': recursed accumulation of path '${join(fixtures, 'base')}': no matches for Id ConfigMap.v1.[noGrp]/zzz.[noNs]; failed to find unique target for patch\n`,
      timedOut: false,
      outputLimited: false,
    }));
    const error = await renderError(
      new KustomizeRenderer({ path: 'base', binary: 'kustomize', run: fake.run }).render(artifact, {
        signal,
      }),
    );
    expect(error.code).toBe(ErrorCodes.RenderToolFailed);
    expect(error.location?.file).toBe('base/kustomization.yaml');
    expect(error.message).toBe(
      'base/kustomization.yaml: kustomize build failed: no matches for Id ConfigMap.v1.[noGrp]/zzz.[noNs]; failed to find unique target for patch',
    );
  });

  it('unwraps kubectl’s klog wrapping of the message', async () => {
    const run: RunFunction = async (request) =>
      request.args[0] === 'version'
        ? ok('{}')
        : {
            code: 1,
            stdout: '',
            stderr:
              'E1122 03:13:17.629480   23518 run.go:72] "command failed" err="missing metadata.name in object {{v1 ConfigMap} {{ } map[] map[]}}"\n',
            timedOut: false,
            outputLimited: false,
          };
    const error = await renderError(
      new KustomizeRenderer({ path: 'base', binary: '/usr/bin/kubectl', run }).render(artifact, { signal }),
    );
    expect(error.message).toBe(
      'base/kustomization.yaml: kubectl kustomize failed: missing metadata.name in object {{v1 ConfigMap} {{ } map[] map[]}}',
    );
  });

  it('reports a missing binary, a timeout and an oversized output as typed errors', async () => {
    const missing: RunFunction = async () => {
      throw Object.assign(new Error('spawn /nope ENOENT'), { code: 'ENOENT' });
    };
    const notFound = await renderError(
      new KustomizeRenderer({ path: 'base', binary: '/nope', run: missing }).render(artifact, { signal }),
    );
    expect(notFound.code).toBe(ErrorCodes.RenderToolMissing);
    expect(notFound.message).toContain('binary: "/path/to/kustomize"');

    const slow: RunFunction = async () => ({
      code: null,
      stdout: '',
      stderr: '',
      timedOut: true,
      outputLimited: false,
    });
    const timeout = await renderError(
      new KustomizeRenderer({ path: 'base', binary: 'k', run: slow, timeoutMs: 5 }).render(artifact, {
        signal,
      }),
    );
    expect(timeout.code).toBe(ErrorCodes.RenderToolFailed);
    expect(timeout.message).toContain('did not finish within 5 ms');

    const big: RunFunction = async () => ({
      code: null,
      stdout: '',
      stderr: '',
      timedOut: false,
      outputLimited: true,
    });
    expect(
      (
        await renderError(
          new KustomizeRenderer({ path: 'base', binary: 'k', run: big }).render(artifact, { signal }),
        )
      ).code,
    ).toBe(ErrorCodes.RenderToolFailed);
  });

  it('refuses a folder without a kustomization, and a path out of the artifact', async () => {
    const fake = fakeKustomize(() => ok(''));
    const none = await renderError(
      new KustomizeRenderer({ path: '.', binary: 'k', run: fake.run }).render(artifact, { signal }),
    );
    expect(none.code).toBe(ErrorCodes.RenderPathNotFound);
    expect(none.message).toContain('no kustomization.yaml');
    const out = await renderError(
      new KustomizeRenderer({ path: '../..', binary: 'k', run: fake.run }).render(artifact, { signal }),
    );
    expect(out.code).toBe(ErrorCodes.RenderPathNotFound);
    expect(fake.calls).toHaveLength(0);
  });

  it('refuses duplicate objects in the output and reports bad output YAML', async () => {
    const cm = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n';
    const dup = fakeKustomize(() => ok(`${cm}---\n${cm}`));
    const error = await renderError(
      new KustomizeRenderer({ path: 'base', binary: 'k', origins: false, run: dup.run }).render(artifact, {
        signal,
      }),
    );
    expect(error.code).toBe(ErrorCodes.RenderDuplicateObject);
  });
});
