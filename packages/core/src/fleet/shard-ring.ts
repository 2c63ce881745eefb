import { createHash } from 'node:crypto';
import { FleetError, FleetErrorCodes } from '../errors.js';

/**
 * Consistent hashing with bounded loads (Mirrokni, Thorup and Zadimoghaddam, 2016), the
 * assignment Argo CD's controller offers since 2.11 and the one the CNOE scalability study found to
 * move the fewest clusters when replicas change. Each replica has points on a ring; a key goes to
 * the first replica clockwise from its own point that still has room, where room is
 * `ceil(loadFactor × keys / replicas)`. Keys are placed in the order of their points, so the same
 * inputs give the same answer on every replica with no coordination: each computes the whole map
 * from the keys and the live replicas it sees.
 */

/** Options of {@link assignShards}. */
export interface ShardOptions {
  /** How far above the average a replica's load may go (default 1.25: at most 25 % more). */
  readonly loadFactor?: number;
  /** Points per replica on the ring (default 100): more points, smoother shares. */
  readonly virtualNodes?: number;
}

/** A 52-bit position on the ring, from SHA-256 (stable across processes and versions). */
function point(text: string): number {
  const digest = createHash('sha256').update(text).digest();
  return digest.readUIntBE(0, 6) * 16 + (digest[6]! >> 4);
}

/**
 * Assigns every key to one replica. Returns a map key → replica (empty when there are no
 * replicas). Deterministic: any order of `keys` and `replicas` gives the same map. Throws a
 * {@link FleetError} `FLEET_INVALID_STRATEGY` for a load factor below 1 or no virtual nodes.
 */
export function assignShards(
  keys: readonly string[],
  replicas: readonly string[],
  options: ShardOptions = {},
): Map<string, string> {
  const loadFactor = options.loadFactor ?? 1.25;
  const virtualNodes = options.virtualNodes ?? 100;
  if (!(loadFactor >= 1) || !Number.isInteger(virtualNodes) || virtualNodes < 1) {
    throw new FleetError(
      FleetErrorCodes.InvalidStrategy,
      `sharding needs loadFactor ≥ 1 and a whole number of virtualNodes ≥ 1 (got ${loadFactor}, ${virtualNodes})`,
    );
  }
  const out = new Map<string, string>();
  const members = [...new Set(replicas)].sort();
  if (members.length === 0) return out;
  const ring: { at: number; member: string }[] = [];
  for (const member of members) {
    for (let i = 0; i < virtualNodes; i++) ring.push({ at: point(`${member}#${i}`), member });
  }
  ring.sort((a, b) => a.at - b.at || (a.member < b.member ? -1 : 1));
  const unique = [...new Set(keys)];
  const capacity = Math.ceil((loadFactor * unique.length) / members.length);
  const load = new Map<string, number>(members.map((m) => [m, 0]));
  const placed = unique
    .map((key) => ({ key, at: point(key) }))
    .sort((a, b) => a.at - b.at || (a.key < b.key ? -1 : 1));
  for (const { key, at } of placed) {
    let index = firstAtOrAfter(ring, at);
    for (let steps = 0; steps < ring.length; steps++, index = (index + 1) % ring.length) {
      const { member } = ring[index]!;
      const used = load.get(member)!;
      if (used < capacity) {
        load.set(member, used + 1);
        out.set(key, member);
        break;
      }
    }
  }
  return out;
}

/** The index of the first ring point at or after `at` (wrapping to 0). */
function firstAtOrAfter(ring: readonly { at: number }[], at: number): number {
  let low = 0;
  let high = ring.length;
  while (low < high) {
    const mid = (low + high) >> 1;
    if (ring[mid]!.at < at) low = mid + 1;
    else high = mid;
  }
  return low % ring.length;
}

/** How many keys two assignments give to different replicas (keys missing from one count as moved). */
export function countMoved(before: ReadonlyMap<string, string>, after: ReadonlyMap<string, string>): number {
  let moved = 0;
  for (const [key, member] of before) if (after.get(key) !== member) moved++;
  for (const key of after.keys()) if (!before.has(key)) moved++;
  return moved;
}
