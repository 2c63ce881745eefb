import {
  emptyInventory,
  formatSchedule,
  type KubeObject,
  LifecycleErrorCodes,
  type LifecycleStep,
  type Manifest,
  RenderError,
  scheduleLifecycle,
  syncOperationFor,
} from '@gitops-kit/core';
import { describe, expect, it } from 'vitest';
import { items, names, obj } from './lifecycle-support.js';

type Item = { manifest: Manifest };

/** Each step as `Phase/wave gate: names`, the shape a person reads a schedule in. */
function outline(steps: readonly LifecycleStep<Item>[]): string[] {
  return steps.map(
    (step) => `${step.phase}/${step.wave} ${step.gate.kind}: ${names(step.objects).join(' ')}`,
  );
}

const hook = (kind: string, name: string, type: string, more: Record<string, string> = {}): KubeObject =>
  obj(kind, name, { 'argocd.argoproj.io/hook': type, ...more }, { namespace: 'shop' });
const wave = (kind: string, name: string, n: number): KubeObject =>
  obj(kind, name, { 'argocd.argoproj.io/sync-wave': String(n) }, { namespace: 'shop' });

describe('scheduleLifecycle: phases and waves', () => {
  it('puts an ordinary set in one Sync step with no gate, pruning after it', () => {
    const schedule = scheduleLifecycle(items(obj('ConfigMap', 'a'), obj('Service', 'b')), 'upgrade');
    expect(outline(schedule.steps)).toEqual(['Sync/0 none: a b']);
    expect(schedule.pruneAt).toBe(1);
    expect(schedule.onFailure).toEqual([]);
    expect(names(schedule.owned.map((item) => ({ item })))).toEqual(['a', 'b']);
  });

  it('orders waves ascending inside a phase, negatives first, keeping the given order inside a wave', () => {
    const schedule = scheduleLifecycle(
      items(
        wave('Deployment', 'three', 3),
        wave('ConfigMap', 'one', 1),
        wave('Secret', 'minus', -1),
        wave('Service', 'one-b', 1),
      ),
      'upgrade',
    );
    expect(outline(schedule.steps)).toEqual([
      'Sync/-1 none: minus',
      'Sync/1 none: one one-b',
      'Sync/3 none: three',
    ]);
  });

  it('waits for each wave to be healthy when wait is on, except after the last', () => {
    const schedule = scheduleLifecycle(
      items(wave('ConfigMap', 'one', 1), wave('ConfigMap', 'two', 2)),
      'upgrade',
      {
        wait: true,
      },
    );
    expect(outline(schedule.steps)).toEqual(['Sync/1 healthy: one', 'Sync/2 none: two']);
    expect(names(schedule.steps[0]!.gate.objects)).toEqual(['one']);
  });

  it('uses the injected kind comparator inside a wave, never across waves', () => {
    const rank = (m: Manifest) => (m.object.kind === 'Namespace' ? 0 : 1);
    const schedule = scheduleLifecycle(
      items(obj('ConfigMap', 'cfg'), obj('Namespace', 'ns'), wave('Namespace', 'late', 1)),
      'upgrade',
      { compare: (a, b) => rank(a) - rank(b) },
    );
    expect(outline(schedule.steps)).toEqual(['Sync/0 none: ns cfg', 'Sync/1 none: late']);
  });

  it('runs PreSync hooks to completion before any Sync write, and PostSync after everything is healthy', () => {
    const schedule = scheduleLifecycle(
      items(
        obj('Deployment', 'web', {}, { namespace: 'shop' }),
        hook('Job', 'migrate', 'PreSync'),
        hook('Job', 'smoke', 'PostSync'),
        wave('ConfigMap', 'late', 1),
      ),
      'upgrade',
    );
    expect(outline(schedule.steps)).toEqual([
      'PreSync/0 complete: migrate',
      'Sync/0 none: web',
      'Sync/1 healthy: late',
      'PostSync/0 complete: smoke',
    ]);
    // The gate before PostSync reads the whole Sync phase, not only its last wave.
    expect(names(schedule.steps[2]!.gate.objects)).toEqual(['web', 'late']);
    // Prune happens after the Sync phase, before PostSync.
    expect(schedule.pruneAt).toBe(3);
  });

  it('waits for a Sync hook to complete with the rest of its wave', () => {
    const schedule = scheduleLifecycle(
      items(obj('Service', 'svc'), hook('Job', 'page-up-', 'Sync'), wave('Service', 'next', 1)),
      'upgrade',
    );
    expect(outline(schedule.steps)).toEqual(['Sync/0 complete: svc page-up-*', 'Sync/1 none: next']);
  });

  it('runs a hook with several types once per phase', () => {
    const schedule = scheduleLifecycle(
      items(hook('Job', 'check', 'PreSync,PostSync'), obj('ConfigMap', 'cfg')),
      'upgrade',
    );
    expect(outline(schedule.steps)).toEqual([
      'PreSync/0 complete: check',
      'Sync/0 healthy: cfg',
      'PostSync/0 complete: check',
    ]);
  });

  it('keeps SyncFail hooks apart, by wave, each waited to completion', () => {
    const schedule = scheduleLifecycle(
      items(
        obj('ConfigMap', 'cfg'),
        hook('Job', 'notify', 'SyncFail', { 'argocd.argoproj.io/sync-wave': '1' }),
        hook('Job', 'restore', 'SyncFail'),
      ),
      'upgrade',
    );
    expect(outline(schedule.steps)).toEqual(['Sync/0 none: cfg']);
    expect(outline(schedule.onFailure)).toEqual([
      'SyncFail/0 complete: restore',
      'SyncFail/1 complete: notify',
    ]);
  });

  it('orders hooks by helm.sh/hook-weight like a wave', () => {
    const helm = (name: string, weight: string): KubeObject =>
      obj('Job', name, { 'helm.sh/hook': 'pre-install', 'helm.sh/hook-weight': weight });
    const schedule = scheduleLifecycle(
      items(helm('second', '5'), helm('first', '-5'), helm('also-second', '5')),
      'install',
    );
    expect(outline(schedule.steps)).toEqual([
      'PreSync/-5 complete: first',
      'PreSync/5 complete: second also-second',
    ]);
  });

  it('leaves hooks and Skip objects out of the owned set; Skip objects stay owned so they are not pruned', () => {
    const schedule = scheduleLifecycle(
      items(
        obj('ConfigMap', 'cfg'),
        hook('Job', 'migrate', 'PreSync'),
        obj('ConfigMap', 'manual', { 'argocd.argoproj.io/hook': 'Skip' }),
      ),
      'upgrade',
    );
    expect(schedule.owned.map((item) => item.manifest.object.metadata.name)).toEqual(['cfg', 'manual']);
    expect(schedule.notRun.map((n) => [n.item.manifest.object.metadata.name, n.reason])).toEqual([
      ['manual', 'argocd.argoproj.io/hook: Skip'],
    ]);
    expect(outline(schedule.steps)).toEqual(['PreSync/0 complete: migrate', 'Sync/0 none: cfg']);
  });
});

