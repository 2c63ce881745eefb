/**
 * `pnpm bench:drift`: how fast a hand edit is reverted, and what watching costs at rest, on a real
 * kube-apiserver (a bare one from @gitops-kit/testenv) with 1,000 owned objects: 10 Namespaces
 * and, in each, 33 ConfigMaps, 33 Services and 33 Deployments.
 *
 *   watch mode:    a Reconciler with `watch: true` (interval 5 minutes, the safety net); 50 hand
 *                  edits (another field manager patches a ConfigMap's data or a Deployment's
 *                  image), one at a time: time from the edit's answer to the `drifted` event of
 *                  its revert; then API requests per minute at rest (watch requests included).
 *   interval mode: the same set with no watch and a 30 s interval: a few edits, each reverted by
 *                  the next pass; then API requests per minute at rest.
 *
 * Both reconcilers run through the core Reconciler (MemorySource, RawRenderer, KubernetesTarget,
 * inventory in a ConfigMap). BENCH_REST_MS sets the rest window (default 60 s). The last line is
 * one JSON object.
 */
import { RawRenderer, Reconciler, type ReconcilerEvents } from '@gitops-kit/core';
import { MemorySource } from '@gitops-kit/core/testing';
import { KubeClient, KubernetesTarget } from '@gitops-kit/k8s-target';
import { startTestenv, type Testenv } from '@gitops-kit/testenv';

const NAMESPACES = 10;
const PER_KIND = 33;
const WATCH_EDITS = 50;
const INTERVAL_EDITS = 4;
const INTERVAL_MS = 30_000;
const REST_MS = Number(process.env.BENCH_REST_MS ?? 60_000);

/** The set as files of JSON documents (YAML reads them), one file per namespace. */
function files(prefix: string): { files: Record<string, string>; objects: number } {
  const out: Record<string, string> = {};
  let objects = 0;
  const namespaces: string[] = [];
  for (let n = 0; n < NAMESPACES; n++) {
    const ns = `${prefix}-${n}`;
    namespaces.push(JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } }));
    const docs: unknown[] = [];
    for (let i = 0; i < PER_KIND; i++) {
      const app = `app-${i}`;
      const metadata = { name: app, namespace: ns, labels: { app } };
      docs.push(
        { apiVersion: 'v1', kind: 'ConfigMap', metadata, data: { mode: 'production', index: String(i) } },
        {
          apiVersion: 'v1',
          kind: 'Service',
          metadata,
          // Headless: the test apiserver's service range (a /24) holds fewer than 330 cluster IPs.
          spec: { clusterIP: 'None', selector: { app }, ports: [{ name: 'http', port: 80 }] },
        },
        {
          apiVersion: 'apps/v1',
          kind: 'Deployment',
          metadata,
          spec: {
            replicas: 1,
            selector: { matchLabels: { app } },
            template: {
              metadata: { labels: { app } },
              spec: { containers: [{ name: 'main', image: 'registry.example.com/app:1.0.0' }] },
            },
          },
        },
      );
    }
    objects += 1 + docs.length;
    out[`${ns}.yaml`] = docs.map((d) => JSON.stringify(d)).join('\n---\n');
  }
  out['00-namespaces.yaml'] = namespaces.join('\n---\n');
  return { files: out, objects };
}

/** A hand edit as `kubectl edit` sends it (strategic merge patch, field manager `kubectl-edit`). */
async function handEdit(admin: KubeClient, prefix: string, edit: number): Promise<string> {
  const ns = `${prefix}-${edit % NAMESPACES}`;
  const app = `app-${(edit * 7) % PER_KIND}`;
  const deployment = edit % 2 === 1;
  const path = deployment
    ? `/apis/apps/v1/namespaces/${ns}/deployments/${app}`
    : `/api/v1/namespaces/${ns}/configmaps/${app}`;
  const body = deployment
    ? { spec: { template: { spec: { containers: [{ name: 'main', image: `hand/edit:${edit}` }] } } } }
    : { data: { mode: `hand-edit-${edit}` } };
  await admin.request({
    method: 'PATCH',
    path,
    query: { fieldManager: 'kubectl-edit' },
    body,
    contentType: 'application/strategic-merge-patch+json',
  });
  return `${deployment ? 'Deployment' : 'ConfigMap'} ${ns}/${app}`;
}

