import { abortReason, type Clock, poll, systemClock } from '@gitops-kit/core';
import { isStatus, LeaseConflictError } from './errors.js';
import type { KubeClient } from './kube-client.js';

/**
 * Leader election on a `coordination.k8s.io/v1` Lease, after client-go's leaderelection (which
 * @kubernetes/client-node lacks): one of several replicas holds the Lease and renews it; the others
 * take it over once it has not been renewed for a lease duration. Expiry is judged by each
 * candidate's own clock from when it last saw the record change, never by comparing clocks across
 * machines, and every write carries the resourceVersion it read, so two candidates cannot both win.
 */

/** The fields of a Lease this module reads and writes. */
export interface LeaseRecord {
  /** The identity of the candidate holding the Lease; absent when nobody does. */
  readonly holderIdentity?: string | undefined;
  /** How long, in seconds, others wait after the last renewal before taking over. */
  readonly leaseDurationSeconds?: number | undefined;
  /** RFC 3339 with microseconds (a `MicroTime`). */
  readonly acquireTime?: string | undefined;
  /** When the holder last renewed the Lease, RFC 3339 with microseconds. */
  readonly renewTime?: string | undefined;
  /** How many times the Lease changed holder. */
  readonly leaseTransitions?: number | undefined;
}

/** A Lease as read: its record and the resourceVersion a write must name. */
export interface StoredLease {
  /** The Lease's `metadata.resourceVersion`: an update naming an older one is refused (optimistic lock). */
  readonly resourceVersion: string;
  /** The Lease's `spec`. */
  readonly spec: LeaseRecord;
}

/** Reads and writes one kind of object: Leases. Injected, so the elector is tested without a server. */
export interface LeaseStore {
  /** The Lease, or undefined when it does not exist. */
  get(namespace: string, name: string, signal: AbortSignal): Promise<StoredLease | undefined>;
  /** Creates the Lease; throws {@link LeaseConflictError} when it already exists. */
  create(namespace: string, name: string, spec: LeaseRecord, signal: AbortSignal): Promise<StoredLease>;
  /** Replaces the Lease if it is still at `resourceVersion`; throws {@link LeaseConflictError} otherwise. */
  update(
    namespace: string,
    name: string,
    resourceVersion: string,
    spec: LeaseRecord,
    signal: AbortSignal,
  ): Promise<StoredLease>;
}

interface LeaseObject {
  metadata?: { resourceVersion?: string };
  spec?: LeaseRecord;
}

/** A Lease object as stored: its resourceVersion and spec. Shared with the shard Lease store. */
export function toStoredLease(object: LeaseObject): StoredLease {
  return { resourceVersion: object.metadata?.resourceVersion ?? '', spec: object.spec ?? {} };
}

/** The path of the Leases of a namespace, or of one Lease. Shared with the shard Lease store. */
export function leasePath(namespace: string, name?: string): string {
  return `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(namespace)}/leases${
    name === undefined ? '' : `/${encodeURIComponent(name)}`
  }`;
}

/** Turns a 409 answer into a {@link LeaseConflictError}; rethrows anything else. */
export function leaseConflict(error: unknown): never {
  if (isStatus(error, 409)) throw new LeaseConflictError((error as Error).message);
  throw error;
}

/** A {@link LeaseStore} on the Kubernetes API, through a k8s-target {@link KubeClient}. */
export function kubeLeaseStore(client: KubeClient): LeaseStore {
  const path = leasePath;
  const conflicts = leaseConflict;
  const toStored = toStoredLease;
  return {
    async get(namespace, name, signal) {
      try {
        return toStored(
          await client.request<LeaseObject>({ method: 'GET', path: path(namespace, name), signal }),
        );
      } catch (error) {
        if (isStatus(error, 404)) return undefined;
        throw error;
      }
    },
    async create(namespace, name, spec, signal) {
      const body = {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name, namespace },
        spec,
      };
      return client
        .request<LeaseObject>({ method: 'POST', path: path(namespace), body, signal })
        .then(toStored, conflicts);
    },
    async update(namespace, name, resourceVersion, spec, signal) {
      const body = {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name, namespace, resourceVersion },
        spec,
      };
      return client
        .request<LeaseObject>({ method: 'PUT', path: path(namespace, name), body, signal })
        .then(toStored, conflicts);
    },
  };
}

