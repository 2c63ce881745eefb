import { byManifestOrder, summarizeProblems } from './summary.js';
import type { InventoryEntry } from './types.js';

/**
 * Typed errors. Every error carries a stable `code` (for programs) and a message that names the
 * file, document, line and object where they are known (for people). Messages never contain
 * credentials or secret values: callers pass only locations and object references.
 */

/**
 * The stage of a reconcile in which an error happened. "Stage" means this and only this in core: a
 * step of one pass, in the order a pass runs them: `source` (fetch), `render`, `validation`
 * (the whole-set dry-run), `apply`, `prune`, `health` (the wait, and the rollback's wait), and
 * `reconcile` for the pass itself (state load and save, plan, empty-set guard, timeout, abort,
 * options). `conflict` marks a write refused because another owner holds the object. The order a
 * target writes kinds in (CRDs and Namespaces first) is not a stage.
 */
export type Stage =
  | 'source'
  | 'render'
  | 'validation'
  | 'apply'
  | 'prune'
  | 'health'
  | 'conflict'
  | 'reconcile';

/** Where in the artifact a problem was found. Every field is optional: fill what is known. */
export interface ErrorLocation {
  /** Path of the file, relative to the artifact root. */
  readonly file?: string;
  /** Zero-based index of the YAML document inside the file. */
  readonly documentIndex?: number;
  /** One-based line number inside the file. */
  readonly line?: number;
  /** One-based column number inside the line. */
  readonly column?: number;
  /** The object, formatted as `apps/v1 Deployment ns/name`. */
  readonly object?: string;
}

/** Options accepted by every {@link GitOpsError} constructor. */
export interface GitOpsErrorOptions {
  /** Where the problem is (file, document, line, object), when known. */
  readonly location?: ErrorLocation;
  /** The underlying error, kept as `cause` (it must carry no credential or Secret value). */
  readonly cause?: unknown;
}

/** Formats a location as `file:line (document N) object`, omitting what is unknown. */
export function formatLocation(location: ErrorLocation | undefined): string {
  if (!location) return '';
  const parts: string[] = [];
  if (location.file !== undefined) {
    let place = location.file;
    if (location.line !== undefined) place += `:${location.line}`;
    if (location.line !== undefined && location.column !== undefined) place += `:${location.column}`;
    parts.push(place);
  }
  if (location.documentIndex !== undefined) parts.push(`(document ${location.documentIndex})`);
  if (location.object !== undefined) parts.push(location.object);
  return parts.join(' ');
}

/** The base class of every error gitops-kit throws. */
export class GitOpsError extends Error {
  /** A stable, machine-readable code such as `RENDER_DUPLICATE_OBJECT`. */
  readonly code: string;
  /** The reconcile stage the error belongs to. */
  readonly stage: Stage;
  /** Where the problem is, when known. */
  readonly location: ErrorLocation | undefined;

  constructor(stage: Stage, code: string, message: string, options: GitOpsErrorOptions = {}) {
    const where = formatLocation(options.location);
    super(
      where ? `${where}: ${message}` : message,
      options.cause === undefined ? {} : { cause: options.cause },
    );
    this.name = new.target.name;
    this.code = code;
    this.stage = stage;
    this.location = options.location;
  }
}

/** A source could not produce an artifact (network, auth, missing ref, limits, unsafe content). */
export class SourceError extends GitOpsError {
  constructor(code: string, message: string, options?: GitOpsErrorOptions) {
    super('source', code, message, options);
  }
}

/** The artifact could not be turned into manifests (bad YAML, missing fields, duplicates, tool failure). */
export class RenderError extends GitOpsError {
  constructor(code: string, message: string, options?: GitOpsErrorOptions) {
    super('render', code, message, options);
  }
}

/** One problem found while validating a set of manifests. */
export interface ValidationIssue {
  /** What is wrong, as the target (for example the apiserver) said it. */
  readonly message: string;
  /** The manifest it concerns, when known. */
  readonly location?: ErrorLocation;
}

/**
 * The rendered set is not valid for the target (for example a server-side dry-run refused some
 * objects). All issues are reported together; nothing was written.
 */
export class ValidationError extends GitOpsError {
  /** Every problem found, in manifest order. */
  readonly issues: readonly ValidationIssue[];

