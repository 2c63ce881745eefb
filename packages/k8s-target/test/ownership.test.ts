import { applyTierOf, type KubeObject } from '@gitops-kit/core';
import { isOwnedBy, OWNER_ANNOTATION, OWNER_LABEL, ownerLabelValue } from '@gitops-kit/k8s-target';
import { describe, expect, it } from 'vitest';
import { recreateAllowed } from '../src/ownership.js';

describe('ownerLabelValue', () => {
  it('keeps a name that is a valid label value', () => {
    expect(ownerLabelValue('shop-prod')).toBe('shop-prod');
  });

  it('turns other names into distinct valid label values', () => {
    const a = ownerLabelValue('tenants/shop prod');
    const b = ownerLabelValue('tenants/shop:prod');
    const long = ownerLabelValue('x'.repeat(100));
    for (const value of [a, b, long]) {
      expect(value).toMatch(/^[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$/);
    }
    expect(a).not.toBe(b);
  });
});

describe('isOwnedBy', () => {
  const object = (labels: Record<string, string>, annotations: Record<string, string> = {}): KubeObject => ({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'c', labels, annotations },
  });

  it('needs the owner label, and the full name when the annotation is there', () => {
    expect(isOwnedBy(object({ [OWNER_LABEL]: 'shop' }), 'shop')).toBe(true);
    expect(isOwnedBy(object({}), 'shop')).toBe(false);
    expect(isOwnedBy(object({ [OWNER_LABEL]: 'other' }), 'shop')).toBe(false);
    expect(isOwnedBy(object({ [OWNER_LABEL]: 'shop' }, { [OWNER_ANNOTATION]: 'shop2' }), 'shop')).toBe(false);
  });
});

describe('applyTierOf', () => {
  it('puts CRDs and Namespaces first, Class kinds second, the rest last', () => {
    expect(applyTierOf('apiextensions.k8s.io/v1', 'CustomResourceDefinition')).toBe(0);
    expect(applyTierOf('v1', 'Namespace')).toBe(0);
    expect(applyTierOf('storage.k8s.io/v1', 'StorageClass')).toBe(1);
    expect(applyTierOf('apps/v1', 'Deployment')).toBe(2);
  });
});

describe('recreateAllowed', () => {
  const withAnnotations = (annotations: Record<string, string>): KubeObject => ({
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: 'j', annotations },
  });

  it('allows delete-and-create for Argo CD Force=true, and our own annotation wins over it', () => {
    expect(recreateAllowed(withAnnotations({}), false)).toBe(false);
    expect(recreateAllowed(withAnnotations({ 'argocd.argoproj.io/sync-options': 'Force=true' }), false)).toBe(
      true,
    );
    expect(
      recreateAllowed(
        withAnnotations({
          'argocd.argoproj.io/sync-options': 'Force=true',
          'gitops-kit.dev/force': 'disabled',
        }),
        false,
      ),
    ).toBe(false);
  });
});
