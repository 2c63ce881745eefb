import type { KubeObject } from '@gitops-kit/core';
import { KubeClient } from '@gitops-kit/k8s-target';
import { testenv } from '@gitops-kit/testenv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runQuickstart } from '../src/quickstart.js';

const DEPLOYMENT = '/apis/apps/v1/namespaces/demo-shop/deployments/web';

interface Deployment extends KubeObject {
  spec?: { replicas?: number; template?: { spec?: { containers?: { image?: string }[] } } };
  status?: { observedGeneration?: number };
}

/**
 * The test API server runs no controllers, so nothing would ever report the Deployment ready. This
 * stands in for the Deployment controller and kubelet: it writes a ready status for a good image,
 * and a progress-deadline failure for an image that does not exist, at every new generation.
 */
function deploymentController(client: KubeClient): { stop: () => Promise<void> } {
  let running = true;
  const loop = (async () => {
    while (running) {
      const live = await client
        .request<Deployment>({ method: 'GET', path: DEPLOYMENT })
        .catch(() => undefined);
      const generation = live?.metadata.generation;
      if (live && typeof generation === 'number' && live.status?.observedGeneration !== generation) {
        const replicas = live.spec?.replicas ?? 1;
        const bad = (live.spec?.template?.spec?.containers?.[0]?.image ?? '').includes('does-not-exist');
        const status = bad
          ? {
              observedGeneration: generation,
              replicas,
              updatedReplicas: replicas,
              conditions: [
                {
                  type: 'Progressing',
                  status: 'False',
                  reason: 'ProgressDeadlineExceeded',
                  message: 'ImagePullBackOff',
                },
              ],
            }
          : {
              observedGeneration: generation,
              replicas,
              updatedReplicas: replicas,
              readyReplicas: replicas,
              availableReplicas: replicas,
              conditions: [
                { type: 'Available', status: 'True', reason: 'MinimumReplicasAvailable' },
                { type: 'Progressing', status: 'True', reason: 'NewReplicaSetAvailable' },
              ],
            };
        await client
          .request({
            method: 'PATCH',
            path: `${DEPLOYMENT}/status`,
            body: { status },
            contentType: 'application/merge-patch+json',
          })
          .catch(() => undefined);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
    },
  };
}

describe('quickstart demo on a real API server', () => {
  let controller: { stop: () => Promise<void> } | undefined;
  const saved = process.env.KUBECONFIG;

  beforeAll(async () => {
    const kube = await testenv.kube();
    process.env.KUBECONFIG = kube.kubeconfigPath;
    controller = deploymentController(KubeClient.fromKubeConfig(kube.kubeConfig()));
  });

  afterAll(async () => {
    await controller?.stop();
    if (saved === undefined) delete process.env.KUBECONFIG;
    else process.env.KUBECONFIG = saved;
  });

  it('tells the same story through KubernetesTarget', async () => {
    const lines: string[] = [];
    const outcome = await runQuickstart({ cluster: 'kubernetes', write: (line) => lines.push(line) });
    const text = lines.join('\n');

    expect(text).toContain('the cluster of KUBECONFIG=');
    expect(outcome.results.map((r) => r.outcome)).toEqual([
      'succeeded',
      'succeeded',
      'succeeded',
      'rolledBack',
      'rolledBack',
    ]);
    const [, changed, reverted] = outcome.results;
    expect(changed?.plan).toMatchObject({ create: 1, update: 2, prune: 1 });
    expect(reverted?.plan?.drifted).toBe(2);
    expect(outcome.finalRevision).toBe(changed?.revision);
    expect(outcome.finalReplicas).toBe(3);
    expect(outcome.finalImage).toBe('nginx:1.27');
    expect(outcome.events).toEqual(expect.arrayContaining(['pruned', 'drifted', 'unhealthy', 'rolledBack']));
  });
});
