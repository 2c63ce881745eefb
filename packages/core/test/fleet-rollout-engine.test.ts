import { type ClusterObservation, RevisionBroker, RolloutEngine } from '@gitops-kit/core';
import { ManualClock, MemorySource } from '@gitops-kit/core/testing';
import { afterEach, describe, expect, it } from 'vitest';

const clusters = ['a', 'b', 'c', 'd'].map((name) => ({
  name,
  labels: { tier: name === 'a' ? 'canary' : 'rest' },
}));

const healthy = (revision: string, at: number): ClusterObservation => ({
  appliedRevision: revision,
  attemptedRevision: revision,
  healthy: true,
  failed: false,
  at,
});
const failed = (revision: string, at: number, applied = revision): ClusterObservation => ({
  appliedRevision: applied,
  attemptedRevision: revision,
  healthy: false,
  failed: true,
  message: 'HealthFailed: boom',
  at,
});

function engine(strategy: ConstructorParameters<typeof RolloutEngine>[0]): RolloutEngine {
  const e = new RolloutEngine(strategy);
  for (const c of clusters) e.addCluster(c);
  expect(e.begin('r1', 0).repinned).toEqual(['a', 'b', 'c', 'd']);
  return e;
}

describe('RolloutEngine', () => {
  it('takes the first revision as the baseline everywhere, then pins only the first wave to a new one', () => {
    const e = engine({ maxUnavailable: 2 });
    expect(e.status()).toMatchObject({ phase: 'Completed', stableRevision: 'r1' });
    const step = e.begin('r2', 100);
    expect(step.repinned).toEqual(['a', 'b']);
    expect(clusters.map((c) => e.revisionFor(c.name))).toEqual(['r2', 'r2', 'r1', 'r1']);
    expect([...e.pinnedRevisions()].sort()).toEqual(['r1', 'r2']);
  });

  it('ignores observations older than the wave, and fails a wave that stays unhealthy past its timeout', () => {
    const e = engine({ maxUnavailable: 2, waveTimeout: 1_000 });
    e.begin('r2', 100);
    // A pass that ended before the wave started says nothing about it.
    e.observe('a', failed('r2', 50));
    expect(e.step(200)).toMatchObject({ repinned: [], wakeAt: 1_100 });
    e.observe('a', healthy('r2', 300));
    expect([...e.step(1_100).repinned].sort()).toEqual(['a', 'b']);
    expect(e.status().waves[0]).toMatchObject({
      phase: 'Failed',
      failures: [{ cluster: 'b', reason: 'not healthy at r2 within the wave timeout' }],
    });
    // Rolled back to what each was last healthy at: b never was at r2, a was (and only then at r2).
    expect(e.revisionFor('a')).toBe('r1');
    expect(e.revisionFor('b')).toBe('r1');
  });

  it('asks for a confirming pass at the end of the bake and waits for manual promotion when told to', () => {
    const e = engine({
      waves: [{ selector: { matchLabels: { tier: 'canary' } } }],
      bakeTime: 1_000,
      manualPromotion: true,
    });
    e.begin('r2', 0);
    e.observe('a', healthy('r2', 10));
    expect(e.step(10)).toMatchObject({ wakeAt: 1_010 });
    expect(e.status().waves[0]?.phase).toBe('Baking');
    expect(e.step(1_010)).toMatchObject({ verify: ['a'] });
    e.observe('a', healthy('r2', 1_020));
    e.step(1_020);
    // The clusters no wave selects go last, and wait for promotion.
    expect(e.status().waves.map((w) => [w.name, w.phase])).toEqual([
      ['wave-1', 'Succeeded'],
      ['unmatched', 'AwaitingPromotion'],
    ]);
    expect(e.revisionFor('b')).toBe('r1');
    expect(e.promote(2_000).repinned).toEqual(['b', 'c', 'd']);
    for (const n of ['b', 'c', 'd']) e.observe(n, healthy('r2', 2_100));
    e.step(2_100);
    expect(e.promote(2_200).repinned).toEqual([]);
    expect(e.status()).toMatchObject({ phase: 'Completed', stableRevision: 'r2' });
  });

  it('puts a cluster that joins mid-rollout into a wave still to come, and forgets one that leaves', () => {
    const e = engine({ maxUnavailable: 2 });
    e.begin('r2', 0);
    e.addCluster({ name: 'e', labels: {} });
    expect(e.revisionFor('e')).toBe('r1');
    expect(e.status().waves[1]?.clusters).toEqual(['c', 'd', 'e']);
    e.removeCluster('b');
    expect(e.status().waves[0]?.clusters).toEqual(['a']);
    e.observe('a', healthy('r2', 1));
    expect(e.step(1).repinned).toEqual(['c', 'd', 'e']);
  });

  it('halts where it is and a new revision starts over from the first wave', () => {
    const e = engine({ maxUnavailable: 2 });
    e.begin('r2', 0);
    e.halt();
    e.observe('a', healthy('r2', 1));
    e.observe('b', healthy('r2', 1));
    expect(e.step(2).repinned).toEqual([]);
    expect(e.status().phase).toBe('Halted');
    expect(e.resume(3).repinned).toEqual(['c', 'd']);
    const next = e.begin('r3', 10);
    expect(next.repinned).toEqual(['a', 'b']);
    expect(e.status()).toMatchObject({ phase: 'Progressing', revision: 'r3', stableRevision: 'r1' });
    // c and d keep r2 until their wave of r3.
    expect(e.revisionFor('c')).toBe('r2');
  });

  it('refuses strategies that cannot work', () => {
    expect(() => new RolloutEngine({ maxUnavailable: '0%' })).toThrow(/percentage/);
    expect(() => new RolloutEngine({ maxUnavailable: 0 })).toThrow(/whole number/);
    expect(() => new RolloutEngine({ waves: [{}] })).toThrow(/names no clusters/);
    expect(() => new RolloutEngine({ waves: [{ clusters: ['a'] }], maxUnavailable: 1 })).toThrow(/not both/);
  });
});

