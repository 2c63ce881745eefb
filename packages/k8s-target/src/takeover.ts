import {
  applyPolicyOf,
  type FieldChange,
  type KubeObject,
  OptionError,
  resolveIgnored,
} from '@gitops-kit/core';
import { isRecord, type JsonRecord } from '@gitops-kit/core/internal';
import type { TargetContext } from './context.js';
import { mergeTrees, removedFields } from './managed-fields.js';
import type { Prepared } from './prepare.js';

/**
 * Taking over what `kubectl` wrote, as Flux's kustomize-controller does before each apply: the
 * `managedFields` entries of matching managers (`kubectl-edit`, `kubectl-client-side-apply`,
 * `before-first-apply`, …) are renamed to our field manager as Apply entries, and
 * `kubectl.kubernetes.io/last-applied-configuration` is removed, with one JSON patch; the apply
 * that follows then removes every field we now own and do not declare. So a field added by
 * `kubectl edit` or `kubectl label` is reverted, not left beside the declared ones, and an object
 * first made with `kubectl apply` loses what Git no longer has.
 *
 * Left out, so nothing is taken from its rightful owner: subresource entries (`status`, `scale`),
 * objects with the `Merge` apply policy (their other managers' fields are theirs by design), and
 * objects any ignore rule touches (an ignored field is never sent: owning it would remove it).
 */

/** A field manager to take over: names starting with `name`, entries of `operation`. */
export interface FieldManagerMatch {
  /** A prefix of the manager name (`kubectl` matches `kubectl-edit`, `kubectl-client-side-apply`). */
  readonly name: string;
  /** The entry's operation. */
  readonly operation: 'Apply' | 'Update';
}

/** What {@link KubernetesTargetOptions.takeOver} takes over. */
export interface TakeOverOptions {
  /** Managers whose fields become ours (default: {@link KUBECTL_TAKEOVER}'s). */
  readonly fieldManagers?: readonly FieldManagerMatch[] | undefined;
  /** Annotations removed from live objects (default: kubectl's last-applied configuration). */
  readonly annotations?: readonly string[] | undefined;
}

/** Flux's defaults: kubectl's Apply and Update entries, `before-first-apply`, kubectl's annotation. */
export const KUBECTL_TAKEOVER: Required<{ [K in keyof TakeOverOptions]: NonNullable<TakeOverOptions[K]> }> = {
  fieldManagers: [
    { name: 'kubectl', operation: 'Apply' },
    { name: 'kubectl', operation: 'Update' },
    { name: 'before-first-apply', operation: 'Update' },
  ],
  annotations: ['kubectl.kubernetes.io/last-applied-configuration'],
};

/** The resolved option: what to take over, or undefined when off. */
export type ResolvedTakeOver = typeof KUBECTL_TAKEOVER | undefined;

/** Resolves the option (`true` is Flux's defaults; a partial object fills the rest from them). */
export function resolveTakeOver(option: TakeOverOptions | boolean | undefined): ResolvedTakeOver {
  if (!option) return undefined;
  if (option === true) return KUBECTL_TAKEOVER;
  for (const [i, manager] of (option.fieldManagers ?? []).entries()) {
    // An empty prefix would match every manager: an HPA's or a controller's fields would become
    // ours, and the apply would remove them.
    if (
      typeof manager.name !== 'string' ||
      manager.name === '' ||
      !['Apply', 'Update'].includes(manager.operation)
    ) {
      throw new OptionError(
        ['takeOver', 'fieldManagers', String(i)],
        `takeOver.fieldManagers[${i}] needs a non-empty name and the operation Apply or Update, got ${JSON.stringify(manager)}`,
      );
    }
  }
  return {
    fieldManagers: option.fieldManagers ?? KUBECTL_TAKEOVER.fieldManagers,
    annotations: option.annotations ?? KUBECTL_TAKEOVER.annotations,
  };
}

/** One RFC 6902 operation of the take-over patch. */
export interface JsonPatchOperation {
  readonly op: 'replace' | 'remove';
  readonly path: string;
  readonly value?: unknown;
}

/** What taking over one live object changes: the patch, and the object as the patch leaves it. */
export interface TakeOver {
  readonly patch: readonly JsonPatchOperation[];
  /** The live object with the renamed entries and without the removed annotations. */
  readonly live: KubeObject;
  /** The managers whose entries were renamed, for the plan's change list. */
  readonly managers: readonly string[];
}

