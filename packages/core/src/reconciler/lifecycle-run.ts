/**
 * Runs a pass's lifecycle schedule against the target: for each phase, each wave in ascending
 * order, hooks prepared by their delete policy, the wave applied (kind order inside it is the
 * target's), and where the step gates, the reconciler waits until its objects are healthy and its
 * hooks completed before the next step starts. Readiness decides; there is no fixed delay. A
 * failed step fails the pass and runs the SyncFail hooks. The schedule itself is pure
 * (`lifecycle/schedule.ts`); this module only walks it.
 *
 * Crash safety (invariant 4): the hook objects a step writes are recorded in the stored state
 * (`StoredState.hooks`) before the write, and the prospective inventory before the first
 * Sync-phase write; so a process killed mid-hook leaves every written object recorded, and a first
 * install whose PreSync hook failed is still an install next time.
 */
import { ApplyError, ErrorCodes, HealthError, ReconcileError } from '../errors.js';
import { beforeHookCreation, deleteHookAfter, orderPrune } from '../lifecycle/policy.js';
import type { LifecycleSchedule, LifecycleStep, ScheduledObject } from '../lifecycle/schedule.js';
import { buildPlan, mergeInventory } from '../plan.js';
import { formatRef, type ObjectRef, refKey } from '../refs.js';
import type {
  HealthReport,
  Inventory,
  InventoryEntry,
  Plan,
  PlannedObject,
  PruneResult,
  StoredState,
} from '../types.js';
import { poll } from '../wait.js';
import type { ReconcilerEvents } from './events.js';
import { hookRecordKey } from './hook-names.js';
import { persistState, type ReconcilerMemory } from './memory.js';
import type { ResolvedOptions } from './options.js';
import { abortError } from './scheduling.js';
import { timeStage } from './stage-timing.js';

/** What the runner needs from its pass. */
export interface LifecycleHost {
  readonly options: ResolvedOptions;
  readonly memory: ReconcilerMemory;
  readonly signal: AbortSignal;
  /** Stores the inventory (and the applied revision when given), as the pass does after an apply. */
  storeInventory(inventory: Inventory, appliedRevision: string | undefined): Promise<void>;
  /** Prunes the entries and stores what is left (failed deletes throw after the store). */
  prune(entries: readonly InventoryEntry[], applied: readonly InventoryEntry[]): Promise<PruneResult>;
  /** Emits a lifecycle event of the pass. */
  emit<K extends 'waveApplied' | 'hookCompleted' | 'stage'>(event: K, payload: ReconcilerEvents[K]): void;
  /** Types an error with the stage it happened in (an abort wins). */
  wrap(error: unknown, stage: 'apply' | 'health' | 'validation', code: string): Error;
}

/** What running a schedule did. */
export interface LifecycleOutcome {
  readonly writes: number;
  readonly pruned: number;
  /** The owned (non-hook) objects applied: what the pass's health wait reads. */
  readonly refs: readonly ObjectRef[];
  /** What the deletion step did (prune on a sync, everything owned on an uninstall), when it ran. */
  readonly deletion: PruneResult | undefined;
}

/** Options of a {@link LifecycleRun}. */
export interface LifecycleRunOptions {
  /**
   * An uninstall: the plan's `prune` entries are deleted whatever the `prune` option says, and the
   * PostDelete phase starts only once they are gone.
   */
  readonly uninstall?: boolean;
}

type Step = LifecycleStep<PlannedObject>;
type Scheduled = ScheduledObject<PlannedObject>;

/** Lists a few references for a message. */
function listRefs(refs: readonly ObjectRef[], max = 5): string {
  const shown = refs.slice(0, max).map(formatRef).join(', ');
  return refs.length > max ? `${shown} and ${refs.length - max} more` : shown;
}

/** Walks one schedule; see the module comment. */
export class LifecycleRun {
  readonly #host: LifecycleHost;
  readonly #revision: string;
  readonly #plan: Plan;
  readonly #schedule: LifecycleSchedule<PlannedObject>;
  readonly #before: Inventory;
  /** Owned objects applied so far (unchanged ones included): the next inventory. */
  readonly #applied = new Map<string, InventoryEntry>();
  #hooks: Record<string, readonly ObjectRef[]>;
  #intent: Inventory | undefined;
  #writes = 0;
  #deletion: PruneResult | undefined;
  readonly #uninstall: boolean;

