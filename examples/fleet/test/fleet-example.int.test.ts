import { copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeClient } from '@gitops-kit/k8s-target';
import { startTestenv, type Testenv } from '@gitops-kit/testenv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fleetFromFolder } from '../src/index.js';

describe('the fleet example against two real apiservers', () => {
  const envs: Testenv[] = [];
  let clusters: string;
  let app: string;

  beforeAll(async () => {
    envs.push(
      ...(await Promise.all(
        [0, 1].map(() => startTestenv({ kube: { bare: true }, s3: false, git: false, tools: false })),
      )),
    );
    clusters = await mkdtemp(join(tmpdir(), 'fleet-example-'));
    app = await mkdtemp(join(tmpdir(), 'fleet-example-app-'));
  }, 300_000);

  afterAll(async () => {
    await Promise.allSettled(envs.map((e) => e.stop()));
    await Promise.all([clusters, app].filter(Boolean).map((d) => rm(d, { recursive: true, force: true })));
  });

  it('applies the app to every cluster of the folder, a new revision in waves of one', async () => {
    await copyFile(envs[0]!.kube!.kubeconfigPath, join(clusters, 'alpha.kubeconfig'));
    await copyFile(envs[1]!.kube!.kubeconfigPath, join(clusters, 'beta.kubeconfig'));
    const manifest = (v: string): string =>
      `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: fleet-demo, namespace: default }\ndata: { cluster: "\${CLUSTER_NAME}", version: "${v}" }\n`;
    await writeFile(join(app, 'app.yaml'), manifest('1'));
    const { fleet, manager } = fleetFromFolder({
      clustersDir: clusters,
      sourceDir: app,
      interval: 500,
      rollout: { maxUnavailable: 1, bakeTime: 500 },
    });
    const read = async (i: number): Promise<Record<string, string> | undefined> =>
      KubeClient.fromKubeConfig(envs[i]!.kube!.kubeConfig())
        .request<{ data: Record<string, string> }>({
          method: 'GET',
          path: '/api/v1/namespaces/default/configmaps/fleet-demo',
        })
        .then((cm) => cm.data)
        .catch(() => undefined);
    const until = async (check: () => Promise<boolean>): Promise<void> => {
      const end = Date.now() + 60_000;
      while (!(await check())) {
        if (Date.now() > end) throw new Error('timed out');
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    };
    try {
      await fleet.start();
      manager.start();
      await until(async () => (await read(0))?.version === '1' && (await read(1))?.version === '1');
      expect((await read(0))?.cluster).toBe('alpha');
      expect((await read(1))?.cluster).toBe('beta');

      await writeFile(join(app, 'app.yaml'), manifest('2'));
      await until(async () => fleet.status().rollout?.waves[0]?.phase === 'Baking');
      // Wave 1 (alpha) has it; beta is held until alpha baked.
      expect((await read(0))?.version).toBe('2');
      expect((await read(1))?.version).toBe('1');
      await until(async () => fleet.status().rollout?.phase === 'Completed');
      expect((await read(1))?.version).toBe('2');
    } finally {
      fleet.stop();
      await manager.stop({ abort: true });
    }
  }, 180_000);
});
