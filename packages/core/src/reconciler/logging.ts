import { formatRef } from '../refs.js';
import type { ReconcilerEventName, ReconcilerListener } from './events.js';

/** The structured fields of one log record. */
export interface LogFields {
  /** The reconciler's name. */
  readonly reconciler: string;
  /** The revision concerned, when known. */
  readonly revision?: string | undefined;
  /** The pass stage (fetch, render, plan, validate, apply, prune, health, rollback). */
  readonly stage?: string | undefined;
  /** How long it took, in milliseconds. */
  readonly durationMs?: number | undefined;
  /** Anything else: counts, codes, object names (never Secret values). */
  readonly [field: string]: unknown;
}

/** One level of a {@link Logger}: pino's `(fields, message)` order, which console accepts too. */
export type LogMethod = (fields: LogFields, message: string) => void;

/**
 * The logger a reconciler writes to: `pino()`, `console` and a winston logger all fit this shape.
 * Records are `(fields, message)`, pino's order; `debug` is optional.
 */
export interface Logger {
  /** Stage timings and skipped passes (optional: without it they are not logged). */
  readonly debug?: LogMethod;
  /** Outcomes of passes, applies, prunes and drift. */
  readonly info: LogMethod;
  /** Health failures, rollbacks and recovered state. */
  readonly warn: LogMethod;
  /** Failed passes. */
  readonly error: LogMethod;
}

/** What {@link attachLogger} needs of a reconciler. */
export interface LoggedReconciler {
  /** The reconciler's name, the `reconciler` field of every record. */
  readonly name: string;
  /** Adds an event listener. */
  on<K extends ReconcilerEventName>(event: K, listener: ReconcilerListener<K>): unknown;
}

const MAX_NAMED = 20;

/**
 * Writes a reconciler's events to `logger` as structured records: the pass's outcome at `info`
 * (`error` when it failed), drift, prune, health failures and rollbacks at `info`/`warn`, stage
 * timings at `debug`. Messages and fields come from the typed events, which hold no Secret values.
 */
export function attachLogger(reconciler: LoggedReconciler, logger: Logger): void {
  const name = reconciler.name;
  const debug = (fields: LogFields, message: string): void => logger.debug?.(fields, message);
  reconciler.on('stage', (e) =>
    debug(
      {
        reconciler: name,
        revision: e.revision,
        stage: e.stage,
        durationMs: e.durationMs,
        ...(e.error ? { code: e.error.code } : {}),
      },
      `${e.stage} ${e.error ? 'failed' : 'done'} in ${e.durationMs} ms`,
    ),
  );
  reconciler.on('drifted', (e) =>
    logger.info(
      {
        reconciler: name,
        revision: e.revision,
        stage: 'plan',
        drifted: e.objects.length,
        objects: e.objects.slice(0, MAX_NAMED).map(formatRef),
      },
      `${e.objects.length} object(s) drifted from revision ${e.revision}; reverting`,
    ),
  );
  reconciler.on('applied', (e) =>
    logger.info(
      { reconciler: name, revision: e.revision, stage: 'apply', writes: e.writes, ...e.summary },
      `Applied revision ${e.revision}: ${e.summary.create} created, ${e.summary.update} updated, ${e.writes} writes`,
    ),
  );
  reconciler.on('pruned', (e) =>
    logger.info(
      {
        reconciler: name,
        revision: e.revision,
        stage: 'prune',
        deleted: e.result.deleted.length,
        failed: e.result.failed.length,
        objects: e.result.deleted.slice(0, MAX_NAMED).map(formatRef),
      },
      `Pruned ${e.result.deleted.length} object(s)`,
    ),
  );
  reconciler.on('unhealthy', (e) =>
    logger.warn(
      { reconciler: name, revision: e.revision, stage: 'health', reason: e.reason },
      `Revision ${e.revision} is not healthy: ${e.message}`,
    ),
  );
  reconciler.on('rolledBack', (e) =>
    logger.warn(
      {
        reconciler: name,
        revision: e.revision,
        stage: 'rollback',
        from: e.from,
        to: e.to,
        healthy: e.healthy,
      },
      `Rolled back from ${e.from} to ${e.to}`,
    ),
  );
  reconciler.on('recovered', (e) =>
    logger.warn(
      { reconciler: name, revision: e.revision, reason: e.reason },
      `Stored state recovered (${e.reason})`,
    ),
  );
  reconciler.on('passFinished', ({ result }) => {
    const fields: LogFields = {
      reconciler: name,
      revision: result.revision,
      durationMs: result.durationMs,
      outcome: result.outcome,
      ...(result.appliedRevision === undefined ? {} : { appliedRevision: result.appliedRevision }),
      ...(result.reason === undefined ? {} : { reason: result.reason }),
    };
    if (result.outcome === 'failed') {
      logger.error(
        { ...fields, stage: result.error?.stage, code: result.error?.code },
        `Reconcile failed: ${result.message}`,
      );
    } else if (result.outcome === 'skipped') {
      debug(fields, `Reconcile skipped: ${result.message}`);
    } else {
      logger.info(fields, result.message);
    }
  });
}
