/**
 * The phase and wave of every planned object, from the pass's lifecycle schedule: what the Plan
 * shows (`PlannedObject.lifecycle`), what `formatPlanDiff` and the plan CLI print.
 */
import { applyTierOf } from '../kube/conventions.js';
import type { LifecycleSchedule } from '../lifecycle/schedule.js';
import type { Manifest, PlannedLifecycle, PlannedObject } from '../types.js';
import { hasGeneratedName } from './hook-names.js';

/** Kind order inside a wave: the apply tiers of the shared Kubernetes conventions (CRDs, Namespaces first). */
export function byApplyTier(a: Manifest, b: Manifest): number {
  return applyTierOf(a.object.apiVersion, a.object.kind) - applyTierOf(b.object.apiVersion, b.object.kind);
}

/** The planned objects with their `lifecycle`: the first step each runs in, or why it does not run. */
export function annotatePlanned(
  objects: readonly PlannedObject[],
  schedule: LifecycleSchedule<PlannedObject>,
): PlannedObject[] {
  const where = new Map<PlannedObject, PlannedLifecycle>();
  for (const step of [...schedule.steps, ...schedule.onFailure]) {
    for (const { item, lifecycle } of step.objects) {
      if (where.has(item)) continue;
      where.set(item, {
        phase: step.phase,
        wave: step.wave,
        hook: lifecycle.hook,
        ...(hasGeneratedName(item.manifest.object) ? { generatedName: true } : {}),
      });
    }
  }
  for (const { item, lifecycle, reason } of schedule.notRun) {
    where.set(item, { phase: undefined, wave: lifecycle.wave, hook: lifecycle.hook, notRun: reason });
  }
  return objects.map((object) => {
    const lifecycle = where.get(object);
    return lifecycle ? { ...object, lifecycle } : object;
  });
}
