import semver from 'semver';

/**
 * Helm's version constraints (Masterminds semver) in npm semver's syntax: commas mean "and", a
 * leading `=` or `v` is dropped. An empty constraint is `*` (the newest stable version), as in Helm.
 */
export function toRange(constraint: string | undefined): string {
  const trimmed = (constraint ?? '').trim();
  if (trimmed === '' || trimmed === 'latest') return '*';
  return trimmed
    .split('||')
    .map((part) => part.replace(/,/g, ' ').replace(/\s+/g, ' ').trim())
    .join(' || ');
}

/** Whether the constraint names one exact version (`1.2.3`, `v1.2.3`, `=1.2.3`). */
export function isExactVersion(constraint: string | undefined): boolean {
  const trimmed = (constraint ?? '').trim().replace(/^=/, '');
  return semver.valid(trimmed) !== null && !/[<>^~*xX| ]/.test(trimmed);
}

/** Whether a constraint can be read at all. */
export function isValidConstraint(constraint: string | undefined): boolean {
  return isExactVersion(constraint) || semver.validRange(toRange(constraint)) !== null;
}

/**
 * The newest of `versions` that satisfies the constraint, as written in the repository; an exact
 * version matches only itself (by semver equality, so `v1.2.3` finds `1.2.3`). Undefined when none does.
 */
export function selectVersion(
  versions: readonly string[],
  constraint: string | undefined,
): string | undefined {
  if (isExactVersion(constraint)) {
    const wanted = semver.valid((constraint ?? '').trim().replace(/^=/, ''));
    return versions.find((v) => semver.valid(v) === wanted) ?? versions.find((v) => v === constraint);
  }
  const range = toRange(constraint);
  let best: string | undefined;
  for (const version of versions) {
    if (!semver.valid(version) || !semver.satisfies(version, range)) continue;
    if (best === undefined || semver.gt(version, best)) best = version;
  }
  return best;
}
