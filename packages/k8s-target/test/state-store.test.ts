import { stateObjectName } from '@gitops-kit/k8s-target';
import { describe, expect, it } from 'vitest';
import { KubeClient } from '../src/kube-client.js';
import { mapSettled } from '../src/pool.js';
import { ConfigMapStateStore } from '../src/state-store.js';
import { FaultPlan, faultyTransport } from './support/faults.js';
import { ScriptedApiServer } from './support/scripted-apiserver.js';

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

describe('ConfigMapStateStore.unchanged', () => {
  it('a save whose answer was lost is still ours: no false "replaced" on the next pass', async () => {
    const server = new ScriptedApiServer();
    const state = {
      inventory: { entries: [{ ref: { apiVersion: 'v1', kind: 'ConfigMap', name: 'a' }, digest: 'd1' }] },
    };
    const plain = new ConfigMapStateStore(server.client, { namespace: 'ns' });
    await plain.save('app', state);
    expect(await plain.unchanged('app')).toBe(true);
    expect(server.writes().length).toBe(1);

    // The second save lands but its answer is lost.
    const plan = new FaultPlan(1);
    const store = new ConfigMapStateStore(new KubeClient(faultyTransport(server.transport, plan)), {
      namespace: 'ns',
    });
    await store.load('app');
    const next = {
      inventory: {
        entries: [
          ...state.inventory.entries,
          { ref: { apiVersion: 'v1', kind: 'ConfigMap', name: 'b' }, digest: 'd2' },
        ],
      },
    };
    await expect(store.save('app', next)).rejects.toThrow();
    plan.heal();
    // A new version, but holding what this store tried to save: its own, not a replacement.
    expect(await store.unchanged('app')).toBe(true);
    const writes = server.writes().length;
    await store.save('app', next); // already stored: nothing sent
    expect(server.writes().length).toBe(writes);
    // Another writer's content is a replacement.
    await new ConfigMapStateStore(server.client, { namespace: 'ns' }).save('app', state);
    expect(await store.unchanged('app')).toBe(false);
  });
});
