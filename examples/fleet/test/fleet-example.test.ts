import { mkdtemp, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeCluster } from '@gitops-kit/core/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { describeFleet, fleetFromFolder } from '../src/index.js';

const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

async function eventually(check: () => boolean, what: string): Promise<void> {
  const end = Date.now() + 5_000;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('fleetFromFolder', () => {
  it('runs one reconciler per kubeconfig of the folder, with the values beside it, and follows the folder', async () => {
    const clusters = await mkdtemp(join(tmpdir(), 'fleet-example-clusters-'));
    const app = await mkdtemp(join(tmpdir(), 'fleet-example-app-'));
    dirs.push(clusters, app);
    await writeFile(
      join(app, 'app.yaml'),
      `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: demo, namespace: default }\ndata: { cluster: "\${CLUSTER_NAME}", region: "\${REGION:=none}" }\n`,
    );
    for (const name of ['eu-1', 'us-1'])
      await writeFile(join(clusters, `${name}.kubeconfig`), 'apiVersion: v1\nkind: Config\n');
    await writeFile(
      join(clusters, 'eu-1.values.yaml'),
      'labels: { region: eu }\nvariables: { REGION: eu-west-1 }\n',
    );
    const fakes = new Map<string, FakeCluster>();
    const { fleet, manager } = fleetFromFolder({
      clustersDir: clusters,
      sourceDir: app,
      targetFor: (name, kubeconfig) => {
        expect(kubeconfig).toContain('kind: Config');
        const target = new FakeCluster({ name });
        fakes.set(name, target);
        return { target };
      },
    });
    try {
      expect((await fleet.start()).added).toEqual(['eu-1', 'us-1']);
      manager.start();
      const data = (name: string): unknown =>
        fakes.get(name)?.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'default', name: 'demo' })
          ?.data;
      await eventually(() => data('eu-1') !== undefined && data('us-1') !== undefined, 'both applied');
      expect(data('eu-1')).toEqual({ cluster: 'eu-1', region: 'eu-west-1' });
      expect(data('us-1')).toEqual({ cluster: 'us-1', region: 'none' });
      expect(describeFleet(fleet.status())).toContain('2 of 2 clusters at the newest revision');

      await unlink(join(clusters, 'us-1.kubeconfig'));
      expect((await fleet.sync()).removed).toEqual(['us-1']);
      // Leaving the folder stops the reconciler; the cluster keeps what it runs.
      expect(data('us-1')).toEqual({ cluster: 'us-1', region: 'none' });
      expect(manager.names()).toEqual(['eu-1']);
    } finally {
      fleet.stop();
      await manager.stop({ abort: true });
    }
  });
});
