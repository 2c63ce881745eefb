/**
 * Issue 11's fault-injection suite on the real apiserver. A pass that adds 10 ConfigMaps and
 * removes 5 is cut at a random write (fixed seed, bounded runs) in two ways:
 * - the apiserver "dies": the N-th write lands but its answer is lost, and every request fails
 *   until the server is back; the same process then reconciles the next commit;
 * - the reconciling process is SIGKILLed right after its N-th write landed; a new process then
 *   reconciles the next commit.
 * After each run exactly the objects of the last commit carry our label (0 orphans), every one of
 * them exists (0 wrong prunes), and the stored inventory names exactly them (converged).
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DirectorySource, type KubeObject, RawRenderer, Reconciler } from '@gitops-kit/core';
import { type KubeClient, KubernetesTarget, stateObjectName } from '@gitops-kit/k8s-target';
import { testenv } from '@gitops-kit/testenv';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { kubeConfigTransport, KubeClient as RawClient } from '../src/kube-client.js';
import {
  configMap,
  getObject,
  kubeTarget,
  namespace,
  ownedConfigMapNames,
  uniqueName,
} from './kube-helpers.js';
import { FaultPlan, faultyTransport, seeded } from './support/faults.js';

const RUNS = 5;
const SEED = 42;
const folders: string[] = [];
afterAll(async () => {
  await Promise.all(folders.map((f) => rm(f, { recursive: true, force: true })));
});

const commitA = [...names('a', 0, 10)];
const commitB = [...names('a', 5, 10), ...names('b', 0, 10)];
const commitC = [...names('a', 5, 10), ...names('c', 0, 5)];

function names(prefix: string, from: number, to: number): string[] {
  return Array.from({ length: to - from }, (_, i) => `${prefix}${from + i}`);
}

async function writeCommit(folder: string, ns: string, objects: readonly string[]): Promise<void> {
  const docs: KubeObject[] = objects.map((n) => configMap(ns, n, { v: n }));
  await writeFile(join(folder, 'set.yaml'), docs.map((d) => stringify(d)).join('---\n'));
}

async function storedNames(admin: KubeClient, stateNs: string, owner: string): Promise<string[]> {
  const object = (await getObject(
    admin,
    `/api/v1/namespaces/${stateNs}/configmaps/${stateObjectName(owner)}`,
  )) as { data?: Record<string, string> } | undefined;
  const state = JSON.parse(object?.data?.['state.json'] ?? 'null') as {
    inventory: { entries: { ref: { name: string } }[] };
  } | null;
  return (state?.inventory.entries ?? []).map((e) => e.ref.name).sort();
}

/** A namespace for the objects, one for the state, a folder for the source, and commit A applied. */
async function applyCommitA() {
  const { target, admin } = await kubeTarget();
  const ns = uniqueName('fault');
  const stateNs = uniqueName('fstate');
  for (const n of [ns, stateNs]) {
    await admin.request({ method: 'POST', path: '/api/v1/namespaces', body: namespace(n) });
  }
  const folder = await mkdtemp(join(tmpdir(), 'gitops-kit-fault-'));
  folders.push(folder);
  await writeCommit(folder, ns, commitA);
  const options = (t: KubernetesTarget) => ({
    name: target.name,
    source: new DirectorySource({ path: folder }),
    renderer: new RawRenderer(),
    target: t,
    stateStore: t.stateStore({ namespace: stateNs }),
  });
  expect((await new Reconciler(options(target)).reconcile()).outcome).toBe('succeeded');
  return { target, admin, ns, stateNs, folder, options };
}

/** Faults of every run, for the summary line. */
const figures = { runs: 0, orphans: 0, wrongPrunes: 0, unconverged: 0, failPoints: [] as number[] };

async function checkConverged(admin: KubeClient, ns: string, stateNs: string, owner: string): Promise<void> {
  const live = await ownedConfigMapNames(admin, ns, owner);
  const expected = [...commitC].sort();
  const orphans = live.filter((n) => !expected.includes(n));
  const missing = expected.filter((n) => !live.includes(n));
  const stored = await storedNames(admin, stateNs, owner);
  figures.runs++;
  figures.orphans += orphans.length;
  figures.wrongPrunes += missing.length;
  if (stored.join() !== expected.join()) figures.unconverged++;
  expect({ orphans, missing, stored }).toEqual({ orphans: [], missing: [], stored: expected });
}

