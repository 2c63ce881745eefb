import {
  APPLY_TIERS,
  applyTierOf,
  type InventoryEntry,
  isPruneDisabled,
  type KubeObject,
  keptByAnnotation,
  keptByApplyPolicy,
  type ObjectRef,
  type PruneResult,
  type ValidationIssue,
} from '@gitops-kit/core';
import type { TargetContext } from './context.js';
import { resourcePath } from './discovery.js';
import { describeApiError, isStatus } from './errors.js';
import { isOwnedBy } from './ownership.js';
import { mapAll } from './pool.js';
import { deleteRequest } from './requests.js';
import { checkRestrictions } from './restrictions.js';

/**
 * Deletes inventory entries tier by tier in reverse apply order, each only when the live object
 * still carries our ownership mark, is not kept by `gitops-kit.dev/prune: disabled` and is within
 * the restrictions. Failed deletes are reported (they stay in the inventory).
 */
export async function pruneEntries(
  context: TargetContext,
  entries: readonly InventoryEntry[],
  signal: AbortSignal,
): Promise<PruneResult> {
  const deleted: ObjectRef[] = [];
  const skipped: { ref: ObjectRef; reason: string }[] = [];
  const failed: { entry: InventoryEntry; message: string }[] = [];
  for (const tier of [...APPLY_TIERS].reverse()) {
    const items = entries.filter((e) => applyTierOf(e.ref.apiVersion, e.ref.kind) === tier);
    await mapAll(items, context.concurrency, async (entry) => {
      try {
        const outcome = await pruneOne(context, entry, signal);
        if (outcome === 'deleted') deleted.push(entry.ref);
        else skipped.push({ ref: entry.ref, reason: outcome });
      } catch (error) {
        signal.throwIfAborted();
        failed.push({ entry, message: describeApiError(error) });
      }
    });
  }
  return { deleted, skipped, failed };
}

/** Reads one object and deletes it if it is still ours: `deleted`, or why it was left alone. */
async function pruneOne(context: TargetContext, entry: InventoryEntry, signal: AbortSignal): Promise<string> {
  const { ref } = entry;
  const { restrictions, name } = context;
  const info = await context.discovery.lookup(ref.apiVersion, ref.kind, signal);
  if (!info) return `kind ${ref.kind} is no longer served`;
  if (restrictions) {
    const refused = checkRestrictions([{ ref, namespaced: info.namespaced }], restrictions);
    if (refused.length > 0) return (refused[0] as ValidationIssue).message;
  }
  const path = resourcePath(info, ref.namespace, ref.name);
  let live: KubeObject;
  try {
    live = await context.client.request<KubeObject>({ method: 'GET', path, signal });
  } catch (error) {
    if (isStatus(error, 404)) return 'not found';
    throw error;
  }
  if (!isOwnedBy(live, name)) return `not owned by ${name} (no ownership mark)`;
  if (isPruneDisabled(live)) return 'kept by annotation gitops-kit.dev/prune: disabled';
  const kept = keptByAnnotation(live.metadata.annotations) ?? keptByApplyPolicy(live);
  if (kept !== undefined) return kept;
  if (typeof live.metadata.deletionTimestamp === 'string') return 'deleted';
  try {
    // Only the object we inspected: a replacement with the same name is not ours to delete.
    await deleteRequest(context, path, signal, live.metadata.uid);
  } catch (error) {
    if (isStatus(error, 404)) return 'deleted';
    if (isStatus(error, 409)) return 'replaced by another object since it was read';
    throw error;
  }
  return 'deleted';
}
