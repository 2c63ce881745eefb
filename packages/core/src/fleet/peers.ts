import { type Clock, systemClock } from '../clock.js';

/**
 * What replicas of one sharded fleet tell each other, so a rollout's waves span the whole fleet
 * and not each replica's share: every replica publishes what the finished passes of the clusters
 * it owns showed, and reads what the others published. Each replica runs the same rollout over
 * every cluster (same clusters, same strategy, so the same waves) and acts on the pins of its own
 * clusters only. Times are the reader's: an observation counts from when this replica first saw
 * it, never by another machine's clock.
 */

/** What a finished pass of one cluster showed, as replicas share it. */
export interface PeerObservation {
  /** The revision whose objects are applied. */
  readonly appliedRevision?: string | undefined;
  /** The revision the pass tried. */
  readonly attemptedRevision?: string | undefined;
  /** The pass succeeded and the objects are healthy. */
  readonly healthy: boolean;
  /** The pass failed. */
  readonly failed: boolean;
  /** Why it failed (a reason and a sentence, never credentials). */
  readonly message?: string | undefined;
  /** A revision its passes failed at and it was not healthy at since (kept after a rollback). */
  readonly failedRevision?: string | undefined;
}

/** A peer's observation and when this replica first saw it (its own clock). */
export interface SeenObservation {
  /** What the pass showed. */
  readonly observation: PeerObservation;
  /** Milliseconds since the epoch, by this replica's clock. */
  readonly seenAt: number;
}

/** The channel between replicas (k8s-target's `leasePeers` carries it on the shard Leases). */
export interface FleetPeers {
  /** Publishes what the newest pass of `cluster` (owned here) showed. */
  publish(cluster: string, observation: PeerObservation): void;
  /**
   * The newest observation of each cluster, from whichever replica published it. An unchanged
   * observation must be the same object from call to call: a new object is a new observation.
   */
  observations(): ReadonlyMap<string, SeenObservation>;
}

/** Replicas in one process sharing observations through memory (tests, or several fleets in one program). */
export class MemoryPeers implements FleetPeers {
  readonly #clock: Clock;
  readonly #seen = new Map<string, SeenObservation>();

  /** @param clock when observations are seen (default the system clock). */
  constructor(clock: Clock = systemClock) {
    this.#clock = clock;
  }

  /** Records the observation, seen now. */
  publish(cluster: string, observation: PeerObservation): void {
    this.#seen.set(cluster, { observation: { ...observation }, seenAt: this.#clock.now() });
  }

  /** Every cluster's newest observation. */
  observations(): ReadonlyMap<string, SeenObservation> {
    return this.#seen;
  }
}
