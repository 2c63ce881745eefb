import { ErrorCodes, type KubeObject, type PlannedObject } from '@gitops-kit/core';
import { type FakeCluster, ManualClock, whileTimePasses } from '@gitops-kit/core/testing';
import { describe, expect, it } from 'vitest';
import { configMap, deployment, imageOf, rig } from './support/reconciler-fixtures.js';

/** A Job manifest with annotations (a hook when they say so). */
function job(
  name: string,
  annotations: Record<string, string>,
  options: { generate?: boolean } = {},
): string {
  const lines = [
    'apiVersion: batch/v1',
    'kind: Job',
    'metadata:',
    options.generate ? `  generateName: ${name}-` : `  name: ${name}`,
    '  namespace: default',
    '  annotations:',
    ...Object.entries(annotations).map(([k, v]) => `    ${k}: "${v}"`),
    'spec:',
    '  template:',
    '    spec:',
    '      restartPolicy: Never',
    '      containers:',
    `        - name: ${name}`,
    '          image: busybox',
    '',
  ];
  return lines.join('\n');
}

/** A ConfigMap in a sync wave. */
function waveConfigMap(name: string, wave: number): string {
  return `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n  namespace: default\n  annotations:\n    argocd.argoproj.io/sync-wave: "${wave}"\ndata:\n  key: v1\n`;
}

function jobRef(name: string) {
  return { apiVersion: 'batch/v1', kind: 'Job', namespace: 'default', name };
}

/** The order of the cluster's writes, as `op kind/name`. */
function ops(cluster: FakeCluster): string[] {
  return cluster.operations.map((o) => `${o.op} ${o.ref.kind}/${o.ref.name}`);
}

