import {
  APPLY_TIERS,
  ApplyError,
  type ApplyResult,
  type ApplyTier,
  formatLocation,
  type InventoryEntry,
  isCrd,
  isNamespace,
  type KubeObject,
  type Plan,
  type PlannedObject,
  refKey,
} from '@gitops-kit/core';
import { byManifestOrder, summarizeProblems } from '@gitops-kit/core/internal';
import type { TargetContext } from './context.js';
import { type CrdSpec, established, servedVersions } from './crds.js';
import { resourcePath } from './discovery.js';
import { dryRun, validateNow } from './dry-run.js';
import {
  describeApiError,
  isConflictError,
  isImmutableError,
  isStatus,
  K8sErrorCodes,
  locationOf,
} from './errors.js';
import { recreateAllowed } from './ownership.js';
import { deferredKeys, type PlanState, preparedOf } from './plan-state.js';
import { mapAll, mapSettled } from './pool.js';
import type { Prepared } from './prepare.js';
import { applyRequest, deleteRequest } from './requests.js';
import { takeOverOf } from './takeover.js';
import { waitFor } from './wait.js';

/**
 * Applies a plan's created and updated objects tier by tier (the order of core's `APPLY_TIERS`),
 * at most `concurrency` at once within a tier. Every object of a tier is tried; a tier with
 * failures stops the apply before the next. After tier 0 it waits for CRDs to be Established and
 * served and refuses terminating Namespaces. Objects that could not be dry-run before (their
 * Namespace or CRD is created by the plan) are dry-run, all together, right before their writes.
 */
export async function applyPlan(
  context: TargetContext,
  plan: Plan,
  state: PlanState,
  signal: AbortSignal,
): Promise<ApplyResult> {
  const writes = plan.objects.filter((o) => o.action !== 'unchanged');
  const deferred = deferredKeys(writes, state);
  if (!state.validated) await validateNow(context, writes, deferred, state, signal);
  const written: InventoryEntry[] = [];
  const writesBefore = context.client.counters.writes;
  const appliedSoFar = (): InventoryEntry[] => {
    const done = new Set(written.map((e) => refKey(e.ref)));
    return plan.objects
      .filter((o) => o.action === 'unchanged' || done.has(refKey(o.ref)))
      .map((o) => ({ ref: o.ref, digest: o.digest }));
  };
  const tierOf = (object: PlannedObject): ApplyTier => preparedOf(state, object).tier;
  const [firstTier] = APPLY_TIERS;
  for (const [index, tier] of APPLY_TIERS.entries()) {
    const items = writes.filter((o) => tierOf(o) === tier);
    // Deferred objects of the first tier are dry-run with it; every other deferred object once the
    // first tier exists, before the second tier's writes.
    const late = writes.filter(
      (o) =>
        deferred.has(refKey(o.ref)) &&
        (index === 0 ? tierOf(o) === firstTier : index === 1 && tierOf(o) !== firstTier),
    );
    if (late.length > 0) {
      try {
        await dryRun(context, late, state, signal);
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        throw new ApplyError(K8sErrorCodes.DryRunFailed, message, { cause: error, applied: appliedSoFar() });
      }
    }
    const results = await mapSettled(items, context.concurrency, async (object) => {
      const item = preparedOf(state, object);
      if (object.action === 'update' && object.live) await takeOverFirst(context, item, object.live, signal);
      const response = await applyOne(context, item, state, signal);
      written.push({ ref: object.ref, digest: object.digest });
      // Only the first tier's answers are read (to wait for CRDs and Namespaces): later tiers keep
      // none, so thousands of applied bodies are not held until their tier ends.
      return { item, response: index === 0 ? response : undefined };
    });
    const failures: { object: PlannedObject; error: unknown }[] = [];
    results.forEach((result, i) => {
      if (result.status === 'rejected')
        failures.push({ object: items[i] as PlannedObject, error: result.reason });
    });
    if (failures.length > 0) {
      signal.throwIfAborted();
      throw applyFailure(failures, appliedSoFar());
    }
    if (index === 0) {
      const applied = results.flatMap((r) =>
        r.status === 'fulfilled' && r.value.response
          ? [{ item: r.value.item, response: r.value.response }]
          : [],
      );
      try {
        await waitEstablished(context, applied, signal);
      } catch (error) {
        if (error instanceof ApplyError || signal.aborted) throw error;
        throw new ApplyError(K8sErrorCodes.NotEstablished, describeApiError(error), {
          cause: error,
          applied: appliedSoFar(),
        });
      }
    }
  }
  return {
    applied: plan.objects.map((o) => ({ ref: o.ref, digest: o.digest })),
    writes: context.client.counters.writes - writesBefore,
  };
}

