import { ManualClock } from '@gitops-kit/core/testing';
import {
  LeaderElector,
  type LeaderElectorOptions,
  LeaseConflictError,
  type LeaseRecord,
  type LeaseStore,
  microTime,
  type StoredLease,
} from '@gitops-kit/k8s-target';
import { describe, expect, it } from 'vitest';

/**
 * An in-memory Lease store with the apiserver's optimistic concurrency: every write bumps the
 * resourceVersion and a write naming an old one is refused. `broken` makes every call fail, as a
 * partitioned network would.
 */
class MemoryLeaseStore {
  lease: StoredLease | undefined;
  broken = new Set<string>();
  #version = 0;

  /** A view of the store for one candidate, so a test can cut that candidate off. */
  for(identity: string): LeaseStore {
    const check = async (): Promise<void> => {
      await Promise.resolve();
      if (this.broken.has(identity)) throw new Error(`network unreachable for ${identity}`);
    };
    return {
      get: async () => {
        await check();
        return this.lease && structuredClone(this.lease);
      },
      create: async (_namespace, _name, spec) => {
        await check();
        if (this.lease) throw new LeaseConflictError('leases "lock" already exists');
        return this.#write(spec);
      },
      update: async (_namespace, _name, resourceVersion, spec) => {
        await check();
        if (this.lease?.resourceVersion !== resourceVersion) {
          throw new LeaseConflictError('the object has been modified');
        }
        return this.#write(spec);
      },
    };
  }

