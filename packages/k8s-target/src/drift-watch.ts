import {
  type DriftNotice,
  type FieldChange,
  type KubeObject,
  type ObjectRef,
  type RepairResult,
  readHooks,
  refKey,
} from '@gitops-kit/core';
import { isRecord } from '@gitops-kit/core/internal';
import { diffDesired } from './compare.js';
import type { TargetContext } from './context.js';
import { resourcePath } from './discovery.js';
import { applyBody, declaredOf, driftView } from './drift-rules.js';
import { isStatus } from './errors.js';
import { KindWatch, type WatchCounters } from './kind-watch.js';
import { mapAll } from './pool.js';
import type { Prepared } from './prepare.js';
import { applyRequest } from './requests.js';
import type { WatchStream } from './watch-stream.js';

/**
 * Instant revert by watch, the target's side: one watch per resource the last applied set holds
 * (see kind-watch.ts); an event for one of its objects is compared with what was applied, by the
 * plan's own rules (ignore rules and policies included), and a difference the next plan would
 * revert becomes a drift notice naming who changed it. Events that arrive while the target
 * applies are not drift (they are our own writes, or the plan right after sees them). `repair`
 * applies the drifted objects again from what the last apply sent.
 */
export class DriftWatch {
  /** Request counts of the watches. */
  readonly counters: WatchCounters = { watches: 0, lists: 0, relists: 0 };
  readonly #context: TargetContext;
  readonly #stream: WatchStream;
  /** What the last apply wrote, by object. */
  readonly #desired = new Map<string, Prepared>();
  /** What applies in progress write: watched kinds, but no drift until written. */
  readonly #staged = new Set<readonly Prepared[]>();
  readonly #watches = new Map<string, AbortController>();
  /** Resources whose watch across namespaces was refused: watched namespace by namespace. */
  readonly #forbidden = new Set<string>();
  readonly #listeners = new Set<(notice: DriftNotice) => void>();
  #applying = 0;
  /** Objects an event showed drifted while the target applied: read again once it is done. */
  readonly #deferred = new Set<string>();

  constructor(context: TargetContext, stream: WatchStream) {
    this.#context = context;
    this.#stream = stream;
  }

  /** Whether anyone listens (the target only keeps the applied set then). */
  get active(): boolean {
    return this.#listeners.size > 0;
  }

  /** Adds a listener; the watches run while there is one. Returns the function that removes it. */
  subscribe(listener: (notice: DriftNotice) => void): () => void {
    this.#listeners.add(listener);
    this.#sync();
    return () => {
      this.#listeners.delete(listener);
      this.#sync();
    };
  }

  /**
   * An apply of `items` begins. They become what the cluster should hold once the apply says they
   * were written (a pass may apply its set in several calls, one per wave: each adds to what is
   * watched); their kinds are watched from now. Returns the function that ends the apply with the
   * objects known written (`undefined` when unknown, as after an abort).
   */
  applying(items: readonly Prepared[]): (written: readonly ObjectRef[] | undefined) => void {
    this.#applying++;
    // Hooks run once in their phase and are deleted by their policy (or a Job's TTL): bringing
    // one back would run it again outside any sync.
    const staged = items.filter((item) => !isHook(item)).map((item) => declaredOf(item));
    this.#staged.add(staged);
    this.#sync();
    let ended = false;
    return (written) => {
      if (ended) return;
      ended = true;
      this.#staged.delete(staged);
      // Written objects hold the new revision now. The others are watched no more until a pass
      // writes them: their live state is the old revision or unknown, and reverting them to
      // either would write what no pass validated.
      const done = new Set((written ?? []).map(refKey));
      for (const item of staged) {
        const key = refKey(item.ref);
        if (done.has(key)) this.#desired.set(key, item);
        else this.#desired.delete(key);
      }
      this.#sync();
      this.#applied();
    };
  }

  /**
   * Objects about to be deleted (pruned, or hooks by their policy), or that left the desired set (a
   * plan's prune candidates, pruned or released with prune off): their changes are no drift.
   */
  forget(refs: readonly ObjectRef[]): void {
    for (const ref of refs) this.#desired.delete(refKey(ref));
    this.#sync();
  }

  /** An apply begun by {@link applying} ended. */
  #applied(): void {
    this.#applying = Math.max(0, this.#applying - 1);
    if (this.#applying === 0 && this.#deferred.size > 0) void this.#recheck();
  }

