/**
 * A schedule as lines people read (plan output, logs): one line per step with its gate, where pruning
 * happens, the SyncFail steps and what does not run and why. Object names only, never contents.
 */
import { describeObject } from './descriptor.js';
import type { LifecycleSchedule, LifecycleStep, Schedulable, ScheduledObject } from './schedule.js';

function objectLine<T extends Schedulable>({ item, lifecycle }: ScheduledObject<T>): string {
  const marks: string[] = [];
  if (lifecycle.hook) marks.push('hook');
  if (lifecycle.name.assignedBy === 'server') marks.push('name from server');
  return `${describeObject(item.manifest)}${marks.length > 0 ? ` [${marks.join(', ')}]` : ''}`;
}

function stepLines<T extends Schedulable>(step: LifecycleStep<T>, prefix = ''): string[] {
  const gate = step.gate.kind === 'none' ? '' : ` (then wait: ${step.gate.kind})`;
  return [
    `${prefix}${step.phase} wave ${step.wave}${gate}:`,
    ...step.objects.map((object) => `  ${objectLine(object)}`),
  ];
}

/**
 * The schedule of a pass as text lines, in the order the pass runs:
 *
 * ```
 * PreSync wave 0 (then wait: complete):
 *   batch/v1 Job shop/migrate [hook]
 * Sync wave 0:
 *   apps/v1 Deployment shop/web
 * prune
 * on failure: SyncFail wave 0 (then wait: complete):
 *   batch/v1 Job shop/restore [hook]
 * not run: batch/v1 Job shop/drain: Helm pre-delete hook: runs on uninstall
 * ```
 */
export function formatSchedule<T extends Schedulable>(schedule: LifecycleSchedule<T>): string[] {
  const lines: string[] = [];
  const prune = schedule.operation === 'uninstall' ? 'delete everything owned' : 'prune';
  schedule.steps.forEach((step, index) => {
    if (index === schedule.pruneAt) lines.push(prune);
    lines.push(...stepLines(step));
  });
  if (schedule.pruneAt >= schedule.steps.length) lines.push(prune);
  for (const step of schedule.onFailure) lines.push(...stepLines(step, 'on failure: '));
  for (const { item, reason } of schedule.notRun)
    lines.push(`not run: ${describeObject(item.manifest)}: ${reason}`);
  return lines;
}
