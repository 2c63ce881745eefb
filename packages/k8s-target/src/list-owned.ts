import { type KubeObject, type ObjectRef, OWNER_ANNOTATION, OWNER_LABEL } from '@gitops-kit/core';
import type { TargetContext } from './context.js';
import type { ResourceInfo } from './discovery.js';
import { isStatus } from './errors.js';
import { isOwnedBy } from './ownership.js';
import { mapAll } from './pool.js';
import { list } from './read-live.js';

/**
 * Resources never worth listing for our objects: events are written by others about objects, and
 * the kinds below are requests that cannot be listed or are never declared in a set.
 */
const SKIPPED = new Set([
  '/events',
  '/endpoints',
  'discovery.k8s.io/endpointslices',
  'events.k8s.io/events',
  'authentication.k8s.io/tokenreviews',
  'authorization.k8s.io/subjectaccessreviews',
  'authorization.k8s.io/selfsubjectaccessreviews',
  'authorization.k8s.io/selfsubjectrulesreviews',
  'authorization.k8s.io/localsubjectaccessreviews',
  '/bindings',
  '/componentstatuses',
]);

/**
 * Every live object carrying this target's ownership mark, in every served resource: one labeled
 * list per resource (cluster-wide; per allowed namespace when a tenant may not list across
 * namespaces). Resources we may not list at all are skipped: objects of a kind we cannot read were
 * not written by us either. Used by the reconciler to recover an inventory when its state is lost;
 * costs one discovery sweep and one list per resource, so it is not part of an ordinary pass.
 */
export async function listOwned(context: TargetContext, signal: AbortSignal): Promise<ObjectRef[]> {
  const resources = (await context.discovery.servedResources(signal)).filter(
    (info) => info.listable !== false && !SKIPPED.has(`${info.group}/${info.resource}`),
  );
  const selector = `${OWNER_LABEL}=${context.ownerLabel}`;
  const found = await mapAll(resources, context.concurrency, (info) =>
    listResource(context, info, selector, signal),
  );
  return found.flat();
}

/**
 * Whether a listed object is one we applied: our label and our annotation both (we write both on
 * every apply; controllers that copy a Service's or a custom resource's labels onto what they
 * generate, such as Endpoints, EndpointSlices or an operator's StatefulSet, copy no annotation), and
 * no controller owner (a controller made it, even when it copied everything).
 */
function recoverable(item: KubeObject, owner: string): boolean {
  if (!isOwnedBy(item, owner) || item.metadata.annotations?.[OWNER_ANNOTATION] !== owner) return false;
  const references = item.metadata.ownerReferences;
  return !(
    Array.isArray(references) && references.some((r) => (r as { controller?: unknown }).controller === true)
  );
}

async function listResource(
  context: TargetContext,
  info: ResourceInfo,
  selector: string,
  signal: AbortSignal,
): Promise<ObjectRef[]> {
  const namespaces: (string | undefined)[] =
    info.namespaced && context.restrictions?.allowedNamespaces && context.listScope !== 'cluster'
      ? [...context.restrictions.allowedNamespaces]
      : [undefined];
  const refs: ObjectRef[] = [];
  for (const namespace of namespaces) {
    let items: Awaited<ReturnType<typeof list>>;
    try {
      items = await list(context, info, namespace, selector, signal);
    } catch (error) {
      if (isStatus(error, 403) || isStatus(error, 404) || isStatus(error, 405)) continue;
      throw error;
    }
    for (const item of items) {
      if (!recoverable(item, context.name)) continue;
      refs.push({
        apiVersion: item.apiVersion,
        kind: item.kind,
        ...(info.namespaced && item.metadata.namespace ? { namespace: item.metadata.namespace } : {}),
        name: item.metadata.name,
      });
    }
  }
  return refs;
}
