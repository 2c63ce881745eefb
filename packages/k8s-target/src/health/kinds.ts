import type { KubeObject } from '@gitops-kit/core';
import { conditionsOf, fieldAt, findCondition, intAt, lastSpecWrite, stringAt } from './fields.js';
import type { HealthResult } from './types.js';

/**
 * Health rules for built-in kinds, after kstatus (sigs.k8s.io/cli-utils). Built-in controllers do
 * not write `Ready` conditions, so each kind's status counters say whether a rollout is done.
 */

/** What a kind rule may need besides the object. */
export interface KindRuleContext {
  /** The current time in milliseconds since the epoch. */
  readonly now: number;
}

/** A health rule for one kind. */
export type KindRule = (object: KubeObject, context: KindRuleContext) => HealthResult;

/** How long a Pod may stay unschedulable before it counts as failed (kstatus' schedule window). */
export const UNSCHEDULABLE_GRACE_MS = 15_000;

const current = (message: string): HealthResult => ({ status: 'Current', message });
const inProgress = (message: string): HealthResult => ({ status: 'InProgress', message });
const failed = (message: string): HealthResult => ({ status: 'Failed', message });

/**
 * Deployment: failed past its progress deadline; in progress until every replica is updated and
 * available. `context.now` bounds the grace given to a deadline left from an earlier rollout.
 */
export function deploymentHealth(
  object: KubeObject,
  context: KindRuleContext = { now: Date.now() },
): HealthResult {
  // Without a progress deadline the controller never writes a "complete" Progressing reason.
  let progressed = fieldAt(object, 'spec.progressDeadlineSeconds') === undefined;
  let available = false;
  for (const condition of conditionsOf(object)) {
    if (condition.type === 'Progressing') {
      if (condition.reason === 'ProgressDeadlineExceeded') {
        // A timeout from before the spec's last write is about the previous rollout (a rollback,
        // or a fix of a bad image): the controller keeps that condition until the new rollout
        // makes progress, so it says nothing yet about this one — for a while after the write: two
        // progress deadlines and half a minute (a busy cluster may be slow to start the new
        // rollout), after which the new rollout has had its own chance and failed it as well.
        const written = lastSpecWrite(object);
        const at = Date.parse(condition.lastUpdateTime);
        const graceMs = 2 * intAt(object, 'spec.progressDeadlineSeconds', 600) * 1000 + 30_000;
        if (written !== undefined && !Number.isNaN(at) && at <= written && context.now < written + graceMs) {
          return inProgress('Rolling out again after an earlier rollout exceeded its progress deadline');
        }
        return failed(`Progress deadline exceeded${condition.message ? `: ${condition.message}` : ''}`);
      }
      if (condition.status === 'True' && condition.reason === 'NewReplicaSetAvailable') progressed = true;
    } else if (condition.type === 'Available' && condition.status === 'True') {
      available = true;
    }
  }
  const spec = intAt(object, 'spec.replicas', 1);
  const replicas = intAt(object, 'status.replicas', 0);
  const updated = intAt(object, 'status.updatedReplicas', 0);
  const ready = intAt(object, 'status.readyReplicas', 0);
  const availableReplicas = intAt(object, 'status.availableReplicas', 0);
  if (spec > replicas) return inProgress(`Replicas: ${replicas}/${spec}`);
  if (spec > updated) return inProgress(`Updated: ${updated}/${spec}`);
  if (replicas > spec) return inProgress(`Pending termination: ${replicas - spec} old replicas`);
  if (updated > availableReplicas) return inProgress(`Available: ${availableReplicas}/${updated}`);
  if (spec > ready) return inProgress(`Ready: ${ready}/${spec}`);
  if (!progressed) return inProgress('New ReplicaSet not available yet');
  if (!available) return inProgress('Deployment not Available');
  return current(`Deployment is available. Replicas: ${replicas}`);
}

/** StatefulSet: counts, partitioned rollouts and the current revision catching up with the update revision. */
export function statefulSetHealth(object: KubeObject): HealthResult {
  // With OnDelete, pods are replaced only when a person deletes them: nothing to wait for.
  if (stringAt(object, 'spec.updateStrategy.type', '') === 'OnDelete') {
    return current('StatefulSet uses the OnDelete update strategy');
  }
  const spec = intAt(object, 'spec.replicas', 1);
  const replicas = intAt(object, 'status.replicas', 0);
  const ready = intAt(object, 'status.readyReplicas', 0);
  const currentReplicas = intAt(object, 'status.currentReplicas', 0);
  const updated = intAt(object, 'status.updatedReplicas', 0);
  const partition = intAt(object, 'spec.updateStrategy.rollingUpdate.partition', -1);
  if (spec > replicas) return inProgress(`Replicas: ${replicas}/${spec}`);
  if (spec > ready) return inProgress(`Ready: ${ready}/${spec}`);
  if (replicas > spec) return inProgress(`Pending termination: ${replicas - spec} old replicas`);
  if (partition !== -1) {
    // Only ordinals at or above the partition are updated; the rest keep the old revision on purpose.
    const expected = Math.max(0, spec - partition);
    if (updated < expected) return inProgress(`Partitioned rollout: updated ${updated}/${expected}`);
    return current(`Partitioned rollout complete: updated ${updated}`);
  }
  if (spec > currentReplicas) return inProgress(`Current: ${currentReplicas}/${spec}`);
  const currentRevision = stringAt(object, 'status.currentRevision', '');
  const updateRevision = stringAt(object, 'status.updateRevision', '');
  if (currentRevision !== updateRevision) {
    return inProgress(`Waiting for revision ${updateRevision || '(unknown)'} to become current`);
  }
  return current(`All replicas ready at the update revision. Replicas: ${replicas}`);
}

