import { RegistryError } from '@gitops-kit/registry-source';
import { expect } from 'vitest';

/** The `RegistryError` a promise rejects with (the test fails when it resolves or throws another). */
export async function registryError(promise: Promise<unknown>): Promise<RegistryError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(RegistryError);
  return error as RegistryError;
}
