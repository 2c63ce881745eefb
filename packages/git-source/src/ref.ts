import semver from 'semver';

/**
 * What to follow in a repository: a branch, a tag, the highest tag matching a semver range, or a
 * pinned commit. Names may be short (`main`, `v1.2.0`) or full (`refs/heads/main`).
 */
export type GitRef =
  | {
      /** A branch name (`main`, `refs/heads/main`): each poll follows its newest commit. */
      readonly branch: string;
    }
  | {
      /** A tag name (`v1.2.0`, `refs/tags/v1.2.0`). */
      readonly tag: string;
    }
  | {
      /** A semver range (`^1.2.0`, `>=1.0.0 <2.0.0`): the highest matching tag is followed. */
      readonly semver: string;
    }
  | {
      /** A commit id (hex sha1): pinned, so the artifact never changes and the server is not asked. */
      readonly commit: string;
    };

/** One ref advertised by a server. */
export interface RemoteRef {
  /** Full name: `refs/heads/main`, `refs/tags/v1.0.0`. */
  readonly name: string;
  /** The object the ref points at (a tag object for annotated tags). */
  readonly oid: string;
  /** For annotated tags, the commit the tag object points at. */
  readonly peeled?: string | undefined;
}

/** A ref resolved against a server's advertisement. */
export interface ResolvedRef {
  /** The name used in the revision (`main`, `v1.2.0`, `refs/heads/x`), absent for a pinned commit. */
  readonly revisionName: string | undefined;
  /** The full ref name to fetch, absent for a pinned commit. */
  readonly fullName: string | undefined;
  /** The commit the ref resolves to. */
  readonly commit: string;
  /** The annotated tag object, when the ref is an annotated tag. */
  readonly tagObject?: string | undefined;
}

/** Returns the kind of a ref: `branch`, `tag`, `semver` or `commit`. */
export function refKind(ref: GitRef): 'branch' | 'tag' | 'semver' | 'commit' {
  if ('branch' in ref) return 'branch';
  if ('tag' in ref) return 'tag';
  if ('semver' in ref) return 'semver';
  return 'commit';
}

/** A short text for a ref, for descriptions and messages (`main`, `tag v1`, `semver >=1.0.0`). */
export function describeRef(ref: GitRef): string {
  if ('branch' in ref) return ref.branch;
  if ('tag' in ref) return `tag ${ref.tag}`;
  if ('semver' in ref) return `semver ${ref.semver}`;
  return `commit ${ref.commit}`;
}

/** The full name of a branch or tag given short or full. */
export function fullRefName(ref: GitRef): string | undefined {
  if ('branch' in ref) return ref.branch.startsWith('refs/') ? ref.branch : `refs/heads/${ref.branch}`;
  if ('tag' in ref) return ref.tag.startsWith('refs/') ? ref.tag : `refs/tags/${ref.tag}`;
  return undefined;
}

/** The prefix to ask the server for, so a poll transfers only the refs that matter. */
export function refPrefix(ref: GitRef): string | undefined {
  if ('semver' in ref) return 'refs/tags/';
  return fullRefName(ref);
}

/**
 * Resolves a ref against the refs a server advertised. Returns undefined when it does not exist
 * there (a deleted branch, a missing tag, no tag in the range). A pinned commit needs no server.
 */
export function resolveRef(ref: GitRef, remote: readonly RemoteRef[]): ResolvedRef | undefined {
  if ('commit' in ref)
    return { revisionName: undefined, fullName: undefined, commit: ref.commit.toLowerCase() };
  if ('semver' in ref) return resolveSemver(ref.semver, remote);
  const full = fullRefName(ref) as string;
  const found = remote.find((r) => r.name === full);
  if (!found) return undefined;
  const short = 'branch' in ref ? ref.branch : ref.tag;
  return {
    revisionName: short,
    fullName: full,
    commit: found.peeled ?? found.oid,
    tagObject: found.peeled ? found.oid : undefined,
  };
}

/** The highest tag that satisfies the range (tags like `v1.2.3` and `1.2.3` both count). */
function resolveSemver(range: string, remote: readonly RemoteRef[]): ResolvedRef | undefined {
  let best: { version: string; ref: RemoteRef; tag: string } | undefined;
  for (const r of remote) {
    if (!r.name.startsWith('refs/tags/') || r.name.endsWith('^{}')) continue;
    const tag = r.name.slice('refs/tags/'.length);
    const version = semver.valid(tag, { loose: false });
    if (!version || !semver.satisfies(version, range, { includePrerelease: false })) continue;
    if (!best || semver.gt(version, best.version)) best = { version, ref: r, tag };
  }
  if (!best) return undefined;
  return {
    revisionName: best.tag,
    fullName: best.ref.name,
    commit: best.ref.peeled ?? best.ref.oid,
    tagObject: best.ref.peeled ? best.ref.oid : undefined,
  };
}

/** Whether a semver range is valid. */
export function validRange(range: string): boolean {
  return semver.validRange(range) !== null;
}
