import type { IgnoreRule, KubeObject } from '@gitops-kit/core';
import { describe, expect, it } from 'vitest';
import type { TargetContext } from '../src/context.js';
import type { Prepared } from '../src/prepare.js';
import { KUBECTL_TAKEOVER, resolveTakeOver, takeOverOf } from '../src/takeover.js';

/** The rules of taking over what kubectl wrote, on plain objects. */

function context(ignore: IgnoreRule[] = []): TargetContext {
  return { takeOver: KUBECTL_TAKEOVER, ignore, fieldManager: 'gitops-kit' } as unknown as TargetContext;
}

const desired = (annotations: Record<string, string> = {}): Prepared =>
  ({
    body: {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'c', namespace: 'n', annotations },
      data: { a: '1' },
    },
  }) as unknown as Prepared;

function live(managedFields: unknown[], annotations?: Record<string, string>): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'c', namespace: 'n', managedFields, ...(annotations ? { annotations } : {}) },
    data: { a: '1', b: '2' },
  } as KubeObject;
}

const entry = (manager: string, operation: string, fields: Record<string, unknown>, extra = {}) => ({
  manager,
  operation,
  apiVersion: 'v1',
  fieldsType: 'FieldsV1',
  fieldsV1: fields,
  ...extra,
});

describe('takeOverOf', () => {
  it("renames kubectl's entries to ours as Apply, merging them with our own, and removes the annotation", () => {
    const object = live(
      [
        entry('gitops-kit', 'Apply', { 'f:data': { 'f:a': {} } }, { time: '2026-01-01T00:00:00Z' }),
        entry('kubectl-edit', 'Update', { 'f:data': { 'f:b': {} } }, { time: '2026-02-01T00:00:00Z' }),
        entry('kubectl', 'Update', { 'f:status': {} }, { subresource: 'status' }),
        entry('hpa-controller', 'Update', { 'f:spec': {} }),
      ],
      { 'kubectl.kubernetes.io/last-applied-configuration': '{}', keep: 'yes' },
    );
    const taken = takeOverOf(context(), desired(), object);
    expect(taken?.managers).toEqual(['kubectl-edit']);
    expect(taken?.patch).toEqual([
      {
        op: 'replace',
        path: '/metadata/managedFields',
        value: [
          entry(
            'gitops-kit',
            'Apply',
            { 'f:data': { 'f:a': {}, 'f:b': {} } },
            { time: '2026-02-01T00:00:00Z' },
          ),
          entry('kubectl', 'Update', { 'f:status': {} }, { subresource: 'status' }),
          entry('hpa-controller', 'Update', { 'f:spec': {} }),
        ],
      },
      { op: 'remove', path: '/metadata/annotations/kubectl.kubernetes.io~1last-applied-configuration' },
    ]);
    expect(taken?.live.metadata.annotations).toEqual({ keep: 'yes' });
  });

  it('takes nothing from an object without kubectl entries, a Merge object or one an ignore rule touches', () => {
    const edited = live([entry('kubectl-edit', 'Update', { 'f:data': { 'f:b': {} } })]);
    expect(takeOverOf(context(), desired(), live([entry('other', 'Update', {})]))).toBeUndefined();
    expect(takeOverOf(context(), desired({ 'gitops-kit.dev/ssa': 'Merge' }), edited)).toBeUndefined();
    expect(takeOverOf(context([{ paths: ['/data/b'] }]), desired(), edited)).toBeUndefined();
    expect(
      takeOverOf(context([{ paths: ['/data/b'], target: { kind: 'Secret' } }]), desired(), edited),
    ).toBeDefined();
  });

  it('is off unless asked; true is Flux’s defaults and a partial option keeps the rest', () => {
    expect(resolveTakeOver(undefined)).toBeUndefined();
    expect(resolveTakeOver(false)).toBeUndefined();
    expect(resolveTakeOver(true)).toBe(KUBECTL_TAKEOVER);
    expect(resolveTakeOver({ annotations: [] })).toEqual({ ...KUBECTL_TAKEOVER, annotations: [] });
    // An empty prefix would take every manager's fields: refused, naming the entry.
    expect(() => resolveTakeOver({ fieldManagers: [{ name: '', operation: 'Update' }] })).toThrow(
      expect.objectContaining({
        code: 'RECONCILE_INVALID_OPTION',
        message: expect.stringContaining('takeOver.fieldManagers[0]'),
      }),
    );
  });
});
