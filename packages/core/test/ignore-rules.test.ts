import {
  applyPolicyOf,
  checkIgnoreRules,
  type IgnoreRule,
  isIgnoredPointer,
  type KubeObject,
  keptByApplyPolicy,
  matchesIgnoreTarget,
  OptionError,
  parseSelector,
  resolveIgnored,
  unusedIgnoreRules,
  valueAt,
  withoutPointers,
  withValueAt,
} from '@gitops-kit/core';
import { describe, expect, it } from 'vitest';

const desired: KubeObject = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web', namespace: 'shop', labels: { app: 'web', tier: 'front' } },
  spec: {
    replicas: 3,
    template: {
      spec: {
        containers: [
          { name: 'app', image: 'nginx:1.27' },
          { name: 'side', image: 'envoy:1' },
        ],
      },
    },
  },
};

/** Live: the containers in another order, an HPA owning replicas, a mesh owning the sidecar image. */
const live: KubeObject = {
  ...desired,
  metadata: {
    ...desired.metadata,
    managedFields: [
      { manager: 'gitops-kit', operation: 'Apply', fieldsV1: { 'f:spec': { 'f:template': {} } } },
      { manager: 'hpa', operation: 'Update', fieldsV1: { 'f:spec': { 'f:replicas': {} } } },
      {
        manager: 'mesh',
        operation: 'Update',
        fieldsV1: {
          'f:spec': {
            'f:template': {
              'f:spec': { 'f:containers': { 'k:{"name":"side"}': { '.': {}, 'f:image': {} } } },
            },
          },
        },
      },
      { manager: 'hpa', operation: 'Update', subresource: 'status', fieldsV1: { 'f:status': { 'f:x': {} } } },
    ],
  },
  spec: {
    replicas: 7,
    template: {
      spec: {
        containers: [
          { name: 'side', image: 'envoy:2' },
          { name: 'app', image: 'nginx:1.27' },
        ],
      },
    },
  },
};

