import type { FieldChange, KubeObject } from '@gitops-kit/core';
import { MASKED, secretMask } from './compare.js';

/**
 * Fields we applied before and no longer declare. Server-side apply removes them on the next
 * apply (we own them), so a plan must show them; the live object's `managedFields` entry of our
 * field manager (operation `Apply`) says which fields are ours. Only the `fieldsV1` forms that name
 * a place are followed: `f:<field>` and `k:<list item key>`; a set item (`v:`) or an item we cannot
 * find is reported at its list.
 */

type Json = Record<string, unknown>;

function isRecord(value: unknown): value is Json {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

interface ManagedFieldsEntry {
  manager?: string;
  operation?: string;
  fieldsType?: string;
  fieldsV1?: unknown;
}

/** The `fieldsV1` set of a field manager's Apply entry, or undefined when it applied nothing. */
export function appliedFieldSet(live: KubeObject, fieldManager: string): Json | undefined {
  const entries = live.metadata.managedFields;
  if (!Array.isArray(entries)) return undefined;
  const entry = (entries as ManagedFieldsEntry[]).find(
    (e) => e.manager === fieldManager && e.operation === 'Apply' && e.fieldsType === 'FieldsV1',
  );
  return isRecord(entry?.fieldsV1) ? entry.fieldsV1 : undefined;
}

function escapeSegment(segment: string): string {
  return segment.replace(/~/g, '~0').replace(/\//g, '~1');
}

/** The item of a list whose fields equal every field of `key`. */
function findItem(list: unknown, key: Json): number {
  if (!Array.isArray(list)) return -1;
  return list.findIndex(
    (item) =>
      isRecord(item) && Object.entries(key).every(([k, v]) => JSON.stringify(item[k]) === JSON.stringify(v)),
  );
}

/**
 * The fields of our Apply entry that are in `live` and missing from `desired`, as field changes
 * from the live value to nothing (Secret values masked). At most `limit` are returned.
 */
export function removedFields(
  desired: KubeObject,
  live: KubeObject,
  fieldManager: string,
  limit = 100,
): FieldChange[] {
  const set = appliedFieldSet(live, fieldManager);
  if (!set) return [];
  const out: FieldChange[] = [];
  const masked = secretMask(live);
  walk(set, desired, live, '', masked, out, limit);
  return out;
}

function walk(
  set: Json,
  desired: unknown,
  live: unknown,
  path: string,
  masked: (path: string) => boolean,
  out: FieldChange[],
  limit: number,
): void {
  for (const [member, children] of Object.entries(set)) {
    if (out.length >= limit) return;
    if (member === '.') continue;
    if (member.startsWith('f:')) {
      const field = member.slice(2);
      if (!isRecord(live) || !(field in live)) continue; // gone already
      const childPath = `${path}/${escapeSegment(field)}`;
      const liveValue = live[field];
      if (!isRecord(desired) || desired[field] === undefined || desired[field] === null) {
        out.push({ path: childPath, before: masked(childPath) ? MASKED : liveValue });
        continue;
      }
      if (isRecord(children)) walk(children, desired[field], liveValue, childPath, masked, out, limit);
    } else if (member.startsWith('k:')) {
      let key: unknown;
      try {
        key = JSON.parse(member.slice(2));
      } catch {
        continue;
      }
      if (!isRecord(key)) continue;
      const liveIndex = findItem(live, key);
      if (liveIndex < 0) continue;
      const itemPath = `${path}/${liveIndex}`;
      const liveItem = (live as unknown[])[liveIndex];
      const desiredIndex = findItem(desired, key);
      if (desiredIndex < 0) {
        out.push({ path: itemPath, before: masked(itemPath) ? MASKED : liveItem });
        continue;
      }
      if (isRecord(children)) {
        walk(children, (desired as unknown[])[desiredIndex], liveItem, itemPath, masked, out, limit);
      }
    }
    // `v:` (set items) and `i:` (positions) are compared as part of their whole list by the
    // desired-versus-live diff, which reports a list of another length.
  }
}
