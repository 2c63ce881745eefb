import { whileTimePasses } from '@gitops-kit/core/testing';
import { SPAN_ATTRIBUTES, traceReconciler } from '@gitops-kit/metrics';
import { SpanStatusCode } from '@opentelemetry/api';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { describe, expect, it } from 'vitest';
import { configMap, deployment, rig } from './support/rig.js';

function tracer(): { exporter: InMemorySpanExporter; provider: BasicTracerProvider } {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  return { exporter, provider };
}

describe('traceReconciler', () => {
  it('makes one span per pass and one child span per stage, with the revision', async () => {
    const { exporter, provider } = tracer();
    const r = rig('web', { 'cm.yaml': configMap('cm') });
    traceReconciler(r.reconciler, { tracer: provider.getTracer('test') });

    await r.reconciler.reconcile();

    const spans = exporter.getFinishedSpans();
    const pass = spans.find((s) => s.name === 'gitops-kit.reconcile');
    expect(pass).toBeDefined();
    const revision = r.source.head?.revision;
    expect(pass?.attributes[SPAN_ATTRIBUTES.revision]).toBe(revision);
    expect(pass?.attributes[SPAN_ATTRIBUTES.outcome]).toBe('succeeded');
    const stages = spans.filter((s) => s !== pass).map((s) => s.name);
    expect(stages).toEqual([
      'gitops-kit.fetch',
      'gitops-kit.render',
      'gitops-kit.plan',
      'gitops-kit.validate',
      'gitops-kit.apply',
    ]);
    for (const span of spans.filter((s) => s !== pass)) {
      expect(span.parentSpanContext?.spanId).toBe(pass?.spanContext().spanId);
      expect(span.spanContext().traceId).toBe(pass?.spanContext().traceId);
      expect(span.attributes[SPAN_ATTRIBUTES.revision]).toBe(revision);
    }
  });

  it('marks the failing stage and the pass as errors, with the code', async () => {
    const { exporter, provider } = tracer();
    const r = rig('web', { 'bad.yaml': 'kind: [' });
    traceReconciler(r.reconciler, { tracer: provider.getTracer('test') });

    await r.reconciler.reconcile();

    const spans = exporter.getFinishedSpans();
    const render = spans.find((s) => s.name === 'gitops-kit.render');
    expect(render?.status.code).toBe(SpanStatusCode.ERROR);
    expect(render?.attributes[SPAN_ATTRIBUTES.errorCode]).toMatch(/^RENDER_/);
    const pass = spans.find((s) => s.name === 'gitops-kit.reconcile');
    expect(pass?.status.code).toBe(SpanStatusCode.ERROR);
    expect(pass?.attributes[SPAN_ATTRIBUTES.outcome]).toBe('failed');
  });

  it('traces the health wait and the rollback stages', async () => {
    const { exporter, provider } = tracer();
    const r = rig(
      'web',
      { 'web.yaml': deployment('web', 'app:1') },
      {
        wait: true,
        rollback: true,
        healthPollInterval: 1_000,
        healthTimeout: 10_000,
      },
    );
    await whileTimePasses(r.clock, r.reconciler.reconcile());
    traceReconciler(r.reconciler, { tracer: provider.getTracer('test') });
    r.cluster.setHealth((o) => JSON.stringify(o).includes('app:2'), 'Failed');
    r.source.setFile('web.yaml', deployment('web', 'app:2')).commit();

    await whileTimePasses(r.clock, r.reconciler.reconcile());

    const names = exporter.getFinishedSpans().map((s) => s.name);
    expect(names).toContain('gitops-kit.rollback');
    expect(names.filter((n) => n === 'gitops-kit.health')).toHaveLength(2);
    const pass = exporter.getFinishedSpans().find((s) => s.name === 'gitops-kit.reconcile');
    expect(pass?.attributes[SPAN_ATTRIBUTES.outcome]).toBe('rolledBack');
  });

  it('is a no-op without an SDK (the API default tracer)', async () => {
    const r = rig('web', { 'cm.yaml': configMap('cm') });
    const stop = traceReconciler(r.reconciler);
    expect((await r.reconciler.reconcile()).outcome).toBe('succeeded');
    stop();
  });
});
