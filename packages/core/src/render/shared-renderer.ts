import type { Artifact, Manifest, Renderer, RenderOptions } from '../types.js';

/** Options of {@link shareRenderer}. */
export interface SharedRendererOptions {
  /** Renders kept, least recently used dropped first (default 8). */
  readonly maxEntries?: number;
}

/**
 * One renderer shared by many reconcilers of one source: a render is made once per artifact
 * digest and renderer key (its settings and tool version), and every reconciler gets the same
 * manifests (not copies: rendered manifests are never mutated, the reconciler itself reuses a
 * render while the revision stays), so 1,000 reconcilers of one repository hold one rendered set.
 * Concurrent renders of one key are one render. Unlike {@link withRenderCache}, which copies what
 * it keeps and hands out, nothing is copied. A renderer without `cacheKey` is not shared.
 */
export function shareRenderer(renderer: Renderer, options: SharedRendererOptions = {}): Renderer {
  const max = Math.max(1, options.maxEntries ?? 8);
  const entries = new Map<string, Promise<Manifest[]>>();
  const cacheKey = renderer.cacheKey?.bind(renderer);
  const shared: Renderer = {
    name: renderer.name,
    async render(artifact: Artifact, renderOptions: RenderOptions): Promise<Manifest[]> {
      if (!cacheKey) return renderer.render(artifact, renderOptions);
      const key = `${artifact.digest}\n${await cacheKey(renderOptions)}`;
      let entry = entries.get(key);
      if (entry) {
        entries.delete(key);
      } else {
        entry = renderer.render(artifact, renderOptions);
        // A failed render is not kept: the next caller tries again.
        entry.catch(() => {
          if (entries.get(key) === entry) entries.delete(key);
        });
      }
      entries.set(key, entry);
      for (const oldest of entries.keys()) {
        if (entries.size <= max) break;
        entries.delete(oldest);
      }
      return entry;
    },
  };
  if (cacheKey) shared.cacheKey = cacheKey;
  return shared;
}
