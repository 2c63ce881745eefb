import { type Clock, systemClock } from '../clock.js';
import { FleetError, FleetErrorCodes, toGitOpsError } from '../errors.js';
import { pruneCandidates } from '../plan.js';
import type { ReconcilerEvents } from '../reconciler/events.js';
import type { Manager } from '../reconciler/manager.js';
import type { Reconciler } from '../reconciler/reconciler.js';
import { getCondition, type ReconcilerStatus } from '../reconciler/status.js';
import type { RenderCache } from '../render/cache.js';
import { withSubstitution } from '../render/substitute.js';
import type { Artifact, PruneResult, Renderer, Source, Target } from '../types.js';
import type { ClusterGenerator, ClusterValues, FleetCluster } from './cluster.js';
import { type ClusterBehind, clustersNotAt, describeCluster, type FleetStatus } from './fleet-status.js';
import { assertUnique } from './generators.js';
import type { FleetPeers, SeenObservation } from './peers.js';
import { RevisionBroker } from './revision-broker.js';
import {
  type ClusterObservation,
  RolloutEngine,
  type RolloutStrategy,
  type StepResult,
} from './rollout-engine.js';
import { SharedRenders } from './shared-render.js';

/** What the member factory gets besides the cluster. */
export interface MemberContext {
  /** The reconciler's name (the cluster's name, with the fleet's prefix). */
  readonly name: string;
  /** The fleet's shared source as this cluster sees it: the revision the rollout pins it to. */
  readonly source: Source;
  /**
   * Wraps a renderer so its output is shared: one render per (artifact, renderer settings) across
   * the clusters of this process, then this cluster's substitution variables on a copy.
   */
  renderer(base: Renderer): Renderer;
  /** The cluster's values (variables and Helm values), for renderers the factory builds. */
  readonly values: ClusterValues;
}

/** One cluster's reconciler and the target it writes to. */
export interface FleetMember {
  /** The cluster's reconciler; the fleet adds it to the manager. */
  readonly reconciler: Reconciler;
  /** The cluster's target: the fleet prunes through it when a removed cluster asks for it. */
  readonly target: Target;
  /** Releases what the member holds (connections); called after its reconciler stopped. */
  dispose?(): void | Promise<void>;
}

/** Builds one cluster's member. */
export type MemberFactory<C> = (cluster: FleetCluster<C>, context: MemberContext) => FleetMember;

/** Options of {@link Fleet}. */
export interface FleetOptions<C> {
  /** Where the reconcilers run; the fleet adds and removes them (start the manager yourself). */
  readonly manager: Manager;
  /** The one source every cluster gets (through its pinned view). */
  readonly source: Source;
  /** Where clusters come from; their lists are merged (a name twice is an error). */
  readonly generators: readonly ClusterGenerator<C>[];
  /** Builds a cluster's reconciler and target. */
  readonly factory: MemberFactory<C>;
  /** A new revision goes out in waves; without it every cluster follows the newest revision. */
  readonly rollout?: RolloutStrategy;
  /**
   * The revision every cluster had before this process started (the rollout's baseline). Default:
   * the revision the clusters' stored states say is applied, when the first new revision arrives;
   * with none, the first revision is the baseline and goes everywhere.
   */
  readonly stableRevision?: string;
  /**
   * The other replicas of a sharded fleet: with it, the rollout's waves span every cluster the
   * generators list (the same waves on every replica), a wave waits for the clusters other
   * replicas own, and this replica publishes its own clusters' passes. Call
   * {@link Fleet.observePeers} when new observations may have arrived (each shard round).
   */
  readonly peers?: FleetPeers;
  /** Fetches a given revision for clusters held at one the fleet does not hold (see `RevisionBroker`). */
  readonly fetchRevision?: (revision: string, signal: AbortSignal) => Promise<Artifact>;
  /**
   * Delete a removed cluster's objects (default false: a cluster that leaves the fleet keeps what
   * it runs; its reconciler just stops). Never applies to a cluster that moved to another replica.
   */
  readonly pruneOnRemove?: boolean;
  /**
   * Whether this process runs a cluster (sharding): a shard coordinator's answer, or
   * {@link labelShard} for Flux-style fixed shards. Default: every cluster.
   */
  readonly owns?: (cluster: string, labels: Readonly<Record<string, string>>) => boolean;
  /** Prefix of reconciler names (default none). */
  readonly namePrefix?: string;
  /** How often generators are listed again, in milliseconds (default 3 minutes). */
  readonly syncInterval?: number;
  /** How long one upstream fetch serves every cluster (default 10 s). */
  readonly sourceMaxAge?: number;
  /** Renders kept for sharing (default a cache of 16 sets). */
  readonly renderCache?: RenderCache;
  /** Time of bake times, timeouts and syncs (default the system clock). */
  readonly clock?: Clock;
  /** Told about errors the fleet cannot return (a failed periodic sync, a failed prune). */
  readonly onError?: (error: unknown) => void;
}