/** DaemonSet: in progress until scheduled, updated, available and ready on every desired node. */
export function daemonSetHealth(object: KubeObject): HealthResult {
  // The DaemonSet controller always writes these; their absence means it has not acted yet.
  if (fieldAt(object, 'metadata.generation') === undefined) return inProgress('metadata.generation not set');
  if (fieldAt(object, 'status.observedGeneration') === undefined) {
    return inProgress('status.observedGeneration not set');
  }
  const desired = intAt(object, 'status.desiredNumberScheduled', -1);
  if (desired === -1) return inProgress('status.desiredNumberScheduled not set');
  const scheduled = intAt(object, 'status.currentNumberScheduled', 0);
  const updated = intAt(object, 'status.updatedNumberScheduled', 0);
  const availableCount = intAt(object, 'status.numberAvailable', 0);
  const ready = intAt(object, 'status.numberReady', 0);
  if (desired > scheduled) return inProgress(`Scheduled: ${scheduled}/${desired}`);
  if (desired > updated) return inProgress(`Updated: ${updated}/${desired}`);
  if (desired > availableCount) return inProgress(`Available: ${availableCount}/${desired}`);
  if (desired > ready) return inProgress(`Ready: ${ready}/${desired}`);
  return current(`All pods scheduled, updated and ready. Pods: ${desired}`);
}

/** ReplicaSet: in progress on a replica failure or while counts fall short of the spec. */
export function replicaSetHealth(object: KubeObject): HealthResult {
  const replicaFailure = findCondition(object, 'ReplicaFailure');
  if (replicaFailure?.status === 'True') {
    return inProgress(`Replica failure${replicaFailure.message ? `: ${replicaFailure.message}` : ''}`);
  }
  const spec = intAt(object, 'spec.replicas', 1);
  const replicas = intAt(object, 'status.replicas', 0);
  const labeled = intAt(object, 'status.fullyLabeledReplicas', 0);
  const availableCount = intAt(object, 'status.availableReplicas', 0);
  const ready = intAt(object, 'status.readyReplicas', 0);
  if (spec > labeled) return inProgress(`Labeled: ${labeled}/${spec}`);
  if (spec > availableCount) return inProgress(`Available: ${availableCount}/${spec}`);
  if (spec > ready) return inProgress(`Ready: ${ready}/${spec}`);
  if (replicas > spec) return inProgress(`Pending termination: ${replicas - spec} replicas`);
  return current(`ReplicaSet is available. Replicas: ${replicas}`);
}

/** Names of the containers waiting in CrashLoopBackOff (init containers included). */
function crashLoopingContainers(object: KubeObject): string[] {
  const names: string[] = [];
  for (const path of ['status.initContainerStatuses', 'status.containerStatuses']) {
    const statuses = fieldAt(object, path);
    if (!Array.isArray(statuses)) continue;
    for (const status of statuses) {
      if (stringAt(status, 'state.waiting.reason', '') === 'CrashLoopBackOff') {
        names.push(stringAt(status, 'name', '(unnamed)'));
      }
    }
  }
  return names;
}

