import { RenderError, type RunResult } from '@gitops-kit/core';
import { expect } from 'vitest';

/** The error a render promise rejects with, asserted to be a `RenderError` (fails the test when it resolves). */
export async function renderError(promise: Promise<unknown>): Promise<RenderError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(RenderError);
  return error as RenderError;
}

/** A tool run that exited 0 and printed `stdout`: what an injected `run` answers for a good render. */
export const ok = (stdout: string): RunResult => ({
  code: 0,
  stdout,
  stderr: '',
  timedOut: false,
  outputLimited: false,
});
