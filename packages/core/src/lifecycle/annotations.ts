/**
 * The lifecycle annotations of Argo CD and Helm, read the way those tools read them, and the few
 * places where gitops-kit is stricter on purpose: Argo CD and Helm silently ignore a value they do
 * not know (an Argo hook `presync` then never runs, a wave `"one"` becomes wave 0, a Helm hook
 * `pre-instal` drops the object from the release). Here such a value is a typed `RenderError` naming
 * the file, line and object, because a silently ignored lifecycle annotation changes what gets
 * written, in which order, or what gets deleted.
 */
import { type ErrorLocation, RenderError } from '../errors.js';
import { LifecycleErrorCodes } from './codes.js';
import { type LifecyclePhase, lifecyclePhaseOrder } from './phases.js';

/** The annotation keys this module reads. */
export const LifecycleAnnotations = {
  /** Argo CD: the phases a hook runs in (`PreSync`, `Sync`, `PostSync`, `SyncFail`, `PostDelete`, `Skip`). */
  argoHook: 'argocd.argoproj.io/hook',
  /** Argo CD: the object's wave, an integer (default 0). */
  argoSyncWave: 'argocd.argoproj.io/sync-wave',
  /** Argo CD: when a hook object is deleted. */
  argoHookDeletePolicy: 'argocd.argoproj.io/hook-delete-policy',
  /** Argo CD: per-object sync options (`Prune=false`, `Replace=true`, …). */
  argoSyncOptions: 'argocd.argoproj.io/sync-options',
  /** Helm: the hook events an object runs on (`pre-install`, `post-upgrade`, …). */
  helmHook: 'helm.sh/hook',
  /** Helm: the order of hooks within an event (ascending). */
  helmHookWeight: 'helm.sh/hook-weight',
  /** Helm: when a hook object is deleted. */
  helmHookDeletePolicy: 'helm.sh/hook-delete-policy',
  /** Helm: `keep` leaves the object in place on uninstall and prune. */
  helmResourcePolicy: 'helm.sh/resource-policy',
} as const;

/** An Argo CD hook type, as written in `argocd.argoproj.io/hook`. */
export type ArgoHookType = LifecyclePhase | 'Skip';

/** A Helm hook event, as written in `helm.sh/hook` (`test-success` is read as `test`, as Helm does). */
export type HelmHookEvent =
  | 'pre-install'
  | 'post-install'
  | 'pre-upgrade'
  | 'post-upgrade'
  | 'pre-delete'
  | 'post-delete'
  | 'pre-rollback'
  | 'post-rollback'
  | 'test';

/**
 * A hook delete policy in Argo CD's spelling (Helm's `hook-succeeded`, `hook-failed` and
 * `before-hook-creation` map onto the first three). `Never` is Argo CD's newest policy: keep the hook
 * object and update it in place.
 */
export type HookDeletePolicy = 'HookSucceeded' | 'HookFailed' | 'BeforeHookCreation' | 'Never';

/** The per-object entries of `argocd.argoproj.io/sync-options`. */
export interface ObjectSyncOptions {
  /** `Prune=false`: never pruned (`disabled`); `Prune=confirm`: pruned only once someone confirms. */
  readonly prune: 'allow' | 'disabled' | 'confirm';
  /** `Delete=false`: left in place when its owner is uninstalled; `Delete=confirm`: only once confirmed. */
  readonly delete: 'allow' | 'disabled' | 'confirm';
  /** `Replace=true`: replace (or create) instead of apply. */
  readonly replace: boolean;
  /** `Force=true`: delete and create again when an update is refused (with `Replace=true` or apply). */
  readonly force: boolean;
  /** `ServerSideApply=true|false`; undefined leaves the target's default. */
  readonly serverSideApply: boolean | undefined;
  /** `SkipDryRunOnMissingResource=true`: no dry-run when the kind is not served yet (its CRD comes in this sync). */
  readonly skipDryRunOnMissingResource: boolean;
  /** `Validate=false` turns schema validation off for this object. */
  readonly validate: boolean;
  /** `PruneLast=true`: pruned after every other object is pruned. */
  readonly pruneLast: boolean;
  /**
   * Well-formed entries that have no meaning on one object (Argo CD's Application-level options such as
   * `CreateNamespace=true`, or options gitops-kit does not know): ignored, as Argo CD ignores them.
   */
  readonly ignored: readonly string[];
}

