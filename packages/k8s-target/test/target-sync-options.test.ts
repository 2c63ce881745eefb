import { ApplyError, type KubeObject, ValidationError } from '@gitops-kit/core';
import { describe, expect, it } from 'vitest';
import {
  call,
  configMap,
  corePath,
  emptyInventory,
  manifests,
  scriptedTarget,
  sync,
  withSyncOptions,
} from './support/objects.js';

/** A custom resource whose CRD is neither served nor in the set (a controller creates it). */
const constraint = (options?: string): KubeObject => {
  const object: KubeObject = {
    apiVersion: 'constraints.example.com/v1',
    kind: 'RequiredLabels',
    metadata: { name: 'must-have-owner', namespace: 'shop' },
    spec: { labels: ['owner'] },
  };
  return options ? withSyncOptions(object, options) : object;
};
const constraintPath = '/apis/constraints.example.com/v1/namespaces/shop/requiredlabels/must-have-owner';

describe('KubernetesTarget and per-object Argo CD sync options', () => {
  it('Validate=false sends fieldValidation=Ignore on that object’s dry-run and apply only', async () => {
    const { server, target } = scriptedTarget();
    await sync(target, [
      withSyncOptions(configMap('shop', 'loose'), 'Validate=false'),
      configMap('shop', 'strict'),
    ]);
    const loose = server.requests.filter((r) => r.path === corePath('configmaps', 'shop', 'loose'));
    expect(loose.map((r) => [r.method, r.dryRun, r.query.fieldValidation])).toEqual(
      expect.arrayContaining([
        ['PATCH', true, 'Ignore'],
        ['PATCH', false, 'Ignore'],
      ]),
    );
    const strict = server.requests.filter(
      (r) => r.path === corePath('configmaps', 'shop', 'strict') && r.method === 'PATCH',
    );
    expect(strict).toHaveLength(2);
    expect(strict.every((r) => r.query.fieldValidation === undefined)).toBe(true);
  });

  it('Replace=true creates with a POST when absent and replaces with a PUT at the live resourceVersion', async () => {
    const { server, target } = scriptedTarget();
    const path = corePath('configmaps', 'shop', 'cfg');
    const first = await sync(target, [withSyncOptions(configMap('shop', 'cfg', { a: '1' }), 'Replace=true')]);
    expect(server.writes()).toEqual(['POST /api/v1/namespaces/shop/configmaps']);
    const created = server.get(path);
    expect(created?.data).toEqual({ a: '1' });
    expect(created?.metadata.labels?.['gitops-kit.dev/owner']).toBeDefined();

    // Another writer adds a key: a replace drops what the manifest does not declare.
    server.seed(path, { ...(created as KubeObject), data: { a: '1', extra: 'theirs' } });
    const liveVersion = server.get(path)?.metadata.resourceVersion;
    server.requests.length = 0;
    await sync(
      target,
      [withSyncOptions(configMap('shop', 'cfg', { a: '2' }), 'Replace=true')],
      first.inventory,
    );
    expect(server.writes()).toEqual([`PUT ${path}`]);
    const put = server.requests.find((r) => r.method === 'PUT' && !r.dryRun);
    expect((put?.body as KubeObject | undefined)?.metadata.resourceVersion).toBe(liveVersion);
    expect(server.requests.some((r) => r.method === 'PATCH')).toBe(false);
    const replaced = server.get(path);
    expect(replaced?.data).toEqual({ a: '2' });
    expect(replaced?.metadata.annotations?.['gitops-kit.dev/owner-name']).toBe('shop');
  });

  it('without SkipDryRunOnMissingResource a kind nobody serves refuses the set', async () => {
    const { target } = scriptedTarget();
    await expect(target.plan(manifests([constraint()]), emptyInventory, call())).rejects.toBeInstanceOf(
      ValidationError,
    );
  });

  it('SkipDryRunOnMissingResource=true skips the dry-run of an unserved kind and writes it once served', async () => {
    const { server, target } = scriptedTarget();
    const plan = await target.plan(
      manifests([constraint('SkipDryRunOnMissingResource=true'), configMap('shop', 'cfg')]),
      emptyInventory,
      call(),
    );
    expect(plan.objects.find((o) => o.ref.kind === 'RequiredLabels')?.action).toBe('create');
    await target.validate(plan, call());
    expect(server.dryRuns()).toEqual([corePath('configmaps', 'shop', 'cfg')]);

    // Its CRD appears before the write (a controller created it).
    server.discovery['/apis/constraints.example.com/v1'] = [
      { name: 'requiredlabels', kind: 'RequiredLabels', namespaced: true },
    ];
    await target.apply(plan, call());
    expect(server.writes()).toContain(`PATCH ${constraintPath}`);
    expect(server.dryRuns()).not.toContain(constraintPath);
  });

  it('SkipDryRunOnMissingResource=true still fails at the write, clearly, when the kind never appears', async () => {
    const { target } = scriptedTarget();
    const plan = await target.plan(
      manifests([constraint('SkipDryRunOnMissingResource=true')]),
      emptyInventory,
      call(),
    );
    await target.validate(plan, call());
    const error = await target.apply(plan, call()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApplyError);
    expect((error as Error).message).toMatch(
      /RequiredLabels.*SkipDryRunOnMissingResource=true.*still not served/s,
    );
  });

  it('ServerSideApply=true and ServerSideApply=false are read without failing; the write stays a server-side apply', async () => {
    const { server, target } = scriptedTarget();
    await sync(target, [
      withSyncOptions(configMap('shop', 'a'), 'ServerSideApply=true'),
      withSyncOptions(configMap('shop', 'b'), 'ServerSideApply=false'),
    ]);
    expect(server.writes()).toEqual([
      `PATCH ${corePath('configmaps', 'shop', 'a')}`,
      `PATCH ${corePath('configmaps', 'shop', 'b')}`,
    ]);
  });
});
