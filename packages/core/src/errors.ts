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

  constructor(
    code: string,
    message: string,
    options: GitOpsErrorOptions & { applied?: readonly InventoryEntry[] } = {},
  ) {
    super('apply', code, message, options);
    this.applied = options.applied ?? [];
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
  SourceFetchFailed: 'SOURCE_FETCH_FAILED',
  SourceNotFound: 'SOURCE_NOT_FOUND',
  /** The source cannot serve the revision asked for (no history, or the revision is gone). */
  SourceRevisionUnavailable: 'SOURCE_REVISION_UNAVAILABLE',
  SourceLimitExceeded: 'SOURCE_LIMIT_EXCEEDED',
  SourceUnsafePath: 'SOURCE_UNSAFE_PATH',
  // render: turning an artifact into manifests
  RenderYamlInvalid: 'RENDER_YAML_INVALID',
  RenderMissingField: 'RENDER_MISSING_FIELD',
  RenderInvalidObject: 'RENDER_INVALID_OBJECT',
  RenderDuplicateObject: 'RENDER_DUPLICATE_OBJECT',
  RenderFileTooLarge: 'RENDER_FILE_TOO_LARGE',
  RenderAliasLimit: 'RENDER_ALIAS_LIMIT',
  RenderBinaryFile: 'RENDER_BINARY_FILE',
  RenderPathNotFound: 'RENDER_PATH_NOT_FOUND',
  RenderToolFailed: 'RENDER_TOOL_FAILED',
  RenderToolMissing: 'RENDER_TOOL_MISSING',
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
  ValidationFailed: 'VALIDATION_FAILED',
  ApplyFailed: 'APPLY_FAILED',
  PruneFailed: 'PRUNE_FAILED',
  HealthFailed: 'HEALTH_FAILED',
  HealthTimeout: 'HEALTH_TIMEOUT',
  // reconcile: the pass itself, its state and its options
  EmptySetRefused: 'RECONCILE_EMPTY_SET_REFUSED',
  Aborted: 'RECONCILE_ABORTED',
  Timeout: 'RECONCILE_TIMEOUT',
  /** Something not typed went wrong inside a pass (a defect): the cause says what. */
  Failed: 'RECONCILE_FAILED',
  StateLoadFailed: 'RECONCILE_STATE_LOAD_FAILED',
  StateSaveFailed: 'RECONCILE_STATE_SAVE_FAILED',
  PlanFailed: 'RECONCILE_PLAN_FAILED',
  /** A hook failed or did not complete in time: the pass stops and SyncFail hooks run. */
  HookFailed: 'RECONCILE_HOOK_FAILED',
  DependencyCycle: 'RECONCILE_DEPENDENCY_CYCLE',
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
