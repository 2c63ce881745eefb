import { Manager } from '@gitops-kit/core';
import { whileTimePasses } from '@gitops-kit/core/testing';
import {
  FLUX_DURATION_BUCKETS,
  MAX_SERIES_PER_RECONCILER,
  MetricsError,
  ReconcilerMetrics,
} from '@gitops-kit/metrics';
import { register as globalRegistry, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { configMap, deployment, rig } from './support/rig.js';

/** The value of one series, found by metric name and a subset of its labels. */
async function value(
  registry: Registry,
  name: string,
  labels: Record<string, string>,
): Promise<number | undefined> {
  const metrics = await registry.getMetricsAsJSON();
  const base = name.replace(/_(bucket|sum|count)$/, '');
  const metric = metrics.find((m) => m.name === base);
  const sample = (metric?.values ?? []).find((v) =>
    (v as { metricName?: string }).metricName === (name === base ? undefined : name) ||
    (name === base && (v as { metricName?: string }).metricName === undefined)
      ? Object.entries(labels).every(([k, l]) => String((v.labels as Record<string, unknown>)[k]) === l)
      : false,
  );
  return sample?.value;
}

/** Every series line of the text exposition that names `reconciler`. */
async function seriesOf(registry: Registry, reconciler: string): Promise<string[]> {
  const text = await registry.metrics();
  return text.split('\n').filter((line) => !line.startsWith('#') && line.includes(`name="${reconciler}"`));
}

const waitOptions = { wait: true, healthPollInterval: 1_000, healthTimeout: 10_000 } as const;

describe('ReconcilerMetrics', () => {
  it('uses Flux buckets: 10 exponential buckets from 10 ms to 1800 s', () => {
    expect(FLUX_DURATION_BUCKETS).toHaveLength(10);
    expect(FLUX_DURATION_BUCKETS[0]).toBeCloseTo(0.01, 10);
    expect(FLUX_DURATION_BUCKETS[9]).toBeCloseTo(1800, 6);
    expect(FLUX_DURATION_BUCKETS[1]).toBeCloseTo(0.0383636, 6);
  });

  it('registers on the registry given, never on the global one, and refuses a second instance there', () => {
    const registry = new Registry();
    new ReconcilerMetrics({ registry });
    expect(registry.getSingleMetric('gotk_reconcile_duration_seconds')).toBeDefined();
    expect(globalRegistry.getSingleMetric('gotk_reconcile_duration_seconds')).toBeUndefined();
    expect(() => new ReconcilerMetrics({ registry })).toThrow(MetricsError);
  });

  it('records Flux series, stage durations, objects, polls and the info series of a pass', async () => {
    const registry = new Registry();
    const metrics = new ReconcilerMetrics({ registry, kind: 'GitOpsKit' });
    const r = rig('team-a/web', { 'web.yaml': deployment('web', 'app:1'), 'cm.yaml': configMap('cm') });
    metrics.observe(r.reconciler);
    const id = { kind: 'GitOpsKit', name: 'web', namespace: 'team-a' };

    const first = await r.reconciler.reconcile();
    expect(first.outcome).toBe('succeeded');
    await r.reconciler.reconcile(); // nothing changed: a no-change poll

    expect(await value(registry, 'gotk_reconcile_duration_seconds_count', id)).toBe(2);
    expect(await value(registry, 'gotk_reconcile_condition', { ...id, type: 'Ready', status: 'True' })).toBe(
      1,
    );
    expect(await value(registry, 'gotk_reconcile_condition', { ...id, type: 'Ready', status: 'False' })).toBe(
      0,
    );
    expect(await value(registry, 'gotk_suspend_status', id)).toBe(0);
    for (const stage of ['fetch', 'render', 'plan', 'validate', 'apply']) {
      expect(await value(registry, 'gitops_kit_stage_duration_seconds_count', { ...id, stage })).toBe(2);
    }
    expect(await value(registry, 'gitops_kit_objects_total', { ...id, action: 'created' })).toBe(2);
    expect(await value(registry, 'gitops_kit_source_polls_total', { ...id, result: 'changed' })).toBe(1);
    expect(await value(registry, 'gitops_kit_source_polls_total', { ...id, result: 'unchanged' })).toBe(1);
    expect(await value(registry, 'gitops_kit_reconcile_total', { ...id, result: 'succeeded' })).toBe(2);
    const revision = r.source.head?.revision ?? '';
    expect(
      await value(registry, 'gitops_kit_reconciler_info', { ...id, revision, outcome: 'succeeded' }),
    ).toBe(1);

    r.reconciler.suspend();
    expect(await value(registry, 'gotk_suspend_status', id)).toBe(1);
  });

  it('counts drift, prune, failures by stage and rollbacks, and keeps one info series', async () => {
    const registry = new Registry();
    const metrics = new ReconcilerMetrics({ registry });
    const r = rig(
      'app',
      { 'web.yaml': deployment('web', 'app:1'), 'cm.yaml': configMap('cm') },
      {
        ...waitOptions,
        rollback: true,
      },
    );
    metrics.observe(r.reconciler);
    const id = { kind: 'Reconciler', name: 'app', namespace: 'default' };
    await whileTimePasses(r.clock, r.reconciler.reconcile());

    r.cluster.edit({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'default', name: 'web' }, (o) => {
      (o.spec as { replicas: number }).replicas = 3;
      return o;
    });
    r.source.removeFile('cm.yaml').commit();
    await whileTimePasses(r.clock, r.reconciler.reconcile());
    expect(await value(registry, 'gitops_kit_objects_total', { ...id, action: 'drifted' })).toBe(1);
    expect(await value(registry, 'gitops_kit_objects_total', { ...id, action: 'pruned' })).toBe(1);

    r.source.setFile('bad.yaml', 'kind: [').commit();
    const failed = await whileTimePasses(r.clock, r.reconciler.reconcile());
    expect(failed.outcome).toBe('failed');
    expect(await value(registry, 'gitops_kit_reconcile_failures_total', { ...id, stage: 'render' })).toBe(1);
    expect(await value(registry, 'gotk_reconcile_condition', { ...id, type: 'Ready', status: 'False' })).toBe(
      1,
    );

    r.source.removeFile('bad.yaml').setFile('web.yaml', deployment('web', 'app:2')).commit();
    r.cluster.setHealth((o) => JSON.stringify(o).includes('app:2'), 'Failed');
    const rolled = await whileTimePasses(r.clock, r.reconciler.reconcile());
    expect(rolled.outcome).toBe('rolledBack');
    expect(await value(registry, 'gitops_kit_rollbacks_total', id)).toBe(1);
    expect(
      await value(registry, 'gitops_kit_stage_duration_seconds_count', { ...id, stage: 'rollback' }),
    ).toBe(1);
    expect(await value(registry, 'gitops_kit_stage_duration_seconds_count', { ...id, stage: 'health' })).toBe(
      4,
    );
    const info = (await seriesOf(registry, 'app')).filter((l) => l.startsWith('gitops_kit_reconciler_info'));
    expect(info).toHaveLength(1);
    expect(info[0]).toContain('outcome="rolledBack"');
    expect(info[0]).toContain(`revision="${rolled.appliedRevision}"`);
  });

  it('stays within the documented bound of series per reconciler', async () => {
    const registry = new Registry();
    const metrics = new ReconcilerMetrics({ registry });
    const r = rig('app', { 'web.yaml': deployment('web', 'app:1') }, { ...waitOptions, rollback: true });
    metrics.observe(r.reconciler);
    for (let i = 2; i < 6; i++) {
      r.source.setFile('web.yaml', deployment('web', `app:${i}`)).commit();
      if (i === 4) r.cluster.setHealth((o) => JSON.stringify(o).includes('app:4'), 'Failed');
      await whileTimePasses(r.clock, r.reconciler.reconcile());
    }
    const lines = await seriesOf(registry, 'app');
    expect(lines.length).toBeGreaterThan(40);
    expect(lines.length).toBeLessThanOrEqual(MAX_SERIES_PER_RECONCILER);
  });

  it('removes every series of a reconciler removed from a Manager (flux2 #4139), keeps the others', async () => {
    const registry = new Registry();
    const metrics = new ReconcilerMetrics({ registry });
    const a = rig('a', { 'cm.yaml': configMap('a') });
    const b = rig('b', { 'cm.yaml': configMap('b') });
    const manager = new Manager();
    manager.add(a.reconciler);
    metrics.observeManager(manager);
    manager.add(b.reconciler); // added after: observed too
    await a.reconciler.reconcile();
    await b.reconciler.reconcile();
    expect((await seriesOf(registry, 'a')).length).toBeGreaterThan(0);
    expect((await seriesOf(registry, 'b')).length).toBeGreaterThan(0);

    await manager.remove('a');

    expect(await seriesOf(registry, 'a')).toEqual([]);
    expect(metrics.seriesOf('a')).toBe(0);
    expect((await seriesOf(registry, 'b')).length).toBeGreaterThan(0);
  });

  it('counts Kubernetes API requests by verb and code', async () => {
    const registry = new Registry();
    const metrics = new ReconcilerMetrics({ registry });
    const record = metrics.kubernetesRequests('prod');
    record({ verb: 'apply', code: 200 });
    record({ verb: 'apply', code: 200 });
    record({ verb: 'get', code: 404 });
    record({ verb: 'list', code: 0 });
    const text = await registry.metrics();
    expect(text).toContain('gitops_kit_kubernetes_requests_total{target="prod",verb="apply",code="200"} 2');
    expect(text).toContain('gitops_kit_kubernetes_requests_total{target="prod",verb="get",code="404"} 1');
    expect(text).toContain(
      'gitops_kit_kubernetes_requests_total{target="prod",verb="list",code="<error>"} 1',
    );
  });
});
