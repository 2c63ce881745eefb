import {
  AutoRenderer,
  HelmRenderer,
  type HelmRendererOptions,
  KustomizeRenderer,
  RawRenderer,
  type Renderer,
} from '@gitops-kit/core';
import { HelmDependencyResolver } from '@gitops-kit/registry-source';
import type { RenderSettings } from './args.js';

/** The renderer a reconciler with these settings would use. */
export function rendererFor(settings: RenderSettings, namespace: string): Renderer {
  const h = settings.helm;
  const helm: Omit<HelmRendererOptions, 'path'> = {
    releaseName: h.releaseName,
    namespace,
    valuesFiles: h.valuesFiles,
    ...(Object.keys(h.values).length > 0 ? { values: h.values } : {}),
    ...(h.kubeVersion ? { kubeVersion: h.kubeVersion } : {}),
    ...(h.apiVersions ? { apiVersions: h.apiVersions } : {}),
    ...(h.includeCrds === undefined ? {} : { includeCrds: h.includeCrds }),
    ...(h.skipTests === undefined ? {} : { skipTests: h.skipTests }),
    // As a reconciler with a HelmDependencyResolver: dependencies fetched into a cache, never the folder.
    ...(h.dependencyCache
      ? { dependencies: new HelmDependencyResolver({ cacheDir: h.dependencyCache }) }
      : {}),
  };
  const at = settings.path === undefined ? {} : { path: settings.path };
  switch (settings.renderer) {
    case 'helm':
      return new HelmRenderer({ ...helm, ...at });
    case 'kustomize':
      return new KustomizeRenderer({ ...settings.kustomize, ...at });
    case 'raw':
      return new RawRenderer({ ...settings.raw, ...at });
    default:
      return new AutoRenderer({
        ...at,
        helm,
        kustomize: { ...settings.kustomize },
        raw: { ...settings.raw },
      });
  }
}
