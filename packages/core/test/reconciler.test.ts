import {
  ApplyError,
  ErrorCodes,
  getCondition,
  type InventoryEntry,
  MemoryStateStore,
  type ReconcilerEvents,
  type StoredState,
  type Target,
} from '@gitops-kit/core';
import { FakeCluster, ManualClock } from '@gitops-kit/core/testing';
import { describe, expect, it } from 'vitest';
import { cmRef, configMap, memorySource, rig } from './support/reconciler-fixtures.js';

/** The inventory refs' names, in order. */
function inventoryNames(entries: readonly InventoryEntry[] | undefined): string[] {
  return (entries ?? []).map((e) => e.ref.name).sort();
}

describe('Reconciler: one pass', () => {
  it('applies the set, stores the inventory and reports Ready with the revision and history', async () => {
    const r = rig({ 'a.yaml': configMap('a'), 'b.yaml': configMap('b') });
    const revision = r.source.head?.revision;

    const result = await r.reconciler.reconcile();

    expect(result.outcome).toBe('succeeded');
    expect(result.revision).toBe(revision);
    expect(result.plan).toEqual({ create: 2, update: 0, unchanged: 0, prune: 0, drifted: 0 });
    expect(result.writes).toBe(2);
    expect(r.cluster.get(cmRef('a'))?.data).toEqual({ key: 'v1' });
    expect(r.names()).toEqual(['fetched', 'rendered', 'planned', 'applied']);

    const status = r.reconciler.status;
    expect(Object.isFrozen(status)).toBe(true);
    expect(Object.isFrozen(status.conditions)).toBe(true);
    expect(getCondition(status, 'Ready')).toMatchObject({
      status: 'True',
      reason: 'ReconciliationSucceeded',
    });
    expect(getCondition(status, 'Reconciling')?.status).toBe('False');
    expect(getCondition(status, 'Stalled')?.status).toBe('False');
    expect(getCondition(status, 'Healthy')).toMatchObject({ status: 'Unknown', reason: 'NotChecked' });
    expect(status.lastFetchedRevision).toBe(revision);
    expect(status.lastAttemptedRevision).toBe(revision);
    expect(status.lastAppliedRevision).toBe(revision);
    expect(inventoryNames(status.inventory.entries)).toEqual(['a', 'b']);
    expect(status.history).toHaveLength(1);
    expect(status.history[0]).toMatchObject({
      revision,
      outcome: 'succeeded',
      author: 'Test <test@example.com>',
      message: 'Initial commit',
    });
    expect(status.lastPlan?.create).toBe(2);

    const stored = r.store.get('app');
    expect(inventoryNames(stored?.inventory.entries)).toEqual(['a', 'b']);
    expect(stored?.lastAppliedRevision).toBe(revision);
  });

  it('replaces the status on each change and moves lastTransitionTime only when a condition status changes', async () => {
    const r = rig({ 'a.yaml': configMap('a') });
    await r.reconciler.reconcile();
    const first = r.reconciler.status;
    const readySince = getCondition(first, 'Ready')?.lastTransitionTime;

    await r.clock.advance(60_000);
    r.source.setFile('a.yaml', configMap('a', 'v2')).commit({ message: 'v2' });
    await r.reconciler.reconcile();
    const second = r.reconciler.status;

    expect(second).not.toBe(first);
    expect(first.lastAppliedRevision).not.toBe(second.lastAppliedRevision);
    expect(getCondition(second, 'Ready')?.lastTransitionTime).toBe(readySince);
    expect(getCondition(second, 'Ready')?.message).toContain(second.lastAppliedRevision);
    const statuses = r.events
      .filter(([name]) => name === 'status')
      .map(([, p]) => p as ReconcilerEvents['status']);
    expect(statuses.at(-1)?.status).toBe(second);
    expect(() => {
      (second as { failures: number }).failures = 9;
    }).toThrow();
  });

  it('reuses the render when revision, digest and renderer key are unchanged, and renders a new revision', async () => {
    const r = rig({ 'a.yaml': configMap('a') });
    await r.reconciler.reconcile();
    await r.reconciler.reconcile();
    expect(r.renderer.calls).toBe(1);
    const rendered = r.events
      .filter(([n]) => n === 'rendered')
      .map(([, p]) => p as ReconcilerEvents['rendered']);
    expect(rendered.map((e) => e.cached)).toEqual([false, true]);

    r.source.setFile('a.yaml', configMap('a', 'v2')).commit();
    await r.reconciler.reconcile();
    expect(r.renderer.calls).toBe(2);
  });

  it('prunes objects that left the set and forgets them', async () => {
    const r = rig({ 'a.yaml': configMap('a'), 'b.yaml': configMap('b') });
    await r.reconciler.reconcile();
    r.source.removeFile('b.yaml').commit({ message: 'drop b' });

    const result = await r.reconciler.reconcile();

    expect(result.pruned).toBe(1);
    expect(r.cluster.get(cmRef('b'))).toBeUndefined();
    expect(inventoryNames(r.reconciler.status.inventory.entries)).toEqual(['a']);
    expect(inventoryNames(r.store.get('app')?.inventory.entries)).toEqual(['a']);
    const pruned = r.events.find(([n]) => n === 'pruned')?.[1] as ReconcilerEvents['pruned'];
    expect(pruned.result.deleted.map((ref) => ref.name)).toEqual(['b']);
  });

  it('with prune off, leaves objects that left the set in place', async () => {
    const r = rig({ 'a.yaml': configMap('a'), 'b.yaml': configMap('b') }, { prune: false });
    await r.reconciler.reconcile();
    r.source.removeFile('b.yaml').commit();
    await r.reconciler.reconcile();
    expect(r.cluster.get(cmRef('b'))).toBeDefined();
    expect(r.names()).not.toContain('pruned');
  });

  it('reports drift and corrects it on the next pass', async () => {
    const r = rig({ 'a.yaml': configMap('a') });
    await r.reconciler.reconcile();
    r.cluster.edit(cmRef('a'), (o) => {
      o.data = { key: 'edited by hand' };
      return o;
    });

    const result = await r.reconciler.reconcile();

    expect(result.plan?.drifted).toBe(1);
    const drifted = r.events.find(([n]) => n === 'drifted')?.[1] as ReconcilerEvents['drifted'];
    expect(drifted.objects.map((ref) => ref.name)).toEqual(['a']);
    expect(r.cluster.get(cmRef('a'))?.data).toEqual({ key: 'v1' });
  });

  it('plan() returns what would change and writes nothing', async () => {
    const r = rig({ 'a.yaml': configMap('a'), 'b.yaml': configMap('b') });
    const plan = await r.reconciler.plan();
    expect(plan.create.map((o) => o.ref.name).sort()).toEqual(['a', 'b']);
    expect(r.cluster.size).toBe(0);
    expect(r.store.saves).toBe(0);
    expect(r.events).toEqual([]);
    expect(r.reconciler.status.lastFetchedRevision).toBeUndefined();

    await r.reconciler.reconcile();
    r.source.removeFile('b.yaml').commit();
    const next = await r.reconciler.plan();
    expect(next.prune.map((e) => e.ref.name)).toEqual(['b']);
    expect(r.cluster.get(cmRef('b'))).toBeDefined();
  });
});

