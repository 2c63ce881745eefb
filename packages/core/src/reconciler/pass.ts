import { maskPlanSecrets } from '../diff/mask-plan.js';
import {
  ApplyError,
  ErrorCodes,
  HealthError,
  PruneError,
  ReconcileError,
  SourceError,
  type Stage,
  toGitOpsError,
} from '../errors.js';
import { lifecycleLocation, syncOperationFor } from '../lifecycle/descriptor.js';
import type { LifecycleOperation } from '../lifecycle/phases.js';
import { retention } from '../lifecycle/policy.js';
import { type LifecycleSchedule, scheduleLifecycle } from '../lifecycle/schedule.js';
import { buildPlan, mergeInventory, type PlanSummary, summarizePlan } from '../plan.js';
import { formatRef, type ObjectRef, refKey } from '../refs.js';
import type {
  Artifact,
  HealthReport,
  Inventory,
  InventoryEntry,
  Manifest,
  Plan,
  PlannedObject,
  PruneResult,
} from '../types.js';
import { poll } from '../wait.js';
import { renderOptionsFor } from './capabilities.js';
import type { ReconcilerEventName, ReconcilerEvents } from './events.js';
import { nameGenerated } from './hook-names.js';
import { type LifecycleHost, LifecycleRun } from './lifecycle-run.js';
import { type HealthySet, loadState, persistState, type ReconcilerMemory, refreshState } from './memory.js';
import type { ResolvedOptions } from './options.js';
import { byApplyTier, type LifecyclePlan, planLifecycle } from './plan-lifecycle.js';
import { abortError } from './scheduling.js';
import { timeStage } from './stage-timing.js';
import type { StatusRecipe } from './status.js';
import {
  healthFailed,
  healthSucceeded,
  healthWaiting,
  inventoryStored,
  planned,
  revisionAttempted,
  revisionFetched,
  revisionHealthy,
  storedStateLoaded,
} from './transitions.js';

/** What a pass that did not throw achieved. */
export interface PassResult {
  /** `rolledBack` when the fetched revision was (or stays) replaced by the last healthy one. */
  readonly outcome: 'succeeded' | 'rolledBack';
  readonly artifact: Artifact;
  /** The revision whose objects are applied now. */
  readonly appliedRevision: string;
  readonly summary: PlanSummary;
  readonly writes: number;
  readonly pruned: number;
  /** The final health reading, with `wait`. */
  readonly health: HealthReport['status'] | undefined;
  /** Why a revision was rolled back or held back. */
  readonly reason?: string;
  /** The objects of a rolled-back revision that were not healthy, with their reasons. */
  readonly failing?: readonly HealthReport['objects'][number][];
  /**
   * Why the outcome is `rolledBack`: `health` (this pass rolled back), `held` (a revision rolled
   * back earlier is still held back), `requested` (`rollbackTo` holds a revision).
   */
  readonly rollback?: 'health' | 'held' | 'requested';
}

/** What {@link Reconciler.uninstall} did. */
export interface UninstallResult {
  /** The revision whose delete hooks ran, when one could be rendered. */
  readonly revision: string | undefined;
  /** Whether PreDelete/PostDelete hooks could run (false: no applied revision could be rendered). */
  readonly hooks: boolean;
  /** The owned objects deleted. */
  readonly deleted: readonly ObjectRef[];
  /** Owned objects left in place, and why (`helm.sh/resource-policy: keep`, `Delete=false`, not ours). */
  readonly kept: readonly {
    /** The object left in place. */
    readonly ref: ObjectRef;
    /** The annotation or mark that kept it. */
    readonly reason: string;
  }[];
  /** A sentence for people. */
  readonly message: string;
}

/** What a caller asked a pass for, beyond the newest revision. */
export interface PassRequest {
  /** Apply exactly this revision (`reconcile({ revision })`). */
  readonly revision?: string | undefined;
  /** Roll back to this revision and hold it (`rollbackTo`). */
  readonly rollbackTo?: string | undefined;
}

/** What a pass needs from its reconciler. */
export interface PassHost {
  readonly options: ResolvedOptions;
  readonly memory: ReconcilerMemory;
  emit<K extends ReconcilerEventName>(event: K, payload: ReconcilerEvents[K]): void;
  update(recipe: StatusRecipe): void;
}

/** The outcome of a health wait. */
interface HealthOutcome {
  readonly healthy: boolean;
  readonly report: HealthReport;
  readonly message: string;
}

/** What applying one set did. */
interface ApplyOutcome {
  readonly summary: PlanSummary;
  readonly writes: number;
  readonly pruned: number;
  readonly refs: readonly ObjectRef[];
}

/** Lists a few references for a message, and how many more there are. */
function listRefs(refs: readonly ObjectRef[], max = 5): string {
  const shown = refs.slice(0, max).map(formatRef).join(', ');
  return refs.length > max ? `${shown} and ${refs.length - max} more` : shown;
}

