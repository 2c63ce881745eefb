import {
  ErrorCodes,
  getCondition,
  RawRenderer,
  type ReconcileResult,
  Reconciler,
  type Target,
} from '@gitops-kit/core';
import { FakeCluster, ManualClock } from '@gitops-kit/core/testing';
import { describe, expect, it } from 'vitest';
import { Semaphore } from '../src/reconciler/gate.js';
import { intervalDelay, retryDelay } from '../src/reconciler/scheduling.js';
import {
  advanceAndIdle,
  CountingRenderer,
  cmRef,
  configMap,
  GatedSource,
  memorySource,
  rig,
} from './support/reconciler-fixtures.js';

const MINUTE = 60_000;

/** A rig whose source holds every fetch at a gate. */
function gatedRig(overrides: Parameters<typeof rig>[1] = {}) {
  const clock = new ManualClock();
  const inner = memorySource(clock, { 'a.yaml': configMap('a') });
  const gated = new GatedSource(inner);
  const r = rig(undefined, { source: gated, ...overrides }, { clock, source: inner });
  return { ...r, gated };
}

describe('Reconciler: invariant 5, one pass at a time and coalesced triggers', () => {
  it('coalesces calls made during a pass into exactly one more pass that answers them all', async () => {
    const r = gatedRig();
    const first = r.reconciler.reconcile();
    await r.gated.entered();
    expect(r.reconciler.busy).toBe(true);

    const during = [r.reconciler.trigger(), r.reconciler.reconcile(), r.reconciler.trigger()];
    r.gated.open();
    const firstResult = await first;
    await r.gated.entered();
    expect(r.gated.calls).toBe(2);
    expect(r.gated.maxInFlight).toBe(1);
    r.gated.open();
    const results = await Promise.all(during);

    expect(firstResult.outcome).toBe('succeeded');
    expect(results[0]).toBe(results[1]);
    expect(results[1]).toBe(results[2]);
    expect(results[0]).not.toBe(firstResult);
    expect(r.gated.calls).toBe(2);
    expect(r.reconciler.busy).toBe(false);
  });

  it('joins callers that arrive while the pass waits for a gate slot into that same pass', async () => {
    const gate = new Semaphore(1);
    const release = await gate.acquire(new AbortController().signal);
    const r = gatedRig({ gate });
    const a = r.reconciler.reconcile();
    const b = r.reconciler.trigger();
    release();
    await r.gated.entered();
    r.gated.open();
    expect(await a).toBe(await b);
    expect(r.gated.calls).toBe(1);
  });
});

