import { FleetError, FleetErrorCodes } from '../errors.js';
import { type LabelSelector, matchesSelector } from './cluster.js';

/**
 * The progressive rollout as a pure state machine: which revision each cluster is pinned to, which
 * wave runs, and what the observations of the clusters' passes mean for it. It reads no clock and
 * starts no timer; the fleet feeds it the time and the observations, and acts on the pins it
 * changes (see `fleet.ts`). Argo CD's RollingSync is the model (steps of clusters, each Healthy
 * before the next, `maxUpdate` as a count or a percentage rounded down but at least one), with
 * what it lacks: a bake time, a wave timeout, and a rollback of the failed wave.
 */

/** One explicit wave: clusters by name, by label selector, or both (a cluster matching either). */
export interface WaveSpec {
  /** A name for status (default `wave-<n>`). */
  readonly name?: string;
  /** Cluster names. */
  readonly clusters?: readonly string[];
  /** Clusters whose labels match. */
  readonly selector?: LabelSelector;
}

/** How a new revision goes out. */
export interface RolloutStrategy {
  /**
   * Explicit waves, in order. A cluster goes to the first wave that names or selects it; clusters
   * no wave takes go out last, in one more wave (Argo CD leaves them out; here they are not forgotten).
   */
  readonly waves?: readonly WaveSpec[];
  /**
   * Without `waves`: waves of this many clusters, or this percentage of them (`'25%'`, rounded
   * down, at least one), in name order — the clusters updated, and so possibly unavailable, at once.
   */
  readonly maxUnavailable?: number | `${number}%`;
  /** How long a wave must stay healthy, in milliseconds, before the next starts (default 0). */
  readonly bakeTime?: number;
  /** How long a wave may take to become healthy before it counts as failed (default 10 minutes). */
  readonly waveTimeout?: number;
  /** Every wave after the first waits for {@link RolloutEngine.promote} (default false). */
  readonly manualPromotion?: boolean;
}

/** Where one wave is. */
export type WavePhase = 'Pending' | 'Progressing' | 'Baking' | 'AwaitingPromotion' | 'Succeeded' | 'Failed';

/** Where the rollout is. `Idle`: nothing rolled out yet. */
export type RolloutPhase = 'Idle' | 'Progressing' | 'Halted' | 'Failed' | 'Completed';

/** What a finished pass of one cluster showed. */
export interface ClusterObservation {
  /** The revision whose objects are applied. */
  readonly appliedRevision: string | undefined;
  /** The revision the pass tried. */
  readonly attemptedRevision: string | undefined;
  /** The pass succeeded and the applied objects are healthy. */
  readonly healthy: boolean;
  /** The pass failed (apply, health, anything). */
  readonly failed: boolean;
  /** Why, for a failed pass (a reason and a sentence, never credentials). */
  readonly message?: string;
  /**
   * A revision this cluster's passes failed at and that it was not healthy at since: kept after a
   * rollback, so a replica that reads the cluster's passes late still sees the failure.
   */
  readonly failedRevision?: string | undefined;
  /** When the pass ended (the fleet's clock). */
  readonly at: number;
}

/** One cluster the rollout knows: its name and labels. */
export interface RolloutCluster {
  /** The cluster's name. */
  readonly name: string;
  /** Its labels, for wave selectors. */
  readonly labels: Readonly<Record<string, string>>;
}

/** A wave, as status shows it. */
export interface WaveStatus {
  /** Index of the wave, from 0. */
  readonly index: number;
  /** The wave's name (`wave-<n>`, the spec's name, or `unmatched`). */
  readonly name: string;
  /** Its clusters. */
  readonly clusters: readonly string[];
  /** Where it is. */
  readonly phase: WavePhase;
  /** When it started (ISO 8601). */
  readonly startedAt?: string;
  /** When every cluster was first healthy at the revision (ISO 8601). */
  readonly healthyAt?: string;
  /** When its bake ends (ISO 8601). */
  readonly bakeUntil?: string;
  /** Clusters that failed the wave, and why. */
  readonly failures: readonly WaveFailure[];
}

