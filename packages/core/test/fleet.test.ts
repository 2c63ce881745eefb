import {
  type Artifact,
  type ClusterDefinition,
  Fleet,
  type FleetOptions,
  kubeconfigFolderGenerator,
  labelShard,
  listGenerator,
  Manager,
  MemoryPeers,
  MemoryStateStore,
  planWaves,
  RawRenderer,
  Reconciler,
  type RolloutStrategy,
} from '@gitops-kit/core';
import { FakeCluster, ManualClock, type MemorySource } from '@gitops-kit/core/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { cmRef, configMap, memorySource } from './support/reconciler-fixtures.js';

/** Polls a condition in real time (passes do real file I/O), failing after a few seconds. */
async function eventually(check: () => boolean, what: string, ms = 5_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

interface FleetRig {
  readonly clock: ManualClock;
  readonly source: MemorySource;
  readonly clusters: Map<string, FakeCluster>;
  readonly manager: Manager;
  readonly fleet: Fleet<FakeCluster>;
  /** The value of the app ConfigMap in a cluster. */
  valueIn(name: string): unknown;
}

const managers: Manager[] = [];
const fleets: Fleet<FakeCluster>[] = [];
afterEach(async () => {
  for (const fleet of fleets.splice(0)) fleet.stop();
  await Promise.all(managers.splice(0).map((m) => m.stop({ abort: true })));
});

function fleetRig(
  names: string[],
  options: {
    rollout?: RolloutStrategy;
    labels?: (name: string) => Record<string, string>;
    files?: Record<string, string>;
  } & Partial<Pick<FleetOptions<FakeCluster>, 'pruneOnRemove'>> = {},
  list?: () => ClusterDefinition<FakeCluster>[],
): FleetRig {
  const clock = new ManualClock();
  const source = memorySource(clock, options.files ?? { 'app.yaml': configMap('app', 'v1') });
  const clusters = new Map(names.map((n) => [n, new FakeCluster({ clock, name: n })]));
  const manager = new Manager({ concurrency: 8 });
  const definitions =
    list ??
    (() =>
      [...clusters].map(([name, cluster]) => ({
        name,
        labels: options.labels?.(name) ?? {},
        values: { variables: { CLUSTER_NAME: name } },
        connection: cluster,
      })));
  const fleet = new Fleet<FakeCluster>({
    manager,
    source,
    clock,
    generators: [listGenerator(definitions)],
    ...(options.rollout ? { rollout: options.rollout } : {}),
    ...(options.pruneOnRemove === undefined ? {} : { pruneOnRemove: options.pruneOnRemove }),
    factory: (cluster, context) => {
      const target = cluster.connection;
      const reconciler = new Reconciler({
        name: context.name,
        source: context.source,
        renderer: context.renderer(new RawRenderer()),
        target,
        clock,
        wait: true,
        healthTimeout: 5_000,
        healthPollInterval: 1_000,
        interval: 60 * 60_000,
        timeout: 60_000,
        random: () => 0.5,
        onListenerError: () => {},
      });
      return { reconciler, target };
    },
  });
  managers.push(manager);
  fleets.push(fleet);
  const valueIn = (name: string): unknown =>
    (clusters.get(name)?.get(cmRef('app')) as { data?: { key?: string } } | undefined)?.data?.key;
  return { clock, source, clusters, manager, fleet, valueIn };
}

const applied = (r: FleetRig, name: string): string | undefined =>
  r.fleet.reconciler(name)?.status.lastAppliedRevision;

describe('Fleet generators and members', () => {
  it('adds one reconciler per cluster, shares one fetch and one render, and substitutes per-cluster values', async () => {
    const r = fleetRig(['a', 'b', 'c'], {
      files: {
        'app.yaml': `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\n  namespace: default\ndata:\n  key: v1\n  cluster: \${CLUSTER_NAME}\n`,
      },
    });
    const sync = await r.fleet.start();
    expect(sync.added).toEqual(['a', 'b', 'c']);
    expect(r.manager.names()).toEqual(['a', 'b', 'c']);
    r.manager.start();
    await eventually(
      () => ['a', 'b', 'c'].every((n) => applied(r, n) !== undefined),
      'every cluster applied',
    );
    for (const name of ['a', 'b', 'c']) {
      const live = r.clusters.get(name)?.get(cmRef('app')) as unknown as { data: Record<string, string> };
      expect(live.data).toEqual({ key: 'v1', cluster: name });
    }
    expect(r.fleet.broker.upstreamFetches).toBe(1);
    expect(r.fleet.renderCache.misses).toBe(1);
    expect(r.fleet.renderCache.hits).toBe(2);
  });

  it('removes the reconciler of a cluster that left without pruning it, and prunes only when asked', async () => {
    for (const pruneOnRemove of [false, true]) {
      let names = ['a', 'b'];
      const clock = new ManualClock();
      const clusters = new Map(['a', 'b'].map((n) => [n, new FakeCluster({ clock, name: n })]));
      const r = fleetRig(['a', 'b'], { pruneOnRemove }, () =>
        names.map((name) => ({ name, connection: clusters.get(name)! })),
      );
      await r.fleet.start();
      r.manager.start();
      await eventually(() => names.every((n) => applied(r, n) !== undefined), 'applied');
      names = ['a'];
      const sync = await r.fleet.sync();
      expect(sync.removed).toEqual(['b']);
      expect(r.manager.names()).toEqual(['a']);
      expect(clusters.get('b')?.get(cmRef('app')) !== undefined).toBe(!pruneOnRemove);
      if (pruneOnRemove) expect(sync.pruned.b?.deleted).toHaveLength(1);
      else expect(sync.pruned).toEqual({});
      names = ['a', 'b'];
      expect((await r.fleet.sync()).added).toEqual(['b']);
    }
  });

  it('rebuilds a cluster whose values changed, and keeps every member when a generator fails', async () => {
    let value = 'one';
    let fail = false;
    const clock = new ManualClock();
    const cluster = new FakeCluster({ clock });
    const r = fleetRig([], {}, () => {
      if (fail) throw new Error('management cluster unreachable');
      return [{ name: 'a', values: { variables: { V: value } }, connection: cluster }];
    });
    await r.fleet.sync();
    value = 'two';
    expect(await r.fleet.sync()).toMatchObject({ replaced: ['a'], added: [], removed: [] });
    fail = true;
    await expect(r.fleet.sync()).rejects.toMatchObject({ code: 'FLEET_GENERATOR_FAILED' });
    expect(r.manager.names()).toEqual(['a']);
  });

  /** A fleet of plain reconcilers over the given clusters, limited by `owns`, synced once. */
  async function ownedFleet(
    clock: ManualClock,
    clusters: ClusterDefinition<FakeCluster>[],
    owns: NonNullable<FleetOptions<FakeCluster>['owns']>,
  ): Promise<Fleet<FakeCluster>> {
    const manager = new Manager();
    managers.push(manager);
    const fleet = new Fleet<FakeCluster>({
      manager,
      source: memorySource(clock, { 'app.yaml': configMap('app') }),
      generators: [listGenerator(clusters)],
      owns,
      factory: (c, ctx) => ({
        reconciler: new Reconciler({
          name: ctx.name,
          source: ctx.source,
          renderer: new RawRenderer(),
          target: c.connection,
          clock,
        }),
        target: c.connection,
      }),
    });
    await fleet.sync();
    return fleet;
  }

  it('runs only the clusters this replica owns, and lists the others as owned elsewhere', async () => {
    const clock = new ManualClock();
    const clusters = ['a', 'b', 'c'].map((name) => ({ name, connection: new FakeCluster({ clock }) }));
    const fleet = await ownedFleet(clock, clusters, (name) => name !== 'b');
    expect(fleet.clusters()).toEqual(['a', 'c']);
    const behind = fleet.notAt('main@sha1:x');
    expect(behind.find((b) => b.cluster === 'b')?.reason).toBe('NotOwned');
    expect(behind.find((b) => b.cluster === 'a')?.reason).toBe('NotReconciled');
  });

  it('shards by a fixed label the way Flux does', async () => {
    const clock = new ManualClock();
    const labelled = (name: string, shard?: string): ClusterDefinition<FakeCluster> => ({
      name,
      labels: shard ? { 'sharding.fluxcd.io/key': shard } : {},
      connection: new FakeCluster({ clock }),
    });
    const clusters = [labelled('a', 'shard1'), labelled('b', 'shard2'), labelled('c')];
    expect((await ownedFleet(clock, clusters, labelShard('shard1'))).clusters()).toEqual(['a']);
    expect(
      (await ownedFleet(clock, clusters, labelShard('shard2', { unlabelled: true }))).clusters(),
    ).toEqual(['b', 'c']);
  });

  it('reads a folder of kubeconfigs through an injected fs, with labels and values beside them', async () => {
    const files: Record<string, string> = {
      '/fleet/eu-1.kubeconfig': 'apiVersion: v1\nkind: Config\n',
      '/fleet/eu-1.values.yaml':
        'labels: { region: eu }\nvariables: { REPLICAS: "3" }\nhelmValues: { replicas: 3 }\n',
      '/fleet/us-1.kubeconfig': 'apiVersion: v1\nkind: Config\n',
      '/fleet/notes.txt': 'ignored',
    };
    const fs = {
      readdir: async (dir: string) =>
        Object.keys(files)
          .filter((p) => p.startsWith(`${dir}/`))
          .map((p) => p.slice(dir.length + 1)),
      readFile: async (path: string) => {
        const text = files[path];
        if (text === undefined) throw Object.assign(new Error('no'), { code: 'ENOENT' });
        return text;
      },
    };
    const generator = kubeconfigFolderGenerator({ dir: '/fleet', fs });
    const clusters = await generator.list(new AbortController().signal);
    expect(clusters.map((c) => c.name)).toEqual(['eu-1', 'us-1']);
    expect(clusters[0]).toMatchObject({
      labels: { region: 'eu' },
      values: { variables: { CLUSTER_NAME: 'eu-1', REPLICAS: '3' }, helmValues: { replicas: 3 } },
      connection: { path: '/fleet/eu-1.kubeconfig' },
    });
    const eu = kubeconfigFolderGenerator({ dir: '/fleet', fs, selector: { matchLabels: { region: 'eu' } } });
    expect((await eu.list(new AbortController().signal)).map((c) => c.name)).toEqual(['eu-1']);
    files['/fleet/us-1.values.yaml'] = 'labels: [oops';
    await expect(generator.list(new AbortController().signal)).rejects.toMatchObject({
      code: 'FLEET_INVALID_CLUSTER',
      message: expect.stringContaining('/fleet/us-1.values.yaml'),
    });
    const missing = kubeconfigFolderGenerator({
      dir: '/nowhere',
      fs: { ...fs, readdir: async () => [await fs.readFile('/x')] },
    });
    await expect(missing.list(new AbortController().signal)).rejects.toMatchObject({
      code: 'FLEET_GENERATOR_FAILED',
    });
  });
});

describe('planWaves', () => {
  it('slices clusters by maxUnavailable (rounded down, at least one) and by explicit groups', () => {
    const ten = Array.from({ length: 10 }, (_, i) => ({
      name: `c${i}`,
      labels: { tier: i < 2 ? 'canary' : 'rest' },
    }));
    expect(planWaves(ten, { maxUnavailable: '25%' }).map((w) => w.clusters.length)).toEqual([2, 2, 2, 2, 2]);
    expect(planWaves(ten.slice(0, 3), { maxUnavailable: '10%' }).map((w) => w.clusters.length)).toEqual([
      1, 1, 1,
    ]);
    expect(planWaves(ten, { maxUnavailable: 4 }).map((w) => w.clusters.length)).toEqual([4, 4, 2]);
    const groups = planWaves(ten, {
      waves: [{ name: 'canary', selector: { matchLabels: { tier: 'canary' } } }, { clusters: ['c5'] }],
    });
    expect(groups.map((w) => [w.name, w.clusters.length])).toEqual([
      ['canary', 2],
      ['wave-2', 1],
      ['unmatched', 7],
    ]);
  });
});

describe('Fleet progressive rollout', () => {
  const waves: RolloutStrategy = {
    waves: [
      { name: 'canary', clusters: ['c1'] },
      { name: 'early', clusters: ['c2', 'c3'] },
      { name: 'rest', clusters: ['c4', 'c5', 'c6'] },
    ],
    bakeTime: 60_000,
  };
  const names = ['c1', 'c2', 'c3', 'c4', 'c5', 'c6'];

  async function baseline(r: FleetRig): Promise<string> {
    await r.fleet.start();
    r.manager.start();
    const first = r.source.head!.revision;
    await eventually(() => names.every((n) => applied(r, n) === first), 'the baseline everywhere');
    return first;
  }

  it('goes out wave by wave; a wave failing health rolls back and later waves never start', async () => {
    const r = fleetRig(names, { rollout: waves });
    const r1 = await baseline(r);
    expect(r.fleet.status().rollout?.stableRevision).toBe(r1);

    r.source.setFile('app.yaml', configMap('app', 'v2'));
    const r2 = r.source.commit({ message: 'v2' });
    // c3 cannot run v2: its health fails.
    r.clusters.get('c3')?.setHealth((o) => (o.data as { key?: string } | undefined)?.key === 'v2', 'Failed');
    r.fleet.refresh();
    await eventually(() => r.fleet.status().rollout?.waves[0]?.phase === 'Baking', 'the canary baking');
    expect(applied(r, 'c1')).toBe(r2);
    expect(names.slice(1).map((n) => r.valueIn(n))).toEqual(['v1', 'v1', 'v1', 'v1', 'v1']);

    // The canary bakes for a minute, is confirmed by a fresh pass, then wave 2 starts and fails.
    await r.clock.advance(60_000);
    await eventually(() => r.fleet.status().rollout?.phase === 'Failed', 'wave 2 failing');
    const status = r.fleet.status().rollout!;
    expect(status.waves.map((w) => w.phase)).toEqual(['Succeeded', 'Failed', 'Pending']);
    expect(status.waves[1]?.failures.map((f) => f.cluster)).toEqual(['c3']);
    await eventually(() => applied(r, 'c2') === r1 && applied(r, 'c3') === r1, 'wave 2 rolled back');
    expect(['c2', 'c3'].map((n) => r.valueIn(n))).toEqual(['v1', 'v1']);
    // Wave 3 never saw v2: one write each, the baseline's.
    for (const n of ['c4', 'c5', 'c6']) {
      expect(r.valueIn(n)).toBe('v1');
      expect(r.clusters.get(n)?.operations.filter((o) => o.op === 'apply')).toHaveLength(1);
    }
    // Time passing changes nothing: the rollout stays halted on the failure.
    await r.clock.advance(10 * 60_000);
    expect(r.fleet.status().rollout?.waves[2]?.phase).toBe('Pending');

    const behind = r.fleet.notAt(r2);
    expect(Object.fromEntries(behind.map((b) => [b.cluster, b.reason]))).toEqual({
      c2: 'RolledBack',
      c3: 'RolledBack',
      c4: 'HeldByRollout',
      c5: 'HeldByRollout',
      c6: 'HeldByRollout',
    });
    expect(behind.find((b) => b.cluster === 'c4')?.message).toMatch(/wave rest is Pending/);

    // Fixed: resume retries wave 2, promote skips the bakes, and the revision reaches everyone.
    r.clusters.get('c3')?.clearHealth();
    r.fleet.resume();
    await eventually(() => r.fleet.status().rollout?.waves[1]?.phase === 'Baking', 'wave 2 baking');
    r.fleet.promote();
    await eventually(() => r.fleet.status().rollout?.waves[2]?.phase === 'Baking', 'wave 3 baking');
    r.fleet.promote();
    await eventually(() => r.fleet.status().rollout?.phase === 'Completed', 'completed');
    expect(r.fleet.status().rollout?.stableRevision).toBe(r2);
    expect(names.map((n) => r.valueIn(n))).toEqual(names.map(() => 'v2'));
    expect(r.fleet.notAt(r2)).toEqual([]);
  });

  it('fails a wave that stops being healthy during its bake, and halts and resumes by hand', async () => {
    const r = fleetRig(names, { rollout: { maxUnavailable: '50%', bakeTime: 60_000 } });
    const r1 = await baseline(r);
    r.source.setFile('app.yaml', configMap('app', 'v2'));
    const r2 = r.source.commit();
    r.fleet.refresh();
    await eventually(() => r.fleet.status().rollout?.waves[0]?.phase === 'Baking', 'wave 1 baking');
    expect(r.fleet.status().rollout?.waves.map((w) => w.clusters)).toEqual([
      ['c1', 'c2', 'c3'],
      ['c4', 'c5', 'c6'],
    ]);
    r.fleet.halt();
    await r.clock.advance(120_000);
    expect(r.fleet.status().rollout?.phase).toBe('Halted');
    expect(applied(r, 'c4')).toBe(r1);

    // During the (resumed) bake, c2 breaks: the confirming pass fails and wave 1 rolls back.
    r.clusters.get('c2')?.setHealth('ConfigMap', 'Failed');
    r.fleet.resume();
    await eventually(() => r.fleet.status().rollout?.phase === 'Failed', 'wave 1 failing in its bake');
    expect(r.fleet.status().rollout?.waves[0]?.failures.map((f) => f.cluster)).toEqual(['c2']);
    await eventually(() => ['c1', 'c3'].every((n) => applied(r, n) === r1), 'wave 1 rolled back');
    expect(applied(r, 'c4')).toBe(r1);
    expect(r.fleet.notAt(r2).map((b) => b.cluster)).toEqual(names);
  });

  it('after a restart takes what the clusters run as the baseline, so a revision that came meanwhile still goes in waves', async () => {
    const clock = new ManualClock();
    const source = memorySource(clock, { 'app.yaml': configMap('app', 'v1') });
    const clusters = new Map(names.map((n) => [n, new FakeCluster({ clock, name: n })]));
    const stores = new Map(names.map((n) => [n, new MemoryStateStore()]));
    const artifacts = new Map<string, Artifact>();
    const start = async (withFetch: boolean): Promise<{ fleet: Fleet<FakeCluster>; manager: Manager }> => {
      const manager = new Manager({ concurrency: 8 });
      managers.push(manager);
      const fleet = new Fleet<FakeCluster>({
        manager,
        source,
        clock,
        rollout: waves,
        generators: [listGenerator(names.map((name) => ({ name, connection: clusters.get(name)! })))],
        ...(withFetch ? { fetchRevision: async (revision: string) => artifacts.get(revision)! } : {}),
        factory: (cluster, context) => {
          const reconciler = new Reconciler({
            name: context.name,
            source: context.source,
            renderer: context.renderer(new RawRenderer()),
            target: cluster.connection,
            stateStore: stores.get(cluster.name)!,
            clock,
            wait: true,
            interval: 60 * 60_000,
            retryInterval: 60 * 60_000,
            onListenerError: () => {},
          });
          reconciler.on('fetched', (e) => artifacts.set(e.revision, e.artifact));
          return { reconciler, target: cluster.connection };
        },
      });
      fleets.push(fleet);
      await fleet.start();
      manager.start();
      return { fleet, manager };
    };
    const first = await start(false);
    const r1 = source.head!.revision;
    await eventually(
      () => names.every((n) => first.fleet.reconciler(n)?.status.lastAppliedRevision === r1),
      'r1',
    );
    first.fleet.stop();
    await first.manager.stop();

    // While no process runs, v2 is committed; the restarted fleet must not send it everywhere.
    source.setFile('app.yaml', configMap('app', 'v2'));
    const r2 = source.commit();
    const second = await start(true);
    await eventually(() => second.fleet.status().rollout?.waves[0]?.phase === 'Baking', 'the canary baking');
    expect(second.fleet.status().rollout?.stableRevision).toBe(r1);
    expect(second.fleet.reconciler('c1')?.status.lastAppliedRevision).toBe(r2);
    const value = (n: string): unknown =>
      (clusters.get(n)?.get(cmRef('app')) as { data?: { key?: string } } | undefined)?.data?.key;
    expect(names.slice(1).map(value)).toEqual(['v1', 'v1', 'v1', 'v1', 'v1']);
    // The held clusters were served r1 again (fetched by revision): nothing failed, nothing rewritten.
    await eventually(
      () => names.slice(1).every((n) => second.fleet.reconciler(n)?.status.lastAppliedRevision === r1),
      'held clusters reconciled at r1',
    );
    expect(second.fleet.notAt(r2).map((b) => b.reason)).toEqual(names.slice(1).map(() => 'HeldByRollout'));
  });

  it('spans waves over replicas that share observations, so a failure in another replica’s wave stops mine', async () => {
    const clock = new ManualClock();
    const source = memorySource(clock, { 'app.yaml': configMap('app', 'v1') });
    const four = ['c1', 'c2', 'c3', 'c4'];
    const clusters = new Map(four.map((n) => [n, new FakeCluster({ clock, name: n })]));
    const peers = new MemoryPeers(clock);
    const ownedBy: Record<string, string> = { c1: 'A', c2: 'B', c3: 'A', c4: 'B' };
    const replica = async (id: string): Promise<Fleet<FakeCluster>> => {
      const manager = new Manager({ concurrency: 4 });
      managers.push(manager);
      const fleet = new Fleet<FakeCluster>({
        manager,
        source,
        clock,
        peers,
        owns: (name) => ownedBy[name] === id,
        rollout: { waves: [{ clusters: ['c1'] }, { clusters: ['c2'] }, { clusters: ['c3', 'c4'] }] },
        generators: [listGenerator(four.map((name) => ({ name, connection: clusters.get(name)! })))],
        factory: (cluster, context) => ({
          reconciler: new Reconciler({
            name: context.name,
            source: context.source,
            renderer: context.renderer(new RawRenderer()),
            target: cluster.connection,
            clock,
            wait: true,
            interval: 60 * 60_000,
            retryInterval: 60 * 60_000,
            onListenerError: () => {},
          }),
          target: cluster.connection,
        }),
      });
      fleets.push(fleet);
      await fleet.start();
      manager.start();
      return fleet;
    };
    const [a, b] = [await replica('A'), await replica('B')];
    const both = (check: () => boolean) => (): boolean => {
      a.observePeers();
      b.observePeers();
      return check();
    };
    const value = (n: string): unknown =>
      (clusters.get(n)?.get(cmRef('app')) as { data?: { key?: string } } | undefined)?.data?.key;
    await eventually(
      both(() => four.every((n) => value(n) === 'v1')),
      'the baseline',
    );
    expect(a.clusters()).toEqual(['c1', 'c3']);
    expect(b.clusters()).toEqual(['c2', 'c4']);

    source.setFile('app.yaml', configMap('app', 'v2'));
    source.commit();
    clusters.get('c2')?.setHealth((o) => (o.data as { key?: string } | undefined)?.key === 'v2', 'Failed');
    a.refresh();
    b.refresh();
    // c1 is A's; B waits for A's word on it before B's own c2 gets v2; c2 fails, and neither
    // replica starts wave 3, though each owns half of it.
    await eventually(
      both(() => a.status().rollout?.phase === 'Failed' && b.status().rollout?.phase === 'Failed'),
      'both replicas seeing wave 2 fail',
    ).catch((e) => {
      console.log(
        JSON.stringify({ a: a.status(), b: b.status(), peers: [...peers.observations()] }, null, 1),
      );
      throw e;
    });
    for (const fleet of [a, b]) {
      expect(fleet.status().rollout?.waves.map((w) => w.phase)).toEqual(['Succeeded', 'Failed', 'Pending']);
    }
    await eventually(
      both(() => value('c2') === 'v1'),
      'c2 rolled back by its owner',
    );
    expect(four.map(value)).toEqual(['v2', 'v1', 'v1', 'v1']);
    for (const n of ['c3', 'c4'])
      expect(clusters.get(n)?.operations.filter((o) => o.op === 'apply')).toHaveLength(1);
  });
});
