import {
  buildPlan,
  diffObjects,
  diffValues,
  formatPlan,
  MASKED_VALUE,
  maskFor,
  type PlannedObject,
} from '@gitops-kit/core';
import { describe, expect, it } from 'vitest';
import { joinPointer, splitPointer } from '../src/diff/pointer.js';
import { projectOnto, unionShape } from '../src/diff/project.js';

describe('diffValues', () => {
  it('reports nothing for equal values whatever the key order', () => {
    expect(diffValues({ a: 1, b: { c: [1, 2] } }, { b: { c: [1, 2] }, a: 1 })).toEqual([]);
  });

  it('reports changed, added and removed leaves with JSON-pointer paths', () => {
    const before = { spec: { replicas: 2, paused: true }, data: { a: 'x' } };
    const after = { spec: { replicas: 3 }, data: { a: 'x', b: 'y' } };
    expect(diffValues(before, after)).toEqual([
      { path: '/spec/replicas', before: 2, after: 3 },
      { path: '/spec/paused', before: true },
      { path: '/data/b', after: 'y' },
    ]);
  });

  it('descends into arrays by index', () => {
    const before = { containers: [{ name: 'web', image: 'web:1' }] };
    const after = {
      containers: [
        { name: 'web', image: 'web:2' },
        { name: 'side', image: 's:1' },
      ],
    };
    expect(diffValues(before, after)).toEqual([
      { path: '/containers/0/image', before: 'web:1', after: 'web:2' },
      { path: '/containers/1/name', after: 'side' },
      { path: '/containers/1/image', after: 's:1' },
    ]);
  });

  it('escapes "/" and "~" in keys', () => {
    const changes = diffValues({}, { metadata: { labels: { 'app.kubernetes.io/name': 'web', 'a~b': 'c' } } });
    expect(changes.map((c) => c.path)).toEqual([
      '/metadata/labels/app.kubernetes.io~1name',
      '/metadata/labels/a~0b',
    ]);
    expect(splitPointer(changes[0]?.path ?? '')).toEqual(['metadata', 'labels', 'app.kubernetes.io/name']);
    expect(joinPointer('/a', 'x/y~z')).toBe('/a/x~1y~0z');
  });

  it('reports a change of type as one change, and an added empty object', () => {
    expect(diffValues({ a: { b: 1 } }, { a: 'flat' })).toEqual([
      { path: '/a', before: { b: 1 }, after: 'flat' },
    ]);
    expect(diffValues({ v: {} }, { v: { emptyDir: {} } })).toEqual([{ path: '/v/emptyDir', after: {} }]);
  });

  it('stops at the limit', () => {
    const after = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`k${i}`, i]));
    expect(diffValues({}, after, { limit: 5 })).toHaveLength(5);
  });
});

describe('masking', () => {
  const secret = (data: Record<string, string>) => ({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 's', labels: { app: 'web' } },
    data,
  });

  it('masks the values of a Secret but shows which keys changed', () => {
    const changes = diffObjects(secret({ password: 'aHVudGVyMg==', user: 'YQ==' }), {
      ...secret({ password: 'c2VjcmV0', token: 'dA==' }),
      metadata: { name: 's', labels: { app: 'api' } },
    });
    expect(changes).toEqual([
      { path: '/metadata/labels/app', before: 'web', after: 'api' },
      { path: '/data/password', before: MASKED_VALUE, after: MASKED_VALUE },
      { path: '/data/token', after: MASKED_VALUE },
      { path: '/data/user', before: MASKED_VALUE },
    ]);
    expect(JSON.stringify(changes)).not.toMatch(/c2VjcmV0|aHVudGVyMg|dA==|YQ==/);
  });

  it('masks stringData and the last-applied annotation of a Secret only', () => {
    const mask = maskFor({ apiVersion: 'v1', kind: 'Secret' });
    expect(mask('/stringData/x')).toBe(true);
    expect(mask('/metadata/annotations/kubectl.kubernetes.io~1last-applied-configuration')).toBe(true);
    expect(mask('/metadata/labels/app')).toBe(false);
    expect(maskFor({ apiVersion: 'v1', kind: 'ConfigMap' })('/data/x')).toBe(false);
  });
});

describe('projectOnto and unionShape', () => {
  it('keeps only the fields the shape has, element by element in same-length arrays', () => {
    const live = {
      metadata: { name: 'web', uid: 'u1', labels: { app: 'web', extra: 'x' } },
      spec: { replicas: 3, containers: [{ name: 'web', image: 'web:1', terminationMessagePath: '/dev' }] },
      status: { ready: 3 },
    };
    const shape = {
      metadata: { name: 'web', labels: { app: 'web' } },
      spec: { replicas: 2, containers: [{ name: 'web', image: 'web:1' }] },
    };
    expect(projectOnto(live, shape)).toEqual({
      metadata: { name: 'web', labels: { app: 'web' } },
      spec: { replicas: 3, containers: [{ name: 'web', image: 'web:1' }] },
    });
  });

  it('takes an array whole when the lengths differ, and omits missing keys', () => {
    expect(projectOnto({ a: [1, 2, 3] }, { a: [1], b: 2 })).toEqual({ a: [1, 2, 3] });
  });

  it('unions the fields of two shapes', () => {
    expect(unionShape({ a: { x: 1 }, b: 1 }, { a: { y: 2 }, c: 3 })).toEqual({
      a: { x: 1, y: 2 },
      b: 1,
      c: 3,
    });
  });
});

describe('formatPlan', () => {
  const manifest = (kind: string, name: string) => ({
    object: { apiVersion: 'v1', kind, metadata: { name, namespace: 'shop' } },
    origin: { file: 'app.yaml', documentIndex: 0, line: 1 },
  });
  const planned = (
    kind: string,
    name: string,
    action: PlannedObject['action'],
    extra: Partial<PlannedObject> = {},
  ): PlannedObject => ({
    ref: { apiVersion: 'v1', kind, namespace: 'shop', name },
    action,
    manifest: manifest(kind, name),
    digest: 'sha256:x',
    drifted: false,
    changes: [],
    ...extra,
  });

  it('prints a summary, one line per object and the changed fields of updates', () => {
    const plan = buildPlan(
      [
        planned('ConfigMap', 'extra', 'create', { changes: [{ path: '/data/a', after: '1' }] }),
        planned('ConfigMap', 'web', 'update', {
          drifted: true,
          changes: [
            { path: '/data/mode', before: 'slow', after: 'fast' },
            { path: '/data/new', after: 'x'.repeat(100) },
            { path: '/data/old', before: 1 },
          ],
        }),
        planned('Service', 'web', 'unchanged'),
      ],
      [{ ref: { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'shop', name: 'old' }, digest: 'sha256:y' }],
    );
    const text = formatPlan(plan);
    expect(text.split('\n')).toEqual([
      'Plan: 1 to create, 1 to update (1 drifted), 1 unchanged, 1 to prune',
      '  + create  v1 ConfigMap shop/extra',
      '  ~ update  v1 ConfigMap shop/web  (drift: changed outside gitops-kit)',
      '      /data/mode: "slow" → "fast"',
      `      /data/new: + "${'x'.repeat(58)}…`,
      '      /data/old: - 1',
      '  - prune   v1 ConfigMap shop/old',
    ]);
    expect(formatPlan(plan, { showUnchanged: true })).toContain('same    v1 Service shop/web');
    expect(formatPlan(plan, { maxChanges: 1 })).toContain('… and 2 more');
  });
});
