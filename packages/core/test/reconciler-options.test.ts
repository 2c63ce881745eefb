import {
  ErrorCodes,
  type KubeObject,
  Manager,
  OptionError,
  RawRenderer,
  Reconciler,
  type ReconcilerOptions,
  Semaphore,
} from '@gitops-kit/core';
import { FakeCluster, ManualClock, whileTimePasses } from '@gitops-kit/core/testing';
import { describe, expect, it } from 'vitest';
import { deployment, imageOf, memorySource, rig } from './support/reconciler-fixtures.js';

/** The error a function throws, asserted to be an `OptionError` with the stable code. */
function optionError(make: () => unknown): OptionError {
  let thrown: unknown;
  try {
    make();
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(OptionError);
  expect((thrown as OptionError).code).toBe(ErrorCodes.InvalidOption);
  return thrown as OptionError;
}

/** Options of a working reconciler, to take parts away from. */
function parts(): ReconcilerOptions {
  const clock = new ManualClock();
  return {
    name: 'app',
    source: memorySource(clock, { 'a.yaml': 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: a\n' }),
    renderer: new RawRenderer(),
    target: new FakeCluster({ clock }),
    clock,
  };
}

function image(object: KubeObject): unknown {
  const spec = object.spec as { template?: { spec?: { containers?: { image?: string }[] } } } | undefined;
  return spec?.template?.spec?.containers?.[0]?.image;
}

describe('Reconciler options: issue 11 item 11, errors name the option', () => {
  it('no options at all is a typed error, not a TypeError from reading a property', () => {
    const error = optionError(() => new (Reconciler as unknown as new () => Reconciler)());
    expect(error.options).toEqual(['name', 'source', 'renderer', 'target']);
    expect(error.message).toContain('name, source, renderer and target');
  });

  it('names exactly the missing parts', () => {
    const { target: _target, ...noTarget } = parts();
    const one = optionError(() => new Reconciler(noTarget as ReconcilerOptions));
    expect(one.options).toEqual(['target']);
    expect(one.message).toMatch(/Reconciler app: option target is required/);

    const { source: _s, renderer: _r, ...neither } = parts();
    const two = optionError(() => new Reconciler(neither as ReconcilerOptions));
    expect(two.options).toEqual(['source', 'renderer']);
    expect(two.message).toContain('options source and renderer are required');
  });

  it('refuses a target without plan (or another method) at construction, naming the method', () => {
    const cluster = new FakeCluster();
    const target = {
      name: 'half',
      validate: cluster.validate.bind(cluster),
      apply: cluster.apply.bind(cluster),
      prune: cluster.prune.bind(cluster),
      health: cluster.health.bind(cluster),
    };
    const error = optionError(
      () => new Reconciler({ ...parts(), target: target as unknown as ReconcilerOptions['target'] }),
    );
    expect(error.options).toEqual(['target.plan']);
    expect(error.message).toContain('target.plan must be a function');

    const noFetch = { description: 'broken' } as unknown as ReconcilerOptions['source'];
    expect(optionError(() => new Reconciler({ ...parts(), source: noFetch })).options).toEqual([
      'source.fetch',
    ]);
    const badStore = { load: async () => undefined } as unknown as ReconcilerOptions['stateStore'];
    expect(optionError(() => new Reconciler({ ...parts(), stateStore: badStore })).options).toEqual([
      'stateStore.save',
    ]);
  });

  it('range errors are typed too and name their option', () => {
    expect(optionError(() => new Reconciler({ ...parts(), interval: 0 })).options).toEqual(['interval']);
    expect(optionError(() => new Reconciler({ ...parts(), jitter: 2 })).options).toEqual(['jitter']);
    const notAFunction = 0.5 as unknown as () => number;
    expect(optionError(() => new Reconciler({ ...parts(), random: notAFunction })).options).toEqual([
      'random',
    ]);
    expect(optionError(() => new Reconciler({ ...parts(), rollback: true, wait: false })).options).toEqual([
      'rollback',
      'wait',
    ]);
  });
});

describe('Reconciler options: issue 11 item 9, a health wait must leave the pass time to roll back', () => {
  it('refuses healthTimeout ≥ timeout with wait, naming both options', () => {
    const error = optionError(
      () =>
        new Reconciler({ ...parts(), wait: true, rollback: true, healthTimeout: 60_000, timeout: 60_000 }),
    );
    expect(error.options).toEqual(['healthTimeout', 'timeout']);
    expect(error.message).toContain('healthTimeout (60000 ms) must be shorter than timeout (60000 ms)');
    // Without wait there is no health wait, so the two do not meet.
    expect(() => new Reconciler({ ...parts(), healthTimeout: 60_000, timeout: 60_000 })).not.toThrow();
  });

  it('with a short timeout and no healthTimeout, the default health wait fits: the pass rolls back', async () => {
    const r = rig(
      { 'web.yaml': deployment('web', 'app:1') },
      { wait: true, rollback: true, timeout: 60_000, healthPollInterval: 1_000 },
    );
    expect((await whileTimePasses(r.clock, r.reconciler.reconcile())).outcome).toBe('succeeded');
    r.cluster.setHealth((o) => image(o) === 'app:2', 'InProgress');
    r.source.setFile('web.yaml', deployment('web', 'app:2')).commit();

    const result = await whileTimePasses(r.clock, r.reconciler.reconcile());

    // Before: the default health wait (2 minutes) outlived the 1-minute pass: RECONCILE_TIMEOUT, app:2 stayed.
    expect(result.error?.code).toBeUndefined();
    expect(result.outcome).toBe('rolledBack');
    expect(imageOf(r.cluster, 'web')).toBe('app:1');
  });
});

describe('Manager options and calls: issue 11 item 11', () => {
  it('concurrency 0 is an error about concurrency, not about a semaphore', () => {
    const error = optionError(() => new Manager({ concurrency: 0 }));
    expect(error.options).toEqual(['concurrency']);
    expect(error.message).toContain('Manager option concurrency');
    expect(error.message).not.toContain('Semaphore');
    expect(optionError(() => new Semaphore(0)).options).toEqual(['limit']);
  });

  it('a duplicate name and removing a reconciler others depend on are typed errors with codes', async () => {
    const { reconciler } = rig({ 'a.yaml': deployment('a', 'app:1') });
    const manager = new Manager().add(reconciler);
    expect(() => manager.add(reconciler)).toThrow(
      expect.objectContaining({ code: ErrorCodes.DuplicateName }),
    );
    const other = rig({ 'b.yaml': deployment('b', 'app:1') }, { name: 'b' });
    manager.add(other.reconciler, { dependsOn: ['app'] });
    await expect(manager.remove('app')).rejects.toMatchObject({
      code: ErrorCodes.DependedOn,
      message: 'Cannot remove app: b depends on it',
    });
  });

  it('trigger of an unknown name returns a rejected promise instead of throwing', async () => {
    const manager = new Manager();
    let promise: Promise<unknown> | undefined;
    expect(() => {
      promise = manager.trigger('nope');
    }).not.toThrow();
    await expect(promise).rejects.toMatchObject({
      code: ErrorCodes.UnknownReconciler,
      message: expect.stringContaining('nope'),
    });
  });
});
