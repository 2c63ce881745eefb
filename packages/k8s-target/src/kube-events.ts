import { hostname } from 'node:os';
import { type Clock, GitOpsError, type ObjectRef } from '@gitops-kit/core';
import { isStatus, K8sErrorCodes } from './errors.js';
import type { KubeClient } from './kube-client.js';
import { microTime } from './leader-election.js';

/**
 * Kubernetes Events (events.k8s.io/v1) written the way client-go's event recorder writes them: a
 * repeat of the same event (same object, type, reason, action and note) within the series window
 * becomes a `series` update of the first one (`count`, `lastObservedTime`) instead of a new
 * object, and a token bucket per regarded object (25 at once, one more every 5 minutes, the
 * recorder's spam-filter defaults) drops floods. Writes are queued one at a time so they keep the
 * order of the outcomes, and never fail a pass: errors go to `onError`.
 */

/** Options of the Events a `KubernetesTarget` writes (`events` option; `false` turns them off). */
export interface KubeEventOptions {
  /** `reportingController` of every Event (default `gitops-kit.dev/reconciler`). */
  readonly reportingController?: string;
  /** `reportingInstance` (default `<fieldManager>-<hostname>`, cut to 128 characters). */
  readonly reportingInstance?: string;
  /** Events a regarded object may get at once before the rate limit drops them (default 25). */
  readonly burst?: number;
  /** Milliseconds until the bucket gains one more event (default 300,000: 5 minutes). */
  readonly refillMs?: number;
  /** How long a repeat is counted in the first event's `series` (default 30 minutes). */
  readonly seriesWindowMs?: number;
  /** Receives write failures (default: ignored; a pass never fails for an Event). */
  readonly onError?: (error: GitOpsError) => void;
}

/** One Event to write. */
export interface KubeEventInput {
  /** The object the event is about (its `uid` is read once and added when it exists). */
  readonly regarding: ObjectRef;
  /** `Normal` or `Warning`. */
  readonly type: 'Normal' | 'Warning';
  /** A short CamelCase reason: `Applied`, `DriftReverted`, `Pruned`, `HealthCheckFailed`, `RolledBack`. */
  readonly reason: string;
  /** What was done: `Apply`, `RevertDrift`, `Prune`, `HealthCheck`, `Rollback`, `Reconcile`. */
  readonly action: string;
  /** A sentence for people (cut to 1 kB); never Secret values. */
  readonly note: string;
}

/** What a record came to. */
export type RecordOutcome = 'created' | 'series' | 'dropped' | 'failed';

/** Counters of a recorder. */
export interface RecorderCounters {
  /** Events created. */
  created: number;
  /** Repeats counted in the series of an earlier event. */
  series: number;
  /** Events the rate limit dropped. */
  dropped: number;
  /** Writes that failed (reported to `onError`). */
  failed: number;
}

const NOTE_LIMIT = 1024;
const CACHE_LIMIT = 1024;

interface Seen {
  readonly namespace: string;
  readonly name: string;
  count: number;
  lastSeen: number;
}

/** Writes Events to the apiserver through a target's client. */
export class KubeEventRecorder {
  /** Counts of created events, series updates, dropped (rate-limited) and failed writes. */
  readonly counters: RecorderCounters = { created: 0, series: 0, dropped: 0, failed: 0 };
  readonly #client: KubeClient;
  readonly #clock: Clock;
  readonly #controller: string;
  readonly #instance: string;
  readonly #burst: number;
  readonly #refillMs: number;
  readonly #windowMs: number;
  readonly #onError: ((error: GitOpsError) => void) | undefined;
  readonly #seen = new Map<string, Seen>();
  readonly #buckets = new Map<string, { tokens: number; at: number }>();
  readonly #uids = new Map<string, string>();
  #queue: Promise<unknown> = Promise.resolve();

  constructor(client: KubeClient, clock: Clock, fieldManager: string, options: KubeEventOptions = {}) {
    this.#client = client;
    this.#clock = clock;
    this.#controller = options.reportingController ?? 'gitops-kit.dev/reconciler';
    this.#instance = (options.reportingInstance ?? `${fieldManager}-${hostname()}`).slice(0, 128);
    this.#burst = options.burst ?? 25;
    this.#refillMs = options.refillMs ?? 300_000;
    this.#windowMs = options.seriesWindowMs ?? 30 * 60_000;
    this.#onError = options.onError;
  }

  /** Queues an event; resolves with what became of it once written. Never rejects. */
  record(input: KubeEventInput): Promise<RecordOutcome> {
    const next = this.#queue.then(() => this.#write(input));
    this.#queue = next.catch(() => undefined);
    return next;
  }

  /** Resolves when every queued event is written. */
  async flush(): Promise<void> {
    await this.#queue;
  }

