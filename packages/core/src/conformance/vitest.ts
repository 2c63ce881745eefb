import {
  type ConformanceKit,
  type FixtureFactory,
  type RunConformanceOptions,
  runCheck,
  selectChecks,
} from './check.js';

/**
 * The thin test-framework adapter: one test per check. It takes the framework's `describe` and `it`
 * instead of importing Vitest, so core does not depend on it (Jest's and `node:test`'s have the
 * same shape).
 */

/** The context a test function receives; Vitest's has `skip`. */
export interface ConformanceTestContext {
  /** Marks the running test skipped (Vitest). */
  readonly skip?: ((note?: string) => void) | undefined;
}

/** The parts of a test framework the adapter calls: Vitest's `describe` and `it` fit. */
export interface ConformanceTestApi {
  /** Groups the checks of a kit. */
  readonly describe: (name: string, body: () => void) => void;
  /** Declares one test. */
  readonly it: (
    name: string,
    body: (context: ConformanceTestContext) => Promise<void>,
    timeout?: number,
  ) => void;
}

/** Options of {@link describeConformance}. */
export interface DescribeConformanceOptions extends RunConformanceOptions {
  /** Per-check timeout in milliseconds passed to `it` (default the framework's). */
  readonly timeout?: number | undefined;
  /** The suite's name (default `<kit> conformance`). */
  readonly name?: string | undefined;
}

/**
 * Declares one test per check of `kit`, each against a fresh fixture from `setup`: a failed check
 * fails its test with the `ConformanceError` that names it; a check that does not apply is
 * skipped with its reason.
 *
 * ```ts
 * import { describe, it } from 'vitest';
 * describeConformance({ describe, it }, targetConformance, async () => ({ target: new MyTarget(), ... }));
 * ```
 */
export function describeConformance<F>(
  api: ConformanceTestApi,
  kit: ConformanceKit<F>,
  setup: FixtureFactory<F>,
  options: DescribeConformanceOptions = {},
): void {
  api.describe(options.name ?? `${kit.name} conformance`, () => {
    for (const check of selectChecks(kit, options)) {
      api.it(
        check.name,
        async (context) => {
          const result = await runCheck(check, setup);
          if (result.status === 'failed') throw result.error;
          if (result.status === 'skipped') context?.skip?.(result.reason);
        },
        options.timeout,
      );
    }
  });
}
