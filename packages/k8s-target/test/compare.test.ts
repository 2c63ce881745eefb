import type { KubeObject } from '@gitops-kit/core';
import { MASKED } from '@gitops-kit/k8s-target';
import { describe, expect, it } from 'vitest';
import { diffDesired, parseQuantity } from '../src/compare.js';

const deployment = (replicas: number, cpu: string | number): KubeObject => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web', namespace: 'shop', labels: { app: 'web' } },
  spec: {
    replicas,
    template: { spec: { containers: [{ name: 'web', image: 'nginx', resources: { limits: { cpu } } }] } },
  },
});

describe('diffDesired', () => {
  it('ignores server defaults, status and fields we did not declare', () => {
    const desired = deployment(2, '500m');
    const live: KubeObject = {
      ...deployment(2, '500m'),
      metadata: {
        name: 'web',
        namespace: 'shop',
        labels: { app: 'web', extra: 'x' },
        uid: 'u',
        resourceVersion: '7',
      },
      status: { replicas: 0 },
    };
    (live.spec as { strategy?: unknown }).strategy = { type: 'RollingUpdate' };
    expect(diffDesired(desired, live)).toEqual([]);
  });

  it('reports a changed field with before and after', () => {
    expect(diffDesired(deployment(3, '1'), deployment(2, '1'))).toEqual([
      { path: '/spec/replicas', before: 2, after: 3 },
    ]);
  });

  it('treats equal quantities in other notations as equal, only under resource keys', () => {
    expect(diffDesired(deployment(1, 0.5), deployment(1, '500m'))).toEqual([]);
    expect(diffDesired(deployment(1, '1'), deployment(1, '1000m'))).toEqual([]);
    expect(diffDesired(deployment(1, '1'), deployment(1, '2'))).toHaveLength(1);
    const cm = (v: string): KubeObject => ({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'c' },
      data: { v },
    });
    expect(diffDesired(cm('1'), cm('1.0'))).toEqual([{ path: '/data/v', before: '1.0', after: '1' }]);
  });

  it('compares stringData with the stored base64 data and masks secret values', () => {
    const desired: KubeObject = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 's' },
      stringData: { password: 'hunter2' },
    };
    const live = (value: string): KubeObject => ({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 's' },
      data: { password: Buffer.from(value).toString('base64') },
      type: 'Opaque',
    });
    expect(diffDesired(desired, live('hunter2'))).toEqual([]);
    const changes = diffDesired(desired, live('other'));
    expect(changes).toEqual([{ path: '/data/password', before: MASKED, after: MASKED }]);
    expect(JSON.stringify(changes)).not.toContain('hunter2');
  });

  it('accepts empty declared values the server drops, and reports a list of another length', () => {
    const desired: KubeObject = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'c', creationTimestamp: null, annotations: {} },
      data: { a: '1' },
    };
    expect(
      diffDesired(desired, {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'c' },
        data: { a: '1' },
      }),
    ).toEqual([]);
    const svc = (ports: number[]): KubeObject => ({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 's' },
      spec: { ports: ports.map((port) => ({ port })) },
    });
    expect(diffDesired(svc([80, 443]), svc([80]))).toEqual([
      { path: '/spec/ports', before: [{ port: 80 }], after: [{ port: 80 }, { port: 443 }] },
    ]);
  });
});

describe('parseQuantity', () => {
  it('reads decimal, binary and exponent suffixes', () => {
    expect(parseQuantity('500m')).toBe(0.5);
    expect(parseQuantity('1Gi')).toBe(2 ** 30);
    expect(parseQuantity('2k')).toBe(2000);
    expect(parseQuantity('1e3')).toBe(1000);
    expect(parseQuantity('abc')).toBeUndefined();
  });
});
