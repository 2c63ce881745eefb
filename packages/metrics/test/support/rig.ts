/** A reconciler over a memory source and the fake cluster, on a manual clock, for metric tests. */
import { MemoryStateStore, RawRenderer, Reconciler, type ReconcilerOptions } from '@gitops-kit/core';
import { FakeCluster, ManualClock, MemorySource } from '@gitops-kit/core/testing';
import { afterEach } from 'vitest';

const sources: MemorySource[] = [];
afterEach(async () => {
  await Promise.all(sources.splice(0).map((s) => s.cleanup()));
});

/** A Deployment manifest as YAML. */
export function deployment(name: string, image: string): string {
  return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
  namespace: default
spec:
  replicas: 1
  selector:
    matchLabels:
      app: ${name}
  template:
    metadata:
      labels:
        app: ${name}
    spec:
      containers:
        - name: ${name}
          image: ${image}
`;
}

/** A ConfigMap manifest as YAML. */
export function configMap(name: string, value = 'v'): string {
  return `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n  namespace: default\ndata:\n  key: ${value}\n`;
}

/** Clock, source, cluster and reconciler wired together. */
export interface Rig {
  readonly clock: ManualClock;
  readonly source: MemorySource;
  readonly cluster: FakeCluster;
  readonly reconciler: Reconciler;
}

/** Builds a rig named `name`; `overrides` go to the Reconciler options. */
export function rig(
  name: string,
  files: Record<string, string>,
  overrides: Partial<ReconcilerOptions> = {},
): Rig {
  const clock = new ManualClock();
  const source = new MemorySource({ clock, files });
  sources.push(source);
  const cluster = new FakeCluster({ clock });
  const reconciler = new Reconciler({
    name,
    source,
    renderer: new RawRenderer(),
    target: cluster,
    stateStore: new MemoryStateStore(),
    clock,
    random: () => 0.5,
    onListenerError: (error) => {
      throw error;
    },
    ...overrides,
  });
  return { clock, source, cluster, reconciler };
}
