import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { PassThrough, pipeline, Readable } from 'node:stream';
import type { GetObjectCommandOutput, S3Client, S3ClientConfig } from '@aws-sdk/client-s3';
import { Redactor, redactCause, SourceError } from '@gitops-kit/core';
import type { FinalizeRequestMiddleware, MiddlewareStack } from '@smithy/types';
import {
  type BucketClient,
  type GetObjectOptions,
  type HeadObjectOptions,
  type HeadResult,
  type ListedObject,
  type ListedVersion,
  type ObjectBody,
  unquoteEtag,
} from './bucket-client.js';
import { type ErrorContext, S3ErrorCodes, toSourceError } from './errors.js';
import type { RequestCounter } from './request-stats.js';
import { httpHandlerSdk, s3Sdk } from './sdk.js';

/** Static credentials. Omit them to use the SDK's default chain (environment, profile, IMDS, ...). */
export interface S3Credentials {
  /** The access key id (`AKIA…` on AWS, the user name on MinIO); kept out of messages and events. */
  readonly accessKeyId: string;
  /** The secret access key that signs requests; kept out of messages and events. */
  readonly secretAccessKey: string;
  /** The session token of temporary credentials (AWS STS), when they are temporary. */
  readonly sessionToken?: string | undefined;
}

/** How to reach the bucket. */
export interface S3ConnectionOptions {
  /** `https://minio.example:9000`; omit for AWS S3 (the region's endpoint). */
  readonly endpoint?: string | undefined;
  /** Default `us-east-1` (what most S3-compatible servers expect). */
  readonly region?: string | undefined;
  /** The bucket's name (not a URL). */
  readonly bucket: string;
  /** Path-style addressing (`endpoint/bucket/key`). Default: true when `endpoint` is set, else false. */
  readonly forcePathStyle?: boolean | undefined;
  /** Static credentials; omitted means the SDK's default provider chain. */
  readonly credentials?: S3Credentials | undefined;
  /** PEM certificate(s) of a private CA to trust for an `https` endpoint. */
  readonly ca?: string | Buffer | readonly (string | Buffer)[] | undefined;
  /** Attempts per request, retries included (SDK default 3). */
  readonly maxAttempts?: number | undefined;
  /** Milliseconds to establish a connection (default 5000). */
  readonly connectionTimeoutMs?: number | undefined;
  /**
   * Milliseconds a request may wait for the response to start, and a response body may stay
   * silent (default 60000). Enforced by gitops-kit itself: the request is aborted and the fetch
   * fails with `SOURCE_S3_TIMEOUT`.
   */
  readonly requestTimeoutMs?: number | undefined;
  /** Sockets kept per host (default 32). */
  readonly maxSockets?: number | undefined;
}

/**
 * Creates an S3 client for AWS or any S3-compatible server. Checksums are computed and validated
 * only when an operation requires them: servers such as MinIO, Ceph or R2 reject or mangle the
 * CRC headers newer SDKs send by default.
 */
export function createS3Client(options: S3ConnectionOptions): S3Client {
  const maxSockets = options.maxSockets ?? 32;
  const ca: string | Buffer | (string | Buffer)[] | undefined =
    options.ca === undefined || typeof options.ca === 'string' || Buffer.isBuffer(options.ca)
      ? options.ca
      : [...options.ca];
  const requestHandler = new (httpHandlerSdk().NodeHttpHandler)({
    httpAgent: new HttpAgent({ keepAlive: true, maxSockets }),
    httpsAgent: new HttpsAgent({ keepAlive: true, maxSockets, ...(ca === undefined ? {} : { ca }) }),
    connectionTimeout: options.connectionTimeoutMs ?? 5000,
    requestTimeout: options.requestTimeoutMs ?? 60_000,
  });
  const config: S3ClientConfig = {
    region: options.region ?? 'us-east-1',
    forcePathStyle: options.forcePathStyle ?? options.endpoint !== undefined,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    requestHandler,
  };
  if (options.endpoint !== undefined) config.endpoint = options.endpoint;
  if (options.maxAttempts !== undefined) config.maxAttempts = options.maxAttempts;
  if (options.credentials) {
    config.credentials = {
      accessKeyId: options.credentials.accessKeyId,
      secretAccessKey: options.credentials.secretAccessKey,
      ...(options.credentials.sessionToken ? { sessionToken: options.credentials.sessionToken } : {}),
    };
  }
  return new (s3Sdk().S3Client)(config);
}

