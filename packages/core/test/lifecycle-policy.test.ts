import {
  beforeHookCreation,
  deleteHookAfter,
  describeLifecycle,
  hookCompletion,
  hookKey,
  type KubeObject,
  LifecycleErrorCodes,
  type ObjectRef,
  orderPrune,
  RenderError,
  retention,
} from '@gitops-kit/core';
import { describe, expect, it } from 'vitest';
import { manifestAt, obj } from './lifecycle-support.js';

const earlier: ObjectRef = { apiVersion: 'batch/v1', kind: 'Job', namespace: 'shop', name: 'migrate' };

function hookLifecycle(name: string, policy?: string, kind = 'Job') {
  const annotations: Record<string, string> = { 'argocd.argoproj.io/hook': 'PreSync' };
  if (policy !== undefined) annotations['argocd.argoproj.io/hook-delete-policy'] = policy;
  return describeLifecycle(manifestAt(obj(kind, name, annotations, { namespace: 'shop' })), 'upgrade');
}

describe('beforeHookCreation', () => {
  it('deletes the earlier object and creates anew by default (BeforeHookCreation)', () => {
    expect(beforeHookCreation(hookLifecycle('migrate'), 'Job', [earlier])).toEqual({
      delete: [earlier],
      write: 'create',
    });
    expect(beforeHookCreation(hookLifecycle('migrate'), 'Job', [])).toEqual({ delete: [], write: 'create' });
  });

  it('deletes every recorded object of a generateName hook', () => {
    const created = [
      { ...earlier, name: 'migrate-x1' },
      { ...earlier, name: 'migrate-x2' },
    ];
    expect(beforeHookCreation(hookLifecycle('migrate-'), 'Job', created)).toEqual({
      delete: created,
      write: 'create',
    });
  });

  it('applies an existing named hook in place without BeforeHookCreation; a generated one gets a new object', () => {
    expect(beforeHookCreation(hookLifecycle('migrate', 'HookSucceeded'), 'Job', [earlier])).toEqual({
      delete: [],
      write: 'apply',
    });
    expect(beforeHookCreation(hookLifecycle('migrate-', 'HookSucceeded'), 'Job', [earlier])).toEqual({
      delete: [],
      write: 'create',
    });
  });

  it('never deletes with Never, nor a CRD hook (Helm guard)', () => {
    expect(
      beforeHookCreation(hookLifecycle('migrate', 'Never,BeforeHookCreation'), 'Job', [earlier]).delete,
    ).toEqual([]);
    const crd = hookLifecycle('widgets.example.com', 'BeforeHookCreation', 'CustomResourceDefinition');
    expect(beforeHookCreation(crd, 'CustomResourceDefinition', [earlier])).toEqual({
      delete: [],
      write: 'apply',
    });
  });
});

describe('deleteHookAfter', () => {
  it('deletes after success with HookSucceeded and after failure with HookFailed', () => {
    const succeeded = hookLifecycle('a', 'HookSucceeded');
    expect(deleteHookAfter(succeeded, 'Job', 'succeeded')).toBe(true);
    expect(deleteHookAfter(succeeded, 'Job', 'failed')).toBe(false);
    const failed = hookLifecycle('a', 'HookFailed');
    expect(deleteHookAfter(failed, 'Job', 'failed')).toBe(true);
    expect(deleteHookAfter(failed, 'Job', 'succeeded')).toBe(false);
  });

  it('keeps the hook with only the default policy, with Never, for CRDs and for ordinary objects', () => {
    expect(deleteHookAfter(hookLifecycle('a'), 'Job', 'succeeded')).toBe(false);
    expect(deleteHookAfter(hookLifecycle('a', 'HookSucceeded,Never'), 'Job', 'succeeded')).toBe(false);
    expect(
      deleteHookAfter(
        hookLifecycle('w', 'HookSucceeded', 'CustomResourceDefinition'),
        'CustomResourceDefinition',
        'succeeded',
      ),
    ).toBe(false);
    const ordinary = describeLifecycle(manifestAt(obj('ConfigMap', 'c')), 'upgrade');
    expect(deleteHookAfter(ordinary, 'ConfigMap', 'succeeded')).toBe(false);
  });

  it('reads Helm policies the same way', () => {
    const helm = describeLifecycle(
      manifestAt(
        obj('Job', 'j', { 'helm.sh/hook': 'post-install', 'helm.sh/hook-delete-policy': 'hook-succeeded' }),
      ),
      'install',
    );
    expect(deleteHookAfter(helm, 'Job', 'succeeded')).toBe(true);
    expect(beforeHookCreation(helm, 'Job', [earlier])).toEqual({ delete: [], write: 'apply' });
  });
});

describe('hookKey', () => {
  it('names a hook stably across passes, with a * for a generated name', () => {
    expect(hookKey(manifestAt(obj('Job', 'migrate', {}, { namespace: 'shop' })))).toBe(
      'batch/Job/shop/migrate',
    );
    expect(hookKey(manifestAt(obj('Job', 'migrate-', {}, { namespace: 'shop' })))).toBe(
      'batch/Job/shop/migrate-*',
    );
    expect(hookKey(manifestAt(obj('ClusterRole', 'r')))).toBe('rbac.authorization.k8s.io/ClusterRole//r');
  });
});

