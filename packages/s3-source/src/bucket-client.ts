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
  /** The object's size in bytes. */
  readonly size: number;
  /** When the object was last written, when the server says. */
  readonly lastModified?: Date | undefined;
  /** Set for entries built from a version listing. */
  readonly versionId?: string | undefined;
}

/** One entry of a version listing: an object version or a delete marker. */
export interface ListedVersion {
  /** The full key, prefix included. */
  readonly key: string;
  /** The version's id, as the bucket assigned it (`null` for objects written before versioning). */
  readonly versionId: string;
  /** When this version was written (or the delete marker placed). */
  readonly lastModified: Date;
  /** True for delete markers (they have no ETag or size). */
  readonly deleteMarker: boolean;
  /** The version's ETag without quotes; empty for delete markers. */
  readonly etag: string;
  /** The version's size in bytes; 0 for delete markers. */
  readonly size: number;
}

/** Options for {@link BucketClient.getObject}. */
export interface GetObjectOptions {
  /** The full key of the object. */
  readonly key: string;
  /** Read this version (versioned buckets). */
  readonly versionId?: string | undefined;
  /** Only return the object if its ETag is still this one (unquoted). */
  readonly ifMatch?: string | undefined;
  /** Aborts the request and the body's download. */
  readonly signal: AbortSignal;
}

/** A body to read: the caller must consume or destroy it. */
export interface ObjectBody {
  /** The object's bytes as a stream. */
  readonly body: Readable;
  /** The ETag the server sent (unquoted), when it sent one. */
  readonly etag?: string | undefined;
  /** User metadata (`x-amz-meta-*`), keys in lower case without the prefix. */
  readonly metadata: Readonly<Record<string, string>>;
}

/** Options for {@link BucketClient.headObject}. */
export interface HeadObjectOptions {
  /** The full key of the object. */
  readonly key: string;
  /** Answer `unchanged` if the object still has this ETag (unquoted). */
  readonly ifNoneMatch?: string | undefined;
  /** Aborts the request. */
  readonly signal: AbortSignal;
}

/** What a conditional HEAD found. */
export type HeadResult =
  | {
      /** The object still has the ETag given as `ifNoneMatch` (HTTP 304). */
      readonly status: 'unchanged';
    }
  | {
      /** The object exists (with another ETag, or none was given). */
      readonly status: 'found';
      /** Its current ETag, unquoted. */
      readonly etag: string;
    }
  | {
      /** There is no object at the key (HTTP 404). */
      readonly status: 'missing';
    };

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
