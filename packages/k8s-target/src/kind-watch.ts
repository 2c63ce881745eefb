import { type KubeObject, OWNER_LABEL, sleep } from '@gitops-kit/core';
import type { TargetContext } from './context.js';
import { type ResourceInfo, resourcePath } from './discovery.js';
import type { WatchEvent, WatchStream } from './watch-stream.js';

/**
 * One watch of one resource, for the objects carrying our owner label: a labeled list for a
 * starting resourceVersion, then a watch from it with bookmarks (so a reconnect resumes where the
 * last event or bookmark left off), reconnected with exponential backoff when it breaks, and
 * listed again when the server says the resourceVersion is too old (`410 Gone`).
 */

/** What a kind watch reports. */
export interface KindWatchListener {
  /** An object of the resource was added, modified or deleted. */
  event(type: 'ADDED' | 'MODIFIED' | 'DELETED', object: KubeObject): void;
  /**
   * A list gave every object of the resource (`initial` for the first one, when nothing was missed
   * yet); later lists follow a `410 Gone` and may reveal changes the watch missed.
   */
  listed(items: readonly KubeObject[], initial: boolean): void;
  /**
   * A watch across namespaces was refused (403): it stops, and the caller may watch namespace by
   * namespace instead, as the plan lists then.
   */
  forbidden?(): void;
}

/** Request counts of the watches, for figures and tests (the lists also count on the client). */
export interface WatchCounters {
  /** Watch requests opened (each stays open up to its `timeoutSeconds`). */
  watches: number;
  /** Lists made to start or restart a watch. */
  lists: number;
  /** Lists made again after `410 Gone`. */
  relists: number;
}

/** Backoff between failed watch attempts: 250 ms doubling to 30 s. */
const BACKOFF_MS = { first: 250, max: 30_000 } as const;
/** A stream open at least this long counted as healthy even with no event in it. */
const HEALTHY_STREAM_MS = 10_000;
/** How long one watch request stays open before the server ends it (and it is opened again). */
const WATCH_SECONDS = '300';
const PAGE = '500';

/** An ERROR event of a watch stream: its `Status` code, reason and message. */
class WatchFailure extends Error {
  constructor(
    readonly statusCode: number | undefined,
    readonly reason: string | undefined,
    message: string,
  ) {
    super(message);
  }
}

function watchFailure(status: unknown): WatchFailure {
  const { code, reason, message, details } = (status ?? {}) as {
    code?: unknown;
    reason?: unknown;
    message?: unknown;
    details?: { causes?: { reason?: unknown }[] };
  };
  const causes = Array.isArray(details?.causes) ? details.causes.map((c) => c.reason) : [];
  return new WatchFailure(
    typeof code === 'number' ? code : undefined,
    typeof reason === 'string' ? reason : causes.find((r): r is string => typeof r === 'string'),
    typeof message === 'string' ? message : 'the watch reported an error',
  );
}

/**
 * Whether a failed watch must list again before the next one: the resourceVersion is too old
 * (`410 Gone`, reason `Expired`) or newer than the server has (after an etcd restore: a 504 with
 * cause `ResourceVersionTooLarge`).
 */
function mustRelist(error: unknown): boolean {
  const { statusCode, reason } = error as { statusCode?: unknown; reason?: unknown };
  return (
    statusCode === 410 || reason === 'Expired' || reason === 'Gone' || reason === 'ResourceVersionTooLarge'
  );
}

/** Watches one resource until `signal` aborts. */
export class KindWatch {
  readonly #context: TargetContext;
  readonly #info: ResourceInfo;
  /** The namespace watched, or undefined for all. */
  readonly #namespace: string | undefined;
  readonly #stream: WatchStream;
  readonly #listener: KindWatchListener;
  readonly #counters: WatchCounters;
  #resourceVersion: string | undefined;
  #listedOnce = false;

  constructor(
    context: TargetContext,
    info: ResourceInfo,
    stream: WatchStream,
    listener: KindWatchListener,
    counters: WatchCounters,
    namespace?: string,
  ) {
    this.#context = context;
    this.#info = info;
    this.#namespace = namespace;
    this.#stream = stream;
    this.#listener = listener;
    this.#counters = counters;
  }

