import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ArtifactStore } from '@gitops-kit/core';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { stringify } from 'yaml';
import { HelmErrorCodes, HelmSourceError } from '../src/helm/errors.js';
import { HelmChartSource } from '../src/helm/helm-chart-source.js';
import type { OciChartSettings } from '../src/helm/oci-chart.js';
import { tarGz } from './support/flux-artifact.js';

// What HelmChartSource builds its OCI repository with, seen without contacting a registry.
const built = vi.hoisted(() => [] as { url: string; chart: string; settings: OciChartSettings }[]);

vi.mock('../src/helm/oci-chart.js', async (importOriginal) => {
  const original = await importOriginal<typeof import('../src/helm/oci-chart.js')>();
  class RecordingOciChartRepository extends original.OciChartRepository {
    constructor(...args: ConstructorParameters<typeof original.OciChartRepository>) {
      built.push({ url: args[0], chart: args[1], settings: args[2] });
      super(...args);
    }
  }
  return { ...original, OciChartRepository: RecordingOciChartRepository };
});

describe('HelmChartSource with credentials in an oci:// URL', () => {
  it('takes them as its credentials and gives the repository the URL without them', () => {
    built.length = 0;
    const source = new HelmChartSource({
      url: 'oci://robot:s3cr%2Ft@registry.test:5000/charts/app',
      version: '^1.0',
      cacheDir: '/nonexistent/helm-cache',
    });
    expect(built).toHaveLength(1);
    expect(built[0]?.url).toBe('oci://registry.test:5000/charts');
    expect(built[0]?.chart).toBe('app');
    expect(built[0]?.settings.credentials).toEqual({ username: 'robot', password: 's3cr/t' });
    expect(source.description).toBe('helm oci://registry.test:5000/charts/app app@^1.0');
  });

  it('an invalid reference with credentials does not quote them', () => {
    let error: unknown;
    try {
      // Upper case is no OCI repository path.
      new HelmChartSource({ url: 'oci://robot:s3cret-pw@registry.test/Charts', chart: 'app' });
    } catch (thrown) {
      error = thrown;
    }
    expect(error).toBeInstanceOf(HelmSourceError);
    expect((error as HelmSourceError).code).toBe(HelmErrorCodes.InvalidOption);
    const texts = [JSON.stringify(error), String((error as Error).stack)];
    for (let cause: unknown = error; cause instanceof Error; cause = cause.cause) texts.push(cause.message);
    for (const text of texts) expect(text).not.toContain('s3cret-pw');
    expect((error as Error).message).toContain('registry.test/Charts/app');
  });
});

describe('HelmChartSources sharing a cacheDir', () => {
  const signal = new AbortController().signal;
  let dir: string;
  let server: Server;
  let url: string;
  /** The archives the repository serves, by file name; the index lists them all. */
  const archives = new Map<string, { name: string; version: string; bytes: Buffer }>();
  const publish = (name: string, version: string, values: string): void => {
    const bytes = tarGz({
      [`${name}/Chart.yaml`]: `apiVersion: v2\nname: ${name}\nversion: ${version}\n`,
      [`${name}/values.yaml`]: values,
    });
    archives.set(`${name}-${version}.tgz`, { name, version, bytes });
  };

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'helm-shared-'));
    archives.clear();
    server = createServer((request, response) => {
      const file = (request.url ?? '').replace(/^\//, '');
      if (file === 'index.yaml') {
        const entries: Record<string, unknown[]> = {};
        for (const [path, a] of archives) {
          const digest = createHash('sha256').update(a.bytes).digest('hex');
          const list = entries[a.name] ?? [];
          list.push({ name: a.name, version: a.version, digest, urls: [path] });
          entries[a.name] = list;
        }
        response.end(stringify({ apiVersion: 'v1', entries }));
        return;
      }
      const archive = archives.get(file);
      response.statusCode = archive ? 200 : 404;
      response.end(archive?.bytes);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterEach(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await rm(dir, { recursive: true, force: true });
  });

  it("never delete each other's current chart, while each collects its own", async () => {
    publish('app', '1.0.0', 'track: one\n');
    publish('app', '2.0.0', 'track: two\n');
    const cacheDir = join(dir, 'cache');
    const one = new HelmChartSource({ url, chart: 'app', version: '~1.0', cacheDir, keepArtifacts: 1 });
    const two = new HelmChartSource({ url, chart: 'app', version: '2.0.0', cacheDir, keepArtifacts: 1 });
    const twoArtifact = await two.fetch({ signal });
    let previous = await one.fetch({ signal });
    for (const patch of [1, 2, 3]) {
      publish('app', `1.0.${patch}`, `track: one.${patch}\n`);
      const next = await one.fetch({ signal, previous });
      expect(await readFile(join(next.dir, 'values.yaml'), 'utf8')).toBe(`track: one.${patch}\n`);
      // The replaced chart of `one` is gone (the reconciler no longer reads it), `two`'s is not.
      await one.release(previous);
      await expect(readFile(join(previous.dir, 'values.yaml'))).rejects.toThrow();
      expect(await readFile(join(twoArtifact.dir, 'values.yaml'), 'utf8')).toBe('track: two\n');
      previous = next;
    }
    // `two` releasing an artifact of `one` leaves it alone.
    await two.release(previous);
    expect(await readFile(join(previous.dir, 'values.yaml'), 'utf8')).toBe('track: one.3\n');
  });

  it('collects a chart named as earlier versions named them (no owner)', async () => {
    publish('app', '1.0.0', 'track: one\n');
    const cacheDir = join(dir, 'cache');
    const store = new ArtifactStore({ root: cacheDir });
    const legacy = `app-1.0.0-${'a'.repeat(20)}`;
    await store.write([{ path: 'Chart.yaml', content: 'name: app\n' }], { name: legacy });
    const source = new HelmChartSource({ url, chart: 'app', version: '1.0.0', cacheDir, keepArtifacts: 1 });
    const artifact = await source.fetch({ signal });
    expect(artifact.dir.endsWith(legacy)).toBe(false);
    expect(await store.get(legacy)).toBeUndefined();
  });
});
