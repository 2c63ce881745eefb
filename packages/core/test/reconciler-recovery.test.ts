/**
 * Invariant 4 under faults: a crash during the apply, or a lost, emptied, corrupt or replaced state,
 * never leaves an object we wrote untracked, and never makes the next pass prune what should stay.
 * A "crash" is a new Reconciler over the same store and cluster, as a restarted process would be.
 */
import {
  type ApplyResult,
  ErrorCodes,
  MemoryStateStore,
  type Plan,
  type ReconcilerEvents,
  type StateStore,
  type StoredState,
  type Target,
  type TargetCallOptions,
} from '@gitops-kit/core';
import { FakeCluster } from '@gitops-kit/core/testing';
import { describe, expect, it } from 'vitest';
import { cmRef, configMap, rig } from './support/reconciler-fixtures.js';

const three = { 'a.yaml': configMap('a'), 'b.yaml': configMap('b'), 'c.yaml': configMap('c') };

/** A FakeCluster whose apply writes the first `writes` objects of a plan and then dies. */
class CrashingCluster extends FakeCluster {
  crashAfter: number | undefined;

  override async apply(plan: Plan, options: TargetCallOptions): Promise<ApplyResult> {
    const limit = this.crashAfter;
    if (limit === undefined) return super.apply(plan, options);
    const partial: Plan = { ...plan, objects: plan.objects.slice(0, limit) };
    await super.apply(partial, options);
    // Not an ApplyError: the process (or the connection) died, nobody reports what was written.
    throw new Error('connection reset by peer (simulated crash)');
  }
}

/** The FakeCluster without `listOwned`: a target that cannot say what it owns. */
function withoutListOwned(cluster: FakeCluster): Target {
  return {
    name: cluster.name,
    plan: (m, i, o) => cluster.plan(m, i, o),
    validate: (p, o) => cluster.validate(p, o),
    apply: (p, o) => cluster.apply(p, o),
    prune: (e, o) => cluster.prune(e, o),
    health: (r, o) => cluster.health(r, o),
  };
}

function names(cluster: FakeCluster): string[] {
  return cluster
    .list({ kind: 'ConfigMap' })
    .map((o) => o.metadata.name)
    .sort();
}

describe('Reconciler: a crash during the apply leaves nothing untracked', () => {
  it('records the intent before the first write, so a restarted process prunes what the crash wrote', async () => {
    const cluster = new CrashingCluster();
    const store = new MemoryStateStore();
    const first = rig({ 'a.yaml': configMap('a') }, {}, { cluster, store });
    await first.reconciler.reconcile();

    first.source.setFile('b.yaml', configMap('b')).setFile('c.yaml', configMap('c')).commit();
    cluster.crashAfter = 2; // a, then b; c is never written
    const crashed = await first.reconciler.reconcile();
    expect(crashed.outcome).toBe('failed');
    expect(names(cluster)).toEqual(['a', 'b']);

    // The process restarts; the new commit no longer has b or c.
    cluster.crashAfter = undefined;
    first.source.removeFile('b.yaml').removeFile('c.yaml').commit();
    const restarted = rig(undefined, {}, { cluster, store, source: first.source, clock: first.clock });
    const result = await restarted.reconciler.reconcile();

    expect(result.outcome).toBe('succeeded');
    expect(names(cluster)).toEqual(['a']);
    expect(store.get('app')?.inventory.entries.map((e) => e.ref.name)).toEqual(['a']);
  });

  it('a store that cannot be written fails the pass before any object is written', async () => {
    const cluster = new FakeCluster();
    const broken: StateStore = {
      load: async () => undefined,
      save: async () => {
        throw new Error('namespaces "missing" not found');
      },
    };
    const r = rig(three, { stateStore: broken }, { cluster });
    const result = await r.reconciler.reconcile();

    expect(result.outcome).toBe('failed');
    expect(result.error?.code).toBe('RECONCILE_STATE_SAVE_FAILED');
    expect(result.error?.message).toContain('namespaces "missing" not found');
    expect(cluster.operations).toEqual([]);
  });
});