/** What one {@link Fleet.sync} changed. */
export interface SyncResult {
  /** Clusters that got a reconciler. */
  readonly added: readonly string[];
  /** Clusters whose reconciler went (left the fleet, or now owned by another replica). */
  readonly removed: readonly string[];
  /** Clusters whose definition changed: their reconciler was rebuilt (nothing pruned). */
  readonly replaced: readonly string[];
  /** Prunes of removed clusters (with `pruneOnRemove`). */
  readonly pruned: Readonly<Record<string, PruneResult>>;
}

interface Entry<C> {
  cluster: FleetCluster<C>;
  member: FleetMember;
  onStatus: (event: ReconcilerEvents['status']) => void;
  reconciling: boolean;
  /** A revision this cluster failed at and has not been healthy at since. */
  failedRevision?: string | undefined;
}

/**
 * One source to many clusters: generators say which clusters exist, a factory builds one
 * reconciler per cluster, and the fleet keeps the manager's reconcilers in line with the
 * generators (added, removed without pruning unless asked, rebuilt when a definition changes),
 * shares one fetch and one render per revision across them, and drives the progressive rollout.
 */
export class Fleet<C = unknown> {
  readonly #options: FleetOptions<C>;
  readonly #clock: Clock;
  readonly #broker: RevisionBroker;
  readonly #renders: SharedRenders;
  readonly #engine: RolloutEngine | undefined;
  readonly #entries = new Map<string, Entry<C>>();
  /** Every cluster the generators listed last, owned here or not. */
  #known = new Map<string, FleetCluster<C>>();
  /** Clusters the rollout engine knows (with peers: every known cluster; else the owned ones). */
  readonly #inEngine = new Set<string>();
  /** The peer observation last fed to the engine per cluster, so each is fed once. */
  readonly #peerSeen = new Map<string, SeenObservation>();
  #syncing: Promise<SyncResult> | undefined;
  #cancelSync: (() => void) | undefined;
  #cancelWake: (() => void) | undefined;
  #started = false;
  readonly #unwatch: (() => void)[] = [];

