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
 * Resolves with `work` while a ManualClock stands in for time: whenever the work is waiting on the
 * clock (a health poll, a retry) for at most `longestWait` milliseconds, the clock jumps to that
 * timer; otherwise real I/O (the source writing files, the renderer reading them) gets to run. So
 * five minutes of health polling pass in a few milliseconds, and a deadline further away than
 * `longestWait` (the pass timeout) is never reached by accident while files are being read.
 */
export async function whileTimePasses<T>(
  clock: ManualClock,
  work: Promise<T>,
  longestWait = 60_000,
): Promise<T> {
  let done = false;
  const settled = work.finally(() => {
    done = true;
  });
  while (!done) {
    await tick();
    const next = clock.nextTimerAt();
    if (!done && next !== undefined && next - clock.now() <= longestWait) {
      await clock.advance(next - clock.now());
    }
  }
  return settled;
}

/** Waits (in real time, without a deadline of its own) until `condition` holds. */
export async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await tick();
}