  /**
   * Reads again the objects an event showed drifted during an apply: the event may predate our
   * own write (no drift), or be a hand edit made meanwhile (drift the pass did not see).
   */
  async #recheck(): Promise<void> {
    const keys = [...this.#deferred];
    this.#deferred.clear();
    const signal = AbortSignal.timeout(60_000);
    await mapAll(keys, this.#context.concurrency, async (key) => {
      const item = this.#desired.get(key);
      if (!item) return;
      try {
        const live = await this.#read(item, signal);
        this.#onEvent(live ? 'MODIFIED' : 'DELETED', live ?? item.body);
      } catch {
        // Unreadable now: the interval pass is the safety net.
      }
    }).catch(() => undefined);
  }

  /** Stops every watch. */
  close(): void {
    this.#listeners.clear();
    this.#sync();
  }

  /**
   * Applies the given objects again as the last apply sent them, when they still differ (a
   * deleted one is created); objects the last apply did not hold, or whose policy forbids, are left.
   */
  async repair(refs: readonly ObjectRef[], signal: AbortSignal): Promise<RepairResult> {
    const writesBefore = this.#context.client.counters.writes;
    const items = refs.flatMap((ref) => this.#desired.get(refKey(ref)) ?? []);
    const done = await mapAll(items, this.#context.concurrency, async (item) => {
      const live = await this.#read(item, signal);
      if (live && this.#drift(item, live) === undefined) return undefined;
      if (!live && driftView(this.#context, item, live).policy === 'Ignore') return undefined;
      const body = applyBody(this.#context, item, live, driftView(this.#context, item, live));
      await applyRequest(this.#context, { ...item, body }, signal, false);
      return item.ref;
    });
    const repaired = done.filter((ref): ref is ObjectRef => ref !== undefined);
    return { repaired, writes: this.#context.client.counters.writes - writesBefore };
  }

  /**
   * Starts watches for the resources of the applied set, stops the others (all when nobody
   * listens). Watches are scoped as the plan lists: across namespaces, or namespace by namespace
   * (`listScope: 'namespace'`, `allowedNamespaces`, a set in one namespace, or after a watch across
   * namespaces was refused), so a tenant that may watch only its namespaces gets instant revert.
   */
  #sync(): void {
    const byResource = new Map<string, { item: Prepared; namespaces: Set<string> }>();
    if (this.#listeners.size > 0) {
      for (const item of [...this.#desired.values(), ...[...this.#staged].flat()]) {
        if (item.pending || item.missing) continue;
        const resource = resourceKey(item);
        const entry = byResource.get(resource) ?? { item, namespaces: new Set<string>() };
        if (item.ref.namespace) entry.namespaces.add(item.ref.namespace);
        byResource.set(resource, entry);
      }
    }
    const wanted = new Map<string, { item: Prepared; namespace: string | undefined }>();
    for (const [resource, { item, namespaces }] of byResource) {
      if (!item.info.namespaced || this.#acrossNamespaces(resource, namespaces.size)) {
        wanted.set(resource, { item, namespace: undefined });
      } else {
        for (const namespace of namespaces) wanted.set(`${resource}|${namespace}`, { item, namespace });
      }
    }
    for (const [key, controller] of this.#watches) {
      if (wanted.has(key)) continue;
      controller.abort();
      this.#watches.delete(key);
    }
    for (const [key, { item, namespace }] of wanted) {
      if (this.#watches.has(key)) continue;
      const controller = new AbortController();
      this.#watches.set(key, controller);
      const resource = resourceKey(item);
      const watch = new KindWatch(
        this.#context,
        item.info,
        this.#stream,
        {
          event: (type, object) => this.#onEvent(type, object),
          listed: (objects, initial) => this.#onList(resource, namespace, objects, initial),
          forbidden: () => {
            this.#forbidden.add(resource);
            this.#watches.delete(key);
            this.#sync();
          },
        },
        this.counters,
        namespace,
      );
      void watch.run(controller.signal);
    }
  }

  /** Whether a namespaced resource is watched across namespaces (the plan's list scope rule). */
  #acrossNamespaces(resource: string, namespaces: number): boolean {
    const { listScope, restrictions } = this.#context;
    if (listScope === 'cluster') return true;
    if (listScope === 'namespace' || restrictions?.allowedNamespaces || this.#forbidden.has(resource))
      return false;
    return namespaces > 1;
  }

  #onEvent(type: 'ADDED' | 'MODIFIED' | 'DELETED', object: KubeObject): void {
    const key = liveKey(object);
    const item = this.#desired.get(key);
    if (!item) return;
    if (this.#applying > 0) {
      if (type === 'DELETED' || this.#drift(item, object)) this.#deferred.add(key);
      return;
    }
    if (type === 'DELETED') {
      if (driftView(this.#context, item, undefined).policy === 'Ignore') return;
      this.#notify({ ref: item.ref, deleted: true, changes: [] });
      return;
    }
    const changes = this.#drift(item, object);
    if (changes)
      this.#notify({
        ref: item.ref,
        deleted: false,
        changedBy: lastWriter(object, this.#context.fieldManager),
        changes,
      });
  }

  /**
   * A (re)list of one resource (in one namespace, or all): each listed object as an event; after a
   * `410`, missing ones as deletions.
   */
  #onList(
    resource: string,
    namespace: string | undefined,
    objects: readonly KubeObject[],
    initial: boolean,
  ): void {
    const seen = new Set<string>();
    for (const object of objects) {
      seen.add(liveKey(object));
      this.#onEvent('MODIFIED', object);
    }
    if (initial) return; // nothing was missed yet; what is not there is still being created
    for (const [key, item] of this.#desired) {
      if (resourceKey(item) !== resource || seen.has(key)) continue;
      if (namespace === undefined || item.ref.namespace === namespace) this.#onEvent('DELETED', item.body);
    }
  }

  /** What the next plan would set back on `live` (as field changes), or undefined when nothing. */
  #drift(item: Prepared, live: KubeObject): FieldChange[] | undefined {
    const view = driftView(this.#context, item, live);
    if (view.policy === 'Ignore' || view.policy === 'IfNotPresent') return undefined;
    const changes = diffDesired(view.compared, live);
    return changes.length > 0 ? changes : undefined;
  }

  async #read(item: Prepared, signal: AbortSignal): Promise<KubeObject | undefined> {
    try {
      return await this.#context.client.request<KubeObject>({
        method: 'GET',
        path: resourcePath(item.info, item.ref.namespace, item.ref.name),
        signal,
      });
    } catch (error) {
      if (isStatus(error, 404)) return undefined;
      throw error;
    }
  }

  #notify(notice: DriftNotice): void {
    for (const listener of this.#listeners) {
      try {
        listener(notice);
      } catch {
        // A listener's failure is its own; the other listeners still hear of the drift.
      }
    }
  }
}

/** The resource an object is listed from: group, version and plural. */
function resourceKey(item: Prepared): string {
  return `${item.info.group}/${item.info.version}/${item.info.resource}`;
}

/** The reference key of a live object (its kind and apiVersion filled in by the watch). */
function liveKey(object: KubeObject): string {
  const { namespace, name } = object.metadata;
  return refKey({
    apiVersion: object.apiVersion,
    kind: object.kind,
    name,
    ...(namespace ? { namespace } : {}),
  });
}

/**
 * Who wrote the object last, other than us: the field manager of its newest `managedFields`
 * entry (status writes left out), by the entry's time. Undefined when only we wrote it.
 */
export function lastWriter(object: KubeObject, ours: string): string | undefined {
  const entries = object.metadata.managedFields;
  if (!Array.isArray(entries)) return undefined;
  let newest: { manager: string; time: string } | undefined;
  for (const entry of entries) {
    if (!isRecord(entry) || typeof entry.manager !== 'string' || entry.manager === ours) continue;
    if (entry.subresource === 'status') continue;
    const time = typeof entry.time === 'string' ? entry.time : '';
    if (!newest || time >= newest.time) newest = { manager: entry.manager, time };
  }
  return newest?.manager;
}

/** Whether an object is an Argo CD or Helm hook (`Skip` is none: it is never applied). */
function isHook(item: Prepared): boolean {
  const annotations = item.body.metadata.annotations;
  if (!annotations) return false;
  try {
    const hooks = readHooks(annotations, {});
    return hooks.argo.length > 0 || hooks.helm.length > 0;
  } catch {
    return false; // a bad hook annotation fails the pass's lifecycle reading first
  }
}
