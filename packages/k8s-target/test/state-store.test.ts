import { stateObjectName } from '@gitops-kit/k8s-target';
import { describe, expect, it } from 'vitest';
import { mapSettled } from '../src/pool.js';

describe('stateObjectName', () => {
  it('keeps a valid key and makes others valid and distinct', () => {
    expect(stateObjectName('shop')).toBe('gitops-kit-shop');
    const a = stateObjectName('Tenants/Shop');
    const b = stateObjectName('tenants/shop');
    for (const name of [a, b, stateObjectName('x'.repeat(400))]) {
      expect(name).toMatch(/^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/);
      expect(name.length).toBeLessThanOrEqual(253);
    }
    expect(a).not.toBe(b);
  });
});

describe('mapSettled', () => {
  it('runs every item with bounded concurrency and keeps results in order', async () => {
    let running = 0;
    let peak = 0;
    const results = await mapSettled([1, 2, 3, 4, 5, 6, 7], 3, async (n) => {
      running++;
      peak = Math.max(peak, running);
      await new Promise((resolve) => setImmediate(resolve));
      running--;
      if (n === 4) throw new Error('four');
      return n * 10;
    });
    expect(peak).toBe(3);
    expect(results.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as Error).message))).toEqual([
      10,
      20,
      30,
      'four',
      50,
      60,
      70,
    ]);
  });
});
