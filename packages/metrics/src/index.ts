/**
 * Observability for gitops-kit: Prometheus metrics with Flux-compatible names on a registry the
 * program passes in, a ready `/metrics` handler, OpenTelemetry spans per pass and stage, and the
 * Grafana dashboard JSON (`packages/metrics/dashboard/gitops-kit.json` in the repository).
 */
export { exponentialBucketsRange, FLUX_DURATION_BUCKETS } from './buckets.js';
export { MetricsError, MetricsErrorCodes } from './errors.js';
export { type MetricsServer, metricsHandler, type ServeMetricsOptions, serveMetrics } from './handler.js';
export { type IdentityLabels, identityOf } from './labels.js';
export {
  type ApiRequestRecord,
  MAX_SERIES_PER_RECONCILER,
  METRIC_NAMES,
  type ObservedReconciler,
  ReconcilerMetrics,
  type ReconcilerMetricsOptions,
} from './metrics.js';
export {
  SPAN_ATTRIBUTES,
  type TracedReconciler,
  type TracingOptions,
  traceManager,
  traceReconciler,
} from './tracing.js';
