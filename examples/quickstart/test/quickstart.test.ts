import { describe, expect, it } from 'vitest';
import { runQuickstart } from '../src/quickstart.js';

describe('quickstart demo', () => {
  it('syncs, plans a change, reverts drift and rolls back a failed rollout', async () => {
    const lines: string[] = [];
    const outcome = await runQuickstart({ cluster: 'fake', write: (line) => lines.push(line) });
    const text = lines.join('\n');

    expect(outcome.results.map((r) => r.outcome)).toEqual([
      'succeeded', // first sync
      'succeeded', // folder changed
      'succeeded', // drift reverted
      'rolledBack', // bad image
      'rolledBack', // the bad revision stays held back
    ]);
    const [first, changed, reverted, bad] = outcome.results;
    expect(first?.plan).toMatchObject({ create: 5, update: 0, prune: 0 });
    expect(changed?.plan).toMatchObject({ create: 1, update: 2, prune: 1 });
    expect(changed?.pruned).toBe(1);
    expect(reverted?.plan).toMatchObject({ update: 2, drifted: 2 });
    expect(reverted?.revision).toBe(changed?.revision);

    expect(outcome.rolledBackRevision).toBe(bad?.revision);
    expect(outcome.finalRevision).toBe(changed?.revision);
    expect(outcome.finalReplicas).toBe(3);
    expect(outcome.finalImage).toBe('nginx:1.27');
    expect(outcome.events).toEqual(expect.arrayContaining(['pruned', 'drifted', 'unhealthy', 'rolledBack']));
    // The drift correction is an entry of its own, next to the pass outcomes.
    expect(outcome.history.map((h) => h.kind ?? h.outcome)).toEqual([
      'rolledBack',
      'drift',
      'succeeded',
      'succeeded',
    ]);
    expect(outcome.history[1]?.drifted).toHaveLength(2);
    expect(outcome.history[0]?.cause?.code).toBe('HEALTH_FAILED');

    // The printed plans carry the field-level changes people read.
    expect(text).toContain('/spec/replicas: 1 → 3');
    expect(text).toContain('/data/checkout: + "enabled"');
    expect(text).toContain('+ create  policy/v1 PodDisruptionBudget demo-shop/web');
    expect(text).toContain('- prune   v1 ConfigMap demo-shop/web-legacy-settings');
    expect(text).toContain('/spec/replicas: 10 → 3');
    expect(text).toMatch(/drift: changed outside gitops-kit/);
    expect(text).toContain('"nginx:1.27" → "nginx:does-not-exist"');
    expect(text).toContain('UNHEALTHY');
  });
});
