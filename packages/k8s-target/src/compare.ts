import {
  alignDeclared,
  diffValues,
  type FieldChange,
  isSecret,
  type KubeObject,
  MASKED_VALUE,
  maskFor,
} from '@gitops-kit/core';
import { isRecord, type JsonRecord, storedSecretData } from '@gitops-kit/core/internal';

/**
 * Compares what we declared with what is live, locally. A live object carries much we never set
 * (server defaults, status, other writers' fields), so only the fields of the desired object are
 * compared: the desired object must be contained in the live one (core's `diffValues` with
 * `declaredOnly`). Known server normalizations are tolerated (quantities such as `0.5` → `500m`,
 * empty values dropped, Secret `stringData` stored as base64 `data`), so a reconcile where nothing
 * changed finds nothing to write.
 */

/** What a masked value is shown as (core's `MASKED_VALUE`, kept under this name for callers). */
export const MASKED = MASKED_VALUE;

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

/** Whether two values are the same resource quantity (`0.5` and `500m`, `1` and `1000m`). */
function quantitiesEqual(a: unknown, b: unknown): boolean {
  const x = parseQuantity(a);
  const y = parseQuantity(b);
  if (x === undefined || y === undefined) return false;
  return Math.abs(x - y) <= Math.max(Math.abs(x), Math.abs(y)) * 1e-9;
}

/** The server's normalization of quantities, as an `equivalent` hook for core's diff walk. */
function sameQuantity(path: string, live: unknown, desired: unknown): boolean {
  const parent = path.split('/').at(-2) ?? '';
  return QUANTITY_PARENTS.has(parent) && quantitiesEqual(desired, live);
}

/**
 * The desired object as the server will store it, for comparison only: `status` is dropped (it is
 * not ours to apply) and a Secret's `stringData` is folded into `data` as base64.
 */
function comparable(desired: KubeObject): JsonRecord {
  const { status: _status, ...rest } = desired;
  if (isSecret(desired) && isRecord(desired.stringData)) {
    const { stringData: _stringData, ...secret } = rest;
    return { ...secret, data: storedSecretData(desired) };
  }
  return rest;
}

/**
 * The fields of `desired` whose live value differs, as field changes from live to desired
 * (masked for Secrets). Empty when the live object holds everything we declared.
 */
export function diffDesired(desired: KubeObject, live: KubeObject, limit = 100): FieldChange[] {
  return diffValues(live, comparable(desired), {
    mask: maskFor(desired),
    limit,
    declaredOnly: true,
    equivalent: sameQuantity,
  });
}

/** The changes of creating `desired`: one per leaf, masked for Secrets. */
export function creationChanges(desired: KubeObject, limit = 100): FieldChange[] {
  return diffValues(undefined, comparable(desired), { mask: maskFor(desired), limit, declaredOnly: true });
}

/**
 * The desired object aligned on the live one by the planner's own tolerances (see core's
 * `alignDeclared`): what {@link diffDesired} counts as equal (quantities, `null` and empty values)
 * reads the same on both sides, so a printed diff shows the changes the plan found and no others.
 */
export function alignDesired(desired: KubeObject, live: KubeObject | undefined): KubeObject {
  return alignDeclared(live, desired, { equivalent: sameQuantity }) as KubeObject;
}
