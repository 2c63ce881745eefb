import { ConditionReasons, getCondition, type ReconcilerStatus } from '@gitops-kit/core';
import { describe, expect, it } from 'vitest';
import { produceStatus, type StatusRecipe } from '../src/reconciler/status.js';
import {
  healthFailed,
  healthSucceeded,
  healthWaiting,
  initialStatus,
  inventoryStored,
  nextRunScheduled,
  passDeferred,
  passFailed,
  passStarted,
  passSucceeded,
  planned,
  resumed,
  revisionAttempted,
  revisionFetched,
  revisionHealthy,
  rolledBack,
  storedStateLoaded,
  suspended,
} from '../src/reconciler/transitions.js';

const T0 = '2026-01-01T00:00:00.000Z';
const T1 = '2026-01-01T00:01:00.000Z';
const T2 = '2026-01-01T00:02:00.000Z';
const ref = { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'default', name: 'a' };
const entry = {
  revision: 'main@sha1:1',
  digest: 'sha256:1',
  outcome: 'succeeded',
  startedAt: T0,
  durationMs: 1,
} as const;

/** Applies transitions in order, from a fresh status. */
function run(...recipes: StatusRecipe[]): ReconcilerStatus {
  return recipes.reduce(produceStatus, initialStatus('app', T0));
}

/** `type=status/reason` of every condition, in order. */
function conditions(status: ReconcilerStatus): string[] {
  return status.conditions.map((c) => `${c.type}=${c.status}/${c.reason}`);
}

const end = (at: string, message = 'done') => ({ message, at, history: [entry], suspended: false });

