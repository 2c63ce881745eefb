import { describe, expect, it } from 'vitest';
import { assignShards, countMoved } from '../src/fleet/shard-ring.js';

const keys = Array.from({ length: 1000 }, (_, i) => `cluster-${String(i).padStart(4, '0')}`);
const replicas = (n: number): string[] => Array.from({ length: n }, (_, i) => `replica-${i}`);

describe('assignShards (consistent hashing with bounded loads)', () => {
  it('gives every key exactly one replica, and no replica more than the bound', () => {
    const map = assignShards(keys, replicas(10));
    expect(map.size).toBe(1000);
    const loads = new Map<string, number>();
    for (const member of map.values()) loads.set(member, (loads.get(member) ?? 0) + 1);
    expect(loads.size).toBe(10);
    for (const load of loads.values()) expect(load).toBeLessThanOrEqual(Math.ceil(1.25 * 100));
  });

  it('is the same whatever order keys and replicas come in', () => {
    const a = assignShards(keys, replicas(7));
    const b = assignShards([...keys].reverse(), replicas(7).reverse());
    expect(countMoved(a, b)).toBe(0);
  });

  it('moves at most 15 % of 1,000 keys when one replica of 10 is removed or one is added', () => {
    const ten = assignShards(keys, replicas(10));
    for (let gone = 0; gone < 10; gone++) {
      const nine = assignShards(
        keys,
        replicas(10).filter((_, i) => i !== gone),
      );
      const moved = countMoved(ten, nine);
      // At least the removed replica's share has to move.
      expect(moved).toBeGreaterThanOrEqual([...ten.values()].filter((m) => m === `replica-${gone}`).length);
      expect(moved).toBeLessThanOrEqual(150);
    }
    const eleven = assignShards(keys, [...replicas(10), 'replica-new']);
    const movedOnAdd = countMoved(ten, eleven);
    expect(movedOnAdd).toBeGreaterThan(0);
    expect(movedOnAdd).toBeLessThanOrEqual(150);
  });

  it('assigns nothing without replicas and refuses a load factor below 1', () => {
    expect(assignShards(keys, []).size).toBe(0);
    expect(() => assignShards(keys, ['a'], { loadFactor: 0.5 })).toThrow(/loadFactor/);
  });
});
