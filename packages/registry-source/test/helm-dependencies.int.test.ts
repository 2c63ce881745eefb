import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Artifact, ErrorCodes, HelmRenderer, type Manifest } from '@gitops-kit/core';
import { GitSource } from '@gitops-kit/git-source';
import {
  type HelmDependencyError,
  HelmDependencyResolver,
  HelmErrorCodes,
} from '@gitops-kit/registry-source';
import {
  type ChartRepository,
  type RunningRegistry,
  startChartRepository,
  startRegistry,
  type ToolsEnv,
  testenv,
} from '@gitops-kit/testenv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WorkClone } from '../../git-source/test/support/helpers.js';
import { tempDir, writeChart } from './support/charts.js';
import { helm, helmHome, pushChart } from './support/helm-cli.js';

const signal = new AbortController().signal;

let tools: ToolsEnv;
let repo: ChartRepository;
let registry: RunningRegistry;
let work: string;

beforeAll(async () => {
  tools = await testenv.tools();
  work = await tempDir('helm-deps-int-');
  repo = await startChartRepository({ auth: true, tls: true });
  for (const version of ['1.0.0', '1.4.0', '2.0.0']) {
    await repo.publish(await writeChart(join(work, `redis-${version}`), { name: 'redis', version }));
  }
  // A registry of this file's own (TLS and basic auth), so the test can stop it.
  registry = await startRegistry(join(work, 'registry'));
  const home = await helmHome(join(work, 'push-home'));
  for (const version of ['3.0.0', '3.1.0', '4.0.0']) {
    const dir = await writeChart(join(work, `common-${version}`), { name: 'common', version });
    await pushChart(tools.helm, home, dir, registry.info, 'charts');
  }
});
afterAll(async () => {
  await registry?.stop();
  await repo?.close();
  await rm(work, { recursive: true, force: true });
});

const names = (manifests: Manifest[]): string[] =>
  manifests
    .map((m) => `${m.object.metadata.name}=${(m.object as { data?: { version?: string } }).data?.version}`)
    .sort();

function resolver(cacheDir: string, password = repo.password): HelmDependencyResolver {
  return new HelmDependencyResolver({
    cacheDir,
    repositories: [
      { url: repo.url, name: 'deps', auth: { username: repo.username, password }, ca: repo.ca },
      {
        url: `oci://${registry.info.host}/`,
        auth: { username: registry.info.username ?? '', password: registry.info.password ?? '' },
        ca: registry.info.caPem,
      },
    ],
  });
}

async function gitChart(name: string, files: Record<string, string>): Promise<Artifact> {
  const git = await testenv.git();
  const { url } = await git.createRepo(`${name}-${process.pid}-${Date.now()}`);
  const clone = await WorkClone.create(url, git.username, git.password);
  for (const [path, content] of Object.entries(files)) await clone.write(path, content);
  await clone.commit('chart');
  await clone.push('main');
  const source = new GitSource({
    url,
    auth: { bearerToken: git.token },
    cacheDir: join(work, `git-${name}`),
  });
  return source.fetch({ signal });
}

async function chartFiles(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (rel: string): Promise<void> => {
    for (const entry of await readdir(join(dir, rel), { withFileTypes: true })) {
      const path = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isDirectory()) await walk(path);
      else out[`chart/${path}`] = await readFile(join(dir, path), 'utf8');
    }
  };
  await walk('');
  return out;
}