describe('status transitions', () => {
  it('start from Pending conditions, frozen', () => {
    const status = initialStatus('app', T0);
    expect(conditions(status)).toEqual([
      'Ready=Unknown/Pending',
      'Reconciling=False/Pending',
      'Stalled=False/Pending',
      'Healthy=Unknown/Pending',
    ]);
    expect(Object.isFrozen(status)).toBe(true);
    expect(Object.isFrozen(status.conditions[0])).toBe(true);
  });

  it('a succeeded pass: Reconciling True then False, Ready True, failures reset, history copied', () => {
    const started = run(passStarted(T1));
    expect(getCondition(started, 'Reconciling')).toMatchObject({
      status: 'True',
      reason: ConditionReasons.Progressing,
      lastTransitionTime: T1,
    });
    const failedOnce = produceStatus(
      started,
      passFailed({ ...end(T1, 'boom'), reason: 'HealthFailed', heldRevision: undefined }),
    );
    expect(failedOnce.failures).toBe(1);
    const done = produceStatus(failedOnce, passSucceeded({ ...end(T2, 'Applied revision r1'), wait: false }));
    expect(conditions(done)).toEqual([
      'Ready=True/ReconciliationSucceeded',
      'Reconciling=False/ReconciliationSucceeded',
      'Stalled=False/ReconciliationSucceeded',
      'Healthy=Unknown/NotChecked',
    ]);
    expect(done.failures).toBe(0);
    expect(done.history).toEqual([entry]);
    expect(getCondition(done, 'Ready')?.message).toBe('Applied revision r1');
    expect(Object.isFrozen(done.history)).toBe(true);
  });

  it('with wait on, a succeeded pass leaves the Healthy condition to the health wait', () => {
    const status = run(
      healthSucceeded('All 1 objects are Current', T1),
      passSucceeded({ ...end(T2), wait: true }),
    );
    expect(getCondition(status, 'Healthy')).toMatchObject({ status: 'True', reason: 'Healthy' });
  });

  it('lastTransitionTime moves only when a condition changes its status', () => {
    const first = run(passSucceeded({ ...end(T1), wait: false }));
    const again = produceStatus(first, passSucceeded({ ...end(T2, 'Applied revision r2'), wait: false }));
    expect(getCondition(again, 'Ready')?.lastTransitionTime).toBe(T1);
    expect(getCondition(again, 'Ready')?.message).toBe('Applied revision r2');
    const failed = produceStatus(
      again,
      passFailed({ ...end(T2, 'x'), reason: 'ApplyFailed', heldRevision: undefined }),
    );
    expect(getCondition(failed, 'Ready')?.lastTransitionTime).toBe(T2);
  });

  it('a failed pass: Ready False with its reason; Stalled True only while a rolled-back revision is held', () => {
    const plain = run(
      passFailed({ ...end(T1, 'apply failed'), reason: 'ApplyFailed', heldRevision: undefined }),
    );
    expect(conditions(plain).slice(0, 3)).toEqual([
      'Ready=False/ApplyFailed',
      'Reconciling=False/ApplyFailed',
      'Stalled=False/ApplyFailed',
    ]);
    const held = run(
      passFailed({ ...end(T1, 'apply failed'), reason: 'ApplyFailed', heldRevision: 'main@sha1:bad' }),
    );
    expect(getCondition(held, 'Stalled')).toMatchObject({
      status: 'True',
      reason: ConditionReasons.RolledBack,
      message: 'Revision main@sha1:bad was rolled back',
    });
  });

  it('a rolled-back pass: Ready False and Stalled True, reason RolledBack, failures reset', () => {
    const status = run(
      passFailed({ ...end(T1), reason: 'HealthFailed', heldRevision: undefined }),
      rolledBack(end(T2, 'rolled back to r1')),
    );
    expect(conditions(status).slice(0, 3)).toEqual([
      'Ready=False/RolledBack',
      'Reconciling=False/RolledBack',
      'Stalled=True/RolledBack',
    ]);
    expect(status.failures).toBe(0);
  });

  it('a pass that ends while suspended leaves Reconciling at Suspended', () => {
    const status = run(passSucceeded({ ...end(T1), suspended: true, wait: false }));
    expect(getCondition(status, 'Reconciling')?.reason).toBe(ConditionReasons.Suspended);
    expect(getCondition(status, 'Ready')?.reason).toBe(ConditionReasons.ReconciliationSucceeded);
  });

  it('suspend and resume: Reconciling follows only when idle; suspend clears the next run', () => {
    const scheduled = run(nextRunScheduled(T2));
    expect(scheduled.nextRunAt).toBe(T2);
    const idle = produceStatus(scheduled, suspended(T1, true));
    expect(idle).toMatchObject({ suspended: true, nextRunAt: undefined });
    expect(getCondition(idle, 'Reconciling')?.reason).toBe('Suspended');
    const busy = run(passStarted(T1), suspended(T1, false));
    expect(busy.suspended).toBe(true);
    expect(getCondition(busy, 'Reconciling')?.status).toBe('True');
    const back = produceStatus(idle, resumed(T2, true));
    expect(back.suspended).toBe(false);
    expect(getCondition(back, 'Reconciling')?.reason).toBe(ConditionReasons.Resumed);
    expect(produceStatus(back, nextRunScheduled(undefined)).nextRunAt).toBeUndefined();
  });

  it('health: waiting, then healthy, failed or timed out', () => {
    const waiting = run(healthWaiting('main@sha1:1', 3, T1));
    expect(getCondition(waiting, 'Healthy')).toMatchObject({
      status: 'Unknown',
      reason: ConditionReasons.Progressing,
      message: 'Waiting for 3 objects of main@sha1:1',
    });
    expect(
      getCondition(produceStatus(waiting, healthFailed(false, 'x failed', T2)), 'Healthy'),
    ).toMatchObject({
      status: 'False',
      reason: ConditionReasons.HealthCheckFailed,
    });
    expect(
      getCondition(produceStatus(waiting, healthFailed(true, 'timed out', T2)), 'Healthy'),
    ).toMatchObject({
      status: 'False',
      reason: ConditionReasons.HealthCheckTimeout,
    });
  });

  it('revisions, plan, inventory and a deferral', () => {
    const inventory = { entries: [{ ref, digest: 'sha256:a' }] };
    const status = run(
      revisionFetched('r2'),
      revisionAttempted('r2'),
      planned({ create: 1, update: 0, unchanged: 0, prune: 0, drifted: 0 }),
      inventoryStored(inventory, 'r2'),
      revisionHealthy('r2'),
      passDeferred(ConditionReasons.DependencyNotReady, 'Waiting for db', T1),
    );
    expect(status).toMatchObject({
      lastFetchedRevision: 'r2',
      lastAttemptedRevision: 'r2',
      lastAppliedRevision: 'r2',
      lastHealthyRevision: 'r2',
      lastPlan: { create: 1 },
      inventory,
    });
    expect(getCondition(status, 'Ready')).toMatchObject({ status: 'False', reason: 'DependencyNotReady' });
    // The status holds a copy: freezing it never freezes the caller's inventory.
    expect(Object.isFrozen(inventory.entries[0])).toBe(false);
  });

  it('a transition that changes nothing keeps the same value, so no status event fires', () => {
    const status = run(revisionFetched('r1'), inventoryStored(undefined, undefined));
    expect(produceStatus(status, revisionFetched('r1'))).toBe(status);
    expect(produceStatus(status, inventoryStored(undefined, undefined))).toBe(status);
  });

  it('a stored state loaded after a restart shows inventory, revisions and history', () => {
    const status = run(
      storedStateLoaded({
        inventory: { entries: [{ ref, digest: 'sha256:a' }] },
        lastAppliedRevision: 'r1',
        lastHealthyRevision: 'r0',
        history: [entry],
      }),
    );
    expect(status).toMatchObject({
      lastAppliedRevision: 'r1',
      lastHealthyRevision: 'r0',
      history: [entry],
      inventory: { entries: [{ ref, digest: 'sha256:a' }] },
    });
  });

  it('every reason is defined once, spelt as its key', () => {
    for (const [key, value] of Object.entries(ConditionReasons)) expect(value).toBe(key);
  });
});
