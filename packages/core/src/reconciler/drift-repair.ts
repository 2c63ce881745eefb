import type { Clock } from '../clock.js';
import { formatRef, type ObjectRef, refKey } from '../refs.js';
import type { DriftNotice, ReconcileOutcome } from '../types.js';
import type { ReconcilerEvents } from './events.js';
import { persistState, type ReconcilerMemory } from './memory.js';
import type { ResolvedOptions } from './options.js';

/**
 * Instant revert by watch, the reconciler's side: drift notices from `Target.watchDrift` are
 * gathered for a moment (a `kubectl apply` of ten objects is one repair, not ten), then either
 * repaired at once with `Target.repair` (no fetch, render or prune), or, while a pass runs or
 * waits, left to a pass queued after it, so repairs and passes never overlap.
 */

/** How long notices are gathered before one repair answers them all. */
const GATHER_MS = 50;

/** Gathers drift notices by object and calls `ready` once a burst of them has arrived. */
export class DriftNotices {
  readonly #pending = new Map<string, DriftNotice>();
  readonly #clock: Clock;
  readonly #ready: () => void;
  #cancel: (() => void) | undefined;

  /** @param ready called, once per burst, when notices are waiting. */
  constructor(clock: Clock, ready: () => void) {
    this.#clock = clock;
    this.#ready = ready;
  }

  /** Adds a notice (a newer one for the same object replaces the older). */
  add(notice: DriftNotice): void {
    this.#pending.set(refKey(notice.ref), notice);
    this.#cancel ??= this.#clock.setTimer(GATHER_MS, () => {
      this.#cancel = undefined;
      this.#ready();
    });
  }

  /** The notices waiting, which are forgotten. */
  take(): DriftNotice[] {
    const notices = [...this.#pending.values()];
    this.#pending.clear();
    return notices;
  }

  /** Drops what waits and the timer (the reconciler stopped). */
  clear(): void {
    this.#cancel?.();
    this.#cancel = undefined;
    this.#pending.clear();
  }
}

/** What a repair needs from its reconciler. */
export interface RepairHost {
  readonly options: ResolvedOptions;
  readonly memory: ReconcilerMemory;
  emit(event: 'drifted', payload: ReconcilerEvents['drifted']): void;
  /** Adds a history entry for the last artifact. */
  record(outcome: ReconcileOutcome, reason: string, startedAt: number, durationMs: number): void;
}

/**
 * Re-applies the objects of `notices` through `Target.repair`; when something was written, emits
 * `drifted` (with who changed it and `repaired: true`) and records a history entry saying what
 * was reverted and who changed it. Returns what it wrote. Throws what the target threw.
 */
export async function repairDrift(
  host: RepairHost,
  notices: readonly DriftNotice[],
  signal: AbortSignal,
): Promise<{ readonly repaired: readonly ObjectRef[]; readonly writes: number; readonly reason: string }> {
  const { options, memory } = host;
  const startedAt = options.clock.now();
  const repair = options.target.repair;
  if (!repair || notices.length === 0) return { repaired: [], writes: 0, reason: '' };
  const result = await repair.call(
    options.target,
    notices.map((n) => n.ref),
    { signal },
  );
  if (result.repaired.length === 0) return { ...result, reason: '' };
  const done = new Set(result.repaired.map(refKey));
  const reverted = notices.filter((n) => done.has(refKey(n.ref)));
  const changedBy = [...new Set(reverted.flatMap((n) => (n.changedBy ? [n.changedBy] : [])))];
  const revision = memory.stored.lastAppliedRevision ?? memory.lastArtifact?.revision ?? '';
  host.emit('drifted', {
    reconciler: options.name,
    revision,
    objects: result.repaired,
    ...(changedBy.length > 0 ? { changedBy } : {}),
    repaired: true,
  });
  const reason = describeRepair(reverted);
  host.record('succeeded', reason, startedAt, options.clock.now() - startedAt);
  try {
    await persistState(options, memory);
  } catch {
    // The objects are reverted; the history entry is written with the next save.
  }
  return { ...result, reason };
}

/** `Drift reverted by watch: apps/v1 Deployment shop/web changed by kubectl-edit (2 fields); …`. */
export function describeRepair(notices: readonly DriftNotice[]): string {
  const shown = notices.slice(0, 3).map((n) => {
    const who = n.changedBy ? ` by ${n.changedBy}` : '';
    if (n.deleted) return `${formatRef(n.ref)} deleted${who}`;
    const fields = n.changes.length === 1 ? '1 field' : `${n.changes.length} fields`;
    return `${formatRef(n.ref)} changed${who} (${fields})`;
  });
  const more = notices.length > 3 ? `; and ${notices.length - 3} more` : '';
  return `Drift reverted by watch: ${shown.join('; ')}${more}`;
}
