import {
  assignShards,
  type Clock,
  type FleetPeers,
  type PeerObservation,
  type SeenObservation,
  type ShardOptions,
  systemClock,
} from '@gitops-kit/core';
import { LeaseConflictError } from './errors.js';
import type { KubeClient } from './kube-client.js';
import {
  kubeLeaseStore,
  type LeaseRecord,
  leaseConflict,
  leasePath,
  microTime,
  type StoredLease,
  toStoredLease,
} from './leader-election.js';

/**
 * Reconcilers sharded over replicas through `coordination.k8s.io/v1` Leases. Every replica holds
 * a membership Lease it renews; the replicas whose Lease is alive are the members, and
 * consistent hashing with bounded loads (core's `assignShards`) maps every key (a cluster) to one
 * of them, the same map on every replica. A replica runs a key only while it holds that key's own
 * Lease: it takes it when the map gives it the key and the Lease is free or expired, renews it
 * every period, and gives it up (after stopping the reconciler) when the map moves the key away.
 * A replica that dies stops renewing; once its Leases are a lease duration old by the others'
 * clocks (never comparing clocks across machines, as the leader elector), they take its keys. So
 * a key is never run by two replicas at once, which is what keeps a cluster from being applied twice.
 */

/** Labels on the Leases of a shard group. */
export const SHARD_GROUP_LABEL = 'gitops-kit.dev/shard-group';
/** `member` for a replica's membership Lease, `owner` for a key's Lease. */
export const SHARD_ROLE_LABEL = 'gitops-kit.dev/shard-role';

/** A Lease of a shard group, with its name. */
export interface NamedLease extends StoredLease {
  /** The Lease's name. */
  readonly name: string;
  /** Its annotations (a key's Lease carries its owner's newest observation). */
  readonly annotations?: Readonly<Record<string, string>> | undefined;
}

/** What the coordinator needs from the API: Leases by name and by label. Injected in unit tests. */
export interface ShardLeaseStore {
  /** The Lease, or undefined when it does not exist. */
  get(namespace: string, name: string, signal: AbortSignal): Promise<StoredLease | undefined>;
  /** Creates a Lease with labels; throws {@link LeaseConflictError} when it exists. */
  create(
    namespace: string,
    name: string,
    labels: Readonly<Record<string, string>>,
    spec: LeaseRecord,
    signal: AbortSignal,
  ): Promise<StoredLease>;
  /**
   * Replaces the spec (and sets the annotations given) if still at `resourceVersion`; throws
   * {@link LeaseConflictError} otherwise.
   */
  update(
    namespace: string,
    name: string,
    resourceVersion: string,
    spec: LeaseRecord,
    signal: AbortSignal,
    annotations?: Readonly<Record<string, string>>,
  ): Promise<StoredLease>;
  /** The Leases matching a label selector. */
  list(namespace: string, labelSelector: string, signal: AbortSignal): Promise<readonly NamedLease[]>;
}

interface LeaseObject {
  metadata?: {
    name?: string;
    resourceVersion?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  spec?: LeaseRecord;
}

/** A {@link ShardLeaseStore} on the Kubernetes API. */
export function kubeShardLeaseStore(client: KubeClient): ShardLeaseStore {
  const base = (namespace: string): string => leasePath(namespace);
  const stored = toStoredLease;
  const conflict = leaseConflict;
  const plain = kubeLeaseStore(client);
  return {
    get: (namespace, name, signal) => plain.get(namespace, name, signal),
    create(namespace, name, labels, spec, signal) {
      const body = {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name, namespace, labels },
        spec,
      };
      return client
        .request<LeaseObject>({ method: 'POST', path: base(namespace), body, signal })
        .then(stored, conflict);
    },
    update(namespace, name, resourceVersion, spec, signal, annotations) {
      const path = leasePath(namespace, name);
      // A merge patch with the resourceVersion: optimistic like a PUT, and the labels stay.
      const body = { metadata: { resourceVersion, ...(annotations ? { annotations } : {}) }, spec };
      return client
        .request<LeaseObject>({
          method: 'PATCH',
          path,
          body,
          contentType: 'application/merge-patch+json',
          signal,
        })
        .then(stored, conflict);
    },
    async list(namespace, labelSelector, signal) {
      const list = await client.request<{ items?: LeaseObject[] }>({
        method: 'GET',
        path: base(namespace),
        query: { labelSelector },
        signal,
      });
      return (list.items ?? []).map((o) => ({
        ...stored(o),
        name: o.metadata?.name ?? '',
        annotations: o.metadata?.annotations,
      }));
    },
  };
}

