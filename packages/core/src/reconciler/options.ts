import { type Clock, systemClock } from '../clock.js';
import { OptionError } from '../errors.js';
import { MemoryStateStore } from '../state/memory-state-store.js';
import type { Renderer, Source, StateStore, Target } from '../types.js';
import type { Gate } from './gate.js';
import type { Logger } from './logging.js';

/** Called when an event listener throws or its promise rejects. */
export type ListenerErrorHandler = (error: unknown, event: string) => void;

/** Options of a {@link Reconciler}. Durations are in milliseconds. */
export interface ReconcilerOptions {
  /** Names the reconciler in status and events, and keys its state in the `stateStore`. */
  readonly name: string;
  /** Where the desired state comes from; fetched at the start of every pass. */
  readonly source: Source;
  /** Turns each fetched artifact into the manifests to apply. */
  readonly renderer: Renderer;
  /** Where the manifests are planned, applied, pruned and health-checked. */
  readonly target: Target;
  /** Where the inventory survives restarts (default: a new {@link MemoryStateStore}). */
  readonly stateStore?: StateStore;
  /** Time between scheduled passes after a success (default 5 minutes). */
  readonly interval?: number;
  /** First retry delay after a failure, doubled per consecutive failure (default 30 seconds). */
  readonly retryInterval?: number;
  /** Cap of the retry delay (default 5 minutes). */
  readonly maxRetryInterval?: number;
  /** Spread of scheduled passes as a fraction of `interval`, plus or minus (default 0.1). */
  readonly jitter?: number;
  /**
   * Deadline of one pass, from fetch to the end of the health wait and of a rollback (default 5
   * minutes). With `wait`, it must be longer than `healthTimeout`; a rollback's own apply and health
   * wait get what is left of it after the first wait gave up, so leave room for both.
   */
  readonly timeout?: number;
  /** Delete objects that left the desired set (default true). */
  readonly prune?: boolean;
  /** Allow an empty rendered set to prune a non-empty inventory (default false). */
  readonly allowEmpty?: boolean;
  /** Wait for the applied objects to become healthy (default: the value of `rollback`, else false). */
  readonly wait?: boolean;
  /** Poll period of the health wait (default 2 seconds). */
  readonly healthPollInterval?: number;
  /**
   * How long the health wait lasts before the revision counts as unhealthy. Must be shorter than
   * `timeout` (an {@link OptionError} naming both otherwise), so the wait can end and a rollback can
   * run inside the pass. Default: 2 minutes, or less when `timeout` is short: half of `timeout`, a
   * third with `rollback` (whose own apply and health wait come after).
   */
  readonly healthTimeout?: number;
  /**
   * When an applied revision ends unhealthy, apply the last healthy revision again (default false).
   * Needs `wait`.
   */
  readonly rollback?: boolean;
  /** How many history entries to keep (default 10). */
  readonly historyLimit?: number;
  /** Time source for every wait (default: the system clock). Tests pass a `ManualClock`. */
  readonly clock?: Clock;
  /** Random numbers in [0, 1) for jitter (default `Math.random`). */
  readonly random?: () => number;
  /** Limits concurrent passes across reconcilers; a `Manager` sets its own. */
  readonly gate?: Gate;
  /** Receives errors of event listeners (default: `console.warn`). A listener never breaks a pass. */
  readonly onListenerError?: ListenerErrorHandler;
  /**
   * Revert hand edits and deletions within seconds, without waiting for the interval: once started,
   * watch the target (`Target.watchDrift`) and re-apply what drifted (`Target.repair`), queued with
   * the passes; the interval pass stays the safety net. Default: the target's own `watch` setting.
   */
  readonly watch?: boolean;
  /**
   * Where to write structured logs (pino, winston, `console`, or anything with `info`, `warn`,
   * `error` and optionally `debug`); silent when absent (the default).
   */
  readonly logger?: Logger;
}

/** Options with every default filled in. */
export interface ResolvedOptions {
  readonly name: string;
  readonly source: Source;
  readonly renderer: Renderer;
  readonly target: Target;
  readonly stateStore: StateStore;
  readonly interval: number;
  readonly retryInterval: number;
  readonly maxRetryInterval: number;
  readonly jitter: number;
  readonly timeout: number;
  readonly prune: boolean;
  readonly allowEmpty: boolean;
  readonly wait: boolean;
  readonly healthPollInterval: number;
  readonly healthTimeout: number;
  readonly rollback: boolean;
  readonly historyLimit: number;
  readonly clock: Clock;
  readonly random: () => number;
  readonly gate: Gate | undefined;
  readonly onListenerError: ListenerErrorHandler;
  readonly watch: boolean;
  readonly logger: Logger | undefined;
}

const MINUTE = 60_000;

/** Default listener error handler: a warning, never a crash. */
const warnListenerError: ListenerErrorHandler = (error, event) => {
  console.warn(`gitops-kit: a listener of "${event}" failed:`, error);
};

/** The options a reconciler cannot run without, in the order messages list them. */
const REQUIRED = ['name', 'source', 'renderer', 'target'] as const;

/**
 * The contract of each part and the methods it must have; checked at construction so a mistake
 * never waits for a pass (`target.plan is not a function` in the middle of one).
 */
const CONTRACTS = {
  source: { contract: 'Source', methods: ['fetch'] },
  renderer: { contract: 'Renderer', methods: ['render'] },
  target: { contract: 'Target', methods: ['plan', 'validate', 'apply', 'prune', 'health'] },
  stateStore: { contract: 'StateStore', methods: ['load', 'save'] },
  clock: { contract: 'Clock', methods: ['now', 'setTimer'] },
  gate: { contract: 'Gate', methods: ['acquire'] },
} as const;

