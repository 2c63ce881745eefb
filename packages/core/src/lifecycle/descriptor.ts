/**
 * The lifecycle of one object for one operation: in which phases it runs, its wave, whether it is a
 * hook (hooks are not in the prunable inventory), its delete policies, sync options, keep policy and
 * how it gets its name. Pure: it reads the manifest's annotations and nothing else.
 */
import { ErrorCodes, type ErrorLocation, RenderError } from '../errors.js';
import { groupOf } from '../refs.js';
import type { Inventory, Manifest } from '../types.js';
import {
  type ArgoHookType,
  type HelmHookEvent,
  type HookDeletePolicy,
  type ObjectSyncOptions,
  type RawAnnotations,
  readDeletePolicies,
  readHooks,
  readKeepPolicy,
  readSyncOptions,
  readWave,
} from './annotations.js';
import { LifecycleErrorCodes } from './codes.js';
import { type LifecycleOperation, type LifecyclePhase, lifecyclePhaseOrder } from './phases.js';

/** How an object gets its name: from the manifest, or from the API server at creation (`generateName`). */
export type LifecycleName =
  | {
      /** The manifest names the object. */
      readonly assignedBy: 'manifest';
      /** Its `metadata.name`. */
      readonly name: string;
    }
  | {
      /** The server names it at creation (`metadata.generateName`, hooks only). */
      readonly assignedBy: 'server';
      /** The prefix the server adds a random suffix to. */
      readonly generateName: string;
    };

/** The lifecycle of one object for one operation. */
export interface LifecycleDescriptor {
  /**
   * The phases the object runs in for this operation, in pass order; empty when it does not run in
   * this operation (see `reason`). Ordinary objects run in `Sync` on install, upgrade and rollback;
   * a hook may run in several phases (`PreSync,PostSync`).
   */
  readonly phases: readonly LifecyclePhase[];
  /** The wave inside each phase: lower first, negatives allowed, 0 by default. */
  readonly wave: number;
  /** True for hooks: applied in their phase, waited for, deleted by policy, never in the prunable inventory. */
  readonly hook: boolean;
  /** Which tool's annotation made it a hook (Argo CD's wins when both are present, as in Argo CD). */
  readonly hookSource: 'argocd' | 'helm' | undefined;
  /** The hook types as read (`PreSync`, `pre-install`), for messages and plans. */
  readonly hookTypes: readonly (ArgoHookType | HelmHookEvent)[];
  /** `argocd.argoproj.io/hook: Skip`: never applied and never pruned. */
  readonly skip: boolean;
  /** Why the object does not run in this operation, when `phases` is empty. */
  readonly reason: string | undefined;
  /** Delete policies of a hook (`BeforeHookCreation` by default); empty for ordinary objects. */
  readonly deletePolicies: readonly HookDeletePolicy[];
  /** The per-object `argocd.argoproj.io/sync-options` entries, defaults filled in. */
  readonly syncOptions: ObjectSyncOptions;
  /** `helm.sh/resource-policy: keep`: never deleted by prune or uninstall. */
  readonly keep: boolean;
  /** Where the object's name comes from. */
  readonly name: LifecycleName;
}

const ARGO_SYNC_PHASES: Partial<Record<ArgoHookType, LifecyclePhase>> = {
  PreSync: 'PreSync',
  Sync: 'Sync',
  PostSync: 'PostSync',
  SyncFail: 'SyncFail',
};

const ARGO_UNINSTALL_PHASES: Partial<Record<ArgoHookType, LifecyclePhase>> = {
  PreDelete: 'PreDelete',
  PostDelete: 'PostDelete',
};

/**
 * Helm events per operation. Unlike Argo CD (which renders with `helm template`, cannot tell install
 * from upgrade and so runs pre-install and pre-upgrade hooks on every sync), the caller knows the
 * operation, so each runs only where Helm runs it.
 */