/** A time as a Kubernetes `MicroTime`: RFC 3339 with exactly six fractional digits. */
export function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

/** Options for {@link LeaderElector}. */
export interface LeaderElectorOptions {
  /** Reads and writes the Lease: {@link kubeLeaseStore} for a cluster, an in-memory store in tests. */
  readonly store: LeaseStore;
  /** This candidate's unique name (a pod name, a hostname plus a random suffix). */
  readonly identity: string;
  /** Name of the `coordination.k8s.io/v1` Lease that every candidate of one group contends for. */
  readonly leaseName: string;
  /** Namespace of that Lease. */
  readonly leaseNamespace: string;
  /** How long others wait after the last renewal they saw before taking over (default 15 s). */
  readonly leaseDurationMs?: number | undefined;
  /** How long the leader keeps trying to renew before it gives up leading (default 10 s). */
  readonly renewDeadlineMs?: number | undefined;
  /** Time between attempts to acquire or renew (default 2 s). */
  readonly retryPeriodMs?: number | undefined;
  /** Give the Lease up when `run`'s signal aborts, so another candidate need not wait (default true). */
  readonly releaseOnCancel?: boolean | undefined;
  /** Time of expiry, renewals and retries (default the system clock); tests pass a manual clock. */
  readonly clock?: Clock | undefined;
  /** Random numbers in [0, 1) for the retry jitter (default `Math.random`). */
  readonly random?: (() => number) | undefined;
  /** Told about failed requests (they are retried); default: ignored. */
  readonly onError?: ((error: unknown) => void) | undefined;
}

/** What {@link LeaderElector.run} calls as leadership comes and goes. */
export interface LeaderCallbacks {
  /** Now leading. The signal aborts when leadership ends (lost, or `run` stopped). */
  onStartedLeading(signal: AbortSignal): void | Promise<void>;
  /** No longer leading (called once per onStartedLeading, after its signal aborted). */
  onStoppedLeading?(): void;
  /** The holder changed to `identity` (this candidate included). */
  onNewLeader?(identity: string): void;
}

/** Up to this fraction of the retry period is added at random, so candidates do not retry in lockstep. */
const JITTER = 0.2;

/**
 * Elects one leader among candidates sharing a Lease. Call {@link run} once per candidate: it
 * contends, leads while it can renew, and contends again after losing, until its signal aborts.
 */
export class LeaderElector {
  /** This candidate's unique name, as given in the options. */
  readonly identity: string;
  readonly #options: LeaderElectorOptions;
  readonly #clock: Clock;
  readonly #leaseDurationMs: number;
  readonly #renewDeadlineMs: number;
  readonly #retryPeriodMs: number;
  /** The last record seen, and when (by our clock) it was first seen: the base of expiry. */
  #observed: { key: string; lease: StoredLease | undefined; at: number } | undefined;
  #leading = false;
  #running = false;
  #lastHolder: string | undefined;

