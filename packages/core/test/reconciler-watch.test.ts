import { OptionError, type ReconcilerEvents, Semaphore } from '@gitops-kit/core';
import { FakeCluster, ManualClock, whileTimePasses } from '@gitops-kit/core/testing';
import { describe, expect, it } from 'vitest';
import {
  advanceAndIdle,
  cmRef,
  configMap,
  GatedSource,
  memorySource,
  rig,
} from './support/reconciler-fixtures.js';

/** Real event-loop turns until `check` holds (at most a second). */
async function waitFor(check: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 2));
  expect(check()).toBe(true);
}

function watchedRig() {
  const clock = new ManualClock();
  const cluster = new FakeCluster({ clock, watch: true });
  const r = rig(
    { 'a.yaml': configMap('a'), 'b.yaml': configMap('b') },
    { interval: 600_000 },
    { clock, cluster },
  );
  const drifted: ReconcilerEvents['drifted'][] = [];
  r.reconciler.on('drifted', (event) => drifted.push(event));
  return { ...r, drifted };
}

describe('Reconciler with watch: instant revert', () => {
  it('re-applies a hand edit and a deletion without a pass, and says who changed what', async () => {
    const r = watchedRig();
    r.reconciler.start();
    await advanceAndIdle(r.clock, r.reconciler, 0);
    expect(r.cluster.get(cmRef('a'))?.data).toEqual({ key: 'v1' });
    const fetchesBefore = r.source.fetchCount;

    r.cluster.edit(cmRef('a'), (o) => {
      o.data = { key: 'hand' };
    });
    r.cluster.remove(cmRef('b'));
    await advanceAndIdle(r.clock, r.reconciler, 50);

    expect(r.cluster.get(cmRef('a'))?.data).toEqual({ key: 'v1' });
    expect(r.cluster.get(cmRef('b'))?.data).toEqual({ key: 'v1' });
    expect(r.source.fetchCount).toBe(fetchesBefore); // no pass: nothing fetched
    expect(r.drifted).toHaveLength(1);
    expect(r.drifted[0]).toMatchObject({ repaired: true, changedBy: ['fake-cluster'] });
    expect(r.drifted[0]?.objects.map((o) => o.name).sort()).toEqual(['a', 'b']);
    expect(r.reconciler.status.history[0]?.reason).toMatch(
      /^Drift reverted by watch: v1 ConfigMap default\/a changed by fake-cluster \(1 field\); v1 ConfigMap default\/b deleted/,
    );
    await r.reconciler.stop();
  });

  it('leaves a change that matches the desired state alone, and stops watching when stopped', async () => {
    const r = watchedRig();
    r.reconciler.start();
    await advanceAndIdle(r.clock, r.reconciler, 0);
    r.cluster.edit(cmRef('a'), (o) => {
      o.metadata.labels = { ...o.metadata.labels, extra: 'by-hand' };
    });
    await advanceAndIdle(r.clock, r.reconciler, 50);
    expect(r.drifted).toHaveLength(0);
    await r.reconciler.stop();
    r.cluster.remove(cmRef('a'));
    await advanceAndIdle(r.clock, r.reconciler, 50);
    expect(r.cluster.get(cmRef('a'))).toBeUndefined();
  });

  it('a notice while a pass runs is answered by one pass queued after it, never a repair alongside', async () => {
    const clock = new ManualClock();
    const cluster = new FakeCluster({ clock, watch: true });
    const base = memorySource(clock, { 'a.yaml': configMap('a') });
    const source = new GatedSource(base);
    const r = rig(undefined, { interval: 600_000, source }, { clock, cluster, source: base });
    const repairs: number[] = [];
    const repair = cluster.repair.bind(cluster);
    cluster.repair = async (refs, options) => {
      repairs.push(refs.length);
      return repair(refs, options);
    };
    r.reconciler.start();
    await source.entered();
    source.open();
    await advanceAndIdle(r.clock, r.reconciler, 0);
    expect(source.calls).toBe(1);

    const pass = r.reconciler.reconcile();
    await source.entered(); // a pass holds the fetch stage
    r.cluster.edit(cmRef('a'), (o) => {
      o.data = { key: 'hand' };
    });
    await r.clock.advance(50);
    source.open();
    await pass;
    await source.entered(); // the queued pass
    source.open();
    await advanceAndIdle(r.clock, r.reconciler, 0);
    expect(repairs).toEqual([]);
    expect(source.calls).toBe(3); // the pass in flight, then the one queued for the notice
    expect(r.cluster.get(cmRef('a'))?.data).toEqual({ key: 'v1' });
    await r.reconciler.stop();
  });

  it('a repair waits for a slot of the gate, as a pass does; a stop drops one still waiting', async () => {
    const clock = new ManualClock();
    const cluster = new FakeCluster({ clock, watch: true });
    const gate = new Semaphore(1);
    const r = rig({ 'a.yaml': configMap('a') }, { interval: 600_000, gate }, { clock, cluster });
    r.reconciler.start();
    await advanceAndIdle(r.clock, r.reconciler, 0);
    const hold = await gate.acquire(new AbortController().signal); // another reconciler's pass

    r.cluster.edit(cmRef('a'), (o) => {
      o.data = { key: 'hand' };
    });
    await r.clock.advance(50);
    await waitFor(() => gate.waiting === 1);
    expect(r.reconciler.busy).toBe(true);
    expect(r.cluster.get(cmRef('a'))?.data).toEqual({ key: 'hand' });
    hold();
    await advanceAndIdle(r.clock, r.reconciler, 0);
    expect(r.cluster.get(cmRef('a'))?.data).toEqual({ key: 'v1' });
    expect(gate.active).toBe(0);

    // A pass asked while a repair waits for its slot runs after the repair, and the schedule goes on.
    const held = await gate.acquire(new AbortController().signal);
    r.cluster.edit(cmRef('a'), (o) => {
      o.data = { key: 'hand once more' };
    });
    await r.clock.advance(50);
    await waitFor(() => gate.waiting === 1);
    const fetches = r.source.fetchCount;
    const asked = r.reconciler.reconcile();
    held();
    const result = await whileTimePasses(r.clock, asked);
    expect(result.outcome).toBe('succeeded');
    expect(r.source.fetchCount).toBe(fetches + 1);
    expect(r.cluster.get(cmRef('a'))?.data).toEqual({ key: 'v1' });
    await advanceAndIdle(r.clock, r.reconciler, 0);
    expect(r.reconciler.status.nextRunAt).toBeDefined();

    const again = await gate.acquire(new AbortController().signal);
    r.cluster.edit(cmRef('a'), (o) => {
      o.data = { key: 'hand again' };
    });
    await r.clock.advance(50);
    await waitFor(() => gate.waiting === 1);
    await r.reconciler.stop({ abort: false });
    expect(gate.waiting).toBe(0);
    again();
    await advanceAndIdle(r.clock, r.reconciler, 50);
    expect(r.cluster.get(cmRef('a'))?.data).toEqual({ key: 'hand again' });
  });

  it('on a target shared by two reconcilers, only the owner of a drifted object answers it', async () => {
    const clock = new ManualClock();
    const cluster = new FakeCluster({ clock, watch: true });
    const a = rig({ 'a.yaml': configMap('a') }, { name: 'a', interval: 600_000 }, { clock, cluster });
    const b = rig({ 'b.yaml': configMap('b') }, { name: 'b', interval: 600_000 }, { clock, cluster });
    const drifted: string[] = [];
    a.reconciler.on('drifted', () => drifted.push('a'));
    b.reconciler.on('drifted', () => drifted.push('b'));
    a.reconciler.start();
    b.reconciler.start();
    await advanceAndIdle(clock, a.reconciler, 0);
    await advanceAndIdle(clock, b.reconciler, 0);
    const historyOfA = a.reconciler.status.history.length;
    cluster.edit(cmRef('b'), (o) => {
      o.data = { key: 'hand' };
    });
    await advanceAndIdle(clock, b.reconciler, 50);
    await advanceAndIdle(clock, a.reconciler, 0);
    expect(cluster.get(cmRef('b'))?.data).toEqual({ key: 'v1' });
    expect(drifted).toEqual(['b']);
    expect(a.reconciler.status.history).toHaveLength(historyOfA);
    await a.reconciler.stop();
    await b.reconciler.stop();
  });

  it('a repair that hangs is aborted at the pass timeout, and a pass is asked instead', async () => {
    const r = watchedRig();
    r.reconciler.start();
    await advanceAndIdle(r.clock, r.reconciler, 0);
    const aborted: unknown[] = [];
    r.cluster.repair = (_refs, options) =>
      new Promise((_resolve, reject) =>
        options.signal.addEventListener('abort', () => {
          aborted.push(options.signal.reason);
          reject(options.signal.reason);
        }),
      );
    const fetches = r.source.fetchCount;
    r.cluster.edit(cmRef('a'), (o) => {
      o.data = { key: 'hand' };
    });
    await r.clock.advance(50);
    expect(r.reconciler.busy).toBe(true);
    await r.clock.advance(10 * 60_000);
    await waitFor(() => aborted.length === 1);
    await advanceAndIdle(r.clock, r.reconciler, 0);
    expect(aborted[0]).toMatchObject({ code: 'RECONCILE_TIMEOUT' });
    expect(r.source.fetchCount).toBe(fetches + 1); // the safety net: a pass
    expect(r.cluster.get(cmRef('a'))?.data).toEqual({ key: 'v1' });
    await r.reconciler.stop();
  });

  it('refuses watch with a target that cannot watch', () => {
    const target = { ...new FakeCluster(), name: 'plain' } as unknown as FakeCluster;
    expect(() => rig({}, { watch: true, target: { ...target, watchDrift: undefined } as never })).toThrow(
      OptionError,
    );
  });
});