  constructor(
    host: LifecycleHost,
    revision: string,
    plan: Plan,
    schedule: LifecycleSchedule<PlannedObject>,
    before: Inventory,
    options: LifecycleRunOptions = {},
  ) {
    this.#host = host;
    this.#uninstall = options.uninstall ?? false;
    this.#revision = revision;
    this.#plan = plan;
    this.#schedule = schedule;
    this.#before = before;
    this.#hooks = { ...(host.memory.stored.hooks ?? {}) };
  }

  /**
   * Validates what can be validated before the first write (owned objects, and hooks that do not
   * exist yet: a hook replaced by `BeforeHookCreation` is validated after its old object is gone,
   * so a changed hook Job template is never refused as immutable), then runs the steps.
   */
  async run(): Promise<LifecycleOutcome> {
    const { target } = this.#host.options;
    const signal = this.#host.signal;
    const runs = new Set(
      [...this.#schedule.steps, ...this.#schedule.onFailure].flatMap((s) => s.objects.map((o) => o.item)),
    );
    const validated = this.#plan.objects.filter(
      (o) => runs.has(o) && (!o.lifecycle?.hook || o.action === 'create'),
    );
    this.#checkAborted();
    try {
      await timeStage(this.#host, 'validate', this.#revision, () =>
        target.validate(buildPlan(validated, this.#plan.prune), { signal }),
      );
    } catch (error) {
      throw this.#host.wrap(error, 'validation', ErrorCodes.ValidationFailed);
    }
    let step: Step | undefined;
    try {
      for (const [index, current] of this.#schedule.steps.entries()) {
        step = current;
        if (index === this.#schedule.pruneAt) await this.#syncDone();
        await this.#runStep(current);
      }
      step = undefined;
      if (this.#schedule.pruneAt >= this.#schedule.steps.length) await this.#syncDone();
    } catch (error) {
      if (signal.aborted) throw abortError(signal);
      throw await this.#failed(error, step);
    }
    return {
      writes: this.#writes,
      pruned: this.#deletion?.deleted.length ?? 0,
      refs: [...this.#applied.values()].map((e) => e.ref),
      deletion: this.#deletion,
    };
  }

  /** One step: hooks prepared by policy and recorded, the wave applied, then its gate. */
  async #runStep(step: Step): Promise<void> {
    const { target } = this.#host.options;
    const signal = this.#host.signal;
    const owned = step.objects.filter((o) => !o.lifecycle.hook);
    if (owned.length > 0 && this.#intent === undefined) await this.#storeIntent();
    const writes: PlannedObject[] = [];
    for (const object of step.objects) {
      writes.push(object.lifecycle.hook ? await this.#prepareHook(object) : object.item);
    }
    await this.#storeHooks();
    this.#checkAborted();
    try {
      const result = await timeStage(this.#host, 'apply', this.#revision, () =>
        target.apply(buildPlan(writes, []), { signal }),
      );
      this.#writes += result.writes;
      this.#host.emit('waveApplied', {
        reconciler: this.#host.options.name,
        revision: this.#revision,
        phase: step.phase,
        wave: step.wave,
        objects: writes.map((o) => o.ref),
        writes: result.writes,
      });
    } catch (error) {
      if (error instanceof ApplyError && error.applied.length > 0 && this.#intent) {
        const hooks = new Set(step.objects.filter((o) => o.lifecycle.hook).map((o) => refKey(o.item.ref)));
        const done = error.applied.filter((e) => !hooks.has(refKey(e.ref)));
        try {
          await this.#host.storeInventory(mergeInventory(this.#intent, done), undefined);
        } catch {
          // The apply error is the one to report; memory keeps the inventory for the next save.
        }
      }
      throw this.#host.wrap(error, 'apply', ErrorCodes.ApplyFailed);
    }
    for (const { item, lifecycle } of owned) {
      // The annotation's wave and PruneLast are kept with the entry: once the manifest is gone, they
      // still order the prune.
      this.#applied.set(refKey(item.ref), {
        ref: item.ref,
        digest: item.digest,
        ...(lifecycle.wave !== 0 ? { wave: lifecycle.wave } : {}),
        ...(lifecycle.syncOptions.pruneLast ? { pruneLast: true } : {}),
      });
    }
    if (step.gate.kind === 'none') return;
    try {
      await this.#waitGate(step);
    } catch (error) {
      if (!this.#host.signal.aborted)
        this.#hooksEnded(step, 'failed', error instanceof Error ? error.message : String(error));
      throw error;
    }
    this.#hooksEnded(step, 'succeeded', 'completed');
    await this.#deleteAfter(
      step.objects.filter((o) => o.lifecycle.hook),
      'succeeded',
    );
  }

  /**
   * Before a hook is written: its earlier objects (the one of its name, the generated ones
   * recorded) are deleted and waited for when `BeforeHookCreation` says so, and the object about to
   * be written is recorded. Returns the planned object to write (a create when the old one went).
   */
  async #prepareHook(object: Scheduled): Promise<PlannedObject> {
    const { item, lifecycle } = object;
    const key = hookRecordKey(item.manifest, item.ref.namespace);
    const recorded = this.#hooks[key] ?? [];
    const existing = uniqueRefs(item.live ? [...recorded, item.ref] : recorded);
    const creation = beforeHookCreation(lifecycle, item.ref.kind, existing);
    if (creation.delete.length > 0) await this.#deleteObjects(creation.delete);
    const gone = new Set(creation.delete.map(refKey));
    const left = existing.filter((ref) => !gone.has(refKey(ref)));
    this.#hooks[key] = uniqueRefs([...left, item.ref]);
    const replaced = gone.has(refKey(item.ref)) || (creation.write === 'create' && !item.live);
    return replaced && item.action !== 'create' ? { ...item, action: 'create', live: undefined } : item;
  }

  /** Deletes hook objects through the target (they carry our ownership mark) and waits until they are gone. */
  async #deleteObjects(refs: readonly ObjectRef[]): Promise<void> {
    const { target } = this.#host.options;
    const signal = this.#host.signal;
    this.#checkAborted();
    const result = await target.prune(
      refs.map((ref) => ({ ref, digest: '' })),
      { signal },
    );
    if (result.failed.length > 0) {
      const first = result.failed[0];
      throw new ReconcileError(
        ErrorCodes.HookFailed,
        `Could not delete hook object ${first ? formatRef(first.entry.ref) : ''}: ${first?.message ?? ''}`,
      );
    }
    // Left in place by the target (not ours, kept by an annotation): it would never go away, so the
    // hook cannot be replaced. Already gone is fine.
    const refused = result.skipped.filter((s) => s.reason !== 'not found');
    if (refused.length > 0) {
      const first = refused[0];
      throw new ReconcileError(
        ErrorCodes.HookFailed,
        `Could not delete hook object ${first ? formatRef(first.ref) : ''}: ${first?.reason ?? ''}`,
      );
    }
    if (result.deleted.length > 0) await this.#poll(result.deleted, [], 'gone', 'to be deleted');
  }

