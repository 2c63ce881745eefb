import { ApplyError, ValidationError, type ValidationIssue } from '@gitops-kit/core';
import { describe, expect, it } from 'vitest';
import { configMap, rig } from './support/reconciler-fixtures.js';

function issue(i: number, message = 'unknown kind Widget (example.com/v1)'): ValidationIssue {
  return {
    message,
    location: {
      file: `widgets/w${String(i).padStart(3, '0')}.yaml`,
      line: 1,
      object: `example.com/v1 Widget default/w${i}`,
    },
  };
}

describe('ValidationError messages stay short and stable', () => {
  it('600 identical refusals are one grouped line with the count and the first places', () => {
    const issues = Array.from({ length: 600 }, (_, i) => issue(i));
    const error = new ValidationError('VALIDATION_FAILED', issues);
    expect(error.message.length).toBeLessThan(500);
    expect(error.message).toContain('600 objects failed validation');
    expect(error.message).toContain('unknown kind Widget (example.com/v1) (600 objects: widgets/w000.yaml:1');
    expect(error.message).toContain('and 597 more');
    expect(error.issues).toHaveLength(600);
  });

  it('many different reasons show the first few and say how many more', () => {
    const issues = Array.from({ length: 40 }, (_, i) => issue(i, `field ${i} is invalid`));
    const error = new ValidationError('VALIDATION_FAILED', issues);
    expect(error.message.split('\n')).toHaveLength(1 + 5 + 1);
    expect(error.message).toContain('… and 35 more');
  });

  it('the same issues in another completion order give the same message and list', () => {
    const issues = Array.from({ length: 12 }, (_, i) => issue(i, i % 2 ? 'a' : 'b'));
    const a = new ValidationError('VALIDATION_FAILED', issues);
    const b = new ValidationError('VALIDATION_FAILED', [...issues].reverse());
    expect(b.message).toBe(a.message);
    expect(b.issues).toEqual(a.issues);
  });
});

describe('a long failure message is bounded in status and history', () => {
  it('keeps the Ready condition and the stored history under the bound, the error whole', async () => {
    const r = rig({ 'a.yaml': configMap('a') });
    const long = `apply refused: ${'x'.repeat(100_000)}`;
    r.cluster.apply = async () => {
      throw new ApplyError('APPLY_FAILED', long);
    };
    const result = await r.reconciler.reconcile();
    expect(result.error?.message).toBe(long);
    const ready = r.reconciler.status.conditions.find((c) => c.type === 'Ready');
    expect(ready?.message.length).toBeLessThanOrEqual(1024);
    expect(ready?.message).toContain('more characters on the error');
    const stored = r.store.get('app')?.history?.[0]?.reason ?? '';
    expect(stored.length).toBeLessThanOrEqual(1024);
  });
});

describe('a failing reconciler whose failure does not change writes nothing', () => {
  it('validation issues arriving in a different order each pass leave the stored state alone', async () => {
    const r = rig({ 'a.yaml': configMap('a') });
    await r.reconciler.reconcile();
    const issues = Array.from({ length: 8 }, (_, i) => ({
      message: `refused ${i}`,
      location: { file: `f${i}.yaml`, line: 1 },
    }));
    let pass = 0;
    r.cluster.validate = async () => {
      // Parallel discovery completes in a different order every time.
      const shuffled = pass++ % 2 ? [...issues].reverse() : [...issues.slice(4), ...issues.slice(0, 4)];
      throw new ValidationError('VALIDATION_FAILED', shuffled);
    };
    r.source.setFile('a.yaml', configMap('a', 'v2')).commit();
    await r.reconciler.reconcile();
    const saves = r.store.saves;
    for (let i = 0; i < 3; i++) expect((await r.reconciler.reconcile()).outcome).toBe('failed');
    expect(r.store.saves).toBe(saves);
  });
});
