import { EventEmitter } from 'eventemitter3';
import type { GitOpsError, Stage } from '../errors.js';
import type { LifecyclePhase } from '../lifecycle/phases.js';
import type { PlanSummary } from '../plan.js';
import type { ObjectRef } from '../refs.js';
import type { Artifact, ArtifactMeta, HealthReport, Plan, PruneResult } from '../types.js';
import type { StateRecovery } from './memory.js';
import type { ListenerErrorHandler } from './options.js';
import type { ReconcileResult } from './reconciler.js';
import type { PassStage } from './stage-timing.js';
import type { ReconcilerStatus } from './status.js';

/** Fields every event payload has. */
export interface EventBase {
  /** The reconciler's name. */
  readonly reconciler: string;
  /** The revision the event is about; undefined only when a fetch failed before any revision was known. */
  readonly revision: string | undefined;
}

/** The payload of each reconciler event. */
export interface ReconcilerEvents {
  /** A pass began (after its precondition and gate); the revision is not known yet. */
  passStarted: EventBase & {
    /** When it began, in milliseconds of the reconciler's clock. */
    readonly startedAt: number;
  };
  /**
   * One stage of a pass ended (fetch, render, plan, validate, apply, prune, health, rollback), with
   * how long it took and whether it threw: what per-stage metrics and trace spans are made of.
   */
  stage: EventBase & {
    /** The stage. */
    readonly stage: PassStage;
    /** When it began, in milliseconds of the reconciler's clock. */
    readonly startedAt: number;
    /** How long it took, in milliseconds of the reconciler's clock. */
    readonly durationMs: number;
    /** The typed error when the stage failed. */
    readonly error?: GitOpsError;
  };
  /** The source produced an artifact. */
  fetched: EventBase & {
    /** The artifact's revision (`main@sha1:…` for Git, a digest-based one for S3 and folders). */
    readonly revision: string;
    /** The digest of the artifact's content (`sha256:…`), equal for equal content. */
    readonly digest: string;
    /** Who changed what, when (author, message, time), as far as the source knows. */
    readonly meta: ArtifactMeta;
    /** The fetched artifact itself (its folder stays valid while the source keeps it). */
    readonly artifact: Artifact;
  };
  /** Manifests are ready; `cached` when the previous render was reused. */
  rendered: EventBase & {
    /** The revision rendered. */
    readonly revision: string;
    /** How many objects the render produced. */
    readonly manifests: number;
    /** True when the manifests of the previous render of the same digest were reused. */
    readonly cached: boolean;
  };
  /** The target planned the change. */
  planned: EventBase & {
    /** The revision planned. */
    readonly revision: string;
    /** The plan, with Secret values masked as in the diffs. */
    readonly plan: Plan;
    /** The plan's counts (create, update, unchanged, prune, drifted). */
    readonly summary: PlanSummary;
  };
  /** Live objects differ from what was last applied. */
  drifted: EventBase & {
    /** The revision whose applied state drifted. */
    readonly revision: string;
    /** The objects changed on the target since they were applied. */
    readonly objects: readonly ObjectRef[];
    /** Who changed them (field managers), when a watch saw the change. */
    readonly changedBy?: readonly string[];
    /** True when a watch saw it and the objects were re-applied at once (no full pass). */
    readonly repaired?: boolean;
  };
  /** The set was written. */
  applied: EventBase & {
    /** The revision applied. */
    readonly revision: string;
    /** How many write requests the target made (unchanged objects take none). */
    readonly writes: number;
    /** The counts of the plan that was applied. */
    readonly summary: PlanSummary;
  };
  /** Objects that left the desired set were deleted (some may be skipped or have failed). */
  pruned: EventBase & {
    /** The revision being applied, which no longer holds the objects. */
    readonly revision: string;
    /** What was deleted, skipped (kept by annotation, not ours) and what failed. */
    readonly result: PruneResult;
  };
  /** Every applied object is Current. */
  healthy: EventBase & {
    /** The revision that became healthy. */
    readonly revision: string;
    /** The last health report, every object Current. */
    readonly report: HealthReport;
  };
  /** Some object failed, or the health wait ran out of time. */
  unhealthy: EventBase & {
    /** The revision that did not become healthy. */
    readonly revision: string;
    /** The last health report read, when one was read. */
    readonly report: HealthReport | undefined;
    /** `Failed` when an object reported Failed, `Timeout` when `healthTimeout` ran out first. */
    readonly reason: 'Failed' | 'Timeout';
    /** Which objects, and why, in words. */
    readonly message: string;
  };
  /** A revision that never became healthy was replaced by the last healthy one. */
  rolledBack: EventBase & {
    /** The revision applied again (the same as `to`). */
    readonly revision: string;
    /** The revision that never became healthy, now held back until a newer one arrives. */
    readonly from: string;
    /** The last healthy revision, applied again. */
    readonly to: string;
    /** Whether the revision rolled back to became healthy again. */
    readonly healthy: boolean;
  };
  /**
   * The stored state was missing, emptied, unreadable or replaced by another writer, and the
   * inventory was rebuilt from what this process knew and the objects carrying our ownership mark
   * (see `Target.listOwned`); the state is written again by the same pass.
   */
  recovered: EventBase & StateRecovery;
  /**
   * One step of a lifecycle schedule was written (only for sets with phases, waves or hooks): its
   * phase, wave and objects, hooks included, and how many writes it made.
   */
  waveApplied: EventBase & {
    /** The revision being applied. */
    readonly revision: string;
    /** The sync phase of the wave. */
    readonly phase: LifecyclePhase;
    /** The wave within the phase. */
    readonly wave: number;
    /** The objects of the wave, in the order they were written. */
    readonly objects: readonly ObjectRef[];
    /** Write requests the wave made (0 when all its objects were unchanged). */
    readonly writes: number;
  };
  /** A hook ran to its end (or failed, or timed out): the outcome decides whether the pass goes on. */
  hookCompleted: EventBase & {
    /** The revision whose hook ran. */
    readonly revision: string;
    /** The phase the hook ran in. */
    readonly phase: LifecyclePhase;
    /** Its wave within the phase. */
    readonly wave: number;
    /** The hook object (with the name the server gave a `generateName` hook). */
    readonly ref: ObjectRef;
    /** How it ended. */
    readonly outcome: 'succeeded' | 'failed';
    /** Why, in words (a Job's condition, a timeout). */
    readonly message: string;
  };
  /** A pass failed. */
  failed: EventBase & {
    /** The part of the pass that failed (`source`, `render`, `validation`, `apply`, ...). */
    readonly stage: Stage;
    /** The typed error, with its stable `code`; it holds no credential or Secret value. */
    readonly error: GitOpsError;
  };
  /** A pass ended (succeeded, failed, rolled back or skipped), with its whole result. */
  passFinished: EventBase & {
    /** What the pass came to: outcome, reason, message, counts, duration, error. */
    readonly result: ReconcileResult;
  };
  /** The status changed; `status` is the new frozen value. */
  status: EventBase & {
    /** The new status, frozen. */
    readonly status: ReconcilerStatus;
  };
}

