import type { KubeObject } from '@gitops-kit/core';
import type { KubeConfig } from '@kubernetes/client-node';
import { watchClass } from './client-node.js';

/**
 * The streaming half of the Kubernetes API a watch needs, injected so the watch logic is tested
 * without a server. The default streams through @kubernetes/client-node's `Watch`, which parses
 * each line with `JSON.parse` (no generated models, so nothing is dropped) and authenticates as
 * the KubeConfig's current context.
 */

/** One event of a watch stream. */
export interface WatchEvent {
  /** `ADDED`, `MODIFIED`, `DELETED`, `BOOKMARK` or `ERROR` (then `object` is a `Status`). */
  readonly type: string;
  /** The object (for a bookmark only its kind and `metadata.resourceVersion`). */
  readonly object: KubeObject;
}

/**
 * Opens `GET <path>?watch=true&<query>` and calls `onEvent` per event. Resolves when the server
 * ends the stream (its `timeoutSeconds`, a restart), rejects when it cannot be opened (an error
 * with `statusCode` when the server answered), and resolves at once when `signal` aborts.
 */
export type WatchStream = (
  path: string,
  query: Readonly<Record<string, string>>,
  onEvent: (event: WatchEvent) => void,
  signal: AbortSignal,
) => Promise<void>;

/** A {@link WatchStream} over a KubeConfig's current context. */
export function kubeConfigWatchStream(kubeConfig: KubeConfig): WatchStream {
  return (path, query, onEvent, signal) =>
    new Promise<void>((resolve, reject) => {
      if (signal.aborted) {
        resolve();
        return;
      }
      let controller: AbortController | undefined;
      const onAbort = (): void => controller?.abort();
      const done = (error: unknown): void => {
        signal.removeEventListener('abort', onAbort);
        if (error && !signal.aborted) reject(error);
        else resolve();
      };
      new (watchClass())(kubeConfig)
        .watch(path, query, (type: string, object: KubeObject) => onEvent({ type, object }), done)
        .then((c) => {
          controller = c;
          if (signal.aborted) c.abort();
          else signal.addEventListener('abort', onAbort, { once: true });
        }, done);
    });
}
