import {
  type Clock,
  DirectorySource,
  Fleet,
  type FolderFs,
  type KubeconfigConnection,
  kubeconfigFolderGenerator,
  Manager,
  RawRenderer,
  Reconciler,
  type RolloutStrategy,
  type Source,
  type StateStore,
  type Target,
} from '@gitops-kit/core';
import { KubernetesTarget } from '@gitops-kit/k8s-target';
import { KubeConfig } from '@kubernetes/client-node';

/** Options of {@link fleetFromFolder}. */
export interface FolderFleetOptions {
  /** The folder of `<cluster>.kubeconfig` (and `<cluster>.values.yaml`) files. */
  readonly clustersDir: string;
  /** The folder of manifests every cluster gets (or pass `source`). */
  readonly sourceDir?: string;
  /** Any source instead of a folder (a Git repository, a bucket). */
  readonly source?: Source;
  /** Waves for a new revision; without it every cluster follows the newest revision. */
  readonly rollout?: RolloutStrategy;
  /** Owner name written on the objects (default `fleet-demo`). */
  readonly owner?: string;
  /** Time between passes per cluster (default 1 minute). */
  readonly interval?: number;
  /** How a cluster is reached (default: a KubernetesTarget from its kubeconfig). Tests pass their own. */
  readonly targetFor?: (cluster: string, kubeconfig: string) => { target: Target; stateStore?: StateStore };
  /** The file system the folder is read with (default node:fs). */
  readonly fs?: FolderFs;
  readonly clock?: Clock;
}

/** What {@link fleetFromFolder} builds: start the manager and the fleet, stop them the same way. */
export interface FolderFleet {
  readonly fleet: Fleet<KubeconfigConnection>;
  readonly manager: Manager;
  readonly source: Source;
}

/** The default target: the kubeconfig's current context, state kept in a ConfigMap in `default`. */
function kubernetesTargetFor(owner: string, kubeconfig: string): { target: Target; stateStore: StateStore } {
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromString(kubeconfig);
  const target = new KubernetesTarget({ name: owner, kubeConfig });
  return { target, stateStore: target.stateStore({ namespace: 'default' }) };
}

/**
 * A fleet from a folder of kubeconfigs: one reconciler per cluster (health waited for, so the
 * rollout can judge it), the manifests of one source rendered once and substituted per cluster.
 * Add a kubeconfig to the folder and the next sync adds its cluster; remove it and its reconciler
 * stops (nothing is deleted from the cluster).
 */
export function fleetFromFolder(options: FolderFleetOptions): FolderFleet {
  const owner = options.owner ?? 'fleet-demo';
  const source =
    options.source ?? new DirectorySource({ path: options.sourceDir ?? 'app', keepArtifacts: 4 });
  const manager = new Manager({ concurrency: 8 });
  const fleet = new Fleet<KubeconfigConnection>({
    manager,
    source,
    syncInterval: 30_000,
    ...(options.rollout ? { rollout: options.rollout } : {}),
    ...(options.clock ? { clock: options.clock } : {}),
    generators: [
      kubeconfigFolderGenerator({ dir: options.clustersDir, ...(options.fs ? { fs: options.fs } : {}) }),
    ],
    factory: (cluster, context) => {
      const { target, stateStore } = (options.targetFor ?? ((_, text) => kubernetesTargetFor(owner, text)))(
        cluster.name,
        cluster.connection.kubeconfig,
      );
      const reconciler = new Reconciler({
        name: context.name,
        source: context.source,
        renderer: context.renderer(new RawRenderer()),
        target,
        ...(stateStore ? { stateStore } : {}),
        wait: true,
        healthTimeout: 60_000,
        timeout: 120_000,
        interval: options.interval ?? 60_000,
        ...(options.clock ? { clock: options.clock } : {}),
      });
      return { reconciler, target };
    },
  });
  return { fleet, manager, source };
}
