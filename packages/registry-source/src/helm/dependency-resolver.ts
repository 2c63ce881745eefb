import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type {
  ChartDependency,
  ChartDependencyRequest,
  ChartDependencyResolver,
  ResolvedChartDependency,
} from '@gitops-kit/core';
import { sha256Of } from './chart-archive.js';
import { DependencyCache } from './dependency-cache.js';
import { HelmDependencyError, HelmErrorCodes, RepositoryProblem, toHelmDependencyError } from './errors.js';
import {
  displayUrl,
  type HttpSettings,
  type RegistryRequestStats,
  type RepositoryAuth,
  RequestCounter,
} from './http.js';
import { HttpChartRepository } from './http-repository.js';
import { lockDigest } from './lock-digest.js';
import { OciChartRepository } from './oci-chart.js';
import { parseRepositoryIndex, type RepositoryIndex } from './repository-index.js';
import { isExactVersion } from './versions.js';

/**
 * Credentials and trust for the repository at `url` and those below it: same scheme, host and
 * port, and a path that is `url`'s or continues it after a `/`.
 */
export interface DependencyRepository {
  /** A repository URL or a prefix of several (`https://charts.example.com/`, `oci://registry.example.com/charts`). */
  readonly url: string;
  /** The name `Chart.yaml` may use for it (`@stable`, `alias:stable`), as in `helm repo add <name> <url>`. */
  readonly name?: string | undefined;
  /** Basic-auth credentials or a bearer token. */
  readonly auth?: RepositoryAuth | undefined;
  /** Send the credentials to chart URLs on other hosts. Default false. */
  readonly passCredentials?: boolean | undefined;
  /** PEM CA certificate(s) for HTTPS. */
  readonly ca?: string | Buffer | undefined;
  /** `oci://` over plain HTTP (`helm --plain-http`). */
  readonly plainHttp?: boolean | undefined;
}

/** Scheme and host (with port) of a URL, and its path without trailing slashes; undefined for what is no URL. */
function urlParts(url: string): { origin: string; path: string } | undefined {
  try {
    const parsed = new URL(url);
    // `new URL` keeps the host of a non-special scheme (`oci://`) as written; hosts compare without case.
    return {
      origin: `${parsed.protocol}//${parsed.host.toLowerCase()}`,
      path: parsed.pathname.replace(/\/+$/, ''),
    };
  } catch {
    return undefined;
  }
}

/**
 * The configured repository whose credentials a dependency's repository URL gets: same scheme,
 * host and port, and a path on a `/` boundary, the longest such path winning. A plain string prefix
 * would hand `https://charts.example.com`'s credentials to `https://charts.example.com.evil.io/`.
 * Internal; exported for tests.
 */
export function repositoryFor<R extends { readonly url: string }>(
  repositories: readonly R[],
  url: string,
): R | undefined {
  const target = urlParts(url);
  if (!target) return undefined;
  let best: { repository: R; length: number } | undefined;
  for (const repository of repositories) {
    const prefix = urlParts(repository.url);
    if (!prefix || prefix.origin !== target.origin) continue;
    if (target.path !== prefix.path && !target.path.startsWith(`${prefix.path}/`)) continue;
    if (!best || prefix.path.length > best.length) best = { repository, length: prefix.path.length };
  }
  return best?.repository;
}

/** What one dependency chart archive may hold. */
const OCI_LIMITS = { maxFiles: 5_000, maxFileBytes: 16 * 1024 * 1024, maxTotalBytes: 64 * 1024 * 1024 };

/** Options of {@link HelmDependencyResolver}. */
export interface HelmDependencyResolverOptions {
  /** The cache folder (archives by digest, shared by every chart); default under the OS temporary directory. */
  readonly cacheDir?: string | undefined;
  /** Credentials, CA and names of repositories; a dependency gets the one with the longest matching path (see {@link DependencyRepository}). */
  readonly repositories?: readonly DependencyRepository[] | undefined;
  /** Per-request timeout (default 30 s). */
  readonly requestTimeoutMs?: number | undefined;
}

/**
 * Resolves the dependencies of a chart for core's `HelmRenderer` the way `helm dependency build`
 * does: with `Chart.lock`, the locked versions (and a lock that no longer matches `Chart.yaml` is
 * refused, as Helm refuses it); without one, the newest version each constraint allows. Charts come
 * from HTTP(S) repositories (`index.yaml`, digest checked) and OCI registries, into a cache keyed by
 * digest: an exact or locked version already cached costs no request at all, so a second render
 * downloads nothing and renders offline. A range is resolved against the repository's index
 * (a conditional GET), or against the last index kept when the repository cannot be reached.
 */
