import { type Clock, systemClock } from '../clock.js';
import type { Artifact, FetchOptions, Source } from '../types.js';

/** A fetch under way and the callers waiting for it. */
interface Running {
  readonly promise: Promise<Artifact>;
  readonly controller: AbortController;
  waiters: number;
}

/** Options of {@link shareSource}. */
export interface SharedSourceOptions {
  /**
   * How long a fetched artifact answers later fetches without asking the source again, in
   * milliseconds (default 5,000). Fetches while one runs always share it. Like Flux, where many
   * Kustomizations read the artifact of one GitRepository, which polls on its own interval.
   */
  readonly freshForMs?: number;
  /** Time of the freshness window (default the system clock). */
  readonly clock?: Clock;
}

/**
 * One source shared by many reconcilers: concurrent fetches are one fetch, and a fetch within
 * `freshForMs` of the last one gets the same artifact, so 1,000 reconcilers of one repository ask
 * the server once per window instead of 1,000 times, and hold one artifact on disk, not 1,000. An
 * artifact is released to the source only when every reconciler that got it has released it. A
 * fetch is aborted only when every caller waiting for it has aborted.
 */
export function shareSource(source: Source, options: SharedSourceOptions = {}): Source {
  const freshForMs = options.freshForMs ?? 5_000;
  const clock = options.clock ?? systemClock;
  let last: { artifact: Artifact; at: number } | undefined;
  let running: Running | undefined;
  /** Holders per artifact folder: a fetch answered is a hold, a release gives one back. */
  const holders = new Map<string, number>();

  const hold = (artifact: Artifact): Artifact => {
    holders.set(artifact.dir, (holders.get(artifact.dir) ?? 0) + 1);
    return artifact;
  };

  const wait = (shared: Running, signal: AbortSignal): Promise<Artifact> => {
    shared.waiters++;
    return new Promise<Artifact>((resolve, reject) => {
      const onAbort = (): void => {
        reject(signal.reason);
        shared.waiters--;
        if (shared.waiters === 0) shared.controller.abort(signal.reason);
      };
      if (signal.aborted) {
        onAbort();
        return;
      }
      signal.addEventListener('abort', onAbort, { once: true });
      shared.promise.then(
        (artifact) => {
          signal.removeEventListener('abort', onAbort);
          resolve(hold(artifact));
        },
        (error: unknown) => {
          signal.removeEventListener('abort', onAbort);
          reject(error);
        },
      );
    });
  };

  const shared: Source = {
    description: source.description,
    fetch(fetchOptions: FetchOptions): Promise<Artifact> {
      if (last && clock.now() - last.at < freshForMs) return Promise.resolve(hold(last.artifact));
      if (!running) {
        const controller = new AbortController();
        const current: Running = {
          controller,
          waiters: 0,
          promise: source
            .fetch({ signal: controller.signal, previous: last?.artifact })
            .then((artifact) => {
              last = { artifact, at: clock.now() };
              return artifact;
            })
            .finally(() => {
              if (running === current) running = undefined;
            }),
        };
        // A fetch nobody waits for any more still settles: its failure must not go unhandled.
        current.promise.catch(() => undefined);
        running = current;
      }
      return wait(running, fetchOptions.signal);
    },
  };
  if (source.fetchRevision) {
    const fetchRevision = source.fetchRevision.bind(source);
    Object.assign(shared, {
      fetchRevision: async (revision: string, fetchOptions: FetchOptions) =>
        hold(await fetchRevision(revision, fetchOptions)),
    });
  }
  if (source.matches) Object.assign(shared, { matches: source.matches.bind(source) });
  if (source.release) {
    const release = source.release.bind(source);
    Object.assign(shared, {
      release: async (artifact: Artifact) => {
        const left = (holders.get(artifact.dir) ?? 1) - 1;
        if (left > 0) {
          holders.set(artifact.dir, left);
          return;
        }
        holders.delete(artifact.dir);
        if (last?.artifact.dir === artifact.dir) return; // still the newest: later fetches get it
        await release(artifact);
      },
    });
  }
  return shared;
}