  /**
   * @param issues every refused object; kept whole (in manifest order, so the same set gives the
   * same error every time) while the message shows counts and the first few, grouped by reason.
   */
  constructor(code: string, issues: readonly ValidationIssue[], options: GitOpsErrorOptions = {}) {
    const ordered = [...issues].sort(byManifestOrder);
    const lines = summarizeProblems(
      ordered.map((issue) => ({ message: issue.message, where: formatLocation(issue.location) })),
    );
    const summary = `${issues.length} object${issues.length === 1 ? '' : 's'} failed validation`;
    super('validation', code, `${summary}:\n  ${lines.join('\n  ')}`, options);
    this.issues = ordered;
  }
}

/** Writing to the target failed. `applied` lists what was written before the failure. */
export class ApplyError extends GitOpsError {
  /** Objects that were written before the failure, so they stay owned and recoverable. */
  readonly applied: readonly InventoryEntry[];
  /** Every object that failed, with its place and reason (the message shows the first few). */
  readonly issues: readonly ValidationIssue[];

  constructor(
    code: string,
    message: string,
    options: GitOpsErrorOptions & {
      applied?: readonly InventoryEntry[];
      issues?: readonly ValidationIssue[];
    } = {},
  ) {
    super('apply', code, message, options);
    this.applied = options.applied ?? [];
    this.issues = options.issues ?? [];
  }
}

/** Deleting objects that left the desired set failed for some of them. */
export class PruneError extends GitOpsError {
  constructor(code: string, message: string, options?: GitOpsErrorOptions) {
    super('prune', code, message, options);
  }
}

/** Objects did not become healthy (failed, or still in progress at the deadline). */
export class HealthError extends GitOpsError {
  constructor(code: string, message: string, options?: GitOpsErrorOptions) {
    super('health', code, message, options);
  }
}

/** Another writer owns what we want to change (field manager conflict, foreign object). */
export class ConflictError extends GitOpsError {
  constructor(code: string, message: string, options?: GitOpsErrorOptions) {
    super('conflict', code, message, options);
  }
}

/** A reconcile-level refusal or interruption (empty set guard, abort, timeout, suspended). */
export class ReconcileError extends GitOpsError {
  constructor(code: string, message: string, options?: GitOpsErrorOptions) {
    super('reconcile', code, message, options);
  }
}

/**
 * A webhook receiver configured so it would let anyone in (an empty secret, no provider at all).
 * Thrown by `createWebhookHandler` when it is created, never per request.
 */
export class WebhookConfigError extends GitOpsError {
  constructor(code: string, message: string, options?: GitOpsErrorOptions) {
    super('reconcile', code, message, options);
  }
}

/**
 * Every error code core throws, in one place. A code never changes once released; its key is the
 * condition reason a reconciler reports for it (`reasonOf`). Adapters keep their own codes in their
 * package's `errors.ts`, prefixed with the stage they belong to.
 */
