import { ErrorCodes, type GitOpsError, ReconcileError, toGitOpsError } from '../errors.js';
import type { PlanSummary } from '../plan.js';
import { type ObjectRef, refKey } from '../refs.js';
import { boundMessage } from '../summary.js';
import type {
  Artifact,
  HealthReport,
  HistoryCause,
  HistoryEntry,
  Plan,
  ReconcileOutcome,
  Source,
} from '../types.js';
import { DriftNotices, repairDrift } from './drift-repair.js';
import {
  GuardedEmitter,
  type ReconcilerEventName,
  type ReconcilerEvents,
  type ReconcilerListener,
} from './events.js';
import type { Gate } from './gate.js';
import { causeOfFailure, causeOfRollback, driftEntry } from './history-causes.js';
import { attachLogger } from './logging.js';
import { newMemory, persistState, type ReconcilerMemory } from './memory.js';
import { type ReconcilerOptions, type ResolvedOptions, resolveOptions } from './options.js';
import { Pass, type PassHost, type PassRequest, type PassResult, type UninstallResult } from './pass.js';

export type { UninstallResult } from './pass.js';

import { intervalDelay, retryDelay } from './scheduling.js';
import { addHistory, produceStatus, type ReconcilerStatus, type StatusRecipe } from './status.js';
import { registerTargetUser } from './target-owners.js';
import {
  driftRepaired,
  initialStatus,
  nextRunScheduled,
  passDeferred,
  passFailed,
  passStarted,
  passSucceeded,
  ConditionReasons as R,
  resumed,
  rolledBack,
  suspended,
} from './transitions.js';

/** What one call to {@link Reconciler.reconcile} (or a scheduled pass) came to. */
export interface ReconcileResult {
  /**
   * `succeeded`, `failed`, `rolledBack` (the fetched revision was replaced by the last healthy one),
   * or `skipped` (suspended, deferred by a dependency, or stopped before it started).
   */
  readonly outcome: ReconcileOutcome;
  /** A stable reason: the error's code name for failures, `Suspended`, `DependencyNotReady`, `Stopped`… */
  readonly reason?: string;
  /** A sentence for people. */
  readonly message: string;
  /** The revision fetched, when the fetch got that far. */
  readonly revision?: string;
  /** The revision whose objects are applied after the pass. */
  readonly appliedRevision?: string;
  /** The counts of the plan the pass applied, when it got that far. */
  readonly plan?: PlanSummary;
  /** Write requests made by the apply. */
  readonly writes: number;
  /** Objects deleted by the prune. */
  readonly pruned: number;
  /** The final health reading, with `wait`. */
  readonly health?: HealthReport['status'];
  /** The error of a failed pass. */
  readonly error?: GitOpsError;
  /** ISO 8601. */
  readonly startedAt: string;
  /** How long the pass took, in milliseconds of the reconciler's clock. */
  readonly durationMs: number;
}

/** Options of {@link Reconciler.reconcile} and {@link Reconciler.plan}. */
export interface ReconcileCallOptions {
  /** Aborts the pass (and any pass it was coalesced into). */
  readonly signal?: AbortSignal;
  /**
   * `reconcile` only: apply exactly this revision (the one a person reviewed in a plan) instead of
   * the newest. Needs a source with `fetchRevision` unless it is the newest; a revision the source
   * can no longer serve fails the pass with `SOURCE_REVISION_UNAVAILABLE`. It ends a `rollbackTo`
   * hold. Passes asking for different revisions are never coalesced.
   */
  readonly revision?: string;
}

/** Options of {@link Reconciler.stop}. */
export interface StopOptions {
  /** Abort the pass in flight (true, the default) or let it finish. */
  readonly abort?: boolean;
}

/** Why a pass must wait, as a `Manager` decides it for `dependsOn`. */
export interface Deferral {
  /** Condition reason, such as `DependencyNotReady`. */
  readonly reason: string;
  /** Why, for people (which dependency is not Ready yet). */
  readonly message: string;
  /** When to try again, in milliseconds. */
  readonly retryAfter: number;
}

/** What a `Manager` attaches to a reconciler it runs. */
export interface ReconcilerBinding {
  /** Bounds concurrent passes; replaces the `gate` option while bound. */
  readonly gate?: Gate;
  /** Called before each pass; a deferral skips the pass and schedules a retry. */
  readonly precondition?: () => Deferral | undefined;
}

