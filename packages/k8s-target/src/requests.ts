import type { KubeObject } from '@gitops-kit/core';
import type { TargetContext } from './context.js';
import { type ResourceInfo, resourcePath } from './discovery.js';
import { isStatus, UnknownKindError } from './errors.js';
import type { Prepared } from './prepare.js';

/**
 * The writes the target makes: a server-side apply (or its dry-run), a replace (PUT, or POST when
 * absent) for `Replace=true` objects, and a delete.
 */

/**
 * Writes one prepared object (`dryRun=All` when `dryRun`) as our field manager: a server-side
 * apply, or with `Replace=true` a PUT of the whole object at the live resourceVersion (a POST when
 * it does not exist), as Argo CD's `kubectl replace`/`create`. `Validate=false` sends
 * `fieldValidation=Ignore`, the server-side form of `kubectl --validate=false`.
 */
export async function applyRequest(
  context: TargetContext,
  item: Prepared,
  signal: AbortSignal,
  dryRun: boolean,
): Promise<KubeObject> {
  const info = item.missing ? await servedInfo(context, item, signal) : item.info;
  const path = resourcePath(info, item.ref.namespace, item.ref.name);
  const query = {
    fieldManager: context.fieldManager,
    dryRun: dryRun ? 'All' : undefined,
    fieldValidation: item.writeOptions.validate ? undefined : 'Ignore',
  };
  if (!item.writeOptions.replace) {
    return context.client.request<KubeObject>({
      method: 'PATCH',
      path,
      query: { ...query, force: context.force ? 'true' : undefined },
      body: item.body,
      contentType: 'application/apply-patch+yaml',
      signal,
    });
  }
  let live: KubeObject | undefined;
  try {
    live = await context.client.request<KubeObject>({ method: 'GET', path, signal });
  } catch (error) {
    if (!isStatus(error, 404)) throw error;
  }
  if (!live) {
    return context.client.request<KubeObject>({
      method: 'POST',
      path: resourcePath(info, item.ref.namespace),
      query,
      body: item.body,
      signal,
    });
  }
  // The live resourceVersion makes the PUT an optimistic update: a write in between is a 409.
  const body = {
    ...item.body,
    metadata: { ...item.body.metadata, resourceVersion: live.metadata.resourceVersion },
  };
  return context.client.request<KubeObject>({ method: 'PUT', path, query, body, signal });
}

/**
 * Where a `SkipDryRunOnMissingResource=true` object's kind is served now (discovery asked again);
 * still unserved, an UnknownKindError saying the dry-run was skipped.
 */
async function servedInfo(
  context: TargetContext,
  item: Prepared,
  signal: AbortSignal,
): Promise<ResourceInfo> {
  const { apiVersion, kind } = item.ref;
  context.discovery.invalidate(apiVersion);
  const info = await context.discovery.lookup(apiVersion, kind, signal);
  if (!info) {
    throw new UnknownKindError(
      apiVersion,
      kind,
      'its dry-run was skipped (SkipDryRunOnMissingResource=true) and the kind is still not served at its write',
    );
  }
  if (info.namespaced && item.ref.namespace === undefined) {
    throw new UnknownKindError(
      apiVersion,
      kind,
      'the kind turned out namespaced and the object names no namespace; with SkipDryRunOnMissingResource=true its scope was unknown, so give it metadata.namespace',
    );
  }
  return info;
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