  /** Deletes the hooks whose policy says so after this outcome, and forgets them. */
  async #deleteAfter(objects: readonly Scheduled[], outcome: 'succeeded' | 'failed'): Promise<void> {
    const going = objects.filter((o) => deleteHookAfter(o.lifecycle, o.item.ref.kind, outcome));
    if (going.length === 0) return;
    await this.#deleteObjects(going.map((o) => o.item.ref));
    for (const { item } of going) {
      const key = hookRecordKey(item.manifest, item.ref.namespace);
      const left = (this.#hooks[key] ?? []).filter((ref) => refKey(ref) !== refKey(item.ref));
      if (left.length > 0) this.#hooks[key] = left;
      else delete this.#hooks[key];
    }
    await this.#storeHooks();
  }

  /** Tells listeners how the step's hooks ended. */
  #hooksEnded(step: Step, outcome: 'succeeded' | 'failed', message: string): void {
    for (const { item, lifecycle } of step.objects) {
      if (!lifecycle.hook) continue;
      this.#host.emit('hookCompleted', {
        reconciler: this.#host.options.name,
        revision: this.#revision,
        phase: step.phase,
        wave: step.wave,
        ref: item.ref,
        outcome,
        message,
      });
    }
  }

  /** Waits until the step's gate holds: its objects healthy, its hooks complete. */
  async #waitGate(step: Step): Promise<void> {
    const refs = step.gate.objects.map((o) => o.item.ref);
    const hooks = step.gate.objects.filter((o) => o.lifecycle.hook).map((o) => o.item.ref);
    await timeStage(this.#host, 'health', this.#revision, () =>
      this.#poll(refs, hooks, 'ready', `${step.phase} wave ${step.wave}`),
    );
  }

  /**
   * Polls the target's health every `healthPollInterval` until every ref is Current (`ready`) or
   * NotFound (`gone`), bounded by `healthTimeout` and the pass signal. A Failed object ends the
   * wait at once.
   */
  async #poll(
    refs: readonly ObjectRef[],
    hooks: readonly ObjectRef[],
    until: 'ready' | 'gone',
    what: string,
  ): Promise<void> {
    const { target, clock, healthPollInterval, healthTimeout } = this.#host.options;
    const signal = this.#host.signal;
    let last: HealthReport | undefined;
    const pendingOf = (report: HealthReport) =>
      report.objects.filter((o) => (until === 'gone' ? o.status !== 'NotFound' : o.status !== 'Current'));
    let done: true | undefined;
    try {
      done = await poll(
        async () => {
          this.#checkAborted();
          last = await target.health(refs, { signal, hooks });
          if (pendingOf(last).length === 0) return true;
          const failed = until === 'ready' ? last.objects.filter((o) => o.status === 'Failed') : [];
          if (failed.length === 0) return undefined;
          const first = failed[0];
          const isHook = hooks.some((ref) => failed.some((f) => refKey(f.ref) === refKey(ref)));
          throw new HealthError(
            isHook ? ErrorCodes.HookFailed : ErrorCodes.HealthFailed,
            `${what}: ${listRefs(failed.map((o) => o.ref))} failed${first ? ` (${first.message})` : ''}`,
          );
        },
        { clock, intervalMs: healthPollInterval, timeoutMs: healthTimeout, signal },
      );
    } catch (error) {
      if (error instanceof HealthError) throw error;
      throw this.#host.wrap(error, 'health', ErrorCodes.HealthFailed);
    }
    if (done) return;
    const pending = last ? pendingOf(last) : [];
    const code = hooks.length > 0 ? ErrorCodes.HookFailed : ErrorCodes.HealthTimeout;
    const detail = pending[0] ? ` (${pending[0].message})` : '';
    const verb = until === 'gone' ? 'to be deleted' : 'to complete';
    throw new HealthError(
      code,
      `${what}: timed out after ${healthTimeout} ms waiting for ${listRefs(pending.map((o) => o.ref))} ${verb}${detail}`,
    );
  }

  /**
   * The Sync phase is done: the inventory of owned objects is stored with the revision, then what
   * left the set is pruned (before PostSync, as Argo CD does).
   */
  async #syncDone(): Promise<void> {
    const prune = this.#host.options.prune || this.#uninstall;
    const desired = new Set(this.#plan.objects.map((o) => refKey(o.ref)));
    // Owned objects that do not run now (`Skip`) stay owned as they were.
    const kept = this.#before.entries.filter(
      (e) => desired.has(refKey(e.ref)) && !this.#applied.has(refKey(e.ref)),
    );
    const applied = [...this.#applied.values(), ...kept];
    const candidates = prune ? this.#plan.prune : [];
    await this.#host.storeInventory(mergeInventory({ entries: applied }, candidates), this.#revision);
    if (!prune || this.#plan.prune.length === 0) return;
    // Highest wave first, PruneLast after everything else, each batch gone before the next (Argo CD).
    const batches = orderPrune(
      this.#plan.prune.map((entry) => ({ entry, wave: entry.wave, pruneLast: entry.pruneLast })),
    );
    const deleted: ObjectRef[] = [];
    const skipped: PruneResult['skipped'][number][] = [];
    for (const [index, batch] of batches.entries()) {
      // Entries of later batches stay in the stored inventory until their turn.
      const later = batches.slice(index + 1).flat();
      const result = await this.#host.prune(batch, [...applied, ...later]);
      deleted.push(...result.deleted);
      skipped.push(...result.skipped);
      if (index < batches.length - 1 && result.deleted.length > 0) {
        await this.#poll(result.deleted, [], 'gone', 'prune');
      }
    }
    this.#deletion = { deleted, skipped, failed: [] };
    // PostDelete hooks run once what was deleted is gone (finalizers done), as in Argo CD.
    if (this.#uninstall && this.#deletion.deleted.length > 0) {
      await this.#poll(this.#deletion.deleted, [], 'gone', 'uninstall');
    }
  }

  /**
   * A step failed: its hooks with `HookFailed` are deleted, the SyncFail hooks run (their own
   * failure is reported, not thrown over the first), and the first error is returned with the phase
   * and wave it happened in.
   */
  async #failed(error: unknown, step: Step | undefined): Promise<Error> {
    const first = error instanceof Error ? error : new Error(String(error));
    const notes: string[] = [];
    if (step) {
      try {
        await this.#deleteAfter(
          step.objects.filter((o) => o.lifecycle.hook),
          'failed',
        );
      } catch (cleanup) {
        notes.push(`deleting failed hooks: ${cleanup instanceof Error ? cleanup.message : String(cleanup)}`);
      }
    }
    for (const failStep of this.#schedule.onFailure) {
      try {
        await this.#runStep(failStep);
      } catch (hookError) {
        notes.push(
          `SyncFail wave ${failStep.wave}: ${hookError instanceof Error ? hookError.message : String(hookError)}`,
        );
      }
    }
    try {
      await this.#storeHooks();
    } catch {
      // The step's error is the one to report.
    }
    const where = step ? `${step.phase} wave ${step.wave}: ` : '';
    const ran = this.#schedule.onFailure.length > 0 ? '; SyncFail hooks ran' : '';
    const extra = notes.length > 0 ? ` (${notes.join('; ')})` : '';
    const message = `${where}${first.message}${ran}${extra}`;
    if (first instanceof ReconcileError || first instanceof HealthError || first instanceof ApplyError) {
      // Keep the type and code; say where it happened.
      Object.defineProperty(first, 'message', { value: message, configurable: true, writable: true });
      return first;
    }
    return new ReconcileError(ErrorCodes.HookFailed, message, { cause: error });
  }

  /** Records the owned objects this pass may write, before its first owned write (invariant 4). */
  async #storeIntent(): Promise<void> {
    const owned = new Set(this.#before.entries.map((e) => refKey(e.ref)));
    const runs = new Set(this.#schedule.steps.flatMap((s) => s.objects.map((o) => o.item)));
    const added = this.#plan.objects.filter(
      (o) => runs.has(o) && !o.lifecycle?.hook && !owned.has(refKey(o.ref)),
    );
    this.#intent =
      added.length === 0
        ? this.#before
        : { entries: [...this.#before.entries, ...added.map((o) => ({ ref: o.ref, digest: '' }))] };
    await this.#host.storeInventory(this.#intent, undefined);
  }

  /** Writes the hook record to the state when it changed. */
  async #storeHooks(): Promise<void> {
    const memory = this.#host.memory;
    if (sameRecord(memory.stored.hooks ?? {}, this.#hooks)) return;
    const hooks = { ...this.#hooks };
    const next: StoredState = { ...memory.stored, hooks };
    if (Object.keys(hooks).length === 0) delete (next as { hooks?: unknown }).hooks;
    memory.stored = next;
    try {
      await persistState(this.#host.options, memory);
    } catch (error) {
      throw new ReconcileError(
        ErrorCodes.StateSaveFailed,
        `Could not store the hook objects of ${this.#host.options.name}: ${error instanceof Error ? error.message : String(error)}`,
        { cause: error },
      );
    }
  }

  #checkAborted(): void {
    if (this.#host.signal.aborted) throw abortError(this.#host.signal);
  }
}

function uniqueRefs(refs: readonly ObjectRef[]): ObjectRef[] {
  const seen = new Map<string, ObjectRef>();
  for (const ref of refs) seen.set(refKey(ref), ref);
  return [...seen.values()];
}

function sameRecord(
  a: Readonly<Record<string, readonly ObjectRef[]>>,
  b: Readonly<Record<string, readonly ObjectRef[]>>,
): boolean {
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  return keys.every((key) => {
    const x = a[key] ?? [];
    const y = b[key];
    return (
      y !== undefined &&
      x.length === y.length &&
      x.every((ref, i) => refKey(ref) === refKey(y[i] as ObjectRef))
    );
  });
}
