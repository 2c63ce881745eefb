/**
 * Helpers for testing reconcile logic with the testing kit: a tenant's repository as YAML strings,
 * and a way to let a reconcile run while a ManualClock moves its time.
 */
import type { ManualClock } from '@gitops-kit/core/testing';

/** A Deployment of the tenant, with limits unless `limits` is false. */
export function webDeployment(options: { image?: string; replicas?: number; limits?: boolean } = {}): string {
  const { image = 'shop/web:1.0', replicas = 2, limits = true } = options;
  return [
    'apiVersion: apps/v1',
    'kind: Deployment',
    'metadata:',
    '  name: web',
    'spec:',
    `  replicas: ${replicas}`,
    '  selector:',
    '    matchLabels: { app: web }',
    '  template:',
    '    metadata:',
    '      labels: { app: web }',
    '    spec:',
    '      containers:',
    '        - name: web',
    `          image: ${image}`,
    ...(limits ? ['          resources:', '            limits: { cpu: 500m, memory: 256Mi }'] : []),
    '',
  ].join('\n');
}

/** A ConfigMap of the tenant. */
export function settings(data: Record<string, string>, namespace?: string): string {
  return [
    'apiVersion: v1',
    'kind: ConfigMap',
    'metadata:',
    '  name: settings',
    ...(namespace ? [`  namespace: ${namespace}`] : []),
    'data:',
    ...Object.entries(data).map(([k, v]) => `  ${k}: "${v}"`),
    '',
  ].join('\n');
}

/** Lets real I/O (temporary files the source writes and the renderer reads) make progress. */
function tick(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 1));
}

/**
 * Resolves with `work` while moving `clock` forward `step` milliseconds at a time, letting real I/O
 * run in between: the reconciler's health wait sleeps on the clock, so minutes of polling pass in
 * a fraction of a second. Small steps keep the order of events real: a health poll due in 5 s
 * fires long before a pass deadline due in 15 minutes.
 */
export async function whileTimePasses<T>(clock: ManualClock, work: Promise<T>, step = 5_000): Promise<T> {
  let done = false;
  const settled = work.finally(() => {
    done = true;
  });
  while (!done) {
    await tick();
    if (!done) await clock.advance(step);
  }
  return settled;
}

/** Waits (in real time, without a deadline of its own) until `condition` holds. */
export async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await tick();
}
