import {
  type Manager,
  PASS_STAGES,
  type ReconcilerEventName,
  type ReconcilerListener,
} from '@gitops-kit/core';
import { Counter, Gauge, Histogram, type Metric, type Registry } from 'prom-client';
import { FLUX_DURATION_BUCKETS } from './buckets.js';
import { MetricsError, MetricsErrorCodes } from './errors.js';
import { type IdentityLabels, identityOf } from './labels.js';
import { SeriesTracker } from './series.js';

/** Options of {@link ReconcilerMetrics}. */
export interface ReconcilerMetricsOptions {
  /**
   * The prom-client registry to register on. Required: the metrics never land on prom-client's
   * global registry unless the program passes it (`register` from prom-client).
   */
  readonly registry: Registry;
  /** The `kind` label (default `Reconciler`): Flux puts `Kustomization` or `HelmRelease` there. */
  readonly kind?: string;
  /** The `namespace` label of reconcilers whose name has no `namespace/` prefix (default `default`). */
  readonly namespace?: string;
}

/** One Kubernetes API request, as `KubernetesTarget`'s request hook reports it. */
export interface ApiRequestRecord {
  /** The Kubernetes verb: `get`, `list`, `watch`, `create`, `update`, `patch`, `apply`, `delete`. */
  readonly verb: string;
  /** The HTTP status code, or 0 when no answer came (network error, timeout, abort). */
  readonly code: number;
}

/** What the metrics need of a reconciler: its name, its source's description and its events. */
export interface ObservedReconciler {
  /** Its name: `name` and `namespace` labels (`namespace/name` is split). */
  readonly name: string;
  /** Its source: the `source` label of the info series. */
  readonly source: {
    /** A description without credentials. */
    readonly description: string;
  };
  /** Adds an event listener. */
  on<K extends ReconcilerEventName>(event: K, listener: ReconcilerListener<K>): unknown;
  /** Removes an event listener. */
  off<K extends ReconcilerEventName>(event: K, listener?: ReconcilerListener<K>): unknown;
}

/** The statuses Flux writes a `gotk_reconcile_condition` series for, per condition type. */
const CONDITION_STATUSES = ['True', 'False', 'Unknown'] as const;

/** The condition types a gitops-kit reconciler reports. */
const CONDITION_TYPES = ['Ready', 'Reconciling', 'Stalled', 'Healthy'] as const;

/** The metric names this package exports (the dashboard test checks its queries against them). */
export const METRIC_NAMES = {
  /** Flux's pass duration histogram. */
  reconcileDuration: 'gotk_reconcile_duration_seconds',
  /** Flux's condition gauge (type, status). */
  reconcileCondition: 'gotk_reconcile_condition',
  /** Flux's suspend gauge. */
  suspendStatus: 'gotk_suspend_status',
  /** Duration of each stage of a pass. */
  stageDuration: 'gitops_kit_stage_duration_seconds',
  /** Passes by result. */
  reconciles: 'gitops_kit_reconcile_total',
  /** Failed passes by error stage. */
  failures: 'gitops_kit_reconcile_failures_total',
  /** Objects created, updated, pruned, drifted. */
  objects: 'gitops_kit_objects_total',
  /** Rollbacks. */
  rollbacks: 'gitops_kit_rollbacks_total',
  /** Source fetches by result. */
  sourcePolls: 'gitops_kit_source_polls_total',
  /** Source, last applied revision and outcome of a reconciler. */
  info: 'gitops_kit_reconciler_info',
  /** Kubernetes API requests by verb and code. */
  kubernetesRequests: 'gitops_kit_kubernetes_requests_total',
} as const;

/**
 * The most series one reconciler can have: reconcile duration 13 (10 buckets, +Inf, sum, count),
 * conditions 12 (4 types × 3 statuses), suspend 1, stage durations 104 (8 stages × 13), reconciles
 * 4 (per outcome), failures 8 (per error stage), objects 4 (per action), rollbacks 1, source polls
 * 3 (per result), info 1. Kubernetes request counters are per target, not per reconciler.
 */
