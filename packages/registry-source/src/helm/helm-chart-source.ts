import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type Artifact,
  type ArtifactLimits,
  type ArtifactRecord,
  ArtifactStore,
  type FetchOptions,
  type ResolvedArtifactLimits,
  resolveArtifactLimits,
  type Source,
  type SourceChange,
} from '@gitops-kit/core';
import { ChartArchiveProblem, chartFiles } from './chart-archive.js';
import { type ChartBackend, httpChartBackend, type PollState } from './chart-backend.js';
import { HelmErrorCodes, HelmSourceError, RepositoryProblem, toHelmSourceError } from './errors.js';
import { displayUrl, type RegistryRequestStats, type RepositoryAuth, RequestCounter } from './http.js';
import { OciChartRepository, ociChartBackend } from './oci-chart.js';
import { isValidConstraint } from './versions.js';

/** Options of {@link HelmChartSource}. */
export interface HelmChartSourceOptions {
  /**
   * The repository: `https://charts.example.com/stable` (an `index.yaml` beside it) or
   * `oci://registry.example.com/charts` (the chart is `<url>/<chart>`).
   */
  readonly url: string;
  /** The chart's name. For `oci://` URLs it may be left out when the URL ends with it. */
  readonly chart?: string | undefined;
  /**
   * An exact version (`1.4.2`) or a semver range (`^1.4`, `>=1.0.0 <2.0.0`, Helm's comma form
   * `>=1.0, <2.0`); default the newest stable version, as Helm does.
   */
  readonly version?: string | undefined;
  /** Basic-auth credentials or a bearer token. */
  readonly auth?: RepositoryAuth | undefined;
  /** Send the credentials to chart URLs on other hosts than the repository's (Helm's `--pass-credentials`). Default false. */
  readonly passCredentials?: boolean | undefined;
  /** PEM CA certificate(s) to trust for HTTPS, instead of the system's. */
  readonly ca?: string | Buffer | undefined;
  /** Per-request timeout (default 30 s). */
  readonly requestTimeoutMs?: number | undefined;
  /**
   * Where artifacts are kept across restarts; default a folder under the OS temporary directory
   * named after URL, chart, version and limits. Sources of other charts or versions may share one:
   * each collects only its own artifacts.
   */
  readonly cacheDir?: string | undefined;
  /** Artifacts kept on disk, the current one included (default 2). */
  readonly keepArtifacts?: number | undefined;
  /** Caps on the unpacked chart (defaults: 5,000 files, 16 MiB a file, 64 MiB in all). */
  readonly limits?: ArtifactLimits | undefined;
  /** `oci://` over plain HTTP (`helm --plain-http`). Default false. */
  readonly plainHttp?: boolean | undefined;
  /** Skip TLS verification of an `oci://` registry (throwaway test registries only). */
  readonly insecureSkipTlsVerify?: boolean | undefined;
}

/** What a record keeps so a restarted process polls as cheaply as the last one. */
interface RecordData extends PollState {
  readonly settings: string;
}

const DEFAULT_LIMITS: ResolvedArtifactLimits = {
  maxFiles: 5_000,
  maxFileBytes: 16 * 1024 * 1024,
  maxTotalBytes: 64 * 1024 * 1024,
};

/** A folder name for a chart version and digest, ending with `-<owner>` (see {@link HelmChartSource}). */
function artifactName(chart: string, version: string, digest: string, owner: string): string {
  const safe = `${chart}-${version}`.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^[._-]+/, '');
  return `${safe || 'chart'}-${digest.replace(/^sha256:/, '').slice(0, 20)}-${owner}`;
}

/** A name of earlier versions, without owner (`<chart>-<version>-<20 hex>`); a name with one never ends so. */
const OWNERLESS_NAME = /-[0-9a-f]{20}$/;

/**
 * A Helm chart by name and version (or semver range) from an HTTP(S) chart repository or an OCI
 * registry: Flux's HelmRepository + HelmChart, Argo CD's `repoURL` + `chart` + `targetRevision`.
 * The artifact is the unpacked chart (render it with `HelmRenderer`); its revision is
 * `<version>@sha256:<digest>`: the archive's digest from `index.yaml`, or the OCI manifest's. A poll
 * that finds nothing new costs one request and downloads nothing (a conditional `index.yaml` GET
 * answered 304, or one manifest HEAD); a downloaded chart is checked against the digest it was
 * announced with, and a mismatch is a typed error that leaves the last artifact as it was.
 */