  /** Checks the options; nothing runs until {@link sync} or {@link start}. */
  constructor(options: FleetOptions<C>) {
    if (!options.manager || !options.source || typeof options.factory !== 'function') {
      throw new FleetError(FleetErrorCodes.InvalidCluster, 'Fleet needs a manager, a source and a factory');
    }
    this.#options = options;
    this.#clock = options.clock ?? systemClock;
    this.#broker = new RevisionBroker({
      source: options.source,
      clock: this.#clock,
      ...(options.sourceMaxAge === undefined ? {} : { maxAge: options.sourceMaxAge }),
      ...(options.fetchRevision ? { fetchRevision: options.fetchRevision } : {}),
    });
    this.#renders = new SharedRenders(options.renderCache);
    if (options.rollout) {
      const engine = new RolloutEngine(
        options.rollout,
        options.stableRevision === undefined ? {} : { stableRevision: options.stableRevision },
      );
      this.#engine = engine;
      this.#broker.setPolicy({
        onRevision: (artifact: Artifact) => {
          // A restarted process: what the clusters run (their stored state) is the baseline, so
          // a revision that arrived meanwhile still goes out in waves.
          if (!engine.hasBaseline) {
            const running = this.#runningRevision(artifact.revision);
            if (running) engine.adoptBaseline(running);
          }
          this.#act(engine.begin(artifact.revision, this.#clock.now()));
        },
        revisionFor: (cluster) => engine.revisionFor(cluster),
        pinnedRevisions: () => engine.pinnedRevisions(),
      });
    }
  }

  /** The shared source (its upstream fetch count tells how much sharing saved). */
  get broker(): RevisionBroker {
    return this.#broker;
  }

  /** The shared render cache (its hits and misses tell how many renders ran). */
  get renderCache(): RenderCache {
    return this.#renders.cache;
  }

  /** Names of the clusters this process runs. */
  clusters(): string[] {
    return [...this.#entries.keys()];
  }

  /** Names of every cluster the generators listed last, owned here or not (the keys to shard). */
  knownClusters(): string[] {
    return [...this.#known.keys()].sort();
  }

  /** The reconciler of a cluster this process runs. */
  reconciler(cluster: string): Reconciler | undefined {
    return this.#entries.get(cluster)?.member.reconciler;
  }

  /**
   * Lists the generators and brings the manager in line: new clusters get a reconciler (started
   * if the manager runs), removed ones lose theirs (pruned only with `pruneOnRemove`), changed
   * ones are rebuilt. A generator that fails fails the sync and changes nothing, so an unreadable
   * folder or a management cluster that is down never looks like every cluster left.
   */
  sync(signal: AbortSignal = new AbortController().signal): Promise<SyncResult> {
    // Syncs run one at a time; a call while one runs waits for it and runs again.
    const previous = this.#syncing ?? Promise.resolve(undefined);
    const next = previous.catch(() => undefined).then(() => this.#sync(signal));
    this.#syncing = next;
    void next
      .finally(() => {
        if (this.#syncing === next) this.#syncing = undefined;
      })
      .catch(() => {});
    return next;
  }

  async #sync(signal: AbortSignal): Promise<SyncResult> {
    const lists = await Promise.all(
      this.#options.generators.map(async (generator) => {
        try {
          return await generator.list(signal);
        } catch (error) {
          if (error instanceof FleetError) throw error;
          throw new FleetError(
            FleetErrorCodes.GeneratorFailed,
            `generator ${generator.description} failed: ${toGitOpsError(error, 'reconcile', FleetErrorCodes.GeneratorFailed).code}`,
            { cause: error },
          );
        }
      }),
    );
    const all = lists.flat();
    assertUnique(all, 'fleet generators');
    this.#known = new Map(all.map((c) => [c.name, c]));
    if (this.#options.peers) this.#engineTracks(all);
    const owns = this.#options.owns ?? (() => true);
    const wanted = new Map(all.filter((c) => owns(c.name, c.labels)).map((c) => [c.name, c]));
    const added: string[] = [];
    const removed: string[] = [];
    const replaced: string[] = [];
    const pruned: Record<string, PruneResult> = {};
    for (const [name, entry] of [...this.#entries]) {
      const next = wanted.get(name);
      if (next && next.fingerprint === entry.cluster.fingerprint) continue;
      const leftFleet = !this.#known.has(name);
      const result = await this.#removeEntry(
        name,
        entry,
        next === undefined && leftFleet && this.#options.pruneOnRemove === true,
      );
      if (result) pruned[name] = result;
      if (next) replaced.push(name);
      else removed.push(name);
    }
    for (const [name, cluster] of wanted) {
      if (this.#entries.has(name)) continue;
      this.#addEntry(cluster);
      if (!replaced.includes(name)) added.push(name);
    }
    return { added, removed, replaced, pruned };
  }

  /** Syncs now and then every `syncInterval`; failures of later syncs go to `onError`. */
  async start(signal?: AbortSignal): Promise<SyncResult> {
    this.#started = true;
    const result = await this.sync(signal);
    this.#scheduleSync();
    for (const generator of this.#options.generators) {
      const unwatch = generator.watch?.(() => {
        if (this.#started) this.sync().catch((error: unknown) => this.#options.onError?.(error));
      });
      if (unwatch) this.#unwatch.push(unwatch);
    }
    return result;
  }

  /** Stops periodic syncs and rollout timers (the reconcilers stay in the manager). */
  stop(): void {
    this.#started = false;
    for (const unwatch of this.#unwatch.splice(0)) unwatch();
    this.#cancelSync?.();
    this.#cancelSync = undefined;
    this.#cancelWake?.();
    this.#cancelWake = undefined;
  }

  /** Asks for an upstream fetch at the next pass and triggers every cluster (a webhook said so). */
  refresh(): void {
    this.#broker.invalidate();
    for (const name of this.#entries.keys()) void this.#trigger(name);
  }

  /** Skips the rest of the current wave's bake, or starts a wave that waits for promotion. */
  promote(): void {
    if (this.#engine) this.#act(this.#engine.promote(this.#clock.now()));
  }

  /** Halts the rollout: no further wave starts until {@link resume}. */
  halt(): void {
    this.#engine?.halt();
  }

  /** Resumes a halted rollout, or tries a failed wave again. */
  resume(): void {
    if (this.#engine) this.#act(this.#engine.resume(this.#clock.now()));
  }

  /** The fleet as a value: per cluster the revision applied, health, drift and last error. */
  status(): FleetStatus {
    const rollout = this.#engine?.status();
    const clusters: Record<string, ReturnType<typeof describeCluster>> = {};
    const names = new Set([...this.#known.keys(), ...this.#entries.keys()]);
    for (const name of [...names].sort()) {
      const cluster = this.#known.get(name) ?? this.#entries.get(name)?.cluster;
      clusters[name] = describeCluster(
        {
          name,
          labels: cluster?.labels ?? {},
          status: this.#entries.get(name)?.member.reconciler.status,
          pinnedRevision: this.#engine?.revisionFor(name),
        },
        rollout,
      );
    }
    return { latestRevision: this.#broker.latest?.revision, rollout, clusters };
  }

  /** Which clusters are not at `revision` and why (see {@link clustersNotAt}). */
  notAt(revision: string): ClusterBehind[] {
    return clustersNotAt(this.status(), revision);
  }

  #addEntry(cluster: FleetCluster<C>): void {
    const name = `${this.#options.namePrefix ?? ''}${cluster.name}`;
    const variables = cluster.values.variables;
    const context: MemberContext = {
      name,
      source: this.#broker.view(cluster.name),
      values: cluster.values,
      renderer: (base) => {
        const shared = this.#renders.wrap(base);
        return variables && Object.keys(variables).length > 0
          ? withSubstitution(shared, { variables })
          : shared;
      },
    };
    const member = this.#options.factory(cluster, context);
    const entry: Entry<C> = { cluster, member, reconciling: false, onStatus: () => {} };
    entry.onStatus = ({ status }) => this.#onStatus(cluster.name, entry, status);
    member.reconciler.on('status', entry.onStatus);
    this.#entries.set(cluster.name, entry);
    if (!this.#options.peers) this.#engineAdd(cluster);
    this.#options.manager.add(member.reconciler);
  }

  async #removeEntry(name: string, entry: Entry<C>, prune: boolean): Promise<PruneResult | undefined> {
    this.#entries.delete(name);
    if (!this.#options.peers) this.#engineRemove(name);
    const { reconciler, target } = entry.member;
    await this.#options.manager.remove(reconciler.name);
    reconciler.off('status', entry.onStatus);
    let result: PruneResult | undefined;
    if (prune) {
      const entries = pruneCandidates(reconciler.status.inventory, []);
      try {
        result = await target.prune(entries, { signal: AbortSignal.timeout(5 * 60_000) });
      } catch (error) {
        this.#options.onError?.(error);
      }
    }
    try {
      await entry.member.dispose?.();
    } catch (error) {
      this.#options.onError?.(error);
    }
    return result;
  }

  /** The revision most clusters' stored states say is applied, other than `newest`. */
  #runningRevision(newest: string): string | undefined {
    const counts = new Map<string, number>();
    for (const entry of this.#entries.values()) {
      const applied = entry.member.reconciler.status.lastAppliedRevision;
      if (applied !== undefined && applied !== newest) counts.set(applied, (counts.get(applied) ?? 0) + 1);
    }
    return [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))[0]?.[0];
  }

  /** A finished pass is an observation for the rollout. */
  #onStatus(cluster: string, entry: Entry<C>, status: ReconcilerStatus): void {
    const reconciling = getCondition(status, 'Reconciling')?.status === 'True';
    const ended = entry.reconciling && !reconciling;
    entry.reconciling = reconciling;
    if (!ended || !this.#engine || this.#entries.get(cluster) !== entry) return;
    const base = observationOf(status, this.#clock.now());
    // Remember a failed revision until the cluster is healthy at it: a peer that reads this
    // cluster after its rollback must still learn that the revision failed here.
    if (base.failed && base.attemptedRevision !== undefined) entry.failedRevision = base.attemptedRevision;
    else if (base.healthy && base.appliedRevision === entry.failedRevision) entry.failedRevision = undefined;
    const observation = { ...base, failedRevision: entry.failedRevision };
    this.#options.peers?.publish(cluster, {
      appliedRevision: observation.appliedRevision,
      attemptedRevision: observation.attemptedRevision,
      healthy: observation.healthy,
      failed: observation.failed,
      message: observation.message,
      failedRevision: observation.failedRevision,
    });
    this.#engine.observe(cluster, observation);
    this.#act(this.#engine.step(this.#clock.now()));
  }

  /**
   * Feeds the rollout what other replicas published about the clusters they own, timed by when
   * this replica read it (a healthy report is as fresh as its owner's newest publication, at most a
   * renew period old), and steps it. A no-op without `peers`.
   * `promote`, `halt` and `resume` act on this replica's rollout only: call them on every replica.
   */
  observePeers(): void {
    const { peers } = this.#options;
    if (!peers || !this.#engine) return;
    let fed = false;
    for (const [cluster, seen] of peers.observations()) {
      if (this.#entries.has(cluster) || !this.#inEngine.has(cluster)) continue;
      const { observation } = seen;
      // A new observation is fed once. An unchanged healthy one is fed again: its owner keeps
      // publishing the same healthy passes, and that is what confirms a bake. An unchanged
      // failure is not, so a retried wave is not failed again by a report from before it.
      if (this.#peerSeen.get(cluster) === seen && !observation.healthy) continue;
      this.#peerSeen.set(cluster, seen);
      this.#engine.observe(cluster, {
        appliedRevision: observation.appliedRevision,
        attemptedRevision: observation.attemptedRevision,
        healthy: observation.healthy,
        failed: observation.failed,
        ...(observation.message === undefined ? {} : { message: observation.message }),
        failedRevision: observation.failedRevision,
        // Counted from when it is read here: a peer's pass that ended before this replica began
        // the same rollout still counts, and each observation is fed once.
        at: this.#clock.now(),
      });
      fed = true;
    }
    if (fed) this.#act(this.#engine.step(this.#clock.now()));
  }

  #engineAdd(cluster: FleetCluster<C>): void {
    if (!this.#engine || this.#inEngine.has(cluster.name)) return;
    this.#inEngine.add(cluster.name);
    this.#engine.addCluster({ name: cluster.name, labels: cluster.labels });
  }

  #engineRemove(name: string): void {
    if (!this.#inEngine.delete(name)) return;
    this.#engine?.removeCluster(name);
    this.#peerSeen.delete(name);
  }

  /** With peers the engine follows every listed cluster, owned here or not. */
  #engineTracks(all: readonly FleetCluster<C>[]): void {
    const names = new Set(all.map((c) => c.name));
    for (const name of [...this.#inEngine]) if (!names.has(name)) this.#engineRemove(name);
    for (const cluster of all) this.#engineAdd(cluster);
  }

  /** Carries out a rollout step: triggers repinned and to-verify clusters, sets the next wake-up. */
  #act(result: StepResult): void {
    for (const name of new Set([...result.repinned, ...result.verify])) void this.#trigger(name);
    this.#cancelWake?.();
    this.#cancelWake = undefined;
    if (result.wakeAt !== undefined && this.#engine) {
      const engine = this.#engine;
      const delay = Math.max(0, result.wakeAt - this.#clock.now());
      this.#cancelWake = this.#clock.setTimer(delay, () => {
        this.#cancelWake = undefined;
        this.#act(engine.step(this.#clock.now()));
      });
    }
  }

  async #trigger(cluster: string): Promise<void> {
    const entry = this.#entries.get(cluster);
    if (!entry) return;
    try {
      await this.#options.manager.trigger(entry.member.reconciler.name);
    } catch (error) {
      this.#options.onError?.(error);
    }
  }

  #scheduleSync(): void {
    if (!this.#started) return;
    this.#cancelSync = this.#clock.setTimer(this.#options.syncInterval ?? 3 * 60_000, () => {
      this.sync().then(
        () => this.#scheduleSync(),
        (error: unknown) => {
          this.#options.onError?.(error);
          this.#scheduleSync();
        },
      );
    });
  }
}

/** What a reconciler's status says about its finished pass. */
export function observationOf(status: ReconcilerStatus, at: number): ClusterObservation {
  const ready = getCondition(status, 'Ready');
  const healthy = getCondition(status, 'Healthy');
  const ok = ready?.status === 'True' && (healthy?.status === 'True' || healthy?.reason === 'NotChecked');
  const failed = ready?.status === 'False' && (status.failures > 0 || ready.reason === 'RolledBack');
  return {
    appliedRevision: status.lastAppliedRevision,
    attemptedRevision: status.lastAttemptedRevision,
    healthy: ok,
    failed,
    ...(failed && ready ? { message: `${ready.reason}: ${ready.message}` } : {}),
    at,
  };
}

/** Flux's shard label: a controller started with `--watch-label-selector sharding.fluxcd.io/key=<shard>` runs only those objects. */
export const FLUX_SHARD_LABEL = 'sharding.fluxcd.io/key';

/**
 * Fixed shards, the way Flux shards: this process runs the clusters whose label `key` (default
 * {@link FLUX_SHARD_LABEL}) equals `shard`; with `unlabelled: true` it also runs clusters without
 * the label (Flux's main instance, started with `!sharding.fluxcd.io/key`). Pass it as `owns`.
 */
export function labelShard(
  shard: string,
  options: { readonly key?: string; readonly unlabelled?: boolean } = {},
): (cluster: string, labels: Readonly<Record<string, string>>) => boolean {
  const key = options.key ?? FLUX_SHARD_LABEL;
  return (_cluster, labels) =>
    Object.hasOwn(labels, key) ? labels[key] === shard : options.unlabelled === true;
}
