import { ConformanceError, type GitOpsError, type Stage } from '../errors.js';

/**
 * The machinery every kit shares: a check is a named async function over a fixture; running it
 * gives a typed result naming the check. Nothing here knows a test framework.
 */

/** What a check says when it cannot apply to the fixture (an optional capability is missing). */
export interface CheckSkipped {
  /** Always `skipped`. */
  readonly skipped: true;
  /** Why the check does not apply (`the fixture has no foreign object`). */
  readonly reason: string;
}

/** One named check of a kit. `run` resolves when the contract holds and throws {@link ConformanceError} when it does not. */
export interface ConformanceCheck<F> {
  /** Stable name, `<kit>/<check>` (`target/plan-is-pure`). */
  readonly name: string;
  /** The contract, in one sentence. */
  readonly description: string;
  /** The stage the check exercises: the stage of the {@link ConformanceError} it throws. */
  readonly stage: Stage;
  /** Runs the check against a fresh fixture; resolves `undefined` (passed) or a {@link CheckSkipped}. */
  readonly run: (fixture: F) => Promise<CheckSkipped | undefined>;
}

/** A kit: the checks for one kind of part (Source, Renderer or Target). */
export interface ConformanceKit<F> {
  /** `source`, `renderer` or `target`. */
  readonly name: string;
  /** Every check, in the order they run. */
  readonly checks: readonly ConformanceCheck<F>[];
}

/** A fixture's optional clean-up, called after each check whether it passed or not. */
export interface Disposable {
  /** Releases what the fixture made (folders, namespaces, state). */
  readonly cleanup?: (() => Promise<void>) | undefined;
}

/** How one check ended. */
export interface CheckResult {
  /** The check's name, `<kit>/<check>`. */
  readonly check: string;
  /** `passed`, `failed` (the error says why) or `skipped` (the reason says why). */
  readonly status: 'passed' | 'failed' | 'skipped';
  /** The broken contract (a {@link ConformanceError}), or whatever the implementation threw unexpectedly. */
  readonly error?: unknown;
  /** Why it was skipped. */
  readonly reason?: string;
  /** How long it took, fixture set-up and clean-up included. */
  readonly durationMs: number;
}

/** Options of {@link runCheck} and {@link runConformance}. */
export interface RunConformanceOptions {
  /** Only these checks (by name, with or without the `<kit>/` prefix). */
  readonly only?: readonly string[] | undefined;
  /** Leave these checks out (same naming as `only`). */
  readonly skip?: readonly string[] | undefined;
}

/** Every result of a kit run. */
export interface ConformanceReport {
  /** The kit that ran. */
  readonly kit: string;
  /** One result per check run, in order. */
  readonly results: readonly CheckResult[];
  /** True when no check failed. */
  readonly passed: boolean;
}

/** Makes a fresh fixture for one check. */
export type FixtureFactory<F> = () => Promise<F & Disposable>;

/** Runs one check against a fresh fixture from `setup` and returns its typed result (it never throws). */
export async function runCheck<F>(
  check: ConformanceCheck<F>,
  setup: FixtureFactory<F>,
): Promise<CheckResult> {
  const started = Date.now();
  let fixture: (F & Disposable) | undefined;
  let result: Omit<CheckResult, 'durationMs'>;
  try {
    fixture = await setup();
    const outcome = await check.run(fixture);
    result = outcome
      ? { check: check.name, status: 'skipped', reason: outcome.reason }
      : { check: check.name, status: 'passed' };
  } catch (error) {
    result = { check: check.name, status: 'failed', error };
  }
  try {
    await fixture?.cleanup?.();
  } catch (error) {
    if (result.status !== 'failed') result = { check: check.name, status: 'failed', error };
  }
  return { ...result, durationMs: Date.now() - started };
}

function selected(name: string, list: readonly string[] | undefined): boolean {
  return list?.some((entry) => entry === name || name.endsWith(`/${entry}`)) ?? false;
}

