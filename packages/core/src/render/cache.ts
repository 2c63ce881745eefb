import type { Artifact, Manifest, Renderer, RenderOptions } from '../types.js';
import { copySubstitutionHints } from './parse.js';

/** A deep copy of manifests that keeps the substitution hints of their objects. */
function copyManifests(manifests: readonly Manifest[]): Manifest[] {
  const copy = structuredClone(manifests) as Manifest[];
  manifests.forEach((m, i) => {
    copySubstitutionHints(m.object, copy[i]!.object);
  });
  return copy;
}

/** Options for {@link RenderCache}. */
export interface RenderCacheOptions {
  /** How many renders are kept, least recently used dropped first (default 16). */
  readonly maxEntries?: number;
}

/**
 * A small LRU map of rendered manifest sets, keyed by artifact digest and the renderer's cache key
 * (its options and tool version): an unchanged revision never runs the tool again. Entries are
 * copied in and out, so a caller that edits the manifests it got cannot change what the next
 * caller gets.
 */
export class RenderCache {
  readonly #entries = new Map<string, readonly Manifest[]>();
  readonly #max: number;
  /** Renders answered from the cache. */
  hits = 0;
  /** Renders that ran the renderer. */
  misses = 0;

  /** @param options the number of entries kept. */
  constructor(options: RenderCacheOptions = {}) {
    this.#max = Math.max(1, options.maxEntries ?? 16);
  }

  /** A copy of the cached manifests for `key`, or undefined. */
  get(key: string): Manifest[] | undefined {
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    // Re-insert to mark it most recently used.
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    return copyManifests(entry);
  }

  /** Stores a copy of `manifests` under `key`, dropping the least recently used entry when full. */
  set(key: string, manifests: readonly Manifest[]): void {
    this.#entries.delete(key);
    this.#entries.set(key, copyManifests(manifests));
    while (this.#entries.size > this.#max) {
      const oldest = this.#entries.keys().next().value;
      if (oldest === undefined) break;
      this.#entries.delete(oldest);
    }
  }

  /** How many entries are held. */
  get size(): number {
    return this.#entries.size;
  }

  /** Drops every entry. */
  clear(): void {
    this.#entries.clear();
  }
}

/** A renderer with a {@link RenderCache} in front of it. */
export interface CachedRenderer extends Renderer {
  /** The cache in front of the renderer (shared when one was passed in). */
  readonly cache: RenderCache;
}

/**
 * Wraps a renderer with a cache. Renders of an artifact digest already seen with the same
 * renderer key are answered from the cache; concurrent renders of the same key share one run.
 * A renderer without `cacheKey` is never cached (the wrapper passes through). Failures are not cached.
 */
export function withRenderCache(renderer: Renderer, cache: RenderCache = new RenderCache()): CachedRenderer {
  const inFlight = new Map<string, Promise<Manifest[]>>();
  const cacheKey = renderer.cacheKey?.bind(renderer);
  const result: CachedRenderer = {
    name: renderer.name,
    cache,
    ...(renderer.usesClusterCapabilities ? { usesClusterCapabilities: true } : {}),
    async render(artifact: Artifact, options: RenderOptions): Promise<Manifest[]> {
      if (!cacheKey) return renderer.render(artifact, options);
      const key = `${artifact.digest}\n${await cacheKey(options)}`;
      const hit = cache.get(key);
      if (hit) {
        cache.hits++;
        return hit;
      }
      let running = inFlight.get(key);
      if (!running) {
        cache.misses++;
        running = renderer.render(artifact, options).then((manifests) => {
          cache.set(key, manifests);
          return manifests;
        });
        inFlight.set(key, running);
        running.then(
          () => inFlight.delete(key),
          () => inFlight.delete(key),
        );
        // The first caller gets the renderer's own objects; later ones get copies.
        return running;
      }
      return copyManifests(await running);
    },
  };
  if (cacheKey) return { ...result, cacheKey };
  return result;
}
