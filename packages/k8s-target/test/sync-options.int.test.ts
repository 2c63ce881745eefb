import { ApplyError, emptyInventory } from '@gitops-kit/core';
import { OWNER_LABEL, ownerLabelValue } from '@gitops-kit/k8s-target';
import { describe, expect, it } from 'vitest';
import { configMap, getObject, kubeTarget, manifests, namespace, sync, uniqueName } from './kube-helpers.js';
import { withSyncOptions } from './support/objects.js';

const signal = (): AbortSignal => AbortSignal.timeout(60_000);

describe('Argo CD per-object sync options (real apiserver)', () => {
  it('SkipDryRunOnMissingResource=true: validated without its CRD, written once someone else installed it', async () => {
    const { target, admin } = await kubeTarget();
    const ns = uniqueName('skipdry');
    const group = `${uniqueName('g')}.example.com`;
    const gadget = withSyncOptions(
      {
        apiVersion: `${group}/v1`,
        kind: 'Gadget',
        metadata: { name: 'g1', namespace: ns },
        spec: { size: 2 },
      },
      'SkipDryRunOnMissingResource=true',
    );
    await sync(target, [namespace(ns)], emptyInventory);
    const plan = await target.plan(manifests([namespace(ns), gadget]), emptyInventory, { signal: signal() });
    await target.validate(plan, { signal: signal() });

    // Another party (a controller, another app) installs the CRD between validate and apply.
    const crdPath = `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/gadgets.${group}`;
    await admin.request({
      method: 'POST',
      path: '/apis/apiextensions.k8s.io/v1/customresourcedefinitions',
      body: {
        apiVersion: 'apiextensions.k8s.io/v1',
        kind: 'CustomResourceDefinition',
        metadata: { name: `gadgets.${group}` },
        spec: {
          group,
          scope: 'Namespaced',
          names: { plural: 'gadgets', singular: 'gadget', kind: 'Gadget', listKind: 'GadgetList' },
          versions: [
            {
              name: 'v1',
              served: true,
              storage: true,
              schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
            },
          ],
        },
      },
    });
    const deadline = Date.now() + 30_000;
    for (;;) {
      const crd = await getObject(admin, crdPath);
      const conditions = (crd?.status as { conditions?: { type: string; status: string }[] } | undefined)
        ?.conditions;
      if (conditions?.some((c) => c.type === 'Established' && c.status === 'True')) break;
      if (Date.now() > deadline) throw new Error('CRD not Established');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await target.apply(plan, { signal: signal() });
    const live = await getObject(admin, `/apis/${group}/v1/namespaces/${ns}/gadgets/g1`);
    expect(live?.spec).toEqual({ size: 2 });
    expect(live?.metadata.labels?.[OWNER_LABEL]).toBe(ownerLabelValue(target.name));
  });

  it('SkipDryRunOnMissingResource=true: a kind that never appears fails at its write, saying so', async () => {
    const { target } = await kubeTarget();
    const ghost = withSyncOptions(
      { apiVersion: 'never.example.com/v1', kind: 'Ghost', metadata: { name: 'g', namespace: 'default' } },
      'SkipDryRunOnMissingResource=true',
    );
    const error = await sync(target, [ghost], emptyInventory).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApplyError);
    expect((error as Error).message).toMatch(/Ghost.*SkipDryRunOnMissingResource=true/s);
  });

  it('Replace=true: created, then replaced whole at the live resourceVersion, dropping fields another manager set', async () => {
    const { target, admin } = await kubeTarget();
    const ns = uniqueName('replace');
    const path = `/api/v1/namespaces/${ns}/configmaps/cfg`;
    const first = await sync(
      target,
      [namespace(ns), withSyncOptions(configMap(ns, 'cfg', { a: '1' }), 'Replace=true')],
      emptyInventory,
    );
    expect((await getObject(admin, path))?.data).toEqual({ a: '1' });

    // Another field manager adds a key.
    await admin.request({
      method: 'PATCH',
      path,
      query: { fieldManager: 'someone-else' },
      body: {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'cfg', namespace: ns },
        data: { other: 'x' },
      },
      contentType: 'application/apply-patch+yaml',
    });
    expect((await getObject(admin, path))?.data).toEqual({ a: '1', other: 'x' });

    await sync(
      target,
      [namespace(ns), withSyncOptions(configMap(ns, 'cfg', { a: '2' }), 'Replace=true')],
      first.inventory,
    );
    const live = await getObject(admin, path);
    expect(live?.data).toEqual({ a: '2' });
    expect(live?.metadata.labels?.[OWNER_LABEL]).toBe(ownerLabelValue(target.name));
  });
});
