/**
 * Safe readers for the untyped fields of a live object. Health rules read status fields that a
 * controller may not have written yet, so every reader takes a default instead of throwing.
 */

/** A Kubernetes condition as found in `status.conditions` (only the fields health rules read). */
export interface LiveCondition {
  readonly type: string;
  readonly status: string;
  readonly reason: string;
  readonly message: string;
  readonly lastTransitionTime: string;
  /** When the condition was last written (`lastUpdateTime`, Deployments and some others), or ''. */
  readonly lastUpdateTime: string;
}

/** The value at a dotted path (`status.replicas`), or undefined when any step is missing. */
export function fieldAt(object: unknown, path: string): unknown {
  let current: unknown = object;
  for (const key of path.split('.')) {
    if (current === null || typeof current !== 'object' || Array.isArray(current)) return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}

/** An integer field, or `fallback` when it is missing or not a number. */
export function intAt(object: unknown, path: string, fallback: number): number {
  const value = fieldAt(object, path);
  return typeof value === 'number' && Number.isFinite(value) ? value : fallback;
}

/** A string field, or `fallback` when it is missing or not a string. */
export function stringAt(object: unknown, path: string, fallback: string): string {
  const value = fieldAt(object, path);
  return typeof value === 'string' ? value : fallback;
}

/** The object's `status.conditions`, skipping malformed entries. */
export function conditionsOf(object: unknown): LiveCondition[] {
  const raw = fieldAt(object, 'status.conditions');
  if (!Array.isArray(raw)) return [];
  const conditions: LiveCondition[] = [];
  for (const item of raw) {
    if (item === null || typeof item !== 'object') continue;
    const entry = item as Record<string, unknown>;
    if (typeof entry.type !== 'string') continue;
    conditions.push({
      type: entry.type,
      status: typeof entry.status === 'string' ? entry.status : 'Unknown',
      reason: typeof entry.reason === 'string' ? entry.reason : '',
      message: typeof entry.message === 'string' ? entry.message : '',
      lastTransitionTime: typeof entry.lastTransitionTime === 'string' ? entry.lastTransitionTime : '',
      lastUpdateTime: typeof entry.lastUpdateTime === 'string' ? entry.lastUpdateTime : '',
    });
  }
  return conditions;
}

/** The first condition of a type, if any. */
export function findCondition(object: unknown, type: string): LiveCondition | undefined {
  return conditionsOf(object).find((condition) => condition.type === type);
}

/**
 * When the object's spec was last written, in epoch milliseconds: the newest `time` of the
 * `managedFields` entries of the main resource that own fields under `spec` (not the `status` or
 * `scale` subresources, not metadata-only writes such as a label). Undefined when none says.
 */
export function lastSpecWrite(object: unknown): number | undefined {
  const entries = fieldAt(object, 'metadata.managedFields');
  if (!Array.isArray(entries)) return undefined;
  let newest: number | undefined;
  for (const entry of entries) {
    if (entry === null || typeof entry !== 'object') continue;
    const { time, subresource, fieldsV1 } = entry as {
      time?: unknown;
      subresource?: unknown;
      fieldsV1?: unknown;
    };
    if (subresource !== undefined || typeof time !== 'string') continue;
    if (fieldsV1 === null || typeof fieldsV1 !== 'object' || !('f:spec' in fieldsV1)) continue;
    const at = Date.parse(time);
    if (!Number.isNaN(at) && (newest === undefined || at > newest)) newest = at;
  }
  return newest;
}
