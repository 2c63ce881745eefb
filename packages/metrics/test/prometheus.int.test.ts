import { randomBytes } from 'node:crypto';
import { type KubeObject, RawRenderer, Reconciler, type ReconcilerOptions } from '@gitops-kit/core';
import { MemorySource } from '@gitops-kit/core/testing';
import { KubeClient, KubernetesTarget } from '@gitops-kit/k8s-target';
import { ReconcilerMetrics, serveMetrics } from '@gitops-kit/metrics';
import { type RunningPrometheus, startPrometheus, startTestenv, type Testenv } from '@gitops-kit/testenv';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dashboardQueries, substitute } from './support/dashboard.js';

/**
 * A real Prometheus (testenv, built by provision.sh) scrapes a program running reconcilers against
 * the living cluster every second; PromQL over its HTTP API shows the series move as passes
 * succeed, fail and roll back, and every query of the Grafana dashboard returns data.
 */

const id = randomBytes(3).toString('hex');
const ns = `prom-${id}`;
const good = `good-${id}`;
const flaky = `flaky-${id}`;
const sel = (name: string): string => `namespace="metrics-test", name="${name}"`;

/** Objects as a multi-document YAML file (JSON is YAML). */
function yamlOf(objects: readonly KubeObject[]): string {
  return objects.map((o) => JSON.stringify(o)).join('\n---\n');
}

function configMap(name: string, value: string): KubeObject {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: ns }, data: { value } };
}

function deployment(name: string, image: string): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: ns },
    spec: {
      replicas: 1,
      // Only the bad image fails fast: the good revision keeps the default deadline, so a busy
      // 2-core machine never fails it.
      ...(image.endsWith(':does-not-exist') ? { progressDeadlineSeconds: 3 } : {}),
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'main', image }] } },
    },
  };
}

/** The single value of an instant query, as a number (NaN when empty). */
function only(samples: { value: string }[]): number {
  return samples.length === 1 ? Number(samples[0]?.value) : Number.NaN;
}

