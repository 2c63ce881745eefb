import { ErrorCodes, OptionError, ReconcileError } from '../errors.js';
import type { SourceChange } from '../types.js';
import type { ReconcilerEvents } from './events.js';
import { Semaphore } from './gate.js';
import { Membership, type MembershipListener } from './membership.js';
import type { Deferral, ReconcileResult, Reconciler, StopOptions } from './reconciler.js';
import { getCondition, isReadyAtLatest, type ReconcilerStatus } from './status.js';
import { ConditionReasons } from './transitions.js';

/** Options of a {@link Manager}. */
export interface ManagerOptions {
  /** How many passes may run at once across all reconcilers (default 4). */
  readonly concurrency?: number;
  /** How soon a pass deferred by `dependsOn` is tried again, in milliseconds (default 30 seconds). */
  readonly dependencyRetryInterval?: number;
}

/** Options of {@link Manager.add}. */
export interface AddOptions {
  /** Names of reconcilers that must be Ready at their newest revision before this one runs a pass. */
  readonly dependsOn?: readonly string[];
}

/** The `Ready` reason of a reconciler whose pass waits for its dependencies. */
export const DependencyNotReadyReason = ConditionReasons.DependencyNotReady;

interface Entry {
  readonly reconciler: Reconciler;
  readonly dependsOn: readonly string[];
  unbind?: () => void;
  onStatus?: (event: ReconcilerEvents['status']) => void;
  ready: boolean;
}

/**
 * Runs many reconcilers: bounded concurrency of passes (a shared semaphore), `dependsOn` ordering,
 * triggers by name or by change notification, and a graceful stop.
 */
export class Manager {
  readonly #entries = new Map<string, Entry>();
  readonly #gate: Semaphore;
  readonly #dependencyRetryInterval: number;
  readonly #membership = new Membership();
  #started = false;

  /** Creates an empty manager. Throws an `OptionError` naming an option that cannot work. */
  constructor(options: ManagerOptions = {}) {
    const concurrency = options.concurrency ?? 4;
    if (!Number.isInteger(concurrency) || concurrency < 1) {
      throw new OptionError(
        ['concurrency'],
        `Manager option concurrency must be a whole number ≥ 1 (passes at once), got ${String(concurrency)}`,
      );
    }
    this.#gate = new Semaphore(concurrency);
    const retry = options.dependencyRetryInterval ?? 30_000;
    if (typeof retry !== 'number' || !Number.isFinite(retry) || retry <= 0) {
      throw new OptionError(
        ['dependencyRetryInterval'],
        `Manager option dependencyRetryInterval must be a positive number of milliseconds, got ${String(retry)}`,
      );
    }
    this.#dependencyRetryInterval = retry;
  }

  /**
   * Adds a reconciler. Names must be unique (a `ReconcileError` `RECONCILE_DUPLICATE_NAME`
   * otherwise). Dependencies may be added later, but must all exist by {@link start}; when the
   * manager runs already, the reconciler is checked and started at once.
   */
  add(reconciler: Reconciler, options: AddOptions = {}): this {
    const name = reconciler.name;
    if (this.#entries.has(name)) {
      throw new ReconcileError(ErrorCodes.DuplicateName, `Manager already has a reconciler named ${name}`);
    }
    const entry: Entry = { reconciler, dependsOn: [...(options.dependsOn ?? [])], ready: false };
    this.#entries.set(name, entry);
    if (this.#started) {
      try {
        this.#checkGraph();
      } catch (error) {
        this.#entries.delete(name);
        throw error;
      }
      this.#attach(entry);
      reconciler.start();
    }
    this.#membership.notify({ type: 'added', reconciler });
    return this;
  }

  /**
   * Calls `listener` whenever a reconciler is added or removed (metrics use it to drop a removed
   * reconciler's series). Returns the function that stops the calls.
   */
  onMembership(listener: MembershipListener): () => void {
    return this.#membership.listen(listener);
  }