/**
 * One reconcile, stage by stage, in the order DESIGN.md fixes: fetch, render, empty-set guard, plan,
 * validate, apply, store inventory, prune, store inventory, health wait, rollback. Every stage gets
 * the pass signal and a stage boundary checks it, so a target that ignores the signal still stops at
 * the next boundary. Failures are thrown as typed errors; the reconciler does the accounting.
 */
export class Pass {
  readonly #host: PassHost;
  readonly #signal: AbortSignal;
  /** The fetched artifact, once known: failures name its revision. */
  artifact: Artifact | undefined;
  /** Objects found drifted (and so written again) by this pass, for its history. */
  drifted: ObjectRef[] = [];

  readonly #request: PassRequest;

  /**
   * @param signal aborts on stop, timeout or a caller's signal.
   * @param request a revision asked for, if any.
   */
  constructor(host: PassHost, signal: AbortSignal, request: PassRequest = {}) {
    this.#host = host;
    this.#signal = signal;
    this.#request = request;
  }

  get #options(): ResolvedOptions {
    return this.#host.options;
  }

  get #memory(): ReconcilerMemory {
    return this.#host.memory;
  }

  /**
   * Runs the pass to its end: loads the stored state the first time, fetches, and for a revision not
   * held back after a failed rollout renders, applies (plan, validate, write, prune) and, with
   * `wait`, waits for health and rolls back when it fails. Resolves with the outcome; throws the
   * typed error of the stage that failed, leaving the accounting to the reconciler.
   */
  async run(): Promise<PassResult> {
    const firstLoad = !this.#memory.loaded;
    const recovery = await this.#inStage('reconcile', ErrorCodes.StateLoadFailed, () =>
      firstLoad
        ? loadState(this.#options, this.#memory, this.#signal)
        : refreshState(this.#options, this.#memory, this.#signal),
    );
    if (firstLoad || recovery) this.#showStored();
    if (recovery) {
      this.#host.emit('recovered', {
        reconciler: this.#options.name,
        revision: this.#memory.stored.lastAppliedRevision,
        ...recovery,
      });
    }
    const fetched = await this.#fetch();
    const held = this.#memory.held;
    const lastHealthy = this.#memory.lastHealthy;
    const chosen = await this.#choose(fetched);
    if (
      !chosen.pinned &&
      held &&
      lastHealthy &&
      held.revision === fetched.revision &&
      held.digest === fetched.digest
    ) {
      return this.#holdHealthy(fetched, lastHealthy);
    }
    const { artifact } = chosen;
    // A new revision (or new content) arrived: it gets its chance.
    this.#memory.held = undefined;
    this.#host.update(revisionAttempted(artifact.revision));
    const manifests = await this.#render(artifact);
    this.#guardEmpty(artifact.revision, manifests);
    const applied = await this.#applySet(artifact.revision, manifests, chosen.operation);
    const outcome = chosen.pinned ? 'rolledBack' : 'succeeded';
    const reason = chosen.pinned
      ? `Holding revision ${artifact.revision} (rollbackTo) while the source serves ${fetched.revision}`
      : undefined;
    const rollback = chosen.pinned ? { rollback: 'requested' as const } : {};
    if (!this.#options.wait) {
      return {
        outcome,
        artifact,
        appliedRevision: artifact.revision,
        ...applied,
        health: undefined,
        ...(reason ? { reason } : {}),
        ...rollback,
      };
    }
    const health = await this.#waitHealthy(artifact.revision, applied.refs);
    if (health.healthy) {
      this.#rememberHealthy({ artifact, manifests });
      return {
        outcome,
        artifact,
        appliedRevision: artifact.revision,
        ...applied,
        health: 'Current',
        ...(reason ? { reason } : {}),
        ...rollback,
      };
    }
    const healthy = chosen.pinned ? undefined : (lastHealthy ?? (await this.#storedHealthy(artifact)));
    const canRollBack =
      this.#options.rollback &&
      healthy !== undefined &&
      (healthy.artifact.revision !== artifact.revision || healthy.artifact.digest !== artifact.digest);
    if (!canRollBack) {
      throw new HealthError(this.#healthCode(health), `Revision ${artifact.revision}: ${health.message}`);
    }
    return timeStage(this.#host, 'rollback', healthy.artifact.revision, () =>
      this.#rollBack(artifact, healthy, health),
    );
  }

  /**
   * The revision this pass applies: the one asked for (`reconcile({ revision })`, `rollbackTo`),
   * a revision held by `rollbackTo` while the source still serves what it served then, else the
   * fetched one. A new source revision ends a hold.
   */
  async #choose(
    fetched: Artifact,
  ): Promise<{ artifact: Artifact; operation?: LifecycleOperation; pinned: boolean }> {
    const request = this.#request;
    const memory = this.#memory;
    if (request.rollbackTo !== undefined) {
      const artifact = await this.#fetchAt(request.rollbackTo, fetched);
      memory.stored = {
        ...memory.stored,
        pinned: { revision: artifact.revision, sourceRevision: fetched.revision },
      };
      return { artifact, operation: 'rollback', pinned: true };
    }
    const pinned = memory.stored.pinned;
    if (request.revision !== undefined || (pinned && pinned.sourceRevision !== fetched.revision)) {
      if (pinned) {
        const { pinned: _released, ...rest } = memory.stored;
        memory.stored = rest;
      }
    }
    if (request.revision !== undefined) {
      return { artifact: await this.#fetchAt(request.revision, fetched), pinned: false };
    }
    if (pinned && pinned.sourceRevision === fetched.revision) {
      return { artifact: await this.#fetchAt(pinned.revision, fetched), pinned: true };
    }
    return { artifact: fetched, pinned: false };
  }

  /**
   * The artifact of an earlier revision: the fetched one when it is that revision, else the
   * source's `fetchRevision`. A source without it, or one that cannot serve it any more, is a
   * `SourceError` with code `SOURCE_REVISION_UNAVAILABLE`.
   */
  async #fetchAt(revision: string, fetched: Artifact | undefined): Promise<Artifact> {
    if (fetched?.revision === revision) return fetched;
    const { source } = this.#options;
    if (source.fetchRevision === undefined) {
      throw new SourceError(
        ErrorCodes.SourceRevisionUnavailable,
        `${source.description} cannot serve revision ${revision}: it serves only its newest revision` +
          (fetched ? ` (${fetched.revision})` : '') +
          ' (no fetchRevision)',
      );
    }
    const fetchRevision = source.fetchRevision.bind(source);
    return this.#inStage('source', ErrorCodes.SourceFetchFailed, () =>
      fetchRevision(revision, { signal: this.#signal }),
    );
  }

  /**
   * After a restart the healthy set is not in memory: the stored last healthy revision is fetched
   * again (when the source can serve it) and rendered, so a failed rollout still rolls back.
   */
  async #storedHealthy(failed: Artifact): Promise<HealthySet | undefined> {
    const revision = this.#memory.stored.lastHealthyRevision;
    const { source } = this.#options;
    if (!this.#options.rollback || revision === undefined || revision === failed.revision) return undefined;
    if (source.fetchRevision === undefined) return undefined;
    let artifact: Artifact;
    try {
      artifact = await this.#fetchAt(revision, undefined);
    } catch (error) {
      // A source that can no longer serve it (a folder keeps no history): the health failure is
      // what the pass reports.
      if (error instanceof SourceError && error.code === ErrorCodes.SourceRevisionUnavailable)
        return undefined;
      throw error;
    }
    const { manifests } = await this.#inStage('render', ErrorCodes.RenderToolFailed, () =>
      this.#renderOrReuse(artifact),
    );
    return { artifact, manifests };
  }

  /**
   * Fetches, renders and plans without recording anything: no events, no status, no cache, and the
   * stored state is read into a local value so a concurrent pass cannot be overwritten by it.
   */
  async preview(): Promise<Plan> {
    const { source, target, stateStore, name } = this.#options;
    const signal = this.#signal;
    const memory = this.#memory;
    const stored = memory.loaded
      ? memory.stored
      : await this.#inStage('reconcile', ErrorCodes.StateLoadFailed, () => stateStore.load(name, { signal }));
    const inventory = stored?.inventory ?? { entries: [] };
    const artifact = await this.#inStage('source', ErrorCodes.SourceFetchFailed, () =>
      source.fetch({ signal, previous: memory.lastArtifact }),
    );
    this.artifact = artifact;
    const { manifests } = await this.#inStage('render', ErrorCodes.RenderToolFailed, () =>
      this.#renderOrReuse(artifact),
    );
    this.#guardEmpty(artifact.revision, manifests, inventory);
    const plan = await this.#inStage('reconcile', ErrorCodes.PlanFailed, () =>
      target.plan(nameGenerated(manifests), inventory, { signal }),
    );
    const operation = syncOperationFor(stored ?? { inventory });
    return maskPlanSecrets(this.#lifecycleOf(plan, operation).plan);
  }

  /**
   * Deletes everything owned, with the delete hooks of the last applied revision (see
   * `Reconciler.uninstall`), and stores an empty inventory.
   */
  async uninstall(): Promise<UninstallResult> {
    const { target, name } = this.#options;
    const signal = this.#signal;
    await this.#inStage('reconcile', ErrorCodes.StateLoadFailed, () =>
      loadState(this.#options, this.#memory, signal),
    );
    const stored = this.#memory.stored;
    const revision = stored.lastAppliedRevision;
    let manifests: readonly Manifest[] = [];
    let note = '';
    if (revision !== undefined) {
      try {
        manifests = await this.#manifestsAt(revision);
      } catch (error) {
        if (signal.aborted) throw abortError(signal);
        note = `; no delete hooks ran: revision ${revision} could not be rendered (${error instanceof Error ? error.message : String(error)})`;
      }
    } else {
      note = '; no delete hooks ran: no revision was applied';
    }
    const inventory = stored.inventory;
    const plan = await this.#inStage('reconcile', ErrorCodes.PlanFailed, () =>
      target.plan(nameGenerated(manifests), inventory, { signal }),
    );
    const { plan: annotated } = this.#lifecycleOf(plan, 'uninstall');
    // Kept on uninstall by what the last applied manifests say (the target honours its own mark).
    const kept: { ref: ObjectRef; reason: string }[] = [];
    const keptKeys = new Set<string>();
    for (const object of annotated.objects) {
      if (object.lifecycle?.hook) continue;
      const annotations = (object.manifest.object.metadata.annotations ?? {}) as Record<string, unknown>;
      const decision = retention(annotations, 'uninstall', lifecycleLocation(object.manifest));
      if (decision.keep) {
        kept.push({ ref: object.ref, reason: decision.reason ?? 'kept' });
        keptKeys.add(refKey(object.ref));
      }
    }
    const deleting = [...inventory.entries].reverse().filter((e) => !keptKeys.has(refKey(e.ref)));
    const hooks = annotated.objects.filter((o) => o.lifecycle?.hook);
    const uninstallPlan = buildPlan(hooks, deleting);
    const schedule = scheduleLifecycle(uninstallPlan.objects, 'uninstall', { compare: byApplyTier });
    const run = new LifecycleRun(
      this.#lifecycleHost(revision ?? ''),
      revision ?? '',
      uninstallPlan,
      schedule,
      { entries: [] },
      { uninstall: true },
    );
    const outcome = await run.run();
    const deletion = outcome.deletion;
    for (const skipped of deletion?.skipped ?? []) kept.push(skipped);
    // Nothing is owned any more: the hooks record stays, so a later install replaces leftovers.
    const { lastAppliedRevision: _a, lastHealthyRevision: _h, pinned: _p, ...rest } = this.#memory.stored;
    this.#memory.stored = { ...rest, inventory: { entries: [] } };
    this.#memory.lastHealthy = undefined;
    await this.#storeInventory({ entries: [] }, undefined);
    const deleted = deletion?.deleted ?? [];
    return {
      revision,
      hooks: note === '',
      deleted,
      kept,
      message: `Uninstalled ${name}: ${deleted.length} object${deleted.length === 1 ? '' : 's'} deleted, ${kept.length} kept${note}`,
    };
  }

  /** The manifests of a revision: the last render when it is that revision, else fetched and rendered. */
  async #manifestsAt(revision: string): Promise<readonly Manifest[]> {
    const cache = this.#memory.lastRender;
    if (cache?.revision === revision) return cache.manifests;
    const artifact = await this.#fetchAt(revision, this.#memory.lastArtifact);
    const { manifests } = await this.#inStage('render', ErrorCodes.RenderToolFailed, () =>
      this.#renderOrReuse(artifact),
    );
    return manifests;
  }

  /** Fetches the artifact and records it. */
  async #fetch(): Promise<Artifact> {
    const { source } = this.#options;
    const artifact = await timeStage(
      this.#host,
      'fetch',
      (a) => a.revision,
      () =>
        this.#inStage('source', ErrorCodes.SourceFetchFailed, () =>
          source.fetch({ signal: this.#signal, previous: this.#memory.lastArtifact }),
        ),
    );
    this.artifact = artifact;
    const replaced = this.#memory.lastArtifact;
    this.#memory.lastArtifact = artifact;
    if (replaced && replaced.dir !== artifact.dir) this.#release(replaced);
    this.#host.update(revisionFetched(artifact.revision));
    this.#host.emit('fetched', {
      reconciler: this.#options.name,
      revision: artifact.revision,
      digest: artifact.digest,
      meta: artifact.meta,
      artifact,
    });
    return artifact;
  }

  /**
   * Tells the source an artifact is no longer read (renders keep manifests, not folders, so a
   * rollback needs only the healthy set in memory). Not awaited: a slow delete never holds a pass.
   */
  #release(artifact: Artifact): void {
    const { source } = this.#options;
    if (!source.release) return;
    Promise.resolve()
      .then(() => source.release?.(artifact))
      .catch(() => undefined);
  }

  /** Renders, or reuses the previous render when artifact and renderer configuration are the same. */
  async #render(artifact: Artifact): Promise<readonly Manifest[]> {
    const render = (): Promise<readonly Manifest[]> => this.#renderStage(artifact);
    return timeStage(this.#host, 'render', artifact.revision, render);
  }

  async #renderStage(artifact: Artifact): Promise<readonly Manifest[]> {
    return this.#inStage('render', ErrorCodes.RenderToolFailed, async () => {
      const { manifests, cacheKey, cached } = await this.#renderOrReuse(artifact);
      if (!cached) {
        this.#memory.lastRender = {
          revision: artifact.revision,
          digest: artifact.digest,
          cacheKey,
          manifests,
        };
      }
      this.#host.emit('rendered', {
        reconciler: this.#options.name,
        revision: artifact.revision,
        manifests: manifests.length,
        cached,
      });
      return manifests;
    });
  }

  /** The previous render when artifact and renderer configuration are the same, else a new one (not stored). */
  async #renderOrReuse(
    artifact: Artifact,
  ): Promise<{ manifests: readonly Manifest[]; cacheKey: string; cached: boolean }> {
    const { renderer } = this.#options;
    const signal = this.#signal;
    const renderOptions = await renderOptionsFor(this.#options.target, renderer, signal);
    const cacheKey = renderer.cacheKey ? await renderer.cacheKey(renderOptions) : '';
    const cache = this.#memory.lastRender;
    const cached =
      cache !== undefined &&
      cache.revision === artifact.revision &&
      cache.digest === artifact.digest &&
      cache.cacheKey === cacheKey;
    const manifests = cached ? cache.manifests : await renderer.render(artifact, renderOptions);
    return { manifests, cacheKey, cached };
  }

  /** Invariant 2: an empty set never empties a non-empty inventory unless the caller opted in. */
  #guardEmpty(
    revision: string,
    manifests: readonly Manifest[],
    inventory: Inventory = this.#memory.stored.inventory,
  ): void {
    const owned = inventory.entries.length;
    if (manifests.length > 0 || owned === 0 || this.#options.allowEmpty) return;
    throw new ReconcileError(
      ErrorCodes.EmptySetRefused,
      `Revision ${revision} renders no objects while ${owned} object${owned === 1 ? ' is' : 's are'} applied; ` +
        'refusing to prune them all (set allowEmpty to allow an empty set)',
    );
  }

  /**
   * Plans, validates, applies and prunes one set against the stored inventory, storing the inventory
   * after the apply (before the prune) and again after the prune (invariant 4).
   */
  async #applySet(
    revision: string,
    manifests: readonly Manifest[],
    operation?: LifecycleOperation,
  ): Promise<ApplyOutcome> {
    const { target, name } = this.#options;
    const signal = this.#signal;
    const stored = this.#memory.stored;
    const before = stored.inventory;
    const targetPlan = await timeStage(this.#host, 'plan', revision, () =>
      this.#inStage('reconcile', ErrorCodes.PlanFailed, () =>
        target.plan(nameGenerated(manifests), before, { signal }),
      ),
    );
    const op = operation ?? syncOperationFor(stored);
    let lifecycle = this.#lifecycleOf(targetPlan, op);
    // Hooks run when the pass syncs something: a new revision, or owned objects to write or prune
    // (drift). A periodic pass that finds everything in sync runs no hooks (a PreSync Job would
    // otherwise run every interval).
    const syncs =
      revision !== stored.lastAppliedRevision ||
      operation !== undefined ||
      targetPlan.prune.length > 0 ||
      lifecycle.plan.objects.some((o) => !o.lifecycle?.hook && o.action !== 'unchanged');
    let basePlan = targetPlan;
    if (!syncs && lifecycle.plan.objects.some((o) => o.lifecycle?.hook)) {
      const owned = targetPlan.objects.filter((_, i) => !lifecycle.plan.objects[i]?.lifecycle?.hook);
      basePlan = buildPlan(owned, targetPlan.prune);
      lifecycle = this.#lifecycleOf(basePlan, op);
    }
    // An ordinary set goes to the target as the target planned it (it remembers its own plans).
    const plan = lifecycle.ordinary ? basePlan : lifecycle.plan;
    const summary = summarizePlan(lifecycle.plan);
    this.#host.update(planned(summary));
    // Events leave the target: Secret values are masked (the apply below gets the real plan).
    this.#host.emit('planned', {
      reconciler: name,
      revision,
      plan: maskPlanSecrets(lifecycle.plan),
      summary,
    });
    if (plan.drifted.length > 0) {
      this.drifted.push(...plan.drifted.map((o) => o.ref));
      this.#host.emit('drifted', { reconciler: name, revision, objects: plan.drifted.map((o) => o.ref) });
    }
    if (!lifecycle.ordinary) {
      const run = new LifecycleRun(this.#lifecycleHost(revision), revision, plan, lifecycle.schedule, before);
      const outcome = await run.run();
      this.#host.emit('applied', { reconciler: name, revision, writes: outcome.writes, summary });
      return { summary, ...outcome };
    }
    // Invariant 3: the whole set is validated before the first write.
    await timeStage(this.#host, 'validate', revision, () =>
      this.#inStage('validation', ErrorCodes.ValidationFailed, () => target.validate(plan, { signal })),
    );
    // Invariant 4: before the first write, record everything this pass may write, so a crash (of
    // this process or of the server) at any point of the apply leaves nothing we wrote untracked.
    // A store that cannot be written fails the pass here, before anything is applied.
    const intent = withIntended(before, plan);
    await this.#storeInventory(intent, undefined);

    let applied: readonly InventoryEntry[];
    let writes: number;
    try {
      ({ applied, writes } = await timeStage(this.#host, 'apply', revision, () =>
        target.apply(plan, { signal }),
      ));
    } catch (error) {
      // Whatever was written stays owned, so it is neither forgotten nor orphaned. A write whose
      // answer was lost may have landed, so the whole intent stays recorded, with the digests of
      // the writes that are known to be done.
      if (error instanceof ApplyError && error.applied.length > 0) {
        try {
          await this.#storeInventory(mergeInventory(intent, error.applied), undefined);
        } catch {
          // The apply error is the one to report; memory keeps the inventory for the next save.
        }
      }
      throw this.#wrap(error, 'apply', ErrorCodes.ApplyFailed);
    }
    // With prune on, the prune candidates stay in the stored inventory until they are gone, so a
    // crash between apply and prune forgets nothing. With prune off they are released.
    const candidates = this.#options.prune ? plan.prune : [];
    // Nothing written and the inventory as stored: only the applied revision changes, and the end
    // of the pass stores it with the history in one write (see `deferSave`).
    await this.#storeInventory(mergeInventory({ entries: applied }, candidates), revision, writes === 0);
    this.#host.emit('applied', { reconciler: name, revision, writes, summary });

    const pruned =
      this.#options.prune && plan.prune.length > 0
        ? (await this.#prune(revision, plan.prune, applied)).deleted.length
        : 0;
    return { summary, writes, pruned, refs: applied.map((e) => e.ref) };
  }

  /**
   * The plan with each object's phase and wave, its schedule for the operation, and whether it is
   * ordinary (one Sync step, no hooks, nothing skipped): an ordinary set takes the apply path it
   * always took. A bad lifecycle annotation is a render error naming file, line and object.
   */
  #lifecycleOf(
    plan: Plan,
    operation: LifecycleOperation,
  ): { plan: Plan; schedule: LifecycleSchedule<PlannedObject>; ordinary: boolean } {
    let lifecycle: LifecyclePlan;
    try {
      lifecycle = planLifecycle(plan, operation, { wait: this.#options.wait });
    } catch (error) {
      throw this.#wrap(error, 'render', ErrorCodes.RenderInvalidObject);
    }
    const { plan: annotated, schedule } = lifecycle;
    const ordinary =
      schedule.steps.length <= 1 &&
      schedule.notRun.length === 0 &&
      schedule.onFailure.length === 0 &&
      !annotated.objects.some((o) => o.lifecycle?.hook) &&
      // Objects applied in waves leave in wave order, even when what remains has none.
      !plan.prune.some((e) => e.wave !== undefined || e.pruneLast);
    return { plan: annotated, schedule, ordinary };
  }

  /** What the lifecycle runner needs of this pass. */
  #lifecycleHost(revision: string): LifecycleHost {
    return {
      options: this.#options,
      memory: this.#memory,
      signal: this.#signal,
      storeInventory: (inventory, appliedRevision) => this.#storeInventory(inventory, appliedRevision),
      prune: (entries, applied) => this.#prune(revision, entries, applied),
      emit: (event, payload) => this.#host.emit(event, payload),
      wrap: (error, stage, code) => this.#wrap(error, stage, code),
    };
  }

  /** Deletes what left the set; failed deletes stay in the inventory and fail the pass. */
  async #prune(
    revision: string,
    entries: readonly InventoryEntry[],
    applied: readonly InventoryEntry[],
  ): Promise<PruneResult> {
    const { target, name } = this.#options;
    this.#checkAborted();
    const result: PruneResult = await timeStage(this.#host, 'prune', revision, () =>
      this.#inStage('prune', ErrorCodes.PruneFailed, () => target.prune(entries, { signal: this.#signal })),
    );
    await this.#storeInventory(
      mergeInventory(
        { entries: applied },
        result.failed.map((f) => f.entry),
      ),
      revision,
    );
    this.#host.emit('pruned', { reconciler: name, revision, result });
    if (result.failed.length > 0) {
      const refs = result.failed.map((f) => f.entry.ref);
      throw new PruneError(
        ErrorCodes.PruneFailed,
        `${refs.length} object${refs.length === 1 ? '' : 's'} could not be deleted: ${listRefs(refs)}: ${result.failed[0]?.message ?? ''}`,
      );
    }
    return result;
  }

  /**
   * Stores the inventory (and the applied revision when given), in memory, in status and in the store.
   * With `deferSave`, an inventory equal to the stored one is not written now: the reconciler writes
   * the state at the end of every pass that got an artifact (history), so a pass that wrote no object
   * writes its state once, not twice. Crash safety is unchanged: no object was written, so there is
   * nothing the stored inventory could miss.
   */
  async #storeInventory(
    inventory: Inventory,
    appliedRevision: string | undefined,
    deferSave = false,
  ): Promise<void> {
    const memory = this.#memory;
    // Periodic passes usually store the inventory they already had: keep the old value then, so
    // the status is not re-copied and re-frozen and no store write happens (cheap at 10,000 objects).
    const unchanged = sameInventory(memory.stored.inventory, inventory);
    const sameRevision =
      appliedRevision === undefined || appliedRevision === memory.stored.lastAppliedRevision;
    if (!unchanged || !sameRevision) {
      memory.stored = {
        ...memory.stored,
        inventory: unchanged ? memory.stored.inventory : inventory,
        ...(appliedRevision === undefined ? {} : { lastAppliedRevision: appliedRevision }),
      };
    }
    this.#host.update(inventoryStored(unchanged ? undefined : inventory, appliedRevision));
    if (deferSave && unchanged) return;
    try {
      await persistState(this.#options, memory);
    } catch (error) {
      throw new ReconcileError(
        ErrorCodes.StateSaveFailed,
        `Could not store the inventory of ${this.#options.name}: ${error instanceof Error ? error.message : String(error)}`,
        { cause: error },
      );
    }
  }

  /**
   * Polls the target's health every `healthPollInterval` on the injected clock until every object is
   * Current, one Failed, or `healthTimeout` passed.
   */
  async #waitHealthy(revision: string, refs: readonly ObjectRef[]): Promise<HealthOutcome> {
    const { target, clock, healthPollInterval, healthTimeout, name } = this.#options;
    const now = (): string => new Date(clock.now()).toISOString();
    this.#host.update(healthWaiting(revision, refs.length, now()));
    // The last report read, for the timeout message: `poll` resolves undefined when time is up.
    // Errors of the checks and aborts of the waits are typed once, by the stage around the poll.
    let last: HealthReport = { status: 'InProgress', objects: [] };
    const settled = await timeStage(this.#host, 'health', revision, () =>
      this.#inStage('health', ErrorCodes.HealthFailed, () =>
        poll(
          async (): Promise<HealthReport | undefined> => {
            this.#checkAborted();
            last =
              refs.length === 0
                ? { status: 'Current', objects: [] }
                : await target.health(refs, { signal: this.#signal });
            return last.status === 'Current' || last.status === 'Failed' ? last : undefined;
          },
          { clock, intervalMs: healthPollInterval, timeoutMs: healthTimeout, signal: this.#signal },
        ),
      ),
    );
    let outcome: HealthOutcome;
    if (settled?.status === 'Current') {
      outcome = { healthy: true, report: settled, message: `All ${refs.length} objects are Current` };
    } else if (settled?.status === 'Failed') {
      const failed = settled.objects.filter((o) => o.status === 'Failed');
      const first = failed[0];
      const detail = first ? ` (${formatRef(first.ref)}: ${first.message})` : '';
      outcome = {
        healthy: false,
        report: settled,
        message: `Health check failed for ${listRefs(failed.map((o) => o.ref))}${detail}`,
      };
    } else {
      const waiting = last.objects.filter((o) => o.status !== 'Current');
      // What the first one still waited for (`Ready: 0/1`, a Pending pod's reason) says why.
      const first = waiting[0];
      const detail = first?.message ? ` (${formatRef(first.ref)}: ${first.message})` : '';
      outcome = {
        healthy: false,
        report: last,
        message: `Timed out after ${healthTimeout} ms waiting for ${listRefs(waiting.map((o) => o.ref))}${detail}`,
      };
    }
    const { report } = outcome;
    this.#host.update(
      outcome.healthy
        ? healthSucceeded(outcome.message, now())
        : healthFailed(report.status !== 'Failed', outcome.message, now()),
    );
    if (outcome.healthy) {
      this.#host.emit('healthy', { reconciler: name, revision, report });
    } else {
      this.#host.emit('unhealthy', {
        reconciler: name,
        revision,
        report,
        reason: report.status === 'Failed' ? 'Failed' : 'Timeout',
        message: outcome.message,
      });
    }
    return outcome;
  }

  /**
   * Invariant 6: the revision applied but never became healthy, so the last healthy set is applied
   * again (pruning what the bad revision added) and the revision is held back until a new one comes.
   */
  async #rollBack(artifact: Artifact, healthy: HealthySet, bad: HealthOutcome): Promise<PassResult> {
    const from = artifact.revision;
    const to = healthy.artifact.revision;
    this.#memory.held = { revision: artifact.revision, digest: artifact.digest };
    const applied = await this.#applySet(to, healthy.manifests, 'rollback');
    const health = await this.#waitHealthy(to, applied.refs);
    this.#host.emit('rolledBack', {
      reconciler: this.#options.name,
      revision: to,
      from,
      to,
      healthy: health.healthy,
    });
    if (!health.healthy) {
      throw new HealthError(
        this.#healthCode(health),
        `Revision ${from} was unhealthy and rolling back to ${to} did not make it healthy: ${health.message}`,
      );
    }
    this.#rememberHealthy(healthy);
    return {
      outcome: 'rolledBack',
      artifact,
      appliedRevision: to,
      ...applied,
      health: 'Current',
      reason: `Revision ${from} never became healthy (${bad.message}); rolled back to ${to}`,
      failing: bad.report.objects.filter((o) => o.status !== 'Current'),
      rollback: 'health',
    };
  }

  /**
   * While the source keeps returning a rolled-back revision, the last healthy set is reconciled
   * instead (so drift is still corrected), as Argo CD does not sync a failed commit again.
   */
  async #holdHealthy(artifact: Artifact, healthy: HealthySet): Promise<PassResult> {
    const to = healthy.artifact.revision;
    const applied = await this.#applySet(to, healthy.manifests);
    let health: HealthReport['status'] | undefined;
    if (this.#options.wait) {
      const outcome = await this.#waitHealthy(to, applied.refs);
      if (!outcome.healthy) {
        throw new HealthError(this.#healthCode(outcome), `Revision ${to}: ${outcome.message}`);
      }
      health = 'Current';
    }
    return {
      outcome: 'rolledBack',
      artifact,
      appliedRevision: to,
      ...applied,
      health,
      reason: `Revision ${artifact.revision} was rolled back; holding ${to} until a new revision arrives`,
      rollback: 'held',
    };
  }

  /** Shows a state loaded from the store (a restarted process) in the status. */
  #showStored(): void {
    this.#host.update(storedStateLoaded(this.#memory.stored));
  }

  #rememberHealthy(set: HealthySet): void {
    this.#memory.lastHealthy = set;
    if (this.#memory.stored.lastHealthyRevision !== set.artifact.revision) {
      this.#memory.stored = { ...this.#memory.stored, lastHealthyRevision: set.artifact.revision };
    }
    this.#host.update(revisionHealthy(set.artifact.revision));
  }

  #healthCode(outcome: HealthOutcome): string {
    return outcome.report.status === 'Failed' ? ErrorCodes.HealthFailed : ErrorCodes.HealthTimeout;
  }

  #checkAborted(): void {
    if (this.#signal.aborted) throw abortError(this.#signal);
  }

  /** Runs work of one reconcile stage: checks the signal before it, and types what it throws with the stage. */
  async #inStage<T>(stage: Stage, code: string, run: () => Promise<T>): Promise<T> {
    this.#checkAborted();
    try {
      return await run();
    } catch (error) {
      throw this.#wrap(error, stage, code);
    }
  }

  /** An abort wins over whatever error it caused; other errors keep their type or get the stage's. */
  #wrap(error: unknown, stage: Stage, code: string): Error {
    if (this.#signal.aborted) return abortError(this.#signal);
    return toGitOpsError(error, stage, code);
  }
}

