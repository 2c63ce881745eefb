import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Artifact, Manifest, Renderer, RenderOptions } from '../types.js';
import { HelmRenderer, type HelmRendererOptions } from './helm.js';
import { KUSTOMIZATION_FILES, KustomizeRenderer, type KustomizeRendererOptions } from './kustomize.js';
import { RawRenderer, type RawRendererOptions, resolveInside } from './raw.js';

/** The kinds of renderer gitops-kit can pick by itself. */
export type RendererKind = 'helm' | 'kustomize' | 'raw';

async function isFile(path: string): Promise<boolean> {
  return stat(path).then(
    (info) => info.isFile(),
    () => false,
  );
}

/**
 * Decides how a folder is rendered, as Argo CD does: a `Chart.yaml` makes it a Helm chart, else a
 * `kustomization.yaml` (or `.yml`, or `Kustomization`) a kustomization, else plain manifests. Only
 * the folder itself counts, not its sub-folders.
 */
export async function detectRenderer(dir: string): Promise<RendererKind> {
  if (await isFile(join(dir, 'Chart.yaml'))) return 'helm';
  for (const name of KUSTOMIZATION_FILES) if (await isFile(join(dir, name))) return 'kustomize';
  return 'raw';
}

/** Options for {@link AutoRenderer}: the path, and the options of each renderer it may choose. */
export interface AutoRendererOptions {
  /** Folder inside the artifact (default: the root). */
  readonly path?: string;
  /** Used when the folder holds neither a `Chart.yaml` nor a kustomization. */
  readonly raw?: Omit<RawRendererOptions, 'path'>;
  /** Used when the folder holds a kustomization (and no `Chart.yaml`). */
  readonly kustomize?: Omit<KustomizeRendererOptions, 'path'>;
  /** Needed only when a chart is found; `releaseName` defaults to `release`. */
  readonly helm?: Omit<HelmRendererOptions, 'path' | 'releaseName'> & {
    /** The Helm release name (default `release`). */
    readonly releaseName?: string;
  };
}

/**
 * Picks the renderer for each artifact with {@link detectRenderer} and delegates to it. It has no
 * cache key of its own (which renderer runs depends on the artifact); cache the concrete renderers.
 */
export class AutoRenderer implements Renderer {
  /** `auto`. */
  readonly name = 'auto';
  readonly #options: AutoRendererOptions;
  readonly #renderers = new Map<RendererKind, Renderer>();

  /** @param options the path and per-renderer options. */
  constructor(options: AutoRendererOptions = {}) {
    this.#options = options;
  }

  /** The folder may be a chart: Helm would read the cluster's capabilities unless turned off. */
  get usesClusterCapabilities(): boolean {
    return this.#options.helm?.clusterCapabilities ?? true;
  }

  /** The renderer chosen for an artifact. */
  async rendererFor(artifact: Artifact): Promise<Renderer> {
    const { abs } = resolveInside(artifact.dir, this.#options.path);
    const kind = await detectRenderer(abs);
    let renderer = this.#renderers.get(kind);
    if (!renderer) {
      const path = this.#options.path;
      const at = path === undefined ? {} : { path };
      renderer =
        kind === 'helm'
          ? new HelmRenderer({ releaseName: 'release', ...this.#options.helm, ...at })
          : kind === 'kustomize'
            ? new KustomizeRenderer({ ...this.#options.kustomize, ...at })
            : new RawRenderer({ ...this.#options.raw, ...at });
      this.#renderers.set(kind, renderer);
    }
    return renderer;
  }

  /** Detects the kind of folder and renders it. */
  async render(artifact: Artifact, options: RenderOptions): Promise<Manifest[]> {
    return (await this.rendererFor(artifact)).render(artifact, options);
  }
}
