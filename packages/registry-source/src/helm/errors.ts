import { GitOpsError, RenderError, SourceError } from '@gitops-kit/core';

/**
 * Error codes of the Helm side of the registry sources: `SOURCE_HELM_*` for {@link HelmChartSource}
 * fetches, `RENDER_HELM_DEPENDENCY_*` for dependencies resolved while a chart renders.
 */
export const HelmErrorCodes = {
  /** The repository has no chart of that name (absent from `index.yaml`, or no such OCI repository). */
  ChartNotFound: 'SOURCE_HELM_CHART_NOT_FOUND',
  /** The chart exists but no version matches the version or semver range asked for. */
  VersionNotFound: 'SOURCE_HELM_VERSION_NOT_FOUND',
  /** The repository refused the credentials (HTTP 401/403). */
  AuthFailed: 'SOURCE_HELM_AUTH_FAILED',
  /** The repository could not be reached (connection refused, DNS, TLS, timeout, HTTP 5xx). */
  Unreachable: 'SOURCE_HELM_UNREACHABLE',
  /** The downloaded chart does not have the digest the index or manifest names: nothing is used. */
  DigestMismatch: 'SOURCE_HELM_DIGEST_MISMATCH',
  /** `index.yaml`, the OCI manifest or the chart archive cannot be read as what it should be. */
  Invalid: 'SOURCE_HELM_INVALID',
  /** An option cannot work (no chart name, a bad URL or semver range). */
  InvalidOption: 'SOURCE_HELM_INVALID_OPTION',
  /** A dependency of a rendered chart could not be found (chart or version) in its repository. */
  DependencyNotFound: 'RENDER_HELM_DEPENDENCY_NOT_FOUND',
  /** A dependency's repository refused the credentials. */
  DependencyAuthFailed: 'RENDER_HELM_DEPENDENCY_AUTH_FAILED',
  /** A dependency's repository could not be reached and nothing usable is cached. */
  DependencyUnreachable: 'RENDER_HELM_DEPENDENCY_UNREACHABLE',
  /** A downloaded dependency does not have the digest its index or manifest names. */
  DependencyDigestMismatch: 'RENDER_HELM_DEPENDENCY_DIGEST_MISMATCH',
  /** `Chart.lock` does not match the dependencies of `Chart.yaml` (run `helm dependency update`). */
  LockOutOfSync: 'RENDER_HELM_LOCK_OUT_OF_SYNC',
  /** A dependency names a repository the resolver cannot use (`@name` unknown, a scheme not supported). */
  DependencyInvalid: 'RENDER_HELM_DEPENDENCY_INVALID',
} as const;

/** What a Helm registry error is about: the chart, its version or range, and the URL (no credentials). */
export interface HelmErrorSubject {
  /** The chart's name. */
  readonly chart: string;
  /** The version or range asked for, or the version found. */
  readonly version?: string | undefined;
  /** The repository or chart URL, without credentials. */
  readonly url: string;
}

/** A {@link HelmChartSource} fetch failed; `chart`, `version` and `url` say what was asked of where. */
export class HelmSourceError extends SourceError {
  /** The chart's name. */
  readonly chart: string;
  /** The version or range asked for, when one was. */
  readonly version: string | undefined;
  /** The repository URL, without credentials. */
  readonly url: string;

  constructor(code: string, message: string, subject: HelmErrorSubject, options?: { cause?: unknown }) {
    super(code, message, options);
    this.chart = subject.chart;
    this.version = subject.version;
    this.url = subject.url;
  }
}

/** A dependency of a chart being rendered could not be resolved; names the dependency and its repository. */
export class HelmDependencyError extends RenderError {
  /** The dependency's chart name. */
  readonly chart: string;
  /** Its version or range. */
  readonly version: string | undefined;
  /** Its repository URL, without credentials. */
  readonly url: string;

  constructor(
    code: string,
    message: string,
    subject: HelmErrorSubject,
    options?: { cause?: unknown; location?: { file: string } },
  ) {
    super(code, message, options);
    this.chart = subject.chart;
    this.version = subject.version;
    this.url = subject.url;
  }
}

/** The kinds of repository failure, shared by the source and the dependency resolver. */
export type ProblemKind = 'chart' | 'version' | 'auth' | 'unreachable' | 'digest' | 'invalid' | 'option';

/**
 * A failure of the repository layer before it is given its stage: the source turns it into a
 * {@link HelmSourceError}, the dependency resolver into a {@link HelmDependencyError}. Internal.
 */
export class RepositoryProblem extends GitOpsError {
  readonly kind: ProblemKind;
  readonly subject: HelmErrorSubject;

  constructor(kind: ProblemKind, message: string, subject: HelmErrorSubject, cause?: unknown) {
    super('source', `HELM_${kind.toUpperCase()}`, message, cause === undefined ? {} : { cause });
    this.kind = kind;
    this.subject = subject;
  }
}

const SOURCE_CODES: Record<ProblemKind, string> = {
  chart: HelmErrorCodes.ChartNotFound,
  version: HelmErrorCodes.VersionNotFound,
  auth: HelmErrorCodes.AuthFailed,
  unreachable: HelmErrorCodes.Unreachable,
  digest: HelmErrorCodes.DigestMismatch,
  invalid: HelmErrorCodes.Invalid,
  option: HelmErrorCodes.InvalidOption,
};

const DEPENDENCY_CODES: Record<ProblemKind, string> = {
  chart: HelmErrorCodes.DependencyNotFound,
  version: HelmErrorCodes.DependencyNotFound,
  auth: HelmErrorCodes.DependencyAuthFailed,
  unreachable: HelmErrorCodes.DependencyUnreachable,
  digest: HelmErrorCodes.DependencyDigestMismatch,
  invalid: HelmErrorCodes.DependencyInvalid,
  option: HelmErrorCodes.DependencyInvalid,
};

/** The source-stage error of a repository problem (other errors pass through as fetch failures). */
export function toHelmSourceError(error: unknown, subject: HelmErrorSubject): GitOpsError {
  if (error instanceof RepositoryProblem) {
    return new HelmSourceError(SOURCE_CODES[error.kind], error.message, error.subject, {
      cause: error.cause,
    });
  }
  if (error instanceof GitOpsError) return error;
  return new HelmSourceError(
    HelmErrorCodes.Unreachable,
    `chart ${subject.chart} from ${subject.url}: ${error instanceof Error ? error.message : String(error)}`,
    subject,
  );
}

/** The render-stage error of a repository problem met while resolving a dependency of `chartFile`. */
export function toHelmDependencyError(
  error: unknown,
  subject: HelmErrorSubject,
  chartFile: string,
): GitOpsError {
  const location = { file: chartFile };
  if (error instanceof RepositoryProblem) {
    return new HelmDependencyError(
      DEPENDENCY_CODES[error.kind],
      `dependency ${error.message}`,
      error.subject,
      { cause: error.cause, location },
    );
  }
  if (error instanceof GitOpsError) return error;
  return new HelmDependencyError(
    HelmErrorCodes.DependencyUnreachable,
    `dependency ${subject.chart} ${subject.version ?? ''} from ${subject.url}: ${error instanceof Error ? error.message : String(error)}`,
    subject,
    { location },
  );
}
