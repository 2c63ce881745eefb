import type { Target } from '../types.js';

/**
 * Which reconciler names use each target instance. A target marks the objects it writes with its
 * own ownership mark, not the reconciler's name, so when reconcilers of different names share one
 * instance its `listOwned` answers for all of them: recovering an inventory from it could prune a
 * neighbour's objects. Recovery is therefore used only by a target's one and only reconciler name
 * (a restarted reconciler of the same name is the same owner).
 */
const namesByTarget = new WeakMap<Target, Set<string>>();

/** Records that a reconciler named `name` uses `target`. */
export function registerTargetUser(target: Target, name: string): void {
  const names = namesByTarget.get(target);
  if (names) names.add(name);
  else namesByTarget.set(target, new Set([name]));
}

/** Whether `name` is the only reconciler name that uses `target`, so its owned objects are its own. */
export function ownsTargetAlone(target: Target, name: string): boolean {
  const names = namesByTarget.get(target);
  return names === undefined || (names.size === 1 && names.has(name));
}
