/**
 * `@gitops-kit/registry-source`: sources that read registries. The OCI distribution client (`oci/`)
 * is shared by `OCISource` (Flux-format OCI artifacts, cosign verification) and the Helm chart
 * source (`helm/`: `HelmChartSource`, and `HelmDependencyResolver` for core's `HelmRenderer`). One export statement per module, sorted by path, so additions merge without conflicts.
 *
 * @packageDocumentation
 * @module @gitops-kit/registry-source
 */
export { type ArchiveContents, type ArchiveFile, readTarGz, safeArchivePath } from './archive/tar.js';
export { type CosignKey, loadTrustedKeys, type TrustedKey } from './cosign/keys.js';
export {
  COSIGN_PAYLOAD_TYPE,
  checkSignature,
  payloadDigest,
  SIGNATURE_ANNOTATION,
  type SignatureCheck,
} from './cosign/simple-signing.js';
export { signatureTag, type VerifiedSignature, verifyCosignSignature } from './cosign/verify.js';
export {
  RegistryError,
  type RegistryErrorCode,
  RegistryErrorCodes,
  type RegistryErrorOptions,
  SignatureVerificationError,
} from './errors.js';
export {
  type DependencyRepository,
  HelmDependencyResolver,
  type HelmDependencyResolverOptions,
} from './helm/dependency-resolver.js';
export {
  HelmDependencyError,
  HelmErrorCodes,
  type HelmErrorSubject,
  HelmSourceError,
} from './helm/errors.js';
export { HelmChartSource, type HelmChartSourceOptions } from './helm/helm-chart-source.js';
export type { RegistryRequestStats, RepositoryAuth } from './helm/http.js';
export { HelmMediaTypes } from './helm/oci-chart.js';
export { RegistryAuth, type RegistryAuthOptions, type RegistryCredentials } from './oci/auth.js';
export { type AuthChallenge, parseChallenges } from './oci/challenge.js';
export {
  type BlobOptions,
  type CallOptions,
  type FetchedManifest,
  type ManifestHead,
  RegistryClient,
  type RegistryClientOptions,
  type RegistryConnectionOptions,
  type Repository,
} from './oci/client.js';
export { DigestVerifier, digestOf, isDigest } from './oci/digest.js';
export {
  type ClosableFetch,
  createNodeFetch,
  type FetchInit,
  type FetchLike,
  type NodeFetchOptions,
} from './oci/http.js';
export {
  type Descriptor,
  type ImageIndex,
  type ImageManifest,
  MANIFEST_ACCEPT,
  MediaTypes,
  parseManifest,
} from './oci/manifest.js';
export { apiHost, formatReference, type OciReference, parseReference } from './oci/reference.js';
export type { RegistryStatsSnapshot } from './oci/stats.js';
export { Annotations, copiedLayerName, type LayerSelector, metaOf, selectLayer } from './oci-source/layer.js';
export { OCISource, type OCISourceOptions, type OCIVerifyOptions } from './oci-source/oci-source.js';
export { checkOciRef, describeOciRef, highestTag, type OCIRef } from './oci-source/select.js';