/** An endpoint as people may see it: no user info, no query. */
export function displayEndpoint(endpoint: string | undefined, region: string | undefined): string {
  if (endpoint === undefined) return `s3.${region ?? 'us-east-1'}.amazonaws.com`;
  try {
    const url = new URL(endpoint);
    url.username = '';
    url.password = '';
    url.search = '';
    return url.toString().replace(/\/$/, '');
  } catch {
    return '(invalid endpoint)';
  }
}

/**
 * Counts every HTTP attempt of one command. It sits right after the retry middleware, so each retry
 * is counted: the counters say what the server saw.
 */
function countRequests<I extends object, O extends object>(
  command: { middlewareStack: MiddlewareStack<I, O> },
  operation: string,
  counter: RequestCounter | undefined,
): void {
  if (!counter) return;
  const middleware: FinalizeRequestMiddleware<I, O> = (next) => async (args) => {
    counter.request(operation);
    return next(args);
  };
  command.middlewareStack.addRelativeTo(middleware, {
    relation: 'after',
    toMiddleware: 'retryMiddleware',
    name: 'gitopsKitRequestCounter',
  });
}

/** Options for {@link S3BucketClient}. */
export interface S3BucketClientOptions {
  readonly client: S3Client;
  readonly bucket: string;
  /** For messages only. */
  readonly endpoint: string;
  /** Values to scrub from messages. */
  readonly secrets?: readonly string[];
  readonly counter?: RequestCounter | undefined;
  /** See {@link S3ConnectionOptions.requestTimeoutMs} (default 60000). */
  readonly requestTimeoutMs?: number | undefined;
}

/**
 * A signal that fires when `signal` does or after `ms`, and a function that stops the clock (call
 * it once the response has started). Our own timer, because the SDK's `requestTimeout` only logs.
 */
function deadline(
  signal: AbortSignal,
  ms: number,
): { signal: AbortSignal; timedOut: () => boolean; stop: () => void } {
  const controller = new AbortController();
  let fired = false;
  const onAbort = (): void => controller.abort(signal.reason);
  if (signal.aborted) onAbort();
  else signal.addEventListener('abort', onAbort, { once: true });
  const timer = setTimeout(() => {
    fired = true;
    controller.abort(new Error(`no answer within ${ms} ms`));
  }, ms);
  timer.unref?.();
  return {
    signal: controller.signal,
    timedOut: () => fired,
    stop: () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
    },
  };
}

function statusOf(error: unknown): number | undefined {
  if (!error || typeof error !== 'object') return undefined;
  const metadata = (error as { $metadata?: { httpStatusCode?: unknown } }).$metadata;
  return typeof metadata?.httpStatusCode === 'number' ? metadata.httpStatusCode : undefined;
}

function nameOf(error: unknown): string {
  return error instanceof Error ? error.name : '';
}

/** {@link BucketClient} over the AWS SDK v3. */
export class S3BucketClient implements BucketClient {
  readonly #client: S3Client;
  readonly #bucket: string;
  readonly #endpoint: string;
  readonly #secrets: readonly string[];
  readonly #counter: RequestCounter | undefined;
  readonly #timeoutMs: number;
  readonly #redactor: Redactor;

  /** Wraps `options.client` for `options.bucket`. */
  constructor(options: S3BucketClientOptions) {
    this.#client = options.client;
    this.#bucket = options.bucket;
    this.#endpoint = options.endpoint;
    this.#secrets = options.secrets ?? [];
    this.#counter = options.counter;
    this.#timeoutMs = options.requestTimeoutMs ?? 60_000;
    this.#redactor = new Redactor(this.#secrets);
  }

