import { startTestenv, type Testenv } from '@gitops-kit/testenv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runQuickstart } from '../src/quickstart.js';

/**
 * The story on testenv's living cluster: the real deployment controller rolls the Deployment out
 * on kwok's fake Nodes, and fails the image tagged `does-not-exist` at its progress deadline (30 s
 * in the sample), as a bad image pull does on any cluster.
 */
describe('quickstart demo on a real API server with controllers', () => {
  const saved = process.env.KUBECONFIG;
  let env: Testenv | undefined;

  // A living cluster of its own: the story's rollback must start new Pods within the sample's 30 s
  // progress deadline, and the shared cluster, late in a full run, carries every earlier test's
  // workloads (a rollback there was seen to stall past the deadline).
  beforeAll(async () => {
    env = await startTestenv({ kube: true, s3: false, git: false, tools: false });
    if (!env.kube) throw new Error('testenv started no cluster');
    process.env.KUBECONFIG = env.kube.kubeconfigPath;
  });

  afterAll(async () => {
    if (saved === undefined) delete process.env.KUBECONFIG;
    else process.env.KUBECONFIG = saved;
    await env?.stop();
  });

  it('tells the same story through KubernetesTarget', async () => {
    const lines: string[] = [];
    const outcome = await runQuickstart({ cluster: 'kubernetes', write: (line) => lines.push(line) });
    const text = lines.join('\n');

    expect(text).toContain('the cluster of KUBECONFIG=');
    // The messages come along so a failure says why, not only which pass.
    expect(
      outcome.results.map((r) => r.outcome),
      outcome.results.map((r) => r.message).join('\n'),
    ).toEqual(['succeeded', 'succeeded', 'succeeded', 'rolledBack', 'rolledBack']);
    const [, changed, reverted] = outcome.results;
    expect(changed?.plan).toMatchObject({ create: 1, update: 2, prune: 1 });
    expect(reverted?.plan?.drifted).toBe(2);
    expect(outcome.finalRevision).toBe(changed?.revision);
    expect(outcome.finalReplicas).toBe(3);
    expect(outcome.finalImage).toBe('nginx:1.27');
    expect(outcome.events).toEqual(expect.arrayContaining(['pruned', 'drifted', 'unhealthy', 'rolledBack']));
  });
});
