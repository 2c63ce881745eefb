import { ErrorCodes, formatLocation, RenderError } from '../errors.js';
import { formatRef, refKey, refOf } from '../refs.js';
import type { Manifest } from '../types.js';

/**
 * Throws a {@link RenderError} when the same object (group, kind, namespace, name) appears twice,
 * naming both places: applying either one silently would lose the other. The version is not part of
 * the identity, so `apps/v1` and `apps/v1beta1` of one Deployment are duplicates too.
 */
export function assertNoDuplicates(manifests: readonly Manifest[]): void {
  const seen = new Map<string, Manifest>();
  for (const manifest of manifests) {
    // A hook named by the server (`generateName`) is a new object on every run: never a duplicate.
    if (typeof manifest.object.metadata?.name !== 'string') continue;
    const ref = refOf(manifest.object);
    const key = refKey(ref);
    const first = seen.get(key);
    if (!first) {
      seen.set(key, manifest);
      continue;
    }
    const firstPlace = formatLocation({ ...first.origin });
    throw new RenderError(
      ErrorCodes.RenderDuplicateObject,
      `duplicate object, first defined at ${firstPlace}`,
      {
        location: { ...manifest.origin, object: formatRef(ref) },
      },
    );
  }
}