/** One ApplyError for the failed writes of a tier, each naming its manifest and the server's reason. */
function applyFailure(
  failures: readonly { object: PlannedObject; error: unknown }[],
  applied: InventoryEntry[],
): ApplyError {
  const issues = failures
    .map(({ object, error }) => ({
      message: describeApiError(error),
      location: locationOf(object.manifest, object.ref),
    }))
    .sort(byManifestOrder);
  // Counts and the first few, grouped by reason: 600 refusals stay a few lines (the error keeps all).
  const lines = summarizeProblems(
    issues.map((issue) => ({ message: issue.message, where: formatLocation(issue.location) })),
  );
  const code = failures.every((f) => isConflictError(f.error))
    ? K8sErrorCodes.FieldConflict
    : K8sErrorCodes.ApplyFailed;
  const first = failures[0] as { object: PlannedObject; error: unknown };
  return new ApplyError(
    code,
    `${failures.length} object${failures.length === 1 ? '' : 's'} failed to apply:\n  ${lines.join('\n  ')}`,
    {
      cause: first.error,
      applied,
      issues,
      ...(failures.length === 1 ? { location: locationOf(first.object.manifest, first.object.ref) } : {}),
    },
  );
}

/**
 * Takes over what kubectl wrote to the live object (the `takeOver` option), with one JSON patch,
 * right before its apply: the apply then removes the fields we came to own and do not declare.
 */
async function takeOverFirst(
  context: TargetContext,
  item: Prepared,
  live: KubeObject,
  signal: AbortSignal,
): Promise<void> {
  const takeOver = takeOverOf(context, item, live);
  if (!takeOver) return;
  await context.client.request({
    method: 'PATCH',
    path: resourcePath(item.info, item.ref.namespace, item.ref.name),
    query: { fieldManager: context.fieldManager },
    body: takeOver.patch,
    contentType: 'application/json-patch+json',
    signal,
  });
}

/** Applies one object; refused as immutable and allowed to, deletes it, waits until gone, applies again. */
async function applyOne(
  context: TargetContext,
  item: Prepared,
  state: PlanState,
  signal: AbortSignal,
): Promise<KubeObject> {
  const key = refKey(item.ref);
  if (!state.recreate.has(key)) {
    try {
      return await applyRequest(context, item, signal, false);
    } catch (error) {
      if (!isImmutableError(error) || !recreateAllowed(item.body, context.recreateOnImmutable)) throw error;
    }
  }
  const path = resourcePath(item.info, item.ref.namespace, item.ref.name);
  try {
    await deleteRequest(context, path, signal);
  } catch (error) {
    if (!isStatus(error, 404)) throw error;
  }
  await waitFor(
    context,
    signal,
    async () => {
      try {
        await context.client.request({ method: 'GET', path, signal });
        return false;
      } catch (error) {
        if (isStatus(error, 404)) return true;
        throw error;
      }
    },
    `${item.ref.kind} ${item.ref.name} to be deleted before it is created again`,
  );
  return applyRequest(context, item, signal, false);
}

/** Waits until the CRDs of tier 0 are Established and served, and checks its Namespaces are not terminating. */
async function waitEstablished(
  context: TargetContext,
  applied: readonly { item: Prepared; response: KubeObject }[],
  signal: AbortSignal,
): Promise<void> {
  const { client, discovery } = context;
  await mapAll(applied, context.concurrency, async ({ item, response }) => {
    if (isCrd(item.ref.apiVersion, item.ref.kind)) {
      let current = response;
      const path = resourcePath(item.info, undefined, item.ref.name);
      await waitFor(
        context,
        signal,
        async () => {
          if (established(current)) return true;
          current = await client.request<KubeObject>({ method: 'GET', path, signal });
          return established(current);
        },
        `CRD ${item.ref.name} to be Established`,
      );
      const spec = (item.body as { spec?: CrdSpec }).spec;
      const kind = spec?.names?.kind;
      for (const version of servedVersions(spec)) {
        const apiVersion = `${spec?.group}/${version}`;
        discovery.invalidate(apiVersion);
        if (!kind) continue;
        await waitFor(
          context,
          signal,
          async () => {
            if (await discovery.lookup(apiVersion, kind, signal)) return true;
            discovery.invalidate(apiVersion);
            return false;
          },
          `${kind} in ${apiVersion} to be served`,
        );
      }
    } else if (isNamespace(item.ref.apiVersion, item.ref.kind)) {
      const phase = (response as { status?: { phase?: string } }).status?.phase;
      if (phase === 'Terminating') {
        throw new ApplyError(K8sErrorCodes.NotEstablished, `namespace ${item.ref.name} is terminating`, {
          location: locationOf(item.manifest, item.ref),
        });
      }
    }
  });
}