/** Options of {@link ShardCoordinator}. */
export interface ShardCoordinatorOptions {
  /** Reads and writes the Leases ({@link kubeShardLeaseStore} on the management cluster). */
  readonly store: ShardLeaseStore;
  /** Namespace of the Leases. */
  readonly namespace: string;
  /** The fleet's name: replicas of one group share keys (letters, digits, `-`). */
  readonly group: string;
  /** This replica's unique name. */
  readonly identity: string;
  /** The keys to spread (the fleet's cluster names); asked on every round. */
  readonly keys: () => readonly string[];
  /**
   * Told the keys this replica owns whenever they change; awaited before Leases are given up, so
   * a key moved to another replica can finish its pass first. `lost` names keys whose Lease could
   * not be renewed or was taken: another replica may run them soon, so stop them at once (abort
   * their passes) rather than gracefully.
   */
  readonly onChange: (
    owned: ReadonlySet<string>,
    change: { readonly lost: readonly string[] },
  ) => void | Promise<void>;
  /** How long a Lease lives without renewal (default 15 s). */
  readonly leaseDurationMs?: number;
  /** Time between rounds (default a third of the lease duration). */
  readonly renewPeriodMs?: number;
  /** Load factor and virtual nodes of the hashing. */
  readonly shardOptions?: ShardOptions;
  /** Time (default the system clock). */
  readonly clock?: Clock;
  /** Told about failed requests (they are tried again next round). */
  readonly onError?: (error: unknown) => void;
  /** Called after every round (a fleet with peers calls `observePeers` here). */
  readonly onRound?: () => void;
}

/** A value read from a key's Lease. */
export interface ShardValue {
  /** The value its holder published. */
  readonly value: string;
  /** When this replica first saw it (its own clock). */
  readonly seenAt: number;
}

/** The annotation a key's Lease carries its owner's published value in. */
export const SHARD_VALUE_ANNOTATION = 'gitops-kit.dev/observation';

interface Observed {
  readonly key: string;
  readonly at: number;
  readonly lease: StoredLease;
}

/** A key's Lease name: the group, then the key made safe for an object name. */
export function ownerLeaseName(group: string, key: string): string {
  const safe = key.toLowerCase().replace(/[^a-z0-9.-]+/g, '-');
  return `${group}-o-${safe}`.slice(0, 253);
}

/** A replica's membership Lease name. */
export function memberLeaseName(group: string, identity: string): string {
  return `${group}-m-${identity.toLowerCase().replace(/[^a-z0-9.-]+/g, '-')}`.slice(0, 253);
}

/**
 * Spreads keys over the live replicas of a group and holds one Lease per owned key. Call
 * {@link run} once; {@link owns} answers for the fleet's `owns` option.
 */
export class ShardCoordinator {
  /** This replica's name, as its Leases carry it. */
  readonly identity: string;
  readonly #options: ShardCoordinatorOptions;
  readonly #clock: Clock;
  readonly #duration: number;
  readonly #period: number;
  /** Leases seen, by name: a changed record restarts its expiry by our clock. */
  readonly #seen = new Map<string, Observed>();
  /** Keys whose Lease we hold, with the Lease as we last wrote it. */
  readonly #held = new Map<string, StoredLease>();
  #owned = new Set<string>();
  #members: string[] = [];
  #memberLease: StoredLease | undefined;
  /** Values to publish on held keys' Leases at their next renewal. */
  readonly #outbox = new Map<string, string>();
  /** Values read from every key's Lease, with when they were first seen (stable objects). */
  readonly #values = new Map<string, ShardValue>();
  /** Rounds run (for tests and benchmarks). */
  rounds = 0;

