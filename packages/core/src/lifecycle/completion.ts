/**
 * When a hook has finished. Health rules (kstatus) call a finished Pod `Current` whether it succeeded
 * or failed, and a Ready running Pod `Current` too; a hook is different: it must run to completion,
 * and a failure fails the pass. These are the rules Argo CD and Helm apply to hook objects.
 */
import { groupOf } from '../refs.js';
import type { HealthStatus, KubeObject } from '../types.js';

/** Where a hook stands. */
export type HookCompletion = 'succeeded' | 'failed' | 'running';

/** A hook's completion and a short reason for messages and events. */
export interface HookCompletionReport {
  /** Whether the hook succeeded, failed or still runs. */
  readonly completion: HookCompletion;
  /** Why, for events and errors. */
  readonly message: string;
}

type Conditions = readonly {
  readonly type?: unknown;
  readonly status?: unknown;
  readonly message?: unknown;
}[];

function conditionsOf(object: KubeObject): Conditions {
  const status = object.status as { conditions?: unknown } | undefined;
  return Array.isArray(status?.conditions) ? (status.conditions as Conditions) : [];
}

function phaseOf(object: KubeObject): string {
  const status = object.status as { phase?: unknown } | undefined;
  return typeof status?.phase === 'string' ? status.phase : '';
}

/**
 * The completion of a live hook object. Job: condition `Complete` or `SuccessCriteriaMet` True
 * succeeds, `Failed` True fails. Pod: phase `Succeeded` / `Failed`. Argo Workflow: phase `Succeeded`,
 * `Failed` or `Error`. Any other kind completes when its health is `Current` and fails when `Failed`
 * (`health` is the target's reading). A hook that is gone (deleted by something else) has not completed.
 */
export function hookCompletion(live: KubeObject | undefined, health?: HealthStatus): HookCompletionReport {
  if (!live) return { completion: 'running', message: 'hook object not found' };
  const group = groupOf(live.apiVersion);
  if (live.kind === 'Job' && group === 'batch') {
    const conditions = conditionsOf(live);
    const holds = (type: string) => conditions.find((c) => c.type === type && c.status === 'True');
    const failedCondition = holds('Failed');
    if (failedCondition) {
      const detail = typeof failedCondition.message === 'string' ? `: ${failedCondition.message}` : '';
      return { completion: 'failed', message: `Job failed${detail}` };
    }
    if (holds('Complete') || holds('SuccessCriteriaMet'))
      return { completion: 'succeeded', message: 'Job completed' };
    return { completion: 'running', message: 'Job has not completed' };
  }
  if (live.kind === 'Pod' && group === '') {
    const phase = phaseOf(live);
    if (phase === 'Succeeded') return { completion: 'succeeded', message: 'Pod succeeded' };
    if (phase === 'Failed') return { completion: 'failed', message: 'Pod failed' };
    return { completion: 'running', message: `Pod is ${phase || 'pending'}` };
  }
  if (live.kind === 'Workflow' && group === 'argoproj.io') {
    const phase = phaseOf(live);
    if (phase === 'Succeeded') return { completion: 'succeeded', message: 'Workflow succeeded' };
    if (phase === 'Failed' || phase === 'Error')
      return { completion: 'failed', message: `Workflow ${phase}` };
    return { completion: 'running', message: `Workflow is ${phase || 'pending'}` };
  }
  if (health === 'Current') return { completion: 'succeeded', message: `${live.kind} is healthy` };
  if (health === 'Failed') return { completion: 'failed', message: `${live.kind} is unhealthy` };
  return { completion: 'running', message: `${live.kind} is not healthy yet` };
}
