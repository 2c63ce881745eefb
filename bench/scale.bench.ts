/**
 * `pnpm bench:scale`: one unit of 10,000 objects (100 Namespaces, each with 33 ConfigMaps, 33
 * Services and 33 Deployments) on a bare kube-apiserver (from @gitops-kit/testenv):
 *
 *   (a) first sync into a clean apiserver: `kubectl apply --server-side`, then gitops-kit, each on
 *       its own fresh apiserver;
 *   (b) a no-op reconcile; (c) one ConfigMap changed (wall time, requests, writes);
 *   (d) the peak RSS of the gitops-kit process and its RSS right after importing the packages.
 *
 * gitops-kit runs in a child process of its own on plain Node over the built packages
 * (bench/scale-unit.mjs: DirectorySource, RawRenderer, KubernetesTarget, inventory in a ConfigMap,
 * validation by dry-run included), so its RSS is the library's and not this script's (TypeScript
 * loader, testenv) or kubectl's. `--namespaces N` changes the size (10 gives the 1,000 objects of
 * bench:apply's shape); `--node-flags '...'` passes flags to the child (e.g. `--heap-prof`);
 * `--no-kubectl` leaves kubectl out.
 * The last line is one JSON object.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startTestenv, type Testenv } from '@gitops-kit/testenv';
import { runMeasured } from './support/child.js';
import { kubectlServerSideApply } from './support/kubectl.js';
import { writeScaleSet } from './support/scale-set.js';

const { values: args } = parseArgs({
  options: {
    namespaces: { type: 'string', default: '100' },
    'node-flags': { type: 'string', default: '' },
    /** Leaves kubectl out (while profiling gitops-kit alone). */
    'no-kubectl': { type: 'boolean', default: false },
  },
});
const set = { namespaces: Number(args.namespaces), perKind: 33, prefix: 'scale' };

interface PassFigures {
  readonly ms: number;
  readonly cpuMs: number;
  readonly requests: number;
  readonly writes: number;
  readonly objectWrites: number;
  readonly peakRssMiB: number;
}

interface UnitFigures {
  readonly rssAfterImportMiB: number;
  readonly peakRssMiB: number;
  readonly retainedHeapMiB?: number;
  readonly first: PassFigures;
  readonly noop: PassFigures;
  readonly change: PassFigures;
}

function seconds(ms: number): number {
  return Math.round(ms) / 1000;
}

async function bareKube(): Promise<{ env: Testenv; kube: NonNullable<Testenv['kube']> }> {
  const env = await startTestenv({ kube: { bare: true }, s3: false, git: false, tools: false });
  return { env, kube: env.kube as NonNullable<Testenv['kube']> };
}

async function kubectlFirstSync(work: string): Promise<number> {
  const { env, kube } = await bareKube();
  try {
    const dir = await mkdtemp(join(work, 'kubectl-'));
    await writeScaleSet(dir, set);
    return await kubectlServerSideApply(kube.kubeconfigPath, dir, work);
  } finally {
    await env.stop();
  }
}

/** Runs bench/scale-unit.mjs against the apiserver. */
function runUnit(kubeconfig: string, dir: string, changeFile: string): Promise<UnitFigures> {
  const flags = ['--expose-gc', ...args['node-flags'].split(/\s+/).filter(Boolean)];
  return runMeasured(flags, join(import.meta.dirname, 'scale-unit.mjs'), [dir, changeFile], kubeconfig);
}

function describe(label: string, figures: PassFigures): string {
  return (
    `gitops-kit ${label}: ${seconds(figures.ms)} s (${seconds(figures.cpuMs)} s CPU), ${figures.requests} requests, ` +
    `${figures.writes} writes (${figures.objectWrites} to objects), peak RSS so far ${figures.peakRssMiB} MiB`
  );
}

async function main(): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), 'gitops-kit-bench-scale-'));
  try {
    const kubectlMs = args['no-kubectl'] ? Number.NaN : await kubectlFirstSync(work);
    console.log(`kubectl apply --server-side, first sync: ${seconds(kubectlMs)} s`);
    const { env, kube } = await bareKube();
    try {
      const dir = await mkdtemp(join(work, 'gitops-kit-'));
      const { objects, changeFile } = await writeScaleSet(dir, set);
      const unit = await runUnit(kube.kubeconfigPath, dir, changeFile);
      console.log(describe('first sync', unit.first));
      console.log(describe('no-op', unit.noop));
      console.log(describe('one object changed', unit.change));
      console.log(
        `gitops-kit RSS: ${unit.rssAfterImportMiB} MiB after imports, ${unit.peakRssMiB} MiB peak` +
          (unit.retainedHeapMiB === undefined ? '' : `, ${unit.retainedHeapMiB} MiB heap retained after GC`),
      );
      console.log(
        JSON.stringify({
          objects,
          namespaces: set.namespaces,
          firstSyncS: seconds(unit.first.ms),
          kubectlFirstSyncS: seconds(kubectlMs),
          ratio: Math.round((unit.first.ms / kubectlMs) * 1000) / 1000,
          firstSyncRequests: unit.first.requests,
          firstSyncCpuS: seconds(unit.first.cpuMs),
          noopS: seconds(unit.noop.ms),
          noopCpuS: seconds(unit.noop.cpuMs),
          noopRequests: unit.noop.requests,
          noopWrites: unit.noop.writes,
          oneChangeS: seconds(unit.change.ms),
          oneChangeCpuS: seconds(unit.change.cpuMs),
          oneChangeRequests: unit.change.requests,
          oneChangeWrites: unit.change.objectWrites,
          oneChangeInventoryWrites: unit.change.writes - unit.change.objectWrites,
          rssAfterImportMiB: unit.rssAfterImportMiB,
          peakRssMiB: unit.peakRssMiB,
          retainedHeapMiB: unit.retainedHeapMiB,
        }),
      );
    } finally {
      await env.stop();
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

await main();
