import { ErrorCodes, getCondition, Manager } from '@gitops-kit/core';
import { FakeCluster, ManualClock } from '@gitops-kit/core/testing';
import { describe, expect, it } from 'vitest';
import {
  advanceAndIdle,
  cmRef,
  configMap,
  GatedSource,
  idle,
  memorySource,
  type Rig,
  rig,
} from './support/reconciler-fixtures.js';

/** Rigs sharing a clock and a cluster, one per name, each with its own source and ConfigMap. */
function rigs(names: string[], overrides: Parameters<typeof rig>[1] = {}): Record<string, Rig> {
  const clock = new ManualClock();
  const cluster = new FakeCluster({ clock });
  const out: Record<string, Rig> = {};
  for (const name of names) {
    const source = memorySource(clock, { [`${name}.yaml`]: configMap(name) });
    out[name] = rig(undefined, { name, ...overrides }, { clock, cluster, source });
  }
  return out;
}

/** Lets queued callbacks run a few times (no clock movement). */
async function turns(n = 5): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise((resolve) => setImmediate(resolve));
}

describe('Manager', () => {
  it('runs at most `concurrency` passes at once', async () => {
    const clock = new ManualClock();
    const cluster = new FakeCluster({ clock });
    const gated = ['a', 'b', 'c'].map((name) => {
      const inner = memorySource(clock, { [`${name}.yaml`]: configMap(name) });
      const source = new GatedSource(inner);
      return { name, source, r: rig(undefined, { name, source }, { clock, cluster, source: inner }) };
    });
    const manager = new Manager({ concurrency: 2 });
    for (const g of gated) manager.add(g.r.reconciler);

    manager.start();
    await Promise.all([gated[0]?.source.entered(), gated[1]?.source.entered()]);
    await turns();
    expect(gated.map((g) => g.source.calls)).toEqual([1, 1, 0]);

    gated[0]?.source.open();
    await gated[2]?.source.entered();
    expect(gated.map((g) => g.source.calls)).toEqual([1, 1, 1]);
    expect(gated.reduce((sum, g) => sum + g.source.inFlight, 0)).toBeLessThanOrEqual(2);

    gated[1]?.source.open();
    gated[2]?.source.open();
    await manager.stop();
    expect(['a', 'b', 'c'].map((n) => cluster.get(cmRef(n)) !== undefined)).toEqual([true, true, true]);
    expect(Object.keys(manager.statuses())).toEqual(['a', 'b', 'c']);
  });

  it('defers a reconciler until its dependencies are Ready, and wakes it as soon as they are', async () => {
    const { a, b } = rigs(['a', 'b'], { retryInterval: 5_000 });
    if (!a || !b) throw new Error('rigs');
    a.source.failNextFetch();
    const manager = new Manager({ dependencyRetryInterval: 60_000 });
    manager.add(b.reconciler, { dependsOn: ['a'] }).add(a.reconciler);

    manager.start();
    await idle(a.reconciler);
    await idle(b.reconciler);
    expect(getCondition(a.reconciler.status, 'Ready')?.status).toBe('False');
    expect(getCondition(b.reconciler.status, 'Ready')).toMatchObject({
      status: 'False',
      reason: 'DependencyNotReady',
    });
    expect(getCondition(b.reconciler.status, 'Ready')?.message).toContain('a');
    expect(b.source.fetchCount).toBe(0);
    expect(Date.parse(b.reconciler.status.nextRunAt ?? '') - b.clock.now()).toBe(60_000);

    // a retries after 5 s and becomes Ready; b runs then, long before its own 60 s retry.
    await advanceAndIdle(a.clock, a.reconciler, 5_000);
    await idle(b.reconciler);
    expect(getCondition(a.reconciler.status, 'Ready')?.status).toBe('True');
    expect(b.source.fetchCount).toBe(1);
    expect(getCondition(b.reconciler.status, 'Ready')?.status).toBe('True');
    expect(b.cluster.get(cmRef('b'))).toBeDefined();
    await manager.stop();
  });

  it('requires each dependency to be Ready at its newest revision', async () => {
    const { a, b } = rigs(['a', 'b']);
    if (!a || !b) throw new Error('rigs');
    const manager = new Manager();
    manager.add(a.reconciler).add(b.reconciler, { dependsOn: ['a'] });
    await a.reconciler.reconcile();
    expect((await b.reconciler.reconcile()).outcome).toBe('succeeded');

    // a fetches a new revision that fails to apply: it is no longer Ready at its newest revision.
    a.source.setFile('a2.yaml', configMap('a2')).commit();
    a.cluster.failApply(cmRef('a2'), 'refused (simulated)');
    manager.start();
    await idle(a.reconciler);
    await idle(b.reconciler);
    expect(a.reconciler.status.lastFetchedRevision).not.toBe(a.reconciler.status.lastAppliedRevision);

    const result = await manager.trigger('b');
    expect(result).toMatchObject({ outcome: 'skipped', reason: 'DependencyNotReady' });
    await manager.stop();
  });

  it('refuses dependency cycles and missing dependencies at start()', () => {
    const { a, b, c } = rigs(['a', 'b', 'c']);
    if (!a || !b || !c) throw new Error('rigs');
    const cyclic = new Manager();
    cyclic.add(a.reconciler, { dependsOn: ['c'] });
    cyclic.add(b.reconciler, { dependsOn: ['a'] });
    cyclic.add(c.reconciler, { dependsOn: ['b'] });
    expect(() => cyclic.start()).toThrow(expect.objectContaining({ code: ErrorCodes.DependencyCycle }));
    expect(a.reconciler.busy).toBe(false);

    const missing = new Manager().add(a.reconciler, { dependsOn: ['nope'] });
    expect(() => missing.start()).toThrow(expect.objectContaining({ code: ErrorCodes.DependencyMissing }));
    expect(() => new Manager().add(a.reconciler).add(a.reconciler)).toThrow(/already has/);
  });

  it('stop() waits for passes in flight to finish; stop({ abort: true }) aborts them', async () => {
    const clock = new ManualClock();
    const inner = memorySource(clock, { 'a.yaml': configMap('a') });
    const source = new GatedSource(inner);
    const r = rig(undefined, { source }, { clock, source: inner });
    const manager = new Manager().add(r.reconciler);
    manager.start();
    await source.entered();

    let stopped = false;
    const stopping = manager.stop().then(() => {
      stopped = true;
    });
    await turns();
    expect(stopped).toBe(false);
    source.open();
    await stopping;
    expect(r.cluster.get(cmRef('a'))).toBeDefined();
    expect(r.reconciler.status.history[0]?.outcome).toBe('succeeded');
    expect(clock.pendingTimers).toBe(0);

    manager.start();
    await source.entered();
    await manager.stop({ abort: true });
    expect(r.reconciler.status.history[0]?.outcome).toBe('succeeded');
    const failed = r.events.filter(([n]) => n === 'failed').map(([, p]) => p as { error: { code: string } });
    expect(failed.map((f) => f.error.code)).toEqual([ErrorCodes.Aborted]);
    expect(clock.pendingTimers).toBe(0);
  });

  it('triggers the reconcilers whose source matches a change notification', async () => {
    const clock = new ManualClock();
    const cluster = new FakeCluster({ clock });
    const manager = new Manager();
    const shop = rig(
      undefined,
      { name: 'shop' },
      { clock, cluster, source: memorySource(clock, { 'a.yaml': configMap('a') }) },
    );
    const other = rig(
      undefined,
      { name: 'other' },
      { clock, cluster, source: memorySource(clock, { 'b.yaml': configMap('b') }) },
    );
    manager.add(shop.reconciler).add(other.reconciler);

    expect(manager.triggerMatching({ url: 'memory://elsewhere' })).toEqual([]);
    const names = manager.triggerMatching({ url: 'memory://source', ref: 'refs/heads/main' });
    expect(names).toEqual(['shop', 'other']);
    await idle(shop.reconciler);
    await idle(other.reconciler);
    expect(shop.source.fetchCount).toBe(1);
    expect(manager.get('shop')).toBe(shop.reconciler);
    await expect(manager.trigger('nope')).rejects.toMatchObject({ code: ErrorCodes.UnknownReconciler });
  });

  it('remove() stops a reconciler and refuses while others depend on it', async () => {
    const { a, b } = rigs(['a', 'b']);
    if (!a || !b) throw new Error('rigs');
    const manager = new Manager().add(a.reconciler).add(b.reconciler, { dependsOn: ['a'] });
    manager.start();
    await expect(manager.remove('a')).rejects.toThrow(/b depends on it/);
    expect(await manager.remove('b')).toBe(true);
    expect(manager.names()).toEqual(['a']);
    expect(b.reconciler.busy).toBe(false);
    expect(await manager.remove('b')).toBe(false);
    await manager.stop();
    expect(a.clock.pendingTimers).toBe(0);
  });

  it('a graceful stop drops passes still waiting for a slot', async () => {
    const clock = new ManualClock();
    const cluster = new FakeCluster({ clock });
    const gated = ['a', 'b'].map((name) => {
      const inner = memorySource(clock, { [`${name}.yaml`]: configMap(name) });
      const source = new GatedSource(inner);
      return { source, r: rig(undefined, { name, source }, { clock, cluster, source: inner }) };
    });
    const manager = new Manager({ concurrency: 1 });
    for (const g of gated) manager.add(g.r.reconciler);
    manager.start();
    await gated[0]?.source.entered();

    const stopping = manager.stop();
    gated[0]?.source.open();
    await stopping;

    expect(gated.map((g) => g.source.calls)).toEqual([1, 0]);
    expect(cluster.get(cmRef('a'))).toBeDefined();
    expect(cluster.get(cmRef('b'))).toBeUndefined();
    expect(gated[1]?.r.reconciler.busy).toBe(false);
  });

  it('a dependency that becomes Ready during a graceful stop does not wake its dependants', async () => {
    const clock = new ManualClock();
    const cluster = new FakeCluster({ clock });
    const innerA = memorySource(clock, { 'a.yaml': configMap('a') });
    const gatedA = new GatedSource(innerA);
    const a = rig(undefined, { name: 'a', source: gatedA }, { clock, cluster, source: innerA });
    const b = rig(
      undefined,
      { name: 'b' },
      { clock, cluster, source: memorySource(clock, { 'b.yaml': configMap('b') }) },
    );
    const manager = new Manager().add(a.reconciler).add(b.reconciler, { dependsOn: ['a'] });
    manager.start();
    await gatedA.entered();
    await idle(b.reconciler);
    expect(getCondition(b.reconciler.status, 'Ready')?.reason).toBe('DependencyNotReady');

    const stopping = manager.stop();
    gatedA.open();
    await stopping;
    await turns();

    expect(getCondition(a.reconciler.status, 'Ready')?.status).toBe('True');
    expect(b.source.fetchCount).toBe(0);
    expect(b.reconciler.busy).toBe(false);
    expect(cluster.get(cmRef('b'))).toBeUndefined();
  });
});
