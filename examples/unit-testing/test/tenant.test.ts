import { type ObjectRef, RenderError } from '@gitops-kit/core';
import { FakeCluster, ManualClock, MemorySource, whileTimePasses } from '@gitops-kit/core/testing';
import { afterEach, describe, expect, it } from 'vitest';
import {
  POLICY_VIOLATION,
  TEAM_LABEL,
  TENANT_HEALTH_TIMEOUT,
  TENANT_INTERVAL,
  type Tenant,
  tenantReconciler,
} from '../src/index.js';
import { settings, until, webDeployment } from './support.js';

const tenant: Tenant = { name: 'shop', team: 'checkout', maxReplicas: 4 };
const web: ObjectRef = { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'tenant-shop', name: 'web' };
const config: ObjectRef = { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'tenant-shop', name: 'settings' };

const sources: MemorySource[] = [];
afterEach(async () => {
  await Promise.all(sources.splice(0).map((source) => source.cleanup()));
});

/** A tenant repository in memory, a fake cluster and a manual clock, wired into the tenant's reconciler. */
function setup(files: Record<string, string>) {
  const clock = new ManualClock();
  const source = new MemorySource({ clock, files });
  sources.push(source);
  const cluster = new FakeCluster({ clock, owner: 'platform' });
  const reconciler = tenantReconciler({ tenant, source, target: cluster, clock });
  return { clock, source, cluster, reconciler };
}

function imageOf(cluster: FakeCluster): unknown {
  const live = cluster.get(web) as { spec?: { template?: { spec?: { containers?: { image?: string }[] } } } };
  return live?.spec?.template?.spec?.containers?.[0]?.image;
}

describe('tenant reconciler', () => {
  it("applies the tenant's objects into its own namespace, labelled with the team", async () => {
    const { cluster, reconciler } = setup({
      'web.yaml': webDeployment(),
      'settings.yaml': settings({ a: '1' }),
    });

    const result = await reconciler.reconcile();

    expect(result.outcome).toBe('succeeded');
    expect(cluster.list().map((o) => `${o.kind} ${o.metadata.namespace ?? ''}/${o.metadata.name}`)).toEqual([
      'Namespace /tenant-shop',
      'ConfigMap tenant-shop/settings',
      'Deployment tenant-shop/web',
    ]);
    expect(cluster.list().every((o) => o.metadata.labels?.[TEAM_LABEL] === 'checkout')).toBe(true);
  });

  it('refuses a Deployment without resource limits, naming the file and line, and writes nothing', async () => {
    const { cluster, source, reconciler } = setup({ 'web.yaml': webDeployment() });
    await reconciler.reconcile();
    cluster.clearOperations();

    source
      .setFile('web.yaml', `# no limits\n${webDeployment({ image: 'shop/web:2.0', limits: false })}`)
      .commit();
    const result = await reconciler.reconcile();

    expect(result.outcome).toBe('failed');
    expect(result.error).toBeInstanceOf(RenderError);
    expect(result.error?.code).toBe(POLICY_VIOLATION);
    expect(result.error?.location).toMatchObject({ file: 'web.yaml', line: 2 });
    expect(result.error?.message).toContain('container "web" must set resources.limits');
    expect(cluster.operations).toEqual([]);
    expect(imageOf(cluster)).toBe('shop/web:1.0');
  });

  it('refuses objects aimed at another namespace, cluster-wide kinds and too many replicas, all at once', async () => {
    const { cluster, reconciler } = setup({
      'settings.yaml': settings({ a: '1' }, 'kube-system'),
      'role.yaml':
        'apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: admin-ish\n',
      'web.yaml': webDeployment({ replicas: 9 }),
    });

    const result = await reconciler.reconcile();

    expect(result.outcome).toBe('failed');
    expect(result.error?.message).toMatch(/tenants may not create a ClusterRole/);
    expect(result.error?.message).toMatch(/namespace "kube-system" is not the tenant's namespace/);
    expect(result.error?.message).toMatch(/replicas 9 is above the limit of 4/);
    expect(cluster.size).toBe(0);
  });

  it('reverts a change made by hand on the next scheduled pass', async () => {
    const { clock, cluster, reconciler } = setup({ 'settings.yaml': settings({ mode: 'safe' }) });
    reconciler.start();
    await until(() => reconciler.status.nextRunAt !== undefined);
    cluster.edit(config, (draft) => {
      draft.data = { mode: 'yolo' };
      return draft;
    });

    const drifted = new Promise((resolve) => reconciler.once('drifted', resolve));
    const nextPass = new Promise((resolve) => reconciler.once('healthy', resolve));
    await clock.advance(TENANT_INTERVAL);
    await Promise.all([drifted, nextPass]);
    await reconciler.stop();

    expect(cluster.get(config)?.data).toEqual({ mode: 'safe' });
  });

  it('waits for a slow rollout and keeps a release that becomes ready', async () => {
    const { clock, cluster, reconciler } = setup({ 'web.yaml': webDeployment() });
    cluster.setHealth('Deployment', (_deployment, reading) => (reading < 4 ? 'InProgress' : 'Current'));

    const result = await whileTimePasses(clock, reconciler.reconcile());

    expect(result.error?.message).toBeUndefined();
    expect(result).toMatchObject({ outcome: 'succeeded', health: 'Current' });
    expect(clock.now() - Date.parse('2026-01-01T00:00:00Z')).toBeGreaterThanOrEqual(3 * 5_000);
  });

  it('rolls back a release whose pods never become ready, after the health timeout', async () => {
    const { clock, cluster, source, reconciler } = setup({ 'web.yaml': webDeployment() });
    const good = (await reconciler.reconcile()).appliedRevision;
    cluster.setHealth((object) => JSON.stringify(object).includes('shop/web:2.0'), {
      status: 'InProgress',
      message: 'CrashLoopBackOff',
    });
    source.setFile('web.yaml', webDeployment({ image: 'shop/web:2.0' })).commit({ message: 'release 2.0' });
    const started = clock.now();

    const result = await whileTimePasses(clock, reconciler.reconcile());

    expect(result.outcome).toBe('rolledBack');
    expect(result.appliedRevision).toBe(good);
    expect(clock.now() - started).toBeGreaterThanOrEqual(TENANT_HEALTH_TIMEOUT);
    expect(imageOf(cluster)).toBe('shop/web:1.0');
    expect(reconciler.status.history[0]).toMatchObject({ outcome: 'rolledBack', message: 'release 2.0' });
  });
});
