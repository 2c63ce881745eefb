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
 * Namespaces (and, past 300 units, more kwok Nodes) are created before the clock starts. The last
 * line is one JSON object.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { FAKE_NODE_ANNOTATION, startTestenv, type Testenv } from '@gitops-kit/testenv';
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

/** Pods a kwok Node holds (testenv/kwok/stages.yaml), and the Nodes testenv starts with. */
const PODS_PER_NODE = 1000;
const TESTENV_NODES = 3;

/**
 * More fake Nodes when the units need more pods than testenv's three hold (3,000; when a Node held
 * 110, a run of 1,000 units stalled at 329 Ready). kwok manages every Node with its annotation.
 */
async function addNodes(kubeconfigPath: string, work: string, units: number): Promise<number> {
  const needed = Math.ceil((units + 20) / PODS_PER_NODE) - TESTENV_NODES;
  if (needed <= 0) return 0;
  const nodes = Array.from({ length: needed }, (_, i) =>
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Node',
      metadata: {
        name: `kwok-bench-${i}`,
        annotations: { [FAKE_NODE_ANNOTATION]: 'fake' },
        labels: { 'kubernetes.io/hostname': `kwok-bench-${i}`, 'kubernetes.io/os': 'linux', type: 'kwok' },
      },
      spec: {},
    }),
  );
  const file = join(work, 'nodes.yaml');
  await writeFile(file, nodes.join('\n---\n'));
  await kubectlServerSideApply(kubeconfigPath, file, work);
  return needed;
}

async function main(): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), 'gitops-kit-bench-units-'));
  const env = await startTestenv({ kube: true, s3: false, git: false, tools: false });
  try {
    const kube = env.kube as NonNullable<Testenv['kube']>;
    const namespaces = join(work, 'namespaces.yaml');
    await writeNamespaces(namespaces, Number(args.units));
    await kubectlServerSideApply(kube.kubeconfigPath, namespaces, work);
    const extraNodes = await addNodes(kube.kubeconfigPath, work, Number(args.units));
    if (extraNodes > 0) console.log(`added ${extraNodes} fake Nodes (${PODS_PER_NODE} pods each)`);
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