  /** Sends a command bounded by the caller's signal and by the request timeout. */
  async #send<T>(
    send: (abortSignal: AbortSignal) => Promise<T>,
    signal: AbortSignal,
    action: string,
  ): Promise<T> {
    const bound = deadline(signal, this.#timeoutMs);
    try {
      return await send(bound.signal);
    } catch (error) {
      if (bound.timedOut() && !signal.aborted) throw this.#timeout(action);
      throw error;
    } finally {
      bound.stop();
    }
  }

  #timeout(action: string): SourceError {
    return new SourceError(
      S3ErrorCodes.Timeout,
      `S3 endpoint ${this.#endpoint}, bucket "${this.#bucket}" did not answer within ${this.#timeoutMs} ms while ${action} (requestTimeoutMs)`,
    );
  }

  /**
   * The body, destroyed with a `SOURCE_S3_TIMEOUT` error when no byte arrives for the request
   * timeout: a server that sends headers and then stalls must not hold the pass either.
   */
  #guardBody(body: Readable, action: string): Readable {
    const guarded = new PassThrough();
    let timer: NodeJS.Timeout | undefined;
    const arm = (): void => {
      clearTimeout(timer);
      timer = setTimeout(() => guarded.destroy(this.#timeout(action)), this.#timeoutMs);
      timer.unref?.();
    };
    body.on('data', arm);
    arm();
    pipeline(body, guarded, () => clearTimeout(timer));
    return guarded;
  }

  #context(action: string): ErrorContext {
    return { endpoint: this.#endpoint, bucket: this.#bucket, action, secrets: this.#secrets };
  }

  /** Rethrows an abort as the signal's reason, anything else as a `SourceError`. */
  #fail(error: unknown, signal: AbortSignal, action: string): never {
    if (signal.aborted) {
      if (signal.reason instanceof Error) throw signal.reason;
      throw new SourceError(S3ErrorCodes.Aborted, `${action} aborted`, {
        cause: redactCause(error, this.#redactor),
      });
    }
    throw toSourceError(error, this.#context(action));
  }

  /** `#send`, with every failure turned into the error the caller sees (see `#fail`). */
  async #sendOrFail<T>(
    send: (abortSignal: AbortSignal) => Promise<T>,
    signal: AbortSignal,
    action: string,
  ): Promise<T> {
    try {
      return await this.#send(send, signal, action);
    } catch (error) {
      this.#fail(error, signal, action);
    }
  }

  /** Lists current objects with ListObjectsV2, 1,000 keys per request. */
  async *listObjects(prefix: string, signal: AbortSignal): AsyncIterable<readonly ListedObject[]> {
    let token: string | undefined;
    do {
      const command = new (s3Sdk().ListObjectsV2Command)({
        Bucket: this.#bucket,
        Prefix: prefix || undefined,
        ContinuationToken: token,
      });
      countRequests(command, 'ListObjectsV2', this.#counter);
      const page = await this.#sendOrFail(
        (abortSignal) => this.#client.send(command, { abortSignal }),
        signal,
        'listing objects',
      );
      const objects: ListedObject[] = [];
      for (const item of page.Contents ?? []) {
        if (item.Key === undefined) continue;
        objects.push({
          key: item.Key,
          etag: unquoteEtag(item.ETag),
          size: item.Size ?? 0,
          lastModified: item.LastModified,
        });
      }
      yield objects;
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  /**
   * Lists versions and delete markers with ListObjectVersions. The SDK has no paginator for it, so
   * this loops over the key and version markers itself. Entries come sorted by key, newest first.
   */
  async *listObjectVersions(prefix: string, signal: AbortSignal): AsyncIterable<readonly ListedVersion[]> {
    let keyMarker: string | undefined;
    let versionMarker: string | undefined;
    for (;;) {
      const command = new (s3Sdk().ListObjectVersionsCommand)({
        Bucket: this.#bucket,
        Prefix: prefix || undefined,
        KeyMarker: keyMarker,
        VersionIdMarker: versionMarker,
      });
      countRequests(command, 'ListObjectVersions', this.#counter);
      const page = await this.#sendOrFail(
        (abortSignal) => this.#client.send(command, { abortSignal }),
        signal,
        'listing object versions',
      );
      const entries: ListedVersion[] = [];
      for (const v of page.Versions ?? []) {
        if (v.Key === undefined || !v.LastModified) continue;
        entries.push({
          key: v.Key,
          versionId: v.VersionId ?? 'null',
          lastModified: v.LastModified,
          deleteMarker: false,
          etag: unquoteEtag(v.ETag),
          size: v.Size ?? 0,
        });
      }
      for (const m of page.DeleteMarkers ?? []) {
        if (m.Key === undefined || !m.LastModified) continue;
        entries.push({
          key: m.Key,
          versionId: m.VersionId ?? 'null',
          lastModified: m.LastModified,
          deleteMarker: true,
          etag: '',
          size: 0,
        });
      }
      // The SDK splits versions from delete markers; put them back in S3's order (key, newest first).
      entries.sort((a, b) =>
        a.key === b.key ? b.lastModified.getTime() - a.lastModified.getTime() : a.key < b.key ? -1 : 1,
      );
      yield entries;
      if (!page.IsTruncated) return;
      keyMarker = page.NextKeyMarker;
      versionMarker = page.NextVersionIdMarker;
      if (keyMarker === undefined) return;
    }
  }

  /** Opens an object; a failed `If-Match` or a missing key or version is `SOURCE_S3_OBJECT_CHANGED`. */
  async getObject(options: GetObjectOptions): Promise<ObjectBody> {
    const command = new (s3Sdk().GetObjectCommand)({
      Bucket: this.#bucket,
      Key: options.key,
      VersionId: options.versionId,
      IfMatch: options.ifMatch ? `"${options.ifMatch}"` : undefined,
    });
    countRequests(command, 'GetObject', this.#counter);
    const action = `reading ${JSON.stringify(options.key)}`;
    let response: GetObjectCommandOutput;
    try {
      response = await this.#send(
        (abortSignal) => this.#client.send(command, { abortSignal }),
        options.signal,
        action,
      );
    } catch (error) {
      const status = statusOf(error);
      const name = nameOf(error);
      if (!options.signal.aborted && (status === 412 || name === 'NoSuchKey' || name === 'NoSuchVersion')) {
        throw new SourceError(
          S3ErrorCodes.ObjectChanged,
          `object ${JSON.stringify(options.key)} changed or vanished since it was listed`,
          { cause: redactCause(error, this.#redactor) },
        );
      }
      this.#fail(error, options.signal, action);
    }
    const body = response.Body;
    if (!(body instanceof Readable)) {
      throw new SourceError(
        S3ErrorCodes.ObjectChanged,
        `object ${JSON.stringify(options.key)} has no readable body`,
      );
    }
    const metadata: Record<string, string> = {};
    for (const [key, value] of Object.entries(response.Metadata ?? {})) metadata[key.toLowerCase()] = value;
    return {
      body: this.#guardBody(body, action),
      etag: response.ETag === undefined ? undefined : unquoteEtag(response.ETag),
      metadata,
    };
  }

  /** HEAD with `If-None-Match`: a 304 is `unchanged`, a 404 `missing`. */
  async headObject(options: HeadObjectOptions): Promise<HeadResult> {
    const command = new (s3Sdk().HeadObjectCommand)({
      Bucket: this.#bucket,
      Key: options.key,
      IfNoneMatch: options.ifNoneMatch ? `"${options.ifNoneMatch}"` : undefined,
    });
    countRequests(command, 'HeadObject', this.#counter);
    try {
      const response = await this.#send(
        (abortSignal) => this.#client.send(command, { abortSignal }),
        options.signal,
        `checking ${JSON.stringify(options.key)}`,
      );
      return { status: 'found', etag: unquoteEtag(response.ETag) };
    } catch (error) {
      const status = statusOf(error);
      if (!options.signal.aborted && (status === 304 || nameOf(error) === 'NotModified')) {
        return { status: 'unchanged' };
      }
      if (!options.signal.aborted && (status === 404 || nameOf(error) === 'NotFound'))
        return { status: 'missing' };
      this.#fail(error, options.signal, `checking ${JSON.stringify(options.key)}`);
    }
  }
}