const HELM_PHASES: Record<LifecycleOperation, Partial<Record<HelmHookEvent, LifecyclePhase>>> = {
  install: { 'pre-install': 'PreSync', 'post-install': 'PostSync' },
  upgrade: { 'pre-upgrade': 'PreSync', 'post-upgrade': 'PostSync' },
  rollback: { 'pre-rollback': 'PreSync', 'post-rollback': 'PostSync' },
  uninstall: { 'pre-delete': 'PreDelete', 'post-delete': 'PostDelete' },
};

/** Where each Helm event runs, for the reason of a hook that does not run now. */
const HELM_EVENT_OPERATION: Record<HelmHookEvent, string> = {
  'pre-install': 'on install',
  'post-install': 'on install',
  'pre-upgrade': 'on upgrade',
  'post-upgrade': 'on upgrade',
  'pre-rollback': 'on rollback',
  'post-rollback': 'on rollback',
  'pre-delete': 'on uninstall',
  'post-delete': 'on uninstall',
  test: 'by `helm test`, never on a sync',
};

/** The object as messages name it: `batch/v1 Job shop/migrate`, or `batch/v1 Job shop/migrate-*` for a generated name. */
export function describeObject(manifest: Manifest): string {
  const { apiVersion, kind, metadata } = manifest.object;
  const namespace =
    typeof metadata?.namespace === 'string' && metadata.namespace ? `${metadata.namespace}/` : '';
  const name = nameOf(manifest.object.metadata as RawAnnotations | undefined);
  const shown = name?.assignedBy === 'server' ? `${name.generateName}*` : (name?.name ?? '');
  return `${apiVersion} ${kind} ${namespace}${shown}`;
}

function nameOf(metadata: RawAnnotations | undefined): LifecycleName | undefined {
  const name = metadata?.name;
  if (typeof name === 'string' && name !== '') return { assignedBy: 'manifest', name };
  const generateName = metadata?.generateName;
  if (typeof generateName === 'string' && generateName !== '') return { assignedBy: 'server', generateName };
  return undefined;
}

/** The error location of a manifest: its file, document and line, and the object. */
export function lifecycleLocation(manifest: Manifest): ErrorLocation {
  return { ...manifest.origin, object: describeObject(manifest) };
}

function annotationsOf(manifest: Manifest): RawAnnotations {
  const annotations: unknown = manifest.object.metadata?.annotations;
  return annotations !== null && typeof annotations === 'object' ? (annotations as RawAnnotations) : {};
}

/**
 * Reads the lifecycle of one manifest for one operation. Throws a `RenderError` with a
 * `LifecycleErrorCodes` code naming the file, line and object when an annotation has a bad value, and
 * when an ordinary object has `generateName` without a name (it has no stable identity: it could
 * never be updated or pruned, and every pass would create another copy).
 */
