import {
  DeleteObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { computeRevision } from '../../src/object-index.js';

/**
 * Writes to a real bucket for integration tests and the benchmark, and lists it independently of
 * S3Source, so expected revisions are computed without the code under test's listing.
 */
export class BucketWriter {
  readonly #client: S3Client;
  readonly bucket: string;

  constructor(client: S3Client, bucket: string) {
    this.#client = client;
    this.bucket = bucket;
  }

  async put(key: string, body: string, metadata?: Record<string, string>): Promise<void> {
    await this.#client.send(
      new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: body, Metadata: metadata }),
    );
  }

  async delete(key: string): Promise<void> {
    await this.#client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
  }

  /** Every current object: key, unquoted ETag, size, LastModified. */
  async list(): Promise<{ key: string; etag: string; size: number; lastModified: Date | undefined }[]> {
    const objects: { key: string; etag: string; size: number; lastModified: Date | undefined }[] = [];
    let token: string | undefined;
    do {
      const page = await this.#client.send(
        new ListObjectsV2Command({ Bucket: this.bucket, ContinuationToken: token }),
      );
      for (const o of page.Contents ?? []) {
        if (o.Key) {
          objects.push({
            key: o.Key,
            etag: (o.ETag ?? '').replace(/"/g, ''),
            size: o.Size ?? 0,
            lastModified: o.LastModified,
          });
        }
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return objects;
  }

  /** The revision of the current objects whose key passes `keep`. */
  async revision(keep: (key: string) => boolean = () => true): Promise<string> {
    return computeRevision((await this.list()).filter((o) => keep(o.key)));
  }
}
