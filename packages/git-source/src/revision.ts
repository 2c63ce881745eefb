/**
 * Revisions as Flux writes them: `main@sha1:<hash>` for a branch, `v1.2.0@sha1:<hash>` for a tag
 * (also when a semver range chose it), and `sha1:<hash>` for a pinned commit. A full ref name keeps
 * its prefix (`refs/heads/x@sha1:<hash>`).
 */

/** Formats a revision from a ref name (absent for a pinned commit) and a commit hash. */
export function formatRevision(name: string | undefined, commit: string): string {
  return name ? `${name}@sha1:${commit}` : `sha1:${commit}`;
}

/** The commit hash of a revision written by {@link formatRevision}, or undefined if it is not one. */
export function commitOfRevision(revision: string): string | undefined {
  const match = /(?:^|@)sha1:([0-9a-f]{40})$/.exec(revision);
  return match?.[1];
}