/** How many writes commit B's pass makes, counted on a run without faults. */
async function writesOfCommitB(): Promise<number> {
  const s = await applyCommitA();
  const kube = await testenv.kube();
  const plan = new FaultPlan(0);
  const client = new RawClient(faultyTransport(kubeConfigTransport(kube.kubeConfig(), {}), plan));
  const target = new KubernetesTarget({ name: s.target.name, client });
  await writeCommit(s.folder, s.ns, commitB);
  expect((await new Reconciler(s.options(target)).reconcile()).outcome).toBe('succeeded');
  return plan.writes;
}

describe('crash safety under injected faults (real apiserver)', () => {
  it(`the apiserver dies at a random write of apply or prune (${RUNS} runs, seed ${SEED}): 0 orphans, 0 wrong prunes`, async () => {
    const total = await writesOfCommitB();
    expect(total).toBeGreaterThanOrEqual(16);
    const random = seeded(SEED);
    const kube = await testenv.kube();
    for (let run = 0; run < RUNS; run++) {
      const failAt = 1 + Math.floor(random() * total);
      figures.failPoints.push(failAt);
      const s = await applyCommitA();
      const plan = new FaultPlan(failAt, 'drop');
      const client = new RawClient(faultyTransport(kubeConfigTransport(kube.kubeConfig(), {}), plan));
      const target = new KubernetesTarget({ name: s.target.name, client });
      const reconciler = new Reconciler(s.options(target));

      await writeCommit(s.folder, s.ns, commitB);
      const cut = await reconciler.reconcile();
      expect(cut.outcome, `run ${run}: the pass cut at write ${failAt} must fail`).toBe('failed');

      plan.heal();
      await writeCommit(s.folder, s.ns, commitC);
      const after = await reconciler.reconcile();
      expect(after.outcome, `run ${run}: ${after.message}`).toBe('succeeded');
      await checkConverged(s.admin, s.ns, s.stateNs, s.target.name);
    }
  });

  it(`the reconciling process is killed at a random write (${RUNS} runs, seed ${SEED}): a restarted process leaves 0 orphans`, async () => {
    const total = await writesOfCommitB();
    const random = seeded(SEED + 1);
    const kube = await testenv.kube();
    const root = fileURLToPath(new URL('../../../', import.meta.url));
    const child = fileURLToPath(new URL('./support/crash-child.ts', import.meta.url));
    for (let run = 0; run < RUNS; run++) {
      const failAt = 1 + Math.floor(random() * total);
      figures.failPoints.push(failAt);
      const s = await applyCommitA();
      await writeCommit(s.folder, s.ns, commitB);
      const killed = spawnSync(
        join(root, 'node_modules/.bin/tsx'),
        [
          '--tsconfig',
          join(root, 'tsconfig.test.json'),
          child,
          kube.kubeconfigPath,
          s.folder,
          s.target.name,
          s.stateNs,
          String(failAt),
        ],
        { cwd: root, encoding: 'utf8', timeout: 60_000 },
      );
      // tsx runs the script in a node child and exits 128 + 9 when that child is SIGKILLed.
      const died = killed.signal === 'SIGKILL' || killed.status === 137;
      expect(
        died,
        `run ${run}: the process must die at write ${failAt} (${killed.status}: ${killed.stdout}${killed.stderr})`,
      ).toBe(true);

      await writeCommit(s.folder, s.ns, commitC);
      const restarted = await new Reconciler(s.options(s.target)).reconcile();
      expect(restarted.outcome, `run ${run}: ${restarted.message}`).toBe('succeeded');
      await checkConverged(s.admin, s.ns, s.stateNs, s.target.name);
    }
  });

  afterAll(() => {
    console.log(`fault-injection: ${JSON.stringify(figures)}`);
  });
});