describe('ignore rules', () => {
  it('resolve JSON pointers into both sides and manager fields at each side’s list position', () => {
    const rules: IgnoreRule[] = [
      { paths: ['/spec/replicas'], target: { group: 'apps', kind: 'Deployment' } },
      { managers: ['mesh'] },
      { paths: ['/spec/paused'] },
      { paths: ['/spec/replicas'], target: { kind: 'StatefulSet' } },
    ];
    const ignored = resolveIgnored(rules, desired, live);
    expect(ignored.desired).toEqual([
      '/spec/replicas',
      '/spec/template/spec/containers/1',
      '/spec/template/spec/containers/1/image',
    ]);
    expect(ignored.live).toEqual([
      '/spec/replicas',
      '/spec/template/spec/containers/0',
      '/spec/template/spec/containers/0/image',
    ]);
    expect(ignored.used).toEqual([0, 1]);
    expect(unusedIgnoreRules(rules, ignored.used).map((r) => r.description)).toEqual([
      'ignore[2] /spec/paused of every object',
      'ignore[3] /spec/replicas of */StatefulSet',
    ]);
  });

  it('a manager rule with no live object, or a manager that owns nothing, matches nothing', () => {
    expect(resolveIgnored([{ managers: ['hpa'] }], desired, undefined).used).toEqual([]);
    expect(resolveIgnored([{ managers: ['nobody'] }], desired, live).used).toEqual([]);
    // Subresource entries (status) are never taken: only the hpa's spec field is.
    expect(resolveIgnored([{ managers: ['hpa'] }], desired, live).live).toEqual(['/spec/replicas']);
  });

  it('targets select by group, version, kind, name, namespace, labels and annotations', () => {
    expect(
      matchesIgnoreTarget({ group: 'apps', version: 'v1', name: 'web', namespace: 'shop' }, desired),
    ).toBe(true);
    expect(matchesIgnoreTarget({ group: '' }, desired)).toBe(false);
    expect(matchesIgnoreTarget({ labelSelector: 'app=web,tier in (front,back)' }, desired)).toBe(true);
    expect(matchesIgnoreTarget({ labelSelector: 'app!=web' }, desired)).toBe(false);
    expect(matchesIgnoreTarget({ labelSelector: { matchLabels: { app: 'db' } } }, desired)).toBe(false);
    expect(matchesIgnoreTarget({ annotationSelector: 'x' }, desired)).toBe(false);
    expect(parseSelector('a, !b, c notin (x, y), d==e')).toEqual({
      matchLabels: { d: 'e' },
      matchExpressions: [
        { key: 'a', operator: 'Exists' },
        { key: 'b', operator: 'DoesNotExist' },
        { key: 'c', operator: 'NotIn', values: ['x', 'y'] },
      ],
    });
  });

  it('refuses rules that cannot work, naming the rule', () => {
    expect(() => checkIgnoreRules([{ paths: ['spec/replicas'] }])).toThrow(/ignore\[0\].*RFC 6901/);
    expect(() => checkIgnoreRules([{ paths: ['/a/~2'] }])).toThrow(OptionError);
    expect(() => checkIgnoreRules([{ target: { kind: 'Deployment' } }])).toThrow(/names no paths/);
    expect(() => checkIgnoreRules([{ paths: ['/a'], target: { labelSelector: 'a in b' } }])).toThrow(
      /selector/,
    );
    expect(() => checkIgnoreRules([{ paths: ['/metadata/annotations/a~1b', '/x/0'] }])).not.toThrow();
  });

  it('pointers: removed, read, written and matched with what lies under them', () => {
    const without = withoutPointers(desired, ['/spec/replicas', '/spec/template/spec/containers/0']);
    expect(without.spec).toEqual({
      template: { spec: { containers: [{ name: 'side', image: 'envoy:1' }] } },
    });
    expect(desired.spec).toHaveProperty('replicas', 3); // not changed in place
    expect(valueAt(live, '/spec/template/spec/containers/0/image')).toBe('envoy:2');
    expect(valueAt(withValueAt(desired, '/spec/replicas', 7), '/spec/replicas')).toBe(7);
    expect(isIgnoredPointer(['/spec/replicas'], '/spec/replicas')).toBe(true);
    expect(isIgnoredPointer(['/spec/template'], '/spec/template/spec')).toBe(true);
    expect(isIgnoredPointer(['/spec/rep'], '/spec/replicas')).toBe(false);
  });
});

describe('apply policies', () => {
  const annotated = (annotations: Record<string, string>): Pick<KubeObject, 'metadata'> => ({
    metadata: { name: 'x', annotations },
  });

  it('reads gitops-kit.dev/ssa, then Flux’s annotation, without case; Override by default', () => {
    expect(applyPolicyOf(annotated({}))).toBe('Override');
    expect(applyPolicyOf(annotated({ 'gitops-kit.dev/ssa': 'merge' }))).toBe('Merge');
    expect(applyPolicyOf(annotated({ 'kustomize.toolkit.fluxcd.io/ssa': 'IfNotPresent' }))).toBe(
      'IfNotPresent',
    );
    expect(
      applyPolicyOf(
        annotated({ 'gitops-kit.dev/ssa': 'Ignore', 'kustomize.toolkit.fluxcd.io/ssa': 'Merge' }),
      ),
    ).toBe('Ignore');
    expect(applyPolicyOf(annotated({ 'gitops-kit.dev/ssa': 'Sometimes' }))).toBe('Override');
  });

  it('Ignore keeps an object from pruning, naming the annotation', () => {
    expect(keptByApplyPolicy(annotated({ 'kustomize.toolkit.fluxcd.io/ssa': 'Ignore' }))).toBe(
      'kept by annotation kustomize.toolkit.fluxcd.io/ssa: Ignore',
    );
    expect(keptByApplyPolicy(annotated({ 'gitops-kit.dev/ssa': 'Merge' }))).toBeUndefined();
  });
});