describe('retention', () => {
  it('keeps on prune with Prune=false, Prune=confirm or the Helm keep policy', () => {
    expect(retention({}, 'prune')).toEqual({ keep: false });
    expect(retention({ 'argocd.argoproj.io/sync-options': 'Prune=false' }, 'prune')).toEqual({
      keep: true,
      reason: 'argocd.argoproj.io/sync-options: Prune=false',
    });
    expect(retention({ 'argocd.argoproj.io/sync-options': 'Prune=confirm' }, 'prune').keep).toBe(true);
    expect(retention({ 'helm.sh/resource-policy': 'keep' }, 'prune')).toEqual({
      keep: true,
      reason: 'helm.sh/resource-policy: keep',
    });
  });

  it('keeps on uninstall with Delete=false or keep, but Prune=false alone does not protect', () => {
    expect(retention({ 'argocd.argoproj.io/sync-options': 'Delete=false' }, 'uninstall').keep).toBe(true);
    expect(retention({ 'argocd.argoproj.io/sync-options': 'Delete=confirm' }, 'uninstall').keep).toBe(true);
    expect(retention({ 'helm.sh/resource-policy': 'keep' }, 'uninstall').keep).toBe(true);
    expect(retention({ 'argocd.argoproj.io/sync-options': 'Prune=false' }, 'uninstall').keep).toBe(false);
    expect(retention({ 'argocd.argoproj.io/sync-options': 'Delete=false' }, 'prune').keep).toBe(false);
  });

  it('refuses a bad value, naming the object it was given', () => {
    let error: unknown;
    try {
      retention({ 'argocd.argoproj.io/sync-options': 'Delete=never' }, 'uninstall', {
        object: 'v1 ConfigMap shop/c',
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(RenderError);
    expect((error as RenderError).code).toBe(LifecycleErrorCodes.InvalidSyncOption);
    expect((error as RenderError).message).toMatch(/^v1 ConfigMap shop\/c: /);
  });
});

describe('orderPrune', () => {
  it('deletes the highest wave first, keeping the given order inside a wave, PruneLast at the end', () => {
    const batches = orderPrune([
      { entry: 'a0', wave: 0 },
      { entry: 'last', wave: 9, pruneLast: true },
      { entry: 'b2', wave: 2 },
      { entry: 'c0' },
      { entry: 'd2', wave: 2 },
      { entry: 'm1', wave: -1 },
    ]);
    expect(batches).toEqual([['b2', 'd2'], ['a0', 'c0'], ['m1'], ['last']]);
  });

  it('gives nothing for nothing', () => {
    expect(orderPrune([])).toEqual([]);
  });
});

describe('hookCompletion', () => {
  const job = (conditions: object[]): KubeObject => ({
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: 'migrate' },
    status: { conditions },
  });
  const pod = (phase: string): KubeObject => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'p' },
    status: { phase },
  });

  it('reads Job conditions', () => {
    expect(hookCompletion(job([{ type: 'Complete', status: 'True' }])).completion).toBe('succeeded');
    expect(hookCompletion(job([{ type: 'SuccessCriteriaMet', status: 'True' }])).completion).toBe(
      'succeeded',
    );
    expect(
      hookCompletion(job([{ type: 'Failed', status: 'True', message: 'BackoffLimitExceeded' }])),
    ).toEqual({
      completion: 'failed',
      message: 'Job failed: BackoffLimitExceeded',
    });
    expect(hookCompletion(job([{ type: 'Complete', status: 'False' }])).completion).toBe('running');
    expect(hookCompletion(job([])).completion).toBe('running');
  });

  it('reads Pod phases: a failed Pod fails the hook although kstatus calls it Current', () => {
    expect(hookCompletion(pod('Succeeded'), 'Current').completion).toBe('succeeded');
    expect(hookCompletion(pod('Failed'), 'Current').completion).toBe('failed');
    expect(hookCompletion(pod('Running'), 'Current').completion).toBe('running');
  });

  it('reads Argo Workflows, and the health of any other kind', () => {
    const workflow = (phase: string): KubeObject => ({
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'Workflow',
      metadata: { name: 'w' },
      status: { phase },
    });
    expect(hookCompletion(workflow('Succeeded')).completion).toBe('succeeded');
    expect(hookCompletion(workflow('Error')).completion).toBe('failed');
    expect(hookCompletion(workflow('Running')).completion).toBe('running');
    const configMap: KubeObject = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' } };
    expect(hookCompletion(configMap, 'Current').completion).toBe('succeeded');
    expect(hookCompletion(configMap, 'Failed').completion).toBe('failed');
    expect(hookCompletion(configMap, 'InProgress').completion).toBe('running');
    expect(hookCompletion(undefined).completion).toBe('running');
  });
});
