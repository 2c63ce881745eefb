import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { HelmRenderer, Reconciler } from '@gitops-kit/core';
import { FakeCluster } from '@gitops-kit/core/testing';
import { HelmChartSource, HelmErrorCodes, type HelmSourceError } from '@gitops-kit/registry-source';
import { type ChartRepository, startChartRepository, type ToolsEnv, testenv } from '@gitops-kit/testenv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { tempDir, writeChart } from './support/charts.js';
import { failure } from './support/failure.js';

const signal = new AbortController().signal;

let tools: ToolsEnv;
let repo: ChartRepository;
let work: string;

async function publish(name: string, version: string, greeting = 'hello'): Promise<void> {
  const dir = await writeChart(join(work, `${name}-${version}`), {
    name,
    version,
    files: { 'values.yaml': `greeting: ${greeting}\n` },
  });
  await repo.publish(dir);
}

async function indexDigest(name: string, version: string): Promise<string> {
  const index = parse(await readFile(join(repo.dir, 'index.yaml'), 'utf8')) as {
    entries: Record<string, { version: string; digest: string }[]>;
  };
  return (index.entries[name] ?? []).find((e) => e.version === version)?.digest ?? '';
}

beforeAll(async () => {
  tools = await testenv.tools();
  work = await tempDir('helm-source-int-');
  repo = await startChartRepository({ auth: true, tls: true });
  await publish('app', '1.0.0');
  await publish('app', '1.1.0');
  await publish('app', '2.0.0');
});
afterAll(async () => {
  await repo?.close();
  await rm(work, { recursive: true, force: true });
});

function source(version: string, extra: Partial<ConstructorParameters<typeof HelmChartSource>[0]> = {}) {
  return new HelmChartSource({
    url: repo.url,
    chart: 'app',
    version,
    auth: { username: repo.username, password: repo.password },
    ca: repo.ca,
    ...extra,
  });
}

