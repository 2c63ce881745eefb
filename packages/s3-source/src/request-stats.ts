/** Counts what S3Source asks of the server, so tests and benchmarks can state what a poll costs. */

/** A snapshot of the counters. */
export interface RequestStats {
  /** HTTP requests sent, retries included. */
  readonly requests: number;
  /** Requests per S3 operation (`ListObjectsV2`, `GetObject`, `ListObjectVersions`). */
  readonly byOperation: Readonly<Record<string, number>>;
  /** Bytes of object bodies read. */
  readonly bytesDownloaded: number;
}

/** Mutable counters behind {@link RequestStats}. */
export class RequestCounter {
  #requests = 0;
  #byOperation: Record<string, number> = {};
  #bytes = 0;

  /** Records one HTTP request for `operation`. */
  request(operation: string): void {
    this.#requests += 1;
    this.#byOperation[operation] = (this.#byOperation[operation] ?? 0) + 1;
  }

  /** Records `count` bytes of object bodies. */
  bytes(count: number): void {
    this.#bytes += count;
  }

  /** The counters now. */
  snapshot(): RequestStats {
    return { requests: this.#requests, byOperation: { ...this.#byOperation }, bytesDownloaded: this.#bytes };
  }

  /** Sets every counter back to zero. */
  reset(): void {
    this.#requests = 0;
    this.#byOperation = {};
    this.#bytes = 0;
  }
}
