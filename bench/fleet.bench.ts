/**
 * `pnpm bench:fleet`: the cost of running a fleet.
 *
 *   (a) 200 clusters of FakeCluster in one process (the orchestration cost alone): time for a new
 *       revision to reach every cluster, all at once and in waves of 25 %; CPU time per cluster per
 *       interval at rest; upstream fetches and renders per revision (shared by all 200);
 *   (b) 5 real kube-apiservers (from @gitops-kit/testenv): first sync, a new revision everywhere,
 *       CPU per cluster per interval at rest;
 *   (c) shard movement when replicas change (consistent hashing with bounded loads), against the
 *       CNOE study's figures for Argo CD (10 → 9 replicas, 100 clusters: 75 greedy, 48 ring, 15 bounded).
 *
 * Peak RSS is the process's. The last line is one JSON object.
 */
import {
  assignShards,
  countMoved,
  Fleet,
  listGenerator,
  Manager,
  RawRenderer,
  Reconciler,
  type RolloutStrategy,
  type Target,
} from '@gitops-kit/core';
import { FakeCluster, MemorySource } from '@gitops-kit/core/testing';
import { KubernetesTarget } from '@gitops-kit/k8s-target';
import { startTestenv, type Testenv } from '@gitops-kit/testenv';

const configMap = (value: string): string =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: fleet-bench\n  namespace: default\ndata:\n  key: ${value}\n  cluster: \${CLUSTER_NAME}\n`;

const seconds = (ms: number): number => Math.round(ms) / 1000;
const peakRssMiB = (): number => Math.round(process.resourceUsage().maxRSS / 1024);

async function until(check: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

interface Run {
  readonly fleet: Fleet<Target>;
  readonly manager: Manager;
  readonly source: MemorySource;
  readonly names: string[];
  at(revision: string): boolean;
}

function fleetOf(targets: Map<string, Target>, interval: number, rollout?: RolloutStrategy): Run {
  const source = new MemorySource({ files: { 'app.yaml': configMap('v1') } });
  const manager = new Manager({ concurrency: 16 });
  const names = [...targets.keys()];
  const fleet = new Fleet<Target>({
    manager,
    source,
    sourceMaxAge: 250,
    ...(rollout ? { rollout } : {}),
    generators: [
      listGenerator(
        names.map((name) => ({
          name,
          values: { variables: { CLUSTER_NAME: name } },
          connection: targets.get(name)!,
        })),
      ),
    ],
    factory: (cluster, context) => {
      const target = cluster.connection;
      const reconciler = new Reconciler({
        name: context.name,
        source: context.source,
        renderer: context.renderer(new RawRenderer()),
        target,
        ...(target instanceof KubernetesTarget
          ? { stateStore: target.stateStore({ namespace: 'default' }) }
          : {}),
        wait: true,
        healthPollInterval: 200,
        healthTimeout: 20_000,
        interval,
        jitter: 0.1,
        onListenerError: () => {},
      });
      return { reconciler, target };
    },
  });
  const at = (revision: string): boolean =>
    names.every((n) => fleet.reconciler(n)?.status.lastAppliedRevision === revision);
  return { fleet, manager, source, names, at };
}

/** Time until every cluster applied the revision just committed. */
async function newRevision(
  run: Run,
  value: string,
): Promise<{ ms: number; fetches: number; renders: number }> {
  const fetches = run.fleet.broker.upstreamFetches;
  const renders = run.fleet.renderCache.misses;
  run.source.setFile('app.yaml', configMap(value));
  const revision = run.source.commit();
  const started = performance.now();
  run.fleet.refresh();
  await until(() => run.at(revision), 300_000, `${revision} everywhere`);
  return {
    ms: performance.now() - started,
    fetches: run.fleet.broker.upstreamFetches - fetches,
    renders: run.fleet.renderCache.misses - renders,
  };
}

/** CPU (user + system) per cluster per interval over a window at rest. */
async function cpuAtRest(run: Run, interval: number, windowMs: number): Promise<number> {
  const before = process.cpuUsage();
  await new Promise((resolve) => setTimeout(resolve, windowMs));
  const used = process.cpuUsage(before);
  const intervals = windowMs / interval;
  return Math.round(((used.user + used.system) / 1000 / run.names.length / intervals) * 1000) / 1000;
}

async function fakeFleet(count: number): Promise<Record<string, number>> {
  const interval = 2_000;
  const targets = new Map<string, Target>(
    Array.from({ length: count }, (_, i) => {
      const name = `cluster-${String(i).padStart(3, '0')}`;
      return [name, new FakeCluster({ name })];
    }),
  );
  const out: Record<string, number> = {};
  for (const mode of ['all', 'waves'] as const) {
    const run = fleetOf(targets, interval, mode === 'waves' ? { maxUnavailable: '25%' } : undefined);
    const started = performance.now();
    await run.fleet.start();
    run.manager.start();
    await until(() => run.at(run.source.head!.revision), 120_000, 'the first sync');
    const first = performance.now() - started;
    const change = await newRevision(run, `${mode}-2`);
    console.log(
      `${count} FakeClusters (${mode === 'all' ? 'all at once' : 'waves of 25 %'}): first sync ${seconds(first)} s, ` +
        `new revision everywhere ${seconds(change.ms)} s (${change.fetches} upstream fetch, ${change.renders} render)`,
    );
    if (mode === 'all') {
      out.fakeFirstSyncS = seconds(first);
      out.fakeRevisionAllS = seconds(change.ms);
      out.fakeUpstreamFetchesPerRevision = change.fetches;
      out.fakeRendersPerRevision = change.renders;
      const cpu = await cpuAtRest(run, interval, 10_000);
      console.log(
        `${count} FakeClusters at rest: ${cpu} ms CPU per cluster per ${interval / 1000} s interval`,
      );
      out.fakeCpuMsPerClusterInterval = cpu;
    } else {
      out.fakeRevisionWavesS = seconds(change.ms);
    }
    run.fleet.stop();
    await run.manager.stop({ abort: true });
    await run.source.cleanup();
  }
  out.fakePeakRssMiB = peakRssMiB();
  console.log(`peak RSS after ${count} FakeClusters: ${out.fakePeakRssMiB} MiB`);
  return out;
}

async function realFleet(count: number): Promise<Record<string, number>> {
  const interval = 2_000;
  const startedEnvs = performance.now();
  const envs: Testenv[] = await Promise.all(
    Array.from({ length: count }, () =>
      startTestenv({ kube: { bare: true }, s3: false, git: false, tools: false }),
    ),
  );
  console.log(`${count} apiservers started in ${seconds(performance.now() - startedEnvs)} s`);
  try {
    const targets = new Map<string, Target>(
      envs.map((env, i) => [
        `api-${i + 1}`,
        new KubernetesTarget({ name: 'fleet-bench', kubeConfig: env.kube!.kubeConfig() }),
      ]),
    );
    const run = fleetOf(targets, interval);
    const started = performance.now();
    await run.fleet.start();
    run.manager.start();
    await until(() => run.at(run.source.head!.revision), 120_000, 'the first sync');
    const first = performance.now() - started;
    const change = await newRevision(run, 'real-2');
    const cpu = await cpuAtRest(run, interval, 10_000);
    console.log(
      `${count} real apiservers: first sync ${seconds(first)} s, new revision everywhere ${seconds(change.ms)} s, ` +
        `at rest ${cpu} ms CPU per cluster per ${interval / 1000} s interval`,
    );
    run.fleet.stop();
    await run.manager.stop({ abort: true });
    await run.source.cleanup();
    return {
      realFirstSyncS: seconds(first),
      realRevisionAllS: seconds(change.ms),
      realCpuMsPerClusterInterval: cpu,
    };
  } finally {
    await Promise.allSettled(envs.map((env) => env.stop()));
  }
}

function shardMovement(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const keys of [100, 1_000]) {
    const names = Array.from({ length: keys }, (_, i) => `cluster-${i}`);
    const replicas = Array.from({ length: 10 }, (_, i) => `replica-${i}`);
    const ten = assignShards(names, replicas);
    const nine = assignShards(names, replicas.slice(0, 9));
    const eleven = assignShards(names, [...replicas, 'replica-10']);
    const down = countMoved(ten, nine);
    const up = countMoved(ten, eleven);
    console.log(
      `shards, ${keys} clusters: 10 → 9 replicas moves ${down} (${((100 * down) / keys).toFixed(1)} %), ` +
        `10 → 11 moves ${up} (${((100 * up) / keys).toFixed(1)} %)`,
    );
    out[`moved10to9Of${keys}`] = down;
    out[`moved10to11Of${keys}`] = up;
  }
  return out;
}

async function main(): Promise<void> {
  const shards = shardMovement();
  const fake = await fakeFleet(200);
  const real = await realFleet(5);
  const result = { clusters: 200, apiservers: 5, ...fake, ...real, ...shards, peakRssMiB: peakRssMiB() };
  console.log(JSON.stringify(result));
}

await main();
process.exit(0);
