import { ErrorCodes, type GitOpsError, toGitOpsError } from '../errors.js';
import type { ReconcilerEvents } from './events.js';
import type { ResolvedOptions } from './options.js';

/**
 * The stages of a pass as observability names them (metrics' `stage` label, span names, log
 * fields). They differ from error stages on purpose: `plan` and `rollback` have no error class of
 * their own, and `validation` is shortened to `validate` like the verb.
 */
export type PassStage = 'fetch' | 'render' | 'plan' | 'validate' | 'apply' | 'prune' | 'health' | 'rollback';

/** Every {@link PassStage}, in pass order. */
export const PASS_STAGES = [
  'fetch',
  'render',
  'plan',
  'validate',
  'apply',
  'prune',
  'health',
  'rollback',
] as const satisfies readonly PassStage[];

/** What the timer needs of a pass. */
export interface StageHost {
  readonly options: Pick<ResolvedOptions, 'name' | 'clock'>;
  emit(event: 'stage', payload: ReconcilerEvents['stage']): void;
}

/**
 * Runs one stage and emits a `stage` event with its duration on the reconciler's clock, and its
 * error when it threw (typed with the error stage it already carries). `revision` is the revision
 * worked on, or a function of the result when only the stage finds it out (the fetch).
 */
export async function timeStage<T>(
  host: StageHost,
  stage: PassStage,
  revision: string | undefined | ((result: T) => string),
  run: () => Promise<T>,
): Promise<T> {
  const { clock, name } = host.options;
  const startedAt = clock.now();
  const emit = (rev: string | undefined, error?: GitOpsError): void =>
    host.emit('stage', {
      reconciler: name,
      revision: rev,
      stage,
      startedAt,
      durationMs: clock.now() - startedAt,
      ...(error ? { error } : {}),
    });
  try {
    const result = await run();
    emit(typeof revision === 'function' ? revision(result) : revision);
    return result;
  } catch (error) {
    emit(
      typeof revision === 'function' ? undefined : revision,
      toGitOpsError(error, 'reconcile', ErrorCodes.Failed),
    );
    throw error;
  }
}