describe('RevisionBroker', () => {
  const sources: MemorySource[] = [];
  afterEach(async () => {
    await Promise.all(sources.splice(0).map((s) => s.cleanup()));
  });

  it('shares one upstream fetch, serves each view its pinned revision, and fails a revision it no longer holds', async () => {
    const clock = new ManualClock();
    const source = new MemorySource({ clock, files: { 'a.yaml': 'x: 1\n' } });
    sources.push(source);
    const broker = new RevisionBroker({ source, clock, maxAge: 1_000, keep: 1 });
    let pin: string | undefined;
    const seen: string[] = [];
    broker.setPolicy({
      onRevision: (a) => seen.push(a.revision),
      revisionFor: () => pin,
      pinnedRevisions: () => (pin ? [pin] : []),
    });
    const signal = new AbortController().signal;
    const [x, y] = await Promise.all([
      broker.view('a').fetch({ signal }),
      broker.view('b').fetch({ signal }),
    ]);
    expect(x.revision).toBe(y.revision);
    expect(broker.upstreamFetches).toBe(1);
    const r1 = x.revision;
    source.setFile('a.yaml', 'x: 2\n');
    const r2 = source.commit();
    // Within maxAge the old answer stands; after it, one more fetch sees r2.
    expect((await broker.view('a').fetch({ signal })).revision).toBe(r1);
    await clock.advance(1_000);
    // Pinned to r1 when r2 arrives: r1 is kept although keep is 1.
    pin = r1;
    expect((await broker.view('a').fetch({ signal })).revision).toBe(r1);
    expect(broker.latest?.revision).toBe(r2);
    expect(seen).toEqual([r1, r2]);
    // Once nothing pins r1 any more, the next revision drops it.
    source.setFile('a.yaml', 'x: 3\n');
    source.commit();
    broker.invalidate();
    pin = r2;
    await broker.fetchLatest(signal);
    pin = r1;
    await expect(broker.view('a').fetch({ signal })).rejects.toMatchObject({
      code: 'FLEET_REVISION_UNAVAILABLE',
    });
  });
});
