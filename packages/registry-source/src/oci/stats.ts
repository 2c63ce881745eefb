/** Requests and body bytes of a registry client (`RegistryClient.stats()`). */
export interface RegistryStatsSnapshot {
  /** Every request sent (registry and token service, redirects and retries included). */
  readonly requests: number;
  /** Requests per operation: `manifest-head`, `manifest-get`, `blob`, `tags`, `token`. */
  readonly byOperation: Readonly<Record<string, number>>;
  /** Body bytes received (manifests, blobs, tag lists). */
  readonly bytes: number;
}

/** Counts what a client sends and receives, so a no-change poll can be shown to cost one request. */
export class RegistryStats {
  #requests = 0;
  #bytes = 0;
  #byOperation: Record<string, number> = {};

  /** Counts one request of `operation`. */
  request(operation: string): void {
    this.#requests++;
    this.#byOperation[operation] = (this.#byOperation[operation] ?? 0) + 1;
  }

  /** Counts received body bytes. */
  bytes(count: number): void {
    this.#bytes += count;
  }

  /** The counters now. */
  snapshot(): RegistryStatsSnapshot {
    return { requests: this.#requests, byOperation: { ...this.#byOperation }, bytes: this.#bytes };
  }

  /** Sets every counter to zero. */
  reset(): void {
    this.#requests = 0;
    this.#bytes = 0;
    this.#byOperation = {};
  }
}