  #write(spec: LeaseRecord): StoredLease {
    this.#version += 1;
    this.lease = { resourceVersion: String(this.#version), spec: structuredClone(spec) };
    return structuredClone(this.lease);
  }
}

interface Candidate {
  readonly elector: LeaderElector;
  readonly events: string[];
  readonly controller: AbortController;
  leadingSignal: AbortSignal | undefined;
  done: Promise<void> | undefined;
}

function candidate(
  store: MemoryLeaseStore,
  clock: ManualClock,
  identity: string,
  options: Partial<LeaderElectorOptions> = {},
): Candidate {
  const errors: unknown[] = [];
  const elector = new LeaderElector({
    store: store.for(identity),
    identity,
    leaseName: 'lock',
    leaseNamespace: 'system',
    clock,
    random: () => 0,
    onError: (error) => errors.push(error),
    ...options,
  });
  return {
    elector,
    events: [],
    controller: new AbortController(),
    leadingSignal: undefined,
    done: undefined,
  };
}

function start(c: Candidate): void {
  c.done = c.elector.run(c.controller.signal, {
    onStartedLeading: (signal) => {
      c.leadingSignal = signal;
      c.events.push('started');
    },
    onStoppedLeading: () => c.events.push('stopped'),
    onNewLeader: (identity) => c.events.push(`leader:${identity}`),
  });
}

async function stop(c: Candidate): Promise<void> {
  c.controller.abort(new Error('shutdown'));
  await c.done;
}

/** A fresh store and clock, with candidate `a` running and leading (it created the Lease at 0 s). */
async function aLeading(
  options: Partial<LeaderElectorOptions> = {},
): Promise<{ store: MemoryLeaseStore; clock: ManualClock; a: Candidate }> {
  const store = new MemoryLeaseStore();
  const clock = new ManualClock();
  const a = candidate(store, clock, 'a', options);
  start(a);
  await clock.advance(0);
  return { store, clock, a };
}

describe('LeaderElector', () => {
  it('creates a missing Lease and leads at once', async () => {
    const { store, a } = await aLeading();
    expect(a.elector.isLeader).toBe(true);
    expect(a.elector.leader).toBe('a');
    expect(a.events).toEqual(['leader:a', 'started']);
    expect(store.lease?.spec).toEqual({
      holderIdentity: 'a',
      leaseDurationSeconds: 15,
      acquireTime: '2026-01-01T00:00:00.000000Z',
      renewTime: '2026-01-01T00:00:00.000000Z',
      leaseTransitions: 0,
    });
    await stop(a);
  });

  it('renews every retry period, keeping the acquire time', async () => {
    const { store, clock, a } = await aLeading();
    await clock.advance(2_000);
    expect(store.lease?.spec.renewTime).toBe('2026-01-01T00:00:02.000000Z');
    await clock.advance(2_000);
    expect(store.lease?.spec.renewTime).toBe('2026-01-01T00:00:04.000000Z');
    expect(store.lease?.spec.acquireTime).toBe('2026-01-01T00:00:00.000000Z');
    expect(store.lease?.spec.leaseTransitions).toBe(0);
    await stop(a);
  });

  it('leaves a Lease alone while its holder renews it', async () => {
    const { store, clock, a } = await aLeading();
    const b = candidate(store, clock, 'b');
    start(b);
    await clock.advance(60_000);
    expect(a.elector.isLeader).toBe(true);
    expect(b.elector.isLeader).toBe(false);
    expect(b.elector.leader).toBe('a');
    expect(b.events).toEqual(['leader:a']);
    await stop(b);
    await stop(a);
  });

  it('takes over a Lease its holder stopped renewing, one lease duration after the last change it saw', async () => {
    const { store, clock, a } = await aLeading({ releaseOnCancel: false });
    const b = candidate(store, clock, 'b');
    start(b);
    await clock.advance(4_000);
    // a dies without a word: its last renewal was at 4 s.
    store.broken.add('a');
    await clock.advance(14_000); // 18 s: b saw the last change at 4 s, so the lease is still valid.
    expect(b.elector.isLeader).toBe(false);
    await clock.advance(2_000); // 20 s ≥ 4 s + 15 s
    expect(b.elector.isLeader).toBe(true);
    expect(b.events).toEqual(['leader:a', 'leader:b', 'started']);
    expect(store.lease?.spec).toMatchObject({ holderIdentity: 'b', leaseTransitions: 1 });
    expect(store.lease?.spec.acquireTime).toBe(microTime(clock.now()));
    await stop(b);
    await stop(a);
  });

  it('stops leading when it cannot renew within the renew deadline', async () => {
    const { store, clock, a } = await aLeading();
    store.broken.add('a');
    await clock.advance(8_000);
    // Failed renewals for 8 s: still within the 10 s deadline, so still leading.
    expect(a.elector.isLeader).toBe(true);
    expect(a.leadingSignal?.aborted).toBe(false);
    await clock.advance(2_000);
    expect(a.elector.isLeader).toBe(false);
    expect(a.leadingSignal?.aborted).toBe(true);
    expect(a.events).toEqual(['leader:a', 'started', 'stopped']);
    // Back on the network, it contends again and, as nobody else took the Lease, leads again.
    store.broken.delete('a');
    await clock.advance(3_000);
    expect(a.elector.isLeader).toBe(true);
    expect(a.events).toEqual(['leader:a', 'started', 'stopped', 'started']);
    await stop(a);
  });

  it('gives up leading as soon as another candidate holds the Lease', async () => {
    const { store, clock, a } = await aLeading();
    // Someone overwrote the record (say, a candidate whose clock ran fast).
    const taken = store.for('x');
    const current = await taken.get('system', 'lock', AbortSignal.timeout(1000));
    await taken.update(
      'system',
      'lock',
      current?.resourceVersion ?? '',
      { ...current?.spec, holderIdentity: 'x' },
      AbortSignal.timeout(1000),
    );
    await clock.advance(2_000);
    expect(a.elector.isLeader).toBe(false);
    expect(a.events).toEqual(['leader:a', 'started', 'leader:x', 'stopped']);
    await stop(a);
  });

  it('releases the Lease on shutdown, so a successor takes it at its next retry', async () => {
    const { store, clock, a } = await aLeading();
    const b = candidate(store, clock, 'b');
    start(b);
    await clock.advance(1_000);
    await stop(a);
    expect(a.events).toEqual(['leader:a', 'started', 'stopped']);
    expect(store.lease?.spec).toMatchObject({ holderIdentity: '', leaseDurationSeconds: 1 });
    await clock.advance(2_000);
    expect(b.elector.isLeader).toBe(true);
    expect(store.lease?.spec).toMatchObject({ holderIdentity: 'b', leaseTransitions: 1 });
    await stop(b);
  });

  it('lets only one of two simultaneous candidates win (optimistic concurrency)', async () => {
    const store = new MemoryLeaseStore();
    const clock = new ManualClock();
    const a = candidate(store, clock, 'a');
    const b = candidate(store, clock, 'b');
    const signal = new AbortController().signal;
    // Both see no Lease and both try to create it.
    const first = await Promise.all([
      a.elector.tryAcquireOrRenew(signal),
      b.elector.tryAcquireOrRenew(signal),
    ]);
    expect(first.filter(Boolean)).toHaveLength(1);
    // Both see a released Lease at the same resourceVersion and both try to take it.
    await store
      .for('a')
      .update('system', 'lock', store.lease?.resourceVersion ?? '', { holderIdentity: '' }, signal);
    const c = candidate(store, clock, 'c');
    const d = candidate(store, clock, 'd');
    const results = await Promise.all([
      c.elector.tryAcquireOrRenew(signal),
      d.elector.tryAcquireOrRenew(signal),
    ]);
    expect(results.filter(Boolean)).toHaveLength(1);
    expect(store.lease?.spec.holderIdentity).toBe(results[0] ? 'c' : 'd');
  });

  it('reports a throwing callback without stopping the election', async () => {
    const store = new MemoryLeaseStore();
    const clock = new ManualClock();
    const errors: unknown[] = [];
    const a = candidate(store, clock, 'a', { onError: (error) => errors.push(error) });
    a.done = a.elector.run(a.controller.signal, {
      onStartedLeading: async () => {
        throw new Error('boom');
      },
    });
    await clock.advance(2_000);
    expect(errors).toEqual([new Error('boom')]);
    expect(a.elector.isLeader).toBe(true);
    await stop(a);
  });

  it('refuses durations that cannot work', () => {
    const store = new MemoryLeaseStore();
    const base = { store: store.for('a'), identity: 'a', leaseName: 'l', leaseNamespace: 'n' };
    expect(() => new LeaderElector({ ...base, leaseDurationMs: 10_000, renewDeadlineMs: 10_000 })).toThrow(
      /leaseDurationMs must be greater/,
    );
    expect(() => new LeaderElector({ ...base, renewDeadlineMs: 2_000, retryPeriodMs: 2_000 })).toThrow(
      /renewDeadlineMs must be greater/,
    );
    expect(() => new LeaderElector({ ...base, identity: '' })).toThrow(/identity/);
  });

  it('refuses a second concurrent run', async () => {
    const store = new MemoryLeaseStore();
    const clock = new ManualClock();
    const a = candidate(store, clock, 'a');
    start(a);
    await expect(a.elector.run(a.controller.signal, { onStartedLeading() {} })).rejects.toThrow(
      /already running/,
    );
    await stop(a);
  });
});

describe('microTime', () => {
  it('writes RFC 3339 with six fractional digits, as the apiserver parses MicroTime', () => {
    expect(microTime(Date.parse('2026-03-04T05:06:07.089Z'))).toBe('2026-03-04T05:06:07.089000Z');
  });
});
