import type { ResolvedArtifactLimits } from '@gitops-kit/core';
import { RegistryError, RegistryErrorCodes } from '../errors.js';
import type { RegistryCredentials } from '../oci/auth.js';
import { RegistryClient, type Repository } from '../oci/client.js';
import type { ImageManifest } from '../oci/manifest.js';
import { parseReference } from '../oci/reference.js';
import type { ChartBackend } from './chart-backend.js';
import { type ProblemKind, RepositoryProblem } from './errors.js';
import { isExactVersion, selectVersion } from './versions.js';

/** Helm's OCI media types (helm.sh/helm/v3/pkg/registry). */
export const HelmMediaTypes = {
  /** The config blob of a chart pushed with `helm push`: the chart's metadata as JSON. */
  Config: 'application/vnd.cncf.helm.config.v1+json',
  /** The chart archive layer. */
  ChartContent: 'application/vnd.cncf.helm.chart.content.v1.tar+gzip',
  /** The (optional) provenance layer. */
  Provenance: 'application/vnd.cncf.helm.chart.provenance.v1.prov',
} as const;

/** How a chart registry is reached. Internal. */
export interface OciChartSettings {
  readonly credentials?: RegistryCredentials | undefined;
  readonly caPem?: string | undefined;
  readonly plainHttp?: boolean | undefined;
  readonly insecureSkipTlsVerify?: boolean | undefined;
}

/** OCI tags cannot hold `+`: Helm writes `1.0.0+build` as `1.0.0_build`. */
const toTag = (version: string): string => version.replace(/\+/g, '_');
const fromTag = (tag: string): string => tag.replace(/_/g, '+');

const KINDS: Partial<Record<string, ProblemKind>> = {
  [RegistryErrorCodes.AuthFailed]: 'auth',
  [RegistryErrorCodes.Unreachable]: 'unreachable',
  [RegistryErrorCodes.NotFound]: 'chart',
  [RegistryErrorCodes.NoMatchingTag]: 'version',
  [RegistryErrorCodes.DigestMismatch]: 'digest',
};

/** A chart registry's answer as a repository problem (kind by the client's code), naming chart, version, URL. */
function problemOf(error: unknown, chart: string, version: string | undefined, url: string): unknown {
  if (!(error instanceof RegistryError)) return error;
  const kind = KINDS[error.code] ?? 'invalid';
  return new RepositoryProblem(
    kind,
    `chart "${chart}"${version ? ` ${version}` : ''} from ${url}: ${error.message}`,
    { chart, version, url },
    error,
  );
}

/** One chart repository on an OCI registry (`oci://host/path` + chart name). Internal. */
export class OciChartRepository {
  readonly url: string;
  readonly #client: RegistryClient;
  readonly #repo: Repository;
  readonly #chart: string;
  readonly #limits: ResolvedArtifactLimits;

  constructor(
    url: string,
    chart: string,
    settings: OciChartSettings,
    limits: ResolvedArtifactLimits,
    client?: RegistryClient,
  ) {
    const base = url.replace(/\/+$/, '');
    this.url = `${base}/${chart}`;
    const ref = parseReference(this.url);
    this.#repo = { registry: ref.registry, repository: ref.repository };
    this.#chart = chart;
    this.#limits = limits;
    this.#client =
      client ??
      new RegistryClient({
        credentials: settings.credentials,
        caPem: settings.caPem,
        plainHttp: settings.plainHttp,
        insecureSkipTlsVerify: settings.insecureSkipTlsVerify,
      });
  }

  /** The client, for its request counts. */
  get client(): RegistryClient {
    return this.#client;
  }

