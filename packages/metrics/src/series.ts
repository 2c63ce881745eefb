import type { Metric } from 'prom-client';

type LabelValues = Record<string, string>;

/** A metric whose series can be removed by their full label set (every prom-client metric). */
interface Removable {
  remove(labels: LabelValues): void;
}

/**
 * The series one reconciler created, so they can all be removed when it goes (Flux kept stale
 * gauges until a restart, flux2 #4139). Keyed by metric and label set; removing is idempotent.
 */
export class SeriesTracker {
  readonly #series = new Map<string, { metric: Removable; labels: LabelValues }>();

  /** Records a series about to be written. */
  track(metric: Metric, labels: LabelValues): void {
    const key = `${(metric as unknown as { name: string }).name}\u0000${JSON.stringify(labels)}`;
    if (!this.#series.has(key)) this.#series.set(key, { metric: metric as unknown as Removable, labels });
  }

  /** Removes one tracked series (a replaced info series), if tracked. */
  drop(metric: Metric, labels: LabelValues): void {
    const key = `${(metric as unknown as { name: string }).name}\u0000${JSON.stringify(labels)}`;
    const entry = this.#series.get(key);
    if (!entry) return;
    entry.metric.remove(entry.labels);
    this.#series.delete(key);
  }

  /** Removes every tracked series from its metric. */
  removeAll(): void {
    for (const { metric, labels } of this.#series.values()) metric.remove(labels);
    this.#series.clear();
  }

  /** How many series are tracked. */
  get size(): number {
    return this.#series.size;
  }
}