  /**
   * Stops (gracefully, like {@link stop}) and removes a reconciler. Rejects with a `ReconcileError`
   * `RECONCILE_DEPENDED_ON` while another reconciler depends on it. Resolves with whether it was there.
   */
  async remove(name: string): Promise<boolean> {
    const entry = this.#entries.get(name);
    if (!entry) return false;
    const dependants = [...this.#entries.values()].filter((e) => e.dependsOn.includes(name));
    if (dependants.length > 0) {
      const names = dependants.map((e) => e.reconciler.name).join(', ');
      throw new ReconcileError(
        ErrorCodes.DependedOn,
        `Cannot remove ${name}: ${names} depend${dependants.length === 1 ? 's' : ''} on it`,
      );
    }
    this.#entries.delete(name);
    await entry.reconciler.stop({ abort: false });
    this.#detach(entry);
    this.#membership.notify({ type: 'removed', reconciler: entry.reconciler });
    return true;
  }

  /** The reconciler with this name. */
  get(name: string): Reconciler | undefined {
    return this.#entries.get(name)?.reconciler;
  }

  /** Names of the reconcilers, in the order they were added. */
  names(): string[] {
    return [...this.#entries.keys()];
  }

  /** Every reconciler's current status, by name. */
  statuses(): Record<string, ReconcilerStatus> {
    const out: Record<string, ReconcilerStatus> = {};
    for (const [name, entry] of this.#entries) out[name] = entry.reconciler.status;
    return out;
  }

  /**
   * Checks the dependency graph (every dependency exists, no cycles; throws `ReconcileError` with
   * code `RECONCILE_DEPENDENCY_MISSING` or `RECONCILE_DEPENDENCY_CYCLE`), then starts every reconciler.
   */
  start(): void {
    if (this.#started) return;
    this.#checkGraph();
    this.#started = true;
    for (const entry of this.#entries.values()) this.#attach(entry);
    for (const entry of this.#entries.values()) entry.reconciler.start();
  }

  /**
   * Stops every reconciler. By default passes in flight finish first (graceful); `{ abort: true }`
   * aborts them. Resolves when no pass runs.
   */
  async stop(options: StopOptions = {}): Promise<void> {
    this.#started = false;
    const abort = options.abort ?? false;
    await Promise.all([...this.#entries.values()].map((entry) => entry.reconciler.stop({ abort })));
    for (const entry of this.#entries.values()) this.#detach(entry);
  }

  /**
   * Asks the named reconciler for a pass. An unknown name is a rejected promise (a `ReconcileError`
   * with code `RECONCILE_UNKNOWN_RECONCILER`), never a synchronous throw.
   */
  trigger(name: string): Promise<ReconcileResult> {
    const entry = this.#entries.get(name);
    if (!entry) {
      const known = this.names();
      return Promise.reject(
        new ReconcileError(
          ErrorCodes.UnknownReconciler,
          `Manager has no reconciler named ${name}` +
            (known.length > 0 ? ` (it has ${known.join(', ')})` : ' (it has none)'),
        ),
      );
    }
    return entry.reconciler.trigger();
  }

  /**
   * Triggers every reconciler whose source says the change concerns it (`Source.matches`); returns
   * their names. Webhook receivers call this.
   */
  triggerMatching(change: SourceChange): string[] {
    const names: string[] = [];
    for (const [name, entry] of this.#entries) {
      if (entry.reconciler.source.matches?.(change)) {
        names.push(name);
        void entry.reconciler.trigger();
      }
    }
    return names;
  }

  /** Binds the gate and the dependency check, and listens for readiness to wake dependants early. */
  #attach(entry: Entry): void {
    if (entry.unbind) return;
    const { reconciler } = entry;
    entry.unbind = reconciler.bind({
      gate: this.#gate,
      precondition: () => this.#deferral(entry),
    });
    entry.ready = isReadyAtLatest(reconciler.status);
    entry.onStatus = ({ status }) => {
      const ready = isReadyAtLatest(status);
      const became = ready && !entry.ready;
      entry.ready = ready;
      if (became) this.#wakeDependants(reconciler.name);
    };
    reconciler.on('status', entry.onStatus);
  }

  #detach(entry: Entry): void {
    entry.unbind?.();
    entry.unbind = undefined;
    if (entry.onStatus) entry.reconciler.off('status', entry.onStatus);
    entry.onStatus = undefined;
  }

  /** Why the entry's pass must wait, if a dependency is not Ready at its newest revision. */
  #deferral(entry: Entry): Deferral | undefined {
    const waiting = entry.dependsOn.filter((name) => {
      const dependency = this.#entries.get(name);
      return !dependency || !isReadyAtLatest(dependency.reconciler.status);
    });
    if (waiting.length === 0) return undefined;
    return {
      reason: DependencyNotReadyReason,
      message: `Waiting for ${waiting.join(', ')} to be Ready at the newest revision`,
      retryAfter: this.#dependencyRetryInterval,
    };
  }

  /** Triggers the reconcilers waiting for `name` as soon as it became ready, instead of at their retry. */
  #wakeDependants(name: string): void {
    // A dependency can finish its pass while a graceful stop waits for it: nothing new starts then.
    if (!this.#started) return;
    for (const entry of this.#entries.values()) {
      if (!entry.dependsOn.includes(name)) continue;
      if (getCondition(entry.reconciler.status, 'Ready')?.reason !== DependencyNotReadyReason) continue;
      void entry.reconciler.trigger();
    }
  }

  /** Every dependency exists and the graph has no cycle. */
  #checkGraph(): void {
    for (const [name, entry] of this.#entries) {
      for (const dependency of entry.dependsOn) {
        if (!this.#entries.has(dependency)) {
          throw new ReconcileError(
            ErrorCodes.DependencyMissing,
            `Reconciler ${name} depends on ${dependency}, which the manager does not have`,
          );
        }
      }
    }
    const state = new Map<string, 'visiting' | 'done'>();
    const visit = (name: string, path: string[]): void => {
      const seen = state.get(name);
      if (seen === 'done') return;
      if (seen === 'visiting') {
        const cycle = [...path.slice(path.indexOf(name)), name].join(' → ');
        throw new ReconcileError(ErrorCodes.DependencyCycle, `Dependency cycle: ${cycle}`);
      }
      state.set(name, 'visiting');
      for (const dependency of this.#entries.get(name)?.dependsOn ?? []) visit(dependency, [...path, name]);
      state.set(name, 'done');
    };
    for (const name of this.#entries.keys()) visit(name, []);
  }
}
