import { getCondition, type ReconcilerStatus } from '../reconciler/status.js';
import type { RolloutStatus, WavePhase } from './rollout-engine.js';

/** How one cluster's objects are doing, in one word. */
export type ClusterHealth = 'Healthy' | 'Unhealthy' | 'Progressing' | 'Unknown';

/** One cluster of a fleet, as a value. */
export interface FleetClusterStatus {
  /** The cluster's name in the fleet. */
  readonly name: string;
  /** Its labels. */
  readonly labels: Readonly<Record<string, string>>;
  /** Whether this replica runs the cluster's reconciler (false: another replica owns it). */
  readonly owned: boolean;
  /** The revision the rollout pins the cluster to (undefined: it follows the newest). */
  readonly pinnedRevision: string | undefined;
  /** The revision whose objects are applied. */
  readonly appliedRevision: string | undefined;
  /** The newest revision seen healthy there. */
  readonly healthyRevision: string | undefined;
  /** How its objects are doing, in one word. */
  readonly health: ClusterHealth;
  /** The newest plan found objects changed behind our back. */
  readonly drifted: boolean;
  /** The newest pass failed: its reason and message (never credentials). */
  readonly lastError: ClusterError | undefined;
  /** The cluster's wave in the current rollout. */
  readonly wave: ClusterWave | undefined;
}

/** Why a cluster's newest pass failed. */
export interface ClusterError {
  /** The condition reason (the error code's name, such as `HealthFailed`). */
  readonly reason: string;
  /** The condition message (never credentials). */
  readonly message: string;
}

/** A cluster's place in the current rollout. */
export interface ClusterWave {
  /** Index of the wave, from 0. */
  readonly index: number;
  /** The wave's name. */
  readonly name: string;
  /** Where the wave is. */
  readonly phase: WavePhase;
}

/** The whole fleet, as a value. */
export interface FleetStatus {
  /** The newest revision the fleet's source gave. */
  readonly latestRevision: string | undefined;
  /** The progressive rollout, when the fleet has one. */
  readonly rollout: RolloutStatus | undefined;
  /** Every cluster the generators list (owned here or not), by name. */
  readonly clusters: Readonly<Record<string, FleetClusterStatus>>;
}

/** A cluster that is not at a revision, and why. */
export interface ClusterBehind {
  /** The cluster's name. */
  readonly cluster: string;
  /** The revision it has applied, if any. */
  readonly appliedRevision: string | undefined;
  /** A stable word for programs. */
  readonly reason:
    | 'NotOwned'
    | 'NotReconciled'
    | 'Failing'
    | 'RolledBack'
    | 'HeldByRollout'
    | 'Progressing'
    | 'Behind';
  /** A sentence for people. */
  readonly message: string;
}

/** What {@link describeCluster} needs to know of one cluster. */
export interface ClusterFacts {
  /** The cluster's name. */
  readonly name: string;
  /** Its labels. */
  readonly labels: Readonly<Record<string, string>>;
  /** The reconciler's status, when this replica runs it. */
  readonly status: ReconcilerStatus | undefined;
  /** The revision the rollout pins it to. */
  readonly pinnedRevision: string | undefined;
}

/** One cluster's status from its reconciler's status and the rollout's. */
export function describeCluster(facts: ClusterFacts, rollout: RolloutStatus | undefined): FleetClusterStatus {
  const { status } = facts;
  const waveIndex = rollout?.waves.findIndex((w) => w.clusters.includes(facts.name)) ?? -1;
  const wave = waveIndex >= 0 ? rollout?.waves[waveIndex] : undefined;
  const base = {
    name: facts.name,
    labels: facts.labels,
    owned: status !== undefined,
    pinnedRevision: facts.pinnedRevision,
    wave: wave ? { index: waveIndex, name: wave.name, phase: wave.phase } : undefined,
  };
  if (!status) {
    return {
      ...base,
      appliedRevision: undefined,
      healthyRevision: undefined,
      health: 'Unknown',
      drifted: false,
      lastError: undefined,
    };
  }
  const ready = getCondition(status, 'Ready');
  const healthy = getCondition(status, 'Healthy');
  const reconciling = getCondition(status, 'Reconciling')?.status === 'True';
  const failed = ready?.status === 'False' && (status.failures > 0 || ready.reason === 'RolledBack');
  const health: ClusterHealth =
    healthy?.status === 'False' || failed
      ? 'Unhealthy'
      : healthy?.status === 'True' && ready?.status === 'True'
        ? 'Healthy'
        : reconciling || healthy?.reason === 'Progressing'
          ? 'Progressing'
          : 'Unknown';
  return {
    ...base,
    appliedRevision: status.lastAppliedRevision,
    healthyRevision: status.lastHealthyRevision,
    health,
    drifted: (status.lastPlan?.drifted ?? 0) > 0,
    lastError: failed && ready ? { reason: ready.reason, message: ready.message } : undefined,
  };
}

/**
 * Which clusters are not at `revision`, and why: the one call that answers "where is my change?".
 * Reasons, in the order they are checked: another replica owns it, it has not been reconciled, its
 * newest pass fails, its wave failed and it was rolled back, the rollout holds it at an older
 * revision, a pass is applying it, or it is simply behind.
 */
export function clustersNotAt(status: FleetStatus, revision: string): ClusterBehind[] {
  const out: ClusterBehind[] = [];
  for (const cluster of Object.values(status.clusters)) {
    const applied = cluster.appliedRevision;
    if (cluster.owned && applied === revision && cluster.lastError === undefined) continue;
    const entry = (reason: ClusterBehind['reason'], message: string): ClusterBehind => ({
      cluster: cluster.name,
      appliedRevision: applied,
      reason,
      message,
    });
    if (!cluster.owned) {
      out.push(entry('NotOwned', 'another replica owns this cluster; ask its fleet status'));
    } else if (cluster.wave?.phase === 'Failed' && cluster.pinnedRevision !== revision) {
      const why = cluster.lastError ? ` (${cluster.lastError.reason}: ${cluster.lastError.message})` : '';
      out.push(
        entry(
          'RolledBack',
          `wave ${cluster.wave.name} failed; rolled back to ${cluster.pinnedRevision ?? 'its last healthy revision'}${why}`,
        ),
      );
    } else if (cluster.lastError) {
      out.push(entry('Failing', `${cluster.lastError.reason}: ${cluster.lastError.message}`));
    } else if (applied === undefined) {
      out.push(entry('NotReconciled', 'no pass has applied anything yet'));
    } else if (cluster.pinnedRevision !== undefined && cluster.pinnedRevision !== revision) {
      const wave = cluster.wave
        ? `wave ${cluster.wave.name} is ${cluster.wave.phase}`
        : 'its wave has not started';
      out.push(entry('HeldByRollout', `held at ${cluster.pinnedRevision} by the rollout: ${wave}`));
    } else if (cluster.health === 'Progressing') {
      out.push(entry('Progressing', `applying ${revision}`));
    } else {
      out.push(entry('Behind', `at ${applied}; the next pass brings ${revision}`));
    }
  }
  return out.sort((a, b) => (a.cluster < b.cluster ? -1 : 1));
}