export const ErrorCodes = {
  // source: fetching an artifact
  /** The source could not be read (network, Git or bucket failure, unreadable folder); the message and cause say why. */
  SourceFetchFailed: 'SOURCE_FETCH_FAILED',
  /** What the source points at does not exist (folder, branch, tag, bucket prefix, stored artifact) or nothing was committed yet. */
  SourceNotFound: 'SOURCE_NOT_FOUND',
  /** The source cannot serve the revision asked for (no history, or the revision is gone). */
  SourceRevisionUnavailable: 'SOURCE_REVISION_UNAVAILABLE',
  /** The artifact would exceed its `ArtifactLimits` (`maxFiles`, `maxFileBytes` or `maxTotalBytes`). */
  SourceLimitExceeded: 'SOURCE_LIMIT_EXCEEDED',
  /** A path of the artifact would leave its folder (`..`, absolute, a symbolic link outward) or is given twice. */
  SourceUnsafePath: 'SOURCE_UNSAFE_PATH',
  // render: turning an artifact into manifests
  /** A manifest file is not valid YAML (or JSON); the location gives file and line. */
  RenderYamlInvalid: 'RENDER_YAML_INVALID',
  /** An object lacks a field every object needs (`apiVersion`, `kind`, `metadata.name`). */
  RenderMissingField: 'RENDER_MISSING_FIELD',
  /** An object's field has the wrong type or form (a `kind` that is not a string, a document that is not a mapping). */
  RenderInvalidObject: 'RENDER_INVALID_OBJECT',
  /** Two manifests declare the same object (same group, kind, namespace and name). */
  RenderDuplicateObject: 'RENDER_DUPLICATE_OBJECT',
  /** A manifest file is larger than the renderer's per-file byte limit. */
  RenderFileTooLarge: 'RENDER_FILE_TOO_LARGE',
  /** A YAML document expands more aliases than `maxAliasCount` allows (a possible alias bomb). */
  RenderAliasLimit: 'RENDER_ALIAS_LIMIT',
  /** A file selected as a manifest is not UTF-8 text. */
  RenderBinaryFile: 'RENDER_BINARY_FILE',
  /** A path the renderer was given does not exist in the artifact or leads outside it (no `Chart.yaml` for Helm). */
  RenderPathNotFound: 'RENDER_PATH_NOT_FOUND',
  /** kustomize or helm could not be started, ran past its timeout or output limit, or exited non-zero (the message holds its cleaned error output). */
  RenderToolFailed: 'RENDER_TOOL_FAILED',
  /** kustomize or helm is not installed (not on PATH nor at the configured path). */
  RenderToolMissing: 'RENDER_TOOL_MISSING',
  /** A `${var}` substitution names a variable that has no value and no default. */
  RenderUndefinedVariable: 'RENDER_UNDEFINED_VARIABLE',
  /** A symbolic link in the artifact leads outside it. */
  RenderUnsafePath: 'RENDER_UNSAFE_PATH',
  /** A folder holds more manifest files than the renderer's `maxFiles`. */
  RenderTooManyFiles: 'RENDER_TOO_MANY_FILES',
  /** A folder of the artifact cannot be read (permissions, removed while rendering). */
  RenderUnreadable: 'RENDER_UNREADABLE',
  /** A substitution variable has a name that cannot be referenced (`a-b`, `1x`). */
  RenderInvalidVariable: 'RENDER_INVALID_VARIABLE',
  // validation, apply, prune, health
  /** The target refused the desired objects before any write (dry-run, unknown kind, tenant restriction); the issues list each object. */
  ValidationFailed: 'VALIDATION_FAILED',
  /** Writing one or more objects to the target failed; the message names them and why. */
  ApplyFailed: 'APPLY_FAILED',
  /** One or more objects that left the desired set could not be deleted; they stay in the inventory for the next pass. */
  PruneFailed: 'PRUNE_FAILED',
  /** An applied object reached a Failed health status (or the health check itself failed). */
  HealthFailed: 'HEALTH_FAILED',
  /** The applied objects were not all Current within `healthTimeout`. */
  HealthTimeout: 'HEALTH_TIMEOUT',
  // reconcile: the pass itself, its state and its options
  /** The desired set is empty while objects are in the inventory: the pass refuses to prune everything (see `allowEmpty`). */
  EmptySetRefused: 'RECONCILE_EMPTY_SET_REFUSED',
  /** The pass was stopped by its abort signal (the reconciler was stopped or the caller aborted). */
  Aborted: 'RECONCILE_ABORTED',
  /** The whole pass took longer than the reconciler's `timeout`. */
  Timeout: 'RECONCILE_TIMEOUT',
  /** Something not typed went wrong inside a pass (a defect): the cause says what. */
  Failed: 'RECONCILE_FAILED',
  /** The reconciler's stored state could not be read or decoded from its `StateStore`. */
  StateLoadFailed: 'RECONCILE_STATE_LOAD_FAILED',
  /** The reconciler's state could not be written to its `StateStore`. */
  StateSaveFailed: 'RECONCILE_STATE_SAVE_FAILED',
  /** The target could not compute a plan (live reads or discovery failed). */
  PlanFailed: 'RECONCILE_PLAN_FAILED',
  /** A hook failed or did not complete in time: the pass stops and SyncFail hooks run. */
  HookFailed: 'RECONCILE_HOOK_FAILED',
  /** The Manager's `dependsOn` relations form a cycle; the message names the reconcilers in it. */
  DependencyCycle: 'RECONCILE_DEPENDENCY_CYCLE',
  /** A reconciler's `dependsOn` names a reconciler the Manager does not have. */
  DependencyMissing: 'RECONCILE_DEPENDENCY_MISSING',
  /** An option of a Reconciler, Manager or Semaphore cannot work; {@link OptionError} names it. */
  InvalidOption: 'RECONCILE_INVALID_OPTION',
  /** A Manager already has a reconciler of that name. */
  DuplicateName: 'RECONCILE_DUPLICATE_NAME',
  /** A Manager cannot remove a reconciler others depend on. */
  DependedOn: 'RECONCILE_DEPENDED_ON',
  /** A Manager was asked for a reconciler name it does not have. */
  UnknownReconciler: 'RECONCILE_UNKNOWN_RECONCILER',
  /** A wait on a test's `ManualClock` was never driven (see {@link ClockNotAdvancedError}). */
  ClockNotAdvanced: 'RECONCILE_CLOCK_NOT_ADVANCED',
  /** A stored state is not a gitops-kit state (wrong shape, not JSON); the message names where it is. */
  StateInvalid: 'RECONCILE_STATE_INVALID',
  /** A webhook provider was configured with an empty secret or token (anyone could sign). */
  WebhookSecretEmpty: 'WEBHOOK_SECRET_EMPTY',
  /** A webhook handler was created with no provider at all. */
  WebhookNoProvider: 'WEBHOOK_NO_PROVIDER',
  /** A kustomization names a remote resource, base, component, file or chart whose host is not allowed. */
  RenderRemoteResource: 'RENDER_REMOTE_RESOURCE',
  /** A Helm chart declares dependencies that are neither vendored in `charts/` nor resolvable: no dependency resolver is configured. */
  RenderHelmDependencyMissing: 'RENDER_HELM_DEPENDENCY_MISSING',
  /** A conformance check (`@gitops-kit/core/conformance`) found a broken contract; the error names the check. */
  ConformanceCheckFailed: 'CONFORMANCE_CHECK_FAILED',
} as const;