describe('scheduleLifecycle: dependencies pulled earlier, as in Argo CD', () => {
  it('moves the Namespace of a PreSync hook into the hook step, first', () => {
    const schedule = scheduleLifecycle(
      items(
        obj('Deployment', 'web', {}, { namespace: 'shop' }),
        hook('Job', 'migrate', 'PreSync'),
        obj('Namespace', 'shop'),
      ),
      'install',
    );
    expect(outline(schedule.steps)).toEqual(['PreSync/0 complete: shop migrate', 'Sync/0 none: web']);
    // Still an ordinary, owned object.
    expect(schedule.owned.map((item) => item.manifest.object.metadata.name)).toContain('shop');
  });

  it('moves a CRD to the wave of its first custom resource, and never moves anything later', () => {
    const crd = obj(
      'CustomResourceDefinition',
      'widgets.example.com',
      { 'argocd.argoproj.io/sync-wave': '2' },
      { spec: { group: 'example.com', names: { kind: 'Widget' } } },
    );
    const widget = obj(
      'Widget',
      'w',
      { 'argocd.argoproj.io/sync-wave': '-1' },
      { apiVersion: 'example.com/v1', namespace: 'shop' },
    );
    const other = obj(
      'Gadget',
      'g',
      { 'argocd.argoproj.io/sync-wave': '5' },
      { apiVersion: 'example.com/v1' },
    );
    const schedule = scheduleLifecycle(items(crd, widget, other), 'upgrade');
    expect(outline(schedule.steps)).toEqual(['Sync/-1 none: widgets.example.com w', 'Sync/5 none: g']);
  });

  it('leaves a Namespace alone when what needs it comes later', () => {
    const schedule = scheduleLifecycle(
      items(wave('ConfigMap', 'cfg', 3), obj('Namespace', 'shop')),
      'upgrade',
    );
    expect(outline(schedule.steps)).toEqual(['Sync/0 none: shop', 'Sync/3 none: cfg']);
  });
});