describe('Reconciler lifecycle on FakeCluster: phases, waves and hooks', () => {
  it('runs a PreSync Job to completion before the Sync phase, and keeps hooks out of the inventory', async () => {
    const r = rig({
      'job.yaml': job('migrate', { 'argocd.argoproj.io/hook': 'PreSync' }),
      'web.yaml': deployment('web', 'nginx:1'),
    });
    const result = await r.reconciler.reconcile();
    expect(result.outcome).toBe('succeeded');
    expect(ops(r.cluster)).toEqual(['apply Job/migrate', 'apply Deployment/web']);
    const stored = r.store.get('app');
    expect(stored?.inventory.entries.map((e) => e.ref.kind)).toEqual(['Deployment']);
    expect(stored?.hooks?.['batch/Job/default/migrate']?.map((ref) => ref.name)).toEqual(['migrate']);
    const planned = r.events.find(([name]) => name === 'planned')?.[1] as {
      plan: { objects: PlannedObject[] };
    };
    expect(planned.plan.objects.map((o) => [o.ref.name, o.lifecycle?.phase, o.lifecycle?.hook])).toEqual([
      ['migrate', 'PreSync', true],
      ['web', 'Sync', false],
    ]);
  });

  it('applies waves in order and, with wait, each wave healthy before the next', async () => {
    const r = rig(
      {
        'c.yaml': waveConfigMap('c', 3),
        'a.yaml': waveConfigMap('a', 1),
        'b.yaml': waveConfigMap('b', 2),
      },
      { wait: true },
    );
    let readings = 0;
    // Wave 1 stays InProgress for two readings: wave 2 must not be written meanwhile.
    r.cluster.setHealth({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'default', name: 'a' }, () => {
      readings++;
      if (readings <= 2) {
        expect(r.cluster.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'default', name: 'b' })).toBe(
          undefined,
        );
        return 'InProgress';
      }
      return 'Current';
    });
    const result = await whileTimePasses(r.clock, r.reconciler.reconcile());
    expect(result.outcome).toBe('succeeded');
    expect(ops(r.cluster)).toEqual(['apply ConfigMap/a', 'apply ConfigMap/b', 'apply ConfigMap/c']);
    expect(readings).toBeGreaterThanOrEqual(3);
  });

  it('deletes a HookSucceeded Job after success and forgets it', async () => {
    const r = rig({
      'job.yaml': job('migrate', {
        'argocd.argoproj.io/hook': 'PreSync',
        'argocd.argoproj.io/hook-delete-policy': 'HookSucceeded',
      }),
      'a.yaml': configMap('a'),
    });
    expect((await r.reconciler.reconcile()).outcome).toBe('succeeded');
    expect(ops(r.cluster)).toEqual(['apply Job/migrate', 'delete Job/migrate', 'apply ConfigMap/a']);
    expect(r.cluster.get(jobRef('migrate'))).toBeUndefined();
    expect(r.store.get('app')?.hooks).toBeUndefined();
  });

  it('replaces a BeforeHookCreation hook on the next sync, and runs no hook when nothing syncs', async () => {
    const r = rig({
      'job.yaml': job('migrate', { 'argocd.argoproj.io/hook': 'PreSync' }),
      'a.yaml': configMap('a'),
    });
    await r.reconciler.reconcile();
    const firstUid = r.cluster.get(jobRef('migrate'))?.metadata.uid;
    r.cluster.clearOperations();
    // Nothing changed: a periodic pass runs no hook, and the hook stays out of the inventory.
    await r.reconciler.reconcile();
    expect(ops(r.cluster)).toEqual([]);
    expect(r.store.get('app')?.inventory.entries.map((e) => e.ref.kind)).toEqual(['ConfigMap']);
    r.source.setFile('a.yaml', configMap('a', 'v2')).commit({ message: 'v2' });
    expect((await r.reconciler.reconcile()).outcome).toBe('succeeded');
    expect(ops(r.cluster)).toEqual(['delete Job/migrate', 'apply Job/migrate', 'apply ConfigMap/a']);
    expect(r.cluster.get(jobRef('migrate'))?.metadata.uid).not.toBe(firstUid);
  });

  it('stops before any Sync write when a PreSync hook fails, and runs the SyncFail hook', async () => {
    const r = rig({
      'job.yaml': job('migrate', { 'argocd.argoproj.io/hook': 'PreSync' }),
      'fail.yaml': job('notify', { 'argocd.argoproj.io/hook': 'SyncFail' }),
      'web.yaml': deployment('web', 'nginx:1'),
    });
    r.cluster.setHealth(jobRef('migrate'), { status: 'Failed', message: 'BackoffLimitExceeded' });
    const result = await r.reconciler.reconcile();
    expect(result.outcome).toBe('failed');
    expect(result.error?.code).toBe(ErrorCodes.HookFailed);
    expect(result.message).toContain('PreSync wave 0');
    expect(result.message).toContain('SyncFail hooks ran');
    expect(ops(r.cluster)).toEqual(['apply Job/migrate', 'apply Job/notify']);
    // Still a first install next time: nothing owned was written or recorded.
    expect(r.store.get('app')?.inventory.entries ?? []).toEqual([]);
    expect(r.store.get('app')?.lastAppliedRevision).toBeUndefined();
  });

  it('runs Helm install hooks on install, upgrade hooks on upgrade, and delete hooks only on uninstall', async () => {
    const r = rig({
      'pre-install.yaml': job('pre-install', { 'helm.sh/hook': 'pre-install' }),
      'post-install.yaml': job('post-install', { 'helm.sh/hook': 'post-install' }),
      'pre-upgrade.yaml': job('pre-upgrade', { 'helm.sh/hook': 'pre-upgrade' }),
      'pre-delete.yaml': job('pre-delete', { 'helm.sh/hook': 'pre-delete' }),
      'a.yaml': configMap('a'),
    });
    await r.reconciler.reconcile();
    expect(ops(r.cluster)).toEqual(['apply Job/pre-install', 'apply ConfigMap/a', 'apply Job/post-install']);
    r.cluster.clearOperations();
    r.source.setFile('a.yaml', configMap('a', 'v2')).commit({ message: 'v2' });
    await r.reconciler.reconcile();
    expect(ops(r.cluster)).toEqual(['apply Job/pre-upgrade', 'apply ConfigMap/a']);
    r.cluster.clearOperations();
    const result = await r.reconciler.uninstall();
    expect(result.deleted.map((ref) => ref.name)).toEqual(['a']);
    expect(ops(r.cluster)).toEqual(['apply Job/pre-delete', 'delete ConfigMap/a']);
    expect(r.store.get('app')?.inventory.entries).toEqual([]);
  });

  it('gives a generateName hook a new object on every sync and deletes the recorded one first', async () => {
    const r = rig({
      'job.yaml': job('seed', { 'argocd.argoproj.io/hook': 'PostSync' }, { generate: true }),
      'a.yaml': configMap('a'),
    });
    await r.reconciler.reconcile();
    const first = r.cluster.list({ kind: 'Job' }).map((o) => o.metadata.name);
    expect(first).toHaveLength(1);
    expect(first[0]).toMatch(/^seed-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
    expect(r.store.get('app')?.hooks?.['batch/Job/default/seed-*']?.map((ref) => ref.name)).toEqual(first);
    r.source.setFile('a.yaml', configMap('a', 'v2')).commit({ message: 'v2' });
    await r.reconciler.reconcile();
    const second = r.cluster.list({ kind: 'Job' }).map((o) => o.metadata.name);
    expect(second).toHaveLength(1);
    expect(second[0]).not.toBe(first[0]);
    expect(r.store.get('app')?.hooks?.['batch/Job/default/seed-*']?.map((ref) => ref.name)).toEqual(second);
  });

  it('refuses generateName on an ordinary object, naming file and line', async () => {
    const r = rig({
      'a.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  generateName: a-\n  namespace: default\n',
    });
    const result = await r.reconciler.reconcile();
    expect(result.outcome).toBe('failed');
    expect(result.error?.code).toBe('RENDER_LIFECYCLE_GENERATE_NAME_NOT_HOOK');
    expect(result.message).toContain('a.yaml');
  });

  it('shows every object with its phase and wave in plan()', async () => {
    const r = rig({
      'job.yaml': job('migrate', {
        'argocd.argoproj.io/hook': 'PreSync',
        'argocd.argoproj.io/sync-wave': '-1',
      }),
      'a.yaml': waveConfigMap('a', 2),
      'drop.yaml': job('drop', { 'helm.sh/hook': 'pre-delete' }),
    });
    const plan = await r.reconciler.plan();
    expect(plan.objects.map((o) => [o.ref.name, o.lifecycle?.phase, o.lifecycle?.wave])).toEqual([
      ['a', 'Sync', 2],
      ['drop', undefined, 0],
      ['migrate', 'PreSync', -1],
    ]);
    expect(plan.objects[1]?.lifecycle?.notRun).toContain('on uninstall');
  });

  it('leaves an ordinary set on the apply path it always took', async () => {
    const clock = new ManualClock();
    const r = rig({ 'a.yaml': configMap('a'), 'b.yaml': configMap('b') }, {}, { clock });
    await r.reconciler.reconcile();
    expect(ops(r.cluster)).toEqual(['apply ConfigMap/a', 'apply ConfigMap/b']);
    expect(r.store.get('app')?.hooks).toBeUndefined();
  });
});

