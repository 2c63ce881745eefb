/** The manifests the apply benchmarks sync (`bench:apply`, `bench:flux`). */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** How many objects {@link writeManifests} writes: `namespaces` Namespaces and `perKind` of each kind in each. */
export interface ManifestShape {
  /** Namespaces (default 10, the `bench:apply` set). */
  readonly namespaces?: number;
  /** ConfigMaps, Services and Deployments in each namespace (default 33 of each). */
  readonly perKind?: number;
}

/**
 * Writes one YAML file per namespace (JSON documents are YAML), the Namespace objects in their own
 * file first: by default the `bench:apply` set of 1,000 objects (10 Namespaces and, in each, 33
 * ConfigMaps, 33 Services and 33 Deployments). Returns the number of objects.
 */
export async function writeManifests(
  dir: string,
  prefix: string,
  shape: ManifestShape = {},
): Promise<number> {
  const NAMESPACES = shape.namespaces ?? 10;
  const PER_KIND = shape.perKind ?? 33;
  let count = 0;
  const namespaces: string[] = [];
  for (let n = 0; n < NAMESPACES; n++) {
    const ns = `${prefix}-${n}`;
    namespaces.push(toYaml({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } }));
    count++;
    const docs: string[] = [];
    for (let i = 0; i < PER_KIND; i++) {
      const app = `app-${i}`;
      docs.push(
        toYaml({
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: `${app}-config`, namespace: ns, labels: { app } },
          data: {
            'settings.json': JSON.stringify({ index: i, namespace: ns, feature: 'on' }),
            mode: 'production',
          },
        }),
        toYaml({
          apiVersion: 'v1',
          kind: 'Service',
          metadata: { name: app, namespace: ns, labels: { app } },
          // Headless: the test apiserver's service range (a /24) holds fewer than 330 cluster IPs.
          spec: {
            clusterIP: 'None',
            selector: { app },
            ports: [{ name: 'http', port: 80, targetPort: 8080 }],
          },
        }),
        toYaml({
          apiVersion: 'apps/v1',
          kind: 'Deployment',
          metadata: { name: app, namespace: ns, labels: { app } },
          spec: {
            replicas: 2,
            selector: { matchLabels: { app } },
            template: {
              metadata: { labels: { app } },
              spec: {
                containers: [
                  {
                    name: 'main',
                    image: 'registry.example.com/app:1.0.0',
                    ports: [{ containerPort: 8080 }],
                    resources: {
                      requests: { cpu: '100m', memory: '64Mi' },
                      limits: { cpu: '0.5', memory: '128Mi' },
                    },
                    envFrom: [{ configMapRef: { name: `${app}-config` } }],
                  },
                ],
              },
            },
          },
        }),
      );
      count += 3;
    }
    await writeFile(join(dir, `${ns}.yaml`), `${docs.join('\n---\n')}\n`);
  }
  await writeFile(join(dir, `00-namespaces.yaml`), `${namespaces.join('\n---\n')}\n`);
  return count;
}

/** Block YAML for plain JSON data (strings double-quoted, as JSON writes them, which YAML reads). */
function toYaml(value: unknown, indent = ''): string {
  if (Array.isArray(value)) {
    return value
      .map((item) => {
        const inner = toYaml(item, `${indent}  `);
        return typeof item === 'object' && item !== null
          ? `${indent}- ${inner.trimStart()}`
          : `${indent}- ${inner}`;
      })
      .join('\n');
  }
  if (typeof value === 'object' && value !== null) {
    return Object.entries(value)
      .map(([key, item]) =>
        typeof item === 'object' && item !== null
          ? `${indent}${JSON.stringify(key)}:\n${toYaml(item, `${indent}  `)}`
          : `${indent}${JSON.stringify(key)}: ${JSON.stringify(item)}`,
      )
      .join('\n');
  }
  return JSON.stringify(value);
}
