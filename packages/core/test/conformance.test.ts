import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type Artifact,
  ConformanceError,
  DirectorySource,
  type InventoryEntry,
  type KubeObject,
  type Manifest,
  type ObjectRef,
  type Plan,
  type PruneResult,
  RawRenderer,
  type TargetCallOptions,
} from '@gitops-kit/core';
import {
  assertConformance,
  describeConformance,
  rendererConformance,
  runConformance,
  type SourceFixture,
  sourceConformance,
  type TargetFixture,
  targetConformance,
} from '@gitops-kit/core/conformance';
import { FakeCluster, MemorySource, OWNER_LABEL } from '@gitops-kit/core/testing';
import { describe, expect, it } from 'vitest';

const manifest = (object: KubeObject, file: string): Manifest => ({
  object,
  origin: { file, documentIndex: 0, line: 1 },
});
const namespace = (name: string): KubeObject => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
const configMap = (ns: string, name: string, data: Record<string, string>): KubeObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace: ns },
  data,
});

/** A FakeCluster fixture: a namespace and two ConfigMaps. */
function fakeClusterFixture(cluster: FakeCluster = new FakeCluster({ owner: 'conformance' })): TargetFixture {
  const set = (color: string): Manifest[] => [
    manifest(namespace('shop'), 'ns.yaml'),
    manifest(configMap('shop', 'settings', { color }), 'settings.yaml'),
    manifest(configMap('shop', 'flags', { beta: 'off' }), 'flags.yaml'),
  ];
  return {
    target: cluster,
    manifests: set('blue'),
    changed: set('green'),
    observe: async () => cluster.list(),
    exists: async (ref) => cluster.get(ref) !== undefined,
    foreign: async () => {
      const object = cluster.add(configMap('shop', 'hand-made', { by: 'kubectl' }));
      return { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'shop', name: object.metadata.name };
    },
    invalid: [manifest(configMap('shop', 'Not_A_Valid_Name', {}), 'bad.yaml')],
  };
}

describeConformance({ describe, it }, targetConformance, async () => fakeClusterFixture(), {
  name: 'FakeCluster passes the Target kit',
});

describeConformance(
  { describe, it },
  sourceConformance,
  async (): Promise<SourceFixture & { cleanup: () => Promise<void> }> => {
    const source = new MemorySource({ files: { 'a.yaml': 'kind: A\n' } });
    return {
      source,
      change: async () => {
        source.setFiles({ 'a.yaml': 'kind: B\n' }).commit();
      },
      broken: new MemorySource(),
      cleanup: () => source.cleanup(),
    };
  },
  { name: 'MemorySource passes the Source kit' },
);

describeConformance(
  { describe, it },
  sourceConformance,
  async () => {
    const work = await mkdtemp(join(tmpdir(), 'conformance-dir-'));
    const folder = join(work, 'repo');
    await mkdir(join(folder, 'apps'), { recursive: true });
    await writeFile(join(folder, 'apps', 'a.yaml'), 'kind: A\n');
    const source = new DirectorySource({ path: folder });
    return {
      source,
      change: () => writeFile(join(folder, 'apps', 'a.yaml'), 'kind: B\n'),
      broken: new DirectorySource({ path: join(work, 'missing') }),
      cleanup: async () => {
        await source.dispose();
        await rm(work, { recursive: true, force: true });
      },
    };
  },
  { name: 'DirectorySource passes the Source kit' },
);

