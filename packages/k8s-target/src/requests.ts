import type { KubeObject } from '@gitops-kit/core';
import type { TargetContext } from './context.js';
import { resourcePath } from './discovery.js';
import type { Prepared } from './prepare.js';

/** The two writes the target makes: a server-side apply (or its dry-run) and a delete. */

/** Server-side applies one prepared object (`dryRun=All` when `dryRun`), as our field manager. */
export function applyRequest(
  context: TargetContext,
  item: Prepared,
  signal: AbortSignal,
  dryRun: boolean,
): Promise<KubeObject> {
  return context.client.request<KubeObject>({
    method: 'PATCH',
    path: resourcePath(item.info, item.ref.namespace, item.ref.name),
    query: {
      fieldManager: context.fieldManager,
      force: context.force ? 'true' : undefined,
      dryRun: dryRun ? 'All' : undefined,
    },
    body: item.body,
    contentType: 'application/apply-patch+yaml',
    signal,
  });
}

/**
 * Deletes the object at `path` with the configured propagation policy; with `uid`, only if the
 * object there is still that one (a precondition: the server answers 409 otherwise).
 */
export async function deleteRequest(
  context: TargetContext,
  path: string,
  signal: AbortSignal,
  uid?: unknown,
): Promise<void> {
  await context.client.request({
    method: 'DELETE',
    path,
    body: {
      apiVersion: 'v1',
      kind: 'DeleteOptions',
      propagationPolicy: context.propagationPolicy,
      ...(uid === undefined ? {} : { preconditions: { uid } }),
    },
    signal,
  });
}
