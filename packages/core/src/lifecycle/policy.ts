/**
 * Decisions about deleting: hook objects by their delete policy, and owned objects on prune and
 * uninstall by their keep annotations; plus the order in which pruned objects go. Pure functions:
 * the Target does the deleting.
 */
import type { ErrorLocation } from '../errors.js';
import type { ObjectRef } from '../refs.js';
import { type RawAnnotations, readKeepPolicy, readSyncOptions } from './annotations.js';
import type { LifecycleDescriptor } from './descriptor.js';

/** What to do before writing a hook: which earlier hook objects to delete, then create or apply. */
export interface HookCreation {
  /** Earlier objects of this hook to delete (and wait until gone) before writing. */
  readonly delete: readonly ObjectRef[];
  /**
   * `create`: a new object (a generated name, or the old one was deleted or never existed);
   * `apply`: update the existing named object in place.
   */
  readonly write: 'create' | 'apply';
}

/**
 * Helm never deletes a CustomResourceDefinition hook by policy (deleting a CRD deletes every object of
 * its kind); gitops-kit keeps that guard for Argo CD hooks too.
 */
function deletable(lifecycle: LifecycleDescriptor, kind: string): boolean {
  return kind !== 'CustomResourceDefinition' && !lifecycle.deletePolicies.includes('Never');
}

/**
 * Before a hook is written: `existing` are the live objects of this hook from earlier passes (for a
 * named hook, the object of that name if it exists; for a `generateName` hook, the names recorded when
 * they were created). With `BeforeHookCreation` (the default) they are all deleted and the hook is
 * created anew; that is also how a hook Job whose template changed is replaced rather than refused as
 * immutable. Without it, a named hook that exists is applied in place (Argo CD: "named hooks are
 * created once") and a generated one is created next to the old ones.
 */
export function beforeHookCreation(
  lifecycle: LifecycleDescriptor,
  kind: string,
  existing: readonly ObjectRef[],
): HookCreation {
  if (lifecycle.deletePolicies.includes('BeforeHookCreation') && deletable(lifecycle, kind)) {
    return { delete: existing, write: 'create' };
  }
  const named = lifecycle.name.assignedBy === 'manifest';
  return { delete: [], write: named && existing.length > 0 ? 'apply' : 'create' };
}

/** How a hook ended: `succeeded` (Job Complete, Pod Succeeded, others healthy) or `failed`. */
export type HookOutcome = 'succeeded' | 'failed';

/** Whether a hook object is deleted once it ended: `HookSucceeded` after success, `HookFailed` after failure. */
export function deleteHookAfter(lifecycle: LifecycleDescriptor, kind: string, outcome: HookOutcome): boolean {
  if (!lifecycle.hook || !deletable(lifecycle, kind)) return false;
  return lifecycle.deletePolicies.includes(outcome === 'succeeded' ? 'HookSucceeded' : 'HookFailed');
}

/** Why an owned object is deleted or left in place. */
export type DeletionContext = 'prune' | 'uninstall';

/** The decision for one owned object. */
export interface Retention {
  /** True when the object stays in place. */
  readonly keep: boolean;
  /** Why it is kept (the annotation that says so), when it is. */
  readonly reason?: string;
}

/**
 * Whether an owned object is left in place, from its annotations (the live object's, or the last
 * applied manifest's). On prune: `argocd.argoproj.io/sync-options: Prune=false` or `Prune=confirm`
 * (gitops-kit has no confirmation step yet, so it waits for one forever), and
 * `helm.sh/resource-policy: keep` (Helm keeps such objects when they leave the chart). On uninstall:
 * `Delete=false` / `Delete=confirm` and the keep policy; `Prune=false` alone does not protect an
 * object from uninstall, as in Argo CD. A bad value is a typed error.
 */
export function retention(
  annotations: RawAnnotations,
  context: DeletionContext,
  where: ErrorLocation = {},
): Retention {
  if (readKeepPolicy(annotations, where)) return { keep: true, reason: 'helm.sh/resource-policy: keep' };
  const options = readSyncOptions(annotations, where);
  const guard = context === 'prune' ? options.prune : options.delete;
  const key = context === 'prune' ? 'Prune' : 'Delete';
  if (guard === 'disabled') return { keep: true, reason: `argocd.argoproj.io/sync-options: ${key}=false` };
  if (guard === 'confirm') {
    return { keep: true, reason: `argocd.argoproj.io/sync-options: ${key}=confirm (needs confirmation)` };
  }
  return { keep: false };
}

/** One prune candidate with what its order depends on. */
export interface PruneCandidate<E> {
  /** The candidate itself (an inventory entry, a live object). */
  readonly entry: E;
  /** Its wave when it was applied (from the stored inventory or the live object); 0 when unknown. */
  readonly wave?: number | undefined;
  /** `PruneLast=true`: after every other candidate. */
  readonly pruneLast?: boolean | undefined;
}

/**
 * The order of deletion as batches: highest wave first (the reverse of apply order, so what depends on
 * something goes before it), objects with `PruneLast=true` after all others. Inside a batch the given
 * order is kept (`pruneCandidates` already gives the reverse of apply order).
 */
export function orderPrune<E>(candidates: readonly PruneCandidate<E>[]): E[][] {
  const indexed = candidates.map((candidate, index) => ({
    candidate,
    index,
    wave: candidate.wave ?? 0,
    last: candidate.pruneLast === true,
  }));
  indexed.sort((a, b) => Number(a.last) - Number(b.last) || b.wave - a.wave || a.index - b.index);
  const batches: { last: boolean; wave: number; entries: E[] }[] = [];
  for (const { candidate, wave, last } of indexed) {
    const batch = batches[batches.length - 1];
    if (batch && batch.wave === wave && batch.last === last) batch.entries.push(candidate.entry);
    else batches.push({ last, wave, entries: [candidate.entry] });
  }
  return batches.map((batch) => batch.entries);
}

/**
 * Why a live object must not be pruned by its lifecycle annotations (`helm.sh/resource-policy:
 * keep`, `argocd.argoproj.io/sync-options: Prune=false` or `Prune=confirm`), or undefined when it may
 * be. Targets ask it for every prune candidate they read, since the manifest that carried the
 * annotation left the set. A malformed annotation keeps the object (deleting on a misread is the one
 * mistake that cannot be undone). Targets use it for uninstalls too, so a `Prune=false` object is
 * also left in place there (Argo CD would delete it): stricter on purpose.
 */
export function keptByAnnotation(annotations: RawAnnotations | undefined): string | undefined {
  if (!annotations) return undefined;
  try {
    const decision = retention(annotations, 'prune');
    return decision.keep ? `kept by ${decision.reason ?? 'annotation'}` : undefined;
  } catch (error) {
    return `kept: its lifecycle annotations cannot be read (${error instanceof Error ? error.message : String(error)})`;
  }
}