/** The take-over of `live` for the prepared object, or undefined when there is nothing to take. */
export function takeOverOf(context: TargetContext, item: Prepared, live: KubeObject): TakeOver | undefined {
  const options = context.takeOver;
  if (!options || applyPolicyOf(item.body) !== 'Override') return undefined;
  if (context.ignore.length > 0) {
    const ignored = resolveIgnored(context.ignore, item.body, live);
    if (ignored.desired.length > 0 || ignored.live.length > 0) return undefined;
  }
  const patch: JsonPatchOperation[] = [];
  const metadata: KubeObject['metadata'] = { ...live.metadata };
  const entries = Array.isArray(live.metadata.managedFields) ? live.metadata.managedFields : [];
  const renamed = new Set<string>();
  const next = entries.map((entry) => {
    if (!isRecord(entry) || !matches(entry, options.fieldManagers)) return entry;
    renamed.add(String(entry.manager));
    return { ...entry, manager: context.fieldManager, operation: 'Apply' };
  });
  if (renamed.size > 0) {
    metadata.managedFields = mergeDuplicates(next);
    patch.push({ op: 'replace', path: '/metadata/managedFields', value: metadata.managedFields });
  }
  const annotations = isRecord(live.metadata.annotations) ? { ...live.metadata.annotations } : undefined;
  for (const key of options.annotations) {
    if (!annotations || !Object.hasOwn(annotations, key)) continue;
    delete annotations[key];
    patch.push({
      op: 'remove',
      path: `/metadata/annotations/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`,
    });
  }
  if (patch.length === 0) return undefined;
  if (annotations) metadata.annotations = annotations as Record<string, string>;
  return { patch, live: { ...live, metadata }, managers: [...renamed].sort() };
}

/**
 * The changes the take-over makes: the fields we come to own and do not declare (the apply removes
 * them), the removed annotations, and the managers taken over.
 */
export function takeOverChanges(
  context: TargetContext,
  desired: KubeObject,
  before: KubeObject,
  takeOver: TakeOver,
): FieldChange[] {
  const changes: FieldChange[] = [];
  if (takeOver.managers.length > 0) {
    changes.push({
      path: '/metadata/managedFields',
      before: takeOver.managers,
      after: [context.fieldManager],
    });
  }
  for (const op of takeOver.patch) {
    if (op.op === 'remove') changes.push({ path: op.path, before: '(set by kubectl)' });
  }
  const owned = new Set(removedFields(desired, before, context.fieldManager).map((c) => c.path));
  for (const change of removedFields(desired, takeOver.live, context.fieldManager)) {
    if (!owned.has(change.path)) changes.push(change);
  }
  return changes;
}

function matches(entry: JsonRecord, managers: readonly FieldManagerMatch[]): boolean {
  if (typeof entry.manager !== 'string') return false;
  if (entry.subresource !== undefined && entry.subresource !== '') return false;
  const manager = entry.manager;
  return managers.some((m) => manager.startsWith(m.name) && entry.operation === m.operation);
}

/**
 * Entries of the same manager, operation and apiVersion merged into one (their field sets joined):
 * the apiserver keeps one entry per such key, and would otherwise keep only the last.
 */
function mergeDuplicates(entries: readonly unknown[]): unknown[] {
  const out: unknown[] = [];
  const byKey = new Map<string, JsonRecord>();
  for (const entry of entries) {
    if (!isRecord(entry)) {
      out.push(entry);
      continue;
    }
    const key = JSON.stringify([entry.manager, entry.operation, entry.apiVersion, entry.subresource ?? '']);
    const seen = byKey.get(key);
    if (!seen) {
      const copy = { ...entry };
      byKey.set(key, copy);
      out.push(copy);
      continue;
    }
    if (isRecord(seen.fieldsV1) && isRecord(entry.fieldsV1))
      seen.fieldsV1 = mergeTrees(seen.fieldsV1, entry.fieldsV1);
    if (typeof entry.time === 'string' && (typeof seen.time !== 'string' || entry.time > seen.time))
      seen.time = entry.time;
  }
  return out;
}
