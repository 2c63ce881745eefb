import { type Clock, systemClock } from '../clock.js';
import { FleetError, FleetErrorCodes } from '../errors.js';
import type { Artifact, FetchOptions, Source, SourceChange } from '../types.js';

/**
 * One source shared by every cluster of a fleet, and the pinned views the clusters fetch from.
 *
 * How a revision is held back: every cluster's reconciler fetches from its own view, and a view
 * returns the artifact of the revision its cluster is pinned to, never simply the newest. The
 * broker fetches the upstream source once for all views (concurrent fetches share one call, and
 * answers are reused for `maxAge`), keeps the artifacts of every revision still pinned, and tells
 * the rollout about a new revision before any view can return it, so the rollout pins clusters
 * outside the first wave to their current revision first. A view whose cluster is pinned to a
 * revision the broker no longer holds fails its fetch with `FLEET_REVISION_UNAVAILABLE`: nothing
 * is applied (invariant 1), and the status says why.
 */

/** Decides which revision each cluster gets; the progressive rollout is one. */
export interface RevisionPolicy {
  /** Told once per new upstream revision, before any view returns it. */
  onRevision(artifact: Artifact): void;
  /** The revision `cluster` must get now; undefined means the newest. */
  revisionFor(cluster: string): string | undefined;
  /** Revisions some cluster is pinned to: the broker keeps their artifacts. */
  pinnedRevisions?(): Iterable<string>;
}

/** Options of {@link RevisionBroker}. */
export interface RevisionBrokerOptions {
  /** The upstream source shared by the fleet. */
  readonly source: Source;
  /**
   * How long an upstream answer is reused, in milliseconds (default 10 s): 200 reconcilers polling
   * every minute cost one upstream fetch per interval, not 200.
   */
  readonly maxAge?: number;
  /** Time of `maxAge` (default the system clock). */
  readonly clock?: Clock;
  /** How many revisions are kept besides the pinned ones (default 3). */
  readonly keep?: number;
  /**
   * Fetches the artifact of a given revision, for clusters pinned to one the broker does not hold
   * (after a restart, the revision the clusters run). Without it such a fetch fails with
   * `FLEET_REVISION_UNAVAILABLE` and nothing is applied.
   */
  readonly fetchRevision?: (revision: string, signal: AbortSignal) => Promise<Artifact>;
}

/** Fetches one source for many clusters and serves each the revision it is pinned to. */
export class RevisionBroker {
  readonly #source: Source;
  readonly #maxAge: number;
  readonly #clock: Clock;
  readonly #keep: number;
  readonly #fetchRevision: RevisionBrokerOptions['fetchRevision'];
  readonly #artifacts = new Map<string, Artifact>();
  #latest: Artifact | undefined;
  #fetchedAt = Number.NEGATIVE_INFINITY;
  #inFlight: Promise<Artifact> | undefined;
  #policy: RevisionPolicy | undefined;
  /** Upstream fetches made (for tests and benchmarks). */
  upstreamFetches = 0;

  /** @param options the upstream source, how long answers are reused, the clock. */
  constructor(options: RevisionBrokerOptions) {
    this.#source = options.source;
    this.#maxAge = options.maxAge ?? 10_000;
    this.#clock = options.clock ?? systemClock;
    this.#keep = Math.max(1, options.keep ?? 3);
    this.#fetchRevision = options.fetchRevision;
  }

  /** The upstream source's description. */
  get description(): string {
    return this.#source.description;
  }

  /** The newest artifact seen, if any. */
  get latest(): Artifact | undefined {
    return this.#latest;
  }

  /** Sets the policy that pins clusters (one at a time). */
  setPolicy(policy: RevisionPolicy | undefined): void {
    this.#policy = policy;
  }

  /** The artifact of a revision the broker still holds. */
  artifact(revision: string): Artifact | undefined {
    return this.#artifacts.get(revision);
  }

  /**
   * The newest artifact: fetched upstream when the last answer is older than `maxAge` (or
   * `fresh` asks), with concurrent callers sharing one fetch.
   */
  async fetchLatest(signal: AbortSignal, fresh = false): Promise<Artifact> {
    const age = this.#clock.now() - this.#fetchedAt;
    if (this.#latest && !fresh && age < this.#maxAge) return this.#latest;
    if (!this.#inFlight) {
      this.upstreamFetches++;
      // The shared fetch is not tied to one caller's signal: a caller that gives up leaves it
      // running for the others, and only its own wait is cut short.
      const running = this.#source.fetch({ signal: new AbortController().signal, previous: this.#latest });
      this.#inFlight = running.then(
        (artifact) => {
          this.#inFlight = undefined;
          this.#accept(artifact);
          return artifact;
        },
        (error: unknown) => {
          this.#inFlight = undefined;
          throw error;
        },
      );
    }
    return raceSignal(this.#inFlight, signal);
  }

  /** Forgets the age of the last answer, so the next fetch goes upstream (a webhook said so). */
  invalidate(): void {
    this.#fetchedAt = Number.NEGATIVE_INFINITY;
  }

  /** The source a cluster's reconciler fetches from. */
  view(cluster: string): Source {
    const source = this.#source;
    return {
      description: `${source.description} (fleet view of ${cluster})`,
      fetch: (options: FetchOptions) => this.#fetchFor(cluster, options.signal),
      ...(source.matches ? { matches: (change: SourceChange) => source.matches?.(change) ?? false } : {}),
    };
  }

  async #fetchFor(cluster: string, signal: AbortSignal): Promise<Artifact> {
    const latest = await this.fetchLatest(signal);
    const pinned = this.#policy?.revisionFor(cluster);
    if (pinned === undefined || pinned === latest.revision) return latest;
    let held = this.#artifacts.get(pinned);
    if (!held && this.#fetchRevision) {
      held = await this.#fetchRevision(pinned, signal);
      if (held.revision !== pinned) {
        throw new FleetError(
          FleetErrorCodes.RevisionUnavailable,
          `cluster ${cluster} is pinned to ${pinned}, but fetching it gave ${held.revision}`,
        );
      }
      this.#artifacts.set(pinned, held);
    }
    if (!held) {
      throw new FleetError(
        FleetErrorCodes.RevisionUnavailable,
        `cluster ${cluster} is pinned to ${pinned}, which the fleet no longer holds (newest is ${latest.revision})`,
      );
    }
    return held;
  }

  /** Records a fetched artifact; a new revision goes to the policy first, then old ones are dropped. */
  #accept(artifact: Artifact): void {
    this.#fetchedAt = this.#clock.now();
    const isNew = this.#latest?.revision !== artifact.revision || this.#latest?.digest !== artifact.digest;
    this.#latest = artifact;
    this.#artifacts.delete(artifact.revision);
    this.#artifacts.set(artifact.revision, artifact);
    if (isNew) this.#policy?.onRevision(artifact);
    this.#trim();
  }

  /** Keeps the newest `keep` revisions and every revision still pinned. */
  #trim(): void {
    const revisions = [...this.#artifacts.keys()];
    const recent = new Set(revisions.slice(-this.#keep));
    for (const revision of revisions) {
      if (recent.has(revision)) continue;
      if (this.#pinned(revision)) continue;
      this.#artifacts.delete(revision);
    }
  }

  #pinned(revision: string): boolean {
    const pinned = this.#policy?.pinnedRevisions?.() ?? [];
    for (const r of pinned) if (r === revision) return true;
    return false;
  }
}

/** Waits for `work`, or rejects as soon as `signal` aborts (the work itself goes on). */
function raceSignal<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}