/** The checks of `kit` that `options` keeps. */
export function selectChecks<F>(
  kit: ConformanceKit<F>,
  options: RunConformanceOptions = {},
): ConformanceCheck<F>[] {
  return kit.checks.filter(
    (check) =>
      (options.only === undefined || selected(check.name, options.only)) &&
      !selected(check.name, options.skip),
  );
}

/** Runs a kit's checks one after the other, each against a fresh fixture, and reports every result. */
export async function runConformance<F>(
  kit: ConformanceKit<F>,
  setup: FixtureFactory<F>,
  options: RunConformanceOptions = {},
): Promise<ConformanceReport> {
  const results: CheckResult[] = [];
  for (const check of selectChecks(kit, options)) results.push(await runCheck(check, setup));
  return { kit: kit.name, results, passed: results.every((r) => r.status !== 'failed') };
}

/** Throws the first failure of a report (a {@link ConformanceError} naming its check), or returns. */
export function assertConformance(report: ConformanceReport): void {
  const failed = report.results.filter((r) => r.status === 'failed');
  const first = failed[0];
  if (!first) return;
  if (failed.length === 1 && first.error instanceof ConformanceError) throw first.error;
  const lines = failed.map(
    (r) => `${r.check}: ${r.error instanceof Error ? r.error.message : String(r.error)}`,
  );
  throw new ConformanceError(
    'reconcile',
    `${report.kit}/*`,
    `${failed.length} check(s) failed:\n  ${lines.join('\n  ')}`,
    {
      cause: first.error,
    },
  );
}

/** A check's assertion helper: throws a {@link ConformanceError} naming the check when `ok` is false. */
export function expectThat(
  check: { name: string; stage: Stage },
  ok: boolean,
  message: string,
  cause?: unknown,
): asserts ok {
  if (!ok) {
    throw new ConformanceError(check.stage, check.name, message, cause === undefined ? {} : { cause });
  }
}

/** Whether `value` is a gitops-kit error (by shape, so two copies of core still agree). */
export function isTypedError(value: unknown): value is GitOpsError {
  if (!(value instanceof Error)) return false;
  const { code, stage } = value as Partial<GitOpsError>;
  return typeof code === 'string' && code.length > 0 && typeof stage === 'string';
}

/** Settles a promise into a value or an error, so a check can assert on either. */
export async function settle<T>(
  promise: Promise<T>,
): Promise<{ ok: true; value: T } | { ok: false; error: unknown }> {
  try {
    return { ok: true, value: await promise };
  } catch (error) {
    return { ok: false, error };
  }
}

/** A short description of a thrown value for a failure message (never its cause chain). */
export function describeThrown(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return `${error.name}${typeof code === 'string' ? ` ${code}` : ''}: ${error.message.split('\n')[0]}`;
  }
  return String(error);
}

/** A signal that is already aborted, with an `AbortError` reason. */
export function abortedSignal(): AbortSignal {
  const controller = new AbortController();
  controller.abort(new DOMException('aborted by the conformance check', 'AbortError'));
  return controller.signal;
}

/** Asserts that `promise` rejects (a call made with an aborted signal, a broken input). */
export async function expectRejection(
  check: { name: string; stage: Stage },
  promise: Promise<unknown>,
  what: string,
): Promise<unknown> {
  const outcome = await settle(promise);
  expectThat(check, !outcome.ok, what);
  return outcome.error;
}

/** Asserts that `promise` rejects with a gitops-kit error of `stage`; returns the error. */
export async function expectTypedRejection(
  check: { name: string; stage: Stage },
  promise: Promise<unknown>,
  stage: Stage,
  what: string,
): Promise<GitOpsError> {
  const error = await expectRejection(check, promise, `${what} did not fail`);
  expectThat(check, isTypedError(error), `${what} threw an untyped error (${describeThrown(error)})`, error);
  expectThat(check, error.stage === stage, `the error's stage is ${error.stage}, not ${stage}`);
  return error;
}