describe('Reconciler: abort and timeout', () => {
  it("a caller's signal aborts the pass: nothing is written and the result says Aborted", async () => {
    const r = gatedRig();
    const controller = new AbortController();
    const pending = r.reconciler.reconcile({ signal: controller.signal });
    await r.gated.entered();
    controller.abort(new Error('user gave up'));
    const result = await pending;

    expect(result.outcome).toBe('failed');
    expect(result.error?.code).toBe(ErrorCodes.Aborted);
    expect(r.cluster.size).toBe(0);
    expect(r.store.saves).toBe(0);
    expect(getCondition(r.reconciler.status, 'Ready')?.reason).toBe('Aborted');
  });

  it('stop() aborts the pass in flight and resolves when it ended', async () => {
    const r = gatedRig();
    r.reconciler.start();
    await r.gated.entered();
    await r.reconciler.stop();

    expect(r.reconciler.busy).toBe(false);
    expect(r.cluster.size).toBe(0);
    expect(r.reconciler.status.nextRunAt).toBeUndefined();
    expect(r.clock.pendingTimers).toBe(0);
  });

  it('stop({ abort: false }) lets the pass in flight finish', async () => {
    const r = gatedRig();
    r.reconciler.start();
    await r.gated.entered();
    let stopped = false;
    const stopping = r.reconciler.stop({ abort: false }).then(() => {
      stopped = true;
    });
    await r.clock.advance(0);
    expect(stopped).toBe(false);
    r.gated.open();
    await stopping;
    expect(r.cluster.get(cmRef('a'))).toBeDefined();
    expect(r.clock.pendingTimers).toBe(0);
  });

  it('a pass that runs past its timeout is aborted with Timeout', async () => {
    const r = gatedRig({ timeout: 10_000 });
    const pending = r.reconciler.reconcile();
    await r.gated.entered();
    await r.clock.advance(10_000);
    const result = await pending;
    expect(result.error?.code).toBe(ErrorCodes.Timeout);
    expect(result.reason).toBe('Timeout');
    expect(r.cluster.size).toBe(0);
  });

  it('an abort arriving at a stage boundary stops the pass even if the target ignores the signal', async () => {
    const clock = new ManualClock();
    const source = memorySource(clock, { 'a.yaml': configMap('a') });
    const cluster = new FakeCluster({ clock });
    const controller = new AbortController();
    const renderer = new CountingRenderer({
      name: 'aborting',
      render: async (artifact) => {
        // Render succeeds but the caller gives up meanwhile; the renderer ignores the signal.
        controller.abort(new Error('late abort'));
        return new RawRenderer().render(artifact, { signal: new AbortController().signal });
      },
    });
    // A target that ignores the pass signal: only the reconciler's stage boundaries can stop it.
    const deaf = { signal: new AbortController().signal };
    const target: Target = {
      name: 'deaf',
      plan: (manifests, inventory) => cluster.plan(manifests, inventory, deaf),
      validate: (plan) => cluster.validate(plan, deaf),
      apply: (plan) => cluster.apply(plan, deaf),
      prune: (entries) => cluster.prune(entries, deaf),
      health: (refs) => cluster.health(refs, deaf),
    };
    const r = new Reconciler({ name: 'app', source, renderer, target, clock, onListenerError: () => {} });
    const result = await r.reconcile({ signal: controller.signal });
    expect(result.error?.code).toBe(ErrorCodes.Aborted);
    expect(cluster.size).toBe(0);
  });
});

describe('Reconciler: schedule and backoff', () => {
  it('computes retry delays as retryInterval × 2^(failures-1), capped', () => {
    expect([1, 2, 3, 4, 5, 6, 60].map((n) => retryDelay(n, 30_000, 5 * MINUTE))).toEqual([
      30_000, 60_000, 120_000, 240_000, 300_000, 300_000, 300_000,
    ]);
  });

  it('spreads the interval by at most the jitter fraction', () => {
    expect(intervalDelay(MINUTE, 0.1, () => 0)).toBe(54_000);
    expect(intervalDelay(MINUTE, 0.1, () => 0.5)).toBe(MINUTE);
    expect(intervalDelay(MINUTE, 0.1, () => 0.999_999)).toBe(66_000);
  });

  it('retries with exponential backoff after failures and returns to the interval after a success', async () => {
    const r = rig({ 'a.yaml': configMap('a') }, { interval: 10 * MINUTE, random: () => 0 });
    const delays: number[] = [];
    const nextDelay = (): number => Date.parse(r.reconciler.status.nextRunAt ?? '') - r.clock.now();
    for (let i = 0; i < 4; i++) r.source.failNextFetch();

    r.reconciler.start();
    await advanceAndIdle(r.clock, r.reconciler, 0);
    delays.push(nextDelay());
    for (let i = 0; i < 4; i++) {
      await advanceAndIdle(r.clock, r.reconciler, nextDelay());
      delays.push(nextDelay());
    }

    expect(delays).toEqual([30_000, 60_000, 120_000, 240_000, 9 * MINUTE]);
    expect(r.source.fetchCount).toBe(5);
    expect(r.reconciler.status.failures).toBe(0);
    expect(r.cluster.get(cmRef('a'))).toBeDefined();
    await r.reconciler.stop();
  });

  it('scheduled passes pick up new revisions', async () => {
    const r = rig({ 'a.yaml': configMap('a') }, { interval: MINUTE, jitter: 0 });
    r.reconciler.start();
    await advanceAndIdle(r.clock, r.reconciler, 0);
    r.source.setFile('a.yaml', configMap('a', 'v2')).commit();
    await advanceAndIdle(r.clock, r.reconciler, MINUTE);
    expect(r.cluster.get(cmRef('a'))?.data).toEqual({ key: 'v2' });
    await r.reconciler.stop();
  });

  it('suspend() stops scheduled passes and triggers until resume(); reconcile() still runs', async () => {
    const r = rig({ 'a.yaml': configMap('a') }, { interval: MINUTE });
    r.reconciler.start();
    await advanceAndIdle(r.clock, r.reconciler, 0);
    expect(r.source.fetchCount).toBe(1);

    r.reconciler.suspend();
    expect(r.reconciler.status.suspended).toBe(true);
    expect(getCondition(r.reconciler.status, 'Reconciling')?.reason).toBe('Suspended');
    await r.clock.advance(10 * MINUTE);
    const triggered = await r.reconciler.trigger();
    expect(triggered).toMatchObject({ outcome: 'skipped', reason: 'Suspended' });
    expect(r.source.fetchCount).toBe(1);

    expect((await r.reconciler.reconcile()).outcome).toBe('succeeded');
    expect(r.source.fetchCount).toBe(2);
    expect(r.clock.pendingTimers).toBe(0);

    r.reconciler.resume();
    await advanceAndIdle(r.clock, r.reconciler, 0);
    expect(r.source.fetchCount).toBe(3);
    expect(r.reconciler.status.suspended).toBe(false);
    expect(r.reconciler.status.nextRunAt).toBeDefined();
    await r.reconciler.stop();
  });
});

