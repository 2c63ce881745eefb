import semver from 'semver';
import { RegistryError, RegistryErrorCodes } from '../errors.js';
import { isDigest } from '../oci/digest.js';

/**
 * What an {@link OCISource} follows, as Flux's `OCIRepository.spec.ref`: a tag (default `latest`),
 * the highest tag in a semver range, or a pinned manifest digest.
 */
export type OCIRef =
  | {
      /** A tag: each poll asks the registry which manifest it points at now. */
      readonly tag: string;
    }
  | {
      /** A semver range (`^1.2.0`, `>=1.0.0 <2.0.0`): the highest matching tag is followed. */
      readonly semver: string;
    }
  | {
      /** A manifest digest (`sha256:<hex>`): pinned, so a poll asks nothing once it is on disk. */
      readonly digest: string;
    };

/** A short text for a ref, for descriptions and messages (`tag v1`, `semver ^1.0.0`). */
export function describeOciRef(ref: OCIRef): string {
  if ('tag' in ref) return `tag ${ref.tag}`;
  if ('semver' in ref) return `semver ${ref.semver}`;
  return `digest ${ref.digest}`;
}

/** Refuses a ref that cannot work, before anything is contacted. */
export function checkOciRef(ref: OCIRef, reference: string): void {
  if ('semver' in ref && semver.validRange(ref.semver) === null) {
    throw new RegistryError(
      RegistryErrorCodes.InvalidReference,
      `${reference}: ${JSON.stringify(ref.semver)} is not a semver range`,
      { reference },
    );
  }
  if ('digest' in ref && !isDigest(ref.digest)) {
    throw new RegistryError(
      RegistryErrorCodes.InvalidReference,
      `${reference}: ${JSON.stringify(ref.digest)} is not a digest (sha256:<hex>)`,
      { reference },
    );
  }
}

/**
 * The highest tag that satisfies `range` (`v1.2.3` and `1.2.3` both count, pre-releases only when
 * the range names one), or undefined when none does. Ties between `v1.0.0` and `1.0.0` go to the
 * first in the list.
 */
export function highestTag(tags: readonly string[], range: string): string | undefined {
  let best: { tag: string; version: string } | undefined;
  for (const tag of tags) {
    const version = semver.valid(tag);
    if (!version || !semver.satisfies(version, range)) continue;
    if (!best || semver.gt(version, best.version)) best = { tag, version };
  }
  return best?.tag;
}
