import type { FieldChange } from '../types.js';
import { MASKED_VALUE, type MaskPredicate, maskFor, maskNothing } from './mask.js';
import { joinPointer } from './pointer.js';
import { isRecord, jsonEqual } from './values.js';

/** Options for {@link diffValues}. */
export interface DiffOptions {
  /** Paths whose values are replaced by `***` (see {@link maskFor}). */
  readonly mask?: MaskPredicate;
  /** Stop after this many changes (a runaway diff is unreadable anyway). Default: unlimited. */
  readonly limit?: number;
}

/**
 * The leaf-level changes that turn `before` into `after`, as JSON-pointer paths in the order of
 * `after`'s keys (then keys only `before` had). Objects and arrays are descended into (arrays by
 * index), also when one side is missing, so a created field lists its leaves. A change of type
 * (object to string, array to object) is one change at that path.
 */
export function diffValues(before: unknown, after: unknown, options: DiffOptions = {}): FieldChange[] {
  const changes: FieldChange[] = [];
  const mask = options.mask ?? maskNothing;
  const limit = options.limit ?? Number.POSITIVE_INFINITY;
  walk('', before, after, mask, limit, changes);
  return changes;
}

/**
 * Field changes from a live object to a desired one, with the desired object's secret mask applied
 * (see {@link maskFor}). Either side may be `undefined` (create or delete).
 */
export function diffObjects(
  live: unknown,
  desired: unknown,
  options: Omit<DiffOptions, 'mask'> = {},
): FieldChange[] {
  const kinded = isRecord(desired) ? desired : isRecord(live) ? live : {};
  return diffValues(live, desired, { ...options, mask: maskFor(kinded) });
}

function walk(
  path: string,
  before: unknown,
  after: unknown,
  mask: MaskPredicate,
  limit: number,
  out: FieldChange[],
): void {
  if (out.length >= limit || jsonEqual(before, after)) return;
  const beforeRecord = isRecord(before) ? before : before === undefined ? {} : undefined;
  const afterRecord = isRecord(after) ? after : after === undefined ? {} : undefined;
  if (beforeRecord && afterRecord && (isRecord(before) || isRecord(after))) {
    const keys = [...Object.keys(afterRecord)];
    for (const key of Object.keys(beforeRecord)) if (!Object.hasOwn(afterRecord, key)) keys.push(key);
    const start = out.length;
    for (const key of keys)
      walk(joinPointer(path, key), beforeRecord[key], afterRecord[key], mask, limit, out);
    // An empty object added or removed has no leaves: report the object itself.
    if (out.length === start && out.length < limit) out.push(leafChange(path, before, after, mask(path)));
    return;
  }
  const beforeList = Array.isArray(before) ? before : before === undefined ? [] : undefined;
  const afterList = Array.isArray(after) ? after : after === undefined ? [] : undefined;
  if (beforeList && afterList && (Array.isArray(before) || Array.isArray(after))) {
    const length = Math.max(beforeList.length, afterList.length);
    const start = out.length;
    for (let i = 0; i < length; i++)
      walk(joinPointer(path, i), beforeList[i], afterList[i], mask, limit, out);
    if (out.length === start && out.length < limit) out.push(leafChange(path, before, after, mask(path)));
    return;
  }
  out.push(leafChange(path, before, after, mask(path)));
}

function leafChange(path: string, before: unknown, after: unknown, masked: boolean): FieldChange {
  const change: { path: string; before?: unknown; after?: unknown } = { path };
  if (before !== undefined) change.before = masked ? MASKED_VALUE : before;
  if (after !== undefined) change.after = masked ? MASKED_VALUE : after;
  return change;
}