/** The name of a reconciler event. */
export type ReconcilerEventName = keyof ReconcilerEvents;

/**
 * Every reconciler event name, in the order a pass emits them, for subscribers that listen to all
 * (audit logs, metrics, tests). Typed so a new event cannot be left out.
 */
export const RECONCILER_EVENT_NAMES = [
  'passStarted',
  'stage',
  'fetched',
  'rendered',
  'planned',
  'drifted',
  'applied',
  'pruned',
  'healthy',
  'unhealthy',
  'rolledBack',
  'recovered',
  'waveApplied',
  'hookCompleted',
  'failed',
  'passFinished',
  'status',
] as const satisfies readonly ReconcilerEventName[];

// Fails to compile when ReconcilerEvents gains an event the list above lacks.
type MissingEventNames = Exclude<ReconcilerEventName, (typeof RECONCILER_EVENT_NAMES)[number]>;
const everyEventListed: [MissingEventNames] extends [never] ? true : MissingEventNames = true;
void everyEventListed;

/** A listener of one event. It may be async; a rejected promise is reported like a throw. */
export type ReconcilerListener<K extends ReconcilerEventName> = (payload: ReconcilerEvents[K]) => unknown;

/** The argument lists eventemitter3 types its emitter with. */
type EventArgs = { [K in ReconcilerEventName]: [ReconcilerEvents[K]] };

