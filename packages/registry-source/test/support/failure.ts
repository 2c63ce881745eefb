/** The error a promise rejects with (fails the test when it resolves). */
export async function failure<E = Error>(promise: Promise<unknown>): Promise<E> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!error) throw new Error('expected a failure');
  return error as E;
}