  /** @throws RangeError when the durations cannot work (lease > renew deadline > retry period). */
  constructor(options: LeaderElectorOptions) {
    if (!options.identity) throw new RangeError('LeaderElector needs an identity');
    this.identity = options.identity;
    this.#options = options;
    this.#clock = options.clock ?? systemClock;
    this.#leaseDurationMs = options.leaseDurationMs ?? 15_000;
    this.#renewDeadlineMs = options.renewDeadlineMs ?? 10_000;
    this.#retryPeriodMs = options.retryPeriodMs ?? 2_000;
    if (!(this.#retryPeriodMs > 0)) throw new RangeError('retryPeriodMs must be positive');
    if (this.#renewDeadlineMs <= this.#retryPeriodMs * (1 + JITTER)) {
      throw new RangeError('renewDeadlineMs must be greater than retryPeriodMs × 1.2');
    }
    if (this.#leaseDurationMs <= this.#renewDeadlineMs) {
      throw new RangeError('leaseDurationMs must be greater than renewDeadlineMs');
    }
    // The Lease states its duration in whole seconds; a shorter one would read as zero to others.
    if (this.#leaseDurationMs < 1_000) throw new RangeError('leaseDurationMs must be at least 1000');
  }

  /** Whether this candidate holds the Lease right now (as of its last successful write). */
  get isLeader(): boolean {
    return this.#leading;
  }

  /** The holder named by the last record seen, if any. */
  get leader(): string | undefined {
    return this.#observed?.lease?.spec.holderIdentity || undefined;
  }

  /**
   * Contends for the Lease until `signal` aborts: acquires it, calls `onStartedLeading`, renews it
   * every retry period, and on a failure to renew within the renew deadline calls
   * `onStoppedLeading` and contends again. Resolves once stopped (after releasing the Lease when
   * leading and `releaseOnCancel`); never rejects for request failures, which are retried.
   */
  async run(signal: AbortSignal, callbacks: LeaderCallbacks): Promise<void> {
    if (this.#running) throw new Error('LeaderElector.run is already running');
    this.#running = true;
    try {
      while (!signal.aborted) {
        if (!(await this.#acquire(signal, callbacks))) break;
        await this.#lead(signal, callbacks);
      }
    } finally {
      this.#running = false;
    }
  }

  /** Tries until acquired (true) or aborted (false), waiting a jittered retry period between tries. */
  async #acquire(signal: AbortSignal, callbacks: LeaderCallbacks): Promise<boolean> {
    const random = this.#options.random ?? Math.random;
    try {
      const acquired = await poll(
        async () => (signal.aborted ? false : (await this.tryAcquireOrRenew(signal, callbacks)) || undefined),
        { clock: this.#clock, intervalMs: () => this.#retryPeriodMs * (1 + JITTER * random()), signal },
      );
      return acquired === true;
    } catch {
      return false; // aborted while waiting
    }
  }

  /** Leads until renewal fails past the deadline or `signal` aborts. */
  async #lead(signal: AbortSignal, callbacks: LeaderCallbacks): Promise<void> {
    const leading = new AbortController();
    const stop = (): void => leading.abort(abortReason(signal));
    signal.addEventListener('abort', stop, { once: true });
    this.#start(leading.signal, callbacks);
    try {
      let lastRenew = this.#clock.now();
      // Renew every retry period until a renewal fails past the deadline (or the signal aborts).
      await poll(
        async () => {
          if (await this.tryAcquireOrRenew(signal, callbacks)) {
            lastRenew = this.#clock.now();
            return undefined;
          }
          // Still ours for now unless someone else has it; give up once the deadline has passed.
          if (!this.#leading || this.#clock.now() - lastRenew >= this.#renewDeadlineMs) return 'lost';
          return undefined;
        },
        { clock: this.#clock, intervalMs: this.#retryPeriodMs, signal, waitFirst: true },
      ).catch(() => undefined); // aborted while waiting: stop leading
    } finally {
      signal.removeEventListener('abort', stop);
      const wasLeading = this.#leading;
      this.#leading = false;
      if (signal.aborted && wasLeading && (this.#options.releaseOnCancel ?? true)) await this.#release();
      leading.abort(new Error('leadership lost'));
      this.#call(() => callbacks.onStoppedLeading?.());
    }
  }

  #start(signal: AbortSignal, callbacks: LeaderCallbacks): void {
    try {
      Promise.resolve(callbacks.onStartedLeading(signal)).catch((error: unknown) => this.#report(error));
    } catch (error) {
      this.#report(error);
    }
  }

  /**
   * One attempt to take or keep the Lease: true when this candidate holds it afterwards. Exposed
   * for tests and for callers that drive their own loop.
   */
  async tryAcquireOrRenew(
    signal: AbortSignal,
    callbacks: Pick<LeaderCallbacks, 'onNewLeader'> = {},
  ): Promise<boolean> {
    const { store, leaseNamespace: namespace, leaseName: name } = this.#options;
    const now = this.#clock.now();
    const mine = (previous: LeaseRecord | undefined): LeaseRecord => {
      // Renewing keeps the acquire time and the count; taking over (from anyone, or nobody) adds one.
      const renewing = previous?.holderIdentity === this.identity;
      const transitions = previous?.leaseTransitions ?? 0;
      return {
        holderIdentity: this.identity,
        leaseDurationSeconds: Math.round(this.#leaseDurationMs / 1000),
        acquireTime: renewing && previous?.acquireTime ? previous.acquireTime : microTime(now),
        renewTime: microTime(now),
        leaseTransitions: previous === undefined ? 0 : renewing ? transitions : transitions + 1,
      };
    };
    try {
      const current = await store.get(namespace, name, signal);
      if (!current) {
        const created = await store.create(namespace, name, mine(undefined), signal);
        this.#observe(created, callbacks);
        this.#leading = true;
        return true;
      }
      this.#observe(current, callbacks);
      const holder = current.spec.holderIdentity;
      const expired = this.#clock.now() >= (this.#observed?.at ?? now) + this.#leaseDurationFor(current);
      if (holder && holder !== this.identity && !expired) {
        this.#leading = false;
        return false;
      }
      const updated = await store.update(
        namespace,
        name,
        current.resourceVersion,
        mine(current.spec),
        signal,
      );
      this.#observe(updated, callbacks);
      this.#leading = true;
      return true;
    } catch (error) {
      if (!signal.aborted) this.#report(error);
      return false;
    }
  }

  /** The duration the record claims (what its holder promised to renew within), or ours. */
  #leaseDurationFor(lease: StoredLease): number {
    const seconds = lease.spec.leaseDurationSeconds;
    return typeof seconds === 'number' && seconds > 0 ? seconds * 1000 : this.#leaseDurationMs;
  }

  /** Remembers a record; a changed record restarts the expiry clock, as a sign its holder is alive. */
  #observe(lease: StoredLease, callbacks: Pick<LeaderCallbacks, 'onNewLeader'>): void {
    const key = JSON.stringify(lease.spec);
    if (this.#observed?.key !== key) this.#observed = { key, lease, at: this.#clock.now() };
    else this.#observed = { ...this.#observed, lease };
    const holder = lease.spec.holderIdentity || undefined;
    if (holder && holder !== this.#lastHolder) {
      this.#lastHolder = holder;
      this.#call(() => callbacks.onNewLeader?.(holder));
    }
  }

  /** Gives the Lease up (holder cleared, one-second duration) so a successor need not wait. */
  async #release(): Promise<void> {
    const { store, leaseNamespace: namespace, leaseName: name } = this.#options;
    const signal = AbortSignal.timeout(this.#renewDeadlineMs);
    try {
      const current = await store.get(namespace, name, signal);
      if (!current || current.spec.holderIdentity !== this.identity) return;
      const now = microTime(this.#clock.now());
      await store.update(
        namespace,
        name,
        current.resourceVersion,
        { ...current.spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: now, acquireTime: now },
        signal,
      );
    } catch (error) {
      this.#report(error);
    }
  }

  #call(callback: () => void): void {
    try {
      callback();
    } catch (error) {
      this.#report(error);
    }
  }

  #report(error: unknown): void {
    try {
      this.#options.onError?.(error);
    } catch {
      // A throwing error handler must not stop the election.
    }
  }
}
