/**
 * The phase and wave of every planned object, from the pass's lifecycle schedule: what the Plan
 * shows (`PlannedObject.lifecycle`), what `formatPlanDiff` and the plan CLI print.
 */
import { applyTierOf } from '../kube/conventions.js';
import type { LifecycleOperation } from '../lifecycle/phases.js';
import { type LifecycleSchedule, scheduleLifecycle } from '../lifecycle/schedule.js';
import { buildPlan } from '../plan.js';
import type { Manifest, Plan, PlannedLifecycle, PlannedObject } from '../types.js';
import { hasGeneratedName } from './hook-names.js';

/** Kind order inside a wave: the apply tiers of the shared Kubernetes conventions (CRDs, Namespaces first). */
export function byApplyTier(a: Manifest, b: Manifest): number {
  return applyTierOf(a.object.apiVersion, a.object.kind) - applyTierOf(b.object.apiVersion, b.object.kind);
}

/** The planned objects with their `lifecycle`: the first step each runs in, or why it does not run. */
function annotatePlanned(
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

/** A plan with its lifecycle: each object's phase and wave, and the schedule over those objects. */
export interface LifecyclePlan {
  /** The plan with `lifecycle` on every object. */
  readonly plan: Plan;
  /** The pass's steps over `plan.objects`. */
  readonly schedule: LifecycleSchedule<PlannedObject>;
}

/**
 * Puts each planned object's phase and wave on a target's plan (`PlannedObject.lifecycle`), for the
 * operation (`syncOperationFor(storedState)` for a sync), as the reconciler does before it applies.
 * Tools that plan without a Reconciler (a plan CLI) call it to print what a pass would run where.
 * Throws a `RenderError` naming file, line and object for a bad lifecycle annotation.
 */
export function planLifecycle(
  plan: Plan,
  operation: LifecycleOperation,
  options: { readonly wait?: boolean } = {},
): LifecyclePlan {
  const scheduling = { compare: byApplyTier, wait: options.wait ?? false };
  const first = scheduleLifecycle(plan.objects, operation, scheduling);
  const annotated = buildPlan(annotatePlanned(plan.objects, first), plan.prune, plan.unusedIgnoreRules);
  return { plan: annotated, schedule: scheduleLifecycle(annotated.objects, operation, scheduling) };
}
