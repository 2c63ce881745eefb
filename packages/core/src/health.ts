import type { HealthReport, ObjectHealth } from './types.js';

/**
 * Folds the health of many objects into one status, so every target reports a set the same way:
 * `Failed` if any object failed, `Current` if every object is current (an empty set is current),
 * otherwise `InProgress` (terminating, missing or unknown objects are not done yet).
 */
export function summarizeHealth(objects: readonly ObjectHealth[]): HealthReport {
  let status: HealthReport['status'] = 'Current';
  for (const object of objects) {
    if (object.status === 'Failed') {
      status = 'Failed';
      break;
    }
    if (object.status !== 'Current') status = 'InProgress';
  }
  return { status, objects };
}