export class HelmChartSource implements Source {
  /** `helm <url> <chart>@<version>`, without credentials. */
  readonly description: string;
  /** The chart's name. */
  readonly chart: string;
  /** The version or range followed. */
  readonly version: string | undefined;
  readonly #backend: ChartBackend;
  readonly #oci: OciChartRepository | undefined;
  readonly #counter = new RequestCounter();
  readonly #store: ArtifactStore<RecordData>;
  readonly #keep: number;
  readonly #limits: ResolvedArtifactLimits;
  readonly #settings: string;
  /**
   * What the source follows (repository, chart, version or range): the end of every store name it
   * makes, so garbage collection in a shared folder takes only its own. Limits stay out of it: they
   * do not change an artifact, and a source whose limits change still collects what it made.
   */
  readonly #owner: string;
  readonly #url: string;
  #last: { artifact: Artifact; state: PollState } | undefined;
  #restored = false;
  #queue: Promise<unknown> = Promise.resolve();

  /** Checks the options; nothing is contacted until the first fetch. */
  constructor(options: HelmChartSourceOptions) {
    const isOci = options.url.startsWith('oci://');
    let url = options.url.replace(/\/+$/, '');
    let chart = options.chart;
    if (!chart && isOci) {
      const slash = url.lastIndexOf('/');
      chart = url.slice(slash + 1);
      url = url.slice(0, slash);
    }
    const subject = { chart: chart ?? '', version: options.version, url: displayUrl(options.url) };
    if (!chart || !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(chart)) {
      throw new HelmSourceError(
        HelmErrorCodes.InvalidOption,
        `HelmChartSource needs a chart name, got ${JSON.stringify(chart ?? '')}`,
        subject,
      );
    }
    if (options.version !== undefined && !isValidConstraint(options.version)) {
      throw new HelmSourceError(
        HelmErrorCodes.InvalidOption,
        `chart "${chart}": "${options.version}" is neither a version nor a semver range`,
        subject,
      );
    }
    if (!isOci && !/^https?:\/\//.test(url)) {
      throw new HelmSourceError(
        HelmErrorCodes.InvalidOption,
        `chart "${chart}": the repository URL must start with https://, http:// or oci://`,
        subject,
      );
    }
    this.chart = chart;
    this.version = options.version;
    this.#url = displayUrl(url);
    const settings = {
      auth: options.auth ?? credentialsOf(url),
      passCredentials: options.passCredentials,
      ca: options.ca,
      timeoutMs: options.requestTimeoutMs,
      counter: this.#counter,
    };
    this.#limits = resolveArtifactLimits(options.limits, DEFAULT_LIMITS).limits;
    if (isOci) {
      try {
        // The credentials of the URL are in `settings.auth`; the reference must not hold them.
        this.#oci = new OciChartRepository(
          stripCredentials(url),
          chart,
          {
            credentials: settings.auth,
            caPem: options.ca?.toString(),
            plainHttp: options.plainHttp,
            insecureSkipTlsVerify: options.insecureSkipTlsVerify,
          },
          this.#limits,
        );
      } catch (error) {
        throw new HelmSourceError(
          HelmErrorCodes.InvalidOption,
          `chart "${chart}": ${error instanceof Error ? error.message : String(error)}`,
          subject,
        );
      }
      this.#backend = ociChartBackend(this.#oci);
    } else this.#backend = httpChartBackend(stripCredentials(url), settings);
    this.description = `helm ${this.#backend.url.replace(/\/$/, '')} ${chart}@${options.version ?? '*'}`;
    this.#keep = Math.max(1, options.keepArtifacts ?? 2);
    this.#settings = JSON.stringify([this.#backend.url, chart, options.version ?? '', this.#limits]);
    this.#owner = createHash('sha256')
      .update(JSON.stringify([this.#backend.url, chart, options.version ?? '']))
      .digest('hex')
      .slice(0, 12);
    const cacheDir =
      options.cacheDir ??
      join(
        tmpdir(),
        'gitops-kit-helm',
        createHash('sha256').update(this.#settings).digest('hex').slice(0, 16),
      );
    this.#store = new ArtifactStore<RecordData>({ root: cacheDir });
  }

  /** Requests and body bytes used so far (index, manifests, archives). */
  stats(): RegistryRequestStats {
    if (!this.#oci) return this.#counter.snapshot();
    const { requests, bytes } = this.#oci.client.stats();
    return { requests, bytes };
  }

  /**
   * The current chart: one conditional request when nothing changed (the previous artifact comes
   * back as it is), else the chosen version downloaded, checked against its digest and unpacked.
   */
  fetch(options: FetchOptions): Promise<Artifact> {
    const run = this.#queue.then(() => this.#fetch(options));
    this.#queue = run.catch(() => undefined);
    return run;
  }

  /** Whether a change notification names this repository. */
  matches(change: SourceChange): boolean {
    if (!change.url) return false;
    const norm = (u: string): string => displayUrl(u).replace(/\/+$/, '');
    return norm(change.url) === norm(this.#url) || norm(change.url) === norm(`${this.#url}/${this.chart}`);
  }

  /** Deletes a replaced artifact from disk (not the current one). */
  async release(artifact: Artifact): Promise<void> {
    if (artifact.dir === this.#last?.artifact.dir) return;
    const name = artifact.dir.slice(this.#store.root.length + 1);
    if (name && !name.includes('/') && this.#owns(name))
      await this.#store.remove(name).catch(() => undefined);
  }

  async #fetch(options: FetchOptions): Promise<Artifact> {
    const { signal } = options;
    signal.throwIfAborted();
    await this.#restore();
    const subject = { chart: this.chart, version: this.version, url: this.#url };
    try {
      const answer = await this.#backend.poll(this.chart, this.version, this.#last?.state, signal);
      if (answer.unchanged && this.#last) {
        if (answer.validators)
          this.#last = { ...this.#last, state: { ...this.#last.state, validators: answer.validators } };
        return this.#last.artifact;
      }
      if (answer.unchanged) throw new Error('the repository reported no change before any chart was fetched');
      const state: PollState = {
        version: answer.version,
        digest: answer.digest,
        validators: answer.validators,
      };
      const name = artifactName(this.chart, answer.version, answer.digest, this.#owner);
      const revision = `${answer.version}@${answer.digest}`;
      let record = await this.#store.get(name);
      if (!record || record.revision !== revision) {
        const archive = await answer.archive(signal);
        const files = await chartFiles(archive, this.#limits);
        record = await this.#store.write(files, {
          name,
          revision,
          data: { ...state, settings: this.#settings },
          signal,
        });
      } else {
        record = await this.#store.touch(name);
      }
      const artifact = this.#artifactOf(record, state.version);
      this.#last = { artifact, state };
      await this.#store.collectGarbage({
        keep: this.#keep,
        current: name,
        protect: [nameOf(options.previous, this.#store)],
        owns: (stored) => this.#owns(stored),
      });
      return artifact;
    } catch (error) {
      if (signal.aborted) throw signal.reason;
      if (error instanceof ChartArchiveProblem) {
        throw new HelmSourceError(
          HelmErrorCodes.Invalid,
          `chart "${this.chart}" from ${this.#url}: ${error.message}`,
          subject,
        );
      }
      if (error instanceof RepositoryProblem) throw toHelmSourceError(error, subject);
      throw toHelmSourceError(error, subject);
    }
  }

  /**
   * Whether garbage collection may take `name`: one this source made, or one named as earlier
   * versions named them, which no source serves any more (`#restore` does not take them up).
   */
  #owns(name: string): boolean {
    return name.endsWith(`-${this.#owner}`) || OWNERLESS_NAME.test(name);
  }

  /** After a restart: the newest artifact of these settings, so the first poll can be conditional. */
  async #restore(): Promise<void> {
    if (this.#restored) return;
    this.#restored = true;
    // Only names of this source: an ownerless one may be collected by another source at any time.
    const records = await this.#store.list((name) => name.endsWith(`-${this.#owner}`));
    const record = records.find((r) => r.data?.settings === this.#settings);
    if (!record?.data) return;
    const { version, digest, validators } = record.data;
    this.#last = { artifact: this.#artifactOf(record, version), state: { version, digest, validators } };
  }

  #artifactOf(record: ArtifactRecord<RecordData>, version: string): Artifact {
    return {
      revision: record.revision,
      digest: record.digest,
      dir: this.#store.dirOf(record.name),
      meta: { origin: `${this.#url}/${this.chart}`, message: `${this.chart} ${version}` },
    };
  }
}

function nameOf(artifact: Artifact | undefined, store: ArtifactStore<RecordData>): string | undefined {
  if (!artifact?.dir.startsWith(`${store.root}/`)) return undefined;
  return artifact.dir.slice(store.root.length + 1);
}

/** Credentials written into the URL (`https://user:pass@host/`), which Helm also accepts. */
function credentialsOf(url: string): RepositoryAuth | undefined {
  try {
    const parsed = new URL(url);
    if (!parsed.username) return undefined;
    return { username: decodeURIComponent(parsed.username), password: decodeURIComponent(parsed.password) };
  } catch {
    return undefined;
  }
}

/** The URL without user name and password. Never throws: the error of `new URL` would quote the input. */
function stripCredentials(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.username = '';
    parsed.password = '';
    return parsed.toString();
  } catch {
    return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/]*@/i, '$1');
  }
}