describe('HelmChartSource over an HTTPS chart repository written by helm repo index', () => {
  it('serves the newest version of a semver range, polls with one request, picks up a new version', async () => {
    const cacheDir = join(work, 'cache-range');
    const s = source('^1.0', { cacheDir });
    const first = await s.fetch({ signal });
    expect(first.revision).toBe(`1.1.0@sha256:${await indexDigest('app', '1.1.0')}`);
    expect(await readFile(join(first.dir, 'Chart.yaml'), 'utf8')).toContain('version: 1.1.0');
    expect(s.description).not.toContain(repo.password);

    const manifests = await new HelmRenderer({ binary: tools.helm, releaseName: 'shop' }).render(first, {
      signal,
    });
    expect(manifests.map((m) => m.object.metadata.name)).toEqual(['shop-app']);
    expect((manifests[0]?.object as { data?: { version: string } } | undefined)?.data?.version).toBe('1.1.0');

    // Nothing changed: one conditional GET of index.yaml, answered 304 with no body.
    const before = repo.requests.length;
    const statsBefore = s.stats();
    const again = await s.fetch({ signal, previous: first });
    expect(again).toBe(first);
    expect(repo.requests.slice(before)).toEqual([
      { method: 'GET', path: '/charts/index.yaml', status: 304, bytes: 0 },
    ]);
    expect(s.stats().requests - statsBefore.requests).toBe(1);
    expect(s.stats().bytes - statsBefore.bytes).toBe(0);

    // A restarted process polls as cheaply: the ETag is kept with the artifact.
    const restarted = source('^1.0', { cacheDir });
    const mark = repo.requests.length;
    const afterRestart = await restarted.fetch({ signal });
    expect(afterRestart.revision).toBe(first.revision);
    expect(repo.requests.slice(mark).map((r) => r.status)).toEqual([304]);

    await publish('app', '1.2.0');
    const next = await s.fetch({ signal, previous: first });
    expect(next.revision).toBe(`1.2.0@sha256:${await indexDigest('app', '1.2.0')}`);
    expect(await readFile(join(next.dir, 'Chart.yaml'), 'utf8')).toContain('version: 1.2.0');
  });

  it('takes an exact version and a bearer token', async () => {
    const s = source('2.0.0', { auth: { token: repo.token } });
    expect((await s.fetch({ signal })).revision).toMatch(/^2\.0\.0@sha256:[0-9a-f]{64}$/);
  });

  it('refuses an archive whose digest differs from the index: typed error, nothing applied', async () => {
    await publish('guarded', '1.0.0', 'first');
    const cluster = new FakeCluster();
    const reconciler = new Reconciler({
      name: 'guarded',
      source: source('>=1.0.0', { chart: 'guarded', cacheDir: join(work, 'cache-guarded') }),
      renderer: new HelmRenderer({ binary: tools.helm, releaseName: 'g', namespace: 'default' }),
      target: cluster,
    });
    const first = await reconciler.reconcile();
    expect(first.outcome).toBe('succeeded');
    const ref = { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'default', name: 'g-guarded' };
    expect((cluster.get(ref) as { data?: { greeting?: string } } | undefined)?.data?.greeting).toBe('first');

    // 1.1.0 is indexed, then its archive is replaced by another chart's bytes.
    await publish('guarded', '1.1.0', 'second');
    const evil = await readFile(join(repo.dir, 'app-1.0.0.tgz'));
    await writeFile(join(repo.dir, 'guarded-1.1.0.tgz'), evil);
    const second = await reconciler.reconcile();
    expect(second.outcome).toBe('failed');
    expect(second.error?.code).toBe(HelmErrorCodes.DigestMismatch);
    expect(second.error?.message).toContain('guarded');
    expect(second.error?.message).toContain('1.1.0');
    expect((cluster.get(ref) as { data?: { greeting?: string } } | undefined)?.data?.greeting).toBe('first');
    expect(reconciler.status.lastAppliedRevision).toBe(first.appliedRevision);
  });

  it('names chart, version and URL in typed errors, without credentials', async () => {
    const unknown = await failure<HelmSourceError>(source('1.0.0', { chart: 'nope' }).fetch({ signal }));
    expect(unknown.code).toBe(HelmErrorCodes.ChartNotFound);
    expect(unknown.message).toContain('"nope"');
    expect(unknown.message).toContain(repo.url);

    const noMatch = await failure<HelmSourceError>(source('^9.0').fetch({ signal }));
    expect(noMatch.code).toBe(HelmErrorCodes.VersionNotFound);
    expect(noMatch.message).toContain('^9.0');
    expect(noMatch.message).toContain(repo.url);
    expect(noMatch.version).toBe('^9.0');

    const refused = await failure<HelmSourceError>(
      source('1.0.0', { auth: { username: repo.username, password: 'wrong-secret' } }).fetch({ signal }),
    );
    expect(refused.code).toBe(HelmErrorCodes.AuthFailed);
    expect(refused.message).toContain('HTTP 401');
    expect(refused.message).not.toContain('wrong-secret');

    const untrusted = await failure<HelmSourceError>(source('1.0.0', { ca: undefined }).fetch({ signal }));
    expect(untrusted.code).toBe(HelmErrorCodes.Unreachable);

    const down = await startChartRepository();
    const url = down.url;
    await down.close();
    const unreachable = await failure<HelmSourceError>(
      new HelmChartSource({
        url,
        chart: 'app',
        version: '1.0.0',
        auth: { username: 'u', password: 'p4ss-word' },
      }).fetch({ signal }),
    );
    expect(unreachable.code).toBe(HelmErrorCodes.Unreachable);
    expect(unreachable.message).toContain(url);
    expect(unreachable.message).toContain('ECONNREFUSED');
    expect(JSON.stringify(unreachable)).not.toContain('p4ss-word');
  });
});
