import type { KubeObject } from '@gitops-kit/core';
import { describe, expect, it } from 'vitest';
import { removedFields } from '../src/managed-fields.js';

const live: KubeObject = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: {
    name: 'web',
    labels: { app: 'web', tier: 'front' },
    managedFields: [
      {
        manager: 'gitops-kit',
        operation: 'Apply',
        fieldsType: 'FieldsV1',
        fieldsV1: {
          'f:metadata': { 'f:labels': { 'f:app': {}, 'f:tier': {} } },
          'f:spec': {
            'f:template': {
              'f:spec': {
                'f:containers': {
                  'k:{"name":"main"}': { '.': {}, 'f:name': {}, 'f:image': {} },
                  'k:{"name":"sidecar"}': { '.': {}, 'f:name': {}, 'f:image': {} },
                },
              },
            },
          },
        },
      },
      {
        manager: 'kubectl',
        operation: 'Update',
        fieldsType: 'FieldsV1',
        fieldsV1: { 'f:spec': { 'f:replicas': {} } },
      },
    ],
  },
  spec: {
    replicas: 3,
    template: {
      spec: {
        containers: [
          { name: 'main', image: 'app:1' },
          { name: 'sidecar', image: 'proxy:1' },
        ],
      },
    },
  },
};

describe('removedFields', () => {
  it('lists the fields our manager applied that the desired object no longer has', () => {
    const desired: KubeObject = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', labels: { app: 'web' } },
      spec: { template: { spec: { containers: [{ name: 'main', image: 'app:2' }] } } },
    };
    expect(removedFields(desired, live, 'gitops-kit')).toEqual([
      { path: '/metadata/labels/tier', before: 'front' },
      { path: '/spec/template/spec/containers/1', before: { name: 'sidecar', image: 'proxy:1' } },
    ]);
  });

  it('ignores fields of other managers, and objects we never applied', () => {
    const desired: KubeObject = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web' } };
    expect(removedFields(desired, live, 'someone-else')).toEqual([]);
    const all = removedFields(desired, live, 'gitops-kit').map((c) => c.path);
    expect(all).not.toContain('/spec/replicas');
  });
});

describe('removedFields with a list key the server defaults', () => {
  it('a port declared without its protocol is the same item as the live port keyed with protocol TCP', () => {
    const withPort: KubeObject = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: {
        name: 'web',
        managedFields: [
          {
            manager: 'gitops-kit',
            operation: 'Apply',
            fieldsType: 'FieldsV1',
            fieldsV1: {
              'f:spec': {
                'f:template': {
                  'f:spec': {
                    'f:containers': {
                      'k:{"name":"main"}': {
                        '.': {},
                        'f:name': {},
                        'f:ports': {
                          'k:{"containerPort":80,"protocol":"TCP"}': { '.': {}, 'f:containerPort': {} },
                        },
                      },
                    },
                  },
                },
              },
            },
          },
        ],
      },
      spec: {
        template: {
          spec: { containers: [{ name: 'main', ports: [{ containerPort: 80, protocol: 'TCP' }] }] },
        },
      },
    };
    const desired: KubeObject = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web' },
      spec: { template: { spec: { containers: [{ name: 'main', ports: [{ containerPort: 80 }] }] } } },
    };
    expect(removedFields(desired, withPort, 'gitops-kit')).toEqual([]);
    // A port that really left the set is still reported.
    const noPorts: KubeObject = {
      ...desired,
      spec: { template: { spec: { containers: [{ name: 'main' }] } } },
    };
    expect(removedFields(noPorts, withPort, 'gitops-kit').map((c) => c.path)).toEqual([
      '/spec/template/spec/containers/0/ports',
    ]);
  });
});
