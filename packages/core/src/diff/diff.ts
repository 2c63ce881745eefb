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
  /**
   * Compare only what `after` declares, as when `after` is a desired object and `before` a live one
   * that also holds server defaults and other writers' fields: keys only `before` has are no change,
   * `null` and empty values in `after` declare nothing, and a list of another length is one change
   * at the list. Default false: both sides count, and lists are compared item by item.
   */
  readonly declaredOnly?: boolean;
  /**
   * Leaf values to treat as equal though they differ, such as a quantity the server normalized
   * (`0.5` stored as `500m`). Asked only where both sides hold a non-container value.
   */
  readonly equivalent?: (path: string, before: unknown, after: unknown) => boolean;
}

/**
 * The leaf-level changes that turn `before` into `after`, as JSON-pointer paths in the order of
 * `after`'s keys (then keys only `before` had). Objects and arrays are descended into (arrays by
 * index), also when one side is missing, so a created field lists its leaves. A change of type
 * (object to string, array to object) is one change at that path. See
 * {@link DiffOptions.declaredOnly} for comparing a desired object with a live one.
 */
export function diffValues(before: unknown, after: unknown, options: DiffOptions = {}): FieldChange[] {
  const changes: FieldChange[] = [];
  const walker: Walker = {
    mask: options.mask ?? maskNothing,
    limit: options.limit ?? Number.POSITIVE_INFINITY,
    declaredOnly: options.declaredOnly ?? false,
    equivalent: options.equivalent,
    out: changes,
  };
  walk(walker, '', before, after);
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

interface Walker {
  readonly mask: MaskPredicate;
  readonly limit: number;
  readonly declaredOnly: boolean;
  readonly equivalent: DiffOptions['equivalent'];
  readonly out: FieldChange[];
}

function isEmpty(value: unknown): boolean {
  if (value === null || value === undefined) return true;
  if (Array.isArray(value)) return value.length === 0;
  if (isRecord(value)) return Object.keys(value).length === 0;
  return false;
}

/**
 * Whether a desired value declares nothing against a live one under `declaredOnly`: `null` or
 * absent, or empty where the live value is empty or absent too (the server drops empty values).
 * One predicate, so the planner and the printed diff (`alignDeclared`) agree on what is no change.
 */
export function declaresNothing(live: unknown, desired: unknown): boolean {
  return desired === null || desired === undefined || (isEmpty(desired) && isEmpty(live));
}

function walk(w: Walker, path: string, before: unknown, after: unknown): void {
  const { out, limit } = w;
  if (out.length >= limit || jsonEqual(before, after)) return;
  if (w.declaredOnly && declaresNothing(before, after)) return;
  const beforeRecord = isRecord(before) ? before : before === undefined ? {} : undefined;
  const afterRecord = isRecord(after) ? after : after === undefined ? {} : undefined;
  if (beforeRecord && afterRecord && (isRecord(before) || isRecord(after))) {
    const keys = [...Object.keys(afterRecord)];
    if (!w.declaredOnly) {
      for (const key of Object.keys(beforeRecord)) if (!Object.hasOwn(afterRecord, key)) keys.push(key);
    }
    const start = out.length;
    for (const key of keys) walk(w, joinPointer(path, key), beforeRecord[key], afterRecord[key]);
    // An empty object added or removed has no leaves: report the object itself.
    if (!w.declaredOnly && out.length === start && out.length < limit)
      out.push(leafChange(w, path, before, after));
    return;
  }
  const beforeList = Array.isArray(before) ? before : before === undefined ? [] : undefined;
  const afterList = Array.isArray(after) ? after : after === undefined ? [] : undefined;
  const sameLength = before === undefined || beforeList?.length === afterList?.length;
  if (
    beforeList &&
    afterList &&
    (Array.isArray(before) || Array.isArray(after)) &&
    (!w.declaredOnly || sameLength)
  ) {
    const length = Math.max(beforeList.length, afterList.length);
    const start = out.length;
    for (let i = 0; i < length; i++) walk(w, joinPointer(path, i), beforeList[i], afterList[i]);
    if (!w.declaredOnly && out.length === start && out.length < limit)
      out.push(leafChange(w, path, before, after));
    return;
  }
  const leaves = !isRecord(before) && !Array.isArray(before) && !isRecord(after) && !Array.isArray(after);
  if (leaves && before !== undefined && w.equivalent?.(path, before, after)) return;
  out.push(leafChange(w, path, before, after));
}

function leafChange(w: Walker, path: string, before: unknown, after: unknown): FieldChange {
  const masked = w.mask(path);
  const change: { path: string; before?: unknown; after?: unknown } = { path };
  if (before !== undefined) change.before = masked ? MASKED_VALUE : before;
  if (after !== undefined) change.after = masked ? MASKED_VALUE : after;
  return change;
}
