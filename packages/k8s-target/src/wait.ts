import { ApplyError, poll } from '@gitops-kit/core';
import type { TargetContext } from './context.js';
import { K8sErrorCodes } from './errors.js';

/**
 * Waits until `done` holds, checking every `pollIntervalMs` on the target's clock, for at most
 * `establishTimeoutMs`; then throws an ApplyError (`APPLY_NOT_ESTABLISHED`) naming `what`.
 */
export async function waitFor(
  context: TargetContext,
  signal: AbortSignal,
  done: () => Promise<boolean>,
  what: string,
): Promise<void> {
  const timeout = context.establishTimeoutMs;
  const reached = await poll(async () => ((await done()) ? true : undefined), {
    clock: context.clock,
    intervalMs: context.pollIntervalMs,
    timeoutMs: timeout,
    signal,
  });
  if (!reached) {
    throw new ApplyError(K8sErrorCodes.NotEstablished, `timed out after ${timeout} ms waiting for ${what}`);
  }
}
