/**
 * `count` buckets growing by the same factor from `min` to `max`, computed as Prometheus' Go
 * client computes `ExponentialBucketsRange`, so the `le` labels match Flux's.
 */
export function exponentialBucketsRange(min: number, max: number, count: number): number[] {
  const factor = (max / min) ** (1 / (count - 1));
  return Array.from({ length: count }, (_, i) => min * factor ** i);
}

/**
 * Flux's reconcile duration buckets (fluxcd/pkg `runtime/metrics`): 10 buckets from 10 ms to
 * 30 minutes. Used for the stage histogram too, so both read alike.
 */
export const FLUX_DURATION_BUCKETS: readonly number[] = exponentialBucketsRange(0.01, 1800, 10);
