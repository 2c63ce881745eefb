import { describe, expect, it } from 'vitest';
import { configMap, rig } from './support/reconciler-fixtures.js';

describe('Reconciler: state writes per pass', () => {
  it('a new revision whose objects did not change writes the state once (revision and history together)', async () => {
    const r = rig({ 'a.yaml': configMap('a'), 'b.yaml': configMap('b') });
    await r.reconciler.reconcile();
    const saves = r.store.saves;
    // A commit that touches no manifest: same objects, a new revision to record.
    r.source.setFile('README.md', 'notes').commit();

    const result = await r.reconciler.reconcile();

    expect(result.outcome).toBe('succeeded');
    expect(result.writes).toBe(0);
    expect(r.store.saves).toBe(saves + 1);
    const stored = await r.store.load('app', { signal: AbortSignal.timeout(1000) });
    expect(stored?.lastAppliedRevision).toBe(r.source.head?.revision);
    expect(stored?.history?.[0]?.revision).toBe(r.source.head?.revision);
  });

  it('a pass where neither the objects nor the revision changed writes no state', async () => {
    const r = rig({ 'a.yaml': configMap('a') });
    await r.reconciler.reconcile();
    const saves = r.store.saves;

    await r.reconciler.reconcile();
    await r.reconciler.reconcile();

    expect(r.store.saves).toBe(saves);
  });

  it('a pass that writes an object still stores its inventory right after the apply', async () => {
    const r = rig({ 'a.yaml': configMap('a') });
    await r.reconciler.reconcile();
    const saves = r.store.saves;
    r.source.setFile('a.yaml', configMap('a', 'v2')).commit();

    await r.reconciler.reconcile();

    // After the apply (new digest and revision), then the history at the end of the pass.
    expect(r.store.saves).toBe(saves + 2);
  });
});