describe('Reconciler: listeners never break a pass', () => {
  it('a throwing or rejecting listener changes nothing, and later listeners still run', async () => {
    const files = { 'a.yaml': configMap('a'), 'b.yaml': configMap('b') };
    const calm = rig(files);
    const calmResult = await calm.reconciler.reconcile();

    const errors: [unknown, string][] = [];
    const noisy = rig(files, { onListenerError: (error, event) => errors.push([error, event]) });
    const names = ['fetched', 'rendered', 'planned', 'applied', 'status'] as const;
    const after: string[] = [];
    for (const name of names) {
      noisy.reconciler.on(name, () => {
        throw new Error(`listener of ${name} broke`);
      });
      noisy.reconciler.on(name, async () => {
        throw new Error(`async listener of ${name} broke`);
      });
      noisy.reconciler.on(name, () => {
        after.push(name);
      });
    }
    const noisyResult = await noisy.reconciler.reconcile();
    await noisy.clock.advance(0);

    const strip = (r: ReconcileResult) => ({ ...r, startedAt: undefined, durationMs: undefined });
    expect(strip(noisyResult)).toEqual(strip(calmResult));
    expect(noisy.cluster.list()).toEqual(calm.cluster.list());
    expect(noisy.store.get('app')?.inventory).toEqual(calm.store.get('app')?.inventory);
    expect(new Set(after)).toEqual(new Set(names));
    expect(errors.filter(([, event]) => event === 'fetched')).toHaveLength(2);
    expect(errors.every(([error]) => error instanceof Error)).toBe(true);
  });

  it('off() removes a listener that on() wrapped, and once() runs once', async () => {
    const r = rig({ 'a.yaml': configMap('a') });
    const seen: string[] = [];
    const listener = (): void => {
      seen.push('on');
    };
    r.reconciler.on('fetched', listener);
    r.reconciler.once('fetched', () => {
      seen.push('once');
    });
    await r.reconciler.reconcile();
    r.reconciler.off('fetched', listener);
    await r.reconciler.reconcile();
    expect(seen).toEqual(['on', 'once']);
  });

  it('a failing error handler is swallowed too', async () => {
    const r = rig(
      { 'a.yaml': configMap('a') },
      {
        onListenerError: () => {
          throw new Error('handler broke');
        },
      },
    );
    r.reconciler.on('applied', () => {
      throw new Error('listener broke');
    });
    expect((await r.reconciler.reconcile()).outcome).toBe('succeeded');
  });
});