  /** The exact version a constraint selects: the constraint itself when exact, else from the tag list (one request). */
  async version(
    constraint: string | undefined,
    signal: AbortSignal,
    tags?: readonly string[],
  ): Promise<string> {
    if (isExactVersion(constraint)) return (constraint ?? '').replace(/^=/, '');
    const listed = tags ?? (await this.tags(constraint, signal));
    const chosen = selectVersion(listed.map(fromTag), constraint);
    if (chosen === undefined) {
      throw new RepositoryProblem(
        'version',
        `chart "${this.#chart}": no version matches "${constraint ?? '*'}" in ${this.url} (it has ${listed.slice(0, 5).map(fromTag).join(', ') || 'no tags'})`,
        { chart: this.#chart, version: constraint, url: this.url },
      );
    }
    return chosen;
  }

  /** The repository's tags. */
  async tags(constraint: string | undefined, signal: AbortSignal): Promise<string[]> {
    try {
      return await this.#client.listTags(this.#repo, { signal, reference: this.url });
    } catch (error) {
      throw problemOf(error, this.#chart, constraint, this.url);
    }
  }

  /** The manifest digest of a version (one `HEAD`). */
  async digestOf(version: string, signal: AbortSignal): Promise<string> {
    try {
      const head = await this.#client.headManifest(this.#repo, toTag(version), {
        signal,
        reference: `${this.url}:${version}`,
      });
      if (head.digest) return head.digest;
      return (await this.#client.getManifest(this.#repo, toTag(version), { signal })).digest;
    } catch (error) {
      if (error instanceof RegistryError && error.code === RegistryErrorCodes.NotFound) {
        // The repository may exist without this version: say which.
        const tags = await this.#client.listTags(this.#repo, { signal }).catch(() => []);
        if (tags.length > 0) {
          throw new RepositoryProblem(
            'version',
            `chart "${this.#chart}": version ${version} is not in ${this.url} (it has ${tags.slice(0, 5).map(fromTag).join(', ')})`,
            { chart: this.#chart, version, url: this.url },
          );
        }
        throw new RepositoryProblem('chart', `chart "${this.#chart}" is not in ${this.url}`, {
          chart: this.#chart,
          version,
          url: this.url,
        });
      }
      throw problemOf(error, this.#chart, version, this.url);
    }
  }

  /** The chart archive of a manifest: its Helm chart layer, checked against the manifest's digest and size. */
  async archive(version: string, manifestDigest: string, signal: AbortSignal): Promise<Buffer> {
    const where = { chart: this.#chart, version, url: this.url };
    try {
      const fetched = await this.#client.getManifest(this.#repo, manifestDigest, {
        signal,
        reference: `${this.url}:${version}`,
      });
      const manifest = fetched.manifest as ImageManifest;
      if (!Array.isArray(manifest.layers) || manifest.config?.mediaType !== HelmMediaTypes.Config) {
        throw new RepositoryProblem(
          'invalid',
          `${this.url}:${version} is not a Helm chart (config media type ${manifest.config?.mediaType ?? 'none'}, expected ${HelmMediaTypes.Config})`,
          where,
        );
      }
      const layer = manifest.layers.find((l) => l.mediaType === HelmMediaTypes.ChartContent);
      if (!layer) {
        throw new RepositoryProblem(
          'invalid',
          `${this.url}:${version} has no ${HelmMediaTypes.ChartContent} layer`,
          where,
        );
      }
      return await this.#client.getBlob(this.#repo, layer.digest, {
        signal,
        maxBytes: this.#limits.maxTotalBytes,
        expectedSize: layer.size,
        reference: `${this.url}:${version}`,
      });
    } catch (error) {
      throw problemOf(error, this.#chart, version, this.url);
    }
  }
}

/**
 * A chart from an OCI registry, as `helm push` stores it: an exact version costs one manifest
 * `HEAD` per poll; a range reads the tag list and then `HEAD`s the chosen version (two requests).
 * The revision's digest is the manifest's; the chart layer is checked against it by the client.
 */
export function ociChartBackend(repository: OciChartRepository): ChartBackend {
  return {
    url: repository.url,
    async poll(_chart, constraint, previous, signal) {
      const version = await repository.version(constraint, signal);
      const digest = await repository.digestOf(version, signal);
      if (previous && previous.version === version && previous.digest === digest) return { unchanged: true };
      return { unchanged: false, version, digest, archive: (s) => repository.archive(version, digest, s) };
    },
  };
}