  /** Lists and watches until `signal` aborts; never rejects. */
  async run(signal: AbortSignal): Promise<void> {
    let backoff: number = BACKOFF_MS.first;
    while (!signal.aborted) {
      try {
        if (this.#resourceVersion === undefined) await this.#list(signal);
        // A stream that ends at once with nothing in it (a proxy closing it) is retried with
        // backoff like a failure, not in a tight loop; one that delivered events or stayed open
        // a while (the server's own timeout) starts afresh.
        const openedAt = this.#context.clock.now();
        const events = await this.#watch(signal);
        if (events > 0 || this.#context.clock.now() - openedAt >= HEALTHY_STREAM_MS) {
          backoff = BACKOFF_MS.first;
          continue;
        }
      } catch (error) {
        if (signal.aborted) return;
        const forbidden = (error as { statusCode?: unknown }).statusCode === 403;
        if (forbidden && this.#namespace === undefined && this.#info.namespaced && this.#listener.forbidden) {
          this.#listener.forbidden();
          return;
        }
        if (mustRelist(error)) this.#gone();
      }
      try {
        await sleep(this.#context.clock, backoff, signal);
      } catch {
        return;
      }
      backoff = Math.min(backoff * 2, BACKOFF_MS.max);
    }
  }

  /** The resourceVersion is too old: list again before the next watch. */
  #gone(): void {
    this.#resourceVersion = undefined;
    this.#counters.relists++;
  }

  async #list(signal: AbortSignal): Promise<void> {
    const items: KubeObject[] = [];
    let token: string | undefined;
    let version: string | undefined;
    const apiVersion = this.#info.group ? `${this.#info.group}/${this.#info.version}` : this.#info.version;
    for (let first = true; first || token; first = false) {
      this.#counters.lists++;
      const page = await this.#context.client.request<{
        items?: KubeObject[];
        metadata?: { continue?: string; resourceVersion?: string };
      }>({
        method: 'GET',
        path: resourcePath(this.#info, this.#namespace),
        query: { labelSelector: this.#selector(), limit: PAGE, continue: token },
        signal,
      });
      // The first page's resourceVersion is the list's: the watch resumes after all of it.
      version ??= page.metadata?.resourceVersion;
      for (const item of page.items ?? []) items.push({ ...item, apiVersion, kind: this.#info.kind });
      token = page.metadata?.continue || undefined;
    }
    this.#resourceVersion = version;
    this.#listener.listed(items, !this.#listedOnce);
    this.#listedOnce = true;
  }

  /** One watch request; resolves with the number of events it delivered, rejects on an ERROR event. */
  async #watch(signal: AbortSignal): Promise<number> {
    const query: Record<string, string> = {
      labelSelector: this.#selector(),
      allowWatchBookmarks: 'true',
      timeoutSeconds: WATCH_SECONDS,
      ...(this.#resourceVersion === undefined ? {} : { resourceVersion: this.#resourceVersion }),
    };
    this.#counters.watches++;
    let failure: WatchFailure | undefined;
    let events = 0;
    await this.#stream(
      resourcePath(this.#info, this.#namespace),
      query,
      (event) => {
        if (event.type === 'ERROR') failure ??= watchFailure(event.object);
        else {
          events++;
          this.#onEvent(event);
        }
      },
      signal,
    );
    // The server ends the stream after an ERROR event: the catch above backs off (and lists
    // again when the resourceVersion is too old or too new), as client-go's reflector does.
    if (failure) throw failure;
    return events;
  }

  /** Handles one ADDED, MODIFIED, DELETED or BOOKMARK event. */
  #onEvent(event: WatchEvent): void {
    const version = event.object?.metadata?.resourceVersion;
    if (typeof version === 'string') this.#resourceVersion = version;
    if (event.type === 'ADDED' || event.type === 'MODIFIED' || event.type === 'DELETED') {
      const apiVersion = this.#info.group ? `${this.#info.group}/${this.#info.version}` : this.#info.version;
      this.#listener.event(event.type, { ...event.object, apiVersion, kind: this.#info.kind });
    }
  }

  #selector(): string {
    return `${OWNER_LABEL}=${this.#context.ownerLabel}`;
  }
}
