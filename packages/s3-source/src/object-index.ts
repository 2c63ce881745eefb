import { createHash } from 'node:crypto';
import type { ListedObject, ListedVersion } from './bucket-client.js';

/**
 * The object index: which objects make up an artifact, and the revision that names it. The revision
 * is `sha256:` over the sorted lines `"<key> <etag> <size>\n"` of the objects kept after the ignore
 * rules, as Flux's Bucket source hashes its index (Flux hashes key and ETag; we add the size, so an
 * object rewritten with the same ETag but a different length still changes the revision).
 */

/** One object of an artifact. */
export interface IndexEntry {
  /** The full key, prefix included (what the revision hashes). */
  readonly key: string;
  /** The path inside the artifact: the key without the prefix. */
  readonly path: string;
  /** Unquoted, opaque. */
  readonly etag: string;
  readonly size: number;
  /** ISO 8601, when the listing gave it. */
  readonly lastModified?: string | undefined;
  /** The version to read, for point-in-time artifacts. */
  readonly versionId?: string | undefined;
}

/**
 * Sorts items by a string in UTF-8 byte order, as Go's `sort.Strings` does (so the order never
 * depends on JS's UTF-16 comparison), encoding each string once rather than once per comparison.
 */
function sortByUtf8<T>(items: readonly T[], text: (item: T) => string): T[] {
  return items
    .map((item) => ({ item, bytes: Buffer.from(text(item), 'utf8') }))
    .sort((a, b) => Buffer.compare(a.bytes, b.bytes))
    .map(({ item }) => item);
}

/** Sorts entries by key (UTF-8 byte order). Returns a new array. */
export function sortEntries<T extends { readonly key: string }>(entries: readonly T[]): T[] {
  return sortByUtf8(entries, (entry) => entry.key);
}

/** `sha256:<hex>` over the sorted `"<key> <etag> <size>\n"` lines of the entries. */
export function computeRevision(entries: readonly Pick<IndexEntry, 'key' | 'etag' | 'size'>[]): string {
  const hash = createHash('sha256');
  for (const entry of sortEntries(entries)) hash.update(`${entry.key} ${entry.etag} ${entry.size}\n`);
  return `sha256:${hash.digest('hex')}`;
}

/**
 * `sha256:<hex>` over the sorted `"<path> <content sha256>\n"` lines: a digest of the artifact's
 * files. Two revisions with the same files (an object uploaded again, new ETag, same bytes) share it.
 */
export function computeContentDigest(
  files: readonly { readonly path: string; readonly sha256: string }[],
): string {
  const hash = createHash('sha256');
  for (const file of sortByUtf8(files, (f) => f.path)) hash.update(`${file.path} ${file.sha256}\n`);
  return `sha256:${hash.digest('hex')}`;
}

/** The identity of an object's content for the cache: the same key, ETag and size hold the same bytes. */
export function contentKey(entry: Pick<IndexEntry, 'key' | 'etag' | 'size'>): string {
  return `${entry.key}\u0000${entry.etag}\u0000${entry.size}`;
}

/**
 * From a version listing, the objects that were current at `at`: for every key, the newest version
 * or delete marker whose LastModified is not after `at`; keys whose pick is a delete marker, or that
 * had no version yet, are absent. Among entries with the same LastModified, the listing's order
 * (newest first, as S3 lists versions of a key) decides, versions before delete markers.
 */
export function selectVersionsAt(versions: readonly ListedVersion[], at: Date): ListedObject[] {
  const limit = at.getTime();
  const byKey = new Map<string, { version: ListedVersion; order: number }>();
  versions.forEach((version, order) => {
    const time = version.lastModified.getTime();
    if (time > limit) return;
    const best = byKey.get(version.key);
    if (!best) {
      byKey.set(version.key, { version, order });
      return;
    }
    const bestTime = best.version.lastModified.getTime();
    // Newer wins; on a tie the earlier listed (S3 lists newest first) wins.
    if (time > bestTime) byKey.set(version.key, { version, order });
  });
  const result: ListedObject[] = [];
  for (const { version } of byKey.values()) {
    if (version.deleteMarker) continue;
    result.push({
      key: version.key,
      etag: version.etag,
      size: version.size,
      lastModified: version.lastModified,
      versionId: version.versionId,
    });
  }
  return sortEntries(result);
}
