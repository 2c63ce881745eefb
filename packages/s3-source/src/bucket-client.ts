import type { Readable } from 'node:stream';

/**
 * The few bucket operations S3Source needs, as a port: `S3BucketClient` implements it over the AWS
 * SDK, and unit tests implement it in memory to exercise the index, revision, safety and cache logic.
 */

/** One object as a listing reports it. */
export interface ListedObject {
  /** The full key, prefix included. */
  readonly key: string;
  /** The ETag without surrounding quotes. Opaque: never assume it is an MD5. */
  readonly etag: string;
  readonly size: number;
  readonly lastModified?: Date | undefined;
  /** Set for entries built from a version listing. */
  readonly versionId?: string | undefined;
}

/** One entry of a version listing: an object version or a delete marker. */
export interface ListedVersion {
  readonly key: string;
  readonly versionId: string;
  readonly lastModified: Date;
  /** True for delete markers (they have no ETag or size). */
  readonly deleteMarker: boolean;
  readonly etag: string;
  readonly size: number;
}

/** Options for {@link BucketClient.getObject}. */
export interface GetObjectOptions {
  readonly key: string;
  /** Read this version (versioned buckets). */
  readonly versionId?: string | undefined;
  /** Only return the object if its ETag is still this one (unquoted). */
  readonly ifMatch?: string | undefined;
  readonly signal: AbortSignal;
}

/** A body to read: the caller must consume or destroy it. */
export interface ObjectBody {
  readonly body: Readable;
  /** The ETag the server sent (unquoted), when it sent one. */
  readonly etag?: string | undefined;
  /** User metadata (`x-amz-meta-*`), keys in lower case without the prefix. */
  readonly metadata: Readonly<Record<string, string>>;
}

/** Options for {@link BucketClient.headObject}. */
export interface HeadObjectOptions {
  readonly key: string;
  /** Answer `unchanged` if the object still has this ETag (unquoted). */
  readonly ifNoneMatch?: string | undefined;
  readonly signal: AbortSignal;
}

/** What a conditional HEAD found. */
export type HeadResult =
  | { readonly status: 'unchanged' }
  | { readonly status: 'found'; readonly etag: string }
  | { readonly status: 'missing' };

/** The bucket operations S3Source uses. Errors are `SourceError`s (see `S3ErrorCodes`). */
export interface BucketClient {
  /** Lists the current objects under `prefix`, page by page. */
  listObjects(prefix: string, signal: AbortSignal): AsyncIterable<readonly ListedObject[]>;
  /** Lists every version and delete marker under `prefix`, page by page. */
  listObjectVersions(prefix: string, signal: AbortSignal): AsyncIterable<readonly ListedVersion[]>;
  /**
   * Opens an object for reading. Throws a `SourceError` with code `SOURCE_S3_OBJECT_CHANGED` when the
   * object is gone or its ETag no longer matches `ifMatch`.
   */
  getObject(options: GetObjectOptions): Promise<ObjectBody>;
  /** A conditional HEAD (`If-None-Match`): one cheap request to learn whether an object changed. */
  headObject(options: HeadObjectOptions): Promise<HeadResult>;
}

/** Strips the quotes (and a weak marker) S3 puts around ETags; the value itself stays opaque. */
export function unquoteEtag(etag: string | undefined): string {
  if (!etag) return '';
  let value = etag.trim();
  if (value.startsWith('W/')) value = value.slice(2);
  if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
  return value;
}