describe('Reconciler: a lost state is recovered from the objects we own, never taken for a first run', () => {
  /** Applies a, b, c; then `lose` damages the store; then a restarted process applies a commit with `a` only. */
  async function shrinkAfter(lose: (store: MemoryStateStore) => void) {
    const cluster = new FakeCluster({ owner: 'app' });
    const store = new MemoryStateStore();
    const first = rig(three, {}, { cluster, store });
    await first.reconciler.reconcile();
    expect(names(cluster)).toEqual(['a', 'b', 'c']);
    lose(store);
    first.source.removeFile('b.yaml').removeFile('c.yaml').commit();
    const restarted = rig(undefined, {}, { cluster, store, source: first.source, clock: first.clock });
    const result = await restarted.reconciler.reconcile();
    const recovered = restarted.events
      .filter(([name]) => name === 'recovered')
      .map(([, payload]) => payload as ReconcilerEvents['recovered']);
    return { cluster, store, result, recovered };
  }

  it('a deleted state object', async () => {
    const { cluster, store, result, recovered } = await shrinkAfter((s) => s.delete('app'));
    expect(result.outcome).toBe('succeeded');
    expect(result.pruned).toBe(2);
    expect(names(cluster)).toEqual(['a']);
    expect(recovered).toHaveLength(1);
    expect(recovered[0]?.reason).toBe('StateMissing');
    expect(recovered[0]?.found).toBe(3);
    expect(recovered[0]?.added.map((r) => r.name).sort()).toEqual(['a', 'b', 'c']);
    expect(store.get('app')?.inventory.entries.map((e) => e.ref.name)).toEqual(['a']);
  });

  it('a state set to null', async () => {
    const { cluster, recovered } = await shrinkAfter((s) => s.write('app', null));
    expect(names(cluster)).toEqual(['a']);
    expect(recovered[0]?.reason).toBe('StateMissing');
  });

  it('an emptied inventory', async () => {
    const { cluster, recovered } = await shrinkAfter((s) => s.write('app', { inventory: { entries: [] } }));
    expect(names(cluster)).toEqual(['a']);
    expect(recovered[0]?.reason).toBe('StateEmpty');
  });

  it('a state of the wrong shape names the store entry and is recovered', async () => {
    const { cluster, recovered } = await shrinkAfter((s) => s.write('app', { entries: [] }));
    expect(names(cluster)).toEqual(['a']);
    expect(recovered[0]?.reason).toBe('StateUnreadable');
    expect(recovered[0]?.message).toContain('state store entry "app"');
    expect(recovered[0]?.message).toContain('inventory.entries');
  });

  it('a first run with nothing owned in the cluster is a plain first run (no recovery event)', async () => {
    const r = rig(three);
    await r.reconciler.reconcile();
    expect(r.names()).not.toContain('recovered');
  });

  it('a target that cannot list what it owns makes a wrong-shaped state a typed error, writing nothing', async () => {
    const cluster = new FakeCluster();
    const store = new MemoryStateStore();
    store.write('app', { entries: [] });
    const r = rig(three, { target: withoutListOwned(cluster) }, { cluster, store });
    const result = await r.reconciler.reconcile();

    expect(result.outcome).toBe('failed');
    expect(result.error?.code).toBe(ErrorCodes.StateInvalid);
    expect(result.error?.message).toContain('state store entry "app"');
    expect(cluster.operations).toEqual([]);
  });

  it('a running reconciler writes its deleted state again and keeps pruning what it applied', async () => {
    const cluster = new FakeCluster();
    const store = new MemoryStateStore();
    const r = rig(three, {}, { cluster, store });
    await r.reconciler.reconcile();
    store.delete('app');

    await r.reconciler.reconcile();
    expect(store.get('app')?.inventory.entries.map((e) => e.ref.name)).toEqual(['a', 'b', 'c']);
    expect(r.names()).toContain('recovered');

    r.source.removeFile('c.yaml').commit();
    const result = await r.reconciler.reconcile();
    expect(result.pruned).toBe(1);
    expect(names(cluster)).toEqual(['a', 'b']);
  });

  it('a state replaced by another writer is merged with what this process applied, not overwritten blindly', async () => {
    const cluster = new FakeCluster();
    const store = new MemoryStateStore();
    const r = rig(three, {}, { cluster, store });
    await r.reconciler.reconcile();
    const replaced: StoredState = {
      inventory: { entries: [{ ref: cmRef('a'), digest: 'x' }] },
      lastAppliedRevision: 'someone-else',
    };
    store.write('app', replaced);

    r.source.removeFile('b.yaml').removeFile('c.yaml').commit();
    const result = await r.reconciler.reconcile();
    expect(result.pruned).toBe(2);
    expect(names(cluster)).toEqual(['a']);
    const recovered = r.events.find(([name]) => name === 'recovered')?.[1] as
      | ReconcilerEvents['recovered']
      | undefined;
    expect(recovered?.reason).toBe('StateReplaced');
  });

  it("reconcilers of different names sharing one target never adopt each other's objects", async () => {
    const cluster = new FakeCluster({ owner: 'two' });
    const store = new MemoryStateStore();
    const a = rig({ 'a.yaml': configMap('a') }, { name: 'one' }, { cluster, store });
    await a.reconciler.reconcile();
    // A second reconciler with a state of its own lost: the cluster's owned objects are not its own.
    const b = rig({ 'b.yaml': configMap('b') }, { name: 'two' }, { cluster, store });
    await b.reconciler.reconcile();
    store.delete('two');
    const again = rig({ 'b.yaml': configMap('b') }, { name: 'two' }, { cluster, store });
    await again.reconciler.reconcile();

    expect(names(cluster)).toEqual(['a', 'b']);
    expect(store.get('two')?.inventory.entries.map((e) => e.ref.name)).toEqual(['b']);
    expect(again.names()).not.toContain('recovered');
  });

  it("a reconciler whose name is not the target's ownership mark never adopts objects carrying that mark", async () => {
    // Two reconcilers over one cluster through two target instances with the same mark, as two
    // processes or a factory building one target per reconciler would have.
    const cluster = new FakeCluster({ owner: 'platform' });
    const store = new MemoryStateStore();
    const apps = rig({ 'a.yaml': configMap('a1') }, { name: 'apps' }, { cluster, store });
    await apps.reconciler.reconcile();
    const sameMark: Target = { ...withoutListOwned(cluster), listOwned: (o) => cluster.listOwned(o) };
    const infra = rig({ 'i.yaml': configMap('i1') }, { name: 'infra', target: sameMark }, { cluster, store });
    const result = await infra.reconciler.reconcile();

    expect(result.outcome).toBe('succeeded');
    expect(result.pruned).toBe(0);
    expect(names(cluster)).toEqual(['a1', 'i1']);
    expect(infra.names()).not.toContain('recovered');
  });

  it('a state that cannot be read (a timeout, a 503) fails the pass and overwrites nothing', async () => {
    const cluster = new FakeCluster({ owner: 'app' });
    const store = new MemoryStateStore();
    const first = rig(three, {}, { cluster, store });
    await first.reconciler.reconcile();
    const before = store.get('app');
    const flaky: StateStore = {
      load: async () => {
        throw new Error('GET configmaps/gitops-kit-app: no answer within 60000 ms');
      },
      save: (key, state, options) => store.save(key, state, options),
    };
    first.source.removeFile('b.yaml').commit();
    const restarted = rig(
      undefined,
      { stateStore: flaky },
      { cluster, store, source: first.source, clock: first.clock },
    );
    const result = await restarted.reconciler.reconcile();

    expect(result.outcome).toBe('failed');
    expect(result.error?.code).toBe('RECONCILE_STATE_LOAD_FAILED');
    expect(store.get('app')).toEqual(before);
    expect(names(cluster)).toEqual(['a', 'b', 'c']);
  });
});