describe('scheduleLifecycle: Helm operations', () => {
  // Modelled on a chart with database hooks: every hook kind the issue names.
  const chart = items(
    obj('Job', 'db-init', { 'helm.sh/hook': 'pre-install' }, { namespace: 'shop' }),
    obj('Job', 'announce', { 'helm.sh/hook': 'post-install' }, { namespace: 'shop' }),
    obj(
      'Job',
      'db-migrate',
      { 'helm.sh/hook': 'pre-upgrade', 'helm.sh/hook-weight': '1' },
      { namespace: 'shop' },
    ),
    obj(
      'Job',
      'db-backup',
      { 'helm.sh/hook': 'pre-upgrade,pre-rollback', 'helm.sh/hook-weight': '-1' },
      { namespace: 'shop' },
    ),
    obj('Job', 'drain', { 'helm.sh/hook': 'pre-delete' }, { namespace: 'shop' }),
    obj('Job', 'farewell', { 'helm.sh/hook': 'post-delete' }, { namespace: 'shop' }),
    obj('Pod', 'smoke', { 'helm.sh/hook': 'test' }, { namespace: 'shop' }),
    obj('Deployment', 'web', {}, { namespace: 'shop' }),
  );

  it('install runs pre-install and post-install only', () => {
    const schedule = scheduleLifecycle(chart, 'install');
    expect(outline(schedule.steps)).toEqual([
      'PreSync/0 complete: db-init',
      'Sync/0 healthy: web',
      'PostSync/0 complete: announce',
    ]);
    expect(schedule.notRun.map((n) => n.item.manifest.object.metadata.name)).toEqual([
      'db-migrate',
      'db-backup',
      'drain',
      'farewell',
      'smoke',
    ]);
  });

  it('upgrade runs pre-upgrade by weight, never the delete hooks', () => {
    const schedule = scheduleLifecycle(chart, 'upgrade');
    expect(outline(schedule.steps)).toEqual([
      'PreSync/-1 complete: db-backup',
      'PreSync/1 complete: db-migrate',
      'Sync/0 none: web',
    ]);
  });

  it('rollback runs the rollback hooks', () => {
    expect(outline(scheduleLifecycle(chart, 'rollback').steps)).toEqual([
      'PreSync/-1 complete: db-backup',
      'Sync/0 none: web',
    ]);
  });

  it('uninstall runs pre-delete, deletes, then post-delete', () => {
    const schedule = scheduleLifecycle(chart, 'uninstall');
    expect(outline(schedule.steps)).toEqual([
      'PreDelete/0 complete: drain',
      'PostDelete/0 complete: farewell',
    ]);
    expect(schedule.pruneAt).toBe(1);
    expect(schedule.onFailure).toEqual([]);
  });

  it('an install is chosen from the stored state: nothing applied yet', () => {
    expect(syncOperationFor(undefined)).toBe('install');
    expect(syncOperationFor({ inventory: emptyInventory })).toBe('install');
    const owned = { entries: [{ ref: { apiVersion: 'v1', kind: 'ConfigMap', name: 'a' }, digest: 'd' }] };
    expect(syncOperationFor({ inventory: owned })).toBe('upgrade');
    expect(syncOperationFor({ inventory: emptyInventory, lastAppliedRevision: 'main@sha1:abc' })).toBe(
      'upgrade',
    );
    expect(syncOperationFor({ inventory: owned }, { rollback: true })).toBe('rollback');
  });
});

describe('scheduleLifecycle: real layouts', () => {
  it('schedules the Argo CD example app sync-waves as Argo CD does', () => {
    // argoproj/argocd-example-apps sync-waves/manifests.yaml, trimmed to metadata.
    const schedule = scheduleLifecycle(
      items(
        obj('Job', 'upgrade-sql-schema-', { 'argocd.argoproj.io/hook': 'PostSync' }),
        obj('ReplicaSet', 'backend'),
        obj('Service', 'backend-svc'),
        obj('Job', 'maintenance-page-up-', {
          'argocd.argoproj.io/hook': 'Sync',
          'argocd.argoproj.io/sync-wave': '1',
        }),
        obj('ReplicaSet', 'frontend'),
        obj('Service', 'frontend', { 'argocd.argoproj.io/sync-wave': '1' }),
        obj('Job', 'maintenance-page-down-', { 'argocd.argoproj.io/hook': 'PostSync' }),
      ),
      'upgrade',
    );
    expect(outline(schedule.steps)).toEqual([
      'Sync/0 none: backend backend-svc frontend',
      'Sync/1 complete: maintenance-page-up-* frontend',
      'PostSync/0 complete: upgrade-sql-schema-* maintenance-page-down-*',
    ]);
    const generated = schedule.steps[2]!.objects.map((object) => object.lifecycle.name);
    expect(generated).toEqual([
      { assignedBy: 'server', generateName: 'upgrade-sql-schema-' },
      { assignedBy: 'server', generateName: 'maintenance-page-down-' },
    ]);
  });

  it('schedules the ingress-nginx admission webhook hooks, with RBAC in both phases', () => {
    // kubernetes/ingress-nginx charts/ingress-nginx/templates/admission-webhooks/job-patch/*.yaml
    const both = {
      'helm.sh/hook': 'pre-install,pre-upgrade,post-install,post-upgrade',
      'helm.sh/hook-delete-policy': 'before-hook-creation,hook-succeeded',
    };
    const schedule = scheduleLifecycle(
      items(
        obj('ServiceAccount', 'ingress-nginx-admission', both, { namespace: 'ingress-nginx' }),
        obj('ClusterRole', 'ingress-nginx-admission', both),
        obj('ClusterRoleBinding', 'ingress-nginx-admission', both),
        obj(
          'Job',
          'ingress-nginx-admission-create',
          {
            'helm.sh/hook': 'pre-install,pre-upgrade',
            'helm.sh/hook-delete-policy': 'before-hook-creation,hook-succeeded',
          },
          { namespace: 'ingress-nginx' },
        ),
        obj(
          'Job',
          'ingress-nginx-admission-patch',
          {
            'helm.sh/hook': 'post-install,post-upgrade',
            'helm.sh/hook-delete-policy': 'before-hook-creation,hook-succeeded',
          },
          { namespace: 'ingress-nginx' },
        ),
        obj('Deployment', 'ingress-nginx-controller', {}, { namespace: 'ingress-nginx' }),
      ),
      'install',
    );
    expect(outline(schedule.steps)).toEqual([
      'PreSync/0 complete: ingress-nginx-admission ingress-nginx-admission ingress-nginx-admission ingress-nginx-admission-create',
      'Sync/0 healthy: ingress-nginx-controller',
      'PostSync/0 complete: ingress-nginx-admission ingress-nginx-admission ingress-nginx-admission ingress-nginx-admission-patch',
    ]);
    expect(schedule.steps[0]!.objects[0]!.lifecycle.deletePolicies).toEqual([
      'BeforeHookCreation',
      'HookSucceeded',
    ]);
    expect(schedule.owned.map((item) => item.manifest.object.metadata.name)).toEqual([
      'ingress-nginx-controller',
    ]);
  });
});

