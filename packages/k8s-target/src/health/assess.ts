import { groupOf, type KubeObject, type ObjectHealth, refOf } from '@gitops-kit/core';
import { fieldAt, findCondition } from './fields.js';
import { kindRules } from './kinds.js';
import type { AssessHealthOptions, HealthResult } from './types.js';

/** The key of a kind in rule maps: `group/Kind`, or `Kind` alone for the core group. */
export function healthCheckKey(apiVersion: string, kind: string): string {
  const group = groupOf(apiVersion);
  return group === '' ? kind : `${group}/${kind}`;
}

/**
 * The health of one live object, by kstatus rules: a deletion timestamp means Terminating; a
 * generation the controller has not observed means InProgress; `Reconciling=True` means
 * InProgress and `Stalled=True` Failed; then a custom check for the kind, then the built-in kind
 * rule; then a `Ready` condition (True is Current, anything else InProgress); else Current.
 */
export function assessHealth(object: KubeObject, options: AssessHealthOptions = {}): HealthResult {
  const deletion = fieldAt(object, 'metadata.deletionTimestamp');
  if (typeof deletion === 'string' && deletion !== '') {
    return { status: 'Terminating', message: 'Resource scheduled for deletion' };
  }

  // Only compare when the object reports both: many kinds never write observedGeneration.
  const generation = fieldAt(object, 'metadata.generation');
  const observed = fieldAt(object, 'status.observedGeneration');
  if (typeof generation === 'number' && typeof observed === 'number' && generation !== observed) {
    return {
      status: 'InProgress',
      message: `${object.kind} generation is ${generation}, but latest observed generation is ${observed}`,
    };
  }

  const reconciling = findCondition(object, 'Reconciling');
  if (reconciling?.status === 'True') {
    return { status: 'InProgress', message: reconciling.message || `Reconciling: ${reconciling.reason}` };
  }
  const stalled = findCondition(object, 'Stalled');
  if (stalled?.status === 'True') {
    return { status: 'Failed', message: stalled.message || `Stalled: ${stalled.reason}` };
  }

  const key = healthCheckKey(object.apiVersion, object.kind);
  const custom = options.checks?.[key];
  if (custom) {
    const result = custom(object);
    if (result) return result;
  }
  const rule = kindRules[key];
  if (rule) return rule(object, { now: options.now ?? Date.now() });

  const ready = findCondition(object, 'Ready');
  if (ready) {
    if (ready.status === 'True') return { status: 'Current', message: ready.message || 'Ready' };
    return {
      status: 'InProgress',
      message: ready.message || `Not ready${ready.reason ? `: ${ready.reason}` : ''}`,
    };
  }
  return { status: 'Current', message: 'Resource is current' };
}

/** {@link assessHealth} with the object's reference, as a target reports it. */
export function assessObjectHealth(object: KubeObject, options: AssessHealthOptions = {}): ObjectHealth {
  return { ref: refOf(object), ...assessHealth(object, options) };
}
