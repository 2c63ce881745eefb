/**
 * One replica of a sharded fleet, run as a child process by fleet.int.test.ts: a folder of
 * kubeconfigs as the generator, a folder as the source, a KubernetesTarget per cluster, Leases on
 * the management cluster. It prints one JSON line per event: `owned` (the clusters it runs),
 * `applied` (cluster, revision, writes), `waves` (the rollout's wave phases), `error`. New
 * revisions go out in waves of two clusters across the three replicas (shared through the Leases).
 */
import {
  DirectorySource,
  Fleet,
  kubeconfigFolderGenerator,
  Manager,
  RawRenderer,
  Reconciler,
} from '@gitops-kit/core';
import {
  KubeClient,
  KubernetesTarget,
  kubeShardLeaseStore,
  leasePeers,
  ShardCoordinator,
} from '@gitops-kit/k8s-target';
import { KubeConfig } from '@kubernetes/client-node';

interface ReplicaConfig {
  readonly identity: string;
  readonly managementKubeconfig: string;
  readonly clustersDir: string;
  readonly sourceDir: string;
  readonly leaseNamespace: string;
  readonly leaseDurationMs: number;
}

const config = JSON.parse(process.env.FLEET_REPLICA ?? '{}') as ReplicaConfig;
const say = (event: Record<string, unknown>): void => {
  process.stdout.write(`${JSON.stringify({ replica: config.identity, at: Date.now(), ...event })}\n`);
};

const management = new KubeConfig();
management.loadFromFile(config.managementKubeconfig);
const manager = new Manager({ concurrency: 4 });
const source = new DirectorySource({ path: config.sourceDir, keepArtifacts: 4 });
// The coordinator's callbacks use the fleet; they run only once `run` starts, after it exists.
const coordinator: ShardCoordinator = new ShardCoordinator({
  store: kubeShardLeaseStore(KubeClient.fromKubeConfig(management)),
  namespace: config.leaseNamespace,
  group: 'fleet-demo',
  identity: config.identity,
  keys: () => fleet.knownClusters(),
  leaseDurationMs: config.leaseDurationMs,
  renewPeriodMs: Math.floor(config.leaseDurationMs / 4),
  onChange: async (owned, { lost }) => {
    // A lost Lease may be someone else's soon: abort those passes instead of letting them finish.
    await Promise.all(lost.map((cluster) => fleet.reconciler(cluster)?.stop({ abort: true })));
    await fleet.sync();
    say({ t: 'owned', clusters: [...owned].sort() });
  },
  onRound: () => {
    fleet.observePeers();
    const waves = fleet
      .status()
      .rollout?.waves.map((w) => w.phase)
      .join(',');
    if (waves !== lastWaves) say({ t: 'waves', waves });
    lastWaves = waves;
  },
  onError: (error) => say({ t: 'error', message: String((error as Error).message) }),
});
let lastWaves: string | undefined;
const fleet = new Fleet({
  manager,
  source,
  sourceMaxAge: 500,
  syncInterval: 60_000,
  generators: [kubeconfigFolderGenerator({ dir: config.clustersDir })],
  owns: (cluster) => coordinator.owns(cluster),
  // Waves of two clusters over all five, whoever owns them; each replica pins only its own.
  rollout: { maxUnavailable: 2, bakeTime: 500 },
  peers: leasePeers(coordinator),
  onError: (error) => say({ t: 'error', message: String((error as Error).message) }),
  factory: (cluster, context) => {
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromString(cluster.connection.kubeconfig);
    const target = new KubernetesTarget({ name: 'fleet-demo', kubeConfig });
    const reconciler = new Reconciler({
      name: context.name,
      source: context.source,
      renderer: context.renderer(new RawRenderer()),
      target,
      stateStore: target.stateStore({ namespace: 'default' }),
      interval: 1_000,
      jitter: 0,
      retryInterval: 1_000,
      wait: true,
      healthPollInterval: 200,
      healthTimeout: 10_000,
      onListenerError: () => {},
    });
    reconciler.on('applied', (e) =>
      say({ t: 'applied', cluster: cluster.name, revision: e.revision, writes: e.writes }),
    );
    reconciler.on('failed', (e) => say({ t: 'failed', cluster: cluster.name, message: e.error.message }));
    return { reconciler, target };
  },
});

const stop = new AbortController();
process.on('SIGTERM', () => stop.abort());
await fleet.sync();
manager.start();
say({ t: 'started' });
await coordinator.run(stop.signal);
await manager.stop();
process.exit(0);
