import {
  ConflictError,
  formatLocation,
  type PlannedObject,
  refKey,
  ValidationError,
  type ValidationIssue,
} from '@gitops-kit/core';
import type { TargetContext } from './context.js';
import {
  describeApiError,
  isConflictError,
  isImmutableError,
  K8sErrorCodes,
  KubeApiError,
  locationOf,
} from './errors.js';
import { recreateAllowed } from './ownership.js';
import { type PlanState, preparedOf } from './plan-state.js';
import { mapSettled } from './pool.js';
import { applyRequest } from './requests.js';

/** Dry-runs the writes that need nothing the plan creates first, and marks the plan validated. */
export async function validateNow(
  context: TargetContext,
  writes: readonly PlannedObject[],
  deferred: ReadonlySet<string>,
  state: PlanState,
  signal: AbortSignal,
): Promise<void> {
  await dryRun(
    context,
    writes.filter((o) => !deferred.has(refKey(o.ref))),
    state,
    signal,
  );
  state.validated = true;
}

/**
 * Dry-runs objects, all of them, and throws one error listing every refusal: a ConflictError
 * when every refusal is a field-manager conflict, else a ValidationError. A refusal as immutable
 * of an object allowed to be recreated is no refusal: it is marked for delete-and-create.
 */
export async function dryRun(
  context: TargetContext,
  all: readonly PlannedObject[],
  state: PlanState,
  signal: AbortSignal,
): Promise<void> {
  // SkipDryRunOnMissingResource=true on a kind nobody serves yet: no dry-run, as in Argo CD.
  const tried = all.filter((object) => !preparedOf(state, object).missing);
  // The answers are not read (only refusals are): none is kept.
  const results = await mapSettled(tried, context.concurrency, (object) =>
    applyRequest(context, preparedOf(state, object), signal, true).then(() => undefined),
  );
  signal.throwIfAborted();
  const issues: ValidationIssue[] = [];
  const errors: unknown[] = [];
  results.forEach((result, i) => {
    if (result.status === 'fulfilled') return;
    const object = tried[i] as PlannedObject;
    const item = preparedOf(state, object);
    if (isImmutableError(result.reason) && recreateAllowed(item.body, context.recreateOnImmutable)) {
      state.recreate.add(refKey(object.ref));
      return;
    }
    if (!(result.reason instanceof KubeApiError)) throw result.reason;
    errors.push(result.reason);
    issues.push({
      message: describeApiError(result.reason),
      location: locationOf(object.manifest, object.ref),
    });
  });
  if (issues.length === 0) return;
  if (errors.every(isConflictError)) {
    const lines = issues.map((issue) => `${formatLocation(issue.location)}: ${issue.message}`);
    throw new ConflictError(
      K8sErrorCodes.FieldConflict,
      `${issues.length} object${issues.length === 1 ? '' : 's'} conflict with other field managers (force is off):\n  ${lines.join('\n  ')}`,
      { cause: errors[0] },
    );
  }
  throw new ValidationError(K8sErrorCodes.DryRunFailed, issues, { cause: errors[0] });
}
