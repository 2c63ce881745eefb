import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { chmod } from 'node:fs/promises';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { SourceError } from '@gitops-kit/core';
import type { BucketClient, ObjectBody } from './bucket-client.js';
import { S3ErrorCodes } from './errors.js';
import type { IndexEntry } from './object-index.js';

/** What a download produced. */
export interface Downloaded {
  /** Hex sha256 of the bytes written. */
  readonly sha256: string;
  /** User metadata of the object. */
  readonly metadata: Readonly<Record<string, string>>;
}

/** Options for {@link downloadObject}. */
export interface DownloadOptions {
  readonly client: BucketClient;
  readonly entry: IndexEntry;
  /** Where to write the bytes (the file is created, then made read-only). */
  readonly file: string;
  readonly signal: AbortSignal;
  /** Called with every chunk's length, for the byte counter. */
  readonly onBytes?: ((count: number) => void) | undefined;
}

/**
 * Opens the object a listing named, and only that one: a version is immutable, so it is read by
 * its id; a current object is only accepted while it still has the listed ETag (`If-Match`).
 */
export function openListedObject(
  client: BucketClient,
  entry: IndexEntry,
  signal: AbortSignal,
): Promise<ObjectBody> {
  return client.getObject({
    key: entry.key,
    versionId: entry.versionId,
    ifMatch: entry.versionId === undefined ? entry.etag : undefined,
    signal,
  });
}

function changed(entry: IndexEntry, why: string): SourceError {
  return new SourceError(S3ErrorCodes.ObjectChanged, `object ${JSON.stringify(entry.key)} ${why}`);
}

/**
 * Downloads one listed object to `file` and proves it is the object that was listed: the request
 * carries `If-Match` with the listed ETag (or names the listed version), the ETag of the response
 * must match, and the byte count must equal the listed size. Anything else means the object moved
 * since the listing: a `SOURCE_S3_OBJECT_CHANGED` error, upon which the caller lists again.
 * The body is always consumed or destroyed, so no socket leaks.
 */
export async function downloadObject(options: DownloadOptions): Promise<Downloaded> {
  const { entry, signal } = options;
  const response = await openListedObject(options.client, entry, signal);
  const { body } = response;
  if (response.etag !== undefined && response.etag !== entry.etag) {
    body.destroy();
    throw changed(entry, 'has a different ETag than when it was listed');
  }
  const hash = createHash('sha256');
  let count = 0;
  const meter = new Transform({
    transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
      count += chunk.length;
      options.onBytes?.(chunk.length);
      if (count > entry.size) {
        callback(changed(entry, `is larger than the ${entry.size} bytes listed`));
        return;
      }
      hash.update(chunk);
      callback(null, chunk);
    },
  });
  // pipeline destroys every stream (the body included) when any of them fails or the signal aborts.
  await pipeline(body, meter, createWriteStream(options.file, { mode: 0o644 }), { signal });
  if (count !== entry.size) throw changed(entry, `has ${count} bytes, ${entry.size} were listed`);
  await chmod(options.file, 0o444);
  return { sha256: hash.digest('hex'), metadata: response.metadata };
}

/**
 * Runs `task` over `items` with at most `concurrency` at a time. On the first failure the shared
 * signal aborts the rest, unless `keepGoing(error)` says the others are still worth finishing (an
 * object that moved does not spoil the downloads of the others: the next attempt reuses them). Every
 * started task is awaited before the first error is thrown, so no download is left running (or
 * holding a body) behind the caller's back.
 */
export async function runPool<T>(
  items: readonly T[],
  concurrency: number,
  signal: AbortSignal,
  task: (item: T, signal: AbortSignal) => Promise<void>,
  keepGoing: (error: unknown) => boolean = () => false,
): Promise<void> {
  const controller = new AbortController();
  const onAbort = (): void => controller.abort(signal.reason);
  if (signal.aborted) onAbort();
  else signal.addEventListener('abort', onAbort, { once: true });
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (!controller.signal.aborted && next < items.length) {
      const item = items[next++] as T;
      try {
        await task(item, controller.signal);
      } catch (error) {
        if (!failure) failure = { error };
        if (!keepGoing(error)) controller.abort(error);
      }
    }
  };
  try {
    const workers = Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, worker);
    await Promise.all(workers);
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
  if (signal.aborted) throw signal.reason instanceof Error ? signal.reason : new Error(String(signal.reason));
  if (failure) throw failure.error;
}