const waitOptions = { wait: true, rollback: true, healthPollInterval: 1_000, healthTimeout: 10_000 } as const;

/** The image of a live Deployment object's first container. */
function imageIn(object: KubeObject): unknown {
  const spec = object.spec as { template?: { spec?: { containers?: { image?: string }[] } } } | undefined;
  return spec?.template?.spec?.containers?.[0]?.image;
}

describe('Reconciler lifecycle on FakeCluster: rollback from history', () => {
  it('rolls a failed rollout back after a process restart, fetching the last healthy revision', async () => {
    const first = rig({ 'web.yaml': deployment('web', 'app:1') }, waitOptions);
    expect((await first.reconciler.reconcile()).outcome).toBe('succeeded');
    const good = first.source.head?.revision;
    await first.reconciler.stop();
    first.source.setFile('web.yaml', deployment('web', 'app:2')).commit({ message: 'bad' });
    first.cluster.setHealth((o) => imageIn(o) === 'app:2', 'Failed');
    // A new process: nothing in memory but the stored state.
    const second = rig(undefined, waitOptions, {
      clock: first.clock,
      source: first.source,
      cluster: first.cluster,
      store: first.store,
    });
    const result = await whileTimePasses(second.clock, second.reconciler.reconcile());
    expect(result.outcome).toBe('rolledBack');
    expect(result.appliedRevision).toBe(good);
    expect(imageOf(second.cluster, 'web')).toBe('app:1');
  });

  it('rollbackTo applies a revision from history, runs rollback hooks and holds it until a new revision', async () => {
    const r = rig({
      'web.yaml': deployment('web', 'app:1'),
      'hook.yaml': job('restore', { 'helm.sh/hook': 'pre-rollback' }),
    });
    await r.reconciler.reconcile();
    const v1 = r.source.head?.revision as string;
    r.source.setFile('web.yaml', deployment('web', 'app:2')).commit({ message: 'v2' });
    await r.reconciler.reconcile();
    expect(r.cluster.get(jobRef('restore'))).toBeUndefined();

    const rolled = await r.reconciler.rollbackTo(v1);
    expect(rolled.outcome).toBe('rolledBack');
    expect(rolled.appliedRevision).toBe(v1);
    expect(imageOf(r.cluster, 'web')).toBe('app:1');
    expect(r.cluster.get(jobRef('restore'))).toBeDefined();
    expect(r.store.get('app')?.pinned?.revision).toBe(v1);

    // Held while the source serves the same revision, across a restart too.
    const again = rig(
      undefined,
      {},
      { clock: r.clock, source: r.source, cluster: r.cluster, store: r.store },
    );
    expect((await again.reconciler.reconcile()).appliedRevision).toBe(v1);
    expect(imageOf(r.cluster, 'web')).toBe('app:1');

    // A new revision ends the hold.
    r.source.setFile('web.yaml', deployment('web', 'app:3')).commit({ message: 'v3' });
    const v3 = await again.reconciler.reconcile();
    expect(v3.appliedRevision).toBe(r.source.head?.revision);
    expect(imageOf(r.cluster, 'web')).toBe('app:3');
    expect(r.store.get('app')?.pinned).toBeUndefined();
  });

  it('release() ends a hold at once', async () => {
    const r = rig({ 'web.yaml': deployment('web', 'app:1') });
    await r.reconciler.reconcile();
    const v1 = r.source.head?.revision as string;
    r.source.setFile('web.yaml', deployment('web', 'app:2')).commit({ message: 'v2' });
    await r.reconciler.reconcile();
    await r.reconciler.rollbackTo(v1);
    await r.reconciler.release();
    expect(r.store.get('app')?.pinned).toBeUndefined();
    await r.reconciler.reconcile();
    expect(imageOf(r.cluster, 'web')).toBe('app:2');
  });

  it('reconcile({ revision }) applies exactly that revision, and refuses one the source cannot serve', async () => {
    const r = rig({ 'web.yaml': deployment('web', 'app:1') });
    const v1 = r.source.head?.revision as string;
    r.source.setFile('web.yaml', deployment('web', 'app:2')).commit({ message: 'v2' });
    const result = await r.reconciler.reconcile({ revision: v1 });
    expect(result.appliedRevision).toBe(v1);
    expect(imageOf(r.cluster, 'web')).toBe('app:1');
    const missing = await r.reconciler.reconcile({
      revision: 'main@sha1:0000000000000000000000000000000000000000',
    });
    expect(missing.outcome).toBe('failed');
    expect(missing.error?.code).toBe(ErrorCodes.SourceRevisionUnavailable);
    expect(imageOf(r.cluster, 'web')).toBe('app:1');
  });

  it('uninstall keeps objects marked helm.sh/resource-policy: keep and runs PostDelete hooks after the deletes', async () => {
    const keep =
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: keep\n  namespace: default\n  annotations:\n    helm.sh/resource-policy: keep\n';
    const r = rig({
      'a.yaml': configMap('a'),
      'keep.yaml': keep,
      'post.yaml': job('cleanup', { 'argocd.argoproj.io/hook': 'PostDelete' }),
    });
    await r.reconciler.reconcile();
    expect(r.cluster.get(jobRef('cleanup'))).toBeUndefined();
    r.cluster.clearOperations();
    const result = await r.reconciler.uninstall();
    expect(result.hooks).toBe(true);
    expect(result.kept.map((k) => [k.ref.name, k.reason])).toEqual([
      ['keep', 'helm.sh/resource-policy: keep'],
    ]);
    expect(ops(r.cluster)).toEqual(['delete ConfigMap/a', 'apply Job/cleanup']);
    expect(
      r.cluster.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'default', name: 'keep' }),
    ).toBeDefined();
    expect(r.store.get('app')?.lastAppliedRevision).toBeUndefined();
  });

  it('does not prune an object marked helm.sh/resource-policy: keep when it leaves the set, and releases it', async () => {
    const keep =
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: keep\n  namespace: default\n  annotations:\n    helm.sh/resource-policy: keep\n';
    const r = rig({ 'a.yaml': configMap('a'), 'keep.yaml': keep });
    await r.reconciler.reconcile();
    r.source.removeFile('keep.yaml').commit({ message: 'drop keep' });
    const result = await r.reconciler.reconcile();
    expect(result.pruned).toBe(0);
    expect(
      r.cluster.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'default', name: 'keep' }),
    ).toBeDefined();
    expect(r.store.get('app')?.inventory.entries.map((e) => e.ref.name)).toEqual(['a']);
  });

  it('fails at once, naming the object, when a hook would replace an object that is not ours', async () => {
    const r = rig({
      'job.yaml': job('migrate', { 'argocd.argoproj.io/hook': 'PreSync' }),
      'a.yaml': configMap('a'),
    });
    r.cluster.add({
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: 'migrate', namespace: 'default' },
    });
    const result = await r.reconciler.reconcile();
    expect(result.outcome).toBe('failed');
    expect(result.error?.code).toBe(ErrorCodes.HookFailed);
    expect(result.message).toContain('batch/v1 Job default/migrate');
    expect(r.cluster.get(cmRefA)).toBeUndefined();
  });

  it('keeps a hook written just before the process died recorded, and replaces it on the next run', async () => {
    const r = rig(
      { 'job.yaml': job('migrate', { 'argocd.argoproj.io/hook': 'PreSync' }), 'a.yaml': configMap('a') },
      {
        healthPollInterval: 1_000,
        healthTimeout: 60_000,
      },
    );
    r.cluster.setHealth(jobRef('migrate'), 'InProgress');
    const pass = r.reconciler.reconcile();
    // The fetch writes real files: wait (in real time) until the hook is written and polled.
    for (let i = 0; i < 400 && r.clock.pendingWaits === 0; i++)
      await new Promise((done) => setTimeout(done, 5));
    expect(r.cluster.get(jobRef('migrate'))).toBeDefined();
    await r.clock.advance(3_000);
    // The process goes away while the hook runs.
    await r.reconciler.stop();
    expect((await pass).outcome).toBe('failed');
    const uid = r.cluster.get(jobRef('migrate'))?.metadata.uid;
    expect(r.store.get('app')?.hooks?.['batch/Job/default/migrate']?.map((ref) => ref.name)).toEqual([
      'migrate',
    ]);
    expect(r.store.get('app')?.inventory.entries ?? []).toEqual([]);
    // A new process: the recorded hook is replaced (BeforeHookCreation), then the pass goes on.
    r.cluster.clearHealth();
    r.cluster.clearOperations();
    const next = rig(undefined, {}, { clock: r.clock, source: r.source, cluster: r.cluster, store: r.store });
    expect((await next.reconciler.reconcile()).outcome).toBe('succeeded');
    expect(ops(r.cluster)).toEqual(['delete Job/migrate', 'apply Job/migrate', 'apply ConfigMap/a']);
    expect(r.cluster.get(jobRef('migrate'))?.metadata.uid).not.toBe(uid);
  });

  it('emits waveApplied per step and hookCompleted per hook, with phase and wave', async () => {
    const r = rig({
      'job.yaml': job('migrate', { 'argocd.argoproj.io/hook': 'PreSync' }),
      'a.yaml': waveConfigMap('a', 1),
    });
    const seen: string[] = [];
    r.reconciler.on('waveApplied', (e) =>
      seen.push(`wave ${e.phase}/${e.wave} ${e.objects.map((o) => o.name).join(',')}`),
    );
    r.reconciler.on('hookCompleted', (e) =>
      seen.push(`hook ${e.ref.name} ${e.outcome} ${e.phase}/${e.wave}`),
    );
    await r.reconciler.reconcile();
    expect(seen).toEqual(['wave PreSync/0 migrate', 'hook migrate succeeded PreSync/0', 'wave Sync/1 a']);
  });

  it('never coalesces passes that ask for different revisions', async () => {
    const r = rig({ 'web.yaml': deployment('web', 'app:1') });
    const v1 = r.source.head?.revision as string;
    r.source.setFile('web.yaml', deployment('web', 'app:2')).commit({ message: 'v2' });
    const v2 = r.source.head?.revision as string;
    const [first, second, third] = await Promise.all([
      r.reconciler.reconcile(),
      r.reconciler.reconcile({ revision: v1 }),
      r.reconciler.reconcile(),
    ]);
    expect(first.appliedRevision).toBe(v2);
    expect(second.appliedRevision).toBe(v1);
    expect(third.appliedRevision).toBe(v2);
    expect(imageOf(r.cluster, 'web')).toBe('app:2');
  });

  it('never applies an argocd.argoproj.io/hook: Skip object, and does not prune it once it was owned', async () => {
    const r = rig({ 'a.yaml': configMap('a'), 'b.yaml': configMap('b') });
    await r.reconciler.reconcile();
    const skipped =
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b\n  namespace: default\n  annotations:\n    argocd.argoproj.io/hook: Skip\ndata:\n  key: v2\n';
    r.source.setFile('b.yaml', skipped).commit({ message: 'skip b' });
    r.cluster.clearOperations();
    const result = await r.reconciler.reconcile();
    expect(result.outcome).toBe('succeeded');
    expect(ops(r.cluster)).toEqual([]);
    expect(r.cluster.get({ ...cmRefA, name: 'b' })?.data).toEqual({ key: 'v1' });
    expect(
      r.store
        .get('app')
        ?.inventory.entries.map((e) => e.ref.name)
        .sort(),
    ).toEqual(['a', 'b']);
  });

  it('prunes highest wave first and PruneLast objects last, each batch gone before the next', async () => {
    const prunedLast =
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c-last\n  namespace: default\n  annotations:\n    argocd.argoproj.io/sync-wave: "5"\n    argocd.argoproj.io/sync-options: PruneLast=true\n';
    // Applied last (wave 5), so the reverse of apply order would prune it first: PruneLast wins.
    const r = rig({
      'a3.yaml': waveConfigMap('a3', 3),
      'b1.yaml': waveConfigMap('b1', 1),
      'c-last.yaml': prunedLast,
      'd2.yaml': waveConfigMap('d2', 2),
      'keep.yaml': configMap('keep'),
    });
    await r.reconciler.reconcile();
    expect(r.store.get('app')?.inventory.entries.find((e) => e.ref.name === 'a3')?.wave).toBe(3);
    for (const file of ['a3.yaml', 'b1.yaml', 'c-last.yaml', 'd2.yaml']) r.source.removeFile(file);
    r.source.commit({ message: 'only keep' });
    r.cluster.clearOperations();
    const result = await r.reconciler.reconcile();
    expect(result.outcome, result.message).toBe('succeeded');
    expect(result.pruned).toBe(4);
    expect(ops(r.cluster)).toEqual([
      'delete ConfigMap/a3',
      'delete ConfigMap/d2',
      'delete ConfigMap/b1',
      'delete ConfigMap/c-last',
    ]);
    expect(r.store.get('app')?.inventory.entries.map((e) => e.ref.name)).toEqual(['keep']);
  });
});

const cmRefA = { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'default', name: 'a' };
