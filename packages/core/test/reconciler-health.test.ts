import { ErrorCodes, getCondition, type KubeObject, type ReconcilerEvents } from '@gitops-kit/core';
import { whileTimePasses } from '@gitops-kit/core/testing';
import { describe, expect, it } from 'vitest';
import { cmRef, configMap, deployment, deployRef, imageOf, rig } from './support/reconciler-fixtures.js';

/** The image of a Deployment object's first container. */
function image(object: KubeObject): unknown {
  const spec = object.spec as { template?: { spec?: { containers?: { image?: string }[] } } } | undefined;
  return spec?.template?.spec?.containers?.[0]?.image;
}

const waitOptions = { wait: true, healthPollInterval: 1_000, healthTimeout: 10_000 } as const;

describe('Reconciler: health wait', () => {
  it('polls health on the clock until every object is Current, then reports Healthy', async () => {
    const r = rig({ 'web.yaml': deployment('web', 'app:1') }, waitOptions);
    let readings = 0;
    r.cluster.setHealth('Deployment', (_object, reading) => {
      readings++;
      return reading < 3 ? 'InProgress' : 'Current';
    });

    const result = await whileTimePasses(r.clock, r.reconciler.reconcile());

    expect(result.outcome).toBe('succeeded');
    expect(result.health).toBe('Current');
    expect(readings).toBe(3);
    expect(r.names()).toEqual(['fetched', 'rendered', 'planned', 'applied', 'healthy']);
    const status = r.reconciler.status;
    expect(getCondition(status, 'Healthy')).toMatchObject({ status: 'True', reason: 'Healthy' });
    expect(status.lastHealthyRevision).toBe(r.source.head?.revision);
  });

  it('fails with HealthTimeout when objects stay in progress past healthTimeout', async () => {
    const r = rig({ 'web.yaml': deployment('web', 'app:1') }, { ...waitOptions, healthTimeout: 5_000 });
    r.cluster.setHealth('Deployment', { status: 'InProgress', message: 'Ready: 0/1' });

    const result = await whileTimePasses(r.clock, r.reconciler.reconcile());

    expect(result.error?.code).toBe(ErrorCodes.HealthTimeout);
    // What it still waited for, so a timeout says why.
    expect(result.message).toContain('(apps/v1 Deployment default/web: Ready: 0/1)');
    expect(getCondition(r.reconciler.status, 'Healthy')).toMatchObject({
      status: 'False',
      reason: 'HealthCheckTimeout',
    });
    const unhealthy = r.events.find(([n]) => n === 'unhealthy')?.[1] as ReconcilerEvents['unhealthy'];
    expect(unhealthy.reason).toBe('Timeout');
    expect(unhealthy.message).toContain('apps/v1 Deployment default/web');
  });

  it('without rollback, a failed rollout is a failed pass and the revision stays applied', async () => {
    const r = rig({ 'web.yaml': deployment('web', 'app:1') }, waitOptions);
    await r.reconciler.reconcile();
    r.cluster.setHealth((o) => image(o) === 'app:2', 'Failed');
    r.source.setFile('web.yaml', deployment('web', 'app:2')).commit();

    const result = await r.reconciler.reconcile();

    expect(result.error?.code).toBe(ErrorCodes.HealthFailed);
    expect(imageOf(r.cluster, 'web')).toBe('app:2');
    expect(r.reconciler.status.history[0]?.outcome).toBe('failed');
    expect(r.names()).not.toContain('rolledBack');
  });
});