/** One caller waiting for a pass. */
interface Request {
  readonly kind: 'scheduled' | 'trigger' | 'manual';
  readonly signal: AbortSignal | undefined;
  readonly resolve: (result: ReconcileResult) => void;
  /** A revision asked for: only requests asking the same are coalesced. */
  readonly ask: PassRequest;
}

function sameAsk(a: PassRequest, b: PassRequest): boolean {
  return a.revision === b.revision && a.rollbackTo === b.rollbackTo;
}

/** One pass and the callers it will answer. */
interface Run {
  readonly requests: Request[];
  readonly controller: AbortController;
  /** Set once the pass got through its precondition and gate: later callers wait for the next pass. */
  started: boolean;
  /** Removes the abort listeners put on callers' signals. */
  readonly unlink: (() => void)[];
  done: Promise<void>;
}

/** Turns `SOME_ERROR_CODE` into `SomeErrorCode`. */
function pascalCase(code: string): string {
  return code
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter(Boolean)
    .map((part) => part[0]?.toUpperCase() + part.slice(1))
    .join('');
}

const reasonByCode = new Map<string, string>(Object.entries(ErrorCodes).map(([name, code]) => [code, name]));

/** The condition reason of an error code: core's name for it (`EmptySetRefused`), else the code in PascalCase. */
export function reasonOf(code: string): string {
  return reasonByCode.get(code) ?? pascalCase(code);
}

/**
 * Keeps a target in the state a source describes. One pass at a time: calls made while a pass runs
 * coalesce into exactly one more. See the README's "Reconciler" section for the whole picture.
 */
export class Reconciler {
  readonly #options: ResolvedOptions;
  readonly #memory: ReconcilerMemory = newMemory();
  readonly #events: GuardedEmitter;
  #status: ReconcilerStatus;
  #current: Run | undefined;
  #next: Request[] | undefined;
  #started = false;
  #suspended = false;
  #cancelTimer: (() => void) | undefined;
  #binding: ReconcilerBinding | undefined;
  /** The retry delay of the newest deferral, if the newest pass was deferred. */
  #deferredFor: number | undefined;
  /** Drift notices from the target's watch (`watch`), and the function that stops it. */
  readonly #notices: DriftNotices;
  #unwatch: (() => void) | undefined;