/** A cluster that failed its wave. */
export interface WaveFailure {
  /** The cluster's name. */
  readonly cluster: string;
  /** Why (the failed pass's reason and message, or the timeout). */
  readonly reason: string;
}

/** A wave as {@link planWaves} makes it. */
export interface PlannedWave {
  /** The wave's name. */
  readonly name: string;
  /** Its clusters, in name order. */
  readonly clusters: string[];
}

/** The rollout, as a value. */
export interface RolloutStatus {
  /** Where the rollout is. */
  readonly phase: RolloutPhase;
  /** The revision going out (or last gone out). */
  readonly revision: string | undefined;
  /** The newest revision every cluster completed. */
  readonly stableRevision: string | undefined;
  /** Index of the wave in progress (or where it stopped). */
  readonly currentWave: number | undefined;
  /** Every wave, in order. */
  readonly waves: readonly WaveStatus[];
  /** The revision each cluster is pinned to. */
  readonly pins: Readonly<Record<string, string>>;
  /** A sentence for people. */
  readonly message: string;
}

interface Wave {
  readonly name: string;
  readonly clusters: string[];
  phase: WavePhase;
  startedAt?: number;
  healthyAt?: number;
  bakeUntil?: number;
  failures: { cluster: string; reason: string }[];
}

interface Rollout {
  readonly revision: string;
  readonly waves: Wave[];
  index: number;
  phase: RolloutPhase;
  message: string;
}

/** What a step changed: clusters whose pin moved (trigger them) and when to look again. */
export interface StepResult {
  /** Clusters pinned to a new revision: their reconcilers should run a pass now. */
  readonly repinned: readonly string[];
  /** Clusters whose health must be confirmed by a fresh pass now (the end of a bake). */
  readonly verify: readonly string[];
  /** The time of the next deadline (bake end, wave timeout), if one is pending. */
  readonly wakeAt: number | undefined;
}

const MINUTE = 60_000;

/** Checks a strategy. Throws a {@link FleetError} `FLEET_INVALID_STRATEGY` naming what cannot work. */
export function checkStrategy(strategy: RolloutStrategy): void {
  const bad = (message: string): never => {
    throw new FleetError(FleetErrorCodes.InvalidStrategy, `rollout strategy: ${message}`);
  };
  if (strategy.waves && strategy.maxUnavailable !== undefined) bad('give waves or maxUnavailable, not both');
  for (const [i, wave] of (strategy.waves ?? []).entries()) {
    if (!wave.clusters?.length && !wave.selector) bad(`wave ${i + 1} names no clusters and has no selector`);
  }
  const max = strategy.maxUnavailable;
  if (typeof max === 'number' && !(Number.isInteger(max) && max >= 1))
    bad('maxUnavailable must be a whole number ≥ 1');
  if (typeof max === 'string') {
    const pct = Number(max.slice(0, -1));
    if (!max.endsWith('%') || !(pct > 0 && pct <= 100))
      bad(`maxUnavailable ${max} must be a percentage in (0, 100]`);
  }
  for (const key of ['bakeTime', 'waveTimeout'] as const) {
    const value = strategy[key];
    if (value !== undefined && !(Number.isFinite(value) && value >= 0))
      bad(`${key} must be ≥ 0 milliseconds`);
  }
}