export const MAX_SERIES_PER_RECONCILER = 13 + 12 + 1 + 8 * 13 + 4 + 8 + 4 + 1 + 3 + 1;

type Labels = Record<string, string>;

interface Attached {
  readonly series: SeriesTracker;
  readonly detach: () => void;
}

/**
 * Prometheus metrics for reconcilers, fed by their typed events: Flux's `gotk_*` series, so
 * Flux's Grafana dashboards work unchanged, and gitops-kit's own (`gitops_kit_*`: durations per
 * stage, objects written, rollbacks, source polls, Kubernetes API requests, an info series). One
 * instance per registry; observe each reconciler (or a whole Manager) once. See the README for
 * every metric, its labels and its Flux or Argo CD counterpart.
 */
export class ReconcilerMetrics {
  /** The registry the metrics are registered on. */
  readonly registry: Registry;
  readonly #kind: string;
  readonly #namespace: string;
  readonly #attached = new Map<string, Attached>();
  readonly #duration: Histogram;
  readonly #condition: Gauge;
  readonly #suspend: Gauge;
  readonly #stage: Histogram;
  readonly #reconciles: Counter;
  readonly #failures: Counter;
  readonly #objects: Counter;
  readonly #rollbacks: Counter;
  readonly #polls: Counter;
  readonly #info: Gauge;
  readonly #requests: Counter;

