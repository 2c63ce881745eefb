import type { Manager, ReconcilerEventName, ReconcilerListener } from '@gitops-kit/core';
import { context, type Span, SpanStatusCode, type Tracer, trace } from '@opentelemetry/api';

/** What tracing needs of a reconciler. */
export interface TracedReconciler {
  /** Its name, the `gitops_kit.reconciler` attribute. */
  readonly name: string;
  /** Adds an event listener. */
  on<K extends ReconcilerEventName>(event: K, listener: ReconcilerListener<K>): unknown;
  /** Removes an event listener. */
  off<K extends ReconcilerEventName>(event: K, listener?: ReconcilerListener<K>): unknown;
}

/** Options of {@link traceReconciler}. */
export interface TracingOptions {
  /** The tracer (default: `trace.getTracer('@gitops-kit/metrics')`, a no-op until an SDK is installed). */
  readonly tracer?: Tracer;
  /** Wall-clock milliseconds (default `Date.now`): span times; event durations are the reconciler's. */
  readonly now?: () => number;
}

/** The attribute names spans carry. */
export const SPAN_ATTRIBUTES = {
  /** The reconciler's name. */
  reconciler: 'gitops_kit.reconciler',
  /** The revision fetched (on stage spans: the one the stage worked on). */
  revision: 'gitops_kit.revision',
  /** The revision applied after the pass. */
  appliedRevision: 'gitops_kit.applied_revision',
  /** The stage of a stage span. */
  stage: 'gitops_kit.stage',
  /** The pass's outcome. */
  outcome: 'gitops_kit.outcome',
  /** The error code of a failed stage or pass. */
  errorCode: 'gitops_kit.error.code',
} as const;

/**
 * Spans for a reconciler's passes through `@opentelemetry/api`: one `gitops-kit.reconcile` span per
 * pass and one child span per stage (`gitops-kit.fetch`, `gitops-kit.render`, ... `gitops-kit.rollback`),
 * with the revision as an attribute, and the error code and status on failures. It costs nothing
 * when no OpenTelemetry SDK is installed (the API's tracer is a no-op then). Returns the function
 * that stops tracing.
 */
export function traceReconciler(reconciler: TracedReconciler, options: TracingOptions = {}): () => void {
  const tracer = options.tracer ?? trace.getTracer('@gitops-kit/metrics');
  const now = options.now ?? Date.now;
  let pass: Span | undefined;
  const base = { [SPAN_ATTRIBUTES.reconciler]: reconciler.name };
  const onStart: ReconcilerListener<'passStarted'> = () => {
    pass?.end();
    pass = tracer.startSpan('gitops-kit.reconcile', { startTime: now(), attributes: base });
  };
  const onStage: ReconcilerListener<'stage'> = (e) => {
    const parent = pass ? trace.setSpan(context.active(), pass) : context.active();
    const end = now();
    const span = tracer.startSpan(
      `gitops-kit.${e.stage}`,
      {
        startTime: end - e.durationMs,
        attributes: {
          ...base,
          [SPAN_ATTRIBUTES.stage]: e.stage,
          ...(e.revision === undefined ? {} : { [SPAN_ATTRIBUTES.revision]: e.revision }),
        },
      },
      parent,
    );
    if (e.error) {
      span.setAttribute(SPAN_ATTRIBUTES.errorCode, e.error.code);
      span.setStatus({ code: SpanStatusCode.ERROR, message: e.error.message });
    }
    if (e.revision !== undefined) pass?.setAttribute(SPAN_ATTRIBUTES.revision, e.revision);
    span.end(end);
  };
  const onFinish: ReconcilerListener<'passFinished'> = ({ result }) => {
    const span = pass;
    pass = undefined;
    if (!span) return;
    span.setAttribute(SPAN_ATTRIBUTES.outcome, result.outcome);
    if (result.revision !== undefined) span.setAttribute(SPAN_ATTRIBUTES.revision, result.revision);
    if (result.appliedRevision !== undefined) {
      span.setAttribute(SPAN_ATTRIBUTES.appliedRevision, result.appliedRevision);
    }
    if (result.outcome === 'failed') {
      if (result.error) span.setAttribute(SPAN_ATTRIBUTES.errorCode, result.error.code);
      span.setStatus({ code: SpanStatusCode.ERROR, message: result.message });
    }
    span.end(now());
  };
  reconciler.on('passStarted', onStart);
  reconciler.on('stage', onStage);
  reconciler.on('passFinished', onFinish);
  return () => {
    reconciler.off('passStarted', onStart);
    reconciler.off('stage', onStage);
    reconciler.off('passFinished', onFinish);
    pass?.end();
    pass = undefined;
  };
}

/** Traces every reconciler of a manager, those added later too; returns the function that stops it. */
export function traceManager(manager: Manager, options: TracingOptions = {}): () => void {
  const stops = new Map<string, () => void>();
  const add = (reconciler: TracedReconciler): void => {
    if (!stops.has(reconciler.name)) stops.set(reconciler.name, traceReconciler(reconciler, options));
  };
  for (const name of manager.names()) {
    const reconciler = manager.get(name);
    if (reconciler) add(reconciler);
  }
  const stop = manager.onMembership(({ type, reconciler }) => {
    if (type === 'added') add(reconciler);
    else {
      stops.get(reconciler.name)?.();
      stops.delete(reconciler.name);
    }
  });
  return () => {
    stop();
    for (const s of stops.values()) s();
    stops.clear();
  };
}
