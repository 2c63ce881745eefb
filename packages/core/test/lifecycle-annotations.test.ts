import {
  describeLifecycle,
  LifecycleErrorCodes,
  type LifecycleOperation,
  RenderError,
  readDeletePolicies,
  readHooks,
  readKeepPolicy,
  readSyncOptions,
  readWave,
} from '@gitops-kit/core';
import { describe, expect, it } from 'vitest';
import { manifestAt, obj } from './lifecycle-support.js';

const where = { file: 'app.yaml', line: 3, object: 'batch/v1 Job shop/migrate' };

function thrown(run: () => unknown): RenderError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(RenderError);
    return error as RenderError;
  }
  throw new Error('expected a RenderError, nothing was thrown');
}

describe('argocd.argoproj.io/hook', () => {
  it('reads every Argo CD hook type, comma lists with spaces, deduplicated', () => {
    const hooks = readHooks({ 'argocd.argoproj.io/hook': 'PreSync, PostSync,PreSync' }, where);
    expect(hooks.argo).toEqual(['PreSync', 'PostSync']);
    for (const type of ['PreSync', 'Sync', 'PostSync', 'SyncFail', 'PreDelete', 'PostDelete', 'Skip']) {
      expect(readHooks({ 'argocd.argoproj.io/hook': type }, where).argo).toEqual([type]);
    }
  });

  it('is case-sensitive like Argo CD: a wrong case is an error with a hint, not a hook that never runs', () => {
    const error = thrown(() => readHooks({ 'argocd.argoproj.io/hook': 'presync' }, where));
    expect(error.code).toBe(LifecycleErrorCodes.InvalidHook);
    expect(error.message).toContain('did you mean PreSync?');
    expect(error.message).toMatch(/^app\.yaml:3 batch\/v1 Job shop\/migrate: /);
  });

  it('refuses an unknown or empty hook value', () => {
    expect(thrown(() => readHooks({ 'argocd.argoproj.io/hook': 'BeforeSync' }, where)).code).toBe(
      LifecycleErrorCodes.InvalidHook,
    );
    expect(thrown(() => readHooks({ 'argocd.argoproj.io/hook': ' , ' }, where)).message).toContain(
      'is empty',
    );
  });

  it('ignores helm.sh/hook when an Argo CD hook type is set, as Argo CD does', () => {
    const hooks = readHooks({ 'argocd.argoproj.io/hook': 'Sync', 'helm.sh/hook': 'pre-install' }, where);
    expect(hooks).toEqual({ argo: ['Sync'], helm: [], helmCrdInstall: false });
  });
});

describe('helm.sh/hook', () => {
  it('reads every Helm event, trimmed and lowercased as Helm does, test-success as test', () => {
    const hooks = readHooks({ 'helm.sh/hook': ' Pre-Install ,post-install, test-success' }, where);
    expect(hooks.helm).toEqual(['pre-install', 'post-install', 'test']);
    const all =
      'pre-install,post-install,pre-upgrade,post-upgrade,pre-delete,post-delete,pre-rollback,post-rollback,test';
    expect(readHooks({ 'helm.sh/hook': all }, where).helm).toEqual(all.split(','));
  });

  it('refuses an unknown event (Helm would drop the whole object silently)', () => {
    const error = thrown(() => readHooks({ 'helm.sh/hook': 'pre-install,pre-instal' }, where));
    expect(error.code).toBe(LifecycleErrorCodes.InvalidHook);
    expect(error.message).toContain('"pre-instal"');
  });

  it("treats Helm 2's crd-install alone as an ordinary object, as Argo CD does", () => {
    expect(readHooks({ 'helm.sh/hook': 'crd-install' }, where)).toEqual({
      argo: [],
      helm: [],
      helmCrdInstall: true,
    });
    const crd = describeLifecycle(
      manifestAt(obj('CustomResourceDefinition', 'widgets.example.com', { 'helm.sh/hook': 'crd-install' })),
      'install',
    );
    expect(crd).toMatchObject({ hook: false, phases: ['Sync'] });
  });
});