  /** Registers every metric on `options.registry`; a name already there is a `MetricsError`. */
  constructor(options: ReconcilerMetricsOptions) {
    const registry = options.registry;
    this.registry = registry;
    this.#kind = options.kind ?? 'Reconciler';
    this.#namespace = options.namespace ?? 'default';
    for (const name of Object.values(METRIC_NAMES)) {
      if (registry.getSingleMetric(name)) {
        throw new MetricsError(
          MetricsErrorCodes.AlreadyRegistered,
          `The registry already has a metric named ${name}: create one ReconcilerMetrics per registry`,
        );
      }
    }
    const id = ['kind', 'name', 'namespace'];
    const registers = [registry];
    const buckets = [...FLUX_DURATION_BUCKETS];
    const histogram = (name: string, help: string, extra: string[] = []): Histogram =>
      new Histogram({ name, help, labelNames: [...id, ...extra], buckets, registers });
    const gauge = (name: string, help: string, extra: string[] = []): Gauge =>
      new Gauge({ name, help, labelNames: [...id, ...extra], registers });
    const counter = (name: string, help: string, labelNames: string[]): Counter =>
      new Counter({ name, help, labelNames, registers });
    const n = METRIC_NAMES;
    this.#duration = histogram(
      n.reconcileDuration,
      'The duration in seconds of a gitops-kit reconcile pass (Flux-compatible).',
    );
    this.#condition = gauge(
      n.reconcileCondition,
      'The current condition status of a gitops-kit reconciler (Flux-compatible): 1 for the status it has.',
      ['type', 'status'],
    );
    this.#suspend = gauge(
      n.suspendStatus,
      'Whether a gitops-kit reconciler is suspended, 1 or 0 (Flux-compatible).',
    );
    this.#stage = histogram(
      n.stageDuration,
      'The duration in seconds of one stage of a pass (fetch, render, plan, validate, apply, prune, health, rollback).',
      ['stage'],
    );
    this.#reconciles = counter(
      n.reconciles,
      'Passes that ran, by result (succeeded, failed, rolledBack, skipped).',
      [...id, 'result'],
    );
    this.#failures = counter(
      n.failures,
      'Failed passes by the stage of their error (source, render, validation, apply, prune, health, conflict, reconcile).',
      [...id, 'stage'],
    );
    this.#objects = counter(
      n.objects,
      'Objects written or deleted, by action: created, updated (drifted included), pruned, drifted.',
      [...id, 'action'],
    );
    this.#rollbacks = counter(n.rollbacks, 'Rollbacks to the last healthy revision.', id);
    this.#polls = counter(
      n.sourcePolls,
      'Source fetches by result: changed (a new revision or content), unchanged (a no-change poll), failed.',
      [...id, 'result'],
    );
    this.#info = gauge(
      n.info,
      'Always 1: the source, last applied revision and last outcome of a reconciler.',
      ['source', 'revision', 'outcome'],
    );
    this.#requests = counter(
      n.kubernetesRequests,
      'Requests a KubernetesTarget sent to the apiserver, by verb and HTTP status code.',
      ['target', 'verb', 'code'],
    );
  }

  /**
   * Feeds the metrics from a reconciler's events until the returned function is called, which
   * also removes every series of the reconciler. Observing the same name twice is a no-op that
   * returns the first detach function.
   */
  observe(reconciler: ObservedReconciler): () => void {
    const existing = this.#attached.get(reconciler.name);
    if (existing) return existing.detach;
    const id = identityOf(reconciler.name, this.#kind, this.#namespace);
    const series = new SeriesTracker();
    const listeners = this.#listeners(reconciler, id, series);
    for (const [event, listener] of listeners) reconciler.on(event, listener as never);
    const detach = (): void => {
      if (this.#attached.get(reconciler.name)?.detach !== detach) return;
      for (const [event, listener] of listeners) reconciler.off(event, listener as never);
      series.removeAll();
      this.#attached.delete(reconciler.name);
    };
    this.#attached.set(reconciler.name, { series, detach });
    // Series that exist before the first pass: the suspend gauge and the zeroed counters, so
    // `rate()` and `increase()` see the first increment.
    this.#set(this.#suspend, { ...id }, 0, series);
    for (const result of ['succeeded', 'failed', 'rolledBack', 'skipped']) {
      this.#inc(this.#reconciles, { ...id, result }, 0, series);
    }
    this.#inc(this.#rollbacks, { ...id }, 0, series);
    for (const action of ['created', 'updated', 'pruned', 'drifted']) {
      this.#inc(this.#objects, { ...id, action }, 0, series);
    }
    for (const result of ['changed', 'unchanged', 'failed']) {
      this.#inc(this.#polls, { ...id, result }, 0, series);
    }
    return detach;
  }

  /**
   * Observes every reconciler of a manager, those added later too, and removes the series of a
   * reconciler when it is removed from the manager. Returns the function that stops it all.
   */
  observeManager(manager: Manager): () => void {
    for (const name of manager.names()) {
      const reconciler = manager.get(name);
      if (reconciler) this.observe(reconciler);
    }
    const stop = manager.onMembership(({ type, reconciler }) => {
      if (type === 'added') this.observe(reconciler);
      else this.forget(reconciler.name);
    });
    return () => {
      stop();
      for (const name of manager.names()) this.forget(name);
    };
  }

  /** Stops observing a reconciler and removes its series; false when it was not observed. */
  forget(name: string): boolean {
    const attached = this.#attached.get(name);
    if (!attached) return false;
    attached.detach();
    return true;
  }

  /** How many series a reconciler has now (at most {@link MAX_SERIES_PER_RECONCILER}). */
  seriesOf(name: string): number {
    return this.#attached.get(name)?.series.size ?? 0;
  }

  /**
   * A listener for `KubernetesTarget`'s request hook (`target.client.onResponse(...)`), counting
   * requests by verb and code under the target's name.
   */
  kubernetesRequests(targetName: string): (record: ApiRequestRecord) => void {
    return (record) =>
      this.#requests.inc({ target: targetName, verb: record.verb, code: codeLabel(record.code) });
  }

  #listeners(
    reconciler: ObservedReconciler,
    id: IdentityLabels,
    series: SeriesTracker,
  ): [ReconcilerEventName, (payload: never) => void][] {
    let lastFetched: { revision: string; digest: string } | undefined;
    let info: Labels | undefined;
    let outcome = 'none';
    let applied = '';
    const updateInfo = (): void => {
      const next = { ...id, source: reconciler.source.description, revision: applied, outcome };
      if (info && JSON.stringify(info) === JSON.stringify(next)) return;
      if (info) series.drop(this.#info, info);
      info = next;
      this.#set(this.#info, next, 1, series);
    };
    const on = <K extends ReconcilerEventName>(
      event: K,
      listener: ReconcilerListener<K>,
    ): [ReconcilerEventName, (payload: never) => void] => [event, listener as (payload: never) => void];
    updateInfo();
    return [
      on('status', ({ status }) => {
        for (const type of CONDITION_TYPES) {
          const condition = status.conditions.find((c) => c.type === type);
          if (!condition) continue;
          for (const value of CONDITION_STATUSES) {
            this.#set(
              this.#condition,
              { ...id, type, status: value },
              condition.status === value ? 1 : 0,
              series,
            );
          }
        }
        this.#set(this.#suspend, { ...id }, status.suspended ? 1 : 0, series);
        if (status.lastAppliedRevision !== undefined && status.lastAppliedRevision !== applied) {
          applied = status.lastAppliedRevision;
          updateInfo();
        }
      }),
      on('stage', (e) => {
        if ((PASS_STAGES as readonly string[]).includes(e.stage)) {
          this.#observe(this.#stage, { ...id, stage: e.stage }, e.durationMs / 1000, series);
        }
        if (e.stage === 'fetch' && e.error) this.#inc(this.#polls, { ...id, result: 'failed' }, 1, series);
      }),
      on('fetched', (e) => {
        const unchanged = lastFetched?.revision === e.revision && lastFetched.digest === e.digest;
        lastFetched = { revision: e.revision, digest: e.digest };
        this.#inc(this.#polls, { ...id, result: unchanged ? 'unchanged' : 'changed' }, 1, series);
      }),
      on('drifted', (e) => this.#inc(this.#objects, { ...id, action: 'drifted' }, e.objects.length, series)),
      on('applied', (e) => {
        this.#inc(this.#objects, { ...id, action: 'created' }, e.summary.create, series);
        this.#inc(this.#objects, { ...id, action: 'updated' }, e.summary.update, series);
      }),
      on('pruned', (e) =>
        this.#inc(this.#objects, { ...id, action: 'pruned' }, e.result.deleted.length, series),
      ),
      on('rolledBack', () => this.#inc(this.#rollbacks, { ...id }, 1, series)),
      on('passFinished', ({ result }) => {
        this.#inc(this.#reconciles, { ...id, result: result.outcome }, 1, series);
        if (result.outcome === 'skipped') return;
        this.#observe(this.#duration, { ...id }, result.durationMs / 1000, series);
        if (result.outcome === 'failed') {
          this.#inc(this.#failures, { ...id, stage: result.error?.stage ?? 'reconcile' }, 1, series);
        }
        outcome = result.outcome;
        if (result.appliedRevision !== undefined) applied = result.appliedRevision;
        updateInfo();
      }),
    ];
  }

  #set(gauge: Gauge, labels: Labels, value: number, series: SeriesTracker): void {
    series.track(gauge as Metric, labels);
    gauge.set(labels, value);
  }

  #inc(counter: Counter, labels: Labels, by: number, series: SeriesTracker): void {
    series.track(counter as Metric, labels);
    counter.inc(labels, by);
  }

  #observe(histogram: Histogram, labels: Labels, seconds: number, series: SeriesTracker): void {
    series.track(histogram as Metric, labels);
    histogram.observe(labels, Math.max(0, seconds));
  }
}

/** The `code` label: the status code, or `<error>` when no answer came (client-go's spelling). */
function codeLabel(code: number): string {
  return code > 0 ? String(code) : '<error>';
}
