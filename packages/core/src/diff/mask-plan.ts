import type { FieldChange, Plan, PlannedObject } from '../types.js';
import { isSecret, MASKED_VALUE, maskFor, maskSecretValues } from './mask.js';

/** One planned object with its Secret values masked (desired, live and field changes). */
function maskPlanned(object: PlannedObject): PlannedObject {
  const desired = object.manifest.object;
  if (!isSecret(desired) && !isSecret(object.live)) return object;
  const masked = maskSecretValues(object.live, desired);
  const hide = maskFor(isSecret(desired) ? desired : (object.live ?? desired));
  const changes = object.changes.map(
    (change): FieldChange =>
      hide(change.path)
        ? {
            path: change.path,
            ...('before' in change ? { before: MASKED_VALUE } : {}),
            ...('after' in change ? { after: MASKED_VALUE } : {}),
          }
        : change,
  );
  return {
    ...object,
    manifest: { ...object.manifest, object: masked.desired },
    ...(object.live === undefined ? {} : { live: masked.live }),
    changes,
  };
}

/**
 * A plan safe to show, log or emit: every Secret's `data`, `stringData` and last-applied annotation
 * masked in the desired object, the live object and the field changes. The plan itself is not
 * changed (the apply needs the real values); without Secrets the same plan is returned, so this
 * costs nothing for most sets.
 */
export function maskPlanSecrets(plan: Plan): Plan {
  if (!plan.objects.some((o) => isSecret(o.manifest.object) || isSecret(o.live))) return plan;
  const masked = new Map<PlannedObject, PlannedObject>();
  const mask = (o: PlannedObject): PlannedObject => {
    let m = masked.get(o);
    if (m === undefined) {
      m = maskPlanned(o);
      masked.set(o, m);
    }
    return m;
  };
  return {
    ...plan,
    objects: plan.objects.map(mask),
    create: plan.create.map(mask),
    update: plan.update.map(mask),
    unchanged: plan.unchanged.map(mask),
    drifted: plan.drifted.map(mask),
  };
}
