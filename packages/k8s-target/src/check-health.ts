import {
  type HealthReport,
  type HealthStatus,
  type HookCompletion,
  hookCompletion,
  type KubeObject,
  type ObjectHealth,
  type ObjectRef,
  refKey,
  summarizeHealth,
} from '@gitops-kit/core';
import type { TargetContext } from './context.js';
import type { ResourceInfo } from './discovery.js';
import { assessHealth } from './health/index.js';
import { mapAll } from './pool.js';
import { fetchLive, type ListGroup, listGroups } from './read-live.js';

/** A hook's completion as a health status. */
const HOOK_STATUS: Record<HookCompletion, HealthStatus> = {
  succeeded: 'Current',
  failed: 'Failed',
  running: 'InProgress',
};

/**
 * One health reading of `refs` by kstatus rules (custom checks first): one list per kind (and
 * namespace when lists are per namespace), single reads only for objects missing from those lists.
 */
export async function readHealth(
  context: TargetContext,
  refs: readonly ObjectRef[],
  signal: AbortSignal,
  hooks: readonly ObjectRef[] = [],
): Promise<HealthReport> {
  const hookKeys = new Set(hooks.map(refKey));
  const groups = new Map<string, { info: ResourceInfo | undefined; refs: ObjectRef[] }>();
  for (const ref of refs) {
    const key = `${ref.apiVersion}|${ref.kind}`;
    let group = groups.get(key);
    if (!group) {
      group = { info: undefined, refs: [] };
      groups.set(key, group);
    }
    group.refs.push(ref);
  }
  await mapAll([...groups.values()], context.concurrency, async (group) => {
    const first = group.refs[0] as ObjectRef;
    group.info = await context.discovery.lookup(first.apiVersion, first.kind, signal);
  });
  const live = new Map<string, KubeObject>();
  const lists: ListGroup[] = [];
  for (const group of groups.values()) {
    if (!group.info) continue;
    lists.push(
      ...listGroups(
        context,
        group.info,
        group.refs.map((ref) => ({ ref })),
      ),
    );
  }
  await fetchLive(context, lists, live, signal);
  const objects: ObjectHealth[] = refs.map((ref) => {
    const object = live.get(refKey(ref));
    if (!object) {
      const served = groups.get(`${ref.apiVersion}|${ref.kind}`)?.info !== undefined;
      return {
        ref,
        status: 'NotFound',
        message: served ? 'object not found' : `kind ${ref.kind} is not served`,
      };
    }
    const health = assessHealth(object, { checks: context.healthChecks });
    if (!hookKeys.has(refKey(ref))) return { ref, ...health };
    // A hook must run to completion: a failed Pod is settled (Current) for kstatus, not for a hook.
    const { completion, message } = hookCompletion(object, health.status);
    return { ref, status: HOOK_STATUS[completion], message };
  });
  return summarizeHealth(objects);
}
