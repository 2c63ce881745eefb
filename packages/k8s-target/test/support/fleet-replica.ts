/**
 * One replica of a sharded fleet, run as a child process by fleet.int.test.ts: a folder of
 * kubeconfigs as the generator, a folder as the source, a KubernetesTarget per cluster, Leases on
 * the management cluster. It prints one JSON line per event: `owned` (the clusters it runs),
 * `applied` (cluster, revision, writes), `error`.
 */
import {
  DirectorySource,
  Fleet,
  kubeconfigFolderGenerator,
  Manager,
  RawRenderer,
  Reconciler,
} from '@gitops-kit/core';
import { KubeClient, KubernetesTarget, kubeShardLeaseStore, ShardCoordinator } from '@gitops-kit/k8s-target';
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
let coordinator: ShardCoordinator | undefined;
const fleet = new Fleet({
  manager,
  source,
  sourceMaxAge: 500,
  syncInterval: 60_000,
  generators: [kubeconfigFolderGenerator({ dir: config.clustersDir })],
  owns: (cluster) => coordinator?.owns(cluster) ?? false,
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
      onListenerError: () => {},
    });
    reconciler.on('applied', (e) =>
      say({ t: 'applied', cluster: cluster.name, revision: e.revision, writes: e.writes }),
    );
    reconciler.on('failed', (e) => say({ t: 'failed', cluster: cluster.name, message: e.error.message }));
    return { reconciler, target };
  },
});

coordinator = new ShardCoordinator({
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
  onError: (error) => say({ t: 'error', message: String((error as Error).message) }),
});

const stop = new AbortController();
process.on('SIGTERM', () => stop.abort());
await fleet.sync();
manager.start();
say({ t: 'started' });
await coordinator.run(stop.signal);
await manager.stop();
process.exit(0);
