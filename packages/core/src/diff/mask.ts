import type { KubeObject } from '../types.js';
import { splitPointer } from './pointer.js';
import { isRecord, type JsonRecord } from './values.js';

/** What masked values are replaced with. */
export const MASKED_VALUE = '***';

/**
 * What a masked value that changes is shown as on the desired side of a side-by-side diff (the
 * live side reads {@link MASKED_VALUE}), so a reader learns which keys change and nothing else.
 */
export const MASKED_CHANGED_VALUE = '*** (changed)';

/** Decides whether the value at a path (a JSON pointer) must not be shown. */
export type MaskPredicate = (path: string) => boolean;

/** Masks nothing. */
export const maskNothing: MaskPredicate = () => false;

/** The annotation kubectl keeps the whole last applied object in: for a Secret it holds the values. */
const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

/** Whether an object is a core `Secret` (`v1`), whose values must never be shown. */
export function isSecret(
  object: { readonly apiVersion?: unknown; readonly kind?: unknown } | undefined,
): boolean {
  return object?.apiVersion === 'v1' && object.kind === 'Secret';
}

/**
 * The mask for an object: for a core `Secret`, everything under `/data` and `/stringData` and the
 * last-applied annotation; for anything else, nothing. Secret values must never reach a plan,
 * a log line or an error message.
 */
export function maskFor(object: { readonly apiVersion?: unknown; readonly kind?: unknown }): MaskPredicate {
  if (!isSecret(object)) return maskNothing;
  return (path) => {
    const [first, second, third] = splitPointer(path);
    if (first === 'data' || first === 'stringData') return true;
    return (
      first === 'metadata' && second === 'annotations' && (third === undefined || third === LAST_APPLIED)
    );
  };
}

/**
 * A Secret's values as the server stores them: `stringData` (plain text, write-only) folded into
 * `data` as base64, `stringData` winning on a shared key as it does on the server.
 */
export function storedSecretData(secret: { readonly [field: string]: unknown }): JsonRecord {
  const data: JsonRecord = isRecord(secret.data) ? { ...secret.data } : {};
  if (isRecord(secret.stringData)) {
    for (const [key, value] of Object.entries(secret.stringData)) {
      data[key] = Buffer.from(String(value), 'utf8').toString('base64');
    }
  }
  return data;
}

function maskAnnotation(object: KubeObject): KubeObject['metadata'] {
  const annotations = object.metadata.annotations;
  if (!annotations || !(LAST_APPLIED in annotations)) return object.metadata;
  return { ...object.metadata, annotations: { ...annotations, [LAST_APPLIED]: MASKED_VALUE } };
}

/**
 * Whole objects with Secret values replaced by markers, for showing side by side (a line diff):
 * unchanged values read {@link MASKED_VALUE} on both sides, a changed value reads `***` live and
 * {@link MASKED_CHANGED_VALUE} desired, so the diff shows which keys change and nothing else.
 * Desired `stringData` is folded into `data` first, as the server stores it, so a value written as
 * plain text compares equal to the same value stored in base64. The last-applied annotation is
 * masked too. Objects other than Secrets pass through unchanged.
 */
export function maskSecretValues(
  live: KubeObject | undefined,
  desired: KubeObject,
): {
  /** The live object with its Secret values masked (absent when there is none). */
  live: KubeObject | undefined;
  /** The desired object with its Secret values masked. */
  desired: KubeObject;
} {
  if (!isSecret(desired) && !isSecret(live)) return { live, desired };
  const desiredData = storedSecretData(desired);
  const liveData = live ? storedSecretData(live) : {};
  const maskedDesired: Record<string, string> = {};
  for (const [key, value] of Object.entries(desiredData)) {
    const changed = live !== undefined && key in liveData && liveData[key] !== value;
    maskedDesired[key] = changed ? MASKED_CHANGED_VALUE : MASKED_VALUE;
  }
  const { stringData: _desiredStringData, data: _desiredData, ...desiredRest } = desired;
  const nextDesired: KubeObject = { ...desiredRest, metadata: maskAnnotation(desired) };
  if (Object.keys(maskedDesired).length > 0) nextDesired.data = maskedDesired;
  if (!live) return { live, desired: nextDesired };
  const { stringData: _liveStringData, data: _liveData, ...liveRest } = live;
  const nextLive: KubeObject = { ...liveRest, metadata: maskAnnotation(live) };
  const liveKeys = Object.keys(liveData);
  if (liveKeys.length > 0) nextLive.data = Object.fromEntries(liveKeys.map((key) => [key, MASKED_VALUE]));
  return { live: nextLive, desired: nextDesired };
}
