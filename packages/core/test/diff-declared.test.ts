import {
  diffValues,
  type KubeObject,
  MASKED_CHANGED_VALUE,
  MASKED_VALUE,
  maskSecretValues,
} from '@gitops-kit/core';
import { describe, expect, it } from 'vitest';
import { storedSecretData } from '../src/diff/mask.js';

describe('diffValues with declaredOnly', () => {
  const live = { spec: { replicas: 2, paused: false, ports: [80, 443], extra: 'server default' } };

  it('ignores fields only the live side has, nulls and empty values', () => {
    expect(
      diffValues(live, { spec: { replicas: 2, note: null, labels: {} } }, { declaredOnly: true }),
    ).toEqual([]);
    // Without the option the same comparison reports removals and the added empty object.
    expect(diffValues(live, { spec: { replicas: 2, labels: {} } }).map((c) => c.path)).toEqual([
      '/spec/labels',
      '/spec/paused',
      '/spec/ports/0',
      '/spec/ports/1',
      '/spec/extra',
    ]);
  });

  it('reports a list of another length as one change at the list', () => {
    expect(diffValues(live, { spec: { ports: [80] } }, { declaredOnly: true })).toEqual([
      { path: '/spec/ports', before: [80, 443], after: [80] },
    ]);
    expect(diffValues({ ports: [80, 443] }, { ports: [80] })).toEqual([{ path: '/ports/1', before: 443 }]);
  });

  it('asks the equivalent hook about differing leaves only', () => {
    const asked: string[] = [];
    const equivalent = (path: string, before: unknown, after: unknown) => {
      asked.push(path);
      return String(before) === String(after);
    };
    const changes = diffValues(
      { a: '1', b: '2', c: { d: 1 } },
      { a: 1, b: 3, c: { d: 1 }, e: 4 },
      { declaredOnly: true, equivalent },
    );
    expect(changes).toEqual([
      { path: '/b', before: '2', after: 3 },
      { path: '/e', after: 4 },
    ]);
    expect(asked).toEqual(['/a', '/b']);
  });
});

describe('maskSecretValues', () => {
  const secret = (fields: Partial<KubeObject>): KubeObject => ({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: 's',
      annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{"data":1}' },
    },
    ...fields,
  });

  it('folds stringData into base64 data, as the server stores it', () => {
    expect(storedSecretData({ data: { a: 'eA==', b: 'eQ==' }, stringData: { b: 'z' } })).toEqual({
      a: 'eA==',
      b: 'eg==',
    });
  });

  it('marks changed values on the desired side and hides every value', () => {
    const live = secret({ data: { same: 'eA==', changed: 'eQ==', gone: 'eg==' } });
    const desired = secret({ data: { changed: 'bmV3' }, stringData: { same: 'x', added: 'a' } });
    const masked = maskSecretValues(live, desired);
    expect(masked.desired.data).toEqual({
      changed: MASKED_CHANGED_VALUE,
      same: MASKED_VALUE,
      added: MASKED_VALUE,
    });
    expect(masked.desired.stringData).toBeUndefined();
    expect(masked.live?.data).toEqual({ same: MASKED_VALUE, changed: MASKED_VALUE, gone: MASKED_VALUE });
    expect(JSON.stringify(masked)).not.toMatch(/eA==|eQ==|bmV3|"data":1/);
  });

  it('passes other kinds through unchanged', () => {
    const config: KubeObject = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'c' },
      data: { a: 'b' },
    };
    expect(maskSecretValues(undefined, config)).toEqual({ live: undefined, desired: config });
  });
});
