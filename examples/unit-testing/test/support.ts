/**
 * Helpers for testing reconcile logic with the testing kit: a tenant's repository as YAML strings.
 * Driving a ManualClock while a reconcile runs is the kit's own `whileTimePasses`.
 */

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

/** Waits (in real time, without a deadline of its own) until `condition` holds. */
export async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await tick();
}