describe('HelmDependencyResolver with the real helm', () => {
  it('renders a Git chart with a dependency on an HTTPS repository and one on an OCI registry, and again from the cache with both stopped', async () => {
    const dir = await writeChart(join(work, 'git-app'), {
      name: 'app',
      version: '0.1.0',
      dependencies: [
        { name: 'redis', version: '^1.0.0', repository: repo.url },
        { name: 'common', version: '^3.0.0', repository: `oci://${registry.info.host}/charts` },
      ],
    });
    const artifact = await gitChart('app', await chartFiles(dir));
    const cacheDir = join(work, 'cache-git');
    const first = resolver(cacheDir);
    const renderer = new HelmRenderer({
      binary: tools.helm,
      path: 'chart',
      releaseName: 'shop',
      dependencies: first,
    });
    expect(names(await renderer.render(artifact, { signal }))).toEqual([
      'shop-app=0.1.0',
      'shop-common=3.1.0',
      'shop-redis=1.4.0',
    ]);
    // index.yaml and the archive; the tag list, the manifest HEAD and GET and the chart layer.
    expect(first.stats().requests).toBeGreaterThanOrEqual(6);
    // Nothing was written into the artifact.
    expect(await readdir(join(artifact.dir, 'chart'))).not.toContain('charts');

    // The servers stop: the kept index and the cached archive are enough.
    await repo.stop();
    await registry.stop();
    try {
      const offline = resolver(cacheDir);
      const again = new HelmRenderer({
        binary: tools.helm,
        path: 'chart',
        releaseName: 'shop',
        dependencies: offline,
      });
      expect(names(await again.render(artifact, { signal }))).toEqual([
        'shop-app=0.1.0',
        'shop-common=3.1.0',
        'shop-redis=1.4.0',
      ]);
      expect(offline.stats().bytes).toBe(0);
    } finally {
      await repo.start();
    }
  });

  it('honours Chart.lock written by helm dependency update (no request once cached) and refuses one out of sync', async () => {
    // With import-values, which Helm's lock digest covers too (the check once skipped such charts).
    const dir = await writeChart(join(work, 'locked'), {
      name: 'locked',
      version: '0.1.0',
      dependencies: [
        {
          name: 'redis',
          version: '>=1.0.0 <3.0.0',
          repository: repo.url,
          importValues: [{ child: 'settings', parent: 'redisSettings' }],
        },
      ],
    });
    const home = await helmHome(join(work, 'helm-home'));
    await helm(tools.helm, home, [
      'repo',
      'add',
      'deps',
      repo.url,
      '--username',
      repo.username,
      '--password',
      repo.password,
      '--ca-file',
      await caFile(),
    ]);
    // Helm locks the newest version the range allows (2.0.0); Chart.lock's digest is Helm's own.
    await helm(tools.helm, home, ['dependency', 'update', dir, '--skip-refresh']);
    await rm(join(dir, 'charts'), { recursive: true, force: true });
    expect(await readFile(join(dir, 'Chart.lock'), 'utf8')).toContain('version: 2.0.0');
    const cacheDir = join(work, 'cache-lock');
    const artifact: Artifact = {
      revision: 'r',
      digest: 'sha256:locked',
      dir: join(work, 'locked'),
      meta: {},
    };
    const render = (r: HelmDependencyResolver) =>
      new HelmRenderer({ binary: tools.helm, path: 'locked', releaseName: 'l', dependencies: r }).render(
        artifact,
        { signal },
      );
    expect(names(await render(resolver(cacheDir)))).toEqual(['l-locked=0.1.0', 'l-redis=2.0.0']);
    const cached = resolver(cacheDir);
    await render(cached);
    expect(cached.stats().requests).toBe(0);

    await writeFile(
      join(dir, 'Chart.yaml'),
      (await readFile(join(dir, 'Chart.yaml'), 'utf8')).replace('<3.0.0', '<2.0.0'),
    );
    const error = await render(resolver(cacheDir)).then(
      () => undefined,
      (e: unknown) => e as HelmDependencyError,
    );
    expect(error?.code).toBe(HelmErrorCodes.LockOutOfSync);
    expect(error?.location?.file).toBe('locked/Chart.lock');
  });

  it('downloads a cached version again when the index names other bytes for it (a range, so the index is read)', async () => {
    await writeChart(join(work, 'republished'), {
      name: 'republished',
      version: '0.1.0',
      // An exact version already cached costs no request (the index is not read); a range reads it.
      dependencies: [{ name: 'cache', version: '^1.0.0', repository: repo.url }],
    });
    const artifact: Artifact = {
      revision: 'r',
      digest: 'sha256:re',
      dir: join(work, 'republished'),
      meta: {},
    };
    const greetingOf = async (r: HelmDependencyResolver) => {
      const manifests = await new HelmRenderer({
        binary: tools.helm,
        path: 'republished',
        releaseName: 'p',
        dependencies: r,
      }).render(artifact, { signal });
      return manifests.find((m) => m.object.metadata.name === 'p-cache')?.object.data;
    };
    await repo.publish(await writeChart(join(work, 'cache-v1'), { name: 'cache', version: '1.0.0' }));
    const cacheDir = join(work, 'cache-republished');
    expect(await greetingOf(resolver(cacheDir))).toMatchObject({ greeting: 'hello' });
    // The same version again, other bytes: the index names a new digest.
    await repo.publish(
      await writeChart(join(work, 'cache-v2'), {
        name: 'cache',
        version: '1.0.0',
        files: { 'values.yaml': 'greeting: republished\n' },
      }),
    );
    expect(await greetingOf(resolver(cacheDir))).toMatchObject({ greeting: 'republished' });
  });

  it('names the dependency, version and URL in typed errors, without credentials', async () => {
    const artifactOf = async (
      name: string,
      dependency: { name: string; version: string; repository: string },
    ) => {
      await writeChart(join(work, 'errors'), { name, version: '0.1.0', dependencies: [dependency] });
      return {
        revision: 'r',
        digest: `sha256:${name}`,
        dir: join(work, 'errors'),
        meta: {},
      } satisfies Artifact;
    };
    const fail = async (artifact: Artifact, path: string, r: HelmDependencyResolver) =>
      (await new HelmRenderer({ binary: tools.helm, path, releaseName: 'e', dependencies: r })
        .render(artifact, { signal })
        .then(
          () => undefined,
          (e: unknown) => e,
        )) as HelmDependencyError;

    const unknown = await fail(
      await artifactOf('e1', { name: 'nope', version: '1.0.0', repository: repo.url }),
      'e1',
      resolver(join(work, 'c1')),
    );
    expect(unknown.code).toBe(HelmErrorCodes.DependencyNotFound);
    expect(unknown.message).toContain('"nope"');
    expect(unknown.location?.file).toBe('e1/Chart.yaml');

    const noMatch = await fail(
      await artifactOf('e2', { name: 'redis', version: '^9.0.0', repository: '@deps' }),
      'e2',
      resolver(join(work, 'c2')),
    );
    expect(noMatch.code).toBe(HelmErrorCodes.DependencyNotFound);
    expect(noMatch.message).toContain('^9.0.0');
    expect(noMatch.url).toBe(`${repo.url}/`);

    const refused = await fail(
      await artifactOf('e3', { name: 'redis', version: '1.0.0', repository: repo.url }),
      'e3',
      resolver(join(work, 'c3'), 'bad-password-value'),
    );
    expect(refused.code).toBe(HelmErrorCodes.DependencyAuthFailed);
    expect(refused.message).not.toContain('bad-password-value');

    const down = await startChartRepository();
    await down.close();
    const unreachable = await fail(
      await artifactOf('e4', { name: 'redis', version: '1.0.0', repository: down.url }),
      'e4',
      resolver(join(work, 'c4')),
    );
    expect(unreachable.code).toBe(HelmErrorCodes.DependencyUnreachable);
    expect(unreachable.message).toContain(down.url);

    const none = await new HelmRenderer({ binary: tools.helm, path: 'e4', releaseName: 'e' })
      .render({ revision: 'r', digest: 'sha256:x', dir: join(work, 'errors'), meta: {} }, { signal })
      .then(
        () => undefined,
        (e: unknown) => e as HelmDependencyError,
      );
    expect(none?.code).toBe(ErrorCodes.RenderHelmDependencyMissing);
  });
});

async function caFile(): Promise<string> {
  const path = join(work, 'ca.crt');
  await writeFile(path, repo.ca ?? '');
  return path;
}
