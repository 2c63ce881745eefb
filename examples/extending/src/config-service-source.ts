import {
  type Artifact,
  ArtifactStore,
  ErrorCodes,
  type FetchOptions,
  Redactor,
  redactCause,
  type Source,
  SourceError,
} from '@gitops-kit/core';

/**
 * A custom Source: desired state kept in a configuration service (anything that can hand out a
 * versioned set of files). The ArtifactStore does the disk work: an immutable folder per content
 * digest, unchanged files hard-linked from the previous artifact, and removal when the Reconciler
 * says an artifact is no longer read.
 */

/** One versioned snapshot of the service. */
export interface ConfigSnapshot {
  /** The service's version number or tag. */
  readonly version: string;
  /** File path (relative, `/`-separated) to content. */
  readonly files: Readonly<Record<string, string>>;
}

/** The client the source is given (I/O is injected: a test passes an in-memory one). */
export interface ConfigServiceClient {
  /** Where the service is, without credentials (for `description` and `meta.origin`). */
  readonly url: string;
  /** The current snapshot; rejects when the service cannot answer. */
  snapshot(signal: AbortSignal): Promise<ConfigSnapshot>;
}

/** Options of {@link ConfigServiceSource}. */
export interface ConfigServiceSourceOptions {
  /** The service client. */
  readonly client: ConfigServiceClient;
  /** Folder of the artifact store (one per source settings). */
  readonly artifactsDir: string;
}

/** A Source over a {@link ConfigServiceClient}: revision `v<version>@sha256:<digest>`. */
export class ConfigServiceSource implements Source {
  readonly description: string;
  readonly #client: ConfigServiceClient;
  readonly #store: ArtifactStore;

  /** @param options the client and the artifact folder. */
  constructor(options: ConfigServiceSourceOptions) {
    this.#client = options.client;
    this.#store = new ArtifactStore({ root: options.artifactsDir });
    this.description = `config-service ${options.client.url}`;
  }

  /** Fetches the current snapshot and writes it as an immutable artifact (reused when the content is the same). */
  async fetch({ signal, previous }: FetchOptions): Promise<Artifact> {
    signal.throwIfAborted();
    const snapshot = await this.#client.snapshot(signal).catch((error: unknown) => {
      if (signal.aborted) throw signal.reason;
      // Typed, and the client's error is copied through the redactor: no URL credentials in the cause.
      throw new SourceError(ErrorCodes.SourceFetchFailed, `${this.description}: the service did not answer`, {
        cause: redactCause(error, new Redactor([])),
      });
    });
    const files = Object.entries(snapshot.files).map(([path, content]) => ({ path, content }));
    // The store digests what it writes; the revision names the service's version and the digest.
    const record = await this.#store.write(files, {
      signal,
      revision: (digest) => `v${snapshot.version}@${digest}`,
    });
    // Crash leftovers and artifacts nobody was told about: keep the current one and the one a
    // running render may still read.
    await this.#store.collectGarbage({
      keep: 2,
      current: record.name,
      protect: [previous && nameOf(previous.dir)],
    });
    return {
      revision: record.revision,
      digest: record.digest,
      dir: this.#store.dirOf(record.name),
      meta: { origin: this.#client.url },
    };
  }

  /** The Reconciler will not read `artifact` again: its folder goes. */
  async release(artifact: Artifact): Promise<void> {
    await this.#store.remove(nameOf(artifact.dir));
  }
}

function nameOf(dir: string): string {
  return dir.slice(dir.lastIndexOf('/') + 1);
}