/** The sync options of an object without the annotation. */
export const defaultSyncOptions: ObjectSyncOptions = Object.freeze({
  prune: 'allow',
  delete: 'allow',
  replace: false,
  force: false,
  serverSideApply: undefined,
  skipDryRunOnMissingResource: false,
  validate: true,
  pruneLast: false,
  ignored: Object.freeze([]) as readonly string[],
});

const ARGO_HOOK_TYPES: readonly ArgoHookType[] = [...lifecyclePhaseOrder, 'Skip'];

const HELM_EVENTS: ReadonlyMap<string, HelmHookEvent> = new Map<string, HelmHookEvent>([
  ['pre-install', 'pre-install'],
  ['post-install', 'post-install'],
  ['pre-upgrade', 'pre-upgrade'],
  ['post-upgrade', 'post-upgrade'],
  ['pre-delete', 'pre-delete'],
  ['post-delete', 'post-delete'],
  ['pre-rollback', 'pre-rollback'],
  ['post-rollback', 'post-rollback'],
  ['test', 'test'],
  // Helm 2's name for test hooks; Helm 3 still reads it as `test`.
  ['test-success', 'test'],
]);

const ARGO_DELETE_POLICIES: readonly HookDeletePolicy[] = [
  'HookSucceeded',
  'HookFailed',
  'BeforeHookCreation',
  'Never',
];

const HELM_DELETE_POLICIES: ReadonlyMap<string, HookDeletePolicy> = new Map<string, HookDeletePolicy>([
  ['hook-succeeded', 'HookSucceeded'],
  ['hook-failed', 'HookFailed'],
  ['before-hook-creation', 'BeforeHookCreation'],
]);

/** Annotations as they arrive from a parsed manifest: values should be strings but YAML may say otherwise. */
export type RawAnnotations = Readonly<Record<string, unknown>>;

/** What `readHooks` found: the Argo CD hook types or, when there are none, the Helm hook events. */
export interface HookAnnotations {
  /** Valid Argo CD hook types, deduplicated, in the order written. */
  readonly argo: readonly ArgoHookType[];
  /** Valid Helm hook events, deduplicated, in the order written. */
  readonly helm: readonly HelmHookEvent[];
  /** True when `helm.sh/hook` holds only `crd-install` (Helm 2's CRD hook): an ordinary object, as in Argo CD. */
  readonly helmCrdInstall: boolean;
}

function fail(code: string, message: string, where: ErrorLocation): RenderError {
  return new RenderError(code, message, { location: where });
}

/** A value for a message: quoted and cut short (lifecycle annotations hold no secrets, but may be long). */
function shown(value: string): string {
  return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
}

/** The string value of an annotation, undefined when absent; a non-string value is a typed error. */
function stringValue(annotations: RawAnnotations, key: string, where: ErrorLocation): string | undefined {
  const value = annotations[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') {
    const hint =
      typeof value === 'number' || typeof value === 'boolean' ? ` (quote it: "${String(value)}")` : '';
    throw fail(
      LifecycleErrorCodes.AnnotationNotString,
      `annotation ${key} must be a string, found ${typeof value}${hint}`,
      where,
    );
  }
  return value;
}

/** Comma-separated values, trimmed, empty entries dropped: how both tools split their lists. */
function csv(value: string): string[] {
  return value
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
}

/** A case-insensitive match among known spellings, for a "did you mean" hint. */
function suggestion(value: string, known: readonly string[]): string {
  const match = known.find((candidate) => candidate.toLowerCase() === value.toLowerCase());
  return match ? ` (did you mean ${match}?)` : '';
}

function unique<T>(values: readonly T[]): T[] {
  return [...new Set(values)];
}

/**
 * Reads `argocd.argoproj.io/hook` and `helm.sh/hook`. As in Argo CD, the Helm annotation is read only
 * when the Argo CD one names no hook type. Argo CD values are case-sensitive (`PreSync`); Helm values
 * are trimmed and lowercased as Helm does. Unknown values are typed errors.
 */
