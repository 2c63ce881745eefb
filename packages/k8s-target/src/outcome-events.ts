import { formatRef, type ObjectRef, type ObservedReconciler } from '@gitops-kit/core';
import type { KubeEventInput, KubeEventRecorder } from './kube-events.js';

/** How many objects a note names before it says "and N more". */
const NAMED = 5;

function listRefs(refs: readonly ObjectRef[]): string {
  const shown = refs.slice(0, NAMED).map(formatRef).join(', ');
  return refs.length > NAMED ? `${shown} and ${refs.length - NAMED} more` : shown;
}

/**
 * Turns a reconciler's outcomes into Kubernetes Events regarding its state object (which holds its
 * inventory), as Flux's controllers do for a Kustomization: applied (with revision and counts;
 * not for a pass that wrote nothing), drift reverted, pruned, health check failed, rolled back,
 * reconcile failed. Notes name objects and revisions and quote typed errors, never object data.
 */
export function recordOutcomes(
  reconciler: ObservedReconciler,
  recorder: KubeEventRecorder,
  regarding: ObjectRef,
): void {
  const record = (event: Omit<KubeEventInput, 'regarding'>): Promise<unknown> =>
    recorder.record({ regarding, ...event });
  reconciler.on('applied', (e) => {
    if (e.writes === 0 && e.summary.create === 0 && e.summary.update === 0) return;
    const { create, update, unchanged } = e.summary;
    return record({
      type: 'Normal',
      reason: 'Applied',
      action: 'Apply',
      note: `Applied revision ${e.revision}: ${create} created, ${update} configured, ${unchanged} unchanged (${e.writes} writes)`,
    });
  });
  reconciler.on('drifted', (e) =>
    record({
      type: 'Warning',
      reason: 'DriftReverted',
      action: 'RevertDrift',
      note: `${e.objects.length} object${e.objects.length === 1 ? '' : 's'} changed on the cluster, reverted to revision ${e.revision}: ${listRefs(e.objects)}`,
    }),
  );
  reconciler.on('pruned', (e) => {
    const deleted = e.result.deleted;
    if (deleted.length === 0 && e.result.failed.length === 0) return;
    const failed = e.result.failed.length > 0 ? `; ${e.result.failed.length} could not be deleted` : '';
    return record({
      type: e.result.failed.length > 0 ? 'Warning' : 'Normal',
      reason: 'Pruned',
      action: 'Prune',
      note: `Pruned ${deleted.length} object${deleted.length === 1 ? '' : 's'} no longer in revision ${e.revision}${deleted.length > 0 ? `: ${listRefs(deleted)}` : ''}${failed}`,
    });
  });
  reconciler.on('unhealthy', (e) =>
    record({
      type: 'Warning',
      reason: 'HealthCheckFailed',
      action: 'HealthCheck',
      note: `Revision ${e.revision}: ${e.message}`,
    }),
  );
  reconciler.on('rolledBack', (e) =>
    record({
      type: 'Warning',
      reason: 'RolledBack',
      action: 'Rollback',
      note: `Revision ${e.from} never became healthy; rolled back to ${e.to}${e.healthy ? '' : ', which is not healthy either'}`,
    }),
  );
  reconciler.on('failed', (e) =>
    record({
      type: 'Warning',
      reason: 'ReconciliationFailed',
      action: 'Reconcile',
      note: `${e.revision ? `Revision ${e.revision}: ` : ''}${e.error.code}: ${e.error.message}`,
    }),
  );
}
