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

/**
 * Where read objects go, by reference key: a Map, or a sink that plans each object as it arrives
 * and keeps only what the plan needs (see `live-sink.ts`).
 */
export interface LiveObjects {
  has(key: string): boolean;
  set(key: string, object: KubeObject): unknown;
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
export async function readLive<T extends LiveObjects = Map<string, KubeObject>>(
  context: TargetContext,
  items: readonly { readonly ref: ObjectRef; readonly info: ResourceInfo; readonly pending: boolean }[],
  signal: AbortSignal,
  into?: T,
): Promise<T> {
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
  const live = into ?? (new Map<string, KubeObject>() as LiveObjects as T);
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
  live: LiveObjects,
  signal: AbortSignal,
): Promise<void> {
  const selector = `${OWNER_LABEL}=${context.ownerLabel}`;
  const missing: ListGroup[] = [];
  await mapAll(groups, context.concurrency, async (group) => {
    try {
      // Page by page: a page's objects are handed over before the next page is asked for.
      await listEach(context, group.info, group.namespace, selector, signal, (item) =>
        live.set(liveKey(group.info, item), item),
      );
    } catch (error) {
      if (group.namespace === undefined && group.info.namespaced && isStatus(error, 403)) {
        // Not allowed to list across namespaces: fall back to one list per namespace.
        await fetchLive(context, splitByNamespace(group), live, signal);
        return;
      }
      throw error;
    }
    const absent = group.members.filter((m) => !live.has(refKey(m.ref)));
    if (absent.length > 0) missing.push({ ...group, members: absent });
  });
  const gets: SingleRead[] = [];
  const lists: ListGroup[] = [];
  for (const group of missing) {
    if (group.members.length <= MAX_SINGLE_GETS)
      gets.push(...group.members.map((m) => ({ info: group.info, ref: m.ref })));
    // As the labeled list was made (cluster-wide or per namespace), so reading what it missed costs
    // no more requests than listing did; pages are planned as they come, so size is no concern.
    else lists.push(group);
  }
  await mapAll<SingleRead | ListGroup, void>([...lists, ...gets], context.concurrency, async (work) => {
    if ('members' in work) {
      const wanted = new Set(work.members.map((m) => refKey(m.ref)));
      await listEach(context, work.info, work.namespace, undefined, signal, (item) => {
        const key = liveKey(work.info, item);
        if (wanted.has(key)) live.set(key, item);
      });
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
  await listEach(context, info, namespace, labelSelector, signal, (item) => items.push(item));
  return items;
}

/**
 * Lists like {@link list}, handing each object to `each` as its page arrives, so no more than one
 * page of a list is held here (500 objects) however many the kind has.
 */
export async function listEach(
  context: TargetContext,
  info: ResourceInfo,
  namespace: string | undefined,
  labelSelector: string | undefined,
  signal: AbortSignal,
  each: (object: KubeObject) => void,
): Promise<void> {
  let token: string | undefined;
  do {
    const page = await context.client.request<{ items?: KubeObject[]; metadata?: { continue?: string } }>({
      method: 'GET',
      path: resourcePath(info, namespace),
      query: { labelSelector, limit: String(LIST_PAGE), continue: token },
      signal,
    });
    for (const item of page.items ?? []) each(withKind(item, info));
    token = page.metadata?.continue || undefined;
  } while (token);
}

/** List items have no apiVersion and kind: fill them in (in place: the object was just parsed). */
function withKind(object: KubeObject, info: ResourceInfo): KubeObject {
  const typed = object as { apiVersion: string; kind: string };
  typed.apiVersion = info.group ? `${info.group}/${info.version}` : info.version;
  typed.kind = info.kind;
  return object;
}

function liveKey(info: ResourceInfo, object: KubeObject): string {
  return refKey({
    apiVersion: info.group ? `${info.group}/${info.version}` : info.version,
    kind: info.kind,
    namespace: info.namespaced ? object.metadata.namespace : undefined,
    name: object.metadata.name,
  });
}