async function rawFixture(): Promise<{
  renderer: RawRenderer;
  artifact: Artifact;
  broken: Artifact;
  cleanup: () => Promise<void>;
}> {
  const dir = await mkdtemp(join(tmpdir(), 'conformance-raw-'));
  const good = join(dir, 'good');
  const bad = join(dir, 'bad');
  await mkdir(good);
  await mkdir(bad);
  await writeFile(
    join(good, 'app.yaml'),
    'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b\n',
  );
  await writeFile(join(bad, 'broken.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata: [unclosed\n');
  const artifact = (at: string): Artifact => ({
    revision: 'r',
    digest: 'sha256:0123456789abcdef',
    dir: at,
    meta: {},
  });
  return {
    renderer: new RawRenderer(),
    artifact: artifact(good),
    broken: artifact(bad),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

describeConformance({ describe, it }, rendererConformance, rawFixture, {
  name: 'RawRenderer passes the Renderer kit',
});

/** FakeClusters broken on purpose: each must fail its check, so the kit can fail. */
class WritingPlan extends FakeCluster {
  override async plan(...args: Parameters<FakeCluster['plan']>): Promise<Plan> {
    this.add(configMap('shop', `side-effect-${this.size}`, {}));
    return super.plan(...args);
  }
}
class PruneEverything extends FakeCluster {
  override async prune(
    _entries: readonly InventoryEntry[],
    options: TargetCallOptions,
  ): Promise<PruneResult> {
    const all = this.list().map((o) => ({
      ref: {
        apiVersion: o.apiVersion,
        kind: o.kind,
        namespace: o.metadata.namespace,
        name: o.metadata.name,
      } as ObjectRef,
      digest: '',
    }));
    return super.prune(all, options);
  }
}
class DeafToAbort extends FakeCluster {
  override async health(refs: readonly ObjectRef[]): ReturnType<FakeCluster['health']> {
    return super.health(refs, { signal: new AbortController().signal });
  }
}
class ForgetfulHealth extends FakeCluster {
  override async health(
    refs: readonly ObjectRef[],
    options: TargetCallOptions,
  ): ReturnType<FakeCluster['health']> {
    return super.health(
      refs.filter((r) => this.get(r) !== undefined),
      options,
    );
  }
}
class UntypedErrors extends FakeCluster {
  override async validate(): Promise<void> {
    throw new Error('no');
  }
}
class ListsEverything extends FakeCluster {
  override async listOwned(options: TargetCallOptions): Promise<readonly ObjectRef[]> {
    await super.listOwned(options);
    return this.list().map((o) => ({
      apiVersion: o.apiVersion,
      kind: o.kind,
      namespace: o.metadata.namespace,
      name: o.metadata.name,
    }));
  }
}
class IgnoresOwnership extends FakeCluster {
  override async prune(entries: readonly InventoryEntry[], options: TargetCallOptions): Promise<PruneResult> {
    for (const entry of entries)
      this.edit(entry.ref, (o) => {
        o.metadata.labels = { ...o.metadata.labels, [OWNER_LABEL]: this.owner };
      });
    return super.prune(entries, options);
  }
}

describe('the Target kit fails a target that breaks a contract', () => {
  const cases: [string, FakeCluster][] = [
    ['target/plan-is-pure', new WritingPlan({ owner: 'conformance' })],
    ['target/prune-deletes-only-what-it-is-given', new PruneEverything({ owner: 'conformance' })],
    ['target/aborted-signal-stops-work', new DeafToAbort({ owner: 'conformance' })],
    ['target/health-reports-every-ref-asked', new ForgetfulHealth({ owner: 'conformance' })],
    ['target/errors-are-typed', new UntypedErrors({ owner: 'conformance' })],
    ['target/list-owned-lists-what-apply-wrote', new ListsEverything({ owner: 'conformance' })],
    ['target/prune-deletes-only-what-it-owns', new IgnoresOwnership({ owner: 'conformance' })],
  ];
  it.each(cases)('%s fails', async (name, cluster) => {
    const clusters = [cluster];
    const report = await runConformance(
      targetConformance,
      async () => {
        // A fresh cluster of the same class for every check.
        const Broken = clusters[0]?.constructor as new (o: { owner: string }) => FakeCluster;
        return fakeClusterFixture(new Broken({ owner: 'conformance' }));
      },
      { only: [name] },
    );
    expect(report.results).toHaveLength(1);
    const [result] = report.results;
    expect(result?.status).toBe('failed');
    expect(result?.error).toBeInstanceOf(ConformanceError);
    expect((result?.error as ConformanceError | undefined)?.check).toBe(name);
    expect((result?.error as ConformanceError | undefined)?.code).toBe('CONFORMANCE_CHECK_FAILED');
    expect(() => assertConformance(report)).toThrow(name);
  });

  it('reports a check that does not apply as skipped, with its reason', async () => {
    const report = await runConformance(
      targetConformance,
      async () => ({ ...fakeClusterFixture(), foreign: undefined, invalid: undefined }),
      { only: ['prune-deletes-only-what-it-owns', 'errors-are-typed'] },
    );
    expect(report.results.map((r) => [r.check, r.status])).toEqual([
      ['target/prune-deletes-only-what-it-owns', 'skipped'],
      ['target/errors-are-typed', 'skipped'],
    ]);
    expect(report.passed).toBe(true);
  });
});

describe('the Source and Renderer kits fail parts that break a contract', () => {
  it('a source whose digest changes on every fetch fails same-content-same-digest', async () => {
    const inner = new MemorySource({ files: { 'a.yaml': 'kind: A\n' } });
    let n = 0;
    const source = {
      description: 'unstable',
      fetch: async (o: Parameters<MemorySource['fetch']>[0]) => ({
        ...(await inner.fetch(o)),
        digest: `sha256:${String(++n).padStart(16, '0')}`,
      }),
    };
    const report = await runConformance(sourceConformance, async () => ({ source }), {
      only: ['same-content-same-digest'],
    });
    await inner.cleanup();
    expect(report.results[0]?.status).toBe('failed');
    expect((report.results[0]?.error as ConformanceError | undefined)?.check).toBe(
      'source/same-content-same-digest',
    );
  });

  it('a source that rewrites the previous folder fails artifact-is-immutable', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'conformance-mutable-'));
    let content = 'kind: A\n';
    let revision = 1;
    const source = {
      description: 'mutable',
      fetch: async () => {
        await writeFile(join(dir, 'a.yaml'), content);
        return {
          revision: `r${revision}`,
          digest: `sha256:${String(revision).padStart(16, '0')}`,
          dir,
          meta: {},
        };
      },
    };
    const report = await runConformance(
      sourceConformance,
      async () => ({
        source,
        change: async () => {
          content = 'kind: B\n';
          revision++;
        },
      }),
      { only: ['artifact-is-immutable'] },
    );
    await rm(dir, { recursive: true, force: true });
    expect(report.results[0]?.status).toBe('failed');
  });

  it('a renderer that throws a plain Error fails errors-are-typed', async () => {
    const fixture = await rawFixture();
    const renderer = {
      name: 'plain',
      render: async () => {
        throw new Error('bad');
      },
    };
    const report = await runConformance(rendererConformance, async () => ({ ...fixture, renderer }), {
      only: ['errors-are-typed'],
    });
    await fixture.cleanup();
    expect(report.results[0]?.status).toBe('failed');
    expect((report.results[0]?.error as Error | undefined)?.message).toContain('renderer/errors-are-typed');
  });
});
