import { ReconcilerMetrics } from '@gitops-kit/metrics';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { dashboardQueries, substitute } from './support/dashboard.js';
import { parsePromQL } from './support/promql.js';

/** The series the package exports, with their labels (histograms as _bucket, _sum, _count). */
function exported(): Map<string, Set<string>> {
  const registry = new Registry();
  new ReconcilerMetrics({ registry });
  const out = new Map<string, Set<string>>();
  for (const metric of registry.getMetricsAsArray()) {
    const { name, labelNames, type } = metric as unknown as {
      name: string;
      labelNames: string[];
      type: string;
    };
    if (type === 'histogram') {
      out.set(`${name}_bucket`, new Set([...labelNames, 'le']));
      out.set(`${name}_sum`, new Set(labelNames));
      out.set(`${name}_count`, new Set(labelNames));
    } else {
      out.set(name, new Set(labelNames));
    }
  }
  return out;
}

describe('Grafana dashboard', () => {
  const all = dashboardQueries();
  const series = exported();

  it('has the panels the issue asks for', () => {
    const text = all.map((q) => q.expr).join('\n');
    for (const metric of [
      'gitops_kit_reconcile_total',
      'gitops_kit_stage_duration_seconds_bucket',
      'gitops_kit_reconcile_failures_total',
      'action="drifted"',
      'gitops_kit_rollbacks_total',
      'gitops_kit_source_polls_total',
      'gotk_reconcile_duration_seconds_bucket',
    ]) {
      expect(text).toContain(metric);
    }
  });

  it.each(all)('$title: $expr parses and uses only exported series and labels', ({ expr }) => {
    const use = parsePromQL(substitute(expr));
    expect(use.selectors.length).toBeGreaterThan(0);
    for (const selector of use.selectors) {
      const labels = series.get(selector.metric);
      expect(labels, `${selector.metric} is not exported`).toBeDefined();
      for (const label of selector.labels)
        expect(labels?.has(label), `${selector.metric} has no ${label}`).toBe(true);
    }
    for (const grouping of use.groupings) {
      for (const label of grouping.labels) {
        const known = grouping.selectors.some((s) => series.get(s.metric)?.has(label));
        expect(known, `grouping by ${label}, which no selector under it has`).toBe(true);
      }
    }
  });

  it('the checker refuses what Prometheus refuses', () => {
    expect(() => parsePromQL('sum(rate(x[5m])')).toThrow();
    expect(() => parsePromQL('rate(x{a="b"[5m])')).toThrow();
    expect(() => parsePromQL('sum by (a (x)')).toThrow();
    expect(() => parsePromQL('nosuchfunction(x)')).toThrow(/unknown function/);
    expect(() => parsePromQL('x{a=b}')).toThrow();
    expect(parsePromQL('histogram_quantile(0.9, sum by (le) (rate(x_bucket[5m]))) > 1').selectors).toEqual([
      { metric: 'x_bucket', labels: [] },
    ]);
  });
});
