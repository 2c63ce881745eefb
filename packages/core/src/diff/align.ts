import { type DiffOptions, declaresNothing } from './diff.js';
import { joinPointer } from './pointer.js';
import { isRecord, type JsonRecord } from './values.js';

/**
 * The desired value as the planner reads it against a live one, for printing side by side: what
 * {@link diffValues} with `declaredOnly` counts as no change is made to look like no change.
 * Values that declare nothing (`null`, empty where live is empty) are dropped, and leaves the
 * `equivalent` hook accepts (a quantity `2` stored as `2000m`) take the live form. Everything else
 * is kept as declared, so a line diff of live against this shows exactly the planner's changes.
 */
export function alignDeclared(
  live: unknown,
  desired: unknown,
  options: Pick<DiffOptions, 'equivalent'> = {},
): unknown {
  return align(live, desired, '', options.equivalent);
}

function align(
  live: unknown,
  desired: unknown,
  path: string,
  equivalent: DiffOptions['equivalent'],
): unknown {
  if (isRecord(desired)) {
    const liveRecord = isRecord(live) ? live : undefined;
    const out: JsonRecord = {};
    for (const [key, value] of Object.entries(desired)) {
      const before = liveRecord?.[key];
      if (declaresNothing(before, value)) continue;
      out[key] = align(before, value, joinPointer(path, key), equivalent);
    }
    return out;
  }
  if (Array.isArray(desired)) {
    // A list of another length is one change at the list (as the planner reports it): kept whole.
    // Absent live, each item is read on its own, as when the planner lists a creation's leaves.
    if (live !== undefined && (!Array.isArray(live) || live.length !== desired.length)) return desired;
    const items: readonly unknown[] = Array.isArray(live) ? live : [];
    return desired.map((item, i) => align(items[i], item, joinPointer(path, i), equivalent));
  }
  const leaves = live !== undefined && !isRecord(live) && !Array.isArray(live);
  if (leaves && live !== desired && equivalent?.(path, live, desired)) return live;
  return desired;
}