describe('Reconciler: invariant 1, a failed fetch, render or validation writes and prunes nothing', () => {
  it('a failed fetch keeps the last state applied and reports it', async () => {
    const r = rig({ 'a.yaml': configMap('a'), 'b.yaml': configMap('b') });
    await r.reconciler.reconcile();
    const applied = r.reconciler.status.lastAppliedRevision;
    const saves = r.store.saves;
    r.cluster.clearOperations();
    r.source.removeFile('b.yaml').commit();
    r.source.failNextFetch();

    const result = await r.reconciler.reconcile();

    expect(result.outcome).toBe('failed');
    expect(result.reason).toBe('SourceFetchFailed');
    expect(result.error?.code).toBe(ErrorCodes.SourceFetchFailed);
    expect(r.cluster.operations).toEqual([]);
    expect(r.cluster.get(cmRef('b'))).toBeDefined();
    expect(r.store.saves).toBe(saves);
    const status = r.reconciler.status;
    expect(getCondition(status, 'Ready')).toMatchObject({ status: 'False', reason: 'SourceFetchFailed' });
    expect(status.lastAppliedRevision).toBe(applied);
    expect(status.failures).toBe(1);
    const failed = r.events.find(([n]) => n === 'failed')?.[1] as ReconcilerEvents['failed'];
    expect(failed.stage).toBe('source');
  });

  it('a failed render writes and prunes nothing', async () => {
    const r = rig({ 'a.yaml': configMap('a'), 'b.yaml': configMap('b') });
    await r.reconciler.reconcile();
    r.cluster.clearOperations();
    r.source.removeFile('b.yaml').setFile('a.yaml', 'kind: [unclosed').commit({ message: 'broken' });

    const result = await r.reconciler.reconcile();

    expect(result.outcome).toBe('failed');
    expect(result.error?.stage).toBe('render');
    expect(r.cluster.operations).toEqual([]);
    expect(r.cluster.get(cmRef('b'))).toBeDefined();
    expect(inventoryNames(r.store.get('app')?.inventory.entries)).toEqual(['a', 'b']);
    expect(r.reconciler.status.history[0]).toMatchObject({ outcome: 'failed', message: 'broken' });
  });

  it('a failed validation of one object writes nothing of the set', async () => {
    const r = rig({ 'a.yaml': configMap('a'), 'b.yaml': configMap('b') });
    await r.reconciler.reconcile();
    r.cluster.clearOperations();
    r.source
      .setFile('a.yaml', configMap('a', 'v2'))
      .setFile('c.yaml', configMap('c'))
      .removeFile('b.yaml')
      .commit();
    r.cluster.failValidation(cmRef('c'), 'refused by admission (simulated)');

    const result = await r.reconciler.reconcile();

    expect(result.error?.code).toBe(ErrorCodes.ValidationFailed);
    expect(r.cluster.operations).toEqual([]);
    expect(r.cluster.get(cmRef('a'))?.data).toEqual({ key: 'v1' });
    expect(r.cluster.get(cmRef('b'))).toBeDefined();
    expect(getCondition(r.reconciler.status, 'Ready')?.reason).toBe('ValidationFailed');
  });
});