export function describeLifecycle(manifest: Manifest, operation: LifecycleOperation): LifecycleDescriptor {
  const where = lifecycleLocation(manifest);
  const annotations = annotationsOf(manifest);
  const hooks = readHooks(annotations, where);
  const wave = readWave(annotations, where);
  const syncOptions = readSyncOptions(annotations, where);
  const keep = readKeepPolicy(annotations, where);
  const name = nameOf(manifest.object.metadata as RawAnnotations | undefined);
  if (!name) {
    throw new RenderError(
      ErrorCodes.RenderMissingField,
      'object has no metadata.name or metadata.generateName',
      {
        location: where,
      },
    );
  }
  // Argo CD: `Skip` alone skips the object; next to other hook types it is ignored.
  const skip = hooks.argo.length === 1 && hooks.argo[0] === 'Skip';
  const argoTypes = hooks.argo.filter((type) => type !== 'Skip');
  const hookSource = argoTypes.length > 0 ? 'argocd' : hooks.helm.length > 0 ? 'helm' : undefined;
  const hook = hookSource !== undefined;
  if (!hook && !skip && name.assignedBy === 'server') {
    throw new RenderError(
      LifecycleErrorCodes.GenerateNameNotHook,
      `metadata.generateName ${JSON.stringify(name.generateName)} without metadata.name is allowed only on hooks: ` +
        'an ordinary object needs a stable name to be tracked, updated and pruned (each pass would create ' +
        'another copy); set metadata.name, or make it a hook with argocd.argoproj.io/hook or helm.sh/hook',
      { location: where },
    );
  }
  const base = {
    wave,
    hook,
    hookSource,
    skip,
    deletePolicies: hook ? readDeletePolicies(annotations, where) : [],
    syncOptions,
    keep,
    name,
  } as const;
  if (skip) {
    return { ...base, hookTypes: ['Skip'], phases: [], reason: 'argocd.argoproj.io/hook: Skip' };
  }
  if (hookSource === 'argocd') {
    const table = operation === 'uninstall' ? ARGO_UNINSTALL_PHASES : ARGO_SYNC_PHASES;
    const phases = inPassOrder(argoTypes.flatMap((type) => table[type] ?? []));
    const reason =
      phases.length > 0
        ? undefined
        : operation === 'uninstall'
          ? `Argo CD ${argoTypes.join(',')} hook: does not run on uninstall`
          : `Argo CD ${argoTypes.join(',')} hook: runs only on uninstall`;
    return { ...base, hookTypes: argoTypes, phases, reason };
  }
  if (hookSource === 'helm') {
    const table = HELM_PHASES[operation];
    const phases = inPassOrder(hooks.helm.flatMap((event) => table[event] ?? []));
    const where = [...new Set(hooks.helm.map((event) => HELM_EVENT_OPERATION[event]))].join(' or ');
    const reason = phases.length > 0 ? undefined : `Helm ${hooks.helm.join(',')} hook: runs ${where}`;
    return { ...base, hookTypes: hooks.helm, phases, reason };
  }
  if (operation === 'uninstall') {
    return {
      ...base,
      hookTypes: [],
      phases: [],
      reason: 'an ordinary object is deleted, not applied, on uninstall',
    };
  }
  return { ...base, hookTypes: [], phases: ['Sync'], reason: undefined };
}

function inPassOrder(phases: readonly LifecyclePhase[]): LifecyclePhase[] {
  return lifecyclePhaseOrder.filter((phase) => phases.includes(phase));
}

/** What {@link syncOperationFor} reads of the stored state. */
export interface OperationState {
  /** The stored inventory: empty on a first install. */
  readonly inventory: Inventory;
  /** The revision last applied, when any was. */
  readonly lastAppliedRevision?: string | undefined;
}

/**
 * The operation of a sync pass, from the stored state: `install` when nothing of ours was ever applied
 * (no applied revision and an empty inventory: a state recovered from the cluster's marked objects
 * is not empty, so it never counts as a first run), `rollback` when the caller applies an earlier
 * revision, else `upgrade`. This is how gitops-kit runs Helm's install hooks only once, where Argo CD
 * runs them on every sync.
 */
export function syncOperationFor(
  state: OperationState | undefined,
  options: { readonly rollback?: boolean } = {},
): LifecycleOperation {
  if (options.rollback) return 'rollback';
  const fresh = !state || (state.lastAppliedRevision === undefined && state.inventory.entries.length === 0);
  return fresh ? 'install' : 'upgrade';
}

/**
 * A stable key for a hook across passes, to record the objects created for it: `group/kind/namespace/name`,
 * or `group/kind/namespace/generateName*` for a hook named by the server (each pass creates a new
 * object; the names created are what the delete policies apply to).
 */
export function hookKey(manifest: Manifest): string {
  const { apiVersion, kind, metadata } = manifest.object;
  const name = nameOf(metadata as RawAnnotations | undefined);
  const shown = name?.assignedBy === 'server' ? `${name.generateName}*` : (name?.name ?? '');
  const namespace = typeof metadata?.namespace === 'string' ? metadata.namespace : '';
  return `${groupOf(apiVersion)}/${kind}/${namespace}/${shown}`;
}