/** `a`, `a and b`, `a, b and c`. */
function listNames(names: readonly string[]): string {
  return names.length <= 1 ? (names[0] ?? '') : `${names.slice(0, -1).join(', ')} and ${names.at(-1)}`;
}

/** Checks that a duration option is a positive finite number. */
function positive(who: string, name: string, value: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new OptionError(
      [name],
      `${who}: option ${name} must be a positive number of milliseconds, got ${String(value)}`,
    );
  }
  return value;
}

/** Refuses missing parts (naming each) and parts without a method they need (naming it). */
function checkParts(options: Partial<ReconcilerOptions>, who: string): void {
  const missing = REQUIRED.filter((key) => !options[key]);
  if (missing.length > 0) {
    const plural = missing.length > 1;
    throw new OptionError(
      missing,
      `${who}: option${plural ? 's' : ''} ${listNames(missing)} ${plural ? 'are' : 'is'} required`,
    );
  }
  for (const key of ['random', 'onListenerError'] as const) {
    if (options[key] !== undefined && typeof options[key] !== 'function') {
      throw new OptionError([key], `${who}: option ${key} must be a function`);
    }
  }
  for (const [part, { contract, methods }] of Object.entries(CONTRACTS)) {
    const value = (options as Record<string, unknown>)[part];
    if (value === undefined) continue;
    const absent = methods.filter(
      (m) => typeof (value as Record<string, unknown> | null)?.[m] !== 'function',
    );
    if (absent.length > 0) {
      const names = absent.map((m) => `${part}.${m}`);
      throw new OptionError(
        names,
        `${who}: ${listNames(names)} must be ${absent.length > 1 ? 'functions' : 'a function'} ` +
          `(the ${part} given does not implement ${contract})`,
      );
    }
  }
}

/**
 * The default `healthTimeout`: 2 minutes, shortened when `timeout` is short so the health wait always
 * ends inside the pass: to half of `timeout`, or a third with `rollback`, which needs time for its
 * own apply and health wait after the first wait gave up.
 */
function defaultHealthTimeout(timeout: number, rollback: boolean): number {
  return Math.min(2 * MINUTE, Math.floor(timeout / (rollback ? 3 : 2)));
}

/**
 * Fills in defaults and checks the options. Throws an {@link OptionError} naming the option(s) at
 * fault on a setting that cannot work, so a mistake shows at construction rather than at the first
 * pass: a missing part, a part without a method of its contract, a value out of range, `rollback`
 * without `wait`, and, with `wait`, a `healthTimeout` that is not shorter than `timeout` (the pass
 * would always end `RECONCILE_TIMEOUT` before the health wait decides, so no rollback could run).
 */
export function resolveOptions(input: ReconcilerOptions): ResolvedOptions {
  const options: Partial<ReconcilerOptions> = input ?? {};
  const who = typeof options.name === 'string' && options.name ? `Reconciler ${options.name}` : 'Reconciler';
  checkParts(options, who);
  const { name, source, renderer, target } = options as ReconcilerOptions;
  const rollback = options.rollback ?? false;
  const wait = options.wait ?? rollback;
  // A rollback is decided by the health wait: without it no revision can be found unhealthy.
  if (rollback && !wait) throw new OptionError(['rollback', 'wait'], `${who}: option rollback needs wait`);
  const watch = options.watch ?? target.watch ?? false;
  if (watch && (typeof target.watchDrift !== 'function' || typeof target.repair !== 'function')) {
    throw new OptionError(['watch'], `${who}: option watch needs a target with watchDrift and repair`);
  }
  const jitter = options.jitter ?? 0.1;
  if (!(jitter >= 0 && jitter < 1)) {
    throw new OptionError(['jitter'], `${who}: option jitter must be in [0, 1), got ${String(jitter)}`);
  }
  const historyLimit = options.historyLimit ?? 10;
  if (!Number.isInteger(historyLimit) || historyLimit < 0) {
    throw new OptionError(['historyLimit'], `${who}: option historyLimit must be a whole number`);
  }
  const timeout = positive(who, 'timeout', options.timeout ?? 5 * MINUTE);
  const healthTimeout = positive(
    who,
    'healthTimeout',
    options.healthTimeout ?? defaultHealthTimeout(timeout, rollback),
  );
  if (wait && healthTimeout >= timeout) {
    throw new OptionError(
      ['healthTimeout', 'timeout'],
      `${who}: option healthTimeout (${healthTimeout} ms) must be shorter than timeout (${timeout} ms): ` +
        'the pass timeout covers the health wait, so it would always end RECONCILE_TIMEOUT' +
        (rollback ? ' and never roll back' : ''),
    );
  }
  return {
    name,
    source,
    renderer,
    target,
    stateStore: options.stateStore ?? new MemoryStateStore(),
    interval: positive(who, 'interval', options.interval ?? 5 * MINUTE),
    retryInterval: positive(who, 'retryInterval', options.retryInterval ?? 30_000),
    maxRetryInterval: positive(who, 'maxRetryInterval', options.maxRetryInterval ?? 5 * MINUTE),
    jitter,
    timeout,
    prune: options.prune ?? true,
    allowEmpty: options.allowEmpty ?? false,
    wait,
    healthPollInterval: positive(who, 'healthPollInterval', options.healthPollInterval ?? 2_000),
    healthTimeout,
    rollback,
    historyLimit,
    clock: options.clock ?? systemClock,
    random: options.random ?? Math.random,
    gate: options.gate,
    onListenerError: options.onListenerError ?? warnListenerError,
    watch,
    logger: options.logger,
  };
}