/**
 * An option cannot work: missing, of the wrong kind, out of range, or at odds with another option.
 * Thrown at construction, so a mistake shows before the first pass. `options` names the option or
 * options at fault, as they are spelt in the options object.
 */
export class OptionError extends GitOpsError {
  /** The options at fault (`['target.plan']`, `['healthTimeout', 'timeout']`). */
  readonly options: readonly string[];

  constructor(options: readonly string[], message: string, errorOptions?: GitOpsErrorOptions) {
    super('reconcile', ErrorCodes.InvalidOption, message, errorOptions);
    this.options = options;
  }
}

/**
 * A wait on a `ManualClock` (a health poll, a retry) stayed pending for a stretch of real time while
 * nothing advanced the clock: without this the pass would hang until the test runner's timeout. The
 * message says how to drive the clock.
 */
export class ClockNotAdvancedError extends GitOpsError {
  constructor(message: string) {
    super('reconcile', ErrorCodes.ClockNotAdvanced, message);
  }
}

/** Wraps anything thrown into a {@link GitOpsError} of the given stage, keeping typed errors as they are. */
export function toGitOpsError(error: unknown, stage: Stage, code: string): GitOpsError {
  if (error instanceof GitOpsError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new GitOpsError(stage, code, message, { cause: error });
}

/**
 * A Source, Renderer or Target broke a contract the Reconciler relies on, as found by a check of
 * `@gitops-kit/core/conformance`. `check` is the check's stable name (`target/apply-is-idempotent`);
 * the stage is the one the check exercises.
 */
export class ConformanceError extends GitOpsError {
  /** The check that failed, `<kit>/<check>`. */
  readonly check: string;

  constructor(stage: Stage, check: string, message: string, options?: GitOpsErrorOptions) {
    super(stage, ErrorCodes.ConformanceCheckFailed, `${check}: ${message}`, options);
    this.check = check;
  }
}

/**
 * The codes of fleet orchestration (generators, progressive rollout, sharding). Kept apart from
 * {@link ErrorCodes} so the fleet's codes read as one group.
 */
export const FleetErrorCodes = {
  /** A generator could not list its clusters (a folder unreadable, a management cluster down). */
  GeneratorFailed: 'FLEET_GENERATOR_FAILED',
  /** A cluster definition cannot be used (no name, a bad kubeconfig, an unsupported auth method). */
  InvalidCluster: 'FLEET_INVALID_CLUSTER',
  /** Two generators (or two entries) name the same cluster. */
  DuplicateCluster: 'FLEET_DUPLICATE_CLUSTER',
  /** A cluster is pinned to a revision whose artifact the fleet no longer holds. */
  RevisionUnavailable: 'FLEET_REVISION_UNAVAILABLE',
  /** A rollout strategy cannot work (an empty wave, a percentage out of range). */
  InvalidStrategy: 'FLEET_INVALID_STRATEGY',
} as const;

/** A fleet could not list, build or roll out to its clusters. Messages never carry credentials. */
export class FleetError extends GitOpsError {
  constructor(code: string, message: string, options?: GitOpsErrorOptions) {
    super('reconcile', code, message, options);
  }
}
