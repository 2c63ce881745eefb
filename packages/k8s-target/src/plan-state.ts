import { isNamespace, type Plan, type PlannedObject, refKey } from '@gitops-kit/core';
import type { TargetContext } from './context.js';
import { withApplyBody } from './drift-rules.js';
import { type Prepared, prepare } from './prepare.js';

/** What the target remembers about a plan it made, between plan, validate and apply. */
export interface PlanState {
  readonly byKey: Map<string, Prepared>;
  /** Objects the dry-run allowed to be deleted and created again (immutable changes). */
  readonly recreate: Set<string>;
  validated: boolean;
}

/** The plans a target made, each with what it resolved; forgotten with the plan. */
export class PlanMemory {
  readonly #plans = new WeakMap<Plan, PlanState>();

  /** Remembers the prepared objects of a plan just made. */
  remember(plan: Plan, prepared: readonly Prepared[]): void {
    this.#plans.set(plan, newState(prepared));
  }

  /** The state of a plan; a plan built elsewhere (or copied) has its manifests resolved again. */
  async stateOf(context: TargetContext, plan: Plan, signal: AbortSignal): Promise<PlanState> {
    const known = this.#plans.get(plan);
    if (known) return known;
    const prepared = await prepare(
      context,
      plan.objects.map((o) => o.manifest),
      signal,
    );
    // The bodies the drift rules allow, against the live objects the plan kept.
    const live = new Map(plan.objects.map((o) => [refKey(o.ref), o.live]));
    const state = newState(prepared.map((item) => withApplyBody(context, item, live.get(refKey(item.ref)))));
    this.#plans.set(plan, state);
    return state;
  }
}

function newState(prepared: readonly Prepared[]): PlanState {
  return { byKey: new Map(prepared.map((p) => [refKey(p.ref), p])), recreate: new Set(), validated: false };
}

/** The prepared object behind a planned one. */
export function preparedOf(state: PlanState, object: PlannedObject): Prepared {
  const item = state.byKey.get(refKey(object.ref));
  if (!item) throw new Error(`internal: ${refKey(object.ref)} is not in the plan`);
  return item;
}

/**
 * Objects that cannot be dry-run before the plan's first write: kinds whose CRD is in the set and
 * not served yet, and objects in Namespaces the plan creates.
 */
export function deferredKeys(writes: readonly PlannedObject[], state: PlanState): Set<string> {
  const newNamespaces = new Set(
    writes
      .filter((o) => o.action === 'create' && isNamespace(o.ref.apiVersion, o.ref.kind))
      .map((o) => o.ref.name),
  );
  const deferred = new Set<string>();
  for (const object of writes) {
    const item = state.byKey.get(refKey(object.ref));
    if (!item) continue;
    if (item.pending || (item.ref.namespace !== undefined && newNamespaces.has(item.ref.namespace))) {
      deferred.add(refKey(object.ref));
    }
  }
  return deferred;
}
