import { randomBytes } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import {
  KubeClient,
  kubeLeaseStore,
  LeaderElector,
  LeaseConflictError,
  type LeaseStore,
} from '@gitops-kit/k8s-target';
import { testenv } from '@gitops-kit/testenv';
import { beforeAll, describe, expect, it } from 'vitest';

/** Polls until `check` holds; the test's own timeout bounds the wait. */
async function eventually(check: () => boolean | Promise<boolean>): Promise<void> {
  while (!(await check())) await delay(50);
}

interface Running {
  readonly elector: LeaderElector;
  readonly controller: AbortController;
  readonly done: Promise<void>;
  readonly events: string[];
}

describe('LeaderElector against a real apiserver', () => {
  let client: KubeClient;
  let store: LeaseStore;
  const namespace = `leader-${randomBytes(4).toString('hex')}`;
  const signal = new AbortController().signal;

  beforeAll(async () => {
    const kube = await testenv.kube();
    client = KubeClient.fromKubeConfig(kube.kubeConfig());
    store = kubeLeaseStore(client);
    await client.request({
      method: 'POST',
      path: '/api/v1/namespaces',
      body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } },
    });
  });

  function run(identity: string, leaseName: string, releaseOnCancel = true): Running {
    const events: string[] = [];
    const elector = new LeaderElector({
      store,
      identity,
      leaseName,
      leaseNamespace: namespace,
      // Short, so a takeover happens within a test; the ratios are client-go's.
      leaseDurationMs: 3_000,
      renewDeadlineMs: 2_000,
      retryPeriodMs: 400,
      releaseOnCancel,
    });
    const controller = new AbortController();
    const done = elector.run(controller.signal, {
      onStartedLeading: () => {
        events.push('started');
      },
      onStoppedLeading: () => events.push('stopped'),
    });
    return { elector, controller, done, events };
  }

  async function shutdown(running: Running): Promise<void> {
    running.controller.abort(new Error('shutdown'));
    await running.done;
  }

  it('elects exactly one of two candidates and records it in the Lease', async () => {
    const a = run('candidate-a', 'one-of-two');
    const b = run('candidate-b', 'one-of-two');
    await eventually(() => a.elector.isLeader || b.elector.isLeader);
    // Give the other candidate several retry periods to (wrongly) take over as well.
    await delay(1_500);
    expect([a.elector.isLeader, b.elector.isLeader].filter(Boolean)).toHaveLength(1);
    const leader = a.elector.isLeader ? a : b;
    const follower = leader === a ? b : a;
    expect(leader.events).toEqual(['started']);
    expect(follower.events).toEqual([]);
    expect(follower.elector.leader).toBe(leader.elector.identity);

    const lease = await store.get(namespace, 'one-of-two', signal);
    expect(lease?.spec.holderIdentity).toBe(leader.elector.identity);
    expect(lease?.spec.leaseDurationSeconds).toBe(3);
    expect(lease?.spec.renewTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);

    // The leader renews: the record moves on while it holds it.
    const before = lease?.resourceVersion;
    await eventually(
      async () => (await store.get(namespace, 'one-of-two', signal))?.resourceVersion !== before,
    );
    expect((await store.get(namespace, 'one-of-two', signal))?.spec.holderIdentity).toBe(
      leader.elector.identity,
    );

    // Shutting the leader down releases the Lease and the other candidate takes it.
    await shutdown(leader);
    expect(leader.events).toEqual(['started', 'stopped']);
    await eventually(() => follower.elector.isLeader);
    const after = await store.get(namespace, 'one-of-two', signal);
    expect(after?.spec.holderIdentity).toBe(follower.elector.identity);
    expect(after?.spec.leaseTransitions).toBe((lease?.spec.leaseTransitions ?? 0) + 1);
    await shutdown(follower);
    expect((await store.get(namespace, 'one-of-two', signal))?.spec.holderIdentity).toBe('');
  });

  it('takes over from a leader that vanished without releasing, once the Lease expires', async () => {
    const a = run('vanishing', 'expiry', false);
    await eventually(() => a.elector.isLeader);
    const b = run('successor', 'expiry');
    await delay(800);
    expect(b.elector.isLeader).toBe(false);
    // The leader stops renewing and does not release: only expiry frees the Lease.
    await shutdown(a);
    expect((await store.get(namespace, 'expiry', signal))?.spec.holderIdentity).toBe('vanishing');
    await eventually(() => b.elector.isLeader);
    expect((await store.get(namespace, 'expiry', signal))?.spec).toMatchObject({
      holderIdentity: 'successor',
      leaseTransitions: 1,
    });
    await shutdown(b);
  });

  it('refuses a write naming a stale resourceVersion', async () => {
    const created = await store.create(
      namespace,
      'concurrency',
      { holderIdentity: 'x', leaseDurationSeconds: 5 },
      signal,
    );
    await store.update(namespace, 'concurrency', created.resourceVersion, { holderIdentity: 'y' }, signal);
    await expect(
      store.update(namespace, 'concurrency', created.resourceVersion, { holderIdentity: 'z' }, signal),
    ).rejects.toBeInstanceOf(LeaseConflictError);
    await expect(
      store.create(namespace, 'concurrency', { holderIdentity: 'z' }, signal),
    ).rejects.toBeInstanceOf(LeaseConflictError);
    expect((await store.get(namespace, 'concurrency', signal))?.spec.holderIdentity).toBe('y');
    expect(await store.get(namespace, 'missing', signal)).toBeUndefined();
  });
});