export class HelmDependencyResolver implements ChartDependencyResolver {
  /** Settings that change what is resolved, for the render cache key. */
  readonly cacheKey: string;
  readonly #cache: DependencyCache;
  readonly #repositories: readonly DependencyRepository[];
  readonly #counter = new RequestCounter();
  /** Connection settings (and so one kept-alive transport) per repository. */
  readonly #http = new Map<string, HttpSettings>();
  readonly #timeoutMs: number | undefined;

  /** Nothing is contacted until a chart needs it. */
  constructor(options: HelmDependencyResolverOptions = {}) {
    this.#cache = new DependencyCache(options.cacheDir ?? join(tmpdir(), 'gitops-kit-helm-dependencies'));
    this.#repositories = [...(options.repositories ?? [])].sort((a, b) => b.url.length - a.url.length);
    this.#timeoutMs = options.requestTimeoutMs;
    this.cacheKey = createHash('sha256')
      .update(JSON.stringify(this.#repositories.map((r) => [r.url, r.name ?? ''])))
      .digest('hex')
      .slice(0, 16);
  }

  /** Requests and body bytes used so far. */
  stats(): RegistryRequestStats {
    return this.#counter.snapshot();
  }

  /** The packaged charts of the missing dependencies, from the cache or their repositories. */
  async resolve(request: ChartDependencyRequest): Promise<readonly ResolvedChartDependency[]> {
    const pinned = this.#pinnedVersions(request);
    // One index read per repository per chart, however many dependencies come from it.
    const indexes = new Map<string, Promise<RepositoryIndex>>();
    const out: ResolvedChartDependency[] = [];
    for (const dependency of request.missing) {
      const repository = this.#repositoryUrl(dependency, request.chartFile);
      const constraint = pinned.get(dependency.name) ?? dependency.version;
      const subject = { chart: dependency.name, version: constraint, url: displayUrl(repository) };
      try {
        out.push(await this.#one(repository, dependency.name, constraint, indexes, request.signal));
      } catch (error) {
        if (request.signal.aborted) throw request.signal.reason;
        throw toHelmDependencyError(error, subject, request.chartFile);
      }
    }
    return out;
  }

  /** With `Chart.lock`: its versions, after Helm's check that it still matches `Chart.yaml`. */
  #pinnedVersions(request: ChartDependencyRequest): Map<string, string> {
    const pinned = new Map<string, string>();
    if (!request.lock) return pinned;
    const dependencies = request.dependencies.map((d) => ({ ...d, repository: this.#named(d.repository) }));
    if (lockDigest(dependencies, request.lock.dependencies) !== request.lock.digest) {
      throw new HelmDependencyError(
        HelmErrorCodes.LockOutOfSync,
        `chart "${request.chart.name}": Chart.lock is out of sync with the dependencies of Chart.yaml; run \`helm dependency update\` and commit Chart.lock`,
        { chart: request.chart.name, version: request.chart.version, url: request.chartFile },
        { location: { file: request.chartFile.replace(/Chart\.yaml$/, 'Chart.lock') } },
      );
    }
    for (const entry of request.lock.dependencies) pinned.set(entry.name, entry.version);
    return pinned;
  }

  /** A repository name (`@stable`, `alias:stable`) as its URL; URLs as they are. */
  #named(repository: string | undefined): string | undefined {
    const name = /^(?:@|alias:)(.+)$/.exec(repository ?? '')?.[1];
    if (!name) return repository;
    return this.#repositories.find((r) => r.name === name)?.url ?? repository;
  }

  #repositoryUrl(dependency: ChartDependency, chartFile: string): string {
    const url = this.#named(dependency.repository);
    if (!url || !/^(https?|oci):\/\//.test(url)) {
      throw new HelmDependencyError(
        HelmErrorCodes.DependencyInvalid,
        `dependency "${dependency.name}": repository ${JSON.stringify(dependency.repository ?? '')} is not an http(s):// or oci:// URL nor a configured repository name`,
        { chart: dependency.name, version: dependency.version, url: dependency.repository ?? '' },
        { location: { file: chartFile } },
      );
    }
    return url;
  }

  #settingsFor(url: string): DependencyRepository | undefined {
    return repositoryFor(this.#repositories, url);
  }

  async #one(
    repository: string,
    chart: string,
    constraint: string | undefined,
    indexes: Map<string, Promise<RepositoryIndex>>,
    signal: AbortSignal,
  ): Promise<ResolvedChartDependency> {
    const exact = isExactVersion(constraint) ? (constraint ?? '').replace(/^=/, '') : undefined;
    if (exact) {
      const cached = await this.#cache.find(repository, chart, exact);
      if (cached) return { name: chart, version: exact, archive: cached };
    }
    const settings = this.#settingsFor(repository);
    if (repository.startsWith('oci://'))
      return this.#fromOci(repository, chart, constraint, settings, signal);
    let http = this.#http.get(repository);
    if (!http) {
      http = {
        auth: settings?.auth,
        passCredentials: settings?.passCredentials,
        ca: settings?.ca,
        timeoutMs: this.#timeoutMs,
        counter: this.#counter,
      };
      this.#http.set(repository, http);
    }
    const repo = new HttpChartRepository(repository, http);
    let reading = indexes.get(repository);
    if (!reading) {
      reading = this.#index(repo, repository, chart, constraint, signal);
      indexes.set(repository, reading);
    }
    const index = await reading;
    const chosen = repo.choose(index, chart, exact ?? constraint);
    const cached = await this.#cache.find(repository, chart, chosen.entry.version, chosen.entry.digest);
    if (cached) return { name: chart, version: chosen.entry.version, archive: cached };
    const { archive, digest } = await repo.download(chosen, signal);
    const path = await this.#cache.put(repository, chart, chosen.entry.version, digest, archive);
    return { name: chart, version: chosen.entry.version, archive: path };
  }

  /**
   * A chart from an OCI registry as `helm dependency build` gets it: the version (a range against
   * the tag list, or the last tag list kept when the registry is down), its manifest, its chart layer.
   */
  async #fromOci(
    repository: string,
    chart: string,
    constraint: string | undefined,
    settings: DependencyRepository | undefined,
    signal: AbortSignal,
  ): Promise<ResolvedChartDependency> {
    const registry = new OciChartRepository(
      repository,
      chart,
      { credentials: settings?.auth, caPem: settings?.ca?.toString(), plainHttp: settings?.plainHttp },
      OCI_LIMITS,
    );
    try {
      let tags: string[] | undefined;
      if (!isExactVersion(constraint)) {
        const key = `${registry.url}#tags`;
        try {
          tags = await registry.tags(constraint, signal);
          await this.#cache.putIndex(key, { text: JSON.stringify(tags), validators: {} });
        } catch (error) {
          const kept = await this.#cache.index(key);
          if (
            signal.aborted ||
            !(error instanceof RepositoryProblem) ||
            error.kind !== 'unreachable' ||
            !kept
          )
            throw error;
          tags = JSON.parse(kept.text) as string[];
        }
      }
      const version = await registry.version(constraint, signal, tags);
      const cached = await this.#cache.find(repository, chart, version);
      if (cached) return { name: chart, version, archive: cached };
      const digest = await registry.digestOf(version, signal);
      const archive = await registry.archive(version, digest, signal);
      // The cache is keyed by the archive's own digest (the layer's, checked by the client).
      const path = await this.#cache.put(repository, chart, version, sha256Of(archive), archive);
      return { name: chart, version, archive: path };
    } finally {
      const { requests, bytes } = registry.client.stats();
      this.#counter.requests += requests;
      this.#counter.bytes += bytes;
      registry.client.close();
    }
  }

  /** The repository's index: asked again conditionally, the kept copy when unchanged or unreachable. */
  async #index(
    repo: HttpChartRepository,
    repository: string,
    chart: string,
    constraint: string | undefined,
    signal: AbortSignal,
  ): Promise<RepositoryIndex> {
    const kept = await this.#cache.index(repository);
    try {
      const answer = await repo.index({ chart, version: constraint }, kept?.validators, signal);
      if (!answer.changed && kept) return parseRepositoryIndex(kept.text);
      if (answer.changed) {
        await this.#cache.putIndex(repository, { text: answer.text, validators: answer.validators });
        return answer.index;
      }
    } catch (error) {
      if (signal.aborted || !(error instanceof RepositoryProblem) || error.kind !== 'unreachable' || !kept)
        throw error;
      return parseRepositoryIndex(kept.text);
    }
    const fresh = await repo.index({ chart, version: constraint }, undefined, signal);
    if (!fresh.changed) throw new Error('the repository answered 304 to an unconditional request');
    await this.#cache.putIndex(repository, { text: fresh.text, validators: fresh.validators });
    return fresh.index;
  }
}