describe('Reconciler: invariant 2, the empty-set guard', () => {
  it('refuses an empty render over a non-empty inventory', async () => {
    const r = rig({ 'a.yaml': configMap('a') });
    await r.reconciler.reconcile();
    r.cluster.clearOperations();
    r.source.setFiles({ 'README.md': 'nothing here' }).commit({ message: 'oops' });

    const result = await r.reconciler.reconcile();

    expect(result.outcome).toBe('failed');
    expect(result.error?.code).toBe(ErrorCodes.EmptySetRefused);
    expect(result.reason).toBe('EmptySetRefused');
    expect(r.cluster.operations).toEqual([]);
    expect(r.cluster.get(cmRef('a'))).toBeDefined();
    expect(inventoryNames(r.store.get('app')?.inventory.entries)).toEqual(['a']);
  });

  it('prunes everything with allowEmpty', async () => {
    const r = rig({ 'a.yaml': configMap('a') }, { allowEmpty: true });
    await r.reconciler.reconcile();
    r.source.setFiles({}).commit();
    const result = await r.reconciler.reconcile();
    expect(result.outcome).toBe('succeeded');
    expect(r.cluster.get(cmRef('a'))).toBeUndefined();
    expect(r.store.get('app')?.inventory.entries).toEqual([]);
  });

  it('accepts an empty set when nothing is owned yet', async () => {
    const r = rig({ 'README.md': 'empty' });
    expect((await r.reconciler.reconcile()).outcome).toBe('succeeded');
  });
});