/** Pod: finished pods are current; running pods when Ready; crash loops and long unschedulability fail. */
export function podHealth(object: KubeObject, context: KindRuleContext): HealthResult {
  const phase = stringAt(object, 'status.phase', '');
  switch (phase) {
    case 'Succeeded':
      return current('Pod has completed successfully');
    case 'Failed':
      // A finished pod is settled; whatever owns it (a Job) decides whether that is a failure.
      return current('Pod has completed, but not successfully');
    case 'Running': {
      if (findCondition(object, 'Ready')?.status === 'True') return current('Pod is Ready');
      const looping = crashLoopingContainers(object);
      if (looping.length > 0) return failed(`Containers in CrashLoopBackOff: ${looping.join(', ')}`);
      return inProgress('Pod is running but not Ready');
    }
    case 'Pending': {
      const looping = crashLoopingContainers(object);
      if (looping.length > 0) return failed(`Containers in CrashLoopBackOff: ${looping.join(', ')}`);
      const scheduled = findCondition(object, 'PodScheduled');
      if (scheduled?.status === 'False' && scheduled.reason === 'Unschedulable') {
        const since = Date.parse(
          stringAt(object, 'metadata.creationTimestamp', '') || scheduled.lastTransitionTime,
        );
        if (Number.isFinite(since) && context.now - since <= UNSCHEDULABLE_GRACE_MS) {
          return inProgress('Pod has not been scheduled yet');
        }
        return failed(`Pod could not be scheduled${scheduled.message ? `: ${scheduled.message}` : ''}`);
      }
      return inProgress('Pod is Pending');
    }
    case '':
      return inProgress('Pod phase not reported yet');
    default:
      return { status: 'Unknown', message: `Pod is in an unknown phase: ${phase}` };
  }
}

/**
 * Job: Complete is current, Failed is failed. A started Job stays in progress until it completes
 * (Flux's rule; kstatus calls a running Job current), so waiting on a Job waits for its result.
 */
export function jobHealth(object: KubeObject): HealthResult {
  const succeeded = intAt(object, 'status.succeeded', 0);
  const failedPods = intAt(object, 'status.failed', 0);
  const active = intAt(object, 'status.active', 0);
  for (const condition of conditionsOf(object)) {
    if (condition.status !== 'True') continue;
    if (condition.type === 'Complete') return current(`Job completed: ${succeeded} succeeded`);
    if (condition.type === 'Failed') {
      return failed(
        `Job failed${condition.reason ? ` (${condition.reason})` : ''}: ${failedPods} failed pods`,
      );
    }
    if (condition.type === 'Suspended') return current('Job is suspended');
  }
  if (stringAt(object, 'status.startTime', '') === '') return inProgress('Job not started');
  return inProgress(`Job running: ${active} active, ${succeeded} succeeded, ${failedPods} failed`);
}

/** PersistentVolumeClaim: current only once bound to a volume. */
export function pvcHealth(object: KubeObject): HealthResult {
  const phase = stringAt(object, 'status.phase', '');
  if (phase !== 'Bound') return inProgress(`PVC is not Bound (phase: ${phase || 'unknown'})`);
  return current('PVC is Bound');
}

/** Service: a LoadBalancer waits for its cluster IP and for an ingress point from the load balancer. */
export function serviceHealth(object: KubeObject): HealthResult {
  if (stringAt(object, 'spec.type', 'ClusterIP') !== 'LoadBalancer') return current('Service is ready');
  if (stringAt(object, 'spec.clusterIP', '') === '')
    return inProgress('LoadBalancer Service has no cluster IP yet');
  const ingress = fieldAt(object, 'status.loadBalancer.ingress');
  if (!Array.isArray(ingress) || ingress.length === 0) {
    return inProgress('LoadBalancer Service has no ingress point yet');
  }
  return current('LoadBalancer Service is ready');
}

/** CustomResourceDefinition: failed when names conflict or establishing failed; current once Established. */
export function crdHealth(object: KubeObject): HealthResult {
  for (const condition of conditionsOf(object)) {
    if (condition.type === 'NamesAccepted' && condition.status === 'False') {
      return failed(`CRD names not accepted: ${condition.message || condition.reason}`);
    }
    if (condition.type === 'Established') {
      if (condition.status === 'True') return current('CRD is established');
      if (condition.status === 'False' && condition.reason !== 'Installing') {
        return failed(`CRD not established: ${condition.message || condition.reason}`);
      }
    }
  }
  return inProgress('CRD is being installed');
}

/** Kinds that are ready as soon as they exist. */
export function alwaysCurrent(): HealthResult {
  return current('Resource is always ready');
}

/** Built-in rules keyed like custom checks: `group/Kind`, or `Kind` for the core group. */
export const kindRules: Readonly<Record<string, KindRule>> = {
  'apps/Deployment': deploymentHealth,
  'extensions/Deployment': deploymentHealth,
  'apps/StatefulSet': statefulSetHealth,
  'apps/DaemonSet': daemonSetHealth,
  'extensions/DaemonSet': daemonSetHealth,
  'apps/ReplicaSet': replicaSetHealth,
  'extensions/ReplicaSet': replicaSetHealth,
  Pod: podHealth,
  'batch/Job': jobHealth,
  PersistentVolumeClaim: pvcHealth,
  Service: serviceHealth,
  'apiextensions.k8s.io/CustomResourceDefinition': crdHealth,
  Secret: alwaysCurrent,
  ConfigMap: alwaysCurrent,
  'batch/CronJob': alwaysCurrent,
  'policy/PodDisruptionBudget': alwaysCurrent,
};
