import { RenderCache } from '../render/cache.js';
import type { Artifact, Manifest, Renderer, RenderOptions } from '../types.js';

/**
 * One render per (artifact digest, renderer settings) across the clusters of a process. Each
 * cluster has its own renderer object, so the cache and the renders in flight are shared by key:
 * two clusters asking at once wait for one run. Renderers without `cacheKey` are not shared.
 */
export class SharedRenders {
  /** The cache behind the sharing (its hits and misses count renders saved and run). */
  readonly cache: RenderCache;
  readonly #inFlight = new Map<string, Promise<Manifest[]>>();

  /** @param cache where finished renders are kept (default a cache of 16 sets). */
  constructor(cache: RenderCache = new RenderCache()) {
    this.cache = cache;
  }

  /** A renderer that renders through the shared cache. */
  wrap(renderer: Renderer): Renderer {
    const cacheKey = renderer.cacheKey?.bind(renderer);
    if (!cacheKey) return renderer;
    return {
      name: renderer.name,
      cacheKey,
      render: async (artifact: Artifact, options: RenderOptions): Promise<Manifest[]> => {
        const key = `${artifact.digest}\n${await cacheKey(options)}`;
        const hit = this.cache.get(key);
        if (hit) {
          this.cache.hits++;
          return hit;
        }
        let running = this.#inFlight.get(key);
        if (!running) {
          this.cache.misses++;
          running = renderer.render(artifact, options).then((manifests) => {
            this.cache.set(key, manifests);
            return manifests;
          });
          this.#inFlight.set(key, running);
          const forget = (): void => {
            this.#inFlight.delete(key);
          };
          running.then(forget, forget);
        } else {
          this.cache.hits++;
        }
        await running;
        // Every caller gets its own copy, so one cluster's substitution never shows in another's.
        return this.cache.get(key) ?? (await running);
      },
    };
  }
}
