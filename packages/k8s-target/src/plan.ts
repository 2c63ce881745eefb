import {
  buildPlan,
  type Inventory,
  type KubeObject,
  type Manifest,
  type Plan,
  type PlannedObject,
  pruneCandidates,
  refKey,
} from '@gitops-kit/core';
import { creationChanges, diffDesired } from './compare.js';
import type { TargetContext } from './context.js';
import { liveSummary, PlanningSink } from './live-sink.js';
import { removedFields } from './managed-fields.js';
import { isOwnedBy } from './ownership.js';
import type { PlanMemory } from './plan-state.js';
import { type Prepared, prepare } from './prepare.js';
import { readLive } from './read-live.js';

/**
 * Compares the desired set with the live objects and the inventory, in apply-tier order (file
 * order within a tier), and remembers what it resolved for validate and apply.
 */
export async function planSet(
  context: TargetContext,
  memory: PlanMemory,
  manifests: readonly Manifest[],
  inventory: Inventory,
  signal: AbortSignal,
): Promise<Plan> {
  const prepared = await prepare(context, manifests, signal);
  const stored = new Map(inventory.entries.map((entry) => [refKey(entry.ref), entry.digest]));
  const planOne = (item: Prepared, current: KubeObject | undefined): PlannedObject => {
    const key = refKey(item.ref);
    const previous = stored.get(key);
    const base = { ref: item.ref, manifest: item.manifest, digest: item.digest };
    if (!current) {
      return {
        ...base,
        action: 'create',
        // Gone although we applied it; an empty digest is an intent the apply never confirmed
        // (a crash or a failed write), not something deleted by hand.
        drifted: previous !== undefined && previous !== '',
        changes: creationChanges(item.body),
      };
    }
    const changes = diffDesired(item.body, current);
    if (changes.length === 0 && previous === item.digest) {
      return { ...base, action: 'unchanged', drifted: false, changes: [], live: liveSummary(current) };
    }
    // The desired object changed since the last apply (or we have no record of it): fields we
    // applied before and no longer declare will be removed, so they are changes too.
    const removed = previous === item.digest ? [] : removedFields(item.body, current, context.fieldManager);
    if (changes.length === 0 && removed.length === 0 && isOwnedBy(current, context.name)) {
      // Already exactly as declared and marked as ours (an inventory lost or written elsewhere).
      return { ...base, action: 'unchanged', drifted: false, changes: [], live: liveSummary(current) };
    }
    return {
      ...base,
      action: 'update',
      drifted: previous === item.digest && changes.length > 0,
      changes: [...changes, ...removed],
      live: current,
    };
  };
  // Each live object is planned as its list page arrives and only what the plan keeps of it stays.
  const live = new PlanningSink(prepared, planOne);
  await readLive(context, prepared, signal, live);
  const ordered = [...prepared].sort((a, b) => a.tier - b.tier);
  const objects = ordered.map((item) => live.planned(item) ?? planOne(item, undefined));
  const plan = buildPlan(
    objects,
    pruneCandidates(
      inventory,
      prepared.map((p) => p.ref),
    ),
  );
  memory.remember(plan, prepared);
  return plan;
}