describe('sync-wave and hook-weight', () => {
  it('reads integers, negative and signed, default 0', () => {
    expect(readWave({}, where)).toBe(0);
    expect(readWave({ 'argocd.argoproj.io/sync-wave': '5' }, where)).toBe(5);
    expect(readWave({ 'argocd.argoproj.io/sync-wave': '-2' }, where)).toBe(-2);
    expect(readWave({ 'argocd.argoproj.io/sync-wave': '+3' }, where)).toBe(3);
    expect(readWave({ 'helm.sh/hook-weight': '-5' }, where)).toBe(-5);
  });

  it('prefers the Argo CD wave over the Helm weight', () => {
    expect(readWave({ 'argocd.argoproj.io/sync-wave': '1', 'helm.sh/hook-weight': '9' }, where)).toBe(1);
  });

  it.each(['one', '1.5', ' 1', '', '1e3', '99999999999999999999'])('refuses the wave %j', (value) => {
    const error = thrown(() => readWave({ 'argocd.argoproj.io/sync-wave': value }, where));
    expect(error.code).toBe(LifecycleErrorCodes.InvalidWave);
    expect(error.message).toContain('argocd.argoproj.io/sync-wave must be an integer');
  });

  it('refuses a non-integer hook weight', () => {
    expect(thrown(() => readWave({ 'helm.sh/hook-weight': 'high' }, where)).code).toBe(
      LifecycleErrorCodes.InvalidWave,
    );
  });

  it('says to quote an unquoted YAML number', () => {
    const error = thrown(() => readWave({ 'argocd.argoproj.io/sync-wave': 1 }, where));
    expect(error.code).toBe(LifecycleErrorCodes.AnnotationNotString);
    expect(error.message).toContain('quote it: "1"');
  });
});

describe('hook delete policies', () => {
  it('defaults to BeforeHookCreation', () => {
    expect(readDeletePolicies({}, where)).toEqual(['BeforeHookCreation']);
    expect(readDeletePolicies({ 'argocd.argoproj.io/hook-delete-policy': '' }, where)).toEqual([
      'BeforeHookCreation',
    ]);
  });

  it('reads Argo CD and Helm policies together, as Argo CD merges them', () => {
    expect(
      readDeletePolicies(
        {
          'argocd.argoproj.io/hook-delete-policy': 'HookSucceeded,HookFailed',
          'helm.sh/hook-delete-policy': 'Before-Hook-Creation, hook-succeeded',
        },
        where,
      ),
    ).toEqual(['HookSucceeded', 'HookFailed', 'BeforeHookCreation']);
    expect(readDeletePolicies({ 'argocd.argoproj.io/hook-delete-policy': 'Never' }, where)).toEqual([
      'Never',
    ]);
  });

  it('refuses an unknown policy', () => {
    const argo = thrown(() =>
      readDeletePolicies({ 'argocd.argoproj.io/hook-delete-policy': 'hooksucceeded' }, where),
    );
    expect(argo.code).toBe(LifecycleErrorCodes.InvalidDeletePolicy);
    expect(argo.message).toContain('did you mean HookSucceeded?');
    const helm = thrown(() => readDeletePolicies({ 'helm.sh/hook-delete-policy': 'on-success' }, where));
    expect(helm.code).toBe(LifecycleErrorCodes.InvalidDeletePolicy);
  });
});

describe('argocd.argoproj.io/sync-options', () => {
  it('has Argo CD defaults without the annotation', () => {
    // Prunable, deletable, applied (server-side per the target's default), dry-run and validated.
    const o = readSyncOptions({}, where);
    expect([o.prune, o.delete, o.serverSideApply, o.validate, o.ignored]).toEqual([
      'allow',
      'allow',
      undefined,
      true,
      [],
    ]);
    expect([o.replace, o.force, o.skipDryRunOnMissingResource, o.pruneLast]).toEqual([
      false,
      false,
      false,
      false,
    ]);
  });

  it('reads every per-object option, trimmed', () => {
    const options = readSyncOptions(
      {
        'argocd.argoproj.io/sync-options':
          'Prune=false, Delete=false,Replace=true,Force=true,ServerSideApply=true,SkipDryRunOnMissingResource=true,Validate=false,PruneLast=true',
      },
      where,
    );
    expect(options).toEqual({
      prune: 'disabled',
      delete: 'disabled',
      replace: true,
      force: true,
      serverSideApply: true,
      skipDryRunOnMissingResource: true,
      validate: false,
      pruneLast: true,
      ignored: [],
    });
    expect(
      readSyncOptions(
        { 'argocd.argoproj.io/sync-options': 'Prune=confirm,Delete=confirm,ServerSideApply=false' },
        where,
      ),
    ).toMatchObject({
      prune: 'confirm',
      delete: 'confirm',
      serverSideApply: false,
    });
  });

  it('records Application-level options as ignored, as Argo CD ignores them on an object', () => {
    expect(
      readSyncOptions({ 'argocd.argoproj.io/sync-options': 'CreateNamespace=true,Prune=false' }, where),
    ).toMatchObject({
      prune: 'disabled',
      ignored: ['CreateNamespace=true'],
    });
  });

  it('refuses a malformed entry, a bad value and a known key in the wrong case', () => {
    const cases: [string, string][] = [
      ['Prune', 'is not Key=value'],
      ['Prune=no', 'Prune takes true, false, confirm, found "no"'],
      ['Replace=yes', 'Replace takes true, false'],
      ['prune=false', 'did you mean Prune?'],
    ];
    for (const [value, message] of cases) {
      const error = thrown(() => readSyncOptions({ 'argocd.argoproj.io/sync-options': value }, where));
      expect(error.code).toBe(LifecycleErrorCodes.InvalidSyncOption);
      expect(error.message).toContain(message);
    }
  });
});

