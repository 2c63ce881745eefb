import type { GitOpsError, ValidationIssue } from '../errors.js';
import { formatRef, type ObjectRef } from '../refs.js';
import { boundMessage } from '../summary.js';
import type { Artifact, HistoryCause, HistoryCauseObject, HistoryEntry } from '../types.js';
import type { PassResult } from './pass.js';

/**
 * What history entries say about their cause. Messages come from typed errors and health
 * readings, which never carry Secret values (errors name objects, not their data); drift entries
 * list object references only, never the drifted values.
 */

/** At most this many objects are named by one cause or drift entry (the count says the rest). */
export const HISTORY_OBJECTS_LIMIT = 20;

/** The cause of a failed pass: the error's code, stage, bounded message and location. */
export function causeOfFailure(error: GitOpsError): HistoryCause {
  const objects = objectsOfError(error);
  const location = error.location ?? objects.find((o) => o.location)?.location;
  return {
    code: error.code,
    stage: error.stage,
    message: boundMessage(error.message),
    // The error's own place, else the first object's (a validation names each manifest).
    ...(location === undefined ? {} : { location }),
    ...(objects.length > 0 ? { objects } : {}),
  };
}

/**
 * The cause of a `rolledBack` outcome: for a rollback of this pass, the health failure and which
 * objects and why; for a revision still held back, or held by `rollbackTo`, what holds it.
 */
export function causeOfRollback(result: PassResult): HistoryCause {
  if (result.rollback === 'held' || result.rollback === 'requested') {
    return {
      code: result.rollback === 'held' ? 'ROLLBACK_HELD' : 'ROLLBACK_REQUESTED',
      stage: 'reconcile',
      message: boundMessage(result.reason ?? `Holding revision ${result.appliedRevision}`),
    };
  }
  const objects: HistoryCauseObject[] = (result.failing ?? [])
    .slice(0, HISTORY_OBJECTS_LIMIT)
    .map((o) => ({ ref: o.ref, status: o.status, message: boundMessage(o.message) }));
  const failed = objects.some((o) => o.status === 'Failed');
  return {
    code: failed || objects.length === 0 ? 'HEALTH_FAILED' : 'HEALTH_TIMEOUT',
    stage: 'health',
    message: boundMessage(result.reason ?? `Rolled back to ${result.appliedRevision}`),
    ...(objects.length > 0 ? { objects } : {}),
  };
}

/** A drift correction as an entry of its own: what drifted, reverted by the pass. */
export function driftEntry(
  artifact: Artifact,
  drifted: readonly ObjectRef[],
  startedAt: string,
  durationMs: number,
): HistoryEntry {
  const shown = drifted.slice(0, 5).map(formatRef).join(', ');
  const more = drifted.length > 5 ? ` and ${drifted.length - 5} more` : '';
  return {
    kind: 'drift',
    revision: artifact.revision,
    digest: artifact.digest,
    outcome: 'succeeded',
    reason: `Drift reverted on ${drifted.length} object${drifted.length === 1 ? '' : 's'}: ${shown}${more}`,
    drifted: drifted.slice(0, HISTORY_OBJECTS_LIMIT),
    startedAt,
    durationMs,
  };
}

/** Objects an error lists (a validation's or an apply's issues), with their file and line. */
function objectsOfError(error: GitOpsError): HistoryCauseObject[] {
  const issues = (error as { issues?: unknown }).issues;
  if (!Array.isArray(issues)) return [];
  const out: HistoryCauseObject[] = [];
  for (const issue of issues.slice(0, HISTORY_OBJECTS_LIMIT) as ValidationIssue[]) {
    if (typeof issue?.message !== 'string') continue;
    out.push({
      message: boundMessage(issue.message),
      ...(issue.location === undefined ? {} : { location: issue.location }),
    });
  }
  return out;
}