  /**
   * Checks the options (an `OptionError` naming the option at fault when one cannot work); nothing
   * runs until {@link start}, {@link reconcile} or {@link trigger}.
   */
  constructor(options: ReconcilerOptions) {
    this.#options = resolveOptions(options);
    registerTargetUser(this.#options.target, this.#options.name);
    this.#events = new GuardedEmitter(this.#options.onListenerError);
    this.#status = initialStatus(this.#options.name, this.#now());
    this.#notices = new DriftNotices(this.#options.clock, () => this.#repair());
    if (this.#options.logger) attachLogger(this, this.#options.logger);
    const { target, stateStore, name } = this.#options;
    target.observe?.({ name, stateStore, on: (event, listener) => this.on(event, listener) });
  }

  /** The name given in the options. */
  get name(): string {
    return this.#options.name;
  }

  /** The source (a `Manager` asks it whether a change notification concerns it). */
  get source(): Source {
    return this.#options.source;
  }

  /** The current status: a frozen value, replaced on every change. */
  get status(): ReconcilerStatus {
    return this.#status;
  }

  /** Whether a pass is in flight. */
  get busy(): boolean {
    return this.#current !== undefined;
  }

  /** Adds an event listener. A listener that throws or rejects never affects a pass. */
  on<K extends ReconcilerEventName>(event: K, listener: ReconcilerListener<K>): this {
    this.#events.on(event, listener);
    return this;
  }

  /** Adds a listener that runs once. */
  once<K extends ReconcilerEventName>(event: K, listener: ReconcilerListener<K>): this {
    this.#events.once(event, listener);
    return this;
  }

  /** Removes a listener, or every listener of the event. */
  off<K extends ReconcilerEventName>(event: K, listener?: ReconcilerListener<K>): this {
    this.#events.off(event, listener);
    return this;
  }

  /**
   * Runs a pass now, or joins the next one if a pass is in flight, and resolves with its result.
   * It runs even while suspended (suspend stops scheduled passes only). It never rejects: failures
   * are in the result, the status and the `failed` event.
   */
  reconcile(options: ReconcileCallOptions = {}): Promise<ReconcileResult> {
    return this.#request('manual', options.signal, { revision: options.revision });
  }

  /**
   * Applies `revision` from the source's history again, as `argocd app rollback` does (rollback
   * hooks run), and holds it: later passes keep applying it while the source serves what it served
   * at this call, until a new revision arrives or {@link release} is called. The hold is stored
   * with the state, so a restarted process keeps holding. Needs a source with `fetchRevision`
   * (else the pass fails with `SOURCE_REVISION_UNAVAILABLE`). Never rejects, like `reconcile`.
   */
  rollbackTo(revision: string, options: { readonly signal?: AbortSignal } = {}): Promise<ReconcileResult> {
    return this.#request('manual', options.signal, { rollbackTo: revision });
  }

  /**
   * Ends a {@link rollbackTo} hold: the next pass applies the source's newest revision. Resolves
   * once the state without the hold is stored.
   */
  async release(): Promise<void> {
    await this.#current?.done;
    const { pinned, ...rest } = this.#memory.stored;
    if (!pinned) return;
    this.#memory.stored = rest;
    await persistState(this.#options, this.#memory);
  }

  /**
   * Deletes everything this reconciler owns, as \`helm uninstall\` or deleting an Argo CD
   * Application with its resources does: stops the reconciler first, renders the last applied
   * revision for its delete hooks (from memory, or `fetchRevision`), runs the PreDelete hooks
   * (Argo CD `PreDelete`, Helm `pre-delete`), deletes every owned object in reverse apply order
   * except those kept by `helm.sh/resource-policy: keep`, `argocd.argoproj.io/sync-options:
   * Delete=false` or `gitops-kit.dev/prune: disabled`, waits until they are gone, runs the
   * PostDelete hooks, and stores an empty inventory. Without a revision it can render, it deletes
   * without hooks and says so in the result. Throws the typed error of the step that failed (the
   * inventory then keeps what was not deleted).
   */
  async uninstall(options: { readonly signal?: AbortSignal } = {}): Promise<UninstallResult> {
    await this.stop({ abort: false });
    return this.#outsidePasses(options.signal, (pass) => pass.uninstall());
  }

  /**
   * Asks for a pass soon (a webhook, a dependency became ready). Coalesces like {@link reconcile};
   * while suspended it resolves at once with a `skipped` result.
   */
  trigger(): Promise<ReconcileResult> {
    return this.#request('trigger', undefined, {});
  }

  /**
   * What a pass would change now: fetches, renders and plans the newest revision, and writes
   * nothing (no apply, no store, no status, no events). Secret values are masked in it, as in the
   * `planned` event. Throws the typed error of a failing stage, including `EmptySetRefused`.
   */
  plan(options: ReconcileCallOptions = {}): Promise<Plan> {
    return this.#outsidePasses(options.signal, (pass) => pass.preview());
  }

  /** Runs work on a pass of its own (not queued with the others), bounded by `timeout` and the caller's signal. */
  async #outsidePasses<T>(signal: AbortSignal | undefined, work: (pass: Pass) => Promise<T>): Promise<T> {
    const controller = new AbortController();
    const unlink = this.#link(signal, controller);
    const cancel = this.#options.clock.setTimer(this.#options.timeout, () =>
      controller.abort(this.#timeoutError()),
    );
    try {
      return await work(new Pass(this.#host(), controller.signal));
    } finally {
      cancel();
      unlink();
    }
  }

  /** Starts scheduled passes: one now, then every `interval` (with jitter), sooner after a failure. */
  start(): void {
    if (this.#started) return;
    this.#started = true;
    if (this.#options.watch) {
      // A target shared by several reconcilers tells each of them every notice: each answers only
      // those about objects its own inventory holds.
      this.#unwatch ??= this.#options.target.watchDrift?.((notice) => {
        if (this.#owns(notice.ref)) this.#notices.add(notice);
      });
    }
    if (!this.#suspended) void this.#request('scheduled', undefined, {});
  }

  /**
   * Stops scheduled passes, drops queued ones, and resolves when the pass in flight has ended. By
   * default that pass is aborted through its signal; `{ abort: false }` lets it finish.
   */
  async stop(options: StopOptions = {}): Promise<void> {
    this.#started = false;
    this.#clearTimer();
    this.#unwatch?.();
    this.#unwatch = undefined;
    this.#notices.clear();
    this.#update(nextRunScheduled(undefined));
    const queued = this.#next ?? [];
    this.#next = undefined;
    for (const request of queued) request.resolve(this.#skipped(R.Stopped, 'The reconciler was stopped'));
    const current = this.#current;
    if (!current) return;
    // A pass still waiting for a gate slot has done nothing yet: it is dropped
    // even by a graceful stop, so stopping never waits for passes that have not begun.
    if ((options.abort ?? true) || !current.started) {
      current.controller.abort(new ReconcileError(ErrorCodes.Aborted, `Reconciler ${this.name} was stopped`));
    }
    await current.done;
  }

  /** Whether the stored inventory holds `ref` (what a drift notice must be about to be answered). */
  #owns(ref: ObjectRef): boolean {
    const key = refKey(ref);
    return this.#memory.stored.inventory.entries.some((entry) => refKey(entry.ref) === key);
  }

  /** Stops scheduled and triggered passes until {@link resume}; explicit {@link reconcile} calls still run. */
  suspend(): void {
    if (this.#suspended) return;
    this.#suspended = true;
    this.#clearTimer();
    this.#update(suspended(this.#now(), !this.#current));
  }

  /** Ends a suspension; a started reconciler runs a pass at once. */
  resume(): void {
    if (!this.#suspended) return;
    this.#suspended = false;
    this.#update(resumed(this.#now(), !this.#current));
    if (this.#started) void this.#request('scheduled', undefined, {});
  }

  /**
   * Attaches a manager's gate and precondition. Returns the function that detaches them. Meant for
   * `Manager`; a program that drives reconcilers itself can use it to share a `Semaphore`.
   */
  bind(binding: ReconcilerBinding): () => void {
    this.#binding = binding;
    return () => {
      if (this.#binding === binding) this.#binding = undefined;
    };
  }

  /** Queues a request: joins a pass that has not started, else the next pass, else starts one. */
  #request(
    kind: Request['kind'],
    signal: AbortSignal | undefined,
    ask: PassRequest,
  ): Promise<ReconcileResult> {
    if (this.#suspended && kind !== 'manual') {
      return Promise.resolve(this.#skipped(R.Suspended, 'Reconciliation is suspended'));
    }
    return new Promise((resolve) => {
      const request: Request = { kind, signal, resolve, ask };
      const current = this.#current;
      // Joins a pass that has not begun; a drift repair waiting for its slot has no requests and
      // is never joined: what is asked meanwhile runs as a pass after it.
      if (
        current &&
        !current.started &&
        current.requests.length > 0 &&
        sameAsk(current.requests[0]?.ask ?? {}, ask)
      ) {
        current.requests.push(request);
        current.unlink.push(this.#link(signal, current.controller));
      } else if (current) {
        this.#next ??= [];
        this.#next.push(request);
      } else {
        this.#launch([request]);
      }
    });
  }

  /**
   * Answers the drift notices a watch gathered: at once with `Target.repair` when nothing runs
   * (a run of its own, so passes asked meanwhile queue after it), else by a pass queued after
   * the one in flight. A repair takes a slot of the gate as a pass does (a Manager's concurrency
   * bounds repairs too); one still waiting for its slot is dropped by a stop. A failed repair asks
   * for a pass, the safety net.
   */
  #repair(): void {
    if (!this.#started || this.#suspended) {
      this.#notices.take();
      return;
    }
    if (this.#current) {
      this.#notices.take();
      void this.#request('trigger', undefined, {});
      return;
    }
    const controller = new AbortController();
    const gate = this.#binding?.gate ?? this.#options.gate;
    const run: Run = { requests: [], controller, started: !gate, unlink: [], done: Promise.resolve() };
    this.#current = run;
    const notices = this.#notices.take();
    const host = {
      options: this.#options,
      memory: this.#memory,
      emit: (event: 'drifted', payload: ReconcilerEvents['drifted']) => this.#events.emit(event, payload),
      record: (outcome: ReconcileOutcome, reason: string, startedAt: number, durationMs: number) => {
        this.#record(this.#memory.lastArtifact, outcome, reason, startedAt, durationMs);
        this.#update(driftRepaired(this.#memory.stored.history ?? []));
      },
    };
    const repair = async (): Promise<void> => {
      let release = (): void => {};
      if (gate) {
        try {
          release = await gate.acquire(controller.signal);
        } catch {
          return; // stopped while waiting for a slot: nothing was written
        }
        run.started = true;
      }
      // A repair is bounded by the pass timeout too: a hung apiserver must not hold the run (and
      // every pass queued behind it) forever.
      const cancelTimeout = this.#options.clock.setTimer(this.#options.timeout, () =>
        controller.abort(this.#timeoutError()),
      );
      try {
        await repairDrift(host, notices, controller.signal);
      } finally {
        cancelTimeout();
        release();
      }
    };
    run.done = repair().then(
      () => this.#afterRepair(false),
      () => this.#afterRepair(true),
    );
  }

  /** Ends a repair's run: queued passes start; a failed repair asks for a pass. */
  #afterRepair(failed: boolean): void {
    this.#current = undefined;
    if (this.#next) this.#afterPass(this.#skipped(R.Aborted, 'A drift repair ran'));
    else if (failed) void this.#request('trigger', undefined, {});
  }

  /** Starts a pass for the given requests, and what follows it: the coalesced next pass or the schedule. */
  #launch(requests: Request[]): void {
    this.#clearTimer();
    const controller = new AbortController();
    const run: Run = { requests, controller, started: false, unlink: [], done: Promise.resolve() };
    for (const request of requests) run.unlink.push(this.#link(request.signal, controller));
    this.#current = run;
    const settled = this.#execute(run).catch(
      // Only a defect can land here (stages' errors are results); callers still get an answer.
      (error: unknown): ReconcileResult => {
        const typed = toGitOpsError(error, 'reconcile', ErrorCodes.Failed);
        return { ...this.#skipped(R.Failed, typed.message), outcome: 'failed', error: typed };
      },
    );
    run.done = settled.then((result) => {
      for (const unlink of run.unlink) unlink();
      this.#current = undefined;
      this.#events.emit('passFinished', { reconciler: this.name, revision: result.revision, result });
      for (const request of run.requests) request.resolve(result);
      this.#afterPass(result);
    });
  }

  /** Runs the coalesced requests next, or schedules the next pass. */
  #afterPass(result: ReconcileResult): void {
    let next = this.#next ?? [];
    this.#next = undefined;
    if (this.#suspended) {
      for (const request of next.filter((r) => r.kind !== 'manual')) {
        request.resolve(this.#skipped(R.Suspended, 'Reconciliation is suspended'));
      }
      next = next.filter((r) => r.kind === 'manual');
    }
    // A caller that gave up while queued is answered without starting a pass for it.
    for (const request of next.filter((r) => r.signal?.aborted)) {
      request.resolve(this.#skipped(R.Aborted, 'The caller aborted before the pass started'));
    }
    next = next.filter((r) => !r.signal?.aborted);
    if (next.length > 0) {
      // Requests asking for different revisions get passes of their own, in the order asked.
      const ask = (next[0] as Request).ask;
      const later = next.filter((r) => !sameAsk(r.ask, ask));
      if (later.length > 0) this.#next = later;
      this.#launch(next.filter((r) => sameAsk(r.ask, ask)));
      return;
    }
    this.#schedule(result);
  }

  /** Sets the timer of the next scheduled pass, when started and not suspended. */
  #schedule(result: ReconcileResult): void {
    if (!this.#started || this.#suspended) return;
    const o = this.#options;
    const delay =
      result.outcome === 'failed'
        ? retryDelay(this.#status.failures, o.retryInterval, o.maxRetryInterval)
        : result.outcome === 'skipped' && this.#deferredFor !== undefined
          ? this.#deferredFor
          : intervalDelay(o.interval, o.jitter, o.random);
    this.#clearTimer();
    this.#cancelTimer = o.clock.setTimer(delay, () => {
      this.#cancelTimer = undefined;
      void this.#request('scheduled', undefined, {});
    });
    const at = new Date(o.clock.now() + delay).toISOString();
    this.#update(nextRunScheduled(at));
  }

  #clearTimer(): void {
    this.#cancelTimer?.();
    this.#cancelTimer = undefined;
  }

  /** Precondition, gate, then the pass with its timeout; turns the outcome into status and result. */
  async #execute(run: Run): Promise<ReconcileResult> {
    const startedAt = this.#options.clock.now();
    this.#deferredFor = undefined;
    const deferral = this.#binding?.precondition?.();
    if (deferral) {
      this.#deferredFor = deferral.retryAfter;
      this.#update(passDeferred(deferral.reason, deferral.message, this.#now()));
      return this.#skipped(deferral.reason, deferral.message, startedAt);
    }
    const gate = this.#binding?.gate ?? this.#options.gate;
    let release = (): void => {};
    if (gate) {
      try {
        release = await gate.acquire(run.controller.signal);
      } catch {
        return this.#skipped(
          this.#started ? R.Aborted : R.Stopped,
          'The pass was aborted while waiting for a slot',
          startedAt,
        );
      }
    }
    run.started = true;
    const cancelTimeout = this.#options.clock.setTimer(this.#options.timeout, () =>
      run.controller.abort(this.#timeoutError()),
    );
    this.#update(passStarted(this.#now()));
    this.#events.emit('passStarted', { reconciler: this.name, revision: undefined, startedAt });
    const pass = new Pass(this.#host(), run.controller.signal, run.requests[0]?.ask ?? {});
    try {
      const result = await pass.run();
      return await this.#succeeded(result, startedAt, pass.drifted);
    } catch (error) {
      return await this.#failed(error, pass.artifact, startedAt, pass.drifted);
    } finally {
      cancelTimeout();
      release();
    }
  }

  /** Records a pass that did not throw. */
  async #succeeded(
    result: PassResult,
    startedAt: number,
    drifted: readonly ObjectRef[] = [],
  ): Promise<ReconcileResult> {
    const { artifact } = result;
    const durationMs = this.#options.clock.now() - startedAt;
    const wasRolledBack = result.outcome === 'rolledBack';
    const message = wasRolledBack
      ? (result.reason ?? `Rolled back to ${result.appliedRevision}`)
      : `Applied revision ${result.appliedRevision}`;
    this.#recordDrift(artifact, drifted, startedAt, durationMs);
    this.#record(
      artifact,
      result.outcome,
      wasRolledBack ? R.RolledBack : undefined,
      startedAt,
      durationMs,
      wasRolledBack ? causeOfRollback(result) : undefined,
    );
    const end = {
      message,
      at: this.#now(),
      history: this.#memory.stored.history ?? [],
      suspended: this.#suspended,
    };
    this.#update(wasRolledBack ? rolledBack(end) : passSucceeded({ ...end, wait: this.#options.wait }));
    try {
      await persistState(this.#options, this.#memory);
    } catch (error) {
      return this.#failed(
        new ReconcileError(ErrorCodes.StateSaveFailed, `Could not store the history of ${this.name}`, {
          cause: error,
        }),
        artifact,
        startedAt,
      );
    }
    return {
      outcome: result.outcome,
      ...(wasRolledBack ? { reason: R.RolledBack } : {}),
      message,
      revision: artifact.revision,
      appliedRevision: result.appliedRevision,
      plan: result.summary,
      writes: result.writes,
      pruned: result.pruned,
      ...(result.health === undefined ? {} : { health: result.health }),
      startedAt: new Date(startedAt).toISOString(),
      durationMs,
    };
  }

  /** Records a failed pass: event, status, history, backoff. */
  async #failed(
    thrown: unknown,
    artifact: Artifact | undefined,
    startedAt: number,
    drifted: readonly ObjectRef[] = [],
  ): Promise<ReconcileResult> {
    const error = toGitOpsError(thrown, 'reconcile', ErrorCodes.Failed);
    const reason = reasonOf(error.code);
    const message = boundMessage(error.message);
    const durationMs = this.#options.clock.now() - startedAt;
    this.#events.emit('failed', {
      reconciler: this.name,
      revision: artifact?.revision,
      stage: error.stage,
      error,
    });
    this.#recordDrift(artifact, drifted, startedAt, durationMs);
    this.#record(artifact, 'failed', message, startedAt, durationMs, causeOfFailure(error));
    this.#update(
      passFailed({
        reason,
        message,
        at: this.#now(),
        history: this.#memory.stored.history ?? [],
        suspended: this.#suspended,
        heldRevision: this.#memory.held?.revision,
      }),
    );
    // Only a pass that got an artifact adds history; otherwise the store is left untouched.
    if (artifact) {
      try {
        await persistState(this.#options, this.#memory);
      } catch {
        // The pass already failed and says why; the history is written with the next save.
      }
    }
    return {
      outcome: 'failed',
      reason,
      message: error.message,
      ...(artifact ? { revision: artifact.revision } : {}),
      ...(this.#status.lastAppliedRevision === undefined
        ? {}
        : { appliedRevision: this.#status.lastAppliedRevision }),
      writes: 0,
      pruned: 0,
      error,
      startedAt: new Date(startedAt).toISOString(),
      durationMs,
    };
  }

  /** Adds a history entry for a pass that got an artifact (a failed fetch has no revision to record). */
  #record(
    artifact: Artifact | undefined,
    outcome: ReconcileOutcome,
    reason: string | undefined,
    startedAt: number,
    durationMs: number,
    cause?: HistoryCause,
  ): void {
    if (!artifact) return;
    this.#addEntry({
      revision: artifact.revision,
      digest: artifact.digest,
      ...(artifact.meta.author === undefined ? {} : { author: artifact.meta.author }),
      ...(artifact.meta.message === undefined ? {} : { message: artifact.meta.message }),
      outcome,
      ...(reason === undefined ? {} : { reason }),
      startedAt: new Date(startedAt).toISOString(),
      durationMs,
      ...(cause === undefined ? {} : { cause }),
    });
  }

  /** A drift correction is an entry of its own, before the pass's outcome (which is newer). */
  #recordDrift(
    artifact: Artifact | undefined,
    drifted: readonly ObjectRef[],
    startedAt: number,
    durationMs: number,
  ): void {
    if (!artifact || drifted.length === 0) return;
    this.#addEntry(driftEntry(artifact, drifted, new Date(startedAt).toISOString(), durationMs));
  }