/**
 * The inventory recorded before a pass writes: the stored one plus every planned object it lacks,
 * with an empty digest (not yet known to be applied, so the next plan writes it again). Objects
 * already owned keep their entry, so a pass that adds nothing records nothing new.
 */
function withIntended(before: Inventory, plan: Plan): Inventory {
  const owned = new Set(before.entries.map((e) => refKey(e.ref)));
  const added = plan.objects.filter((o) => !owned.has(refKey(o.ref)));
  if (added.length === 0) return before;
  return { entries: [...before.entries, ...added.map((o) => ({ ref: o.ref, digest: '' }))] };
}

/** Whether two inventories hold the same entries (reference and digest) in the same order. */
function sameInventory(a: Inventory, b: Inventory): boolean {
  if (a === b) return true;
  if (a.entries.length !== b.entries.length) return false;
  return a.entries.every((entry, i) => {
    const other = b.entries[i];
    return (
      other !== undefined &&
      entry.digest === other.digest &&
      entry.wave === other.wave &&
      entry.pruneLast === other.pruneLast &&
      entry.ref.apiVersion === other.ref.apiVersion &&
      entry.ref.kind === other.ref.kind &&
      entry.ref.namespace === other.ref.namespace &&
      entry.ref.name === other.ref.name
    );
  });
}
