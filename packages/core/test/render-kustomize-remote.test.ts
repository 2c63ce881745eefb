import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { type Artifact, ErrorCodes, KustomizeRenderer, RenderError, type RunRequest } from '@gitops-kit/core';
import { afterEach, describe, expect, it } from 'vitest';
import { findRemoteReferences, remoteHost } from '../src/render/kustomize-remote.js';
import { ok, renderError } from './support/render-support.js';

const signal = new AbortController().signal;
let dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
  dirs = [];
});

/** An artifact folder holding `files` (path → text). */
async function artifactOf(files: Record<string, string>): Promise<Artifact> {
  const dir = await mkdtemp(join(tmpdir(), 'gitops-kit-remote-test-'));
  dirs.push(dir);
  for (const [path, text] of Object.entries(files)) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), text);
  }
  return { revision: 'r', digest: 'sha256:d', dir, meta: {} };
}

const configMap = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\n';

/** A renderer whose kustomize is a recorder: any build call is a connection we failed to prevent. */
function recordingRenderer(options: ConstructorParameters<typeof KustomizeRenderer>[0] = {}): {
  renderer: KustomizeRenderer;
  builds: RunRequest[];
} {
  const builds: RunRequest[] = [];
  const renderer = new KustomizeRenderer({
    binary: '/bin/kustomize',
    origins: false,
    ...options,
    run: async (request) => {
      if (request.args[0] === 'version') return ok('v5.8.2\n');
      builds.push(request);
      return ok(configMap);
    },
  });
  return { renderer, builds };
}