describe('metrics scraped by a real Prometheus (living cluster)', () => {
  const sources: MemorySource[] = [];
  let prometheus: RunningPrometheus;
  let stopServer: () => Promise<void>;
  let goodSource: MemorySource;
  let flakySource: MemorySource;
  let reconcilers: Record<string, Reconciler>;
  let admin: KubeClient;

  let env: Testenv | undefined;

  // A living cluster of its own (as the quickstart's test): the rollback below must see its bad
  // rollout fail and the good one come back within the health timeout, and the shared cluster,
  // late in a full run, carries every earlier test's workloads (the rollback was seen to fail there).
  beforeAll(async () => {
    env = await startTestenv({ kube: true, s3: false, git: false, tools: false });
    const kube = env.kube;
    if (!kube) throw new Error('testenv started no cluster');
    admin = KubeClient.fromKubeConfig(kube.kubeConfig());
    await admin.request({
      method: 'POST',
      path: '/api/v1/namespaces',
      body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } },
    });
    const registry = new Registry();
    const metrics = new ReconcilerMetrics({ registry, namespace: 'metrics-test' });
    const target = new KubernetesTarget({ name: `metrics-${id}`, kubeConfig: kube.kubeConfig() });
    target.onApiRequest(metrics.kubernetesRequests(target.name));
    const server = await serveMetrics({ registry });
    stopServer = server.close;
    prometheus = await startPrometheus({ targets: [server.url] });
    const make = (name: string, source: MemorySource, extra: Partial<ReconcilerOptions> = {}): Reconciler => {
      const reconciler = new Reconciler({
        name,
        source,
        renderer: new RawRenderer(),
        target,
        stateStore: target.stateStore({ namespace: ns }),
        ...extra,
      });
      metrics.observe(reconciler);
      return reconciler;
    };
    goodSource = new MemorySource({ files: { 'cm.yaml': yamlOf([configMap('settings', '1')]) } });
    flakySource = new MemorySource({ files: { 'web.yaml': yamlOf([deployment('web', 'nginx:1.27')]) } });
    sources.push(goodSource, flakySource);
    reconcilers = {
      [good]: make(good, goodSource),
      [flaky]: make(flaky, flakySource, {
        wait: true,
        rollback: true,
        healthPollInterval: 250,
        healthTimeout: 25_000,
        timeout: 90_000,
      }),
    };
    await prometheus.waitFor('up', (s) => s.length === 1 && s[0]?.value === '1');
  });

  afterAll(async () => {
    await prometheus?.stop();
    await stopServer?.();
    await Promise.all(sources.map((s) => s.cleanup()));
    await env?.stop();
  });

  it('shows passes succeed, a drift corrected, a failure and a rollback, and feeds every dashboard query', async () => {
    const r = (name: string): Reconciler => reconcilers[name] as Reconciler;
    expect((await r(good).reconcile()).outcome).toBe('succeeded');
    expect((await r(flaky).reconcile()).outcome).toBe('succeeded');
    await prometheus.waitFor(
      `gitops_kit_reconcile_total{${sel(good)}, result="succeeded"}`,
      (s) => only(s) === 1,
    );
    await prometheus.waitFor(
      `gotk_reconcile_condition{${sel(good)}, type="Ready", status="True"}`,
      (s) => only(s) === 1,
    );
    await prometheus.waitFor(`gotk_reconcile_duration_seconds_count{${sel(flaky)}}`, (s) => only(s) === 1);
    await prometheus.waitFor(
      `gitops_kit_stage_duration_seconds_count{${sel(flaky)}, stage="health"}`,
      (s) => only(s) === 1,
    );

    // A hand edit, corrected by the next pass: the drift counter moves.
    await admin.request({
      method: 'PATCH',
      path: `/api/v1/namespaces/${ns}/configmaps/settings`,
      contentType: 'application/merge-patch+json',
      body: { data: { value: 'by hand' } },
    });
    expect((await r(good).reconcile()).outcome).toBe('succeeded');
    await prometheus.waitFor(
      `gitops_kit_objects_total{${sel(good)}, action="drifted"}`,
      (s) => only(s) === 1,
    );
    await prometheus.waitFor(
      `gitops_kit_source_polls_total{${sel(good)}, result="unchanged"}`,
      (s) => only(s) === 1,
    );

    // A failed pass: by stage, and Ready turns False.
    goodSource.setFile('bad.yaml', 'kind: [').commit();
    expect((await r(good).reconcile()).outcome).toBe('failed');
    await prometheus.waitFor(
      `gitops_kit_reconcile_failures_total{${sel(good)}, stage="render"}`,
      (s) => only(s) === 1,
    );
    await prometheus.waitFor(
      `gotk_reconcile_condition{${sel(good)}, type="Ready", status="False"}`,
      (s) => only(s) === 1,
    );

    // A rollout that never becomes healthy, rolled back.
    flakySource.setFile('web.yaml', yamlOf([deployment('web', 'nginx:does-not-exist')])).commit();
    const rolled = await r(flaky).reconcile();
    expect(rolled.outcome, rolled.message).toBe('rolledBack');
    await prometheus.waitFor(`gitops_kit_rollbacks_total{${sel(flaky)}}`, (s) => only(s) === 1);
    await prometheus.waitFor(
      `gitops_kit_stage_duration_seconds_count{${sel(flaky)}, stage="rollback"}`,
      (s) => only(s) === 1,
    );
    await prometheus.waitFor(
      `gitops_kit_reconciler_info{${sel(flaky)}, outcome="rolledBack"}`,
      (s) => s.length === 1 && s[0]?.metric.revision === rolled.appliedRevision,
    );
    await prometheus.waitFor(
      'sum(gitops_kit_kubernetes_requests_total{verb="apply", code="200"})',
      (s) => only(s) > 0,
    );

    // Every dashboard query is valid PromQL for Prometheus and returns data.
    for (const { title, expr } of dashboardQueries()) {
      const samples = await prometheus
        .waitFor(substitute(expr), (s) => s.length > 0, 15_000)
        .catch((error: Error) => {
          throw new Error(`dashboard panel "${title}": ${error.message}`);
        });
      expect(samples.length, title).toBeGreaterThan(0);
    }
    expect(prometheus.version).toBe('0.316.0');
  });
});