describe('helm.sh/resource-policy', () => {
  it('reads keep, trimmed and lowercased as Helm does', () => {
    expect(readKeepPolicy({}, where)).toBe(false);
    expect(readKeepPolicy({ 'helm.sh/resource-policy': ' Keep ' }, where)).toBe(true);
  });

  it('refuses any other value', () => {
    expect(thrown(() => readKeepPolicy({ 'helm.sh/resource-policy': 'retain' }, where)).code).toBe(
      LifecycleErrorCodes.InvalidResourcePolicy,
    );
  });
});

describe('describeLifecycle', () => {
  const sync: LifecycleOperation[] = ['install', 'upgrade', 'rollback'];

  it('runs an ordinary object in Sync, wave from its annotation, with no delete policies', () => {
    for (const operation of sync) {
      const lifecycle = describeLifecycle(
        manifestAt(
          obj('ConfigMap', 'settings', { 'argocd.argoproj.io/sync-wave': '2' }, { namespace: 'shop' }),
        ),
        operation,
      );
      expect(lifecycle).toMatchObject({
        phases: ['Sync'],
        wave: 2,
        hook: false,
        skip: false,
        deletePolicies: [],
        keep: false,
        name: { assignedBy: 'manifest', name: 'settings' },
      });
    }
  });

  it('maps Argo CD hook types to phases in pass order, delete hooks only on uninstall', () => {
    const job = manifestAt(
      obj('Job', 'check', { 'argocd.argoproj.io/hook': 'PostSync,PreSync,SyncFail,PostDelete' }),
    );
    expect(describeLifecycle(job, 'upgrade')).toMatchObject({
      hook: true,
      hookSource: 'argocd',
      phases: ['PreSync', 'PostSync', 'SyncFail'],
      deletePolicies: ['BeforeHookCreation'],
    });
    expect(describeLifecycle(job, 'uninstall').phases).toEqual(['PostDelete']);
    // A rollback is a sync of an earlier revision: Argo CD hooks run as on any sync.
    expect(describeLifecycle(job, 'rollback').phases).toEqual(['PreSync', 'PostSync', 'SyncFail']);
    expect(describeLifecycle(job, 'install').phases).toEqual(['PreSync', 'PostSync', 'SyncFail']);
    const preDelete = describeLifecycle(
      manifestAt(obj('Job', 'drain', { 'argocd.argoproj.io/hook': 'PreDelete' })),
      'install',
    );
    expect(preDelete).toMatchObject({
      hook: true,
      phases: [],
      reason: 'Argo CD PreDelete hook: runs only on uninstall',
    });
  });

  it('maps Helm events onto phases by operation', () => {
    const expected: Record<LifecycleOperation, Record<string, string[]>> = {
      install: { 'pre-install': ['PreSync'], 'post-install': ['PostSync'] },
      upgrade: { 'pre-upgrade': ['PreSync'], 'post-upgrade': ['PostSync'] },
      rollback: { 'pre-rollback': ['PreSync'], 'post-rollback': ['PostSync'] },
      uninstall: { 'pre-delete': ['PreDelete'], 'post-delete': ['PostDelete'] },
    };
    const events = [
      'pre-install',
      'post-install',
      'pre-upgrade',
      'post-upgrade',
      'pre-rollback',
      'post-rollback',
      'pre-delete',
      'post-delete',
      'test',
    ];
    for (const [operation, runs] of Object.entries(expected) as [
      LifecycleOperation,
      Record<string, string[]>,
    ][]) {
      for (const event of events) {
        const lifecycle = describeLifecycle(
          manifestAt(obj('Job', 'hook', { 'helm.sh/hook': event })),
          operation,
        );
        expect(lifecycle.hook).toBe(true);
        expect(lifecycle.hookSource).toBe('helm');
        expect(lifecycle.phases, `${event} on ${operation}`).toEqual(runs[event] ?? []);
      }
    }
  });

  it('says why a Helm hook does not run now', () => {
    const preDelete = describeLifecycle(
      manifestAt(obj('Job', 'cleanup', { 'helm.sh/hook': 'pre-delete' })),
      'install',
    );
    expect(preDelete.reason).toBe('Helm pre-delete hook: runs on uninstall');
    const test = describeLifecycle(manifestAt(obj('Pod', 'smoke', { 'helm.sh/hook': 'test' })), 'upgrade');
    expect(test.reason).toBe('Helm test hook: runs by `helm test`, never on a sync');
  });

  it('skips an Argo CD Skip object on every operation; Skip next to other types is ignored', () => {
    const skip = describeLifecycle(
      manifestAt(obj('ConfigMap', 'manual', { 'argocd.argoproj.io/hook': 'Skip' })),
      'upgrade',
    );
    expect(skip).toMatchObject({
      skip: true,
      hook: false,
      phases: [],
      reason: 'argocd.argoproj.io/hook: Skip',
    });
    const mixed = describeLifecycle(
      manifestAt(obj('Job', 'seed', { 'argocd.argoproj.io/hook': 'Skip,PreSync' })),
      'upgrade',
    );
    expect(mixed).toMatchObject({ skip: false, hook: true, phases: ['PreSync'], hookTypes: ['PreSync'] });
  });

  it('does not apply ordinary objects on uninstall', () => {
    const lifecycle = describeLifecycle(manifestAt(obj('ConfigMap', 'settings')), 'uninstall');
    expect(lifecycle).toMatchObject({
      phases: [],
      hook: false,
      reason: 'an ordinary object is deleted, not applied, on uninstall',
    });
  });

  it('gives a generateName hook a name assigned by the server', () => {
    const lifecycle = describeLifecycle(
      manifestAt(obj('Job', 'schema-migrate-', { 'argocd.argoproj.io/hook': 'PreSync' })),
      'install',
    );
    expect(lifecycle.name).toEqual({ assignedBy: 'server', generateName: 'schema-migrate-' });
  });

  it('refuses generateName on an ordinary object, naming file, line and object, and saying why', () => {
    const manifest = manifestAt(
      obj('ConfigMap', 'settings-', {}, { namespace: 'shop' }),
      2,
      'base/config.yaml',
    );
    const error = thrown(() => describeLifecycle(manifest, 'install'));
    expect(error.code).toBe(LifecycleErrorCodes.GenerateNameNotHook);
    expect(error.location).toEqual({
      file: 'base/config.yaml',
      documentIndex: 2,
      line: 21,
      object: 'v1 ConfigMap shop/settings-*',
    });
    expect(error.message).toMatch(/^base\/config\.yaml:21 \(document 2\) v1 ConfigMap shop\/settings-\*: /);
    expect(error.message).toContain('stable name');
  });

  it('lets a Skip object keep its generateName: it is never applied', () => {
    const lifecycle = describeLifecycle(
      manifestAt(obj('Pod', 'debug-', { 'argocd.argoproj.io/hook': 'Skip' })),
      'install',
    );
    expect(lifecycle.skip).toBe(true);
  });

  it('reads the keep policy and sync options of an ordinary object', () => {
    const lifecycle = describeLifecycle(
      manifestAt(
        obj('PersistentVolumeClaim', 'data', {
          'helm.sh/resource-policy': 'keep',
          'argocd.argoproj.io/sync-options': 'Prune=false',
        }),
      ),
      'upgrade',
    );
    expect(lifecycle.keep).toBe(true);
    expect(lifecycle.syncOptions.prune).toBe('disabled');
  });

  it('names the object of a bad annotation', () => {
    const manifest = manifestAt(
      obj('Deployment', 'web', { 'argocd.argoproj.io/sync-wave': 'first' }, { namespace: 'shop' }),
      1,
    );
    const error = thrown(() => describeLifecycle(manifest, 'install'));
    expect(error.code).toBe(LifecycleErrorCodes.InvalidWave);
    expect(error.message).toBe(
      'app.yaml:11 (document 1) apps/v1 Deployment shop/web: argocd.argoproj.io/sync-wave must be an integer, found "first"',
    );
  });
});
