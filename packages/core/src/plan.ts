import { type ObjectRef, refKey } from './refs.js';
import type { Inventory, InventoryEntry, Plan, PlannedObject } from './types.js';

/** An inventory with no entries. */
export const emptyInventory: Inventory = Object.freeze({ entries: Object.freeze([]) });

/**
 * The inventory entries whose objects are not in the desired set, in delete order: the reverse
 * of the order they were applied in, so dependants go before what they depend on.
 */
export function pruneCandidates(inventory: Inventory, desired: readonly ObjectRef[]): InventoryEntry[] {
  const wanted = new Set(desired.map(refKey));
  return inventory.entries.filter((entry) => !wanted.has(refKey(entry.ref))).reverse();
}

/**
 * Assembles a {@link Plan} from planned objects (in apply order) and the entries to prune, deriving
 * the per-action lists so every target reports them the same way; ignore rules that matched
 * nothing are carried when there are any.
 */
export function buildPlan(
  objects: readonly PlannedObject[],
  prune: readonly InventoryEntry[],
  unusedIgnoreRules: Plan['unusedIgnoreRules'] = [],
): Plan {
  return {
    objects,
    create: objects.filter((o) => o.action === 'create'),
    update: objects.filter((o) => o.action === 'update'),
    unchanged: objects.filter((o) => o.action === 'unchanged'),
    drifted: objects.filter((o) => o.drifted),
    prune,
    ...(unusedIgnoreRules.length > 0 ? { unusedIgnoreRules } : {}),
  };
}

/** How many objects a plan creates, updates, leaves, prunes, and found drifted. */
export interface PlanSummary {
  /** Objects that do not exist yet on the target. */
  readonly create: number;
  /** Objects whose live state differs from the desired one (drifted ones included). */
  readonly update: number;
  /** Objects that need no write. */
  readonly unchanged: number;
  /** Inventory entries no longer desired, to delete (when prune is on). */
  readonly prune: number;
  /** Updates caused by changes made on the target since the last apply (a subset of `update`). */
  readonly drifted: number;
}

/**
 * The counts of a plan: what the `planned` and `applied` events and the status carry, and what
 * `formatPlanSummary` words for people.
 */
export function summarizePlan(plan: Plan): PlanSummary {
  return {
    create: plan.create.length,
    update: plan.update.length,
    unchanged: plan.unchanged.length,
    prune: plan.prune.length,
    drifted: plan.drifted.length,
  };
}

/** Whether a plan would write or delete anything. */
export function planHasChanges(plan: Plan): boolean {
  return plan.create.length + plan.update.length + plan.prune.length > 0;
}

/** Merges inventories: entries of `next` win, entries only in `base` are kept (nothing is forgotten). */
export function mergeInventory(base: Inventory, next: readonly InventoryEntry[]): Inventory {
  const byKey = new Map<string, InventoryEntry>();
  for (const entry of base.entries) byKey.set(refKey(entry.ref), entry);
  for (const entry of next) byKey.set(refKey(entry.ref), entry);
  return { entries: [...byKey.values()] };
}
