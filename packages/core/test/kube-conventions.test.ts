import {
  APPLY_TIERS,
  applyTierOf,
  builtinScope,
  CLUSTER_SCOPED_KINDS,
  type KubeObject,
  type Manifest,
  OWNER_LABEL,
} from '@gitops-kit/core';
import { OWNER_LABEL as FAKE_OWNER_LABEL, FakeCluster } from '@gitops-kit/core/testing';
import { describe, expect, it } from 'vitest';

const manifest = (object: KubeObject, line: number): Manifest => ({
  object,
  origin: { file: 'all.yaml', documentIndex: line - 1, line },
});

describe('Kubernetes conventions', () => {
  it('puts cluster definitions (cluster RBAC included) in tier 0, *Class kinds in 1, the rest in 2', () => {
    expect(APPLY_TIERS).toEqual([0, 1, 2]);
    expect(applyTierOf('apiextensions.k8s.io/v1', 'CustomResourceDefinition')).toBe(0);
    expect(applyTierOf('v1', 'Namespace')).toBe(0);
    expect(applyTierOf('rbac.authorization.k8s.io/v1', 'ClusterRole')).toBe(0);
    expect(applyTierOf('rbac.authorization.k8s.io/v1', 'ClusterRoleBinding')).toBe(0);
    expect(applyTierOf('admissionregistration.k8s.io/v1', 'ValidatingWebhookConfiguration')).toBe(0);
    expect(applyTierOf('storage.k8s.io/v1', 'StorageClass')).toBe(1);
    expect(applyTierOf('rbac.authorization.k8s.io/v1', 'Role')).toBe(2);
    // A kind named like a built-in one in another group is not a cluster definition.
    expect(applyTierOf('example.com/v1', 'Namespace')).toBe(2);
  });

  it('knows the scope of built-in kinds by group, and lists the cluster-scoped ones by kind', () => {
    expect(builtinScope('', 'ConfigMap')).toBe(true);
    expect(builtinScope('rbac.authorization.k8s.io', 'ClusterRole')).toBe(false);
    expect(builtinScope('example.com', 'Widget')).toBeUndefined();
    expect(CLUSTER_SCOPED_KINDS).toContain('ClusterRole');
    expect(CLUSTER_SCOPED_KINDS).toContain('VolumeAttachment');
    expect(CLUSTER_SCOPED_KINDS).not.toContain('Role');
  });

  it('is what FakeCluster follows: the same owner label and the same apply order as the real target', async () => {
    expect(FAKE_OWNER_LABEL).toBe(OWNER_LABEL);
    const cluster = new FakeCluster();
    const plan = await cluster.plan(
      [
        { apiVersion: 'storage.k8s.io/v1', kind: 'StorageClass', metadata: { name: 'fast' } },
        { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cfg' } },
        { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'reader' } },
      ].map((o, i) => manifest(o, i + 1)),
      { entries: [] },
      { signal: AbortSignal.timeout(5_000) },
    );
    expect(plan.objects.map((o) => o.ref.kind)).toEqual(['ClusterRole', 'StorageClass', 'ConfigMap']);
  });

  it('keeps objects annotated prune: Disabled in FakeCluster too, whatever the case', async () => {
    const cluster = new FakeCluster({
      objects: [
        {
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: {
            name: 'kept',
            namespace: 'default',
            labels: { [OWNER_LABEL]: 'gitops-kit' },
            annotations: { 'gitops-kit.dev/prune': 'Disabled' },
          },
        },
      ],
    });
    const result = await cluster.prune(
      [{ ref: { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'default', name: 'kept' }, digest: 'x' }],
      { signal: AbortSignal.timeout(5_000) },
    );
    expect(result.deleted).toEqual([]);
    expect(result.skipped).toHaveLength(1);
  });
});
