import type { KubeObject } from '@gitops-kit/core';
import { describe, expect, it } from 'vitest';
import { createContext } from '../src/context.js';
import { applyBody, declaredOf, driftView, withApplyBody } from '../src/drift-rules.js';
import type { KubernetesTargetOptions } from '../src/options.js';
import type { Prepared } from '../src/prepare.js';
import { scriptedTarget } from './support/objects.js';

function prepared(body: KubeObject): Prepared {
  return {
    body,
    ref: { apiVersion: body.apiVersion, kind: body.kind, name: body.metadata.name },
  } as Prepared;
}

const desired: KubeObject = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web', namespace: 'shop', annotations: {} },
  spec: { replicas: 3, paused: false, template: { spec: { containers: [{ name: 'app', image: 'a:1' }] } } },
};

function live(managedFields: unknown[], replicas = 3): KubeObject {
  return {
    ...desired,
    metadata: { ...desired.metadata, managedFields },
    spec: { ...(desired.spec as object), replicas },
  };
}

const ours = {
  manager: 'gitops-kit',
  operation: 'Apply',
  fieldsV1: { 'f:spec': { 'f:replicas': {}, 'f:paused': {} } },
};
const hpa = {
  manager: 'hpa',
  operation: 'Update',
  subresource: 'scale',
  fieldsV1: { 'f:spec': { 'f:replicas': {} } },
};

function context(options: Partial<KubernetesTargetOptions>) {
  const { target } = scriptedTarget();
  return createContext({ name: 'shop', client: target.client, ...options });
}

describe('drift rules: what the apply sends', () => {
  const ignoreReplicas = context({ ignore: [{ paths: ['/spec/replicas'] }] });

  it('a create sends the whole body: nobody else owns anything yet', () => {
    const item = prepared(desired);
    const view = driftView(ignoreReplicas, item, undefined);
    expect(applyBody(ignoreReplicas, item, undefined, view)).toBe(desired);
  });

  it('an ignored field another manager owns is not sent, so it keeps it', () => {
    const current = live([ours, hpa], 7);
    const item = prepared(desired);
    const view = driftView(ignoreReplicas, item, current);
    expect(view.compared.spec).not.toHaveProperty('replicas');
    expect(applyBody(ignoreReplicas, item, current, view).spec).not.toHaveProperty('replicas');
  });

  it('an ignored field we alone own is sent at its live value: omitting it would delete it', () => {
    const current = live([ours], 5);
    const item = prepared(desired);
    const view = driftView(ignoreReplicas, item, current);
    expect(applyBody(ignoreReplicas, item, current, view).spec).toHaveProperty('replicas', 5);
  });

  it('a Replace=true object sends every ignored field at its live value: a PUT removes what it leaves out', () => {
    const replaced = {
      ...prepared(desired),
      writeOptions: { replace: true, validate: true, skipDryRunOnMissingResource: false },
    } as Prepared;
    const current = live([ours, hpa], 7);
    const byPath = applyBody(ignoreReplicas, replaced, current, driftView(ignoreReplicas, replaced, current));
    expect(byPath.spec).toHaveProperty('replicas', 7);
    // Fields of an ignored manager the source does not declare at all are kept too.
    const undeclared = { ...replaced, body: { ...desired, spec: { paused: false } } } as Prepared;
    const byManager = context({ ignore: [{ managers: ['hpa'] }] });
    const view = driftView(byManager, undeclared, current);
    expect(applyBody(byManager, undeclared, current, view).spec).toEqual({ paused: false, replicas: 7 });
  });

  it('the body sent for a live object remembers the declared one (a repair that creates starts from it)', () => {
    const item = prepared(desired);
    const sent = withApplyBody(ignoreReplicas, item, live([ours, hpa], 7));
    expect(sent.body.spec).not.toHaveProperty('replicas');
    expect(declaredOf(sent)).toBe(item);
    expect(declaredOf(item)).toBe(item);
  });

  it('Merge leaves every field another manager owns (here the scale entry’s replicas)', () => {
    const plain = context({});
    const merged = prepared({
      ...desired,
      metadata: { ...desired.metadata, annotations: { 'kustomize.toolkit.fluxcd.io/ssa': 'Merge' } },
    });
    const view = driftView(plain, merged, live([ours, hpa], 7));
    expect(view.policy).toBe('Merge');
    expect(view.ignored.desired).toEqual(['/spec/replicas']);
    expect(view.ignored.used).toEqual([]);
    expect(driftView(plain, prepared(desired), live([ours, hpa], 7)).ignored.desired).toEqual([]);
  });
});
