/**
 * `@gitops-kit/registry-source`: Sources over registries. `HelmChartSource` serves a Helm chart by
 * name and version or semver range from an HTTP(S) chart repository or an OCI registry;
 * `HelmDependencyResolver` gives core's `HelmRenderer` the dependencies a chart declares.
 *
 * @packageDocumentation
 * @module @gitops-kit/registry-source
 */
export {
  type DependencyRepository,
  HelmDependencyResolver,
  type HelmDependencyResolverOptions,
  type OciChartFetcher,
} from './helm/dependency-resolver.js';
export {
  HelmDependencyError,
  HelmErrorCodes,
  type HelmErrorSubject,
  HelmSourceError,
} from './helm/errors.js';
export { HelmChartSource, type HelmChartSourceOptions } from './helm/helm-chart-source.js';
export type { RegistryRequestStats, RepositoryAuth } from './helm/http.js';
