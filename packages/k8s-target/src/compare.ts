import type { FieldChange, KubeObject } from '@gitops-kit/core';

/**
 * Compares what we declared with what is live, locally. A live object carries much we never set
 * (server defaults, status, other writers' fields), so only the fields of the desired object are
 * compared: the desired object must be contained in the live one. Known server normalizations are
 * tolerated (quantities such as `0.5` → `500m`, empty values dropped, Secret `stringData` stored
 * as base64 `data`), so a reconcile where nothing changed finds nothing to write.
 */

/** What a masked value is shown as. */
export const MASKED = '***';

type Json = Record<string, unknown>;

function isRecord(value: unknown): value is Json {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Parent keys under which values are resource quantities (`resources.limits.cpu`, `spec.hard`). */
const QUANTITY_PARENTS = new Set([
  'limits',
  'requests',
  'hard',
  'capacity',
  'overhead',
  'default',
  'defaultRequest',
  'max',
  'min',
]);

const SUFFIX: Readonly<Record<string, number>> = {
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  '': 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

/** The numeric value of a Kubernetes quantity (`500m`, `1Gi`, `1e3`, `2`), or undefined. */
export function parseQuantity(value: unknown): number | undefined {
  if (typeof value === 'number') return value;
  if (typeof value !== 'string') return undefined;
  const match = /^([+-]?(?:\d+\.?\d*|\.\d+))(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE])?)$/.exec(
    value.trim(),
  );
  if (!match) return undefined;
  const base = Number(match[1]);
  if (match[2]) return base * 10 ** Number(match[2].slice(1));
  return base * (SUFFIX[match[3] ?? ''] ?? 1);
}

function quantitiesEqual(a: unknown, b: unknown): boolean {
  const x = parseQuantity(a);
  const y = parseQuantity(b);
  if (x === undefined || y === undefined) return false;
  return Math.abs(x - y) <= Math.max(Math.abs(x), Math.abs(y)) * 1e-9;
}

function isEmpty(value: unknown): boolean {
  if (value === null || value === undefined) return true;
  if (Array.isArray(value)) return value.length === 0;
  if (isRecord(value)) return Object.keys(value).length === 0;
  return false;
}

function escapeSegment(segment: string): string {
  return segment.replace(/~/g, '~0').replace(/\//g, '~1');
}

/** The mask of an object: Secret values (and the last-applied annotation of a Secret) are hidden. */
export function secretMask(object: KubeObject): (path: string) => boolean {
  if (object.kind !== 'Secret' || object.apiVersion !== 'v1') return () => false;
  return (path) =>
    path.startsWith('/data') ||
    path.startsWith('/stringData') ||
    path === '/metadata/annotations/kubectl.kubernetes.io~1last-applied-configuration';
}

/**
 * The desired object as the server will store it, for comparison only: `status` is dropped (it is
 * not ours to apply) and a Secret's `stringData` is folded into `data` as base64.
 */
export function comparable(desired: KubeObject): Json {
  const { status: _status, ...rest } = desired;
  if (desired.kind === 'Secret' && desired.apiVersion === 'v1' && isRecord(desired.stringData)) {
    const { stringData, ...secret } = rest;
    const data: Json = isRecord(secret.data) ? { ...secret.data } : {};
    for (const [key, value] of Object.entries(stringData as Json)) {
      data[key] = Buffer.from(String(value), 'utf8').toString('base64');
    }
    return { ...secret, data };
  }
  return rest;
}

/**
 * The fields of `desired` whose live value differs, as field changes from live to desired
 * (masked for Secrets). Empty when the live object holds everything we declared.
 */
export function diffDesired(desired: KubeObject, live: KubeObject, limit = 100): FieldChange[] {
  const out: FieldChange[] = [];
  const masked = secretMask(desired);
  walk('', comparable(desired), live, masked, out, limit);
  return out;
}

/** Whether the live object holds every field we declared (see {@link diffDesired}). */
export function containsDesired(desired: KubeObject, live: KubeObject): boolean {
  return diffDesired(desired, live, 1).length === 0;
}

/** The changes of creating `desired`: one per leaf, masked for Secrets. */
export function creationChanges(desired: KubeObject, limit = 100): FieldChange[] {
  const out: FieldChange[] = [];
  const masked = secretMask(desired);
  walk('', comparable(desired), undefined, masked, out, limit);
  return out;
}

function walk(
  path: string,
  desired: unknown,
  live: unknown,
  masked: (path: string) => boolean,
  out: FieldChange[],
  limit: number,
): void {
  if (out.length >= limit) return;
  // Nulls and empty values in the desired object declare nothing the server keeps.
  if (desired === null || desired === undefined) return;
  if (isEmpty(desired) && isEmpty(live)) return;
  if (isRecord(desired)) {
    const liveRecord = isRecord(live) ? live : undefined;
    if (live !== undefined && !liveRecord) {
      out.push(change(path, live, desired, masked));
      return;
    }
    for (const [key, value] of Object.entries(desired)) {
      walk(`${path}/${escapeSegment(key)}`, value, liveRecord?.[key], masked, out, limit);
    }
    return;
  }
  if (Array.isArray(desired)) {
    if (Array.isArray(live) && live.length === desired.length) {
      desired.forEach((item, i) => {
        walk(`${path}/${i}`, item, live[i], masked, out, limit);
      });
      return;
    }
    if (live === undefined) {
      desired.forEach((item, i) => {
        walk(`${path}/${i}`, item, undefined, masked, out, limit);
      });
      return;
    }
    out.push(change(path, live, desired, masked));
    return;
  }
  if (desired === live) return;
  const parent = path.split('/').at(-2) ?? '';
  if (live !== undefined && QUANTITY_PARENTS.has(parent) && quantitiesEqual(desired, live)) return;
  out.push(change(path, live, desired, masked));
}

function change(
  path: string,
  before: unknown,
  after: unknown,
  masked: (path: string) => boolean,
): FieldChange {
  const hide = masked(path);
  const result: { path: string; before?: unknown; after?: unknown } = { path };
  if (before !== undefined) result.before = hide ? MASKED : before;
  if (after !== undefined) result.after = hide ? MASKED : after;
  return result;
}