/** Groups clusters into waves by the strategy (explicit groups, or slices of `maxUnavailable`). */
export function planWaves(clusters: readonly RolloutCluster[], strategy: RolloutStrategy): PlannedWave[] {
  const sorted = [...clusters].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  if (strategy.waves) {
    const taken = new Set<string>();
    const waves = strategy.waves.map((spec, i) => {
      const members = sorted.filter(
        (c) =>
          !taken.has(c.name) &&
          ((spec.clusters?.includes(c.name) ?? false) ||
            (spec.selector ? matchesSelector(c.labels, spec.selector) : false)),
      );
      for (const c of members) taken.add(c.name);
      return { name: spec.name ?? `wave-${i + 1}`, clusters: members.map((c) => c.name) };
    });
    const rest = sorted.filter((c) => !taken.has(c.name)).map((c) => c.name);
    if (rest.length > 0) waves.push({ name: 'unmatched', clusters: rest });
    return waves;
  }
  const max = strategy.maxUnavailable ?? '100%';
  const size =
    typeof max === 'number' ? max : Math.max(1, Math.floor((Number(max.slice(0, -1)) / 100) * sorted.length));
  const waves: PlannedWave[] = [];
  for (let i = 0; i < sorted.length; i += size) {
    waves.push({ name: `wave-${waves.length + 1}`, clusters: sorted.slice(i, i + size).map((c) => c.name) });
  }
  return waves;
}

/**
 * The rollout's state. Pins: every known cluster is pinned to a revision. The first revision the
 * engine sees is the baseline and goes everywhere at once (there is nothing to hold back to);
 * every later one goes out wave by wave.
 */
export class RolloutEngine {
  readonly #strategy: RolloutStrategy;
  readonly #clusters = new Map<string, RolloutCluster>();
  readonly #pins = new Map<string, string>();
  /** The newest revision each cluster was seen healthy at: what its rollback goes back to. */
  readonly #lastGood = new Map<string, string>();
  readonly #observations = new Map<string, ClusterObservation>();
  #stable: string | undefined;
  #rollout: Rollout | undefined;
  #haltedFrom: RolloutPhase | undefined;

  /** @param strategy checked at once ({@link checkStrategy}). */
  constructor(strategy: RolloutStrategy, options: { readonly stableRevision?: string } = {}) {
    checkStrategy(strategy);
    this.#strategy = strategy;
    this.#stable = options.stableRevision;
  }

  /** Whether the engine knows a revision every cluster had (given, adopted, or its first). */
  get hasBaseline(): boolean {
    return this.#stable !== undefined;
  }

  /**
   * Takes `revision` as what every cluster had, when nothing was known yet (a restarted process
   * whose clusters' stored state names the revision they run): the next revision then goes out in
   * waves instead of becoming the baseline everywhere at once.
   */
  adoptBaseline(revision: string): void {
    this.#stable ??= revision;
  }

  /** The revision a cluster is pinned to (undefined before the first revision). */
  revisionFor(cluster: string): string | undefined {
    return this.#pins.get(cluster) ?? this.#stable;
  }