describe('Reconciler: invariant 4, the inventory is stored after apply and before prune', () => {
  it('keeps the prune candidates stored until they are deleted, so a crash before prune forgets nothing', async () => {
    const clock = new ManualClock();
    const store = new MemoryStateStore();
    const cluster = new FakeCluster({ clock });
    const source = memorySource(clock, { 'a.yaml': configMap('a'), 'b.yaml': configMap('b') });
    const first = rig(undefined, {}, { clock, store, cluster, source });
    await first.reconciler.reconcile();
    source.removeFile('b.yaml').commit();

    // A target whose prune dies like a crashed process: nothing after it runs.
    const saved: StoredState[] = [];
    const crashing: Target = {
      name: 'crashing',
      plan: (m, i, o) => cluster.plan(m, i, o),
      validate: (p, o) => cluster.validate(p, o),
      apply: (p, o) => cluster.apply(p, o),
      prune: async () => {
        saved.push(store.get('app') as StoredState);
        throw new Error('process died');
      },
      health: (refs, o) => cluster.health(refs, o),
    };
    const crashed = rig(undefined, { target: crashing }, { clock, store, source });
    expect((await crashed.reconciler.reconcile()).outcome).toBe('failed');
    expect(inventoryNames(saved[0]?.inventory.entries)).toEqual(['a', 'b']);
    expect(cluster.get(cmRef('b'))).toBeDefined();

    // A new process with the same store and name resumes and prunes what the old one left.
    const resumed = rig(undefined, {}, { clock, store, cluster, source });
    const result = await resumed.reconciler.reconcile();
    expect(result.pruned).toBe(1);
    expect(cluster.get(cmRef('b'))).toBeUndefined();
    expect(inventoryNames(store.get('app')?.inventory.entries)).toEqual(['a']);
  });

  it('keeps failed deletes in the inventory, fails the pass, and deletes them on a later pass', async () => {
    const r = rig({ 'a.yaml': configMap('a'), 'b.yaml': configMap('b') });
    await r.reconciler.reconcile();
    r.source.removeFile('b.yaml').commit();
    r.cluster.failDelete(cmRef('b'));

    const failed = await r.reconciler.reconcile();
    expect(failed.outcome).toBe('failed');
    expect(failed.error?.code).toBe(ErrorCodes.PruneFailed);
    expect(inventoryNames(r.store.get('app')?.inventory.entries)).toEqual(['a', 'b']);

    r.cluster.clearFailures();
    expect((await r.reconciler.reconcile()).pruned).toBe(1);
    expect(inventoryNames(r.store.get('app')?.inventory.entries)).toEqual(['a']);
  });

  it('after a partial apply, keeps the old inventory and the whole intent, and prunes nothing', async () => {
    const r = rig({ 'a.yaml': configMap('a'), 'b.yaml': configMap('b') });
    await r.reconciler.reconcile();
    r.source
      .removeFile('b.yaml')
      .setFile('c.yaml', configMap('c'))
      .setFile('d.yaml', configMap('d'))
      .commit();
    r.cluster.failApply(cmRef('d'), 'quota exceeded (simulated)');

    const result = await r.reconciler.reconcile();

    expect(result.error).toBeInstanceOf(ApplyError);
    expect(r.cluster.get(cmRef('b'))).toBeDefined();
    expect(r.cluster.get(cmRef('c'))).toBeDefined();
    // d was intended but refused: it stays recorded (digest unknown) in case the write landed.
    const entries = r.store.get('app')?.inventory.entries ?? [];
    expect(inventoryNames(entries)).toEqual(['a', 'b', 'c', 'd']);
    expect(entries.find((e) => e.ref.name === 'd')?.digest).toBe('');
    expect(entries.find((e) => e.ref.name === 'c')?.digest).not.toBe('');
    expect(r.names()).not.toContain('pruned');
  });

  it('a new reconciler with the same store and name resumes the inventory', async () => {
    const clock = new ManualClock();
    const store = new MemoryStateStore();
    const cluster = new FakeCluster({ clock });
    const source = memorySource(clock, { 'a.yaml': configMap('a'), 'b.yaml': configMap('b') });
    await rig(undefined, {}, { clock, store, cluster, source }).reconciler.reconcile();
    source.removeFile('a.yaml').commit();

    const later = rig(undefined, {}, { clock, store, cluster, source });
    await later.reconciler.reconcile();

    expect(cluster.get(cmRef('a'))).toBeUndefined();
    expect(inventoryNames(later.reconciler.status.inventory.entries)).toEqual(['b']);
  });
});

describe('Reconciler: restart', () => {
  it('shows the stored inventory, revisions and history in the status of a new reconciler, even if its first fetch fails', async () => {
    const clock = new ManualClock();
    const store = new MemoryStateStore();
    const cluster = new FakeCluster({ clock });
    const source = memorySource(clock, { 'a.yaml': configMap('a') });
    await rig(undefined, {}, { clock, store, cluster, source }).reconciler.reconcile();
    const saves = store.saves;

    source.failNextFetch();
    const later = rig(undefined, {}, { clock, store, cluster, source });
    await later.reconciler.reconcile();

    const status = later.reconciler.status;
    expect(inventoryNames(status.inventory.entries)).toEqual(['a']);
    expect(status.lastAppliedRevision).toBe(source.head?.revision);
    expect(status.history).toHaveLength(1);
    expect(store.saves).toBe(saves);
  });
});

describe('Reconciler: history', () => {
  it('is newest first, bounded by historyLimit, and does not repeat an unchanged outcome', async () => {
    const r = rig({ 'a.yaml': configMap('a') }, { historyLimit: 2 });
    await r.reconciler.reconcile();
    await r.reconciler.reconcile();
    expect(r.reconciler.status.history).toHaveLength(1);
    for (const v of ['v2', 'v3']) {
      r.source.setFile('a.yaml', configMap('a', v)).commit({ message: v, author: 'Ann <ann@example.com>' });
      await r.reconciler.reconcile();
    }
    const history = r.reconciler.status.history;
    expect(history.map((h) => h.message)).toEqual(['v3', 'v2']);
    expect(history[0]?.author).toBe('Ann <ann@example.com>');
    expect(r.store.get('app')?.history?.map((h) => h.message)).toEqual(['v3', 'v2']);
  });
});