  #addEntry(entry: HistoryEntry): void {
    const memory = this.#memory;
    const history = addHistory(memory.stored.history ?? [], entry, this.#options.historyLimit);
    if (history !== memory.stored.history) memory.stored = { ...memory.stored, history };
  }

  /** A result for a pass that did not run. Status is left as it is. */
  #skipped(reason: string, message: string, startedAt = this.#options.clock.now()): ReconcileResult {
    return {
      outcome: 'skipped',
      reason,
      message,
      writes: 0,
      pruned: 0,
      startedAt: new Date(startedAt).toISOString(),
      durationMs: this.#options.clock.now() - startedAt,
    };
  }

  /** Aborts `controller` when `signal` aborts; returns the function that removes the link. */
  #link(signal: AbortSignal | undefined, controller: AbortController): () => void {
    if (!signal) return () => {};
    if (signal.aborted) {
      controller.abort(signal.reason);
      return () => {};
    }
    const onAbort = (): void => controller.abort(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    return () => signal.removeEventListener('abort', onAbort);
  }

  #timeoutError(): ReconcileError {
    return new ReconcileError(
      ErrorCodes.Timeout,
      `Reconciler ${this.name}: the pass did not finish within ${this.#options.timeout} ms`,
    );
  }

  /** The view of this reconciler a pass works with. */
  #host(): PassHost {
    return {
      options: this.#options,
      memory: this.#memory,
      emit: <K extends ReconcilerEventName>(event: K, payload: ReconcilerEvents[K]) =>
        this.#events.emit(event, payload),
      update: (recipe) => this.#update(recipe),
    };
  }

  /** Produces the next status; emits `status` only when something changed. */
  #update(recipe: StatusRecipe): void {
    const next = produceStatus(this.#status, recipe);
    if (next === this.#status) return;
    this.#status = next;
    this.#events.emit('status', { reconciler: this.name, revision: next.lastFetchedRevision, status: next });
  }

  #now(): string {
    return new Date(this.#options.clock.now()).toISOString();
  }
}
