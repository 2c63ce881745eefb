import type { KubeObject } from '@gitops-kit/core';
import { isRecord, type JsonRecord } from '@gitops-kit/core/internal';
import { ownedItem, ownsWhole } from './managed-fields.js';

/**
 * Prepares a live and a desired object for a line diff people can read. A live object carries much
 * nobody declared (server defaults, status, bookkeeping) and keys in the server's order, so it is
 * cut down to the fields the desired object sets plus the fields our field manager owns (so a field
 * removed from Git shows as removed), with keys in the desired object's order. Secret values are
 * masked before this by core's `maskSecretValues`; ownership is read by managed-fields.ts.
 */

/** Metadata fields the server sets on every object: never worth a diff line. */
const SERVER_METADATA = [
  'managedFields',
  'resourceVersion',
  'uid',
  'creationTimestamp',
  'generation',
  'selfLink',
] as const;

/** A copy without server-set bookkeeping (metadata noise and `status`). */
export function stripServerFields(object: KubeObject): KubeObject {
  const { status: _status, ...rest } = object;
  const metadata: JsonRecord = { ...object.metadata };
  for (const field of SERVER_METADATA) delete metadata[field];
  return { ...rest, metadata: metadata as KubeObject['metadata'] };
}

/** The desired list item a live item corresponds to: same `name` when items have one, else same index. */
function desiredItem(desired: readonly unknown[], item: unknown, index: number): unknown {
  if (isRecord(item) && typeof item.name === 'string') {
    const named = desired.find((d) => isRecord(d) && d.name === item.name);
    if (named !== undefined) return named;
    if (desired.some((d) => isRecord(d) && typeof d.name === 'string')) return undefined;
  }
  return desired[index];
}

/**
 * The part of `live` that `desired` declares or `owned` (a fieldsV1 node) claims, with map keys in
 * the desired order. Lists of scalars are atomic and kept whole.
 */
export function projectLive(live: unknown, desired: unknown, owned: JsonRecord | undefined): unknown {
  if (isRecord(live)) {
    if (desired !== undefined && !isRecord(desired)) return live;
    if (desired === undefined && owned !== undefined && ownsWhole(owned)) return live;
    const out: JsonRecord = {};
    const keys = [
      ...Object.keys(isRecord(desired) ? desired : {}),
      ...Object.keys(live).filter((key) => !isRecord(desired) || !(key in desired)),
    ];
    for (const key of keys) {
      if (!(key in live)) continue;
      const d = isRecord(desired) ? desired[key] : undefined;
      const o = owned?.[`f:${key}`];
      const ownedChild = isRecord(o) ? o : undefined;
      if (d === undefined && ownedChild === undefined) continue;
      out[key] = projectLive(live[key], d, ownedChild);
    }
    return out;
  }
  if (Array.isArray(live)) {
    if (desired !== undefined && !Array.isArray(desired)) return live;
    if (!live.some(isRecord)) return live;
    if (desired === undefined && owned !== undefined && ownsWhole(owned)) return live;
    const wanted = Array.isArray(desired) ? desired : [];
    const out: unknown[] = [];
    live.forEach((item, index) => {
      const d = desiredItem(wanted, item, index);
      const o = ownedItem(owned, item, index);
      if (d === undefined && o === undefined) return;
      out.push(projectLive(item, d, o));
    });
    return out;
  }
  return live;
}