  async #write(input: KubeEventInput): Promise<RecordOutcome> {
    const now = this.#clock.now();
    const note = input.note.length > NOTE_LIMIT ? `${input.note.slice(0, NOTE_LIMIT - 1)}…` : input.note;
    const { regarding } = input;
    const objectKey = `${regarding.apiVersion}/${regarding.kind}/${regarding.namespace ?? ''}/${regarding.name}`;
    const key = `${objectKey}\u0000${input.type}\u0000${input.reason}\u0000${input.action}\u0000${note}`;
    try {
      const seen = this.#seen.get(key);
      if (seen && now - seen.lastSeen <= this.#windowMs) {
        if (!this.#take(objectKey, now)) return this.#count('dropped');
        if (await this.#addToSeries(seen, now)) return this.#count('series');
      } else if (!this.#take(objectKey, now)) {
        return this.#count('dropped');
      }
      const namespace = regarding.namespace ?? 'default';
      const name = `${regarding.name}.${(BigInt(now) * 1_000_000n + BigInt(this.counters.created % 1_000_000)).toString(16)}`;
      const uid = await this.#uidOf(objectKey, regarding);
      await this.#client.request({
        method: 'POST',
        path: `/apis/events.k8s.io/v1/namespaces/${encodeURIComponent(namespace)}/events`,
        body: {
          apiVersion: 'events.k8s.io/v1',
          kind: 'Event',
          metadata: { name, namespace },
          eventTime: microTime(now),
          reportingController: this.#controller,
          reportingInstance: this.#instance,
          action: input.action,
          reason: input.reason,
          type: input.type,
          note,
          regarding: { ...refFields(regarding), ...(uid ? { uid } : {}) },
        },
      });
      this.#remember(key, { namespace, name, count: 1, lastSeen: now });
      return this.#count('created');
    } catch (error) {
      this.#onError?.(
        new GitOpsError(
          'reconcile',
          K8sErrorCodes.EventWriteFailed,
          `Could not write the ${input.reason} event about ${regarding.kind} ${regarding.namespace ?? ''}/${regarding.name}: ${error instanceof Error ? error.message : String(error)}`,
          { cause: error },
        ),
      );
      return this.#count('failed');
    }
  }

  /** Counts a repeat on the first event; false when that event is gone (expired), so a new one is made. */
  async #addToSeries(seen: Seen, now: number): Promise<boolean> {
    const count = seen.count + 1;
    try {
      await this.#client.request({
        method: 'PATCH',
        path: `/apis/events.k8s.io/v1/namespaces/${encodeURIComponent(seen.namespace)}/events/${encodeURIComponent(seen.name)}`,
        contentType: 'application/merge-patch+json',
        body: { series: { count, lastObservedTime: microTime(now) } },
      });
    } catch (error) {
      if (isStatus(error, 404)) return false;
      throw error;
    }
    seen.count = count;
    seen.lastSeen = now;
    return true;
  }

  /** The regarded object's uid, read once (kubectl describe matches events by it). */
  async #uidOf(objectKey: string, ref: ObjectRef): Promise<string | undefined> {
    const known = this.#uids.get(objectKey);
    if (known) return known;
    if (ref.apiVersion !== 'v1' || ref.namespace === undefined) return undefined;
    const resource = ref.kind === 'Secret' ? 'secrets' : ref.kind === 'ConfigMap' ? 'configmaps' : undefined;
    if (!resource) return undefined;
    try {
      const object = await this.#client.request<{ metadata?: { uid?: string } }>({
        method: 'GET',
        path: `/api/v1/namespaces/${encodeURIComponent(ref.namespace)}/${resource}/${encodeURIComponent(ref.name)}`,
        // Metadata only: a Secret state object's data never comes over the wire for this.
        accept: 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1',
      });
      const uid = object.metadata?.uid;
      if (uid) this.#uids.set(objectKey, uid);
      return uid;
    } catch {
      return undefined; // not written yet: the next event tries again
    }
  }

  /** Takes a token of the object's bucket; false when it is empty (the event is dropped). */
  #take(objectKey: string, now: number): boolean {
    const bucket = this.#buckets.get(objectKey) ?? { tokens: this.#burst, at: now };
    const gained = Math.floor((now - bucket.at) / this.#refillMs);
    if (gained > 0) {
      bucket.tokens = Math.min(this.#burst, bucket.tokens + gained);
      bucket.at += gained * this.#refillMs;
    }
    this.#buckets.set(objectKey, bucket);
    if (bucket.tokens <= 0) return false;
    bucket.tokens--;
    return true;
  }

  #remember(key: string, seen: Seen): void {
    this.#seen.delete(key);
    this.#seen.set(key, seen);
    if (this.#seen.size > CACHE_LIMIT) {
      const oldest = this.#seen.keys().next().value;
      if (oldest !== undefined) this.#seen.delete(oldest);
    }
  }

  #count(outcome: RecordOutcome): RecordOutcome {
    this.counters[outcome]++;
    return outcome;
  }
}

/** `ObjectReference` fields of a ref. */
function refFields(ref: ObjectRef): Record<string, string> {
  return {
    apiVersion: ref.apiVersion,
    kind: ref.kind,
    name: ref.name,
    ...(ref.namespace === undefined ? {} : { namespace: ref.namespace }),
  };
}