describe('remote references in kustomizations', () => {
  it('tells remote references from local paths as kustomize does', () => {
    expect(remoteHost('https://example.com/app.yaml', false)).toBe('example.com');
    expect(remoteHost('http://127.0.0.1:8080/x.yaml', false)).toBe('127.0.0.1');
    expect(remoteHost('github.com/org/repo//deploy?ref=v1', false)).toBe('github.com');
    expect(remoteHost('git@gitlab.example.com:org/repo.git//base', false)).toBe('gitlab.example.com');
    expect(remoteHost('ssh://git@git.example.com:2222/org/repo', false)).toBe('git.example.com');
    expect(remoteHost('git::https://git.example.com/org/repo', false)).toBe('git.example.com');
    expect(remoteHost('oci://registry.example.com/charts', false)).toBe('registry.example.com');
    expect(remoteHost('gh:org/repo', false)).toBe('github.com');
    expect(remoteHost('file:///etc/repo', false)).toBe(false);
    // Local paths stay local, also one that exists and looks like a host.
    for (const local of ['../base', 'deployment.yaml', 'components/x', './a.b/c'])
      expect(remoteHost(local, false)).toBeUndefined();
    expect(remoteHost('github.com/org/repo', true)).toBeUndefined();
  });

  it('finds every remote reference with its file, line and field, following local bases first, as kustomize reads them', async () => {
    const artifact = await artifactOf({
      'overlays/prod/kustomization.yaml': [
        'resources:',
        '  - ../../base',
        '  - https://user:s3cr3t-token@example.com/app.yaml',
        'components:',
        '  - github.com/org/repo//components/x?ref=v1',
        'patches:',
        '  - path: http://patches.example.com/p.yaml',
        '  - patch: |-',
        '      - op: add',
        '        path: /metadata/annotations/link',
        '        value: https://docs.example.com',
        'configMapGenerator:',
        '  - name: c',
        '    files:',
        '      - key=https://files.example.com/f.txt',
        'commonAnnotations:',
        '  docs: https://docs.example.com',
        '',
      ].join('\n'),
      'base/kustomization.yaml': 'bases:\n  - git@git.example.com:org/base.git\nresources:\n  - cm.yaml\n',
      'base/cm.yaml': configMap,
      'charts/kustomization.yaml': 'helmCharts:\n  - name: nginx\n    repo: https://charts.example.com\n',
    });
    const found = await findRemoteReferences(artifact.dir, join(artifact.dir, 'overlays/prod'));
    expect(found).toEqual([
      {
        file: 'base/kustomization.yaml',
        line: 2,
        field: 'bases',
        url: 'git@git.example.com:org/base.git',
        host: 'git.example.com',
      },
      {
        file: 'overlays/prod/kustomization.yaml',
        line: 3,
        field: 'resources',
        url: 'https://***@example.com/app.yaml',
        host: 'example.com',
      },
      {
        file: 'overlays/prod/kustomization.yaml',
        line: 5,
        field: 'components',
        url: 'github.com/org/repo//components/x?ref=v1',
        host: 'github.com',
      },
      {
        file: 'overlays/prod/kustomization.yaml',
        line: 7,
        field: 'patches.path',
        url: 'http://patches.example.com/p.yaml',
        host: 'patches.example.com',
      },
      {
        file: 'overlays/prod/kustomization.yaml',
        line: 15,
        field: 'configMapGenerator.files',
        url: 'https://files.example.com/f.txt',
        host: 'files.example.com',
      },
    ]);
    expect(await findRemoteReferences(artifact.dir, join(artifact.dir, 'charts'))).toEqual([
      {
        file: 'charts/kustomization.yaml',
        line: 3,
        field: 'helmCharts.repo',
        url: 'https://charts.example.com',
        host: 'charts.example.com',
      },
    ]);
  });

  it('refuses a remote resource before kustomize runs, naming file, line and URL but no credential', async () => {
    const artifact = await artifactOf({
      'app/kustomization.yaml':
        'resources:\n  - cm.yaml\n  - https://user:s3cr3t-token@example.com/app.yaml\n  - https://example.com/b.yaml?ref=v1&token=s3cr3t-token\n',
      'app/cm.yaml': configMap,
    });
    const { renderer, builds } = recordingRenderer({ path: 'app' });
    const error = await renderError(renderer.render(artifact, { signal }));
    expect(error).toMatchObject({
      code: ErrorCodes.RenderRemoteResource,
      location: { file: 'app/kustomization.yaml', line: 3 },
    });
    expect(error.message).toContain('https://***@example.com/app.yaml');
    expect(error.message).toContain('(and 1 more)');
    expect(error.message).toContain('"example.com"');
    const all = await findRemoteReferences(artifact.dir, join(artifact.dir, 'app'));
    expect(all.map((ref) => ref.url)).toEqual([
      'https://***@example.com/app.yaml',
      'https://example.com/b.yaml?ref=v1&token=***',
    ]);
    expect(JSON.stringify({ ...error, message: error.message })).not.toContain('s3cr3t-token');
    expect(builds).toEqual([]);
  });

  it('refuses a remote base found in a local base and a remote Helm chart', async () => {
    const nested = await artifactOf({
      'overlay/kustomization.yaml': 'resources:\n  - ../base\n',
      'base/kustomization.yaml': 'resources:\n  - ../shared\n',
      'shared/kustomization.yaml': 'resources:\n  - github.com/org/repo//deploy?ref=main\n',
    });
    const first = recordingRenderer({ path: 'overlay' });
    const error = await renderError(first.renderer.render(nested, { signal }));
    expect(error).toMatchObject({
      code: ErrorCodes.RenderRemoteResource,
      location: { file: 'shared/kustomization.yaml', line: 2 },
    });
    expect(first.builds).toEqual([]);

    const chart = await artifactOf({
      'kustomization.yaml':
        'helmCharts:\n  - name: nginx\n    repo: oci://registry.example.com/charts\n    version: 1.0.0\n',
    });
    const second = recordingRenderer({ enableHelm: true });
    expect(await renderError(second.renderer.render(chart, { signal }))).toMatchObject({
      code: ErrorCodes.RenderRemoteResource,
      location: { file: 'kustomization.yaml', line: 3 },
    });
    expect(second.builds).toEqual([]);
  });

  it('lets allowed hosts through (exact and *.suffix) and refuses the rest', async () => {
    const artifact = await artifactOf({
      'kustomization.yaml':
        'resources:\n  - https://raw.example.com/a.yaml\n  - github.com/org/repo//x?ref=v1\n',
    });
    const allowedAll = recordingRenderer({ allowRemoteHosts: ['*.example.com', 'GitHub.com'] });
    await expect(allowedAll.renderer.render(artifact, { signal })).resolves.toHaveLength(1);
    expect(allowedAll.builds).toHaveLength(1);

    const allowedOne = recordingRenderer({ allowRemoteHosts: ['raw.example.com'] });
    const error = await renderError(allowedOne.renderer.render(artifact, { signal }));
    expect(error).toMatchObject({ code: ErrorCodes.RenderRemoteResource, location: { line: 3 } });
    expect(error.message).toContain('github.com/org/repo//x?ref=v1');
    expect(allowedOne.builds).toEqual([]);
  });

  it('renders a kustomization of local resources only, and refuses one it cannot read', async () => {
    const local = await artifactOf({
      'kustomization.yaml': 'resources:\n  - base\n  - cm.yaml\n',
      'cm.yaml': configMap,
      'base/kustomization.yaml': 'resources: []\n',
    });
    const { renderer, builds } = recordingRenderer();
    await expect(renderer.render(local, { signal })).resolves.toHaveLength(1);
    expect(builds).toHaveLength(1);

    const broken = await artifactOf({ 'kustomization.yaml': 'resources:\n  - [unclosed\n' });
    const refused = recordingRenderer();
    const error = await refused.renderer.render(broken, { signal }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RenderError);
    expect(error).toMatchObject({
      code: ErrorCodes.RenderYamlInvalid,
      location: { file: 'kustomization.yaml' },
    });
    expect(refused.builds).toEqual([]);
  });
});