describe('Reconciler: invariant 6, rollback of a revision that never became healthy', () => {
  it('applies the last healthy revision again, prunes what the bad one added, and says so', async () => {
    const r = rig({ 'web.yaml': deployment('web', 'app:1') }, { ...waitOptions, rollback: true });
    await r.reconciler.reconcile();
    const good = r.source.head?.revision;
    r.cluster.setHealth((o) => image(o) === 'app:2', { status: 'Failed', message: 'CrashLoopBackOff' });
    const bad = r.source
      .setFile('web.yaml', deployment('web', 'app:2'))
      .setFile('extra.yaml', configMap('extra'))
      .commit({ message: 'ship app:2', author: 'Bob <bob@example.com>' });

    const result = await whileTimePasses(r.clock, r.reconciler.reconcile());

    expect(result.outcome).toBe('rolledBack');
    expect(result.revision).toBe(bad);
    expect(result.appliedRevision).toBe(good);
    expect(imageOf(r.cluster, 'web')).toBe('app:1');
    expect(r.cluster.get(cmRef('extra'))).toBeUndefined();
    const rolledBack = r.events.find(([n]) => n === 'rolledBack')?.[1] as ReconcilerEvents['rolledBack'];
    expect(rolledBack).toMatchObject({ from: bad, to: good, revision: good, healthy: true });
    const names = r.names();
    expect(names.indexOf('unhealthy')).toBeLessThan(names.indexOf('rolledBack'));

    const status = r.reconciler.status;
    expect(getCondition(status, 'Stalled')).toMatchObject({ status: 'True', reason: 'RolledBack' });
    expect(getCondition(status, 'Ready')).toMatchObject({ status: 'False', reason: 'RolledBack' });
    expect(status.lastFetchedRevision).toBe(bad);
    expect(status.lastAttemptedRevision).toBe(bad);
    expect(status.lastAppliedRevision).toBe(good);
    expect(status.lastHealthyRevision).toBe(good);
    expect(status.history[0]).toMatchObject({
      revision: bad,
      outcome: 'rolledBack',
      author: 'Bob <bob@example.com>',
    });
    expect(r.store.get('app')?.lastAppliedRevision).toBe(good);
    expect(r.store.get('app')?.inventory.entries.map((e) => e.ref.name)).toEqual(['web']);
  });

  it('does not apply the failed revision again while the source returns it, but keeps correcting drift', async () => {
    const r = rig({ 'web.yaml': deployment('web', 'app:1') }, { ...waitOptions, rollback: true });
    await r.reconciler.reconcile();
    const good = r.source.head?.revision;
    r.cluster.setHealth((o) => image(o) === 'app:2', 'Failed');
    r.source.setFile('web.yaml', deployment('web', 'app:2')).commit();
    expect((await whileTimePasses(r.clock, r.reconciler.reconcile())).outcome).toBe('rolledBack');

    r.cluster.edit(deployRef('web'), (o) => {
      (o.spec as { replicas: number }).replicas = 5;
      return o;
    });
    const before = r.events.length;
    const held = await whileTimePasses(r.clock, r.reconciler.reconcile());

    expect(held.outcome).toBe('rolledBack');
    expect(held.appliedRevision).toBe(good);
    const planned = r.events
      .slice(before)
      .filter(([n]) => n === 'planned')
      .map(([, p]) => (p as ReconcilerEvents['planned']).revision);
    expect(planned).toEqual([good]);
    expect(imageOf(r.cluster, 'web')).toBe('app:1');
    expect(r.cluster.get(deployRef('web'))?.spec).toMatchObject({ replicas: 1 });
    expect(getCondition(r.reconciler.status, 'Stalled')?.status).toBe('True');
    expect(r.reconciler.status.history.filter((h) => h.outcome === 'rolledBack')).toHaveLength(1);

    // A new revision gets its chance and clears Stalled.
    const fixed = r.source.setFile('web.yaml', deployment('web', 'app:3')).commit({ message: 'fix' });
    const next = await whileTimePasses(r.clock, r.reconciler.reconcile());
    expect(next.outcome).toBe('succeeded');
    expect(imageOf(r.cluster, 'web')).toBe('app:3');
    expect(getCondition(r.reconciler.status, 'Stalled')?.status).toBe('False');
    expect(getCondition(r.reconciler.status, 'Ready')?.status).toBe('True');
    expect(r.reconciler.status.lastAppliedRevision).toBe(fixed);
  });

  it('fails the pass when the revision rolled back to does not become healthy either', async () => {
    const r = rig({ 'web.yaml': deployment('web', 'app:1') }, { ...waitOptions, rollback: true });
    await r.reconciler.reconcile();
    r.cluster.setHealth('Deployment', 'Failed');
    r.source.setFile('web.yaml', deployment('web', 'app:2')).commit();

    const result = await whileTimePasses(r.clock, r.reconciler.reconcile());

    expect(result.outcome).toBe('failed');
    expect(result.error?.code).toBe(ErrorCodes.HealthFailed);
    const rolledBack = r.events.find(([n]) => n === 'rolledBack')?.[1] as ReconcilerEvents['rolledBack'];
    expect(rolledBack.healthy).toBe(false);
    expect(getCondition(r.reconciler.status, 'Stalled')?.status).toBe('True');
  });

  it('rollback needs wait', async () => {
    expect(() => rig({ 'a.yaml': configMap('a') }, { rollback: true, wait: false })).toThrow(
      /rollback needs wait/,
    );
  });
});