describe('scheduleLifecycle: errors', () => {
  it('refuses a generateName on an ordinary object before scheduling anything', () => {
    let error: unknown;
    try {
      scheduleLifecycle(
        items(obj('ConfigMap', 'ok'), obj('Deployment', 'web-', {}, { namespace: 'shop' })),
        'install',
      );
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(RenderError);
    expect((error as RenderError).code).toBe(LifecycleErrorCodes.GenerateNameNotHook);
    expect((error as RenderError).location).toMatchObject({
      file: 'app.yaml',
      line: 11,
      object: 'apps/v1 Deployment shop/web-*',
    });
  });

  it('refuses a bad wave anywhere in the set', () => {
    expect(() =>
      scheduleLifecycle(items(obj('ConfigMap', 'a'), wave('ConfigMap', 'b', Number.NaN)), 'upgrade'),
    ).toThrow(
      /app\.yaml:11 \(document 1\) v1 ConfigMap shop\/b: argocd\.argoproj\.io\/sync-wave must be an integer, found "NaN"/,
    );
  });
});

describe('formatSchedule', () => {
  it('prints steps with their gates, the prune point, SyncFail steps and what does not run', () => {
    const schedule = scheduleLifecycle(
      items(
        obj('Deployment', 'web', {}, { namespace: 'shop' }),
        hook('Job', 'migrate-', 'PreSync'),
        hook('Job', 'smoke', 'PostSync'),
        hook('Job', 'restore', 'SyncFail'),
        obj('Job', 'drain', { 'helm.sh/hook': 'pre-delete' }, { namespace: 'shop' }),
      ),
      'upgrade',
    );
    expect(formatSchedule(schedule)).toEqual([
      'PreSync wave 0 (then wait: complete):',
      '  batch/v1 Job shop/migrate-* [hook, name from server]',
      'Sync wave 0 (then wait: healthy):',
      '  apps/v1 Deployment shop/web',
      'prune',
      'PostSync wave 0 (then wait: complete):',
      '  batch/v1 Job shop/smoke [hook]',
      'on failure: SyncFail wave 0 (then wait: complete):',
      '  batch/v1 Job shop/restore [hook]',
      'not run: batch/v1 Job shop/drain: Helm pre-delete hook: runs on uninstall',
    ]);
  });

  it('prunes at the end without PostSync, and says delete on uninstall', () => {
    expect(formatSchedule(scheduleLifecycle(items(obj('ConfigMap', 'cfg')), 'upgrade'))).toEqual([
      'Sync wave 0:',
      '  v1 ConfigMap cfg',
      'prune',
    ]);
    const uninstall = scheduleLifecycle(
      items(obj('Job', 'bye', { 'helm.sh/hook': 'post-delete' })),
      'uninstall',
    );
    expect(formatSchedule(uninstall)).toEqual([
      'delete everything owned',
      'PostDelete wave 0 (then wait: complete):',
      '  batch/v1 Job bye [hook]',
    ]);
  });
});
