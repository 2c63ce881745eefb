import { isRecord, type JsonRecord } from '../diff/values.js';

/**
 * A small imitation of server-side apply for the fake cluster: the fields we applied last time but
 * no longer want are removed, the desired fields are set, and fields that someone else added (a
 * label, an annotation, status) stay. Objects merge key by key; arrays and scalars are replaced
 * whole (a real server merges some lists by key; the difference does not matter in unit tests).
 */
export function applyMerge(live: unknown, lastApplied: unknown, desired: unknown): unknown {
  if (!isRecord(desired)) return structuredClone(desired);
  const base: JsonRecord = isRecord(live) ? { ...live } : {};
  const previous: JsonRecord = isRecord(lastApplied) ? lastApplied : {};
  for (const key of Object.keys(previous)) {
    if (!Object.hasOwn(desired, key)) delete base[key];
  }
  for (const [key, value] of Object.entries(desired)) {
    base[key] = isRecord(value) ? applyMerge(base[key], previous[key], value) : structuredClone(value);
  }
  return base;
}