interface ModeFigures {
  readonly edits: number;
  readonly revertMedianMs: number;
  readonly revertMaxMs: number;
  /** Measured over the rest window. */
  readonly requestsPerMinuteAtRest: number;
  /** Requests of one no-op pass (the interval's safety net). */
  readonly noopPassRequests: number;
  /** Watches held open (one per resource; each is opened again every 5 minutes). */
  readonly watchedResources: number;
  /** Steady state: no-op passes per interval plus watch reopenings, per minute. */
  readonly steadyRequestsPerMinute: number;
  readonly firstSyncMs: number;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

const round = (ms: number): number => Math.round(ms * 10) / 10;

/** One mode on its own set (its own namespaces and owner) of the same apiserver. */
async function runMode(kube: NonNullable<Testenv['kube']>, watch: boolean): Promise<ModeFigures> {
  const prefix = watch ? 'watched' : 'interval';
  const set = files(prefix);
  const source = new MemorySource({ files: set.files });
  const target = new KubernetesTarget({ name: `bench-${prefix}`, kubeConfig: kube.kubeConfig(), watch });
  const reconciler = new Reconciler({
    name: `bench-${prefix}`,
    source,
    renderer: new RawRenderer(),
    target,
    stateStore: target.stateStore({ namespace: 'default' }),
    interval: watch ? 300_000 : INTERVAL_MS,
    timeout: 300_000,
    jitter: 0,
  });
  const admin = KubeClient.fromKubeConfig(kube.kubeConfig());
  let onDrift: ((event: ReconcilerEvents['drifted']) => void) | undefined;
  reconciler.on('drifted', (event) => onDrift?.(event));
  const applied = new Promise<void>((resolve) => reconciler.once('applied', () => resolve()));
  const started = performance.now();
  reconciler.start();
  await applied;
  const firstSyncMs = performance.now() - started;
  console.log(`${prefix}: first sync of ${set.objects} objects in ${round(firstSyncMs / 1000)} s`);
  // Let the first pass end and the watches (one per kind) open.
  await new Promise((r) => setTimeout(r, 2_000));

  const times: number[] = [];
  const edits = watch ? WATCH_EDITS : INTERVAL_EDITS;
  for (let edit = 0; edit < edits; edit++) {
    const reverted = new Promise<number>((resolve) => {
      onDrift = (event) => {
        if (event.objects.length > 0) resolve(performance.now());
      };
    });
    const what = await handEdit(admin, prefix, edit);
    const at = performance.now();
    const ms = (await reverted) - at;
    times.push(ms);
    if (!watch) console.log(`${prefix}: ${what} reverted after ${round(ms)} ms`);
  }
  onDrift = undefined;
  console.log(
    `${prefix}: ${edits} hand edits reverted, median ${round(median(times))} ms, max ${round(Math.max(...times))} ms`,
  );

  // At rest: every request the target makes in the window (watch streams opened included).
  await new Promise((r) => setTimeout(r, watch ? 1_000 : 0));
  target.client.resetCounters();
  const watchesBefore = target.watchCounters.watches;
  await new Promise((r) => setTimeout(r, REST_MS));
  const requests = target.client.counters.requests + (target.watchCounters.watches - watchesBefore);
  const perMinute = (requests * 60_000) / REST_MS;
  console.log(`${prefix}: ${requests} API requests in ${REST_MS / 1000} s at rest (${round(perMinute)}/min)`);
  await reconciler.stop();
  // One no-op pass, counted alone, and the watches it would keep open: the steady-state cost.
  target.client.resetCounters();
  const noop = await reconciler.reconcile();
  if (noop.outcome !== 'succeeded' || noop.writes !== 0) throw new Error(`no-op pass: ${noop.message}`);
  const noopPassRequests = target.client.counters.requests;
  const watchedResources = watch ? 4 : 0; // Namespace, ConfigMap, Service, Deployment
  const passMinutes = (watch ? 300_000 : INTERVAL_MS) / 60_000;
  const steady = noopPassRequests / passMinutes + watchedResources / 5;
  console.log(
    `${prefix}: a no-op pass costs ${noopPassRequests} requests; steady state ${round(steady)}/min`,
  );
  target.close();
  await source.cleanup();
  return {
    edits,
    revertMedianMs: round(median(times)),
    revertMaxMs: round(Math.max(...times)),
    requestsPerMinuteAtRest: round(perMinute),
    noopPassRequests,
    watchedResources,
    steadyRequestsPerMinute: round(steady),
    firstSyncMs: round(firstSyncMs),
  };
}

async function main(): Promise<void> {
  const env = await startTestenv({ kube: { bare: true }, s3: false, git: false, tools: false });
  try {
    const kube = env.kube as NonNullable<Testenv['kube']>;
    const watched = await runMode(kube, true);
    const interval = await runMode(kube, false);
    console.log('');
    const row = (label: string, f: ModeFigures): string =>
      `${label.padEnd(20)} ${String(f.revertMedianMs).padStart(10)} ms ${String(f.revertMaxMs).padStart(9)} ms ` +
      `${String(f.requestsPerMinuteAtRest).padStart(14)} ${String(f.steadyRequestsPerMinute).padStart(14)}`;
    console.log('mode                 revert median   revert max   req/min (rest)  req/min (steady)');
    console.log(row('watch (5 min pass)', watched));
    console.log(row(`interval ${INTERVAL_MS / 1000} s only`, interval));
    console.log(
      JSON.stringify({
        bench: 'drift',
        objects: files('x').objects,
        restMs: REST_MS,
        watch: watched,
        interval: { ...interval, intervalMs: INTERVAL_MS },
      }),
    );
  } finally {
    await env.stop();
  }
}

await main();
