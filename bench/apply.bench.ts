/**
 * `pnpm bench:apply`: gitops-kit's KubernetesTarget against `kubectl apply --server-side` on a real
 * kube-apiserver (from @gitops-kit/testenv), with 1,000 objects: 10 Namespaces and, in each,
 * 33 ConfigMaps, 33 Services and 33 Deployments.
 *
 *   (a) first sync into a clean apiserver: kubectl, then gitops-kit (each on its own fresh
 *       apiserver, so neither finds the other's objects or a warm cache);
 *   (b) a no-op reconcile: wall time, API requests, writes;
 *   (c) one ConfigMap changed: requests and writes.
 *
 * gitops-kit runs through the core Reconciler (DirectorySource, RawRenderer, KubernetesTarget,
 * inventory in a ConfigMap), validation by dry-run included. The last line is one JSON object.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DirectorySource, RawRenderer, Reconciler } from '@gitops-kit/core';
import { KubernetesTarget } from '@gitops-kit/k8s-target';
import { startTestenv, type Testenv } from '@gitops-kit/testenv';
import { kubectlServerSideApply } from './support/kubectl.js';
import { writeManifests } from './support/manifests.js';

function seconds(ms: number): number {
  return Math.round(ms) / 1000;
}

async function kubectlFirstSync(work: string): Promise<number> {
  const env = await startTestenv({ kube: { bare: true }, s3: false, git: false, tools: false });
  try {
    const kube = env.kube as NonNullable<Testenv['kube']>;
    const dir = await mkdtemp(join(work, 'kubectl-'));
    await writeManifests(dir, 'bench');
    return await kubectlServerSideApply(kube.kubeconfigPath, dir, work);
  } finally {
    await env.stop();
  }
}

async function main(): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), 'gitops-kit-bench-'));
  try {
    const kubectlMs = await kubectlFirstSync(work);
    console.log(`kubectl apply --server-side, first sync: ${seconds(kubectlMs)} s`);

    const env = await startTestenv({ kube: { bare: true }, s3: false, git: false, tools: false });
    try {
      const kube = env.kube as NonNullable<Testenv['kube']>;
      const dir = await mkdtemp(join(work, 'gitops-kit-'));
      const objects = await writeManifests(dir, 'bench');
      const target = new KubernetesTarget({ name: 'bench', kubeConfig: kube.kubeConfig() });
      const reconciler = new Reconciler({
        name: 'bench',
        source: new DirectorySource({ path: dir }),
        renderer: new RawRenderer(),
        target,
        stateStore: target.stateStore({ namespace: 'default' }),
      });
      const counters = target.client.counters;

      const pass = async (label: string) => {
        target.client.resetCounters();
        const started = performance.now();
        const result = await reconciler.reconcile();
        // Kubernetes Events of the pass are written in the background: count them in this pass.
        await target.events?.flush();
        const ms = performance.now() - started;
        if (result.outcome !== 'succeeded') {
          throw new Error(`${label}: ${result.outcome}: ${result.message} ${result.error?.message ?? ''}`);
        }
        const figures = {
          ms,
          requests: counters.requests,
          writes: counters.writes,
          objectWrites: result.writes,
        };
        console.log(
          `gitops-kit ${label}: ${seconds(ms)} s, ${figures.requests} requests ` +
            `(${counters.dryRuns} dry-runs), ${figures.writes} writes (${figures.objectWrites} to objects)`,
        );
        return figures;
      };

      const first = await pass('first sync');
      const noop = await pass('no-op reconcile');
      const file = join(dir, 'bench-3.yaml');
      const text = await readFile(file, 'utf8');
      await writeFile(file, text.replace('"mode": "production"', '"mode": "staging"'));
      const change = await pass('one object changed');

      const result = {
        objects,
        firstSyncS: seconds(first.ms),
        kubectlFirstSyncS: seconds(kubectlMs),
        ratio: Math.round((first.ms / kubectlMs) * 1000) / 1000,
        noopS: seconds(noop.ms),
        noopRequests: noop.requests,
        noopWrites: noop.writes,
        oneChangeRequests: change.requests,
        oneChangeWrites: change.objectWrites,
        oneChangeInventoryWrites: change.writes - change.objectWrites,
      };
      console.log(JSON.stringify(result));
    } finally {
      await env.stop();
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

await main();
