import { readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { HelmRenderer, Reconciler } from '@gitops-kit/core';
import { FakeCluster } from '@gitops-kit/core/testing';
import {
  HelmChartSource,
  type HelmChartSourceOptions,
  HelmErrorCodes,
  type HelmSourceError,
} from '@gitops-kit/registry-source';
import { type RegistryInfo, startRegistry, type ToolsEnv, testenv } from '@gitops-kit/testenv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir, writeChart } from './support/charts.js';
import { failure } from './support/failure.js';
import { helmHome, pushChart } from './support/helm-cli.js';

const signal = new AbortController().signal;

let tools: ToolsEnv;
let registry: RegistryInfo;
let home: Record<string, string>;
let work: string;
const digests = new Map<string, string>();

async function push(name: string, version: string, greeting = 'hello'): Promise<string> {
  const dir = await writeChart(join(work, `${name}-${version}`), {
    name,
    version,
    files: { 'values.yaml': `greeting: ${greeting}\n` },
  });
  const digest = await pushChart(tools.helm, home, dir, registry, 'charts');
  digests.set(`${name}@${version}`, digest);
  return digest;
}

beforeAll(async () => {
  tools = await testenv.tools();
  registry = await testenv.registry();
  work = await tempDir('helm-oci-int-');
  home = await helmHome(join(work, 'helm'));
  await push('web', '1.0.0');
  await push('web', '1.1.0');
  await push('web', '2.0.0');
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

function source(version: string | undefined, extra: Partial<HelmChartSourceOptions> = {}): HelmChartSource {
  return new HelmChartSource({
    url: `oci://${registry.host}/charts`,
    chart: 'web',
    version,
    auth: { username: registry.username ?? '', password: registry.password ?? '' },
    ca: registry.caPem,
    ...extra,
  });
}

describe('HelmChartSource over an OCI registry with charts pushed by helm push', () => {
  it('serves the newest version of a range with the manifest digest helm push printed, and picks up a new version', async () => {
    const s = source('^1.0', { cacheDir: join(work, 'cache-range') });
    const first = await s.fetch({ signal });
    expect(first.revision).toBe(`1.1.0@${digests.get('web@1.1.0')}`);
    const manifests = await new HelmRenderer({ binary: tools.helm, releaseName: 'r' }).render(first, {
      signal,
    });
    expect((manifests[0]?.object as { data?: { version?: string } } | undefined)?.data?.version).toBe(
      '1.1.0',
    );

    await push('web', '1.2.0');
    const next = await s.fetch({ signal, previous: first });
    expect(next.revision).toBe(`1.2.0@${digests.get('web@1.2.0')}`);
  });

  it('the URL may end with the chart; an exact version polls with one manifest HEAD and downloads nothing', async () => {
    const s = new HelmChartSource({
      url: `oci://${registry.host}/charts/web`,
      version: '2.0.0',
      auth: { username: registry.username ?? '', password: registry.password ?? '' },
      ca: registry.caPem,
      cacheDir: join(work, 'cache-exact'),
    });
    const first = await s.fetch({ signal });
    expect(first.revision).toBe(`2.0.0@${digests.get('web@2.0.0')}`);
    expect(await readdir(first.dir)).toContain('Chart.yaml');
    const before = s.stats();
    expect(await s.fetch({ signal, previous: first })).toBe(first);
    expect(s.stats().requests - before.requests).toBe(1);
    expect(s.stats().bytes - before.bytes).toBe(0);
  });

  it('refuses a chart layer that does not match its manifest: typed error, nothing applied', async () => {
    const own = await startRegistry(join(work, 'tampered'), { tls: false, auth: false });
    try {
      const target = { host: own.info.host, plainHttp: true };
      const dir = await writeChart(join(work, 'guarded-1.0.0'), {
        name: 'guarded',
        version: '1.0.0',
        files: { 'values.yaml': 'greeting: first\n' },
      });
      await pushChart(tools.helm, home, dir, target, 'charts');
      const cluster = new FakeCluster();
      const reconciler = new Reconciler({
        name: 'guarded-oci',
        source: new HelmChartSource({
          url: `oci://${own.info.host}/charts/guarded`,
          version: '>=1.0.0',
          plainHttp: true,
          cacheDir: join(work, 'cache-guarded'),
        }),
        renderer: new HelmRenderer({ binary: tools.helm, releaseName: 'g', namespace: 'default' }),
        target: cluster,
      });
      expect((await reconciler.reconcile()).outcome).toBe('succeeded');
      const ref = { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'default', name: 'g-guarded' };
      expect((cluster.get(ref) as { data?: { greeting?: string } } | undefined)?.data?.greeting).toBe(
        'first',
      );

      // 1.1.0 is pushed, then its chart layer is changed on the registry's disk.
      const second = await writeChart(join(work, 'guarded-1.1.0'), {
        name: 'guarded',
        version: '1.1.0',
        files: { 'values.yaml': 'greeting: second\n' },
      });
      await pushChart(tools.helm, home, second, target, 'charts');
      const blobs = join(own.info.dataDir, 'docker', 'registry', 'v2', 'blobs', 'sha256');
      const manifest = JSON.parse(
        await (
          await fetch(`http://${own.info.host}/v2/charts/guarded/manifests/1.1.0`, {
            headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
          })
        ).text(),
      ) as { layers: { digest: string }[] };
      const hex = manifest.layers[0]?.digest.replace('sha256:', '') ?? '';
      await writeFile(join(blobs, hex.slice(0, 2), hex, 'data'), 'not the chart');
      const result = await reconciler.reconcile();
      expect(result.outcome).toBe('failed');
      expect(result.error?.code).toBe(HelmErrorCodes.DigestMismatch);
      expect(result.error?.message).toContain('guarded');
      expect(result.error?.message).toContain('1.1.0');
      expect((cluster.get(ref) as { data?: { greeting?: string } } | undefined)?.data?.greeting).toBe(
        'first',
      );
    } finally {
      await own.stop();
    }
  });

  it('names chart, version and URL in typed errors, without credentials', async () => {
    const unknown = await failure<HelmSourceError>(source('1.0.0', { chart: 'nope' }).fetch({ signal }));
    expect(unknown.code).toBe(HelmErrorCodes.ChartNotFound);
    expect(unknown.message).toContain(`${registry.host}/charts/nope`);

    const missingVersion = await failure<HelmSourceError>(source('9.9.9').fetch({ signal }));
    expect(missingVersion.code).toBe(HelmErrorCodes.VersionNotFound);
    expect(missingVersion.message).toContain('9.9.9');

    const noMatch = await failure<HelmSourceError>(source('^7.0').fetch({ signal }));
    expect(noMatch.code).toBe(HelmErrorCodes.VersionNotFound);
    expect(noMatch.message).toContain('^7.0');

    const refused = await failure<HelmSourceError>(
      source('1.0.0', { auth: { username: registry.username ?? '', password: 'wrong-secret-x' } }).fetch({
        signal,
      }),
    );
    expect(refused.code).toBe(HelmErrorCodes.AuthFailed);
    expect(JSON.stringify({ m: refused.message, c: String(refused.cause) })).not.toContain('wrong-secret-x');

    const gone = await startRegistry(join(work, 'gone'), { tls: false, auth: false });
    await gone.stop();
    const down = await failure<HelmSourceError>(
      new HelmChartSource({
        url: `oci://${gone.info.host}/charts/web`,
        version: '1.0.0',
        plainHttp: true,
      }).fetch({ signal }),
    );
    expect(down.code).toBe(HelmErrorCodes.Unreachable);
    expect(down.message).toContain(gone.info.host);
  });
});