type Wrapped = (payload: never) => void;

/**
 * A typed emitter whose listeners can never break the code that emits. eventemitter3 lets a throwing
 * listener escape `emit()` and skip the listeners after it, so every listener is wrapped when it is
 * registered: throws and rejected promises go to `onListenerError` instead. The wrappers are tracked
 * per original function so `off(event, fn)` keeps working.
 */
export class GuardedEmitter {
  readonly #emitter = new EventEmitter<EventArgs>();
  readonly #wrappers = new Map<ReconcilerEventName, Map<unknown, Wrapped[]>>();
  readonly #onError: ListenerErrorHandler;

  /** @param onError receives every listener failure; its own failures are swallowed. */
  constructor(onError: ListenerErrorHandler) {
    this.#onError = onError;
  }

  /** Adds a listener, wrapped so that its throw or rejection goes to `onError` and not to the emitter. */
  on<K extends ReconcilerEventName>(event: K, listener: ReconcilerListener<K>): void {
    this.#add(event, listener, false);
  }

  /** Adds a listener that runs at most once. */
  once<K extends ReconcilerEventName>(event: K, listener: ReconcilerListener<K>): void {
    this.#add(event, listener, true);
  }

  /** Removes a listener (every registration of it), or all listeners of the event without one. */
  off<K extends ReconcilerEventName>(event: K, listener?: ReconcilerListener<K>): void {
    const byListener = this.#wrappers.get(event);
    if (!listener) {
      this.#emitter.removeAllListeners(event);
      this.#wrappers.delete(event);
      return;
    }
    const wrappers = byListener?.get(listener);
    if (!wrappers) return;
    byListener?.delete(listener);
    for (const wrapper of wrappers) this.#emitter.off(event, wrapper as never);
  }

  /** How many listeners an event has. */
  listenerCount(event: ReconcilerEventName): number {
    return this.#emitter.listenerCount(event);
  }

  /** Calls every listener of the event; never throws. */
  emit<K extends ReconcilerEventName>(event: K, payload: ReconcilerEvents[K]): void {
    // The wrappers cannot throw, but keep emit total even if eventemitter3 itself did.
    try {
      (this.#emitter.emit as (event: K, payload: ReconcilerEvents[K]) => boolean)(event, payload);
    } catch (error) {
      this.#report(error, event);
    }
  }

  #add<K extends ReconcilerEventName>(event: K, listener: ReconcilerListener<K>, once: boolean): void {
    const wrapper = (payload: ReconcilerEvents[K]): void => {
      if (once) this.#forget(event, listener, wrapper as Wrapped);
      try {
        const result = listener(payload);
        if (result && typeof (result as PromiseLike<unknown>).then === 'function') {
          (result as PromiseLike<unknown>).then(undefined, (error: unknown) => this.#report(error, event));
        }
      } catch (error) {
        this.#report(error, event);
      }
    };
    let byListener = this.#wrappers.get(event);
    if (!byListener) {
      byListener = new Map();
      this.#wrappers.set(event, byListener);
    }
    byListener.set(listener, [...(byListener.get(listener) ?? []), wrapper as Wrapped]);
    const add = once ? this.#emitter.once : this.#emitter.on;
    (add as (event: K, fn: (payload: ReconcilerEvents[K]) => void) => unknown).call(
      this.#emitter,
      event,
      wrapper,
    );
  }

  #forget(event: ReconcilerEventName, listener: unknown, wrapper: Wrapped): void {
    const byListener = this.#wrappers.get(event);
    const rest = byListener?.get(listener)?.filter((w) => w !== wrapper) ?? [];
    if (rest.length > 0) byListener?.set(listener, rest);
    else byListener?.delete(listener);
  }

  #report(error: unknown, event: string): void {
    try {
      this.#onError(error, event);
    } catch {
      // The error handler failed too: there is nowhere left to report to, and a pass must go on.
    }
  }
}
