import { type Clock, systemClock } from '../clock.js';
import { MemoryStateStore } from '../state/memory-state-store.js';
import type { Renderer, Source, StateStore, Target } from '../types.js';
import type { Gate } from './gate.js';

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
  /** Deadline of one pass, from fetch to the end of the health wait (default 5 minutes). */
  readonly timeout?: number;
  /** Delete objects that left the desired set (default true). */
  readonly prune?: boolean;
  /** Allow an empty rendered set to prune a non-empty inventory (default false). */
  readonly allowEmpty?: boolean;
  /** Wait for the applied objects to become healthy (default: the value of `rollback`, else false). */
  readonly wait?: boolean;
  /** Poll period of the health wait (default 2 seconds). */
  readonly healthPollInterval?: number;
  /** How long the health wait lasts before the revision counts as unhealthy (default 2 minutes). */
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
}

const MINUTE = 60_000;

/** Default listener error handler: a warning, never a crash. */
const warnListenerError: ListenerErrorHandler = (error, event) => {
  console.warn(`gitops-kit: a listener of "${event}" failed:`, error);
};

/** Checks that a duration option is a positive finite number. */
function positive(name: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) {
    throw new RangeError(`Reconciler option ${name} must be a positive number of milliseconds, got ${value}`);
  }
  return value;
}

/**
 * Fills in defaults and checks the options. Throws a `TypeError` or `RangeError` on a setting that
 * cannot work, so a mistake shows at construction rather than at the first pass.
 */
export function resolveOptions(options: ReconcilerOptions): ResolvedOptions {
  if (!options.name) throw new TypeError('Reconciler option name is required');
  if (!options.source || !options.renderer || !options.target) {
    throw new TypeError('Reconciler options source, renderer and target are required');
  }
  const rollback = options.rollback ?? false;
  const wait = options.wait ?? rollback;
  // A rollback is decided by the health wait: without it no revision can be found unhealthy.
  if (rollback && !wait) throw new TypeError('Reconciler option rollback needs wait');
  const jitter = options.jitter ?? 0.1;
  if (!(jitter >= 0 && jitter < 1)) throw new RangeError(`Reconciler option jitter must be in [0, 1)`);
  const historyLimit = options.historyLimit ?? 10;
  if (!Number.isInteger(historyLimit) || historyLimit < 0) {
    throw new RangeError('Reconciler option historyLimit must be a whole number');
  }
  return {
    name: options.name,
    source: options.source,
    renderer: options.renderer,
    target: options.target,
    stateStore: options.stateStore ?? new MemoryStateStore(),
    interval: positive('interval', options.interval ?? 5 * MINUTE),
    retryInterval: positive('retryInterval', options.retryInterval ?? 30_000),
    maxRetryInterval: positive('maxRetryInterval', options.maxRetryInterval ?? 5 * MINUTE),
    jitter,
    timeout: positive('timeout', options.timeout ?? 5 * MINUTE),
    prune: options.prune ?? true,
    allowEmpty: options.allowEmpty ?? false,
    wait,
    healthPollInterval: positive('healthPollInterval', options.healthPollInterval ?? 2_000),
    healthTimeout: positive('healthTimeout', options.healthTimeout ?? 2 * MINUTE),
    rollback,
    historyLimit,
    clock: options.clock ?? systemClock,
    random: options.random ?? Math.random,
    gate: options.gate,
    onListenerError: options.onListenerError ?? warnListenerError,
  };
}
