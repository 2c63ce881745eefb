import type { KubeObject } from '@gitops-kit/core';
import type { Connection } from './connection.js';
import { errorFromResponse, queryString } from './kube-client.js';

/**
 * The streaming half of the Kubernetes API a watch needs, injected so the watch logic is tested
 * without a server. The default streams over the same kind of connection as the target's
 * requests: the KubeConfig's credentials and the target's `impersonate`, so a watch sees only
 * what the target's user may watch. Each line is parsed with `JSON.parse` (no generated models,
 * so nothing is dropped).
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

/** The server's default watch length when a query sets no `timeoutSeconds` (its minimum is 30 min; be safe). */
const DEFAULT_WATCH_SECONDS = 1800;
/** How long past the server's timeout a silent stream is given before it counts as dead. */
const IDLE_MARGIN_MS = 30_000;

/** A {@link WatchStream} over `connection` (give it an agent of its own: a watch holds a socket). */
export function connectionWatchStream(
  connection: Connection,
  options: { readonly idleMarginMs?: number } = {},
): WatchStream {
  const margin = options.idleMarginMs ?? IDLE_MARGIN_MS;
  return async (path, query, onEvent, signal) => {
    if (signal.aborted) return;
    const { send, options } = await connection('GET', `${path}${queryString({ ...query, watch: 'true' })}`, {
      Accept: 'application/json',
    });
    await new Promise<void>((resolve, reject) => {
      const settle = (error?: unknown): void => {
        if (error && !signal.aborted) reject(error);
        else resolve();
      };
      const req = send({ ...options, signal }, (res) => {
        const chunks: Buffer[] = [];
        if (res.statusCode !== 200) {
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () =>
            settle(errorFromResponse(res.statusCode ?? 0, Buffer.concat(chunks).toString('utf8'))),
          );
          res.on('error', settle);
          return;
        }
        let pending = '';
        res.setEncoding('utf8');
        res.on('data', (text: string) => {
          pending += text;
          let newline = pending.indexOf('\n');
          while (newline >= 0) {
            const line = pending.slice(0, newline).trim();
            pending = pending.slice(newline + 1);
            if (line) {
              try {
                onEvent(JSON.parse(line) as WatchEvent);
              } catch (error) {
                req.destroy(error as Error);
                return;
              }
            }
            newline = pending.indexOf('\n');
          }
        });
        res.on('end', () => settle());
        res.on('error', settle);
        // The server or the network cut the stream: the watch starts again from its last version.
        res.on('close', () => settle());
      });
      // A half-open connection (a node gone without a reset, a balancer dropping an idle flow)
      // would otherwise stay silent for hours: past the server's own timeout and a margin with
      // nothing arriving (bookmarks arrive on a healthy stream), the stream fails and is opened again.
      const idleMs = Number(query.timeoutSeconds ?? DEFAULT_WATCH_SECONDS) * 1000 + margin;
      req.setTimeout(idleMs, () => req.destroy(new Error(`watch ${path}: nothing arrived for ${idleMs} ms`)));
      req.on('error', settle);
      req.end();
    });
  };
}