  /** Every revision some cluster is pinned to. */
  pinnedRevisions(): Set<string> {
    const out = new Set(this.#pins.values());
    if (this.#stable) out.add(this.#stable);
    return out;
  }

  /** A cluster joined: pinned to the stable revision, and to the last wave of a running rollout. */
  addCluster(cluster: RolloutCluster): void {
    this.#clusters.set(cluster.name, cluster);
    if (this.#stable !== undefined && !this.#pins.has(cluster.name))
      this.#pins.set(cluster.name, this.#stable);
    const rollout = this.#rollout;
    if (
      rollout &&
      rollout.phase !== 'Completed' &&
      !rollout.waves.some((w) => w.clusters.includes(cluster.name))
    ) {
      const open = rollout.waves.find((w) => w.phase === 'Pending') ?? rollout.waves[rollout.index];
      open?.clusters.push(cluster.name);
      if (open && open.phase !== 'Pending' && open.phase !== 'AwaitingPromotion')
        this.#pins.set(cluster.name, rollout.revision);
    }
  }

  /** A cluster left: forgotten. */
  removeCluster(name: string): void {
    this.#clusters.delete(name);
    this.#pins.delete(name);
    this.#lastGood.delete(name);
    this.#observations.delete(name);
    for (const wave of this.#rollout?.waves ?? []) {
      const i = wave.clusters.indexOf(name);
      if (i >= 0) wave.clusters.splice(i, 1);
    }
  }

  /** Records what a cluster's finished pass showed. */
  observe(cluster: string, observation: ClusterObservation): void {
    this.#observations.set(cluster, observation);
    if (observation.healthy && observation.appliedRevision !== undefined) {
      this.#lastGood.set(cluster, observation.appliedRevision);
    }
  }

  /**
   * A new revision arrived upstream. The first one becomes the baseline everywhere; a later one
   * starts a rollout (replacing one in progress: clusters keep their pins until their wave).
   */
  begin(revision: string, now: number): StepResult {
    if (this.#rollout?.revision === revision) return { repinned: [], verify: [], wakeAt: undefined };
    if (this.#stable === undefined) {
      this.#stable = revision;
      const repinned = [...this.#clusters.keys()];
      for (const name of repinned) this.#pins.set(name, revision);
      this.#rollout = { revision, waves: [], index: 0, phase: 'Completed', message: `Baseline ${revision}` };
      return { repinned, verify: [], wakeAt: undefined };
    }
    if (revision === this.#stable && (!this.#rollout || this.#rollout.phase === 'Completed')) {
      return { repinned: [], verify: [], wakeAt: undefined };
    }
    for (const name of this.#clusters.keys()) {
      if (!this.#pins.has(name)) this.#pins.set(name, this.#stable);
    }
    const waves = planWaves([...this.#clusters.values()], this.#strategy).map(
      (w): Wave => ({ ...w, phase: 'Pending', failures: [] }),
    );
    this.#haltedFrom = undefined;
    this.#rollout = { revision, waves, index: 0, phase: 'Progressing', message: `Rolling out ${revision}` };
    if (waves.length === 0) return this.#complete();
    return this.#merge(this.#startWave(0, now), this.step(now));
  }

  /** Evaluates the wave in progress at `now`; returns the pins it moved and the next deadline. */
  step(now: number): StepResult {
    const rollout = this.#rollout;
    if (rollout?.phase !== 'Progressing') return { repinned: [], verify: [], wakeAt: undefined };
    const wave = rollout.waves[rollout.index];
    if (!wave) return this.#complete();
    if (wave.phase === 'AwaitingPromotion') return { repinned: [], verify: [], wakeAt: undefined };
    const since = wave.startedAt ?? now;
    const failures: { cluster: string; reason: string }[] = [];
    let allHealthy = true;
    let allConfirmed = true;
    for (const name of wave.clusters) {
      const seen = this.#observations.get(name);
      const fresh = seen !== undefined && seen.at >= since;
      const failedHere =
        (seen?.failed === true && seen.attemptedRevision === rollout.revision) ||
        seen?.failedRevision === rollout.revision;
      if (fresh && failedHere) {
        failures.push({ cluster: name, reason: seen.message ?? 'the pass failed' });
        continue;
      }
      const healthy = fresh && seen.healthy && seen.appliedRevision === rollout.revision;
      if (!healthy) {
        allHealthy = false;
        if (wave.phase === 'Baking' && fresh && seen.at >= (wave.healthyAt ?? since)) {
          failures.push({ cluster: name, reason: seen.message ?? 'no longer healthy during the bake' });
        }
      } else if (wave.bakeUntil !== undefined && seen.at < wave.bakeUntil) {
        allConfirmed = false;
      }
    }
    if (failures.length > 0) return this.#fail(wave, failures);
    if (wave.phase === 'Progressing') {
      if (allHealthy) {
        wave.phase = 'Baking';
        wave.healthyAt = now;
        const bake = this.#strategy.bakeTime ?? 0;
        // Without a bake time the passes that just showed health are confirmation enough.
        if (bake === 0) return this.#succeed(wave, now);
        wave.bakeUntil = now + bake;
        return this.step(now);
      }
      const deadline = since + (this.#strategy.waveTimeout ?? 10 * MINUTE);
      if (now >= deadline) {
        const pending = wave.clusters.filter((n) => {
          const seen = this.#observations.get(n);
          return !(seen && seen.at >= since && seen.healthy && seen.appliedRevision === rollout.revision);
        });
        return this.#fail(
          wave,
          pending.map((cluster) => ({
            cluster,
            reason: `not healthy at ${rollout.revision} within the wave timeout`,
          })),
        );
      }
      return { repinned: [], verify: [], wakeAt: deadline };
    }
    // Baking: after the bake time every cluster must confirm its health with a pass that ended later.
    const bakeUntil = wave.bakeUntil ?? now;
    if (now < bakeUntil) return { repinned: [], verify: [], wakeAt: bakeUntil };
    if (!allConfirmed || !allHealthy) {
      const verify = wave.clusters.filter((n) => (this.#observations.get(n)?.at ?? 0) < bakeUntil);
      return { repinned: [], verify, wakeAt: undefined };
    }
    return this.#succeed(wave, now);
  }

  /**
   * Skips the rest of the bake of the wave in progress, or starts a wave waiting for promotion.
   * Returns what changed; nothing when no wave can be promoted.
   */
  promote(now: number): StepResult {
    const rollout = this.#rollout;
    if (rollout?.phase !== 'Progressing') return { repinned: [], verify: [], wakeAt: undefined };
    const wave = rollout.waves[rollout.index];
    if (!wave) return { repinned: [], verify: [], wakeAt: undefined };
    if (wave.phase === 'AwaitingPromotion')
      return this.#merge(this.#startWave(rollout.index, now), this.step(now));
    if (wave.phase === 'Baking') return this.#succeed(wave, now);
    return { repinned: [], verify: [], wakeAt: undefined };
  }

  /** Stops the rollout where it is: no wave starts, pins stay. */
  halt(): void {
    const rollout = this.#rollout;
    if (!rollout || (rollout.phase !== 'Progressing' && rollout.phase !== 'Failed')) return;
    this.#haltedFrom = rollout.phase;
    rollout.phase = 'Halted';
    rollout.message = `Halted by hand at ${rollout.waves[rollout.index]?.name ?? 'the end'}`;
  }

  /**
   * Continues a halted rollout, or tries a failed wave again (its clusters pinned to the revision
   * once more, for example after the cause was fixed).
   */
  resume(now: number): StepResult {
    const rollout = this.#rollout;
    if (!rollout) return { repinned: [], verify: [], wakeAt: undefined };
    const from = rollout.phase === 'Halted' ? this.#haltedFrom : rollout.phase;
    this.#haltedFrom = undefined;
    if (from === 'Failed') {
      rollout.phase = 'Progressing';
      return this.#merge(this.#startWave(rollout.index, now), this.step(now));
    }
    if (rollout.phase === 'Halted') {
      rollout.phase = 'Progressing';
      rollout.message = `Rolling out ${rollout.revision}`;
      const wave = rollout.waves[rollout.index];
      if (wave?.phase === 'Pending') return this.#merge(this.#startWave(rollout.index, now), this.step(now));
      return this.step(now);
    }
    return { repinned: [], verify: [], wakeAt: undefined };
  }

  /** The rollout as a value. */
  status(): RolloutStatus {
    const rollout = this.#rollout;
    const iso = (ms: number | undefined): string | undefined =>
      ms === undefined ? undefined : new Date(ms).toISOString();
    return {
      phase: rollout?.phase ?? 'Idle',
      revision: rollout?.revision,
      stableRevision: this.#stable,
      currentWave:
        rollout && rollout.waves.length > 0 ? Math.min(rollout.index, rollout.waves.length - 1) : undefined,
      waves: (rollout?.waves ?? []).map((w, index) => ({
        index,
        name: w.name,
        clusters: [...w.clusters],
        phase: w.phase,
        ...(w.startedAt === undefined ? {} : { startedAt: iso(w.startedAt) }),
        ...(w.healthyAt === undefined ? {} : { healthyAt: iso(w.healthyAt) }),
        ...(w.bakeUntil === undefined ? {} : { bakeUntil: iso(w.bakeUntil) }),
        failures: w.failures.map((f) => ({ ...f })),
      })),
      pins: Object.fromEntries(this.#pins),
      message: rollout?.message ?? 'No revision seen yet',
    };
  }

  /** The wave a cluster belongs to in the current rollout, if any. */
  waveOf(cluster: string): WaveStatus | undefined {
    return this.status().waves.find((w) => w.clusters.includes(cluster));
  }

  #startWave(index: number, now: number): StepResult {
    const rollout = this.#rollout!;
    const wave = rollout.waves[index]!;
    rollout.index = index;
    wave.phase = 'Progressing';
    wave.startedAt = now;
    wave.healthyAt = undefined;
    wave.bakeUntil = undefined;
    wave.failures = [];
    rollout.message = `Rolling out ${rollout.revision}: ${wave.name} (${index + 1} of ${rollout.waves.length})`;
    return { repinned: this.#pinAll(wave.clusters, () => rollout.revision), verify: [], wakeAt: undefined };
  }

  #succeed(wave: Wave, now: number): StepResult {
    const rollout = this.#rollout!;
    wave.phase = 'Succeeded';
    for (const name of wave.clusters) this.#lastGood.set(name, rollout.revision);
    const next = rollout.index + 1;
    if (next >= rollout.waves.length) return this.#complete();
    rollout.index = next;
    if (this.#strategy.manualPromotion) {
      rollout.waves[next]!.phase = 'AwaitingPromotion';
      rollout.message = `${wave.name} succeeded; ${rollout.waves[next]!.name} waits for promotion`;
      return { repinned: [], verify: [], wakeAt: undefined };
    }
    return this.#merge(this.#startWave(next, now), this.step(now));
  }

  #fail(wave: Wave, failures: { cluster: string; reason: string }[]): StepResult {
    const rollout = this.#rollout!;
    wave.phase = 'Failed';
    wave.failures = failures;
    rollout.phase = 'Failed';
    const names = failures.map((f) => f.cluster).join(', ');
    rollout.message = `${wave.name} failed (${names}): rolled its clusters back; later waves do not start`;
    const stable = this.#stable;
    const repinned = this.#pinAll(wave.clusters, (name) => {
      const good = this.#lastGood.get(name);
      return good !== undefined && good !== rollout.revision ? good : (stable ?? rollout.revision);
    });
    return { repinned, verify: [], wakeAt: undefined };
  }

  #complete(): StepResult {
    const rollout = this.#rollout!;
    rollout.phase = 'Completed';
    rollout.index = rollout.waves.length;
    rollout.message = `${rollout.revision} reached every wave`;
    this.#stable = rollout.revision;
    // Clusters in no wave (none, normally) get the revision too.
    const repinned = this.#pinAll([...this.#clusters.keys()], () => rollout.revision);
    return { repinned, verify: [], wakeAt: undefined };
  }

  #pinAll(names: readonly string[], revisionOf: (name: string) => string): string[] {
    const moved: string[] = [];
    for (const name of names) {
      const revision = revisionOf(name);
      if (this.#pins.get(name) !== revision) {
        this.#pins.set(name, revision);
        moved.push(name);
      }
    }
    return moved;
  }

  #merge(a: StepResult, b: StepResult): StepResult {
    const wake = [a.wakeAt, b.wakeAt].filter((t): t is number => t !== undefined);
    return {
      repinned: [...new Set([...a.repinned, ...b.repinned])],
      verify: [...new Set([...a.verify, ...b.verify])],
      wakeAt: wake.length > 0 ? Math.min(...wake) : undefined,
    };
  }
}
