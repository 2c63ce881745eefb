import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { Fleet, listGenerator, Manager, RawRenderer, Reconciler } from '@gitops-kit/core';
import { MemorySource } from '@gitops-kit/core/testing';
import { ClusterSecretGenerator, KubeClient, KubernetesTarget } from '@gitops-kit/k8s-target';
import { startTestenv, type Testenv } from '@gitops-kit/testenv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * A fleet of five real control planes (etcd + kube-apiserver each, the bare option: no
 * controllers), started side by side for this file. The first is also the management cluster
 * (cluster Secrets, shard Leases).
 */

const here = fileURLToPath(new URL('.', import.meta.url));
const root = join(here, '..', '..', '..');
const NAMES = ['c1', 'c2', 'c3', 'c4', 'c5'];

async function eventually(check: () => boolean | Promise<boolean>, what: string, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await delay(100);
  }
}

const configMap = (name: string, value: string): string =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n  namespace: default\ndata:\n  key: ${value}\n`;

const deployment = [
  'apiVersion: apps/v1',
  'kind: Deployment',
  'metadata: { name: app, namespace: default }',
  'spec:',
  '  replicas: 1',
  '  progressDeadlineSeconds: 60',
  '  selector: { matchLabels: { app: app } }',
  '  template:',
  '    metadata: { labels: { app: app } }',
  '    spec: { containers: [{ name: app, image: "registry.example/app:2" }] }',
  '',
].join('\n');

interface Kubeconfig {
  clusters: { cluster: { server: string; 'certificate-authority-data': string } }[];
  users: { user: { 'client-certificate-data': string; 'client-key-data': string } }[];
}

describe('a fleet over five real apiservers', () => {
  const envs: Testenv[] = [];
  const clients = new Map<string, KubeClient>();
  const kubeconfigs = new Map<string, string>();
  let work: string;

  beforeAll(async () => {
    const started = await Promise.allSettled(
      NAMES.map(() => startTestenv({ kube: { bare: true }, s3: false, git: false, tools: false })),
    );
    for (const s of started) if (s.status === 'fulfilled') envs.push(s.value);
    const failed = started.find((s) => s.status === 'rejected');
    if (failed) throw (failed as PromiseRejectedResult).reason;
    envs.forEach((env, i) => {
      const name = NAMES[i]!;
      clients.set(name, KubeClient.fromKubeConfig(env.kube!.kubeConfig()));
      kubeconfigs.set(name, env.kube!.kubeconfigPath);
    });
    work = await mkdtemp(join(tmpdir(), 'gitops-kit-fleet-'));
  }, 600_000);

  afterAll(async () => {
    await Promise.allSettled(envs.map((env) => env.stop()));
    if (work) await rm(work, { recursive: true, force: true });
  });

  const get = async (cluster: string, path: string): Promise<Record<string, unknown> | undefined> => {
    try {
      return await clients.get(cluster)!.request<Record<string, unknown>>({ method: 'GET', path });
    } catch (error) {
      if ((error as { statusCode?: number }).statusCode === 404) return undefined;
      throw error;
    }
  };
  const cmValue = async (cluster: string, name: string): Promise<string | undefined> =>
    (
      (await get(cluster, `/api/v1/namespaces/default/configmaps/${name}`))?.data as
        | { key?: string }
        | undefined
    )?.key;

  it('rolls a revision out in 3 waves; the wave whose cluster fails health rolls back and wave 3 never starts', async () => {
    const source = new MemorySource({ files: { 'app.yaml': configMap('rollout-app', 'v1') } });
    const manager = new Manager({ concurrency: 5 });
    const fleet = new Fleet<string>({
      manager,
      source,
      sourceMaxAge: 200,
      generators: [listGenerator(NAMES.map((name) => ({ name, connection: name })))],
      rollout: {
        waves: [{ clusters: ['c1'] }, { clusters: ['c2', 'c3'] }, { clusters: ['c4', 'c5'] }],
        bakeTime: 1_500,
        waveTimeout: 60_000,
      },
      factory: (cluster, context) => {
        const target = new KubernetesTarget({
          name: 'fleet-rollout',
          kubeConfig: envs[NAMES.indexOf(cluster.name)]!.kube!.kubeConfig(),
        });
        const reconciler = new Reconciler({
          name: context.name,
          source: context.source,
          renderer: context.renderer(new RawRenderer()),
          target,
          stateStore: target.stateStore({ namespace: 'default' }),
          wait: true,
          healthPollInterval: 200,
          healthTimeout: 20_000,
          timeout: 60_000,
          interval: 10 * 60_000,
          retryInterval: 60_000,
          onListenerError: () => {},
        });
        return { reconciler, target };
      },
    });
    // What the missing controllers would do: Deployments become available, except on c3, where
    // the new version never comes up and its progress deadline passes.
    let writing = true;
    const statusWriter = (async () => {
      while (writing) {
        for (const name of NAMES) {
          const path = '/apis/apps/v1/namespaces/default/deployments/app';
          const live = await get(name, path).catch(() => undefined);
          const meta = live?.metadata as { generation?: number } | undefined;
          const status = live?.status as { observedGeneration?: number } | undefined;
          if (!live || status?.observedGeneration === meta?.generation) continue;
          const ok = name !== 'c3';
          const body = {
            ...live,
            status: {
              observedGeneration: meta?.generation,
              replicas: 1,
              updatedReplicas: 1,
              readyReplicas: ok ? 1 : 0,
              availableReplicas: ok ? 1 : 0,
              conditions: ok
                ? [
                    { type: 'Available', status: 'True', reason: 'MinimumReplicasAvailable' },
                    { type: 'Progressing', status: 'True', reason: 'NewReplicaSetAvailable' },
                  ]
                : [
                    {
                      type: 'Progressing',
                      status: 'False',
                      reason: 'ProgressDeadlineExceeded',
                      message: 'image never started',
                    },
                  ],
            },
          };
          await clients
            .get(name)!
            .request({ method: 'PUT', path: `${path}/status`, body })
            .catch(() => undefined);
        }
        await delay(100);
      }
    })();
    try {
      await fleet.start();
      manager.start();
      const r1 = source.head!.revision;
      await eventually(
        () => NAMES.every((n) => fleet.reconciler(n)?.status.lastAppliedRevision === r1),
        'the baseline',
      );
      const before = new Map<string, string>();
      for (const n of ['c4', 'c5']) {
        const cm = await get(n, '/api/v1/namespaces/default/configmaps/rollout-app');
        before.set(n, (cm?.metadata as { resourceVersion?: string } | undefined)?.resourceVersion ?? '');
        expect(before.get(n)).not.toBe('');
      }

      source.setFiles({ 'app.yaml': configMap('rollout-app', 'v2'), 'deploy.yaml': deployment });
      const r2 = source.commit({ message: 'v2 with a Deployment' });
      fleet.refresh();
      await eventually(() => fleet.status().rollout?.phase === 'Failed', 'wave 2 failing', 90_000);
      const rollout = fleet.status().rollout!;
      expect(rollout.waves.map((w) => w.phase)).toEqual(['Succeeded', 'Failed', 'Pending']);
      expect(rollout.waves[1]!.failures.map((f) => f.cluster)).toEqual(['c3']);
      expect(rollout.waves[1]!.failures[0]!.reason).toMatch(/deadline/i);
      await eventually(
        () => ['c2', 'c3'].every((n) => fleet.reconciler(n)?.status.lastAppliedRevision === r1),
        'wave 2 rolled back',
      );
      // Rolled back: v1 again and the Deployment pruned; c1 keeps v2.
      expect(await cmValue('c1', 'rollout-app')).toBe('v2');
      for (const n of ['c2', 'c3']) {
        expect(await cmValue(n, 'rollout-app')).toBe('v1');
        expect(await get(n, '/apis/apps/v1/namespaces/default/deployments/app')).toBeUndefined();
      }
      // Wave 3 never started: its ConfigMaps were not written again and no Deployment exists.
      await delay(2_000);
      expect(fleet.status().rollout?.waves[2]?.phase).toBe('Pending');
      for (const n of ['c4', 'c5']) {
        const cm = await get(n, '/api/v1/namespaces/default/configmaps/rollout-app');
        expect((cm?.metadata as { resourceVersion?: string } | undefined)?.resourceVersion ?? '').toBe(
          before.get(n),
        );
        expect(await get(n, '/apis/apps/v1/namespaces/default/deployments/app')).toBeUndefined();
      }
      const behind = Object.fromEntries(fleet.notAt(r2).map((b) => [b.cluster, b.reason]));
      expect(behind).toEqual({
        c2: 'RolledBack',
        c3: 'RolledBack',
        c4: 'HeldByRollout',
        c5: 'HeldByRollout',
      });
    } finally {
      writing = false;
      await statusWriter;
      fleet.stop();
      await manager.stop({ abort: true });
      await source.cleanup();
    }
  }, 240_000);

  it('adds a cluster for each Argo CD cluster Secret and removes it (without pruning) when the Secret goes', async () => {
    const mgmt = clients.get('c1')!;
    const namespace = `argocd-${randomBytes(3).toString('hex')}`;
    await mgmt.request({
      method: 'POST',
      path: '/api/v1/namespaces',
      body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } },
    });
    const secretOf = async (
      name: string,
      cluster: string,
      config: Record<string, unknown>,
    ): Promise<Record<string, unknown>> => {
      const kc = JSON.parse(await readFile(kubeconfigs.get(cluster)!, 'utf8')) as Kubeconfig;
      return {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name, namespace, labels: { 'argocd.argoproj.io/secret-type': 'cluster', env: 'test' } },
        type: 'Opaque',
        stringData: {
          name,
          server: kc.clusters[0]!.cluster.server,
          config: JSON.stringify({
            tlsClientConfig: { caData: kc.clusters[0]!.cluster['certificate-authority-data'], ...config },
            ...(config.bearerToken ? { bearerToken: config.bearerToken } : {}),
          }),
        },
      };
    };
    const kc4 = JSON.parse(await readFile(kubeconfigs.get('c4')!, 'utf8')) as Kubeconfig;
    const TOKEN = 'not-a-real-token-0123456789abcdef';
    const source = new MemorySource({ files: { 'app.yaml': configMap('from-secret', 'v1') } });
    const manager = new Manager();
    const generator = new ClusterSecretGenerator({ client: mgmt, namespace, pollIntervalMs: 300 });
    const fleet = new Fleet({
      manager,
      source,
      generators: [generator],
      factory: (cluster, context) => {
        const target = new KubernetesTarget({
          name: 'fleet-secrets',
          kubeConfig: cluster.connection.kubeConfig,
          restrictions: cluster.connection.restrictions,
        });
        const reconciler = new Reconciler({
          name: context.name,
          source: context.source,
          renderer: context.renderer(new RawRenderer()),
          target,
          interval: 10 * 60_000,
          onListenerError: () => {},
        });
        return { reconciler, target };
      },
    });
    try {
      expect((await fleet.start()).added).toEqual([]);
      manager.start();
      const cert = {
        certData: kc4.users[0]!.user['client-certificate-data'],
        keyData: kc4.users[0]!.user['client-key-data'],
      };
      await mgmt.request({
        method: 'POST',
        path: `/api/v1/namespaces/${namespace}/secrets`,
        body: await secretOf('edge-4', 'c4', cert),
      });
      await mgmt.request({
        method: 'POST',
        path: `/api/v1/namespaces/${namespace}/secrets`,
        body: await secretOf('edge-5', 'c5', { bearerToken: TOKEN }),
      });
      await eventually(() => fleet.clusters().length === 2, 'both Secrets seen by the watch');
      await eventually(async () => (await cmValue('c4', 'from-secret')) === 'v1', 'edge-4 applied');
      await eventually(() => fleet.status().clusters['edge-5']?.lastError !== undefined, 'edge-5 failing');
      const status = JSON.stringify(fleet.status());
      const behind = JSON.stringify(fleet.notAt(source.head!.revision));
      expect(behind).toContain('edge-5');
      for (const text of [status, behind]) {
        expect(text).not.toContain(TOKEN);
        expect(text).not.toContain(cert.keyData);
      }
      expect(fleet.status().clusters['edge-4']).toMatchObject({
        labels: { env: 'test' },
        health: expect.any(String),
      });

      await mgmt.request({ method: 'DELETE', path: `/api/v1/namespaces/${namespace}/secrets/edge-4` });
      await eventually(() => !fleet.clusters().includes('edge-4'), 'edge-4 removed');
      expect(manager.names()).toEqual(['edge-5']);
      // Removal never prunes: what edge-4 applied stays.
      expect(await cmValue('c4', 'from-secret')).toBe('v1');
    } finally {
      fleet.stop();
      await manager.stop({ abort: true });
      await source.cleanup();
    }
  }, 120_000);

  it('shares a fleet over 3 replica processes; a killed replica’s clusters are taken over with no double apply', async () => {
    const clustersDir = join(work, 'clusters');
    const sourceDir = join(work, 'source');
    const leaseNamespace = `shards-${randomBytes(3).toString('hex')}`;
    await clients.get('c1')!.request({
      method: 'POST',
      path: '/api/v1/namespaces',
      body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: leaseNamespace } },
    });
    await import('node:fs/promises').then((fs) => Promise.all([fs.mkdir(clustersDir), fs.mkdir(sourceDir)]));
    for (const name of NAMES)
      await writeFile(join(clustersDir, `${name}.kubeconfig`), await readFile(kubeconfigs.get(name)!));
    await writeFile(join(sourceDir, 'app.yaml'), configMap('sharded-app', 'v1'));

    interface Line {
      replica: string;
      at: number;
      t: string;
      clusters?: string[];
      cluster?: string;
      revision?: string;
      writes?: number;
      message?: string;
    }
    const lines: Line[] = [];
    const children = new Map<string, ChildProcess>();
    const spawnReplica = (identity: string): void => {
      // node itself (not the tsx launcher, which would run the code in a grandchild that a
      // SIGKILL of its parent leaves running), with tsx as a loader.
      const child = spawn(process.execPath, ['--import', 'tsx', join(here, 'support', 'fleet-replica.ts')], {
        cwd: root,
        env: {
          ...process.env,
          TSX_TSCONFIG_PATH: join(root, 'tsconfig.test.json'),
          FLEET_REPLICA: JSON.stringify({
            identity,
            managementKubeconfig: kubeconfigs.get('c1'),
            clustersDir,
            sourceDir,
            leaseNamespace,
            leaseDurationMs: 4_000,
          }),
        },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      let buffer = '';
      child.stdout?.on('data', (chunk: Buffer) => {
        buffer += chunk.toString('utf8');
        let nl = buffer.indexOf('\n');
        while (nl >= 0) {
          const text = buffer.slice(0, nl);
          buffer = buffer.slice(nl + 1);
          try {
            lines.push(JSON.parse(text) as Line);
          } catch {
            // not one of ours
          }
          nl = buffer.indexOf('\n');
        }
      });
      children.set(identity, child);
    };
    /** Who owns what now, from each replica's newest `owned` line. */
    const ownership = (alive: string[]): Map<string, string[]> => {
      const out = new Map<string, string[]>();
      for (const id of alive) {
        const last = lines.filter((l) => l.replica === id && l.t === 'owned').at(-1);
        for (const c of last?.clusters ?? []) out.set(c, [...(out.get(c) ?? []), id]);
      }
      return out;
    };
    const writesOf = (cluster: string, revision: string): number =>
      lines
        .filter((l) => l.t === 'applied' && l.cluster === cluster && l.revision === revision)
        .reduce((s, l) => s + (l.writes ?? 0), 0);
    const appliedRevisions = (cluster: string): Set<string> =>
      new Set(lines.filter((l) => l.t === 'applied' && l.cluster === cluster).map((l) => l.revision!));

    try {
      for (const id of ['r1', 'r2', 'r3']) spawnReplica(id);
      const all = ['r1', 'r2', 'r3'];
      await eventually(
        () => {
          const own = ownership(all);
          return NAMES.every((n) => own.get(n)?.length === 1) && new Set([...own.values()].flat()).size === 3;
        },
        'every cluster owned once, by all three replicas',
        90_000,
      );
      await eventually(
        () => NAMES.every((n) => appliedRevisions(n).size === 1),
        'every cluster applied',
        60_000,
      );
      const r1 = [...appliedRevisions('c1')][0]!;

      // Kill (SIGKILL: no release) a replica that runs clusters.
      const own = ownership(all);
      const victim = [...own.values()].flat()[0]!;
      const orphans = NAMES.filter((n) => own.get(n)?.[0] === victim);
      const killedAt = Date.now();
      children.get(victim)!.kill('SIGKILL');
      const survivors = all.filter((id) => id !== victim);
      await eventually(
        () => {
          const now = ownership(survivors);
          return NAMES.every((n) => now.get(n)?.length === 1);
        },
        'the orphans taken over',
        30_000,
      );
      const takenAfter = Date.now() - killedAt;
      // Taken once the victim's Leases are a lease duration old by the survivors' clocks.
      expect(takenAfter).toBeLessThan(4_000 * 3);
      expect(orphans.length).toBeGreaterThan(0);

      // A new revision reaches every cluster, each written once by its one owner.
      await writeFile(join(sourceDir, 'app.yaml'), configMap('sharded-app', 'v2'));
      await eventually(
        async () => {
          for (const n of NAMES) if ((await cmValue(n, 'sharded-app')) !== 'v2') return false;
          return true;
        },
        'v2 everywhere',
        60_000,
      );
      await eventually(() => NAMES.every((n) => appliedRevisions(n).size === 2), 'v2 applied events', 20_000);
      const r2 = [...appliedRevisions('c1')].find((r) => r !== r1)!;
      await delay(3_000);
      for (const n of NAMES) {
        expect({ cluster: n, r1: writesOf(n, r1), r2: writesOf(n, r2) }).toEqual({
          cluster: n,
          r1: 1,
          r2: 1,
        });
      }
      console.log(
        `[fleet] orphans ${orphans.join(',')} of ${victim} taken over ${takenAfter} ms after SIGKILL`,
      );
    } finally {
      if (process.env.FLEET_DEBUG) await writeFile(process.env.FLEET_DEBUG, JSON.stringify(lines, null, 1));
      for (const child of children.values()) if (child.exitCode === null) child.kill('SIGTERM');
      await delay(500);
      for (const child of children.values()) if (child.exitCode === null) child.kill('SIGKILL');
    }
  }, 300_000);
});