export function readHooks(annotations: RawAnnotations, where: ErrorLocation): HookAnnotations {
  const argoText = stringValue(annotations, LifecycleAnnotations.argoHook, where);
  const helmText = stringValue(annotations, LifecycleAnnotations.helmHook, where);
  // Both tools treat a present but empty hook annotation as a hook that never runs (Helm drops the
  // object): almost always a template that rendered nothing, so it is an error here.
  for (const [key, text] of [
    [LifecycleAnnotations.argoHook, argoText],
    [LifecycleAnnotations.helmHook, helmText],
  ] as const) {
    if (text !== undefined && csv(text).length === 0) {
      throw fail(LifecycleErrorCodes.InvalidHook, `${key} is empty`, where);
    }
  }
  const argo: ArgoHookType[] = [];
  for (const entry of argoText === undefined ? [] : csv(argoText)) {
    const type = ARGO_HOOK_TYPES.find((known) => known === entry);
    if (!type) {
      throw fail(
        LifecycleErrorCodes.InvalidHook,
        `${LifecycleAnnotations.argoHook} has unknown hook type ${shown(entry)}${suggestion(entry, ARGO_HOOK_TYPES)}; ` +
          `expected ${ARGO_HOOK_TYPES.join(', ')}`,
        where,
      );
    }
    argo.push(type);
  }
  const helm: HelmHookEvent[] = [];
  let crdInstall = false;
  for (const raw of helmText === undefined ? [] : csv(helmText)) {
    const entry = raw.toLowerCase();
    if (entry === 'crd-install') {
      crdInstall = true;
      continue;
    }
    const event = HELM_EVENTS.get(entry);
    if (!event) {
      throw fail(
        LifecycleErrorCodes.InvalidHook,
        `${LifecycleAnnotations.helmHook} has unknown hook ${shown(raw)}; expected ${[...HELM_EVENTS.keys()].join(', ')}`,
        where,
      );
    }
    helm.push(event);
  }
  const argoTypes = unique(argo);
  return {
    argo: argoTypes,
    helm: argoTypes.length > 0 ? [] : unique(helm),
    helmCrdInstall: argoTypes.length === 0 && crdInstall && helm.length === 0,
  };
}

/** An integer the way Go's `strconv.Atoi` reads one (optional sign, decimal digits), within the safe range. */
function parseInteger(text: string): number | undefined {
  if (!/^[+-]?\d+$/.test(text)) return undefined;
  const value = Number(text);
  return Number.isSafeInteger(value) ? value : undefined;
}

/**
 * The wave: `argocd.argoproj.io/sync-wave`, else `helm.sh/hook-weight` (Argo CD reads the Helm weight
 * as a wave too), else 0. Negative waves are allowed. A value that is not an integer is a typed error
 * (Argo CD and Helm would take 0 silently).
 */
export function readWave(annotations: RawAnnotations, where: ErrorLocation): number {
  for (const key of [LifecycleAnnotations.argoSyncWave, LifecycleAnnotations.helmHookWeight]) {
    const text = stringValue(annotations, key, where);
    if (text === undefined) continue;
    const wave = parseInteger(text);
    if (wave === undefined) {
      throw fail(LifecycleErrorCodes.InvalidWave, `${key} must be an integer, found ${shown(text)}`, where);
    }
    return wave;
  }
  return 0;
}

/**
 * The delete policies of a hook: Argo CD's and Helm's annotations together (as Argo CD merges them),
 * deduplicated; `BeforeHookCreation` when neither names one (the default of both tools). Argo CD
 * spellings are case-sensitive; Helm's are trimmed and lowercased as Helm does.
 */
export function readDeletePolicies(annotations: RawAnnotations, where: ErrorLocation): HookDeletePolicy[] {
  const policies: HookDeletePolicy[] = [];
  const argoText = stringValue(annotations, LifecycleAnnotations.argoHookDeletePolicy, where);
  for (const entry of argoText === undefined ? [] : csv(argoText)) {
    const policy = ARGO_DELETE_POLICIES.find((known) => known === entry);
    if (!policy) {
      throw fail(
        LifecycleErrorCodes.InvalidDeletePolicy,
        `${LifecycleAnnotations.argoHookDeletePolicy} has unknown policy ${shown(entry)}` +
          `${suggestion(entry, ARGO_DELETE_POLICIES)}; expected ${ARGO_DELETE_POLICIES.join(', ')}`,
        where,
      );
    }
    policies.push(policy);
  }
  const helmText = stringValue(annotations, LifecycleAnnotations.helmHookDeletePolicy, where);
  for (const raw of helmText === undefined ? [] : csv(helmText)) {
    const policy = HELM_DELETE_POLICIES.get(raw.toLowerCase());
    if (!policy) {
      throw fail(
        LifecycleErrorCodes.InvalidDeletePolicy,
        `${LifecycleAnnotations.helmHookDeletePolicy} has unknown policy ${shown(raw)}; ` +
          `expected ${[...HELM_DELETE_POLICIES.keys()].join(', ')}`,
        where,
      );
    }
    policies.push(policy);
  }
  return policies.length === 0 ? ['BeforeHookCreation'] : unique(policies);
}

