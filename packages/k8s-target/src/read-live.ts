import { type KubeObject, type ObjectRef, OWNER_LABEL, refKey } from '@gitops-kit/core';
import type { TargetContext } from './context.js';
import { type ResourceInfo, resourcePath } from './discovery.js';
import { isStatus } from './errors.js';
import { mapAll } from './pool.js';

/**
 * Reading live objects cheaply: one labeled list per kind (and namespace, when lists are per
 * namespace), then single GETs or one unlabeled list for the members the labeled list did not
 * return (new objects, or objects not marked as ours).
 */

/** Members of one kind read with one list: cluster-wide (`namespace` undefined) or in one namespace. */
export interface ListGroup {
  readonly info: ResourceInfo;
  /** Undefined for a cluster-wide list. */
  readonly namespace: string | undefined;
  readonly members: readonly { readonly ref: ObjectRef }[];
}

/** One object to read on its own. */
interface SingleRead {
  readonly info: ResourceInfo;
  readonly ref: ObjectRef;
}

const LIST_PAGE = 500;
/** Above this many objects missing from a labeled list, one unlabeled list is cheaper than GETs. */
const MAX_SINGLE_GETS = 8;

/** The list requests that cover `members`: cluster-wide per kind, or per namespace. */
export function listGroups(
  context: TargetContext,
  info: ResourceInfo,
  members: readonly { readonly ref: ObjectRef }[],
): ListGroup[] {
  if (!info.namespaced) return [{ info, namespace: undefined, members }];
  const byNamespace = groupByNamespace(members);
  const scope = context.listScope;
  const clusterWide =
    scope === 'cluster' ||
    (scope === 'auto' && !context.restrictions?.allowedNamespaces && byNamespace.size > 1);
  if (clusterWide) return [{ info, namespace: undefined, members }];
  return [...byNamespace.entries()].map(([namespace, group]) => ({ info, namespace, members: group }));
}

/** The live objects of `items` by reference key; items whose kind is not served yet are skipped. */
export async function readLive(
  context: TargetContext,
  items: readonly { readonly ref: ObjectRef; readonly info: ResourceInfo; readonly pending: boolean }[],
  signal: AbortSignal,
): Promise<Map<string, KubeObject>> {
  const byKind = new Map<string, (typeof items)[number][]>();
  for (const item of items) {
    if (item.pending) continue; // its kind is not served yet: nothing can exist
    const key = `${item.info.group}/${item.info.version}/${item.info.resource}`;
    const members = byKind.get(key);
    if (members) members.push(item);
    else byKind.set(key, [item]);
  }
  const groups = [...byKind.values()].flatMap((members) =>
    listGroups(context, (members[0] as (typeof items)[number]).info, members),
  );
  const live = new Map<string, KubeObject>();
  await fetchLive(context, groups, live, signal);
  return live;
}

/**
 * Fills `live` with the objects of `groups`: one labeled list per group, then, for members the
 * list did not return (new, or not marked as ours), single GETs or one unlabeled list.
 */
export async function fetchLive(
  context: TargetContext,
  groups: readonly ListGroup[],
  live: Map<string, KubeObject>,
  signal: AbortSignal,
): Promise<void> {
  const selector = `${OWNER_LABEL}=${context.ownerLabel}`;
  const missing: ListGroup[] = [];
  await mapAll(groups, context.concurrency, async (group) => {
    let items: KubeObject[];
    try {
      items = await list(context, group.info, group.namespace, selector, signal);
    } catch (error) {
      if (group.namespace === undefined && group.info.namespaced && isStatus(error, 403)) {
        // Not allowed to list across namespaces: fall back to one list per namespace.
        await fetchLive(context, splitByNamespace(group), live, signal);
        return;
      }
      throw error;
    }
    for (const item of items) live.set(liveKey(group.info, item), item);
    const absent = group.members.filter((m) => !live.has(refKey(m.ref)));
    if (absent.length > 0) missing.push({ ...group, members: absent });
  });
  const gets: SingleRead[] = [];
  const lists: ListGroup[] = [];
  for (const group of missing) {
    if (group.members.length <= MAX_SINGLE_GETS)
      gets.push(...group.members.map((m) => ({ info: group.info, ref: m.ref })));
    else lists.push(...splitByNamespace(group));
  }
  await mapAll<SingleRead | ListGroup, void>([...lists, ...gets], context.concurrency, async (work) => {
    if ('members' in work) {
      const items = await list(context, work.info, work.namespace, undefined, signal);
      const wanted = new Set(work.members.map((m) => refKey(m.ref)));
      for (const item of items) {
        const key = liveKey(work.info, item);
        if (wanted.has(key)) live.set(key, item);
      }
      return;
    }
    try {
      const object = await context.client.request<KubeObject>({
        method: 'GET',
        path: resourcePath(work.info, work.ref.namespace, work.ref.name),
        signal,
      });
      live.set(refKey(work.ref), withKind(object, work.info));
    } catch (error) {
      if (!isStatus(error, 404)) throw error;
    }
  });
}

function groupByNamespace(
  members: readonly { readonly ref: ObjectRef }[],
): Map<string, { ref: ObjectRef }[]> {
  const byNamespace = new Map<string, { ref: ObjectRef }[]>();
  for (const member of members) {
    const ns = member.ref.namespace ?? '';
    const same = byNamespace.get(ns);
    if (same) same.push(member);
    else byNamespace.set(ns, [member]);
  }
  return byNamespace;
}

function splitByNamespace(group: ListGroup): ListGroup[] {
  if (!group.info.namespaced || group.namespace !== undefined) return [group];
  return [...groupByNamespace(group.members).entries()].map(([namespace, members]) => ({
    info: group.info,
    namespace,
    members,
  }));
}

/** Every object of a kind (in one namespace, or across them) matching `labelSelector`, page by page. */
export async function list(
  context: TargetContext,
  info: ResourceInfo,
  namespace: string | undefined,
  labelSelector: string | undefined,
  signal: AbortSignal,
): Promise<KubeObject[]> {
  const items: KubeObject[] = [];
  let token: string | undefined;
  do {
    const page = await context.client.request<{ items?: KubeObject[]; metadata?: { continue?: string } }>({
      method: 'GET',
      path: resourcePath(info, namespace),
      query: { labelSelector, limit: String(LIST_PAGE), continue: token },
      signal,
    });
    for (const item of page.items ?? []) items.push(withKind(item, info));
    token = page.metadata?.continue || undefined;
  } while (token);
  return items;
}

/** List items have no apiVersion and kind: fill them in. */
function withKind(object: KubeObject, info: ResourceInfo): KubeObject {
  return {
    ...object,
    apiVersion: info.group ? `${info.group}/${info.version}` : info.version,
    kind: info.kind,
  };
}

function liveKey(info: ResourceInfo, object: KubeObject): string {
  return refKey({
    apiVersion: info.group ? `${info.group}/${info.version}` : info.version,
    kind: info.kind,
    namespace: info.namespaced ? object.metadata.namespace : undefined,
    name: object.metadata.name,
  });
}
