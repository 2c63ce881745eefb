/**
 * `pnpm bench:units`: a Manager of 1,000 reconcilers, each the unit of Flux's benchmark (a
 * ServiceAccount, a Service, a Deployment and an Ingress) in its own namespace, on the living test
 * cluster (kube-controller-manager, kube-scheduler, kwok's fake Nodes: Deployments really become
 * available). All reconcilers share one source and one renderer (fetched and rendered once per
 * revision: `shareSource`, `shareRenderer`) and one HTTP client.
 *
 * Figures: time until every reconciler is Ready with health waited for, peak RSS of the process
 * that runs them (bench/units-manager.mjs, plain Node over the built packages), and API requests
 * per minute at rest (passes on their interval, nothing to change). Flux's published figure for
 * this shape is 4m16s and 175 MiB for 1,000 Kustomizations on a 16-core runner (flux-benchmark).
 * `--units N` (default 1000), `--rest S` (seconds at rest, default 60), `--interval S` (default 60).
 * Namespaces are created before the clock starts. The last line is one JSON object.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startTestenv, type Testenv } from '@gitops-kit/testenv';
import { runMeasured } from './support/child.js';
import { kubectlServerSideApply } from './support/kubectl.js';
import { writeNamespaces, writeUnit } from './support/unit-set.js';

const { values: args } = parseArgs({
  options: {
    units: { type: 'string', default: '1000' },
    rest: { type: 'string', default: '60' },
    interval: { type: 'string', default: '60' },
  },
});

interface UnitsFigures {
  readonly units: number;
  readonly readyMs: number;
  readonly syncRequests: number;
  readonly peakAtReadyMiB: number;
  readonly peakRssMiB: number;
  readonly restSeconds: number;
  readonly restRequestsPerMinute: number;
}

function runManager(kubeconfig: string, dir: string): Promise<UnitsFigures> {
  const script = join(import.meta.dirname, 'units-manager.mjs');
  return runMeasured([], script, [dir, args.units, args.rest, args.interval], kubeconfig);
}

async function main(): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), 'gitops-kit-bench-units-'));
  const env = await startTestenv({ kube: true, s3: false, git: false, tools: false });
  try {
    const kube = env.kube as NonNullable<Testenv['kube']>;
    const namespaces = join(work, 'namespaces.yaml');
    await writeNamespaces(namespaces, Number(args.units));
    await kubectlServerSideApply(kube.kubeconfigPath, namespaces, work);
    const dir = await mkdtemp(join(work, 'unit-'));
    await writeUnit(dir);
    const figures = await runManager(kube.kubeconfigPath, dir);
    console.log(
      `gitops-kit, ${figures.units} units: all Ready after ${figures.readyMs / 1000} s (${figures.syncRequests} requests)`,
    );
    console.log(
      `gitops-kit peak RSS: ${figures.peakRssMiB} MiB (${figures.peakAtReadyMiB} MiB when all were Ready)`,
    );
    console.log(
      `gitops-kit at rest: ${figures.restRequestsPerMinute} API requests per minute (interval ${args.interval} s)`,
    );
    console.log(JSON.stringify({ ...figures, intervalSeconds: Number(args.interval) }));
  } finally {
    await env.stop();
    await rm(work, { recursive: true, force: true });
  }
}

await main();
