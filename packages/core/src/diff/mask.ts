import { splitPointer } from './pointer.js';

/** What masked values are replaced with. */
export const MASKED_VALUE = '***';

/** Decides whether the value at a path (a JSON pointer) must not be shown. */
export type MaskPredicate = (path: string) => boolean;

/** Masks nothing. */
export const maskNothing: MaskPredicate = () => false;

/** The annotation kubectl keeps the whole last applied object in: for a Secret it holds the values. */
const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

/**
 * The mask for an object: for a core `Secret`, everything under `/data` and `/stringData` and the
 * last-applied annotation; for anything else, nothing. Secret values must never reach a plan,
 * a log line or an error message.
 */
export function maskFor(object: { readonly apiVersion?: unknown; readonly kind?: unknown }): MaskPredicate {
  if (object.kind !== 'Secret' || object.apiVersion !== 'v1') return maskNothing;
  return (path) => {
    const [first, second, third] = splitPointer(path);
    if (first === 'data' || first === 'stringData') return true;
    return (
      first === 'metadata' && second === 'annotations' && (third === undefined || third === LAST_APPLIED)
    );
  };
}
