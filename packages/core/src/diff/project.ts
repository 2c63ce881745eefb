import { isRecord, type JsonRecord } from './values.js';

/**
 * The part of `live` that has the shape of `shape`: for objects, only the keys `shape` has; for
 * arrays of the same length, element by element; anything else is taken whole from `live`.
 *
 * This is how drift is told from noise: a live object carries fields nobody applied (defaults,
 * status, other writers' labels), so comparing it whole with the desired object would always
 * differ. Projected onto the desired object's fields, it equals the desired object exactly when
 * nobody changed what we manage.
 */
export function projectOnto(live: unknown, shape: unknown): unknown {
  if (isRecord(live) && isRecord(shape)) {
    const out: JsonRecord = {};
    for (const key of Object.keys(shape)) {
      if (Object.hasOwn(live, key)) out[key] = projectOnto(live[key], shape[key]);
    }
    return out;
  }
  if (Array.isArray(live) && Array.isArray(shape) && live.length === shape.length) {
    return live.map((item, i) => projectOnto(item, shape[i]));
  }
  return live;
}

/**
 * A shape with the fields of both values (objects merged key by key; where only one side has an
 * object, that side wins). Project onto the union of what was applied last time and what is
 * desired now to see both changed and removed fields.
 */
export function unionShape(a: unknown, b: unknown): unknown {
  if (isRecord(a) && isRecord(b)) {
    const out: JsonRecord = { ...a };
    for (const [key, value] of Object.entries(b)) {
      out[key] = Object.hasOwn(a, key) ? unionShape(a[key], value) : value;
    }
    return out;
  }
  if (Array.isArray(a) && Array.isArray(b) && a.length === b.length) {
    return a.map((item, i) => unionShape(item, b[i]));
  }
  return b === undefined ? a : b;
}