  /** @param options the store, group, identity, keys and the change callback. */
  constructor(options: ShardCoordinatorOptions) {
    if (!options.identity) throw new RangeError('ShardCoordinator needs an identity');
    this.identity = options.identity;
    this.#options = options;
    this.#clock = options.clock ?? systemClock;
    this.#duration = options.leaseDurationMs ?? 15_000;
    this.#period = options.renewPeriodMs ?? Math.floor(this.#duration / 3);
    if (this.#duration < 1_000) throw new RangeError('leaseDurationMs must be at least 1000');
    if (!(this.#period > 0 && this.#period * 2 < this.#duration)) {
      throw new RangeError('renewPeriodMs must be positive and under half the lease duration');
    }
  }

  /** Whether this replica holds the key's Lease (and so may run it). */
  owns(key: string): boolean {
    return this.#owned.has(key);
  }

  /** The keys this replica owns. */
  get owned(): ReadonlySet<string> {
    return this.#owned;
  }

  /** The live replicas of the group, as of the last round. */
  get members(): readonly string[] {
    return this.#members;
  }

  /**
   * Runs rounds every renew period until `signal` aborts, then stops the keys (through `onChange`
   * with an empty set) and gives every Lease up so the others need not wait for expiry.
   */
  async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      await this.round(signal);
      await new Promise<void>((resolve) => {
        const cancel = this.#clock.setTimer(this.#period, () => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        });
        const onAbort = (): void => {
          cancel();
          resolve();
        };
        signal.addEventListener('abort', onAbort, { once: true });
      });
    }
    await this.#setOwned(new Set());
    await this.releaseAll();
  }

