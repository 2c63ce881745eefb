import {
  type FieldChange,
  type KubeObject,
  MASKED_VALUE,
  type MaskPredicate,
  maskFor,
} from '@gitops-kit/core';
import { isRecord, type JsonRecord, joinPointer } from '@gitops-kit/core/internal';

/**
 * Reading what our field manager owns from `metadata.managedFields` (server-side apply's `fieldsV1`
 * sets: `f:<field>` for a map field, `k:<json>` for a list item by key, `v:<json>` for a set item,
 * `i:<n>` for a position, `.` for the value itself). One module, so the plan (fields we stopped
 * declaring) and the printed diff (which live fields to show) read ownership the same way.
 */

/**
 * The `fieldsV1` tree of what `fieldManager` applied to `object`, from `metadata.managedFields`
 * (several Apply entries are merged; subresource entries such as `status` are skipped), or
 * undefined when it owns nothing.
 */
export function ownedFields(object: KubeObject, fieldManager: string): JsonRecord | undefined {
  const entries = object.metadata.managedFields;
  if (!Array.isArray(entries)) return undefined;
  let owned: JsonRecord | undefined;
  for (const entry of entries) {
    if (!isRecord(entry) || entry.manager !== fieldManager || entry.operation !== 'Apply') continue;
    if (entry.subresource !== undefined && entry.subresource !== '') continue;
    if (!isRecord(entry.fieldsV1)) continue;
    owned = owned ? mergeTrees(owned, entry.fieldsV1) : entry.fieldsV1;
  }
  return owned;
}

/** Two `fieldsV1` trees joined: every field either owns. */
export function mergeTrees(a: JsonRecord, b: JsonRecord): JsonRecord {
  const out: JsonRecord = { ...a };
  for (const [key, value] of Object.entries(b)) {
    const existing = out[key];
    out[key] = isRecord(existing) && isRecord(value) ? mergeTrees(existing, value) : value;
  }
  return out;
}

/** Whether a fieldsV1 node owns a value as a whole (no children listed). */
export function ownsWhole(node: JsonRecord): boolean {
  return Object.keys(node).every((key) => key === '.');
}

/** The key fields of a `k:{"name":"app"}` member, or undefined for any other member. */
function itemKey(member: string): JsonRecord | undefined {
  if (!member.startsWith('k:')) return undefined;
  try {
    const key: unknown = JSON.parse(member.slice(2));
    return isRecord(key) ? key : undefined;
  } catch {
    return undefined;
  }
}

/** Whether a list item has every field of `key` (compared as JSON, as the server does). */
function matchesKey(item: unknown, key: JsonRecord): boolean {
  return (
    isRecord(item) && Object.entries(key).every(([k, v]) => JSON.stringify(item[k]) === JSON.stringify(v))
  );
}

/** The fieldsV1 node owning one list item (by key, value or index), if any. */
export function ownedItem(
  owned: JsonRecord | undefined,
  item: unknown,
  index: number,
): JsonRecord | undefined {
  if (!owned) return undefined;
  for (const [member, node] of Object.entries(owned)) {
    if (!isRecord(node)) continue;
    const key = itemKey(member);
    if (key && matchesKey(item, key)) return node;
    if (member === `i:${index}`) return node;
    if (member.startsWith('v:') && member.slice(2) === JSON.stringify(item)) return node;
  }
  return undefined;
}

/** The index of the item of a list that `key` selects, or -1. */
function findItem(list: unknown, key: JsonRecord): number {
  return Array.isArray(list) ? list.findIndex((item) => matchesKey(item, key)) : -1;
}

/**
 * The index of the desired list item that `key` (read from the live object's managed fields)
 * selects, or -1. A key field the desired item leaves out is one the server defaulted (a port's
 * `protocol: TCP`), so only the key fields it declares must match, and it must declare one.
 */
function findDeclaredItem(list: unknown, key: JsonRecord): number {
  if (!Array.isArray(list)) return -1;
  return list.findIndex((item) => {
    if (!isRecord(item)) return false;
    const declared = Object.fromEntries(Object.entries(key).filter(([field]) => item[field] !== undefined));
    return Object.keys(declared).length > 0 && matchesKey(item, declared);
  });
}

/**
 * Fields we applied before and no longer declare. Server-side apply removes them on the next
 * apply (we own them), so a plan must show them. Only the `fieldsV1` forms that name a place are
 * followed: `f:<field>` and `k:<list item key>`; a set item (`v:`) or an item we cannot find is
 * reported at its list. Returns the fields of our Apply entry that are in `live` and missing from
 * `desired`, as field changes from the live value to nothing (Secret values masked), at most
 * `limit` of them.
 */
export function removedFields(
  desired: KubeObject,
  live: KubeObject,
  fieldManager: string,
  limit = 100,
): FieldChange[] {
  const set = ownedFields(live, fieldManager);
  if (!set) return [];
  const out: FieldChange[] = [];
  walk(set, desired, live, '', maskFor(live), out, limit);
  return out;
}

function walk(
  set: JsonRecord,
  desired: unknown,
  live: unknown,
  path: string,
  masked: MaskPredicate,
  out: FieldChange[],
  limit: number,
): void {
  for (const [member, children] of Object.entries(set)) {
    if (out.length >= limit) return;
    if (member.startsWith('f:')) {
      const field = member.slice(2);
      if (!isRecord(live) || !(field in live)) continue; // gone already
      const childPath = joinPointer(path, field);
      const liveValue = live[field];
      if (!isRecord(desired) || desired[field] === undefined || desired[field] === null) {
        out.push({ path: childPath, before: masked(childPath) ? MASKED_VALUE : liveValue });
        continue;
      }
      if (isRecord(children)) walk(children, desired[field], liveValue, childPath, masked, out, limit);
      continue;
    }
    const key = itemKey(member);
    if (!key) continue;
    // `v:` (set items) and `i:` (positions) are compared as part of their whole list by the
    // desired-versus-live diff, which reports a list of another length.
    const liveIndex = findItem(live, key);
    if (liveIndex < 0) continue;
    const itemPath = joinPointer(path, liveIndex);
    const liveItem = (live as unknown[])[liveIndex];
    const desiredIndex = findDeclaredItem(desired, key);
    if (desiredIndex < 0) {
      out.push({ path: itemPath, before: masked(itemPath) ? MASKED_VALUE : liveItem });
      continue;
    }
    if (isRecord(children)) {
      walk(children, (desired as unknown[])[desiredIndex], liveItem, itemPath, masked, out, limit);
    }
  }
}