type OptionReader = (value: string) => Partial<Omit<ObjectSyncOptions, 'ignored'>> | undefined;

const boolOption =
  (
    field: 'replace' | 'force' | 'skipDryRunOnMissingResource' | 'validate' | 'pruneLast' | 'serverSideApply',
  ) =>
  (value: string) =>
    value === 'true' ? { [field]: true } : value === 'false' ? { [field]: false } : undefined;

const guardOption = (field: 'prune' | 'delete') => (value: string) =>
  value === 'true'
    ? { [field]: 'allow' as const }
    : value === 'false'
      ? { [field]: 'disabled' as const }
      : value === 'confirm'
        ? { [field]: 'confirm' as const }
        : undefined;

/** The options Argo CD honours on one object, with how each value is read. */
const OBJECT_OPTIONS: ReadonlyMap<string, { readonly values: string; readonly read: OptionReader }> = new Map(
  [
    ['Prune', { values: 'true, false, confirm', read: guardOption('prune') }],
    ['Delete', { values: 'true, false, confirm', read: guardOption('delete') }],
    ['Replace', { values: 'true, false', read: boolOption('replace') }],
    ['Force', { values: 'true, false', read: boolOption('force') }],
    ['ServerSideApply', { values: 'true, false', read: boolOption('serverSideApply') }],
    [
      'SkipDryRunOnMissingResource',
      { values: 'true, false', read: boolOption('skipDryRunOnMissingResource') },
    ],
    ['Validate', { values: 'true, false', read: boolOption('validate') }],
    ['PruneLast', { values: 'true, false', read: boolOption('pruneLast') }],
  ],
);

/**
 * Reads `argocd.argoproj.io/sync-options`: comma-separated `Key=value` entries, trimmed. Keys and values
 * are case-sensitive as in Argo CD. An entry without `=`, a known key with a value it does not take, or
 * a known key in the wrong case (`prune=false`, which Argo CD would ignore and then prune) is a typed
 * error; other keys are recorded in `ignored`.
 */
export function readSyncOptions(annotations: RawAnnotations, where: ErrorLocation): ObjectSyncOptions {
  const text = stringValue(annotations, LifecycleAnnotations.argoSyncOptions, where);
  if (text === undefined) return defaultSyncOptions;
  const invalid = (message: string): RenderError =>
    fail(LifecycleErrorCodes.InvalidSyncOption, `${LifecycleAnnotations.argoSyncOptions}: ${message}`, where);
  let options: ObjectSyncOptions = { ...defaultSyncOptions, ignored: [] };
  const ignored: string[] = [];
  for (const entry of csv(text)) {
    const equals = entry.indexOf('=');
    if (equals <= 0) throw invalid(`entry ${shown(entry)} is not Key=value`);
    const key = entry.slice(0, equals).trim();
    const value = entry.slice(equals + 1).trim();
    const option = OBJECT_OPTIONS.get(key);
    if (!option) {
      const known = [...OBJECT_OPTIONS.keys()];
      const hint = suggestion(key, known);
      if (hint) throw invalid(`unknown option ${shown(key)}${hint}`);
      ignored.push(entry);
      continue;
    }
    const change = option.read(value);
    if (!change) throw invalid(`${key} takes ${option.values}, found ${shown(value)}`);
    options = { ...options, ...change };
  }
  return { ...options, ignored };
}

/**
 * Whether `helm.sh/resource-policy: keep` is set (trimmed and lowercased, as Helm reads it): the object
 * stays when it leaves the chart and when the release is uninstalled. Any other value is a typed error
 * (Helm ignores it).
 */
export function readKeepPolicy(annotations: RawAnnotations, where: ErrorLocation): boolean {
  const text = stringValue(annotations, LifecycleAnnotations.helmResourcePolicy, where);
  if (text === undefined) return false;
  if (text.trim().toLowerCase() === 'keep') return true;
  throw fail(
    LifecycleErrorCodes.InvalidResourcePolicy,
    `${LifecycleAnnotations.helmResourcePolicy} must be "keep", found ${shown(text)}`,
    where,
  );
}
