import {
  buildPlan,
  type Inventory,
  isIgnoredPointer,
  type KubeObject,
  type Manifest,
  type Plan,
  type PlannedObject,
  pruneCandidates,
  refKey,
  unusedIgnoreRules,
} from '@gitops-kit/core';
import { creationChanges, diffDesired } from './compare.js';
import type { TargetContext } from './context.js';
import { driftView, ignoredField, plannedByPolicy, withApplyBody } from './drift-rules.js';
import { liveSummary, PlanningSink } from './live-sink.js';
import { removedFields } from './managed-fields.js';
import { isOwnedBy } from './ownership.js';
import type { PlanMemory } from './plan-state.js';
import { type Prepared, prepare } from './prepare.js';
import { preventionManifests } from './prevention.js';
import { readLive } from './read-live.js';
import { takeOverChanges, takeOverOf } from './takeover.js';

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
  // Drift prevention's policy and binding are members of the set, applied and pruned with it,
  // first in their tier so they are in force before the objects they protect are written.
  const set = context.prevention
    ? [...(await preventionManifests(context, context.prevention, signal)), ...manifests]
    : manifests;
  const prepared = await prepare(context, set, signal);
  const stored = new Map(inventory.entries.map((entry) => [refKey(entry.ref), entry.digest]));
  const used: number[] = [];
  // The bodies apply will send where the drift rules leave fields out, made while the full live
  // object is at hand (the plan keeps only a summary of an unchanged one).
  const sent = new Map<string, Prepared>();
  const planOne = (item: Prepared, current: KubeObject | undefined): PlannedObject => {
    const key = refKey(item.ref);
    const previous = stored.get(key);
    const view = driftView(context, item, current);
    used.push(...view.ignored.used);
    const body = withApplyBody(context, item, current, view);
    if (body !== item) sent.set(key, body);
    const base = { ref: item.ref, manifest: item.manifest, digest: item.digest, ...ignoredField(view) };
    const byPolicy = plannedByPolicy(view, base, current);
    if (byPolicy) return byPolicy;
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
    const changes = diffDesired(view.compared, current);
    // What kubectl wrote, taken over (when on): an update whatever else it finds.
    const takeOver = takeOverOf(context, item, current);
    if (takeOver) {
      return {
        ...base,
        action: 'update',
        drifted: true,
        changes: [...changes, ...takeOverChanges(context, view.compared, current, takeOver)],
        live: current,
      };
    }
    if (changes.length === 0 && previous === item.digest) {
      return { ...base, action: 'unchanged', drifted: false, changes: [], live: liveSummary(current) };
    }
    // The desired object changed since the last apply (or we have no record of it): fields we
    // applied before and no longer declare will be removed, so they are changes too.
    const removed =
      previous === item.digest
        ? []
        : removedFields(view.compared, current, context.fieldManager).filter(
            (change) => !isIgnoredPointer(view.ignored.live, change.path),
          );
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
    unusedIgnoreRules(context.ignore, used),
  );
  memory.remember(
    plan,
    prepared.map((item) => sent.get(refKey(item.ref)) ?? item),
  );
  return plan;
}
