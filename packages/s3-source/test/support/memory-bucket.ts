import { Readable } from 'node:stream';
import { SourceError } from '@gitops-kit/core';
import type {
  BucketClient,
  GetObjectOptions,
  HeadObjectOptions,
  HeadResult,
  ListedObject,
  ListedVersion,
  ObjectBody,
} from '@gitops-kit/s3-source';
import { S3ErrorCodes } from '@gitops-kit/s3-source';

/**
 * An in-memory, versioned bucket behind the BucketClient port, for unit tests of S3Source's logic
 * (index, revision, cache, consistency). It behaves like S3 where the source relies on it: listings
 * in key order and in pages, If-Match on reads, versions newest first, delete markers. Integration
 * tests run the same scenarios against a real server.
 */

interface Version {
  readonly versionId: string;
  readonly etag: string;
  readonly data: Buffer | undefined;
  readonly deleteMarker: boolean;
  readonly lastModified: Date;
  readonly metadata: Record<string, string>;
}

export class MemoryBucket implements BucketClient {
  readonly #versions = new Map<string, Version[]>();
  #time = Date.UTC(2026, 0, 1);
  #sequence = 0;
  /** Keys per listing page (S3 uses 1,000). */
  pageSize = 1000;
  readonly calls = { list: 0, listVersions: 0, get: 0, head: 0 };
  readonly gets: string[] = [];
  /** Bodies handed out and bodies closed (consumed to the end or destroyed). */
  bodiesOpened = 0;
  bodiesClosed = 0;
  /** Runs before a read is answered: tests change the bucket here to simulate concurrent writers. */
  beforeGet: ((key: string) => void) | undefined;

  /** Advances the bucket's clock and returns the new time. */
  tick(ms = 1000): Date {
    this.#time += ms;
    return new Date(this.#time);
  }

  now(): Date {
    return new Date(this.#time);
  }

  put(key: string, content: string | Buffer, metadata: Record<string, string> = {}): string {
    const data = typeof content === 'string' ? Buffer.from(content) : content;
    this.#sequence += 1;
    // Opaque ETags, deliberately not MD5s: a re-upload of the same bytes gets a new one.
    const etag = `etag-${this.#sequence}`;
    this.#push(key, {
      versionId: `v${this.#sequence}`,
      etag,
      data,
      deleteMarker: false,
      lastModified: this.tick(),
      metadata,
    });
    return etag;
  }

  delete(key: string): void {
    this.#sequence += 1;
    this.#push(key, {
      versionId: `v${this.#sequence}`,
      etag: '',
      data: undefined,
      deleteMarker: true,
      lastModified: this.tick(),
      metadata: {},
    });
  }

  #push(key: string, version: Version): void {
    const list = this.#versions.get(key) ?? [];
    list.push(version);
    this.#versions.set(key, list);
  }

  #current(key: string): Version | undefined {
    const latest = this.#versions.get(key)?.at(-1);
    return latest && !latest.deleteMarker ? latest : undefined;
  }

  #keys(prefix: string): string[] {
    return [...this.#versions.keys()].filter((k) => k.startsWith(prefix)).sort();
  }

  async *listObjects(prefix: string): AsyncIterable<readonly ListedObject[]> {
    const all: ListedObject[] = [];
    for (const key of this.#keys(prefix)) {
      const v = this.#current(key);
      if (v?.data) all.push({ key, etag: v.etag, size: v.data.length, lastModified: v.lastModified });
    }
    do {
      this.calls.list += 1;
      yield all.splice(0, this.pageSize);
    } while (all.length > 0);
  }

  async *listObjectVersions(prefix: string): AsyncIterable<readonly ListedVersion[]> {
    const all: ListedVersion[] = [];
    for (const key of this.#keys(prefix)) {
      for (const v of [...(this.#versions.get(key) ?? [])].reverse()) {
        all.push({
          key,
          versionId: v.versionId,
          lastModified: v.lastModified,
          deleteMarker: v.deleteMarker,
          etag: v.etag,
          size: v.data?.length ?? 0,
        });
      }
    }
    do {
      this.calls.listVersions += 1;
      yield all.splice(0, this.pageSize);
    } while (all.length > 0);
  }

  async getObject(options: GetObjectOptions): Promise<ObjectBody> {
    this.calls.get += 1;
    this.gets.push(options.key);
    this.beforeGet?.(options.key);
    const version = options.versionId
      ? this.#versions.get(options.key)?.find((v) => v.versionId === options.versionId)
      : this.#current(options.key);
    if (!version?.data || (options.ifMatch !== undefined && options.ifMatch !== version.etag)) {
      throw new SourceError(S3ErrorCodes.ObjectChanged, `object ${options.key} changed`);
    }
    this.bodiesOpened += 1;
    const body = Readable.from([version.data]);
    body.once('close', () => {
      this.bodiesClosed += 1;
    });
    return { body, etag: version.etag, metadata: version.metadata };
  }

  async headObject(options: HeadObjectOptions): Promise<HeadResult> {
    this.calls.head += 1;
    const version = this.#current(options.key);
    if (!version) return { status: 'missing' };
    if (options.ifNoneMatch === version.etag) return { status: 'unchanged' };
    return { status: 'found', etag: version.etag };
  }
}