  /**
   * One round: renew the membership Lease, read the members, compute the map, give up keys that
   * moved away (after `onChange` stopped them), take keys that came, renew the rest.
   */
  async round(signal: AbortSignal): Promise<void> {
    this.rounds++;
    const { store, namespace, group } = this.#options;
    const renewed = await this.#renewMember(signal);
    let leases: readonly NamedLease[];
    try {
      leases = await store.list(namespace, `${SHARD_GROUP_LABEL}=${group}`, signal);
    } catch (error) {
      this.#report(error);
      // Without a view of the others, keep running what we hold while our Leases are fresh.
      await this.#renewHeld(signal);
      return;
    }
    const now = this.#clock.now();
    const members = new Set<string>();
    const byName = new Map(leases.map((l) => [l.name, l]));
    // Every Lease of the group is noted each round, so its expiry counts from its last change we
    // saw, not from the round we first need it.
    for (const lease of leases) this.#note(lease.name, lease, now);
    for (const lease of leases) {
      const holder = lease.spec.holderIdentity;
      if (!lease.name.startsWith(`${group}-m-`) || !holder) continue;
      if (holder === this.identity ? renewed : this.#alive(lease.name, lease, now)) members.add(holder);
    }
    if (renewed) members.add(this.identity);
    this.#members = [...members].sort();
    const assignment = assignShards(this.#options.keys(), this.#members, this.#options.shardOptions);
    const mine = new Set([...assignment].filter(([, m]) => m === this.identity).map(([k]) => k));
    // Give up first (stop, then release), so the new owner can start as early as possible.
    const leaving = [...this.#held.keys()].filter((k) => !mine.has(k));
    if (leaving.length > 0) {
      await this.#setOwned(new Set([...this.#owned].filter((k) => mine.has(k))));
      for (const key of leaving) await this.#release(key, signal);
    }
    await this.#renewHeld(signal);
    // The first round only announces this replica: keys are taken from the second, once the
    // members that started together have seen each other (no burst of handovers at start).
    for (const key of this.rounds < 2 ? [] : mine) {
      if (this.#held.has(key) || !renewed) continue;
      await this.#tryTake(key, byName.get(ownerLeaseName(group, key)), now, signal);
    }
    await this.#setOwned(new Set([...this.#held.keys()]));
    this.#readValues(byName, now);
    try {
      this.#options.onRound?.();
    } catch (error) {
      this.#report(error);
    }
  }

  /**
   * Publishes a value for a key this replica holds, on the key's Lease at its next renewal (a
   * fleet's observation of the cluster, so other replicas' rollouts see it). Ignored for keys
   * not held.
   */
  publish(key: string, value: string): void {
    if (this.#held.has(key)) this.#outbox.set(key, value);
  }

  /** The newest value on each key's Lease (published by its holder), with when this replica first saw it. */
  values(): ReadonlyMap<string, ShardValue> {
    return this.#values;
  }

  #readValues(byName: ReadonlyMap<string, NamedLease>, now: number): void {
    const { group } = this.#options;
    for (const key of this.#options.keys()) {
      const value = byName.get(ownerLeaseName(group, key))?.annotations?.[SHARD_VALUE_ANNOTATION];
      if (value === undefined) continue;
      if (this.#values.get(key)?.value !== value) this.#values.set(key, { value, seenAt: now });
    }
  }

  /** Gives up every held Lease and the membership Lease (holder cleared). */
  async releaseAll(): Promise<void> {
    const signal = AbortSignal.timeout(this.#duration);
    for (const key of [...this.#held.keys()]) await this.#release(key, signal);
    const lease = this.#memberLease;
    if (!lease) return;
    this.#memberLease = undefined;
    const { store, namespace, group } = this.#options;
    try {
      await store.update(
        namespace,
        memberLeaseName(group, this.identity),
        lease.resourceVersion,
        this.#freed(lease.spec),
        signal,
      );
    } catch (error) {
      this.#report(error);
    }
  }

  #record(previous: LeaseRecord | undefined): LeaseRecord {
    const now = this.#clock.now();
    const renewing = previous?.holderIdentity === this.identity;
    return {
      holderIdentity: this.identity,
      leaseDurationSeconds: Math.round(this.#duration / 1000),
      acquireTime: renewing && previous?.acquireTime ? previous.acquireTime : microTime(now),
      renewTime: microTime(now),
      leaseTransitions: (previous?.leaseTransitions ?? 0) + (previous && !renewing ? 1 : 0),
    };
  }

  #freed(spec: LeaseRecord): LeaseRecord {
    const now = microTime(this.#clock.now());
    return { ...spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: now };
  }

  /** Remembers a Lease record; a changed one restarts its expiry by our clock. */
  #note(name: string, lease: StoredLease, now: number): void {
    const key = JSON.stringify(lease.spec);
    if (this.#seen.get(name)?.key !== key) this.#seen.set(name, { key, at: now, lease });
  }

  /** Whether another replica's Lease changed within its duration, by our clock. */
  #alive(name: string, lease: StoredLease, now: number): boolean {
    this.#note(name, lease, now);
    const since = this.#seen.get(name)?.at ?? now;
    const seconds = lease.spec.leaseDurationSeconds;
    const duration = typeof seconds === 'number' && seconds > 0 ? seconds * 1000 : this.#duration;
    return now < since + duration;
  }

  async #renewMember(signal: AbortSignal): Promise<boolean> {
    const { store, namespace, group } = this.#options;
    const name = memberLeaseName(group, this.identity);
    try {
      if (this.#memberLease) {
        try {
          this.#memberLease = await store.update(
            namespace,
            name,
            this.#memberLease.resourceVersion,
            this.#record(this.#memberLease.spec),
            signal,
          );
          return true;
        } catch (error) {
          if (!(error instanceof LeaseConflictError)) throw error;
        }
      }
      const current = await store.get(namespace, name, signal);
      this.#memberLease = current
        ? await store.update(namespace, name, current.resourceVersion, this.#record(current.spec), signal)
        : await store.create(
            namespace,
            name,
            { [SHARD_GROUP_LABEL]: group, [SHARD_ROLE_LABEL]: 'member' },
            this.#record(undefined),
            signal,
          );
      return true;
    } catch (error) {
      this.#report(error);
      return false;
    }
  }

  /** Renews every held key Lease; a key whose Lease was taken or cannot be renewed in time is dropped. */
  async #renewHeld(signal: AbortSignal): Promise<void> {
    const { store, namespace, group } = this.#options;
    const lost: string[] = [];
    for (const [key, lease] of this.#held) {
      try {
        this.#held.set(
          key,
          await store.update(
            namespace,
            ownerLeaseName(group, key),
            lease.resourceVersion,
            this.#record(lease.spec),
            signal,
            this.#outbox.has(key) ? { [SHARD_VALUE_ANNOTATION]: this.#outbox.get(key)! } : undefined,
          ),
        );
        this.#outbox.delete(key);
      } catch (error) {
        // A conflict means someone else wrote it: it is not ours any more. Any other failure keeps
        // the key until the Lease could have expired for the others.
        const renewedAt = Date.parse(lease.spec.renewTime ?? '') || 0;
        if (
          error instanceof LeaseConflictError ||
          this.#clock.now() - renewedAt >= this.#duration - this.#period
        ) {
          lost.push(key);
        }
        this.#report(error);
      }
    }
    if (lost.length > 0) {
      for (const key of lost) this.#held.delete(key);
      await this.#setOwned(new Set([...this.#held.keys()]), lost);
    }
  }

  async #tryTake(
    key: string,
    listed: StoredLease | undefined,
    now: number,
    signal: AbortSignal,
  ): Promise<void> {
    const { store, namespace, group } = this.#options;
    const name = ownerLeaseName(group, key);
    try {
      if (!listed) {
        const created = await store.create(
          namespace,
          name,
          { [SHARD_GROUP_LABEL]: group, [SHARD_ROLE_LABEL]: 'owner' },
          this.#record(undefined),
          signal,
        );
        this.#held.set(key, created);
        return;
      }
      const holder = listed.spec.holderIdentity;
      if (holder && holder !== this.identity && this.#alive(name, listed, now)) return;
      this.#held.set(
        key,
        await store.update(namespace, name, listed.resourceVersion, this.#record(listed.spec), signal),
      );
    } catch (error) {
      if (!(error instanceof LeaseConflictError)) this.#report(error);
    }
  }

  async #release(key: string, signal: AbortSignal): Promise<void> {
    const lease = this.#held.get(key);
    this.#held.delete(key);
    if (!lease) return;
    const { store, namespace, group } = this.#options;
    try {
      await store.update(
        namespace,
        ownerLeaseName(group, key),
        lease.resourceVersion,
        this.#freed(lease.spec),
        signal,
      );
    } catch (error) {
      this.#report(error);
    }
  }

  async #setOwned(next: Set<string>, lost: readonly string[] = []): Promise<void> {
    const same = next.size === this.#owned.size && [...next].every((k) => this.#owned.has(k));
    if (same) return;
    this.#owned = next;
    try {
      await this.#options.onChange(new Set(next), { lost });
    } catch (error) {
      this.#report(error);
    }
  }

  #report(error: unknown): void {
    try {
      this.#options.onError?.(error);
    } catch {
      // A throwing handler must not stop the rounds.
    }
  }
}

/**
 * core's `FleetPeers` over a coordinator's Leases: a replica's observation of a cluster it owns
 * rides on the cluster's Lease at its next renewal (one annotation, no extra request), and every
 * replica reads all of them in its round. Pass it as the fleet's `peers`, and call
 * `fleet.observePeers()` from the coordinator's `onRound`.
 */
export function leasePeers(coordinator: ShardCoordinator): FleetPeers {
  const parsed = new Map<string, { readonly raw: string; readonly seen: SeenObservation }>();
  return {
    publish(cluster: string, observation: PeerObservation): void {
      coordinator.publish(cluster, JSON.stringify(observation));
    },
    observations(): ReadonlyMap<string, SeenObservation> {
      const out = new Map<string, SeenObservation>();
      for (const [cluster, { value, seenAt }] of coordinator.values()) {
        let cached = parsed.get(cluster);
        if (cached?.raw !== value) {
          try {
            cached = { raw: value, seen: { observation: JSON.parse(value) as PeerObservation, seenAt } };
          } catch {
            continue; // not ours, or cut short: ignored
          }
          parsed.set(cluster, cached);
        }
        out.set(cluster, cached.seen);
      }
      return out;
    },
  };
}
