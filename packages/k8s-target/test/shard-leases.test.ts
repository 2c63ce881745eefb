import { ManualClock } from '@gitops-kit/core/testing';
import { describe, expect, it } from 'vitest';
import { LeaseConflictError } from '../src/errors.js';
import type { LeaseRecord, StoredLease } from '../src/leader-election.js';
import { leasePeers, type NamedLease, ShardCoordinator, type ShardLeaseStore } from '../src/shard-leases.js';

/** Leases in memory with resourceVersions, as the apiserver keeps them (the store contract, not a cluster). */
class MemoryLeases implements ShardLeaseStore {
  readonly leases = new Map<
    string,
    { rv: number; labels: Record<string, string>; annotations: Record<string, string>; spec: LeaseRecord }
  >();
  #rv = 0;
  writes = 0;
  async get(_ns: string, name: string): Promise<StoredLease | undefined> {
    const l = this.leases.get(name);
    return l ? { resourceVersion: String(l.rv), spec: { ...l.spec } } : undefined;
  }
  async create(
    _ns: string,
    name: string,
    labels: Record<string, string>,
    spec: LeaseRecord,
  ): Promise<StoredLease> {
    if (this.leases.has(name)) throw new LeaseConflictError(`${name} exists`);
    this.writes++;
    this.leases.set(name, { rv: ++this.#rv, labels: { ...labels }, annotations: {}, spec: { ...spec } });
    return { resourceVersion: String(this.#rv), spec };
  }
  async update(
    _ns: string,
    name: string,
    rv: string,
    spec: LeaseRecord,
    _signal?: AbortSignal,
    annotations?: Record<string, string>,
  ): Promise<StoredLease> {
    const l = this.leases.get(name);
    if (!l || String(l.rv) !== rv) throw new LeaseConflictError(`${name} changed`);
    this.writes++;
    l.rv = ++this.#rv;
    l.spec = { ...spec };
    if (annotations) Object.assign(l.annotations, annotations);
    return { resourceVersion: String(l.rv), spec };
  }
  async list(_ns: string, selector: string): Promise<NamedLease[]> {
    const [k, v] = selector.split('=');
    return [...this.leases]
      .filter(([, l]) => l.labels[k!] === v)
      .map(([name, l]) => ({
        name,
        resourceVersion: String(l.rv),
        spec: { ...l.spec },
        annotations: { ...l.annotations },
      }));
  }
  holderOf(name: string): string | undefined {
    return this.leases.get(name)?.spec.holderIdentity || undefined;
  }
}

const keys = Array.from({ length: 30 }, (_, i) => `cluster-${i}`);
const signal = new AbortController().signal;

function replicas(
  store: MemoryLeases,
  clock: ManualClock,
  ids: string[],
  onChange: (identity: string, owned: ReadonlySet<string>) => void = () => {},
): Map<string, ShardCoordinator> {
  return new Map(
    ids.map((identity) => [
      identity,
      new ShardCoordinator({
        store,
        namespace: 'fleet',
        group: 'demo',
        identity,
        keys: () => keys,
        onChange: (owned) => onChange(identity, owned),
        leaseDurationMs: 15_000,
        renewPeriodMs: 5_000,
        clock,
      }),
    ]),
  );
}

/** Every key is owned by at most one replica, and each replica owns only keys whose Lease names it. */
function assertExclusive(store: MemoryLeases, all: Iterable<ShardCoordinator>): void {
  const owners = new Map<string, string>();
  for (const c of all) {
    for (const key of c.owned) {
      expect(owners.get(key), `${key} owned twice`).toBeUndefined();
      owners.set(key, c.identity);
      expect(store.holderOf(`demo-o-${key}`)).toBe(c.identity);
    }
  }
}

async function rounds(
  clock: ManualClock,
  store: MemoryLeases,
  live: ShardCoordinator[],
  n: number,
): Promise<void> {
  for (let i = 0; i < n; i++) {
    for (const c of live) {
      await c.round(signal);
      assertExclusive(store, live);
    }
    await clock.advance(5_000);
  }
}

describe('ShardCoordinator', () => {
  it('spreads keys over replicas with one owner each, and a dead replica loses its share within a lease duration', async () => {
    const clock = new ManualClock();
    const store = new MemoryLeases();
    const all = replicas(store, clock, ['r1', 'r2', 'r3']);
    await rounds(clock, store, [...all.values()], 3);
    const counts = [...all.values()].map((c) => c.owned.size);
    expect(counts.reduce((a, b) => a + b, 0)).toBe(30);
    for (const n of counts) expect(n).toBeGreaterThan(5);

    // r3 dies: it stops renewing. The others take its keys once its Leases are a duration old.
    const dead = all.get('r3')!;
    const orphaned = [...dead.owned];
    const survivors = [all.get('r1')!, all.get('r2')!];
    const killedAt = clock.now();
    let takenAt: number | undefined;
    for (let i = 0; i < 8 && takenAt === undefined; i++) {
      for (const c of survivors) await c.round(signal);
      assertExclusive(store, survivors);
      if (orphaned.every((k) => survivors.some((c) => c.owns(k)))) takenAt = clock.now();
      else await clock.advance(5_000);
    }
    expect(takenAt).toBeDefined();
    // Seen dead after one duration without change, taken in the round after: duration + one period.
    expect(takenAt! - killedAt).toBeLessThanOrEqual(15_000 + 5_000);
    expect(survivors.map((c) => c.owned.size).reduce((a, b) => a + b, 0)).toBe(30);
    expect(survivors[0]!.members).toEqual(['r1', 'r2']);
  });

  it('hands keys over to a new replica without two owners at any time, stopping before releasing', async () => {
    const clock = new ManualClock();
    const store = new MemoryLeases();
    const stopped: string[] = [];
    const running = new Map<string, Set<string>>();
    const all = replicas(store, clock, ['r1', 'r2'], (identity, owned) => {
      // A key this replica stops must still be its Lease's: it is stopped before it is released.
      for (const key of running.get(identity) ?? []) {
        if (owned.has(key)) continue;
        expect(store.holderOf(`demo-o-${key}`)).toBe(identity);
        stopped.push(key);
      }
      running.set(identity, new Set(owned));
    });
    await rounds(clock, store, [...all.values()], 2);
    const before = new Map(
      [...all.values()].flatMap((c) => [...c.owned].map((k) => [k, c.identity] as const)),
    );
    stopped.length = 0;
    const late = new ShardCoordinator({
      store,
      namespace: 'fleet',
      group: 'demo',
      identity: 'r3',
      keys: () => keys,
      onChange: () => {},
      leaseDurationMs: 15_000,
      renewPeriodMs: 5_000,
      clock,
    });
    const live = [...all.values(), late];
    await rounds(clock, store, live, 4);
    const after = new Map(live.flatMap((c) => [...c.owned].map((k) => [k, c.identity] as const)));
    expect(after.size).toBe(30);
    const moved = keys.filter((k) => before.get(k) !== after.get(k));
    expect(moved.length).toBeGreaterThan(0);
    expect(moved.every((k) => after.get(k) === 'r3')).toBe(true);
    expect(stopped.sort()).toEqual(moved.sort());
  });

  it('reports a key whose Lease someone else took as lost, so its pass is aborted rather than finished', async () => {
    const clock = new ManualClock();
    const store = new MemoryLeases();
    const changes: { owned: string[]; lost: readonly string[] }[] = [];
    const only = new ShardCoordinator({
      store,
      namespace: 'fleet',
      group: 'demo',
      identity: 'r1',
      keys: () => ['a', 'b'],
      onChange: (owned, { lost }) => {
        changes.push({ owned: [...owned].sort(), lost });
      },
      leaseDurationMs: 15_000,
      renewPeriodMs: 5_000,
      clock,
    });
    await only.round(signal);
    await only.round(signal);
    expect(changes).toEqual([{ owned: ['a', 'b'], lost: [] }]);
    // Another writer takes b's Lease behind r1's back.
    const lease = store.leases.get('demo-o-b')!;
    await store.update('fleet', 'demo-o-b', String(lease.rv), { ...lease.spec, holderIdentity: 'intruder' });
    await clock.advance(5_000);
    await only.round(signal);
    expect(changes[1]).toEqual({ owned: ['a'], lost: ['b'] });
    expect(only.owns('b')).toBe(false);
  });

  it('carries a holder’s published observation on its key’s Lease to the other replicas (leasePeers)', async () => {
    const clock = new ManualClock();
    const store = new MemoryLeases();
    const all = replicas(store, clock, ['r1', 'r2']);
    await rounds(clock, store, [...all.values()], 2);
    const r1 = all.get('r1')!;
    const r2 = all.get('r2')!;
    const key = [...r1.owned][0]!;
    const mine = leasePeers(r1);
    const theirs = leasePeers(r2);
    // Not held: nothing is published.
    leasePeers(r2).publish(key, { healthy: true, failed: false, appliedRevision: 'nope' });
    mine.publish(key, {
      healthy: false,
      failed: true,
      attemptedRevision: 'main@sha1:2',
      message: 'HealthFailed: x',
    });
    await r1.round(signal);
    await r2.round(signal);
    const seen = theirs.observations().get(key);
    expect(seen?.observation).toEqual({
      healthy: false,
      failed: true,
      attemptedRevision: 'main@sha1:2',
      message: 'HealthFailed: x',
    });
    // The same object until the value changes, so a fleet feeds each observation once.
    await r2.round(signal);
    expect(theirs.observations().get(key)).toBe(seen);
    mine.publish(key, { healthy: true, failed: false, appliedRevision: 'main@sha1:1' });
    await r1.round(signal);
    await r2.round(signal);
    expect(theirs.observations().get(key)).not.toBe(seen);
    expect(theirs.observations().get(key)?.observation.appliedRevision).toBe('main@sha1:1');
  });

  it('releases everything on stop so the others need not wait', async () => {
    const clock = new ManualClock();
    const store = new MemoryLeases();
    const [r1, r2] = [...replicas(store, clock, ['r1', 'r2']).values()] as [
      ShardCoordinator,
      ShardCoordinator,
    ];
    await rounds(clock, store, [r1, r2], 2);
    await r2.releaseAll();
    await r1.round(signal);
    await r1.round(signal);
    expect(r1.owned.size).toBe(30);
  });
});
