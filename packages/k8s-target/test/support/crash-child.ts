/**
 * A reconciling process that SIGKILLs itself right after its N-th write reached the apiserver (see
 * {@link FaultPlan}). Run by the fault-injection test with tsx:
 *   crash-child.ts <kubeconfig> <folder> <name> <state-namespace> <fail-at>
 * Prints `{"outcome": …, "writes": N}` when the pass ends before the fault strikes.
 */
import { DirectorySource, RawRenderer, Reconciler } from '@gitops-kit/core';
import { KubeConfig } from '@kubernetes/client-node';
import { KubeClient, kubeConfigTransport } from '../../src/kube-client.js';
import { KubernetesTarget } from '../../src/target.js';
import { FaultPlan, faultyTransport } from './faults.js';

const [kubeconfig, folder, name, stateNamespace, failAt] = process.argv.slice(2);
if (!kubeconfig || !folder || !name || !stateNamespace || failAt === undefined) {
  console.error('usage: crash-child.ts <kubeconfig> <folder> <name> <state-namespace> <fail-at>');
  process.exit(2);
}
const kubeConfig = new KubeConfig();
kubeConfig.loadFromFile(kubeconfig);
const plan = new FaultPlan(Number(failAt), 'kill');
const client = new KubeClient(faultyTransport(kubeConfigTransport(kubeConfig, {}), plan));
const target = new KubernetesTarget({ name, client });
const source = new DirectorySource({ path: folder });
const reconciler = new Reconciler({
  name,
  source,
  renderer: new RawRenderer(),
  target,
  stateStore: target.stateStore({ namespace: stateNamespace }),
});
const result = await reconciler.reconcile();
await source.dispose?.();
process.stdout.write(`${JSON.stringify({ outcome: result.outcome, writes: plan.writes })}\n`);
process.exit(0);
